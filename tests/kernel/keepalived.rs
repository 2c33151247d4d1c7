//! The differential against keepalived itself (issue #11): for each
//! configuration, Debian's keepalived 2.2 (checker only) runs it in one
//! network namespace and `ipvsadm serve` runs what `ipvsadm import
//! keepalived` made of it in another; both face the same real servers (a
//! third namespace: some alive, some refusing, some absent, some answering
//! HTTP with a wrong status code). Once the checks have settled, ipvsadm
//! 1.31's `-S -n` of both tables must be the same, and so must `-L
//! --timeout`.
//!
//! Topology of one configuration `N` (all at once, concurrently):
//!
//! ```text
//!   kdNk (keepalived)  eth0 ── k0 ┐
//!                                  kdNr: real servers on dummy rs0
//!   kdNo (ipvsadm serve) eth0 ── o0 ┘
//! ```
//!
//! Each director reaches every real-server address through its veth (a
//! default route to the real servers' namespace); an address not on `rs0`
//! is dead (no route there, ICMP unreachable). Each director also has a
//! dummy `eth1`, the interface `own/dr-tcp.conf`'s sync daemons name.
//!
//! What the test changes in each configuration, mechanically and the same
//! for both tools ([`rewrite`]): every `delay_loop` is removed and
//! `delay_loop 4` put first in each `virtual_server` (keepalived's default
//! 60 s, or the samples' 6–20 s, would make settling take minutes);
//! `connect_timeout` and `misc_timeout` become 3, `delay_before_retry` 4
//! (our checks come every `delay_loop`: the same pace);
//! every `digest` becomes the MD5 of the body the healthy test servers
//! send (`digest` is not checked by us: the import warns; with the samples'
//! digests keepalived would fail every server, and no test server sends a
//! 200 with another body); `net_namespace` (Octavia's, a namespace the VM
//! has not), `bindto` (SMTP_CHECK source addresses the directors have
//! not) and `smtp_server` (keepalived would mail each change to an
//! unreachable server) are removed. The MISC_CHECK scripts the configurations name are
//! written by the test ([`SCRIPTS`]).
//!
//! The kernel lists real servers in reverse order of addition, and
//! services of one hash bucket likewise, which depends on when each
//! checker came up: the tables are compared with each service's real
//! servers, and the services, in sorted order (the raw listings are
//! printed on a mismatch).
//!
//! keepalived is on a read-only disk that `scripts/vm-test` attaches and
//! the guest mounts at /opt/keepalived (`sbin/keepalived`, its libraries
//! in `lib/`; `IPVS_KEEPALIVED_DIR` overrides); without it the test fails.
//! Every wait is on a condition with a deadline; times are printed, never
//! asserted.

use crate::support::*;
use ipvsadm_rs::client::Ipvs;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The body of every healthy HTTP(S) test server, and its MD5 (what the
/// `digest` lines are rewritten to; keepalived checks it, so a wrong
/// constant fails the healthy servers there).
const BODY: &str = "keepalived differential: healthy\n";
const BODY_MD5: &str = "c7771cb9d82116978bc349d306843373";

/// The MISC_CHECK programs the configurations name (path, text).
const SCRIPTS: &[(&str, &str)] = &[
    // keepalived's doc/samples: misc_check calls it bare (down),
    // misc_check_arg with "arg1 arg2" (up): the arguments must arrive.
    (
        "/usr/local/bin/script.sh",
        "#!/bin/sh\n[ \"$1\" = arg1 ] && [ \"$2\" = arg2 ] && exit 0\nexit 1\n",
    ),
    // own/misc-cascade.conf (misc_dynamic): exit 7 is up with weight 5,
    // for its quoted first argument.
    (
        "/usr/local/bin/check-smtp",
        "#!/bin/sh\n[ \"$1\" = 198.51.100.61 ] && [ \"$2\" = 25 ] && exit 7\nexit 1\n",
    ),
    // Octavia's UDP check is `nc -uzv -w1 $1 $2` (up unless an ICMP
    // error comes back); the VM has no nc that speaks UDP: the same with
    // bash's /dev/udp, a connected socket whose read fails at once after
    // an ICMP port unreachable (the test's UDP servers echo: up at once;
    // nothing within 2 s: up, as nc).
    (
        "/var/lib/octavia/lvs/check/udp_check.sh",
        "#!/bin/bash\nexec 3<>\"/dev/udp/$1/$2\" || exit 1\nprintf x >&3 || exit 1\n\
         read -r -t 2 -N 1 _ <&3\nst=$?\n[ \"$st\" -eq 0 ] || [ \"$st\" -gt 128 ] && exit 0\nexit 1\n",
    ),
];

/// One configuration: its files (the first is the one both tools read),
/// relative to `tests/fixtures/keepalived/`, and its real servers: `;`
/// separated addresses, each with what listens there (`tcp:PORT` accepts,
/// `http:PORT:CODE` and `https:PORT:CODE` answer CODE with [`BODY`],
/// `smtp:PORT` speaks enough SMTP for SMTP_CHECK, `udp:PORT` has a socket
/// bound). A listed address answers pings and refuses other ports; an
/// address not listed is dead.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    servers: &'static str,
    /// Why the configuration is not compared (printed), if it is not.
    excluded: Option<&'static str>,
}

