//! The scrape against the real Prometheus 2 of Debian (package
//! `prometheus`): `promtool check metrics` lints real scrapes (an empty
//! table, fwmark and IPv6 services, 10 000 real servers, `serve --listen`
//! with one backend dead) and reports nothing; a Prometheus server scrapes
//! `serve --listen` every second while real connections go through IPVS,
//! and PromQL over its HTTP API gives the connection rate the kernel
//! counted over the same window and the health of a backend the test
//! killed.
//!
//! `scripts/vm-test` attaches the two binaries on a read-only disk mounted
//! at /opt/prometheus (`IPVS_PROMETHEUS_BIN` overrides the directory);
//! without them these tests fail. The VM is emulated: every wait is on a
//! condition with a generous deadline; times are printed, never asserted.

use crate::support::*;
use serde_json::Value;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn prom_bin(name: &str) -> String {
    let dir = std::env::var("IPVS_PROMETHEUS_BIN").unwrap_or_else(|_| "/opt/prometheus/bin".into());
    let p = PathBuf::from(dir).join(name);
    assert!(
        p.is_file(),
        "{} is missing: scripts/vm-test attaches Debian's prometheus binaries \
         on a disk mounted at /opt/prometheus (see its log)",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

/// Families (`# TYPE` lines) and samples of a scrape; panics on a
/// duplicate series (same name and labels twice).
fn count_series(scrape: &str) -> (usize, usize) {
    let mut seen = HashSet::new();
    let mut families = 0;
    for l in scrape.lines() {
        if l.starts_with("# TYPE ") {
            families += 1;
        } else if !l.starts_with('#') && !l.is_empty() {
            let (series, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            assert!(seen.insert(series), "duplicate series {series}");
        }
    }
    (families, seen.len())
}

/// `promtool check metrics` on `scrape`: exit 0 and not a word printed.
/// Returns the number of series.
fn promtool_check(what: &str, scrape: &str) -> usize {
    let (families, series) = count_series(scrape);
    let t0 = Instant::now();
    let o = run_tool(
        &prom_bin("promtool"),
        "promtool",
        &["check", "metrics"],
        Some(scrape),
    );
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (0, "", ""),
        "promtool check metrics on {what}"
    );
    println!(
        "promtool check metrics: {what}: clean; {families} families, {series} series, \
         {} bytes (promtool {:.2} s)",
        scrape.len(),
        t0.elapsed().as_secs_f64()
    );
    series
}

/// `ipvsadm metrics ARGS`: the scrape.
fn scrape(args: &[&str]) -> String {
    let mut a = vec!["metrics"];
    a.extend_from_slice(args);
    let o = ours(&a, None);
    assert_eq!((o.status, o.stderr.as_str()), (0, ""), "ipvsadm {a:?}");
    o.stdout
}

/// The value of the one sample of `name` whose labels contain `has`.
fn sample(scrape: &str, name: &str, has: &str) -> String {
    let hits: Vec<&str> = scrape
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
                && l.contains(has)
        })
        .collect();
    assert_eq!(hits.len(), 1, "{name} with {has}: {hits:?}");
    hits[0].rsplit(' ').next().unwrap_or("").to_string()
}

