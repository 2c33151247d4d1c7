//! The bash completion script (`ipvsadm completions bash`).

use super::{command_groups, entries, flag_words, SubArg, HEADER, SUBCOMMAND_DOCS};
use crate::lang::flags::{ArgKind, Complete};
use std::fmt::Write as _;
pub fn script() -> String {
    let all = entries();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# bash completion for ipvsadm, ipvsadm-save, ipvsadm-restore"
    );
    let _ = writeln!(s, "# {HEADER} bash`; do not edit.");
    s.push_str("# shellcheck shell=bash\n\n");

    let commands: Vec<String> = all
        .iter()
        .filter(|e| e.def.command)
        .flat_map(flag_words)
        .collect();
    let options: Vec<String> = all
        .iter()
        .filter(|e| !e.def.command)
        .flat_map(flag_words)
        .collect();
    let subs: Vec<&str> = SUBCOMMAND_DOCS.iter().map(|d| d.name).collect();

    s.push_str("_ipvsadm() {\n");
    s.push_str("    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\"\n");
    s.push_str("    [ \"$COMP_CWORD\" -gt 0 ] && prev=\"${COMP_WORDS[COMP_CWORD - 1]}\"\n");
    s.push_str("    COMPREPLY=()\n\n");

    // Subcommands.
    s.push_str("    if [ \"$COMP_CWORD\" -ge 2 ]; then\n");
    s.push_str("        case \"${COMP_WORDS[1]}\" in\n");
    for d in SUBCOMMAND_DOCS {
        let opts: Vec<String> = d.options.iter().map(|(l, _)| format!("--{l}")).collect();
        let _ = writeln!(s, "        {})", d.name);
        match d.arg {
            SubArg::File => {
                let _ = writeln!(
                    s,
                    "            case \"$cur\" in\n                -?*) mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\") ;;\n                *) compopt -o filenames 2>/dev/null\n                   mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n            esac",
                    opts.join(" ")
                );
            }
            SubArg::OneOf(words) => {
                let _ = writeln!(
                    s,
                    "            mapfile -t COMPREPLY < <(compgen -W \"{} {}\" -- \"$cur\")",
                    words.join(" "),
                    opts.join(" ")
                );
            }
            SubArg::WordThenFile(words) => {
                let _ = writeln!(
                    s,
                    "            case \"$cur\" in\n                -?*) mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\") ;;\n                *) if [ \"$COMP_CWORD\" -eq 2 ]; then\n                       mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\")\n                   else\n                       compopt -o filenames 2>/dev/null\n                       mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n                   fi ;;\n            esac",
                    opts.join(" "),
                    words.join(" ")
                );
            }
            SubArg::None => {
                let _ = writeln!(
                    s,
                    "            mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\")",
                    opts.join(" ")
                );
            }
        }
        s.push_str("            return ;;\n");
    }
    s.push_str("        esac\n    fi\n\n");

    // Values of flags.
    s.push_str("    case \"$prev\" in\n");
    for e in &all {
        if e.def.arg == ArgKind::None {
            continue;
        }
        let pat = flag_words(e).join(" | ");
        if let Some(c) = e.def.choices {
            let _ = writeln!(
                s,
                "        {pat})\n            mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\")\n            return ;;",
                c.join(" ")
            );
        } else if e.def.complete == Complete::Interface {
            let _ = writeln!(
                s,
                "        {pat})\n            mapfile -t COMPREPLY < <(compgen -W \"$(ls /sys/class/net 2>/dev/null)\" -- \"$cur\")\n            return ;;"
            );
        } else if e.def.arg == ArgKind::Required {
            // A value nothing can guess (an address, a number).
            let _ = writeln!(s, "        {pat})\n            return ;;");
        }
    }
    s.push_str("    esac\n\n");

    let _ = writeln!(
        s,
        "    if [ \"$COMP_CWORD\" -le 1 ]; then\n        mapfile -t COMPREPLY < <(compgen -W \"{} {}\" -- \"$cur\")\n        return\n    fi",
        subs.join(" "),
        commands.join(" ")
    );
    // Only the options the command accepts; everything after a bundle
    // such as -Ln.
    s.push_str("    local opts\n    case \"${COMP_WORDS[1]}\" in\n");
    for (cmds, opts) in command_groups(&all) {
        let pat: Vec<String> = cmds.iter().flat_map(|e| flag_words(e)).collect();
        let words: Vec<String> = opts.iter().flat_map(|e| flag_words(e)).collect();
        let _ = writeln!(
            s,
            "        {}) opts=\"{}\" ;;",
            pat.join(" | "),
            words.join(" ")
        );
    }
    let _ = writeln!(s, "        *) opts=\"{}\" ;;", options.join(" "));
    s.push_str("    esac\n");
    s.push_str("    mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n");
    s.push_str("}\n\n");

    s.push_str("_ipvsadm_save() {\n");
    s.push_str(
        "    mapfile -t COMPREPLY < <(compgen -W \"-n\" -- \"${COMP_WORDS[COMP_CWORD]}\")\n",
    );
    s.push_str("}\n\n");
    s.push_str("complete -F _ipvsadm ipvsadm\n");
    s.push_str("complete -F _ipvsadm_save ipvsadm-save\n");
    s.push_str("# ipvsadm-restore reads standard input and takes no arguments.\n");
    s.push_str("complete -W \"\" ipvsadm-restore\n");
    s
}
