//! The typed model of the kernel's IPVS tables.
//!
//! Everything here is plain data: no I/O, no netlink. The codec
//! (`crate::netlink`) turns these values into attributes and back; the
//! formatters and the command-line parser work on them too.
//!
//! Invariants:
//! * A [`ServiceKey`] is the kernel's identity of a virtual service: address
//!   family plus either a firewall mark or protocol + address + port. The
//!   family of an address-based key is the family of its address, so an IPv6
//!   service with an IPv4 address cannot be expressed.
//! * Ports are host-order `u16` values here; the codec writes them in network
//!   order on the wire.
//! * [`Service::netmask`] keeps the kernel's meaning, which depends on the
//!   family: for IPv4 it is the mask as a number (`0xffff_ff00` for /24), for
//!   IPv6 a prefix length (1..=128).
//! * Counters read from the kernel are widened to `u64` whatever attribute
//!   form (32- or 64-bit) carried them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address family of a service or a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub const AF_INET: u16 = 2;
    pub const AF_INET6: u16 = 10;

    pub fn to_raw(self) -> u16 {
        match self {
            Family::Inet => Self::AF_INET,
            Family::Inet6 => Self::AF_INET6,
        }
    }

    pub fn from_raw(af: u16) -> Option<Family> {
        match af {
            Self::AF_INET => Some(Family::Inet),
            Self::AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }

    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The unspecified address of this family.
    pub fn any(self) -> IpAddr {
        match self {
            Family::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

/// Transport protocol of an address-based virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    /// A protocol number the kernel reported that ipvsadm has no name for.
    #[serde(untagged)]
    Other(u16),
}

impl Protocol {
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(n) => n,
        }
    }

    pub fn from_raw(p: u16) -> Protocol {
        match p {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }
}

/// The kernel's identity of a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum ServiceKey {
    /// `-t`/`-u`/`--sctp-service ADDR:PORT`.
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// `-f MARK [-6]`.
    Fwmark { family: Family, mark: u32 },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }

    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }

    pub fn fwmark(family: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { family, mark }
    }
}

/// Service flags (`IP_VS_SVC_F_*`), host order as on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    pub const PERSISTENT: u32 = 0x1;
    pub const HASHED: u32 = 0x2;
    pub const ONEPACKET: u32 = 0x4;
    pub const SCHED1: u32 = 0x8;
    pub const SCHED2: u32 = 0x10;
    pub const SCHED3: u32 = 0x20;
    pub const SCHED_MASK: u32 = Self::SCHED1 | Self::SCHED2 | Self::SCHED3;

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
    pub fn persistent(self) -> bool {
        self.has(Self::PERSISTENT)
    }
    pub fn one_packet(self) -> bool {
        self.has(Self::ONEPACKET)
    }
    pub fn sched_bits(self) -> u32 {
        self.0 & Self::SCHED_MASK
    }
}

/// Traffic counters and rate estimates of a service or real server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, …; at most 15 bytes on the wire).
    pub scheduler: String,
    #[serde(default)]
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `PERSISTENT`).
    #[serde(default)]
    pub timeout: u32,
    /// See the module docs for the family-dependent meaning. 0 (or absent
    /// in JSON) stands for the family's full mask.
    #[serde(default)]
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pe_name: Option<String>,
    /// Counters; only filled in by the kernel's replies.
    #[serde(default)]
    pub stats: Stats,
}

impl Service {
    /// A service with ipvsadm's defaults: no persistence, full netmask.
    pub fn new(key: ServiceKey, scheduler: &str) -> Service {
        Service {
            key,
            scheduler: scheduler.to_string(),
            flags: ServiceFlags(0),
            timeout: 0,
            netmask: Service::full_netmask(key.family()),
            pe_name: None,
            stats: Stats::default(),
        }
    }

    /// The netmask that means "no mask" for a family.
    pub fn full_netmask(family: Family) -> u32 {
        match family {
            Family::Inet => 0xffff_ffff,
            Family::Inet6 => 128,
        }
    }
}

/// Forwarding method of a real server (`IP_VS_CONN_F_*` & 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FwdMethod {
    /// `-m`, NAT.
    Masq,
    /// Local node (the kernel picks it for local addresses).
    Local,
    /// `-i`, IP-in-IP (or GUE/GRE) tunnelling.
    Tunnel,
    /// `-g`, direct routing (ipvsadm's default).
    Route,
    /// Bypass and other values the kernel may report.
    #[serde(untagged)]
    Other(u32),
}

impl FwdMethod {
    pub fn to_raw(self) -> u32 {
        match self {
            FwdMethod::Masq => 0,
            FwdMethod::Local => 1,
            FwdMethod::Tunnel => 2,
            FwdMethod::Route => 3,
            FwdMethod::Other(n) => n,
        }
    }

    pub fn from_raw(v: u32) -> FwdMethod {
        match v & 7 {
            0 => FwdMethod::Masq,
            1 => FwdMethod::Local,
            2 => FwdMethod::Tunnel,
            3 => FwdMethod::Route,
            n => FwdMethod::Other(n),
        }
    }
}

/// Encapsulation of a tunnelling real server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunType {
    #[default]
    Ipip,
    Gue,
    Gre,
    #[serde(untagged)]
    Other(u8),
}

impl TunType {
    pub fn to_raw(self) -> u8 {
        match self {
            TunType::Ipip => 0,
            TunType::Gue => 1,
            TunType::Gre => 2,
            TunType::Other(n) => n,
        }
    }

