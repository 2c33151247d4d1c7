//! The OPTIONS section of `man/ipvsadm.8` (roff), from the flag table:
//! the commands first, then the options by [`Group`].

use super::{entries, Entry};
use crate::lang::flags::{ArgKind, Group};
use std::fmt::Write as _;

/// A man page section's title and introduction.
fn group_text(g: Group) -> (&'static str, &'static str) {
    match g {
        Group::Service => ("Virtual service", "Commands that act on one virtual service (`-A`, `-E`, `-D`, `-a`, `-e`, `-d`, and optionally `-L` and `-Z`) name it with exactly one of these."),
        Group::ServiceOptions => ("Virtual service options", "With `-A` and `-E`."),
        Group::Server => ("Real server options", "With `-a` and `-e` (`-d` takes `-r` only)."),
        Group::Listing => ("Listing options", "With `-L` (`-S` takes `-n` and `--json` only)."),
        Group::Daemon => ("Synchronisation daemon options", "With `--start-daemon` (`--stop-daemon` takes `--syncid` only)."),
        Group::Other => ("Other options", ""),
    }
}

// ---------------------------------------------------------------- roff

/// Escape plain text for roff: backslashes, dashes (so that options copy
/// and paste as ASCII) and non-ASCII characters.
fn roff_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            // Allow line breaks inside lists such as rr|wrr|lc or a,b,c.
            '|' | ',' | '/' => {
                out.push(c);
                out.push_str("\\:");
            }
            c if c.is_ascii() => out.push(c),
            c => {
                let _ = write!(out, "\\[u{:04X}]", c as u32);
            }
        }
    }
    out
}

/// Render the small markup of [`details`] (`` `bold` ``, `{italic}`).
fn roff_markup(s: &str) -> String {
    let mut out = String::new();
    let mut plain = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let (close, font) = match c {
            '`' => ('`', "B"),
            '{' => ('}', "I"),
            _ => {
                plain.push(c);
                continue;
            }
        };
        out.push_str(&roff_text(&plain));
        plain.clear();
        let inner: String = chars.by_ref().take_while(|&x| x != close).collect();
        let _ = write!(out, "\\f{font}{}\\fR", roff_text(&inner));
    }
    out.push_str(&roff_text(&plain));
    out
}

/// A text line: protect a leading `.` or `'` from being read as a
/// request.
fn roff_line(out: &mut String, text: &str) {
    if text.starts_with('.') || text.starts_with('\'') {
        out.push_str("\\&");
    }
    out.push_str(text);
    out.push('\n');
}

/// Split prose at sentence ends (". " before a capital, a digit or
/// markup), so that each sentence starts a line as roff expects.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for i in 0..bytes.len().saturating_sub(2) {
        let next = bytes[i + 2];
        if bytes[i] == b'.'
            && bytes[i + 1] == b' '
            && (next.is_ascii_uppercase() || next.is_ascii_digit() || next == b'`' || next == b'{')
        {
            out.push(&text[start..=i]);
            start = i + 2;
        }
    }
    out.push(&text[start..]);
    out
}

/// A value placeholder: words italic, `a|b` alternatives bold.
fn roff_value(v: &str) -> String {
    v.split(' ')
        .map(|w| {
            if w.contains('|') {
                w.split('|')
                    .map(|a| format!("\\fB{}\\fR", roff_text(a)))
                    .collect::<Vec<_>>()
                    .join("|")
            } else {
                format!("\\fI{}\\fR", roff_text(w))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn roff_tag_line(e: &Entry) -> String {
    let mut names: Vec<String> = e
        .shorts
        .iter()
        .map(|c| format!("\\fB\\-{}\\fR", roff_text(&c.to_string())))
        .collect();
    names.push(format!("\\fB\\-\\-{}\\fR", roff_text(e.def.long)));
    let mut line = names.join(", ");
    if !e.def.value.is_empty() {
        match e.def.arg {
            ArgKind::Optional => {
                let _ = write!(line, " [{}]", roff_value(e.def.value));
            }
            _ => {
                let _ = write!(line, " {}", roff_value(e.def.value));
            }
        }
    }
    line
}

fn roff_entry(out: &mut String, e: &Entry) {
    out.push_str(".TP\n");
    roff_line(out, &roff_tag_line(e));
    roff_line(out, &roff_text(e.def.doc));
    let more = e.def.details;
    if !more.is_empty() {
        out.push_str(".IP\n");
        for sentence in sentences(more) {
            roff_line(out, &roff_markup(sentence));
        }
    }
}

/// The OPTIONS section body of `ipvsadm.8` (roff): every flag of
/// [`FLAGS`], the commands first, then the options by topic.
pub fn man_options() -> String {
    let all = entries();
    let mut out = String::new();
    out.push_str(".SS Commands\n");
    roff_line(
        &mut out,
        &roff_markup(
            "Exactly one command, as the first argument (short options bundle, as in `-Ln`).",
        ),
    );
    for e in all.iter().filter(|e| e.def.command) {
        roff_entry(&mut out, e);
    }
    for g in Group::ALL {
        let members: Vec<&Entry> = all
            .iter()
            .filter(|e| !e.def.command && e.def.group == g)
            .collect();
        if members.is_empty() {
            continue;
        }
        let (title, intro) = group_text(g);
        let _ = writeln!(out, ".SS {}", roff_text(title));
        if !intro.is_empty() {
            roff_line(&mut out, &roff_markup(intro));
        }
        for e in members {
            roff_entry(&mut out, e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::flags::FLAGS;

    #[test]
    fn every_flag_in_man_options() {
        let m = man_options();
        for f in FLAGS {
            assert!(
                m.contains(&format!("\\fB\\-\\-{}\\fR", roff_text(f.long))),
                "{}",
                f.long
            );
            if let Some(c) = f.short {
                assert!(m.contains(&format!("\\fB\\-{c}\\fR")), "-{c}");
            }
        }
    }

    #[test]
    fn every_option_in_a_group_once() {
        let m = man_options();
        assert!(!m.contains("Other options"), "a flag has no man page group");
        for e in entries() {
            let head = roff_tag_line(&e);
            assert_eq!(m.matches(&format!("{head}\n")).count(), 1, "{head}");
        }
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(roff_text("a-b\\c"), "a\\-b\\ec");
        assert_eq!(roff_text("a|b"), "a|\\:b");
        assert_eq!(roff_text("2\u{b3}"), "2\\[u00B3]");
        assert_eq!(roff_markup("`-s` {x}"), "\\fB\\-s\\fR \\fIx\\fR");
        let mut s = String::new();
        roff_line(&mut s, ".x");
        assert_eq!(s, "\\&.x\n");
    }

    #[test]
    fn sentences_split() {
        assert_eq!(
            sentences("A b. C d. `-x` e."),
            vec!["A b.", "C d.", "`-x` e."]
        );
        assert_eq!(sentences("a.b c. d"), vec!["a.b c. d"]);
    }
}
