//! `ipvsadm apply` and `ipvsadm state`: declarative changes, in place, with
//! rollback; whole-state save; JSON round trips.

use crate::support::*;
use ipvsadm_rs::model::*;
use ipvsadm_rs::Ipvs;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn apply(text: &str, extra: &[&str]) -> Output {
    let mut args = vec!["apply"];
    args.extend(extra);
    args.push("-");
    ours(&args, Some(text))
}

const RULES: &str = "\
# whole state of a small director
--set 3600 60 45
-A -t 192.0.2.1:80 -s wrr
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 3 -x 100 -y 10
-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1
-A -u 192.0.2.1:53 -s rr -p 60 -M 255.255.255.0 -o

-a -u 192.0.2.1:53 -r 198.51.100.3:53 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
-A -f 7 -6 -s sh -b sh-fallback,flag-3
-a -f 7 -6 -r [2001:db8:1::7]:0 -g -w 1
--start-daemon master --mcast-interface dummy0 --syncid 9
";

#[test]
fn apply_builds_the_whole_state_and_state_round_trips() {
    let _gate = fresh_netns();
    let r = apply(RULES, &[]);
    assert_eq!((r.status, r.stderr.as_str()), (0, ""), "{}", r.stdout);
    assert_saved(&[
        "-A -t 192.0.2.1:80 -s wrr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 3",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1",
        "-A -u 192.0.2.1:53 -s rr -p 60 -M 255.255.255.0 -o",
        "-a -u 192.0.2.1:53 -r 198.51.100.3:53 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum",
        // ipvsadm 1.31 cannot show flag-3 beside sh's own flags.
        "-A -f 7 -6 -s sh -b sh-fallback",
        "-a -f 7 -6 -r [2001:db8:1::7]:0 -g -w 1",
    ]);
    let mut ipvs = Ipvs::connect().unwrap();
    let t = ipvs.timeouts().unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (3600, 60, 45));
    let ds = ipvs.daemons().unwrap();
    assert_eq!((ds.len(), ds[0].syncid), (1, 9));
    let thresholds: Vec<(u32, u32)> = ipvs
        .table()
        .unwrap()
        .iter()
        .flat_map(|(_, d)| d.iter().map(|d| (d.u_threshold, d.l_threshold)))
        .filter(|t| *t != (0, 0))
        .collect();
    assert_eq!(thresholds, vec![(100, 10)]);

    // `state` prints everything; applying it again changes nothing.
    let state = ours(&["state"], None);
    assert_eq!(state.status, 0);
    assert!(
        state.stdout.starts_with("--set 3600 60 45\n"),
        "{}",
        state.stdout
    );
    assert!(state
        .stdout
        .contains("-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 3 -x 100 -y 10\n"));
    assert!(state
        .stdout
        .contains("-A -f 7 -6 -s sh -b sh-fallback,flag-3\n"));
    assert!(state
        .stdout
        .contains("--start-daemon master --mcast-interface dummy0 --syncid 9"));
    let plan = apply(&state.stdout, &["--dry-run"]);
    assert_eq!((plan.status, plan.stdout.as_str()), (0, ""));
    let plan = apply(RULES, &["--dry-run"]);
    assert_eq!((plan.status, plan.stdout.as_str()), (0, ""));

    // The state restores with plain `ipvsadm -R` into an empty namespace.
    drop(ipvs);
    enter_netns();
    let r = ours(&["-R"], Some(&state.stdout));
    assert_eq!((r.status, r.stderr.as_str()), (0, ""));
    let again = ours(&["state"], None);
    assert_eq!(again.stdout, state.stdout);
}

#[test]
fn json_round_trips_through_apply() {
    let _gate = fresh_netns();
    assert_eq!(apply(RULES, &[]).status, 0);
    let json = ours(&["state", "--json"], None);
    assert_eq!(json.status, 0);
    let doc: Document = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc.services.len(), 3);
    assert_eq!(doc.timeouts.unwrap().tcp, 3600);

    enter_netns();
    let r = apply(&json.stdout, &[]);
    assert_eq!((r.status, r.stderr.as_str()), (0, ""));
    let back = ours(&["state", "--json"], None);
    assert_eq!(back.stdout, json.stdout);

    // -L --json lists every field, counters included; -S --json too.
    let l = ours(&["-L", "-n", "--json"], None);
    let doc: Document = serde_json::from_str(&l.stdout).unwrap();
    assert_eq!(doc.info.unwrap().version, 0x010201);
    assert_eq!(doc.services[0].dests.len(), 2);
    let s = ours(&["-S", "--json"], None);
    let sdoc: Document = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(sdoc.services, doc.services);
}

