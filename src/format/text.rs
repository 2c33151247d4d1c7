//! `ipvsadm -L`, `-L -t VIP:PORT`, `-S`, `--timeout` and `--daemon` output,
//! reproducing ipvsadm 1.31 byte for byte (`print_title`,
//! `print_service_entry`, `print_largenum`, `list_all`, `list_service`,
//! `list_timeout`, `list_daemon`), trailing spaces and column truncations
//! included.
//!
//! Deliberate differences from 1.31, where 1.31 is buggy:
//! 1. Firewall marks are printed unsigned (`FWM  2882430849`,
//!    `-f 2882430849`); 1.31 prints marks ≥ 2^31 negative.
//! 2. Sorting uses plain unsigned comparisons (fwmark, family, protocol,
//!    address, port; real servers: family, address, port). 1.31 casts
//!    unsigned differences to `int`, which misorders marks ≥ 2^31 and
//!    addresses ≥ 2^31 apart. Ordinary tables sort the same.
//! 3. Scheduler flag 3 with `sh`/`mh` is shown as `flag-3`
//!    (`sh (sh-fallback,sh-port,flag-3)`, `-b sh-fallback,sh-port,flag-3`);
//!    1.31 prints `sh ()` and an unrestorable `-b `.
//! 4. `-S` writes thresholds (` -x U`, ` -y L` when non-zero, after
//!    `-w N`), so that a save restores losslessly.
//! 5. Real-server counters are 64-bit in the model; they are printed as is.

use crate::lang::flags::sched_flag_names;
use crate::lang::render::{self, mask_text, pe_name};
use crate::lang::ListFlags;
use crate::model::{
    Daemon, Dest, Family, FwdMethod, Info, Protocol, Service, ServiceKey, Timeouts, TunType,
};
use crate::names::{truncate_bytes, Names, SystemNames};
use std::cmp::Ordering;
use std::fmt::Write;
use std::net::IpAddr;

/// Width ipvsadm cuts IPv4 service names to in listings (`svc_name[33]`).
pub const SVC_NAME_MAX: usize = 33;
/// Width ipvsadm cuts IPv4 real-server names to in listings (`dname[28]`).
pub const DEST_NAME_MAX: usize = 28;

/// The one layout ipvsadm picks, by its priority
/// STATS > RATE > THRESHOLDS > PERSISTENTCONN > TUN_INFO > default; rule
/// mode (`-S`) overrides them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Rule,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    TunInfo,
    Default,
}

fn layout(f: &ListFlags) -> Layout {
    if f.rule {
        Layout::Rule
    } else if f.stats {
        Layout::Stats
    } else if f.rate {
        Layout::Rate
    } else if f.thresholds {
        Layout::Thresholds
    } else if f.persistent_conn {
        Layout::PersistentConn
    } else if f.tun_info {
        Layout::TunInfo
    } else {
        Layout::Default
    }
}

// ---------------------------------------------------------------------------
// Entry points

/// `ipvsadm -L [opts]` (and `-S` when `f.rule`): the version header (not in
/// rule mode), the title, then every service and its real servers; sorted
/// unless `f.nosort`. Names are looked up with the system's resolver unless
/// `f.numeric`.
pub fn list_all(out: &mut String, info: &Info, table: &mut [(Service, Vec<Dest>)], f: &ListFlags) {
    list_all_with(out, info, table, f, &SystemNames);
}

/// [`list_all`] with a chosen name resolver.
pub fn list_all_with(
    out: &mut String,
    info: &Info,
    table: &mut [(Service, Vec<Dest>)],
    f: &ListFlags,
    names: &dyn Names,
) {
    listing(out, Some(info), table, f, names, None);
}

/// A long listing's text is handed on in pieces of about this size, so
/// that one buffer serves the whole listing.
pub const CHUNK: usize = 60 * 1024;

/// [`list_all_with`] (`Some(info)`) or [`save_with`] (`None`), the text
/// handed to `spill` whenever `out` holds [`CHUNK`] bytes or more (and
/// cleared); the caller writes what is left in `out` at the end.
pub fn listing_in_chunks(
    out: &mut String,
    info: Option<&Info>,
    table: &mut [(Service, Vec<Dest>)],
    f: &ListFlags,
    names: &dyn Names,
    spill: &mut dyn FnMut(&mut String),
) {
    listing(out, info, table, f, names, Some(spill));
}

