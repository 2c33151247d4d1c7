//! Address and port naming, as ipvsadm 1.31 does it (`addrport_to_anyname`,
//! `addr_to_anyname`, `port_to_anyname`, `service_to_port`,
//! `host_to_addr`).
//!
//! Numeric forms never touch the system; the others use the C library's
//! resolver through `libc` (`getnameinfo`, `getservbyport`, `getservbyname`,
//! `getaddrinfo`). Every `unsafe` block is small and states why it is sound.

use crate::model::Protocol;
use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;

/// ipvsadm formats names into a 60-byte buffer with `snprintf`, so at most
/// 59 bytes survive.
pub const ADDRPORT_MAX: usize = 59;

/// `getservbyport`/`getservbyname` return pointers into one static buffer of
/// the C library; this lock serialises their use inside this process.
static SERVDB: Mutex<()> = Mutex::new(());

/// How addresses and ports become names in listings. The listing functions
/// take one of these so that tests can stand in for the system's databases.
pub trait Names {
    /// `addrport_to_anyname`: `a.b.c.d:port` / `[v6]:port`, or names.
    fn addrport(&self, addr: &IpAddr, port: u16, proto: Protocol, numeric: bool) -> String;

    /// [`Names::addrport`], appended to `out` (listings of many thousand
    /// entries write each address this way, without a `String` of its own).
    fn push_addrport(
        &self,
        out: &mut String,
        addr: &IpAddr,
        port: u16,
        proto: Protocol,
        numeric: bool,
    ) {
        out.push_str(&self.addrport(addr, port, proto, numeric));
    }
}

/// The system's resolver (`/etc/hosts`, DNS, `/etc/services`, …).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemNames;

impl Names for SystemNames {
    fn addrport(&self, addr: &IpAddr, port: u16, proto: Protocol, numeric: bool) -> String {
        addrport_to_anyname(addr, port, proto, numeric)
    }

    fn push_addrport(
        &self,
        out: &mut String,
        addr: &IpAddr,
        port: u16,
        proto: Protocol,
        numeric: bool,
    ) {
        match (numeric, addr) {
            (true, IpAddr::V4(a)) => push_ipv4_port(out, a, port),
            _ => out.push_str(&addrport_to_anyname(addr, port, proto, numeric)),
        }
    }
}

/// `a.b.c.d:port`, appended (at most 21 bytes: never cut).
pub fn push_ipv4_port(out: &mut String, a: &Ipv4Addr, port: u16) {
    let [b0, b1, b2, b3] = a.octets();
    push_decimal(out, u64::from(b0));
    out.push('.');
    push_decimal(out, u64::from(b1));
    out.push('.');
    push_decimal(out, u64::from(b2));
    out.push('.');
    push_decimal(out, u64::from(b3));
    out.push(':');
    push_decimal(out, u64::from(port));
}

/// "00".."99": two digits per division (listings are mostly numbers).
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Append the decimal digits of `v`.
pub fn push_decimal(out: &mut String, mut v: u64) {
    // Listings are mostly numbers below 1000 (octets, weights, counts).
    if v < 10 {
        out.push(char::from(b'0' + v as u8));
        return;
    }
    if v < 100 {
        let d = v as usize * 2;
        out.push(char::from(DIGIT_PAIRS[d]));
        out.push(char::from(DIGIT_PAIRS[d + 1]));
        return;
    }
    if v < 1000 {
        let d = (v % 100) as usize * 2;
        out.push(char::from(b'0' + (v / 100) as u8));
        out.push(char::from(DIGIT_PAIRS[d]));
        out.push(char::from(DIGIT_PAIRS[d + 1]));
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i] = DIGIT_PAIRS[d];
        buf[i + 1] = DIGIT_PAIRS[d + 1];
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        buf[i] = DIGIT_PAIRS[d];
        buf[i + 1] = DIGIT_PAIRS[d + 1];
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    // SAFETY: `buf[i..]` holds ASCII digits only, which are valid UTF-8.
    out.push_str(unsafe { std::str::from_utf8_unchecked(&buf[i..]) });
}

/// Cuts `s` to at most `max` bytes (at a character boundary), as C code
/// does when it writes a NUL into a buffer.
pub fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// `inet_ntop` as glibc writes it. Unlike Rust's `Display` for
/// [`Ipv6Addr`], glibc prints IPv4-compatible addresses (`::a.b.c.d`) in
/// dotted form too.
pub fn inet_ntop(addr: &IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => inet_ntop6(a),
    }
}

