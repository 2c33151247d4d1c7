//! The status page of `ipvsadm serve --listen` (`GET /`): one
//! self-contained HTML document (inline CSS, no script, no external asset,
//! so it works on a director without internet access) rendered from the
//! same table read as [`super::metrics`], with each real server's health
//! ([`DestStatus`]) and rates ([`Rates`]) given by the daemon.
//!
//! It refreshes itself (`<meta http-equiv="refresh">`) and reads on a
//! phone: below 760 px the real-server tables become one card per real
//! server, nothing is wider than the screen. A real server that is down
//! is a red row with a `DOWN` badge, counted in a banner at the top and in
//! the title. Every text is HTML-escaped.

use crate::model::{Dest, FwdMethod, Protocol, Service, ServiceKey, Stats};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// The daemon, as the head of the page shows it.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub version: String,
    pub host: String,
    pub file: String,
    pub pid: u32,
    /// Unix time of this render.
    pub now: f64,
    /// Unix time the daemon started.
    pub started: f64,
    pub probes: usize,
    pub checks: u64,
    pub lateness_p99_ms: Option<u64>,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    /// The last apply of FILE to the kernel: unix time, outcome, success.
    pub last_apply: Option<(f64, String, bool)>,
    /// Seconds between refreshes.
    pub refresh_secs: u32,
    /// The seconds the rates were measured over (`None`: first render,
    /// rates pending).
    pub rate_window: Option<f64>,
}

/// Health of one real server, as the daemon knows it.
#[derive(Clone, Debug, Default)]
pub struct DestStatus {
    /// `ONLINE`, `ERROR`, `DRAINING`, `NO_MONITOR`.
    pub operating_status: String,
    pub configured_weight: i32,
    /// Unix time of the last change of state.
    pub since: Option<f64>,
    /// The check type (`HTTP`, `TCP`, …), if monitored.
    pub check: Option<String>,
    pub last_ok: Option<bool>,
    pub last_reason: Option<String>,
    pub last_latency_ms: Option<f64>,
    /// Failed checks in a row.
    pub failures: Option<u32>,
}

/// Per-second rates of one entry, from two reads of its counters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    pub cps: f64,
    pub inpps: f64,
    pub outpps: f64,
    /// Bytes per second.
    pub inbps: f64,
    pub outbps: f64,
}

impl Rates {
    /// `(now - before) / secs`; `None` when a counter went back (the
    /// entry was recreated) or no time passed.
    pub fn between(before: &Stats, now: &Stats, secs: f64) -> Option<Rates> {
        if secs <= 0.0 {
            return None;
        }
        let d = |a: u64, b: u64| b.checked_sub(a).map(|x| x as f64 / secs);
        Some(Rates {
            cps: d(before.conns, now.conns)?,
            inpps: d(before.inpkts, now.inpkts)?,
            outpps: d(before.outpkts, now.outpkts)?,
            inbps: d(before.inbytes, now.inbytes)?,
            outbps: d(before.outbytes, now.outbytes)?,
        })
    }
}

/// A real server of FILE that the kernel's table lacks (removed on
/// failure): shown, so that a dead server removed from the table stays
/// visible.
#[derive(Clone, Debug)]
pub struct Absent {
    pub key: ServiceKey,
    pub addr: IpAddr,
    pub port: u16,
    pub status: DestStatus,
}

/// HTML-escape `v` onto `out`.
pub fn escape(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn esc(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    escape(&mut s, v);
    s
}

/// The service as `-L -n` names it.
pub fn service_title(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let p = match protocol {
                Protocol::Tcp => "TCP",
                Protocol::Udp => "UDP",
                Protocol::Sctp => "SCTP",
                Protocol::Other(_) => "?",
            };
            format!("{p} {}", SocketAddr::new(*addr, *port))
        }
        ServiceKey::Fwmark { family, mark } => {
            if *family == crate::model::Family::Inet6 {
                format!("FWM {mark} IPv6")
            } else {
                format!("FWM {mark}")
            }
        }
    }
}

fn forwarding(f: FwdMethod) -> &'static str {
    match f {
        FwdMethod::Masq => "Masq",
        FwdMethod::Local => "Local",
        FwdMethod::Tunnel => "Tunnel",
        FwdMethod::Route => "Route",
        FwdMethod::Other(_) => "?",
    }
}