/// UDP datagrams to the VIP until the estimator counts them.
fn traffic(ipvs: &mut Ipvs, key: &ServiceKey, vip: &str) -> u64 {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let _ = sock.send_to(b"x", vip);
        let s = ipvs.service(key).unwrap();
        if s.stats.conns > 0 {
            return s.stats.conns;
        }
        assert!(Instant::now() < deadline, "no traffic counted");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn one_change_touches_nothing_else() {
    let _gate = fresh_netns();
    let base = "-A -u 192.0.2.1:53 -s rr\n-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m\n\
                -A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1\n\
                -a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1\n";
    assert_eq!(apply(base, &[]).status, 0);
    let mut ipvs = Ipvs::connect().unwrap();
    let dns = ServiceKey::udp("192.0.2.1".parse().unwrap(), 53);
    let conns = traffic(&mut ipvs, &dns, "192.0.2.1:53");
    let conn_table = std::fs::read_to_string("/proc/thread-self/net/ip_vs_conn").unwrap();
    assert!(conn_table.lines().count() > 1);

    let changed = base.replace("198.51.100.2:80 -m -w 1", "198.51.100.2:80 -m -w 5");
    let plan = apply(&changed, &["--dry-run"]);
    assert_eq!(
        plan.stdout,
        "-e -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 5\n"
    );
    let r = apply(&changed, &[]);
    assert_eq!((r.status, r.stderr.as_str()), (0, ""));
    // The untouched service kept its counters and its connection entries.
    assert_eq!(ipvs.service(&dns).unwrap().stats.conns, conns);
    let after = std::fs::read_to_string("/proc/thread-self/net/ip_vs_conn").unwrap();
    assert_eq!(after.lines().count(), conn_table.lines().count());

    // New real servers are added before old ones are removed.
    let swapped = changed.replace("198.51.100.1:80 -m -w 1", "198.51.100.3:80 -m -w 1");
    let plan = apply(&swapped, &["--dry-run"]);
    assert_eq!(
        plan.stdout,
        "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -m -w 1\n-d -t 192.0.2.1:80 -r 198.51.100.1:80\n"
    );
    // Services not in the file are removed last.
    let only_web = "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1\n";
    let plan = apply(only_web, &["--dry-run"]);
    assert_eq!(
        plan.stdout,
        "-E -t 192.0.2.1:80 -s rr\n-d -t 192.0.2.1:80 -r 198.51.100.2:80\n-D -u 192.0.2.1:53\n"
    );
}

#[test]
fn failure_in_the_middle_rolls_back_to_the_identical_state() {
    let _gate = fresh_netns();
    assert_eq!(apply(RULES, &[]).status, 0);
    let before_saved = oracle_save();
    let before_state = ours(&["state", "--json"], None).stdout;
    // Edits, additions and removals around a real server the kernel
    // refuses (a multicast address is not unicast: EINVAL). The kernel
    // carries on after it within the batch, so all 10 other changes are
    // undone.
    let target = "\
--set 100 10 10
-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 7
-a -t 192.0.2.1:80 -r 198.51.100.9:80 -m -w 1
-A -t 192.0.2.2:80 -s wlc
-a -t 192.0.2.2:80 -r 198.51.100.4:80 -m
-a -t 192.0.2.2:80 -r 224.0.0.1:80 -m
-a -t 192.0.2.2:80 -r 198.51.100.5:80 -m
";
    let r = apply(target, &[]);
    assert_eq!(r.status, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "<stdin>:7: -a -t 192.0.2.2:80 -r 224.0.0.1:80 -m -w 1: Invalid operation.  Possibly wrong module version, address not unicast, ...\n\
         ipvsadm apply: 10 change(s) rolled back; the tables are as before\n"
    );
    assert_eq!(oracle_save(), before_saved);
    assert_eq!(ours(&["state", "--json"], None).stdout, before_state);
}

#[test]
fn drain_keeps_busy_real_servers_at_weight_zero() {
    let _gate = fresh_netns();
    let base = "-A -u 192.0.2.1:53 -s rr\n-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m\n";
    assert_eq!(apply(base, &[]).status, 0);
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::udp("192.0.2.1".parse().unwrap(), 53);
    traffic(&mut ipvs, &key, "192.0.2.1:53");
    let next = "-A -u 192.0.2.1:53 -s rr\n-a -u 192.0.2.1:53 -r 198.51.100.2:53 -m\n";
    let plan = apply(next, &["--dry-run", "--drain"]);
    assert_eq!(
        plan.stdout,
        "-a -u 192.0.2.1:53 -r 198.51.100.2:53 -m -w 1\n-e -u 192.0.2.1:53 -r 198.51.100.1:53 -m -w 0\n"
    );
    assert_eq!(apply(next, &["--drain"]).status, 0);
    assert_saved(&[
        "-A -u 192.0.2.1:53 -s rr",
        "-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m -w 0",
        "-a -u 192.0.2.1:53 -r 198.51.100.2:53 -m -w 1",
    ]);
    // Without --drain it goes.
    assert_eq!(apply(next, &[]).status, 0);
    assert_saved(&[
        "-A -u 192.0.2.1:53 -s rr",
        "-a -u 192.0.2.1:53 -r 198.51.100.2:53 -m -w 1",
    ]);
}

#[test]
fn invalid_input_touches_nothing() {
    let _gate = fresh_netns();
    assert_eq!(apply(RULES, &[]).status, 0);
    let before = oracle_save();
    let bad = "-A -t 192.0.2.5:80 -s rr\n-a -t 192.0.2.5:80 -r 198.51.100.1 -m -w many\n-C\n";
    let r = apply(bad, &[]);
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        "<stdin>:2: illegal weight specified\n<stdin>:3: only -A, -a, --set and --start-daemon lines describe a state\n"
    );
    let r = apply("{\"services\": [ {\"key\": 5} ]}", &[]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.starts_with("<stdin>:1:"), "{}", r.stderr);
    assert_eq!(oracle_save(), before);
}

