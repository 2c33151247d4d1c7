//! Health-checker benchmark helpers (`scripts/bench-serve`): the backends
//! both daemons check, and the measurements taken at the backends' side so
//! that `ipvsadm serve` and keepalived are measured the same way.
//!
//! ```text
//! bench hc-gen LAYOUT OUT          write OUT.rules (ours, with `#@ health` lines)
//!                                  and OUT.keepalived.conf (the same services, real
//!                                  servers and check settings for keepalived)
//! bench hc-run LAYOUT --ipvs-netns NS [--label L] [--warmup S] [--window S]
//!              [--kill K] [--settle S] [--start-timeout S] [--log FILE]
//!              [--status SHELL-COMMAND] -- DAEMON ARGS...
//!                                  bind a listener for every distinct real server
//!                                  (in the current netns), start DAEMON, wait until
//!                                  every real server is being checked, measure for
//!                                  --window seconds, close K real servers' listeners
//!                                  and time until their weight is 0 in the kernel of
//!                                  netns NS; print one `@@hc` line
//! bench hc-floor LAYOUT [--close fin|rst]
//!                                  the least a checker can do (one thread, one epoll
//!                                  set, each distinct real server once per delay,
//!                                  nothing done with the results): a DAEMON for
//!                                  hc-run, to compare with
//! LAYOUT: --services N --per P --distinct R --check tcp|http --delay D
//!         --timeout T --retries-down F
//! ```
//!
//! Layout: service `i` is `192.0.2.1:(1 + i)` (wrr, masquerading); its
//! `k`-th real server is distinct server `j = (i * P + k) mod R`, at
//! `198.51.100.(1 + j mod 4):(10000 + j / 4)`. With `R = N * P` every
//! (service, real server) pair has its own real server; with fewer, each
//! real server serves `N * P / R` services.
//!
//! Measured between the start and the end of the window (times are
//! `CLOCK_MONOTONIC`, guest instruction time under qemu `-icount`):
//! * `cpu`: utime + stime (plus cutime + cstime) of DAEMON and every process
//!   descending from it, from `/proc/PID/stat`; `run`: the same from the
//!   threads' `/proc/PID/task/TID/schedstat` (time on the CPU, ns);
//! * `rate`: connections accepted by the listeners per second;
//! * lateness: for every check arriving at a real server in the window, the
//!   distance between its interval from the arrival nearest one delay
//!   earlier (at the same real server) and the delay; with one checker per
//!   real server that is the interval between consecutive checks; an
//!   arrival without any within half a delay of one delay earlier counts
//!   as half a delay late (`unmatched`), so such percentiles are lower
//!   bounds;
//! * `down`: from the moment the listeners are closed to the first read of
//!   the kernel's table (every 10 ms) showing weight 0, per (service, real
//!   server) pair.

use ipvsadm_rs::model::ServiceKey;
use ipvsadm_rs::Ipvs;
use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::RawFd;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Real-server addresses: 198.51.100.1 ..= .ADDRS.
const ADDRS: usize = 4;
const BASE_PORT: usize = 10000;
const HTTP_ANSWER: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
/// How often the kernel's weights are read after the kill.
const POLL: Duration = Duration::from_millis(10);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    Tcp,
    Http,
}

struct Layout {
    services: usize,
    per: usize,
    distinct: usize,
    check: Check,
    delay: f64,
    timeout: f64,
    retries_down: u32,
}

impl Layout {
    fn server(&self, j: usize) -> (Ipv4Addr, u16) {
        (
            Ipv4Addr::new(198, 51, 100, 1 + (j % ADDRS) as u8),
            (BASE_PORT + j / ADDRS) as u16,
        )
    }

    fn service_port(&self, i: usize) -> u16 {
        (1 + i) as u16
    }

    fn key(&self, i: usize) -> ServiceKey {
        ServiceKey::tcp(IpAddr::V4(VIP), self.service_port(i))
    }

    /// Distinct real server of pair (service `i`, slot `k`).
    fn pair(&self, i: usize, k: usize) -> usize {
        (i * self.per + k) % self.distinct
    }

    fn check(&self) -> Res<()> {
        if self.services == 0 || self.services > 65535 {
            return Err("--services must be 1..=65535".into());
        }
        if self.per == 0 || self.per > self.distinct {
            return Err("--per must be 1..=--distinct".into());
        }
        if self.distinct > self.services * self.per {
            return Err("--distinct must be at most --services x --per".into());
        }
        if BASE_PORT + self.distinct / ADDRS >= 65536 {
            return Err("--distinct too large".into());
        }
        if !(self.timeout > 0.0 && self.timeout < self.delay) {
            return Err("--timeout must be > 0 and below --delay".into());
        }
        if !(1..=10).contains(&self.retries_down) {
            return Err("--retries-down must be 1..=10".into());
        }
        Ok(())
    }
}

/// Options: `--key value` pairs up to an optional `--`, after which the
/// rest is the command.
struct Opts {
    kv: HashMap<String, Vec<String>>,
    plain: Vec<String>,
    cmd: Vec<String>,
}