/// The whole table: with `info`, `-L` (the version header unless in rule
/// mode, sorted unless `f.nosort`); without, `-S` (rules, sorted, `f`
/// giving only `numeric`). With `spill`, the text is handed on in pieces.
fn listing(
    out: &mut String,
    info: Option<&Info>,
    table: &mut [(Service, Vec<Dest>)],
    f: &ListFlags,
    names: &dyn Names,
    mut spill: Option<&mut dyn FnMut(&mut String)>,
) {
    let rules;
    let f = match info {
        Some(info) => {
            if !f.rule {
                let _ = writeln!(
                    out,
                    "IP Virtual Server version {} (size={})",
                    info, info.conn_tab_size as i32
                );
            }
            f
        }
        None => {
            rules = ListFlags {
                rule: true,
                numeric: f.numeric,
                ..ListFlags::default()
            };
            &rules
        }
    };
    if info.is_none() || !f.nosort {
        sort_services(table);
    }
    match spill {
        Some(_) => out.reserve(CHUNK + 4096),
        None => reserve_for(out, table),
    }
    title(out, f);
    for (svc, dests) in table.iter_mut() {
        service_entry(out, svc, dests, f, names);
        if let Some(spill) = spill.as_mut() {
            if out.len() >= CHUNK {
                spill(out);
                out.clear();
            }
        }
    }
}

/// `ipvsadm -L -t|-u|--sctp-service|-f SVC [opts]`: the title and that one
/// service with its real servers (no version header).
pub fn list_service(out: &mut String, svc: &Service, dests: &mut [Dest], f: &ListFlags) {
    list_service_with(out, svc, dests, f, &SystemNames);
}

/// [`list_service`] with a chosen name resolver.
pub fn list_service_with(
    out: &mut String,
    svc: &Service,
    dests: &mut [Dest],
    f: &ListFlags,
    names: &dyn Names,
) {
    title(out, f);
    service_entry(out, svc, dests, f, names);
}

/// `ipvsadm -S [-n]`: the table as rules, sorted.
pub fn save(out: &mut String, table: &mut [(Service, Vec<Dest>)], numeric: bool) {
    save_with(out, table, numeric, &SystemNames);
}

/// [`save`] with a chosen name resolver.
pub fn save_with(
    out: &mut String,
    table: &mut [(Service, Vec<Dest>)],
    numeric: bool,
    names: &dyn Names,
) {
    let f = ListFlags {
        numeric,
        ..ListFlags::default()
    };
    listing(out, None, table, &f, names, None);
}

/// Room for a listing of `table` (about a line of 64 bytes per entry), so
/// that a long listing is not copied as it grows.
fn reserve_for(out: &mut String, table: &[(Service, Vec<Dest>)]) {
    let entries: usize = table.iter().map(|(_, d)| 1 + d.len()).sum();
    out.reserve(entries * 64);
}

/// `ipvsadm -L --timeout`.
pub fn timeouts(out: &mut String, t: &Timeouts) {
    // ipvsadm prints the three values with %d.
    let _ = writeln!(
        out,
        "Timeout (tcp tcpfin udp): {} {} {}",
        t.tcp as i32, t.tcp_fin as i32, t.udp as i32
    );
}

/// `ipvsadm -L --daemon`: one line per daemon, in the given order (the
/// kernel reports at most two; ipvsadm looks at two). Nothing when none.
pub fn daemons(out: &mut String, ds: &[Daemon]) {
    for d in ds.iter().take(2) {
        let _ = write!(
            out,
            "{} sync daemon (mcast={}, syncid={}",
            d.state.name(),
            d.mcast_ifn,
            d.syncid as i32
        );
        if d.sync_maxlen != 0 {
            let _ = write!(out, ", maxlen={}", d.sync_maxlen);
        }
        if let Some(g) = &d.mcast_group {
            let _ = write!(out, ", group={}", crate::names::inet_ntop(g));
        }
        if d.mcast_port != 0 {
            let _ = write!(out, ", port={}", d.mcast_port);
        }
        if d.mcast_ttl != 0 {
            let _ = write!(out, ", ttl={}", d.mcast_ttl);
        }
        out.push_str(")\n");
    }
}

// ---------------------------------------------------------------------------
// Sorting

/// Address as a big-endian 16-byte key (IPv4 in the first four bytes; only
/// ever compared with addresses of the same family).
fn addr_key(a: &IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&v4.octets());
            k
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The sort key of a service in listings (see [`cmp_services`]).
pub fn service_key_order(key: &ServiceKey) -> (u32, u16, u16, [u8; 16], u16) {
    match *key {
        ServiceKey::Fwmark { family, mark } => (mark, family.to_raw(), 0, [0; 16], 0),
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            0,
            Family::of(&addr).to_raw(),
            protocol.to_raw(),
            addr_key(&addr),
            port,
        ),
    }
}

