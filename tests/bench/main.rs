//! Benchmark helper run inside the lab VM by `scripts/bench` (no test
//! harness; built with `--features kernel-tests`).
//!
//! ```text
//! bench gen N FILE [PER]           write a rules file: N services x PER (default 4)
//!                                  real servers
//! bench floor-restore FILE [BATCH] send FILE's changes pre-encoded, BATCH per sendmsg,
//!                                  over a plain socket, acks only walked
//! bench raw-dump [RECVBUF]         what any lister must ask for: one services dump and
//!                                  one real-server dump per service, requests
//!                                  pre-encoded, replies only walked (the timed part:
//!                                  the kernel's cost plus the syscalls)
//! bench raw-list [RECVBUF [SVCBUF]] the same as a whole process: socket, family, the
//!                                  services dump, each service's identity copied
//!                                  into its real-server dump request, replies only
//!                                  walked; the floor of `-S -n` / `-L -n`, timed with
//!                                  `bench time` like them
//! bench time -- CMD ARGS...        run CMD (stdin inherited, stdout to /dev/null)
//! bench http-get ADDR:PORT [PATH]  one HTTP/1.1 GET (default /metrics): the time from
//!                                  sending the request to the last byte of the reply,
//!                                  body bytes and series (non-comment lines)
//! bench count                     bytes and series of a scrape on stdin
//! bench render N [PER] [--per-service] [--health]  format::metrics of a made-up
//!                                  table (gen's, counters filled), no kernel: the
//!                                  render time, bytes and series (profiling; any host)
//! bench prep FILE [FAMILY]        floor-restore's untimed part, phase by phase, no
//!                                  socket (diagnostics; runs on any host)
//! bench read-costs FILE            what apply's reading costs, part by part: FILE
//!                                  parsed, services dump, /proc/net/ip_vs, whole table
//! bench hc-gen / hc-run / hc-floor  the health-checker benchmark (`scripts/bench-serve`):
//!                                  see health.rs
//! ```
//!
//! Every figure but `time`'s is the wall time of the measured part only,
//! from `std::time::Instant`; under qemu `-icount` that is guest
//! instruction time. No floor decodes through our own decoder: the floors
//! only walk netlink headers.

