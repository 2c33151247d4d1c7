//! Prometheus text exposition (format 0.0.4) of the IPVS tables: every
//! 64-bit counter of every service and real server, connection gauges and
//! weights; health comes from the daemon ([`Health`]).
//!
//! Names follow Prometheus conventions (`_total` counters, base units) and
//! node_exporter's `node_ipvs_*` label names where the meaning is the
//! same (`proto`, `local_address`, `local_port`, `local_mark`,
//! `remote_address`, `remote_port`), so dashboards port by renaming the
//! metric prefix. A fwmark service is one series set (`proto="FWM"`,
//! `local_mark` set, address and port empty), never one per address.
//!
//! Each family is written whole (`# HELP`, `# TYPE`, its samples), as the
//! format requires; label sets are built once per entry and reused.

use crate::model::{Dest, FwdMethod, Protocol, Service, ServiceKey, Stats};
use std::fmt::Write as _;

/// What to expose.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Per service only: no real-server series (bounded cardinality).
    pub per_service_only: bool,
}

/// Health of one real server, as the daemon knows it.
#[derive(Clone, Debug)]
pub struct DestHealth {
    pub up: bool,
    /// `ONLINE`, `ERROR`, `DRAINING`, `NO_MONITOR`.
    pub operating_status: &'static str,
    pub configured_weight: i32,
    pub consecutive_failures: u32,
    /// Unix time of the last change of `up`.
    pub last_change: f64,
    /// Checked by a monitor (or draining): the health series are written.
    /// Otherwise only `ipvs_backend_weight_configured`.
    pub checked: bool,
}

/// Upper bounds (seconds) of the buckets of a check's duration: from a
/// check on the same LAN (under a millisecond) to a timeout (at most 10 s
/// is worth telling apart).
pub const CHECK_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram over [`CHECK_BUCKETS`]: a count per bucket (not
/// cumulative; the last one above every bound) and the sum. Recording is
/// one comparison walk and two additions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    counts: [u64; CHECK_BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    /// Count one observation of `secs` seconds.
    pub fn observe(&mut self, secs: f64) {
        let secs = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
        let i = CHECK_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(CHECK_BUCKETS.len());
        self.counts[i] += 1;
        self.sum += secs;
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }
}

/// A histogram family, whole: `_bucket{…,le}` cumulative up to
/// `le="+Inf"` (= `_count`), `_sum`, `_count` for each labelled series.
/// `labels` are written as given (without braces; may be empty).
pub fn histogram(out: &mut String, name: &str, help: &str, series: &[(String, &Histogram)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (labels, h) in series {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cum = 0u64;
        for (b, n) in CHECK_BUCKETS.iter().zip(&h.counts) {
            cum += n;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cum}");
        }
        let total = h.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {total}");
        if labels.is_empty() {
            let _ = writeln!(out, "{name}_sum {}", h.sum);
            let _ = writeln!(out, "{name}_count {total}");
        } else {
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
        }
    }
}

/// A label value, escaped (`\`, `"`, newline) into `out`.
pub fn push_label_value(out: &mut String, v: &str) {
    escape(out, v)
}

/// Escape a label value (`\`, `"`, newline).
fn escape(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn proto(key: &ServiceKey) -> &'static str {
    match key {
        ServiceKey::Addr { protocol, .. } => match protocol {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
            Protocol::Other(_) => "OTHER",
        },
        ServiceKey::Fwmark { .. } => "FWM",
    }
}

fn forwarding(f: FwdMethod) -> &'static str {
    match f {
        FwdMethod::Masq => "masq",
        FwdMethod::Local => "local",
        FwdMethod::Tunnel => "tunnel",
        FwdMethod::Route => "route",
        FwdMethod::Other(_) => "other",
    }
}

/// The labels that name a service (without braces): node_exporter's
/// `proto`, `local_address`, `local_port`, `local_mark`, and the address
/// `family` (fwmark 7 of IPv4 and of IPv6 are two services with the same
/// mark). Every series of the service and of its real servers carries
/// them; the rest of what is known about it is in `ipvs_service_info`
/// ([`push_info_labels`]).
fn push_service_labels(l: &mut String, svc: &Service) {
    l.push_str("proto=\"");
    l.push_str(proto(&svc.key));
    l.push_str("\",local_address=\"");
    match &svc.key {
        ServiceKey::Addr { addr, port, .. } => {
            push_addr(l, *addr);
            l.push_str("\",local_port=\"");
            push_u64(l, u64::from(*port));
            l.push_str("\",local_mark=\"\"");
        }
        ServiceKey::Fwmark { mark, .. } => {
            l.push_str("\",local_port=\"\",local_mark=\"");
            push_u64(l, u64::from(*mark));
            l.push('"');
        }
    }
    l.push_str(match svc.key.family() {
        crate::model::Family::Inet => ",family=\"ipv4\"",
        crate::model::Family::Inet6 => ",family=\"ipv6\"",
    });
}

/// `ipvs_service_info`'s own labels (after [`push_service_labels`]'): the
/// scheduler and the name from FILE.
fn push_info_labels(l: &mut String, svc: &Service, name: Option<&str>) {
    l.push_str(",scheduler=\"");
    escape(l, &svc.scheduler);
    l.push_str("\",name=\"");
    escape(l, name.unwrap_or(""));
    l.push('"');
}

