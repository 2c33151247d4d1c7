//! `ipvsadm import keepalived` and `ipvsadm export keepalived` on the host:
//! every keyword mapping, includes, bad input (FILE:LINE, exit 1, nothing
//! on standard output), the sample configurations (keepalived's own
//! `doc/samples` and ours), round trips import → export → import over the
//! samples and over generated configurations, and a 50 000-line
//! configuration (its time is printed, never asserted).

use ipvsadm_rs::keepalived::{self, doc::Doc, parse, Format};
use ipvsadm_rs::model::{DaemonState, FwdMethod, ServiceKey, TunType};
use ipvsadm_rs::serve::config::{self, CheckType, OnFailure};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DIR: &str = "tests/fixtures/keepalived";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ipvsadm")
}

/// Every configuration of the fixtures that imports.
fn configs() -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["samples", "own"] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(format!("{DIR}/{sub}"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".md"))
            .collect();
        v.sort();
        out.extend(v.into_iter().map(|p| p.to_string_lossy().into_owned()));
    }
    out.push(format!("{DIR}/include/main.conf"));
    out
}

fn import(path: &str) -> keepalived::Imported {
    keepalived::import_file(path, Format::Json)
        .unwrap_or_else(|e| panic!("{path}: {}", e.join("\n")))
}

fn import_str(text: &str) -> Result<keepalived::Imported, Vec<String>> {
    keepalived::import_text(text, "k.conf", &parse::NoIncludes, Format::Json)
}

fn cfg(path: &str) -> config::Config {
    let i = import(path);
    config::read(&i.text, path).unwrap()
}

fn key(s: &str) -> ServiceKey {
    ServiceKey::tcp(
        s.parse::<SocketAddr>().unwrap().ip(),
        s.parse::<SocketAddr>().unwrap().port(),
    )
}

/// import → export → import gives the same document (and the same text).
fn round_trip(name: &str, first: &Doc, text: &str) {
    let exported = keepalived::export_text(text, name)
        .unwrap_or_else(|e| panic!("{name}: export: {}", e.join("\n")));
    let again = keepalived::import_text(
        &exported.text,
        "exported.conf",
        &parse::NoIncludes,
        Format::Json,
    )
    .unwrap_or_else(|e| panic!("{name}: re-import:\n{}\n{}", e.join("\n"), exported.text));
    assert_eq!(
        first, &again.doc,
        "{name}: round trip changed the document\n{}",
        exported.text
    );
    assert_eq!(text, again.text, "{name}");
    // Rules text round-trips too.
    let rules = first.rules();
    let exported2 = keepalived::export_text(&rules, name).unwrap();
    assert_eq!(
        exported.text, exported2.text,
        "{name}: rules and JSON export differently"
    );
}

