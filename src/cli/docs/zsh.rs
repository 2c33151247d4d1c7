//! The zsh completion script (`ipvsadm completions zsh`).

use super::{
    command_groups, entries, flag_words, short_doc, Entry, SubArg, HEADER, SUBCOMMAND_DOCS,
};
use crate::lang::flags::{ArgKind, Complete, Tag};
use std::fmt::Write as _;
/// Quote for a zsh single-quoted word.
fn zsh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Escape a description for `_arguments`' `[...]` part.
fn zsh_desc(s: &str) -> String {
    let mut out = String::new();
    for c in short_doc(s).chars() {
        if matches!(c, '[' | ']' | ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escape for `_describe` (`name:description`): colons in the name.
fn zsh_describe_item(name: &str, desc: &str) -> String {
    zsh_quote(&format!("{}:{}", name.replace(':', "\\:"), short_doc(desc)))
}

fn zsh_action(e: &Entry) -> String {
    if let Some(c) = e.def.choices {
        format!("({})", c.join(" "))
    } else if e.def.complete == Complete::Interface {
        "_net_interfaces".to_string()
    } else {
        " ".to_string()
    }
}

/// `options=(...)`: the `_arguments` specs of `opts`.
fn zsh_option_specs(s: &mut String, opts: &[&Entry], indent: &str) {
    if opts.is_empty() {
        let _ = writeln!(s, "{indent}options=()");
        return;
    }
    let _ = writeln!(s, "{indent}options=(");
    for e in opts {
        let words = flag_words(e);
        let excl = format!("({})", words.join(" "));
        let desc = zsh_desc(e.def.doc);
        for w in &words {
            let is_long = w.starts_with("--");
            let suffix = if is_long { "=" } else { "+" };
            let spec = match e.def.arg {
                ArgKind::None => format!("{excl}{w}[{desc}]"),
                ArgKind::Required => format!(
                    "{excl}{w}{suffix}[{desc}]:{}:{}",
                    e.def.value.replace(':', "\\:"),
                    zsh_action(e)
                ),
                ArgKind::Optional => format!("{excl}{w}{suffix}[{desc}]::{}:", e.def.value),
            };
            let _ = writeln!(s, "{indent}    {}", zsh_quote(&spec));
        }
    }
    let _ = writeln!(s, "{indent})");
}

pub fn script() -> String {
    let all = entries();
    let mut s = String::new();
    s.push_str("#compdef ipvsadm ipvsadm-save ipvsadm-restore\n");
    let _ = writeln!(
        s,
        "# zsh completion for ipvsadm, ipvsadm-save, ipvsadm-restore"
    );
    let _ = writeln!(s, "# {HEADER} zsh`; do not edit.\n");

    s.push_str("_ipvsadm() {\n");
    s.push_str("    local -a commands subcommands options\n");
    s.push_str("    case $service in\n");
    s.push_str("        ipvsadm-save)\n            _arguments '-n[numeric output of addresses and ports]'\n            return ;;\n");
    s.push_str("        ipvsadm-restore)\n            _message 'no arguments: the rules are read from standard input'\n            return 1 ;;\n");
    s.push_str("    esac\n\n");

    s.push_str("    commands=(\n");
    for e in all.iter().filter(|e| e.def.command) {
        for w in flag_words(e) {
            let _ = writeln!(s, "        {}", zsh_describe_item(&w, e.def.doc));
        }
    }
    s.push_str("    )\n");
    s.push_str("    subcommands=(\n");
    for d in SUBCOMMAND_DOCS {
        let _ = writeln!(s, "        {}", zsh_describe_item(d.name, d.summary));
    }
    s.push_str("    )\n");

    s.push_str("    if (( CURRENT == 2 )); then\n");
    s.push_str("        if [[ $PREFIX == -* ]]; then\n");
    s.push_str("            _describe -t commands 'ipvsadm command' commands\n");
    s.push_str("        else\n");
    s.push_str("            _describe -t subcommands 'ipvsadm subcommand' subcommands\n");
    s.push_str("        fi\n");
    s.push_str("        return\n    fi\n\n");

    // Subcommands: drop the program name so that _arguments sees the
    // subcommand's own words.
    s.push_str("    case $words[2] in\n");
    for d in SUBCOMMAND_DOCS {
        let _ = writeln!(s, "        {})", d.name);
        s.push_str("            shift words\n            (( CURRENT-- ))\n");
        let mut specs: Vec<String> = d
            .options
            .iter()
            .map(|(l, doc)| zsh_quote(&format!("--{l}[{}]", zsh_desc(doc))))
            .collect();
        match d.arg {
            SubArg::File => specs.push(zsh_quote("1:rules file (- for standard input):_files")),
            SubArg::OneOf(words) => {
                specs.push(zsh_quote(&format!("1:shell:({})", words.join(" "))))
            }
            SubArg::WordThenFile(words) => {
                specs.push(zsh_quote(&format!("1:source:({})", words.join(" "))));
                specs.push(zsh_quote("2:file (- for standard input):_files"));
            }
            SubArg::None => {}
        }
        let _ = writeln!(s, "            _arguments -S {}", specs.join(" "));
        s.push_str("            return ;;\n");
    }
    // Commands whose value is the word after them.
    let with_value: Vec<&Entry> = all
        .iter()
        .filter(|e| e.def.command && e.def.arg == ArgKind::Required)
        .collect();
    for e in &with_value {
        let words = flag_words(e).join(" | ");
        let _ = writeln!(
            s,
            "        {words})\n            if (( CURRENT == 3 )); then\n                _wanted values expl {} compadd -- {}\n                return\n            fi ;;",
            zsh_quote(e.def.value),
            e.def.choices.unwrap_or(&[]).join(" ")
        );
    }
    for e in all.iter().filter(|e| e.def.tag == Tag::Set) {
        let words = flag_words(e).join(" | ");
        let _ = writeln!(
            s,
            "        {words})\n            _message {}\n            return ;;",
            zsh_quote(&format!("timeouts in seconds: {}", e.def.value))
        );
    }
    s.push_str("    esac\n\n");

    // The options after the command: those it accepts; all of them after
    // a bundle such as -Ln.
    s.push_str("    case $words[2] in\n");
    for (cmds, opts) in command_groups(&all) {
        let pat: Vec<String> = cmds.iter().flat_map(|e| flag_words(e)).collect();
        let _ = writeln!(s, "        {})", pat.join(" | "));
        zsh_option_specs(&mut s, &opts, "            ");
        s.push_str("            ;;\n");
    }
    s.push_str("        *)\n");
    let every: Vec<&Entry> = all.iter().filter(|e| !e.def.command).collect();
    zsh_option_specs(&mut s, &every, "            ");
    s.push_str("            ;;\n    esac\n");
    s.push_str("    # The command (and the value of --start-daemon, --stop-daemon) is not an option for _arguments.\n");
    s.push_str("    local skip=1\n");
    s.push_str("    case $words[2] in\n");
    let _ = writeln!(
        s,
        "        {}) skip=2 ;;",
        with_value
            .iter()
            .flat_map(|e| flag_words(e))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    s.push_str("    esac\n");
    s.push_str("    words=(\"$words[1]\" \"${(@)words[2+skip,-1]}\")\n");
    s.push_str("    (( CURRENT -= skip ))\n");
    s.push_str("    _arguments -s -S $options '*: :'\n");
    s.push_str("}\n\n");
    s.push_str("if [ \"$funcstack[1]\" = \"_ipvsadm\" ]; then\n");
    s.push_str("    _ipvsadm \"$@\"\n");
    s.push_str("else\n");
    s.push_str("    compdef _ipvsadm ipvsadm ipvsadm-save ipvsadm-restore\n");
    s.push_str("fi\n");
    s
}
