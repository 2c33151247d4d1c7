//! A `serve`/`apply` document ([`Config`]) → keepalived.conf: `global_defs`
//! with `lvs_timeouts` and `lvs_sync_daemon`, a `virtual_server_group`
//! for services that share a name and everything else, and one
//! `virtual_server` block per other service. The health monitor becomes
//! one checker per real server, written so that importing the text gives
//! the document back (`retry` = `max_retries_down` − 1 in each checker,
//! `delay_before_retry` = `delay_loop` = `delay`). What keepalived cannot
//! say gets a warning.

use super::doc::{quote, secs};
use crate::model::{
    DaemonState, Dest, Family, FwdMethod, Protocol, Service, ServiceFlags, ServiceKey, TunType,
};
use crate::serve::config::{CheckType, Config, Health, OnFailure};
use std::fmt::Write as _;
use std::time::Duration;

/// What an export gives.
pub struct Exported {
    pub text: String,
    pub warnings: Vec<String>,
}

fn fwd_words(d: &Dest) -> String {
    match d.fwd {
        FwdMethod::Masq => "NAT".into(),
        FwdMethod::Tunnel => {
            let mut s = String::from("TUN");
            match d.tun_type {
                TunType::Ipip => {}
                TunType::Gue => {
                    let _ = write!(s, " type gue port {}", d.tun_port);
                }
                TunType::Gre => s.push_str(" type gre"),
                TunType::Other(_) => {}
            }
            match d.tun_flags.0 {
                1 => s.push_str(" csum"),
                2 => s.push_str(" remcsum"),
                _ => {}
            }
            s
        }
        _ => "DR".into(),
    }
}