/// Order of `ipvs_cmp_services`, with unsigned comparisons: fwmark, family
/// (IPv4 first), protocol number, address, port.
pub fn cmp_services(a: &Service, b: &Service) -> Ordering {
    service_key_order(&a.key).cmp(&service_key_order(&b.key))
}

/// Order of `ipvs_cmp_dests`, with unsigned comparisons: address, then
/// port. Real servers of different families (tunnels) put IPv4 first.
pub fn cmp_dests(a: &Dest, b: &Dest) -> Ordering {
    (a.family().to_raw(), addr_key(&a.addr), a.port).cmp(&(
        b.family().to_raw(),
        addr_key(&b.addr),
        b.port,
    ))
}

/// Sorts services as `ipvsadm -L` does (see [`cmp_services`]).
pub fn sort_services(table: &mut [(Service, Vec<Dest>)]) {
    // Each key computed once; entries moved once (they are large).
    table.sort_by_cached_key(|e| service_key_order(&e.0.key));
}

/// Sorts real servers as `ipvsadm -L` does (see [`cmp_dests`]).
pub fn sort_dests(d: &mut [Dest]) {
    // The kernel lists real servers newest first: added in order, they
    // come reversed, and reversing them is all it takes.
    if d.is_sorted_by(|a, b| cmp_dests(a, b).is_le()) {
        return;
    }
    if d.is_sorted_by(|a, b| cmp_dests(a, b).is_ge()) {
        d.reverse();
        return;
    }
    d.sort_by(cmp_dests);
}

// ---------------------------------------------------------------------------
// Pieces

/// `print_title`: the column titles of a layout (nothing in rule mode).
pub fn title(out: &mut String, f: &ListFlags) {
    match layout(f) {
        Layout::Rule => {}
        Layout::Stats => {
            let _ = writeln!(
                out,
                "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
            );
        }
        Layout::Rate => {
            let _ = writeln!(
                out,
                "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
            );
        }
        Layout::Thresholds => {
            let _ = writeln!(
                out,
                "{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
            );
        }
        Layout::PersistentConn => {
            let _ = writeln!(
                out,
                "{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn"
            );
        }
        Layout::TunInfo => out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
        ),
        Layout::Default => out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        ),
    }
}

/// `%-Ns`: `s` then spaces up to `width` characters.
fn push_left(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    pad(out, width.saturating_sub(s.chars().count()));
}

/// `n` spaces.
fn pad(out: &mut String, n: usize) {
    const SPACES: &str = "                                ";
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// `%-Nd`: the number then spaces up to `width` characters.
fn push_int_left(out: &mut String, v: i64, width: usize) {
    let start = out.len();
    if v < 0 {
        out.push('-');
    }
    crate::names::push_decimal(out, v.unsigned_abs());
    pad(out, width.saturating_sub(out.len() - start));
}

/// `print_largenum` as a string: with `exact` the full number right-aligned
/// in 9 columns (or one more than its length); otherwise 9 columns, scaled
/// to K (≥ 1e8), M (≥ 1e9), G (≥ 1e11) or T (≥ 1e14), rounding down.
pub fn largenum(i: u64, exact: bool) -> String {
    if exact {
        let s = i.to_string();
        let w = if s.len() <= 8 { 9 } else { s.len() + 1 };
        return format!("{s:>w$}");
    }
    if i < 100_000_000 {
        format!("{i:>9}")
    } else if i < 1_000_000_000 {
        format!("{:>8}K", i / 1000)
    } else if i < 100_000_000_000 {
        format!("{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        format!("{:>8}G", i / 1_000_000_000)
    } else {
        format!("{:>8}T", i / 1_000_000_000_000)
    }
}

/// Appends [`largenum`].
pub fn print_largenum(out: &mut String, i: u64, exact: bool) {
    out.push_str(&largenum(i, exact));
}

/// `fwd_name`: `Masq`, `Local`, `Tunnel`, `Route`; other values have no
/// name (ipvsadm hands NULL to printf, which glibc prints as `(null)`).
pub fn fwd_name(m: FwdMethod) -> &'static str {
    match m.to_raw() & 7 {
        0 => "Masq",
        1 => "Local",
        2 => "Tunnel",
        3 => "Route",
        _ => "(null)",
    }
}

fn is_tunnel(m: FwdMethod) -> bool {
    m.to_raw() & 7 == 2
}

/// `tunflags[]` of ipvsadm. Values past the table (1.31 reads out of
/// bounds) are shown as `?`.
fn tun_flag_name(flags: u16) -> &'static str {
    match flags {
        0 => "-c",
        1 => "+c",
        2 => "r+c",
        _ => "?",
    }
}

