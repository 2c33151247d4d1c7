//! The one table of ipvsadm's command-line flags.
//!
//! Every flag is defined exactly once, in [`FLAGS`]: its long and short
//! spelling, whether it takes a value, what the parser returns for it, and
//! its documentation (used by the man page and shell completions). The
//! ipvsadm 1.31 compatibility tables that name options in messages
//! ([`OPT_NAMES`], [`CMD_NAMES`]) and the command × option matrix follow.

/// Does the flag take a value?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    None,
    Required,
    /// popt's `POPT_ARGFLAG_OPTIONAL`: the next word is taken only if it
    /// does not start with `-`.
    Optional,
}

/// What the parser reports for a flag (popt's `val`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    // commands
    Add,
    Edit,
    Del,
    Clear,
    List,
    Zero,
    AddServer,
    EditServer,
    DelServer,
    Set,
    Help,
    Version,
    Restore,
    Save,
    StartDaemon,
    StopDaemon,
    // options
    TcpService,
    UdpService,
    SctpService,
    FwmarkService,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Masquerading,
    Ipip,
    Gatewaying,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    McastInterface,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
    Json,
}

/// One command-line flag.
#[derive(Clone, Copy, Debug)]
pub struct FlagDef {
    pub long: &'static str,
    pub short: Option<char>,
    pub arg: ArgKind,
    pub tag: Tag,
    /// Name of the value in documentation (`""` if none).
    pub value: &'static str,
    /// One-line description for the man page and completions.
    pub doc: &'static str,
    /// Is this a command (must come first)?
    pub command: bool,
}

const fn cmd(
    long: &'static str,
    short: Option<char>,
    arg: ArgKind,
    tag: Tag,
    value: &'static str,
    doc: &'static str,
) -> FlagDef {
    let mut f = opt(long, short, arg, tag, value, doc);
    f.command = true;
    f
}

const fn opt(
    long: &'static str,
    short: Option<char>,
    arg: ArgKind,
    tag: Tag,
    value: &'static str,
    doc: &'static str,
) -> FlagDef {
    FlagDef {
        long,
        short,
        arg,
        tag,
        value,
        doc,
        command: false,
    }
}

use ArgKind::{None as N, Optional as O, Required as R};

