//! ipvsadm's command line → a typed [`Action`].
//!
//! This follows ipvsadm 1.31's `parse_options` and the checks at the top of
//! `process_options`, in the same order, so that for any input the first
//! error reported is the one ipvsadm reports:
//! 1. the first flag must be a command (else the "Try" hint, exit 255);
//! 2. each later flag is applied in argv order: a second command is an
//!    "invalid option", a repeated option is "multiple … options", a bad
//!    value fails at once;
//! 3. popt errors stop parsing (`"WORD: reason"`, status -1);
//! 4. `--set` values, then left-over words, then `-b` flags;
//! 5. the command × option matrix (`generic_opt_check`);
//! 6. per-command semantic checks (zero port, one-packet, defaults,
//!    real-server port rules, families, tunnel options).

use super::flags::{
    Cmd, Opt, Tag, COMMANDS_V_OPTIONS, NUMBER_OF_OPT, SCHED_FLAGS, TUNNEL_TYPES_V_OPTIONS,
    TUN_NAMES, TUN_OPTS,
};
use super::popt::Popt;
use super::values::{atoi, host_or_inet_aton, parse_service, string_to_number, strtol_whole};
use super::ListFlags;
use crate::model::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Largest timeout ipvsadm accepts (31 days).
pub const MAX_TIMEOUT: i64 = 86400 * 31;
/// `-p` without a value.
pub const DEFAULT_PERSISTENT_TIMEOUT: u32 = 360;
pub const DEFAULT_SCHED: &str = "wlc";
pub const DEFAULT_MCAST_IFN: &str = "eth0";
/// Debian's ipvsadm 1.31 accepts weights up to INT_MAX (upstream: 65535).
pub const MAX_WEIGHT: i64 = i32::MAX as i64;

/// Why parsing stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// ipvsadm's `fail()`/`tryhelp_exit()`: print `msg` and a newline to
    /// stderr and end the process with `code` (even inside `-R`).
    Fail { msg: String, code: i32 },
    /// A popt error: `"WORD: reason"` is printed and the line's status is
    /// -1; `-R` carries on with the next line.
    Popt { msg: String },
}

fn fail(code: i32, msg: impl Into<String>) -> ParseError {
    ParseError::Fail {
        msg: msg.into(),
        code,
    }
}

pub fn tryhelp(program: &str) -> ParseError {
    fail(
        255,
        format!("Try `{program} -h' or '{program} --help' for more information."),
    )
}

/// The libipvs call whose errors a kernel failure is reported against
/// (ipvsadm words some errno values differently per call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    AddService,
    UpdateService,
    DelService,
    ZeroService,
    AddDest,
    UpdateDest,
    DelDest,
    StartDaemon,
    StopDaemon,
    Flush,
    SetTimeout,
    GetServices,
    GetService,
    GetDests,
}

impl Call {
    /// The call an operation is reported as.
    pub fn of(op: &Op) -> Call {
        match op {
            Op::AddService(_) => Call::AddService,
            Op::EditService(_) => Call::UpdateService,
            Op::DelService(_) => Call::DelService,
            Op::AddDest(..) => Call::AddDest,
            Op::EditDest(..) => Call::UpdateDest,
            Op::DelDest(..) => Call::DelDest,
            Op::Zero(_) => Call::ZeroService,
            Op::Flush => Call::Flush,
            Op::SetTimeouts(_) => Call::SetTimeout,
            Op::StartDaemon(_) => Call::StartDaemon,
            Op::StopDaemon(..) => Call::StopDaemon,
        }
    }
}

/// What to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListWhat {
    All,
    Service(ServiceKey),
    Connections,
    Timeouts,
    Daemons,
}

/// A fully validated command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Help,
    Version,
    List(ListWhat, ListFlags),
    Save(ListFlags),
    Restore,
    /// A change to the kernel tables, and the call it is reported as.
    Change(Op, Call),
}

