//! keepalived.conf as keepalived reads it: words separated by blanks,
//! `#` and `!` starting a comment (at the start of a word, outside
//! quotes), `{` and `}` words of their own, double-quoted strings (`\"`
//! and `\\` escape inside), `include PATTERN` (a glob, relative to the
//! directory of the file that includes it) — into a tree of [`Node`]s,
//! each knowing its file and line.
//!
//! Errors are `FILE:LINE: message`: an unbalanced brace, an unterminated
//! quote, a missing include, an include that matches nothing, an include
//! that includes itself (directly or not), nesting deeper than
//! [`MAX_DEPTH`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The deepest nesting of blocks, and of includes.
pub const MAX_DEPTH: usize = 32;
/// The most files one configuration may read (a glob can match many).
pub const MAX_FILES: usize = 4096;

/// A place in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pos {
    pub file: Arc<str>,
    pub line: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One statement: its words and, if it opens one, its block.
#[derive(Clone, Debug)]
pub struct Node {
    pub words: Vec<String>,
    pub pos: Pos,
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The first word (the keyword).
    pub fn key(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }

    /// The words after the keyword.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// Where included files come from.
pub trait Loader {
    /// The files `pattern` (as written after `include`) names, relative to
    /// `from` (the including file), sorted; an error if there are none.
    fn resolve(&self, pattern: &str, from: &str) -> Result<Vec<String>, String>;
    /// The text of `file`.
    fn read(&self, file: &str) -> Result<String, String>;
}

/// Included files are refused (fuzzing, text given on standard input).
pub struct NoIncludes;

impl Loader for NoIncludes {
    fn resolve(&self, _: &str, _: &str) -> Result<Vec<String>, String> {
        Err("include is not available here".into())
    }
    fn read(&self, file: &str) -> Result<String, String> {
        Err(format!("cannot read {file}"))
    }
}

/// The file system.
pub struct Files;

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Shell wildcard match of one path component (`*`, `?`, `[…]` with
/// ranges and `!`/`^` negation); a leading dot is matched only by a dot.
fn glob_match(pat: &[char], name: &[char]) -> bool {
    if name.first() == Some(&'.') && pat.first() != Some(&'.') {
        return false;
    }
    fn go(p: &[char], n: &[char]) -> bool {
        let (mut pi, mut ni) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ni < n.len() {
            if pi < p.len() {
                match p[pi] {
                    '*' => {
                        star = Some((pi, ni));
                        pi += 1;
                        continue;
                    }
                    '?' => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    '[' => {
                        if let Some((ok, len)) = class(&p[pi..], n[ni]) {
                            if ok {
                                pi += len;
                                ni += 1;
                                continue;
                            }
                        } else if n[ni] == '[' {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                    }
                    c if c == n[ni] => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
    go(pat, name)
}

/// A `[…]` class at the start of `p`: (matches `c`, its length), or
/// `None` if it is not closed.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let neg = matches!(p.get(1), Some('!') | Some('^'));
    if neg {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((hit != neg, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                hit = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                hit = true;
            }
            i += 1;
        }
    }
    None
}

impl Loader for Files {
    fn resolve(&self, pattern: &str, from: &str) -> Result<Vec<String>, String> {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let full: PathBuf = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            base.join(pattern)
        };
        let text = full.to_string_lossy().into_owned();
        if !has_glob(&text) {
            if !full.is_file() {
                return Err(format!("include {pattern}: no such file ({text})"));
            }
            return Ok(vec![text]);
        }
        // Expand component by component.
        let mut paths: Vec<PathBuf> = vec![PathBuf::new()];
        for comp in full.components() {
            let part = comp.as_os_str().to_string_lossy().into_owned();
            let mut next = Vec::new();
            for p in &paths {
                if has_glob(&part) {
                    let dir = if p.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        p.clone()
                    };
                    let Ok(entries) = std::fs::read_dir(&dir) else {
                        continue;
                    };
                    let pat: Vec<char> = part.chars().collect();
                    let mut names: Vec<String> = entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| glob_match(&pat, &n.chars().collect::<Vec<_>>()))
                        .collect();
                    names.sort();
                    next.extend(names.into_iter().map(|n| p.join(n)));
                } else {
                    next.push(p.join(&part));
                }
                if next.len() > MAX_FILES {
                    return Err(format!("include {pattern}: more than {MAX_FILES} files"));
                }
            }
            paths = next;
        }
        let files: Vec<String> = paths
            .into_iter()
            .filter(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if files.is_empty() {
            return Err(format!("include {pattern}: no file matches ({text})"));
        }
        Ok(files)
    }

    fn read(&self, file: &str) -> Result<String, String> {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))
    }
}

/// One token of a line.
#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
}

/// The tokens of one line (keepalived's `alloc_strvec`).
fn tokenize(line: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' | '!' => break,
            '{' => {
                chars.next();
                out.push(Tok::Open);
            }
            '}' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                chars.next();
                let mut w = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated quoted string".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => w.push(c),
                            None => return Err("unterminated quoted string".into()),
                        },
                        Some(c) => w.push(c),
                    }
                }
                out.push(Tok::Word(w));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '{' || c == '}' || c == '"' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