/// Every flag ipvsadm 1.31 accepts, in its own table order (which decides
/// nothing but is kept for easy comparison). `-l` is a second spelling of
/// `--list`; `--sort` is accepted and ignored.
pub static FLAGS: &[FlagDef] = &[
    cmd("add-service", Some('A'), N, Tag::Add, "", "Add a virtual service."),
    cmd("edit-service", Some('E'), N, Tag::Edit, "", "Edit a virtual service (a full replace: unspecified options return to their defaults)."),
    cmd("delete-service", Some('D'), N, Tag::Del, "", "Delete a virtual service and its real servers."),
    cmd("clear", Some('C'), N, Tag::Clear, "", "Clear the whole virtual server table."),
    cmd("list", Some('L'), N, Tag::List, "", "List the virtual server table (all of it, or one service)."),
    cmd("list", Some('l'), N, Tag::List, "", "Same as -L."),
    cmd("zero", Some('Z'), N, Tag::Zero, "", "Zero the counters of one service or of all services."),
    cmd("add-server", Some('a'), N, Tag::AddServer, "", "Add a real server to a virtual service."),
    cmd("edit-server", Some('e'), N, Tag::EditServer, "", "Edit a real server (a full replace: unspecified options return to their defaults)."),
    cmd("delete-server", Some('d'), N, Tag::DelServer, "", "Delete a real server from a virtual service."),
    cmd("set", None, N, Tag::Set, "tcp tcpfin udp", "Set the TCP, TCP FIN and UDP connection timeouts in seconds (0 = unchanged)."),
    cmd("help", Some('h'), N, Tag::Help, "", "Show the usage text."),
    cmd("version", Some('v'), N, Tag::Version, "", "Show the version."),
    cmd("restore", Some('R'), N, Tag::Restore, "", "Restore rules from standard input, one ipvsadm command per line."),
    cmd("save", Some('S'), N, Tag::Save, "", "Save the rules to standard output in a form -R reads back."),
    cmd("start-daemon", None, R, Tag::StartDaemon, "master|backup", "Start the connection synchronisation daemon."),
    cmd("stop-daemon", None, R, Tag::StopDaemon, "master|backup", "Stop the connection synchronisation daemon."),
    opt("tcp-service", Some('t'), R, Tag::TcpService, "service-address", "TCP virtual service host[:port]."),
    opt("udp-service", Some('u'), R, Tag::UdpService, "service-address", "UDP virtual service host[:port]."),
    opt("sctp-service", None, R, Tag::SctpService, "service-address", "SCTP virtual service host[:port]."),
    opt("fwmark-service", Some('f'), R, Tag::FwmarkService, "fwmark", "Firewall-mark virtual service (an integer greater than zero)."),
    opt("scheduler", Some('s'), R, Tag::Scheduler, "scheduler", "Scheduling algorithm: rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh (default wlc)."),
    opt("persistent", Some('p'), O, Tag::Persistent, "timeout", "Make the service persistent, with an optional timeout in seconds (default 360)."),
    opt("netmask", Some('M'), R, Tag::Netmask, "netmask", "Persistence granularity mask (IPv4 mask or IPv6 prefix length)."),
    opt("real-server", Some('r'), R, Tag::RealServer, "server-address", "Real server host[:port]."),
    opt("masquerading", Some('m'), N, Tag::Masquerading, "", "Forward by masquerading (NAT)."),
    opt("ipip", Some('i'), N, Tag::Ipip, "", "Forward by tunnelling (IP-in-IP, GUE or GRE)."),
    opt("gatewaying", Some('g'), N, Tag::Gatewaying, "", "Forward by direct routing (the default)."),
    opt("weight", Some('w'), R, Tag::Weight, "weight", "Weight of the real server (default 1)."),
    opt("u-threshold", Some('x'), R, Tag::UThreshold, "uthreshold", "Upper connection threshold of the real server."),
    opt("l-threshold", Some('y'), R, Tag::LThreshold, "lthreshold", "Lower connection threshold of the real server."),
    opt("numeric", Some('n'), N, Tag::Numeric, "", "Numeric output of addresses and ports."),
    opt("connection", Some('c'), N, Tag::Connection, "", "List the current IPVS connections."),
    opt("mcast-interface", None, R, Tag::McastInterface, "interface", "Multicast interface of the sync daemon (default eth0)."),
    opt("syncid", None, R, Tag::SyncId, "sid", "Sync daemon id, 0-255 (default 0)."),
    opt("timeout", None, N, Tag::Timeout, "", "List the timeouts (tcp tcpfin udp)."),
    opt("daemon", None, N, Tag::Daemon, "", "List the sync daemons."),
    opt("stats", None, N, Tag::Stats, "", "List with traffic counters."),
    opt("rate", None, N, Tag::Rate, "", "List with rates."),
    opt("thresholds", None, N, Tag::Thresholds, "", "List with thresholds."),
    opt("persistent-conn", None, N, Tag::PersistentConn, "", "List with persistent connection counts."),
    opt("nosort", None, N, Tag::NoSort, "", "Do not sort services and real servers."),
    opt("sort", None, N, Tag::Sort, "", "Does nothing (sorting is the default)."),
    opt("exact", Some('X'), N, Tag::Exact, "", "Print exact numbers, not K/M/G/T abbreviations."),
    opt("ipv6", Some('6'), N, Tag::Ipv6, "", "The firewall-mark service is IPv6 (after -f)."),
    opt("ops", Some('o'), N, Tag::Ops, "", "One-packet scheduling (UDP and fwmark services)."),
    opt("pe", None, R, Tag::Pe, "engine", "Persistence engine (sip)."),
    opt("sched-flags", Some('b'), R, Tag::SchedFlags, "flags", "Scheduler flags, comma-separated: flag-1,flag-2,flag-3, sh-fallback,sh-port, mh-fallback,mh-port."),
    opt("mcast-group", None, R, Tag::McastGroup, "address", "Sync multicast group (default 224.0.0.81)."),
    opt("mcast-port", None, R, Tag::McastPort, "port", "Sync UDP port (default 8848)."),
    opt("mcast-ttl", None, R, Tag::McastTtl, "ttl", "Sync multicast TTL (default 1)."),
    opt("sync-maxlen", None, R, Tag::SyncMaxlen, "length", "Maximum sync message length (default 1472)."),
    opt("tun-info", None, N, Tag::TunInfo, "", "List with tunnel information."),
    opt("tun-type", None, R, Tag::TunType, "type", "Tunnel type: ipip|gue|gre (default ipip)."),
    opt("tun-port", None, R, Tag::TunPort, "port", "Tunnel destination port (GUE)."),
    opt("tun-nocsum", None, N, Tag::TunNocsum, "", "Tunnel encapsulation without checksum."),
    opt("tun-csum", None, N, Tag::TunCsum, "", "Tunnel encapsulation with checksum."),
    opt("tun-remcsum", None, N, Tag::TunRemcsum, "", "Tunnel encapsulation with remote checksum (GUE)."),
    // Ours, not ipvsadm 1.31's (which rejects it as an unknown option).
    opt("json", None, N, Tag::Json, "", "With -L or -S: print JSON (every field, 64-bit counters) instead of text."),
];

/// Look a flag up by its long name (exact match, as popt does).
pub fn by_long(name: &str) -> Option<&'static FlagDef> {
    FLAGS.iter().find(|f| f.long == name)
}

