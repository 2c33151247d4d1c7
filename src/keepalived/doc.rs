//! The document an import builds: what `ipvsadm serve` reads (the state of
//! `ipvsadm apply` plus health monitors), written as JSON or as rules with
//! `#@ health` and `#@ name` lines, always in the same order and with the
//! same spelling (so that two imports of equivalent configurations print
//! the same text).

use crate::lang::render;
use crate::model::{Daemon, Dest, Document, Family, Service, ServiceEntry, Timeouts, TunType};
use crate::serve::config::{CheckType, OnFailure};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A health monitor as the document spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    pub kind: CheckType,
    pub delay: Duration,
    pub timeout: Duration,
    /// `max_retries_down`.
    pub fall: u32,
    pub alpha: bool,
    pub url_path: Option<String>,
    /// Octavia's form (`200`, `200,202`, `200-204`).
    pub expected_codes: Option<String>,
    pub http_version: Option<&'static str>,
    pub domain_name: Option<String>,
    pub command: Option<String>,
    pub misc_dynamic: bool,
    pub on_failure: OnFailure,
    pub quorum: u32,
    pub hysteresis: u32,
    pub sorry_server: Option<SocketAddr>,
}

/// A value of the document: a number, a boolean or a string.
enum Val {
    Num(String),
    Bool(bool),
    Str(String),
}

/// Seconds as the shortest decimal that reads back to the same value.
pub fn secs(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns % 1_000_000_000 == 0 {
        return (ns / 1_000_000_000).to_string();
    }
    let mut s = format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
    while s.ends_with('0') {
        s.pop();
    }
    s
}

impl Monitor {
    /// The fields, in the document's order.
    fn fields(&self) -> Vec<(&'static str, Val)> {
        let mut f = vec![
            ("type", Val::Str(self.kind.name().into())),
            ("delay", Val::Num(secs(self.delay))),
            ("timeout", Val::Num(secs(self.timeout))),
            ("max_retries", Val::Num("1".into())),
            ("max_retries_down", Val::Num(self.fall.to_string())),
        ];
        if let Some(p) = &self.url_path {
            f.push(("url_path", Val::Str(p.clone())));
        }
        if let Some(c) = &self.expected_codes {
            f.push(("expected_codes", Val::Str(c.clone())));
        }
        if let Some(v) = self.http_version {
            f.push(("http_version", Val::Str(v.into())));
        }
        if let Some(d) = &self.domain_name {
            f.push(("domain_name", Val::Str(d.clone())));
        }
        if let Some(c) = &self.command {
            f.push(("command", Val::Str(c.clone())));
        }
        if self.misc_dynamic {
            f.push(("misc_dynamic", Val::Bool(true)));
        }
        f.push(("alpha", Val::Bool(self.alpha)));
        f.push((
            "on_failure",
            Val::Str(
                match self.on_failure {
                    OnFailure::Weight0 => "weight0",
                    OnFailure::Remove => "remove",
                }
                .into(),
            ),
        ));
        f.push(("quorum", Val::Num(self.quorum.to_string())));
        f.push(("hysteresis", Val::Num(self.hysteresis.to_string())));
        if let Some(s) = self.sorry_server {
            f.push(("sorry_server", Val::Str(s.to_string())));
        }
        f
    }
}

/// A real server and where it is probed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub dest: Dest,
    pub monitor_address: Option<IpAddr>,
    pub monitor_port: Option<u16>,
}

/// A service, its name, real servers and monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Svc {
    pub service: Service,
    pub name: Option<String>,
    pub servers: Vec<Server>,
    pub monitor: Option<Monitor>,
}

/// The whole document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Doc {
    pub timeouts: Option<Timeouts>,
    pub services: Vec<Svc>,
    pub daemons: Vec<Daemon>,
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn push_val(out: &mut String, v: &Val) {
    match v {
        Val::Num(n) => out.push_str(n),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Str(s) => out.push_str(&json_str(s)),
    }
}

