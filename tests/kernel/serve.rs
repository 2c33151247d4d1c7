//! `ipvsadm serve` against the kernel: every check type against real
//! listeners in the test's namespace (addresses made local on `dummy0`),
//! rise/fall, alpha, removal, quorum and sorry server, shared probes,
//! reload with drain, bad targets, bad files, stopping.
//!
//! The VM is emulated: every wait is on a condition with a generous
//! deadline, and the measured times are printed, never asserted.

use crate::support::*;
use ipvsadm_rs::model::*;
use ipvsadm_rs::Ipvs;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Make `a` a local address of the namespace.
fn local(a: &str) {
    ip_cmd(&["addr", "add", &format!("{a}/32"), "dev", "dummy0"]);
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A running `ipvsadm serve`, killed when dropped.
struct Daemon {
    child: Option<Child>,
    dir: PathBuf,
    sock: PathBuf,
    file: PathBuf,
}

impl Daemon {
    fn start(text: &str, args: &[&str]) -> Daemon {
        Daemon::start_with(text, args, &[])
    }

    fn start_with(text: &str, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = std::env::temp_dir().join(format!(
            "serve-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(if text.trim_start().starts_with('{') {
            "lb.json"
        } else {
            "lb.rules"
        });
        std::fs::write(&file, text).unwrap();
        let sock = dir.join("serve.sock");
        let log = std::fs::File::create(dir.join("log")).unwrap();
        let mut cmd = Command::new(ours_bin());
        cmd.arg("serve")
            .arg("--socket")
            .arg(&sock)
            .args(["--drain-poll", "0.5"])
            .args(args)
            .arg(&file)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = cmd.spawn().expect("spawn ipvsadm serve");
        let mut d = Daemon {
            child: Some(child),
            dir,
            sock,
            file,
        };
        let t0 = Instant::now();
        loop {
            if ipvsadm_rs::serve::control::ask(&d.sock, "status", Duration::from_secs(10)).is_ok() {
                break;
            }
            if let Some(st) = d.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("serve exited with {st} at start:\n{}", d.log());
            }
            assert!(t0.elapsed() < DEADLINE, "serve not up:\n{}", d.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        println!("serve up after {:.2} s", t0.elapsed().as_secs_f64());
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn status(&self) -> Value {
        let s = ipvsadm_rs::serve::control::ask(&self.sock, "status-json", Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("status: {e}\n{}", self.log()));
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("status JSON {e}: {s}"))
    }

    /// The status entry of `server` in `service` (as `-L -n` names them).
    fn server(&self, service: &str, server: &str) -> Value {
        let st = self.status();
        st["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == service)
            .and_then(|s| {
                s["servers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["server"] == server)
                    .cloned()
            })
            .unwrap_or_else(|| panic!("no {service} -> {server} in {st:#}"))
    }

    /// Wait until `server` of `service` has operating status `want`.
    fn wait_status(&self, service: &str, server: &str, want: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let s = self.server(service, server);
            if s["operating_status"] == want {
                println!(
                    "{service} -> {server}: {want} after {:.2} s ({})",
                    t0.elapsed().as_secs_f64(),
                    s["last_reason"]
                );
                return s;
            }
            assert!(
                t0.elapsed() < DEADLINE,
                "{service} -> {server} not {want}: {s:#}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn rewrite(&self, text: &str) {
        std::fs::write(&self.file, text).unwrap();
    }

    fn reload(&self) -> Output {
        ours(
            &["serve", "reload", "--socket", self.sock.to_str().unwrap()],
            None,
        )
    }

    fn signal(&self, sig: i32) {
        let pid = self.child.as_ref().unwrap().id() as i32;
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(pid, sig);
        }
    }

    /// Wait for the daemon to exit; its status code.
    fn wait_exit(&mut self) -> i32 {
        let mut c = self.child.take().unwrap();
        let t0 = Instant::now();
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            assert!(
                t0.elapsed() < DEADLINE,
                "serve did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The kernel's weight of a real server (`None`: absent).
fn kernel_weight(key: &ServiceKey, a: &str, port: u16) -> Option<i32> {
    let mut ipvs = Ipvs::connect().unwrap();
    let dests = match ipvs.dests(key) {
        Ok(d) => d,
        Err(_) => return None,
    };
    dests
        .iter()
        .find(|d| d.addr == addr(a) && d.port == port)
        .map(|d| d.weight)
}

/// Wait until the kernel's weight of the real server is `want`.
fn wait_weight(key: &ServiceKey, a: &str, port: u16, want: Option<i32>, d: &Daemon) -> Duration {
    let t0 = Instant::now();
    loop {
        let w = kernel_weight(key, a, port);
        if w == want {
            let e = t0.elapsed();
            println!("{a}:{port} weight {want:?} after {:.2} s", e.as_secs_f64());
            return e;
        }
        assert!(
            t0.elapsed() < DEADLINE,
            "{a}:{port}: weight {w:?}, want {want:?}\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A listener on a thread; `handle` serves each connection. Dropping it
/// closes the listener (the address then refuses connections).
struct Server {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    addr: SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(at: &str, handle: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
        let l = TcpListener::bind(at).unwrap_or_else(|e| panic!("bind {at}: {e}"));
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (s, a) = (stop.clone(), accepted.clone());
        let handle = Arc::new(handle);
        let thread = std::thread::spawn(move || {
            for c in l.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(c) = c else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let h = handle.clone();
                std::thread::spawn(move || h(c));
            }
        });
        Server {
            stop,
            accepted,
            addr,
            thread: Some(thread),
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tcp_server(at: &str) -> Server {
    Server::start(at, |_c| {})
}

/// Reads the request head, answers with `code`.
fn http_server(at: &str, code: u16) -> Server {
    Server::start(at, move |mut c| {
        let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = Vec::new();
        let mut b = [0u8; 512];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&b[..n]),
            }
        }
        let _ = write!(c, "HTTP/1.0 {code} Whatever\r\nContent-Length: 0\r\n\r\n");
    })
}

fn lines(l: &[&str]) -> String {
    l.iter().map(|x| format!("{x}\n")).collect()
}

#[test]
fn tcp_checks_fall_and_rise() {
    let _g = fresh_netns();
    local("198.51.100.1");
    local("198.51.100.2");
    let _a = tcp_server("198.51.100.1:80");
    let key = ServiceKey::tcp(addr("192.0.2.1"), 80);
    let d = Daemon::start(
        &lines(&[
            "-A -t 192.0.2.1:80 -s rr",
            "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 3",
            "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 2",
            // Unreachable: routed into dummy0, where SYNs vanish.
            "-a -t 192.0.2.1:80 -r 198.51.100.77:80 -m -w 2",
            "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4 max_retries=2 max_retries_down=2",
        ]),
        &[],
    );
    let s = d.wait_status("TCP 192.0.2.1:80", "198.51.100.77:80", "ERROR");
    assert_eq!(s["last_reason"], "timeout after 0.4 s");
    // Not alpha: both start up with their weights.
    assert_eq!(kernel_weight(&key, "198.51.100.1", 80), Some(3));
    let s = d.wait_status("TCP 192.0.2.1:80", "198.51.100.2:80", "ERROR");
    assert_eq!(s["last_reason"], "connect: connection refused");
    // Down after 2 failures (the log line below says so); more may have
    // come since.
    assert!(s["failures"].as_u64().unwrap() >= 2, "{s}");
    wait_weight(&key, "198.51.100.2", 80, Some(0), &d);
    let s = d.server("TCP 192.0.2.1:80", "198.51.100.1:80");
    assert_eq!(s["operating_status"], "ONLINE");
    assert_eq!(s["kernel_weight"], 3);
    // Revived: back after two successes.
    let _b = tcp_server("198.51.100.2:80");
    let s = d.wait_status("TCP 192.0.2.1:80", "198.51.100.2:80", "ONLINE");
    assert!(s["successes"].as_u64().unwrap() >= 2, "{s}");
    wait_weight(&key, "198.51.100.2", 80, Some(2), &d);
    let log = d.log();
    assert!(
        log.contains("TCP 192.0.2.1:80 -> 198.51.100.2:80: ONLINE -> ERROR after 2 failures (connect: connection refused"),
        "{log}"
    );
    assert!(
        log.contains(
            "TCP 192.0.2.1:80 -> 198.51.100.2:80: ERROR -> ONLINE after 2 successes (connected"
        ),
        "{log}"
    );
    // Linux 6.1's default expire_nodest_conn=0 defeats draining: said.
    assert!(
        log.contains("warning: net.ipv4.vs.expire_nodest_conn=0"),
        "{log}"
    );
    // The text status names both.
    let o = ours(
        &["serve", "status", "--socket", d.sock.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(o.stdout.contains("198.51.100.2:80"), "{}", o.stdout);
    assert!(o.stdout.contains("ONLINE"), "{}", o.stdout);
}

#[test]
fn http_expected_codes_and_bad_targets() {
    let _g = fresh_netns();
    for a in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
        "198.51.100.5",
    ] {
        local(a);
    }
    let ok = http_server("198.51.100.1:80", 204);
    let _notfound = http_server("198.51.100.2:80", 404);
    // Slow: accepts, never answers.
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let h2 = held.clone();
    let _slow = Server::start("198.51.100.3:80", move |c| h2.lock().unwrap().push(c));
    // Flood: endless bytes without a line end.
    let _flood = Server::start("198.51.100.4:80", |mut c| {
        let junk = [b'A'; 4096];
        while c.write_all(&junk).is_ok() {}
    });
    // Half-open: a listener nobody accepts on (the kernel completes the
    // handshake into its backlog).
    let _half = TcpListener::bind("198.51.100.5:80").unwrap();
    let key = ServiceKey::tcp(addr("192.0.2.1"), 80);
    let d = Daemon::start(
        &lines(&[
            "-A -t 192.0.2.1:80 -s wrr",
            "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
            "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1",
            "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -m -w 1",
            "-a -t 192.0.2.1:80 -r 198.51.100.4:80 -m -w 1",
            "-a -t 192.0.2.1:80 -r 198.51.100.5:80 -m -w 1",
            "#@ health -t 192.0.2.1:80 type=HTTP delay=1 timeout=0.5 max_retries_down=1 http_method=GET url_path=/health expected_codes=200-204",
        ]),
        &[],
    );
    let svc = "TCP 192.0.2.1:80";
    let s = d.wait_status(svc, "198.51.100.2:80", "ERROR");
    assert_eq!(s["last_reason"], "HTTP 404 on /health");
    let s = d.wait_status(svc, "198.51.100.3:80", "ERROR");
    assert_eq!(s["last_reason"], "timeout after 0.5 s");
    let s = d.wait_status(svc, "198.51.100.4:80", "ERROR");
    assert_eq!(s["last_reason"], "not an HTTP answer on /health");
    let s = d.wait_status(svc, "198.51.100.5:80", "ERROR");
    assert_eq!(s["last_reason"], "timeout after 0.5 s");
    for a in [
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
        "198.51.100.5",
    ] {
        wait_weight(&key, a, 80, Some(0), &d);
    }
    // The good server kept its schedule while the bad ones hung.
    let before = d.server(svc, "198.51.100.1:80")["checks"].as_u64().unwrap();
    let t0 = Instant::now();
    while d.server(svc, "198.51.100.1:80")["checks"].as_u64().unwrap() < before + 3 {
        assert!(t0.elapsed() < DEADLINE, "{}", d.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = d.server(svc, "198.51.100.1:80");
    assert_eq!(s["operating_status"], "ONLINE");
    assert_eq!(s["last_reason"], "HTTP 204");
    assert!(ok.accepted() >= 3);
    assert_eq!(kernel_weight(&key, "198.51.100.1", 80), Some(1));
}

fn tls_server(at: &str) -> Server {
    let config = tls_config();
    Server::start(at, move |c| {
        let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
        let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
            return;
        };
        let mut tls = rustls::StreamOwned::new(conn, c);
        let mut buf = Vec::new();
        let mut b = [0u8; 512];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&b[..n]),
            }
        }
        let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        let _ = tls.flush();
        tls.conn.send_close_notify();
        let _ = tls.flush();
    })
}

#[test]
fn https_and_tls_hello() {
    let _g = fresh_netns();
    local("198.51.100.3");
    local("198.51.100.4");
    let _tls = tls_server("198.51.100.3:443");
    // Plain TCP where TLS is expected: it closes at once.
    let _plain = tcp_server("198.51.100.4:443");
    let dir = std::env::temp_dir().join(format!("serve-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let other = dir.join("other-ca.pem");
    std::fs::write(&ca, include_str!("../fixtures/tls/ca.pem")).unwrap();
    std::fs::write(&other, include_str!("../fixtures/tls/other-ca.pem")).unwrap();
    let (ca, other) = (ca.to_str().unwrap(), other.to_str().unwrap());
    let d = Daemon::start(
        &lines(&[
            "-A -t 192.0.2.1:443 -s rr",
            "-a -t 192.0.2.1:443 -r 198.51.100.3:443 -m -w 1",
            "-a -t 192.0.2.1:443 -r 198.51.100.4:443 -m -w 1",
            "#@ health -t 192.0.2.1:443 type=HTTPS delay=1 timeout=0.8 max_retries_down=1 http_version=1.1 domain_name=backend.example",
            "-A -t 192.0.2.2:443 -s rr",
            "-a -t 192.0.2.2:443 -r 198.51.100.3:443 -m -w 1",
            "-a -t 192.0.2.2:443 -r 198.51.100.4:443 -m -w 1",
            &format!("#@ health -t 192.0.2.2:443 type=TLS-HELLO delay=1 timeout=0.8 max_retries_down=1 ca_file={ca}"),
            "-A -t 192.0.2.3:443 -s rr",
            "-a -t 192.0.2.3:443 -r 198.51.100.3:443 -m -w 1",
            &format!("#@ health -t 192.0.2.3:443 type=TLS-HELLO delay=1 timeout=0.8 max_retries_down=1 ca_file={other}"),
        ]),
        &[],
    );
    let s = d.server("TCP 192.0.2.1:443", "198.51.100.3:443");
    println!("{s}");
    d.wait_status("TCP 192.0.2.1:443", "198.51.100.4:443", "ERROR");
    let t0 = Instant::now();
    loop {
        let s = d.server("TCP 192.0.2.1:443", "198.51.100.3:443");
        if s["last_reason"] == "HTTP 200" {
            assert_eq!(s["operating_status"], "ONLINE");
            break;
        }
        assert!(t0.elapsed() < DEADLINE, "{s}\n{}", d.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Verified against the right CA: the handshake completes.
    let t0 = Instant::now();
    loop {
        let s = d.server("TCP 192.0.2.2:443", "198.51.100.3:443");
        if s["last_reason"] == "TLS handshake done" {
            assert_eq!(s["operating_status"], "ONLINE");
            break;
        }
        assert!(t0.elapsed() < DEADLINE, "{s}\n{}", d.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    d.wait_status("TCP 192.0.2.2:443", "198.51.100.4:443", "ERROR");
    // Against another CA: refused.
    let s = d.wait_status("TCP 192.0.2.3:443", "198.51.100.3:443", "ERROR");
    let why = s["last_reason"].as_str().unwrap();
    assert!(why.starts_with("TLS: invalid peer certificate"), "{why}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn udp_connect_ping_and_misc() {
    let _g = fresh_netns();
    // No ICMP rate limit to trip over in this namespace.
    std::fs::write("/proc/sys/net/ipv4/icmp_ratelimit", "0").unwrap();
    local("198.51.100.1");
    local("198.51.100.2");
    let _udp = UdpSocket::bind("198.51.100.1:53").unwrap();
    let udp_key = ServiceKey::udp(addr("192.0.2.1"), 53);
    let d = Daemon::start(
        &lines(&[
            "-A -u 192.0.2.1:53 -s rr",
            "-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m -w 1",
            "-a -u 192.0.2.1:53 -r 198.51.100.2:53 -m -w 1",
            "#@ health -u 192.0.2.1:53 type=UDP-CONNECT delay=1 timeout=0.5 max_retries_down=2",
            "-A -t 192.0.2.2:80 -s rr",
            "-a -t 192.0.2.2:80 -r 198.51.100.1:80 -m -w 1",
            // Not local: routed into dummy0, where nothing answers.
            "-a -t 192.0.2.2:80 -r 198.51.100.77:80 -m -w 1",
            "-a -t 192.0.2.2:80 -r 198.51.100.2:80 -m -w 1",
            "#@ health -t 192.0.2.2:80 type=PING delay=1 timeout=0.5 max_retries_down=1",
            "#@ health -t 192.0.2.2:80 -r 198.51.100.2:80 monitor_address=198.51.100.78",
            "-A -t 192.0.2.3:80 -s rr",
            "-a -t 192.0.2.3:80 -r 198.51.100.1:80 -m -w 1",
            "-a -t 192.0.2.3:80 -r 198.51.100.2:80 -m -w 10",
            "#@ health -t 192.0.2.3:80 type=MISC delay=1 timeout=0.8 max_retries_down=1 misc_dynamic=true command=\"case $TARGET_ADDRESS in 198.51.100.1) exit 0;; *) exit 7;; esac\"",
            "-A -t 192.0.2.4:80 -s rr",
            "-a -t 192.0.2.4:80 -r 198.51.100.1:80 -m -w 1",
            "-a -t 192.0.2.4:80 -r 198.51.100.2:80 -m -w 1",
            "#@ health -t 192.0.2.4:80 type=MISC delay=1 timeout=0.5 max_retries_down=1 command=\"[ $TARGET_ADDRESS = 198.51.100.1 ] || sleep 5\"",
        ]),
        &[],
    );
    let s = d.wait_status("UDP 192.0.2.1:53", "198.51.100.2:53", "ERROR");
    assert_eq!(s["last_reason"], "ICMP port unreachable");
    wait_weight(&udp_key, "198.51.100.2", 53, Some(0), &d);
    let s = d.server("UDP 192.0.2.1:53", "198.51.100.1:53");
    assert_eq!(s["operating_status"], "ONLINE", "{s}");

    let s = d.wait_status("TCP 192.0.2.2:80", "198.51.100.77:80", "ERROR");
    assert_eq!(s["last_reason"], "no echo reply within 0.5 s");
    let s = d.wait_status("TCP 192.0.2.2:80", "198.51.100.2:80", "ERROR");
    assert_eq!(s["target"], "198.51.100.78:80");
    let t0 = Instant::now();
    loop {
        let s = d.server("TCP 192.0.2.2:80", "198.51.100.1:80");
        if s["last_reason"] == "echo reply" {
            assert_eq!(s["operating_status"], "ONLINE");
            break;
        }
        assert!(t0.elapsed() < DEADLINE, "{s}\n{}", d.log());
        std::thread::sleep(Duration::from_millis(100));
    }

    // misc_dynamic: exit 7 sets weight 5.
    let key3 = ServiceKey::tcp(addr("192.0.2.3"), 80);
    wait_weight(&key3, "198.51.100.2", 80, Some(5), &d);
    assert_eq!(kernel_weight(&key3, "198.51.100.1", 80), Some(1));
    let s = d.server("TCP 192.0.2.3:80", "198.51.100.2:80");
    assert_eq!(s["last_reason"], "exit status 7");
    // A command past its timeout is killed and counts as a failure.
    let s = d.wait_status("TCP 192.0.2.4:80", "198.51.100.2:80", "ERROR");
    assert_eq!(s["last_reason"], "command timed out after 0.5 s");
}

#[test]
fn alpha_remove_and_quorum_with_sorry_server() {
    let _g = fresh_netns();
    for a in ["198.51.100.1", "198.51.100.2", "198.51.100.9"] {
        local(a);
    }
    let a = tcp_server("198.51.100.1:80");
    let b = tcp_server("198.51.100.2:80");
    let k1 = ServiceKey::tcp(addr("192.0.2.1"), 80);
    let k2 = ServiceKey::tcp(addr("192.0.2.2"), 80);
    let d = Daemon::start(
        &lines(&[
            "-A -t 192.0.2.1:80 -s rr",
            "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
            "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1",
            "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -m -w 1",
            "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4 max_retries_down=1 alpha=true on_failure=remove",
            "-A -t 192.0.2.2:80 -s rr",
            "-a -t 192.0.2.2:80 -r 198.51.100.1:80 -m -w 1",
            "-a -t 192.0.2.2:80 -r 198.51.100.2:80 -m -w 1",
            "#@ health -t 192.0.2.2:80 type=TCP delay=0.5 timeout=0.4 max_retries_down=1 quorum=2 hysteresis=0 sorry_server=198.51.100.9:80",
        ]),
        &[],
    );
    // alpha: at start nobody was checked yet, so nobody is in (removal).
    let s = d.server("TCP 192.0.2.1:80", "198.51.100.3:80");
    assert_eq!(s["operating_status"], "ERROR", "{s}");
    assert_eq!(kernel_weight(&k1, "198.51.100.3", 80), None);
    // The live ones come in on their first success; the dead one never.
    wait_weight(&k1, "198.51.100.1", 80, Some(1), &d);
    wait_weight(&k1, "198.51.100.2", 80, Some(1), &d);
    assert_eq!(kernel_weight(&k1, "198.51.100.3", 80), None);
    assert_eq!(kernel_weight(&k2, "198.51.100.9", 80), None);

    // Quorum 2 of weight 2: one down loses it. The sorry server serves,
    // the live server is taken out (weight 0, the failure action).
    drop(b);
    wait_weight(&k2, "198.51.100.9", 80, Some(1), &d);
    wait_weight(&k2, "198.51.100.1", 80, Some(0), &d);
    wait_weight(&k1, "198.51.100.2", 80, None, &d);
    let st = d.status();
    let svc = st["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "TCP 192.0.2.2:80")
        .unwrap();
    assert_eq!(svc["quorum_up"], false, "{svc}");
    assert_eq!(svc["sorry_server_active"], "198.51.100.9:80");
    let _b = tcp_server("198.51.100.2:80");
    wait_weight(&k2, "198.51.100.9", 80, None, &d);
    wait_weight(&k2, "198.51.100.1", 80, Some(1), &d);
    wait_weight(&k2, "198.51.100.2", 80, Some(1), &d);
    let log = d.log();
    assert!(log.contains("TCP 192.0.2.2:80: quorum lost"), "{log}");
    assert!(log.contains("TCP 192.0.2.2:80: quorum regained"), "{log}");
    drop(a);
}

#[test]
fn shared_probes_one_per_target() {
    let _g = fresh_netns();
    local("198.51.100.1");
    local("198.51.100.2");
    let a = tcp_server("198.51.100.1:80");
    let b = tcp_server("198.51.100.2:80");
    let mut text = String::new();
    for i in 1..=20 {
        text.push_str(&format!("-A -t 192.0.2.{i}:80 -s rr\n"));
        for s in ["198.51.100.1", "198.51.100.2"] {
            text.push_str(&format!("-a -t 192.0.2.{i}:80 -r {s}:80 -m -w 1\n"));
        }
        text.push_str(&format!(
            "#@ health -t 192.0.2.{i}:80 type=TCP delay=1 timeout=0.5\n"
        ));
    }
    let d = Daemon::start(&text, &[]);
    let st = d.status();
    assert_eq!(st["probes"], 2, "40 real servers, 2 targets: {st:#}");
    std::thread::sleep(Duration::from_secs(4));
    let st = d.status();
    let checks = st["checks"].as_u64().unwrap();
    let (na, nb) = (a.accepted(), b.accepted());
    println!("after 4 s: {checks} checks, {na} + {nb} connections");
    // One probe per target each second (not 20): at most ~6 each
    // (the first check falls anywhere in the first second).
    assert!((2..=8).contains(&na) && (2..=8).contains(&nb), "{na} {nb}");
    // Killing the shared target takes it out of all 20 services.
    drop(b);
    for i in [1, 20] {
        let k = ServiceKey::tcp(addr(&format!("192.0.2.{i}")), 80);
        wait_weight(&k, "198.51.100.2", 80, Some(0), &d);
    }
    drop(a);
}

#[test]
fn reload_keeps_state_drains_and_refuses_bad_files() {
    let _g = fresh_netns();
    // The VIP is local too: a local client's connection goes through IPVS
    // (LOCALNODE) to the wildcard listener on port 80. The other real
    // servers are checked on port 8080 (monitor_port).
    for a in [
        "192.0.2.1",
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
    ] {
        local(a);
    }
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let h2 = held.clone();
    let _a = Server::start("0.0.0.0:80", move |c| h2.lock().unwrap().push(c));
    let _b = tcp_server("198.51.100.2:8080");
    let _c = tcp_server("198.51.100.3:8080");
    let _e = tcp_server("198.51.100.4:8080");
    let key = ServiceKey::tcp(addr("192.0.2.1"), 80);
    let monitor_ports = [
        "#@ health -t 192.0.2.1:80 -r 198.51.100.2:80 monitor_port=8080",
        "#@ health -t 192.0.2.1:80 -r 198.51.100.3:80 monitor_port=8080",
    ];
    let mut v1 = lines(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 0",
        "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -m -w 0",
        "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4 drain_timeout=4",
    ]);
    v1.push_str(&lines(&monitor_ports));
    let d = Daemon::start(&v1, &["--resync", "2"]);
    // A real connection through IPVS: only .1 has a weight.
    let client =
        TcpStream::connect_timeout(&"192.0.2.1:80".parse().unwrap(), Duration::from_secs(5))
            .expect("connect through IPVS");
    let t0 = Instant::now();
    loop {
        let mut ipvs = Ipvs::connect().unwrap();
        let ds = ipvs.dests(&key).unwrap();
        let one = ds.iter().find(|x| x.addr == addr("198.51.100.1")).unwrap();
        if one.active_conns + one.inact_conns > 0 {
            break;
        }
        assert!(t0.elapsed() < DEADLINE, "no connection counted: {ds:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let checks_before = d.server("TCP 192.0.2.1:80", "198.51.100.3:80")["checks"]
        .as_u64()
        .unwrap();

    // The daemon keeps the kernel matching FILE: a change made behind its
    // back is undone by the next whole-table comparison (--resync 2).
    {
        let mut ipvs = Ipvs::connect().unwrap();
        let mut dd = Dest::new(addr("198.51.100.3"), 80);
        dd.fwd = FwdMethod::Masq;
        dd.weight = 9;
        ipvs.edit_dest(&key, &dd).unwrap();
    }
    wait_weight(&key, "198.51.100.3", 80, Some(0), &d);

    // A bad file is refused; the running configuration stays.
    d.rewrite(&lines(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -m -w 1",
        "#@ health -t 192.0.2.1:80 type=TCP delay=1 timeout=1",
    ]));
    let o = d.reload();
    assert_eq!(o.status, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("lb.rules:3: timeout: must be below delay (1 s ≥ 1 s)"),
        "{}",
        o.stderr
    );
    assert_eq!(d.status()["reloads_failed"], 1);
    assert_eq!(kernel_weight(&key, "198.51.100.1", 80), Some(1));

    // Drop .1 (one connection) and .2 (none), add .4, keep .3.
    let mut v2 = lines(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -m -w 1",
        "-a -t 192.0.2.1:80 -r 198.51.100.4:80 -m -w 1",
        "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4 drain_timeout=4",
        "#@ health -t 192.0.2.1:80 -r 198.51.100.3:80 monitor_port=8080",
        "#@ health -t 192.0.2.1:80 -r 198.51.100.4:80 monitor_port=8080",
    ]);
    v2.push('\n');
    d.rewrite(&v2);
    let t0 = Instant::now();
    let o = d.reload();
    assert_eq!(o.status, 0, "{}{}", o.stdout, o.stderr);
    println!("reload answered in {:.2} s", t0.elapsed().as_secs_f64());
    assert_eq!(kernel_weight(&key, "198.51.100.4", 80), Some(1));
    assert_eq!(kernel_weight(&key, "198.51.100.3", 80), Some(1));
    assert_eq!(kernel_weight(&key, "198.51.100.1", 80), Some(0));
    let s = d.server("TCP 192.0.2.1:80", "198.51.100.1:80");
    assert_eq!(s["operating_status"], "DRAINING");
    // .2 had no connection: deleted at the next read.
    wait_weight(&key, "198.51.100.2", 80, None, &d);
    // .1 still has one: deleted when drain_timeout passes.
    let e = wait_weight(&key, "198.51.100.1", 80, None, &d);
    println!("drained .1 in {:.2} s after .2", e.as_secs_f64());
    let log = d.log();
    assert!(
        log.contains("198.51.100.2:80: DRAINING -> deleted"),
        "{log}"
    );
    assert!(log.contains("no connections left"), "{log}");
    assert!(log.contains("drain_timeout passed with 1 active"), "{log}");
    // .3's probe kept its state: its count went on.
    let after = d.server("TCP 192.0.2.1:80", "198.51.100.3:80")["checks"]
        .as_u64()
        .unwrap();
    assert!(after > checks_before, "{checks_before} -> {after}");
    assert_eq!(d.status()["reloads_ok"], 1);
    drop(client);

    // SIGHUP reloads too.
    d.rewrite(&lines(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -m -w 7",
        "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4",
        "#@ health -t 192.0.2.1:80 -r 198.51.100.3:80 monitor_port=8080",
    ]));
    d.signal(libc::SIGHUP);
    wait_weight(&key, "198.51.100.3", 80, Some(7), &d);
    wait_weight(&key, "198.51.100.4", 80, None, &d);
}

#[test]
fn bad_file_touches_nothing_and_stop_modes() {
    let _g = fresh_netns();
    local("198.51.100.1");
    let _a = tcp_server("198.51.100.1:80");
    // Invalid: refused before anything is applied.
    let dir = std::env::temp_dir().join(format!("serve-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"services":[{"key":{"kind":"addr","protocol":"tcp","addr":"192.0.2.1","port":80},"scheduler":"rr",
  "health_monitor":{"type":"HTTP","delay":2,"timeout":1,"expected_codes":"2xx"},
  "dests":[{"addr":"198.51.100.1","port":80,"fwd":"masq","weight":1}]}]}"#,
    )
    .unwrap();
    let o = ours(&["serve", bad.to_str().unwrap()], None);
    assert_eq!(o.status, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("bad.json: services[0].health_monitor.expected_codes: `2xx` is not NNN"),
        "{}",
        o.stderr
    );
    let o = ours(&["serve", "check", bad.to_str().unwrap()], None);
    assert_eq!(o.status, 1);
    assert_saved(&[]);
    let _ = std::fs::remove_dir_all(&dir);

    let text = lines(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
        "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4",
    ]);
    // Default: SIGTERM leaves the table serving.
    let mut d = Daemon::start(&text, &[]);
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(), 0);
    assert_saved(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
    ]);
    // --on-stop remove deletes the services of FILE.
    let mut d = Daemon::start(&text, &["--on-stop", "remove"]);
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(), 0);
    assert_saved(&[]);
}

#[test]
fn no_control_socket_still_checks() {
    let _g = fresh_netns();
    local("198.51.100.1");
    local("198.51.100.2");
    let _a = tcp_server("198.51.100.1:80");
    let key = ServiceKey::tcp(addr("192.0.2.1"), 80);
    let dir = std::env::temp_dir().join(format!("serve-nosock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lb.rules");
    std::fs::write(
        &file,
        lines(&[
            "-A -t 192.0.2.1:80 -s rr",
            "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
            "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1",
            "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4 max_retries_down=1",
        ]),
    )
    .unwrap();
    // A socket directory that cannot be made (as with no /run).
    let mut child = Command::new(ours_bin())
        .args(["serve", "--socket", "/proc/no-such-dir/serve.sock"])
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        if kernel_weight(&key, "198.51.100.2", 80) == Some(0) {
            break;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("serve exited: {st}");
        }
        assert!(t0.elapsed() < DEADLINE, "the dead server kept its weight");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "checked without a socket: down after {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: no control socket"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// sd_notify over a real datagram socket, as systemd listens: READY=1 after
/// the first apply, WATCHDOG=1 while healthy, none while the IPVS thread is
/// stuck (here: waiting for a table lock the test holds), RELOADING=1 and
/// READY=1 around a reload, STOPPING=1 on SIGTERM.
#[test]
fn sd_notify_ready_watchdog_and_stuck() {
    use std::os::unix::net::UnixDatagram;
    let _g = fresh_netns();
    local("198.51.100.1");
    let _a = tcp_server("198.51.100.1:80");
    let dir = std::env::temp_dir().join(format!("serve-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let t0 = Instant::now();
    let mut d = Daemon::start_with(
        &lines(&[
            "-A -t 192.0.2.1:80 -s rr",
            "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
            "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4",
        ]),
        &["--wait", "20", "--resync", "3600"],
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "2000000"),
        ],
    );
    let mut msgs: Vec<(Duration, String)> = Vec::new();
    let collect = |until: Duration, msgs: &mut Vec<(Duration, String)>| {
        let end = Instant::now() + until;
        let mut buf = [0u8; 4096];
        while Instant::now() < end {
            if let Ok(n) = sock.recv(&mut buf) {
                msgs.push((
                    t0.elapsed(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                ));
            }
        }
    };
    collect(Duration::from_secs(4), &mut msgs);
    assert!(msgs[0].1.starts_with("READY=1\n"), "{msgs:?}");
    let pings = |msgs: &[(Duration, String)]| {
        msgs.iter()
            .filter(|m| m.1 == "WATCHDOG=1\n")
            .map(|m| m.0)
            .collect::<Vec<_>>()
    };
    assert!(pings(&msgs).len() >= 3, "{msgs:?}");

    // Hold the table lock; a reload's resync waits for it (up to --wait).
    let lock = ipvsadm_rs::apply::lock::Lock::acquire(Duration::from_secs(10)).unwrap();
    let held_from = t0.elapsed();
    d.signal(libc::SIGHUP);
    collect(Duration::from_secs(7), &mut msgs);
    drop(lock);
    let released = t0.elapsed();
    collect(Duration::from_secs(4), &mut msgs);
    let all = pings(&msgs);
    let gap = all
        .windows(2)
        .filter(|w| w[1] > held_from)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap();
    let normal = all
        .windows(2)
        .filter(|w| w[1] < held_from)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap();
    println!(
        "watchdog pings: longest gap {:.2} s before the lock, {:.2} s while it was held ({:.2} s)",
        normal.as_secs_f64(),
        gap.as_secs_f64(),
        (released - held_from).as_secs_f64()
    );
    assert!(gap >= Duration::from_secs(3), "no pause: {msgs:?}");
    assert!(
        all.last().unwrap() > &released,
        "pings did not resume: {msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.1.starts_with("RELOADING=1\nMONOTONIC_USEC=")),
        "{msgs:?}"
    );
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(), 0);
    collect(Duration::from_millis(500), &mut msgs);
    assert!(msgs.iter().any(|m| m.1 == "STOPPING=1\n"), "{msgs:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A serve FILE in rules form is still a rules file for ipvsadm 1.31's
/// ipvsadm-restore (which drops `#` lines) and for `ipvsadm apply`: both
/// build the same table from it.
#[test]
fn rules_file_restores_with_ipvsadm_restore() {
    let _g = fresh_netns();
    let text = lines(&[
        "-A -t 192.0.2.1:80 -s wrr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 2",
        "#@ health -t 192.0.2.1:80 type=HTTP delay=5 timeout=2 url_path=/health expected_codes=200-204",
        "#@ health -t 192.0.2.1:80 -r 198.51.100.1:80 monitor_port=8080",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1",
        "#@ health -u 192.0.2.1:53 type=MISC delay=10 timeout=3 command=\"exit 0\"",
        "-A -u 192.0.2.1:53 -s rr",
    ]);
    let want = [
        "-A -t 192.0.2.1:80 -s wrr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 2",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1",
        "-A -u 192.0.2.1:53 -s rr",
    ];
    let restore = oracle_bin().replace("ipvsadm", "ipvsadm-restore");
    let o = run_tool(&restore, "ipvsadm-restore", &[] as &[&str], Some(&text));
    assert_eq!((o.status, o.stderr.as_str()), (0, ""), "{}", o.stdout);
    assert_saved(&want);
    oracle(&["-C"]);
    let o = ours(&["apply", "-"], Some(&text));
    assert_eq!((o.status, o.stderr.as_str()), (0, ""));
    assert_saved(&want);
}

/// One HTTP/1.1 request; (status code, body).
fn try_http_get(addr: &str, path: &str, method: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let code = buf
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {buf:?}")))?;
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    let chunked = head
        .to_ascii_lowercase()
        .contains("\r\ntransfer-encoding: chunked");
    let body = if chunked {
        dechunk(body).map_err(|e| std::io::Error::other(format!("{e}: {body:?}")))?
    } else {
        body.to_string()
    };
    Ok((code, body))
}

/// A chunked HTTP/1.1 body, decoded; every chunk's framing checked and the
/// last (empty) chunk required.
fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").ok_or("chunk size line cut")?;
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("chunk size {size:?}: {e}"))?;
        if n == 0 {
            return Ok(out);
        }
        let data = after.get(..n).ok_or("chunk cut")?;
        out.push_str(data);
        rest = after[n..]
            .strip_prefix("\r\n")
            .ok_or("no CRLF after a chunk")?;
    }
}

fn http_get(addr: &str, path: &str, method: &str) -> (u16, String) {
    try_http_get(addr, path, method).unwrap_or_else(|e| panic!("{method} {addr}{path}: {e}"))
}

/// `--listen`: GET /metrics is a scrape with health; other paths 404,
/// other methods 405; an address in use fails at start, touching nothing.
#[test]
fn metrics_endpoint_with_health() {
    let _g = fresh_netns();
    local("198.51.100.1");
    local("198.51.100.2");
    let _a = tcp_server("198.51.100.1:80");
    let key = ServiceKey::tcp(addr("192.0.2.1"), 80);
    let text = lines(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 3",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 2",
        "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4 max_retries_down=1",
        "-A -t 192.0.2.2:80 -s rr",
        "-a -t 192.0.2.2:80 -r 198.51.100.1:80 -m -w 1",
    ]);
    let d = Daemon::start(&text, &["--listen", "127.0.0.1:9120"]);
    wait_weight(&key, "198.51.100.2", 80, Some(0), &d);
    let (code, body) = http_get("127.0.0.1:9120", "/metrics", "GET");
    assert_eq!(code, 200, "{body}");
    let line = |name: &str, has: &str| {
        body.lines()
            .find(|l| l.starts_with(name) && l.contains(has))
            .unwrap_or_else(|| panic!("no {name} with {has} in\n{body}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(line("ipvs_backend_up{", "local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.2\""), "0");
    assert_eq!(
        line("ipvs_backend_up{", "remote_address=\"198.51.100.1\""),
        "1"
    );
    assert_eq!(line("ipvs_backend_weight{", "local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.2\""), "0");
    assert_eq!(line("ipvs_backend_weight_configured{", "local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.2\""), "2");
    assert_eq!(
        line(
            "ipvs_backend_operating_status{",
            "remote_address=\"198.51.100.2\",remote_port=\"80\",status=\"ERROR\""
        ),
        "1"
    );
    assert_eq!(line("ipvs_backend_info{", "local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.2\",remote_port=\"80\",forwarding=\"masq\""), "1");
    assert_eq!(line("ipvs_service_info{", "local_address=\"192.0.2.2\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",scheduler=\"rr\",name=\"\""), "1");
    // 192.0.2.2's real server has no monitor: its configured weight, no
    // health series.
    let unmonitored = "local_address=\"192.0.2.2\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.1\",remote_port=\"80\"";
    assert_eq!(line("ipvs_backend_weight_configured{", unmonitored), "1");
    for fam in [
        "ipvs_backend_up{",
        "ipvs_backend_operating_status{",
        "ipvs_backend_check_consecutive_failures{",
    ] {
        assert!(
            !body
                .lines()
                .any(|l| l.starts_with(fam) && l.contains(unmonitored)),
            "{fam} of an unmonitored real server in\n{body}"
        );
    }
    assert!(line("ipvs_serve_checks_total", "").parse::<u64>().unwrap() > 0);
    assert_eq!(line("ipvs_serve_probes", ""), "2");
    // The scrape is streamed as it is rendered: chunked over HTTP/1.1.
    {
        let mut s = TcpStream::connect("127.0.0.1:9120").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(head.contains("\r\ntransfer-encoding: chunked"), "{head}");
        assert!(raw.ends_with("\r\n0\r\n\r\n"), "{raw}");
    }
    assert_eq!(http_get("127.0.0.1:9120", "/nope", "GET").0, 404);
    assert_eq!(http_get("127.0.0.1:9120", "/metrics", "POST").0, 405);
    // Many idle clients do not stall a scrape or the checks.
    let idle: Vec<TcpStream> = (0..80)
        .filter_map(|_| TcpStream::connect("127.0.0.1:9120").ok())
        .collect();
    drop(idle);
    // Clients beyond the limit were closed at once; once the idle ones
    // are gone (the daemon notices their close), scrapes are served.
    let t0 = Instant::now();
    loop {
        let ok = try_http_get("127.0.0.1:9120", "/metrics", "GET").map(|r| r.0);
        if ok.as_ref().ok() == Some(&200) {
            break;
        }
        assert!(
            t0.elapsed() < DEADLINE,
            "no scrape after the idle clients left"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "scrape served {:.2} s after 80 idle clients left",
        t0.elapsed().as_secs_f64()
    );

    // A port in use: a clear error, exit 1, nothing touched.
    drop(d);
    ipvsadm_rs::Ipvs::connect().unwrap().flush().unwrap();
    let _taken = TcpListener::bind("127.0.0.1:9121").unwrap();
    let dir = std::env::temp_dir().join(format!("serve-inuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("lb.rules");
    std::fs::write(&f, &text).unwrap();
    let sock = dir.join("s.sock");
    let o = ours(
        &[
            "serve",
            "--listen",
            "127.0.0.1:9121",
            "--socket",
            sock.to_str().unwrap(),
            f.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status, 1, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("ipvsadm serve: cannot listen on 127.0.0.1:9121: Address already in use\n"),
        "{}",
        o.stderr
    );
    assert_saved(&[]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The histogram `ipvs_backend_check_duration_seconds` of one probe
/// target, checked for consistency: buckets cumulative (never falling),
/// `+Inf` equal to `_count`. Returns the count.
fn check_histogram(body: &str, target: &str) -> u64 {
    let labels = format!("{target},check=\"TCP\"");
    let value = |l: &str| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap();
    let buckets: Vec<(String, f64)> = body
        .lines()
        .filter(|l| {
            l.starts_with("ipvs_backend_check_duration_seconds_bucket{") && l.contains(&labels)
        })
        .map(|l| {
            let le = l.split("le=\"").nth(1).unwrap().split('"').next().unwrap();
            (le.to_string(), value(l))
        })
        .collect();
    assert_eq!(buckets.len(), 14, "{target}: {buckets:?}\n{body}");
    assert_eq!(buckets.last().unwrap().0, "+Inf");
    for w in buckets.windows(2) {
        assert!(w[0].1 <= w[1].1, "{target}: buckets fall: {buckets:?}");
        if w[1].0 != "+Inf" {
            assert!(
                w[0].0.parse::<f64>().unwrap() < w[1].0.parse::<f64>().unwrap(),
                "{buckets:?}"
            );
        }
    }
    let one = |suffix: &str| {
        let hits: Vec<f64> = body
            .lines()
            .filter(|l| {
                l.starts_with(&format!("ipvs_backend_check_duration_seconds_{suffix}{{"))
                    && l.contains(&labels)
            })
            .map(value)
            .collect();
        assert_eq!(hits.len(), 1, "{suffix} of {target}\n{body}");
        hits[0]
    };
    let count = one("count");
    assert_eq!(buckets.last().unwrap().1, count, "{target}: +Inf != _count");
    assert!(one("sum") >= 0.0);
    count as u64
}

/// A service's `name` from FILE in /metrics and `serve status`; the
/// check-duration histogram (one series per probe target: a target shared
/// by two services is one); apply durations; `--events`: a killed backend
/// gives an ONLINE -> ERROR line, reloads (accepted and refused) theirs.
#[test]
fn names_check_histogram_and_events() {
    let _g = fresh_netns();
    local("198.51.100.1");
    local("198.51.100.2");
    let _a = tcp_server("198.51.100.1:80");
    let b = tcp_server("198.51.100.2:80");
    let events = std::env::temp_dir().join(format!("serve-events-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&events);
    let text = lines(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 3",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 2",
        "#@ health -t 192.0.2.1:80 type=TCP delay=0.5 timeout=0.4 max_retries_down=1",
        "#@ name -t 192.0.2.1:80 \"web \\\"front\\\"\"",
        "-A -t 192.0.2.2:80 -s rr",
        "-a -t 192.0.2.2:80 -r 198.51.100.1:80 -m -w 1",
        "#@ health -t 192.0.2.2:80 type=TCP delay=0.5 timeout=0.4 max_retries_down=1",
    ]);
    let d = Daemon::start(
        &text,
        &[
            "--listen",
            "127.0.0.1:9120",
            "--events",
            events.to_str().unwrap(),
        ],
    );
    // Names in the status.
    let st = d.status();
    let svc = st["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "TCP 192.0.2.1:80")
        .unwrap();
    assert_eq!(svc["name"], "web \"front\"", "{st:#}");
    let other = st["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "TCP 192.0.2.2:80")
        .unwrap();
    assert!(other.get("name").is_none(), "{st:#}");
    let text_status = ours(
        &["serve", "status", "--socket", d.sock.to_str().unwrap()],
        None,
    );
    assert!(
        text_status
            .stdout
            .contains("TCP 192.0.2.1:80 (web \"front\")"),
        "{}",
        text_status.stdout
    );
    // Checks counted in the histogram (both targets), consistently.
    let t0 = Instant::now();
    let body = loop {
        let (code, body) = http_get("127.0.0.1:9120", "/metrics", "GET");
        assert_eq!(code, 200, "{body}");
        let n = |t| {
            body.lines()
                .find(|l| {
                    l.starts_with("ipvs_backend_check_duration_seconds_count{") && l.contains(t)
                })
                .map_or(0, |l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        };
        if n("remote_address=\"198.51.100.1\"") >= 3 && n("remote_address=\"198.51.100.2\"") >= 3 {
            break body;
        }
        assert!(
            t0.elapsed() < DEADLINE,
            "no checks counted:\n{body}\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        body.lines().all(|l| !l.starts_with(' ') && !l.is_empty()),
        "{body}"
    );
    let n1 = check_histogram(&body, "remote_address=\"198.51.100.1\",remote_port=\"80\"");
    let n2 = check_histogram(&body, "remote_address=\"198.51.100.2\",remote_port=\"80\"");
    println!("checks counted: {n1} and {n2}");
    // The target both services share is one series (one probe).
    assert_eq!(
        body.lines()
            .filter(|l| l.starts_with("ipvs_backend_check_duration_seconds_count{"))
            .count(),
        2,
        "{body}"
    );
    assert!(body.contains("# TYPE ipvs_backend_check_duration_seconds histogram\n"));
    // The name label on the service's info series, escaped.
    assert!(
        body.lines().any(|l| l.starts_with("ipvs_service_info{")
            && l.contains("local_address=\"192.0.2.1\"")
            && l.contains("name=\"web \\\"front\\\"\"")
            && l.ends_with(" 1")),
        "{body}"
    );
    assert!(
        body.lines().any(|l| l.starts_with("ipvs_backend_up{")
            && l.contains("local_address=\"192.0.2.1\"")
            && l.contains("remote_address=\"198.51.100.2\"")
            && l.ends_with(" 1")),
        "{body}"
    );
    assert!(
        body.lines().any(|l| l.starts_with("ipvs_service_info{")
            && l.contains("local_address=\"192.0.2.2\"")
            && l.contains("name=\"\"")),
        "{body}"
    );
    let start_took = body
        .lines()
        .find(|l| l.starts_with("ipvs_serve_last_apply_duration_seconds{kind=\"start\"} "))
        .unwrap_or_else(|| panic!("no start apply duration\n{body}"));
    assert!(
        start_took
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            >= 0.0
    );
    assert!(body.contains("ipvs_serve_events_lost_total 0\n"), "{body}");

    // A backend killed: its ONLINE -> ERROR event.
    drop(b);
    d.wait_status("TCP 192.0.2.1:80", "198.51.100.2:80", "ERROR");
    let read_events = || -> Vec<Value> {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    };
    let wait_event = |what: &str, f: &dyn Fn(&Value) -> bool| -> Value {
        let t0 = Instant::now();
        loop {
            if let Some(e) = read_events().into_iter().find(|e| f(e)) {
                return e;
            }
            assert!(
                t0.elapsed() < DEADLINE,
                "no {what} event in {:#?}\n{}",
                read_events(),
                d.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let down = wait_event("ONLINE -> ERROR", &|e| {
        e["event"] == "state" && e["server"] == "198.51.100.2:80" && e["to"] == "ERROR"
    });
    assert_eq!(down["from"], "ONLINE", "{down}");
    assert_eq!(down["service"], "TCP 192.0.2.1:80", "{down}");
    assert_eq!(down["name"], "web \"front\"", "{down}");
    assert_eq!(down["weight"], 0, "{down}");
    assert_eq!(down["in_a_row"], 1, "{down}");
    assert!(down["latency_ms"].as_f64().is_some(), "{down}");
    assert!(!down["reason"].as_str().unwrap().is_empty(), "{down}");
    let ts = down["ts"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    assert_eq!(read_events()[0]["event"], "start");

    // Reloads: one refused, one accepted (the second service removed).
    d.rewrite(&format!("{text}#@ name -t 192.0.2.1:80 again\n"));
    assert_eq!(d.reload().status, 1);
    let refused = wait_event("refused reload", &|e| {
        e["event"] == "reload" && e["result"] == "failed"
    });
    assert!(
        refused["errors"][0]
            .as_str()
            .unwrap()
            .contains(":9: name already set for this service at line 5"),
        "{refused}"
    );
    d.rewrite(&text.replace("-A -t 192.0.2.2:80 -s rr\n", "").replace(
        "-a -t 192.0.2.2:80 -r 198.51.100.1:80 -m -w 1\n#@ health -t 192.0.2.2:80 type=TCP delay=0.5 timeout=0.4 max_retries_down=1\n",
        "",
    ));
    let o = d.reload();
    assert_eq!(o.status, 0, "{}{}", o.stderr, d.log());
    let ok = wait_event("accepted reload", &|e| {
        e["event"] == "reload" && e["result"] == "ok"
    });
    assert!(ok["changes"].as_u64().unwrap() >= 1, "{ok}");
    wait_event("service removed", &|e| {
        e["event"] == "service_removed" && e["service"] == "TCP 192.0.2.2:80"
    });
    let (_, body) = http_get("127.0.0.1:9120", "/metrics", "GET");
    assert!(
        body.contains("ipvs_serve_last_apply_duration_seconds{kind=\"reload\"} "),
        "{body}"
    );
    let _ = std::fs::remove_file(&events);
}

/// The status page (`GET /`), in its own file.
#[path = "status_page.rs"]
mod status_page;
