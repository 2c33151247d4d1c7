//! The one table of ipvsadm's command-line flags.
//!
//! Every flag is defined exactly once, in [`FLAGS`]: its long and short
//! spelling, whether it takes a value, what the parser returns for it, and
//! its documentation (used by the man page and shell completions). The
//! ipvsadm 1.31 compatibility tables that name options in messages
//! ([`OPT_NAMES`], [`CMD_NAMES`]) and the command × option matrix follow.

use crate::model::ServiceFlags;

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

/// How a shell completes a flag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Complete {
    /// Anything (or one of [`FlagDef::choices`], when it has some).
    Free,
    /// A network interface name.
    Interface,
}

/// The man page section an option is documented in (commands have their
/// own section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Naming the virtual service.
    Service,
    /// `-A`/`-E` options.
    ServiceOptions,
    /// `-a`/`-e` options.
    Server,
    /// `-L` options.
    Listing,
    /// `--start-daemon` options.
    Daemon,
    /// None of the above.
    Other,
}

impl Group {
    /// Every group, in man page order.
    pub const ALL: [Group; 6] = [
        Group::Service,
        Group::ServiceOptions,
        Group::Server,
        Group::Listing,
        Group::Daemon,
        Group::Other,
    ];
}

/// One command-line flag, with every fact about it: the parser, the
/// matrix checks, the man page and the completions all read these.
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
    /// More for the man page: ranges, defaults, quirks. Markup: `` `x` ``
    /// bold, `{x}` italic.
    pub details: &'static str,
    /// Is this a command (must come first)?
    pub command: bool,
    /// The ipvsadm command it starts (none for `-h`, `-v`).
    pub cmd: Option<Cmd>,
    /// Its column of the command × option matrix (none for `-6`,
    /// `--sort`, `--json`).
    pub bit: Option<Opt>,
    /// The fixed set of values it takes, if any.
    pub choices: Option<&'static [&'static str]>,
    /// The value is a comma-separated list of [`FlagDef::choices`].
    pub list: bool,
    pub complete: Complete,
    /// Man page section (options only).
    pub group: Group,
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
        details: "",
        command: false,
        cmd: None,
        bit: None,
        choices: None,
        list: false,
        complete: Complete::Free,
        group: Group::Other,
    }
}

impl FlagDef {
    const fn cmd(mut self, c: Cmd) -> Self {
        self.cmd = Some(c);
        self
    }
    const fn bit(mut self, o: Opt) -> Self {
        self.bit = Some(o);
        self
    }
    const fn choices(mut self, c: &'static [&'static str]) -> Self {
        self.choices = Some(c);
        self
    }
    const fn list(mut self) -> Self {
        self.list = true;
        self
    }
    const fn complete(mut self, c: Complete) -> Self {
        self.complete = c;
        self
    }
    const fn group(mut self, g: Group) -> Self {
        self.group = g;
        self
    }
    const fn details(mut self, d: &'static str) -> Self {
        self.details = d;
        self
    }
}

/// The schedulers of ipvsadm 1.31's usage text (kernel modules
/// `ip_vs_NAME`).
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
];
/// States of `--start-daemon` / `--stop-daemon`.
pub const DAEMON_STATES: &[&str] = &["master", "backup"];
/// Persistence engines of `--pe`.
pub const PERSISTENCE_ENGINES: &[&str] = &["sip"];

/// A scheduler flag of `-b`: its name, its bit, and the scheduler it is
/// restricted to.
pub struct SchedFlag {
    pub name: &'static str,
    pub bit: u32,
    pub sched: Option<&'static str>,
}

const fn sf(name: &'static str, bit: u32, sched: Option<&'static str>) -> SchedFlag {
    SchedFlag { name, bit, sched }
}

