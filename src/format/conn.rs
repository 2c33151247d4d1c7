//! `ipvsadm -L -c [-n] [--persistent-conn]`: the connection table, read
//! from the text of `/proc/net/ip_vs_conn` (ipvsadm 1.31 `list_conn` and
//! `print_conn`).
//!
//! The kernel writes one line per connection:
//! `PRO CADDR CPRT VADDR VPRT DADDR DPRT STATE EXPIRES[ PE_NAME PE_DATA]`,
//! addresses as 8 hex digits (IPv4) or the full `%pI6` colon form, ports as
//! 4 hex digits, the expiry in seconds. ipvsadm skips the header line,
//! reads the rest in chunks of at most 255 bytes (`fgets` into 256 bytes)
//! and parses each chunk with
//! `sscanf("%s %s %hX %s %hX %s %hX %s %d %s %s")`; this module does the
//! same. Fields missing from a short line (uninitialised stack in ipvsadm)
//! are empty strings and zeros here.

use crate::model::Protocol;
use crate::names::{Names, SystemNames};
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Path ipvsadm reads (used in its messages).
pub const CONN_PROC_FILE: &str = "/proc/net/ip_vs_conn";

/// ipvsadm's line buffer is 256 bytes: `fgets` returns at most 255.
const LINE_MAX: usize = 255;

/// Why `ipvsadm -L -c` stops. Both exit with status 1; what was already
/// appended to the output stays (ipvsadm had already printed it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnError {
    /// The file is empty (not even the header line):
    /// `unexpected input from /proc/net/ip_vs_conn` on stderr.
    UnexpectedInput,
    /// A chunk holds only white space (`sscanf` returns EOF): ipvsadm calls
    /// `exit(1)` without a message. `Display` is empty.
    Silent,
}

impl ConnError {
    /// ipvsadm's exit status for this case.
    pub fn exit_code(&self) -> i32 {
        1
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::UnexpectedInput => write!(f, "unexpected input from {CONN_PROC_FILE}"),
            ConnError::Silent => Ok(()),
        }
    }
}

impl std::error::Error for ConnError {}

/// Lists the connections in `proc_text` (the whole content of
/// `/proc/net/ip_vs_conn`) as `ipvsadm -L -c` does.
pub fn list_connections(
    out: &mut String,
    proc_text: &str,
    numeric: bool,
    persistent_conn: bool,
) -> Result<(), ConnError> {
    list_connections_with(out, proc_text, numeric, persistent_conn, &SystemNames)
}

/// [`list_connections`] with a chosen name resolver.
pub fn list_connections_with(
    out: &mut String,
    proc_text: &str,
    numeric: bool,
    persistent_conn: bool,
    names: &dyn Names,
) -> Result<(), ConnError> {
    let mut chunks = fgets_chunks(proc_text.as_bytes());
    // The kernel's header line (or its first 255 bytes) is skipped.
    if chunks.next().is_none() {
        return Err(ConnError::UnexpectedInput);
    }
    out.push_str("IPVS connection entries\n");
    if persistent_conn {
        // printf("pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state",
        //        "source", "virtual", "destination", "pe name", "pe_data")
        out.push_str(
            "pro expire state       source             virtual            destination        pe name          pe_data\n",
        );
    } else {
        // printf("pro expire %-11s %-18s %-18s %s\n", "state", "source",
        //        "virtual", "destination")
        out.push_str("pro expire state       source             virtual            destination\n");
    }
    for chunk in chunks {
        print_conn(out, chunk, numeric, persistent_conn, names)?;
    }
    Ok(())
}

/// Splits like repeated `fgets(buf, 256, f)`: pieces end after a newline
/// or after 255 bytes.
fn fgets_chunks(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split_inclusive(|&b| b == b'\n')
        .flat_map(|line| line.chunks(LINE_MAX))
}