macro_rules! fx {
    ($p:literal) => {
        ($p, include_str!(concat!("../fixtures/keepalived/", $p)))
    };
}

const CASES: &[Case] = &[
    // keepalived's doc/samples with virtual_server blocks (addresses moved).
    Case {
        name: "HTTP_GET.port",
        files: &[fx!("samples/keepalived.conf.HTTP_GET.port")],
        excluded: None,
        servers: "198.51.100.100 https:444:200",
    },
    Case {
        // SMTP_CHECK is not mapped (the real server has no monitor and
        // stays up): keepalived's SMTP check against a live SMTP server
        // keeps it up too.
        name: "IPv6",
        files: &[fx!("samples/keepalived.conf.IPv6")],
        excluded: None,
        servers: "2001:db8:ae00::10 smtp:25",
    },
    Case {
        name: "PING_CHECK",
        files: &[fx!("samples/keepalived.conf.PING_CHECK")],
        excluded: None,
        servers: "",
    },
    Case {
        // As IPv6: every SMTP host live (`bindto` removed).
        name: "SMTP_CHECK",
        files: &[fx!("samples/keepalived.conf.SMTP_CHECK")],
        excluded: Some(
            "SMTP_CHECK is not mapped (the real servers get no monitor and stay up), and \
             keepalived 2.2.7's own SMTP_CHECK with several host blocks (one checker per \
             host) flaps against live SMTP servers here: read timeouts from servers that \
             answer at once, alone or not; the comparison would measure keepalived only. \
             The single-host SMTP_CHECK of IPv6 is compared.",
        ),
        servers: "203.0.113.110 smtp:25; 203.0.113.111 smtp:25; 203.0.113.160 smtp:25; \
                  198.51.100.199 smtp:25; 203.0.113.112 smtp:25; 203.0.113.161 smtp:25; \
                  198.51.100.200 smtp:587",
    },
    Case {
        name: "SSL_GET",
        files: &[fx!("samples/keepalived.conf.SSL_GET")],
        excluded: None,
        servers: "198.51.100.100 https:443:200 http:80:500",
    },
    Case {
        name: "UDP_CHECK",
        files: &[fx!("samples/keepalived.conf.UDP_CHECK")],
        excluded: None,
        servers: "192.0.2.6",
    },
    Case {
        name: "fwmark",
        files: &[fx!("samples/keepalived.conf.fwmark")],
        excluded: None,
        servers: "198.51.100.100 tcp:80; 198.51.100.101",
    },
    Case {
        name: "inhibit",
        files: &[fx!("samples/keepalived.conf.inhibit")],
        excluded: None,
        servers: "192.0.2.2 http:1358:500",
    },
    Case {
        name: "misc_check",
        files: &[fx!("samples/keepalived.conf.misc_check")],
        excluded: None,
        servers: "",
    },
    Case {
        name: "misc_check_arg",
        files: &[fx!("samples/keepalived.conf.misc_check_arg")],
        excluded: None,
        servers: "",
    },
    Case {
        // alpha, quorum 7 and hysteresis 2 without a sorry server: 7 live.
        name: "quorum",
        files: &[fx!("samples/keepalived.conf.quorum")],
        excluded: None,
        servers: "203.0.113.21 tcp:80; 203.0.113.22 tcp:80; 203.0.113.23 tcp:80; \
                  203.0.113.24 tcp:80; 203.0.113.25 tcp:80; 203.0.113.26 tcp:80; \
                  203.0.113.27 tcp:80; 203.0.113.28",
    },
    Case {
        // The only real server fails: the sorry server comes in.
        name: "sample",
        files: &[fx!("samples/keepalived.conf.sample")],
        excluded: None,
        servers: "192.0.2.2 http:1358:500",
    },
    Case {
        // Two urls: both are checked by keepalived, the first here; the
        // server answers every path alike.
        name: "status_code",
        files: &[fx!("samples/keepalived.conf.status_code")],
        excluded: None,
        servers: "198.51.100.100 https:443:200",
    },
    Case {
        // 192.0.2.1:1358 is both a virtual service and a real server of
        // it: the directors' own checks of it go through IPVS, to either
        // real server; with one dead the outcome would depend on timing,
        // so both are healthy.
        name: "virtual_server_group",
        files: &[fx!("samples/keepalived.conf.virtual_server_group")],
        excluded: None,
        servers: "192.0.2.1 http:1358:200; 192.0.2.2 http:1358:200",
    },
    Case {
        name: "virtualhost",
        files: &[fx!("samples/keepalived.conf.virtualhost")],
        excluded: None,
        servers: "198.51.100.100 https:80:200",
    },
    Case {
        name: "vrrp.lvs_syncd",
        files: &[fx!("samples/keepalived.conf.vrrp.lvs_syncd")],
        excluded: None,
        servers: "198.51.100.100",
    },
    // Ours (tests/fixtures/keepalived/own).
    Case {
        name: "own/dr-tcp",
        files: &[fx!("own/dr-tcp.conf")],
        excluded: None,
        servers: "198.51.100.21 tcp:8443 udp:53; 198.51.100.22",
    },
    Case {
        name: "own/fwmark-group",
        files: &[fx!("own/fwmark-group.conf")],
        excluded: None,
        servers: "198.51.100.41 udp:53; 2001:db8:2::1; 198.51.100.50",
    },
    Case {
        // The SMTP_CHECK beside the MISC_CHECK is not mapped (the first
        // checker is): the SMTP server is live.
        name: "own/misc-cascade",
        files: &[fx!("own/misc-cascade.conf")],
        excluded: None,
        servers: "198.51.100.61 smtp:25",
    },
    Case {
        name: "own/nat-http",
        files: &[fx!("own/nat-http.conf")],
        excluded: None,
        servers: "198.51.100.1 http:8080:204; 198.51.100.2 http:8080:500",
    },
    Case {
        name: "own/octavia-udp",
        files: &[fx!("own/octavia-udp.conf")],
        excluded: None,
        servers: "198.51.100.71 udp:53; 198.51.100.72",
    },
    Case {
        name: "own/tun",
        files: &[fx!("own/tun.conf")],
        excluded: None,
        servers: "2001:db8:1::1 tcp:80; 2001:db8:1::2; 198.51.100.31",
    },
    Case {
        // Includes relative to the including file (both tools run with
        // another working directory).
        name: "include",
        files: &[
            fx!("include/main.conf"),
            fx!("include/conf.d/10-web.conf"),
            fx!("include/conf.d/20-mail.conf"),
            fx!("include/common-real-servers.inc"),
        ],
        excluded: None,
        servers: "198.51.100.81 tcp:80",
    },
];