fn opts(args: &[String], multi: &[&str]) -> Res<Opts> {
    let mut o = Opts {
        kv: HashMap::new(),
        plain: Vec::new(),
        cmd: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            o.cmd = args[i + 1..].to_vec();
            break;
        }
        if let Some(k) = a.strip_prefix("--") {
            if multi.contains(&k) {
                // Everything up to the next `--KEY` or `--`.
                let mut v = Vec::new();
                i += 1;
                while i < args.len() && !args[i].starts_with("--") {
                    v.push(args[i].clone());
                    i += 1;
                }
                o.kv.insert(k.to_string(), v);
                continue;
            }
            let v = args
                .get(i + 1)
                .ok_or_else(|| format!("--{k} needs a value"))?;
            o.kv.insert(k.to_string(), vec![v.clone()]);
            i += 2;
        } else {
            o.plain.push(a.clone());
            i += 1;
        }
    }
    Ok(o)
}

impl Opts {
    fn get(&self, k: &str) -> Option<&str> {
        self.kv.get(k).and_then(|v| v.first()).map(String::as_str)
    }

    fn num<T: std::str::FromStr>(&self, k: &str, default: Option<T>) -> Res<T> {
        match self.get(k) {
            Some(s) => s.parse().map_err(|_| format!("--{k}: not a number: {s:?}")),
            None => default.ok_or_else(|| format!("--{k} is required")),
        }
    }

    fn layout(&self) -> Res<Layout> {
        let services = self.num("services", Some(2500))?;
        let per = self.num("per", Some(4))?;
        let l = Layout {
            services,
            per,
            distinct: self.num("distinct", Some(services * per))?,
            check: match self.get("check").unwrap_or("tcp") {
                "tcp" => Check::Tcp,
                "http" => Check::Http,
                c => return Err(format!("--check: tcp or http, not {c:?}")),
            },
            delay: self.num("delay", Some(1.0))?,
            timeout: self.num("timeout", Some(0.5))?,
            retries_down: self.num("retries-down", Some(1))?,
        };
        l.check()?;
        Ok(l)
    }
}

/// `hc-gen LAYOUT OUT`.
pub fn gen(args: &[String]) -> Res<ExitCode> {
    let o = opts(args, &[])?;
    let l = o.layout()?;
    let out = o.plain.first().ok_or("hc-gen: OUT is required")?;
    let write = |path: &str, text: &str| -> Res<()> {
        std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))
    };

    // Ours: rules with one `#@ health` line per service. Octavia's
    // max_retries_down (failures to go down) F is keepalived's retry F - 1
    // with delay_before_retry = delay; max_retries (successes to go up) 1 is
    // keepalived's only behaviour.
    let kind = match l.check {
        Check::Tcp => "TCP",
        Check::Http => "HTTP url_path=/ expected_codes=200",
    };
    let mut rules = String::with_capacity(l.services * 200);
    for i in 0..l.services {
        let svc = format!("{VIP}:{}", l.service_port(i));
        rules.push_str(&format!("-A -t {svc} -s wrr\n"));
        for k in 0..l.per {
            let (a, p) = l.server(l.pair(i, k));
            rules.push_str(&format!("-a -t {svc} -r {a}:{p} -m -w 1\n"));
        }
        rules.push_str(&format!(
            "#@ health -t {svc} type={kind} delay={} timeout={} max_retries=1 max_retries_down={}\n",
            l.delay, l.timeout, l.retries_down
        ));
    }
    write(&format!("{out}.rules"), &rules)?;

    let mut conf = String::with_capacity(l.services * 600);
    conf.push_str("global_defs {\n    router_id bench-serve\n}\n");
    for i in 0..l.services {
        conf.push_str(&format!(
            "virtual_server {VIP} {} {{\n    delay_loop {}\n    lvs_sched wrr\n    lvs_method NAT\n    protocol TCP\n    inhibit_on_failure\n    connect_timeout {}\n    delay_before_retry {}\n",
            l.service_port(i),
            l.delay,
            l.timeout,
            l.delay
        ));
        // keepalived 2.2.7 takes `retry 0` only in the checker (its
        // virtual_server `retry` must be at least 1).
        let retry = format!("            retry {}\n", l.retries_down - 1);
        for k in 0..l.per {
            let (a, p) = l.server(l.pair(i, k));
            conf.push_str(&format!("    real_server {a} {p} {{\n        weight 1\n"));
            match l.check {
                Check::Tcp => conf.push_str(&format!("        TCP_CHECK {{\n{retry}        }}\n")),
                Check::Http => conf.push_str(&format!(
                    "        HTTP_GET {{\n{retry}            url {{\n                path /\n                status_code 200\n            }}\n        }}\n"
                )),
            }
            conf.push_str("    }\n");
        }
        conf.push_str("}\n");
    }
    write(&format!("{out}.keepalived.conf"), &conf)?;
    println!(
        "hc-gen services={} pairs={} distinct={} check={}",
        l.services,
        l.services * l.per,
        l.distinct,
        if l.check == Check::Tcp { "tcp" } else { "http" }
    );
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// the listeners

