//! Helpers for the kernel tests: a fresh network namespace per test and the
//! ipvsadm 1.31 oracle.
//!
//! Every test calls [`fresh_netns`] first: the calling thread moves into a
//! new network namespace (an empty IPVS table of its own), with `lo` up and
//! a `dummy0` carrying 198.51.100.254/24, 192.0.2.253/24 and
//! 2001:db8:1::fe/64 so that real servers in 198.51.100.0/24 and
//! 2001:db8:1::/64 are plain unicast (not local) addresses. Child processes
//! (the oracle, `ip`) inherit the thread's namespace.

use std::process::Command;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

fn ip_bin() -> String {
    std::env::var("IP_BIN").unwrap_or_else(|_| "/sbin/ip".into())
}

/// Tests that build large tables run alone. In 6.1 the service dump resumes
/// by an index that counts the services of every namespace, so a dump that
/// spans several messages can repeat or skip entries while another
/// namespace changes its table.
static GATE: RwLock<()> = RwLock::new(());

/// Move into a fresh namespace, sharing the machine with other small tests.
pub fn fresh_netns() -> RwLockReadGuard<'static, ()> {
    let g = GATE.read().unwrap_or_else(|e| e.into_inner());
    enter_netns();
    g
}

/// Move into a fresh namespace, with no other test running meanwhile.
pub fn fresh_netns_alone() -> RwLockWriteGuard<'static, ()> {
    let g = GATE.write().unwrap_or_else(|e| e.into_inner());
    enter_netns();
    g
}

/// Move into a fresh namespace (no gate: for callers that hold one).
pub fn enter_netns() {
    // SAFETY: unshare only affects the calling thread's namespaces.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET): {}",
        std::io::Error::last_os_error()
    );
    // One `ip -batch` instead of six processes: process start-up is slow
    // under emulation.
    let script = "link set lo up\n\
                  link add dummy0 type dummy\n\
                  link set dummy0 multicast on up\n\
                  addr add 198.51.100.254/24 dev dummy0\n\
                  addr add 192.0.2.253/24 dev dummy0\n\
                  addr add 2001:db8:1::fe/64 dev dummy0 nodad\n";
    let mut child = Command::new(ip_bin())
        .args(["-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run ip");
    {
        use std::io::Write;
        let mut si = child.stdin.take().expect("stdin");
        si.write_all(script.as_bytes()).expect("write ip script");
    }
    assert!(child.wait().expect("wait ip").success(), "ip -batch failed");
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

/// Run `bin` (as `arg0`) with `args` and, if given, `stdin`, in this
/// thread's netns.
pub fn run_tool<S: AsRef<std::ffi::OsStr>>(
    bin: &str,
    arg0: &str,
    args: &[S],
    stdin: Option<&str>,
) -> Output {
    run_tool_as(None, bin, arg0, args, stdin)
}

/// [`run_tool`], as user and group `uid` (an unprivileged user) if given.
pub fn run_tool_as<S: AsRef<std::ffi::OsStr>>(
    uid: Option<u32>,
    bin: &str,
    arg0: &str,
    args: &[S],
    stdin: Option<&str>,
) -> Output {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut cmd = Command::new(bin);
    if let Some(id) = uid {
        // As root, std also drops the supplementary groups.
        cmd.uid(id).gid(id);
    }
    let mut child = cmd
        .arg0(arg0)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    if let Some(input) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        let _ = si.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().expect("wait");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: out.status.code().unwrap_or(-1),
    }
}

pub fn oracle_bin() -> String {
    std::env::var("IPVS_ORACLE").unwrap_or_else(|_| "/opt/oracle/ipvsadm".into())
}

pub fn ours_bin() -> String {
    std::env::var("IPVS_OURS").unwrap_or_else(|_| "/opt/payload/bin/ipvsadm".into())
}

/// Run ipvsadm 1.31 (the oracle) with `args`, in this thread's netns.
pub fn oracle(args: &[&str]) -> Output {
    run_tool(&oracle_bin(), "ipvsadm", args, None)
}

/// Run our ipvsadm with `args` and, if given, `stdin`.
pub fn ours(args: &[&str], stdin: Option<&str>) -> Output {
    run_tool(&ours_bin(), "ipvsadm", args, stdin)
}

/// `read()` repeated until two reads in a row agree (at most five reads).
/// Linux 6.1 resumes a services dump by a position counted over every
/// namespace, so a service added in another test's namespace meanwhile can
/// make a dump list one of ours twice (seen in CI with ipvsadm 1.31).
pub fn stable_read<T: PartialEq>(mut read: impl FnMut() -> T) -> T {
    let mut last = read();
    for _ in 0..4 {
        let next = read();
        if next == last {
            break;
        }
        last = next;
    }
    last
}

/// `ipvsadm -S -n` of the oracle: the kernel state as ipvsadm 1.31 sees it,
/// read until stable ([`stable_read`]).
pub fn oracle_save() -> String {
    stable_read(|| {
        let o = oracle(&["-S", "-n"]);
        assert_eq!(o.status, 0, "oracle -S -n failed: {}", o.stderr);
        o.stdout
    })
}

/// Assert the oracle's `-S -n` output, given as lines.
#[track_caller]
pub fn assert_saved(lines: &[&str]) {
    let want: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(oracle_save(), want);
}

/// Assert that a library call failed with this kernel errno.
#[track_caller]
pub fn assert_errno<T: std::fmt::Debug>(r: Result<T, ipvsadm_rs::Error>, errno: i32) {
    match r {
        Err(ipvsadm_rs::Error::Kernel(ipvsadm_rs::Errno(e))) => assert_eq!(e, errno),
        other => panic!("expected errno {errno}, got {other:?}"),
    }
}

/// Run iproute2's `ip` with `args` in this thread's netns; panics on failure.
pub fn ip_cmd(args: &[&str]) {
    let o = run_tool(&ip_bin(), "ip", args, None);
    assert_eq!(o.status, 0, "ip {args:?}: {}", o.stderr);
}

/// A program a test runs beside it (keepalived, Prometheus, `ipvsadm
/// serve`): in its own process group, its output in `log`; killed with its
/// group when dropped.
pub struct Proc {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Proc {
    pub fn spawn(mut cmd: Command, log: &std::path::Path, cwd: &std::path::Path) -> Proc {
        use std::os::unix::process::CommandExt as _;
        let f = std::fs::File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let child = cmd
            .current_dir(cwd)
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        Proc {
            child,
            log: log.to_path_buf(),
        }
    }

    /// The last `bytes` (or a little less) of its output.
    pub fn log_tail(&self, bytes: usize) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut cut = s.len().saturating_sub(bytes);
        while !s.is_char_boundary(cut) {
            cut += 1;
        }
        s[cut..].to_string()
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pg = self.child.id() as i32;
        // SAFETY: a signal to the process group this test started.
        unsafe { libc::kill(-pg, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// The test certificate (tests/fixtures/tls) as a rustls server
/// configuration.
pub fn tls_config() -> std::sync::Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(include_bytes!("../fixtures/tls/server.pem"))
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../fixtures/tls/server.key")).unwrap();
    std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    )
}