/// A value as rules text: bare, or in double quotes when it has a blank,
/// a quote or a backslash (`\"` and `\\` inside).
fn rules_val(v: &Val) -> String {
    match v {
        Val::Num(n) => n.clone(),
        Val::Bool(b) => b.to_string(),
        Val::Str(s) => quote(s),
    }
}

/// `s` as one word of a `#@` line.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && !s.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
        return s.to_string();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

impl Doc {
    /// The state part, as `apply` reads it.
    pub fn document(&self) -> Document {
        Document {
            info: None,
            timeouts: self.timeouts,
            services: self
                .services
                .iter()
                .map(|s| ServiceEntry {
                    service: s.service.clone(),
                    dests: s.servers.iter().map(|d| d.dest.clone()).collect(),
                })
                .collect(),
            daemons: (!self.daemons.is_empty()).then(|| self.daemons.clone()),
        }
    }

    /// JSON: `apply`'s document plus `name`, `health_monitor`,
    /// `monitor_address` and `monitor_port`; fields at their default left
    /// out.
    pub fn json(&self) -> String {
        let mut o = String::with_capacity(256 + self.services.len() * 512);
        o.push_str("{\n");
        if let Some(t) = self.timeouts {
            let _ = writeln!(
                o,
                "  \"timeouts\": {{ \"tcp\": {}, \"tcp_fin\": {}, \"udp\": {} }},",
                t.tcp, t.tcp_fin, t.udp
            );
        }
        o.push_str("  \"services\": [");
        for (i, s) in self.services.iter().enumerate() {
            o.push_str(if i == 0 { "\n" } else { ",\n" });
            o.push_str("    {\n");
            let svc = &s.service;
            let key = serde_json::to_string(&svc.key).unwrap_or_default();
            let _ = write!(o, "      \"key\": {key}");
            if let Some(n) = &s.name {
                let _ = write!(o, ",\n      \"name\": {}", json_str(n));
            }
            let _ = write!(o, ",\n      \"scheduler\": {}", json_str(&svc.scheduler));
            if svc.flags.0 != 0 {
                let _ = write!(o, ",\n      \"flags\": {}", svc.flags.0);
            }
            if svc.timeout != 0 {
                let _ = write!(o, ",\n      \"timeout\": {}", svc.timeout);
            }
            if svc.netmask != Service::full_netmask(svc.key.family()) && svc.netmask != 0 {
                let _ = write!(o, ",\n      \"netmask\": {}", svc.netmask);
            }
            if let Some(pe) = &svc.pe_name {
                let _ = write!(o, ",\n      \"pe_name\": {}", json_str(pe));
            }
            if let Some(m) = &s.monitor {
                o.push_str(",\n      \"health_monitor\": {");
                for (j, (k, v)) in m.fields().iter().enumerate() {
                    o.push_str(if j == 0 { "\n" } else { ",\n" });
                    let _ = write!(o, "        \"{k}\": ");
                    push_val(&mut o, v);
                }
                o.push_str("\n      }");
            }
            o.push_str(",\n      \"dests\": [");
            for (j, d) in s.servers.iter().enumerate() {
                o.push_str(if j == 0 { "\n" } else { ",\n" });
                let dest = &d.dest;
                let fwd = serde_json::to_string(&dest.fwd).unwrap_or_default();
                let _ = write!(
                    o,
                    "        {{ \"addr\": \"{}\", \"port\": {}, \"fwd\": {fwd}, \"weight\": {}",
                    dest.addr, dest.port, dest.weight
                );
                if dest.u_threshold != 0 {
                    let _ = write!(o, ", \"u_threshold\": {}", dest.u_threshold);
                }
                if dest.l_threshold != 0 {
                    let _ = write!(o, ", \"l_threshold\": {}", dest.l_threshold);
                }
                if dest.tun_type != TunType::Ipip {
                    let t = serde_json::to_string(&dest.tun_type).unwrap_or_default();
                    let _ = write!(o, ", \"tun_type\": {t}");
                }
                if dest.tun_port != 0 {
                    let _ = write!(o, ", \"tun_port\": {}", dest.tun_port);
                }
                if dest.tun_flags.0 != 0 {
                    let _ = write!(o, ", \"tun_flags\": {}", dest.tun_flags.0);
                }
                if let Some(a) = d.monitor_address {
                    let _ = write!(o, ", \"monitor_address\": \"{a}\"");
                }
                if let Some(p) = d.monitor_port {
                    let _ = write!(o, ", \"monitor_port\": {p}");
                }
                o.push_str(" }");
            }
            if !s.servers.is_empty() {
                o.push_str("\n      ");
            }
            o.push_str("]\n    }");
        }
        if !self.services.is_empty() {
            o.push_str("\n  ");
        }
        o.push(']');
        if !self.daemons.is_empty() {
            o.push_str(",\n  \"daemons\": [");
            for (i, d) in self.daemons.iter().enumerate() {
                o.push_str(if i == 0 { "\n    " } else { ",\n    " });
                o.push_str(&serde_json::to_string(d).unwrap_or_default());
            }
            o.push_str("\n  ]");
        }
        o.push_str("\n}\n");
        o
    }