fn now_ns(base: Instant) -> u64 {
    base.elapsed().as_nanos() as u64
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn raise_nofile(want: u64) {
    let lim = libc::rlimit {
        rlim_cur: want,
        rlim_max: want,
    };
    // SAFETY: plain setrlimit with a valid struct.
    unsafe {
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

fn listen_on(a: Ipv4Addr, port: u16) -> Res<RawFd> {
    // SAFETY: plain socket calls on a descriptor we own; `sin` is a valid
    // sockaddr_in.
    unsafe {
        let fd = libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(format!("socket: {}", errno()));
        }
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            4,
        );
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as _;
        sin.sin_port = port.to_be();
        sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
        if libc::bind(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        ) < 0
        {
            return Err(format!("bind {a}:{port}: {}", errno()));
        }
        if libc::listen(fd, 128) < 0 {
            return Err(format!("listen {a}:{port}: {}", errno()));
        }
        Ok(fd)
    }
}

fn epoll_add(ep: RawFd, fd: RawFd, data: u64) -> Res<()> {
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: data,
    };
    // SAFETY: valid epoll and socket descriptors, valid event struct.
    if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        return Err(format!("epoll_ctl: {}", errno()));
    }
    Ok(())
}

enum Cmd {
    /// Close these listeners; answer with the time they were closed.
    Kill(Vec<usize>, mpsc::Sender<u64>),
    Stop,
}

struct Shared {
    base: Instant,
    accepted: AtomicU64,
    /// Distinct real servers that have been checked at least once.
    reached: AtomicUsize,
    cmds: Mutex<Vec<Cmd>>,
    wake: RawFd,
}

impl Shared {
    fn send(&self, c: Cmd) {
        self.cmds.lock().unwrap().push(c);
        let one: u64 = 1;
        // SAFETY: writing 8 bytes to our eventfd.
        unsafe { libc::write(self.wake, (&one as *const u64).cast(), 8) };
    }
}

const WAKE: u64 = u64::MAX;
const CONN: u64 = 1 << 63;

