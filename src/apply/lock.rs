//! One table-changing run at a time per network namespace (`apply`, `-R`,
//! later the daemon's reloads), in the spirit of nft's transactions: a run
//! reads the state, plans, and changes it with no other run in between.
//!
//! The lock is an abstract unix socket bound to a fixed name. Abstract
//! names belong to the network namespace, so the lock is per namespace
//! with nothing on disk; the kernel releases it when its holder exits,
//! however that happens. A waiting run retries until its deadline; the
//! holder listens, so a waiter can name it (its pid) in the message.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The abstract name (without its leading NUL).
const NAME: &[u8] = b"ipvsadm-rs/table-lock";

/// How long a run waits for another by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct Lock {
    _fd: OwnedFd,
}

fn unix_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn address() -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: sockaddr_un is plain data; all zeroes is valid.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (i, b) in NAME.iter().enumerate() {
        sa.sun_path[i + 1] = *b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + NAME.len();
    (sa, len as libc::socklen_t)
}

/// Try once: `Ok(None)` when another process holds the lock.
fn try_lock() -> io::Result<Option<Lock>> {
    let fd = unix_socket()?;
    let (sa, len) = address();
    // SAFETY: sa is a valid sockaddr_un of length len.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    if r != 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::EADDRINUSE) {
            Ok(None)
        } else {
            Err(e)
        };
    }
    // SAFETY: listen on our own bound socket.
    unsafe { libc::listen(fd.as_raw_fd(), 16) };
    Ok(Some(Lock { _fd: fd }))
}

/// The pid of the lock's holder, if it can be asked.
fn holder() -> Option<i32> {
    let fd = unix_socket().ok()?;
    let (sa, len) = address();
    // SAFETY: connect to the holder's listening socket.
    let r = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: ucred is plain data; getsockopt fills at most its size.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut clen = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut clen,
        )
    };
    (r == 0 && cred.pid > 0).then_some(cred.pid)
}

impl Lock {
    /// Take the lock of this network namespace, waiting up to `wait` for
    /// another run to finish. The error is the message to print.
    pub fn acquire(wait: Duration) -> Result<Lock, String> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            match try_lock() {
                Ok(Some(lock)) => return Ok(lock),
                Ok(None) => {}
                Err(e) => return Err(format!("cannot take the table lock: {e}")),
            }
            let now = Instant::now();
            if now >= deadline {
                let who = holder().map_or_else(String::new, |p| format!(" (pid {p})"));
                return Err(format!(
                    "another run is changing the IPVS tables of this network namespace{who}; \
                     gave up after {} s, nothing was changed",
                    wait.as_secs_f64()
                ));
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_then_fails_and_names_the_first() {
        // Host test: the abstract name is per network namespace; the test
        // process's namespace is enough to show exclusion within one.
        let first = Lock::acquire(Duration::ZERO).expect("first lock");
        let err = Lock::acquire(Duration::from_millis(30)).unwrap_err();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("nothing was changed"), "{err}");
        drop(first);
        Lock::acquire(Duration::ZERO).expect("lock after release");
    }
}
