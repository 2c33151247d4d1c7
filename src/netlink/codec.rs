//! Model ⇄ attributes. Requests: the attribute arrays [`super::encode`]
//! writes (identity of a service, a whole real server). Replies: the
//! kernel's attributes decoded straight from the receive buffer (views of
//! [`super::view`]) into `crate::model` values; counters only when asked
//! for.
//!
//! Replies: unknown attributes are ignored, STATS64 wins over STATS, a
//! missing identity is a decode error. Values are read as the typed
//! attributes of [`super::attr`] define them (ports big-endian, everything
//! else host order, addresses zero-filled to 16 bytes, strings up to their
//! first NUL).

use super::attr::{
    cmd, daemon, dest, get_addr, get_be16, get_string, get_u16, get_u32, get_u64, get_u8,
    stats as st, svc, take, DestAttr, SvcAttr,
};
use super::view::{find, nlas};
use crate::error::{Error, Result};
use crate::model::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// 16-byte `nf_inet_addr` of an address.
pub fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out.copy_from_slice(&a.octets()),
    }
    out
}

/// The address of a family from a 16-byte `nf_inet_addr`.
pub fn addr_from_bytes(family: Family, raw: &[u8; 16]) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(*raw)),
    }
}

/// `SVC_ATTR_NETMASK`'s payload: a be32 mask (IPv4) or a host-order
/// prefix length (IPv6).
pub fn netmask_raw(family: Family, netmask: u32) -> [u8; 4] {
    match family {
        Family::Inet => netmask.to_be_bytes(),
        Family::Inet6 => netmask.to_ne_bytes(),
    }
}

fn netmask_from_raw(family: Family, raw: [u8; 4]) -> u32 {
    match family {
        Family::Inet => u32::from_be_bytes(raw),
        Family::Inet6 => u32::from_ne_bytes(raw),
    }
}

// ---------------------------------------------------------------------------
// requests

/// AF + identity attributes of a service, in a stack array: the first
/// `len` entries (2 for a mark, 4 for an address) are the attributes.
pub fn service_key_array(key: &ServiceKey) -> ([SvcAttr; 4], usize) {
    let af = SvcAttr::Af(key.family().to_raw());
    match key {
        ServiceKey::Fwmark { mark, .. } => (
            [af, SvcAttr::Fwmark(*mark), SvcAttr::Af(0), SvcAttr::Af(0)],
            2,
        ),
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            [
                af,
                SvcAttr::Protocol(protocol.to_raw()),
                SvcAttr::Addr(addr_bytes(addr)),
                SvcAttr::Port(*port),
            ],
            4,
        ),
    }
}

/// Every attribute of a real server the kernel takes on `NEW`/`SET_DEST`,
/// in a stack array.
pub fn dest_array(d: &Dest) -> [DestAttr; 10] {
    [
        DestAttr::AddrFamily(d.family().to_raw()),
        DestAttr::Addr(addr_bytes(&d.addr)),
        DestAttr::Port(d.port),
        DestAttr::FwdMethod(d.fwd.to_raw() & 7),
        DestAttr::Weight(d.weight),
        DestAttr::TunType(d.tun_type.to_raw()),
        DestAttr::TunPort(d.tun_port),
        DestAttr::TunFlags(d.tun_flags.0),
        DestAttr::UThresh(d.u_threshold),
        DestAttr::LThresh(d.l_threshold),
    ]
}

// ---------------------------------------------------------------------------
// replies

/// A stats nest (`STATS`: mixed widths, `STATS64`: all u64); each value is
/// read by its payload length (8 bytes: u64, else u32).
fn stats_of(nest: &[u8]) -> Result<Stats> {
    if let Some(s) = stats64_packed(nest) {
        return Ok(s);
    }
    let mut s = Stats::default();
    for a in nlas(nest) {
        let (kind, p) = a?;
        if kind == st::PAD {
            continue;
        }
        let v = if p.len() >= 8 {
            get_u64(p, "stats")?
        } else {
            u64::from(get_u32(p, "stats")?)
        };
        let slot = match kind {
            st::CONNS => &mut s.conns,
            st::INPKTS => &mut s.inpkts,
            st::OUTPKTS => &mut s.outpkts,
            st::INBYTES => &mut s.inbytes,
            st::OUTBYTES => &mut s.outbytes,
            st::CPS => &mut s.cps,
            st::INPPS => &mut s.inpps,
            st::OUTPPS => &mut s.outpps,
            st::INBPS => &mut s.inbps,
            st::OUTBPS => &mut s.outbps,
            _ => continue,
        };
        *slot = v;
    }
    Ok(s)
}

