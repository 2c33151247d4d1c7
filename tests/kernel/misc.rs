//! Zero, flush, timeouts, info, sync daemons.

use crate::common::ip;
use crate::support::*;
use ipvsadm_rs::model::*;
use ipvsadm_rs::netlink::encode::{encode, Request};
use ipvsadm_rs::Ipvs;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Send UDP datagrams to the VIP until the kernel's estimator has counted
/// them (stats are refreshed every 2 s in 6.1).
fn traffic_until_counted(ipvs: &mut Ipvs, key: &ServiceKey, vip: &str) -> Service {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let _ = sock.send_to(b"hello", vip);
        let svc = ipvs.service(key).unwrap();
        if svc.stats.conns > 0 && svc.stats.inpkts > 0 {
            return svc;
        }
        assert!(
            Instant::now() < deadline,
            "no traffic counted: {:?}",
            svc.stats
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn stats_line(svc_name: &str) -> String {
    let o = oracle(&["-L", "-n", "--stats", "--exact"]);
    assert_eq!(o.status, 0);
    o.stdout
        .lines()
        .find(|l| l.starts_with(svc_name))
        .unwrap_or_else(|| panic!("no {svc_name} in {}", o.stdout))
        .to_string()
}

#[test]
fn zero_one_service_and_all() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let a = ServiceKey::udp(ip("192.0.2.1"), 53);
    let b = ServiceKey::udp(ip("192.0.2.2"), 53);
    for k in [a, b] {
        ipvs.add_service(&Service::new(k, "rr")).unwrap();
        let mut d = Dest::new(ip("198.51.100.1"), 53);
        d.fwd = FwdMethod::Masq;
        ipvs.add_dest(&k, &d).unwrap();
    }
    let before = traffic_until_counted(&mut ipvs, &a, "192.0.2.1:53");
    traffic_until_counted(&mut ipvs, &b, "192.0.2.2:53");
    let line = stats_line("UDP  192.0.2.1:53");
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[2], before.stats.conns.to_string(), "{line}");
    assert_ne!(fields[2], "0");

    ipvs.zero(Some(&a)).unwrap();
    assert_eq!(ipvs.service(&a).unwrap().stats.conns, 0);
    assert!(ipvs.service(&b).unwrap().stats.conns > 0);
    let line = stats_line("UDP  192.0.2.1:53");
    assert_eq!(line.split_whitespace().nth(2), Some("0"), "{line}");

    ipvs.zero(None).unwrap();
    assert_eq!(ipvs.service(&b).unwrap().stats.conns, 0);
    let line = stats_line("UDP  192.0.2.2:53");
    assert_eq!(line.split_whitespace().nth(2), Some("0"), "{line}");

    // Zeroing a missing service: ESRCH.
    assert_errno(
        ipvs.zero(Some(&ServiceKey::udp(ip("192.0.2.3"), 53))),
        libc::ESRCH,
    );
}

#[test]
fn flush_empties_the_table() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    for port in 1..=20u16 {
        let k = ServiceKey::tcp(ip("192.0.2.1"), port);
        ipvs.add_service(&Service::new(k, "rr")).unwrap();
        ipvs.add_dest(&k, &Dest::new(ip("198.51.100.1"), port))
            .unwrap();
    }
    assert_eq!(ipvs.table().unwrap().len(), 20);
    assert_eq!(oracle_save().lines().count(), 40);
    ipvs.flush().unwrap();
    assert!(ipvs.services().unwrap().is_empty());
    assert_saved(&[]);
}

#[test]
fn timeouts_get_and_set() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let defaults = ipvs.timeouts().unwrap();
    assert_eq!(
        defaults,
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    ipvs.set_timeouts(&Timeouts {
        tcp: 3600,
        tcp_fin: 60,
        udp: 45,
    })
    .unwrap();
    let t = ipvs.timeouts().unwrap();
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (3600, 60, 45));
    // Zero means "leave unchanged".
    ipvs.set_timeouts(&Timeouts {
        tcp: 0,
        tcp_fin: 30,
        udp: 0,
    })
    .unwrap();
    let o = oracle(&["-L", "--timeout"]);
    assert_eq!(o.stdout, "Timeout (tcp tcpfin udp): 3600 30 45\n");
}

#[test]
fn info_matches_oracle_header() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let info = ipvs.info().unwrap();
    assert_eq!(info.version, 0x010201);
    let o = oracle(&["-L", "-n"]);
    let first = o.stdout.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        first,
        format!(
            "IP Virtual Server version {info} (size={})",
            info.conn_tab_size
        )
    );
}

