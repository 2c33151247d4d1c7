//! Model ⇄ attributes: the requests we send for each IPVS command and the
//! decoding of the kernel's replies into `crate::model` values.
//!
//! Requests carry what the kernel needs and nothing it ignores:
//! * full service (`NEW_SERVICE`, `SET_SERVICE`): AF, identity, SCHED_NAME,
//!   PE_NAME (only if set), FLAGS with mask `!0` (a full replace, as ipvsadm
//!   does), TIMEOUT, NETMASK;
//! * service identity (every other command): AF + FWMARK, or AF + PROTOCOL +
//!   ADDR + PORT;
//! * full destination: ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT, TUN_TYPE,
//!   TUN_PORT, TUN_FLAGS, U_THRESH, L_THRESH (ipvsadm's order);
//! * destination identity (`DEL_DEST`): ADDR_FAMILY, ADDR, PORT.
//!
//! Replies: unknown attributes are ignored, STATS64 wins over STATS, a
//! missing identity is a decode error.

use super::attr::{CmdAttr, DaemonAttr, DestAttr, StatsAttr, StatsField, SvcAttr};
use super::message::{IpvsCmd, IpvsMessage};
use crate::model::*;
use netlink_packet_core::DecodeError;
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

fn netmask_raw(family: Family, netmask: u32) -> [u8; 4] {
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

/// AF + identity attributes of a service.
pub fn service_key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    let (a, n) = service_key_array(key);
    let mut v = Vec::with_capacity(n + 5);
    v.extend(a.into_iter().take(n));
    v
}

