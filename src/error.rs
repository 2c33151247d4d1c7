//! Typed errors of the library. The command line maps them to ipvsadm's
//! messages.

use std::fmt;

/// An errno returned by the kernel (positive value, e.g. `libc::EEXIST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// `strerror(errno)` text, as C programs print it.
    pub fn strerror(self) -> String {
        let s = std::io::Error::from_raw_os_error(self.0).to_string();
        match s.find(" (os error ") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.strerror())
    }
}

/// Everything that can go wrong talking to IPVS.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel refused a request.
    #[error("{0}")]
    Kernel(Errno),
    /// The generic-netlink family "IPVS" could not be resolved (module not
    /// loaded and could not be loaded).
    #[error("{0}")]
    NoFamily(Errno),
    /// A socket call failed.
    #[error("netlink: {0}")]
    Io(#[from] std::io::Error),
    /// A reply could not be decoded.
    #[error("malformed netlink reply: {0}")]
    Decode(String),
    /// The receive queue overflowed and replies were lost.
    #[error("netlink receive queue overrun: replies were lost")]
    Overrun,
    /// No reply came in time.
    #[error("no reply from the kernel")]
    Timeout,
}

impl Error {
    /// The errno this error stands for, as libipvs would leave it in `errno`.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Kernel(e) | Error::NoFamily(e) => e.0,
            Error::Io(e) => e.raw_os_error().unwrap_or(libc::EINVAL),
            Error::Decode(_) => libc::EINVAL,
            Error::Overrun => libc::ENOBUFS,
            Error::Timeout => libc::ETIMEDOUT,
        }
    }
}

impl From<netlink_packet_core::DecodeError> for Error {
    fn from(e: netlink_packet_core::DecodeError) -> Self {
        Error::Decode(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
