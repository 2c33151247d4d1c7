//! The record an apply leaves behind: the rules text it made the kernel
//! match, which part of the state each line of it belongs to, and how many
//! services the kernel then held. `apply --incremental` diffs a new file
//! against this record instead of reading the whole table.
//!
//! Invariants:
//! * One record per network namespace and boot, in [`DIR`] (a tmpfs, so a
//!   reboot, which empties the tables, also drops the records). The file
//!   names the namespace's inode; the boot id and the namespace's cookie
//!   (`SO_NETNS_COOKIE`, Linux ≥ 5.14) are stored inside and checked on
//!   load. The cookie matters: a new namespace soon gets the inode of one
//!   that was deleted (seen in the test VM), never its cookie. Without a
//!   cookie there are no records, and every apply reads the whole table.
//! * A record is written whole and renamed into place, so a reader sees
//!   the old one or the new one, never a mix.
//! * A record is only a hint: whatever it claims about the services a
//!   change touches is checked against the kernel before use, and any
//!   record that does not decode is ignored.
//! * Our own commands that change the tables (`-A`, `-a`, `-R`, `-C`, …)
//!   remove the record of their namespace before changing anything.
//!
//! Layout (integers little-endian): the magic line, the boot id line, the
//! namespace inode (u64) and cookie (u64), the services count (u32), the keys (u32 count,
//! 24 bytes each, see [`encode_key`]), the line owners (u32 count, u32
//! each: 0 none, 1 timeouts, 2 daemons, 3 + i the service `keys[i]`), the
//! rules text (u64 length, bytes).

use crate::model::{Family, Protocol, ServiceKey};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// Where records live.
pub const DIR: &str = "/run/ipvsadm-rs";
/// Version 3: texts that name hosts or services are no longer recorded.
const MAGIC: &[u8] = b"ipvsadm-rs apply record 3\n";

/// Owner ids of the lines of a record.
pub const OWNER_NONE: u32 = 0;
pub const OWNER_TIMEOUTS: u32 = 1;
pub const OWNER_DAEMONS: u32 = 2;
/// Owner id of `keys[0]`.
pub const OWNER_FIRST_KEY: u32 = 3;

/// What the last apply in this namespace made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// The rules text it applied.
    pub text: String,
    /// Per line of `text` (as [`super::lines`] splits it): its owner id.
    pub owners: Vec<u32>,
    /// The services the owner ids name.
    pub keys: Vec<ServiceKey>,
    /// Services in the kernel after that apply.
    pub services: u32,
}

/// Who this record is for: the boot and the network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    boot: String,
    netns: u64,
    cookie: u64,
}

/// The inode of the calling thread's network namespace.
fn netns() -> Option<u64> {
    Some(std::fs::metadata("/proc/thread-self/ns/net").ok()?.ino())
}

/// The calling thread's network namespace's cookie: unique for the boot.
fn netns_cookie() -> Option<u64> {
    let mut cookie = 0u64;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor owned here; `cookie` is
    // writable for `len` bytes.
    let rc = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return None;
        }
        let rc = libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_NETNS_COOKIE,
            (&mut cookie as *mut u64).cast(),
            &mut len,
        );
        libc::close(fd);
        rc
    };
    (rc == 0 && len as usize == std::mem::size_of::<u64>()).then_some(cookie)
}

fn identity() -> Option<Identity> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(Identity {
        boot: boot.trim().to_string(),
        netns: netns()?,
        cookie: netns_cookie()?,
    })
}

fn path_for(netns: u64) -> PathBuf {
    PathBuf::from(format!("{DIR}/apply-netns-{netns}"))
}