/// The test's changes to a configuration (see the module's text).
fn rewrite(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.lines() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        let word = t.split_whitespace().next().unwrap_or("");
        match word {
            "delay_loop" | "net_namespace" | "bindto" | "smtp_server" => continue,
            "connect_timeout" => out.push_str(&format!("{indent}connect_timeout 3")),
            "misc_timeout" => out.push_str(&format!("{indent}misc_timeout 3")),
            "delay_before_retry" => out.push_str(&format!("{indent}delay_before_retry 4")),
            "digest" => out.push_str(&format!("{indent}digest {BODY_MD5}")),
            _ => out.push_str(line),
        }
        out.push('\n');
        if word == "virtual_server" && t.trim_end().ends_with('{') {
            out.push_str(&format!("{indent}    delay_loop 4\n"));
        }
    }
    out
}

fn ip_bin() -> String {
    std::env::var("IP_BIN").unwrap_or_else(|_| "/sbin/ip".into())
}

fn keepalived_dir() -> PathBuf {
    PathBuf::from(std::env::var("IPVS_KEEPALIVED_DIR").unwrap_or_else(|_| "/opt/keepalived".into()))
}

/// `ip [-n NS] -batch -` with `script`; panics on failure.
fn ip_batch(ns: Option<&str>, script: &str) {
    let mut cmd = Command::new(ip_bin());
    if let Some(n) = ns {
        cmd.args(["-n", n]);
    }
    let mut child = cmd
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ip");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write ip script");
    let o = child.wait_with_output().expect("wait ip");
    assert!(
        o.status.success(),
        "ip {ns:?} -batch failed: {}\n{script}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A named network namespace (`ip netns add`; [`Namespaces`] deletes it).
struct Netns {
    name: String,
    file: File,
}

impl Netns {
    fn open(name: &str) -> Netns {
        let file = File::open(format!("/run/netns/{name}"))
            .unwrap_or_else(|e| panic!("open /run/netns/{name}: {e}"));
        Netns {
            name: name.into(),
            file,
        }
    }

    /// A command that runs in this namespace.
    fn command(&self, bin: &str) -> Command {
        let fd = self.file.as_raw_fd();
        let mut cmd = Command::new(bin);
        // SAFETY: setns is async-signal-safe; fd stays open until exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }
}

/// Deletes the namespaces named when dropped (one `ip -force -batch`).
struct Namespaces(Vec<String>);

impl Namespaces {
    fn delete(names: &[String]) {
        let script: String = names.iter().map(|n| format!("netns del {n}\n")).collect();
        if let Ok(mut c) = Command::new(ip_bin())
            .args(["-force", "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            if let Some(mut i) = c.stdin.take() {
                let _ = i.write_all(script.as_bytes());
            }
            let _ = c.wait();
        }
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        Namespaces::delete(&self.0);
    }
}

/// Reads an HTTP request head; false on EOF or error.
fn read_head(r: &mut impl Read) -> bool {
    let mut buf = Vec::new();
    let mut b = [0u8; 512];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match r.read(&mut b) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
        if buf.len() > 16384 {
            return false;
        }
    }
    true
}

fn http_answer(code: u16) -> String {
    format!(
        "HTTP/1.0 {code} Test\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    )
}

fn serve_conn(kind: &str, code: u16, mut c: TcpStream, tls: &Arc<rustls::ServerConfig>) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    match kind {
        "http" if read_head(&mut c) => {
            let _ = c.write_all(http_answer(code).as_bytes());
        }
        "https" => {
            let Ok(conn) = rustls::ServerConnection::new(tls.clone()) else {
                return;
            };
            let mut s = rustls::StreamOwned::new(conn, c);
            if read_head(&mut s) {
                let _ = s.write_all(http_answer(code).as_bytes());
                let _ = s.flush();
                s.conn.send_close_notify();
                let _ = s.flush();
            }
        }
        "smtp" => {
            let _ = c.write_all(b"220 rs.example.test ESMTP test\r\n");
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let cmd = line.trim().to_ascii_uppercase();
                if cmd.starts_with("QUIT") {
                    let _ = c.write_all(b"221 bye\r\n");
                    return;
                }
                let _ = c.write_all(b"250 rs.example.test\r\n");
            }
        }
        _ => {}
    }
}