/// Three significant digits with an SI prefix (`1.23 k`); exact below
/// 10 000.
fn si(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return "-".into();
    }
    if v < 10.0 && v.fract() != 0.0 {
        return format!("{v:.1}");
    }
    if v < 10_000.0 {
        return format!("{v:.0}");
    }
    let mut x = v;
    let mut p = 0;
    const PREFIX: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    while x >= 1000.0 && p + 1 < PREFIX.len() {
        x /= 1000.0;
        p += 1;
    }
    let digits = if x < 10.0 {
        2
    } else if x < 100.0 {
        1
    } else {
        0
    };
    format!("{x:.digits$}\u{a0}{}", PREFIX[p])
}

fn bytes(v: u64) -> String {
    let s = si(v as f64);
    if v < 10_000 {
        format!("{s}\u{a0}B")
    } else {
        format!("{s}B")
    }
}

fn bits_per_s(bytes_per_s: f64) -> String {
    let s = si(bytes_per_s * 8.0);
    if bytes_per_s * 8.0 < 10_000.0 {
        format!("{s}\u{a0}bit/s")
    } else {
        format!("{s}bit/s")
    }
}

/// `3m 12s`, `2h 5m`, `4d 3h`.
fn span(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m\u{a0}{}s", s / 60, s % 60)
    } else if s < 86400 {
        format!("{}h\u{a0}{}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d\u{a0}{}h", s / 86400, (s % 86400) / 3600)
    }
}

/// `2026-11-30 07:55:01 UTC`.
fn utc(t: f64) -> String {
    let secs = t.max(0.0) as i64;
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}\u{a0}UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// How a real server's state is drawn: row class, badge, its meaning.
fn look(st: Option<&DestStatus>) -> (&'static str, &'static str) {
    match st.map(|s| s.operating_status.as_str()) {
        Some("ERROR") => ("down", "DOWN"),
        Some("ONLINE") => ("up", "UP"),
        Some("DRAINING") => ("drain", "DRAINING"),
        Some("NO_MONITOR") => ("nomon", "NO CHECK"),
        Some(_) => ("unknown", "?"),
        None => ("unknown", "NOT IN FILE"),
    }
}