/// The listeners' event loop: accept, note the time per real server,
/// close (TCP), or read the request, answer and close (HTTP).
fn serve(sh: Arc<Shared>, ep: RawFd, listeners: Vec<RawFd>, check: Check) -> Vec<Vec<u64>> {
    let mut arrivals: Vec<Vec<u64>> = vec![Vec::new(); listeners.len()];
    let mut open = listeners;
    let mut pending: HashMap<RawFd, Vec<u8>> = HashMap::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = [0u8; 2048];
    loop {
        // SAFETY: `events` is a live buffer of that many entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            if errno().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            panic!("epoll_wait: {}", errno());
        }
        for ev in &events[..n as usize] {
            let data = ev.u64;
            if data == WAKE {
                let mut v: u64 = 0;
                // SAFETY: reading 8 bytes from our eventfd.
                unsafe { libc::read(sh.wake, (&mut v as *mut u64).cast(), 8) };
                let cmds: Vec<Cmd> = std::mem::take(&mut *sh.cmds.lock().unwrap());
                for c in cmds {
                    match c {
                        Cmd::Kill(which, reply) => {
                            for j in which {
                                if open[j] >= 0 {
                                    // SAFETY: closing a listener we own (epoll
                                    // forgets it with its last reference).
                                    unsafe { libc::close(open[j]) };
                                    open[j] = -1;
                                }
                            }
                            let _ = reply.send(now_ns(sh.base));
                        }
                        Cmd::Stop => return arrivals,
                    }
                }
            } else if data & CONN != 0 {
                let fd = (data & !CONN) as RawFd;
                http_read(fd, &mut pending, &mut buf);
            } else {
                let j = data as usize;
                let lfd = open[j];
                if lfd < 0 {
                    continue;
                }
                loop {
                    // SAFETY: accept4 on a listener we own.
                    let c = unsafe {
                        libc::accept4(
                            lfd,
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                        )
                    };
                    if c < 0 {
                        break;
                    }
                    let t = now_ns(sh.base);
                    if arrivals[j].is_empty() {
                        sh.reached.fetch_add(1, Ordering::Relaxed);
                    }
                    arrivals[j].push(t);
                    sh.accepted.fetch_add(1, Ordering::Relaxed);
                    match check {
                        // SAFETY: closing the connection we accepted.
                        Check::Tcp => unsafe {
                            libc::close(c);
                        },
                        Check::Http => {
                            pending.insert(c, Vec::new());
                            if !http_read(c, &mut pending, &mut buf)
                                && epoll_add(ep, c, CONN | c as u64).is_err()
                            {
                                pending.remove(&c);
                                // SAFETY: closing the connection we accepted.
                                unsafe { libc::close(c) };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Read what the client sent; once the request is complete (or the
/// client is gone), answer and close. True when the connection is done.
fn http_read(fd: RawFd, pending: &mut HashMap<RawFd, Vec<u8>>, buf: &mut [u8]) -> bool {
    let mut done = false;
    let mut answer = false;
    loop {
        // SAFETY: reading into a live buffer from a connection we own.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            let p = pending.entry(fd).or_default();
            p.extend_from_slice(&buf[..n as usize]);
            if p.windows(4).any(|w| w == b"\r\n\r\n") || p.windows(2).any(|w| w == b"\n\n") {
                done = true;
                answer = true;
                break;
            }
            if p.len() > 16384 {
                done = true;
                break;
            }
            continue;
        }
        if n == 0 {
            done = true;
            break;
        }
        if errno().kind() != std::io::ErrorKind::WouldBlock {
            done = true;
        }
        break;
    }
    if done {
        pending.remove(&fd);
        // SAFETY: writing a constant answer to, then closing, a connection
        // we own (closing also takes it out of the epoll set).
        unsafe {
            if answer {
                libc::write(fd, HTTP_ANSWER.as_ptr().cast(), HTTP_ANSWER.len());
            }
            libc::close(fd);
        }
    }
    done
}

// ---------------------------------------------------------------------------
// the daemon's processes

/// CPU of a process tree.
#[derive(Clone, Copy, Default)]
struct Cpu {
    /// utime + cutime, clock ticks.
    user: u64,
    /// stime + cstime, clock ticks.
    sys: u64,
    /// The threads' schedstat run time, ns.
    run: u64,
    procs: usize,
}

/// Every process: pid -> (ppid, comm, utime + cutime, stime + cstime).
type Snap = HashMap<u32, (u32, String, u64, u64)>;

fn snap() -> Snap {
    let mut out = Snap::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(l), Some(r)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[l + 1..r].to_string();
        let f: Vec<&str> = stat[r + 2..].split_ascii_whitespace().collect();
        // fields from 3 (state): ppid is 4, utime 14 .. cstime 17
        let n = |i: usize| {
            f.get(i - 3)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        };
        out.insert(pid, (n(4) as u32, comm, n(14) + n(16), n(15) + n(17)));
    }
    out
}

/// CPU of the process tree under `root`.
fn tree_cpu(s: &Snap, root: u32) -> Cpu {
    let mut members = vec![root];
    let mut i = 0;
    while i < members.len() {
        let p = members[i];
        for (c, v) in s {
            if v.0 == p && *c != p {
                members.push(*c);
            }
        }
        i += 1;
    }
    let mut c = Cpu::default();
    for p in &members {
        let Some(v) = s.get(p) else { continue };
        c.procs += 1;
        c.user += v.2;
        c.sys += v.3;
        if let Ok(rd) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for e in rd.flatten() {
                if let Ok(st) = std::fs::read_to_string(e.path().join("schedstat")) {
                    c.run += st
                        .split_ascii_whitespace()
                        .next()
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0);
                }
            }
        }
    }
    c
}

/// utime + stime (ticks) of the processes whose name starts with `prefix`.
fn comm_cpu(s: &Snap, prefix: &str) -> u64 {
    s.values()
        .filter(|v| v.1.starts_with(prefix))
        .map(|v| v.2 + v.3)
        .sum()
}

/// Packets conntrack dropped (table full) in this thread's network
/// namespace, all CPUs; and the entries it holds.
fn conntrack() -> (u64, u64) {
    let t = std::fs::read_to_string("/proc/thread-self/net/stat/nf_conntrack").unwrap_or_default();
    let mut lines = t.lines();
    let head: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_ascii_whitespace()
        .collect();
    let col = |name: &str| head.iter().position(|h| *h == name);
    let (Some(drop), Some(early)) = (col("drop"), col("early_drop")) else {
        return (0, 0);
    };
    let mut dropped = 0;
    for l in lines {
        let f: Vec<&str> = l.split_ascii_whitespace().collect();
        for c in [drop, early] {
            dropped += f
                .get(c)
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .unwrap_or(0);
        }
    }
    let count = std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    (dropped, count)
}

/// Packets dropped by the kernel's per-CPU input backlog (all CPUs).
fn softnet_drops() -> u64 {
    let t = std::fs::read_to_string("/proc/net/softnet_stat").unwrap_or_default();
    t.lines()
        .filter_map(|l| l.split_ascii_whitespace().nth(1))
        .filter_map(|h| u64::from_str_radix(h, 16).ok())
        .sum()
}

/// Busy, softirq and total jiffies of the whole VM, from /proc/stat.
fn vm_cpu() -> (u64, u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = s.lines().next().unwrap_or_default();
    let v: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, v.get(6).copied().unwrap_or(0), total)
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn alive(child: &mut Child) -> Res<()> {
    match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(st)) => Err(format!("the daemon exited ({st})")),
        Err(e) => Err(format!("waiting for the daemon: {e}")),
    }
}

fn stop(child: &mut Child) {
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    for _ in 0..200 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn setns(name: &str) -> Res<()> {
    let path = format!("/run/netns/{name}");
    let f = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    use std::os::fd::AsRawFd;
    // SAFETY: setns on an open namespace file, for this thread only.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
        return Err(format!("setns {name}: {}", errno()));
    }
    Ok(())
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn tail(path: &str, lines: usize) -> String {
    let t = std::fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = t.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// `hc-run`: see the module documentation.
pub fn run(args: &[String]) -> Res<ExitCode> {
    let o = opts(args, &[])?;
    let l = o.layout()?;
    let label = o.get("label").unwrap_or("daemon").to_string();
    let ipvs_ns = o
        .get("ipvs-netns")
        .ok_or("--ipvs-netns is required")?
        .to_string();
    let warmup: f64 = o.num("warmup", Some(5.0))?;
    let window: f64 = o.num("window", Some(60.0))?;
    let kills: usize = o.num("kill", Some(20))?;
    let settle: f64 = o.num("settle", Some(3.0))?;
    let start_timeout: f64 = o.num("start-timeout", Some(300.0))?;
    let log = o.get("log").unwrap_or("/dev/null").to_string();
    let status_cmd = o.get("status").map(str::to_string);
    if o.cmd.is_empty() {
        return Err("hc-run: no daemon command after --".into());
    }
    let fail = |msg: String| -> Res<ExitCode> {
        Err(format!(
            "{label}: {msg}; daemon log {log}:\n{}",
            tail(&log, 30)
        ))
    };

    raise_nofile(1 << 18);
    // The listeners, in the current network namespace.
    // SAFETY: plain epoll_create1 / eventfd.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    let wake = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if ep < 0 || wake < 0 {
        return Err(format!("epoll/eventfd: {}", errno()));
    }
    epoll_add(ep, wake, WAKE)?;
    let mut listeners = Vec::with_capacity(l.distinct);
    for j in 0..l.distinct {
        let (a, p) = l.server(j);
        let fd = listen_on(a, p)?;
        epoll_add(ep, fd, j as u64)?;
        listeners.push(fd);
    }
    let sh = Arc::new(Shared {
        base: Instant::now(),
        accepted: AtomicU64::new(0),
        reached: AtomicUsize::new(0),
        cmds: Mutex::new(Vec::new()),
        wake,
    });
    let check = l.check;
    let sh2 = sh.clone();
    let server = std::thread::Builder::new()
        .name("listeners".into())
        .spawn(move || serve(sh2, ep, listeners, check))
        .map_err(|e| format!("thread: {e}"))?;

    // The IPVS side: this thread moves to the director's namespace.
    setns(&ipvs_ns)?;
    let mut ipvs = Ipvs::connect().map_err(|e| format!("IPVS in {ipvs_ns}: {e}"))?;

    let logf = std::fs::File::create(&log).map_err(|e| format!("{log}: {e}"))?;
    let t_spawn = Instant::now();
    let mut child = Command::new(&o.cmd[0])
        .args(&o.cmd[1..])
        .stdin(Stdio::null())
        .stdout(logf.try_clone().map_err(|e| e.to_string())?)
        .stderr(logf)
        .spawn()
        .map_err(|e| format!("{}: {e}", o.cmd[0]))?;
    let pid = child.id();
    let r = measure(
        &l,
        &label,
        &sh,
        &mut ipvs,
        &mut child,
        pid,
        t_spawn,
        warmup,
        window,
        kills,
        settle,
        start_timeout,
        &status_cmd,
    );
    stop(&mut child);
    sh.send(Cmd::Stop);
    let arrivals = server.join().map_err(|_| "the listener thread panicked")?;
    let m = match r {
        Ok(m) => m,
        Err(e) => return fail(e),
    };

    // Lateness: every arrival in the window against the arrival nearest
    // one delay earlier at the same real server (none within half a delay
    // counts as half a delay: the percentiles are then lower bounds).
    let d = (l.delay * 1e9) as u64;
    let (w0, w1) = (m.w0, m.w1);
    let mut dev: Vec<u64> = Vec::new();
    let mut in_window = 0u64;
    let mut unmatched = 0u64;
    let mut silent = 0usize;
    for a in &arrivals {
        let mut any = false;
        for (n, &t) in a.iter().enumerate() {
            if t < w0 || t >= w1 {
                continue;
            }
            any = true;
            in_window += 1;
            let want = t.saturating_sub(d);
            // arrivals are in time order: the candidates around `want`
            let p = a[..n].partition_point(|&x| x < want);
            let mut best: Option<u64> = None;
            for q in [p.checked_sub(1), Some(p)].into_iter().flatten() {
                if q < n {
                    let diff = a[q].abs_diff(want);
                    if diff < d / 2 && best.is_none_or(|b| diff < b) {
                        best = Some(diff);
                    }
                }
            }
            match best {
                Some(b) => dev.push(b),
                // None within half a delay: at least that late (a check
                // missing or very late); counted as half a delay.
                None => {
                    unmatched += 1;
                    dev.push(d / 2);
                }
            }
        }
        if !any {
            silent += 1;
        }
    }
    dev.sort_unstable();
    let secs = (w1 - w0) as f64 / 1e9;
    let rate = in_window as f64 / secs;
    let ms = |ns: u64| ns as f64 / 1e6;
    let tck = clk_tck();
    let (user, sys) = (m.cpu.user as f64 / tck, m.cpu.sys as f64 / tck);
    let cpu = user + sys;
    let run = m.cpu.run as f64 / 1e9;
    let mut downs = m.downs.clone();
    downs.sort_unstable();
    let mean_down = downs.iter().sum::<u64>() as f64 / downs.len().max(1) as f64;
    if in_window == 0 {
        return fail("no checks arrived in the window".into());
    }
    let line = format!(
        "@@hc {label} window={secs:.3} cpu={cpu:.3} user={user:.3} sys={sys:.3} run={run:.3} procs={} vm_busy={:.3} vm_softirq={:.3} harness={:.3} ksoftirqd={:.3} drops={} ct_drops={} ct_count={} checks={in_window} rate={rate:.1} \
         targets={} pairs={} silent={silent} unmatched={unmatched} late_p50={:.3} late_p99={:.3} late_max={:.3} \
         down_pairs={} down_mean={:.1} down_max={:.1} down_min={:.1} startup={:.2}{}",
        m.cpu.procs,
        m.vm_busy,
        m.vm_softirq,
        m.harness,
        m.ksoftirqd,
        m.drops,
        m.ct_drops,
        m.ct_count,
        l.distinct,
        l.services * l.per,
        ms(pct(&dev, 0.50)),
        ms(pct(&dev, 0.99)),
        ms(dev.last().copied().unwrap_or(0)),
        downs.len(),
        mean_down / 1e6,
        ms(downs.last().copied().unwrap_or(0)),
        ms(downs.first().copied().unwrap_or(0)),
        m.startup,
        m.extra
    );
    println!("{line}");
    let _ = std::io::stdout().flush();
    Ok(ExitCode::SUCCESS)
}

struct Measured {
    w0: u64,
    w1: u64,
    cpu: Cpu,
    vm_busy: f64,
    vm_softirq: f64,
    /// CPU seconds of the listeners (this process) and of ksoftirqd.
    harness: f64,
    ksoftirqd: f64,
    drops: u64,
    /// Packets conntrack dropped in the director's namespace (table full),
    /// and its entries at the end of the window.
    ct_drops: u64,
    ct_count: u64,
    downs: Vec<u64>,
    startup: f64,
    extra: String,
}

#[allow(clippy::too_many_arguments)]
fn measure(
    l: &Layout,
    label: &str,
    sh: &Shared,
    ipvs: &mut Ipvs,
    child: &mut Child,
    pid: u32,
    t_spawn: Instant,
    warmup: f64,
    window: f64,
    kills: usize,
    settle: f64,
    start_timeout: f64,
    status_cmd: &Option<String>,
) -> Res<Measured> {
    let say = |m: String| eprintln!("hc-run {label}: {m}");
    // Every distinct real server checked at least once.
    let deadline = Instant::now() + Duration::from_secs_f64(start_timeout);
    loop {
        alive(child)?;
        if sh.reached.load(Ordering::Relaxed) >= l.distinct {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {} real servers were checked within {start_timeout} s ({} checks)",
                sh.reached.load(Ordering::Relaxed),
                l.distinct,
                sh.accepted.load(Ordering::Relaxed)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let startup = t_spawn.elapsed().as_secs_f64();
    say(format!(
        "every real server checked {startup:.2} s after the start; warming up {warmup} s"
    ));
    // The kernel holds every service and pair at weight 1.
    let table = ipvs
        .table_with(false)
        .map_err(|e| format!("reading IPVS: {e}"))?;
    let dests: usize = table.iter().map(|(_, d)| d.len()).sum();
    let up: usize = table
        .iter()
        .map(|(_, d)| d.iter().filter(|d| d.weight == 1).count())
        .sum();
    if table.len() != l.services || dests != l.services * l.per || up != dests {
        return Err(format!(
            "the kernel holds {} services, {dests} real servers ({up} at weight 1); expected {} and {}",
            table.len(),
            l.services,
            l.services * l.per
        ));
    }
    std::thread::sleep(Duration::from_secs_f64(warmup));
    alive(child)?;

    // The window.
    let me = std::process::id();
    let p0 = snap();
    let c0 = tree_cpu(&p0, pid);
    let d0 = softnet_drops();
    let (ct0, _) = conntrack();
    let (b0, s0, t0) = vm_cpu();
    let w0 = now_ns(sh.base);
    std::thread::sleep(Duration::from_secs_f64(window));
    let w1 = now_ns(sh.base);
    let p1 = snap();
    let c1 = tree_cpu(&p1, pid);
    let d1 = softnet_drops();
    let (ct1, ct_count) = conntrack();
    let (b1, s1, t1) = vm_cpu();
    let tck = clk_tck();
    let ticks = |f: &dyn Fn(&Snap) -> u64| f(&p1).saturating_sub(f(&p0)) as f64 / tck;
    let harness = ticks(&|s: &Snap| s.get(&me).map_or(0, |v| v.2 + v.3));
    let ksoftirqd = ticks(&|s: &Snap| comm_cpu(s, "ksoftirqd"));
    alive(child)?;
    let vm_busy = (b1 - b0) as f64 / (t1 - t0).max(1) as f64;
    let vm_softirq = (s1 - s0) as f64 / (t1 - t0).max(1) as f64;
    say(format!(
        "window done: {} checks so far",
        sh.accepted.load(Ordering::Relaxed)
    ));

    // The daemon's own view (ours).
    let mut extra = String::new();
    if let Some(cmd) = status_cmd {
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("{cmd}: {e}"))?;
        if !out.status.success() {
            return Err(format!("`{cmd}` failed: {}", out.status));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("status JSON: {e}"))?;
        extra = format!(
            " self_probes={} self_checks={} self_late_p99={}",
            v["probes"], v["checks"], v["lateness_p99_ms"]
        );
    }
    std::thread::sleep(Duration::from_secs_f64(settle));

    // Kill: K distinct real servers spread over the range.
    let k = kills.min(l.distinct);
    let mut down: HashMap<(usize, usize), Option<u64>> = HashMap::new();
    let victims: Vec<usize> = (0..k)
        .map(|m| (m * l.distinct) / k.max(1) + l.distinct / (2 * k.max(1)))
        .collect();
    for i in 0..l.services {
        for s in 0..l.per {
            if victims.contains(&l.pair(i, s)) {
                down.insert((i, s), None);
            }
        }
    }
    let mut downs = Vec::new();
    if k > 0 {
        let (tx, rx) = mpsc::channel();
        sh.send(Cmd::Kill(victims.clone(), tx));
        let t_kill = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "the listeners did not close".to_string())?;
        let deadline =
            Instant::now() + Duration::from_secs_f64(10.0 + 2.0 * l.delay * l.retries_down as f64);
        loop {
            let mut svcs: Vec<usize> = down
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|((i, _), _)| *i)
                .collect();
            if svcs.is_empty() {
                break;
            }
            svcs.sort_unstable();
            svcs.dedup();
            for i in svcs {
                let ds = ipvs
                    .dests_with(&l.key(i), false)
                    .map_err(|e| format!("reading IPVS: {e}"))?;
                let t = now_ns(sh.base);
                for s in 0..l.per {
                    let Some(slot) = down.get_mut(&(i, s)) else {
                        continue;
                    };
                    if slot.is_some() {
                        continue;
                    }
                    let (a, p) = l.server(l.pair(i, s));
                    match ds.iter().find(|d| d.addr == IpAddr::V4(a) && d.port == p) {
                        Some(d) if d.weight == 0 => *slot = Some(t.saturating_sub(t_kill)),
                        Some(_) => {}
                        None => {
                            return Err(format!(
                                "{a}:{p} was removed from {VIP}:{} instead of getting weight 0",
                                l.service_port(i)
                            ))
                        }
                    }
                }
            }
            if Instant::now() > deadline {
                let left = down.values().filter(|v| v.is_none()).count();
                return Err(format!(
                    "{left} of {} (service, real server) pairs still had weight > 0 after the listeners closed",
                    down.len()
                ));
            }
            alive(child)?;
            std::thread::sleep(POLL);
        }
        downs = down.values().map(|v| v.unwrap_or(0)).collect();
    }
    Ok(Measured {
        w0,
        w1,
        cpu: Cpu {
            user: c1.user.saturating_sub(c0.user),
            sys: c1.sys.saturating_sub(c0.sys),
            run: c1.run.saturating_sub(c0.run),
            procs: c1.procs,
        },
        vm_busy,
        vm_softirq,
        harness,
        ksoftirqd,
        drops: d1 - d0,
        ct_drops: ct1.saturating_sub(ct0),
        ct_count,
        downs,
        startup,
        extra,
    })
}

// ---------------------------------------------------------------------------
// the floor

/// A check in flight (`hc-floor`).
struct Flight {
    gen: u32,
    /// Connected, request sent, reading the answer (HTTP).
    reading: bool,
    answer: Vec<u8>,
}

/// `hc-floor LAYOUT`: the least any checker has to do, for comparison:
/// each distinct real server checked once per delay (first checks spread
/// over one delay as ours spreads them) by one thread with one epoll set
/// and no runtime: non-blocking connect, SO_ERROR, close (HTTP: the
/// request written, the answer read to its end and its status line
/// looked at). Results go nowhere: no state, no kernel updates, no log.
/// `--close rst`: every socket closed with SO_LINGER 0 (an RST, no FIN
/// exchange, no TIME_WAIT) instead of a plain close. Runs until killed.
pub fn floor(args: &[String]) -> Res<ExitCode> {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};
    let o = opts(args, &[])?;
    let l = o.layout()?;
    let rst = match o.get("close").unwrap_or("fin") {
        "fin" => false,
        "rst" => true,
        c => return Err(format!("--close: fin or rst, not {c:?}")),
    };
    raise_nofile(1 << 18);
    // SAFETY: plain epoll_create1.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(format!("epoll: {}", errno()));
    }
    let d = (l.delay * 1e9) as u64;
    let to = (l.timeout * 1e9) as u64;
    let base = Instant::now();
    let mut due: BinaryHeap<Reverse<(u64, usize)>> = (0..l.distinct)
        .map(|j| {
            let frac = ((j as f64 + 1.0) * 0.618_033_988_75).fract();
            Reverse(((frac * d as f64) as u64, j))
        })
        .collect();
    let mut flights: Vec<Option<Flight>> = Vec::new();
    let mut deadlines: VecDeque<(u64, RawFd, u32)> = VecDeque::new();
    let mut gen: u32 = 0;
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = [0u8; 2048];
    let request: Vec<Vec<u8>> = (0..l.distinct)
        .map(|j| {
            let (a, p) = l.server(j);
            format!("GET / HTTP/1.0\r\nHost: {a}:{p}\r\n\r\n").into_bytes()
        })
        .collect();
    let close = |flights: &mut Vec<Option<Flight>>, fd: RawFd| {
        flights[fd as usize] = None;
        if rst {
            // An abortive close: one RST instead of the FIN exchange, and
            // no TIME_WAIT.
            let lg = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: setting a linger option from a live struct.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&lg as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as u32,
                )
            };
        }
        // SAFETY: closing a socket we own (epoll forgets it).
        unsafe { libc::close(fd) };
    };
    loop {
        let now = now_ns(base);
        while let Some(&Reverse((t, j))) = due.peek() {
            if t > now {
                break;
            }
            due.pop();
            let next = if t + d < now { now } else { t + d };
            due.push(Reverse((next, j)));
            let (a, p) = l.server(j);
            // SAFETY: a fresh socket we own; `sin` is a valid sockaddr_in.
            let fd = unsafe {
                libc::socket(
                    libc::AF_INET,
                    libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    0,
                )
            };
            if fd < 0 {
                continue;
            }
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as _;
            sin.sin_port = p.to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            // SAFETY: as above.
            let r = unsafe {
                libc::connect(
                    fd,
                    (&sin as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as u32,
                )
            };
            if r < 0 && errno().raw_os_error() != Some(libc::EINPROGRESS) {
                // SAFETY: closing the socket opened above.
                unsafe { libc::close(fd) };
                continue;
            }
            gen = gen.wrapping_add(1);
            if flights.len() <= fd as usize {
                flights.resize_with(fd as usize + 1, || None);
            }
            flights[fd as usize] = Some(Flight {
                gen,
                reading: false,
                answer: Vec::new(),
            });
            let mut ev = libc::epoll_event {
                events: libc::EPOLLOUT as u32,
                u64: (j as u64) << 32 | fd as u64,
            };
            // SAFETY: valid descriptors and event.
            unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) };
            deadlines.push_back((now + to, fd, gen));
        }
        while let Some(&(t, fd, g)) = deadlines.front() {
            if t > now {
                break;
            }
            deadlines.pop_front();
            if flights
                .get(fd as usize)
                .and_then(Option::as_ref)
                .is_some_and(|f| f.gen == g)
            {
                close(&mut flights, fd);
            }
        }
        let next = due.peek().map_or(u64::MAX, |r| r.0 .0);
        let next = next.min(deadlines.front().map_or(u64::MAX, |x| x.0));
        let wait_ms = next
            .saturating_sub(now_ns(base))
            .div_ceil(1_000_000)
            .min(1000) as i32;
        // SAFETY: `events` is a live buffer of that many entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, wait_ms) };
        for ev in &events[..n.max(0) as usize] {
            let fd = (ev.u64 & 0xffff_ffff) as RawFd;
            let j = (ev.u64 >> 32) as usize;
            let Some(f) = flights.get_mut(fd as usize).and_then(Option::as_mut) else {
                continue;
            };
            if !f.reading {
                let mut err: libc::c_int = 0;
                let mut len = 4 as libc::socklen_t;
                // SAFETY: reading an int option into a live int.
                unsafe {
                    libc::getsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        libc::SO_ERROR,
                        (&mut err as *mut libc::c_int).cast(),
                        &mut len,
                    )
                };
                if err != 0 || l.check == Check::Tcp {
                    close(&mut flights, fd);
                    continue;
                }
                let req = &request[j];
                // SAFETY: writing a live buffer to a socket we own.
                let w = unsafe { libc::write(fd, req.as_ptr().cast(), req.len()) };
                if w != req.len() as isize {
                    close(&mut flights, fd);
                    continue;
                }
                f.reading = true;
                let mut e2 = libc::epoll_event {
                    events: libc::EPOLLIN as u32,
                    u64: ev.u64,
                };
                // SAFETY: valid descriptors and event.
                unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, &mut e2) };
                continue;
            }
            loop {
                // SAFETY: reading into a live buffer from a socket we own.
                let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                if r > 0 {
                    f.answer.extend_from_slice(&buf[..r as usize]);
                    continue;
                }
                if r < 0 && errno().kind() == std::io::ErrorKind::WouldBlock {
                    break;
                }
                // EOF or error: the check is over (the status line would be
                // looked at here).
                let _ok =
                    f.answer.starts_with(b"HTTP/1.0 200") || f.answer.starts_with(b"HTTP/1.1 200");
                close(&mut flights, fd);
                break;
            }
        }
    }
}