    /// Rules: `ipvsadm state`'s text, each service followed by its
    /// `#@ name` and `#@ health` lines.
    pub fn rules(&self) -> String {
        let mut o = String::new();
        o.push_str("# Imported from keepalived.conf by `ipvsadm import keepalived`.\n");
        let doc = self.document();
        if let Some(t) = doc.timeouts {
            o.push_str(&render::op_command(&crate::model::Op::SetTimeouts(t)));
            o.push('\n');
        }
        for s in &self.services {
            let one = Document {
                services: vec![ServiceEntry {
                    service: s.service.clone(),
                    dests: s.servers.iter().map(|d| d.dest.clone()).collect(),
                }],
                ..Default::default()
            };
            o.push_str(&render::state_rules(&one));
            let svc = service_words(&s.service);
            // A service on port 0 is read as `-A`, which needs its
            // persistence there (`-r` lines take none).
            let subject = match s.service.key {
                crate::model::ServiceKey::Addr { port: 0, .. } if s.service.flags.persistent() => {
                    format!("{svc} -p {}", s.service.timeout)
                }
                _ => svc.clone(),
            };
            if let Some(n) = &s.name {
                let _ = writeln!(o, "#@ name {subject} {}", quote(n));
            }
            if let Some(m) = &s.monitor {
                let _ = write!(o, "#@ health {subject}");
                for (k, v) in m.fields() {
                    let _ = write!(o, " {k}={}", rules_val(&v));
                }
                o.push('\n');
            }
            for d in &s.servers {
                if d.monitor_address.is_none() && d.monitor_port.is_none() {
                    continue;
                }
                // With its forwarding switch: ipvsadm gives a -g or -i
                // real server the service's port.
                let _ = write!(
                    o,
                    "#@ health {svc} -r {} {}",
                    dest_words(&d.dest.addr, d.dest.port),
                    render::fwd_switch(d.dest.fwd)
                );
                if let Some(a) = d.monitor_address {
                    let _ = write!(o, " monitor_address={a}");
                }
                if let Some(p) = d.monitor_port {
                    let _ = write!(o, " monitor_port={p}");
                }
                o.push('\n');
            }
        }
        for d in &self.daemons {
            render::daemon_command(&mut o, d);
            o.push('\n');
        }
        o
    }
}

/// The service as `-A` names it, numeric.
pub fn service_words(s: &Service) -> String {
    let mut out = String::new();
    let v = match s.key {
        crate::model::ServiceKey::Addr { addr, port, .. } => dest_words(&addr, port),
        crate::model::ServiceKey::Fwmark { .. } => String::new(),
    };
    render::push_service(&mut out, &s.key, &v);
    out
}

/// `ADDR:PORT`, IPv6 in brackets.
pub fn dest_words(a: &IpAddr, port: u16) -> String {
    match Family::of(a) {
        Family::Inet => format!("{a}:{port}"),
        Family::Inet6 => format!("[{a}]:{port}"),
    }
}