/// Every attribute of a service the kernel takes on `NEW`/`SET_SERVICE`.
pub fn service_attrs(svc: &Service) -> Vec<SvcAttr> {
    let mut v = service_key_attrs(&svc.key);
    v.push(SvcAttr::SchedName(svc.scheduler.clone()));
    if let Some(pe) = &svc.pe_name {
        v.push(SvcAttr::PeName(pe.clone()));
    }
    v.push(SvcAttr::Flags {
        flags: svc.flags.0,
        mask: !0,
    });
    v.push(SvcAttr::Timeout(svc.timeout));
    v.push(SvcAttr::Netmask(netmask_raw(svc.key.family(), svc.netmask)));
    v
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

/// Every attribute of a real server the kernel takes on `NEW`/`SET_DEST`.
pub fn dest_attrs(d: &Dest) -> Vec<DestAttr> {
    dest_array(d).to_vec()
}

/// Identity of a real server within its service.
pub fn dest_key_attrs(addr: &IpAddr, port: u16) -> Vec<DestAttr> {
    vec![
        DestAttr::AddrFamily(Family::of(addr).to_raw()),
        DestAttr::Addr(addr_bytes(addr)),
        DestAttr::Port(port),
    ]
}

fn daemon_attrs(d: &Daemon) -> Vec<DaemonAttr> {
    let mut v = vec![
        DaemonAttr::State(d.state.to_raw()),
        DaemonAttr::McastIfn(d.mcast_ifn.clone()),
        DaemonAttr::SyncId(d.syncid),
    ];
    if d.sync_maxlen != 0 {
        v.push(DaemonAttr::SyncMaxlen(d.sync_maxlen));
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => v.push(DaemonAttr::McastGroup(a.octets())),
        Some(IpAddr::V6(a)) => v.push(DaemonAttr::McastGroup6(a.octets())),
        None => {}
    }
    if d.mcast_port != 0 {
        v.push(DaemonAttr::McastPort(d.mcast_port));
    }
    if d.mcast_ttl != 0 {
        v.push(DaemonAttr::McastTtl(d.mcast_ttl));
    }
    v
}

/// Request constructors, one per IPVS command.
impl IpvsMessage {
    pub fn new_service(svc: &Service) -> Self {
        Self::new(
            IpvsCmd::NewService,
            vec![CmdAttr::Service(service_attrs(svc))],
        )
    }
    pub fn set_service(svc: &Service) -> Self {
        Self::new(
            IpvsCmd::SetService,
            vec![CmdAttr::Service(service_attrs(svc))],
        )
    }
    pub fn del_service(key: &ServiceKey) -> Self {
        Self::new(
            IpvsCmd::DelService,
            vec![CmdAttr::Service(service_key_attrs(key))],
        )
    }
    /// `doit` form (one service); without a key this is the dump request.
    pub fn get_service(key: Option<&ServiceKey>) -> Self {
        let attrs = key
            .map(|k| vec![CmdAttr::Service(service_key_attrs(k))])
            .unwrap_or_default();
        Self::new(IpvsCmd::GetService, attrs)
    }
    pub fn new_dest(key: &ServiceKey, d: &Dest) -> Self {
        Self::new(
            IpvsCmd::NewDest,
            vec![
                CmdAttr::Service(service_key_attrs(key)),
                CmdAttr::Dest(dest_attrs(d)),
            ],
        )
    }
    pub fn set_dest(key: &ServiceKey, d: &Dest) -> Self {
        Self::new(
            IpvsCmd::SetDest,
            vec![
                CmdAttr::Service(service_key_attrs(key)),
                CmdAttr::Dest(dest_attrs(d)),
            ],
        )
    }
    pub fn del_dest(key: &ServiceKey, addr: &IpAddr, port: u16) -> Self {
        Self::new(
            IpvsCmd::DelDest,
            vec![
                CmdAttr::Service(service_key_attrs(key)),
                CmdAttr::Dest(dest_key_attrs(addr, port)),
            ],
        )
    }
    /// Dump request for the real servers of one service.
    pub fn get_dests(key: &ServiceKey) -> Self {
        Self::new(
            IpvsCmd::GetDest,
            vec![CmdAttr::Service(service_key_attrs(key))],
        )
    }
    pub fn new_daemon(d: &Daemon) -> Self {
        Self::new(IpvsCmd::NewDaemon, vec![CmdAttr::Daemon(daemon_attrs(d))])
    }
    pub fn del_daemon(state: DaemonState, syncid: u32) -> Self {
        Self::new(
            IpvsCmd::DelDaemon,
            vec![CmdAttr::Daemon(vec![
                DaemonAttr::State(state.to_raw()),
                DaemonAttr::McastIfn(String::new()),
                DaemonAttr::SyncId(syncid),
            ])],
        )
    }
    pub fn get_daemons() -> Self {
        Self::new(IpvsCmd::GetDaemon, vec![])
    }
    pub fn set_timeouts(t: &Timeouts) -> Self {
        Self::new(
            IpvsCmd::SetConfig,
            vec![
                CmdAttr::TimeoutTcp(t.tcp),
                CmdAttr::TimeoutTcpFin(t.tcp_fin),
                CmdAttr::TimeoutUdp(t.udp),
            ],
        )
    }
    pub fn get_timeouts() -> Self {
        Self::new(IpvsCmd::GetConfig, vec![])
    }
    pub fn get_info() -> Self {
        Self::new(IpvsCmd::GetInfo, vec![])
    }
    /// Zero one service's counters, or all with `None`.
    pub fn zero(key: Option<&ServiceKey>) -> Self {
        let attrs = key
            .map(|k| vec![CmdAttr::Service(service_key_attrs(k))])
            .unwrap_or_default();
        Self::new(IpvsCmd::Zero, attrs)
    }
    pub fn flush() -> Self {
        Self::new(IpvsCmd::Flush, vec![])
    }
}

// ---------------------------------------------------------------------------
// replies

fn stats_from(attrs: &[StatsAttr]) -> Stats {
    let mut s = Stats::default();
    for a in attrs {
        let (f, v) = match a {
            StatsAttr::U32(f, v) => (*f, u64::from(*v)),
            StatsAttr::U64(f, v) => (*f, *v),
            StatsAttr::Pad | StatsAttr::Other(_) => continue,
        };
        let slot = match f {
            StatsField::Conns => &mut s.conns,
            StatsField::InPkts => &mut s.inpkts,
            StatsField::OutPkts => &mut s.outpkts,
            StatsField::InBytes => &mut s.inbytes,
            StatsField::OutBytes => &mut s.outbytes,
            StatsField::Cps => &mut s.cps,
            StatsField::InPps => &mut s.inpps,
            StatsField::OutPps => &mut s.outpps,
            StatsField::InBps => &mut s.inbps,
            StatsField::OutBps => &mut s.outbps,
        };
        *slot = v;
    }
    s
}

fn missing(what: &str) -> DecodeError {
    DecodeError::from(format!("reply lacks {what}"))
}

/// Decode the attributes of a service nest.
pub fn parse_service(attrs: &[SvcAttr]) -> Result<Service, DecodeError> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let mut svc_stats = (None, None);
    let mut sched = String::new();
    let (mut flags, mut timeout, mut netmask, mut pe) = (0, 0, None, None);
    for a in attrs {
        match a {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => proto = Some(*v),
            SvcAttr::Addr(v) => addr = Some(*v),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => fwmark = Some(*v),
            SvcAttr::SchedName(s) => sched = s.clone(),
            SvcAttr::Flags { flags: f, .. } => flags = *f,
            SvcAttr::Timeout(v) => timeout = *v,
            SvcAttr::Netmask(raw) => netmask = Some(*raw),
            SvcAttr::PeName(s) if !s.is_empty() => pe = Some(s.clone()),
            SvcAttr::Stats(v) => svc_stats.0 = Some(v),
            SvcAttr::Stats64(v) => svc_stats.1 = Some(v),
            SvcAttr::PeName(_) | SvcAttr::Other(_) => {}
        }
    }
    let af = af.ok_or_else(|| missing("service address family"))?;
    let family = Family::from_raw(af)
        .ok_or_else(|| DecodeError::from(format!("unknown service address family {af}")))?;
    let key = match (fwmark, proto, addr, port) {
        (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { family, mark },
        (_, Some(p), Some(a), Some(port)) => ServiceKey::Addr {
            protocol: Protocol::from_raw(p),
            addr: addr_from_bytes(family, &a),
            port,
        },
        _ => return Err(missing("service identity")),
    };
    let stats = svc_stats
        .1
        .or(svc_stats.0)
        .map(|v| stats_from(v))
        .unwrap_or_default();
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

/// Decode the attributes of a destination nest; `svc_family` stands in for
/// a missing `ADDR_FAMILY` (kernels before 3.18).
pub fn parse_dest(attrs: &[DestAttr], svc_family: Family) -> Result<Dest, DecodeError> {
    let mut family = svc_family;
    let (mut addr, mut port) = (None, None);
    let mut d = Dest::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    let mut st = (None, None);
    for a in attrs {
        match a {
            DestAttr::Addr(v) => addr = Some(*v),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => d.fwd = FwdMethod::from_raw(*v),
            DestAttr::Weight(v) => d.weight = *v,
            DestAttr::UThresh(v) => d.u_threshold = *v,
            DestAttr::LThresh(v) => d.l_threshold = *v,
            DestAttr::ActiveConns(v) => d.active_conns = *v,
            DestAttr::InactConns(v) => d.inact_conns = *v,
            DestAttr::PersistConns(v) => d.persist_conns = *v,
            DestAttr::Stats(v) => st.0 = Some(v),
            DestAttr::Stats64(v) => st.1 = Some(v),
            DestAttr::AddrFamily(v) => {
                if let Some(f) = Family::from_raw(*v) {
                    family = f;
                }
            }
            DestAttr::TunType(v) => d.tun_type = TunType::from_raw(*v),
            DestAttr::TunPort(v) => d.tun_port = *v,
            DestAttr::TunFlags(v) => d.tun_flags = TunFlags(*v),
            DestAttr::Other(_) => {}
        }
    }
    d.addr = addr_from_bytes(family, &addr.ok_or_else(|| missing("destination address"))?);
    d.port = port.ok_or_else(|| missing("destination port"))?;
    d.stats = st.1.or(st.0).map(|v| stats_from(v)).unwrap_or_default();
    Ok(d)
}

/// Decode the attributes of a daemon nest.
pub fn parse_daemon(attrs: &[DaemonAttr]) -> Result<Daemon, DecodeError> {
    let mut state = None;
    let mut d = Daemon::new(DaemonState::Master, "", 0);
    for a in attrs {
        match a {
            DaemonAttr::State(v) => state = DaemonState::from_raw(*v),
            DaemonAttr::McastIfn(s) => d.mcast_ifn = s.clone(),
            DaemonAttr::SyncId(v) => d.syncid = *v,
            DaemonAttr::SyncMaxlen(v) => d.sync_maxlen = *v,
            DaemonAttr::McastGroup(a) => d.mcast_group = Some(IpAddr::V4(Ipv4Addr::from(*a))),
            DaemonAttr::McastGroup6(a) => d.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(*a))),
            DaemonAttr::McastPort(v) => d.mcast_port = *v,
            DaemonAttr::McastTtl(v) => d.mcast_ttl = *v,
            DaemonAttr::Other(_) => {}
        }
    }
    d.state = state.ok_or_else(|| missing("daemon state"))?;
    Ok(d)
}

