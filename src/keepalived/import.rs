//! keepalived's IPVS half ([`Node`]s from [`super::parse`]) → [`Doc`].
//!
//! Every keyword keepalived 2.2 accepts in `virtual_server_group`,
//! `virtual_server`, `real_server` and the checkers is known here: it is
//! mapped, or it gets a warning naming FILE:LINE (what the document cannot
//! express). An unknown keyword or a bad value is an error. The defaults
//! are keepalived's, cascading virtual server → real server → checker.
//! How keepalived's checker semantics become a health monitor:
//!
//! * no rise count: one success brings a server back → `max_retries` 1;
//! * `retry` R: a server goes down after R + 1 failed checks →
//!   `max_retries_down` R + 1 (R defaults to 1, 0 for MISC_CHECK);
//! * `delay_loop` → `delay`; `connect_timeout` (MISC: `misc_timeout`,
//!   default `delay_loop`) → `timeout`, kept below `delay`;
//! * `delay_before_retry` has no counterpart (retries come every `delay`):
//!   a warning when it differs;
//! * `inhibit_on_failure` → `on_failure` weight0, else remove;
//! * DR and TUN real servers get the virtual server's port in the table
//!   (keepalived's rule) and are probed at their own port
//!   (`monitor_port`).

use super::doc::{Doc, Monitor, Server, Svc};
use super::parse::{Node, Pos};
use crate::model::{
    Daemon, DaemonState, Dest, Family, FwdMethod, Protocol, Service, ServiceFlags, ServiceKey,
    Timeouts, TunFlags, TunType,
};
use crate::serve::config::{check_name, CheckType, OnFailure};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The most services one configuration may expand to.
pub const MAX_SERVICES: usize = 1_000_000;

/// The schedulers keepalived knows.
const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos",
];

/// What an import gives: the document and the warnings.
pub struct Imported {
    pub doc: Doc,
    pub warnings: Vec<String>,
}

#[derive(Default)]
struct Ctx {
    errors: Vec<String>,
    warnings: Vec<String>,
    noted: Vec<String>,
}

impl Ctx {
    fn err(&mut self, pos: &Pos, msg: impl std::fmt::Display) {
        self.errors.push(format!("{pos}: {msg}"));
    }
    fn warn(&mut self, pos: &Pos, msg: impl std::fmt::Display) {
        self.warnings.push(format!("{pos}: warning: {msg}"));
    }
    /// A warning given once per `what`.
    fn note_once(&mut self, what: &str, pos: &Pos, msg: impl std::fmt::Display) {
        if !self.noted.iter().any(|w| w == what) {
            self.noted.push(what.to_string());
            self.warnings.push(format!("{pos}: note: {msg}"));
        }
    }
}

// -------------------------------------------------------------- values --

/// keepalived's TIMER: decimal seconds (microsecond resolution).
fn timer(ctx: &mut Ctx, n: &Node, allow_zero: bool) -> Option<Duration> {
    let v = arg1(ctx, n)?;
    let ok = v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && v.bytes().filter(|&b| b == b'.').count() <= 1
        && v.bytes().any(|b| b.is_ascii_digit());
    let s: Option<f64> = if ok { v.parse().ok() } else { None };
    match s {
        Some(s) if s.is_finite() && (s > 0.0 || (allow_zero && s == 0.0)) && s <= 86400.0 => {
            Some(Duration::from_micros((s * 1e6).round() as u64))
        }
        _ => {
            ctx.err(
                &n.pos,
                format!(
                    "{}: `{v}` is not a number of seconds from {} to 86400",
                    n.key(),
                    if allow_zero { "0" } else { "0 (excluded)" }
                ),
            );
            None
        }
    }
}

fn arg1<'a>(ctx: &mut Ctx, n: &'a Node) -> Option<&'a str> {
    match n.args() {
        [v] => Some(v.as_str()),
        [] => {
            ctx.err(&n.pos, format!("{} needs a value", n.key()));
            None
        }
        [_, extra, ..] => {
            ctx.err(&n.pos, format!("{}: unexpected `{extra}`", n.key()));
            None
        }
    }
}

fn uint(ctx: &mut Ctx, pos: &Pos, what: &str, v: &str, min: u64, max: u64) -> Option<u64> {
    match v.parse::<u64>() {
        Ok(x) if (min..=max).contains(&x) && v.bytes().all(|b| b.is_ascii_digit()) => Some(x),
        _ => {
            ctx.err(pos, format!("{what}: `{v}` is outside {min}–{max}"));
            None
        }
    }
}

fn num(ctx: &mut Ctx, n: &Node, min: u64, max: u64) -> Option<u64> {
    let v = arg1(ctx, n)?;
    uint(ctx, &n.pos, n.key(), v, min, max)
}

/// keepalived's `check_true_false`; no value means true.
fn boolean(ctx: &mut Ctx, n: &Node) -> Option<bool> {
    match n.args() {
        [] => Some(true),
        [v] => match v.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => Some(true),
            "false" | "off" | "no" => Some(false),
            _ => {
                ctx.err(&n.pos, format!("{}: `{v}` is not true or false", n.key()));
                None
            }
        },
        [_, extra, ..] => {
            ctx.err(&n.pos, format!("{}: unexpected `{extra}`", n.key()));
            None
        }
    }
}

fn flag(ctx: &mut Ctx, n: &Node) {
    if let Some(extra) = n.args().first() {
        ctx.err(&n.pos, format!("{} takes no value (`{extra}`)", n.key()));
    }
}

fn addr(ctx: &mut Ctx, pos: &Pos, v: &str) -> Option<IpAddr> {
    match v.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.err(pos, format!("`{v}` is not an IP address"));
            None
        }
    }
}

/// An optional port word: absent or all zeros is 0 (keepalived's rule).
fn port(ctx: &mut Ctx, pos: &Pos, v: Option<&String>) -> Option<u16> {
    match v {
        None => Some(0),
        Some(v) => uint(ctx, pos, "port", v, 0, 65535).map(|p| p as u16),
    }
}

fn no_block(ctx: &mut Ctx, n: &Node) {
    if n.block.is_some() {
        ctx.err(&n.pos, format!("{} takes no block", n.key()));
    }
}

fn block<'a>(ctx: &mut Ctx, n: &'a Node) -> &'a [Node] {
    match &n.block {
        Some(b) => b,
        None => {
            ctx.err(&n.pos, format!("{} needs a block {{ … }}", n.key()));
            &[]
        }
    }
}

// ------------------------------------------------------------- options --

/// Settings that cascade virtual server → real server → checker.
#[derive(Clone, Default)]
struct Cascade {
    delay_loop: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    alpha: Option<bool>,
    inhibit: Option<bool>,
    virtualhost: Option<String>,
}

impl Cascade {
    fn under(&self, parent: &Cascade) -> Cascade {
        Cascade {
            delay_loop: self.delay_loop.or(parent.delay_loop),
            connect_timeout: self.connect_timeout.or(parent.connect_timeout),
            retry: self.retry.or(parent.retry),
            delay_before_retry: self.delay_before_retry.or(parent.delay_before_retry),
            alpha: self.alpha.or(parent.alpha),
            inhibit: self.inhibit.or(parent.inhibit),
            virtualhost: self.virtualhost.clone().or(parent.virtualhost.clone()),
        }
    }