/// A statement being built, and the blocks open around it.
struct Builder<'a> {
    loader: &'a dyn Loader,
    /// The files being read, outermost first (to find include loops).
    chain: Vec<String>,
    files: usize,
    errors: Vec<String>,
    /// Conditional lines (`@id`) seen.
    pub conditional: Option<Pos>,
}

/// Parse `text` (the contents of `file`) and every file it includes.
/// Returns the top-level statements, and the first conditional (`@`)
/// line if any (those are read as keepalived reads them without a
/// `config_id`: `@NAME` lines skipped, `@^NAME` lines kept).
pub fn parse(
    text: &str,
    file: &str,
    loader: &dyn Loader,
) -> Result<(Vec<Node>, Option<Pos>), Vec<String>> {
    let mut b = Builder {
        loader,
        chain: vec![file.to_string()],
        files: 1,
        errors: Vec::new(),
        conditional: None,
    };
    let nodes = b.file(text, file, 0);
    if b.errors.is_empty() {
        Ok((nodes, b.conditional))
    } else {
        Err(b.errors)
    }
}

impl Builder<'_> {
    /// The statements of one file; `depth` counts the blocks (and
    /// includes) around it.
    fn file(&mut self, text: &str, file: &str, depth: usize) -> Vec<Node> {
        let name: Arc<str> = Arc::from(file);
        // Stack of open blocks: (opener's statement, its children).
        let mut stack: Vec<(Node, Vec<Node>)> = Vec::new();
        let mut top: Vec<Node> = Vec::new();
        let mut cont = String::new();
        let mut cont_line = 0;
        for (i, raw) in text.split('\n').enumerate() {
            if !self.errors.is_empty() && self.errors.len() > 20 {
                break;
            }
            let line_no = i + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            // A trailing backslash continues the line.
            if let Some(head) = raw.strip_suffix('\\') {
                if cont.is_empty() {
                    cont_line = line_no;
                }
                cont.push_str(head);
                cont.push(' ');
                continue;
            }
            let (line, at_line) = if cont.is_empty() {
                (raw.to_string(), line_no)
            } else {
                let mut l = std::mem::take(&mut cont);
                l.push_str(raw);
                (l, cont_line)
            };
            let pos = Pos {
                file: name.clone(),
                line: at_line,
            };
            let mut line = line.trim_start();
            if let Some(rest) = line.strip_prefix('@') {
                if self.conditional.is_none() {
                    self.conditional = Some(pos.clone());
                }
                // Without a config_id: `@^ID` lines apply, `@ID` lines do not.
                match rest.strip_prefix('^') {
                    Some(r) => {
                        line = r
                            .find(char::is_whitespace)
                            .map_or("", |p| r[p..].trim_start())
                    }
                    None => continue,
                }
            }
            if line.starts_with('$') {
                self.errors.push(format!(
                    "{pos}: parameter definitions and substitutions ($NAME) are not supported"
                ));
                continue;
            }
            let toks = match tokenize(line) {
                Ok(t) => t,
                Err(e) => {
                    self.errors.push(format!("{pos}: {e}"));
                    continue;
                }
            };
            let mut words: Vec<String> = Vec::new();
            let finish = |words: &mut Vec<String>,
                          stack: &mut Vec<(Node, Vec<Node>)>,
                          top: &mut Vec<Node>,
                          this: &mut Self| {
                if words.is_empty() {
                    return;
                }
                let node = Node {
                    words: std::mem::take(words),
                    pos: pos.clone(),
                    block: None,
                };
                let depth = depth + stack.len();
                let list = match stack.last_mut() {
                    Some((_, children)) => children,
                    None => top,
                };
                if node.key() == "include" {
                    this.include(&node, list, depth);
                } else {
                    list.push(node);
                }
            };
            for t in toks {
                match t {
                    Tok::Word(w) => words.push(w),
                    Tok::Open => {
                        let opener = if words.is_empty() {
                            // `{` on a line of its own opens the block of
                            // the statement before.
                            let list = match stack.last_mut() {
                                Some((_, c)) => c,
                                None => &mut top,
                            };
                            match list.pop() {
                                Some(n) if n.block.is_none() => n,
                                other => {
                                    if let Some(n) = other {
                                        list.push(n);
                                    }
                                    self.errors.push(format!("{pos}: `{{` opens no block"));
                                    continue;
                                }
                            }
                        } else {
                            Node {
                                words: std::mem::take(&mut words),
                                pos: pos.clone(),
                                block: None,
                            }
                        };
                        if opener.key() == "include" {
                            self.errors.push(format!("{pos}: include takes no block"));
                        }
                        if depth + stack.len() + 1 > MAX_DEPTH {
                            self.errors
                                .push(format!("{pos}: blocks nested deeper than {MAX_DEPTH}"));
                            return top;
                        }
                        stack.push((opener, Vec::new()));
                    }
                    Tok::Close => {
                        finish(&mut words, &mut stack, &mut top, self);
                        match stack.pop() {
                            Some((mut n, children)) => {
                                n.block = Some(children);
                                match stack.last_mut() {
                                    Some((_, c)) => c.push(n),
                                    None => top.push(n),
                                }
                            }
                            None => self
                                .errors
                                .push(format!("{pos}: `}}` closes no block (unbalanced braces)")),
                        }
                    }
                }
            }
            finish(&mut words, &mut stack, &mut top, self);
        }
        if !cont.is_empty() {
            self.errors.push(format!(
                "{file}:{cont_line}: the file ends after a line continued with `\\`"
            ));
        }
        for (n, _) in stack.iter().rev() {
            self.errors.push(format!(
                "{}: block `{}` is never closed (unbalanced braces)",
                n.pos,
                n.key()
            ));
        }
        top
    }

    fn include(&mut self, node: &Node, into: &mut Vec<Node>, depth: usize) {
        let pos = &node.pos;
        let [pattern] = node.args() else {
            self.errors
                .push(format!("{pos}: include takes one file name or pattern"));
            return;
        };
        if self.chain.len() > MAX_DEPTH {
            self.errors
                .push(format!("{pos}: includes nested deeper than {MAX_DEPTH}"));
            return;
        }
        let files = match self.loader.resolve(pattern, &pos.file) {
            Ok(f) => f,
            Err(e) => {
                self.errors.push(format!("{pos}: {e}"));
                return;
            }
        };
        for f in files {
            let canon = std::fs::canonicalize(&f)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| f.clone());
            let looped = self.chain.iter().any(|c| {
                let cc = std::fs::canonicalize(c)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| c.clone());
                cc == canon
            });
            if looped {
                self.errors.push(format!(
                    "{pos}: include {pattern}: {f} includes itself (through {})",
                    self.chain.join(" → ")
                ));
                continue;
            }
            self.files += 1;
            if self.files > MAX_FILES {
                self.errors
                    .push(format!("{pos}: more than {MAX_FILES} files included"));
                return;
            }
            let text = match self.loader.read(&f) {
                Ok(t) => t,
                Err(e) => {
                    self.errors.push(format!("{pos}: {e}"));
                    continue;
                }
            };
            self.chain.push(f.clone());
            let nodes = self.file(&text, &f, depth);
            self.chain.pop();
            into.extend(nodes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(
            tokenize(r#"a{b "c d\"" } # x"#).unwrap(),
            vec![
                Tok::Word("a".into()),
                Tok::Open,
                Tok::Word("b".into()),
                Tok::Word("c d\"".into()),
                Tok::Close
            ]
        );
        assert_eq!(tokenize("  ! comment").unwrap(), vec![]);
        assert!(tokenize("\"open").is_err());
    }

    #[test]
    fn globs() {
        let m = |p: &str, n: &str| {
            glob_match(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*.conf", "a.conf"));
        assert!(!m("*.conf", ".a.conf"));
        assert!(m("vs-[0-9]?.conf", "vs-12.conf"));
        assert!(!m("vs-[!0-9]*", "vs-1"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
    }

    #[test]
    fn blocks() {
        let (n, _) = parse(
            "a 1 {\n  b 2\n  c { d }\n}\ne\n{\n f\n}\n",
            "t",
            &NoIncludes,
        )
        .unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].block.as_ref().unwrap().len(), 2);
        assert_eq!(n[1].key(), "e");
        assert_eq!(n[1].block.as_ref().unwrap()[0].key(), "f");
        let e = parse("a {\n b\n", "t", &NoIncludes).unwrap_err();
        assert_eq!(
            e,
            vec!["t:1: block `a` is never closed (unbalanced braces)"]
        );
        let e = parse("a\n}\n", "t", &NoIncludes).unwrap_err();
        assert_eq!(e, vec!["t:2: `}` closes no block (unbalanced braces)"]);
    }
}
