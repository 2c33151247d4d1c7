//! Benchmark helper run inside the lab VM by `scripts/bench` (no test
//! harness; built with `--features kernel-tests`).
//!
//! ```text
//! bench gen N FILE                 write a rules file: N services x 4 real servers
//! bench floor-restore FILE [BATCH] send FILE's changes pre-encoded, BATCH per sendmsg
//! bench floor-dump                 one services dump + one real-server dump per service
//! bench time -- CMD ARGS...        run CMD (stdin inherited, stdout to /dev/null)
//! bench prep FILE [FAMILY]        floor-restore's untimed part, phase by phase, no
//!                                  socket (diagnostics; runs on any host)
//! bench raw-dump [RECVBUF]         floor-dump's requests over a plain socket, replies
//!                                  only walked for NLMSG_DONE (diagnostics)
//! bench read-costs FILE            what apply's reading costs, part by part: FILE
//!                                  parsed, services dump, /proc/net/ip_vs, whole table
//! ```
//!
//! Every figure is the wall time of the measured part only, from
//! `std::time::Instant`; under qemu `-icount` that is guest instruction time.

use ipvsadm_rs::lang::parse::{parse, Action};
use ipvsadm_rs::lang::stream::ConfigStream;
use ipvsadm_rs::model::{Family, Protocol, ServiceKey};
use ipvsadm_rs::netlink::attr::{CmdAttr, SvcAttr};
use ipvsadm_rs::netlink::codec::addr_from_bytes;
use ipvsadm_rs::netlink::transport::encode_request;
use ipvsadm_rs::netlink::{IpvsMessage, Transport};
use std::io::{BufWriter, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
/// Ports per virtual address in `gen` (1..=65535).
const PORTS_PER_VIP: usize = 65535;

type Res<T> = Result<T, String>;

fn usage() -> String {
    "usage: bench gen N FILE | floor-restore FILE [BATCH] | floor-dump | time -- CMD [ARGS...]"
        .to_string()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("gen") => gen(&args[1..]),
        Some("floor-restore") => floor_restore(&args[1..]),
        Some("floor-dump") => floor_dump(),
        Some("time") => time(&args[1..]),
        Some("raw-dump") => raw_dump(&args[1..]),
        Some("prep") => prep(&args[1..]),
        Some("read-costs") => read_costs(&args[1..]),
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

/// `gen N FILE`: services 192.0.2.V:PORT (PORT 1..=65535, then the next V),
/// each with real servers 198.51.100.1..4 on the same port, masquerading.
fn gen(args: &[String]) -> Res<ExitCode> {
    let n = num(args.first(), "N")?;
    let file = args.get(1).ok_or_else(usage)?;
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
        for rs in 1..=4 {
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
/// acknowledged requests per `sendmsg`, one socket. Only the sends (and the
/// reads of the acks) are timed.
fn floor_restore(args: &[String]) -> Res<ExitCode> {
    let file = args.first().ok_or_else(usage)?;
    let batch = match args.get(1) {
        Some(_) => num(args.get(1), "BATCH")?.max(1),
        None => 64,
    };
    let prep = Instant::now();
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let mut stream = ConfigStream::new(&data);
    let mut msgs = Vec::new();
    while let Some(words) = stream.next_command() {
        if words.first().is_none_or(|w| w.starts_with('#')) {
            continue;
        }
        let mut argv: Vec<&str> = Vec::with_capacity(words.len() + 1);
        argv.push("ipvsadm");
        argv.extend(words.iter().map(|w| w.as_ref()));
        match parse(&argv) {
            Ok(Action::Change(op, _)) => msgs.push(op.to_message()),
            Ok(other) => return Err(format!("{file}:{}: not a change: {other:?}", stream.line)),
            Err(e) => return Err(format!("{file}:{}: {e:?}", stream.line)),
        }
    }

    let mut t = Transport::open().map_err(|e| format!("netlink: {e}"))?;
    let family = t.family_id();
    let mut batches: Vec<(Vec<u8>, u32, usize)> = Vec::new();
    for chunk in msgs.chunks(batch) {
        let first = t.reserve_seqs(chunk.len() as u32);
        let mut bytes = Vec::new();
        for (i, m) in chunk.iter().enumerate() {
            encode_request(
                family,
                m,
                first + i as u32,
                NLM_F_REQUEST | NLM_F_ACK,
                &mut bytes,
            );
        }
        batches.push((bytes, first, chunk.len()));
    }

    eprintln!(
        "bench: floor-restore: {} requests, {} sendmsgs; parse+encode (not timed) {:.6} s",
        msgs.len(),
        batches.len(),
        prep.elapsed().as_secs_f64()
    );
    let mut failed = 0;
    let start = Instant::now();
    for (bytes, first, count) in &batches {
        failed += t
            .send_encoded(bytes, *first, *count)
            .map_err(|e| format!("netlink: {e}"))?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("floor-restore {secs:.6} failed={failed}");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The identity of a service dump entry (nothing else is decoded).
fn service_key(m: &IpvsMessage) -> Res<ServiceKey> {
    let nest = m
        .attrs
        .iter()
        .find_map(|a| match a {
            CmdAttr::Service(v) => Some(v),
            _ => None,
        })
        .ok_or("service dump entry without a service nest")?;
    let (mut af, mut proto, mut addr, mut port, mut mark) = (None, None, None, None, None);
    for a in nest {
        match a {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => proto = Some(*v),
            SvcAttr::Addr(v) => addr = Some(*v),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => mark = Some(*v),
            _ => {}
        }
    }
    let family = af
        .and_then(Family::from_raw)
        .ok_or("service without a known address family")?;
    match (mark, proto, addr, port) {
        (Some(mark), ..) if mark != 0 => Ok(ServiceKey::Fwmark { family, mark }),
        (_, Some(p), Some(a), Some(port)) => Ok(ServiceKey::Addr {
            protocol: Protocol::from_raw(p),
            addr: addr_from_bytes(family, &a),
            port,
        }),
        _ => Err("service without identity".into()),
    }
}

/// `floor-dump`: what any lister must ask the kernel for: one services dump
/// and one real-server dump per service, over one (already open) socket.
fn floor_dump() -> Res<ExitCode> {
    let mut t = Transport::open().map_err(|e| format!("netlink: {e}"))?;
    let start = Instant::now();
    let services = t
        .dump(&IpvsMessage::get_service(None))
        .map_err(|e| format!("GET_SERVICE dump: {e}"))?;
    let keys = services.iter().map(service_key).collect::<Res<Vec<_>>>()?;
    let reqs: Vec<IpvsMessage> = keys.iter().map(IpvsMessage::get_dests).collect();
    let dests = t
        .dump_many(&reqs)
        .map_err(|e| format!("GET_DEST dumps: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let mut n = 0;
    for (k, r) in keys.iter().zip(&dests) {
        match r {
            Ok(v) => n += v.len(),
            Err(e) => return Err(format!("GET_DEST dump of {k:?}: {e:?}")),
        }
    }
    println!("floor-dump {secs:.6} services={} dests={n}", keys.len());
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
    Ok(ExitCode::SUCCESS)
}

/// Read datagrams from `fd` into `buf` until the `NLMSG_DONE` (or error) of
/// sequence `seq`; the number of other messages seen.
fn raw_drain(fd: i32, buf: &mut [u8], seq: u32) -> Res<usize> {
    let mut entries = 0;
    loop {
        // SAFETY: `buf` is a live, writable buffer of the given length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(format!("recv: {}", std::io::Error::last_os_error()));
        }
        let buf = &buf[..n as usize];
        let mut off = 0;
        while off + 16 <= buf.len() {
            let word = |at: usize| u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap());
            let len = word(off) as usize;
            let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
            if len < 16 || off + len > buf.len() {
                return Err("bad netlink message length".into());
            }
            if word(off + 8) == seq {
                match kind {
                    // NLMSG_DONE, NLMSG_ERROR
                    3 | 2 => return Ok(entries),
                    _ => entries += 1,
                }
            }
            off += (len + 3) & !3;
        }
    }
}

/// `raw-dump [RECVBUF]`: floor-dump's requests (pre-encoded) over a plain
/// socket, reads of RECVBUF bytes (default 262144), nothing decoded: the
/// kernel's share of a listing plus the syscalls.
fn raw_dump(args: &[String]) -> Res<ExitCode> {
    let bufsize = match args.first() {
        Some(_) => num(args.first(), "RECVBUF")?.max(4096),
        None => 256 * 1024,
    };
    // Family id and the service keys, untimed.
    let mut t = Transport::open().map_err(|e| format!("netlink: {e}"))?;
    let family = t.family_id();
    let services = t
        .dump(&IpvsMessage::get_service(None))
        .map_err(|e| format!("GET_SERVICE dump: {e}"))?;
    let keys = services.iter().map(service_key).collect::<Res<Vec<_>>>()?;
    drop(t);

    // SAFETY: plain socket calls on a descriptor we own.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_GENERIC) };
    if fd < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    let mut reqs = Vec::with_capacity(keys.len() + 1);
    let enc = |m: &IpvsMessage, seq: u32| {
        let mut v = Vec::new();
        encode_request(family, m, seq, NLM_F_REQUEST | NLM_F_DUMP, &mut v);
        (v, seq)
    };
    reqs.push(enc(&IpvsMessage::get_service(None), 1));
    for (i, k) in keys.iter().enumerate() {
        reqs.push(enc(&IpvsMessage::get_dests(k), 2 + i as u32));
    }
    let mut buf = vec![0u8; bufsize];
    let mut counts = Vec::with_capacity(reqs.len());
    let start = Instant::now();
    for (bytes, seq) in &reqs {
        // SAFETY: `bytes` is a live buffer of the given length.
        let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), 0) };
        if n != bytes.len() as isize {
            return Err(format!("send: {}", std::io::Error::last_os_error()));
        }
        counts.push(raw_drain(fd, &mut buf, *seq)?);
    }
    let secs = start.elapsed().as_secs_f64();
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    let dests: usize = counts[1..].iter().sum();
    println!(
        "raw-dump {secs:.6} services={} dests={dests} recvbuf={bufsize}",
        counts[0]
    );
    Ok(ExitCode::SUCCESS)
}

/// `prep FILE [FAMILY]`: read, tokenize, parse, build and encode FILE's
/// requests with each phase timed separately (FAMILY: any id, default 0x20).
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
    let msgs: Vec<IpvsMessage> = ops.iter().map(|o| o.to_message()).collect();
    let t3 = Instant::now();
    let mut bytes = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        encode_request(
            family,
            m,
            1 + i as u32,
            NLM_F_REQUEST | NLM_F_ACK,
            &mut bytes,
        );
    }
    let t4 = Instant::now();
    let us = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e6 / lines.len().max(1) as f64;
    println!(
        "prep lines={} bytes={} per line (us): read+tokenize {:.2} parse {:.2} to_message {:.2} encode {:.2}",
        lines.len(),
        bytes.len(),
        us(t0, t1),
        us(t1, t2),
        us(t2, t3),
        us(t3, t4)
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
    let mut t = Transport::open().map_err(|e| format!("netlink: {e}"))?;
    let t1 = Instant::now();
    let services = t
        .dump(&IpvsMessage::get_service(None))
        .map_err(|e| format!("GET_SERVICE dump: {e}"))?;
    let svc_dump = t1.elapsed().as_secs_f64();
    drop(t);
    let t2 = Instant::now();
    let proc_text = std::fs::read_to_string("/proc/self/net/ip_vs")
        .map_err(|e| format!("/proc/self/net/ip_vs: {e}"))?;
    let proc_read = t2.elapsed().as_secs_f64();
    let mut ipvs = ipvsadm_rs::Ipvs::connect().map_err(|e| format!("connect: {e}"))?;
    let t3 = Instant::now();
    let table = ipvs.table().map_err(|e| format!("table: {e}"))?;
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
