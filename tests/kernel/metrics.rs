//! `ipvsadm metrics` against the kernel: after real traffic, every counter
//! of the scrape equals what ipvsadm 1.31's `-L -n --stats --exact` shows
//! for the same entry; fwmark services are one series set.

use crate::support::*;
use std::collections::HashMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// `name{labels} value` lines of a scrape, by name and a label subset.
fn samples(scrape: &str) -> Vec<(String, String, String)> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (head, value) = l.rsplit_once(' ').unwrap();
            let (name, labels) = head.split_once('{').unwrap_or((head, "}"));
            (
                name.to_string(),
                labels.trim_end_matches('}').to_string(),
                value.to_string(),
            )
        })
        .collect()
}

fn value(s: &[(String, String, String)], name: &str, has: &[&str]) -> String {
    let hits: Vec<&(String, String, String)> = s
        .iter()
        .filter(|(n, l, _)| n == name && has.iter().all(|h| l.contains(h)))
        .collect();
    assert_eq!(hits.len(), 1, "{name} {has:?}: {hits:?}");
    hits[0].2.clone()
}

#[test]
fn counters_match_ipvsadm_stats() {
    let _g = fresh_netns();
    let o = ours(
        &["apply", "-"],
        Some(
            "-A -u 192.0.2.1:53 -s rr\n\
             -a -u 192.0.2.1:53 -r 198.51.100.1:53 -m -w 1\n\
             -a -u 192.0.2.1:53 -r 198.51.100.2:53 -m -w 3\n\
             -A -f 7 -s rr\n\
             -a -f 7 -r 198.51.100.3:0 -g -w 1\n\
             -A -f 7 -6 -s rr\n",
        ),
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    // Real traffic: UDP datagrams from many source ports, until the
    // kernel's estimator has counted them.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for _ in 0..20 {
            let s = UdpSocket::bind("0.0.0.0:0").unwrap();
            let _ = s.send_to(b"hello metrics", "192.0.2.1:53");
        }
        let o = ours(&["metrics"], None);
        let s = samples(&o.stdout);
        let conns = value(&s, "ipvs_service_connections_total", &["local_port=\"53\""]);
        if conns.parse::<u64>().unwrap() >= 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no traffic counted:\n{}",
            o.stdout
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Compare at one moment: the oracle's listing, then the scrape (the
    // counters only change with traffic, which has stopped).
    let o = oracle(&["-L", "-n", "--stats", "--exact"]);
    assert_eq!(o.status, 0);
    let m = ours(&["metrics"], None);
    assert_eq!(m.status, 0, "{}", m.stderr);
    assert_eq!(m.stderr, "");
    let s = samples(&m.stdout);
    let mut rows: HashMap<String, Vec<String>> = HashMap::new();
    for line in o.stdout.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 7 && (f[0] == "UDP" || f[0] == "->") {
            let key = if f[0] == "->" { f[1] } else { "svc" };
            rows.insert(
                key.to_string(),
                f[2..].iter().map(|x| x.to_string()).collect(),
            );
        }
    }
    let families = [
        "connections_total",
        "incoming_packets_total",
        "outgoing_packets_total",
        "incoming_bytes_total",
        "outgoing_bytes_total",
    ];
    for (i, fam) in families.iter().enumerate() {
        let svc = value(
            &s,
            &format!("ipvs_service_{fam}"),
            &["proto=\"UDP\"", "local_address=\"192.0.2.1\""],
        );
        assert_eq!(svc, rows["svc"][i], "service {fam}");
        for rs in ["198.51.100.1:53", "198.51.100.2:53"] {
            let (a, p) = rs.split_once(':').unwrap();
            let v = value(
                &s,
                &format!("ipvs_backend_{fam}"),
                &[
                    "proto=\"UDP\"",
                    &format!("remote_address=\"{a}\""),
                    &format!("remote_port=\"{p}\""),
                ],
            );
            assert_eq!(v, rows[rs][i], "{rs} {fam}");
        }
    }
    assert_ne!(rows["svc"][0], "0");
    // Weights and fwmark services: one series each, no address.
    assert_eq!(
        value(
            &s,
            "ipvs_backend_weight",
            &["remote_address=\"198.51.100.2\""]
        ),
        "3"
    );
    assert_eq!(
        value(
            &s,
            "ipvs_service_connections_total",
            &["proto=\"FWM\"", "local_mark=\"7\"", "family=\"ipv4\""]
        ),
        "0"
    );
    assert_eq!(
        value(
            &s,
            "ipvs_service_connections_total",
            &["proto=\"FWM\"", "local_mark=\"7\"", "family=\"ipv6\""]
        ),
        "0"
    );
    assert_eq!(value(&s, "ipvs_services", &[]), "3");
    assert_eq!(value(&s, "ipvs_backends", &[]), "3");
    // --per-service: no real-server series.
    let m = ours(&["metrics", "--per-service"], None);
    assert!(
        !m.stdout.contains("ipvs_backend_connections"),
        "{}",
        m.stdout
    );
    let s = samples(&m.stdout);
    assert_eq!(
        value(&s, "ipvs_service_weight", &["local_address=\"192.0.2.1\""]),
        "4"
    );
}
