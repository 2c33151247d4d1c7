//! The command parser on the host, without a kernel: every command line of
//! the differential suite (`tests/kernel/cases.txt`: the setup lines, the
//! compared invocations and each line they read on standard input with
//! `-R`) is parsed, and its outcome must equal the one stored in
//! `tests/fixtures/parse_outcomes.txt`: the typed action (changes written
//! back as the rule that makes them, with the libipvs call they are
//! reported as), or ipvsadm's message and exit status.
//!
//! The stored outcomes are the ones the differential suite checks against
//! ipvsadm 1.31 in the VM; here they catch a parser change at once, on any
//! machine. Host names are not looked up (the VM's `/etc/hosts` names
//! hosts this machine does not know); service names are, from
//! `/etc/services`. `IPVSADM_REGENERATE=1 cargo test --test parse`
//! rewrites the file after a deliberate change.

mod common;

use ipvsadm_rs::lang::parse::{parse, Action, ParseError};
use ipvsadm_rs::lang::render::op_command;
use ipvsadm_rs::lang::stream::ConfigStream;
use std::fmt::Write as _;
use std::path::Path;

fn outcome(argv: &[String]) -> String {
    let mut full = vec!["ipvsadm".to_string()];
    full.extend(argv.iter().cloned());
    match parse(&full) {
        Ok(Action::Change(op, call)) => format!("{call:?}: {}", op_command(&op)),
        Ok(other) => format!("{other:?}"),
        Err(ParseError::Fail { msg, code }) => format!("exit {code}: {msg:?}"),
        Err(ParseError::Popt { msg }) => format!("status -1: {msg:?}"),
    }
}

fn replay() -> (String, usize) {
    ipvsadm_rs::names::disable_host_lookups();
    let mut out = String::new();
    let mut n = 0;
    let mut line = |out: &mut String, words: &[String]| {
        n += 1;
        let _ = writeln!(out, "{}\n  {}", words.join(" "), outcome(words));
    };
    for case in common::cases::parse_cases() {
        let _ = writeln!(
            out,
            "# cases.txt:{} [{}] {}",
            case.line, case.category, case.name
        );
        for setup in &case.setup {
            line(&mut out, setup);
        }
        if case.prog == "ipvsadm" {
            line(&mut out, &case.args);
        }
        if let Some(input) = &case.stdin {
            let reads = case.prog == "ipvsadm-restore" || case.args.iter().any(|a| a == "-R");
            if reads {
                let mut stream = ConfigStream::new(input.as_bytes());
                while let Some(words) = stream.next_command() {
                    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
                    if words.first().is_none_or(|w| w.starts_with('#')) {
                        continue;
                    }
                    let _ = write!(out, "< ");
                    line(&mut out, &words);
                }
            }
        }
    }
    (out, n)
}

#[test]
fn every_command_line_of_the_differential_suite() {
    let (got, n) = replay();
    assert!(n >= 400, "only {n} command lines replayed");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parse_outcomes.txt");
    if std::env::var_os("IPVSADM_REGENERATE").is_some() {
        std::fs::write(&path, &got).expect("write the outcomes");
        eprintln!("rewrote {}", path.display());
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (IPVSADM_REGENERATE=1 writes it)", path.display()));
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        let show = |t: &str| {
            t.lines()
                .skip(first.saturating_sub(3))
                .take(8)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "parser outcomes differ from {} at line {}:\ngot:\n{}\nstored:\n{}",
            path.display(),
            first + 1,
            show(&got),
            show(&want)
        );
    }
}
