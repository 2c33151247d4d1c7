//! `tests/kernel/cases.txt`, the differential suite's cases: read by the
//! kernel tests (run against ipvsadm 1.31 in the VM) and by the host
//! parser replay (`tests/parse.rs`).
//!
//! Case file syntax (blank lines separate cases, `#` starts a comment):
//! ```text
//! [category] description
//! $ setup command words        (oracle, before the case; repeatable)
//! > [ipvsadm-save|ipvsadm-restore] words   (the invocation compared)
//! < a line of standard input   (repeatable; `<` alone is an empty line)
//! ```
//! Words split on blanks; `'…'` quotes a word (`''` is an empty word).
#![allow(dead_code)]

const CASES: &str = include_str!("../kernel/cases.txt");

#[derive(Clone, Debug, Default)]
pub struct Case {
    pub category: String,
    pub name: String,
    pub line: usize,
    pub setup: Vec<Vec<String>>,
    pub prog: String,
    pub args: Vec<String>,
    pub stdin: Option<String>,
}

pub fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            ' ' | '\t' if !quoted => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

pub fn parse_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    for (i, raw) in CASES.lines().enumerate() {
        let line = raw.trim_end();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            if let Some(c) = cur.take() {
                cases.push(c);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            if let Some(c) = cur.take() {
                cases.push(c);
            }
            let (cat, name) = rest.split_once(']').expect("[category] name");
            cur = Some(Case {
                category: cat.to_string(),
                name: name.trim().to_string(),
                line: i + 1,
                prog: "ipvsadm".into(),
                ..Default::default()
            });
            continue;
        }
        let c = cur
            .as_mut()
            .unwrap_or_else(|| panic!("cases.txt:{}: line outside a case", i + 1));
        if let Some(rest) = line.strip_prefix('$') {
            c.setup.push(split_words(rest));
        } else if let Some(rest) = line.strip_prefix('>') {
            let mut w = split_words(rest);
            if matches!(
                w.first().map(String::as_str),
                Some("ipvsadm-save" | "ipvsadm-restore")
            ) {
                c.prog = w.remove(0);
            }
            c.args = w;
        } else if let Some(rest) = line.strip_prefix('<') {
            let s = c.stdin.get_or_insert_with(String::new);
            s.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            s.push('\n');
        } else {
            panic!("cases.txt:{}: cannot parse {line:?}", i + 1);
        }
    }
    if let Some(c) = cur.take() {
        cases.push(c);
    }
    cases
}