const BASE: &str = "\
-A -t 192.0.2.1:80 -s wrr
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1 -x 50 -y 5
-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1
-A -u 192.0.2.1:53 -s rr
-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m
-A -f 7 -s sh
-a -f 7 -r 198.51.100.3:0 -g -w 2
";

/// `apply --incremental -v`: its output and the note it wrote.
fn apply_inc(text: &str) -> (Output, String) {
    let r = apply(text, &["--incremental", "-v"]);
    let note = r.stderr.lines().next().unwrap_or_default().to_string();
    (r, note)
}

#[test]
fn incremental_apply_reads_only_what_changed() {
    let _gate = fresh_netns();
    // No record yet: the whole table is read.
    let (r, note) = apply_inc(BASE);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(
        note,
        "ipvsadm apply: no record of the last apply: reading the whole table"
    );
    let mut ipvs = Ipvs::connect().unwrap();
    let dns = ServiceKey::udp("192.0.2.1".parse().unwrap(), 53);
    let conns = traffic(&mut ipvs, &dns, "192.0.2.1:53");

    // One weight: one service read, one change, the rest untouched.
    let changed = BASE.replace("198.51.100.2:80 -m -w 1", "198.51.100.2:80 -m -w 4");
    let plan = apply(&changed, &["--incremental", "--dry-run"]);
    assert_eq!(
        plan.stdout,
        "-e -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 4\n"
    );
    let (r, note) = apply_inc(&changed);
    assert_eq!(
        (r.status, note.as_str()),
        (
            0,
            "ipvsadm apply: incremental: read 1 service(s) that differ from the record"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(ipvs.service(&dns).unwrap().stats.conns, conns);
    // The same file again: nothing differs, nothing is read.
    let (r, note) = apply_inc(&changed);
    assert_eq!(
        (r.status, note.as_str()),
        (
            0,
            "ipvsadm apply: incremental: read 0 service(s) that differ from the record"
        )
    );

    // A service added (in the middle, with a comment), one removed, the
    // timeouts set: the result is what the full apply makes.
    let next = changed
        .replace(
            "-A -u 192.0.2.1:53 -s rr\n",
            "# new\n-A -t 192.0.2.9:443 -s lc\n-a -t 192.0.2.9:443 -r 198.51.100.9:443 -m\n-A -u 192.0.2.1:53 -s rr\n",
        )
        .replace("-A -f 7 -s sh\n-a -f 7 -r 198.51.100.3:0 -g -w 2\n", "--set 100 20 30\n");
    let (r, note) = apply_inc(&next);
    assert_eq!(
        (r.status, note.as_str()),
        (0, "ipvsadm apply: incremental: read 3 service(s), the timeouts that differ from the record"),
        "{}",
        r.stderr
    );
    let want = [
        "-A -t 192.0.2.1:80 -s wrr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 4",
        "-A -t 192.0.2.9:443 -s lc",
        "-a -t 192.0.2.9:443 -r 198.51.100.9:443 -m -w 1",
        "-A -u 192.0.2.1:53 -s rr",
        "-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m -w 1",
    ];
    assert_saved(&want);
    let t = ipvs.timeouts().unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (100, 20, 30));
    assert_eq!(ipvs.service(&dns).unwrap().stats.conns, conns);
    // The full apply finds nothing left to do.
    let plan = apply(&next, &["--dry-run"]);
    assert_eq!((plan.status, plan.stdout.as_str()), (0, ""));
    // Thresholds are compared too (the first real server keeps -x 50 -y 5).
    let mut th: Vec<(String, u32, u32)> = ipvs
        .dests(&ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80))
        .unwrap()
        .iter()
        .map(|d| (d.addr.to_string(), d.u_threshold, d.l_threshold))
        .collect();
    th.sort();
    assert_eq!(
        th,
        vec![
            ("198.51.100.1".into(), 50, 5),
            ("198.51.100.2".into(), 0, 0)
        ]
    );
}