/// A word for keepalived: bare, or quoted.
fn word(s: &str) -> String {
    if !s.is_empty() && !s.contains(|c: char| c.is_whitespace() || "\"\\{}#!".contains(c)) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// The body of a `virtual_server` block (without `ip_family` and, for a
/// group, without the keys), and the warnings it brings.
fn body(cfg: &Config, svc: &Service, dests: &[Dest], warn: &mut Vec<String>, at: &str) -> String {
    let key = svc.key;
    let kport = match key {
        ServiceKey::Addr { port, .. } => port,
        ServiceKey::Fwmark { .. } => 0,
    };
    let h: Option<&Health> = cfg.health.get(&key);
    let mut o = String::new();
    let _ = writeln!(o, "    lvs_sched {}", svc.scheduler);
    for (bit, name) in [
        (ServiceFlags::SCHED1, "flag-1"),
        (ServiceFlags::SCHED2, "flag-2"),
        (ServiceFlags::SCHED3, "flag-3"),
    ] {
        if svc.flags.has(bit) {
            let _ = writeln!(o, "    {name}");
        }
    }
    if svc.flags.one_packet() {
        o.push_str("    ops\n");
    }
    let vs_fwd = dests.first().map_or("NAT".to_string(), fwd_words);
    let _ = writeln!(o, "    lvs_method {vs_fwd}");
    if svc.flags.persistent() {
        let _ = writeln!(o, "    persistence_timeout {}", svc.timeout);
        if let Some(m) = crate::lang::render::mask_text(svc) {
            let _ = writeln!(o, "    persistence_granularity {m}");
        }
    }
    if let Some(pe) = svc.pe_name.as_deref().filter(|p| !p.is_empty()) {
        let _ = writeln!(o, "    persistence_engine {}", word(pe));
    }
    if let Some(h) = h {
        let m = &h.monitor;
        let _ = writeln!(o, "    delay_loop {}", secs(m.delay));
        if m.kind != CheckType::Misc {
            let _ = writeln!(o, "    connect_timeout {}", secs(m.timeout));
        }
        let _ = writeln!(o, "    delay_before_retry {}", secs(m.delay));
        if m.alpha {
            o.push_str("    alpha\n");
        }
        if h.on_failure == OnFailure::Weight0 {
            o.push_str("    inhibit_on_failure\n");
        }
        let _ = writeln!(o, "    quorum {}", h.quorum);
        let _ = writeln!(o, "    hysteresis {}", h.hysteresis);
        if let Some(s) = h.sorry_server {
            let nat = dests.first().is_none_or(|d| d.fwd == FwdMethod::Masq);
            if nat {
                let _ = writeln!(o, "    sorry_server {} {}", s.ip(), s.port());
            } else {
                if s.port() != kport {
                    warn.push(format!(
                        "{at}: sorry server {s}: keepalived gives a DR/TUN sorry server the virtual server's port ({kport})"
                    ));
                }
                let _ = writeln!(o, "    sorry_server {}", s.ip());
            }
        }
        if m.rise != 1 {
            warn.push(format!(
                "{at}: max_retries {}: keepalived brings a server back after one success",
                m.rise
            ));
        }
        if m.http_method != "GET" {
            warn.push(format!(
                "{at}: http_method {}: keepalived's checks use GET",
                m.http_method
            ));
        }
        if m.verify || m.ca_file.is_some() {
            warn.push(format!(
                "{at}: verify/ca_file: set the SSL block's ca in keepalived yourself"
            ));
        }
        if h.drain_timeout != Duration::from_secs(300) {
            warn.push(format!(
                "{at}: drain_timeout: keepalived removes real servers at once on reload"
            ));
        }
        if m.kind == CheckType::TlsHello {
            warn.push(format!(
                "{at}: TLS-HELLO has no keepalived checker: written as TCP_CHECK (connect only)"
            ));
        }
    }
    for d in dests {
        let (ma, mp) = match cfg.overrides.get(&(key, d.addr, d.port)) {
            Some(o) => (o.address, o.port),
            None => (None, None),
        };
        let checked =
            h.is_some_and(|h| !matches!(h.monitor.kind, CheckType::Ping | CheckType::Misc));
        let (rport, connect_port): (Option<u16>, Option<u16>) = if d.fwd == FwdMethod::Masq {
            (Some(d.port).filter(|&p| p != 0), mp)
        } else {
            if d.port != kport {
                warn.push(format!(
                    "{at}: real server {}:{}: keepalived gives DR/TUN real servers the virtual server's port ({kport})",
                    d.addr, d.port
                ));
            }
            match mp {
                Some(p) => (Some(p), None),
                None if checked || d.port != kport => (Some(d.port).filter(|&p| p != 0), None),
                None => (None, None),
            }
        };
        match rport {
            Some(p) => {
                let _ = writeln!(o, "    real_server {} {p} {{", d.addr);
            }
            None => {
                let _ = writeln!(o, "    real_server {} {{", d.addr);
            }
        }
        let _ = writeln!(o, "        weight {}", d.weight);
        let f = fwd_words(d);
        if f != vs_fwd {
            let _ = writeln!(o, "        lvs_method {f}");
        }
        if d.u_threshold != 0 {
            let _ = writeln!(o, "        uthreshold {}", d.u_threshold);
        }
        if d.l_threshold != 0 {
            let _ = writeln!(o, "        lthreshold {}", d.l_threshold);
        }
        if let Some(h) = h {
            let m = &h.monitor;
            let name = match m.kind {
                CheckType::Tcp | CheckType::TlsHello => "TCP_CHECK",
                CheckType::Http => "HTTP_GET",
                CheckType::Https => "SSL_GET",
                CheckType::UdpConnect => "UDP_CHECK",
                CheckType::Ping => "PING_CHECK",
                CheckType::Misc => "MISC_CHECK",
            };
            let _ = writeln!(o, "        {name} {{");
            // In the checker: keepalived takes retry 0 only there.
            let _ = writeln!(o, "            retry {}", m.fall - 1);
            if let Some(a) = ma {
                if m.kind != CheckType::Misc {
                    let _ = writeln!(o, "            connect_ip {a}");
                }
            }
            if let Some(p) = connect_port {
                if checked {
                    let _ = writeln!(o, "            connect_port {p}");
                }
            }
            if matches!(m.kind, CheckType::Http | CheckType::Https) {
                if m.http_version == "1.1" {
                    o.push_str("            http_protocol 1.1\n");
                }
                let _ = writeln!(o, "            url {{");
                let _ = writeln!(o, "                path {}", word(&m.url_path));
                let codes: Vec<String> = m
                    .expected_codes
                    .iter()
                    .map(|&(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                let _ = writeln!(o, "                status_code {}", codes.join(" "));
                if let Some(dn) = &m.domain_name {
                    let _ = writeln!(o, "                virtualhost {}", word(dn));
                }
                o.push_str("            }\n");
            }
            if m.kind == CheckType::Misc {
                if let Some(c) = &m.command {
                    // keepalived passes misc_path as written: the
                    // variables the daemon sets, spelled out.
                    let c = c
                        .replace("$TARGET_ADDRESS", &ma.unwrap_or(d.addr).to_string())
                        .replace("$TARGET_PORT", &mp.unwrap_or(d.port).to_string());
                    let _ = writeln!(o, "            misc_path {}", quote(&c));
                }
                let t = m.timeout.as_secs();
                if m.timeout.subsec_nanos() != 0 {
                    warn.push(format!(
                        "{at}: timeout {} s: keepalived's misc_timeout is whole seconds ({t} s)",
                        secs(m.timeout)
                    ));
                }
                let _ = writeln!(o, "            misc_timeout {}", t.max(1));
                if m.misc_dynamic {
                    o.push_str("            misc_dynamic\n");
                }
            }
            o.push_str("        }\n");
        }
        o.push_str("    }\n");
    }
    o
}

fn protocol_word(p: Protocol) -> Option<&'static str> {
    match p {
        Protocol::Tcp => Some("TCP"),
        Protocol::Udp => Some("UDP"),
        Protocol::Sctp => Some("SCTP"),
        Protocol::Other(_) => None,
    }
}

fn family_word(f: Family) -> &'static str {
    match f {
        Family::Inet => "inet",
        Family::Inet6 => "inet6",
    }
}

/// Export `cfg` (read from `file`, named in warnings).
pub fn export(cfg: &Config, file: &str) -> Exported {
    let mut warnings = Vec::new();
    let mut o = String::new();
    o.push_str("# Exported by `ipvsadm export keepalived`.\n");
    let d = &cfg.desired;
    let mut globals = String::new();
    if let Some((t, _)) = d.timeouts {
        let mut parts = Vec::new();
        if t.tcp != 0 {
            parts.push(format!("tcp {}", t.tcp));
        }
        if t.tcp_fin != 0 {
            parts.push(format!("tcpfin {}", t.tcp_fin));
        }
        if t.udp != 0 {
            parts.push(format!("udp {}", t.udp));
        }
        if !parts.is_empty() {
            let _ = writeln!(globals, "    lvs_timeouts {}", parts.join(" "));
        }
    }
    if let Some(ds) = &d.daemons {
        let list: Vec<_> = ds.iter().map(|(d, _)| d).collect();
        let same = |a: &crate::model::Daemon, b: &crate::model::Daemon| {
            let mut b = b.clone();
            b.state = a.state;
            *a == b
        };
        let pair = list.len() == 2 && list[0].state != list[1].state && same(list[0], list[1]);
        let lone_backup = list.len() == 1 && list[0].state == DaemonState::Backup;
        if lone_backup {
            warnings.push(format!(
                "{file}: a backup sync daemon alone: written as following VRRP instance VI_1 (keepalived runs the master daemon while that instance is master): name your instance"
            ));
        } else if !list.is_empty() && !pair {
            warnings.push(format!(
                "{file}: keepalived runs both sync daemons without a VRRP instance: written as one lvs_sync_daemon"
            ));
        }
        if let Some(x) = list
            .iter()
            .find(|x| x.state == DaemonState::Master)
            .or(list.first())
        {
            let _ = write!(globals, "    lvs_sync_daemon {}", word(&x.mcast_ifn));
            if lone_backup {
                globals.push_str(" inst VI_1");
            }
            let _ = write!(globals, " id {}", x.syncid);
            if x.sync_maxlen != 0 {
                let _ = write!(globals, " maxlen {}", x.sync_maxlen);
            }
            if x.mcast_port != 0 {
                let _ = write!(globals, " port {}", x.mcast_port);
            }
            if x.mcast_ttl != 0 {
                let _ = write!(globals, " ttl {}", x.mcast_ttl);
            }
            if let Some(g) = x.mcast_group {
                let _ = write!(globals, " group {g}");
            }
            globals.push('\n');
        }
    }
    if !globals.is_empty() {
        let _ = write!(o, "\nglobal_defs {{\n{globals}}}\n");
    }
    // Services sharing a name and a body become one group.
    let services = &d.services;
    let mut bodies = Vec::with_capacity(services.len());
    for ws in services {
        let dests: Vec<Dest> = ws.dests.iter().map(|(d, _)| d.clone()).collect();
        let at = match ws.line {
            0 => file.to_string(),
            l => format!("{file}:{l}"),
        };
        let mut w = Vec::new();
        let b = body(cfg, &ws.service, &dests, &mut w, &at);
        bodies.push((b, w));
    }
    let mut done = vec![false; services.len()];
    let mut used: Vec<&String> = Vec::new();
    for i in 0..services.len() {
        if done[i] {
            continue;
        }
        done[i] = true;
        let ws = &services[i];
        let key = ws.service.key;
        let (b, w) = &bodies[i];
        warnings.extend(w.iter().cloned());
        let mut name = cfg.names.get(&key);
        if let Some(n) = name {
            if used.contains(&n) {
                warnings.push(format!(
                    "{file}: name {n} is given to services with different settings: only the first ones keep it (a keepalived group)"
                ));
                name = None;
            } else {
                used.push(n);
            }
        }
        let proto = match key {
            ServiceKey::Addr { protocol, .. } => {
                match protocol_word(protocol) {
                    Some(p) => Some(p),
                    None => {
                        warnings.push(format!("{file}: service {key:?}: protocol keepalived has no name for (left out)"));
                        continue;
                    }
                }
            }
            ServiceKey::Fwmark { .. } => None,
        };
        if let Some(name) = name {
            // Its group: every later service with the same name and body
            // (and one protocol for the addresses).
            let mut members = vec![i];
            let mut gproto = proto;
            for j in i + 1..services.len() {
                let k = services[j].service.key;
                if done[j] || cfg.names.get(&k) != Some(name) || bodies[j].0 != *b {
                    continue;
                }
                if let ServiceKey::Addr { protocol, .. } = k {
                    let p = protocol_word(protocol);
                    if gproto.is_some() && p != gproto {
                        continue;
                    }
                    gproto = p;
                }
                done[j] = true;
                members.push(j);
            }
            let _ = writeln!(o, "\nvirtual_server_group {} {{", word(name));
            for &j in &members {
                match services[j].service.key {
                    ServiceKey::Addr { addr, port, .. } => {
                        let _ = writeln!(o, "    {addr} {port}");
                    }
                    ServiceKey::Fwmark { family, mark } => {
                        let _ = writeln!(o, "    fwmark {mark} {}", family_word(family));
                    }
                }
            }
            o.push_str("}\n");
            let _ = writeln!(o, "\nvirtual_server group {} {{", word(name));
            if let Some(p) = gproto {
                let _ = writeln!(o, "    protocol {p}");
            }
            o.push_str(b);
            o.push_str("}\n");
            continue;
        }
        match key {
            ServiceKey::Addr { addr, port, .. } => {
                let _ = writeln!(o, "\nvirtual_server {addr} {port} {{");
                let _ = writeln!(o, "    protocol {}", proto.unwrap_or("TCP"));
            }
            ServiceKey::Fwmark { family, mark } => {
                let _ = writeln!(o, "\nvirtual_server fwmark {mark} {{");
                let _ = writeln!(o, "    ip_family {}", family_word(family));
            }
        }
        o.push_str(b);
        o.push_str("}\n");
        if ws.dests.is_empty() {
            warnings.push(format!(
                "{file}: a service without real servers: keepalived ignores it"
            ));
        }
    }
    Exported { text: o, warnings }
}