/// A counters nest as the kernel sends STATS64 where no padding is needed
/// (x86-64 and every architecture with efficient unaligned access): ten
/// attributes of 12 bytes, types 1 to 10 in order. Read at fixed offsets,
/// each header checked; any other shape (`PAD` attributes, another order,
/// 32-bit STATS) is `None`, for the general walk. A scrape decodes 110 000
/// of these: this is a third of the cost of decoding a real server.
fn stats64_packed(nest: &[u8]) -> Option<Stats> {
    let nest: &[u8; 120] = nest.try_into().ok()?;
    for (i, a) in nest.chunks_exact(12).enumerate() {
        let len = u16::from_ne_bytes([a[0], a[1]]);
        let kind = u16::from_ne_bytes([a[2], a[3]]) & 0x3fff;
        if len != 12 || usize::from(kind) != i + 1 {
            return None;
        }
    }
    Some(stats64_values(nest))
}

/// The ten values of a packed STATS64 nest whose headers were checked
/// ([`stats64_packed`], or a [`DestShape`] that holds them).
#[inline]
fn stats64_values(nest: &[u8; 120]) -> Stats {
    let v = |i: usize| {
        let b = nest[i * 12 + 4..].first_chunk::<8>();
        u64::from_ne_bytes(*b.unwrap_or(&[0; 8]))
    };
    Stats {
        conns: v(0),
        inpkts: v(1),
        outpkts: v(2),
        inbytes: v(3),
        outbytes: v(4),
        cps: v(5),
        inpps: v(6),
        outpps: v(7),
        inbps: v(8),
        outbps: v(9),
    }
}

fn missing(what: &str) -> Error {
    Error::Decode(format!("reply lacks {what}"))
}

/// The nest of `kind` among a message's attributes.
pub fn nest_of<'a>(attrs: &'a [u8], kind: u16, what: &str) -> Result<&'a [u8]> {
    find(attrs, kind)?.ok_or_else(|| missing(what))
}

/// A service nest (of a `NEW_SERVICE` reply); its counters only with
/// `stats`.
pub fn decode_service(nest: &[u8], stats: bool) -> Result<Service> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut stats32, mut stats64) = (None, None);
    let mut sched = String::new();
    let (mut flags, mut timeout, mut netmask, mut pe) = (0, 0, None, None);
    for a in nlas(nest) {
        let (kind, p) = a?;
        match kind {
            svc::AF => af = Some(get_u16(p, "svc af")?),
            svc::PROTOCOL => proto = Some(get_u16(p, "svc protocol")?),
            svc::ADDR => addr = Some(get_addr(p)),
            svc::PORT => port = Some(get_be16(p, "svc port")?),
            svc::FWMARK => fwmark = Some(get_u32(p, "svc fwmark")?),
            svc::SCHED_NAME => sched = get_string(p),
            svc::FLAGS => {
                let raw: [u8; 8] = take(p, "svc flags")?;
                flags = get_u32(&raw[..4], "svc flags")?;
            }
            svc::TIMEOUT => timeout = get_u32(p, "svc timeout")?,
            svc::NETMASK => netmask = Some(take::<4>(p, "svc netmask")?),
            svc::PE_NAME => {
                let s = get_string(p);
                if !s.is_empty() {
                    pe = Some(s);
                }
            }
            svc::STATS => stats32 = Some(p),
            svc::STATS64 => stats64 = Some(p),
            _ => {}
        }
    }
    let af = af.ok_or_else(|| missing("service address family"))?;
    let family = Family::from_raw(af)
        .ok_or_else(|| Error::Decode(format!("unknown service address family {af}")))?;
    let key = match (fwmark, proto, addr, port) {
        (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { family, mark },
        (_, Some(p), Some(a), Some(port)) => ServiceKey::Addr {
            protocol: Protocol::from_raw(p),
            addr: addr_from_bytes(family, &a),
            port,
        },
        _ => return Err(missing("service identity")),
    };
    let stats = match stats64.or(stats32) {
        Some(n) if stats => stats_of(n)?,
        _ => Stats::default(),
    };
    Ok(Service {
        key,
        scheduler: sched,
        flags: ServiceFlags(flags),
        timeout,
        netmask: netmask.map_or(Service::full_netmask(family), |raw| {
            netmask_from_raw(family, raw)
        }),
        pe_name: pe,
        stats,
    })
}