/// A service key in 24 bytes: kind (0 IPv4 address, 1 IPv6 address,
/// 2 fwmark), then for addresses the protocol (u16), port (u16) and address
/// (16 bytes, IPv4 in the first 4), for fwmarks the family (u16, AF_*) and
/// the mark (u32).
pub fn encode_key(k: &ServiceKey, out: &mut Vec<u8>) {
    let mut b = [0u8; 24];
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            b[2..4].copy_from_slice(&protocol.to_raw().to_le_bytes());
            b[4..6].copy_from_slice(&port.to_le_bytes());
            match addr {
                IpAddr::V4(a) => b[8..12].copy_from_slice(&a.octets()),
                IpAddr::V6(a) => {
                    b[0] = 1;
                    b[8..24].copy_from_slice(&a.octets());
                }
            }
        }
        ServiceKey::Fwmark { family, mark } => {
            b[0] = 2;
            b[2..4].copy_from_slice(&family.to_raw().to_le_bytes());
            b[4..8].copy_from_slice(&mark.to_le_bytes());
        }
    }
    out.extend_from_slice(&b);
}

/// The inverse of [`encode_key`]; `None` if `b` is not one.
pub fn decode_key(b: &[u8]) -> Option<ServiceKey> {
    let b: &[u8; 24] = b.try_into().ok()?;
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    match b[0] {
        0 | 1 => {
            let addr = if b[0] == 0 {
                IpAddr::V4(Ipv4Addr::new(b[8], b[9], b[10], b[11]))
            } else {
                let o: [u8; 16] = b[8..24].try_into().ok()?;
                IpAddr::V6(Ipv6Addr::from(o))
            };
            Some(ServiceKey::Addr {
                protocol: Protocol::from_raw(u16_at(2)),
                addr,
                port: u16_at(4),
            })
        }
        2 => Some(ServiceKey::Fwmark {
            family: Family::from_raw(u16_at(2))?,
            mark: u32::from_le_bytes(b[4..8].try_into().ok()?),
        }),
        _ => None,
    }
}