    /// A cascading keyword: true if `n` was one.
    /// (`retry` is at least 1 on a virtual or real server, as keepalived
    /// reads it; a checker may say 0.)
    fn take(&mut self, ctx: &mut Ctx, n: &Node, in_checker: bool) -> bool {
        match n.key() {
            "delay_loop" => self.delay_loop = timer(ctx, n, false).or(self.delay_loop),
            "connect_timeout" => {
                self.connect_timeout = timer(ctx, n, false).or(self.connect_timeout)
            }
            "retry" | "nb_get_retry" => {
                self.retry = num(ctx, n, u64::from(!in_checker), u64::from(u32::MAX))
                    .map(|r| r as u32)
                    .or(self.retry)
            }
            "delay_before_retry" => {
                self.delay_before_retry = timer(ctx, n, true).or(self.delay_before_retry)
            }
            "alpha" => self.alpha = boolean(ctx, n).or(self.alpha),
            "inhibit_on_failure" => self.inhibit = boolean(ctx, n).or(self.inhibit),
            "warmup" => {
                if let Some(w) = timer(ctx, n, true) {
                    if !w.is_zero() {
                        ctx.warn(
                            &n.pos,
                            "warmup: the first checks are spread evenly over one delay, not delayed at random (ignored)",
                        );
                    }
                }
            }
            "virtualhost" => {
                if let Some(v) = arg1(ctx, n) {
                    self.virtualhost = Some(v.to_string());
                }
            }
            _ => return false,
        }
        no_block(ctx, n);
        true
    }
}

/// A forwarding method with its tunnel settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fwd {
    fwd: FwdMethod,
    tun_type: TunType,
    tun_port: u16,
    tun_flags: u16,
}

const NAT: Fwd = Fwd {
    fwd: FwdMethod::Masq,
    tun_type: TunType::Ipip,
    tun_port: 0,
    tun_flags: 0,
};

/// `lvs_method NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
fn fwd(ctx: &mut Ctx, n: &Node) -> Option<Fwd> {
    let a = n.args();
    let Some(m) = a.first() else {
        ctx.err(&n.pos, format!("{} needs NAT, DR or TUN", n.key()));
        return None;
    };
    let mut f = NAT;
    f.fwd = match m.as_str() {
        "NAT" => FwdMethod::Masq,
        "DR" => FwdMethod::Route,
        "TUN" => FwdMethod::Tunnel,
        _ => {
            ctx.err(&n.pos, format!("{}: `{m}` is not NAT, DR or TUN", n.key()));
            return None;
        }
    };
    let mut i = 1;
    while i < a.len() {
        let w = a[i].as_str();
        if f.fwd != FwdMethod::Tunnel {
            ctx.err(&n.pos, format!("{}: `{w}` is only for TUN", n.key()));
            return None;
        }
        match w {
            "type" => {
                f.tun_type = match a.get(i + 1).map(String::as_str) {
                    Some("ipip") => TunType::Ipip,
                    Some("gue") => TunType::Gue,
                    Some("gre") => TunType::Gre,
                    other => {
                        ctx.err(
                            &n.pos,
                            format!(
                                "{}: tunnel type `{}` is not ipip, gue or gre",
                                n.key(),
                                other.unwrap_or("")
                            ),
                        );
                        return None;
                    }
                };
                i += 2;
            }
            "port" => {
                let v = a.get(i + 1).map(String::as_str).unwrap_or("");
                f.tun_port = uint(ctx, &n.pos, "gue port", v, 1, 65535)? as u16;
                i += 2;
            }
            "nocsum" => {
                f.tun_flags = TunFlags::NOCSUM;
                i += 1;
            }
            "csum" => {
                f.tun_flags = TunFlags::CSUM;
                i += 1;
            }
            "remcsum" => {
                f.tun_flags = TunFlags::REMCSUM;
                i += 1;
            }
            _ => {
                ctx.err(&n.pos, format!("{}: unknown tunnel option `{w}`", n.key()));
                return None;
            }
        }
    }
    if (f.tun_type == TunType::Gue) != (f.tun_port != 0) {
        ctx.err(
            &n.pos,
            format!("{}: a gue tunnel needs a port, no other has one", n.key()),
        );
        return None;
    }
    if f.tun_type == TunType::Ipip && f.tun_flags != 0 {
        ctx.err(
            &n.pos,
            format!("{}: ipip tunnels take no checksum option", n.key()),
        );
        return None;
    }
    if f.tun_type == TunType::Gre && f.tun_flags == TunFlags::REMCSUM {
        ctx.err(&n.pos, format!("{}: gre tunnels take no remcsum", n.key()));
        return None;
    }
    Some(f)
}

// ------------------------------------------------------------ checkers --

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tcp,
    Http,
    Ssl,
    Misc,
    Udp,
    Ping,
}

#[derive(Clone)]
struct Url {
    path: String,
    codes: Option<String>,
    virtualhost: Option<String>,
    pos: Pos,
}

#[derive(Clone)]
struct Checker {
    kind: Kind,
    pos: Pos,
    cascade: Cascade,
    connect_ip: Option<IpAddr>,
    connect_port: Option<u16>,
    urls: Vec<Url>,
    http_protocol: Option<String>,
    misc_path: Option<String>,
    misc_timeout: Option<Duration>,
    misc_dynamic: bool,
}

const UNMAPPED_CHECKERS: &[&str] = &["DNS_CHECK", "SMTP_CHECK", "BFD_CHECK", "FILE_CHECK"];

