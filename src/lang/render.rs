//! Typed values back to ipvsadm rules: the `-S` lines, the command of any
//! [`Op`] (`apply --dry-run`, messages), and a whole state (`ipvsadm
//! state`). Every rule is built from the typed fields, never by cutting
//! other text apart, and reads back through [`super::parse`] to the same
//! value.
//!
//! Addresses are given already named (`vname`, `dname`: the
//! `addrport_to_anyname` text), so that `-S` can resolve names and every
//! other use stays numeric.

use super::flags::sched_flag_names;
use crate::model::{
    Daemon, Dest, Document, Family, FwdMethod, Op, Protocol, Service, ServiceKey, TunType,
};
use crate::names::{addrport_to_anyname, push_decimal};
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

/// The service option of a protocol (`-t`, `-u`, `--sctp-service`).
pub fn protocol_option(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "-t",
        Protocol::Udp => "-u",
        Protocol::Sctp => "--sctp-service",
        Protocol::Other(_) => "--xxx-service",
    }
}

/// `fwd_switch`: `-m`, `-i`, `-g` (also for Local); `(null)` otherwise.
pub fn fwd_switch(m: FwdMethod) -> &'static str {
    match m.to_raw() & 7 {
        0 => "-m",
        2 => "-i",
        1 | 3 => "-g",
        _ => "(null)",
    }
}

/// `tun_flags_opts[]` of ipvsadm; `None` past the table.
fn tun_flag_opt(flags: u16) -> Option<&'static str> {
    match flags {
        0 => Some("--tun-nocsum"),
        1 => Some("--tun-csum"),
        2 => Some("--tun-remcsum"),
        _ => None,
    }
}

/// The persistence netmask text, if it is not the full mask: dotted quad
/// for IPv4, prefix length (`%i`) for IPv6.
pub fn mask_text(svc: &Service) -> Option<String> {
    match svc.key.family() {
        Family::Inet => {
            (svc.netmask != 0xffff_ffff).then(|| Ipv4Addr::from(svc.netmask).to_string())
        }
        Family::Inet6 => (svc.netmask != 128).then(|| (svc.netmask as i32).to_string()),
    }
}

/// The persistence engine, if one is set.
pub fn pe_name(svc: &Service) -> Option<&str> {
    svc.pe_name.as_deref().filter(|p| !p.is_empty())
}

/// The service as a rule names it: `-t ADDR:PORT` (`vname` is the
/// address text), `-f MARK`, `-f MARK -6`.
pub fn push_service(out: &mut String, key: &ServiceKey, vname: &str) {
    match *key {
        ServiceKey::Fwmark { family, mark } => {
            out.push_str("-f ");
            push_decimal(out, u64::from(mark));
            if family == Family::Inet6 {
                out.push_str(" -6");
            }
        }
        ServiceKey::Addr { protocol, .. } => {
            out.push_str(protocol_option(protocol));
            out.push(' ');
            out.push_str(vname);
        }
    }
}

/// The service's own options, each with a leading space: `-s`, `-p`, `-M`,
/// `--pe`, `-o`, `-b`.
pub fn push_service_options(out: &mut String, svc: &Service) {
    out.push_str(" -s ");
    out.push_str(&svc.scheduler);
    if svc.flags.persistent() {
        out.push_str(" -p ");
        push_decimal(out, u64::from(svc.timeout));
        if let Some(m) = mask_text(svc) {
            out.push_str(" -M ");
            out.push_str(&m);
        }
    }
    if let Some(pe) = pe_name(svc) {
        out.push_str(" --pe ");
        out.push_str(pe);
    }
    if svc.flags.one_packet() {
        out.push_str(" -o");
    }
    if svc.flags.sched_bits() != 0 {
        out.push_str(" -b ");
        out.push_str(&sched_flag_names(&svc.scheduler, svc.flags));
    }
}

/// A real server's options after its address, each with a leading space:
/// the forwarding method, `-w`, the thresholds (non-zero only; ipvsadm
/// 1.31 leaves them out, see the README) and the tunnel options.
pub fn push_dest_options(out: &mut String, d: &Dest) {
    out.push(' ');
    out.push_str(fwd_switch(d.fwd));
    out.push_str(" -w ");
    if d.weight < 0 {
        out.push('-');
    }
    push_decimal(out, u64::from(d.weight.unsigned_abs()));
    if d.u_threshold != 0 {
        let _ = write!(out, " -x {}", d.u_threshold);
    }
    if d.l_threshold != 0 {
        let _ = write!(out, " -y {}", d.l_threshold);
    }
    if d.fwd.to_raw() & 7 == FwdMethod::Tunnel.to_raw() {
        match d.tun_type {
            TunType::Ipip => out.push_str(" --tun-type ipip"),
            TunType::Gue => {
                let _ = write!(out, " --tun-type gue --tun-port {}", d.tun_port);
                if let Some(o) = tun_flag_opt(d.tun_flags.0) {
                    out.push(' ');
                    out.push_str(o);
                }
            }
            TunType::Gre => {
                out.push_str(" --tun-type gre");
                if let Some(o) = tun_flag_opt(d.tun_flags.0) {
                    out.push(' ');
                    out.push_str(o);
                }
            }
            TunType::Other(_) => {}
        }
    }
}