fn inet_ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    // Longest run of zero words (first one wins a tie); runs of one word
    // are not compressed.
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let start = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            let len = i - start;
            if best_base.is_none() || len > best_len {
                best_base = Some(start);
                best_len = len;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    let mut out = String::with_capacity(40);
    let mut i = 0;
    while i < 8 {
        if let Some(b) = best_base {
            if i >= b && i < b + best_len {
                if i == b {
                    out.push(':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && best_base == Some(0) && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            out.push_str(&Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
            return out;
        }
        out.push_str(&format!("{:x}", w[i]));
        i += 1;
    }
    if let Some(b) = best_base {
        if b + best_len == 8 {
            out.push(':');
        }
    }
    out
}

/// The protocol name `getservbyport`/`getservbyname` want, if any.
fn proto_db_name(proto: Protocol) -> Option<&'static CStr> {
    match proto {
        Protocol::Tcp => Some(c"tcp"),
        Protocol::Udp => Some(c"udp"),
        Protocol::Sctp => Some(c"sctp"),
        Protocol::Other(_) => None,
    }
}

/// Reverse lookup of an address (`gethostbyaddr` in ipvsadm; here
/// `getnameinfo` with `NI_NAMEREQD`). `None` when there is no name.
pub fn addr_to_host(addr: &IpAddr) -> Option<String> {
    let mut host = [0 as libc::c_char; 1025];
    let rc = match addr {
        IpAddr::V4(a) => {
            // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            // SAFETY: `sin` is a valid sockaddr_in of the given length, `host`
            // a writable buffer of the given length; no service is asked for.
            unsafe {
                libc::getnameinfo(
                    &sin as *const libc::sockaddr_in as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
        IpAddr::V6(a) => {
            // SAFETY: sockaddr_in6 is plain old data; all-zero is a valid value.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = a.octets();
            // SAFETY: as above, for a sockaddr_in6.
            unsafe {
                libc::getnameinfo(
                    &sin6 as *const libc::sockaddr_in6 as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success getnameinfo wrote a NUL-terminated string into `host`.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// `addr_to_anyname`: the host name, else the numeric address.
pub fn addr_to_anyname(addr: &IpAddr, numeric: bool) -> String {
    if numeric {
        return inet_ntop(addr);
    }
    addr_to_host(addr).unwrap_or_else(|| inet_ntop(addr))
}

/// `port_to_service`: the service name of a port in the services database
/// for the protocol, if any.
pub fn port_to_service(port: u16, proto: Protocol) -> Option<String> {
    let pname = proto_db_name(proto)?;
    let _guard = SERVDB.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: `pname` is NUL-terminated; the returned pointer, if not null,
    // points to the library's static servent, read while the lock is held.
    unsafe {
        let ent = libc::getservbyport(libc::c_int::from(port.to_be()), pname.as_ptr());
        if ent.is_null() || (*ent).s_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr((*ent).s_name).to_string_lossy().into_owned())
    }
}

/// `port_to_anyname`: the service name, else the number.
pub fn port_to_anyname(port: u16, proto: Protocol, numeric: bool) -> String {
    if numeric {
        return port.to_string();
    }
    port_to_service(port, proto).unwrap_or_else(|| port.to_string())
}

/// `addrport_to_anyname`: `a.b.c.d:port` or `[v6]:port` when numeric,
/// otherwise host and service names where the system knows them. Cut to
/// 59 bytes like ipvsadm's 60-byte buffer.
pub fn addrport_to_anyname(addr: &IpAddr, port: u16, proto: Protocol, numeric: bool) -> String {
    if let (true, IpAddr::V4(a)) = (numeric, addr) {
        // The common case, without the formatting machinery.
        let mut s = String::with_capacity(21);
        push_ipv4_port(&mut s, a, port);
        return s;
    }
    let host = addr_to_anyname(addr, numeric);
    let port = port_to_anyname(port, proto, numeric);
    let mut s = match addr {
        IpAddr::V4(_) => format!("{host}:{port}"),
        IpAddr::V6(_) => format!("[{host}]:{port}"),
    };
    truncate_bytes(&mut s, ADDRPORT_MAX);
    s
}

/// `service_to_port`: the port of a service name for the protocol
/// (`getservbyname`), if known.
pub fn service_name_to_port(name: &str, proto: Protocol) -> Option<u16> {
    let pname = proto_db_name(proto)?;
    let cname = CString::new(name).ok()?;
    let _guard = SERVDB.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: both strings are NUL-terminated; the returned servent is only
    // read while the lock is held.
    unsafe {
        let ent = libc::getservbyname(cname.as_ptr(), pname.as_ptr());
        if ent.is_null() {
            return None;
        }
        // s_port holds the port in network order in its low 16 bits.
        Some(u16::from_be((*ent).s_port as u16))
    }
}

static NO_HOST_LOOKUPS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Make [`host_to_ipv4`] answer `None` without asking the resolver (for
/// fuzzing, where random names would each cost a DNS query).
pub fn disable_host_lookups() {
    NO_HOST_LOOKUPS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `host_to_addr`: resolves a host name to its first IPv4 address, like
/// `gethostbyname` (IPv4 only). Uses `getaddrinfo` with `AF_INET`.
pub fn host_to_ipv4(name: &str) -> Option<Ipv4Addr> {
    if NO_HOST_LOOKUPS.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let cname = CString::new(name).ok()?;
    // SAFETY: addrinfo is plain old data; all-zero is a valid value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_INET;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid NUL-terminated node, no service, valid hints; `res` is
    // released with freeaddrinfo below.
    let rc = unsafe { libc::getaddrinfo(cname.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    let mut found = None;
    let mut cur = res;
    // SAFETY: walking the list getaddrinfo returned; every ai_addr with
    // family AF_INET points to a sockaddr_in.
    unsafe {
        while !cur.is_null() {
            let ai = &*cur;
            if ai.ai_family == libc::AF_INET && !ai.ai_addr.is_null() {
                let sin = &*(ai.ai_addr as *const libc::sockaddr_in);
                found = Some(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()));
                break;
            }
            cur = ai.ai_next;
        }
        libc::freeaddrinfo(res);
    }
    found
}

#[cfg(test)]
mod decimal_tests {
    use super::push_decimal;

    #[test]
    fn decimals_match_std() {
        let mut samples: Vec<u64> = (0..1000).collect();
        samples.extend([
            9_999,
            10_000,
            65_535,
            99_999_999,
            u64::from(u32::MAX),
            u64::MAX,
        ]);
        samples.extend((0..64).map(|b| 1u64 << b));
        samples.extend((1..20).map(|e| 10u64.pow(e) - 1));
        samples.extend((1..20).map(|e| 10u64.pow(e)));
        for v in samples {
            let mut s = String::from("x");
            push_decimal(&mut s, v);
            assert_eq!(s, format!("x{v}"));
        }
    }
}