/// promtool passes on the scrape of an empty table, then of a table with
/// IPv4, IPv6 and fwmark services (both families of one mark) of every
/// forwarding method, with and without `--per-service`.
#[test]
fn promtool_empty_fwmark_ipv6() {
    let _g = fresh_netns();
    let empty = scrape(&[]);
    assert_eq!(sample(&empty, "ipvs_services", ""), "0");
    promtool_check("empty table", &empty);
    promtool_check("empty table, --per-service", &scrape(&["--per-service"]));

    let rules = "\
-A -t 192.0.2.1:80 -s wrr -p 300
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 2
-a -t 192.0.2.1:80 -r 198.51.100.2:80 -i -w 1
-a -t 192.0.2.1:80 -r 198.51.100.3:80 -g -w 0
-A -u 192.0.2.1:53 -s sh -b sh-port
-a -u 192.0.2.1:53 -r 198.51.100.3:53 -m -w 1
-A -f 7 -s rr
-a -f 7 -r 198.51.100.3:0 -g -w 1
-A -f 7 -6 -s rr
-a -f 7 -6 -r 2001:db8:1::3 -g -w 1
-A -f 4000000000 -s lc
-A -t [2001:db8::80]:443 -s mh
-a -t [2001:db8::80]:443 -r [2001:db8:1::1]:443 -m -w 5
-a -t [2001:db8::80]:443 -r [2001:db8:1::2]:443 -m -w 0
-A -u [2001:db8::80]:53 -s rr
-a -u [2001:db8::80]:53 -r [2001:db8:1::1]:53 -m -w 1
";
    let o = ours(&["apply", "-"], Some(rules));
    assert_eq!((o.status, o.stderr.as_str()), (0, ""));
    // Some traffic, so that counters are not all 0.
    for _ in 0..10 {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        let _ = s.send_to(b"promtool", "192.0.2.1:53");
    }
    let full = scrape(&[]);
    assert_eq!(sample(&full, "ipvs_services", ""), "7");
    assert_eq!(sample(&full, "ipvs_backends", ""), "9");
    // The fwmark services: one series set per (mark, family), no address.
    for fam in ["ipv4", "ipv6"] {
        sample(
            &full,
            "ipvs_service_connections_total",
            &format!("proto=\"FWM\",local_address=\"\",local_port=\"\",local_mark=\"7\",family=\"{fam}\""),
        );
    }
    sample(
        &full,
        "ipvs_backend_weight",
        "local_address=\"2001:db8::80\",local_port=\"443\",local_mark=\"\",family=\"ipv6\",remote_address=\"2001:db8:1::2\"",
    );
    // What is not in every series is in the info series, once per entry.
    sample(
        &full,
        "ipvs_service_info",
        "proto=\"TCP\",local_address=\"2001:db8::80\",local_port=\"443\",local_mark=\"\",family=\"ipv6\",scheduler=\"mh\",name=\"\"",
    );
    sample(
        &full,
        "ipvs_backend_info",
        "local_port=\"443\",local_mark=\"\",family=\"ipv6\",remote_address=\"2001:db8:1::2\",remote_port=\"443\",forwarding=\"masq\"",
    );
    let n = promtool_check("IPv4, IPv6 and fwmark services", &full);
    let p = promtool_check(
        "IPv4, IPv6 and fwmark services, --per-service",
        &scrape(&["--per-service"]),
    );
    assert!(p < n, "--per-service: {p} series, full: {n}");
}

/// promtool passes on the scrape of 2 500 services × 4 real servers.
#[test]
fn promtool_10k_real_servers() {
    // Alone while the table is big (other namespaces' dumps), not while
    // promtool reads.
    let g = fresh_netns_alone();
    let mut rules = String::new();
    for p in 10000..12500 {
        rules.push_str(&format!("-A -t 192.0.2.1:{p} -s rr\n"));
        for k in 1..=4 {
            rules.push_str(&format!(
                "-a -t 192.0.2.1:{p} -r 198.51.100.{k}:{p} -m -w {k}\n"
            ));
        }
    }
    let t0 = Instant::now();
    let o = ours(&["apply", "-"], Some(&rules));
    assert_eq!((o.status, o.stderr.as_str()), (0, ""));
    println!(
        "apply of 2500 services x 4 real servers: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    // Read until two scrapes agree (a dump of 6.1 may repeat or skip
    // entries while another namespace changes; none does now, the gate is
    // ours, but a namespace freed meanwhile still changes the index).
    let t0 = Instant::now();
    let full = stable_read(|| scrape(&[]));
    println!(
        "ipvsadm metrics of 10 000 real servers: {:.2} s (stable read)",
        t0.elapsed().as_secs_f64()
    );
    let per = stable_read(|| scrape(&["--per-service"]));
    ipvsadm_rs::Ipvs::connect().unwrap().flush().unwrap();
    drop(g);
    assert_eq!(sample(&full, "ipvs_services", ""), "2500");
    assert_eq!(sample(&full, "ipvs_backends", ""), "10000");
    let n = promtool_check("2500 services x 4 real servers", &full);
    assert!(n > 10000, "{n} series");
    promtool_check("2500 services x 4 real servers, --per-service", &per);
}

/// One GET over HTTP/1.0 (no chunked bodies), written by hand: (status,
/// body).
fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let sa = addr
        .parse()
        .map_err(|e| std::io::Error::other(format!("{addr}: {e}")))?;
    let mut s = TcpStream::connect_timeout(&sa, Duration::from_secs(10))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8(buf).map_err(std::io::Error::other)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end: {text:?}")))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err(std::io::Error::other("chunked answer to HTTP/1.0"));
    }
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {head:?}")))?;
    Ok((code, body.to_string()))
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Percent-encoding of a query parameter.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const PROM: &str = "127.0.0.1:9090";
const LISTEN: &str = "127.0.0.1:9120";