/// ipvsadm's `struct ipvs_command_entry` while parsing.
#[derive(Clone, Debug)]
struct Entry {
    cmd: Option<Cmd>,
    options: u64,
    list: ListFlags,
    // service
    af: u16,
    protocol: Protocol,
    addr: IpAddr,
    port: u16,
    fwmark: u32,
    sched: String,
    flags: u32,
    timeout: u32,
    netmask: u32,
    pe: String,
    // real server
    dest_af: u16,
    dest_addr: IpAddr,
    dest_port: u16,
    fwd: FwdMethod,
    weight: i32,
    u_threshold: u32,
    l_threshold: u32,
    tun_type: u8,
    tun_port: u16,
    tun_flags: u16,
    // --set
    timeouts: Timeouts,
    // daemon
    daemon_state: DaemonState,
    mcast_ifn: String,
    syncid: u32,
    sync_maxlen: u16,
    mcast_group: Option<IpAddr>,
    mcast_port: u16,
    mcast_ttl: u8,
}

impl Entry {
    fn new() -> Entry {
        Entry {
            cmd: None,
            options: 0,
            list: ListFlags::default(),
            af: 0,
            protocol: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 0,
            fwmark: 0,
            sched: String::new(),
            flags: 0,
            timeout: 0,
            netmask: 0xffff_ffff,
            pe: String::new(),
            dest_af: 0,
            dest_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dest_port: 0,
            fwd: FwdMethod::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: 0,
            tun_port: 0,
            tun_flags: 0,
            timeouts: Timeouts::default(),
            daemon_state: DaemonState::Master,
            mcast_ifn: String::new(),
            syncid: 0,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        }
    }

    fn set_option(&mut self, o: Opt) -> Result<(), ParseError> {
        if self.options & o.bit() != 0 {
            return Err(fail(
                2,
                format!("multiple '{}' options specified", o.name()),
            ));
        }
        self.options |= o.bit();
        Ok(())
    }

    fn has(&self, o: Opt) -> bool {
        self.options & o.bit() != 0
    }

    fn family(af: u16) -> Family {
        if af == Family::AF_INET6 {
            Family::Inet6
        } else {
            Family::Inet
        }
    }

    /// The service identity, if a service was given.
    fn key(&self) -> Option<ServiceKey> {
        if self.fwmark != 0 {
            Some(ServiceKey::Fwmark {
                family: Self::family(self.af),
                mark: self.fwmark,
            })
        } else if self.af != 0 {
            Some(ServiceKey::Addr {
                protocol: self.protocol,
                addr: self.addr,
                port: self.port,
            })
        } else {
            None
        }
    }

    /// The key for commands that require a service (the matrix made sure
    /// one was given).
    fn required_key(&self) -> ServiceKey {
        self.key().unwrap_or(ServiceKey::Addr {
            protocol: self.protocol,
            addr: self.addr,
            port: self.port,
        })
    }

    fn service(&mut self) -> Service {
        let key = self.required_key();
        let pe = std::mem::take(&mut self.pe);
        Service {
            key,
            scheduler: std::mem::take(&mut self.sched),
            flags: ServiceFlags(self.flags),
            timeout: self.timeout,
            netmask: self.netmask,
            pe_name: (!pe.is_empty()).then_some(pe),
            stats: Stats::default(),
        }
    }