/// One listener of [`Case::servers`]: kind, port, HTTP status code.
type Listen = (String, u16, u16);

/// Addresses and listeners of `spec` ([`Case::servers`]).
fn parse_servers(spec: &str) -> Vec<(String, Vec<Listen>)> {
    spec.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|entry| {
            let mut w = entry.split_whitespace();
            let addr = w.next().unwrap().to_string();
            let svcs = w
                .map(|s| {
                    let p: Vec<&str> = s.split(':').collect();
                    let port = p[1].parse().unwrap();
                    let code = p.get(2).map_or(0, |c| c.parse().unwrap());
                    (p[0].to_string(), port, code)
                })
                .collect();
            (addr, svcs)
        })
        .collect()
}

/// Bind every listener of `spec` in `ns` (a thread of its own enters it)
/// and serve them on threads until the process ends.
fn start_servers(ns: &Netns, spec: &str) {
    let file = ns.file.try_clone().unwrap();
    let name = ns.name.clone();
    let spec = spec.to_string();
    let t = std::thread::spawn(move || {
        setns(&file, &name);
        let tls = tls_config();
        for (addr, svcs) in parse_servers(&spec) {
            for (kind, port, code) in svcs {
                let at = if addr.contains(':') {
                    format!("[{addr}]:{port}")
                } else {
                    format!("{addr}:{port}")
                };
                if kind == "udp" {
                    let s = UdpSocket::bind(&at)
                        .unwrap_or_else(|e| panic!("{name}: bind udp {at}: {e}"));
                    std::thread::spawn(move || {
                        let mut b = [0u8; 2048];
                        while let Ok((n, from)) = s.recv_from(&mut b) {
                            let _ = s.send_to(&b[..n], from);
                        }
                    });
                    continue;
                }
                let l = TcpListener::bind(&at).unwrap_or_else(|e| panic!("{name}: bind {at}: {e}"));
                let tls = tls.clone();
                std::thread::spawn(move || {
                    for c in l.incoming() {
                        let Ok(c) = c else { continue };
                        let (kind, tls) = (kind.clone(), tls.clone());
                        std::thread::spawn(move || serve_conn(&kind, code, c, &tls));
                    }
                });
            }
        }
    });
    t.join().expect("start the real servers");
}