#[test]
fn incremental_apply_reads_everything_when_the_record_is_stale() {
    let _gate = fresh_netns();
    assert_eq!(apply(BASE, &[]).status, 0);
    let changed = BASE.replace("198.51.100.2:80 -m -w 1", "198.51.100.2:80 -m -w 4");
    let full = |why: &str| format!("ipvsadm apply: {why}: reading the whole table");

    // Another tool added a service: the count differs; the full apply
    // removes it again.
    assert_eq!(oracle(&["-A", "-t", "203.0.113.1:80"]).status, 0);
    let (r, note) = apply_inc(&changed);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(
        note,
        full("the number of services changed since the last apply")
    );
    let plan = apply(&changed, &["--dry-run"]);
    assert_eq!((plan.status, plan.stdout.as_str()), (0, ""));

    // Another tool changed the service this change touches.
    assert_eq!(
        oracle(&[
            "-e",
            "-t",
            "192.0.2.1:80",
            "-r",
            "198.51.100.1:80",
            "-m",
            "-w",
            "9"
        ])
        .status,
        0
    );
    let (r, note) = apply_inc(&BASE.replace("-s wrr", "-s rr"));
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert_eq!(
        note,
        full("a service the change touches differs from the record of the last apply")
    );
    assert_eq!(
        apply(&BASE.replace("-s wrr", "-s rr"), &["--dry-run"]).stdout,
        ""
    );

    // Our own commands forget the record.
    assert_eq!(ours(&["-Z"], None).status, 0);
    let (_, note) = apply_inc(BASE);
    assert!(note.contains("incremental: read 1"), "{note}");
    assert_eq!(
        ours(
            &[
                "-e",
                "-u",
                "192.0.2.1:53",
                "-r",
                "198.51.100.1:53",
                "-m",
                "-w",
                "3"
            ],
            None
        )
        .status,
        0
    );
    let (r, note) = apply_inc(BASE);
    assert_eq!(r.status, 0);
    assert_eq!(
        note,
        "ipvsadm apply: no record of the last apply: reading the whole table"
    );
    assert_saved(&[
        "-A -t 192.0.2.1:80 -s wrr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1",
        "-A -u 192.0.2.1:53 -s rr",
        "-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m -w 1",
        "-A -f 7 -s sh",
        "-a -f 7 -r 198.51.100.3:0 -g -w 2",
    ]);

    // The documented blind spot: another tool's change to a service the
    // file does not touch, with the count unchanged, stays.
    assert_eq!(
        oracle(&[
            "-e",
            "-u",
            "192.0.2.1:53",
            "-r",
            "198.51.100.1:53",
            "-m",
            "-w",
            "3"
        ])
        .status,
        0
    );
    let (r, note) = apply_inc(&changed);
    assert!(note.contains("incremental: read 1"), "{note}");
    assert_eq!(r.status, 0);
    assert!(oracle_save().contains("-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m -w 3\n"));
    // The full apply sees it.
    assert_eq!(
        apply(&changed, &["--dry-run"]).stdout,
        "-e -u 192.0.2.1:53 -r 198.51.100.1:53 -m -w 1\n"
    );
}

