//! Zero-copy reading of what the kernel sends: the netlink messages of a
//! datagram, the generic-netlink header, and attributes, all as views
//! borrowed from the receive buffer. Nothing is copied or allocated here;
//! [`super::codec`] copies out the values a caller uses.
//!
//! Every length is checked against the buffer it lies in: malformed input
//! is an [`Error::Decode`], never a panic or a read out of bounds.

use crate::error::{Error, Result};

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `sizeof(struct genlmsghdr)`.
pub const GENL_HDRLEN: usize = 4;
/// `sizeof(struct nlattr)`.
const NLA_HDRLEN: usize = 4;
/// Type bits of `nla_type` (the rest are `NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`).
const NLA_TYPE_MASK: u16 = 0x3fff;

pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

fn decode_error(what: String) -> Error {
    Error::Decode(what)
}

/// One netlink message of a datagram.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// What follows the netlink header.
    pub payload: &'a [u8],
    /// The whole message, header included.
    pub bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// For `NLMSG_ERROR` and `NLMSG_DONE`: the positive errno (0 for an
    /// ack or a successful dump; a `DONE` without payload is a success).
    pub fn errno(&self) -> i32 {
        match self.payload.get(..4) {
            // The kernel sends a negative errno; any other value is kept
            // as it is, without overflowing (i32::MIN stays as large).
            Some(b) => i32::from_ne_bytes([b[0], b[1], b[2], b[3]]).saturating_neg(),
            None => 0,
        }
    }

    /// The generic-netlink command and the attributes after its header.
    pub fn genl(&self) -> Result<Genl<'a>> {
        if self.payload.len() < GENL_HDRLEN {
            return Err(decode_error(format!(
                "generic netlink message of {} bytes",
                self.payload.len()
            )));
        }
        Ok(Genl {
            cmd: self.payload[0],
            attrs: &self.payload[GENL_HDRLEN..],
        })
    }
}

/// A generic-netlink message: its command and attribute bytes.
#[derive(Clone, Copy, Debug)]
pub struct Genl<'a> {
    pub cmd: u8,
    pub attrs: &'a [u8],
}

/// The netlink messages of one datagram, each checked to lie within it.
pub fn frames(buf: &[u8]) -> Frames<'_> {
    Frames { buf, off: 0 }
}

/// Iterator of [`frames`].
pub struct Frames<'a> {
    buf: &'a [u8],
    off: usize,
}

/// A netlink message whose length does not fit its datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadFrame {
    pub len: usize,
    pub left: usize,
}

impl From<BadFrame> for Error {
    fn from(b: BadFrame) -> Error {
        decode_error(format!(
            "netlink message length {} with {} bytes left",
            b.len, b.left
        ))
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = std::result::Result<Frame<'a>, BadFrame>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.off..).unwrap_or(&[]);
        let h = rest.first_chunk::<NLMSG_HDRLEN>()?;
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let Some(bytes) = rest.get(..len).filter(|_| len >= NLMSG_HDRLEN) else {
            self.off = self.buf.len();
            return Some(Err(BadFrame {
                len,
                left: rest.len(),
            }));
        };
        self.off += (len + 3) & !3;
        Some(Ok(Frame {
            kind: u16::from_ne_bytes([h[4], h[5]]),
            flags: u16::from_ne_bytes([h[6], h[7]]),
            seq: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
            payload: &bytes[NLMSG_HDRLEN..],
            bytes,
        }))
    }
}

/// The attributes in `buf` (a message's or a nest's payload).
pub fn nlas(buf: &[u8]) -> Nlas<'_> {
    Nlas { rest: buf }
}

/// Iterator of [`nlas`]: `(type, payload)` pairs, the type without its
/// flag bits.
pub struct Nlas<'a> {
    /// What is left to walk, starting at an attribute header.
    rest: &'a [u8],
}

/// A malformed attribute: where, and how many bytes were left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadAttr {
    /// Bytes left from the bad header on.
    pub left: usize,
    /// The length the header claimed (0 when the header itself is cut).
    pub len: usize,
}