/// The payload of each attribute kind of a real-server nest, the last of
/// each kind, indexed by kind (kinds past the array are ignored).
type DestFields<'a> = [Option<&'a [u8]>; 16];

/// The attributes of a real-server nest, walked.
fn dest_fields(nest: &[u8]) -> Result<DestFields<'_>> {
    let mut f: DestFields = [None; 16];
    for a in nlas(nest) {
        let (kind, p) = a?;
        if let Some(slot) = f.get_mut(usize::from(kind)) {
            *slot = Some(p);
        }
    }
    Ok(f)
}

/// A destination nest (of a `NEW_DEST` dump entry); `svc_family` stands in
/// for a missing `ADDR_FAMILY` (kernels before 3.18); counters only with
/// `stats`.
pub fn decode_dest(nest: &[u8], svc_family: Family, stats: bool) -> Result<Dest> {
    let f = dest_fields(nest)?;
    dest_from(&f, svc_family, stats)
}

/// [`decode_dest`] for a dump's many entries: one whose attribute headers
/// are those of the last entry walked ([`DestShape`]) is read at that
/// entry's offsets instead of walked, with the same result.
pub fn decode_dest_shaped(
    shape: &mut DestShape,
    nest: &[u8],
    svc_family: Family,
    stats: bool,
) -> Result<Dest> {
    if shape.fits(nest) {
        if let Some(d) = shape.read(nest, svc_family, stats) {
            return d;
        }
    }
    let f = dest_fields(nest)?;
    let d = dest_from(&f, svc_family, stats)?;
    shape.learn(nest, &f);
    Ok(d)
}

/// Where a real server's counters are, in a [`DestShape`].
#[derive(Clone, Copy, Debug, Default)]
enum StatsAt {
    #[default]
    None,
    /// A packed STATS64 nest ([`stats64_packed`]) whose payload starts
    /// here; its ten headers are among the shape's.
    Packed(usize),
    /// Any other counters nest (offset, length), walked by [`stats_of`].
    Nest(usize, usize),
}

/// The layout of a real-server nest: its length, every attribute header
/// at its offset (and those of a packed STATS64 nest), and where each
/// value lies. The kernel writes every real server of a dump the same way
/// (the same attributes in the same order, fixed sizes), so after the
/// first one is walked the rest need only have their headers compared: a
/// walk is decided by the headers and the nest's length alone, so equal
/// headers at the same offsets in a nest of the same length walk to the
/// same payloads, of the same lengths, which [`dest_from`] accepted. A
/// scrape decodes 100 000 of them.
#[derive(Clone, Debug, Default)]
pub struct DestShape {
    /// The nest's length; 0 until one is learned.
    len: usize,
    /// The learned nest's attribute headers where they lie, 0 elsewhere,
    /// and the mask of their bytes (0xff on a header byte): a nest fits if
    /// it equals `heads` under `mask`. One pass over the nest, which the
    /// compiler does 16 bytes at a time, where checking 27 headers one by
    /// one took a third of a real server's decoding.
    heads: Vec<u8>,
    mask: Vec<u8>,
    /// The payload offset of each attribute kind present, indexed by kind
    /// (as [`DestFields`]); the address's length.
    at: [Option<usize>; 16],
    addr_len: usize,
    stats: StatsAt,
}