#[test]
fn incremental_apply_checks_changed_lines_and_rolls_back() {
    let _gate = fresh_netns();
    assert_eq!(apply(BASE, &[]).status, 0);
    let before = oracle_save();
    // Errors in changed lines, and errors that changed lines cause with
    // unchanged ones (a service defined twice, a real server above its
    // service), with the new file's line numbers.
    let bad = BASE.replace("-m -w 1 -x 50", "-m -w many -x 50").replace(
        "-A -f 7 -s sh\n",
        "-A -f 7 -s sh\n-A -u 192.0.2.1:53 -s wlc\n",
    );
    let (r, _) = apply_inc(&bad);
    assert_eq!(r.status, 1);
    assert_eq!(
        r.stderr,
        "<stdin>:2: illegal weight specified\n<stdin>:7: service already defined at line 4\n"
    );
    let moved = BASE.replace(
        "-A -u 192.0.2.1:53 -s rr\n-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m\n",
        "-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m\n-A -u 192.0.2.1:53 -s rr\n",
    );
    let (r, _) = apply_inc(&moved);
    assert_eq!(
        (r.status, r.stderr.as_str()),
        (
            1,
            "<stdin>:4: real server for a service not defined above\n"
        )
    );
    assert_eq!(oracle_save(), before);

    // The kernel refuses a changed line: everything is undone.
    let refused = BASE
        .replace("198.51.100.2:80 -m -w 1", "198.51.100.2:80 -m -w 4")
        .replace("198.51.100.1:53 -m", "224.0.0.1:53 -m");
    let (r, _) = apply_inc(&refused);
    assert_eq!(r.status, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .ends_with("ipvsadm apply: 2 change(s) rolled back; the tables are as before\n"),
        "{}",
        r.stderr
    );
    assert_eq!(oracle_save(), before);
}

/// JSON gets the checks rules text gets, before anything is sent: a
/// negative weight (which the kernel would refuse, after other changes)
/// is rejected with exit 1, named by its path, and the table is untouched.
#[test]
fn json_is_checked_as_strictly_as_rules_before_anything_is_sent() {
    let _gate = fresh_netns();
    let r = apply(RULES, &[]);
    assert_eq!((r.status, r.stderr.as_str()), (0, ""));
    let json = ours(&["state", "--json"], None).stdout;
    let before = oracle_save();
    let mut doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    // A new service first (it would be added before the bad weight is
    // reached), then a bad real server, a bad scheduler name and a bad
    // threshold further on.
    let mut extra = doc["services"][0].clone();
    extra["key"]["addr"] = serde_json::json!("192.0.2.77");
    doc["services"].as_array_mut().unwrap().insert(0, extra);
    doc["services"][1]["dests"][1]["weight"] = serde_json::json!(-1);
    doc["services"][2]["scheduler"] = serde_json::json!("a-scheduler-name-too-long");
    doc["services"][1]["dests"][0]["u_threshold"] = serde_json::json!(3_000_000_000u64);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let r = apply(&text, &[]);
    assert_eq!(r.status, 1, "{}", r.stderr);
    for want in [
        "<stdin>: services[1].dests[1]: illegal weight specified",
        "<stdin>: services[2]: not what the rule",
        "<stdin>: services[1].dests[0]: illegal u_threshold specified",
    ] {
        assert!(r.stderr.contains(want), "missing {want:?} in\n{}", r.stderr);
    }
    assert_eq!(oracle_save(), before, "nothing may be sent");
}
