//! Synchronous batching transport over one `NETLINK_GENERIC` socket. It
//! moves bytes: requests are appended to its send buffer by the caller's
//! encoder ([`super::encode`]), replies are handed back as frames borrowed
//! from its receive buffer ([`super::view`]); it knows nothing of IPVS
//! beyond the family's name.
//!
//! Invariants:
//! * one socket per `Transport`, the "IPVS" family id resolved once at open
//!   (after one `modprobe -- ip_vs` if the family is unknown, as ipvsadm does);
//! * every request gets a fresh sequence number; acks, dump entries and
//!   `NLMSG_DONE` are matched to requests by that number only, so many
//!   requests can share one `sendmsg` (the kernel processes them in order and
//!   acks each one, continuing past failures);
//! * a batch never holds more requests than the receive buffer has room for
//!   acks, so no ack is dropped; an overrun is still detected and reported;
//! * dumps run one at a time (the kernel allows one per socket); a dump
//!   marked `NLM_F_DUMP_INTR` (table changed mid-dump) is repeated.

use super::view::{frames, Frame, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN};
use crate::error::{Errno, Error, Result};
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use std::os::fd::AsRawFd;

/// Requests per `sendmsg` at most.
pub const DEFAULT_BATCH: usize = 256;
/// Bytes per `sendmsg` at most (well under the socket's send buffer).
const MAX_BATCH_BYTES: usize = 128 * 1024;
/// Times a dump interrupted by a concurrent change is repeated.
const DUMP_RETRIES: u32 = 16;
/// Bytes asked for per read: `NLMSG_GOODSIZE`, one page less the
/// `skb_shared_info` (320 bytes on x86-64), the size of every dump message
/// the kernel makes unless a reader asks for more. A larger read makes the
/// kernel allocate (and fill) every later dump message at that size, past
/// one page: measured under icount, 4096-byte reads make a 5 000-service
/// listing's kernel part 18 % dearer than 3776-byte reads. A datagram
/// larger than this (a kernel with a smaller `skb_shared_info`) is caught
/// (`MSG_TRUNC`): the buffer grows and the dump is repeated.
fn rx_len() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    (page.max(4096) as usize).min(8192) - 320
}
const SOCK_BUF: i32 = 8 * 1024 * 1024;

/// Counters of what a transport did (used by tests and benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportStats {
    pub sendmsgs: u64,
    pub requests: u64,
    pub recvs: u64,
}

/// How a request encodes itself into the send buffer: `(family, seq,
/// flags, out)`.
pub trait Encode: Fn(u16, u32, u16, &mut Vec<u8>) {}
impl<T: Fn(u16, u32, u16, &mut Vec<u8>)> Encode for T {}

/// An open IPVS generic-netlink channel.
pub struct Transport {
    sock: Socket,
    family: u16,
    next_seq: u32,
    rx: Vec<u8>,
    /// Bytes of the last datagram in `rx`.
    rx_len: usize,
    tx: Vec<u8>,
    /// Requests per `sendmsg`.
    pub batch_size: usize,
    /// Ask for an acknowledgement of every request, not only the last of
    /// each `sendmsg` (see [`Transport::execute`]).
    pub ack_all: bool,
    pub stats: TransportStats,
    /// A second socket for long dumps, with its own receive buffer (see
    /// [`Transport::dump_bulk`]); opened on first use.
    bulk: Option<(Socket, Vec<u8>)>,
}

/// Bytes per read for long dumps: the kernel's largest dump message
/// (`SKB_WITH_OVERHEAD(32768)`) fits.
const BULK_RX: usize = 32 * 1024;

fn setsockopt_int(fd: i32, opt: i32, val: i32) -> bool {
    // SAFETY: passing a pointer to a live c_int of the stated size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            &val as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        ) == 0
    }
}