/// `status_code 200 200-299 …` as Octavia's expected_codes.
fn status_codes(ctx: &mut Ctx, n: &Node) -> Option<String> {
    if n.args().is_empty() {
        ctx.err(&n.pos, "status_code needs codes");
        return None;
    }
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for w in n.args() {
        let (a, b) = w.split_once('-').unwrap_or((w, w));
        let a = uint(ctx, &n.pos, "status_code", a, 100, 599)? as u16;
        let b = uint(ctx, &n.pos, "status_code", b, 100, 599)? as u16;
        if a > b {
            ctx.err(&n.pos, format!("status_code: `{w}` is an empty range"));
            return None;
        }
        ranges.push((a, b));
    }
    if let [(a, b)] = ranges[..] {
        return Some(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        });
    }
    // Several: every code, as a list.
    let mut codes: Vec<u16> = ranges.iter().flat_map(|&(a, b)| a..=b).collect();
    codes.sort_unstable();
    codes.dedup();
    if codes.len() == usize::from(codes[codes.len() - 1] - codes[0]) + 1 {
        return Some(format!("{}-{}", codes[0], codes[codes.len() - 1]));
    }
    Some(
        codes
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn url(ctx: &mut Ctx, n: &Node) -> Option<Url> {
    let mut u = Url {
        path: String::new(),
        codes: None,
        virtualhost: None,
        pos: n.pos.clone(),
    };
    for c in block(ctx, n) {
        match c.key() {
            "path" => {
                if let Some(p) = arg1(ctx, c) {
                    if !p.starts_with('/') || p.bytes().any(|b| b <= b' ' || b == 0x7f) {
                        ctx.err(&c.pos, format!("path: `{p}` is not a path starting with /"));
                    }
                    u.path = p.to_string();
                }
            }
            "status_code" => u.codes = status_codes(ctx, c),
            "virtualhost" => u.virtualhost = arg1(ctx, c).map(str::to_string),
            "digest" => ctx.warn(
                &c.pos,
                "digest: the body's MD5 is not checked (unsupported); only the status code is",
            ),
            "regex" | "regex_no_match" | "regex_options" | "regex_stack" | "regex_min_offset"
            | "regex_max_offset" => ctx.warn(
                &c.pos,
                format!("{}: the body is not matched (unsupported)", c.key()),
            ),
            "tls_compliant" => ctx.warn(&c.pos, "tls_compliant: ignored"),
            other => ctx.err(&c.pos, format!("unknown keyword `{other}` in url")),
        }
    }
    if u.path.is_empty() {
        ctx.err(&n.pos, "url needs a path");
        return None;
    }
    Some(u)
}

fn checker(ctx: &mut Ctx, n: &Node, kind: Kind) -> Option<Checker> {
    let mut c = Checker {
        kind,
        pos: n.pos.clone(),
        cascade: Cascade::default(),
        connect_ip: None,
        connect_port: None,
        urls: Vec::new(),
        http_protocol: None,
        misc_path: None,
        misc_timeout: None,
        misc_dynamic: false,
    };
    if let Some(extra) = n.args().first() {
        ctx.err(&n.pos, format!("{}: unexpected `{extra}`", n.key()));
    }
    let http = matches!(kind, Kind::Http | Kind::Ssl);
    for o in block(ctx, n) {
        if c.cascade.take(ctx, o, true) {
            if o.key() == "inhibit_on_failure" {
                ctx.err(
                    &o.pos,
                    "inhibit_on_failure belongs to a real or virtual server",
                );
            }
            if o.key() == "virtualhost" && !http {
                ctx.err(&o.pos, "virtualhost is for HTTP_GET and SSL_GET");
            }
            continue;
        }
        match (o.key(), kind) {
            ("connect_ip", k) if k != Kind::Misc => {
                c.connect_ip = arg1(ctx, o).and_then(|v| addr(ctx, &o.pos, v))
            }
            ("connect_port", k) if k != Kind::Misc => {
                c.connect_port = num(ctx, o, 1, 65535).map(|p| p as u16)
            }
            ("bindto" | "bind_port" | "bind_if" | "fwmark", k) if k != Kind::Misc => {
                ctx.warn(
                    &o.pos,
                    format!(
                        "{}: checks leave from the host's own address and port, unmarked (ignored)",
                        o.key()
                    ),
                )
            }
            ("log_all_failures", _) => {
                ctx.warn(&o.pos, "log_all_failures: every change is logged (ignored)")
            }
            ("url", k) if http => {
                let _ = k;
                if let Some(u) = url(ctx, o) {
                    c.urls.push(u);
                }
                continue;
            }
            ("http_protocol", _) if http => {
                if let Some(v) = arg1(ctx, o) {
                    match v {
                        "1.0" | "1.1" => {}
                        "1.0C" | "1.0K" => ctx.warn(
                            &o.pos,
                            format!("http_protocol {v}: sent as HTTP/1.0 (one request per connection)"),
                        ),
                        _ => ctx.err(&o.pos, format!("http_protocol: `{v}` is not 1.0, 1.0C, 1.0K or 1.1")),
                    }
                    c.http_protocol = Some(v.to_string());
                }
            }
            ("enable_sni" | "sni_name" | "fast_recovery" | "tls_compliant", Kind::Ssl)
            | ("fast_recovery", Kind::Http) => ctx.warn(
                &o.pos,
                format!("{}: not supported (ignored)", o.key()),
            ),
            ("misc_path", Kind::Misc) => {
                let p = o.args().join(" ");
                if p.trim().is_empty() {
                    ctx.err(&o.pos, "misc_path needs a command");
                } else {
                    c.misc_path = Some(p);
                }
            }
            ("misc_timeout", Kind::Misc) => {
                c.misc_timeout = num(ctx, o, 0, 86400).map(Duration::from_secs)
            }
            ("misc_dynamic", Kind::Misc) => {
                flag(ctx, o);
                c.misc_dynamic = true
            }
            ("user", Kind::Misc) => ctx.warn(
                &o.pos,
                "user: the command runs as the daemon's user (ignored)",
            ),
            ("payload" | "require_reply" | "min_reply_length" | "max_reply_length", Kind::Udp) => {
                ctx.warn(
                    &o.pos,
                    format!(
                        "{}: the UDP check sends an empty datagram and fails only on an ICMP error (ignored)",
                        o.key()
                    ),
                )
            }
            (other, _) => {
                ctx.err(&o.pos, format!("unknown keyword `{other}` in {}", n.key()));
                continue;
            }
        }
        no_block(ctx, o);
    }
    if http && c.urls.is_empty() {
        ctx.err(&n.pos, format!("{} needs a url block", n.key()));
        return None;
    }
    if kind == Kind::Misc && c.misc_path.is_none() {
        ctx.err(&n.pos, "MISC_CHECK needs misc_path");
        return None;
    }
    Some(c)
}

// -------------------------------------------------------- real servers --

struct Rs {
    addr: IpAddr,
    port: u16,
    pos: Pos,
    weight: Option<u32>,
    fwd: Option<Fwd>,
    uthreshold: u32,
    lthreshold: u32,
    cascade: Cascade,
    checkers: Vec<Checker>,
}

fn real_server(ctx: &mut Ctx, n: &Node) -> Option<Rs> {
    let a = n.args();
    if a.is_empty() || a.len() > 2 {
        ctx.err(&n.pos, "real_server takes an address and an optional port");
        return None;
    }
    let ip = addr(ctx, &n.pos, &a[0])?;
    let p = port(ctx, &n.pos, a.get(1))?;
    let mut rs = Rs {
        addr: ip,
        port: p,
        pos: n.pos.clone(),
        weight: None,
        fwd: None,
        uthreshold: 0,
        lthreshold: 0,
        cascade: Cascade::default(),
        checkers: Vec::new(),
    };
    let Some(children) = &n.block else {
        return Some(rs);
    };
    for o in children {
        if rs.cascade.take(ctx, o, false) {
            continue;
        }
        let k = o.key();
        match k {
            "weight" => rs.weight = num(ctx, o, 0, 65535).map(|w| w as u32),
            "lvs_method" => rs.fwd = fwd(ctx, o),
            "uthreshold" => rs.uthreshold = num(ctx, o, 0, 65535).unwrap_or(0) as u32,
            "lthreshold" => rs.lthreshold = num(ctx, o, 0, 65535).unwrap_or(0) as u32,
            "notify_up" | "notify_down" => ctx.warn(
                &o.pos,
                format!("{k}: scripts on health changes are not run (see `ipvsadm serve status` and its events)"),
            ),
            "smtp_alert" | "snmp_name" => {
                ctx.warn(&o.pos, format!("{k}: keepalived's alerting and SNMP (ignored)"))
            }
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" | "UDP_CHECK" | "PING_CHECK" => {
                let kind = match k {
                    "TCP_CHECK" => Kind::Tcp,
                    "HTTP_GET" => Kind::Http,
                    "SSL_GET" => Kind::Ssl,
                    "MISC_CHECK" => Kind::Misc,
                    "UDP_CHECK" => Kind::Udp,
                    _ => Kind::Ping,
                };
                if let Some(c) = checker(ctx, o, kind) {
                    rs.checkers.push(c);
                }
                continue;
            }
            k if UNMAPPED_CHECKERS.contains(&k) => {
                ctx.warn(
                    &o.pos,
                    format!("{k} has no health monitor type here (not mapped)"),
                );
                continue;
            }
            _ => {
                ctx.err(&o.pos, format!("unknown keyword `{k}` in real_server"));
                continue;
            }
        }
        no_block(ctx, o);
    }
    Some(rs)
}

// ------------------------------------------------------ virtual servers --

#[derive(Clone, Copy)]
enum Entry {
    /// Addresses `first` + 0..count, port.
    Range {
        first: IpAddr,
        count: u128,
        port: u16,
    },
    Fwmark {
        mark: u32,
        family: Option<Family>,
    },
}

