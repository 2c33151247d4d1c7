//! One check of one target, by type. Every check is bounded by the
//! monitor's `timeout`; a target that hangs, resets or floods ends its own
//! check and nothing else.

use super::config::{CheckType, Monitor};
use super::tls;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// What one probe checks.
pub struct Spec {
    pub target: SocketAddr,
    pub monitor: Monitor,
    /// HTTPS and TLS-HELLO.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The ICMP echo identifier (PING).
    pub ident: u16,
}

/// The result of one check.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub ok: bool,
    pub reason: String,
    pub latency: Duration,
    /// MISC with `misc_dynamic`: the weight the exit status set.
    pub weight: Option<i32>,
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// Run one check.
pub async fn check(spec: &Spec, seq: u16) -> Outcome {
    let start = Instant::now();
    let m = &spec.monitor;
    let r = match m.kind {
        CheckType::UdpConnect => udp(spec).await,
        _ => match tokio::time::timeout(m.timeout, run(spec, seq)).await {
            Ok(r) => r,
            Err(_) => Err(timeout_reason(spec)),
        },
    };
    let latency = start.elapsed();
    match r {
        Ok((reason, weight)) => Outcome {
            ok: true,
            reason,
            latency,
            weight,
        },
        Err(reason) => Outcome {
            ok: false,
            reason,
            latency,
            weight: None,
        },
    }
}

fn timeout_reason(spec: &Spec) -> String {
    let t = secs(spec.monitor.timeout);
    match spec.monitor.kind {
        CheckType::Ping => format!("no echo reply within {t}"),
        CheckType::Misc => format!("command timed out after {t}"),
        _ => format!("timeout after {t}"),
    }
}

type CheckResult = Result<(String, Option<i32>), String>;

async fn run(spec: &Spec, seq: u16) -> CheckResult {
    let m = &spec.monitor;
    match m.kind {
        CheckType::Tcp => {
            let s = connect(spec).await?;
            drop(s);
            Ok(("connected".into(), None))
        }
        CheckType::Http => {
            let mut s = connect(spec).await?;
            let req = request(spec);
            s.write_all(&req)
                .await
                .map_err(|e| format!("sending the request: {}", io_reason(&e)))?;
            let mut buf = Vec::with_capacity(256);
            let mut chunk = [0u8; 512];
            loop {
                let n = s
                    .read(&mut chunk)
                    .await
                    .map_err(|e| format!("reading the answer: {}", io_reason(&e)))?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.contains(&b'\n') || buf.len() > 8192 {
                    break;
                }
            }
            status(spec, &buf)
        }
        CheckType::Https | CheckType::TlsHello => {
            let s = connect(spec).await?;
            let config = spec
                .tls
                .clone()
                .ok_or_else(|| "TLS is not configured".to_string())?;
            let name = match &m.domain_name {
                Some(d) => rustls::pki_types::ServerName::try_from(d.clone())
                    .map_err(|e| format!("domain_name: {e}"))?,
                None => rustls::pki_types::ServerName::IpAddress(spec.target.ip().into()),
            };
            if m.kind == CheckType::TlsHello {
                tls::exchange(s, config, name, None).await?;
                Ok(("TLS handshake done".into(), None))
            } else {
                let req = request(spec);
                let line = tls::exchange(s, config, name, Some(&req))
                    .await?
                    .unwrap_or_default();
                status(spec, &line)
            }
        }
        CheckType::Ping => ping(spec, seq).await,
        CheckType::Misc => misc(spec).await,
        CheckType::UdpConnect => udp(spec).await,
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        _ => match e.raw_os_error() {
            Some(libc::EHOSTUNREACH) => "host unreachable".into(),
            Some(libc::ENETUNREACH) => "network unreachable".into(),
            _ => e.to_string(),
        },
    }
}

async fn connect(spec: &Spec) -> Result<TcpStream, String> {
    TcpStream::connect(spec.target)
        .await
        .map_err(|e| format!("connect: {}", io_reason(&e)))
}

fn request(spec: &Spec) -> Vec<u8> {
    let m = &spec.monitor;
    let host = match &m.domain_name {
        Some(d) => d.clone(),
        None => match spec.target.ip() {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        },
    };
    format!(
        "{} {} HTTP/{}\r\nHost: {}\r\nUser-Agent: ipvsadm-rs-health\r\nConnection: close\r\n\r\n",
        m.http_method, m.url_path, m.http_version, host
    )
    .into_bytes()
}

fn status(spec: &Spec, answer: &[u8]) -> CheckResult {
    let m = &spec.monitor;
    let line = answer.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut w = line.split_ascii_whitespace();
    let code = match (w.next(), w.next()) {
        (Some(v), Some(c)) if v.starts_with("HTTP/") => c.parse::<u16>().ok(),
        _ => None,
    };
    let Some(code) = code else {
        return Err(if answer.is_empty() {
            format!("no HTTP answer on {}", m.url_path)
        } else {
            format!("not an HTTP answer on {}", m.url_path)
        });
    };
    if m.expected_codes
        .iter()
        .any(|&(a, b)| (a..=b).contains(&code))
    {
        Ok((format!("HTTP {code}"), None))
    } else {
        Err(format!("HTTP {code} on {}", m.url_path))
    }
}

