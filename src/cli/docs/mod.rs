//! Documentation generated from the flag table
//! ([`crate::lang::flags::FLAGS`]), one generator per output, as ripgrep
//! does: [`man`] (the OPTIONS section of `man/ipvsadm.8`), [`bash`], [`zsh`]
//! and [`fish`] (`ipvsadm completions SHELL`). This module holds what they
//! share: the flags merged by long name, which options each command takes,
//! and our subcommands' documentation.
//!
//! The generated copies in the repository (`man/ipvsadm.8` between its
//! `BEGIN`/`END GENERATED OPTIONS` markers, `completions/*`) are checked by
//! `tests/docs.rs`; `IPVSADM_REGENERATE=1 cargo test --test docs` rewrites
//! them.

pub mod bash;
pub mod fish;
pub mod man;
pub mod zsh;

use crate::lang::flags::{Cmd, FlagDef, Opt, Tag, COMMANDS_V_OPTIONS, FLAGS};

pub use man::man_options;

/// Shells `ipvsadm completions` writes scripts for.
pub const SHELLS: &[&str] = &["bash", "zsh", "fish"];

/// One of our subcommands, for the completions (the behaviour is in
/// `cli::sub`).
pub struct SubDoc {
    pub name: &'static str,
    pub summary: &'static str,
    /// Long options (without `--`) and their descriptions.
    pub options: &'static [(&'static str, &'static str)],
    /// What the positional argument is.
    pub arg: SubArg,
}

/// The positional argument of a subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubArg {
    None,
    /// A file name, or `-` for standard input.
    File,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// One of these words, then a file name (or `-`).
    WordThenFile(&'static [&'static str]),
}

/// Our subcommands (the same words as `cli::sub::SUBCOMMANDS`).
pub static SUBCOMMAND_DOCS: &[SubDoc] = &[
    SubDoc {
        name: "apply",
        summary: "Make the IPVS tables match a rules or JSON file",
        options: &[
            (
                "dry-run",
                "Print the changes as ipvsadm commands, change nothing",
            ),
            (
                "drain",
                "Set real servers to remove that have connections to weight 0",
            ),
            (
                "incremental",
                "Diff against the record of the last apply, read only what differs",
            ),
            (
                "wait",
                "Seconds to wait while another run changes the tables",
            ),
            ("verbose", "Say on standard error how the state was read"),
            ("help", "Show the usage text"),
        ],
        arg: SubArg::File,
    },
    SubDoc {
        name: "state",
        summary: "Print the whole IPVS state as rules or JSON",
        options: &[
            ("json", "Print JSON instead of rules"),
            ("help", "Show the usage text"),
        ],
        arg: SubArg::None,
    },
    SubDoc {
        name: "serve",
        summary:
            "Apply a file, then keep it applied and every real server's weight matching its health",
        options: &[
            (
                "listen",
                "Serve GET /metrics (Prometheus) and GET / (a status page) over HTTP on [ADDR:]PORT (localhost by default); read-only",
            ),
            (
                "events",
                "Append state changes, reloads and repairs to PATH as JSON lines (- for stdout)",
            ),
            ("socket", "Control socket of the daemon"),
            (
                "on-stop",
                "What SIGTERM does to the table: leave (default) or remove",
            ),
            (
                "resync",
                "Seconds between comparisons of the whole table with the file",
            ),
            (
                "drain-poll",
                "Seconds between reads of the connections of draining servers",
            ),
            (
                "wait",
                "Seconds to wait while another run changes the tables",
            ),
            ("json", "serve status: print JSON"),
            ("help", "Show the usage text"),
        ],
        arg: SubArg::File,
    },
    SubDoc {
        name: "metrics",
        summary: "Print one Prometheus scrape of the IPVS tables",
        options: &[
            (
                "per-service",
                "No real-server series, sums per service instead",
            ),
            ("help", "Show the usage text"),
        ],
        arg: SubArg::None,
    },
    SubDoc {
        name: "import",
        summary: "Print keepalived.conf as the document serve and apply read",
        options: &[
            ("format", "json (default) or rules with #@ health lines"),
            ("help", "Show the usage text"),
        ],
        arg: SubArg::WordThenFile(&["keepalived"]),
    },
    SubDoc {
        name: "export",
        summary: "Print a serve/apply document, or the running state, as keepalived.conf",
        options: &[("help", "Show the usage text")],
        arg: SubArg::WordThenFile(&["keepalived"]),
    },
    SubDoc {
        name: "version",
        summary: "Print ipvsadm-rs's own name and version",
        options: &[],
        arg: SubArg::None,
    },
    SubDoc {
        name: "completions",
        summary: "Print a shell completion script",
        options: &[("help", "Show the usage text")],
        arg: SubArg::OneOf(SHELLS),
    },
];

