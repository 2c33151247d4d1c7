//! `Ipvs`: the library's front door. Typed operations on the kernel's IPVS
//! tables of the calling thread's network namespace, over one transport.
//!
//! Single operations return `Err(Error::Kernel(errno))` when the kernel
//! refuses them; [`Ipvs::apply`] sends many operations pipelined and reports
//! each one's outcome.

use crate::error::{Errno, Error, Result};
use crate::model::*;
use crate::netlink::attr;
use crate::netlink::codec::{dest_array, service_key_array};
use crate::netlink::transport::{emit_nested, encode_request, encode_with};
use crate::netlink::{IpvsCmd, IpvsMessage, Transport};
use netlink_packet_core::NLA_F_NESTED;
use std::net::IpAddr;

impl Op {
    /// The request that carries this operation.
    pub fn to_message(&self) -> IpvsMessage {
        match self {
            Op::AddService(s) => IpvsMessage::new_service(s),
            Op::EditService(s) => IpvsMessage::set_service(s),
            Op::DelService(k) => IpvsMessage::del_service(k),
            Op::AddDest(k, d) => IpvsMessage::new_dest(k, d),
            Op::EditDest(k, d) => IpvsMessage::set_dest(k, d),
            Op::DelDest(k, a, p) => IpvsMessage::del_dest(k, a, *p),
            Op::Zero(k) => IpvsMessage::zero(k.as_ref()),
            Op::Flush => IpvsMessage::flush(),
            Op::SetTimeouts(t) => IpvsMessage::set_timeouts(t),
            Op::StartDaemon(d) => IpvsMessage::new_daemon(d),
            Op::StopDaemon(s, id) => IpvsMessage::del_daemon(*s, *id),
        }
    }
}

impl Op {
    /// Append this operation's request to `out`: the bytes of
    /// `encode_request(family, &self.to_message(), …)`, but the real-server
    /// changes (most of a large restore) are encoded from stack arrays,
    /// without building a message.
    pub fn encode(&self, family: u16, seq: u32, flags: u16, out: &mut Vec<u8>) {
        let (cmd, key, dest) = match self {
            Op::AddDest(k, d) => (IpvsCmd::NewDest, k, d),
            Op::EditDest(k, d) => (IpvsCmd::SetDest, k, d),
            other => return encode_request(family, &other.to_message(), seq, flags, out),
        };
        encode_with(family, cmd, seq, flags, out, |out| {
            let (svc, n) = service_key_array(key);
            emit_nested(out, attr::cmd::SERVICE | NLA_F_NESTED, &svc[..n]);
            emit_nested(out, attr::cmd::DEST | NLA_F_NESTED, &dest_array(dest));
        });
    }
}

/// A connection to IPVS.
pub struct Ipvs {
    transport: Transport,
}

impl Ipvs {
    /// Open the netlink socket and resolve the IPVS family.
    pub fn connect() -> Result<Ipvs> {
        Ok(Ipvs {
            transport: Transport::open()?,
        })
    }

    pub fn transport(&mut self) -> &mut Transport {
        &mut self.transport
    }

    fn run(&mut self, op: Op) -> Result<()> {
        self.transport.request(&op.to_message()).map(|_| ())
    }

    /// Send many operations pipelined (`batch_size` per `sendmsg`); each
    /// one's outcome, in order. Not atomic: the kernel carries on past
    /// failures.
    pub fn apply(&mut self, ops: &[Op]) -> Result<Vec<std::result::Result<(), Errno>>> {
        self.transport
            .execute_with(ops.len(), |i, family, seq, flags, out| {
                ops[i].encode(family, seq, flags, out)
            })
    }

    pub fn info(&mut self) -> Result<Info> {
        let replies = self.transport.request(&IpvsMessage::get_info())?;
        let first = replies
            .first()
            .ok_or_else(|| Error::Decode("no reply to GET_INFO".into()))?;
        Ok(first.to_info()?)
    }