/// Every name `-b` accepts.
pub const SCHED_FLAGS: [SchedFlag; 7] = [
    sf("flag-1", ServiceFlags::SCHED1, None),
    sf("flag-2", ServiceFlags::SCHED2, None),
    sf("flag-3", ServiceFlags::SCHED3, None),
    sf("sh-fallback", ServiceFlags::SCHED1, Some("sh")),
    sf("sh-port", ServiceFlags::SCHED2, Some("sh")),
    sf("mh-fallback", ServiceFlags::SCHED1, Some("mh")),
    sf("mh-port", ServiceFlags::SCHED2, Some("mh")),
];

/// The names of [`SCHED_FLAGS`], for documentation and completions.
pub const SCHED_FLAG_NAMES: [&str; 7] = {
    let mut names = [""; 7];
    let mut i = 0;
    while i < 7 {
        names[i] = SCHED_FLAGS[i].name;
        i += 1;
    }
    names
};

/// `print_sched_flags` (with fix 3 of the README): the names of the
/// SCHED1..3 bits set, comma-joined: the `sh-`/`mh-` names for those
/// schedulers, `flag-1`/`flag-2` otherwise; bit 3 is always `flag-3`.
pub fn sched_flag_names(sched: &str, flags: ServiceFlags) -> String {
    let mut out = String::new();
    for bit in [
        ServiceFlags::SCHED1,
        ServiceFlags::SCHED2,
        ServiceFlags::SCHED3,
    ] {
        if !flags.has(bit) {
            continue;
        }
        let name = SCHED_FLAGS
            .iter()
            .find(|f| f.bit == bit && f.sched == Some(sched))
            .or_else(|| {
                SCHED_FLAGS
                    .iter()
                    .find(|f| f.bit == bit && f.sched.is_none())
            })
            .map_or("", |f| f.name);
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
    }
    out
}

use ArgKind::{None as N, Optional as O, Required as R};