impl DestShape {
    /// Are `nest`'s length and attribute headers those learned?
    #[inline]
    fn fits(&self, nest: &[u8]) -> bool {
        if nest.len() != self.len || self.len == 0 {
            return false;
        }
        let mut diff = 0u8;
        for ((&b, &h), &m) in nest.iter().zip(&self.heads).zip(&self.mask) {
            diff |= (b ^ h) & m;
        }
        diff == 0
    }

    /// A nest that [`DestShape::fits`], read at the learned offsets: what
    /// [`dest_from`] makes of it (`None` only if an offset were out of
    /// bounds, which a fitting nest's never are).
    #[inline]
    fn read(&self, nest: &[u8], svc_family: Family, stats: bool) -> Option<Result<Dest>> {
        let bytes = |kind: u16, n: usize| match self.at[usize::from(kind)] {
            Some(a) => nest.get(a..a + n).map(Some),
            None => Some(None),
        };
        let u32_of = |kind: u16| -> Option<Option<u32>> {
            Some(bytes(kind, 4)?.map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])))
        };
        let mut family = svc_family;
        if let Some(b) = bytes(dest::ADDR_FAMILY, 2)? {
            if let Some(af) = Family::from_raw(u16::from_ne_bytes([b[0], b[1]])) {
                family = af;
            }
        }
        let addr = get_addr(bytes(dest::ADDR, self.addr_len)??);
        let port = bytes(dest::PORT, 2)??;
        let mut d = Dest::new(
            addr_from_bytes(family, &addr),
            u16::from_be_bytes([port[0], port[1]]),
        );
        if let Some(v) = u32_of(dest::FWD_METHOD)? {
            d.fwd = FwdMethod::from_raw(v);
        }
        if let Some(v) = u32_of(dest::WEIGHT)? {
            d.weight = v as i32;
        }
        if let Some(v) = u32_of(dest::U_THRESH)? {
            d.u_threshold = v;
        }
        if let Some(v) = u32_of(dest::L_THRESH)? {
            d.l_threshold = v;
        }
        if let Some(v) = u32_of(dest::ACTIVE_CONNS)? {
            d.active_conns = v;
        }
        if let Some(v) = u32_of(dest::INACT_CONNS)? {
            d.inact_conns = v;
        }
        if let Some(v) = u32_of(dest::PERSIST_CONNS)? {
            d.persist_conns = v;
        }
        if let Some(b) = bytes(dest::TUN_TYPE, 1)? {
            d.tun_type = TunType::from_raw(b[0]);
        }
        if let Some(b) = bytes(dest::TUN_PORT, 2)? {
            d.tun_port = u16::from_be_bytes([b[0], b[1]]);
        }
        if let Some(b) = bytes(dest::TUN_FLAGS, 2)? {
            d.tun_flags = TunFlags(u16::from_ne_bytes([b[0], b[1]]));
        }
        if stats {
            match self.stats {
                StatsAt::None => {}
                StatsAt::Packed(a) => {
                    d.stats = stats64_values(nest.get(a..a + 120)?.try_into().ok()?);
                }
                StatsAt::Nest(a, len) => match stats_of(nest.get(a..a + len)?) {
                    Ok(s) => d.stats = s,
                    Err(e) => return Some(Err(e)),
                },
            }
        }
        Some(Ok(d))
    }

    /// Learn the layout of `nest`, walked into `f` and accepted by
    /// [`dest_from`].
    #[cold]
    fn learn(&mut self, nest: &[u8], f: &DestFields) {
        *self = DestShape::default();
        let base = nest.as_ptr() as usize;
        let off = |p: &[u8]| p.as_ptr() as usize - base;
        // Where each header walked lies: 4 bytes before its payload.
        let mut at = Vec::with_capacity(32);
        for a in nlas(nest) {
            let Ok((_, p)) = a else { return };
            at.push(off(p).wrapping_sub(4));
        }
        for (slot, p) in self.at.iter_mut().zip(f) {
            *slot = p.map(off);
        }
        self.addr_len = f[usize::from(dest::ADDR)].map_or(0, <[u8]>::len);
        // The counters dest_from reads: STATS64, else STATS.
        let counters = f[usize::from(dest::STATS64)].or(f[usize::from(dest::STATS)]);
        self.stats = match counters {
            None => StatsAt::None,
            Some(p) if stats64_packed(p).is_some() => {
                for a in nlas(p) {
                    let Ok((_, q)) = a else { return };
                    at.push(off(q).wrapping_sub(4));
                }
                StatsAt::Packed(off(p))
            }
            Some(p) => StatsAt::Nest(off(p), p.len()),
        };
        let (mut heads, mut mask) = (vec![0u8; nest.len()], vec![0u8; nest.len()]);
        for a in at {
            let (Some(h), Some(src)) = (heads.get_mut(a..a + 4), nest.get(a..a + 4)) else {
                return;
            };
            h.copy_from_slice(src);
            mask[a..a + 4].fill(0xff);
        }
        self.heads = heads;
        self.mask = mask;
        self.len = nest.len();
    }
}

