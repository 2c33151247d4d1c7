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