/// `fwd_tun_info`: `ipip`, `gue:PORT:FLAGS`, `gre:FLAGS` for tunnelling
/// real servers; `None` (shown as `n/a`) otherwise.
pub fn tun_info(d: &Dest) -> Option<String> {
    if !is_tunnel(d.fwd) {
        return None;
    }
    let mut s = match d.tun_type {
        TunType::Ipip => "ipip".to_string(),
        TunType::Gue => format!("gue:{}:{}", d.tun_port, tun_flag_name(d.tun_flags.0)),
        TunType::Gre => format!("gre:{}", tun_flag_name(d.tun_flags.0)),
        TunType::Other(_) => return None,
    };
    truncate_bytes(&mut s, 15);
    Some(s)
}

fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
        Protocol::Other(_) => "?",
    }
}

/// The protocol used to name real servers' ports: the service's, none for
/// fwmark services (libipvs leaves it 0 there, so ports stay numeric).
fn service_protocol(svc: &Service) -> Protocol {
    match svc.key {
        ServiceKey::Addr { protocol, .. } => protocol,
        ServiceKey::Fwmark { .. } => Protocol::Other(0),
    }
}

/// The service's label: `FWM  MARK[ IPv6]` / `-f MARK[ -6]` for fwmark
/// services; otherwise `PROT ADDR:PORT` (`%-4s %s`, cut to 33 bytes unless
/// IPv6) or, in rule mode, `-t|-u|--sctp-service ADDR:PORT`. `vname` is the
/// `addrport_to_anyname` text of the service address (unused for fwmarks).
pub fn service_label(svc: &Service, vname: &str, rule: bool) -> String {
    match svc.key {
        ServiceKey::Fwmark { family, mark } => {
            let v6 = family == Family::Inet6;
            match (rule, v6) {
                (true, true) => format!("-f {mark} -6"),
                (true, false) => format!("-f {mark}"),
                (false, true) => format!("FWM  {mark} IPv6"),
                (false, false) => format!("FWM  {mark}"),
            }
        }
        ServiceKey::Addr { protocol, addr, .. } => {
            if rule {
                let mut s = String::with_capacity(vname.len() + 4);
                render::push_service(&mut s, &svc.key, vname);
                s
            } else {
                // "%-4s %s"
                let mut s = String::with_capacity(vname.len() + 5);
                push_left(&mut s, protocol_name(protocol), 4);
                s.push(' ');
                s.push_str(vname);
                if Family::of(&addr) != Family::Inet6 {
                    truncate_bytes(&mut s, SVC_NAME_MAX);
                }
                s
            }
        }
    }
}

/// A real server's label: `dname` cut to 28 bytes in listings unless the
/// real server is IPv6; untouched in rule mode.
pub fn dest_label(dname: &str, family: Family, rule: bool) -> String {
    let mut s = dname.to_string();
    if !rule && family != Family::Inet6 {
        truncate_bytes(&mut s, DEST_NAME_MAX);
    }
    s
}