/// A real server from its attributes.
#[inline]
fn dest_from(f: &DestFields, svc_family: Family, stats: bool) -> Result<Dest> {
    let field = |kind: u16| f[usize::from(kind)];
    let mut family = svc_family;
    if let Some(p) = field(dest::ADDR_FAMILY) {
        if let Some(af) = Family::from_raw(get_u16(p, "dest af")?) {
            family = af;
        }
    }
    let addr = field(dest::ADDR).ok_or_else(|| missing("destination address"))?;
    let port = field(dest::PORT).ok_or_else(|| missing("destination port"))?;
    let mut d = Dest::new(
        addr_from_bytes(family, &get_addr(addr)),
        get_be16(port, "dest port")?,
    );
    let u32_of = |kind: u16, what: &str| field(kind).map(|p| get_u32(p, what)).transpose();
    if let Some(v) = u32_of(dest::FWD_METHOD, "dest fwd")? {
        d.fwd = FwdMethod::from_raw(v);
    }
    if let Some(v) = u32_of(dest::WEIGHT, "dest weight")? {
        d.weight = v as i32;
    }
    if let Some(v) = u32_of(dest::U_THRESH, "dest u_thresh")? {
        d.u_threshold = v;
    }
    if let Some(v) = u32_of(dest::L_THRESH, "dest l_thresh")? {
        d.l_threshold = v;
    }
    if let Some(v) = u32_of(dest::ACTIVE_CONNS, "dest activeconns")? {
        d.active_conns = v;
    }
    if let Some(v) = u32_of(dest::INACT_CONNS, "dest inactconns")? {
        d.inact_conns = v;
    }
    if let Some(v) = u32_of(dest::PERSIST_CONNS, "dest persistconns")? {
        d.persist_conns = v;
    }
    if let Some(p) = field(dest::TUN_TYPE) {
        d.tun_type = TunType::from_raw(get_u8(p, "dest tun_type")?);
    }
    if let Some(p) = field(dest::TUN_PORT) {
        d.tun_port = get_be16(p, "dest tun_port")?;
    }
    if let Some(p) = field(dest::TUN_FLAGS) {
        d.tun_flags = TunFlags(get_u16(p, "dest tun_flags")?);
    }
    if stats {
        if let Some(n) = field(dest::STATS64).or(field(dest::STATS)) {
            d.stats = stats_of(n)?;
        }
    }
    Ok(d)
}