#[test]
fn sync_daemons_start_list_stop() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    assert!(ipvs.daemons().unwrap().is_empty());
    let mut master = Daemon::new(DaemonState::Master, "dummy0", 5);
    master.mcast_ttl = 3;
    ipvs.start_daemon(&master).unwrap();
    let mut backup = Daemon::new(DaemonState::Backup, "dummy0", 6);
    backup.mcast_group = Some(ip("239.1.2.3"));
    backup.mcast_port = 8850;
    ipvs.start_daemon(&backup).unwrap();

    let ds = ipvs.daemons().unwrap();
    assert_eq!(ds.len(), 2);
    let m = ds.iter().find(|d| d.state == DaemonState::Master).unwrap();
    assert_eq!(
        (m.mcast_ifn.as_str(), m.syncid, m.mcast_ttl),
        ("dummy0", 5, 3)
    );
    assert_eq!(m.mcast_group, Some(ip("224.0.0.81")));
    let b = ds.iter().find(|d| d.state == DaemonState::Backup).unwrap();
    assert_eq!((b.syncid, b.mcast_port), (6, 8850));
    assert_eq!(b.mcast_group, Some(ip("239.1.2.3")));

    let o = oracle(&["-L", "--daemon"]);
    let maxlen = m.sync_maxlen;
    assert_eq!(
        o.stdout,
        format!(
            "master sync daemon (mcast=dummy0, syncid=5, maxlen={maxlen}, group=224.0.0.81, port=8848, ttl=3)\n\
             backup sync daemon (mcast=dummy0, syncid=6, maxlen={}, group=239.1.2.3, port=8850, ttl=1)\n",
            b.sync_maxlen
        )
    );

    assert_errno(ipvs.start_daemon(&master), libc::EEXIST);
    ipvs.stop_daemon(DaemonState::Master, 0).unwrap();
    ipvs.stop_daemon(DaemonState::Backup, 0).unwrap();
    assert!(ipvs.daemons().unwrap().is_empty());
    assert_eq!(oracle(&["-L", "--daemon"]).stdout, "");
    assert_errno(ipvs.stop_daemon(DaemonState::Master, 0), libc::ESRCH);
}

/// Linux 6.1 resumes a services dump by a position counted over every
/// namespace's services; a service added in another namespace between the
/// two reads of a dump pushes ours past that position and the kernel sends
/// it again. `Ipvs::services` lists each service once all the same. Runs
/// alone: the churn would disturb other tests' dumps.
#[test]
fn services_dump_lists_each_service_once_under_churn() {
    let _gate = fresh_netns_alone();
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::tcp(ip("192.0.2.1"), 80);
    ipvs.add_service(&Service::new(key, "rr")).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (raw_repeats, rounds) = std::thread::scope(|s| {
        let churn = s.spawn(|| {
            enter_netns();
            let mut other = Ipvs::connect().unwrap();
            let mut n = 0u16;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let k = ServiceKey::tcp(ip("203.0.113.1"), 1 + n % 2000);
                other.add_service(&Service::new(k, "rr")).unwrap();
                n = n.wrapping_add(1);
                if n % 2000 == 0 {
                    other.flush().unwrap();
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(8);
        let (mut raw_repeats, mut rounds) = (0, 0);
        while Instant::now() < deadline {
            // The raw dump: every entry the kernel sent, repeats included.
            let mut raw = 0usize;
            ipvs.transport()
                .dump(
                    &|family, seq, flags, out: &mut Vec<u8>| {
                        encode(family, seq, flags, &Request::GetService(None), out)
                    },
                    &mut |_| {
                        raw += 1;
                        Ok(())
                    },
                    &mut || {},
                )
                .unwrap();
            raw_repeats += raw.saturating_sub(1);
            let listed = ipvs.services().unwrap();
            assert_eq!(listed.len(), 1, "listed {listed:?}");
            assert_eq!(listed[0].key, key);
            rounds += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        churn.join().unwrap();
        (raw_repeats, rounds)
    });
    println!("services dump: {rounds} rounds, the kernel repeated our service {raw_repeats} times");
}

/// An unprivileged user gets ipvsadm 1.31's start-up failure, word for
/// word, with its exit status.
#[test]
fn unprivileged_listing_fails_as_ipvsadm_does() {
    let _gate = fresh_netns();
    let nobody = Some(65534);
    for args in [
        &["-L", "-n"][..],
        &["-S", "-n"],
        &["-A", "-t", "192.0.2.1:80"],
    ] {
        let theirs = run_tool_as(nobody, &oracle_bin(), "ipvsadm", args, None);
        let mine = run_tool_as(nobody, &ours_bin(), "ipvsadm", args, None);
        assert_eq!(
            (theirs.status, theirs.stderr.as_str(), theirs.stdout.as_str()),
            (2, "Can't initialize ipvs: Permission denied (you must be root)\nAre you sure that IP Virtual Server is built in the kernel or as module?\n", ""),
            "the oracle, {args:?}"
        );
        assert_eq!(
            (mine.status, mine.stderr.as_str(), mine.stdout.as_str()),
            (
                theirs.status,
                theirs.stderr.as_str(),
                theirs.stdout.as_str()
            ),
            "{args:?}"
        );
    }
}

/// A restore that cannot read its input fails (ipvsadm 1.31 exits 0
/// having restored nothing: README "Differences from ipvsadm").
#[test]
fn restore_that_cannot_read_its_input_fails() {
    let _gate = fresh_netns();
    let run = |bin: &str, arg0: &str, args: &[&str]| {
        // A directory as standard input: read(2) fails with EISDIR.
        let out = std::process::Command::new(bin)
            .arg0(arg0)
            .args(args)
            .stdin(std::fs::File::open("/").expect("open /"))
            .output()
            .expect("run");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    use std::os::unix::process::CommandExt;
    let (status, stderr) = run(&oracle_bin(), "ipvsadm", &["-R"]);
    assert_eq!((status, stderr.as_str()), (0, ""), "the oracle's bug");
    let (status, stderr) = run(&ours_bin(), "ipvsadm", &["-R"]);
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.starts_with("ipvsadm: cannot read the rules from standard input: "),
        "{stderr}"
    );
    let (status, stderr) = run(&ours_bin(), "ipvsadm-restore", &[]);
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.starts_with("ipvsadm-restore: cannot read the rules from standard input: "),
        "{stderr}"
    );
}