    pub fn from_raw(v: u8) -> TunType {
        match v {
            0 => TunType::Ipip,
            1 => TunType::Gue,
            2 => TunType::Gre,
            n => TunType::Other(n),
        }
    }
}

/// Tunnel checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`), host order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TunFlags(pub u16);

impl TunFlags {
    pub const NOCSUM: u16 = 0;
    pub const CSUM: u16 = 0x1;
    pub const REMCSUM: u16 = 0x2;
}

fn default_fwd() -> FwdMethod {
    FwdMethod::Route
}

fn default_weight() -> i32 {
    1
}

/// A real server (destination) of a virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dest {
    /// Its own family may differ from the service's (tunnelling only).
    pub addr: IpAddr,
    pub port: u16,
    #[serde(default = "default_fwd")]
    pub fwd: FwdMethod,
    /// The kernel takes an `int` and refuses negative values.
    #[serde(default = "default_weight")]
    pub weight: i32,
    #[serde(default)]
    pub u_threshold: u32,
    #[serde(default)]
    pub l_threshold: u32,
    #[serde(default)]
    pub tun_type: TunType,
    /// GUE destination port (host order here).
    #[serde(default)]
    pub tun_port: u16,
    #[serde(default)]
    pub tun_flags: TunFlags,
    /// Connection counters; only filled in by the kernel's replies.
    #[serde(default)]
    pub active_conns: u32,
    #[serde(default)]
    pub inact_conns: u32,
    #[serde(default)]
    pub persist_conns: u32,
    #[serde(default)]
    pub stats: Stats,
}

impl Dest {
    /// Does `self` (a real server as the kernel reports it) have every
    /// setting a rule gives `want`: forwarding method, weight, thresholds,
    /// tunnel? The kernel reports real servers on local addresses as
    /// LOCALNODE whatever was asked, so LOCALNODE matches any method.
    pub fn same_settings(&self, want: &Dest) -> bool {
        (self.fwd == want.fwd || self.fwd == FwdMethod::Local)
            && self.weight == want.weight
            && self.u_threshold == want.u_threshold
            && self.l_threshold == want.l_threshold
            && self.tun_type == want.tun_type
            && self.tun_port == want.tun_port
            && self.tun_flags == want.tun_flags
    }
}

impl Dest {
    /// A real server with ipvsadm's defaults: direct routing, weight 1.
    pub fn new(addr: IpAddr, port: u16) -> Dest {
        Dest {
            addr,
            port,
            fwd: FwdMethod::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: TunType::Ipip,
            tun_port: 0,
            tun_flags: TunFlags(0),
            active_conns: 0,
            inact_conns: 0,
            persist_conns: 0,
            stats: Stats::default(),
        }
    }

    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// Role of a connection-synchronisation daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }

    pub fn from_raw(v: u32) -> Option<DaemonState> {
        match v {
            1 => Some(DaemonState::Master),
            2 => Some(DaemonState::Backup),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DaemonState::Master => "master",
            DaemonState::Backup => "backup",
        }
    }
}

/// A connection-synchronisation daemon (`--start-daemon`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Daemon {
    pub state: DaemonState,
    /// Multicast interface name (at most 15 bytes).
    pub mcast_ifn: String,
    pub syncid: u32,
    /// 0 = kernel default.
    #[serde(default)]
    pub sync_maxlen: u16,
    /// `None` = kernel default (224.0.0.81).
    #[serde(default)]
    pub mcast_group: Option<IpAddr>,
    /// 0 = kernel default (8848).
    #[serde(default)]
    pub mcast_port: u16,
    /// 0 = kernel default (1).
    #[serde(default)]
    pub mcast_ttl: u8,
}

impl Daemon {
    pub fn new(state: DaemonState, mcast_ifn: &str, syncid: u32) -> Daemon {
        Daemon {
            state,
            mcast_ifn: mcast_ifn.to_string(),
            syncid,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        }
    }
}

/// Connection timeouts in seconds (`--set tcp tcpfin udp`); 0 = unchanged
/// when setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// `IPVS_CMD_GET_INFO`: the IPVS version and connection table size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Encoded as `major << 16 | minor << 8 | patch`.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}

/// A virtual service with its real servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    #[serde(flatten)]
    pub service: Service,
    #[serde(default)]
    pub dests: Vec<Dest>,
}

/// Everything IPVS holds in one network namespace, as `--json` prints it
/// and `apply` reads it. Absent parts are not printed, and `apply` leaves
/// the kernel's as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// `GET_INFO` (listings only; ignored by `apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Info>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    #[serde(default)]
    pub services: Vec<ServiceEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemons: Option<Vec<Daemon>>,
}

/// One change to the IPVS tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    AddService(Service),
    EditService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Dest),
    EditDest(ServiceKey, Dest),
    DelDest(ServiceKey, IpAddr, u16),
    Zero(Option<ServiceKey>),
    Flush,
    SetTimeouts(Timeouts),
    StartDaemon(Daemon),
    StopDaemon(DaemonState, u32),
}

/// A hash for table keys (from the admin's files or the kernel's own
/// table): fast, not keyed (the input is trusted, so hash flooding is not
/// a concern here).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i.into());
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i.into());
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i.into());
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// A map keyed by [`FastHasher`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// A set hashed by [`FastHasher`].
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FastHasher>>;