/// A daemon nest (of a `NEW_DAEMON` dump entry).
pub fn decode_daemon(nest: &[u8]) -> Result<Daemon> {
    let mut state = None;
    let mut d = Daemon::new(DaemonState::Master, "", 0);
    for a in nlas(nest) {
        let (kind, p) = a?;
        match kind {
            daemon::STATE => state = DaemonState::from_raw(get_u32(p, "daemon state")?),
            daemon::MCAST_IFN => d.mcast_ifn = get_string(p),
            daemon::SYNC_ID => d.syncid = get_u32(p, "daemon syncid")?,
            daemon::SYNC_MAXLEN => d.sync_maxlen = get_u16(p, "daemon maxlen")?,
            daemon::MCAST_GROUP => {
                d.mcast_group = Some(IpAddr::V4(Ipv4Addr::from(take::<4>(p, "daemon group")?)))
            }
            daemon::MCAST_GROUP6 => {
                d.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(take::<16>(p, "daemon group6")?)))
            }
            daemon::MCAST_PORT => d.mcast_port = get_u16(p, "daemon port")?,
            daemon::MCAST_TTL => d.mcast_ttl = get_u8(p, "daemon ttl")?,
            _ => {}
        }
    }
    d.state = state.ok_or_else(|| missing("daemon state"))?;
    Ok(d)
}

/// The attributes of the `SET_CONFIG` reply to `GET_CONFIG`.
pub fn decode_timeouts(attrs: &[u8]) -> Result<Timeouts> {
    let mut t = Timeouts::default();
    for a in nlas(attrs) {
        let (kind, p) = a?;
        match kind {
            cmd::TIMEOUT_TCP => t.tcp = get_u32(p, "timeout tcp")?,
            cmd::TIMEOUT_TCP_FIN => t.tcp_fin = get_u32(p, "timeout tcpfin")?,
            cmd::TIMEOUT_UDP => t.udp = get_u32(p, "timeout udp")?,
            _ => {}
        }
    }
    Ok(t)
}

