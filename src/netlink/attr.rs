//! IPVS generic-netlink attributes: one typed enum per attribute family,
//! each variant with an explicit payload layout.
//!
//! Byte orders (reference §3.3) are fixed here and nowhere else:
//! * ports (`SVC_ATTR_PORT`, `DEST_ATTR_PORT`, `DEST_ATTR_TUN_PORT`) and the
//!   IPv4 daemon multicast group are **network order**;
//! * the daemon's `MCAST_PORT` and every other integer are **host order**;
//! * addresses are 16-byte `union nf_inet_addr` blobs (network order, IPv4 in
//!   the first four bytes);
//! * `SVC_ATTR_NETMASK` is carried as its four raw bytes, because its meaning
//!   depends on the service's family (see `codec`).
//!
//! Parsing never panics: short payloads are decode errors, unknown attribute
//! types are kept as `Other` (and ignored by the codec), `STATS_ATTR_PAD` is
//! recognised and skipped.

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable, NLA_F_NESTED,
};

/// Top-level attributes (`IPVS_CMD_ATTR_*`), and the `IPVS_INFO_ATTR_*` that
/// share their numbers in `GET_INFO` replies.
pub mod cmd {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
    pub const INFO_VERSION: u16 = 1;
    pub const INFO_CONN_TAB_SIZE: u16 = 2;
}

/// `IPVS_SVC_ATTR_*`.
pub mod svc {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// `IPVS_DEST_ATTR_*`.
pub mod dest {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// `IPVS_DAEMON_ATTR_*`.
pub mod daemon {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
    pub const SYNC_MAXLEN: u16 = 4;
    pub const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub const MCAST_PORT: u16 = 7;
    pub const MCAST_TTL: u16 = 8;
}

/// `IPVS_STATS_ATTR_*`.
pub mod stats {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
    pub const PAD: u16 = 11;
}

// ---------------------------------------------------------------------------
// payload helpers

#[inline]
pub(super) fn take<const N: usize>(p: &[u8], what: &str) -> Result<[u8; N], DecodeError> {
    match p.first_chunk::<N>() {
        Some(a) => Ok(*a),
        None => Err(too_short(what, p.len(), N)),
    }
}

/// The error of [`take`], out of its way (a scrape decodes a million
/// attributes that are long enough).
#[cold]
#[inline(never)]
fn too_short(what: &str, len: usize, need: usize) -> DecodeError {
    DecodeError::from(format!("{what}: payload of {len} bytes, need {need}"))
}

pub(super) fn get_u8(p: &[u8], what: &str) -> Result<u8, DecodeError> {
    Ok(take::<1>(p, what)?[0])
}
pub(super) fn get_u16(p: &[u8], what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(take(p, what)?))
}
pub(super) fn get_be16(p: &[u8], what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(take(p, what)?))
}
pub(super) fn get_u32(p: &[u8], what: &str) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(take(p, what)?))
}
pub(super) fn get_u64(p: &[u8], what: &str) -> Result<u64, DecodeError> {
    Ok(u64::from_ne_bytes(take(p, what)?))
}

/// A 16-byte `nf_inet_addr`; shorter payloads are zero-filled like the
/// kernel's `nla_memcpy`.
pub(super) fn get_addr(p: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    let n = p.len().min(16);
    a[..n].copy_from_slice(&p[..n]);
    a
}

/// A NUL-terminated string; bytes after the first NUL are ignored.
pub(super) fn get_string(p: &[u8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
}

fn parse_nested<T>(
    payload: &[u8],
    parse: impl Fn(&NlaBuffer<&[u8]>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    NlasIterator::new(payload)
        .map(|nla| nla.and_then(|nla| parse(&nla)))
        .collect()
}

fn other(nla: &NlaBuffer<&[u8]>) -> Result<DefaultNla, DecodeError> {
    DefaultNla::parse(nla)
}

fn nested_len<T: Nla>(v: &[T]) -> usize {
    v.buffer_len()
}

fn emit_string(buf: &mut [u8], s: &str) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}

// ---------------------------------------------------------------------------
// stats

/// Which counter a stats attribute carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsField {
    Conns,
    InPkts,
    OutPkts,
    InBytes,
    OutBytes,
    Cps,
    InPps,
    OutPps,
    InBps,
    OutBps,
}