/// Every flag ipvsadm 1.31 accepts, in its own table order (which decides
/// nothing but is kept for easy comparison). `-l` is a second spelling of
/// `--list`; `--sort` is accepted and ignored.
pub static FLAGS: &[FlagDef] = &[
    cmd("add-service", Some('A'), N, Tag::Add, "", "Add a virtual service.")
        .cmd(Cmd::Add)
        .details("Needs a virtual service. The scheduler is `wlc` unless `-s` says otherwise. A TCP, UDP or SCTP service on port 0 must be persistent (`-p`); it then takes every port of its address."),
    cmd("edit-service", Some('E'), N, Tag::Edit, "", "Edit a virtual service (a full replace: unspecified options return to their defaults).")
        .cmd(Cmd::Edit)
        .details("The service is described again in full: whatever is not on the command line returns to its default, so leaving out `-s` switches the scheduler to `wlc` and leaving out `-p` ends persistence."),
    cmd("delete-service", Some('D'), N, Tag::Del, "", "Delete a virtual service and its real servers.")
        .cmd(Cmd::Del),
    cmd("clear", Some('C'), N, Tag::Clear, "", "Clear the whole virtual server table.")
        .cmd(Cmd::Flush)
        .details("Removes every virtual service and its real servers. Connection timeouts and synchronisation daemons stay as they are."),
    cmd("list", Some('L'), N, Tag::List, "", "List the virtual server table (all of it, or one service).")
        .cmd(Cmd::List)
        .details("Without a service, the whole table with a version header; with a service, only that service and its real servers. With `-c`, `--timeout` or `--daemon`, something else is listed instead (one of them at most, and not together with a service). Names are resolved unless `-n` is given. Running `ipvsadm` without arguments is the same as `-L`. See OUTPUT FORMATS."),
    cmd("list", Some('l'), N, Tag::List, "", "Same as -L.")
        .cmd(Cmd::List),
    cmd("zero", Some('Z'), N, Tag::Zero, "", "Zero the counters of one service or of all services.")
        .cmd(Cmd::Zero)
        .details("Resets the connection, packet and byte counters and the rate estimates, of the service given or of every service."),
    cmd("add-server", Some('a'), N, Tag::AddServer, "", "Add a real server to a virtual service.")
        .cmd(Cmd::AddDest)
        .details("Needs the virtual service and `-r`. Forwarding is direct routing unless `-m` or `-i` is given, the weight is 1 unless `-w` is given."),
    cmd("edit-server", Some('e'), N, Tag::EditServer, "", "Edit a real server (a full replace: unspecified options return to their defaults).")
        .cmd(Cmd::EditDest)
        .details("Like `-E`: leaving out the forwarding method returns to direct routing, leaving out `-w` to weight 1, leaving out `-x`/`-y` to no thresholds."),
    cmd("delete-server", Some('d'), N, Tag::DelServer, "", "Delete a real server from a virtual service.")
        .cmd(Cmd::DelDest)
        .details("Needs the virtual service and `-r`."),
    cmd("set", None, N, Tag::Set, "tcp tcpfin udp", "Set the TCP, TCP FIN and UDP connection timeouts in seconds (0 = unchanged).")
        .cmd(Cmd::Timeout)
        .details("Exactly three values follow: the timeout of established TCP connections, of TCP connections after a FIN, and of UDP flows, in whole seconds from 0 to 2678400 (31 days). 0 leaves that timeout as it is. `-L --timeout` shows them."),
    cmd("help", Some('h'), N, Tag::Help, "", "Show the usage text.")
        .details("Works without IPVS and without root. Only recognised as the first option; the exit status is 0."),
    cmd("version", Some('v'), N, Tag::Version, "", "Show the version.")
        .details("The line is ipvsadm 1.31's, for scripts that parse it."),
    cmd("restore", Some('R'), N, Tag::Restore, "", "Restore rules from standard input, one ipvsadm command per line.")
        .cmd(Cmd::Restore)
        .details("Each line is a command line without the program name, as `-S` writes them. Blank lines and lines whose first word starts with `#` are skipped. See RESTORE INPUT for the details and the exit status."),
    cmd("save", Some('S'), N, Tag::Save, "", "Save the rules to standard output in a form -R reads back.")
        .cmd(Cmd::Save)
        .details("One `-A` line per service followed by one `-a` line per real server. With `-n` addresses and ports stay numeric: use it for files restored at boot, when names may not resolve yet. Timeouts and synchronisation daemons are not part of it; `ipvsadm state` writes those too."),
    cmd("start-daemon", None, R, Tag::StartDaemon, "master|backup", "Start the connection synchronisation daemon.")
        .cmd(Cmd::StartDaemon)
        .choices(DAEMON_STATES)
        .details("A {master} daemon sends the state of the connections this director handles to a multicast group; a {backup} daemon receives it, so that a standby director can take over established connections. One of each may run. The virtual services must be the same on both directors."),
    cmd("stop-daemon", None, R, Tag::StopDaemon, "master|backup", "Stop the connection synchronisation daemon.")
        .cmd(Cmd::StopDaemon)
        .choices(DAEMON_STATES)
        .details("Only `--syncid` may be added."),
    opt("tcp-service", Some('t'), R, Tag::TcpService, "service-address", "TCP virtual service host[:port].")
        .bit(Opt::Service)
        .group(Group::Service)
        .details("{host} is an IPv4 address (in any form {inet_aton}(3) accepts), a host name (its first IPv4 address), or an IPv6 address in brackets followed by a port, as in [2001:db8::1]:80. {port} is a number from 0 to 65535 or a service name from /etc/services. An IPv6 address without brackets is taken whole, with port 0; a number alone is refused."),
    opt("udp-service", Some('u'), R, Tag::UdpService, "service-address", "UDP virtual service host[:port].")
        .bit(Opt::Service)
        .group(Group::Service)
        .details("Same syntax as `-t`."),
    opt("sctp-service", None, R, Tag::SctpService, "service-address", "SCTP virtual service host[:port].")
        .bit(Opt::Service)
        .group(Group::Service)
        .details("Same syntax as `-t`; there is no short form."),
    opt("fwmark-service", Some('f'), R, Tag::FwmarkService, "fwmark", "Firewall-mark virtual service (an integer greater than zero).")
        .bit(Opt::Service)
        .group(Group::Service)
        .details("All packets that carry this mark (1 to 4294967295, usually set by an {iptables}(8) or {nft}(8) rule in the mangle table) are balanced together, whatever their protocol and port. The service is IPv4 unless `-6` follows."),
    opt("scheduler", Some('s'), R, Tag::Scheduler, "scheduler", "Scheduling algorithm: rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh (default wlc).")
        .bit(Opt::Scheduler)
        .choices(SCHEDULERS)
        .group(Group::ServiceOptions)
        .details("The kernel needs the scheduler's module (ip_vs_{scheduler}); names longer than 15 characters are cut. See SCHEDULERS."),
    opt("persistent", Some('p'), O, Tag::Persistent, "timeout", "Make the service persistent, with an optional timeout in seconds (default 360).")
        .bit(Opt::Persistent)
        .group(Group::ServiceOptions)
        .details("Connections from one client (its address masked with `-M`) go to the same real server as long as the client has connections or its persistence entry has not expired. The timeout, from 1 to 2678400 seconds, is attached (`-p600`, `--persistent=600`) or the next word if that does not start with a dash; without one it is 360 seconds."),
    opt("netmask", Some('M'), R, Tag::Netmask, "netmask", "Persistence granularity mask (IPv4 mask or IPv6 prefix length).")
        .bit(Opt::Netmask)
        .group(Group::ServiceOptions)
        .details("For an IPv4 service a dotted mask, such as 255.255.255.0 to keep a client's whole /24 on one server; for an IPv6 service a prefix length from 1 to 128. The default is the full mask. Give it after the service address: an IPv6 `-t` resets it."),
    opt("real-server", Some('r'), R, Tag::RealServer, "server-address", "Real server host[:port].")
        .bit(Opt::Server)
        .group(Group::Server)
        .details("Same syntax as the service address; without a port, the service's port. With direct routing and tunnelling the port is always the service's, whatever is given: only masquerading can change it. The real server's address family may differ from the service's only with tunnelling."),
    opt("masquerading", Some('m'), N, Tag::Masquerading, "", "Forward by masquerading (NAT).")
        .bit(Opt::Forward)
        .group(Group::Server)
        .details("The director rewrites the destination address and port; the replies must come back through the director, usually because it is the real server's default gateway."),
    opt("ipip", Some('i'), N, Tag::Ipip, "", "Forward by tunnelling (IP-in-IP, GUE or GRE).")
        .bit(Opt::Forward)
        .group(Group::Server)
        .details("The director wraps each packet in an outer header addressed to the real server, which unwraps it, owns the virtual address and replies to the client directly. `--tun-type` chooses the encapsulation."),
    opt("gatewaying", Some('g'), N, Tag::Gatewaying, "", "Forward by direct routing (the default).")
        .bit(Opt::Forward)
        .group(Group::Server)
        .details("The director only changes the destination link-layer address, so the real server must be on the same network segment and accept packets for the virtual address without answering ARP for it; it replies to the client directly."),
    opt("weight", Some('w'), R, Tag::Weight, "weight", "Weight of the real server (default 1).")
        .bit(Opt::Weight)
        .group(Group::Server)
        .details("An integer from 0 to 2147483647. Weighted schedulers share connections in proportion to the weights. Weight 0 takes no new connections while the existing ones continue: the way to drain a server."),
    opt("u-threshold", Some('x'), R, Tag::UThreshold, "uthreshold", "Upper connection threshold of the real server.")
        .bit(Opt::UThreshold)
        .group(Group::Server)
        .details("Once the server has this many connections it takes no new ones, until they drop to the lower threshold. 0 (the default) means no limit. From 0 to 2147483647."),
    opt("l-threshold", Some('y'), R, Tag::LThreshold, "lthreshold", "Lower connection threshold of the real server.")
        .bit(Opt::LThreshold)
        .group(Group::Server)
        .details("Below this many connections, a server that reached its upper threshold takes new ones again. From 0 to 2147483647; the kernel refuses a value above `-x` (\"Numerical result out of range\")."),
    opt("numeric", Some('n'), N, Tag::Numeric, "", "Numeric output of addresses and ports.")
        .bit(Opt::Numeric)
        .group(Group::Listing)
        .details("Without it host and service names are looked up, which can be slow with many entries or without a working resolver."),
    opt("connection", Some('c'), N, Tag::Connection, "", "List the current IPVS connections.")
        .bit(Opt::Connection)
        .group(Group::Listing)
        .details("Read from /proc/net/ip_vs_conn."),
    opt("mcast-interface", None, R, Tag::McastInterface, "interface", "Multicast interface of the sync daemon (default eth0).")
        .bit(Opt::Mcast)
        .complete(Complete::Interface)
        .group(Group::Daemon)
        .details("Longer names are cut to 15 characters."),
    opt("syncid", None, R, Tag::SyncId, "sid", "Sync daemon id, 0-255 (default 0).")
        .bit(Opt::SyncId)
        .group(Group::Daemon)
        .details("From 0 to 255. A backup daemon ignores messages with another id, except that a backup with id 0 accepts all."),
    opt("timeout", None, N, Tag::Timeout, "", "List the timeouts (tcp tcpfin udp).")
        .bit(Opt::Timeout)
        .group(Group::Listing)
        .details("One line: Timeout (tcp tcpfin udp): 900 120 300."),
    opt("daemon", None, N, Tag::Daemon, "", "List the sync daemons.")
        .bit(Opt::Daemon)
        .group(Group::Listing)
        .details("One line per running daemon; nothing when none runs."),
    opt("stats", None, N, Tag::Stats, "", "List with traffic counters.")
        .bit(Opt::Stats)
        .group(Group::Listing)
        .details("Connections, packets and bytes in each direction, since the entry was created or zeroed."),
    opt("rate", None, N, Tag::Rate, "", "List with rates.")
        .bit(Opt::Rate)
        .group(Group::Listing)
        .details("Per-second estimates of the same quantities."),
    opt("thresholds", None, N, Tag::Thresholds, "", "List with thresholds.")
        .bit(Opt::Thresholds)
        .group(Group::Listing)
        .details("Upper and lower thresholds and connection counts of each real server."),
    opt("persistent-conn", None, N, Tag::PersistentConn, "", "List with persistent connection counts.")
        .bit(Opt::PersistentConn)
        .group(Group::Listing)
        .details("Weight, persistent, active and inactive connection counts of each real server; with `-c`, also the persistence engine data of each connection."),
    opt("nosort", None, N, Tag::NoSort, "", "Do not sort services and real servers.")
        .bit(Opt::NoSort)
        .group(Group::Listing)
        .details("Services and real servers appear in the kernel's order instead of being sorted by protocol, address and port."),
    opt("sort", None, N, Tag::Sort, "", "Does nothing (sorting is the default).")
        .group(Group::Listing)
        .details("Kept for old scripts."),
    opt("exact", Some('X'), N, Tag::Exact, "", "Print exact numbers, not K/M/G/T abbreviations.")
        .bit(Opt::Exact)
        .group(Group::Listing)
        .details("With `--stats` and `--rate`."),
    opt("ipv6", Some('6'), N, Tag::Ipv6, "", "The firewall-mark service is IPv6 (after -f).")
        .group(Group::Service)
        .details("Only valid after `-f`."),
    opt("ops", Some('o'), N, Tag::Ops, "", "One-packet scheduling (UDP and fwmark services).")
        .bit(Opt::OnePacket)
        .group(Group::ServiceOptions)
        .details("Every packet is scheduled on its own instead of starting a connection entry; only for UDP and firewall-mark services."),
    opt("pe", None, R, Tag::Pe, "engine", "Persistence engine (sip).")
        .bit(Opt::PersistenceEngine)
        .choices(PERSISTENCE_ENGINES)
        .group(Group::ServiceOptions)
        .details("`sip` keeps SIP messages of one Call-ID on one server (module ip_vs_pe_sip). It takes effect on persistent services. Names are cut to 15 bytes."),
    opt("sched-flags", Some('b'), R, Tag::SchedFlags, "flags", "Scheduler flags, comma-separated: flag-1,flag-2,flag-3, sh-fallback,sh-port, mh-fallback,mh-port.")
        .bit(Opt::SchedFlags)
        .choices(&SCHED_FLAG_NAMES)
        .list()
        .group(Group::ServiceOptions)
        .details("`flag-1`, `flag-2` and `flag-3` are accepted with any scheduler. With `-s sh`, `sh-fallback` picks another server when the chosen one is unavailable and `sh-port` hashes the source port too; `mh-fallback` and `mh-port` do the same for `-s mh`. The flags are checked against the scheduler given with `-s` (or `wlc`), wherever `-s` appears."),
    opt("mcast-group", None, R, Tag::McastGroup, "address", "Sync multicast group (default 224.0.0.81).")
        .bit(Opt::McastGroup)
        .group(Group::Daemon)
        .details("An IPv4 or IPv6 multicast address."),
    opt("mcast-port", None, R, Tag::McastPort, "port", "Sync UDP port (default 8848).")
        .bit(Opt::McastPort)
        .group(Group::Daemon)
        .details("From 1 to 65535."),
    opt("mcast-ttl", None, R, Tag::McastTtl, "ttl", "Sync multicast TTL (default 1).")
        .bit(Opt::McastTtl)
        .group(Group::Daemon)
        .details("From 1 to 255."),
    opt("sync-maxlen", None, R, Tag::SyncMaxlen, "length", "Maximum sync message length (default 1472).")
        .bit(Opt::SyncMaxlen)
        .group(Group::Daemon)
        .details("From 1 to 65507 bytes of UDP payload; by default the kernel derives it from the interface MTU."),
    opt("tun-info", None, N, Tag::TunInfo, "", "List with tunnel information.")
        .bit(Opt::TunInfo)
        .group(Group::Listing)
        .details("Forwarding method and tunnel parameters of each real server."),
    opt("tun-type", None, R, Tag::TunType, "type", "Tunnel type: ipip|gue|gre (default ipip).")
        .bit(Opt::TunType)
        .choices(&TUN_NAMES)
        .group(Group::Server)
        .details("`ipip` is IP-in-IP, `gue` Generic UDP Encapsulation (needs `--tun-port`), `gre` GRE. The tunnel options are accepted with `-i` only."),
    opt("tun-port", None, R, Tag::TunPort, "port", "Tunnel destination port (GUE).")
        .bit(Opt::TunPort)
        .group(Group::Server)
        .details("From 1 to 65535; required with `gue`, refused with the other types."),
    opt("tun-nocsum", None, N, Tag::TunNocsum, "", "Tunnel encapsulation without checksum.")
        .bit(Opt::TunNocsum)
        .group(Group::Server)
        .details("For `gue` and `gre`; at most one of `--tun-nocsum`, `--tun-csum`, `--tun-remcsum`."),
    opt("tun-csum", None, N, Tag::TunCsum, "", "Tunnel encapsulation with checksum.")
        .bit(Opt::TunCsum)
        .group(Group::Server)
        .details("For `gue` and `gre`."),
    opt("tun-remcsum", None, N, Tag::TunRemcsum, "", "Tunnel encapsulation with remote checksum (GUE).")
        .bit(Opt::TunRemcsum)
        .group(Group::Server)
        .details("For `gue` only."),
    // Ours, not ipvsadm 1.31's (which rejects it as an unknown option).
    opt("json", None, N, Tag::Json, "", "With -L or -S: print JSON (every field, 64-bit counters) instead of text.")
        .group(Group::Listing)
        .details("Not with `-c`. See JSON OUTPUT."),
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
pub const TUN_NAMES: [&str; 3] = ["ipip", "gue", "gre"];

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