/// Reply decoding, one per reply kind.
impl IpvsMessage {
    fn service_nest(&self) -> Option<&[SvcAttr]> {
        self.attrs.iter().find_map(|a| match a {
            CmdAttr::Service(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// A `NEW_SERVICE` reply (dump entry or `GET_SERVICE` doit).
    pub fn to_service(&self) -> Result<Service, DecodeError> {
        parse_service(self.service_nest().ok_or_else(|| missing("service"))?)
    }

    /// A `NEW_DEST` dump entry.
    pub fn to_dest(&self, svc_family: Family) -> Result<Dest, DecodeError> {
        let nest = self
            .attrs
            .iter()
            .find_map(|a| match a {
                CmdAttr::Dest(v) => Some(v.as_slice()),
                _ => None,
            })
            .ok_or_else(|| missing("destination"))?;
        parse_dest(nest, svc_family)
    }

    /// A `NEW_DAEMON` dump entry.
    pub fn to_daemon(&self) -> Result<Daemon, DecodeError> {
        let nest = self
            .attrs
            .iter()
            .find_map(|a| match a {
                CmdAttr::Daemon(v) => Some(v.as_slice()),
                _ => None,
            })
            .ok_or_else(|| missing("daemon"))?;
        parse_daemon(nest)
    }

    /// The `SET_CONFIG` reply to `GET_CONFIG`.
    pub fn to_timeouts(&self) -> Timeouts {
        let mut t = Timeouts::default();
        for a in &self.attrs {
            match a {
                CmdAttr::TimeoutTcp(v) => t.tcp = *v,
                CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
                CmdAttr::TimeoutUdp(v) => t.udp = *v,
                _ => {}
            }
        }
        t
    }

    /// The `SET_INFO` reply to `GET_INFO`.
    pub fn to_info(&self) -> Result<Info, DecodeError> {
        let mut info = (None, 0);
        for a in &self.attrs {
            match a {
                CmdAttr::InfoVersion(v) => info.0 = Some(*v),
                CmdAttr::InfoConnTabSize(v) => info.1 = *v,
                _ => {}
            }
        }
        Ok(Info {
            version: info.0.ok_or_else(|| missing("IPVS version"))?,
            conn_tab_size: info.1,
        })
    }
}