/// The fields of one line, as `sscanf` filled them.
#[derive(Default)]
struct ConnFields {
    protocol: String,
    caddr: String,
    cport: u16,
    vaddr: String,
    vport: u16,
    daddr: String,
    dport: u16,
    state: String,
    expires: i32,
    pe_name: String,
    pe_data: String,
}

fn print_conn(
    out: &mut String,
    chunk: &[u8],
    numeric: bool,
    persistent_conn: bool,
    names: &dyn Names,
) -> Result<(), ConnError> {
    let (n, fl) = scan_conn(chunk).ok_or(ConnError::Silent)?;

    let proto = match fl.protocol.as_str() {
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        "SCTP" => Protocol::Sctp,
        _ => Protocol::Other(0),
    };

    let (caddr, vaddr) = if let Ok(c) = fl.caddr.parse::<Ipv6Addr>() {
        let v = fl
            .vaddr
            .parse::<Ipv6Addr>()
            .unwrap_or(Ipv6Addr::UNSPECIFIED);
        (IpAddr::V6(c), IpAddr::V6(v))
    } else if let Ok(c) = fl.caddr.parse::<Ipv4Addr>() {
        let v = fl
            .vaddr
            .parse::<Ipv4Addr>()
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        (IpAddr::V4(c), IpAddr::V4(v))
    } else {
        (
            IpAddr::V4(Ipv4Addr::from(strtoul16(&fl.caddr) as u32)),
            IpAddr::V4(Ipv4Addr::from(strtoul16(&fl.vaddr) as u32)),
        )
    };
    let daddr = if let Ok(d) = fl.daddr.parse::<Ipv6Addr>() {
        IpAddr::V6(d)
    } else if let Ok(d) = fl.daddr.parse::<Ipv4Addr>() {
        IpAddr::V4(d)
    } else {
        IpAddr::V4(Ipv4Addr::from(strtoul16(&fl.daddr) as u32))
    };

    let cname = names.addrport(&caddr, fl.cport, proto, numeric);
    let vname = names.addrport(&vaddr, fl.vport, proto, numeric);
    let dname = names.addrport(&daddr, fl.dport, proto, numeric);

    // `expires` is scanned with %d into an unsigned int.
    let expires = fl.expires as u32;
    let expire_str = format!("{:02}:{:02}", expires / 60, expires % 60);

    if persistent_conn && n == 11 {
        let _ = writeln!(
            out,
            "{:<3} {:<6} {:<11} {:<18} {:<18} {:<16} {:<18} {}",
            fl.protocol, expire_str, fl.state, cname, vname, dname, fl.pe_name, fl.pe_data
        );
    } else {
        let _ = writeln!(
            out,
            "{:<3} {:<6} {:<11} {:<18} {:<18} {}",
            fl.protocol, expire_str, fl.state, cname, vname, dname
        );
    }
    Ok(())
}

/// `sscanf(chunk, "%s %s %hX %s %hX %s %hX %s %d %s %s", …)`: the number
/// of fields converted and the fields; `None` where sscanf returns EOF
/// (nothing but white space before the first field).
fn scan_conn(chunk: &[u8]) -> Option<(usize, ConnFields)> {
    let mut sc = Scanner { s: chunk, i: 0 };
    let mut fl = ConnFields::default();
    let mut n = 0usize;

    macro_rules! field {
        ($e:expr, $dst:expr) => {
            match $e {
                Ok(v) => {
                    $dst = v;
                    n += 1;
                }
                Err(Stop::Input) if n == 0 => return None,
                Err(_) => return Some((n, fl)),
            }
        };
    }
    field!(sc.word(), fl.protocol);
    field!(sc.word(), fl.caddr);
    field!(sc.hex_u16(), fl.cport);
    field!(sc.word(), fl.vaddr);
    field!(sc.hex_u16(), fl.vport);
    field!(sc.word(), fl.daddr);
    field!(sc.hex_u16(), fl.dport);
    field!(sc.word(), fl.state);
    field!(sc.dec_i32(), fl.expires);
    field!(sc.word(), fl.pe_name);
    field!(sc.word(), fl.pe_data);
    Some((n, fl))
}