/// An instant PromQL query over Prometheus's HTTP API (at time `at` if
/// given): each result's labels and value.
fn query(expr: &str, at: Option<f64>) -> Vec<(Value, f64)> {
    let mut path = format!("/api/v1/query?query={}", encode(expr));
    if let Some(t) = at {
        path.push_str(&format!("&time={t:.3}"));
    }
    let (code, body) = http_get(PROM, &path).unwrap_or_else(|e| panic!("query {expr}: {e}"));
    let v: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("query {expr}: {e}: {body}"));
    assert_eq!(
        (code, &v["status"]),
        (200, &Value::from("success")),
        "{expr}: {body}"
    );
    assert_eq!(v["data"]["resultType"], "vector", "{expr}: {body}");
    v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{expr}: {body}"))
        .iter()
        .map(|r| {
            let val = r["value"][1]
                .as_str()
                .and_then(|x| x.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("{expr}: value of {r}"));
            (r["metric"].clone(), val)
        })
        .collect()
}

/// The one value of `expr`, if it has exactly one.
fn query_one(expr: &str, at: Option<f64>) -> Option<f64> {
    let r = query(expr, at);
    (r.len() == 1).then(|| r[0].1)
}

/// Wait until `cond` holds (`Err`: what it saw instead), with a generous
/// deadline; the time it took.
fn wait_for(
    what: &str,
    deadline: Duration,
    mut cond: impl FnMut() -> Result<(), String>,
    log: &dyn Fn() -> String,
) -> f64 {
    let t0 = Instant::now();
    loop {
        match cond() {
            Ok(()) => {
                let s = t0.elapsed().as_secs_f64();
                println!("{what}: after {s:.2} s");
                return s;
            }
            Err(saw) => assert!(
                t0.elapsed() < deadline,
                "{what}: not within {deadline:?}; last seen:\n{saw}\n{}",
                log()
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Ok if `b`, else `saw`.
fn check(b: bool, saw: impl std::fmt::Debug) -> Result<(), String> {
    if b {
        Ok(())
    } else {
        Err(format!("{saw:?}"))
    }
}

/// Accepts connections on `at` and closes them at once until dropped.
struct Listener {
    stop: Arc<AtomicBool>,
    at: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn start(at: &str) -> Listener {
        let l = TcpListener::bind(at).unwrap_or_else(|e| panic!("bind {at}: {e}"));
        let at = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            for c in l.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                drop(c);
            }
        });
        Listener {
            stop,
            at,
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.at, Duration::from_secs(2));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The kernel's connection counter of the service, as ipvsadm 1.31's
/// `-L -n --stats --exact` shows it, with the time of the read.
fn oracle_conns(service: &str) -> (f64, u64) {
    let t0 = now();
    let o = oracle(&["-L", "-n", "--stats", "--exact", "-t", service]);
    let t = (t0 + now()) / 2.0;
    assert_eq!(o.status, 0, "{}", o.stderr);
    let conns = o
        .stdout
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 7 && f[0] == "TCP").then(|| f[2].parse::<u64>().ok())?
        })
        .unwrap_or_else(|| panic!("no TCP line in\n{}", o.stdout));
    (t, conns)
}