/// A real server's own labels (after its service's): node_exporter's
/// `remote_address`, `remote_port`; then the block's end, `} `. Built in
/// a stack buffer and appended at once for IPv4 (a scrape builds 100 000).
fn push_dest_tail(l: &mut String, d: &Dest) {
    const ADDR: &[u8] = b",remote_address=\"";
    const PORT: &[u8] = b"\",remote_port=\"";
    const END: &[u8] = b"\"} ";
    let std::net::IpAddr::V4(v4) = d.addr else {
        l.push_str(",remote_address=\"");
        push_addr(l, d.addr);
        l.push_str("\",remote_port=\"");
        push_u64(l, u64::from(d.port));
        l.push_str("\"} ");
        return;
    };
    // 17 + 15 + 15 + 5 + 3 bytes at most.
    let mut buf = [0u8; 64];
    buf[..ADDR.len()].copy_from_slice(ADDR);
    let mut n = put_ipv4(&mut buf, ADDR.len(), v4);
    buf[n..n + PORT.len()].copy_from_slice(PORT);
    n += PORT.len();
    let mut digits = [0u8; 5];
    let (mut i, mut p) = (digits.len(), d.port);
    loop {
        i -= 1;
        digits[i] = b'0' + (p % 10) as u8;
        p /= 10;
        if p == 0 {
            break;
        }
    }
    let port = &digits[i..];
    buf[n..n + port.len()].copy_from_slice(port);
    n += port.len();
    buf[n..n + END.len()].copy_from_slice(END);
    n += END.len();
    // SAFETY: ASCII only (the constants, digits and dots).
    unsafe { l.as_mut_vec() }.extend_from_slice(&buf[..n]);
}

/// `v4` in dotted decimal into `buf` from `at`, which needs 16 bytes of
/// room (each octet's digits from a table, then a dot, the last one
/// dropped: "255.255.255.255."); returns where it ends.
fn put_ipv4(buf: &mut [u8], at: usize, v4: std::net::Ipv4Addr) -> usize {
    let mut n = at;
    for o in v4.octets() {
        let (digits, len) = OCTETS[usize::from(o)];
        buf[n..n + 3].copy_from_slice(&digits);
        n += usize::from(len);
        buf[n] = b'.';
        n += 1;
    }
    n - 1
}