/// Look a flag up by its short letter.
pub fn by_short(c: char) -> Option<&'static FlagDef> {
    FLAGS.iter().find(|f| f.short == Some(c))
}

/// ipvsadm's option bits (`OPTC_*`), in matrix column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Opt {
    Numeric = 0,
    Connection,
    Service,
    Scheduler,
    Persistent,
    Netmask,
    Server,
    Forward,
    Weight,
    UThreshold,
    LThreshold,
    Mcast,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    SyncId,
    Exact,
    OnePacket,
    PersistenceEngine,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
}

pub const NUMBER_OF_OPT: usize = 34;

impl Opt {
    pub fn bit(self) -> u64 {
        1u64 << (self as u8)
    }
    pub fn name(self) -> &'static str {
        OPT_NAMES[self as usize]
    }
}

/// `optnames[]`: how messages name each option.
pub static OPT_NAMES: [&str; NUMBER_OF_OPT] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
];

/// ipvsadm's commands (`CMD_*`), in matrix row order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    Add = 0,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
}

/// `cmdnames[]`.
pub static CMD_NAMES: [&str; 14] = [
    "add-service",
    "edit-service",
    "delete-service",
    "flush",
    "list",
    "add-server",
    "delete-server",
    "edit-server",
    "set",
    "start-daemon",
    "stop-daemon",
    "restore",
    "save",
    "zero",
];

impl Cmd {
    pub fn name(self) -> &'static str {
        CMD_NAMES[self as usize]
    }
}

/// `commands_v_options`: `+` required, `x` illegal, `1` at most one of the
/// `1`s, ` ` optional. Columns follow [`Opt`].
pub static COMMANDS_V_OPTIONS: [&[u8; NUMBER_OF_OPT]; 14] = [
    //  n c s s p M r f w x y m t d s r t p s s e o p b g p t s t t t n c r
    b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // add-service
    b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // edit-service
    b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-service
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // flush
    b" 11xxxxxxxxx11       xxxxxxx xxxxx", // list
    b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // add-server
    b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-server
    b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // edit-server
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // set
    b"xxxxxxxxxxx xxxxxxx xxxx    xxxxxx", // start-daemon
    b"xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx", // stop-daemon
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // restore
    b" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // save
    b"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // zero
];

/// Tunnel options checked per tunnel type, in matrix column order.
pub static TUN_OPTS: [Opt; 4] = [Opt::TunPort, Opt::TunNocsum, Opt::TunCsum, Opt::TunRemcsum];

/// `tunnel_types_v_options` for ipip, gue, gre.
pub static TUNNEL_TYPES_V_OPTIONS: [&[u8; 4]; 3] = [b"xxxx", b"+111", b"x11x"];

/// `tunnames[]`.
pub static TUN_NAMES: [&str; 3] = ["ipip", "gue", "gre"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_defined_once_except_list() {
        for f in FLAGS {
            let same: Vec<_> = FLAGS.iter().filter(|g| g.tag == f.tag).collect();
            assert!(same.len() == 1 || f.tag == Tag::List, "{:?}", f.tag);
            if let Some(c) = f.short {
                assert_eq!(FLAGS.iter().filter(|g| g.short == Some(c)).count(), 1);
            }
        }
    }

    #[test]
    fn matrix_spot_checks() {
        // Rows transcribed from ipvsadm 1.31's commands_v_options.
        let row = |c: Cmd| COMMANDS_V_OPTIONS[c as usize];
        assert_eq!(row(Cmd::Add)[Opt::Service as usize], b'+');
        assert_eq!(row(Cmd::Add)[Opt::OnePacket as usize], b' ');
        assert_eq!(row(Cmd::List)[Opt::Connection as usize], b'1');
        assert_eq!(row(Cmd::List)[Opt::Timeout as usize], b'1');
        assert_eq!(row(Cmd::List)[Opt::SyncId as usize], b' ');
        assert_eq!(row(Cmd::List)[Opt::TunInfo as usize], b' ');
        assert_eq!(row(Cmd::AddDest)[Opt::Server as usize], b'+');
        assert_eq!(row(Cmd::AddDest)[Opt::TunRemcsum as usize], b' ');
        assert_eq!(row(Cmd::StartDaemon)[Opt::Mcast as usize], b' ');
        assert_eq!(row(Cmd::StartDaemon)[Opt::SyncMaxlen as usize], b' ');
        assert_eq!(row(Cmd::StartDaemon)[Opt::TunInfo as usize], b'x');
        assert_eq!(row(Cmd::StopDaemon)[Opt::SyncId as usize], b' ');
        assert_eq!(row(Cmd::Save)[Opt::Numeric as usize], b' ');
        assert_eq!(row(Cmd::Zero)[Opt::Service as usize], b' ');
        for r in COMMANDS_V_OPTIONS {
            assert!(r.iter().all(|c| b"+x1 ".contains(c)));
        }
    }
}