/// A real Prometheus server scrapes `serve --listen` every second while a
/// client makes TCP connections through IPVS (a local VIP, two local real
/// servers, LOCALNODE to one listener); PromQL gives (a) the connection
/// rate that the kernel's counter shows over the same window and (b) the
/// health of the backend whose health port the test closed.
#[test]
fn prometheus_scrapes_serve() {
    let _g = fresh_netns();
    for a in ["192.0.2.1", "198.51.100.1", "198.51.100.2"] {
        ip_cmd(&["addr", "add", &format!("{a}/32"), "dev", "dummy0"]);
    }
    let dir = std::env::temp_dir().join(format!("prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _web = Listener::start("0.0.0.0:80");
    let _h1 = Listener::start("198.51.100.1:8080");
    let h2 = Listener::start("198.51.100.2:8080");
    let rules = "\
-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1
-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1
#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4 max_retries=1 max_retries_down=1
#@ health -t 192.0.2.1:80 -r 198.51.100.1:80 monitor_port=8080
#@ health -t 192.0.2.1:80 -r 198.51.100.2:80 monitor_port=8080
#@ name -t 192.0.2.1:80 \"web front\"
-A -f 7 -s rr
-a -f 7 -r 198.51.100.3:0 -g -w 1
-A -t [2001:db8::80]:443 -s rr
-a -t [2001:db8::80]:443 -r [2001:db8:1::1]:443 -m -w 1
";
    let file = dir.join("lb.rules");
    std::fs::write(&file, rules).unwrap();
    let sock = dir.join("serve.sock");
    let mut cmd = Command::new(ours_bin());
    cmd.args([
        "serve",
        "--listen",
        LISTEN,
        "--socket",
        sock.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let mut serve = Proc::spawn(cmd, &dir.join("ipvsadm.log"), &dir);
    let serve_log = || std::fs::read_to_string(dir.join("ipvsadm.log")).unwrap_or_default();
    let metrics = || match http_get(LISTEN, "/metrics") {
        Ok((200, body)) => Ok(body),
        other => Err(format!("GET /metrics: {other:?}")),
    };
    // The `ipvs_backend_up` lines of the monitored service.
    let up_lines = |m: &str| -> Vec<String> {
        m.lines()
            .filter(|l| {
                l.starts_with("ipvs_backend_up{") && l.contains("local_address=\"192.0.2.1\"")
            })
            .map(str::to_string)
            .collect()
    };
    wait_for(
        "serve: both backends up in /metrics",
        Duration::from_secs(60),
        || {
            if let Some(st) = serve.exited() {
                panic!("serve exited: {st}\n{}", serve_log());
            }
            let up = up_lines(&metrics()?);
            check(up.iter().filter(|l| l.ends_with(" 1")).count() == 2, up)
        },
        &serve_log,
    );
    let m = metrics().expect("scrape");
    promtool_check("serve --listen, health monitors, all up", &m);

    // Prometheus, in this namespace, scraping the daemon every second.
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: ipvs\n    static_configs:\n      - targets: ['{LISTEN}']\n"
        ),
    )
    .unwrap();
    let t0 = Instant::now();
    let mut cmd = Command::new(prom_bin("prometheus"));
    cmd.args([
        "--config.file=prometheus.yml",
        "--storage.tsdb.path=data",
        &format!("--web.listen-address={PROM}"),
        "--log.level=warn",
    ]);
    let mut prom = Proc::spawn(cmd, &dir.join("prometheus.log"), &dir);
    // The tail: Prometheus logs much.
    let prom_log = |p: &Proc| p.log_tail(4000);
    let log = || String::new();
    wait_for(
        "prometheus: /-/ready",
        Duration::from_secs(180),
        || {
            if let Some(st) = prom.exited() {
                panic!("prometheus exited: {st}\n{}", prom_log(&prom));
            }
            let r = http_get(PROM, "/-/ready");
            check(matches!(r, Ok((200, _))), r)
        },
        &log,
    );
    wait_for(
        "prometheus: up{job=\"ipvs\"} == 1",
        Duration::from_secs(120),
        || {
            let r = query("up{job=\"ipvs\"}", None);
            check(r.len() == 1 && r[0].1 == 1.0, r)
        },
        &log,
    );
    println!(
        "prometheus started and scraping after {:.2} s",
        t0.elapsed().as_secs_f64()
    );

    // Real traffic: a client connecting through IPVS every 100 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let client = {
        let (stop, made) = (stop.clone(), made.clone());
        let vip = "192.0.2.1:80".parse().unwrap();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut i = 0u32;
            while !stop.load(Ordering::SeqCst) {
                if TcpStream::connect_timeout(&vip, Duration::from_secs(5)).is_ok() {
                    made.fetch_add(1, Ordering::SeqCst);
                }
                i += 1;
                let next = Duration::from_millis(100) * i;
                if let Some(d) = next.checked_sub(t0.elapsed()) {
                    std::thread::sleep(d);
                }
            }
        })
    };
    // Measure a window of the kernel's counter once the traffic runs.
    std::thread::sleep(Duration::from_secs(3));
    let (t1, c1) = oracle_conns("192.0.2.1:80");
    let m1 = made.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(10));
    let (t2, c2) = oracle_conns("192.0.2.1:80");
    let m2 = made.load(Ordering::SeqCst);
    let window = t2 - t1;
    let kernel_rate = (c2 - c1) as f64 / window;
    println!(
        "window {window:.2} s: kernel counted {} connections ({kernel_rate:.2}/s), \
         the client made {} ({:.2}/s; paced at 10/s)",
        c2 - c1,
        m2 - m1,
        (m2 - m1) as f64 / window
    );
    assert!(c2 > c1, "no connection counted");
    // Every connection the client made is one the kernel counted (the two
    // counts are read around the same instants, not at once: a margin).
    assert!(
        (c2 - c1).abs_diff(m2 - m1) <= 5 + (m2 - m1) / 10,
        "kernel {} vs client {}",
        c2 - c1,
        m2 - m1
    );
    // Prometheus has samples past t2: then query at t2 over the window.
    let svc = "ipvs_service_connections_total{proto=\"TCP\",local_address=\"192.0.2.1\",local_port=\"80\"}";
    wait_for(
        "prometheus: a sample past the window",
        Duration::from_secs(60),
        || {
            let r = query(&format!("timestamp({svc})"), None);
            check(r.len() == 1 && r[0].1 > t2 + 1.0, (t2, r))
        },
        &log,
    );
    stop.store(true, Ordering::SeqCst);
    let _ = client.join();
    let range = format!("[{}ms]", (window * 1000.0).round() as u64);
    let samples = query_one(&format!("count_over_time({svc}{range})"), Some(t2)).unwrap_or(0.0);
    let rate = query_one(&format!("rate({svc}{range})"), Some(t2))
        .unwrap_or_else(|| panic!("no rate\n{}", prom_log(&prom)));
    let increase = query_one(&format!("increase({svc}{range})"), Some(t2)).unwrap_or(f64::NAN);
    let per_backend = query(
        &format!(
            "sum by (remote_address) (rate(ipvs_backend_connections_total{{local_address=\"192.0.2.1\"}}{range}))"
        ),
        Some(t2),
    );
    println!(
        "PromQL at the window's end: rate({svc}{range}) = {rate:.2}/s, increase = {increase:.1}, \
         from {samples} samples; kernel {kernel_rate:.2}/s; per backend: {}",
        per_backend
            .iter()
            .map(|(l, v)| format!("{} {v:.2}/s", l["remote_address"].as_str().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(samples >= 3.0, "{samples} samples in the window");
    assert!(
        (rate - kernel_rate).abs() <= 0.35 * kernel_rate,
        "Prometheus rate {rate:.2}/s, kernel {kernel_rate:.2}/s"
    );
    assert_eq!(per_backend.len(), 2, "{per_backend:?}");
    // The service's name from FILE, joined from its info series.
    let named = query(
        &format!(
            "rate(ipvs_service_connections_total{range}) * on(proto, local_address, local_port, local_mark, family) \
             group_left(name, scheduler) ipvs_service_info{{name=\"web front\"}}"
        ),
        Some(t2),
    );
    println!("PromQL join with ipvs_service_info{{name=\"web front\"}}: {named:?}");
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(
        (
            named[0].0["name"].as_str(),
            named[0].0["local_address"].as_str(),
            named[0].0["scheduler"].as_str()
        ),
        (Some("web front"), Some("192.0.2.1"), Some("rr"))
    );
    assert!((named[0].1 - rate).abs() < 1e-9, "{named:?} vs {rate}");

    // Kill backend .2 (its health port): Prometheus shows it down.
    drop(h2);
    let t_kill = Instant::now();
    let dead = "family=\"ipv4\",remote_address=\"198.51.100.2\",remote_port=\"80\"";
    wait_for(
        "serve: .2 down in /metrics",
        Duration::from_secs(60),
        || {
            let up = up_lines(&metrics()?);
            check(up.iter().any(|l| l.contains(dead) && l.ends_with(" 0")), up)
        },
        &serve_log,
    );
    wait_for(
        "prometheus: ipvs_backend_up == 0 and operating_status ERROR for .2",
        Duration::from_secs(60),
        || {
            let up = query(&format!("ipvs_backend_up{{{dead}}}"), None);
            let st = query(
                &format!("ipvs_backend_operating_status{{{dead},status=\"ERROR\"}}"),
                None,
            );
            check(
                up.len() == 1 && up[0].1 == 0.0 && st.len() == 1 && st[0].1 == 1.0,
                (up, st),
            )
        },
        &log,
    );
    println!(
        "killed backend seen down by PromQL {:.2} s after the kill",
        t_kill.elapsed().as_secs_f64()
    );
    assert_eq!(
        query_one(
            "ipvs_backend_up{remote_address=\"198.51.100.1\",local_port=\"80\"}",
            None
        ),
        Some(1.0)
    );
    assert_eq!(
        query_one(&format!("ipvs_backend_weight{{{dead}}}"), None),
        Some(0.0)
    );
    let down = query("ipvs_backend_up == 0", None);
    assert_eq!(down.len(), 1, "{down:?}");

    // Prometheus parsed every scrape: the target is healthy.
    let (code, body) = http_get(PROM, "/api/v1/targets").unwrap();
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let t = &v["data"]["activeTargets"][0];
    assert_eq!(
        (code, &t["health"], &t["lastError"]),
        (200, &Value::from("up"), &Value::from("")),
        "{body}"
    );
    let m = metrics().expect("scrape");
    let n = promtool_check("serve --listen, health monitors, one backend dead", &m);
    println!("excerpt of that scrape (the dead backend):");
    for l in m.lines().filter(|l| l.contains(dead)).take(30) {
        println!("  {l}");
    }
    println!(
        "prometheus target: health {}, last scrape {:.4} s, scrape_samples_scraped {:?} (this scrape: {n} series, {} bytes)",
        t["health"],
        t["lastScrapeDuration"].as_f64().unwrap_or(f64::NAN),
        query_one("scrape_samples_scraped{job=\"ipvs\"}", None),
        m.len()
    );
    drop(prom);
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}