/// `print_service_entry`: the service line then its real servers (sorted
/// unless `f.nosort`), in the layout `f` selects.
pub fn service_entry(
    out: &mut String,
    svc: &Service,
    dests: &mut [Dest],
    f: &ListFlags,
    names: &dyn Names,
) {
    let lay = layout(f);
    let rule = lay == Layout::Rule;
    let mut vname = String::new();
    if let ServiceKey::Addr {
        protocol,
        addr,
        port,
    } = svc.key
    {
        names.push_addrport(&mut vname, &addr, port, protocol, f.numeric);
    }
    let svc_name = service_label(svc, &vname, rule);
    let sched_bits = svc.flags.sched_bits() != 0;

    match lay {
        Layout::Rule => {
            out.push_str("-A ");
            out.push_str(&svc_name);
            render::push_service_options(out, svc);
        }
        Layout::Stats | Layout::Rate => {
            let _ = write!(out, "{svc_name:<33}");
            let s = &svc.stats;
            let vals = if lay == Layout::Stats {
                [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes]
            } else {
                [s.cps, s.inpps, s.outpps, s.inbps, s.outbps]
            };
            for v in vals {
                print_largenum(out, v, f.exact);
            }
        }
        _ => {
            out.push_str(&svc_name);
            out.push(' ');
            out.push_str(&svc.scheduler);
            if sched_bits {
                let _ = write!(out, " ({})", sched_flag_names(&svc.scheduler, svc.flags));
            }
            if svc.flags.persistent() {
                let _ = write!(out, " persistent {}", svc.timeout);
                if let Some(m) = mask_text(svc) {
                    let _ = write!(out, " mask {m}");
                }
                if let Some(pe) = pe_name(svc) {
                    let _ = write!(out, " pe {pe}");
                }
            }
            if svc.flags.one_packet() {
                out.push_str(" ops");
            }
        }
    }
    out.push('\n');

    if !f.nosort {
        sort_dests(dests);
    }
    let proto = service_protocol(svc);
    for d in dests.iter() {
        match lay {
            // The two layouts of long listings write the address in place.
            Layout::Rule => {
                out.push_str("-a ");
                out.push_str(&svc_name);
                out.push_str(" -r ");
                names.push_addrport(out, &d.addr, d.port, proto, f.numeric);
                render::push_dest_options(out, d);
                out.push('\n');
            }
            Layout::Default => {
                out.push_str("  -> ");
                let at = out.len();
                names.push_addrport(out, &d.addr, d.port, proto, f.numeric);
                if d.family() != Family::Inet6 && out.len() - at > DEST_NAME_MAX {
                    let mut end = at + DEST_NAME_MAX;
                    while !out.is_char_boundary(end) {
                        end -= 1;
                    }
                    out.truncate(end);
                }
                // `%-28s`, counted in characters as Rust's padding is
                // (numeric text is ASCII: one byte each).
                let width = if f.numeric {
                    out.len() - at
                } else {
                    out[at..].chars().count()
                };
                pad(out, DEST_NAME_MAX.saturating_sub(width));
                default_tail(out, d);
            }
            _ => {
                let raw = names.addrport(&d.addr, d.port, proto, f.numeric);
                let dname = dest_label(&raw, d.family(), rule);
                dest_line(out, &svc_name, &dname, d, lay, f.exact);
            }
        }
    }
}

/// The default layout after the address: ` %-7s %-6d %-10u %-10u\n`.
fn default_tail(out: &mut String, d: &Dest) {
    out.push(' ');
    push_left(out, fwd_name(d.fwd), 7);
    out.push(' ');
    push_int_left(out, i64::from(d.weight), 6);
    out.push(' ');
    push_int_left(out, i64::from(d.active_conns), 10);
    out.push(' ');
    push_int_left(out, i64::from(d.inact_conns), 10);
    out.push('\n');
}

fn dest_line(out: &mut String, svc_name: &str, dname: &str, d: &Dest, lay: Layout, exact: bool) {
    match lay {
        Layout::Rule => render::dest_line(out, svc_name, dname, d),
        Layout::Stats => {
            let _ = write!(out, "  -> {dname:<28}");
            let s = &d.stats;
            for v in [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes] {
                print_largenum(out, v, exact);
            }
            out.push('\n');
        }
        Layout::Rate => {
            let s = &d.stats;
            let _ = write!(
                out,
                "  -> {:<28} {:>8} {:>8} {:>8}",
                dname, s.cps, s.inpps, s.outpps
            );
            print_largenum(out, s.inbps, exact);
            print_largenum(out, s.outbps, exact);
            out.push('\n');
        }
        Layout::Thresholds => {
            let _ = writeln!(
                out,
                "  -> {:<28} {:<10} {:<10} {:<10} {:<10}",
                dname, d.u_threshold, d.l_threshold, d.active_conns, d.inact_conns
            );
        }
        Layout::PersistentConn => {
            // ipvsadm prints the (int) weight with %u.
            let _ = writeln!(
                out,
                "  -> {:<28} {:<9} {:<11} {:<10} {:<10}",
                dname, d.weight as u32, d.persist_conns, d.active_conns, d.inact_conns
            );
        }
        Layout::TunInfo => {
            let ti = tun_info(d);
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<13} {:<6} {:<10} {:<10}",
                dname,
                fwd_name(d.fwd),
                ti.as_deref().unwrap_or("n/a"),
                d.weight,
                d.active_conns,
                d.inact_conns
            );
        }
        Layout::Default => {
            // "  -> %-28s %-7s %-6d %-10u %-10u\n", without the formatting
            // machinery: this is the line long listings are made of.
            out.push_str("  -> ");
            push_left(out, dname, 28);
            default_tail(out, d);
        }
    }
}