use ipvsadm_rs::lang::parse::{parse, Action};
use ipvsadm_rs::lang::stream::ConfigStream;
use ipvsadm_rs::netlink::encode::{encode, Request};
use ipvsadm_rs::netlink::{IpvsCmd, Transport};
use std::io::{BufWriter, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

mod health;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
/// Ports per virtual address in `gen` (1..=65535).
const PORTS_PER_VIP: usize = 65535;

type Res<T> = Result<T, String>;

fn usage() -> String {
    "usage: bench gen N FILE [PER] | floor-restore FILE [BATCH] | raw-dump [RECVBUF] | raw-list [RECVBUF] | time -- CMD [ARGS...] | http-get ADDR:PORT [PATH] | count | render N [PER] [--per-service] [--health] | prep FILE [FAMILY] | read-costs FILE | hc-gen ... | hc-run ... | hc-floor ... (see health.rs)"
        .to_string()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("gen") => gen(&args[1..]),
        Some("floor-restore") => floor_restore(&args[1..]),
        Some("time") => time(&args[1..]),
        Some("http-get") => http_get(&args[1..]),
        Some("render") => render(&args[1..]),
        Some("count") => count(),
        Some("raw-dump") => raw_dump(&args[1..]),
        Some("raw-list") => raw_list(&args[1..]),
        Some("prep") => prep(&args[1..]),
        Some("read-costs") => read_costs(&args[1..]),
        Some("hc-gen") => health::gen(&args[1..]),
        Some("hc-run") => health::run(&args[1..]),
        Some("hc-floor") => health::floor(&args[1..]),
        _ => Err(usage()),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn num(s: Option<&String>, what: &str) -> Res<usize> {
    let s = s.ok_or_else(usage)?;
    s.parse()
        .map_err(|_| format!("{what}: not a number: {s:?}"))
}

/// Real servers per service in `gen` and `render`: PER (default 4, at most
/// 253: 198.51.100.1..=PER).
fn per(arg: Option<&String>) -> Res<usize> {
    let per = match arg {
        Some(_) => num(arg, "PER")?,
        None => 4,
    };
    if !(1..=253).contains(&per) {
        return Err(format!("PER = {per}: 1 to 253 real servers per service"));
    }
    Ok(per)
}

/// `gen N FILE [PER]`: services 192.0.2.V:PORT (PORT 1..=65535, then the
/// next V), each with real servers 198.51.100.1..PER (default 4) on the
/// same port, masquerading.
fn gen(args: &[String]) -> Res<ExitCode> {
    let n = num(args.first(), "N")?;
    let file = args.get(1).ok_or_else(usage)?;
    let per = per(args.get(2))?;
    if n > PORTS_PER_VIP * 253 {
        return Err(format!("N = {n} is more than 192.0.2.0/24 holds"));
    }
    let f = std::fs::File::create(file).map_err(|e| format!("{file}: {e}"))?;
    let mut w = BufWriter::new(f);
    for i in 0..n {
        let vip = 1 + i / PORTS_PER_VIP;
        let port = 1 + i % PORTS_PER_VIP;
        let svc = format!("192.0.2.{vip}:{port}");
        let mut out = format!("-A -t {svc} -s wrr\n");
        for rs in 1..=per {
            out.push_str(&format!("-a -t {svc} -r 198.51.100.{rs}:{port} -m -w 1\n"));
        }
        w.write_all(out.as_bytes())
            .map_err(|e| format!("{file}: {e}"))?;
    }
    w.flush().map_err(|e| format!("{file}: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `floor-restore FILE [BATCH]`: the kernel's cost of FILE's changes plus
/// the least a client can add: parsed and encoded beforehand, BATCH
/// acknowledged requests per `sendmsg`, one plain socket, acks only walked.
/// Only the sends (and the reads of the acks) are timed.
fn floor_restore(args: &[String]) -> Res<ExitCode> {
    let file = args.first().ok_or_else(usage)?;
    let batch = match args.get(1) {
        Some(_) => num(args.get(1), "BATCH")?.max(1),
        None => 64,
    };
    let prep = Instant::now();
    let ops = parse_file(file)?;
    let family = family_id()?;
    let fd = raw_socket()?;
    let mut batches: Vec<(Vec<u8>, u32, usize)> = Vec::new();
    let mut seq = 1u32;
    for chunk in ops.chunks(batch) {
        let mut bytes = Vec::new();
        for op in chunk {
            encode(
                family,
                seq,
                NLM_F_REQUEST | NLM_F_ACK,
                &Request::Op(op),
                &mut bytes,
            );
            seq += 1;
        }
        batches.push((bytes, seq - chunk.len() as u32, chunk.len()));
    }
    eprintln!(
        "bench: floor-restore: {} requests, {} sendmsgs; parse+encode (not timed) {:.6} s",
        ops.len(),
        batches.len(),
        prep.elapsed().as_secs_f64()
    );
    let mut buf = vec![0u8; 256 * 1024];
    let mut failed = 0;
    let start = Instant::now();
    for (bytes, first, count) in &batches {
        raw_send(fd, bytes)?;
        failed += raw_acks(fd, &mut buf, *first, *count)?;
    }
    let secs = start.elapsed().as_secs_f64();
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    println!("floor-restore {secs:.6} failed={failed}");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn parse_file(file: &str) -> Res<Vec<ipvsadm_rs::Op>> {
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let mut stream = ConfigStream::new(&data);
    let mut ops = Vec::new();
    while let Some(words) = stream.next_command() {
        if words.first().is_none_or(|w| w.starts_with('#')) {
            continue;
        }
        let mut argv: Vec<&str> = Vec::with_capacity(words.len() + 1);
        argv.push("ipvsadm");
        argv.extend(words.iter().map(|w| w.as_ref()));
        match parse(&argv) {
            Ok(Action::Change(op, _)) => ops.push(op),
            Ok(other) => return Err(format!("{file}:{}: not a change: {other:?}", stream.line)),
            Err(e) => return Err(format!("{file}:{}: {e:?}", stream.line)),
        }
    }
    Ok(ops)
}

/// The IPVS family's id (through our transport: one request, not timed
/// where it matters).
fn family_id() -> Res<u16> {
    Ok(Transport::open()
        .map_err(|e| format!("netlink: {e}"))?
        .family_id())
}

fn raw_socket() -> Res<i32> {
    // SAFETY: plain socket call; the descriptor is closed by the caller.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_GENERIC) };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    Ok(fd)
}

fn raw_send(fd: i32, bytes: &[u8]) -> Res<()> {
    // SAFETY: `bytes` is a live buffer of the given length.
    let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), 0) };
    if n != bytes.len() as isize {
        return Err(format!("send: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn raw_recv(fd: i32, buf: &mut [u8]) -> Res<&[u8]> {
    // SAFETY: `buf` is a live, writable buffer of the given length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(format!("recv: {}", std::io::Error::last_os_error()));
    }
    Ok(&buf[..n as usize])
}

/// Walk the netlink headers of a datagram: `(type, seq, payload)` each.
fn walk(buf: &[u8], mut each: impl FnMut(u16, u32, &[u8]) -> bool) -> Res<bool> {
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        if len < 16 || off + len > buf.len() {
            return Err("bad netlink message length".into());
        }
        let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        let seq = u32::from_ne_bytes([buf[off + 8], buf[off + 9], buf[off + 10], buf[off + 11]]);
        if !each(kind, seq, &buf[off + 16..off + len]) {
            return Ok(false);
        }
        off += (len + 3) & !3;
    }
    Ok(true)
}

/// Read acks until those of `count` requests from `first` are in; how
/// many failed.
fn raw_acks(fd: i32, buf: &mut [u8], first: u32, count: usize) -> Res<usize> {
    let (mut pending, mut failed) = (count, 0);
    while pending > 0 {
        let d = raw_recv(fd, buf)?;
        walk(d, |kind, seq, p| {
            if kind == 2 && seq.wrapping_sub(first) < count as u32 {
                pending -= 1;
                failed += usize::from(p.get(..4).is_some_and(|e| e != [0, 0, 0, 0]));
            }
            true
        })?;
    }
    Ok(failed)
}

/// Read datagrams until the `NLMSG_DONE` (or error) of `seq`, handing each
/// other message of `seq` (its genl payload) to `entry`; how many there
/// were.
fn raw_drain(fd: i32, buf: &mut [u8], seq: u32, mut entry: impl FnMut(&[u8])) -> Res<usize> {
    let mut entries = 0;
    loop {
        let d = raw_recv(fd, buf)?;
        let more = walk(d, |kind, s, p| {
            if s != seq {
                return true;
            }
            match kind {
                // NLMSG_DONE, NLMSG_ERROR
                3 | 2 => false,
                _ => {
                    entries += 1;
                    entry(p);
                    true
                }
            }
        })?;
        if !more {
            return Ok(entries);
        }
    }
}

/// A dump request: netlink and genl headers, then `attrs`.
fn dump_request(family: u16, cmd: IpvsCmd, seq: u32, attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + attrs.len();
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&(len as u32).to_ne_bytes());
    v.extend_from_slice(&family.to_ne_bytes());
    v.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v.extend_from_slice(&[cmd.to_raw(), 1, 0, 0]);
    v.extend_from_slice(attrs);
    v
}

/// From a services dump entry's genl payload, the `SERVICE` nest holding
/// only the identity attributes (AF, PROTOCOL, ADDR, PORT, FWMARK), copied
/// as they are: what a real-server dump request needs.
fn identity_nest(genl: &[u8]) -> Res<Vec<u8>> {
    let attrs = genl.get(4..).ok_or("short genl message")?;
    let nla = |b: &[u8], off: usize| -> Res<(usize, u16)> {
        let h = b.get(off..off + 4).ok_or("short attribute")?;
        let len = usize::from(u16::from_ne_bytes([h[0], h[1]]));
        if len < 4 || off + len > b.len() {
            return Err("bad attribute length".to_string());
        }
        Ok((len, u16::from_ne_bytes([h[2], h[3]]) & 0x3fff))
    };
    let mut off = 0;
    while off < attrs.len() {
        let (len, kind) = nla(attrs, off)?;
        if kind == 1 {
            let nest = &attrs[off + 4..off + len];
            let mut out = vec![0u8; 4];
            let mut o = 0;
            while o < nest.len() {
                let (l, k) = nla(nest, o)?;
                if (1..=5).contains(&k) {
                    out.extend_from_slice(&nest[o..o + ((l + 3) & !3).min(nest.len() - o)]);
                }
                o += (l + 3) & !3;
            }
            let n = out.len() as u16;
            out[..2].copy_from_slice(&n.to_ne_bytes());
            out[2..4].copy_from_slice(&(1u16 | 0x8000).to_ne_bytes());
            return Ok(out);
        }
        off += (len + 3) & !3;
    }
    Err("service dump entry without a service nest".into())
}

/// Read size: RECVBUF, default 3776 (`NLMSG_GOODSIZE` with 4 KiB pages: the
/// kernel then makes every dump message one page).
fn recvbuf(args: &[String]) -> Res<usize> {
    Ok(match args.first() {
        Some(_) => num(args.first(), "RECVBUF")?.max(1024),
        None => 3776,
    })
}

/// The services dump and one real-server dump per service over `fd`, the
/// requests built from the services' identities as they come; (services,
/// real servers).
/// With `svc` = `(socket, read size)`, the services dump goes over that
/// socket instead (as ours does: see `Transport::dump_bulk`).
fn raw_dumps(
    fd: i32,
    family: u16,
    bufsize: usize,
    svc: Option<(i32, usize)>,
) -> Res<(usize, usize)> {
    let mut buf = vec![0u8; bufsize];
    let (sfd, sbufsize) = svc.unwrap_or((fd, bufsize));
    let mut sbuf = vec![0u8; sbufsize];
    raw_send(sfd, &dump_request(family, IpvsCmd::GetService, 1, &[]))?;
    let mut nests = Vec::new();
    let mut bad = None;
    let services = raw_drain(sfd, &mut sbuf, 1, |p| match identity_nest(p) {
        Ok(n) => nests.push(n),
        Err(e) => bad = Some(e),
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    let mut dests = 0;
    for (i, nest) in nests.iter().enumerate() {
        let seq = 2 + i as u32;
        raw_send(fd, &dump_request(family, IpvsCmd::GetDest, seq, nest))?;
        dests += raw_drain(fd, &mut buf, seq, |_| {})?;
    }
    Ok((services, dests))
}

/// `raw-dump [RECVBUF]`: the dumps a listing needs, over a plain socket,
/// reads of RECVBUF bytes (default 3776), nothing decoded; only the dumps
/// are timed: the kernel's share of a listing plus the syscalls.
fn raw_dump(args: &[String]) -> Res<ExitCode> {
    let bufsize = recvbuf(args)?;
    let family = family_id()?;
    let fd = raw_socket()?;
    let start = Instant::now();
    let (services, dests) = raw_dumps(fd, family, bufsize, None)?;
    let secs = start.elapsed().as_secs_f64();
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    println!("raw-dump {secs:.6} services={services} dests={dests} recvbuf={bufsize}");
    Ok(ExitCode::SUCCESS)
}

/// `raw-list [RECVBUF]`: [`raw_dump`] as a whole process, for `bench
/// time`: what `-S -n` cannot avoid, with no decoding and no output.
fn raw_list(args: &[String]) -> Res<ExitCode> {
    let bufsize = recvbuf(args)?;
    // SVCBUF: the services dump on a second socket with reads of that size.
    let svcbuf = match args.get(1) {
        Some(_) => Some(num(args.get(1), "SVCBUF")?.max(1024)),
        None => None,
    };
    let family = family_id()?;
    let fd = raw_socket()?;
    let svc = match svcbuf {
        Some(n) => Some((raw_socket()?, n)),
        None => None,
    };
    let (services, dests) = raw_dumps(fd, family, bufsize, svc)?;
    // SAFETY: closing the descriptors opened above.
    unsafe {
        libc::close(fd);
        if let Some((s, _)) = svc {
            libc::close(s);
        }
    }
    eprintln!("raw-list services={services} dests={dests} recvbuf={bufsize} svcbuf={svcbuf:?}");
    Ok(ExitCode::SUCCESS)
}

/// `time -- CMD ARGS...`: CMD's run time, fork to reaped, stdout discarded.
fn time(args: &[String]) -> Res<ExitCode> {
    let args = match args.first().map(String::as_str) {
        Some("--") => &args[1..],
        _ => args,
    };
    let (cmd, rest) = args.split_first().ok_or_else(usage)?;
    let start = Instant::now();
    let status = Command::new(cmd)
        .args(rest)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("{cmd}: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let st = match status.code() {
        Some(c) => c.to_string(),
        None => format!("{status}"),
    };
    println!("time {secs:.6} status={st}");
    // What the child cost besides instructions of its own: page faults
    // (each a trip through the kernel, a page cleared) and its peak
    // memory; on stderr, for the log.
    // SAFETY: getrusage writes the struct it is given; zeroed is a valid
    // rusage.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru
    };
    eprintln!(
        "bench time: {cmd}: minor faults {}, major faults {}, peak {} KiB",
        ru.ru_minflt, ru.ru_majflt, ru.ru_maxrss
    );
    Ok(ExitCode::SUCCESS)
}

/// `prep FILE [FAMILY]`: read, tokenize, parse and encode FILE's requests
/// with each phase timed separately (FAMILY: any id, default 0x20).
fn prep(args: &[String]) -> Res<ExitCode> {
    let file = args.first().ok_or_else(usage)?;
    let family = match args.get(1) {
        Some(_) => num(args.get(1), "FAMILY")? as u16,
        None => 0x20,
    };
    let t0 = Instant::now();
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let mut stream = ConfigStream::new(&data);
    let mut lines = Vec::new();
    while let Some(words) = stream.next_command() {
        let mut argv = vec!["ipvsadm".to_string()];
        argv.extend(words.into_iter().map(|w| w.into_owned()));
        lines.push(argv);
    }
    let t1 = Instant::now();
    let mut ops = Vec::with_capacity(lines.len());
    for argv in &lines {
        match parse(argv) {
            Ok(Action::Change(op, _)) => ops.push(op),
            other => return Err(format!("{argv:?}: {other:?}")),
        }
    }
    let t2 = Instant::now();
    let mut bytes = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        encode(
            family,
            1 + i as u32,
            NLM_F_REQUEST | NLM_F_ACK,
            &Request::Op(op),
            &mut bytes,
        );
    }
    let t3 = Instant::now();
    let us = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e6 / lines.len().max(1) as f64;
    println!(
        "prep lines={} bytes={} per line (us): read+tokenize {:.2} parse {:.2} encode {:.2}",
        lines.len(),
        bytes.len(),
        us(t0, t1),
        us(t1, t2),
        us(t2, t3)
    );
    Ok(ExitCode::SUCCESS)
}

/// `read-costs FILE`: the parts of what `apply` reads, each timed alone.
fn read_costs(args: &[String]) -> Res<ExitCode> {
    let file = args.first().ok_or_else(usage)?;
    let t0 = Instant::now();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let want = ipvsadm_rs::apply::read(&text, file).map_err(|e| format!("{e:?}"))?;
    let parse = t0.elapsed().as_secs_f64();
    eprintln!("read-costs: parse={parse:.6}");
    let mut ipvs = ipvsadm_rs::Ipvs::connect().map_err(|e| format!("connect: {e}"))?;
    let t1 = Instant::now();
    let services = ipvs
        .services_with(false)
        .map_err(|e| format!("GET_SERVICE dump: {e}"))?;
    let svc_dump = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let proc_text = std::fs::read_to_string("/proc/self/net/ip_vs")
        .map_err(|e| format!("/proc/self/net/ip_vs: {e}"))?;
    let proc_read = t2.elapsed().as_secs_f64();
    let t3 = Instant::now();
    let table = ipvs.table_with(false).map_err(|e| format!("table: {e}"))?;
    let whole = t3.elapsed().as_secs_f64();
    println!(
        "read-costs parse={parse:.6} services-dump={svc_dump:.6} proc={proc_read:.6} table={whole:.6} \
         want={} services={} proc-bytes={} table={}",
        want.services.len(),
        services.len(),
        proc_text.len(),
        table.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Series in a scrape: its non-empty lines that are not comments.
fn series(text: &[u8]) -> usize {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .count()
}

/// Undoes `Transfer-Encoding: chunked` as the bytes come, counting body
/// bytes and series (non-empty lines not starting with `#`).
#[derive(Default)]
struct Dechunk {
    /// In a chunk: its bytes still to come; then 2 for its CRLF.
    data: usize,
    crlf: usize,
    size_line: Vec<u8>,
    done: bool,
    bytes: usize,
    series: usize,
    mid_line: bool,
}

impl Dechunk {
    fn body(&mut self, b: &[u8]) {
        self.bytes += b.len();
        for &c in b {
            if !self.mid_line && c != b'#' && c != b'\n' {
                self.series += 1;
            }
            self.mid_line = c != b'\n';
        }
    }

    fn feed(&mut self, mut b: &[u8]) -> Res<()> {
        while !b.is_empty() {
            if self.done {
                return Err("bytes after the last chunk".into());
            }
            if self.data > 0 {
                let n = self.data.min(b.len());
                self.body(&b[..n]);
                self.data -= n;
                if self.data == 0 {
                    self.crlf = 2;
                }
                b = &b[n..];
            } else if self.crlf > 0 {
                self.crlf -= 1;
                b = &b[1..];
            } else {
                let c = b[0];
                b = &b[1..];
                if c != b'\n' {
                    self.size_line.push(c);
                    continue;
                }
                let line = String::from_utf8_lossy(&self.size_line).into_owned();
                self.size_line.clear();
                let hex = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(hex, 16)
                    .map_err(|_| format!("chunked body: bad chunk size {line:?}"))?;
                if size == 0 {
                    // The last chunk; its trailer's CRLF may follow.
                    self.done = true;
                    return Ok(());
                }
                self.data = size;
            }
        }
        Ok(())
    }
}

/// What takes a reply's body as it comes.
type BodyBytes<'a> = dyn FnMut(&[u8]) -> Res<()> + 'a;

/// One `GET PATH` with `Connection: close` over a new connection (the
/// connect is not timed): the time from sending the request to the
/// server's close after its last byte, the reply's head (lower case) and
/// its length in bytes; the body's bytes are handed to `each` as they
/// come (none: only counted).
fn http_once(
    addr: std::net::SocketAddr,
    path: &str,
    mut each: Option<&mut BodyBytes>,
) -> Res<(f64, String, usize)> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut buf = vec![0u8; 1 << 20];
    let mut head: Vec<u8> = Vec::new();
    let mut head_len = None;
    let mut total = 0;
    let start = Instant::now();
    s.write_all(req.as_bytes())
        .map_err(|e| format!("send to {addr}: {e}"))?;
    loop {
        let n = s
            .read(&mut buf)
            .map_err(|e| format!("read from {addr}: {e}"))?;
        if n == 0 {
            break;
        }
        total += n;
        let mut got = &buf[..n];
        if head_len.is_none() {
            let before = head.len();
            head.extend_from_slice(got);
            if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                head_len = Some(p + 4);
                got = &got[p + 4 - before..];
                head.truncate(p + 4);
            } else {
                continue;
            }
        }
        if let Some(f) = each.as_mut() {
            f(got)?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let head_len = head_len.ok_or_else(|| format!("no HTTP head in {total} bytes"))?;
    let head = String::from_utf8_lossy(&head[..head_len]).to_ascii_lowercase();
    Ok((secs, head, total))
}

/// `http-get ADDR:PORT [PATH]`: one timed `GET PATH` (default `/metrics`)
/// whose reply is only counted as it comes (the client must not slow the
/// server down: under icount they share the one CPU), then an untimed one
/// whose body is de-chunked and counted. Both must be 200 and chunked or
/// close-delimited. Prints `http-get SECS bytes=B series=S wire=W` (B, S:
/// the second body's bytes and series; W: the timed reply's bytes with its
/// head and framing).
fn http_get(args: &[String]) -> Res<ExitCode> {
    let addr: std::net::SocketAddr = args
        .first()
        .ok_or_else(usage)?
        .parse()
        .map_err(|_| format!("{:?}: not ADDR:PORT", args[0]))?;
    let path = args.get(1).map_or("/metrics", String::as_str);
    let ok = |head: &str| -> Res<bool> {
        let status = head.lines().next().unwrap_or("");
        if !status.starts_with("http/1.1 200 ") {
            return Err(format!("GET {path}: {status:?}"));
        }
        Ok(head
            .lines()
            .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked")))
    };
    let (secs, head, wire) = http_once(addr, path, None)?;
    ok(&head)?;
    let mut d = Dechunk::default();
    let mut plain = Dechunk::default();
    // Whether the body is chunked is known from the head only afterwards:
    // both ways are counted, a framing error kept for then.
    let mut framing = None;
    let mut feed = |b: &[u8]| -> Res<()> {
        plain.body(b);
        if framing.is_none() {
            framing = d.feed(b).err();
        }
        Ok(())
    };
    let (_, head2, _) = http_once(addr, path, Some(&mut feed))?;
    let (bytes, series) = if ok(&head2)? {
        if let Some(e) = framing {
            return Err(e);
        }
        if !d.done {
            return Err(format!("GET {path}: the chunked body has no last chunk"));
        }
        (d.bytes, d.series)
    } else {
        (plain.bytes, plain.series)
    };
    println!("http-get {secs:.6} bytes={bytes} series={series} wire={wire}");
    Ok(ExitCode::SUCCESS)
}

/// `count`: stdin's bytes and series (as `http-get` counts them).
fn count() -> Res<ExitCode> {
    use std::io::Read;
    let mut d = Dechunk::default();
    let mut buf = vec![0u8; 1 << 20];
    let mut stdin = std::io::stdin().lock();
    loop {
        let n = stdin.read(&mut buf).map_err(|e| format!("stdin: {e}"))?;
        if n == 0 {
            break;
        }
        d.body(&buf[..n]);
    }
    println!("count bytes={} series={}", d.bytes, d.series);
    Ok(ExitCode::SUCCESS)
}

/// `render N [PER] [--per-service] [--health]`: `format::metrics::render`
/// of gen's table (N services x PER real servers) with every counter set,
/// as `ipvsadm metrics` (or, with `--health`, the daemon with no monitor:
/// every real server `NO_MONITOR`) would write it; no kernel. Only the
/// render is timed.
fn render(args: &[String]) -> Res<ExitCode> {
    use ipvsadm_rs::format::metrics::{self, DestHealth, Options};
    use ipvsadm_rs::model::{Dest, FwdMethod, Service, ServiceKey};
    let flags: Vec<&String> = args.iter().filter(|a| a.starts_with("--")).collect();
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let n = num(pos.first().copied(), "N")?;
    let per = per(pos.get(1).copied())?;
    let mut opts = Options::default();
    let mut health = false;
    for f in flags {
        match f.as_str() {
            "--per-service" => opts.per_service_only = true,
            "--health" => health = true,
            _ => return Err(usage()),
        }
    }
    let big = |i: usize, k: u64| (i as u64 + 1) * 1_000_003 * k;
    let table: Vec<(Service, Vec<Dest>)> = (0..n)
        .map(|i| {
            let vip = 1 + i / PORTS_PER_VIP;
            let port = (1 + i % PORTS_PER_VIP) as u16;
            let addr = std::net::Ipv4Addr::new(192, 0, 2, vip as u8).into();
            let mut s = Service::new(ServiceKey::tcp(addr, port), "wrr");
            s.stats.conns = big(i, 1);
            s.stats.inpkts = big(i, 7);
            s.stats.outpkts = big(i, 5);
            s.stats.inbytes = big(i, 900);
            s.stats.outbytes = big(i, 5000);
            let ds = (1..=per)
                .map(|r| {
                    let mut d =
                        Dest::new(std::net::Ipv4Addr::new(198, 51, 100, r as u8).into(), port);
                    d.fwd = FwdMethod::Masq;
                    d.active_conns = (i % 97) as u32;
                    d.inact_conns = (i % 13) as u32;
                    d.stats.conns = big(i, 1) / 4;
                    d.stats.inpkts = big(i, 7) / 4;
                    d.stats.outpkts = big(i, 5) / 4;
                    d.stats.inbytes = big(i, 900) / 4;
                    d.stats.outbytes = big(i, 5000) / 4;
                    d
                })
                .collect();
            (s, ds)
        })
        .collect();
    let h = |_: &ServiceKey, d: &Dest| {
        health.then_some(DestHealth {
            up: true,
            operating_status: "ONLINE",
            configured_weight: d.weight,
            consecutive_failures: 0,
            last_change: 1_790_000_000.25,
            checked: true,
        })
    };
    let start = Instant::now();
    let mut out = String::new();
    let hs = metrics::health_in_order(&table, h);
    metrics::render(&mut out, &table, &|_| None, &hs, &opts);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "render {secs:.6} bytes={} series={}",
        out.len(),
        series(out.as_bytes())
    );
    Ok(ExitCode::SUCCESS)
}