fn ip_add(a: IpAddr, i: u128) -> IpAddr {
    match a {
        IpAddr::V4(v) => IpAddr::V4(Ipv4Addr::from(u32::from(v).wrapping_add(i as u32))),
        IpAddr::V6(v) => IpAddr::V6(Ipv6Addr::from(u128::from(v).wrapping_add(i))),
    }
}

fn ip_num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

/// One line of a `virtual_server_group`.
fn group_entry(ctx: &mut Ctx, n: &Node) -> Option<Entry> {
    let w = &n.words;
    if w[0] == "fwmark" {
        let mark = uint(
            ctx,
            &n.pos,
            "fwmark",
            w.get(1).map_or("", |s| s),
            0,
            u64::from(u32::MAX),
        )? as u32;
        let family = match w.get(2).map(String::as_str) {
            None => None,
            Some("inet") => Some(Family::Inet),
            Some("inet6") => Some(Family::Inet6),
            Some(o) => {
                ctx.err(&n.pos, format!("fwmark family `{o}` is not inet or inet6"));
                return None;
            }
        };
        if w.len() > 3 {
            ctx.err(&n.pos, format!("unexpected `{}`", w[3]));
        }
        return Some(Entry::Fwmark { mark, family });
    }
    if w.len() > 2 {
        ctx.err(
            &n.pos,
            format!("unexpected `{}` (ADDRESS[-RANGE] [PORT])", w[2]),
        );
        return None;
    }
    let p = port(ctx, &n.pos, w.get(1))?;
    let text = w[0].as_str();
    let (first, last) = if let Some((a, m)) = text.split_once('/') {
        let a = addr(ctx, &n.pos, a)?;
        let bits = if a.is_ipv4() { 32 } else { 128 };
        let m = uint(ctx, &n.pos, "prefix length", m, 1, bits)? as u32;
        let host = if m as u64 == bits {
            0
        } else {
            (1u128 << (bits as u32 - m)) - 1
        };
        if ip_num(a) & host != 0 {
            ctx.err(&n.pos, format!("`{text}`: address bits beyond the prefix"));
            return None;
        }
        (a, ip_add(a, host))
    } else if let Some((a, e)) = text.split_once('-') {
        let a = addr(ctx, &n.pos, a)?;
        let end = if e.contains('.') || e.contains(':') {
            addr(ctx, &n.pos, e)?
        } else if a.is_ipv4() {
            let x = uint(ctx, &n.pos, "range end", e, 0, 255)? as u32;
            let base = u32::from(match a {
                IpAddr::V4(v) => v,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            });
            IpAddr::V4(Ipv4Addr::from((base & !0xff) | x))
        } else {
            let Ok(x) = u16::from_str_radix(e, 16) else {
                ctx.err(&n.pos, format!("`{e}` is not a hexadecimal range end"));
                return None;
            };
            IpAddr::V6(Ipv6Addr::from((ip_num(a) & !0xffff) | u128::from(x)))
        };
        if a.is_ipv4() != end.is_ipv4() || ip_num(end) < ip_num(a) {
            ctx.err(&n.pos, format!("`{text}` is not a range of addresses"));
            return None;
        }
        (a, end)
    } else {
        let a = addr(ctx, &n.pos, text)?;
        (a, a)
    };
    let count = ip_num(last) - ip_num(first) + 1;
    if count > 65536 {
        ctx.err(&n.pos, format!("`{text}` has more than 65536 addresses"));
        return None;
    }
    Some(Entry::Range {
        first,
        count,
        port: p,
    })
}

/// The settings of one `virtual_server` block.
struct Vs {
    pos: Pos,
    sched: Option<String>,
    flags: u32,
    fwd: Option<Fwd>,
    persistence: Option<u32>,
    granularity: Option<(String, Pos)>,
    pe: Option<String>,
    protocol: Option<(Protocol, Pos)>,
    family: Option<Family>,
    quorum: u32,
    hysteresis: u32,
    weight: Option<u32>,
    sorry: Option<(IpAddr, Option<u16>, Pos)>,
    sorry_fwd: Option<Fwd>,
    cascade: Cascade,
    rs: Vec<Rs>,
}

fn virtual_server(ctx: &mut Ctx, n: &Node) -> Vs {
    let mut vs = Vs {
        pos: n.pos.clone(),
        sched: None,
        flags: 0,
        fwd: None,
        persistence: None,
        granularity: None,
        pe: None,
        protocol: None,
        family: None,
        quorum: 1,
        hysteresis: 0,
        weight: None,
        sorry: None,
        sorry_fwd: None,
        cascade: Cascade::default(),
        rs: Vec::new(),
    };
    for o in block(ctx, n) {
        if vs.cascade.take(ctx, o, false) {
            continue;
        }
        let k = o.key();
        match k {
            "lb_algo" | "lvs_sched" => {
                if let Some(s) = arg1(ctx, o) {
                    if SCHEDULERS.contains(&s) {
                        vs.sched = Some(s.to_string());
                    } else {
                        ctx.err(&o.pos, format!("{k}: unknown scheduler `{s}`"));
                    }
                }
            }
            "ops" => {
                flag(ctx, o);
                vs.flags |= ServiceFlags::ONEPACKET
            }
            "flag-1" | "flag-2" | "flag-3" => {
                flag(ctx, o);
                vs.flags |= match k {
                    "flag-1" => ServiceFlags::SCHED1,
                    "flag-2" => ServiceFlags::SCHED2,
                    _ => ServiceFlags::SCHED3,
                }
            }
            "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback" => {
                flag(ctx, o);
                let want = &k[..2];
                if vs.sched.as_deref() == Some(want) {
                    vs.flags |= if k.ends_with("fallback") {
                        ServiceFlags::SCHED1
                    } else {
                        ServiceFlags::SCHED2
                    };
                } else {
                    // keepalived looks at the scheduler set so far.
                    ctx.warn(
                        &o.pos,
                        format!("{k} only applies to the {want} scheduler set before it (ignored, as keepalived does)"),
                    );
                }
            }
            "hashed" => {
                flag(ctx, o);
                ctx.warn(&o.pos, "hashed: the kernel sets this flag itself (ignored)")
            }
            "lb_kind" | "lvs_method" => vs.fwd = fwd(ctx, o).or(vs.fwd),
            "persistence_timeout" => {
                vs.persistence = match o.args() {
                    [] => Some(360),
                    _ => num(ctx, o, 1, 86400 * 31).map(|t| t as u32),
                }
            }
            "persistence_granularity" => {
                vs.granularity = arg1(ctx, o).map(|g| (g.to_string(), o.pos.clone()))
            }
            "persistence_engine" => {
                if let Some(pe) = arg1(ctx, o) {
                    if pe.len() > 15 {
                        ctx.err(&o.pos, "persistence_engine: longer than 15 bytes");
                    }
                    vs.pe = Some(pe.to_string());
                }
            }
            "protocol" => {
                if let Some(p) = arg1(ctx, o) {
                    let p = match p.to_ascii_uppercase().as_str() {
                        "TCP" => Protocol::Tcp,
                        "UDP" => Protocol::Udp,
                        "SCTP" => Protocol::Sctp,
                        _ => {
                            ctx.err(&o.pos, format!("protocol: `{p}` is not TCP, UDP or SCTP"));
                            continue;
                        }
                    };
                    vs.protocol = Some((p, o.pos.clone()));
                }
            }
            "ip_family" => match arg1(ctx, o) {
                Some("inet") => vs.family = Some(Family::Inet),
                Some("inet6") => vs.family = Some(Family::Inet6),
                Some(f) => ctx.err(&o.pos, format!("ip_family: `{f}` is not inet or inet6")),
                None => {}
            },
            "quorum" => vs.quorum = num(ctx, o, 0, 65535 * 1000).unwrap_or(1) as u32,
            "hysteresis" => vs.hysteresis = num(ctx, o, 0, 65535 * 1000).unwrap_or(0) as u32,
            "weight" => vs.weight = num(ctx, o, 0, 65535).map(|w| w as u32),
            "sorry_server" => {
                let a = o.args();
                if a.is_empty() || a.len() > 2 {
                    ctx.err(&o.pos, "sorry_server takes an address and an optional port");
                } else if let Some(ip) = addr(ctx, &o.pos, &a[0]) {
                    let p = port(ctx, &o.pos, a.get(1));
                    vs.sorry = Some((ip, p.filter(|&p| p != 0), o.pos.clone()));
                }
            }
            "sorry_server_inhibit" => {
                flag(ctx, o);
                ctx.warn(
                    &o.pos,
                    "sorry_server_inhibit: the sorry server is removed, not set to weight 0, when quorum returns",
                )
            }
            "sorry_server_lvs_method" => vs.sorry_fwd = fwd(ctx, o),
            "omega" => {
                flag(ctx, o);
                ctx.warn(
                    &o.pos,
                    "omega: no scripts run at shutdown (there are no notifiers); ignored",
                )
            }
            "quorum_up" | "quorum_down" => ctx.warn(
                &o.pos,
                format!("{k}: scripts on quorum changes are not run (see `ipvsadm serve status` and its events)"),
            ),
            "ha_suspend" => ctx.warn(
                &o.pos,
                "ha_suspend: checks run whether or not the virtual address is local (ignored)",
            ),
            "smtp_alert" | "snmp_name" => {
                ctx.warn(&o.pos, format!("{k}: keepalived's alerting and SNMP (ignored)"))
            }
            "real_server" => {
                if let Some(rs) = real_server(ctx, o) {
                    vs.rs.push(rs);
                }
                continue;
            }
            _ => {
                ctx.err(&o.pos, format!("unknown keyword `{k}` in virtual_server"));
                continue;
            }
        }
        no_block(ctx, o);
    }
    vs
}