fn modprobe_ipvs() -> bool {
    ["/sbin/modprobe", "/usr/sbin/modprobe"]
        .iter()
        .filter(|p| std::path::Path::new(p).exists())
        .any(|p| {
            std::process::Command::new(p)
                .args(["--", "ip_vs"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

impl Transport {
    /// Open a socket and resolve the IPVS family, loading the module once if
    /// the family is unknown.
    pub fn open() -> Result<Transport> {
        match Self::open_once() {
            Err(Error::NoFamily(_)) if modprobe_ipvs() => Self::open_once(),
            r => r,
        }
    }

    fn open_once() -> Result<Transport> {
        let sock = Self::new_socket()?;
        let mut t = Transport {
            sock,
            family: 0,
            next_seq: 1,
            rx: vec![0; rx_len()],
            rx_len: 0,
            tx: Vec::with_capacity(MAX_BATCH_BYTES),
            batch_size: DEFAULT_BATCH,
            ack_all: false,
            stats: TransportStats::default(),
            bulk: None,
        };
        t.family = t.resolve_family()?;
        Ok(t)
    }

    /// A `NETLINK_GENERIC` socket, connected to the kernel, with large
    /// buffers, capped acks and a receive timeout.
    fn new_socket() -> Result<Socket> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // Error acks carry only the header of the failed request.
        let _ = sock.set_cap_ack(true);
        let fd = sock.as_raw_fd();
        for (force, plain) in [
            (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
            (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
        ] {
            if !setsockopt_int(fd, force, SOCK_BUF) {
                setsockopt_int(fd, plain, SOCK_BUF);
            }
        }
        let tv = libc::timeval {
            tv_sec: 120,
            tv_usec: 0,
        };
        // SAFETY: pointer to a live timeval of the stated size.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        Ok(sock)
    }

    /// The dynamically assigned id of the "IPVS" family.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Bytes asked for per read (`NLMSG_GOODSIZE` unless a datagram did
    /// not fit).
    pub fn recv_size(&self) -> usize {
        self.rx.len()
    }

    /// Read `bytes` at a time from now on (tests: a buffer too small for
    /// the kernel's messages must only cost a repeated dump).
    #[doc(hidden)]
    pub fn set_recv_size(&mut self, bytes: usize) {
        self.rx.resize(bytes.max(64), 0);
    }

    fn take_seq(&mut self) -> u32 {
        let s = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        s
    }

    fn resolve_family(&mut self) -> Result<u16> {
        let mut genl = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(
                super::message::IPVS_GENL_NAME.to_string(),
            )],
        });
        genl.finalize();
        let mut nl = NetlinkMessage::from(genl);
        let seq = self.take_seq();
        nl.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        nl.header.sequence_number = seq;
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        self.sock.send(&buf, 0)?;
        self.stats.sendmsgs += 1;
        let mut family = None;
        loop {
            self.recv_raw()?;
            for frame in frames(&self.rx[..self.rx_len]) {
                let m = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(frame?.bytes)?;
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(g) => {
                        for a in g.payload.nlas {
                            if let GenlCtrlAttrs::FamilyId(id) = a {
                                family = Some(id);
                            }
                        }
                    }
                    NetlinkPayload::Error(e) => {
                        let code = -e.raw_code();
                        if code != 0 {
                            return Err(Error::NoFamily(Errno(code)));
                        }
                        return family.ok_or(Error::NoFamily(Errno(libc::ENOENT)));
                    }
                    _ => {}
                }
            }
        }
    }

    /// Read one datagram into `self.rx`. A datagram larger than the buffer
    /// is an error here; dumps and requests use [`Transport::recv_whole`].
    fn recv_raw(&mut self) -> Result<()> {
        if !self.recv_whole(0)? {
            return Err(Error::Decode(format!(
                "datagram of {} bytes truncated to {}",
                self.rx_len,
                self.rx.len()
            )));
        }
        Ok(())
    }

    /// Read one datagram into `self.rx` (`flags`: e.g. `MSG_DONTWAIT`).
    /// `false` if it was larger than the buffer: then the buffer has grown
    /// to hold it, and what was read is to be thrown away.
    fn recv_whole(&mut self, flags: i32) -> Result<bool> {
        let cap = self.rx.len();
        let mut window: &mut [u8] = &mut self.rx[..];
        let n = match self.sock.recv(&mut window, libc::MSG_TRUNC | flags) {
            Ok(n) => n,
            Err(e) => {
                return Err(match e.raw_os_error() {
                    Some(libc::EAGAIN) => Error::Timeout,
                    Some(libc::ENOBUFS) => Error::Overrun,
                    _ => Error::Io(e),
                })
            }
        };
        self.stats.recvs += 1;
        if n > cap {
            self.rx.resize(n.next_multiple_of(1024), 0);
            self.rx_len = 0;
            return Ok(false);
        }
        self.rx_len = n;
        Ok(true)
    }

    /// After a truncated datagram: read what is left of the reply to `seq`
    /// without waiting (the kernel queues each dump message while the one
    /// before is read, so an empty queue means the dump is over).
    fn drain(&mut self, seq: u32) -> Result<()> {
        loop {
            match self.recv_whole(libc::MSG_DONTWAIT) {
                Ok(true) => {
                    let done = frames(&self.rx[..self.rx_len]).any(|f| {
                        f.is_ok_and(|f| f.seq == seq && matches!(f.kind, NLMSG_DONE | NLMSG_ERROR))
                    });
                    if done {
                        return Ok(());
                    }
                }
                Ok(false) => {}
                Err(Error::Timeout) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn send_tx(&mut self, requests: usize) -> Result<()> {
        let n = self.sock.send(&self.tx, 0)?;
        if n != self.tx.len() {
            return Err(Error::Decode(format!(
                "short sendmsg: {n} of {}",
                self.tx.len()
            )));
        }
        self.stats.sendmsgs += 1;
        self.stats.requests += requests as u64;
        Ok(())
    }

    /// Send `count` requests pipelined, `batch_size` per `sendmsg`, and
    /// return each one's outcome in order; `encode(i, family, seq, flags,
    /// out)` appends request `i`. The kernel carries on past a failed
    /// request, so this is not a transaction.
    ///
    /// With [`Transport::ack_all`] off (the default) only the last request
    /// of each `sendmsg` asks for an acknowledgement: the kernel handles the
    /// messages of one `sendmsg` in order and reports every failure anyway,
    /// so when the last ack arrives every earlier failure has arrived too.
    /// That saves one read per successful request.
    pub fn execute_with(
        &mut self,
        count: usize,
        mut encode: impl FnMut(usize, u16, u32, u16, &mut Vec<u8>),
    ) -> Result<Vec<std::result::Result<(), Errno>>> {
        let mut results = vec![Ok(()); count];
        let mut i = 0;
        while i < count {
            self.tx.clear();
            let start = i;
            if self
                .next_seq
                .checked_add(self.batch_size.max(1) as u32)
                .is_none()
            {
                self.next_seq = 1;
            }
            let first_seq = self.next_seq;
            let base = if self.ack_all {
                NLM_F_REQUEST | NLM_F_ACK
            } else {
                NLM_F_REQUEST
            };
            let mut end = start;
            let mut last_at = 0;
            while end < count
                && end - start < self.batch_size.max(1)
                && (end == start || self.tx.len() < MAX_BATCH_BYTES)
            {
                last_at = self.tx.len();
                let seq = self.take_seq();
                encode(end, self.family, seq, base, &mut self.tx);
                end += 1;
            }
            // The last request of the batch always asks for an ack: nlmsghdr
            // flags are the u16 at offset 6.
            let flags = (base | NLM_F_ACK).to_ne_bytes();
            self.tx[last_at + 6..last_at + 8].copy_from_slice(&flags);
            let last_seq = first_seq + (end - start) as u32 - 1;
            self.send_tx(end - start)?;
            let mut acks_pending = if self.ack_all { end - start } else { 1 };
            while acks_pending > 0 {
                self.recv_raw()?;
                for f in frames(&self.rx[..self.rx_len]) {
                    let f = f?;
                    match f.kind {
                        NLMSG_OVERRUN => return Err(Error::Overrun),
                        NLMSG_ERROR => {}
                        _ => continue,
                    }
                    let off = f.seq.wrapping_sub(first_seq) as usize;
                    if off >= end - start {
                        continue;
                    }
                    let errno = f.errno();
                    if errno != 0 {
                        results[start + off] = Err(Errno(errno));
                    }
                    if self.ack_all || f.seq == last_seq {
                        acks_pending -= 1;
                    }
                }
            }
            i = end;
        }
        Ok(results)
    }

    /// Send one request with `flags` and hand each message it produced to
    /// `each`, until its ack or `NLMSG_DONE`.
    fn round_trip(
        &mut self,
        encode: &dyn Encode,
        flags: u16,
        each: &mut dyn FnMut(Frame<'_>) -> Result<()>,
    ) -> Result<Reply> {
        self.tx.clear();
        let seq = self.take_seq();
        encode(self.family, seq, flags, &mut self.tx);
        self.send_tx(1)?;
        let mut interrupted = false;
        loop {
            if !self.recv_whole(0)? {
                self.drain(seq)?;
                return Ok(Reply::Truncated);
            }
            for f in frames(&self.rx[..self.rx_len]) {
                let f = f?;
                if f.seq != seq {
                    if f.kind == NLMSG_OVERRUN {
                        return Err(Error::Overrun);
                    }
                    continue;
                }
                match f.kind {
                    NLMSG_DONE | NLMSG_ERROR => {
                        return Ok(Reply::Done {
                            errno: f.errno(),
                            interrupted,
                        })
                    }
                    NLMSG_OVERRUN => return Err(Error::Overrun),
                    _ => {
                        interrupted |= f.flags & NLM_F_DUMP_INTR != 0;
                        each(f)?;
                    }
                }
            }
        }
    }

    /// One acknowledged request (a doit); `each` sees the replies it
    /// produced, borrowed from the receive buffer.
    pub fn request(
        &mut self,
        encode: &dyn Encode,
        each: &mut dyn FnMut(Frame<'_>) -> Result<()>,
    ) -> Result<()> {
        for _ in 0..2 {
            match self.round_trip(encode, NLM_F_REQUEST | NLM_F_ACK, each)? {
                Reply::Done { errno: 0, .. } => return Ok(()),
                Reply::Done { errno, .. } => return Err(Error::Kernel(Errno(errno))),
                // Only replies to GET requests carry data, and those change
                // nothing: ask again with the grown buffer.
                Reply::Truncated => continue,
            }
        }
        Err(Error::Decode("reply larger than the receive buffer".into()))
    }

    /// One dump; `each` sees every entry, borrowed from the receive buffer.
    ///
    /// A netlink socket runs one dump at a time: the kernel refuses a second
    /// dump request with `EBUSY` until the first has sent `NLMSG_DONE`, and
    /// it only produces `NLMSG_DONE` when we read. So dumps are not
    /// pipelined; each costs one `sendmsg` and (for small dumps) two reads.
    /// A dump interrupted by a concurrent change (`NLM_F_DUMP_INTR`),
    /// refused with `EBUSY` or read into a buffer too small is repeated, up
    /// to a limit: `restart` is called first, so that the caller drops what
    /// it collected.
    pub fn dump(
        &mut self,
        encode: &dyn Encode,
        each: &mut dyn FnMut(Frame<'_>) -> Result<()>,
        restart: &mut dyn FnMut(),
    ) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (errno, again) = match self.round_trip(encode, NLM_F_REQUEST | NLM_F_DUMP, each)? {
                Reply::Done { errno, interrupted } => {
                    (errno, errno == libc::EBUSY || (errno == 0 && interrupted))
                }
                Reply::Truncated => (0, true),
            };
            if !again || attempt > DUMP_RETRIES {
                return match (errno, again) {
                    (0, false) => Ok(()),
                    (0, true) => Err(Error::Decode(
                        "dump interrupted or truncated too many times".into(),
                    )),
                    (e, _) => Err(Error::Kernel(Errno(e))),
                };
            }
            restart();
        }
    }

    /// [`Transport::dump`] on a second socket read 32 KiB at a time, for
    /// dumps of many entries (the services dump). The kernel sizes each dump
    /// message to the largest read its socket has seen: large reads pack a
    /// long dump into few messages (a 5 000-service dump costs the kernel
    /// 0.021 s instead of 0.031 s under icount), but make every short dump
    /// dearer (each real-server dump would then allocate 32 KiB), so the
    /// two kinds of dump use two sockets.
    pub fn dump_bulk(
        &mut self,
        encode: &dyn Encode,
        each: &mut dyn FnMut(Frame<'_>) -> Result<()>,
        restart: &mut dyn FnMut(),
    ) -> Result<()> {
        let (sock, rx) = match self.bulk.take() {
            Some(b) => b,
            None => (Self::new_socket()?, vec![0; BULK_RX]),
        };
        // The same dump, over the bulk socket and its buffer.
        let small_sock = std::mem::replace(&mut self.sock, sock);
        let small_rx = std::mem::replace(&mut self.rx, rx);
        let r = self.dump(encode, each, restart);
        let sock = std::mem::replace(&mut self.sock, small_sock);
        let rx = std::mem::replace(&mut self.rx, small_rx);
        self.bulk = Some((sock, rx));
        r
    }
}

/// How a round trip ended.
enum Reply {
    /// Its ack or `NLMSG_DONE`: the errno, and whether a dump entry was
    /// marked `NLM_F_DUMP_INTR`.
    Done { errno: i32, interrupted: bool },
    /// A datagram did not fit the buffer (which has grown since): the
    /// reply is incomplete.
    Truncated,
}