    fn dest(&self) -> Dest {
        let mut d = Dest::new(self.dest_addr, self.dest_port);
        d.fwd = self.fwd;
        d.weight = self.weight;
        d.u_threshold = self.u_threshold;
        d.l_threshold = self.l_threshold;
        d.tun_type = TunType::from_raw(self.tun_type);
        d.tun_port = self.tun_port;
        d.tun_flags = TunFlags(self.tun_flags);
        d
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A whole decimal number in `min..=max`, else ipvsadm's "illegal WHAT
/// specified".
fn number(v: &str, min: i64, max: i64, what: &str) -> Result<i64, ParseError> {
    string_to_number(v, min, max).ok_or_else(|| fail(2, format!("illegal {what} specified")))
}

fn parse_timeout(v: Option<&str>, min: i64) -> Result<u32, ParseError> {
    let Some(v) = v else {
        return Ok(DEFAULT_PERSISTENT_TIMEOUT);
    };
    string_to_number(v, min, MAX_TIMEOUT)
        .map(|n| n as u32)
        .ok_or_else(|| fail(2, format!("invalid timeout value `{v}' specified")))
}

fn parse_fwmark(v: &str) -> Result<u32, ParseError> {
    match strtol_whole(v) {
        Some(n) if n > 0 && n <= i64::from(u32::MAX) => Ok(n as u32),
        _ => Err(fail(2, format!("invalid fwmark value `{v}' specified"))),
    }
}

fn parse_sched_flags(sched: &str, arg: &str) -> Result<u32, ParseError> {
    let sched = if sched.is_empty() {
        DEFAULT_SCHED
    } else {
        sched
    };
    let mut flags = 0;
    let mut any = false;
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        any = true;
        let Some(def) = SCHED_FLAGS.iter().find(|f| f.name == flag) else {
            return Err(fail(2, format!("invalid scheduler flag `{flag}'")));
        };
        flags |= def.bit;
        if def.sched.is_some_and(|s| s != sched) {
            return Err(fail(2, format!("incompatible scheduler flag `{flag}'")));
        }
    }
    if !any {
        // ipvsadm 1.31 crashes on a list of only commas.
        return Err(fail(2, format!("invalid scheduler flag `{arg}'")));
    }
    Ok(flags)
}

fn parse_daemon_state(v: &str, msg: &str) -> Result<DaemonState, ParseError> {
    match v {
        "master" => Ok(DaemonState::Master),
        "backup" => Ok(DaemonState::Backup),
        _ => Err(fail(2, msg)),
    }
}

/// Parse one ipvsadm command line (`argv[0]` is the program name used in
/// messages).
pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<Action, ParseError> {
    let program = argv.first().map(AsRef::as_ref).unwrap_or("ipvsadm");
    let args = argv.get(1..).unwrap_or(&[]);
    let mut popt = Popt::new(args);
    let mut ce = Entry::new();

    // 1. The command.
    let first = match popt.next_opt() {
        Ok(Some(o)) if o.def.command => o,
        _ => return Err(tryhelp(program)),
    };
    match first.def.tag {
        Tag::Help => return Ok(Action::Help),
        Tag::Version => return Ok(Action::Version),
        Tag::StartDaemon => {
            ce.daemon_state = parse_daemon_state(
                first.value.unwrap_or(""),
                "illegal start-daemon parameter specified",
            )?
        }
        Tag::StopDaemon => {
            ce.daemon_state =
                parse_daemon_state(first.value.unwrap_or(""), "illegal start_daemon specified")?
        }
        _ => {}
    }
    let Some(cmd) = first.def.cmd else {
        return Err(tryhelp(program));
    };
    ce.cmd = Some(cmd);

    // 2. Every other flag, in order.
    let mut sched_flags_arg = String::new();
    loop {
        let o = match popt.next_opt() {
            Ok(Some(o)) => o,
            Ok(None) => break,
            Err((kind, word)) => {
                return Err(ParseError::Popt {
                    msg: format!("{word}: {}", kind.text()),
                })
            }
        };
        let val = o.value;
        let v = val.unwrap_or("");
        // A repeated option fails before its value is looked at.
        if let Some(bit) = o.def.bit {
            ce.set_option(bit)?;
        }
        match o.def.tag {
            Tag::TcpService | Tag::UdpService | Tag::SctpService => {
                ce.protocol = match o.def.tag {
                    Tag::TcpService => Protocol::Tcp,
                    Tag::UdpService => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                let p = parse_service(v, ce.protocol)
                    .ok_or_else(|| fail(2, "illegal virtual server address[:port] specified"))?;
                ce.addr = p.addr;
                ce.af = p.family().to_raw();
                if p.family() == Family::Inet6 {
                    ce.netmask = 128;
                }
                if let Some(port) = p.port {
                    ce.port = port;
                }
            }
            Tag::FwmarkService => {
                ce.af = Family::AF_INET;
                ce.protocol = Protocol::Tcp;
                ce.fwmark = parse_fwmark(v)?;
            }
            Tag::Scheduler => {
                ce.sched = truncate(v, 15);
            }
            Tag::Persistent => {
                ce.flags |= ServiceFlags::PERSISTENT;
                ce.timeout = parse_timeout(val, 1)?;
            }
            Tag::Netmask => {
                if ce.af != Family::AF_INET6 {
                    let m = host_or_inet_aton(v).ok_or_else(|| {
                        fail(2, "illegal virtual server persistent mask specified")
                    })?;
                    ce.netmask = u32::from(m);
                } else {
                    let n = atoi(v);
                    if !(1..=128).contains(&n) {
                        return Err(fail(2, "illegal ipv6 netmask specified"));
                    }
                    ce.netmask = n as u32;
                }
            }
            Tag::RealServer => {
                let p = parse_service(v, ce.protocol)
                    .ok_or_else(|| fail(2, "illegal real server address[:port] specified"))?;
                ce.dest_af = p.family().to_raw();
                ce.dest_addr = p.addr;
                ce.dest_port = p.port.unwrap_or(ce.port);
            }
            Tag::Ipip | Tag::Gatewaying | Tag::Masquerading => {
                ce.fwd = match o.def.tag {
                    Tag::Ipip => FwdMethod::Tunnel,
                    Tag::Gatewaying => FwdMethod::Route,
                    _ => FwdMethod::Masq,
                };
            }
            Tag::Weight => {
                ce.weight = number(v, 0, MAX_WEIGHT, "weight")? as i32;
            }
            Tag::UThreshold => {
                ce.u_threshold = number(v, 0, i64::from(i32::MAX), "u_threshold")? as u32;
            }
            Tag::LThreshold => {
                ce.l_threshold = number(v, 0, i64::from(i32::MAX), "l_threshold")? as u32;
            }
            Tag::Connection => {}
            Tag::Numeric => {
                ce.list.numeric = true;
            }
            Tag::McastInterface => {
                ce.mcast_ifn = truncate(v, 15);
            }
            Tag::SyncId => {
                ce.syncid = number(v, 0, 255, "syncid")? as u32;
            }
            Tag::Timeout => {}
            Tag::Daemon => {}
            Tag::Stats => {
                ce.list.stats = true;
            }
            Tag::Rate => {
                ce.list.rate = true;
            }
            Tag::Thresholds => {
                ce.list.thresholds = true;
            }
            Tag::PersistentConn => {
                ce.list.persistent_conn = true;
            }
            Tag::NoSort => {
                ce.list.nosort = true;
            }
            Tag::Sort => {}
            Tag::Exact => {
                ce.list.exact = true;
            }
            Tag::Ipv6 => {
                if ce.fwmark != 0 {
                    ce.af = Family::AF_INET6;
                    ce.netmask = 128;
                } else {
                    return Err(fail(2, "-6 used before -f\n"));
                }
            }
            Tag::Ops => {
                ce.flags |= ServiceFlags::ONEPACKET;
            }
            Tag::Pe => {
                ce.pe = truncate(v, 15);
            }
            Tag::SchedFlags => {
                sched_flags_arg = truncate(v, 127);
            }
            Tag::McastGroup => {
                if v.contains(':') {
                    match v.parse::<Ipv6Addr>() {
                        Ok(a) if a.is_multicast() => ce.mcast_group = Some(IpAddr::V6(a)),
                        _ => return Err(fail(2, format!("invalid IPv6 mcast-group `{v}'"))),
                    }
                } else {
                    match v.parse::<Ipv4Addr>() {
                        Ok(a) if a.is_multicast() => ce.mcast_group = Some(IpAddr::V4(a)),
                        _ => return Err(fail(2, format!("invalid IPv4 mcast-group `{v}'"))),
                    }
                }
            }
            Tag::McastPort => {
                ce.mcast_port = number(v, 1, 65535, "mcast-port")? as u16;
            }
            Tag::McastTtl => {
                ce.mcast_ttl = number(v, 1, 255, "mcast-ttl")? as u8;
            }
            Tag::SyncMaxlen => {
                ce.sync_maxlen = number(v, 1, 65535 - 20 - 8, "sync-maxlen")? as u16;
            }
            Tag::TunInfo => {
                ce.list.tun_info = true;
            }
            Tag::TunType => {
                ce.tun_type = TUN_NAMES
                    .iter()
                    .position(|t| *t == v)
                    .ok_or_else(|| fail(2, "illegal tunnel type specified"))?
                    as u8;
            }
            Tag::TunPort => {
                ce.tun_port = number(v, 1, 65535, "tunnel port")? as u16;
            }
            Tag::TunNocsum => {
                ce.tun_flags |= TunFlags::NOCSUM;
            }
            Tag::TunCsum => {
                ce.tun_flags |= TunFlags::CSUM;
            }
            Tag::TunRemcsum => {
                ce.tun_flags |= TunFlags::REMCSUM;
            }
            Tag::Json => {
                if ce.list.json {
                    return Err(fail(2, "multiple 'json' options specified"));
                }
                ce.list.json = true;
            }
            // A second command, -h or -v after the command.
            _ => return Err(fail(2, format!("invalid option `{}'", o.word))),
        }
    }

    // 4. --set values, left-overs, scheduler flags.
    if cmd == Cmd::Timeout {
        let a = popt.take_leftover();
        let b = popt.take_leftover();
        let c = popt.take_leftover();
        match (a, b, c) {
            (Some(a), Some(b), Some(c)) => {
                ce.timeouts = Timeouts {
                    tcp: parse_timeout(Some(a), 0)?,
                    tcp_fin: parse_timeout(Some(b), 0)?,
                    udp: parse_timeout(Some(c), 0)?,
                };
            }
            _ => return Err(fail(2, "--set option requires 3 timeout values")),
        }
    }
    if let Some(extra) = popt.take_leftover() {
        return Err(fail(2, format!("unexpected argument {extra}")));
    }
    if !sched_flags_arg.is_empty() {
        ce.flags &= !ServiceFlags::SCHED_MASK;
        ce.flags |= parse_sched_flags(&ce.sched, &sched_flags_arg)?;
    }

    // 5. The command × option matrix, then our own --json.
    generic_opt_check(cmd, ce.options)?;
    if ce.list.json {
        if !matches!(cmd, Cmd::List | Cmd::Save) {
            return Err(fail(
                2,
                format!("Illegal 'json' option with the '{}' command", cmd.name()),
            ));
        }
        if ce.has(Opt::Connection) {
            return Err(fail(
                2,
                "The option 'json' conflicts with the 'connection' option in the 'list' command",
            ));
        }
    }

    // 6. Per-command checks.
    finish(cmd, ce)
}

/// The option bits a matrix row marks with `want`.
const fn rule_mask(row: &[u8; NUMBER_OF_OPT], want: u8) -> u64 {
    let mut m = 0u64;
    let mut j = 0;
    while j < NUMBER_OF_OPT {
        if row[j] == want {
            m |= 1 << j;
        }
        j += 1;
    }
    m
}

/// Per command: the required, illegal and exclusive option bits.
static RULE_MASKS: [[u64; 3]; 14] = {
    let mut t = [[0u64; 3]; 14];
    let mut i = 0;
    while i < 14 {
        let row = COMMANDS_V_OPTIONS[i];
        t[i] = [
            rule_mask(row, b'+'),
            rule_mask(row, b'x'),
            rule_mask(row, b'1'),
        ];
        i += 1;
    }
    t
};

fn generic_opt_check(cmd: Cmd, options: u64) -> Result<(), ParseError> {
    // Fast acceptance: nothing required is missing, nothing illegal is
    // given, at most one exclusive option. Otherwise `matrix_check` finds
    // the first violation in ipvsadm's order.
    let [required, illegal, exclusive] = RULE_MASKS[cmd as usize];
    if required & !options == 0 && illegal & options == 0 && (exclusive & options).count_ones() <= 1
    {
        return Ok(());
    }
    let row = COMMANDS_V_OPTIONS[cmd as usize];
    let rules = (0..NUMBER_OF_OPT).map(|j| (row[j], 1u64 << j, super::flags::OPT_NAMES[j]));
    matrix_check(rules, options, || format!("'{}' command", cmd.name()))
}

fn tunnel_opt_check(tun_type: u8, options: u64) -> Result<(), ParseError> {
    let Some(row) = TUNNEL_TYPES_V_OPTIONS.get(usize::from(tun_type)) else {
        return Ok(());
    };
    let rules = TUN_OPTS
        .iter()
        .enumerate()
        .map(|(j, o)| (row[j], o.bit(), o.name()));
    matrix_check(rules, options, || {
        format!("'{}' tunnel type", TUN_NAMES[usize::from(tun_type)])
    })
}

/// ipvsadm's `generic_opt_check`/`tunnel_opt_check`: walk the (rule, option
/// bit, option name) columns in order and report the first violation —
/// `+` required but absent, `x` present but illegal, a second `1` present.
/// `what` names the row ("'add-server' command", "'gue' tunnel type"); it
/// is only called for a message (this runs for every `-R` line).
fn matrix_check<'n>(
    rules: impl Iterator<Item = (u8, u64, &'n str)>,
    options: u64,
    what: impl Fn() -> String,
) -> Result<(), ParseError> {
    let mut first_exclusive: Option<&str> = None;
    for (rule, bit, name) in rules {
        let given = options & bit != 0;
        match (rule, given) {
            (b'+', false) => {
                return Err(fail(
                    2,
                    format!("You need to supply the '{name}' option for the {}", what()),
                ))
            }
            (b'x', true) => {
                return Err(fail(
                    2,
                    format!("Illegal '{name}' option with the {}", what()),
                ))
            }
            (b'1', true) => match first_exclusive {
                None => first_exclusive = Some(name),
                Some(last) => {
                    return Err(fail(
                        2,
                        format!(
                            "The option '{name}' conflicts with the '{last}' option in the {}",
                            what()
                        ),
                    ))
                }
            },
            _ => {}
        }
    }
    Ok(())
}

fn finish(cmd: Cmd, mut ce: Entry) -> Result<Action, ParseError> {
    if matches!(cmd, Cmd::Add | Cmd::Edit) {
        if ce.fwmark == 0 && ce.port == 0 && ce.flags & ServiceFlags::PERSISTENT == 0 {
            return Err(fail(2, "Zero port specified for non-persistent service"));
        }
        if ce.flags & ServiceFlags::ONEPACKET != 0 && ce.fwmark == 0 && ce.protocol != Protocol::Udp
        {
            return Err(fail(
                2,
                "One-Packet Scheduling is only for UDP virtual services",
            ));
        }
        if ce.sched.is_empty() {
            ce.sched = DEFAULT_SCHED.to_string();
        }
    }
    if cmd == Cmd::StartDaemon && ce.mcast_ifn.is_empty() {
        ce.mcast_ifn = DEFAULT_MCAST_IFN.to_string();
    }
    if matches!(cmd, Cmd::AddDest | Cmd::EditDest) {
        if ce.fwmark == 0 && matches!(ce.fwd, FwdMethod::Tunnel | FwdMethod::Route) {
            ce.dest_port = ce.port;
        }
        if ce.dest_af != ce.af && ce.fwd != FwdMethod::Tunnel {
            return Err(fail(
                2,
                "Different address family is allowed only for tunneling servers",
            ));
        }
        let tun_opts = Opt::TunType.bit()
            | Opt::TunPort.bit()
            | Opt::TunNocsum.bit()
            | Opt::TunCsum.bit()
            | Opt::TunRemcsum.bit();
        if ce.options & tun_opts != 0 && ce.fwd != FwdMethod::Tunnel {
            return Err(fail(2, "Tunnel options conflict with forward method"));
        }
        tunnel_opt_check(ce.tun_type, ce.options)?;
    }

    Ok(match cmd {
        Cmd::List => {
            let conflicts =
                (ce.has(Opt::Connection) || ce.has(Opt::Timeout) || ce.has(Opt::Daemon))
                    && (ce.has(Opt::Stats) || ce.has(Opt::Rate) || ce.has(Opt::Thresholds))
                    || (ce.has(Opt::Timeout) || ce.has(Opt::Daemon)) && ce.has(Opt::PersistentConn);
            if conflicts {
                return Err(fail(2, "options conflicts in the list command"));
            }
            let what = if ce.has(Opt::Connection) {
                ListWhat::Connections
            } else if ce.has(Opt::Service) {
                ListWhat::Service(ce.required_key())
            } else if ce.has(Opt::Timeout) {
                ListWhat::Timeouts
            } else if ce.has(Opt::Daemon) {
                ListWhat::Daemons
            } else {
                ListWhat::All
            };
            Action::List(what, ce.list)
        }
        Cmd::Restore => Action::Restore,
        Cmd::Save => {
            let mut f = ce.list;
            f.rule = true;
            Action::Save(f)
        }
        Cmd::Flush => Action::Change(Op::Flush, Call::Flush),
        Cmd::Add => Action::Change(Op::AddService(ce.service()), Call::AddService),
        Cmd::Edit => Action::Change(Op::EditService(ce.service()), Call::UpdateService),
        Cmd::Del => Action::Change(Op::DelService(ce.required_key()), Call::DelService),
        Cmd::Zero => {
            // libipvs zeroes everything unless a mark, an address or a
            // port identifies a service.
            let key = ce.key().filter(|k| match k {
                ServiceKey::Fwmark { .. } => true,
                ServiceKey::Addr { addr, port, .. } => !addr.is_unspecified() || *port != 0,
            });
            Action::Change(Op::Zero(key), Call::ZeroService)
        }
        Cmd::AddDest => Action::Change(Op::AddDest(ce.required_key(), ce.dest()), Call::AddDest),
        Cmd::EditDest => {
            Action::Change(Op::EditDest(ce.required_key(), ce.dest()), Call::UpdateDest)
        }
        Cmd::DelDest => Action::Change(
            Op::DelDest(ce.required_key(), ce.dest_addr, ce.dest_port),
            Call::DelDest,
        ),
        Cmd::Timeout => Action::Change(Op::SetTimeouts(ce.timeouts), Call::SetTimeout),
        Cmd::StartDaemon => Action::Change(
            Op::StartDaemon(Daemon {
                state: ce.daemon_state,
                mcast_ifn: ce.mcast_ifn,
                syncid: ce.syncid,
                sync_maxlen: ce.sync_maxlen,
                mcast_group: ce.mcast_group,
                mcast_port: ce.mcast_port,
                mcast_ttl: ce.mcast_ttl,
            }),
            Call::StartDaemon,
        ),
        Cmd::StopDaemon => {
            Action::Change(Op::StopDaemon(ce.daemon_state, ce.syncid), Call::StopDaemon)
        }
    })
}