/// An address as `Display` writes it; IPv4 without `core::fmt`.
fn push_addr(out: &mut String, a: std::net::IpAddr) {
    match a {
        std::net::IpAddr::V4(v4) => {
            let mut buf = [0u8; 16];
            let n = put_ipv4(&mut buf, 0, v4);
            // SAFETY: digits and dots are ASCII.
            unsafe { out.as_mut_vec() }.extend_from_slice(&buf[..n]);
        }
        std::net::IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Each of 0..=255 in decimal (left-aligned in 3 bytes) and its length.
const OCTETS: [([u8; 3], u8); 256] = {
    let mut t = [([0u8; 3], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let v = i as u8;
        t[i] = if v >= 100 {
            ([b'0' + v / 100, b'0' + v / 10 % 10, b'0' + v % 10], 3)
        } else if v >= 10 {
            ([b'0' + v / 10, b'0' + v % 10, 0], 2)
        } else {
            ([b'0' + v, 0, 0], 1)
        };
        i += 1;
    }
    t
};

/// Two decimal digits of each of 0..100.
const DIGITS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `v` in decimal, without `core::fmt` (a scrape writes a million of
/// them).
fn push_u64(out: &mut String, v: u64) {
    // SAFETY: only ASCII digits are appended, so `out` stays UTF-8.
    push_u64_bytes(unsafe { out.as_mut_vec() }, v)
}

#[inline]
fn push_u64_bytes(out: &mut Vec<u8>, mut v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS[r..r + 2]);
    }
    if v >= 10 {
        let r = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS[r..r + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// A sample's value.
#[derive(Clone, Copy, Debug)]
enum Num {
    U(u64),
    I(i64),
    /// Three decimals, as `{:.3}`.
    Fixed3(f64),
}

fn push_num(out: &mut String, v: Num) {
    match v {
        Num::U(v) => push_u64(out, v),
        Num::I(v) => {
            if v < 0 {
                out.push('-');
            }
            push_u64(out, v.unsigned_abs());
        }
        // Thousandths fit in a u64 exactly up to 2^53: every timestamp.
        Num::Fixed3(v) if (0.0..9.0e12).contains(&v) => {
            let ms = (v * 1000.0).round() as u64;
            push_u64(out, ms / 1000);
            let r = ms % 1000;
            out.push('.');
            out.push(char::from(b'0' + (r / 100) as u8));
            out.push(char::from(b'0' + (r / 10 % 10) as u8));
            out.push(char::from(b'0' + (r % 10) as u8));
        }
        Num::Fixed3(v) => {
            let _ = write!(out, "{v:.3}");
        }
    }
}

impl From<u64> for Num {
    fn from(v: u64) -> Num {
        Num::U(v)
    }
}

impl From<i64> for Num {
    fn from(v: i64) -> Num {
        Num::I(v)
    }
}

impl From<u32> for Num {
    fn from(v: u32) -> Num {
        Num::U(u64::from(v))
    }
}

impl From<i32> for Num {
    fn from(v: i32) -> Num {
        Num::I(i64::from(v))
    }
}

impl From<u8> for Num {
    fn from(v: u8) -> Num {
        Num::U(u64::from(v))
    }
}

impl From<usize> for Num {
    fn from(v: usize) -> Num {
        Num::U(v as u64)
    }
}

/// The `# HELP` and `# TYPE` lines of a family.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The `# HELP` and `# TYPE` of a gauge family.
fn gauge_header(out: &mut String, name: &str, help: &str) {
    header(out, name, "gauge", help);
}

/// The `# HELP` and `# TYPE` of the counter family `{prefix}_{suffix}`
/// (help: "`help` by `of`"); its name.
fn counter_family(out: &mut String, prefix: &str, suffix: &str, help: &str, of: &str) -> String {
    let name = format!("{prefix}_{suffix}");
    header(out, &name, "counter", &format!("{help} by {of}"));
    name
}

/// `name`, then `block` (`{labels} `), then `v` and the line's end.
fn sample_block(out: &mut String, name: &str, block: &str, v: Num) {
    out.reserve(name.len() + block.len() + 24);
    out.push_str(name);
    out.push_str(block);
    push_num(out, v);
    out.push('\n');
}

/// The hot path of a scrape: `name`, then `block` (`{labels} ` whole,
/// built once per entry), then an unsigned value and the line's end: one
/// reserve, then [`put_sample`].
#[inline]
fn sample_u(out: &mut String, name: &str, block: &str, v: u64) {
    let (name, block) = (name.as_bytes(), block.as_bytes());
    let len = sample_len(name, block, v);
    // SAFETY: `out` is only appended to, with the UTF-8 of `name` and
    // `block` and ASCII digits and newline, so it stays UTF-8. `reserve`
    // makes room for the `len` bytes `put_sample` writes; the length is
    // then set past them.
    unsafe {
        let o = out.as_mut_vec();
        o.reserve(len);
        let at = o.len();
        put_sample(o.as_mut_ptr().add(at), name, block, v, len);
        o.set_len(at + len);
    }
}

/// The length of the line `name` `block` `v` newline (`name` and `block`
/// are UTF-8).
#[inline]
fn sample_len(name: &[u8], block: &[u8], v: u64) -> usize {
    let digits = if v < 10 { 1 } else { v.ilog10() as usize + 1 };
    name.len() + block.len() + digits + 1
}

/// Write the line `name` `block` `v` newline, `len` bytes
/// ([`sample_len`]), at `q`: plain copies, the digits written in place
/// from the last.
///
/// # Safety
/// `q` must be valid for `len` bytes of writes that overlap neither
/// `name` nor `block`.
#[inline]
unsafe fn put_sample(q: *mut u8, name: &[u8], block: &[u8], v: u64, len: usize) {
    let n = name.len();
    std::ptr::copy_nonoverlapping(name.as_ptr(), q, n);
    std::ptr::copy_nonoverlapping(block.as_ptr(), q.add(n), block.len());
    write_digits(q.add(len - 1), v);
    *q.add(len - 1) = b'\n';
}

/// `health(service, real server)` for every real server of `table`, in
/// table order: what [`render`] takes.
pub fn health_in_order(
    table: &[(Service, Vec<Dest>)],
    health: impl Fn(&ServiceKey, &Dest) -> Option<DestHealth>,
) -> Vec<Option<DestHealth>> {
    table
        .iter()
        .flat_map(|(s, ds)| ds.iter().map(|d| health(&s.key, d)))
        .collect()
}

/// See [`render_to`].
pub const FLUSH_AT: usize = 1 << 20;

/// The counter families of services and of real servers: name suffix,
/// help; the values are [`counters`]' in this order.
const COUNTERS: [(&str, &str); 5] = [
    ("connections_total", "Connections scheduled"),
    ("incoming_packets_total", "Packets in"),
    ("outgoing_packets_total", "Packets out"),
    ("incoming_bytes_total", "Bytes in"),
    ("outgoing_bytes_total", "Bytes out"),
];

fn counters(s: &Stats) -> [u64; 5] {
    [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes]
}

/// What a scrape writes of a service besides its labels.
struct SvcRow {
    counters: [u64; 5],
    /// Over its real servers: active connections, inactive connections,
    /// current weights (negative ones as 0), for `--per-service`.
    sums: [i64; 3],
}

/// What a scrape writes of a real server besides its labels: 64 bytes
/// where a whole [`Dest`] is 144 (100 000 real servers: 6.4 MB, not
/// 14.4 MB; every megabyte a process touches first is a megabyte the
/// kernel clears for it).
struct DestRow {
    counters: [u64; 5],
    /// Active, inactive, persistent connections.
    conns: [u32; 3],
    weight: i32,
    fwd: FwdMethod,
}

/// One scrape being gathered: [`Scrape::push`] takes each service with its
/// real servers as they are read and keeps only what the scrape writes:
/// each entry's label block, built once, and its values. [`Scrape::write`]
/// then writes every family whole (the format wants each family's samples
/// together, so nothing can be written before the last service is in).
/// `ipvsadm metrics` feeds it straight from the kernel's dumps, so the
/// table itself is never held.
///
/// Labels: every series of a service or a real server carries only the
/// labels that name it: node_exporter's (`proto`, `local_address`,
/// `local_port`, `local_mark`, and `remote_address`, `remote_port`) and
/// `family`; the rest is written once per entry in `ipvs_service_info`
/// (`scheduler`, `name`) and `ipvs_backend_info` (`forwarding`), to be
/// joined with `group_left` (`* on(proto, local_address, local_port,
/// local_mark, family) group_left(name) ipvs_service_info`). Health
/// series are written for real servers that have a monitor or are
/// draining.
pub struct Scrape {
    per_service_only: bool,
    /// `{labels} ` of every service in one arena: the k-th is
    /// `svc_text[svc_ends[k]..svc_ends[k + 1]]`.
    svc_text: String,
    svc_ends: Vec<usize>,
    /// `,scheduler="…",name="…"` of every service, the same way.
    info_text: String,
    info_ends: Vec<usize>,
    svcs: Vec<SvcRow>,
    /// `{labels} ` of every real server (its service's labels and its
    /// own), the same way; empty with `per_service_only`.
    dest_text: String,
    dest_ends: Vec<usize>,
    dests: Vec<DestRow>,
    /// Real servers pushed (also counted with `per_service_only`).
    ndests: usize,
}

impl Scrape {
    pub fn new(opts: &Options) -> Scrape {
        Scrape {
            per_service_only: opts.per_service_only,
            svc_text: String::new(),
            svc_ends: vec![0],
            info_text: String::new(),
            info_ends: vec![0],
            svcs: Vec::new(),
            dest_text: String::new(),
            dest_ends: vec![0],
            dests: Vec::new(),
            ndests: 0,
        }
    }

    /// Room for `services` services with `dests` real servers in all.
    pub fn reserve(&mut self, services: usize, dests: usize) {
        self.svc_text.reserve(services * 96);
        self.svc_ends.reserve(services);
        self.info_text.reserve(services * 32);
        self.info_ends.reserve(services);
        self.svcs.reserve(services);
        if !self.per_service_only {
            self.dest_text.reserve(dests * 136);
            self.dest_ends.reserve(dests);
            self.dests.reserve(dests);
        }
    }

    /// Add a service, its real servers and its name from FILE.
    pub fn push(&mut self, svc: &Service, dests: &[Dest], name: Option<&str>) {
        let at = self.svc_text.len();
        self.svc_text.push('{');
        push_service_labels(&mut self.svc_text, svc);
        let labels_end = self.svc_text.len();
        self.svc_text.push_str("} ");
        self.svc_ends.push(self.svc_text.len());
        push_info_labels(&mut self.info_text, svc, name);
        self.info_ends.push(self.info_text.len());
        let mut sums = [0i64; 3];
        for d in dests {
            sums[0] += i64::from(d.active_conns);
            sums[1] += i64::from(d.inact_conns);
            sums[2] += i64::from(d.weight.max(0));
        }
        self.svcs.push(SvcRow {
            counters: counters(&svc.stats),
            sums,
        });
        self.ndests += dests.len();
        if self.per_service_only {
            return;
        }
        let labels = &self.svc_text[at..labels_end];
        for d in dests {
            let t = &mut self.dest_text;
            t.reserve(labels.len() + 72);
            t.push_str(labels);
            push_dest_tail(t, d);
            self.dest_ends.push(t.len());
            self.dests.push(DestRow {
                counters: counters(&d.stats),
                conns: [d.active_conns, d.inact_conns, d.persist_conns],
                weight: d.weight,
                fwd: d.fwd,
            });
        }
    }

    /// The scrape, written into `out`, handed to `flush` whenever `out`
    /// holds [`FLUSH_AT`] bytes or more (at a line's end; `flush` writes
    /// and empties it): a scrape of any size goes through one small buffer
    /// (100 000 real servers: 176 MB). What is left in `out` at the end is
    /// the tail. `health` is the daemon's view of each real server in the
    /// order pushed (none for those it does not know; empty without a
    /// daemon), as [`health_in_order`] makes it.
    pub fn write(
        &self,
        out: &mut String,
        health: &[Option<DestHealth>],
        flush: &mut dyn FnMut(&mut String),
    ) {
        let mut flush = |out: &mut String| {
            if out.len() >= FLUSH_AT {
                flush(out)
            }
        };
        let nsvcs = self.svcs.len();
        let _ = writeln!(out, "# HELP ipvs_services Virtual services in the table");
        let _ = writeln!(out, "# TYPE ipvs_services gauge");
        let _ = writeln!(out, "ipvs_services {nsvcs}");
        let _ = writeln!(out, "# HELP ipvs_backends Real servers in the table");
        let _ = writeln!(out, "# TYPE ipvs_backends gauge");
        let _ = writeln!(out, "ipvs_backends {}", self.ndests);
        gauge_header(out, "ipvs_service_info", "1 for each virtual service, labelled with its address family, scheduler and name from FILE");
        let blocks = || arena(&self.svc_text, &self.svc_ends);
        for (b, info) in blocks().zip(arena(&self.info_text, &self.info_ends)) {
            let o = &mut *out;
            o.reserve(b.len() + info.len() + 24);
            o.push_str("ipvs_service_info");
            o.push_str(labels_of(b));
            o.push_str(info);
            o.push_str("} 1\n");
            flush(out);
        }
        for (i, (suffix, help)) in COUNTERS.iter().enumerate() {
            let name = counter_family(out, "ipvs_service", suffix, help, "the virtual service");
            for (b, s) in blocks().zip(&self.svcs) {
                sample_u(out, &name, b, s.counters[i]);
                flush(out);
            }
        }
        if self.per_service_only {
            // Aggregates of the real servers instead of their series.
            let fams = [
                (
                    "ipvs_service_connections_active",
                    "Active connections of all its real servers",
                ),
                (
                    "ipvs_service_connections_inactive",
                    "Inactive connections of all its real servers",
                ),
                (
                    "ipvs_service_weight",
                    "Sum of its real servers' current weights",
                ),
            ];
            for (i, (name, help)) in fams.into_iter().enumerate() {
                gauge_header(out, name, help);
                for (b, s) in blocks().zip(&self.svcs) {
                    sample_block(out, name, b, Num::I(s.sums[i]));
                    flush(out);
                }
            }
            return;
        }
        let blocks = || arena(&self.dest_text, &self.dest_ends);
        gauge_header(
            out,
            "ipvs_backend_info",
            "1 for each real server, labelled with its forwarding method",
        );
        for (k, (b, d)) in blocks().zip(&self.dests).enumerate() {
            let o = &mut *out;
            o.reserve(b.len() + 48);
            o.push_str("ipvs_backend_info");
            o.push_str(labels_of(b));
            o.push_str(",forwarding=\"");
            o.push_str(forwarding(d.fwd));
            o.push_str("\"} 1\n");
            if k % 256 == 255 {
                flush(out);
            }
        }
        flush(out);
        for (i, (suffix, help)) in COUNTERS.iter().enumerate() {
            let name = counter_family(out, "ipvs_backend", suffix, help, "the real server");
            self.each_dest(out, &mut flush, &name, |d| d.counters[i]);
        }
        let gauges = [
            (
                "ipvs_backend_connections_active",
                "Active connections (ActiveConn)",
            ),
            (
                "ipvs_backend_connections_inactive",
                "Inactive connections (InActConn)",
            ),
            (
                "ipvs_backend_connections_persistent",
                "Persistence templates (PersistConn)",
            ),
        ];
        for (i, (name, help)) in gauges.into_iter().enumerate() {
            gauge_header(out, name, help);
            self.each_dest(out, &mut flush, name, |d| u64::from(d.conns[i]));
        }
        gauge_header(out, "ipvs_backend_weight", "Current weight in the kernel");
        if self.dests.iter().all(|d| d.weight >= 0) {
            self.each_dest(out, &mut flush, "ipvs_backend_weight", |d| {
                u64::try_from(d.weight).unwrap_or(0)
            });
        } else {
            for (k, (b, d)) in blocks().zip(&self.dests).enumerate() {
                sample_block(out, "ipvs_backend_weight", b, Num::I(i64::from(d.weight)));
                if k % 256 == 255 {
                    flush(out);
                }
            }
            flush(out);
        }
        // Health, where the daemon knows it.
        if health.iter().all(Option::is_none) {
            return;
        }
        let with = |out: &mut String,
                    flush: &mut dyn FnMut(&mut String),
                    name: &str,
                    help: &str,
                    all: bool,
                    v: &dyn Fn(&DestHealth) -> Num| {
            gauge_header(out, name, help);
            for (k, (b, h)) in blocks().zip(health).enumerate() {
                if let Some(h) = h.as_ref().filter(|h| all || h.checked) {
                    sample_block(out, name, b, v(h));
                }
                if k % 256 == 255 {
                    flush(out);
                }
            }
            flush(out);
        };
        // Name, help, for every real server the daemon knows (or only
        // those checked), value.
        type HealthOf = fn(&DestHealth) -> Num;
        let fams: [(&str, &str, bool, HealthOf); 4] = [
            (
                "ipvs_backend_weight_configured",
                "Weight in FILE",
                true,
                |h| h.configured_weight.into(),
            ),
            (
                "ipvs_backend_up",
                "1 if the health checks pass, else 0 (real servers with a monitor or draining)",
                false,
                |h| u8::from(h.up).into(),
            ),
            (
                "ipvs_backend_check_consecutive_failures",
                "Failed checks in a row",
                false,
                |h| h.consecutive_failures.into(),
            ),
            (
                "ipvs_backend_last_change_timestamp_seconds",
                "Unix time of the last change of health",
                false,
                |h| Num::Fixed3(h.last_change),
            ),
        ];
        for (name, help, all, v) in fams {
            with(out, &mut flush, name, help, all, &v);
        }
        gauge_header(
            out,
            "ipvs_backend_operating_status",
            "Octavia's operating status (1 for the current one)",
        );
        for (k, (b, h)) in blocks().zip(health).enumerate() {
            if let Some(h) = h.as_ref().filter(|h| h.checked) {
                let l = labels_of(b);
                for st in ["ONLINE", "ERROR", "DRAINING"] {
                    out.reserve(l.len() + 64);
                    out.push_str("ipvs_backend_operating_status");
                    out.push_str(l);
                    out.push_str(",status=\"");
                    out.push_str(st);
                    out.push_str(if h.operating_status == st {
                        "\"} 1\n"
                    } else {
                        "\"} 0\n"
                    });
                }
            }
            if k % 256 == 255 {
                flush(out);
            }
        }
        flush(out);
    }

    /// One family of real servers with unsigned values: `name`, the real
    /// server's block, the value and a newline, for each. The hot loop of
    /// a scrape (eight families of 100 000 lines): lines are written in
    /// groups of 256 straight into room reserved for the group, with a
    /// flush check after each group.
    fn each_dest(
        &self,
        out: &mut String,
        flush: &mut impl FnMut(&mut String),
        name: &str,
        v: impl Fn(&DestRow) -> u64,
    ) {
        let text = self.dest_text.as_bytes();
        let n = name.len();
        for (g, rows) in self.dests.chunks(256).enumerate() {
            let Some(cuts) = self.dest_ends.get(g * 256..g * 256 + rows.len() + 1) else {
                break;
            };
            // The group's blocks lie one after the other in the arena: its
            // room is their span and, for each line, the name, at most 20
            // digits and the newline.
            let span = cuts[rows.len()].saturating_sub(cuts[0]);
            let room = span + rows.len() * (n + 21);
            let mut done = 0;
            // SAFETY: only ASCII digits, newlines and copies of `name` and
            // of whole arena pieces (UTF-8, see `arena`) are appended, so
            // `out` stays UTF-8. Every line is written into the spare room
            // reserved for the group, after checking that it fits
            // (`at + len <= room`); the length is set to what was written.
            unsafe {
                let o = out.as_mut_vec();
                o.reserve(room);
                let len0 = o.len();
                let p = o.as_mut_ptr().add(len0);
                let mut at = 0;
                for (i, d) in rows.iter().enumerate() {
                    let block = text.get(cuts[i]..cuts[i + 1]).unwrap_or_default();
                    let v = v(d);
                    let len = sample_len(name.as_bytes(), block, v);
                    if at + len > room {
                        break;
                    }
                    put_sample(p.add(at), name.as_bytes(), block, v, len);
                    at += len;
                    done = i + 1;
                }
                o.set_len(len0 + at);
            }
            // What did not fit (nothing, unless the arena's ends were out
            // of order), the slow way.
            let rest = arena(&self.dest_text, cuts).zip(rows).skip(done);
            for (b, d) in rest {
                sample_u(out, name, b, v(d));
            }
            flush(out);
        }
        flush(out);
    }
}

/// `v`'s decimal digits, written backwards from just before `end`.
///
/// # Safety
/// The digits of `v` (at most 20) must fit in the bytes before `end`.
#[inline]
unsafe fn write_digits(end: *mut u8, mut v: u64) {
    let mut q = end;
    while v >= 100 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        q = q.sub(2);
        std::ptr::copy_nonoverlapping(DIGITS.as_ptr().add(r), q, 2);
    }
    if v >= 10 {
        q = q.sub(2);
        std::ptr::copy_nonoverlapping(DIGITS.as_ptr().add(v as usize * 2), q, 2);
    } else {
        q = q.sub(1);
        *q = b'0' + v as u8;
    }
}

/// A block without its closing `} `: `{labels`, for a series that adds a
/// label of its own.
fn labels_of(block: &str) -> &str {
    block.strip_suffix("} ").unwrap_or(block)
}

/// The pieces of an arena: `text[ends[k]..ends[k + 1]]` for each k.
/// `ends` must be ascending char boundaries of `text`, as [`Scrape::push`]
/// records them (each the arena's length right after a whole `&str` was
/// pushed); only the `Scrape`'s own arenas are passed.
fn arena<'a>(text: &'a str, ends: &'a [usize]) -> impl Iterator<Item = &'a str> + 'a {
    debug_assert!(ends
        .windows(2)
        .all(|w| w[0] <= w[1] && text.is_char_boundary(w[1])));
    let cuts = ends.iter().zip(ends.get(1..).unwrap_or(&[]));
    cuts.map(move |(&a, &z)| {
        if a <= z && z <= text.len() {
            // SAFETY: in bounds and in order (just checked); both are char
            // boundaries (see above). This runs for every sample of a
            // scrape, where `&text[a..z]` would also test both for being
            // char boundaries.
            unsafe { text.get_unchecked(a..z) }
        } else {
            ""
        }
    })
}

/// One scrape of `table`. `names` gives each service's name from FILE (or
/// none); `health` as [`Scrape::write`] takes it.
pub fn render(
    out: &mut String,
    table: &[(Service, Vec<Dest>)],
    names: &dyn Fn(&ServiceKey) -> Option<String>,
    health: &[Option<DestHealth>],
    opts: &Options,
) {
    render_to(out, table, names, health, opts, &mut |_| {});
}

/// [`render`] through [`Scrape::write`]'s `flush`.
pub fn render_to(
    out: &mut String,
    table: &[(Service, Vec<Dest>)],
    names: &dyn Fn(&ServiceKey) -> Option<String>,
    health: &[Option<DestHealth>],
    opts: &Options,
    flush: &mut dyn FnMut(&mut String),
) {
    let mut s = Scrape::new(opts);
    s.reserve(table.len(), table.iter().map(|(_, d)| d.len()).sum());
    for (svc, ds) in table {
        s.push(svc, ds, names(&svc.key).as_deref());
    }
    s.write(out, health, flush);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family as Af, ServiceKey};

    fn table() -> Vec<(Service, Vec<Dest>)> {
        let mut s = Service::new(ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80), "wrr");
        s.stats.conns = 7;
        s.stats.inbytes = 1 << 40;
        let mut d = Dest::new("198.51.100.1".parse().unwrap(), 8080);
        d.fwd = FwdMethod::Masq;
        d.active_conns = 3;
        d.stats.conns = 7;
        let f = Service::new(ServiceKey::fwmark(Af::Inet6, 4_000_000_000), "rr");
        let d6 = Dest::new("2001:db8::1".parse().unwrap(), 0);
        vec![(s, vec![d]), (f, vec![d6])]
    }

    #[test]
    fn families_are_whole_and_labelled() {
        let mut out = String::new();
        let names = |k: &ServiceKey| {
            matches!(k, ServiceKey::Addr { .. }).then_some("web \"1\"".to_string())
        };
        render(&mut out, &table(), &names, &[], &Options::default());
        assert!(
            out.contains(
                "ipvs_service_connections_total{proto=\"TCP\",local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\"} 7\n"
            ),
            "{out}"
        );
        assert!(out.contains(
            "ipvs_service_info{proto=\"TCP\",local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",scheduler=\"wrr\",name=\"web \\\"1\\\"\"} 1\n"
        ), "{out}");
        assert!(out.contains(
            "ipvs_service_info{proto=\"FWM\",local_address=\"\",local_port=\"\",local_mark=\"4000000000\",family=\"ipv6\",scheduler=\"rr\",name=\"\"} 1\n"
        ), "{out}");
        assert!(
            out.contains("ipvs_service_incoming_bytes_total{proto=\"TCP\""),
            "{out}"
        );
        assert!(out.contains(" 1099511627776\n"), "{out}");
        assert!(out.contains(
            "ipvs_backend_connections_active{proto=\"FWM\",local_address=\"\",local_port=\"\",local_mark=\"4000000000\",family=\"ipv6\",remote_address=\"2001:db8::1\",remote_port=\"0\"} 0\n"
        ), "{out}");
        assert!(out.contains(
            "ipvs_backend_info{proto=\"TCP\",local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.1\",remote_port=\"8080\",forwarding=\"masq\"} 1\n"
        ), "{out}");
        assert!(
            out.contains("ipvs_backend_connections_active{proto=\"TCP\",local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.1\",remote_port=\"8080\"} 3\n"),
            "{out}"
        );
        // Each family's samples follow its TYPE line, never interleaved.
        let mut seen = std::collections::HashSet::new();
        let mut current = String::new();
        for line in out.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                current = rest.split(' ').next().unwrap().to_string();
                assert!(seen.insert(current.clone()), "{current} twice");
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(name, current, "{line}");
            }
        }
        assert!(!out.contains("ipvs_backend_up"));
    }

    /// No two samples share a name and label set: fwmark 7 of IPv4 and of
    /// IPv6 (node_exporter's duplicate series), with health, and every
    /// info series joins one-to-one on the labels the series share.
    #[test]
    fn no_duplicate_series() {
        let mut t = table();
        for af in [Af::Inet, Af::Inet6] {
            let ip: std::net::IpAddr = match af {
                Af::Inet => "198.51.100.7".parse().unwrap(),
                Af::Inet6 => "2001:db8::7".parse().unwrap(),
            };
            t.push((
                Service::new(ServiceKey::fwmark(af, 7), "rr"),
                vec![Dest::new(ip, 0), Dest::new(ip, 80)],
            ));
        }
        let h = |_: &ServiceKey, d: &Dest| {
            Some(DestHealth {
                up: true,
                operating_status: "ONLINE",
                configured_weight: 1,
                consecutive_failures: 0,
                last_change: 1.0,
                checked: d.port != 80,
            })
        };
        let mut out = String::new();
        render(
            &mut out,
            &t,
            &|_| None,
            &health_in_order(&t, h),
            &Options::default(),
        );
        let mut seen = std::collections::HashSet::new();
        for l in out.lines().filter(|l| !l.starts_with('#')) {
            let (series, _) = l.rsplit_once(' ').unwrap();
            assert!(seen.insert(series.to_string()), "twice: {series}\n{out}");
        }
        let infos = out
            .lines()
            .filter(|l| l.starts_with("ipvs_service_info{"))
            .count();
        assert_eq!(infos, t.len());
        assert_eq!(
            out.lines()
                .filter(|l| l.starts_with("ipvs_service_info{") && l.contains("local_mark=\"7\""))
                .count(),
            2
        );
    }

    #[test]
    fn histogram_is_cumulative() {
        let mut h = Histogram::default();
        for s in [0.0004, 0.001, 0.003, 0.2, 7.0, 12.0, f64::NAN] {
            h.observe(s);
        }
        assert_eq!(h.count(), 7);
        let mut out = String::new();
        let l = "remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\"".to_string();
        histogram(&mut out, "x_seconds", "Help", &[(l, &h)]);
        let want = "# HELP x_seconds Help
# TYPE x_seconds histogram
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.001\"} 3
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.0025\"} 3
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.005\"} 4
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.01\"} 4
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.025\"} 4
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.05\"} 4
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.1\"} 4
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.25\"} 5
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"0.5\"} 5
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"1\"} 5
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"2.5\"} 5
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"5\"} 5
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"10\"} 6
x_seconds_bucket{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\",le=\"+Inf\"} 7
x_seconds_sum{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\"} 19.2044
x_seconds_count{remote_address=\"198.51.100.1\",remote_port=\"80\",check=\"TCP\"} 7
";
        assert_eq!(out, want);
        // Without labels, and with no series: a family with no samples.
        let mut out = String::new();
        histogram(
            &mut out,
            "y",
            "H",
            &[(String::new(), &Histogram::default())],
        );
        assert!(
            out.contains("y_bucket{le=\"+Inf\"} 0\ny_sum 0\ny_count 0\n"),
            "{out}"
        );
        let mut out = String::new();
        histogram(&mut out, "y", "H", &[]);
        assert_eq!(out, "# HELP y H\n# TYPE y histogram\n");
    }

    #[test]
    fn names_are_escaped() {
        let s = Service::new(ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80), "rr");
        let mut l = String::new();
        push_info_labels(&mut l, &s, Some("a\\b\"c\nd é"));
        assert!(l.ends_with(",name=\"a\\\\b\\\"c\\nd é\""), "{l}");
        let mut v = String::new();
        push_label_value(&mut v, "x\"y");
        assert_eq!(v, "x\\\"y");
    }

    #[test]
    fn per_service_only_has_no_backend_series() {
        let mut out = String::new();
        let opts = Options {
            per_service_only: true,
        };
        render(&mut out, &table(), &|_| None, &[], &opts);
        assert!(!out.contains("ipvs_backend_connections"), "{out}");
        assert!(
            out.contains("ipvs_service_connections_active{proto=\"TCP\""),
            "{out}"
        );
        assert!(out.contains("} 3\n"), "{out}");
    }

    #[test]
    fn flushed_scrape_is_the_whole_scrape() {
        let mut big = Vec::new();
        for i in 0..3000u16 {
            let mut s = Service::new(ServiceKey::tcp("192.0.2.1".parse().unwrap(), i), "wrr");
            s.stats.conns = u64::from(i) * 1000;
            let ds = (1..=4u8)
                .map(|r| {
                    let mut d = Dest::new(std::net::Ipv4Addr::new(198, 51, 100, r).into(), i);
                    d.stats.outbytes = u64::from(i) << 20;
                    d
                })
                .collect();
            big.push((s, ds));
        }
        let h = |_: &ServiceKey, d: &Dest| {
            (d.port % 2 == 0).then_some(DestHealth {
                up: true,
                operating_status: "ONLINE",
                configured_weight: 1,
                consecutive_failures: 0,
                last_change: 1700000000.25,
                checked: d.port % 4 == 0,
            })
        };
        for per_service_only in [false, true] {
            let opts = Options { per_service_only };
            let mut whole = String::new();
            let hs = health_in_order(&big, h);
            render(&mut whole, &big, &|_| None, &hs, &opts);
            let (mut out, mut got, mut flushes) = (String::new(), String::new(), 0);
            render_to(&mut out, &big, &|_| None, &hs, &opts, &mut |b| {
                assert!(b.len() >= FLUSH_AT && b.ends_with('\n'));
                got.push_str(b);
                b.clear();
                flushes += 1;
            });
            got.push_str(&out);
            assert!(flushes > 0 || whole.len() < FLUSH_AT);
            assert!(got == whole, "{per_service_only}");
        }
    }

    #[test]
    fn numbers_are_written_as_fmt_writes_them() {
        let mut us: Vec<u64> = vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        us.extend((0..64).map(|b| 1u64 << b));
        us.extend((1..20).map(|e| 10u64.pow(e) - 1));
        us.extend((1..20).map(|e| 10u64.pow(e)));
        // The same values as counters of a real server and of a service
        // (the hot paths: digits written in place).
        let mut svc = Service::new(ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80), "rr");
        let mut ds = Vec::new();
        for (i, &v) in us.iter().enumerate() {
            let mut d = Dest::new("198.51.100.1".parse().unwrap(), i as u16);
            d.stats.conns = v;
            ds.push(d);
        }
        svc.stats.outbytes = u64::MAX;
        let mut scrape = String::new();
        render(
            &mut scrape,
            &[(svc, ds)],
            &|_| None,
            &[],
            &Options::default(),
        );
        assert!(scrape.contains("\",family=\"ipv4\"} 18446744073709551615\n"));
        for (i, &v) in us.iter().enumerate() {
            let line = format!(
                "ipvs_backend_connections_total{{proto=\"TCP\",local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.1\",remote_port=\"{i}\"}} {v}\n"
            );
            assert!(scrape.contains(&line), "{line}");
        }
        for v in us {
            let mut o = String::new();
            push_num(&mut o, Num::U(v));
            assert_eq!(o, v.to_string());
        }
        for v in [0i64, -1, 7, -10, i64::MIN, i64::MAX, -123456789] {
            let mut o = String::new();
            push_num(&mut o, Num::I(v));
            assert_eq!(o, v.to_string());
        }
        for v in [
            0.0,
            0.25,
            1.5,
            1700000000.5,
            1790000000.123,
            1790000000.9996,
            12.0004,
        ] {
            let mut o = String::new();
            push_num(&mut o, Num::Fixed3(v));
            assert_eq!(o, format!("{v:.3}"), "{v}");
        }
        for a in [
            "0.0.0.0",
            "192.0.2.1",
            "255.255.255.255",
            "10.20.3.100",
            "2001:db8::1",
        ] {
            let mut o = String::new();
            push_addr(&mut o, a.parse().unwrap());
            assert_eq!(o, a);
        }
        let ports = [0u16, 9, 10, 99, 100, 9999, 10000, 65535];
        let ds: Vec<Dest> = ports
            .iter()
            .map(|&p| Dest::new("255.0.10.100".parse().unwrap(), p))
            .collect();
        let svc = Service::new(ServiceKey::fwmark(Af::Inet, 1), "rr");
        let mut o = String::new();
        render(&mut o, &[(svc, ds)], &|_| None, &[], &Options::default());
        for p in ports {
            let want = format!(",remote_address=\"255.0.10.100\",remote_port=\"{p}\"}} 1\n");
            assert!(o.contains(&want), "{want}");
        }
        for b in 0..=255u8 {
            let a = std::net::Ipv4Addr::new(b, 255 - b, b / 2, b % 10);
            let mut o = String::new();
            push_addr(&mut o, a.into());
            assert_eq!(o, a.to_string());
        }
    }

    #[test]
    fn health_series() {
        let mut out = String::new();
        // 8080 has a monitor and is down; the fwmark's real server (port
        // 0) is in FILE without a monitor: only its configured weight.
        let h = |_: &ServiceKey, d: &Dest| {
            Some(DestHealth {
                up: d.port != 8080,
                operating_status: if d.port == 8080 {
                    "ERROR"
                } else {
                    "NO_MONITOR"
                },
                configured_weight: 5,
                consecutive_failures: 3,
                last_change: 1700000000.5,
                checked: d.port == 8080,
            })
        };
        let t = table();
        render(
            &mut out,
            &t,
            &|_| None,
            &health_in_order(&t, h),
            &Options::default(),
        );
        let dest = "{proto=\"TCP\",local_address=\"192.0.2.1\",local_port=\"80\",local_mark=\"\",family=\"ipv4\",remote_address=\"198.51.100.1\",remote_port=\"8080\"";
        for want in [
            format!("ipvs_backend_up{dest}}} 0\n"),
            format!("ipvs_backend_check_consecutive_failures{dest}}} 3\n"),
            format!("ipvs_backend_last_change_timestamp_seconds{dest}}} 1700000000.500\n"),
            format!("ipvs_backend_operating_status{dest},status=\"ERROR\"}} 1\n"),
            format!("ipvs_backend_operating_status{dest},status=\"ONLINE\"}} 0\n"),
            format!("ipvs_backend_weight_configured{dest}}} 5\n"),
        ] {
            assert!(out.contains(&want), "{want} in {out}");
        }
        let unmonitored = "remote_address=\"2001:db8::1\"";
        let lines: Vec<&str> = out.lines().filter(|l| l.contains(unmonitored)).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("ipvs_backend_weight_configured{")),
            "{out}"
        );
        for fam in [
            "ipvs_backend_up{",
            "ipvs_backend_operating_status{",
            "ipvs_backend_check_",
        ] {
            assert!(!lines.iter().any(|l| l.starts_with(fam)), "{fam}: {out}");
        }
    }
}