impl Record {
    fn encode(&self, id: &Identity) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.text.len() + 4 * self.owners.len() + 24 * self.keys.len() + 128,
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(id.boot.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&id.netns.to_le_bytes());
        out.extend_from_slice(&id.cookie.to_le_bytes());
        out.extend_from_slice(&self.services.to_le_bytes());
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        for k in &self.keys {
            encode_key(k, &mut out);
        }
        out.extend_from_slice(&(self.owners.len() as u32).to_le_bytes());
        for o in &self.owners {
            out.extend_from_slice(&o.to_le_bytes());
        }
        out.extend_from_slice(&(self.text.len() as u64).to_le_bytes());
        out.extend_from_slice(self.text.as_bytes());
        out
    }

    fn decode(data: &[u8], id: &Identity) -> Option<Record> {
        let mut r = Reader { data, pos: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return None;
        }
        let boot_end = r.data.get(r.pos..)?.iter().position(|&c| c == b'\n')?;
        if r.take(boot_end)? != id.boot.as_bytes() || r.take(1)? != b"\n" {
            return None;
        }
        if r.u64()? != id.netns || r.u64()? != id.cookie {
            return None;
        }
        let services = r.u32()?;
        let nkeys = r.u32()? as usize;
        let keys = r
            .take(nkeys.checked_mul(24)?)?
            .chunks(24)
            .map(decode_key)
            .collect::<Option<Vec<_>>>()?;
        let nowners = r.u32()? as usize;
        let owners: Vec<u32> = r
            .take(nowners.checked_mul(4)?)?
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let limit = OWNER_FIRST_KEY as usize + keys.len();
        if owners.iter().any(|&o| o as usize >= limit) {
            return None;
        }
        let len = usize::try_from(r.u64()?).ok()?;
        let text = std::str::from_utf8(r.take(len)?).ok()?.to_string();
        if r.pos != data.len() || crate::lang::rules::lines(&text).count() != owners.len() {
            return None;
        }
        Some(Record {
            text,
            owners,
            keys,
            services,
        })
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Decode a record written for boot `boot` and the namespace with inode
/// `netns` and cookie `cookie` (for tests and fuzzing: [`load`] is this
/// with the running identity).
#[doc(hidden)]
pub fn decode_bytes(data: &[u8], boot: &str, netns: u64, cookie: u64) -> Option<Record> {
    Record::decode(
        data,
        &Identity {
            boot: boot.to_string(),
            netns,
            cookie,
        },
    )
}

/// The record of this namespace, if there is a valid one.
pub fn load() -> Option<Record> {
    let id = identity()?;
    let data = std::fs::read(path_for(id.netns)).ok()?;
    Record::decode(&data, &id)
}

/// Store `rec` as this namespace's record (replacing any). Failing to
/// store it only costs the next `--incremental` apply a full read, so the
/// error is returned for the caller to ignore or report.
pub fn save(rec: &Record) -> std::io::Result<()> {
    let id = identity().ok_or_else(|| std::io::Error::other("no boot id or netns"))?;
    std::fs::create_dir_all(DIR)?;
    let path = path_for(id.netns);
    let tmp = PathBuf::from(format!("{}.{}.tmp", path.display(), std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    let written = f.write_all(&rec.encode(&id)).and_then(|()| f.flush());
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Forget this namespace's record: the tables are about to change in a
/// way it does not describe.
pub fn forget() {
    if let Some(ns) = netns() {
        let _ = std::fs::remove_file(path_for(ns));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<ServiceKey> {
        vec![
            ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80),
            ServiceKey::udp("2001:db8::1".parse().unwrap(), 53),
            ServiceKey::Addr {
                protocol: Protocol::Sctp,
                addr: "198.51.100.7".parse().unwrap(),
                port: 65535,
            },
            ServiceKey::fwmark(Family::Inet6, u32::MAX),
            ServiceKey::fwmark(Family::Inet, 1),
        ]
    }

    #[test]
    fn keys_round_trip() {
        for k in keys() {
            let mut b = Vec::new();
            encode_key(&k, &mut b);
            assert_eq!(b.len(), 24);
            assert_eq!(decode_key(&b), Some(k));
        }
        assert_eq!(decode_key(&[3; 24]), None);
        assert_eq!(decode_key(&[0; 23]), None);
    }

    #[test]
    fn record_round_trips_and_rejects_damage() {
        let id = Identity {
            boot: "0b1d".into(),
            netns: 4026531840,
            cookie: 7,
        };
        let rec = Record {
            text: "--set 1 2 3\n-A -t 192.0.2.1:80 -s rr\n\n-a -t 192.0.2.1:80 -r 198.51.100.1\n"
                .into(),
            owners: vec![OWNER_TIMEOUTS, 3, OWNER_NONE, 3],
            keys: keys(),
            services: 1,
        };
        let bytes = rec.encode(&id);
        assert_eq!(Record::decode(&bytes, &id), Some(rec.clone()));
        // Another boot or namespace, truncation, trailing bytes: ignored.
        let other_boot = Identity {
            boot: "0b1e".into(),
            ..id.clone()
        };
        assert_eq!(Record::decode(&bytes, &other_boot), None);
        let other_ns = Identity {
            netns: 1,
            ..id.clone()
        };
        assert_eq!(Record::decode(&bytes, &other_ns), None);
        // The same inode, another namespace (it was reused).
        let reused = Identity {
            cookie: 8,
            ..id.clone()
        };
        assert_eq!(Record::decode(&bytes, &reused), None);
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(Record::decode(&bytes[..cut], &id), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Record::decode(&longer, &id), None);
        // Owners that name no key, or that do not match the lines.
        let bad = Record {
            owners: vec![OWNER_TIMEOUTS, 99, OWNER_NONE, 3],
            ..rec.clone()
        };
        assert_eq!(Record::decode(&bad.encode(&id), &id), None);
        let short = Record {
            owners: vec![OWNER_TIMEOUTS, 3],
            ..rec
        };
        assert_eq!(Record::decode(&short.encode(&id), &id), None);
    }
}
