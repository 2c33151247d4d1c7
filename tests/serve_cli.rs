//! `ipvsadm serve` on the host (no IPVS needed): FILE checking, usage, and
//! the client commands with no daemon. The daemon itself is tested in the
//! VM (`tests/kernel/serve.rs`).

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ipvsadm"))
        .args(args)
        .output()
        .expect("run ipvsadm");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn examples_are_valid() {
    for f in ["doc/serve-example.rules", "doc/serve-example.json"] {
        let (st, out, err) = run(&["serve", "check", f]);
        assert_eq!((st, out.as_str(), err.as_str()), (0, "", ""), "{f}");
    }
}

#[test]
fn bad_files_name_the_place_and_exit_1() {
    let dir = std::env::temp_dir().join(format!("serve-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("bad.rules");
    std::fs::write(
        &rules,
        "-A -t 192.0.2.1:80 -s rr\n\
         -a -t 192.0.2.1:80 -r 198.51.100.1:80 -m\n\
         #@ health -t 192.0.2.1:80 type=HTTP delay=2 timeout=1 max_retries_down=0 expected_codes=200-\n\
         #@ health -t 192.0.2.1:80 -r 198.51.100.1:80 monitor_port=0\n",
    )
    .unwrap();
    let (st, out, err) = run(&["serve", "check", rules.to_str().unwrap()]);
    assert_eq!(st, 1);
    assert_eq!(out, "");
    let name = rules.display();
    assert_eq!(
        err,
        format!(
            "{name}:3: max_retries_down: `0` is outside 1–10\n\
             {name}:3: expected_codes: `200-` is not NNN, NNN,NNN… or NNN-NNN (codes 100–599)\n\
             {name}:4: monitor_port: `0` is not a port (1–65535)\n"
        )
    );
    // The daemon refuses the same file before touching anything (it never
    // gets as far as opening IPVS, which this host does not have).
    let (st, _, err2) = run(&["serve", rules.to_str().unwrap()]);
    assert_eq!((st, err2), (1, err));

    let json = dir.join("bad.json");
    std::fs::write(
        &json,
        r#"{"services":[{"key":{"kind":"addr","protocol":"tcp","addr":"192.0.2.1","port":80},"scheduler":"rr",
            "health_monitor":{"type":"SCTP","delay":2,"timeout":1,"sorry_server":"[2001:db8::1]:80"},
            "dests":[{"addr":"198.51.100.1","port":80,"monitor_address":"nowhere"}]}]}"#,
    )
    .unwrap();
    let (st, _, err) = run(&["serve", "check", json.to_str().unwrap()]);
    assert_eq!(st, 1);
    let name = json.display();
    assert_eq!(
        err,
        format!(
            "{name}: services[0].health_monitor.type: SCTP health monitors are not supported\n\
             {name}: services[0].dests[0].monitor_address: `nowhere` is not an address\n"
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_and_no_daemon() {
    let (st, _, err) = run(&["serve"]);
    assert_eq!(st, 1);
    assert!(
        err.starts_with("ipvsadm: serve needs a FILE\nUsage: ipvsadm serve"),
        "{err}"
    );
    let (st, _, err) = run(&["serve", "--on-stop", "explode", "f"]);
    assert_eq!(st, 1);
    assert!(
        err.starts_with("ipvsadm: --on-stop takes leave or remove\n"),
        "{err}"
    );
    let (st, out, _) = run(&["serve", "--help"]);
    assert_eq!(st, 0);
    assert!(out.contains("#@ health -t VIP:PORT type=HTTP"), "{out}");
    let sock = std::env::temp_dir().join(format!("no-daemon-{}.sock", std::process::id()));
    for cmd in ["status", "reload"] {
        let (st, out, err) = run(&["serve", cmd, "--socket", sock.to_str().unwrap()]);
        assert_eq!((st, out.as_str()), (1, ""), "{cmd}");
        assert!(
            err.starts_with(&format!(
                "ipvsadm serve: no daemon answers on {}: ",
                sock.display()
            )),
            "{err}"
        );
    }
}