/// `-A SERVICE OPTIONS` and a newline (`vname` as in [`push_service`]).
pub fn service_line(out: &mut String, svc: &Service, vname: &str) {
    out.push_str("-A ");
    push_service(out, &svc.key, vname);
    push_service_options(out, svc);
    out.push('\n');
}

/// `-a SERVICE -r DEST OPTIONS` and a newline; `service` is the service
/// as [`push_service`] wrote it, `dname` the real server's address text.
pub fn dest_line(out: &mut String, service: &str, dname: &str, d: &Dest) {
    out.push_str("-a ");
    out.push_str(service);
    out.push_str(" -r ");
    out.push_str(dname);
    push_dest_options(out, d);
    out.push('\n');
}

/// The numeric address text of a service key (`192.0.2.1:80`,
/// `[2001:db8::1]:80`; empty for fwmarks).
fn numeric_vname(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => addrport_to_anyname(&addr, port, protocol, true),
        ServiceKey::Fwmark { .. } => String::new(),
    }
}

fn numeric_dname(addr: &IpAddr, port: u16) -> String {
    addrport_to_anyname(addr, port, Protocol::Other(0), true)
}

fn numeric_service(key: &ServiceKey) -> String {
    let mut s = String::with_capacity(32);
    push_service(&mut s, key, &numeric_vname(key));
    s
}

/// `--start-daemon STATE --mcast-interface IF --syncid N` and the optional
/// settings that are not the kernel's defaults.
pub fn daemon_command(out: &mut String, d: &Daemon) {
    let _ = write!(
        out,
        "--start-daemon {} --mcast-interface {} --syncid {}",
        d.state.name(),
        d.mcast_ifn,
        d.syncid
    );
    if d.sync_maxlen != 0 {
        let _ = write!(out, " --sync-maxlen {}", d.sync_maxlen);
    }
    if let Some(g) = d.mcast_group {
        let _ = write!(out, " --mcast-group {g}");
    }
    if d.mcast_port != 0 {
        let _ = write!(out, " --mcast-port {}", d.mcast_port);
    }
    if d.mcast_ttl != 0 {
        let _ = write!(out, " --mcast-ttl {}", d.mcast_ttl);
    }
}

/// An operation as the (numeric) ipvsadm command that does the same,
/// without a newline.
pub fn op_command(op: &Op) -> String {
    let mut s = String::with_capacity(64);
    match op {
        Op::AddService(svc) | Op::EditService(svc) => {
            s.push_str(if matches!(op, Op::AddService(_)) {
                "-A "
            } else {
                "-E "
            });
            push_service(&mut s, &svc.key, &numeric_vname(&svc.key));
            push_service_options(&mut s, svc);
        }
        Op::DelService(k) => {
            s.push_str("-D ");
            s.push_str(&numeric_service(k));
        }
        Op::AddDest(k, d) | Op::EditDest(k, d) => {
            s.push_str(if matches!(op, Op::AddDest(..)) {
                "-a "
            } else {
                "-e "
            });
            s.push_str(&numeric_service(k));
            s.push_str(" -r ");
            s.push_str(&numeric_dname(&d.addr, d.port));
            push_dest_options(&mut s, d);
        }
        Op::DelDest(k, addr, port) => {
            s.push_str("-d ");
            s.push_str(&numeric_service(k));
            s.push_str(" -r ");
            s.push_str(&numeric_dname(addr, *port));
        }
        Op::Zero(Some(k)) => {
            s.push_str("-Z ");
            s.push_str(&numeric_service(k));
        }
        Op::Zero(None) => s.push_str("-Z"),
        Op::Flush => s.push_str("-C"),
        Op::SetTimeouts(t) => {
            let _ = write!(s, "--set {} {} {}", t.tcp, t.tcp_fin, t.udp);
        }
        Op::StartDaemon(d) => daemon_command(&mut s, d),
        Op::StopDaemon(state, _) => {
            s.push_str("--stop-daemon ");
            s.push_str(state.name());
        }
    }
    s
}

/// Rules that recreate a whole state with `ipvsadm -R` or `apply`, numeric,
/// in the document's order: timeouts, services each followed by its real
/// servers, daemons.
pub fn state_rules(doc: &Document) -> String {
    let mut out = String::new();
    if let Some(t) = doc.timeouts {
        out.push_str(&op_command(&Op::SetTimeouts(t)));
        out.push('\n');
    }
    for e in &doc.services {
        let svc = &e.service;
        let vname = numeric_vname(&svc.key);
        service_line(&mut out, svc, &vname);
        let mut service = String::with_capacity(32);
        push_service(&mut service, &svc.key, &vname);
        for d in &e.dests {
            dest_line(&mut out, &service, &numeric_dname(&d.addr, d.port), d);
        }
    }
    for d in doc.daemons.iter().flatten() {
        daemon_command(&mut out, d);
        out.push('\n');
    }
    out
}