/// What a real server's checks become: the monitor (without the
/// service-wide fields) and the port probed.
fn monitor_of(ctx: &mut Ctx, c: &Checker, casc: &Cascade) -> Monitor {
    let kind = match c.kind {
        Kind::Tcp => CheckType::Tcp,
        Kind::Http => CheckType::Http,
        Kind::Ssl => CheckType::Https,
        Kind::Misc => CheckType::Misc,
        Kind::Udp => CheckType::UdpConnect,
        Kind::Ping => CheckType::Ping,
    };
    let delay = casc.delay_loop.unwrap_or(Duration::from_secs(60));
    let (mut timeout, what) = match c.kind {
        Kind::Misc => match c.misc_timeout.filter(|t| !t.is_zero()) {
            Some(t) => (t, "misc_timeout"),
            None => (delay, "misc_timeout (default delay_loop)"),
        },
        _ => (
            casc.connect_timeout.unwrap_or(Duration::from_secs(5)),
            "connect_timeout",
        ),
    };
    if timeout >= delay {
        let new = if delay > Duration::from_secs(2) {
            delay - Duration::from_secs(1)
        } else {
            delay / 2
        };
        ctx.warn(
            &c.pos,
            format!(
                "{what} {} s is not below delay_loop {} s (a check must end before the next): timeout {} s",
                super::doc::secs(timeout),
                super::doc::secs(delay),
                super::doc::secs(new)
            ),
        );
        timeout = new;
    }
    let retry = casc
        .retry
        .unwrap_or(if c.kind == Kind::Misc { 0 } else { 1 });
    let mut fall = retry.saturating_add(1);
    if fall > 10 {
        ctx.warn(
            &c.pos,
            format!("retry {retry}: at most 9 retries here (max_retries_down 10)"),
        );
        fall = 10;
    }
    let dbr = casc.delay_before_retry.unwrap_or(Duration::from_secs(
        if matches!(c.kind, Kind::Http | Kind::Ssl) {
            3
        } else {
            1
        },
    ));
    if fall > 1 && dbr != delay {
        ctx.warn(
            &c.pos,
            format!(
                "delay_before_retry {} s: retries come every delay_loop ({} s), so a failing server goes down after {fall} checks {} s apart (keepalived: {} s apart)",
                super::doc::secs(dbr),
                super::doc::secs(delay),
                super::doc::secs(delay),
                super::doc::secs(dbr)
            ),
        );
    }
    let mut m = Monitor {
        kind,
        delay,
        timeout,
        fall,
        alpha: casc.alpha.unwrap_or(false),
        url_path: None,
        expected_codes: None,
        http_version: None,
        domain_name: None,
        command: None,
        misc_dynamic: false,
        on_failure: if casc.inhibit.unwrap_or(false) {
            OnFailure::Weight0
        } else {
            OnFailure::Remove
        },
        quorum: 1,
        hysteresis: 0,
        sorry_server: None,
    };
    if let Some(u) = c.urls.first() {
        if c.urls.len() > 1 {
            ctx.warn(
                &c.urls[1].pos,
                format!(
                    "only the first url ({}) is checked; keepalived checks each in turn",
                    u.path
                ),
            );
        }
        m.url_path = Some(u.path.clone());
        m.expected_codes = Some(u.codes.clone().unwrap_or_else(|| "200-299".into()));
        let host = u.virtualhost.clone().or(casc.virtualhost.clone());
        match host {
            Some(h) => {
                if h.is_empty()
                    || !h
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
                {
                    ctx.err(&u.pos, format!("virtualhost `{h}` is not a host name"));
                }
                if c.http_protocol.as_deref() != Some("1.1") {
                    ctx.warn(
                        &c.pos,
                        format!("virtualhost {h}: the request is HTTP/1.1 with Host: {h} (keepalived sends HTTP/1.0 with it)"),
                    );
                }
                m.domain_name = Some(h);
                m.http_version = Some("1.1");
            }
            None => {
                if c.http_protocol.as_deref() == Some("1.1") {
                    m.http_version = Some("1.1");
                }
            }
        }
    }
    if c.kind == Kind::Misc {
        m.command = c.misc_path.clone();
        m.misc_dynamic = c.misc_dynamic;
    }
    m
}

