//! The one request encoder: every IPVS request, from model values straight
//! into the send buffer, in one pass (headers written in place, nests
//! patched with their length afterwards). Attributes are the typed values
//! of [`super::attr`], built in stack arrays; no message is built first.
//!
//! What each request carries (and nothing the kernel ignores):
//! * full service (`NEW_SERVICE`, `SET_SERVICE`): AF, identity, SCHED_NAME,
//!   PE_NAME (only if set), FLAGS with mask `!0` (a full replace, as ipvsadm
//!   does), TIMEOUT, NETMASK;
//! * service identity (every other command): AF + FWMARK, or AF + PROTOCOL +
//!   ADDR + PORT;
//! * full destination: ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT, TUN_TYPE,
//!   TUN_PORT, TUN_FLAGS, U_THRESH, L_THRESH (ipvsadm's order);
//! * destination identity (`DEL_DEST`): ADDR_FAMILY, ADDR, PORT.

use super::attr::{cmd, svc, CmdAttr, DaemonAttr, DestAttr, SvcAttr};
use super::codec::{addr_bytes, dest_array, netmask_raw, service_key_array};
use super::message::{IpvsCmd, IPVS_GENL_VERSION};
use super::view::{GENL_HDRLEN, NLMSG_HDRLEN};
use crate::model::{Daemon, Family, Op, ServiceKey};
use netlink_packet_core::{Emitable, Nla, NLA_F_NESTED, NLA_HEADER_SIZE};
use netlink_packet_generic::GenlHeader;
use std::net::IpAddr;

/// One request to the IPVS family.
#[derive(Clone, Copy, Debug)]
pub enum Request<'a> {
    /// A change to the tables.
    Op(&'a Op),
    /// One service (doit), or with `None` the services dump.
    GetService(Option<&'a ServiceKey>),
    /// The real servers of a service (dump).
    GetDests(&'a ServiceKey),
    /// The sync daemons (dump).
    GetDaemons,
    /// The timeouts (`GET_CONFIG`).
    GetTimeouts,
    /// Version and connection table size.
    GetInfo,
}

impl Request<'_> {
    /// The command this request is sent as.
    pub fn cmd(&self) -> IpvsCmd {
        match self {
            Request::Op(op) => match op {
                Op::AddService(_) => IpvsCmd::NewService,
                Op::EditService(_) => IpvsCmd::SetService,
                Op::DelService(_) => IpvsCmd::DelService,
                Op::AddDest(..) => IpvsCmd::NewDest,
                Op::EditDest(..) => IpvsCmd::SetDest,
                Op::DelDest(..) => IpvsCmd::DelDest,
                Op::Zero(_) => IpvsCmd::Zero,
                Op::Flush => IpvsCmd::Flush,
                Op::SetTimeouts(_) => IpvsCmd::SetConfig,
                Op::StartDaemon(_) => IpvsCmd::NewDaemon,
                Op::StopDaemon(..) => IpvsCmd::DelDaemon,
            },
            Request::GetService(_) => IpvsCmd::GetService,
            Request::GetDests(_) => IpvsCmd::GetDest,
            Request::GetDaemons => IpvsCmd::GetDaemon,
            Request::GetTimeouts => IpvsCmd::GetConfig,
            Request::GetInfo => IpvsCmd::GetInfo,
        }
    }
}

/// Append `req` as one netlink message (`family`, `seq`, `flags`) to `out`.
pub fn encode(family: u16, seq: u32, flags: u16, req: &Request<'_>, out: &mut Vec<u8>) {
    encode_with(family, req.cmd(), seq, flags, out, |out| match *req {
        Request::Op(op) => op_attrs(op, out),
        Request::GetService(key) => {
            if let Some(k) = key {
                service_key(out, k);
            }
        }
        Request::GetDests(k) => service_key(out, k),
        Request::GetDaemons | Request::GetTimeouts | Request::GetInfo => {}
    });
}

fn op_attrs(op: &Op, out: &mut Vec<u8>) {
    match op {
        Op::AddService(svc) | Op::EditService(svc) => {
            let (key, n) = service_key_array(&svc.key);
            let at = begin_nest(out);
            for a in &key[..n] {
                emit_one(out, a);
            }
            emit_one(out, &SvcAttr::SchedName(svc.scheduler.clone()));
            if let Some(pe) = &svc.pe_name {
                emit_one(out, &SvcAttr::PeName(pe.clone()));
            }
            emit_one(
                out,
                &SvcAttr::Flags {
                    flags: svc.flags.0,
                    mask: !0,
                },
            );
            emit_one(out, &SvcAttr::Timeout(svc.timeout));
            emit_one(
                out,
                &SvcAttr::Netmask(netmask_raw(svc.key.family(), svc.netmask)),
            );
            end_nest(out, at, cmd::SERVICE);
        }
        Op::DelService(k) | Op::Zero(Some(k)) => service_key(out, k),
        Op::AddDest(k, d) | Op::EditDest(k, d) => {
            service_key(out, k);
            emit_nested(out, cmd::DEST | NLA_F_NESTED, &dest_array(d));
        }
        Op::DelDest(k, addr, port) => {
            service_key(out, k);
            emit_nested(out, cmd::DEST | NLA_F_NESTED, &dest_key(addr, *port));
        }
        Op::Zero(None) | Op::Flush => {}
        Op::SetTimeouts(t) => {
            emit_one(out, &CmdAttr::TimeoutTcp(t.tcp));
            emit_one(out, &CmdAttr::TimeoutTcpFin(t.tcp_fin));
            emit_one(out, &CmdAttr::TimeoutUdp(t.udp));
        }
        Op::StartDaemon(d) => daemon(out, d),
        Op::StopDaemon(state, syncid) => {
            emit_nested(
                out,
                cmd::DAEMON | NLA_F_NESTED,
                &[
                    DaemonAttr::State(state.to_raw()),
                    DaemonAttr::McastIfn(String::new()),
                    DaemonAttr::SyncId(*syncid),
                ],
            );
        }
    }
}

/// The `SERVICE` nest with AF and the service's identity, written straight
/// from the key (every dump of a listing carries one): the bytes the typed
/// attributes of [`service_key_array`] make, without building them
/// (`tests/codec.rs` holds both to the same bytes).
fn service_key(out: &mut Vec<u8>, key: &ServiceKey) {
    let at = begin_nest(out);
    let u16_attr = |out: &mut Vec<u8>, kind: u16, v: [u8; 2]| {
        out.extend_from_slice(&6u16.to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&[v[0], v[1], 0, 0]);
    };
    u16_attr(out, svc::AF, key.family().to_raw().to_ne_bytes());
    match key {
        ServiceKey::Fwmark { mark, .. } => {
            out.extend_from_slice(&8u16.to_ne_bytes());
            out.extend_from_slice(&svc::FWMARK.to_ne_bytes());
            out.extend_from_slice(&mark.to_ne_bytes());
        }
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            u16_attr(out, svc::PROTOCOL, protocol.to_raw().to_ne_bytes());
            out.extend_from_slice(&20u16.to_ne_bytes());
            out.extend_from_slice(&svc::ADDR.to_ne_bytes());
            out.extend_from_slice(&addr_bytes(addr));
            u16_attr(out, svc::PORT, port.to_be_bytes());
        }
    }
    end_nest(out, at, cmd::SERVICE);
}

