//! Value parsers with the C library semantics ipvsadm relies on: `strtol`
//! whole-string numbers, `atoi`, `inet_aton`, and ipvsadm's
//! `parse_service` for `host[:port]`.

use crate::model::{Family, Protocol};
use crate::names;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// What `strtol` and `atoi` skip first: C white space, then an optional
/// sign. Returns whether the number is negative and where its digits start.
fn sign_and_start(b: &[u8]) -> (bool, usize) {
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    match b.get(i) {
        Some(b'-') => (true, i + 1),
        Some(b'+') => (false, i + 1),
        _ => (false, i),
    }
}

/// The decimal digits from `i`: their value (saturated just above the
/// range of an `i64`) and where they end.
fn decimal_run(b: &[u8], mut i: usize) -> (i128, usize) {
    let mut v: i128 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = (v * 10 + i128::from(b[i] - b'0')).min(i128::from(i64::MAX) + 2);
        i += 1;
    }
    (v, i)
}

/// `strtol(s, &end, 10)` requiring the whole string: leading white space
/// and a sign are allowed, at least one digit, nothing after. `None` on
/// anything else or on overflow of a C `long`.
pub fn strtol_whole(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, start) = sign_and_start(b);
    let (v, end) = decimal_run(b, start);
    if end == start || end != b.len() {
        return None;
    }
    i64::try_from(if neg { -v } else { v }).ok()
}

/// ipvsadm's `string_to_number`: a whole-string decimal within `[min, max]`.
pub fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    strtol_whole(s).filter(|n| (min..=max).contains(n))
}

/// C `atoi`: leading white space, optional sign, digits up to the first
/// non-digit; 0 if none. Saturates instead of overflowing.
pub fn atoi(s: &str) -> i64 {
    let b = s.as_bytes();
    let (neg, start) = sign_and_start(b);
    let (v, _) = decimal_run(b, start);
    let v = if neg { -v } else { v };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `strtoul(s, &end, 0)` on a part that starts with a digit: returns the
/// value (saturated) and the number of bytes consumed.
fn strtoul_auto(b: &[u8]) -> (u64, usize) {
    let (base, mut i) = if b.len() >= 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        if b.get(2).is_some_and(u8::is_ascii_hexdigit) {
            (16, 2)
        } else {
            // "0x" without hex digits parses as "0".
            return (0, 1);
        }
    } else if b[0] == b'0' {
        (8, 0)
    } else {
        (10, 0)
    };
    let mut v: u64 = 0;
    while let Some(&c) = b.get(i) {
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'f' => u64::from(c - b'a' + 10),
            b'A'..=b'F' => u64::from(c - b'A' + 10),
            _ => break,
        };
        if d >= base {
            break;
        }
        v = v.saturating_mul(base).saturating_add(d);
        i += 1;
    }
    (v, i)
}

/// glibc's `inet_aton`: 1 to 4 parts in C notation (decimal, `0x` hex,
/// leading-zero octal), the last part filling the remaining bytes;
/// trailing white space (and anything after it) is ignored.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    plain_dotted_quad(s).or_else(|| inet_aton_general(s))
}

/// The common form `a.b.c.d` (decimal, no leading zeros, each ≤ 255), for
/// which every reading agrees; `None` for anything else.
fn plain_dotted_quad(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, o) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len > 1 && b[start] == b'0') {
            return None;
        }
        *o = u8::try_from(v).ok()?;
    }
    (i == b.len()).then(|| Ipv4Addr::from(octets))
}

fn inet_aton_general(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    let mut i = 0;
    let val;
    loop {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (v, n) = strtoul_auto(&b[i..]);
        if v > 0xffff_ffff {
            return None;
        }
        i += n;
        if b.get(i) == Some(&b'.') {
            if parts.len() > 2 || v > 0xff {
                return None;
            }
            parts.push(v);
            i += 1;
        } else {
            val = v;
            break;
        }
    }
    if let Some(&c) = b.get(i) {
        if !is_c_space(c) {
            return None;
        }
    }
    let max: u64 = [0xffff_ffff, 0xff_ffff, 0xffff, 0xff][parts.len()];
    if val > max {
        return None;
    }
    let mut addr = val as u32;
    for (k, p) in parts.iter().enumerate() {
        addr |= (*p as u32) << (24 - 8 * k);
    }
    Some(Ipv4Addr::from(addr))
}

/// An address as ipvsadm accepts it for IPv4: `inet_aton`, else a host
/// name resolved to its first IPv4 address.
pub fn host_or_inet_aton(s: &str) -> Option<Ipv4Addr> {
    inet_aton(s).or_else(|| names::host_to_ipv4(s))
}

/// What `parse_service` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedAddr {
    pub addr: IpAddr,
    /// `Some` if a port was given.
    pub port: Option<u16>,
}

impl ParsedAddr {
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// Would [`parse_service`] ask NSS (a host name, or a port by service
/// name) for `buf`? Decided as `parse_service` decides, without asking.
pub fn service_uses_names(buf: &str) -> bool {
    let mut host = buf;
    let mut port_str: Option<&str> = None;
    let mut bracketed = false;
    if let Some(inner) = buf.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return false;
        };
        host = &inner[..close];
        port_str = inner[close + 1..].strip_prefix(':');
        bracketed = true;
    }
    let v6 =
        host.bytes().filter(|&c| c == b':').nth(1).is_some() && host.parse::<Ipv6Addr>().is_ok();
    if !v6 {
        if bracketed {
            port_str = None;
        }
        if let Some(i) = host.rfind(':') {
            port_str = Some(&host[i + 1..]);
            host = &host[..i];
        }
        if inet_aton(host).is_none() {
            return true;
        }
    }
    port_str.is_some_and(|p| string_to_number(p, 0, 65535).is_none())
}