/// Why a scanf conversion stopped.
enum Stop {
    /// End of input (an "input failure").
    Input,
    /// The text does not fit the conversion (a "matching failure").
    Match,
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips white space; `Err(Input)` at the end.
    fn skip_ws(&mut self) -> Result<(), Stop> {
        while let Some(b) = self.peek() {
            if !is_c_space(b) {
                return Ok(());
            }
            self.i += 1;
        }
        Err(Stop::Input)
    }

    /// `%s`.
    fn word(&mut self) -> Result<String, Stop> {
        self.skip_ws()?;
        let start = self.i;
        while matches!(self.peek(), Some(b) if !is_c_space(b)) {
            self.i += 1;
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// Optional sign; returns true for `-`.
    fn sign(&mut self) -> bool {
        match self.peek() {
            Some(b'-') => {
                self.i += 1;
                true
            }
            Some(b'+') => {
                self.i += 1;
                false
            }
            _ => false,
        }
    }

    /// Digits of `radix` and whether they overflowed 64 bits; `None` if
    /// there is no digit.
    fn digits(&mut self, radix: u32) -> Option<(u64, bool)> {
        let mut v: u64 = 0;
        let mut any = false;
        let mut overflow = false;
        while let Some(d) = self.peek().and_then(|b| (b as char).to_digit(radix)) {
            any = true;
            match v
                .checked_mul(radix as u64)
                .and_then(|x| x.checked_add(d as u64))
            {
                Some(x) => v = x,
                None => overflow = true,
            }
            self.i += 1;
        }
        any.then_some((v, overflow))
    }

    /// `strtoul` semantics after white space: sign, `0x` (base 16 only),
    /// digits; negation wraps and overflow gives `ULONG_MAX` whatever the
    /// sign. `None` without digits.
    fn strtoul(&mut self, radix: u32) -> Option<u64> {
        let neg = self.sign();
        if radix == 16
            && matches!(self.peek(), Some(b'0'))
            && matches!(self.s.get(self.i + 1), Some(b'x' | b'X'))
            && matches!(self.s.get(self.i + 2), Some(b) if b.is_ascii_hexdigit())
        {
            self.i += 2;
        }
        let (v, overflow) = self.digits(radix)?;
        Some(if overflow {
            u64::MAX
        } else if neg {
            v.wrapping_neg()
        } else {
            v
        })
    }

    /// `%hX`: `strtoul(…, 16)` stored into an unsigned short.
    fn hex_u16(&mut self) -> Result<u16, Stop> {
        self.skip_ws()?;
        let v = self.strtoul(16).ok_or(Stop::Match)?;
        Ok(v as u16)
    }

    /// `%d`: `strtol(…, 10)` stored into an int.
    fn dec_i32(&mut self) -> Result<i32, Stop> {
        self.skip_ws()?;
        let neg = self.sign();
        let (v, overflow) = self.digits(10).ok_or(Stop::Match)?;
        let v = if overflow { u64::MAX } else { v };
        let v: i64 = if neg {
            if v > i64::MAX as u64 {
                i64::MIN
            } else {
                -(v as i64)
            }
        } else {
            v.min(i64::MAX as u64) as i64
        };
        Ok(v as i32)
    }
}

/// `strtoul(s, NULL, 16)` on a 64-bit system: leading white space, sign,
/// optional `0x`, hex digits up to the first other character; 0 when there
/// are none; `ULONG_MAX` on overflow.
fn strtoul16(s: &str) -> u64 {
    let mut sc = Scanner {
        s: s.as_bytes(),
        i: 0,
    };
    if sc.skip_ws().is_err() {
        return 0;
    }
    sc.strtoul(16).unwrap_or(0)
}