#[test]
fn every_sample_imports_reads_back_and_round_trips() {
    let all = configs();
    assert!(all.len() >= 10, "{} configurations", all.len());
    for path in &all {
        let json = import(path);
        let rules = keepalived::import_file(path, Format::Rules).unwrap();
        assert_eq!(json.doc, rules.doc);
        // Both formats read as the same FILE by `serve`.
        let a = config::read(&json.text, "a").unwrap();
        let b = config::read(&rules.text, "b").unwrap();
        let strip = |c: &config::Config| {
            c.desired
                .services
                .iter()
                .map(|s| {
                    (
                        s.service.clone(),
                        s.dests.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&a), strip(&b), "{path}");
        assert_eq!(a.health, b.health, "{path}");
        assert_eq!(a.overrides, b.overrides, "{path}");
        assert_eq!(a.names, b.names, "{path}");
        round_trip(path, &json.doc, &json.text);
        for w in &json.warnings {
            assert!(w.starts_with(path.as_str()) || w.starts_with(DIR), "{w}");
        }
    }
}

#[test]
fn nat_http_keywords() {
    let p = format!("{DIR}/own/nat-http.conf");
    let c = cfg(&p);
    let k = key("203.0.113.10:80");
    let s = c.desired.service(&k).unwrap();
    assert_eq!(s.service.scheduler, "wlc");
    let d = &s.dests[0].0;
    assert_eq!(
        (d.port, d.fwd, d.weight, d.u_threshold, d.l_threshold),
        (8080, FwdMethod::Masq, 3, 1000, 100)
    );
    let h = &c.health[&k];
    let m = &h.monitor;
    assert_eq!(m.kind, CheckType::Http);
    assert_eq!(
        (m.delay, m.timeout),
        (Duration::from_secs(5), Duration::from_secs(2))
    );
    assert_eq!((m.rise, m.fall), (1, 3), "retry 2 → down after 3 failures");
    assert!(m.alpha);
    assert_eq!(m.url_path, "/health");
    assert_eq!(
        m.expected_codes,
        vec![
            (200, 200),
            (201, 201),
            (202, 202),
            (203, 203),
            (204, 204),
            (301, 301)
        ]
    );
    assert_eq!(
        (m.http_version, m.domain_name.as_deref()),
        ("1.1", Some("www.example.org"))
    );
    assert_eq!(h.on_failure, OnFailure::Weight0);
    assert_eq!((h.quorum, h.hysteresis), (2, 1));
    assert_eq!(h.sorry_server, Some("198.51.100.9:8080".parse().unwrap()));
    let t = c.desired.timeouts.unwrap().0;
    assert_eq!((t.tcp, t.tcp_fin, t.udp), (900, 120, 300));
    // delay_before_retry equal to delay_loop: no warning about it.
    let i = import(&p);
    assert!(
        !i.warnings.iter().any(|w| w.contains("delay_before_retry")),
        "{:?}",
        i.warnings
    );
}

#[test]
fn dr_tcp_keywords() {
    let c = cfg(&format!("{DIR}/own/dr-tcp.conf"));
    let k = key("192.0.2.20:443");
    let s = c.desired.service(&k).unwrap();
    assert_eq!(s.service.scheduler, "sh");
    assert!(s.service.flags.persistent());
    assert_eq!(
        s.service.timeout, 360,
        "persistence_timeout without a value"
    );
    assert_eq!(s.service.netmask, 0xffff_ff00);
    assert_eq!(
        s.service.flags.sched_bits(),
        0x8 | 0x10,
        "sh-fallback, sh-port"
    );
    // DR real servers get the virtual server's port; checks go to theirs.
    let ports: Vec<u16> = s.dests.iter().map(|(d, _)| d.port).collect();
    assert_eq!(ports, vec![443, 443]);
    let a = "198.51.100.21".parse().unwrap();
    let b = "198.51.100.22".parse().unwrap();
    assert_eq!(c.target(&k, a, 443), (a, 8443), "connect_port");
    assert_eq!(
        c.target(&k, b, 443),
        ("203.0.113.22".parse().unwrap(), 8443),
        "connect_ip, rs port"
    );
    let h = &c.health[&k];
    assert_eq!(h.monitor.fall, 1, "retry 0 (in the checkers)");
    assert_eq!(h.on_failure, OnFailure::Remove);
    assert!(!h.monitor.alpha);
    assert_eq!(h.monitor.delay, Duration::from_secs(10));
    let u = ServiceKey::udp("192.0.2.20".parse().unwrap(), 53);
    let us = c.desired.service(&u).unwrap();
    assert!(us.service.flags.one_packet());
    assert_eq!(us.service.flags.sched_bits(), 0x8 | 0x10 | 0x20);
    assert_eq!(c.health[&u].monitor.kind, CheckType::UdpConnect);
    let ds = c.desired.daemons.as_ref().unwrap();
    let states: Vec<DaemonState> = ds.iter().map(|(d, _)| d.state).collect();
    assert_eq!(
        states,
        vec![DaemonState::Master, DaemonState::Backup],
        "no VRRP instance: both"
    );
    let d = &ds[0].0;
    assert_eq!(
        (
            d.mcast_ifn.as_str(),
            d.syncid,
            d.sync_maxlen,
            d.mcast_port,
            d.mcast_ttl
        ),
        ("eth1", 7, 1400, 8848, 2)
    );
    assert_eq!(d.mcast_group, Some("239.0.0.81".parse().unwrap()));
}

#[test]
fn tunnels_ipv6_sctp() {
    let c = cfg(&format!("{DIR}/own/tun.conf"));
    let k = key("[2001:db8::10]:80");
    let s = c.desired.service(&k).unwrap();
    let d: Vec<_> = s.dests.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(
        (d[0].fwd, d[0].tun_type, d[0].tun_port, d[0].tun_flags.0),
        (FwdMethod::Tunnel, TunType::Gue, 6080, 1)
    );
    assert_eq!((d[1].tun_type, d[1].tun_flags.0), (TunType::Gre, 0));
    assert_eq!((d[2].tun_type, d[2].weight), (TunType::Ipip, 0));
    assert_eq!(c.health[&k].monitor.timeout, Duration::from_millis(1500));
    let sctp = ServiceKey::Addr {
        protocol: ipvsadm_rs::model::Protocol::Sctp,
        addr: "192.0.2.30".parse().unwrap(),
        port: 3868,
    };
    let h = &c.health[&sctp];
    assert_eq!(h.monitor.kind, CheckType::Ping);
    assert_eq!(
        (h.monitor.delay, h.monitor.fall),
        (Duration::from_secs(2), 5)
    );
}

#[test]
fn groups_ranges_fwmarks() {
    let c = cfg(&format!("{DIR}/own/fwmark-group.conf"));
    let named: Vec<_> = c
        .desired
        .services
        .iter()
        .filter(|s| c.name(&s.service.key) == Some("DNS"))
        .collect();
    // .40-.43, .48/30 (4 addresses), fwmark 5 and 6.
    assert_eq!(named.len(), 10);
    let fw6 = ServiceKey::fwmark(ipvsadm_rs::model::Family::Inet6, 9);
    let s = c.desired.service(&fw6).unwrap();
    assert_eq!(s.dests[0].0.port, 0);
    assert_eq!(c.health[&fw6].monitor.kind, CheckType::Ping);
    let fw10 = ServiceKey::fwmark(ipvsadm_rs::model::Family::Inet, 10);
    let s = c.desired.service(&fw10).unwrap();
    assert_eq!(s.dests[0].0.port, 8000, "NAT keeps the real server's port");
    assert_eq!(s.service.timeout, 600);
    let fw5 = ServiceKey::fwmark(ipvsadm_rs::model::Family::Inet, 5);
    let s = c.desired.service(&fw5).unwrap();
    assert_eq!(s.dests[0].0.port, 0, "DR on a fwmark: port 0");
    let a = "198.51.100.41".parse().unwrap();
    assert_eq!(c.target(&fw5, a, 0), (a, 53));
    let i = import(&format!("{DIR}/own/fwmark-group.conf"));
    assert!(
        i.warnings
            .iter()
            .any(|w| w.contains(":19: warning: payload")),
        "{:?}",
        i.warnings
    );
}

#[test]
fn misc_and_cascade() {
    let p = format!("{DIR}/own/misc-cascade.conf");
    let c = cfg(&p);
    let h = &c.health[&key("203.0.113.60:25")];
    assert_eq!(h.monitor.kind, CheckType::Misc);
    assert_eq!(
        h.monitor.command.as_deref(),
        Some("/usr/local/bin/check-smtp \"198.51.100.61\" 25")
    );
    assert!(h.monitor.misc_dynamic);
    assert_eq!(h.monitor.timeout, Duration::from_secs(10));
    assert_eq!(h.monitor.delay, Duration::from_secs(20));
    assert_eq!(h.monitor.fall, 4, "retry 3 from the virtual server");
    assert_eq!(
        h.on_failure,
        OnFailure::Weight0,
        "inhibit_on_failure from the real server"
    );
    let w = import(&p).warnings;
    for (line, what) in [
        (14, "notify_up"),
        (15, "notify_down"),
        (20, "user"),
        (22, "SMTP_CHECK"),
    ] {
        assert!(
            w.iter()
                .any(|x| x.starts_with(&format!("{p}:{line}: warning: {what}"))),
            "{what}: {w:#?}"
        );
    }
}

#[test]
fn octavia_udp_listener() {
    let c = cfg(&format!("{DIR}/own/octavia-udp.conf"));
    let k = ServiceKey::udp("203.0.113.70".parse().unwrap(), 53);
    let h = &c.health[&k];
    // retry 2 → down after 3 failures: Octavia's max_retries_down 2 is
    // its fall threshold, and keepalived counts one more.
    assert_eq!((h.monitor.kind, h.monitor.fall), (CheckType::Misc, 3));
    let d = &c.desired.service(&k).unwrap().dests[0].0;
    assert_eq!((d.weight, d.u_threshold), (13, 98));
}

#[test]
fn keepalived_defaults() {
    let i = import_str("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n").unwrap();
    let c = config::read(&i.text, "x").unwrap();
    // No protocol: keepalived makes it UDP, and says so.
    let k = ServiceKey::udp("192.0.2.1".parse().unwrap(), 80);
    let s = c.desired.service(&k).unwrap();
    assert_eq!(s.service.scheduler, "wlc");
    assert_eq!(s.dests[0].0.fwd, FwdMethod::Masq);
    assert_eq!(s.dests[0].0.weight, 1);
    let m = &c.health[&k].monitor;
    assert_eq!(
        (m.delay, m.timeout, m.rise, m.fall),
        (Duration::from_secs(60), Duration::from_secs(5), 1, 2)
    );
    assert_eq!(c.health[&k].on_failure, OnFailure::Remove);
    assert_eq!(c.health[&k].quorum, 1);
    assert!(
        i.warnings
            .iter()
            .any(|w| w.starts_with("k.conf:1: warning: no protocol")),
        "{:?}",
        i.warnings
    );
    assert!(i
        .warnings
        .iter()
        .any(|w| w.starts_with("k.conf:3: warning: delay_before_retry 1 s")));
    // HTTP: 200-299 by default, retries 3 s apart in keepalived.
    let i = import_str("virtual_server 192.0.2.1 80 {\nprotocol TCP\n real_server 198.51.100.1 80 {\n  HTTP_GET {\n url {\npath /\n}\n  }\n }\n}\n").unwrap();
    let c = config::read(&i.text, "x").unwrap();
    assert_eq!(
        c.health[&key("192.0.2.1:80")].monitor.expected_codes,
        vec![(200, 299)]
    );
    assert!(i
        .warnings
        .iter()
        .any(|w| w.contains("delay_before_retry 3 s")));
    // A service without checkers has no monitor; port 0 needs persistence.
    let i =
        import_str("virtual_server 192.0.2.1 0 {\nprotocol TCP\n real_server 198.51.100.1 80\n}\n")
            .unwrap();
    let c = config::read(&i.text, "x").unwrap();
    assert!(c.health.is_empty());
    assert_eq!(c.desired.services[0].service.timeout, 360);
    // vrrp blocks noted once.
    let i = import_str(
        "vrrp_instance A {\n state MASTER\n}\nvrrp_instance B {\n}\nvrrp_script c {\n}\n",
    )
    .unwrap();
    assert_eq!(
        i.warnings,
        vec![
            "k.conf:1: note: vrrp_instance blocks are left to keepalived (skipped)",
            "k.conf:6: note: vrrp_script blocks are left to keepalived (skipped)",
        ]
    );
    // lvs_sync_daemon tied to a VRRP instance: backup daemon, its VRID.
    let i = import_str("global_defs {\n lvs_sync_daemon eth0 VI_1\n}\nvrrp_instance VI_1 {\n virtual_router_id 51\n}\n").unwrap();
    let c = config::read(&i.text, "x").unwrap();
    let ds = c.desired.daemons.unwrap();
    assert_eq!(
        (ds.len(), ds[0].0.state, ds[0].0.syncid),
        (1, DaemonState::Backup, 51)
    );
    assert!(i
        .warnings
        .iter()
        .any(|w| w.starts_with("k.conf:2: warning: lvs_sync_daemon follows VRRP instance VI_1")));
}

#[test]
fn includes() {
    let c = cfg(&format!("{DIR}/include/main.conf"));
    assert_eq!(c.desired.services.len(), 2);
    assert!(c.desired.service(&key("192.0.2.80:80")).is_some());
    let e =
        keepalived::import_file(&format!("{DIR}/include/loop/a.conf"), Format::Json).unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(&format!("{DIR}/include/loop/b.conf:5: include a.conf: ")),
        "{}",
        e[0]
    );
    assert!(e[0].contains("includes itself"), "{}", e[0]);
    let e =
        keepalived::import_file(&format!("{DIR}/include/missing.conf"), Format::Json).unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(&format!(
            "{DIR}/include/missing.conf:5: include no-such-file.conf: no such file"
        )),
        "{}",
        e[0]
    );
    // A glob matching nothing is an error too.
    let dir = std::env::temp_dir().join(format!("ka-inc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("m.conf");
    std::fs::write(&f, "include none-*.conf\n").unwrap();
    let e = keepalived::import_file(f.to_str().unwrap(), Format::Json).unwrap_err();
    assert!(
        e[0].ends_with(&format!(
            "m.conf:1: include none-*.conf: no file matches ({}/none-*.conf)",
            dir.display()
        )),
        "{}",
        e[0]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `ipvsadm import keepalived FILE`: (exit code, stdout, stderr).
fn run_import(text: &str, format: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("ka-{}-{}", std::process::id(), text.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.conf");
    std::fs::write(&f, text).unwrap();
    let out = Command::new(bin())
        .args([
            "import",
            "keepalived",
            "--format",
            format,
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let err = String::from_utf8_lossy(&out.stderr).replace(f.to_str().unwrap(), "F");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

#[test]
fn bad_input_names_file_and_line() {
    let vs = |body: &str| {
        format!("virtual_server 192.0.2.1 80 {{\n protocol TCP\n{body}\n real_server 198.51.100.1 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n")
    };
    let cases: Vec<(String, &str)> = vec![
        ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n".into(), "F:2: block `real_server` is never closed"),
        ("virtual_server 192.0.2.1 80 {\n}\n}\n".into(), "F:3: `}` closes no block"),
        ("frobnicate 1\n".into(), "F:1: unknown keyword `frobnicate`"),
        (vs(" lb_algo fastest"), "F:3: lb_algo: unknown scheduler `fastest`"),
        (vs(" persistence_timeout 99999999"), "F:3: persistence_timeout: `99999999` is outside 1–2678400"),
        (vs(" delay_loop -1"), "F:3: delay_loop: `-1` is not a number of seconds"),
        (vs(" quorum x"), "F:3: quorum: `x` is outside"),
        (vs(" lb_kind FOO"), "F:3: lb_kind: `FOO` is not NAT, DR or TUN"),
        (vs(" lvs_method TUN type gue"), "F:3: lvs_method: a gue tunnel needs a port"),
        (vs(" lvs_method TUN type ipip csum"), "F:3: lvs_method: ipip tunnels take no checksum"),
        (vs(" frob"), "F:3: unknown keyword `frob` in virtual_server"),
        (vs(" retry 0"), "F:3: retry: `0` is outside 1–4294967295"),
        ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n weight 70000\n }\n}\n".into(), "F:3: weight: `70000` is outside 0–65535"),
        ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n HTTP_GET {\n url {\n status_code 200\n }\n }\n }\n}\n".into(), "F:4: url needs a path"),
        ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80 {\n HTTP_GET {\n url {\n path /\n status_code 700\n }\n }\n }\n}\n".into(), "F:6: status_code: `700` is outside 100–599"),
        ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 {\n TCP_CHECK {\n }\n }\n}\n".into(), "F:3: real server 198.51.100.1 has no port to check"),
        ("virtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80\n}\nvirtual_server 192.0.2.1 80 {\n real_server 198.51.100.1 80\n}\n".into(), "F:4: this service is already defined at F:1"),
        ("virtual_server group NOPE {\n real_server 198.51.100.1 80\n}\n".into(), "F:1: virtual_server_group NOPE is not defined"),
        ("virtual_server_group G {\n 192.0.2.1-300 80\n}\n".into(), "F:2: range end: `300` is outside 0–255"),
        ("virtual_server_group G {\n 192.0.2.1/24 80\n}\n".into(), "F:2: `192.0.2.1/24`: address bits beyond the prefix"),
        ("global_defs {\n lvs_timeouts tcp\n}\n".into(), "F:2: lvs_timeouts takes"),
        ("a \"open\n".into(), "F:1: unterminated quoted string"),
        ("virtual_server 300.1.1.1 80 {\n}\n".into(), "F:1: `300.1.1.1` is not an IP address"),
        ("$X=1\n".into(), "F:1: parameter definitions"),
    ];
    for (text, want) in cases {
        for format in ["json", "rules"] {
            let (code, out, err) = run_import(&text, format);
            assert_eq!(code, 1, "{text}\n{err}");
            assert!(out.is_empty(), "stdout not empty for {text}: {out}");
            assert!(
                err.lines().any(|l| l.starts_with(want)),
                "want `{want}` for\n{text}\ngot:\n{err}"
            );
        }
    }
}

#[test]
fn cli_import_output_passes_serve_check_and_exports() {
    for path in configs() {
        for format in ["json", "rules"] {
            let out = Command::new(bin())
                .args(["import", "keepalived", "--format", format, &path])
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{path}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let dir = std::env::temp_dir().join(format!("ka-cli-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let f = dir.join(format!("doc.{format}"));
            std::fs::write(&f, &out.stdout).unwrap();
            let check = Command::new(bin())
                .args(["serve", "check", f.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(
                check.status.code(),
                Some(0),
                "{path} {format}: {}",
                String::from_utf8_lossy(&check.stderr)
            );
            // export from standard input gives what export of the file gives
            let mut child = Command::new(bin())
                .args(["export", "keepalived", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&out.stdout).unwrap();
            let e1 = child.wait_with_output().unwrap();
            let e2 = Command::new(bin())
                .args(["export", "keepalived", f.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(e1.status.code(), Some(0));
            assert_eq!(e1.stdout, e2.stdout);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
    // Usage errors.
    let out = Command::new(bin())
        .args(["import", "haproxy", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = Command::new(bin())
        .args(["export", "keepalived", "/nonexistent/file"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random keepalived configuration: services of every kind, each
/// keyword now and then.
fn generate(r: &mut Rng, services: usize) -> String {
    let mut o = String::new();
    if r.below(2) == 0 {
        o.push_str(&format!(
            "global_defs {{\n lvs_timeouts tcp {} udp {}\n lvs_sync_daemon eth{} id {}\n}}\n",
            1 + r.below(1000),
            1 + r.below(500),
            r.below(3),
            r.below(256)
        ));
    }
    for i in 0..services {
        let kind = r.below(4);
        let method = r.pick(&[
            "NAT",
            "DR",
            "TUN",
            "TUN type gue port 5555 csum",
            "TUN type gre",
        ]);
        let head = match kind {
            0 | 1 => format!(
                "virtual_server 192.0.2.{} {} {{\n protocol {}\n",
                i % 250 + 1,
                1000 + i,
                r.pick(&["TCP", "UDP", "SCTP"])
            ),
            2 => format!("virtual_server fwmark {} {{\n", 100 + i),
            _ => {
                o.push_str(&format!(
                    "virtual_server_group G{i} {{\n 198.51.100.{}-{} {}\n fwmark {}\n}}\n",
                    i % 100,
                    i as u64 % 100 + r.below(3),
                    2000 + i,
                    10_000 + i
                ));
                format!("virtual_server group G{i} {{\n protocol TCP\n")
            }
        };
        o.push_str(&head);
        o.push_str(&format!(
            " lvs_sched {}\n lvs_method {method}\n",
            r.pick(&["rr", "wrr", "wlc", "sh", "mh", "lc"])
        ));
        if r.below(3) == 0 {
            o.push_str(&format!(" persistence_timeout {}\n", 1 + r.below(5000)));
        }
        if r.below(4) == 0 {
            o.push_str(" flag-1\n");
        }
        let checker = r.pick(&[
            "",
            "TCP_CHECK",
            "HTTP_GET",
            "SSL_GET",
            "MISC_CHECK",
            "UDP_CHECK",
            "PING_CHECK",
        ]);
        let delay = 2 + r.below(30);
        o.push_str(&format!(
            " delay_loop {delay}\n retry {}\n delay_before_retry {delay}\n",
            1 + r.below(4)
        ));
        if r.below(2) == 0 {
            o.push_str(" inhibit_on_failure\n");
        }
        if r.below(3) == 0 {
            o.push_str(" alpha\n");
        }
        if !checker.is_empty() && r.below(3) == 0 {
            o.push_str(&format!(
                " quorum {}\n hysteresis {}\n sorry_server 203.0.113.{} 80\n",
                1 + r.below(5),
                r.below(2),
                r.below(250)
            ));
        }
        for j in 0..1 + r.below(4) {
            let port = if r.below(4) == 0 && !checker.is_empty() {
                8000 + j
            } else {
                80
            };
            o.push_str(&format!(
                "  real_server 203.0.113.{} {port} {{\n   weight {}\n",
                (i * 7 + j as usize) % 250 + 1,
                r.below(100)
            ));
            if r.below(4) == 0 {
                o.push_str("   uthreshold 100\n   lthreshold 10\n");
            }
            match checker {
                "" => {}
                "HTTP_GET" | "SSL_GET" => o.push_str(&format!("   {checker} {{\n    connect_timeout 1\n    url {{\n     path /h{j}x\n     status_code {}\n    }}\n   }}\n", r.pick(&["200", "200-299", "200 302", "204-206 500"]))),
                "MISC_CHECK" => o.push_str(&format!("   MISC_CHECK {{\n    misc_path \"/bin/true {j}\"\n    misc_timeout 1\n{}   }}\n", if r.below(2) == 0 { "    misc_dynamic\n" } else { "" })),
                c => o.push_str(&format!("   {c} {{\n    connect_timeout 1\n{}   }}\n", if r.below(3) == 0 { "    connect_port 9999\n" } else { "" })),
            }
            o.push_str("  }\n");
        }
        o.push_str("}\n");
    }
    o
}

#[test]
fn generated_configurations_round_trip() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ok = 0;
    for n in 0..300 {
        let text = generate(&mut r, 1 + n % 6);
        match import_str(&text) {
            Ok(i) => {
                round_trip(&format!("generated #{n}"), &i.doc, &i.text);
                ok += 1;
            }
            // Only the mixes keepalived refuses too (checks on mixed forms).
            Err(e) => panic!("generated #{n}:\n{}\n{text}", e.join("\n")),
        }
    }
    assert_eq!(ok, 300);
}

#[test]
fn fifty_thousand_lines() {
    let mut text = String::new();
    let mut i = 0u32;
    while text.lines().count() < 50_000 {
        // 10 lines a service, 5000 services
        for _ in 0..100 {
            text.push_str(&format!(
                "virtual_server 192.0.2.{} {} {{\n    protocol TCP\n    lvs_sched rr\n    delay_loop 5\n    real_server 198.51.100.{} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 2\n        }}\n    }}\n}}\n",
                i % 250 + 1, 1000 + i / 250, i % 250 + 1
            ));
            i += 1;
        }
    }
    let lines = text.lines().count();
    let t = Instant::now();
    let out = import_str(&text).unwrap();
    let took = t.elapsed();
    println!(
        "keepalived import: {lines} lines, {} services in {:.3} s",
        out.doc.services.len(),
        took.as_secs_f64()
    );
    assert_eq!(out.doc.services.len(), i as usize);
}

/// Inputs the fuzzer found (`fuzz/artifacts`): each fails cleanly or
/// round-trips.
#[test]
fn fuzz_findings() {
    for e in std::fs::read_dir(format!("{DIR}/fuzz")).unwrap() {
        let p = e.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        if let Ok(i) = import_str(&text) {
            round_trip(&p.to_string_lossy(), &i.doc, &i.text);
            let r = keepalived::import_text(&text, "k.conf", &parse::NoIncludes, Format::Rules)
                .unwrap_or_else(|e| panic!("{}: rules: {}", p.display(), e.join("\n")));
            assert_eq!(i.doc, r.doc);
        }
    }
}