impl StatsField {
    pub const ALL: [StatsField; 10] = [
        StatsField::Conns,
        StatsField::InPkts,
        StatsField::OutPkts,
        StatsField::InBytes,
        StatsField::OutBytes,
        StatsField::Cps,
        StatsField::InPps,
        StatsField::OutPps,
        StatsField::InBps,
        StatsField::OutBps,
    ];

    pub fn kind(self) -> u16 {
        self as u16 + 1
    }

    pub fn from_kind(k: u16) -> Option<StatsField> {
        Self::ALL.get(usize::from(k).wrapping_sub(1)).copied()
    }

    /// In the 32-bit `STATS` nest only the byte counters are 64-bit.
    pub fn wide_in_stats32(self) -> bool {
        matches!(self, StatsField::InBytes | StatsField::OutBytes)
    }
}

/// `IPVS_STATS_ATTR_*`, as found in `*_ATTR_STATS` (mixed widths) and
/// `*_ATTR_STATS64` (all u64) nests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatsAttr {
    U32(StatsField, u32),
    U64(StatsField, u64),
    /// `IPVS_STATS_ATTR_PAD`, alignment filler before 64-bit values.
    Pad,
    Other(DefaultNla),
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match self {
            StatsAttr::U32(..) => 4,
            StatsAttr::U64(..) => 8,
            StatsAttr::Pad => 0,
            StatsAttr::Other(n) => n.value_len(),
        }
    }
    fn kind(&self) -> u16 {
        match self {
            StatsAttr::U32(f, _) | StatsAttr::U64(f, _) => f.kind(),
            StatsAttr::Pad => stats::PAD,
            StatsAttr::Other(n) => n.kind(),
        }
    }
    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            StatsAttr::U32(_, v) => buf.copy_from_slice(&v.to_ne_bytes()),
            StatsAttr::U64(_, v) => buf.copy_from_slice(&v.to_ne_bytes()),
            StatsAttr::Pad => {}
            StatsAttr::Other(n) => n.emit_value(buf),
        }
    }
}

impl StatsAttr {
    /// Values are read by payload length: 4 bytes → u32, 8 bytes → u64.
    pub fn parse(nla: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        let p = nla.value();
        let kind = nla.kind();
        if kind == stats::PAD {
            return Ok(StatsAttr::Pad);
        }
        match StatsField::from_kind(kind) {
            Some(f) if p.len() >= 8 => Ok(StatsAttr::U64(f, get_u64(p, "stats")?)),
            Some(f) => Ok(StatsAttr::U32(f, get_u32(p, "stats")?)),
            None => Ok(StatsAttr::Other(other(nla)?)),
        }
    }

    fn parse_all(p: &[u8]) -> Result<Vec<StatsAttr>, DecodeError> {
        parse_nested(p, StatsAttr::parse)
    }
}

// ---------------------------------------------------------------------------
// service