impl From<BadAttr> for Error {
    fn from(b: BadAttr) -> Error {
        if b.len == 0 {
            decode_error(format!("attribute header cut: {} bytes left", b.left))
        } else {
            decode_error(format!(
                "attribute length {} with {} bytes left",
                b.len, b.left
            ))
        }
    }
}

impl<'a> Iterator for Nlas<'a> {
    type Item = std::result::Result<(u16, &'a [u8]), BadAttr>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        let [l0, l1, t0, t1, ..] = *rest else {
            if rest.is_empty() {
                return None;
            }
            self.rest = &[];
            return Some(Err(BadAttr {
                left: rest.len(),
                len: 0,
            }));
        };
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        let Some(payload) = rest.get(NLA_HDRLEN..len) else {
            self.rest = &[];
            return Some(Err(BadAttr {
                left: rest.len(),
                len: len.max(1),
            }));
        };
        // The next header is 4-aligned; the last attribute's padding may
        // be missing.
        self.rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
        Some(Ok((u16::from_ne_bytes([t0, t1]) & NLA_TYPE_MASK, payload)))
    }
}

/// The payload of the first attribute of type `kind` in `buf`, if any.
pub fn find(buf: &[u8], kind: u16) -> Result<Option<&[u8]>> {
    for a in nlas(buf) {
        let (k, p) = a?;
        if k == kind {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_walked_and_bounded() {
        // Two attributes (the second padded), then a truncated header.
        let buf = [
            6u8, 0, 1, 0x80, 0xaa, 0xbb, 0, 0, // type 1 | NLA_F_NESTED, 2 bytes
            8, 0, 2, 0, 1, 2, 3, 4, // type 2, 4 bytes
            4, 0,
        ];
        let got: Vec<_> = nlas(&buf[..16]).map(|r| r.unwrap()).collect();
        assert_eq!(got, vec![(1, &[0xaa, 0xbb][..]), (2, &[1, 2, 3, 4][..])]);
        assert!(nlas(&buf).nth(2).unwrap().is_err());
        // A length past the end, and one shorter than a header.
        assert!(nlas(&[9, 0, 1, 0, 0, 0, 0, 0]).next().unwrap().is_err());
        assert!(nlas(&[3, 0, 1, 0]).next().unwrap().is_err());
        assert_eq!(find(&buf[..16], 2).unwrap(), Some(&[1, 2, 3, 4][..]));
        assert_eq!(find(&buf[..16], 3).unwrap(), None);
    }

    #[test]
    fn frames_are_walked_and_bounded() {
        let mut dgram = Vec::new();
        for (kind, seq, payload) in [
            (0x20u16, 7u32, &[1u8, 1, 0, 0][..]),
            (NLMSG_DONE, 7, &[0, 0, 0, 0]),
        ] {
            dgram.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
            dgram.extend_from_slice(&kind.to_ne_bytes());
            dgram.extend_from_slice(&2u16.to_ne_bytes());
            dgram.extend_from_slice(&seq.to_ne_bytes());
            dgram.extend_from_slice(&0u32.to_ne_bytes());
            dgram.extend_from_slice(payload);
        }
        let f: Vec<Frame> = frames(&dgram).map(|r| r.unwrap()).collect();
        assert_eq!((f[0].kind, f[0].seq, f[0].flags), (0x20, 7, 2));
        assert_eq!(f[0].genl().unwrap().cmd, 1);
        assert_eq!((f[1].kind, f[1].errno()), (NLMSG_DONE, 0));
        // An error code that cannot be negated does not panic.
        let err = Frame {
            kind: NLMSG_ERROR,
            flags: 0,
            seq: 1,
            payload: &i32::MIN.to_ne_bytes(),
            bytes: &[],
        };
        assert_eq!(err.errno(), i32::MAX);
        dgram[20] = 0xff; // DONE's length
        dgram[20 + 1] = 0xff;
        assert!(frames(&dgram).nth(1).unwrap().is_err());
    }
}