/// Does the command flag `command` accept the option flag `option`
/// (by the command x option matrix)? Completions offer only those.
pub fn accepts(command: &FlagDef, option: &FlagDef) -> bool {
    let Some(cmd) = command.cmd else {
        return false;
    };
    let row = COMMANDS_V_OPTIONS[cmd as usize];
    let allowed = |o: Opt| row[o as usize] != b'x';
    match option.tag {
        Tag::Json => matches!(cmd, Cmd::List | Cmd::Save),
        Tag::Ipv6 => allowed(Opt::Service),
        Tag::Sort => allowed(Opt::NoSort),
        _ => option.bit.is_some_and(allowed),
    }
}

/// Flags that share a long name (`-L` and `-l`) are one entry.
pub struct Entry {
    pub shorts: Vec<char>,
    pub def: &'static FlagDef,
}

pub fn entries() -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for f in FLAGS {
        if let Some(e) = out.iter_mut().find(|e| e.def.long == f.long) {
            e.shorts.extend(f.short);
        } else {
            out.push(Entry {
                shorts: f.short.into_iter().collect(),
                def: f,
            });
        }
    }
    out
}
// ---------------------------------------------------------------- completions

/// The script for `shell` (`bash`, `zsh` or `fish`).
pub fn completion(shell: &str) -> Option<String> {
    match shell {
        "bash" => Some(bash::script()),
        "zsh" => Some(zsh::script()),
        "fish" => Some(fish::script()),
        _ => None,
    }
}

/// One-line description for completions: no final full stop.
pub fn short_doc(doc: &str) -> &str {
    doc.strip_suffix('.').unwrap_or(doc)
}

pub fn flag_words(e: &Entry) -> Vec<String> {
    let mut w: Vec<String> = e.shorts.iter().map(|c| format!("-{c}")).collect();
    w.push(format!("--{}", e.def.long));
    w
}

/// Command entries grouped by the option entries they accept (groups in
/// the order of their first command); `-h`/`-v` and the commands that take
/// no option form a group with no options.
pub fn command_groups(all: &[Entry]) -> Vec<(Vec<&Entry>, Vec<&Entry>)> {
    let mut groups: Vec<(Vec<&Entry>, Vec<&Entry>)> = Vec::new();
    for c in all.iter().filter(|e| e.def.command) {
        let opts: Vec<&Entry> = all
            .iter()
            .filter(|o| !o.def.command && accepts(c.def, o.def))
            .collect();
        let same = |g: &(Vec<&Entry>, Vec<&Entry>)| {
            g.1.len() == opts.len() && g.1.iter().zip(&opts).all(|(a, b)| a.def.tag == b.def.tag)
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.0.push(c),
            None => groups.push((vec![c], opts)),
        }
    }
    groups
}

pub const HEADER: &str = "ipvsadm-rs: generated from the flag table by `ipvsadm completions";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_shell() {
        assert!(completion("tcsh").is_none());
        for sh in SHELLS {
            assert!(completion(sh).is_some());
        }
    }

    #[test]
    fn choices_match_flag_docs() {
        for f in FLAGS {
            if let Some(c) = f.choices {
                let text = format!("{} {}", f.value, f.doc);
                for w in c {
                    assert!(text.contains(w), "{} does not mention {w}", f.long);
                }
            }
        }
    }
}