/// ipvsadm 1.31 with `args` in `ns` (one read: the polling has seen the
/// table stable).
fn oracle_in(ns: &Netns, args: &[&str]) -> String {
    {
        let o = ns
            .command(&oracle_bin())
            .arg0("ipvsadm")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run the oracle");
        assert!(
            o.status.success(),
            "oracle {args:?} in {}: {}",
            ns.name,
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// `-S -n` with each service's real servers sorted, then the services.
fn canonical(save: &str) -> String {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for l in save.lines() {
        if l.starts_with("-a ") {
            if let Some(b) = blocks.last_mut() {
                b.1.push(l.to_string());
                continue;
            }
        }
        blocks.push((l.to_string(), Vec::new()));
    }
    for b in &mut blocks {
        b.1.sort();
    }
    blocks.sort();
    let mut out = String::new();
    for (s, ds) in blocks {
        out.push_str(&s);
        out.push('\n');
        for d in ds {
            out.push_str(&d);
            out.push('\n');
        }
    }
    out
}

/// Lines of `a` and `b` that differ, `-`/`+` marked.
fn diff(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = String::new();
    for l in &la {
        if !lb.contains(l) {
            out.push_str(&format!("- {l}\n"));
        }
    }
    for l in &lb {
        if !la.contains(l) {
            out.push_str(&format!("+ {l}\n"));
        }
    }
    out
}

struct Run {
    case: &'static Case,
    started: Instant,
    dir: PathBuf,
    ka_ns: Netns,
    ours_ns: Netns,
    _rs_ns: Netns,
    /// Netlink sockets opened in each director's namespace (polling).
    ka_ipvs: Ipvs,
    ours_ipvs: Ipvs,
    ka: Option<Proc>,
    ours: Option<Proc>,
    doc_servers: usize,
    warnings: usize,
    /// The last canonical reads (keepalived, ours) and since when they
    /// have been equal and unchanged.
    last: Option<(String, String)>,
    since: Option<Instant>,
    done: Option<Duration>,
}

/// Minimum time before a table counts as settled: the slowest path to a
/// final state (retry 4: five checks 4 s apart, a 3 s timeout, start-up
/// under emulation).
const SETTLE_MIN: Duration = Duration::from_secs(32);
/// How long both tables must stay equal and unchanged (three delays).
const STABLE: Duration = Duration::from_secs(12);
const DEADLINE: Duration = Duration::from_secs(150);

/// The table of `ns` read in-process (no process to start: the polling
/// stays light), as `-S -n` would print it, in [`canonical`] order. The
/// thread enters `ns` for the read (the client may open a socket for a
/// dump) and goes back to `home`.
fn read_table(ns: &Netns, ipvs: &mut Ipvs, home: &File) -> String {
    setns(&ns.file, &ns.name);
    let table = ipvs.table();
    setns(home, "home");
    let mut table = table.unwrap_or_else(|e| panic!("reading the table of {}: {e}", ns.name));
    let mut out = String::new();
    ipvsadm_rs::format::text::save(&mut out, &mut table, true);
    canonical(&out)
}

/// The connection timeouts of `ns` (as [`read_table`] reads).
fn read_timeouts(ns: &Netns, ipvs: &mut Ipvs, home: &File) -> String {
    setns(&ns.file, &ns.name);
    let t = ipvs.timeouts();
    setns(home, "home");
    let t = t.unwrap_or_else(|e| panic!("reading the timeouts of {}: {e}", ns.name));
    format!(
        "timeouts: tcp {} tcpfin {} udp {}\n",
        t.tcp, t.tcp_fin, t.udp
    )
}

/// Move the calling thread into the network namespace of `f`.
fn setns(f: &File, what: &str) {
    // SAFETY: setns only affects the calling thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {what}: {}", std::io::Error::last_os_error());
}

#[test]
fn keepalived_differential() {
    let _g = fresh_netns();
    let ka_dir = keepalived_dir();
    let ka_bin = ka_dir.join("sbin/keepalived");
    assert!(
        ka_bin.is_file(),
        "{} is missing: scripts/vm-test attaches Debian's keepalived on a disk \
         mounted at /opt/keepalived (see its log: vm_keepalived_ensure)",
        ka_bin.display()
    );
    let version = std::fs::read_to_string(ka_dir.join("VERSION")).unwrap_or_default();
    println!("keepalived: {}", version.trim());

    for (path, text) in SCRIPTS {
        let p = Path::new(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let root = std::env::temp_dir().join(format!("keepalived-diff-{}", std::process::id()));
    let t_setup = Instant::now();

    // Namespaces and veths: one ip -batch each.
    let names: Vec<String> = (0..CASES.len())
        .flat_map(|i| ["k", "o", "r"].map(|s| format!("kd{i}{s}")))
        .collect();
    Namespaces::delete(&names);
    let batch: String = names.iter().map(|n| format!("netns add {n}\n")).collect();
    ip_batch(None, &batch);
    let _namespaces = Namespaces(names);
    let mut batch = String::new();
    for i in 0..CASES.len() {
        batch.push_str(&format!(
            "link add name eth0 netns kd{i}k type veth peer name k0 netns kd{i}r\n\
             link add name eth0 netns kd{i}o type veth peer name o0 netns kd{i}r\n"
        ));
    }
    ip_batch(None, &batch);
    let t_ns = t_setup.elapsed();

    // Each configuration: files, import, addresses, real servers.
    let home = File::open("/proc/thread-self/ns/net").unwrap();
    let mut runs = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        if let Some(why) = case.excluded {
            println!("{}: excluded: {why}", case.name);
            continue;
        }
        let dir = root.join(format!("{i}"));
        let conf_dir = dir.join("conf");
        let rel = |p: &str| -> String {
            if case.files.len() > 1 {
                p.split_once('/').map_or(p, |(_, r)| r).to_string()
            } else {
                "keepalived.conf".to_string()
            }
        };
        for (p, text) in case.files {
            let f = conf_dir.join(rel(p));
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, rewrite(text)).unwrap();
        }
        let main = conf_dir.join(rel(case.files[0].0));
        let imp = ours(&["import", "keepalived", main.to_str().unwrap()], None);
        assert_eq!(
            imp.status, 0,
            "{}: import failed:\n{}\n{}",
            case.name, imp.stderr, imp.stdout
        );
        let doc = dir.join("doc.json");
        std::fs::write(&doc, &imp.stdout).unwrap();
        let warnings = imp.stderr.matches(": warning: ").count();
        let doc_servers = imp.stdout.matches("\"fwd\"").count();

        let (k, o, r) = (
            Netns::open(&format!("kd{i}k")),
            Netns::open(&format!("kd{i}o")),
            Netns::open(&format!("kd{i}r")),
        );
        let mut rs = String::from("link set lo up\nlink add rs0 type dummy\nlink set rs0 up\n");
        for (addr, _) in parse_servers(case.servers) {
            if addr.contains(':') {
                rs.push_str(&format!("addr add {addr}/128 dev rs0 nodad\n"));
            } else {
                rs.push_str(&format!("addr add {addr}/32 dev rs0\n"));
            }
        }
        rs.push_str(
            "link set k0 up\nlink set o0 up\n\
             addr add 203.0.113.250 peer 203.0.113.251 dev k0\n\
             addr add 203.0.113.246 peer 203.0.113.247 dev o0\n\
             addr add 2001:db8:ffff:1::fe/64 dev k0 nodad\n\
             addr add 2001:db8:ffff:2::fe/64 dev o0 nodad\n",
        );
        ip_batch(Some(&r.name), &rs);
        for (ns, me, gw, net) in [(&k, "251", "250", "1"), (&o, "247", "246", "2")] {
            ip_batch(
                Some(&ns.name),
                &format!(
                    "link set lo up\nlink add eth1 type dummy\nlink set eth1 up\nlink set eth0 up\n\
                     addr add 203.0.113.{me} peer 203.0.113.{gw} dev eth0\n\
                     addr add 2001:db8:ffff:{net}::1/64 dev eth0 nodad\n\
                     route add default via 203.0.113.{gw} dev eth0\n\
                     route add ::/0 via 2001:db8:ffff:{net}::fe dev eth0\n"
                ),
            );
        }
        start_servers(&r, case.servers);
        // Netlink sockets in each director's namespace, for polling.
        let connect_in = |ns: &Netns| {
            setns(&ns.file, &ns.name);
            let c = Ipvs::connect().unwrap_or_else(|e| panic!("connect in {}: {e}", ns.name));
            setns(&home, "home");
            c
        };
        let (ka_ipvs, ours_ipvs) = (connect_in(&k), connect_in(&o));
        // Both tools: the configuration's clock starts.
        let mut kcmd = k.command(ka_bin.to_str().unwrap());
        kcmd.env("LD_LIBRARY_PATH", ka_dir.join("lib")).args([
            "--dont-fork",
            "--log-console",
            "--no-syslog",
            "--check",
            "-f",
            main.to_str().unwrap(),
            "-p",
            dir.join("keepalived.pid").to_str().unwrap(),
            "-c",
            dir.join("checkers.pid").to_str().unwrap(),
        ]);
        let ka = Some(Proc::spawn(kcmd, &dir.join("keepalived.log"), &dir));
        let mut ocmd = o.command(&ours_bin());
        ocmd.arg0("ipvsadm").args([
            "serve",
            "--socket",
            dir.join("serve.sock").to_str().unwrap(),
            doc.to_str().unwrap(),
        ]);
        let ours_p = Some(Proc::spawn(ocmd, &dir.join("serve.log"), &dir));
        runs.push(Run {
            case,
            started: Instant::now(),
            dir,
            ka_ns: k,
            ours_ns: o,
            _rs_ns: r,
            ka_ipvs,
            ours_ipvs,
            ka,
            ours: ours_p,
            doc_servers,
            warnings,
            last: None,
            since: None,
            done: None,
        });
    }

    let t0 = Instant::now();
    println!(
        "{} configurations: namespaces {:.1} s, then files, imports, addresses, servers \
         and both tools started {:.1} s",
        runs.len(),
        t_ns.as_secs_f64(),
        (t_setup.elapsed() - t_ns).as_secs_f64(),
    );

    // Poll (in-process reads) until every configuration has settled, or
    // the deadline.
    loop {
        let mut pending = 0;
        for r in runs.iter_mut().filter(|r| r.done.is_none()) {
            for (who, p) in [("keepalived", &mut r.ka), ("ipvsadm serve", &mut r.ours)] {
                let p = p.as_mut().unwrap();
                if let Some(st) = p.exited() {
                    panic!(
                        "{}: {who} exited ({st}):\n{}",
                        r.case.name,
                        p.log_tail(3000)
                    );
                }
            }
            let now = (
                read_table(&r.ka_ns, &mut r.ka_ipvs, &home),
                read_table(&r.ours_ns, &mut r.ours_ipvs, &home),
            );
            if now.0 == now.1 && r.last.as_ref() == Some(&now) {
                let since = *r.since.get_or_insert_with(Instant::now);
                if r.started.elapsed() >= SETTLE_MIN && since.elapsed() >= STABLE {
                    r.done = Some(r.started.elapsed());
                    continue;
                }
            } else {
                r.since = None;
            }
            r.last = Some(now);
            pending += 1;
        }
        if pending == 0 || t_setup.elapsed() > DEADLINE {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let t_checks = t0.elapsed();
    // The tools stop (their tables stay): the verdicts read still tables,
    // and faster.
    let mut logs = Vec::new();
    for r in &mut runs {
        logs.push((
            r.ka.as_ref().unwrap().log_tail(3000),
            r.ours.as_ref().unwrap().log_tail(3000),
        ));
    }
    let statuses: Vec<String> = runs
        .iter()
        .map(|r| {
            if r.done.is_some() {
                return String::new();
            }
            let st = ours(
                &[
                    "serve",
                    "status",
                    "--socket",
                    r.dir.join("serve.sock").to_str().unwrap(),
                ],
                None,
            );
            format!("{}{}", st.stdout, st.stderr)
        })
        .collect();
    for r in &mut runs {
        r.ka = None;
        r.ours = None;
    }

    // The verdicts, from ipvsadm 1.31's listings.
    let mut failed = Vec::new();
    println!(
        "{:<22} {:>8} {:>9} {:>8}  import warnings",
        "configuration", "services", "servers", "settled"
    );
    for (n, r) in runs.iter_mut().enumerate() {
        let ka_save = oracle_in(&r.ka_ns, &["-S", "-n"]);
        let ours_save = oracle_in(&r.ours_ns, &["-S", "-n"]);
        let (cka, cours) = (canonical(&ka_save), canonical(&ours_save));
        let ka_to = read_timeouts(&r.ka_ns, &mut r.ka_ipvs, &home);
        let ours_to = read_timeouts(&r.ours_ns, &mut r.ours_ipvs, &home);
        let services = cka.lines().filter(|l| l.starts_with("-A ")).count();
        let servers = cka.lines().filter(|l| l.starts_with("-a ")).count();
        println!(
            "{:<22} {:>8} {:>4} of {:>2} {:>7} {}",
            r.case.name,
            services,
            servers,
            r.doc_servers,
            r.done
                .map_or("NO".to_string(), |d| format!("{:.0} s", d.as_secs_f64())),
            r.warnings
        );
        if r.done.is_none() || cka != cours || ka_to != ours_to || services == 0 {
            println!(
                "--- {}: keepalived's table:\n{ka_save}{ka_to}--- ipvsadm serve's table:\n{ours_save}{ours_to}--- diff (- keepalived, + ours):\n{}",
                r.case.name,
                diff(&cka, &cours),
            );
            println!(
                "--- keepalived's log:\n{}\n--- serve's log:\n{}\n--- serve status:\n{}",
                logs[n].0, logs[n].1, statuses[n]
            );
            failed.push(r.case.name);
        }
    }
    println!(
        "checks ran for {:.1} s, verdicts took {:.1} s",
        t_checks.as_secs_f64(),
        (t0.elapsed() - t_checks).as_secs_f64()
    );
    drop(runs);
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failed.is_empty(),
        "tables differ from keepalived's (or did not settle, or are empty): {failed:?}"
    );
}
