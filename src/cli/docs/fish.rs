//! The fish completion script (`ipvsadm completions fish`).

use super::{accepts, entries, flag_words, short_doc, Entry, SubArg, HEADER, SUBCOMMAND_DOCS};
use crate::lang::flags::{ArgKind, Complete};
use std::fmt::Write as _;
/// Quote for a fish single-quoted word.
fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub fn script() -> String {
    let all = entries();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# fish completion for ipvsadm, ipvsadm-save, ipvsadm-restore"
    );
    let _ = writeln!(s, "# {HEADER} fish`; do not edit.\n");
    let command_words: Vec<String> = all
        .iter()
        .filter(|e| e.def.command)
        .flat_map(flag_words)
        .collect();
    s.push_str(
        &"# The words typed so far, without the one being completed.
function __ipvsadm_first_word
    test (count (commandline -opc)) -eq 1
end

# After one of the commands $argv in first position; after any bundle such
# as -Ln (not a command word on its own).
function __ipvsadm_after_command
    set -l words (commandline -opc)
    test (count $words) -ge 2
    and string match -q -- '-*' $words[2]
    or return 1
    contains -- $words[2] $argv
    or not contains -- $words[2] COMMAND_WORDS
end

# Right after the command $argv (for its value: --start-daemon master).
function __ipvsadm_command_value
    set -l words (commandline -opc)
    test (count $words) -eq 2
    and contains -- $words[2] $argv
end

# After the subcommand $argv[1].
function __ipvsadm_subcommand
    set -l words (commandline -opc)
    test (count $words) -ge 2
    and test \"$words[2]\" = $argv[1]
end

complete -c ipvsadm -f
complete -c ipvsadm-save -f
complete -c ipvsadm-restore -f
complete -c ipvsadm-save -s n -d 'Numeric output of addresses and ports'

"
        .replace("COMMAND_WORDS", &command_words.join(" ")),
    );
    s.push_str("# Commands (first word).\n");
    for e in all.iter().filter(|e| e.def.command) {
        let _ = writeln!(s, "{}", fish_flag_line(e, "__ipvsadm_first_word"));
    }
    for e in all
        .iter()
        .filter(|e| e.def.command && e.def.arg == ArgKind::Required)
    {
        if let Some(c) = e.def.choices {
            let cond = fish_quote(&format!(
                "__ipvsadm_command_value {}",
                flag_words(e).join(" ")
            ));
            let _ = writeln!(
                s,
                "complete -c ipvsadm -n {cond} -x -a {} -d {}",
                fish_quote(&c.join(" ")),
                fish_quote(e.def.value)
            );
        }
    }
    s.push_str("\n# Options (after the command).\n");
    for e in all.iter().filter(|e| !e.def.command) {
        let cmds: Vec<String> = all
            .iter()
            .filter(|c| c.def.command && accepts(c.def, e.def))
            .flat_map(flag_words)
            .collect();
        let cond = fish_quote(&format!("__ipvsadm_after_command {}", cmds.join(" ")));
        let _ = writeln!(s, "{}", fish_flag_line(e, &cond));
    }
    s.push_str("\n# Subcommands.\n");
    for d in SUBCOMMAND_DOCS {
        let _ = writeln!(
            s,
            "complete -c ipvsadm -n __ipvsadm_first_word -a {} -d {}",
            d.name,
            fish_quote(d.summary)
        );
    }
    for d in SUBCOMMAND_DOCS {
        let cond = fish_quote(&format!("__ipvsadm_subcommand {}", d.name));
        for (l, doc) in d.options {
            let _ = writeln!(
                s,
                "complete -c ipvsadm -n {cond} -l {l} -d {}",
                fish_quote(doc)
            );
        }
        match d.arg {
            SubArg::File => {
                let _ = writeln!(s, "complete -c ipvsadm -n {cond} -F");
            }
            SubArg::OneOf(words) => {
                let _ = writeln!(
                    s,
                    "complete -c ipvsadm -n {cond} -a {}",
                    fish_quote(&words.join(" "))
                );
            }
            SubArg::WordThenFile(words) => {
                let _ = writeln!(
                    s,
                    "complete -c ipvsadm -n {cond} -a {}",
                    fish_quote(&words.join(" "))
                );
                let _ = writeln!(s, "complete -c ipvsadm -n {cond} -F");
            }
            SubArg::None => {}
        }
    }
    s
}

fn fish_flag_line(e: &Entry, cond: &str) -> String {
    let mut line = format!("complete -c ipvsadm -n {cond}");
    for c in &e.shorts {
        let _ = write!(line, " -s {c}");
    }
    let _ = write!(line, " -l {}", e.def.long);
    match e.def.arg {
        ArgKind::Required => {
            line.push_str(" -x");
            if let Some(c) = e.def.choices {
                let _ = write!(line, " -a {}", fish_quote(&c.join(" ")));
            } else if e.def.complete == Complete::Interface {
                line.push_str(" -a '(__fish_print_interfaces)'");
            }
        }
        ArgKind::Optional | ArgKind::None => {}
    }
    let _ = write!(line, " -d {}", fish_quote(short_doc(e.def.doc)));
    line
}