/// UDP-CONNECT: a datagram to the target; an ICMP port unreachable within
/// the timeout means down, anything else (an answer, or silence) up.
async fn udp(spec: &Spec) -> CheckResult {
    let local: SocketAddr = match spec.target {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("socket: {e}"))?;
    s.connect(spec.target)
        .await
        .map_err(|e| format!("connect: {}", io_reason(&e)))?;
    s.send(b"\n").await.map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "ICMP port unreachable".to_string(),
        _ => format!("send: {}", io_reason(&e)),
    })?;
    let mut buf = [0u8; 512];
    match tokio::time::timeout(spec.monitor.timeout, s.recv(&mut buf)).await {
        Err(_) => Ok(("no ICMP error".into(), None)),
        Ok(Ok(_)) => Ok(("answered".into(), None)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err("ICMP port unreachable".into())
        }
        Ok(Err(e)) => Err(io_reason(&e)),
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for ch in data.chunks(2) {
        let w = if ch.len() == 2 {
            u16::from_be_bytes([ch[0], ch[1]])
        } else {
            u16::from_be_bytes([ch[0], 0])
        };
        sum += w as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sockaddr(target: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match target {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large enough for sockaddr_in.
            let sin = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as _;
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large enough for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut ss as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as _;
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// PING: one ICMP (ICMPv6) echo request on a raw socket connected to the
/// target; up on the matching echo reply.
async fn ping(spec: &Spec, seq: u16) -> CheckResult {
    let v6 = spec.target.is_ipv6();
    let (af, proto) = if v6 {
        (libc::AF_INET6, libc::IPPROTO_ICMPV6)
    } else {
        (libc::AF_INET, libc::IPPROTO_ICMP)
    };
    // SAFETY: plain socket(2); the descriptor is owned right after.
    let fd = unsafe {
        libc::socket(
            af,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            proto,
        )
    };
    if fd < 0 {
        return Err(format!("ICMP socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let (ss, len) = sockaddr(&spec.target);
    // SAFETY: ss/len describe a valid socket address.
    if unsafe {
        libc::connect(
            fd.as_raw_fd(),
            &ss as *const _ as *const libc::sockaddr,
            len,
        )
    } < 0
    {
        return Err(format!(
            "connect: {}",
            io_reason(&std::io::Error::last_os_error())
        ));
    }
    let mut pkt = [0u8; 24];
    pkt[0] = if v6 { 128 } else { 8 };
    pkt[4..6].copy_from_slice(&spec.ident.to_be_bytes());
    pkt[6..8].copy_from_slice(&seq.to_be_bytes());
    pkt[8..24].copy_from_slice(b"ipvsadm-rs-ping!");
    if !v6 {
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
    }
    // SAFETY: the OwnedFd stays open, and the same descriptor, for as long
    // as the AsyncFd that owns it.
    let afd = unsafe { AsyncFd::register(fd) }.map_err(|e| format!("ICMP socket: {e}"))?;
    // SAFETY: sending from a valid buffer on a valid descriptor.
    let n = unsafe { libc::send(afd.as_raw_fd(), pkt.as_ptr().cast(), pkt.len(), 0) };
    if n < 0 {
        return Err(format!(
            "send: {}",
            io_reason(&std::io::Error::last_os_error())
        ));
    }
    let mut buf = [0u8; 1500];
    loop {
        let mut guard = afd
            .readable()
            .await
            .map_err(|e| format!("ICMP socket: {e}"))?;
        // SAFETY: receiving into a valid buffer on a valid descriptor.
        let n = unsafe { libc::recv(afd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::WouldBlock {
                guard.clear_ready();
                continue;
            }
            return Err(io_reason(&e));
        }
        let data = &buf[..n as usize];
        // IPv4 raw sockets deliver the IP header too.
        let icmp = if v6 {
            data
        } else {
            let ihl = data.first().map_or(0, |b| ((b & 0x0f) as usize) * 4);
            data.get(ihl..).unwrap_or_default()
        };
        if icmp.len() >= 8 {
            let reply = if v6 { 129 } else { 0 };
            if icmp[0] == reply
                && icmp[4..6] == spec.ident.to_be_bytes()
                && icmp[6..8] == seq.to_be_bytes()
            {
                return Ok(("echo reply".into(), None));
            }
        }
    }
}

/// MISC: `/bin/sh -c COMMAND` in its own process group (killed whole on
/// timeout), with TARGET_ADDRESS and TARGET_PORT set. Exit 0 is up; with
/// `misc_dynamic`, 2–255 are up with weight status − 2, 1 is down.
async fn misc(spec: &Spec) -> CheckResult {
    let m = &spec.monitor;
    let Some(cmd) = m.command.as_deref() else {
        return Err("no command".into());
    };
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .env("TARGET_ADDRESS", spec.target.ip().to_string())
        .env("TARGET_PORT", spec.target.port().to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run the command: {e}"))?;
    let pid = child.id();
    let guard = KillGroup(pid);
    let st = child
        .wait()
        .await
        .map_err(|e| format!("waiting for the command: {e}"))?;
    std::mem::forget(guard);
    match st.code() {
        Some(0) => Ok(("exit status 0".into(), None)),
        Some(c) if m.misc_dynamic && c >= 2 => Ok((format!("exit status {c}"), Some(c - 2))),
        Some(c) => Err(format!("exit status {c}")),
        None => Err("killed by a signal".into()),
    }
}

/// Kills a process group when dropped (a check cancelled by its timeout).
struct KillGroup(Option<u32>);

impl Drop for KillGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) on the group we started.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_checksum() {
        // An echo request with zero checksum field sums back to 0 once the
        // checksum is filled in.
        let mut p = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'a', b'b', b'c'];
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&p), 0);
    }
}