    /// How many virtual services this namespace holds, from the kernel's
    /// own counter: one `getsockopt(IP_VS_SO_GET_INFO)`, the only request
    /// not sent over netlink (the netlink GET_INFO reply has no count), and
    /// far cheaper than a services dump.
    pub fn service_count(&mut self) -> Result<u32> {
        /// `IP_VS_BASE_CTL + 1` (linux/ip_vs.h).
        const IP_VS_SO_GET_INFO: libc::c_int = 64 + 1024 + 64 + 1;
        // struct ip_vs_getinfo { version, size, num_services }
        let mut info = [0u32; 3];
        let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
        // SAFETY: plain socket calls on a descriptor owned here; `info` is
        // writable for `len` bytes.
        let rc = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if fd < 0 {
                return Err(Error::Io(std::io::Error::last_os_error()));
            }
            let rc = libc::getsockopt(
                fd,
                libc::IPPROTO_IP,
                IP_VS_SO_GET_INFO,
                info.as_mut_ptr().cast(),
                &mut len,
            );
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            if rc < 0 {
                Err(err)
            } else {
                Ok(())
            }
        };
        rc.map_err(|e| Error::Kernel(Errno(e.raw_os_error().unwrap_or(libc::EINVAL))))?;
        Ok(info[2])
    }

    /// Every virtual service, in the kernel's dump order.
    ///
    /// A service the kernel reports twice is kept once: the kernel resumes a
    /// services dump by a position counted over every namespace's services,
    /// so a service added meanwhile in another namespace can push one of
    /// ours past that position and have it sent again (Linux 6.1).
    pub fn services(&mut self) -> Result<Vec<Service>> {
        let replies = self.transport.dump(&IpvsMessage::get_service(None))?;
        let mut seen = std::collections::HashSet::with_capacity(replies.len());
        let mut out = Vec::with_capacity(replies.len());
        for m in &replies {
            let svc = m.to_service()?;
            if seen.insert(svc.key) {
                out.push(svc);
            }
        }
        Ok(out)
    }

    /// One virtual service (`Err(Kernel(ESRCH))` if absent).
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service> {
        let replies = self
            .transport
            .request(&IpvsMessage::get_service(Some(key)))?;
        let first = replies
            .first()
            .ok_or_else(|| Error::Decode("no reply to GET_SERVICE".into()))?;
        Ok(first.to_service()?)
    }

    /// The real servers of one service (empty if the service is absent).
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>> {
        let mut all = self.dests_of(std::slice::from_ref(key))?;
        Ok(all.pop().unwrap_or_default())
    }

    /// The real servers of many services, one dump each over the one socket.
    pub fn dests_of(&mut self, keys: &[ServiceKey]) -> Result<Vec<Vec<Dest>>> {
        let msgs: Vec<IpvsMessage> = keys.iter().map(IpvsMessage::get_dests).collect();
        let replies = self.transport.dump_many(&msgs)?;
        keys.iter()
            .zip(replies)
            .map(|(k, r)| {
                r.map_err(Error::Kernel)?
                    .iter()
                    .map(|m| m.to_dest(k.family()).map_err(Error::from))
                    .collect()
            })
            .collect()
    }

    /// Every service with its real servers.
    pub fn table(&mut self) -> Result<Vec<(Service, Vec<Dest>)>> {
        let services = self.services()?;
        let keys: Vec<ServiceKey> = services.iter().map(|s| s.key).collect();
        let dests = self.dests_of(&keys)?;
        Ok(services.into_iter().zip(dests).collect())
    }

    pub fn add_service(&mut self, svc: &Service) -> Result<()> {
        self.run(Op::AddService(svc.clone()))
    }
    pub fn edit_service(&mut self, svc: &Service) -> Result<()> {
        self.run(Op::EditService(svc.clone()))
    }
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<()> {
        self.run(Op::DelService(*key))
    }
    pub fn add_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<()> {
        self.run(Op::AddDest(*key, d.clone()))
    }
    pub fn edit_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<()> {
        self.run(Op::EditDest(*key, d.clone()))
    }
    pub fn del_dest(&mut self, key: &ServiceKey, addr: &IpAddr, port: u16) -> Result<()> {
        self.run(Op::DelDest(*key, *addr, port))
    }
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<()> {
        self.run(Op::Zero(key.copied()))
    }
    pub fn flush(&mut self) -> Result<()> {
        self.run(Op::Flush)
    }

    pub fn timeouts(&mut self) -> Result<Timeouts> {
        let replies = self.transport.request(&IpvsMessage::get_timeouts())?;
        let first = replies
            .first()
            .ok_or_else(|| Error::Decode("no reply to GET_CONFIG".into()))?;
        Ok(first.to_timeouts())
    }
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<()> {
        self.run(Op::SetTimeouts(*t))
    }

    /// Running sync daemons (master first, as the kernel reports them).
    pub fn daemons(&mut self) -> Result<Vec<Daemon>> {
        self.transport
            .dump(&IpvsMessage::get_daemons())?
            .iter()
            .map(|m| m.to_daemon().map_err(Error::from))
            .collect()
    }
    pub fn start_daemon(&mut self, d: &Daemon) -> Result<()> {
        self.run(Op::StartDaemon(d.clone()))
    }
    pub fn stop_daemon(&mut self, state: DaemonState, syncid: u32) -> Result<()> {
        self.run(Op::StopDaemon(state, syncid))
    }
}
