//! `Ipvs`: the library's front door. Typed operations on the kernel's IPVS
//! tables of the calling thread's network namespace, over one transport.
//!
//! Single operations return `Err(Error::Kernel(errno))` when the kernel
//! refuses them; [`Ipvs::apply`] sends many operations pipelined and reports
//! each one's outcome.

use crate::error::{Errno, Error, Result};
use crate::model::*;
use crate::netlink::attr::cmd;
use crate::netlink::codec::{
    decode_daemon, decode_dest_shaped, decode_info, decode_service, decode_timeouts, nest_of,
    DestShape,
};
use crate::netlink::encode::{encode, Request};
use crate::netlink::view::Frame;
use crate::netlink::Transport;
use std::net::IpAddr;

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
        self.transport.request(
            &|family, seq, flags, buf: &mut Vec<u8>| {
                encode(family, seq, flags, &Request::Op(&op), buf)
            },
            &mut |_| Ok(()),
        )
    }

    /// Send many operations pipelined (`batch_size` per `sendmsg`); each
    /// one's outcome, in order. Not atomic: the kernel carries on past
    /// failures.
    pub fn apply(&mut self, ops: &[Op]) -> Result<Vec<std::result::Result<(), Errno>>> {
        self.transport
            .execute_with(ops.len(), |i, family, seq, flags, out| {
                encode(family, seq, flags, &Request::Op(&ops[i]), out)
            })
    }

    /// One doit request; its first reply's attributes, decoded by `decode`.
    fn request_one<T>(
        &mut self,
        req: Request<'_>,
        what: &str,
        decode: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<T> {
        let mut out = None;
        self.transport.request(
            &|family, seq, flags, buf: &mut Vec<u8>| encode(family, seq, flags, &req, buf),
            &mut |f: Frame<'_>| {
                if out.is_none() {
                    out = Some(decode(f.genl()?.attrs)?);
                }
                Ok(())
            },
        )?;
        out.ok_or_else(|| Error::Decode(format!("no reply to {what}")))
    }

    /// One dump; each entry's attributes decoded by `decode`. `bulk`: a
    /// dump of many entries, read in large pieces
    /// ([`Transport::dump_bulk`]).
    fn dump_all<T>(
        &mut self,
        req: Request<'_>,
        bulk: bool,
        decode: impl Fn(&[u8]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.dump_into(req, bulk, decode, &mut out)?;
        Ok(out)
    }

    /// [`Ipvs::dump_all`] into `out` (emptied first), which keeps its
    /// room from one dump to the next.
    fn dump_into<T>(
        &mut self,
        req: Request<'_>,
        bulk: bool,
        mut decode: impl FnMut(&[u8]) -> Result<T>,
        out: &mut Vec<T>,
    ) -> Result<()> {
        out.clear();
        let out_ref = std::cell::RefCell::new(out);
        let encode_req =
            &|family, seq, flags, buf: &mut Vec<u8>| encode(family, seq, flags, &req, buf);
        let each = &mut |f: Frame<'_>| {
            let v = decode(f.genl()?.attrs)?;
            out_ref.borrow_mut().push(v);
            Ok(())
        };
        let restart = &mut || out_ref.borrow_mut().clear();
        if bulk {
            self.transport.dump_bulk(encode_req, each, restart)
        } else {
            self.transport.dump(encode_req, each, restart)
        }
    }

    pub fn info(&mut self) -> Result<Info> {
        self.request_one(Request::GetInfo, "GET_INFO", decode_info)
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

    /// Every virtual service, in the kernel's dump order, with counters.
    pub fn services(&mut self) -> Result<Vec<Service>> {
        self.services_with(true)
    }

    /// Every virtual service; the counters only with `stats` (the rest of
    /// the attributes are decoded either way).
    ///
    /// A service the kernel reports twice is kept once: the kernel resumes a
    /// services dump by a position counted over every namespace's services,
    /// so a service added meanwhile in another namespace can push one of
    /// ours past that position and have it sent again (Linux 6.1).
    pub fn services_with(&mut self, stats: bool) -> Result<Vec<Service>> {
        let mut all = self.dump_all(Request::GetService(None), true, |attrs| {
            decode_service(nest_of(attrs, cmd::SERVICE, "service")?, stats)
        })?;
        let mut seen = FastSet::with_capacity_and_hasher(all.len(), Default::default());
        all.retain(|s| seen.insert(s.key));
        Ok(all)
    }

    /// One virtual service (`Err(Kernel(ESRCH))` if absent).
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service> {
        self.request_one(Request::GetService(Some(key)), "GET_SERVICE", |attrs| {
            decode_service(nest_of(attrs, cmd::SERVICE, "service")?, true)
        })
    }

    /// The real servers of one service (empty if the service is absent).
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>> {
        self.dests_with(key, true)
    }

    /// The real servers of one service; counters only with `stats`.
    pub fn dests_with(&mut self, key: &ServiceKey, stats: bool) -> Result<Vec<Dest>> {
        let mut out = Vec::new();
        self.dests_into(key, stats, &mut DestShape::default(), &mut out)?;
        Ok(out)
    }

    /// [`Ipvs::dests_with`] into `out` (emptied first); `shape` is the
    /// layout of the real servers of the last dump (see [`DestShape`]).
    fn dests_into(
        &mut self,
        key: &ServiceKey,
        stats: bool,
        shape: &mut DestShape,
        out: &mut Vec<Dest>,
    ) -> Result<()> {
        let family = key.family();
        self.dump_into(
            Request::GetDests(key),
            false,
            |attrs| {
                let nest = nest_of(attrs, cmd::DEST, "destination")?;
                decode_dest_shaped(shape, nest, family, stats)
            },
            out,
        )
    }

    /// The real servers of many services, one dump each over the one socket.
    pub fn dests_of(&mut self, keys: &[ServiceKey]) -> Result<Vec<Vec<Dest>>> {
        keys.iter().map(|k| self.dests_with(k, true)).collect()
    }

    /// Every service with its real servers, with counters.
    pub fn table(&mut self) -> Result<Vec<(Service, Vec<Dest>)>> {
        self.table_with(true)
    }

    /// Every service with its real servers; counters only with `stats`.
    pub fn table_with(&mut self, stats: bool) -> Result<Vec<(Service, Vec<Dest>)>> {
        let mut out = Vec::new();
        // Each service's real servers copied out of the reused buffer into
        // a vector of their exact size (one allocation per service).
        self.table_each(stats, |s, ds| out.push((s, ds.to_vec())))?;
        Ok(out)
    }

    /// Every service with its real servers, handed to `each` one service
    /// at a time as it is read, so that a caller that keeps only part of
    /// each (a scrape) never holds the table. The real servers come in one
    /// buffer reused for every service's dump.
    pub fn table_each(
        &mut self,
        stats: bool,
        mut each: impl FnMut(Service, &[Dest]),
    ) -> Result<()> {
        let services = self.services_with(stats)?;
        let (mut scratch, mut shape) = (Vec::new(), DestShape::default());
        for s in services {
            self.dests_into(&s.key, stats, &mut shape, &mut scratch)?;
            each(s, &scratch);
        }
        Ok(())
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
        self.request_one(Request::GetTimeouts, "GET_CONFIG", decode_timeouts)
    }
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<()> {
        self.run(Op::SetTimeouts(*t))
    }

    /// Running sync daemons (master first, as the kernel reports them).
    pub fn daemons(&mut self) -> Result<Vec<Daemon>> {
        self.dump_all(Request::GetDaemons, false, |attrs| {
            decode_daemon(nest_of(attrs, cmd::DAEMON, "daemon")?)
        })
    }
    pub fn start_daemon(&mut self, d: &Daemon) -> Result<()> {
        self.run(Op::StartDaemon(d.clone()))
    }
    pub fn stop_daemon(&mut self, state: DaemonState, syncid: u32) -> Result<()> {
        self.run(Op::StopDaemon(state, syncid))
    }
}