const CSS: &str = "\
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;padding:12px;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1c1f23;background:#f4f5f7}
h1{font-size:18px;margin:0 0 8px;overflow-wrap:anywhere}
h1 small{font-weight:400;color:#5a6270}
h2{font-size:16px;margin:0;overflow-wrap:anywhere}
.banner{padding:10px 14px;border-radius:6px;margin:0 0 12px;font-weight:600;font-size:15px}
.banner.ok{background:#e3f4e6;color:#1b5e20;border:1px solid #a5d6a7}
.banner.bad{background:#c62828;color:#fff;border:1px solid #8e0000}
.banner ul{margin:6px 0 0;padding-left:20px;font-weight:400;font-size:14px}
.banner li{overflow-wrap:anywhere}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:6px 12px;background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 12px;margin:0 0 12px}
.grid div{min-width:0;overflow-wrap:anywhere}
.grid b{display:block;font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:#5a6270;font-weight:600}
.grid.stats{border:0;padding:0;margin:0 0 8px;grid-template-columns:repeat(auto-fill,minmax(130px,1fr))}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:0 0 12px;padding:10px 12px;min-width:0}
section.hasdown{border-color:#c62828;box-shadow:inset 4px 0 0 #c62828}
.svchead{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 12px;margin-bottom:8px}
.svcname{color:#5a6270;overflow-wrap:anywhere}
.count{font-weight:600;color:#1b5e20}
.count.bad{color:#c62828}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 6px;text-align:right;border-bottom:1px solid #e6e9ed;white-space:nowrap;vertical-align:top}
th{font-size:11px;text-transform:uppercase;letter-spacing:.03em;color:#5a6270;background:#f8f9fa;font-weight:600;vertical-align:bottom}
th.l,td.l{text-align:left}
td.why{white-space:normal;min-width:150px;max-width:260px;overflow-wrap:anywhere}
.in,.out{display:block}
tr.down td{background:#fdecea}
tr.down td:first-child{box-shadow:inset 4px 0 0 #c62828}
tr.drain td{background:#fff4e5}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:700;letter-spacing:.03em;color:#fff}
.up .badge{background:#2e7d32}
.down .badge{background:#c62828}
.drain .badge{background:#ef6c00}
.nomon .badge,.unknown .badge{background:#607080}
.st{display:block;font-size:10px;color:#5a6270;margin-top:2px}
.down .st{color:#b71c1c;font-weight:700}
.fail{color:#b71c1c;font-weight:600}
.muted{color:#6a7280}
.small{font-size:11px}
footer{color:#5a6270;font-size:12px;margin-top:8px;overflow-wrap:anywhere}
@media (max-width:760px){
body{padding:8px}
.scroll{overflow-x:visible}
table.rs,table.rs tbody,table.rs tr,table.rs td{display:block;width:100%}
table.rs thead{display:none}
table.rs tr{border:1px solid #dde1e6;border-radius:6px;margin:8px 0;overflow:hidden}
table.rs tr.down{border:2px solid #c62828}
table.rs td{display:flex;justify-content:space-between;align-items:baseline;gap:10px;white-space:normal;border-bottom:1px solid #f0f2f4;min-width:0;max-width:none}
table.rs td::before{content:attr(data-label);text-align:left;font-weight:600;color:#5a6270;flex:none;max-width:45%}
table.rs td .v{text-align:right;min-width:0;overflow-wrap:anywhere}
tr.down td:first-child{box-shadow:none}
.in,.out,.st{display:inline}
.in::after{content:' / '}
.st{margin-left:6px}
}
";

/// The whole page. `names` gives each service's name from FILE (or
/// none); `health(service, dest)` the daemon's view of a real server
/// (none: not in FILE); `rates(service, dest)` the rates of a service
/// (`dest` none) or real server (none: pending); `absent` the real servers
/// of FILE missing from the table.
#[allow(clippy::too_many_arguments)]
pub fn render(
    out: &mut String,
    table: &[(Service, Vec<Dest>)],
    absent: &[Absent],
    names: &dyn Fn(&ServiceKey) -> Option<String>,
    health: &dyn Fn(&ServiceKey, &Dest) -> Option<DestStatus>,
    rates: &dyn Fn(&ServiceKey, Option<&Dest>) -> Option<Rates>,
    sum: &Summary,
) {
    // Services in a stable order: IPv4 before IPv6, addresses before
    // marks.
    let mut order: Vec<usize> = (0..table.len()).collect();
    let sort_key = |k: &ServiceKey| match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            0u8,
            addr.is_ipv6(),
            *addr,
            *port,
            match protocol {
                Protocol::Tcp => 0u32,
                Protocol::Udp => 1,
                Protocol::Sctp => 2,
                Protocol::Other(_) => 3,
            },
            0u32,
        ),
        ServiceKey::Fwmark { family, mark } => (
            1,
            *family == crate::model::Family::Inet6,
            IpAddr::from([0, 0, 0, 0]),
            0,
            0,
            *mark,
        ),
    };
    order.sort_by_key(|&i| sort_key(&table[i].0.key));
    let hs: Vec<Vec<Option<DestStatus>>> = table
        .iter()
        .map(|(s, ds)| ds.iter().map(|d| health(&s.key, d)).collect())
        .collect();
    // The down real servers, for the banner and the title.
    let mut down: Vec<(String, String, String)> = Vec::new();
    let mut total = 0usize;
    let mut draining = 0usize;
    for &i in &order {
        let (s, ds) = &table[i];
        for (d, h) in ds.iter().zip(&hs[i]) {
            total += 1;
            match h.as_ref().map(|h| h.operating_status.as_str()) {
                Some("ERROR") => down.push((
                    service_title(&s.key),
                    SocketAddr::new(d.addr, d.port).to_string(),
                    h.as_ref()
                        .and_then(|h| h.last_reason.clone())
                        .unwrap_or_default(),
                )),
                Some("DRAINING") => draining += 1,
                _ => {}
            }
        }
        for a in absent.iter().filter(|a| a.key == s.key) {
            total += 1;
            if a.status.operating_status == "ERROR" {
                down.push((
                    service_title(&s.key),
                    SocketAddr::new(a.addr, a.port).to_string(),
                    a.status.last_reason.clone().unwrap_or_default(),
                ));
            }
        }
    }

    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"refresh\" content=\"{}\">",
        sum.refresh_secs.max(1)
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"color-scheme\" content=\"light\">\n<title>");
    if !down.is_empty() {
        let _ = write!(out, "{} DOWN · ", down.len());
    }
    out.push_str("IPVS ");
    escape(out, &sum.host);
    out.push_str("</title>\n<style>\n");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<h1>IPVS on ");
    escape(out, &sum.host);
    out.push_str(" <small>ipvsadm serve ");
    escape(out, &sum.version);
    out.push_str("</small></h1>\n");

    // The banner: what is down, at a glance.
    if down.is_empty() {
        let _ = write!(
            out,
            "<div class=\"banner ok\" id=\"banner\" data-down=\"0\">All {total} real server{} up",
            if total == 1 { "" } else { "s" }
        );
        if draining > 0 {
            let _ = write!(out, " ({draining} draining)");
        }
        out.push_str("</div>\n");
    } else {
        let _ = write!(
            out,
            "<div class=\"banner bad\" id=\"banner\" data-down=\"{n}\">&#9888; {n} of {total} real server{} DOWN",
            if total == 1 { "" } else { "s" },
            n = down.len()
        );
        if draining > 0 {
            let _ = write!(out, ", {draining} draining");
        }
        out.push_str("<ul>");
        for (svc, rs, why) in &down {
            out.push_str("<li>");
            escape(out, svc);
            out.push_str(" &rarr; <b>");
            escape(out, rs);
            out.push_str("</b>");
            if !why.is_empty() {
                out.push_str(": ");
                escape(out, why);
            }
            out.push_str("</li>");
        }
        out.push_str("</ul></div>\n");
    }

    // The daemon.
    out.push_str("<div class=\"grid\" id=\"daemon\">");
    let item = |out: &mut String, label: &str, value: &str| {
        let _ = write!(out, "<div><b>{label}</b>{value}</div>");
    };
    item(out, "FILE", &esc(&sum.file));
    item(out, "pid", &sum.pid.to_string());
    item(out, "uptime", &span(sum.now - sum.started));
    item(out, "probes", &sum.probes.to_string());
    item(out, "checks", &si(sum.checks as f64));
    item(
        out,
        "p99 lateness",
        &sum.lateness_p99_ms
            .map_or("-".into(), |v| format!("{v}\u{a0}ms")),
    );
    item(
        out,
        "reloads",
        &if sum.reloads_failed > 0 {
            format!(
                "{} ok, <span class=\"fail\">{} failed</span>",
                sum.reloads_ok, sum.reloads_failed
            )
        } else {
            format!("{} ok, 0 failed", sum.reloads_ok)
        },
    );
    item(
        out,
        "last apply",
        &match &sum.last_apply {
            None => "-".into(),
            Some((t, what, ok)) => format!(
                "{}{}{} ({} ago)",
                if *ok { "" } else { "<span class=\"fail\">" },
                esc(what),
                if *ok { "" } else { "</span>" },
                span(sum.now - t)
            ),
        },
    );
    item(
        out,
        "rates",
        &match sum.rate_window {
            Some(w) => format!("over the last {w:.1}\u{a0}s"),
            None => "pending (first view; shown from the next refresh)".into(),
        },
    );
    out.push_str("</div>\n");

    if table.is_empty() {
        out.push_str(
            "<section><p class=\"muted\">No virtual service in the table.</p></section>\n",
        );
    }
    for &i in &order {
        let (s, ds) = &table[i];
        let title = service_title(&s.key);
        let extra: Vec<&Absent> = absent.iter().filter(|a| a.key == s.key).collect();
        let n = ds.len() + extra.len();
        let ndown = hs[i]
            .iter()
            .filter(|h| h.as_ref().is_some_and(|h| h.operating_status == "ERROR"))
            .count()
            + extra
                .iter()
                .filter(|a| a.status.operating_status == "ERROR")
                .count();
        let _ = write!(
            out,
            "<section class=\"svc{}\" data-service=\"{}\">\n<div class=\"svchead\"><h2>{}</h2>",
            if ndown > 0 { " hasdown" } else { "" },
            esc(&title),
            esc(&title)
        );
        if let Some(name) = names(&s.key).filter(|n| !n.is_empty()) {
            out.push_str("<span class=\"svcname\">");
            escape(out, &name);
            out.push_str("</span>");
        }
        out.push_str("<span>scheduler <b>");
        escape(out, &s.scheduler);
        out.push_str("</b>");
        if s.flags.0 & 1 != 0 {
            let _ = write!(out, ", persistent {}\u{a0}s", s.timeout);
        }
        out.push_str("</span>");
        let _ = writeln!(
            out,
            "<span class=\"count{}\">{} of {n} up</span></div>",
            if ndown > 0 { " bad" } else { "" },
            n - ndown
        );
        // The service's own counters and rates.
        out.push_str("<div class=\"grid stats\">");
        let st = &s.stats;
        let kv = |out: &mut String, label: &str, v: &str| {
            let _ = write!(out, "<div><b>{label}</b>{v}</div>");
        };
        kv(out, "conns", &si(st.conns as f64));
        kv(
            out,
            "packets in / out",
            &format!("{} / {}", si(st.inpkts as f64), si(st.outpkts as f64)),
        );
        kv(
            out,
            "bytes in / out",
            &format!("{} / {}", bytes(st.inbytes), bytes(st.outbytes)),
        );
        match rates(&s.key, None) {
            Some(r) => {
                kv(out, "conn/s", &si(r.cps));
                kv(
                    out,
                    "pkt/s in / out",
                    &format!("{} / {}", si(r.inpps), si(r.outpps)),
                );
                kv(
                    out,
                    "bit/s in / out",
                    &format!("{} / {}", bits_per_s(r.inbps), bits_per_s(r.outbps)),
                );
            }
            None => kv(out, "rates", "<span class=\"muted\">pending</span>"),
        }
        out.push_str("</div>\n");
        if n == 0 {
            out.push_str("<p class=\"muted\">No real server.</p></section>\n");
            continue;
        }
        out.push_str("<div class=\"scroll\"><table class=\"rs\"><thead><tr>");
        for (h, left) in [
            ("Real server", true),
            ("Health", true),
            ("Since", true),
            ("Last check", true),
            ("Weight<br>now/FILE", false),
            ("Fwd", true),
            ("Active<br>InAct", false),
            ("Conn/s", false),
            ("Pkt/s<br>in/out", false),
            ("Bit/s<br>in/out", false),
            ("Conns", false),
            ("Packets<br>in/out", false),
            ("Bytes<br>in/out", false),
        ] {
            let _ = write!(
                out,
                "<th{}>{h}</th>",
                if left { " class=\"l\"" } else { "" }
            );
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        // Real servers by address.
        let mut by_addr: Vec<(&Dest, &Option<DestStatus>)> = ds.iter().zip(&hs[i]).collect();
        by_addr.sort_by_key(|(d, _)| (d.addr, d.port));
        for (d, h) in by_addr {
            row(
                out,
                &title,
                d.addr,
                d.port,
                Some(d),
                h.as_ref(),
                rates(&s.key, Some(d)),
                sum.now,
            );
        }
        for a in extra {
            row(
                out,
                &title,
                a.addr,
                a.port,
                None,
                Some(&a.status),
                None,
                sum.now,
            );
        }
        out.push_str("</tbody></table></div>\n</section>\n");
    }
    let _ = writeln!(
        out,
        "<footer>Read-only. Rendered {} from one read of the kernel's table; refreshes every {}\u{a0}s. Prometheus: <a href=\"/metrics\">/metrics</a>.</footer>\n</body>\n</html>",
        utc(sum.now),
        sum.refresh_secs.max(1)
    );
}

/// An in/out pair: two lines in a table, one on a card.
fn io(a: &str, b: &str) -> String {
    format!("<span class=\"in\">{a}</span><span class=\"out\">{b}</span>")
}

/// When a state began: its age, and the time (the day too unless today).
fn since(t: f64, now: f64) -> String {
    let full = utc(t);
    let same_day = (t.max(0.0) as i64).div_euclid(86400) == (now.max(0.0) as i64).div_euclid(86400);
    let shown = if same_day {
        full.split_once(' ')
            .map_or(full.clone(), |(_, time)| time.to_string())
    } else {
        full.clone()
    };
    format!(
        "{} ago<br><span class=\"muted small\" title=\"{full}\">since {shown}</span>",
        span(now - t)
    )
}

/// One real server: a table row (a card on a phone).
#[allow(clippy::too_many_arguments)]
fn row(
    out: &mut String,
    service: &str,
    addr: IpAddr,
    port: u16,
    d: Option<&Dest>,
    h: Option<&DestStatus>,
    r: Option<Rates>,
    now: f64,
) {
    let (class, badge) = look(h);
    let server = SocketAddr::new(addr, port).to_string();
    let _ = write!(
        out,
        "<tr class=\"{class}\" data-service=\"{}\" data-server=\"{}\" data-status=\"{}\">",
        esc(service),
        esc(&server),
        esc(h.map_or("", |h| h.operating_status.as_str()))
    );
    // The value in one element: the card layout puts the label beside it.
    let cell = |out: &mut String, label: &str, cls: &str, v: &str| {
        let _ = write!(
            out,
            "<td data-label=\"{label}\"{cls}><span class=\"v\">{v}</span></td>"
        );
    };
    cell(
        out,
        "Real server",
        " class=\"l\"",
        &format!("<b>{}</b>", esc(&server)),
    );
    let status = h.map_or(String::new(), |h| {
        format!("<span class=\"st\">{}</span>", esc(&h.operating_status))
    });
    cell(
        out,
        "Health",
        " class=\"l\"",
        &format!("<span class=\"badge\">{badge}</span>{status}"),
    );
    cell(
        out,
        "Since",
        " class=\"l\"",
        &h.and_then(|h| h.since)
            .map_or("-".into(), |t| since(t, now)),
    );
    let last = match h {
        Some(h) => match (&h.check, h.last_ok, &h.last_reason) {
            (Some(c), Some(ok), Some(why)) => format!(
                "{} {}: {}{}{}",
                esc(c),
                if ok {
                    "ok"
                } else {
                    "<span class=\"fail\">FAIL</span>"
                },
                esc(why),
                h.last_latency_ms.map_or(String::new(), |l| format!(
                    " <span class=\"muted\">({l:.1}\u{a0}ms)</span>"
                )),
                match h.failures {
                    Some(f) if f > 0 && !ok => {
                        format!("<br><span class=\"fail\">{f} failed in a row</span>")
                    }
                    _ => String::new(),
                }
            ),
            (Some(c), _, _) => format!("{} (not checked yet)", esc(c)),
            (None, _, _) => "<span class=\"muted\">no monitor</span>".into(),
        },
        None => "<span class=\"muted\">not managed by FILE</span>".into(),
    };
    cell(out, "Last check", " class=\"l why\"", &last);
    let now_w = d.map_or("removed".to_string(), |d| d.weight.to_string());
    let conf = h.map_or("-".to_string(), |h| h.configured_weight.to_string());
    cell(
        out,
        "Weight now/FILE",
        "",
        &format!("<b>{now_w}</b>\u{a0}/\u{a0}{conf}"),
    );
    cell(
        out,
        "Fwd",
        " class=\"l\"",
        d.map_or("-", |d| forwarding(d.fwd)),
    );
    match d {
        Some(d) => cell(
            out,
            "ActiveConn / InActConn",
            "",
            &io(
                &si(f64::from(d.active_conns)),
                &si(f64::from(d.inact_conns)),
            ),
        ),
        None => cell(out, "ActiveConn / InActConn", "", "-"),
    }
    let labels = ["Conn/s", "Pkt/s in/out", "Bit/s in/out"];
    match (d, r) {
        (Some(_), Some(r)) => {
            cell(out, labels[0], "", &si(r.cps));
            cell(out, labels[1], "", &io(&si(r.inpps), &si(r.outpps)));
            cell(
                out,
                labels[2],
                "",
                &io(&bits_per_s(r.inbps), &bits_per_s(r.outbps)),
            );
        }
        (Some(_), None) => {
            for l in labels {
                cell(out, l, "", "<span class=\"muted\">pending</span>");
            }
        }
        (None, _) => {
            for l in labels {
                cell(out, l, "", "-");
            }
        }
    }
    let labels = ["Conns", "Packets in/out", "Bytes in/out"];
    match d {
        Some(d) => {
            let s = &d.stats;
            cell(out, labels[0], "", &si(s.conns as f64));
            cell(
                out,
                labels[1],
                "",
                &io(&si(s.inpkts as f64), &si(s.outpkts as f64)),
            );
            cell(
                out,
                labels[2],
                "",
                &io(&bytes(s.inbytes), &bytes(s.outbytes)),
            );
        }
        None => {
            for l in labels {
                cell(out, l, "", "-");
            }
        }
    }
    out.push_str("</tr>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Family as Af;

    fn table() -> Vec<(Service, Vec<Dest>)> {
        let mut s = Service::new(ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80), "wrr");
        s.stats.conns = 7;
        s.stats.inbytes = 1 << 40;
        let mut a = Dest::new("198.51.100.1".parse().unwrap(), 80);
        a.fwd = FwdMethod::Masq;
        a.weight = 3;
        a.active_conns = 2;
        let mut b = Dest::new("198.51.100.2".parse().unwrap(), 80);
        b.fwd = FwdMethod::Masq;
        b.weight = 0;
        let f = Service::new(ServiceKey::fwmark(Af::Inet6, 7), "rr");
        let d6 = Dest::new("2001:db8::1".parse().unwrap(), 0);
        vec![(f, vec![d6]), (s, vec![b, a])]
    }

    fn health(_: &ServiceKey, d: &Dest) -> Option<DestStatus> {
        match d.addr.to_string().as_str() {
            "198.51.100.1" => Some(DestStatus {
                operating_status: "ONLINE".into(),
                configured_weight: 3,
                since: Some(1_700_000_000.0),
                check: Some("HTTP".into()),
                last_ok: Some(true),
                last_reason: Some("HTTP 200".into()),
                last_latency_ms: Some(1.25),
                failures: Some(0),
            }),
            "198.51.100.2" => Some(DestStatus {
                operating_status: "ERROR".into(),
                configured_weight: 2,
                since: Some(1_700_000_100.0),
                check: Some("HTTP".into()),
                last_ok: Some(false),
                last_reason: Some("connect: Connection refused <&>".into()),
                last_latency_ms: Some(0.5),
                failures: Some(4),
            }),
            _ => None,
        }
    }

    fn summary() -> Summary {
        Summary {
            version: "1.0".into(),
            host: "lb<1>".into(),
            file: "/etc/ipvsadm/lb.rules".into(),
            pid: 42,
            now: 1_700_000_200.0,
            started: 1_700_000_000.0,
            refresh_secs: 5,
            ..Summary::default()
        }
    }

    #[test]
    fn down_is_marked_and_text_escaped() {
        let mut out = String::new();
        let names = |k: &ServiceKey| {
            matches!(k, ServiceKey::Addr { .. }).then(|| "<script>web</script>".to_string())
        };
        render(
            &mut out,
            &table(),
            &[],
            &names,
            &health,
            &|_, _| None,
            &summary(),
        );
        assert!(out.starts_with("<!DOCTYPE html>"), "{out}");
        assert!(out.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
        assert!(out.contains("name=\"viewport\""));
        assert!(!out.contains("<script"), "{out}");
        assert!(out.contains("&lt;script&gt;web&lt;/script&gt;"));
        assert!(
            out.contains("<title>1 DOWN · IPVS lb&lt;1&gt;</title>"),
            "{out}"
        );
        assert!(out.contains("id=\"banner\" data-down=\"1\""), "{out}");
        assert!(out.contains("<tr class=\"down\" data-service=\"TCP 192.0.2.1:80\" data-server=\"198.51.100.2:80\" data-status=\"ERROR\">"), "{out}");
        assert!(out.contains("<tr class=\"up\" data-service=\"TCP 192.0.2.1:80\" data-server=\"198.51.100.1:80\" data-status=\"ONLINE\">"), "{out}");
        assert!(out.contains("Connection refused &lt;&amp;&gt;"), "{out}");
        assert!(out.contains("<b>0</b>\u{a0}/\u{a0}2"), "{out}");
        assert!(out.contains("4 failed in a row"), "{out}");
        assert!(out.contains("1 of 2 up"), "{out}");
        // Real servers by address.
        assert!(
            out.find("data-server=\"198.51.100.1:80\"").unwrap()
                < out.find("data-server=\"198.51.100.2:80\"").unwrap()
        );
        assert!(out.contains("data-server=\"[2001:db8::1]:0\""), "{out}");
        assert!(out.contains("NOT IN FILE"), "{out}");
        assert!(out.contains("pending (first view"), "{out}");
        assert!(out.contains("1.10\u{a0}TB"), "{out}");
        assert!(out.contains("2023-11-14 22:13:20\u{a0}UTC"), "{out}");
        // IPv4 services first.
        assert!(out.find("TCP 192.0.2.1:80").unwrap() < out.find("FWM 7 IPv6").unwrap());
        // No external resource of any kind.
        for bad in ["src=", "@import", "url(", "<link", "http://", "https://"] {
            assert!(!out.contains(bad), "{bad}");
        }
    }

    #[test]
    fn all_up_rates_and_absent_servers() {
        let mut out = String::new();
        let up = |k: &ServiceKey, d: &Dest| {
            health(k, d).map(|mut h| {
                h.operating_status = "ONLINE".into();
                h
            })
        };
        let r = Rates {
            cps: 12.0,
            inpps: 1500.0,
            outpps: 0.5,
            inbps: 125_000.0,
            outbps: 0.0,
        };
        render(
            &mut out,
            &table(),
            &[],
            &|_| None,
            &up,
            &|_, _| Some(r),
            &Summary {
                rate_window: Some(5.0),
                ..summary()
            },
        );
        assert!(out.contains("class=\"banner ok\""), "{out}");
        assert!(out.contains("All 3 real servers up"), "{out}");
        assert!(!out.contains("DOWN"), "{out}");
        assert!(
            out.contains("<td data-label=\"Bit/s in/out\"><span class=\"v\"><span class=\"in\">1.00\u{a0}Mbit/s</span><span class=\"out\">0\u{a0}bit/s</span></span></td>"),
            "{out}"
        );
        assert!(out.contains("over the last 5.0\u{a0}s"), "{out}");
        // A real server removed on failure stays on the page.
        let absent = [Absent {
            key: ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80),
            addr: "198.51.100.9".parse().unwrap(),
            port: 80,
            status: DestStatus {
                operating_status: "ERROR".into(),
                last_reason: Some("timeout".into()),
                ..DestStatus::default()
            },
        }];
        let mut out = String::new();
        render(
            &mut out,
            &table(),
            &absent,
            &|_| None,
            &up,
            &|_, _| None,
            &summary(),
        );
        assert!(
            out.contains("data-server=\"198.51.100.9:80\" data-status=\"ERROR\""),
            "{out}"
        );
        assert!(out.contains("<b>removed</b>"), "{out}");
        assert!(out.contains("1 of 4 real servers DOWN"), "{out}");
    }

    #[test]
    fn rates_between_reads() {
        let a = Stats {
            conns: 10,
            inbytes: 1000,
            ..Stats::default()
        };
        let b = Stats {
            conns: 20,
            inbytes: 3000,
            ..Stats::default()
        };
        let r = Rates::between(&a, &b, 2.0).unwrap();
        assert_eq!((r.cps, r.inbps), (5.0, 1000.0));
        assert_eq!(Rates::between(&b, &a, 2.0), None);
        assert_eq!(Rates::between(&a, &b, 0.0), None);
    }

    #[test]
    fn empty_table() {
        let mut out = String::new();
        render(
            &mut out,
            &[],
            &[],
            &|_| None,
            &|_, _| None,
            &|_, _| None,
            &summary(),
        );
        assert!(out.contains("No virtual service"), "{out}");
        assert!(out.contains("All 0 real servers up"), "{out}");
    }
}