/// `IPVS_SVC_ATTR_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SvcAttr {
    Af(u16),
    Protocol(u16),
    /// 16 bytes, network order.
    Addr([u8; 16]),
    /// Host-order value, emitted big-endian.
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    /// `struct ip_vs_flags { flags, mask }`, host order.
    Flags {
        flags: u32,
        mask: u32,
    },
    Timeout(u32),
    /// Raw payload: be32 mask bytes (IPv4) or host-order prefix (IPv6).
    Netmask([u8; 4]),
    Stats(Vec<StatsAttr>),
    PeName(String),
    Stats64(Vec<StatsAttr>),
    Other(DefaultNla),
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        use SvcAttr::*;
        match self {
            Af(_) | Protocol(_) | Port(_) => 2,
            Addr(_) => 16,
            Fwmark(_) | Timeout(_) | Netmask(_) => 4,
            SchedName(s) | PeName(s) => s.len() + 1,
            Flags { .. } => 8,
            Stats(v) | Stats64(v) => nested_len(v),
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use SvcAttr::*;
        match self {
            Af(_) => svc::AF,
            Protocol(_) => svc::PROTOCOL,
            Addr(_) => svc::ADDR,
            Port(_) => svc::PORT,
            Fwmark(_) => svc::FWMARK,
            SchedName(_) => svc::SCHED_NAME,
            Flags { .. } => svc::FLAGS,
            Timeout(_) => svc::TIMEOUT,
            Netmask(_) => svc::NETMASK,
            Stats(_) => svc::STATS | NLA_F_NESTED,
            PeName(_) => svc::PE_NAME,
            Stats64(_) => svc::STATS64 | NLA_F_NESTED,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use SvcAttr::*;
        match self {
            Af(v) | Protocol(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Addr(a) => buf.copy_from_slice(a),
            Port(p) => buf.copy_from_slice(&p.to_be_bytes()),
            Fwmark(v) | Timeout(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            SchedName(s) | PeName(s) => emit_string(buf, s),
            Flags { flags, mask } => {
                buf[..4].copy_from_slice(&flags.to_ne_bytes());
                buf[4..8].copy_from_slice(&mask.to_ne_bytes());
            }
            Netmask(raw) => buf.copy_from_slice(raw),
            Stats(v) | Stats64(v) => v.as_slice().emit(buf),
            Other(n) => n.emit_value(buf),
        }
    }
}

impl SvcAttr {
    pub fn parse(nla: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        let p = nla.value();
        Ok(match nla.kind() {
            svc::AF => SvcAttr::Af(get_u16(p, "svc af")?),
            svc::PROTOCOL => SvcAttr::Protocol(get_u16(p, "svc protocol")?),
            svc::ADDR => SvcAttr::Addr(get_addr(p)),
            svc::PORT => SvcAttr::Port(get_be16(p, "svc port")?),
            svc::FWMARK => SvcAttr::Fwmark(get_u32(p, "svc fwmark")?),
            svc::SCHED_NAME => SvcAttr::SchedName(get_string(p)),
            svc::FLAGS => {
                let raw: [u8; 8] = take(p, "svc flags")?;
                SvcAttr::Flags {
                    flags: get_u32(&raw[..4], "svc flags")?,
                    mask: get_u32(&raw[4..], "svc flags")?,
                }
            }
            svc::TIMEOUT => SvcAttr::Timeout(get_u32(p, "svc timeout")?),
            svc::NETMASK => SvcAttr::Netmask(take(p, "svc netmask")?),
            svc::STATS => SvcAttr::Stats(StatsAttr::parse_all(p)?),
            svc::PE_NAME => SvcAttr::PeName(get_string(p)),
            svc::STATS64 => SvcAttr::Stats64(StatsAttr::parse_all(p)?),
            _ => SvcAttr::Other(other(nla)?),
        })
    }
}

// ---------------------------------------------------------------------------
// destination

/// `IPVS_DEST_ATTR_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestAttr {
    /// 16 bytes, network order.
    Addr([u8; 16]),
    /// Host-order value, emitted big-endian.
    Port(u16),
    FwdMethod(u32),
    /// The kernel reads an `int`.
    Weight(i32),
    UThresh(u32),
    LThresh(u32),
    ActiveConns(u32),
    InactConns(u32),
    PersistConns(u32),
    Stats(Vec<StatsAttr>),
    AddrFamily(u16),
    Stats64(Vec<StatsAttr>),
    TunType(u8),
    /// Host-order value, emitted big-endian.
    TunPort(u16),
    TunFlags(u16),
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        use DestAttr::*;
        match self {
            Addr(_) => 16,
            Port(_) | AddrFamily(_) | TunPort(_) | TunFlags(_) => 2,
            TunType(_) => 1,
            FwdMethod(_) | Weight(_) | UThresh(_) | LThresh(_) | ActiveConns(_) | InactConns(_)
            | PersistConns(_) => 4,
            Stats(v) | Stats64(v) => nested_len(v),
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DestAttr::*;
        match self {
            Addr(_) => dest::ADDR,
            Port(_) => dest::PORT,
            FwdMethod(_) => dest::FWD_METHOD,
            Weight(_) => dest::WEIGHT,
            UThresh(_) => dest::U_THRESH,
            LThresh(_) => dest::L_THRESH,
            ActiveConns(_) => dest::ACTIVE_CONNS,
            InactConns(_) => dest::INACT_CONNS,
            PersistConns(_) => dest::PERSIST_CONNS,
            Stats(_) => dest::STATS | NLA_F_NESTED,
            AddrFamily(_) => dest::ADDR_FAMILY,
            Stats64(_) => dest::STATS64 | NLA_F_NESTED,
            TunType(_) => dest::TUN_TYPE,
            TunPort(_) => dest::TUN_PORT,
            TunFlags(_) => dest::TUN_FLAGS,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DestAttr::*;
        match self {
            Addr(a) => buf.copy_from_slice(a),
            Port(p) | TunPort(p) => buf.copy_from_slice(&p.to_be_bytes()),
            AddrFamily(v) | TunFlags(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            TunType(v) => buf[0] = *v,
            Weight(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            FwdMethod(v) | UThresh(v) | LThresh(v) | ActiveConns(v) | InactConns(v)
            | PersistConns(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Stats(v) | Stats64(v) => v.as_slice().emit(buf),
            Other(n) => n.emit_value(buf),
        }
    }
}

impl DestAttr {
    pub fn parse(nla: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        let p = nla.value();
        Ok(match nla.kind() {
            dest::ADDR => DestAttr::Addr(get_addr(p)),
            dest::PORT => DestAttr::Port(get_be16(p, "dest port")?),
            dest::FWD_METHOD => DestAttr::FwdMethod(get_u32(p, "dest fwd")?),
            dest::WEIGHT => DestAttr::Weight(get_u32(p, "dest weight")? as i32),
            dest::U_THRESH => DestAttr::UThresh(get_u32(p, "dest u_thresh")?),
            dest::L_THRESH => DestAttr::LThresh(get_u32(p, "dest l_thresh")?),
            dest::ACTIVE_CONNS => DestAttr::ActiveConns(get_u32(p, "dest activeconns")?),
            dest::INACT_CONNS => DestAttr::InactConns(get_u32(p, "dest inactconns")?),
            dest::PERSIST_CONNS => DestAttr::PersistConns(get_u32(p, "dest persistconns")?),
            dest::STATS => DestAttr::Stats(StatsAttr::parse_all(p)?),
            dest::ADDR_FAMILY => DestAttr::AddrFamily(get_u16(p, "dest af")?),
            dest::STATS64 => DestAttr::Stats64(StatsAttr::parse_all(p)?),
            dest::TUN_TYPE => DestAttr::TunType(get_u8(p, "dest tun_type")?),
            dest::TUN_PORT => DestAttr::TunPort(get_be16(p, "dest tun_port")?),
            dest::TUN_FLAGS => DestAttr::TunFlags(get_u16(p, "dest tun_flags")?),
            _ => DestAttr::Other(other(nla)?),
        })
    }
}

// ---------------------------------------------------------------------------
// daemon

/// `IPVS_DAEMON_ATTR_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonAttr {
    State(u32),
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    /// IPv4 group, network order.
    McastGroup([u8; 4]),
    McastGroup6([u8; 16]),
    /// Host order (unlike every other port).
    McastPort(u16),
    McastTtl(u8),
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        use DaemonAttr::*;
        match self {
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastIfn(s) => s.len() + 1,
            SyncMaxlen(_) | McastPort(_) => 2,
            McastGroup6(_) => 16,
            McastTtl(_) => 1,
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DaemonAttr::*;
        match self {
            State(_) => daemon::STATE,
            McastIfn(_) => daemon::MCAST_IFN,
            SyncId(_) => daemon::SYNC_ID,
            SyncMaxlen(_) => daemon::SYNC_MAXLEN,
            McastGroup(_) => daemon::MCAST_GROUP,
            McastGroup6(_) => daemon::MCAST_GROUP6,
            McastPort(_) => daemon::MCAST_PORT,
            McastTtl(_) => daemon::MCAST_TTL,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DaemonAttr::*;
        match self {
            State(v) | SyncId(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            McastIfn(s) => emit_string(buf, s),
            SyncMaxlen(v) | McastPort(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            McastGroup(a) => buf.copy_from_slice(a),
            McastGroup6(a) => buf.copy_from_slice(a),
            McastTtl(v) => buf[0] = *v,
            Other(n) => n.emit_value(buf),
        }
    }
}

impl DaemonAttr {
    pub fn parse(nla: &NlaBuffer<&[u8]>) -> Result<Self, DecodeError> {
        let p = nla.value();
        Ok(match nla.kind() {
            daemon::STATE => DaemonAttr::State(get_u32(p, "daemon state")?),
            daemon::MCAST_IFN => DaemonAttr::McastIfn(get_string(p)),
            daemon::SYNC_ID => DaemonAttr::SyncId(get_u32(p, "daemon syncid")?),
            daemon::SYNC_MAXLEN => DaemonAttr::SyncMaxlen(get_u16(p, "daemon maxlen")?),
            daemon::MCAST_GROUP => DaemonAttr::McastGroup(take(p, "daemon group")?),
            daemon::MCAST_GROUP6 => DaemonAttr::McastGroup6(take(p, "daemon group6")?),
            daemon::MCAST_PORT => DaemonAttr::McastPort(get_u16(p, "daemon port")?),
            daemon::MCAST_TTL => DaemonAttr::McastTtl(get_u8(p, "daemon ttl")?),
            _ => DaemonAttr::Other(other(nla)?),
        })
    }
}

// ---------------------------------------------------------------------------
// top level

/// Top-level attributes of an IPVS message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdAttr {
    Service(Vec<SvcAttr>),
    Dest(Vec<DestAttr>),
    Daemon(Vec<DaemonAttr>),
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (only in `GET_INFO` replies).
    InfoVersion(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (only in `GET_INFO` replies).
    InfoConnTabSize(u32),
    Other(DefaultNla),
}

impl Nla for CmdAttr {
    fn value_len(&self) -> usize {
        use CmdAttr::*;
        match self {
            Service(v) => nested_len(v),
            Dest(v) => nested_len(v),
            Daemon(v) => nested_len(v),
            TimeoutTcp(_) | TimeoutTcpFin(_) | TimeoutUdp(_) | InfoVersion(_)
            | InfoConnTabSize(_) => 4,
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use CmdAttr::*;
        match self {
            Service(_) => cmd::SERVICE | NLA_F_NESTED,
            Dest(_) => cmd::DEST | NLA_F_NESTED,
            Daemon(_) => cmd::DAEMON | NLA_F_NESTED,
            TimeoutTcp(_) => cmd::TIMEOUT_TCP,
            TimeoutTcpFin(_) => cmd::TIMEOUT_TCP_FIN,
            TimeoutUdp(_) => cmd::TIMEOUT_UDP,
            InfoVersion(_) => cmd::INFO_VERSION,
            InfoConnTabSize(_) => cmd::INFO_CONN_TAB_SIZE,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use CmdAttr::*;
        match self {
            Service(v) => v.as_slice().emit(buf),
            Dest(v) => v.as_slice().emit(buf),
            Daemon(v) => v.as_slice().emit(buf),
            TimeoutTcp(v) | TimeoutTcpFin(v) | TimeoutUdp(v) | InfoVersion(v)
            | InfoConnTabSize(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Other(n) => n.emit_value(buf),
        }
    }
}

impl CmdAttr {
    /// `info` selects the `IPVS_INFO_ATTR_*` numbering (replies to
    /// `GET_INFO`, whose command is `SET_INFO`).
    pub fn parse(nla: &NlaBuffer<&[u8]>, info: bool) -> Result<Self, DecodeError> {
        let p = nla.value();
        if info {
            return Ok(match nla.kind() {
                cmd::INFO_VERSION => CmdAttr::InfoVersion(get_u32(p, "info version")?),
                cmd::INFO_CONN_TAB_SIZE => {
                    CmdAttr::InfoConnTabSize(get_u32(p, "info conn_tab_size")?)
                }
                _ => CmdAttr::Other(other(nla)?),
            });
        }
        Ok(match nla.kind() {
            cmd::SERVICE => CmdAttr::Service(parse_nested(p, SvcAttr::parse)?),
            cmd::DEST => CmdAttr::Dest(parse_nested(p, DestAttr::parse)?),
            cmd::DAEMON => CmdAttr::Daemon(parse_nested(p, DaemonAttr::parse)?),
            cmd::TIMEOUT_TCP => CmdAttr::TimeoutTcp(get_u32(p, "timeout tcp")?),
            cmd::TIMEOUT_TCP_FIN => CmdAttr::TimeoutTcpFin(get_u32(p, "timeout tcpfin")?),
            cmd::TIMEOUT_UDP => CmdAttr::TimeoutUdp(get_u32(p, "timeout udp")?),
            _ => CmdAttr::Other(other(nla)?),
        })
    }

    pub fn parse_all(payload: &[u8], info: bool) -> Result<Vec<CmdAttr>, DecodeError> {
        parse_nested(payload, |nla| CmdAttr::parse(nla, info))
    }
}