/// ipvsadm's `parse_service(buf)`: `[v6]:port`, a bare IPv6 address
/// (no port), or `host[:port]` with an IPv4 host; ports are decimal or a
/// service name of `proto`. `None` = "illegal … address[:port]".
pub fn parse_service(buf: &str, proto: Protocol) -> Option<ParsedAddr> {
    // `str_is_digit`, which is also true of the empty string.
    if buf.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut host = buf;
    let mut port_str: Option<&str> = None;
    let mut bracketed = false;
    if let Some(inner) = buf.strip_prefix('[') {
        let close = inner.find(']')?;
        let after = &inner[close + 1..];
        let port = after.strip_prefix(':')?;
        host = &inner[..close];
        port_str = Some(port);
        bracketed = true;
    }
    // An IPv6 address has at least two colons; skip the attempt otherwise.
    let v6 = if host.bytes().filter(|&c| c == b':').nth(1).is_some() {
        host.parse::<Ipv6Addr>().ok()
    } else {
        None
    };
    let addr = if let Some(a) = v6 {
        IpAddr::V6(a)
    } else {
        // Not IPv6: the port (if any) follows the last ':' of what is left.
        // A bracketed non-IPv6 host loses its port this way, as in ipvsadm.
        if bracketed {
            port_str = None;
        }
        if let Some(i) = host.rfind(':') {
            port_str = Some(&host[i + 1..]);
            host = &host[..i];
        }
        IpAddr::V4(host_or_inet_aton(host)?)
    };
    let port = match port_str {
        None => None,
        Some(p) => Some(match string_to_number(p, 0, 65535) {
            Some(n) => n as u16,
            None => names::service_name_to_port(p, proto)?,
        }),
    };
    Some(ParsedAddr { addr, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_semantics() {
        assert_eq!(strtol_whole("42"), Some(42));
        assert_eq!(strtol_whole(" +7"), Some(7));
        assert_eq!(strtol_whole("-3"), Some(-3));
        assert_eq!(strtol_whole("7 "), None);
        assert_eq!(strtol_whole(""), None);
        assert_eq!(strtol_whole("-"), None);
        assert_eq!(strtol_whole("99999999999999999999"), None);
        assert_eq!(string_to_number("65536", 0, 65535), None);
        assert_eq!(atoi("64abc"), 64);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi(" -5"), -5);
    }

    #[test]
    fn inet_aton_forms() {
        let a = |s: &str| inet_aton(s).map(|a| a.to_string());
        assert_eq!(a("10.1"), Some("10.0.0.1".into()));
        assert_eq!(a("0x0a000001"), Some("10.0.0.1".into()));
        assert_eq!(a("012.1.1.1"), Some("10.1.1.1".into()));
        assert_eq!(a("300"), Some("0.0.1.44".into()));
        assert_eq!(a("1.2.3.4 junk"), Some("1.2.3.4".into()));
        assert_eq!(a("1.2.3.256"), None);
        assert_eq!(a("256.1.1.1"), None);
        assert_eq!(a("1.2.3.4.5"), None);
        assert_eq!(a("08"), None);
        assert_eq!(a("0x"), None);
        assert_eq!(a("1..2"), None);
        assert_eq!(a("-1"), None);
        assert_eq!(a(""), None);
        // The fast path and the general reading agree wherever both apply.
        for t in [
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.1",
            "10.20.30.40",
            "1.2.3.04",
            "1.2.3",
            "256.1.1.1",
        ] {
            assert_eq!(inet_aton(t), inet_aton_general(t), "{t}");
        }
    }

    #[test]
    fn parse_service_forms() {
        let p = |s: &str| parse_service(s, Protocol::Tcp);
        assert_eq!(p("192.0.2.1:80").unwrap().port, Some(80));
        assert_eq!(p("192.0.2.1").unwrap().port, None);
        assert_eq!(p("80"), None);
        let v6 = p("[2001:db8::1]:443").unwrap();
        assert_eq!(
            (v6.addr, v6.port),
            ("2001:db8::1".parse().unwrap(), Some(443))
        );
        assert_eq!(p("[2001:db8::1]"), None);
        assert_eq!(p("[2001:db8::1]x80"), None);
        let bare = p("2001:db8::1:80").unwrap();
        assert_eq!(
            (bare.addr, bare.port),
            ("2001:db8::1:80".parse().unwrap(), None)
        );
        // A bracketed IPv4 address loses its port, as in ipvsadm.
        let b4 = p("[192.0.2.1]:80").unwrap();
        assert_eq!((b4.addr, b4.port), ("192.0.2.1".parse().unwrap(), None));
        assert_eq!(p("192.0.2.1:65536"), None);
        assert_eq!(p("192.0.2.1:"), None);
        assert_eq!(p("192.0.2.1:-1"), None);
    }
}