/// Identity of a real server within its service.
fn dest_key(addr: &IpAddr, port: u16) -> [DestAttr; 3] {
    [
        DestAttr::AddrFamily(Family::of(addr).to_raw()),
        DestAttr::Addr(addr_bytes(addr)),
        DestAttr::Port(port),
    ]
}

fn daemon(out: &mut Vec<u8>, d: &Daemon) {
    let at = begin_nest(out);
    emit_one(out, &DaemonAttr::State(d.state.to_raw()));
    emit_one(out, &DaemonAttr::McastIfn(d.mcast_ifn.clone()));
    emit_one(out, &DaemonAttr::SyncId(d.syncid));
    if d.sync_maxlen != 0 {
        emit_one(out, &DaemonAttr::SyncMaxlen(d.sync_maxlen));
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => emit_one(out, &DaemonAttr::McastGroup(a.octets())),
        Some(IpAddr::V6(a)) => emit_one(out, &DaemonAttr::McastGroup6(a.octets())),
        None => {}
    }
    if d.mcast_port != 0 {
        emit_one(out, &DaemonAttr::McastPort(d.mcast_port));
    }
    if d.mcast_ttl != 0 {
        emit_one(out, &DaemonAttr::McastTtl(d.mcast_ttl));
    }
    end_nest(out, at, cmd::DAEMON);
}

/// Append one request whose attributes `body` appends; the netlink and
/// generic-netlink headers are written around them.
fn encode_with(
    family: u16,
    cmd: IpvsCmd,
    seq: u32,
    flags: u16,
    out: &mut Vec<u8>,
    body: impl FnOnce(&mut Vec<u8>),
) {
    let start = out.len();
    out.resize(start + NLMSG_HDRLEN + GENL_HDRLEN, 0);
    GenlHeader {
        cmd: cmd.to_raw(),
        version: IPVS_GENL_VERSION,
    }
    .emit(&mut out[start + NLMSG_HDRLEN..start + NLMSG_HDRLEN + GENL_HDRLEN]);
    body(out);
    // struct nlmsghdr: length, type, flags, seq, pid (0: the kernel).
    let len = (out.len() - start) as u32;
    let h = &mut out[start..start + NLMSG_HDRLEN];
    h[..4].copy_from_slice(&len.to_ne_bytes());
    h[4..6].copy_from_slice(&family.to_ne_bytes());
    h[6..8].copy_from_slice(&flags.to_ne_bytes());
    h[8..12].copy_from_slice(&seq.to_ne_bytes());
    h[12..16].copy_from_slice(&0u32.to_ne_bytes());
}

/// Append one attribute.
fn emit_one<T: Nla>(out: &mut Vec<u8>, attr: &T) {
    let at = out.len();
    out.resize(at + attr.buffer_len(), 0);
    attr.emit(&mut out[at..]);
}

/// Start a nested attribute: its header is patched by [`end_nest`].
fn begin_nest(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.resize(at + NLA_HEADER_SIZE, 0);
    at
}

/// Finish the nest begun at `at`, of `kind` (`NLA_F_NESTED` added).
fn end_nest(out: &mut [u8], at: usize, kind: u16) {
    let len = (out.len() - at) as u16;
    out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    out[at + 2..at + 4].copy_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
}

/// Append a nested attribute of `kind` holding `children`.
fn emit_nested<T: Nla>(out: &mut Vec<u8>, kind: u16, children: &[T]) {
    let at = begin_nest(out);
    for c in children {
        emit_one(out, c);
    }
    end_nest(out, at, kind);
}