/// The attributes of the `SET_INFO` reply to `GET_INFO` (`INFO_ATTR_*`
/// numbering).
pub fn decode_info(attrs: &[u8]) -> Result<Info> {
    let (mut version, mut size) = (None, 0);
    for a in nlas(attrs) {
        let (kind, p) = a?;
        match kind {
            cmd::INFO_VERSION => version = Some(get_u32(p, "info version")?),
            cmd::INFO_CONN_TAB_SIZE => size = get_u32(p, "info conn_tab_size")?,
            _ => {}
        }
    }
    Ok(Info {
        version: version.ok_or_else(|| missing("IPVS version"))?,
        conn_tab_size: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(out: &mut Vec<u8>, kind: u16, p: &[u8]) {
        out.extend_from_slice(&((p.len() + 4) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(p);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }

    /// A payload too short for its attribute is an error naming it.
    #[test]
    fn short_payload_is_named() {
        let mut nest = Vec::new();
        attr(&mut nest, dest::ADDR, &[192, 0, 2, 1]);
        attr(&mut nest, dest::PORT, &80u16.to_be_bytes());
        attr(&mut nest, dest::WEIGHT, &[1, 0]);
        let e = decode_dest(&nest, Family::Inet, false).unwrap_err();
        assert!(
            e.to_string()
                .contains("dest weight: payload of 2 bytes, need 4"),
            "{e}"
        );
    }

    /// A real server's nest as Linux 6.1 writes it (`ip_vs_genl_fill_dest`).
    fn kernel_dest(n: u8) -> Vec<u8> {
        let mut d = Vec::new();
        attr(
            &mut d,
            dest::ADDR,
            &[198, 51, 100, n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        attr(&mut d, dest::PORT, &u16::from(n).to_be_bytes());
        attr(&mut d, dest::FWD_METHOD, &2u32.to_ne_bytes());
        attr(&mut d, dest::WEIGHT, &u32::from(n).to_ne_bytes());
        attr(&mut d, dest::TUN_TYPE, &[1]);
        attr(&mut d, dest::TUN_PORT, &[0, 0]);
        attr(&mut d, dest::TUN_FLAGS, &[0, 0]);
        for k in [dest::U_THRESH, dest::L_THRESH, dest::ACTIVE_CONNS] {
            attr(&mut d, k, &(u32::from(n) * 3 + u32::from(k)).to_ne_bytes());
        }
        attr(&mut d, dest::INACT_CONNS, &7u32.to_ne_bytes());
        attr(&mut d, dest::PERSIST_CONNS, &0u32.to_ne_bytes());
        attr(&mut d, dest::ADDR_FAMILY, &2u16.to_ne_bytes());
        for (kind, wide) in [(dest::STATS, false), (dest::STATS64, true)] {
            let mut n64 = Vec::new();
            for k in 1..=10u16 {
                let v = u64::from(n) << k;
                if wide || k == 4 || k == 5 {
                    attr(&mut n64, k, &v.to_ne_bytes());
                } else {
                    attr(&mut n64, k, &(v as u32).to_ne_bytes());
                }
            }
            attr(&mut d, kind | 0x8000, &n64);
        }
        d
    }

    /// Read at a learned layout, a real server decodes exactly as walked:
    /// the kernel's own entries, and thousands of damaged ones (bytes
    /// changed, headers among them; cut short), which either still match
    /// the layout (only values changed) or are walked.
    #[test]
    fn shaped_decode_equals_the_walk() {
        let both = |shape: &mut DestShape, nest: &[u8]| {
            let walked = decode_dest(nest, Family::Inet6, true);
            let shaped = decode_dest_shaped(shape, nest, Family::Inet6, true);
            assert_eq!(format!("{shaped:?}"), format!("{walked:?}"), "{nest:?}");
        };
        let mut learned = DestShape::default();
        both(&mut learned, &kernel_dest(1));
        assert_eq!(learned.len, kernel_dest(1).len());
        for n in 2..=40 {
            let nest = kernel_dest(n);
            assert!(learned.fits(&nest), "{n}");
            both(&mut learned, &nest);
            assert_eq!(
                decode_dest(&nest, Family::Inet, true).unwrap().weight,
                i32::from(n)
            );
        }
        let (mut fast, mut walked) = (0, 0);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |m: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m as u64) as usize
        };
        for i in 0..20_000 {
            let mut nest = kernel_dest((i % 250) as u8);
            for _ in 0..1 + rand(3) {
                let at = rand(nest.len());
                nest[at] = match rand(4) {
                    0 => 0,
                    1 => nest[at].wrapping_add(4),
                    _ => rand(256) as u8,
                };
            }
            if rand(10) == 0 {
                nest.truncate(rand(nest.len()));
            }
            let mut shape = learned.clone();
            if shape.fits(&nest) {
                fast += 1;
            } else {
                walked += 1;
            }
            both(&mut shape, &nest);
        }
        assert!(fast > 1000 && walked > 1000, "{fast} {walked}");
    }

    /// The fixed-offset read and the general walk agree on the kernel's
    /// packed STATS64; every other shape is left to the walk.
    #[test]
    fn packed_stats64_equals_the_walk() {
        let value = |k: u16| u64::from(k) * 0x0102_0304_0506 + 7;
        let mut packed = Vec::new();
        let mut padded = Vec::new();
        for k in 1..=10u16 {
            attr(&mut packed, k, &value(k).to_ne_bytes());
            attr(&mut padded, st::PAD, &[]);
            attr(&mut padded, k, &value(k).to_ne_bytes());
        }
        let want = Stats {
            conns: value(1),
            inpkts: value(2),
            outpkts: value(3),
            inbytes: value(4),
            outbytes: value(5),
            cps: value(6),
            inpps: value(7),
            outpps: value(8),
            inbps: value(9),
            outbps: value(10),
        };
        assert_eq!(packed.len(), 120);
        assert_eq!(stats64_packed(&packed), Some(want));
        assert_eq!(stats_of(&packed).unwrap(), want);
        assert_eq!(stats64_packed(&padded), None);
        assert_eq!(stats_of(&padded).unwrap(), want);
        // Swapped order, a wrong length, a cut nest: not packed.
        let mut swapped = packed.clone();
        let (a, b) = swapped.split_at_mut(12);
        a.swap_with_slice(&mut b[..12]);
        assert_eq!(stats64_packed(&swapped), None);
        assert_eq!(stats_of(&swapped).unwrap(), want);
        let mut bad = packed.clone();
        bad[0] = 16;
        assert_eq!(stats64_packed(&bad), None);
        assert!(stats_of(&bad).is_err());
        assert_eq!(stats64_packed(&packed[..119]), None);
        assert!(stats_of(&packed[..119]).is_err());
    }
}
