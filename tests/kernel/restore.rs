//! `-R` at scale: pipelined batches must behave exactly as ipvsadm's
//! line-by-line restore (messages, their order, exit status, what is
//! applied), and comment lines are accepted.

use crate::common::cases::Case;
use crate::diff::check;
use crate::support::*;

fn restore_case(name: &str, input: String) -> Case {
    Case {
        category: "restore".into(),
        name: name.into(),
        line: 0,
        setup: vec![],
        prog: "ipvsadm".into(),
        args: vec!["-R".into()],
        stdin: Some(input),
    }
}

/// `n` services with two real servers each.
fn rules(n: usize) -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..n {
        let port = 1000 + i;
        v.push(format!("-A -t 192.0.2.1:{port} -s wrr"));
        v.push(format!(
            "-a -t 192.0.2.1:{port} -r 198.51.100.1:{port} -m -w 2"
        ));
        v.push(format!(
            "-a -t 192.0.2.1:{port} -r 198.51.100.2:{port} -m -x 10 -y 2"
        ));
    }
    v
}

#[test]
fn large_restore_matches_ipvsadm() {
    let _gate = fresh_netns_alone();
    let input = rules(1500).join("\n") + "\n";
    check(&restore_case("4500 lines", input)).unwrap();
}

#[test]
fn kernel_errors_across_batches_match_ipvsadm() {
    let _gate = fresh_netns_alone();
    let mut lines = rules(1500);
    // Duplicates and missing services scattered over several batches.
    for at in [10, 2000, 4099, 4300] {
        let dup = lines[at - (at % 3)].clone();
        lines.insert(at, dup);
    }
    lines.insert(3000, "-a -t 192.0.2.9:1 -r 198.51.100.1 -m".into());
    lines.push("-A -t 192.0.2.1:1000 -s rr".into());
    check(&restore_case("errors", lines.join("\n") + "\n")).unwrap();
}

#[test]
fn parse_error_after_thousands_of_changes_matches_ipvsadm() {
    let _gate = fresh_netns_alone();
    let mut lines = rules(1500);
    lines.insert(4200, "-a -t 192.0.2.1:1001 -r 198.51.100.7 -w nope".into());
    check(&restore_case("parse error", lines.join("\n") + "\n")).unwrap();
}

#[test]
fn listing_between_changes_matches_ipvsadm() {
    let _gate = fresh_netns_alone();
    let mut lines = rules(3);
    lines.insert(4, "-L -n".into());
    lines.insert(6, "--bogus".into());
    lines.push("-S -n".into());
    check(&restore_case("listing", lines.join("\n") + "\n")).unwrap();
}

#[test]
fn comment_lines_are_skipped() {
    let _gate = fresh_netns();
    let input = "# saved by ipvsadm-save\n-A -t 192.0.2.1:80 -s rr\n  # indented comment\n#-C\n-a -t 192.0.2.1:80 -r 198.51.100.1 -m\n";
    let out = ours(&["-R"], Some(input));
    assert_eq!(out.stderr, "");
    assert_eq!(out.status, 0);
    assert_saved(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
    ]);
}