/// `cmd` with each word naming `addr` (quoted or not) as
/// `$TARGET_ADDRESS` and each word `port` as `$TARGET_PORT`: the
/// variables the daemon sets for each target of a MISC check.
fn misc_template(cmd: &str, addr: IpAddr, port: u16) -> String {
    cmd.split(' ')
        .map(|w| {
            let bare = w
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(w);
            if bare.parse::<IpAddr>() == Ok(addr) {
                "$TARGET_ADDRESS".to_string()
            } else if port != 0 && bare == port.to_string() {
                "$TARGET_PORT".to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Real servers whose MISC commands differ only by naming each its own
/// address and port (Octavia's `udp_check.sh ADDR PORT`) get one command
/// with `$TARGET_ADDRESS` and `$TARGET_PORT`, which the daemon sets per
/// real server: one monitor per service checks each with its own
/// arguments, as keepalived does. Equal commands stay as they are.
fn misc_templates(rss: &[&Rs], mons: &mut [Option<(Monitor, &Checker)>]) {
    let cmds: Vec<(&str, String)> = rss
        .iter()
        .zip(mons.iter())
        .filter_map(|(r, m)| {
            let c = m.as_ref()?.0.command.as_deref()?;
            Some((c, misc_template(c, r.addr, r.port)))
        })
        .collect();
    if cmds.len() < 2 || cmds.iter().all(|(c, _)| *c == cmds[0].0) {
        return;
    }
    if cmds.iter().any(|(_, t)| *t != cmds[0].1) {
        return;
    }
    let t = cmds[0].1.clone();
    for (m, _) in mons.iter_mut().flatten() {
        if m.command.is_some() {
            m.command = Some(t.clone());
        }
    }
}

/// The monitor fields a service shares (for comparing real servers).
fn same_check(a: &Monitor, b: &Monitor) -> bool {
    let mut b = b.clone();
    b.on_failure = a.on_failure;
    *a == b
}

/// The services a virtual server stands for.
fn keys(
    ctx: &mut Ctx,
    n: &Node,
    vs: &Vs,
    groups: &HashMap<String, (Vec<Entry>, Pos)>,
    rs_family: Family,
) -> Option<(Vec<ServiceKey>, Option<String>)> {
    let a = n.args();
    let proto = |ctx: &mut Ctx| match vs.protocol {
        Some((p, _)) => p,
        None => {
            ctx.warn(
                &vs.pos,
                "no protocol: keepalived makes it UDP (say `protocol TCP`)",
            );
            Protocol::Udp
        }
    };
    match a.first().map(String::as_str) {
        Some("fwmark") => {
            if a.len() != 2 {
                ctx.err(&n.pos, "virtual_server fwmark takes one mark");
                return None;
            }
            let mark = uint(ctx, &n.pos, "fwmark", &a[1], 0, u64::from(u32::MAX))? as u32;
            if let Some((_, p)) = &vs.protocol {
                ctx.warn(
                    p,
                    "protocol: a fwmark service has none (ignored, as keepalived does)",
                );
            }
            Some((
                vec![ServiceKey::fwmark(vs.family.unwrap_or(rs_family), mark)],
                None,
            ))
        }
        Some("group") => {
            let [_, name] = a else {
                ctx.err(&n.pos, "virtual_server group takes one name");
                return None;
            };
            let Some((entries, _)) = groups.get(name) else {
                ctx.err(
                    &n.pos,
                    format!("virtual_server_group {name} is not defined"),
                );
                return None;
            };
            let mut out = Vec::new();
            let mut p = None;
            for e in entries {
                match *e {
                    Entry::Range { first, count, port } => {
                        let pr = *p.get_or_insert_with(|| proto(ctx));
                        for i in 0..count {
                            out.push(ServiceKey::Addr {
                                protocol: pr,
                                addr: ip_add(first, i),
                                port,
                            });
                        }
                    }
                    Entry::Fwmark { mark, family } => out.push(ServiceKey::fwmark(
                        family.or(vs.family).unwrap_or(rs_family),
                        mark,
                    )),
                }
            }
            let name = match check_name(name) {
                Ok(()) => Some(name.clone()),
                Err(e) => {
                    ctx.warn(
                        &n.pos,
                        format!("group name not kept as the services' name: {e}"),
                    );
                    None
                }
            };
            Some((out, name))
        }
        Some(ip) => {
            if a.len() > 2 {
                ctx.err(&n.pos, format!("unexpected `{}`", a[2]));
                return None;
            }
            let ip = addr(ctx, &n.pos, ip)?;
            let p = port(ctx, &n.pos, a.get(1))?;
            if let Some(f) = vs.family {
                if f != Family::of(&ip) {
                    ctx.err(&n.pos, "ip_family differs from the address's family");
                }
            }
            Some((
                vec![ServiceKey::Addr {
                    protocol: proto(ctx),
                    addr: ip,
                    port: p,
                }],
                None,
            ))
        }
        None => {
            ctx.err(
                &n.pos,
                "virtual_server needs ADDRESS [PORT], fwmark N or group NAME",
            );
            None
        }
    }
}

/// The persistence netmask of `key`'s family.
fn netmask(ctx: &mut Ctx, g: &str, pos: &Pos, family: Family) -> Option<u32> {
    match family {
        Family::Inet => match g.parse::<Ipv4Addr>() {
            Ok(m) => Some(u32::from(m)),
            Err(_) => {
                ctx.err(
                    pos,
                    format!("persistence_granularity: `{g}` is not an IPv4 netmask"),
                );
                None
            }
        },
        Family::Inet6 => uint(ctx, pos, "persistence_granularity", g, 1, 128).map(|m| m as u32),
    }
}

fn build(
    ctx: &mut Ctx,
    n: &Node,
    groups: &HashMap<String, (Vec<Entry>, Pos)>,
    seen: &mut HashMap<ServiceKey, Pos>,
    out: &mut Vec<Svc>,
) {
    let vs = virtual_server(ctx, n);
    // The family of the non-tunnelled real servers (fwmark services).
    let vs_fwd = vs.fwd.unwrap_or(NAT);
    let rs_family = vs
        .rs
        .iter()
        .find(|r| r.fwd.unwrap_or(vs_fwd).fwd != FwdMethod::Tunnel)
        .or(vs.rs.first())
        .map_or(Family::Inet, |r| Family::of(&r.addr));
    let Some((keys, name)) = keys(ctx, n, &vs, groups, rs_family) else {
        return;
    };
    if vs.rs.is_empty() {
        ctx.warn(
            &n.pos,
            "virtual server without real servers: keepalived ignores it (skipped)",
        );
        return;
    }
    // Real servers: duplicates dropped as keepalived does.
    let mut rss: Vec<&Rs> = Vec::new();
    for r in &vs.rs {
        if let Some(first) = rss.iter().find(|x| x.addr == r.addr && x.port == r.port) {
            ctx.warn(
                &r.pos,
                format!(
                    "real server already defined at line {} (dropped, as keepalived does)",
                    first.pos.line
                ),
            );
            continue;
        }
        rss.push(r);
    }
    // Monitors, once per real server.
    let mut mons: Vec<Option<(Monitor, &Checker)>> = Vec::new();
    for r in &rss {
        let casc = r.cascade.under(&vs.cascade);
        let mut m = None;
        for (i, c) in r.checkers.iter().enumerate() {
            if i == 1 {
                ctx.warn(
                    &c.pos,
                    "a second checker on one real server: only the first is used (keepalived needs all to succeed)",
                );
            }
            if i == 0 {
                let cc = c.cascade.under(&casc);
                m = Some((monitor_of(ctx, c, &cc), c));
            }
        }
        mons.push(m);
    }
    misc_templates(&rss, &mut mons);
    let first = mons.iter().flatten().next().map(|(m, _)| m.clone());
    if let Some(f) = &first {
        for (r, m) in rss.iter().zip(&mons) {
            match m {
                Some((m, c)) if !same_check(f, m) => ctx.warn(
                    &c.pos,
                    "this checker differs from the service's first one (one monitor per service): the first is used",
                ),
                Some((m, c)) if m.on_failure != f.on_failure => ctx.warn(
                    &c.pos,
                    "inhibit_on_failure differs from the service's first real server: the first is used",
                ),
                None => ctx.warn(
                    &r.pos,
                    "real server without a (mapped) checker: keepalived keeps it up; here the service's monitor checks it",
                ),
                _ => {}
            }
        }
    } else {
        if vs.sorry.is_some() || vs.quorum != 1 || vs.hysteresis != 0 {
            ctx.warn(
                &vs.pos,
                "quorum, hysteresis and sorry_server need a checker (no real server has one): dropped",
            );
        }
    }
    for key in keys {
        if let Some(p) = seen.get(&key) {
            ctx.err(&n.pos, format!("this service is already defined at {p}"));
            continue;
        }
        seen.insert(key, n.pos.clone());
        if seen.len() > MAX_SERVICES {
            ctx.err(&n.pos, format!("more than {MAX_SERVICES} services"));
            return;
        }
        let family = key.family();
        let kport = match key {
            ServiceKey::Addr { port, .. } => port,
            ServiceKey::Fwmark { .. } => 0,
        };
        let mut svc = Service::new(key, vs.sched.as_deref().unwrap_or("wlc"));
        svc.flags = ServiceFlags(vs.flags);
        let mut persistence = vs.persistence;
        if vs.granularity.is_some() && persistence.is_none() {
            persistence = Some(360);
        }
        if let ServiceKey::Addr { protocol, port, .. } = key {
            if svc.flags.one_packet() && protocol != Protocol::Udp {
                ctx.warn(&n.pos, "ops needs UDP: reset, as keepalived does");
                svc.flags.0 &= !ServiceFlags::ONEPACKET;
            }
            if port == 0 && persistence.is_none() {
                ctx.warn(
                    &n.pos,
                    "port 0 needs persistence: persistence_timeout 360, as keepalived sets",
                );
                persistence = Some(360);
            }
        }
        if let Some(t) = persistence {
            svc.flags.0 |= ServiceFlags::PERSISTENT;
            svc.timeout = t;
        }
        if let Some((g, p)) = &vs.granularity {
            if let Some(m) = netmask(ctx, g, p, family) {
                svc.netmask = m;
            }
        }
        svc.pe_name = vs.pe.clone();
        let mut servers = Vec::new();
        let mut monitor = first.clone();
        for (r, m) in rss.iter().zip(&mons) {
            let f = r.fwd.unwrap_or(vs_fwd);
            if f.fwd != FwdMethod::Tunnel && Family::of(&r.addr) != family {
                ctx.warn(
                    &r.pos,
                    "real server of another address family (not tunnelled): skipped, as keepalived does",
                );
                continue;
            }
            let dport = if f.fwd == FwdMethod::Masq {
                r.port
            } else {
                kport
            };
            let mut d = Dest::new(r.addr, dport);
            d.fwd = f.fwd;
            d.weight = r.weight.or(vs.weight).unwrap_or(1) as i32;
            d.u_threshold = r.uthreshold;
            d.l_threshold = r.lthreshold;
            if f.fwd == FwdMethod::Tunnel {
                d.tun_type = f.tun_type;
                d.tun_port = f.tun_port;
                d.tun_flags = TunFlags(f.tun_flags);
            }
            let mut s = Server {
                dest: d,
                monitor_address: None,
                monitor_port: None,
            };
            if let Some(mon) = &first {
                let c = m.as_ref().map(|(_, c)| *c);
                let ta = c.and_then(|c| c.connect_ip).unwrap_or(r.addr);
                let tp = c.and_then(|c| c.connect_port).unwrap_or(r.port);
                let needs_port = !matches!(mon.kind, CheckType::Ping | CheckType::Misc);
                if mon.kind != CheckType::Misc && ta != r.addr {
                    s.monitor_address = Some(ta);
                }
                if needs_port {
                    if tp == 0 {
                        ctx.err(
                            c.map_or(&r.pos, |c| &c.pos),
                            format!("real server {} has no port to check (give it a port, or connect_port)", r.addr),
                        );
                    } else if tp != dport {
                        s.monitor_port = Some(tp);
                    }
                }
            }
            servers.push(s);
        }
        if let Some(mon) = &mut monitor {
            mon.quorum = vs.quorum;
            mon.hysteresis = vs.hysteresis;
            if let Some((ip, sp, pos)) = &vs.sorry {
                let sf = vs.sorry_fwd.unwrap_or(vs_fwd);
                if sf.fwd != FwdMethod::Tunnel && Family::of(ip) != family {
                    ctx.warn(
                        pos,
                        "sorry server of another address family: skipped, as keepalived does",
                    );
                } else {
                    let p = if sf.fwd == FwdMethod::Masq {
                        sp.unwrap_or(0)
                    } else {
                        kport
                    };
                    let first_fwd = servers.first().map_or(FwdMethod::Masq, |s| s.dest.fwd);
                    if sf.fwd != first_fwd {
                        ctx.warn(
                            pos,
                            "the sorry server is forwarded as the first real server is (its own lvs_method is not kept)",
                        );
                    }
                    mon.sorry_server = Some(SocketAddr::new(*ip, p));
                }
            }
        }
        if servers.is_empty() {
            ctx.warn(&n.pos, "no real server of the service's family: skipped");
            continue;
        }
        out.push(Svc {
            service: svc,
            name: name.clone(),
            servers,
            monitor,
        });
    }
}

// ----------------------------------------------------------- globals --

fn timeouts(ctx: &mut Ctx, n: &Node) -> Option<Timeouts> {
    let a = n.args();
    if a.is_empty() || a.len() % 2 != 0 {
        ctx.err(
            &n.pos,
            "lvs_timeouts takes [tcp SECS] [tcpfin SECS] [udp SECS]",
        );
        return None;
    }
    let mut t = Timeouts::default();
    for kv in a.chunks(2) {
        let v = uint(ctx, &n.pos, &kv[0], &kv[1], 1, 86400 * 31)? as u32;
        match kv[0].as_str() {
            "tcp" => t.tcp = v,
            "tcpfin" => t.tcp_fin = v,
            "udp" => t.udp = v,
            o => {
                ctx.err(
                    &n.pos,
                    format!("lvs_timeouts: `{o}` is not tcp, tcpfin or udp"),
                );
                return None;
            }
        }
    }
    Some(t)
}

fn sync_daemon(ctx: &mut Ctx, n: &Node, vrids: &HashMap<String, u32>) -> Vec<Daemon> {
    let a = n.args();
    let Some(ifname) = a.first() else {
        ctx.err(&n.pos, "lvs_sync_daemon needs an interface");
        return Vec::new();
    };
    if ifname.is_empty() || ifname.len() > 15 {
        ctx.err(
            &n.pos,
            "lvs_sync_daemon: interface name longer than 15 bytes",
        );
        return Vec::new();
    }
    let mut d = Daemon::new(DaemonState::Backup, ifname, 0);
    let mut inst: Option<String> = None;
    let mut id = None;
    let mut i = 1;
    const KEYS: &[&str] = &["id", "maxlen", "port", "ttl", "group"];
    while i < a.len() {
        let k = a[i].as_str();
        if k == "inst" || (i == 1 && !KEYS.contains(&k)) {
            let name = if k == "inst" {
                a.get(i + 1)
            } else {
                Some(&a[i])
            };
            match name {
                Some(x) => inst = Some(x.clone()),
                None => ctx.err(&n.pos, "lvs_sync_daemon: inst needs a VRRP instance"),
            }
            i += if k == "inst" { 2 } else { 1 };
            continue;
        }
        let v = a.get(i + 1).map_or("", |s| s.as_str());
        match k {
            "id" => id = uint(ctx, &n.pos, "id", v, 0, 255).map(|x| x as u32),
            "maxlen" => {
                d.sync_maxlen = uint(ctx, &n.pos, "maxlen", v, 1, 65507).unwrap_or(0) as u16
            }
            "port" => d.mcast_port = uint(ctx, &n.pos, "port", v, 1, 65535).unwrap_or(0) as u16,
            "ttl" => d.mcast_ttl = uint(ctx, &n.pos, "ttl", v, 1, 255).unwrap_or(0) as u8,
            "group" => d.mcast_group = addr(ctx, &n.pos, v),
            _ => {
                ctx.err(&n.pos, format!("lvs_sync_daemon: unknown option `{k}`"));
                return Vec::new();
            }
        }
        i += 2;
    }
    d.syncid = match (id, &inst) {
        (Some(x), _) => x,
        (None, Some(name)) => vrids.get(name).copied().unwrap_or(0),
        (None, None) => 0,
    };
    match inst {
        None => {
            let mut m = d.clone();
            m.state = DaemonState::Master;
            vec![m, d]
        }
        Some(name) => {
            ctx.warn(
                &n.pos,
                format!("lvs_sync_daemon follows VRRP instance {name} in keepalived (master daemon while it is master): the document starts the backup daemon; switch roles from keepalived's notify scripts"),
            );
            vec![d]
        }
    }
}

/// Top-level keywords keepalived knows that have nothing for IPVS.
const OTHER_TOP: &[&str] = &[
    "linkbeat_use_polling",
    "linkbeat_interfaces",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "use_pid_dir",
    "instance",
    "child_wait_time",
    "track_file",
    "track_process",
    "bfd_instance",
    "garp_group",
];

/// Import a parsed configuration.
pub fn import(nodes: &[Node], conditional: Option<Pos>) -> Result<Imported, Vec<String>> {
    let mut ctx = Ctx::default();
    if let Some(p) = conditional {
        ctx.warn(
            &p,
            "conditional lines (@ID) read as for no config_id: @ID lines skipped, @^ID lines kept",
        );
    }
    let mut groups: HashMap<String, (Vec<Entry>, Pos)> = HashMap::new();
    let mut vrids: HashMap<String, u32> = HashMap::new();
    for n in nodes {
        match n.key() {
            "virtual_server_group" => {
                let [name] = n.args() else {
                    ctx.err(&n.pos, "virtual_server_group takes one name");
                    continue;
                };
                let mut entries = Vec::new();
                for e in block(&mut ctx, n) {
                    no_block(&mut ctx, e);
                    if let Some(x) = group_entry(&mut ctx, e) {
                        entries.push(x);
                    }
                }
                if entries.is_empty() {
                    ctx.warn(&n.pos, format!("virtual_server_group {name} is empty"));
                }
                if let Some((_, p)) = groups.get(name) {
                    ctx.err(
                        &n.pos,
                        format!("virtual_server_group {name} already defined at {p}"),
                    );
                    continue;
                }
                groups.insert(name.clone(), (entries, n.pos.clone()));
            }
            "vrrp_instance" => {
                if let (Some(name), Some(b)) = (n.args().first(), &n.block) {
                    if let Some(v) = b.iter().find(|c| c.key() == "virtual_router_id") {
                        if let Some(id) = v.args().first().and_then(|x| x.parse().ok()) {
                            vrids.insert(name.clone(), id);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut doc = Doc::default();
    let mut seen: HashMap<ServiceKey, Pos> = HashMap::new();
    for n in nodes {
        let k = n.key();
        match k {
            "virtual_server_group" => {}
            "virtual_server" => build(&mut ctx, n, &groups, &mut seen, &mut doc.services),
            "global_defs" => {
                for g in n.block.iter().flatten() {
                    match g.key() {
                        "lvs_timeouts" => {
                            if let Some(t) = timeouts(&mut ctx, g) {
                                doc.timeouts = Some(t);
                            }
                        }
                        "lvs_sync_daemon" => {
                            let ds = sync_daemon(&mut ctx, g, &vrids);
                            doc.daemons = ds;
                        }
                        "lvs_flush" => {
                            // apply and serve make the whole table match
                            // the document: what lvs_flush is for.
                        }
                        "lvs_flush_on_stop" => ctx.warn(
                            &g.pos,
                            "lvs_flush_on_stop: run `ipvsadm serve --on-stop remove` for this",
                        ),
                        _ => ctx.note_once(
                            "global_defs",
                            &g.pos,
                            "global_defs other than lvs_timeouts and lvs_sync_daemon are keepalived's own (skipped)",
                        ),
                    }
                }
            }
            "SSL" => ctx.warn(
                &n.pos,
                "SSL: SSL_GET checks present no client certificate and verify no server certificate (ignored)",
            ),
            _ if k.starts_with("vrrp_") || k.starts_with("static_") || OTHER_TOP.contains(&k) => {
                ctx.note_once(
                    k,
                    &n.pos,
                    format!("{k} blocks are left to keepalived (skipped)"),
                )
            }
            _ => ctx.err(&n.pos, format!("unknown keyword `{k}`")),
        }
    }
    if ctx.errors.is_empty() {
        Ok(Imported {
            doc,
            warnings: ctx.warnings,
        })
    } else {
        Err(ctx.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{export_text, import_text, parse, Format};

    fn rules(conf: &str) -> (String, Vec<String>) {
        let i = import_text(conf, "t.conf", &parse::Files, Format::Rules).unwrap();
        (i.text, i.warnings)
    }

    /// Octavia's per-member MISC commands (found by the differential
    /// against keepalived: the first member's command used to check every
    /// member, so a dead one stayed up).
    #[test]
    fn misc_commands_naming_each_member() {
        let conf = "virtual_server 203.0.113.70 53 {\n protocol UDP\n delay_loop 5\n\
             real_server 198.51.100.71 53 {\n  MISC_CHECK {\n   misc_path \"/bin/check 198.51.100.71 53\"\n  }\n }\n\
             real_server 198.51.100.72 53 {\n  MISC_CHECK {\n   misc_path \"/bin/check \\\"198.51.100.72\\\" 53\"\n  }\n }\n}\n";
        let (text, warnings) = rules(conf);
        assert!(
            text.contains("command=\"/bin/check $TARGET_ADDRESS $TARGET_PORT\""),
            "{text}"
        );
        assert!(
            !warnings.iter().any(|w| w.contains("differs")),
            "{warnings:?}"
        );
        // Exported per real server with its own address and port, and
        // imported back to the same document.
        let out = export_text(&text, "doc").unwrap();
        assert!(
            out.text
                .contains("misc_path \"/bin/check 198.51.100.71 53\""),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("misc_path \"/bin/check 198.51.100.72 53\""),
            "{}",
            out.text
        );
        assert_eq!(rules(&out.text).0, text);
    }

    /// The same command for every real server stays as written; commands
    /// that differ otherwise keep the first (with a warning).
    #[test]
    fn misc_commands_otherwise() {
        let same = "virtual_server 203.0.113.60 25 {\n protocol TCP\n delay_loop 5\n\
             real_server 198.51.100.61 25 {\n  MISC_CHECK {\n   misc_path \"/bin/c 198.51.100.61 25\"\n  }\n }\n\
             real_server 198.51.100.62 25 {\n  MISC_CHECK {\n   misc_path \"/bin/c 198.51.100.61 25\"\n  }\n }\n}\n";
        let (text, warnings) = rules(same);
        assert!(
            text.contains("command=\"/bin/c 198.51.100.61 25\""),
            "{text}"
        );
        assert!(
            warnings.iter().all(|w| !w.contains("differs")),
            "{warnings:?}"
        );
        let other = same.replacen(
            "/bin/c 198.51.100.61 25\"\n  }\n }\n}",
            "/bin/d\"\n  }\n }\n}",
            1,
        );
        let (text, warnings) = rules(&other);
        assert!(
            text.contains("command=\"/bin/c 198.51.100.61 25\""),
            "{text}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("differs")),
            "{warnings:?}"
        );
    }
}
