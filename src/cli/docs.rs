//! Documentation generated from the flag table ([`FLAGS`]): the OPTIONS
//! section of `man/ipvsadm.8` ([`man_options`]) and the bash, zsh and fish
//! completion scripts ([`completion`], `ipvsadm completions SHELL`).
//!
//! The generated copies in the repository (`man/ipvsadm.8` between its
//! `BEGIN`/`END GENERATED OPTIONS` markers, `completions/*`) are checked by
//! `tests/docs.rs`; `IPVSADM_REGENERATE=1 cargo test --test docs` rewrites
//! them.

use super::opts::{ArgKind, Cmd, FlagDef, Opt, Tag, COMMANDS_V_OPTIONS, FLAGS};
use std::fmt::Write as _;

/// The schedulers of ipvsadm 1.31's usage text (kernel modules
/// `ip_vs_NAME`).
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
];
/// Tunnel types of `--tun-type`.
pub const TUN_TYPES: &[&str] = &["ipip", "gue", "gre"];
/// States of `--start-daemon` / `--stop-daemon`.
pub const DAEMON_STATES: &[&str] = &["master", "backup"];
/// Persistence engines of `--pe`.
pub const PERSISTENCE_ENGINES: &[&str] = &["sip"];
/// Names accepted by `-b` (comma-separated).
pub const SCHED_FLAGS: &[&str] = &[
    "flag-1",
    "flag-2",
    "flag-3",
    "sh-fallback",
    "sh-port",
    "mh-fallback",
    "mh-port",
];
/// Shells `ipvsadm completions` writes scripts for.
pub const SHELLS: &[&str] = &["bash", "zsh", "fish"];

/// The fixed set of values a flag's argument takes, if it has one.
pub fn choices(tag: Tag) -> Option<&'static [&'static str]> {
    match tag {
        Tag::Scheduler => Some(SCHEDULERS),
        Tag::TunType => Some(TUN_TYPES),
        Tag::StartDaemon | Tag::StopDaemon => Some(DAEMON_STATES),
        Tag::Pe => Some(PERSISTENCE_ENGINES),
        Tag::SchedFlags => Some(SCHED_FLAGS),
        _ => None,
    }
}

/// One of our subcommands, for the completions (the behaviour is in
/// `cli::sub`).
pub struct SubDoc {
    pub name: &'static str,
    pub summary: &'static str,
    /// Long options (without `--`) and their descriptions.
    pub options: &'static [(&'static str, &'static str)],
    /// What the positional argument is.
    pub arg: SubArg,
}

/// The positional argument of a subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubArg {
    None,
    /// A file name, or `-` for standard input.
    File,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

/// Our subcommands (the same words as `cli::sub::SUBCOMMANDS`).
pub static SUBCOMMAND_DOCS: &[SubDoc] = &[
    SubDoc {
        name: "apply",
        summary: "Make the IPVS tables match a rules or JSON file",
        options: &[
            (
                "dry-run",
                "Print the changes as ipvsadm commands, change nothing",
            ),
            (
                "drain",
                "Set real servers to remove that have connections to weight 0",
            ),
            (
                "incremental",
                "Diff against the record of the last apply, read only what differs",
            ),
            ("verbose", "Say on standard error how the state was read"),
            ("help", "Show the usage text"),
        ],
        arg: SubArg::File,
    },
    SubDoc {
        name: "state",
        summary: "Print the whole IPVS state as rules or JSON",
        options: &[
            ("json", "Print JSON instead of rules"),
            ("help", "Show the usage text"),
        ],
        arg: SubArg::None,
    },
    SubDoc {
        name: "completions",
        summary: "Print a shell completion script",
        options: &[("help", "Show the usage text")],
        arg: SubArg::OneOf(SHELLS),
    },
];

/// The ipvsadm command a command flag starts (none for `-h`, `-v`).
fn cmd_of(tag: Tag) -> Option<Cmd> {
    Some(match tag {
        Tag::Add => Cmd::Add,
        Tag::Edit => Cmd::Edit,
        Tag::Del => Cmd::Del,
        Tag::Clear => Cmd::Flush,
        Tag::List => Cmd::List,
        Tag::Zero => Cmd::Zero,
        Tag::AddServer => Cmd::AddDest,
        Tag::EditServer => Cmd::EditDest,
        Tag::DelServer => Cmd::DelDest,
        Tag::Set => Cmd::Timeout,
        Tag::Restore => Cmd::Restore,
        Tag::Save => Cmd::Save,
        Tag::StartDaemon => Cmd::StartDaemon,
        Tag::StopDaemon => Cmd::StopDaemon,
        _ => return None,
    })
}

/// The matrix column of an option flag (none for `-6`, `--sort`,
/// `--json`, which have no bit).
fn opt_of(tag: Tag) -> Option<Opt> {
    Some(match tag {
        Tag::TcpService | Tag::UdpService | Tag::SctpService | Tag::FwmarkService => Opt::Service,
        Tag::Scheduler => Opt::Scheduler,
        Tag::Persistent => Opt::Persistent,
        Tag::Netmask => Opt::Netmask,
        Tag::RealServer => Opt::Server,
        Tag::Masquerading | Tag::Ipip | Tag::Gatewaying => Opt::Forward,
        Tag::Weight => Opt::Weight,
        Tag::UThreshold => Opt::UThreshold,
        Tag::LThreshold => Opt::LThreshold,
        Tag::Numeric => Opt::Numeric,
        Tag::Connection => Opt::Connection,
        Tag::McastInterface => Opt::Mcast,
        Tag::SyncId => Opt::SyncId,
        Tag::Timeout => Opt::Timeout,
        Tag::Daemon => Opt::Daemon,
        Tag::Stats => Opt::Stats,
        Tag::Rate => Opt::Rate,
        Tag::Thresholds => Opt::Thresholds,
        Tag::PersistentConn => Opt::PersistentConn,
        Tag::NoSort => Opt::NoSort,
        Tag::Exact => Opt::Exact,
        Tag::Ops => Opt::OnePacket,
        Tag::Pe => Opt::PersistenceEngine,
        Tag::SchedFlags => Opt::SchedFlags,
        Tag::McastGroup => Opt::McastGroup,
        Tag::McastPort => Opt::McastPort,
        Tag::McastTtl => Opt::McastTtl,
        Tag::SyncMaxlen => Opt::SyncMaxlen,
        Tag::TunInfo => Opt::TunInfo,
        Tag::TunType => Opt::TunType,
        Tag::TunPort => Opt::TunPort,
        Tag::TunNocsum => Opt::TunNocsum,
        Tag::TunCsum => Opt::TunCsum,
        Tag::TunRemcsum => Opt::TunRemcsum,
        _ => return None,
    })
}

/// Does the command flag `command` accept the option flag `option`
/// (by the command x option matrix)? Completions offer only those.
pub fn accepts(command: Tag, option: Tag) -> bool {
    let Some(cmd) = cmd_of(command) else {
        return false;
    };
    let row = COMMANDS_V_OPTIONS[cmd as usize];
    let allowed = |o: Opt| row[o as usize] != b'x';
    match option {
        Tag::Json => matches!(cmd, Cmd::List | Cmd::Save),
        Tag::Ipv6 => allowed(Opt::Service),
        Tag::Sort => allowed(Opt::NoSort),
        t => opt_of(t).is_some_and(allowed),
    }
}

/// Flags that share a long name (`-L` and `-l`) are one entry.
struct Entry {
    shorts: Vec<char>,
    def: &'static FlagDef,
}

fn entries() -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for f in FLAGS {
        if let Some(e) = out.iter_mut().find(|e| e.def.long == f.long) {
            e.shorts.extend(f.short);
        } else {
            out.push(Entry {
                shorts: f.short.into_iter().collect(),
                def: f,
            });
        }
    }
    out
}

/// A man page group: a title, an introduction and which flags.
struct Group {
    title: &'static str,
    intro: &'static str,
    tags: &'static [Tag],
}

/// The option groups of the man page, in order, after the commands.
/// Flags not listed here land in a final "Other options" group.
const GROUPS: &[Group] = &[
    Group {
        title: "Virtual service",
        intro: "Commands that act on one virtual service (`-A`, `-E`, `-D`, `-a`, `-e`, `-d`, and optionally `-L` and `-Z`) name it with exactly one of these.",
        tags: &[
            Tag::TcpService,
            Tag::UdpService,
            Tag::SctpService,
            Tag::FwmarkService,
            Tag::Ipv6,
        ],
    },
    Group {
        title: "Virtual service options",
        intro: "With `-A` and `-E`.",
        tags: &[
            Tag::Scheduler,
            Tag::Persistent,
            Tag::Netmask,
            Tag::Pe,
            Tag::SchedFlags,
            Tag::Ops,
        ],
    },
    Group {
        title: "Real server options",
        intro: "With `-a` and `-e` (`-d` takes `-r` only).",
        tags: &[
            Tag::RealServer,
            Tag::Gatewaying,
            Tag::Ipip,
            Tag::Masquerading,
            Tag::Weight,
            Tag::UThreshold,
            Tag::LThreshold,
            Tag::TunType,
            Tag::TunPort,
            Tag::TunNocsum,
            Tag::TunCsum,
            Tag::TunRemcsum,
        ],
    },
    Group {
        title: "Listing options",
        intro: "With `-L` (`-S` takes `-n` and `--json` only).",
        tags: &[
            Tag::Numeric,
            Tag::Connection,
            Tag::Timeout,
            Tag::Daemon,
            Tag::Stats,
            Tag::Rate,
            Tag::Exact,
            Tag::Thresholds,
            Tag::PersistentConn,
            Tag::TunInfo,
            Tag::NoSort,
            Tag::Sort,
            Tag::Json,
        ],
    },
    Group {
        title: "Synchronisation daemon options",
        intro: "With `--start-daemon` (`--stop-daemon` takes `--syncid` only).",
        tags: &[
            Tag::McastInterface,
            Tag::SyncId,
            Tag::SyncMaxlen,
            Tag::McastGroup,
            Tag::McastPort,
            Tag::McastTtl,
        ],
    },
];

/// More about a flag than its one-line doc: ranges, defaults, quirks.
/// Markup: `` `x` `` bold, `{x}` italic; everything else is plain text.
fn details(tag: Tag) -> &'static str {
    match tag {
        Tag::Add => "Needs a virtual service. The scheduler is `wlc` unless `-s` says otherwise. A TCP, UDP or SCTP service on port 0 must be persistent (`-p`); it then takes every port of its address.",
        Tag::Edit => "The service is described again in full: whatever is not on the command line returns to its default, so leaving out `-s` switches the scheduler to `wlc` and leaving out `-p` ends persistence.",
        Tag::Del => "",
        Tag::Clear => "Removes every virtual service and its real servers. Connection timeouts and synchronisation daemons stay as they are.",
        Tag::List => "Without a service, the whole table with a version header; with a service, only that service and its real servers. With `-c`, `--timeout` or `--daemon`, something else is listed instead (one of them at most, and not together with a service). Names are resolved unless `-n` is given. Running `ipvsadm` without arguments is the same as `-L`. See OUTPUT FORMATS.",
        Tag::Zero => "Resets the connection, packet and byte counters and the rate estimates, of the service given or of every service.",
        Tag::AddServer => "Needs the virtual service and `-r`. Forwarding is direct routing unless `-m` or `-i` is given, the weight is 1 unless `-w` is given.",
        Tag::EditServer => "Like `-E`: leaving out the forwarding method returns to direct routing, leaving out `-w` to weight 1, leaving out `-x`/`-y` to no thresholds.",
        Tag::DelServer => "Needs the virtual service and `-r`.",
        Tag::Set => "Exactly three values follow: the timeout of established TCP connections, of TCP connections after a FIN, and of UDP flows, in whole seconds from 0 to 2678400 (31 days). 0 leaves that timeout as it is. `-L --timeout` shows them.",
        Tag::Help => "Works without IPVS and without root. Only recognised as the first option; the exit status is 0.",
        Tag::Version => "The line is ipvsadm 1.31's, for scripts that parse it.",
        Tag::Restore => "Each line is a command line without the program name, as `-S` writes them. Blank lines and lines whose first word starts with `#` are skipped. See RESTORE INPUT for the details and the exit status.",
        Tag::Save => "One `-A` line per service followed by one `-a` line per real server. With `-n` addresses and ports stay numeric: use it for files restored at boot, when names may not resolve yet. Timeouts and synchronisation daemons are not part of it; `ipvsadm state` writes those too.",
        Tag::StartDaemon => "A {master} daemon sends the state of the connections this director handles to a multicast group; a {backup} daemon receives it, so that a standby director can take over established connections. One of each may run. The virtual services must be the same on both directors.",
        Tag::StopDaemon => "Only `--syncid` may be added.",
        Tag::TcpService => "{host} is an IPv4 address (in any form {inet_aton}(3) accepts), a host name (its first IPv4 address), or an IPv6 address in brackets followed by a port, as in [2001:db8::1]:80. {port} is a number from 0 to 65535 or a service name from /etc/services. An IPv6 address without brackets is taken whole, with port 0; a number alone is refused.",
        Tag::UdpService => "Same syntax as `-t`.",
        Tag::SctpService => "Same syntax as `-t`; there is no short form.",
        Tag::FwmarkService => "All packets that carry this mark (1 to 4294967295, usually set by an {iptables}(8) or {nft}(8) rule in the mangle table) are balanced together, whatever their protocol and port. The service is IPv4 unless `-6` follows.",
        Tag::Ipv6 => "Only valid after `-f`.",
        Tag::Scheduler => "The kernel needs the scheduler's module (ip_vs_{scheduler}); names longer than 15 characters are cut. See SCHEDULERS.",
        Tag::Persistent => "Connections from one client (its address masked with `-M`) go to the same real server as long as the client has connections or its persistence entry has not expired. The timeout, from 1 to 2678400 seconds, is attached (`-p600`, `--persistent=600`) or the next word if that does not start with a dash; without one it is 360 seconds.",
        Tag::Netmask => "For an IPv4 service a dotted mask, such as 255.255.255.0 to keep a client's whole /24 on one server; for an IPv6 service a prefix length from 1 to 128. The default is the full mask. Give it after the service address: an IPv6 `-t` resets it.",
        Tag::Pe => "`sip` keeps SIP messages of one Call-ID on one server (module ip_vs_pe_sip). It takes effect on persistent services. Names are cut to 15 bytes.",
        Tag::SchedFlags => "`flag-1`, `flag-2` and `flag-3` are accepted with any scheduler. With `-s sh`, `sh-fallback` picks another server when the chosen one is unavailable and `sh-port` hashes the source port too; `mh-fallback` and `mh-port` do the same for `-s mh`. The flags are checked against the scheduler given with `-s` (or `wlc`), wherever `-s` appears.",
        Tag::Ops => "Every packet is scheduled on its own instead of starting a connection entry; only for UDP and firewall-mark services.",
        Tag::RealServer => "Same syntax as the service address; without a port, the service's port. With direct routing and tunnelling the port is always the service's, whatever is given: only masquerading can change it. The real server's address family may differ from the service's only with tunnelling.",
        Tag::Gatewaying => "The director only changes the destination link-layer address, so the real server must be on the same network segment and accept packets for the virtual address without answering ARP for it; it replies to the client directly.",
        Tag::Ipip => "The director wraps each packet in an outer header addressed to the real server, which unwraps it, owns the virtual address and replies to the client directly. `--tun-type` chooses the encapsulation.",
        Tag::Masquerading => "The director rewrites the destination address and port; the replies must come back through the director, usually because it is the real server's default gateway.",
        Tag::Weight => "An integer from 0 to 2147483647. Weighted schedulers share connections in proportion to the weights. Weight 0 takes no new connections while the existing ones continue: the way to drain a server.",
        Tag::UThreshold => "Once the server has this many connections it takes no new ones, until they drop to the lower threshold. 0 (the default) means no limit. From 0 to 2147483647.",
        Tag::LThreshold => "Below this many connections, a server that reached its upper threshold takes new ones again. From 0 to 2147483647; the kernel refuses a value above `-x` (\"Numerical result out of range\").",
        Tag::TunType => "`ipip` is IP-in-IP, `gue` Generic UDP Encapsulation (needs `--tun-port`), `gre` GRE. The tunnel options are accepted with `-i` only.",
        Tag::TunPort => "From 1 to 65535; required with `gue`, refused with the other types.",
        Tag::TunNocsum => "For `gue` and `gre`; at most one of `--tun-nocsum`, `--tun-csum`, `--tun-remcsum`.",
        Tag::TunCsum => "For `gue` and `gre`.",
        Tag::TunRemcsum => "For `gue` only.",
        Tag::Numeric => "Without it host and service names are looked up, which can be slow with many entries or without a working resolver.",
        Tag::Connection => "Read from /proc/net/ip_vs_conn.",
        Tag::Timeout => "One line: Timeout (tcp tcpfin udp): 900 120 300.",
        Tag::Daemon => "One line per running daemon; nothing when none runs.",
        Tag::Stats => "Connections, packets and bytes in each direction, since the entry was created or zeroed.",
        Tag::Rate => "Per-second estimates of the same quantities.",
        Tag::Exact => "With `--stats` and `--rate`.",
        Tag::Thresholds => "Upper and lower thresholds and connection counts of each real server.",
        Tag::PersistentConn => "Weight, persistent, active and inactive connection counts of each real server; with `-c`, also the persistence engine data of each connection.",
        Tag::TunInfo => "Forwarding method and tunnel parameters of each real server.",
        Tag::NoSort => "Services and real servers appear in the kernel's order instead of being sorted by protocol, address and port.",
        Tag::Sort => "Kept for old scripts.",
        Tag::Json => "Not with `-c`. See JSON OUTPUT.",
        Tag::McastInterface => "Longer names are cut to 15 characters.",
        Tag::SyncId => "From 0 to 255. A backup daemon ignores messages with another id, except that a backup with id 0 accepts all.",
        Tag::SyncMaxlen => "From 1 to 65507 bytes of UDP payload; by default the kernel derives it from the interface MTU.",
        Tag::McastGroup => "An IPv4 or IPv6 multicast address.",
        Tag::McastPort => "From 1 to 65535.",
        Tag::McastTtl => "From 1 to 255.",
    }
}

// ---------------------------------------------------------------- roff

/// Escape plain text for roff: backslashes, dashes (so that options copy
/// and paste as ASCII) and non-ASCII characters.
fn roff_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            // Allow line breaks inside lists such as rr|wrr|lc or a,b,c.
            '|' | ',' | '/' => {
                out.push(c);
                out.push_str("\\:");
            }
            c if c.is_ascii() => out.push(c),
            c => {
                let _ = write!(out, "\\[u{:04X}]", c as u32);
            }
        }
    }
    out
}

/// Render the small markup of [`details`] (`` `bold` ``, `{italic}`).
fn roff_markup(s: &str) -> String {
    let mut out = String::new();
    let mut plain = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let (close, font) = match c {
            '`' => ('`', "B"),
            '{' => ('}', "I"),
            _ => {
                plain.push(c);
                continue;
            }
        };
        out.push_str(&roff_text(&plain));
        plain.clear();
        let inner: String = chars.by_ref().take_while(|&x| x != close).collect();
        let _ = write!(out, "\\f{font}{}\\fR", roff_text(&inner));
    }
    out.push_str(&roff_text(&plain));
    out
}

/// A text line: protect a leading `.` or `'` from being read as a
/// request.
fn roff_line(out: &mut String, text: &str) {
    if text.starts_with('.') || text.starts_with('\'') {
        out.push_str("\\&");
    }
    out.push_str(text);
    out.push('\n');
}

/// Split prose at sentence ends (". " before a capital, a digit or
/// markup), so that each sentence starts a line as roff expects.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for i in 0..bytes.len().saturating_sub(2) {
        let next = bytes[i + 2];
        if bytes[i] == b'.'
            && bytes[i + 1] == b' '
            && (next.is_ascii_uppercase() || next.is_ascii_digit() || next == b'`' || next == b'{')
        {
            out.push(&text[start..=i]);
            start = i + 2;
        }
    }
    out.push(&text[start..]);
    out
}

/// A value placeholder: words italic, `a|b` alternatives bold.
fn roff_value(v: &str) -> String {
    v.split(' ')
        .map(|w| {
            if w.contains('|') {
                w.split('|')
                    .map(|a| format!("\\fB{}\\fR", roff_text(a)))
                    .collect::<Vec<_>>()
                    .join("|")
            } else {
                format!("\\fI{}\\fR", roff_text(w))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn roff_tag_line(e: &Entry) -> String {
    let mut names: Vec<String> = e
        .shorts
        .iter()
        .map(|c| format!("\\fB\\-{}\\fR", roff_text(&c.to_string())))
        .collect();
    names.push(format!("\\fB\\-\\-{}\\fR", roff_text(e.def.long)));
    let mut line = names.join(", ");
    if !e.def.value.is_empty() {
        match e.def.arg {
            ArgKind::Optional => {
                let _ = write!(line, " [{}]", roff_value(e.def.value));
            }
            _ => {
                let _ = write!(line, " {}", roff_value(e.def.value));
            }
        }
    }
    line
}

fn roff_entry(out: &mut String, e: &Entry) {
    out.push_str(".TP\n");
    roff_line(out, &roff_tag_line(e));
    roff_line(out, &roff_text(e.def.doc));
    let more = details(e.def.tag);
    if !more.is_empty() {
        out.push_str(".IP\n");
        for sentence in sentences(more) {
            roff_line(out, &roff_markup(sentence));
        }
    }
}

/// The OPTIONS section body of `ipvsadm.8` (roff): every flag of
/// [`FLAGS`], the commands first, then the options by topic.
pub fn man_options() -> String {
    let all = entries();
    let mut out = String::new();
    out.push_str(".SS Commands\n");
    roff_line(
        &mut out,
        &roff_markup(
            "Exactly one command, as the first argument (short options bundle, as in `-Ln`).",
        ),
    );
    for e in all.iter().filter(|e| e.def.command) {
        roff_entry(&mut out, e);
    }
    let mut placed: Vec<Tag> = Vec::new();
    for g in GROUPS {
        let _ = writeln!(out, ".SS {}", roff_text(g.title));
        roff_line(&mut out, &roff_markup(g.intro));
        for tag in g.tags {
            if let Some(e) = all.iter().find(|e| e.def.tag == *tag && !e.def.command) {
                roff_entry(&mut out, e);
                placed.push(*tag);
            }
        }
    }
    let rest: Vec<&Entry> = all
        .iter()
        .filter(|e| !e.def.command && !placed.contains(&e.def.tag))
        .collect();
    if !rest.is_empty() {
        out.push_str(".SS Other options\n");
        for e in rest {
            roff_entry(&mut out, e);
        }
    }
    out
}

// ---------------------------------------------------------------- completions

/// The script for `shell` (`bash`, `zsh` or `fish`).
pub fn completion(shell: &str) -> Option<String> {
    match shell {
        "bash" => Some(bash()),
        "zsh" => Some(zsh()),
        "fish" => Some(fish()),
        _ => None,
    }
}

/// One-line description for completions: no final full stop.
fn short_doc(doc: &str) -> &str {
    doc.strip_suffix('.').unwrap_or(doc)
}

fn flag_words(e: &Entry) -> Vec<String> {
    let mut w: Vec<String> = e.shorts.iter().map(|c| format!("-{c}")).collect();
    w.push(format!("--{}", e.def.long));
    w
}

/// Command entries grouped by the option entries they accept (groups in
/// the order of their first command); `-h`/`-v` and the commands that take
/// no option form a group with no options.
fn command_groups(all: &[Entry]) -> Vec<(Vec<&Entry>, Vec<&Entry>)> {
    let mut groups: Vec<(Vec<&Entry>, Vec<&Entry>)> = Vec::new();
    for c in all.iter().filter(|e| e.def.command) {
        let opts: Vec<&Entry> = all
            .iter()
            .filter(|o| !o.def.command && accepts(c.def.tag, o.def.tag))
            .collect();
        let same = |g: &(Vec<&Entry>, Vec<&Entry>)| {
            g.1.len() == opts.len() && g.1.iter().zip(&opts).all(|(a, b)| a.def.tag == b.def.tag)
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.0.push(c),
            None => groups.push((vec![c], opts)),
        }
    }
    groups
}

const HEADER: &str = "ipvsadm-rs: generated from the flag table by `ipvsadm completions";

fn bash() -> String {
    let all = entries();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# bash completion for ipvsadm, ipvsadm-save, ipvsadm-restore"
    );
    let _ = writeln!(s, "# {HEADER} bash`; do not edit.");
    s.push_str("# shellcheck shell=bash\n\n");

    let commands: Vec<String> = all
        .iter()
        .filter(|e| e.def.command)
        .flat_map(flag_words)
        .collect();
    let options: Vec<String> = all
        .iter()
        .filter(|e| !e.def.command)
        .flat_map(flag_words)
        .collect();
    let subs: Vec<&str> = SUBCOMMAND_DOCS.iter().map(|d| d.name).collect();

    s.push_str("_ipvsadm() {\n");
    s.push_str("    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\"\n");
    s.push_str("    [ \"$COMP_CWORD\" -gt 0 ] && prev=\"${COMP_WORDS[COMP_CWORD - 1]}\"\n");
    s.push_str("    COMPREPLY=()\n\n");

    // Subcommands.
    s.push_str("    if [ \"$COMP_CWORD\" -ge 2 ]; then\n");
    s.push_str("        case \"${COMP_WORDS[1]}\" in\n");
    for d in SUBCOMMAND_DOCS {
        let opts: Vec<String> = d.options.iter().map(|(l, _)| format!("--{l}")).collect();
        let _ = writeln!(s, "        {})", d.name);
        match d.arg {
            SubArg::File => {
                let _ = writeln!(
                    s,
                    "            case \"$cur\" in\n                -?*) mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\") ;;\n                *) compopt -o filenames 2>/dev/null\n                   mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n            esac",
                    opts.join(" ")
                );
            }
            SubArg::OneOf(words) => {
                let _ = writeln!(
                    s,
                    "            mapfile -t COMPREPLY < <(compgen -W \"{} {}\" -- \"$cur\")",
                    words.join(" "),
                    opts.join(" ")
                );
            }
            SubArg::None => {
                let _ = writeln!(
                    s,
                    "            mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\")",
                    opts.join(" ")
                );
            }
        }
        s.push_str("            return ;;\n");
    }
    s.push_str("        esac\n    fi\n\n");

    // Values of flags.
    s.push_str("    case \"$prev\" in\n");
    for e in &all {
        if e.def.arg == ArgKind::None {
            continue;
        }
        let pat = flag_words(e).join(" | ");
        if let Some(c) = choices(e.def.tag) {
            let _ = writeln!(
                s,
                "        {pat})\n            mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\")\n            return ;;",
                c.join(" ")
            );
        } else if e.def.tag == Tag::McastInterface {
            let _ = writeln!(
                s,
                "        {pat})\n            mapfile -t COMPREPLY < <(compgen -W \"$(ls /sys/class/net 2>/dev/null)\" -- \"$cur\")\n            return ;;"
            );
        } else if e.def.arg == ArgKind::Required {
            // A value nothing can guess (an address, a number).
            let _ = writeln!(s, "        {pat})\n            return ;;");
        }
    }
    s.push_str("    esac\n\n");

    let _ = writeln!(
        s,
        "    if [ \"$COMP_CWORD\" -le 1 ]; then\n        mapfile -t COMPREPLY < <(compgen -W \"{} {}\" -- \"$cur\")\n        return\n    fi",
        subs.join(" "),
        commands.join(" ")
    );
    // Only the options the command accepts; everything after a bundle
    // such as -Ln.
    s.push_str("    local opts\n    case \"${COMP_WORDS[1]}\" in\n");
    for (cmds, opts) in command_groups(&all) {
        let pat: Vec<String> = cmds.iter().flat_map(|e| flag_words(e)).collect();
        let words: Vec<String> = opts.iter().flat_map(|e| flag_words(e)).collect();
        let _ = writeln!(
            s,
            "        {}) opts=\"{}\" ;;",
            pat.join(" | "),
            words.join(" ")
        );
    }
    let _ = writeln!(s, "        *) opts=\"{}\" ;;", options.join(" "));
    s.push_str("    esac\n");
    s.push_str("    mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n");
    s.push_str("}\n\n");

    s.push_str("_ipvsadm_save() {\n");
    s.push_str(
        "    mapfile -t COMPREPLY < <(compgen -W \"-n\" -- \"${COMP_WORDS[COMP_CWORD]}\")\n",
    );
    s.push_str("}\n\n");
    s.push_str("complete -F _ipvsadm ipvsadm\n");
    s.push_str("complete -F _ipvsadm_save ipvsadm-save\n");
    s.push_str("# ipvsadm-restore reads standard input and takes no arguments.\n");
    s.push_str("complete -W \"\" ipvsadm-restore\n");
    s
}

/// Quote for a zsh single-quoted word.
fn zsh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Escape a description for `_arguments`' `[...]` part.
fn zsh_desc(s: &str) -> String {
    let mut out = String::new();
    for c in short_doc(s).chars() {
        if matches!(c, '[' | ']' | ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escape for `_describe` (`name:description`): colons in the name.
fn zsh_describe_item(name: &str, desc: &str) -> String {
    zsh_quote(&format!("{}:{}", name.replace(':', "\\:"), short_doc(desc)))
}

fn zsh_action(e: &Entry) -> String {
    if let Some(c) = choices(e.def.tag) {
        format!("({})", c.join(" "))
    } else if e.def.tag == Tag::McastInterface {
        "_net_interfaces".to_string()
    } else {
        " ".to_string()
    }
}

/// `options=(...)`: the `_arguments` specs of `opts`.
fn zsh_option_specs(s: &mut String, opts: &[&Entry], indent: &str) {
    if opts.is_empty() {
        let _ = writeln!(s, "{indent}options=()");
        return;
    }
    let _ = writeln!(s, "{indent}options=(");
    for e in opts {
        let words = flag_words(e);
        let excl = format!("({})", words.join(" "));
        let desc = zsh_desc(e.def.doc);
        for w in &words {
            let is_long = w.starts_with("--");
            let suffix = if is_long { "=" } else { "+" };
            let spec = match e.def.arg {
                ArgKind::None => format!("{excl}{w}[{desc}]"),
                ArgKind::Required => format!(
                    "{excl}{w}{suffix}[{desc}]:{}:{}",
                    e.def.value.replace(':', "\\:"),
                    zsh_action(e)
                ),
                ArgKind::Optional => format!("{excl}{w}{suffix}[{desc}]::{}:", e.def.value),
            };
            let _ = writeln!(s, "{indent}    {}", zsh_quote(&spec));
        }
    }
    let _ = writeln!(s, "{indent})");
}

fn zsh() -> String {
    let all = entries();
    let mut s = String::new();
    s.push_str("#compdef ipvsadm ipvsadm-save ipvsadm-restore\n");
    let _ = writeln!(
        s,
        "# zsh completion for ipvsadm, ipvsadm-save, ipvsadm-restore"
    );
    let _ = writeln!(s, "# {HEADER} zsh`; do not edit.\n");

    s.push_str("_ipvsadm() {\n");
    s.push_str("    local -a commands subcommands options\n");
    s.push_str("    case $service in\n");
    s.push_str("        ipvsadm-save)\n            _arguments '-n[numeric output of addresses and ports]'\n            return ;;\n");
    s.push_str("        ipvsadm-restore)\n            _message 'no arguments: the rules are read from standard input'\n            return 1 ;;\n");
    s.push_str("    esac\n\n");

    s.push_str("    commands=(\n");
    for e in all.iter().filter(|e| e.def.command) {
        for w in flag_words(e) {
            let _ = writeln!(s, "        {}", zsh_describe_item(&w, e.def.doc));
        }
    }
    s.push_str("    )\n");
    s.push_str("    subcommands=(\n");
    for d in SUBCOMMAND_DOCS {
        let _ = writeln!(s, "        {}", zsh_describe_item(d.name, d.summary));
    }
    s.push_str("    )\n");

    s.push_str("    if (( CURRENT == 2 )); then\n");
    s.push_str("        if [[ $PREFIX == -* ]]; then\n");
    s.push_str("            _describe -t commands 'ipvsadm command' commands\n");
    s.push_str("        else\n");
    s.push_str("            _describe -t subcommands 'ipvsadm subcommand' subcommands\n");
    s.push_str("        fi\n");
    s.push_str("        return\n    fi\n\n");

    // Subcommands: drop the program name so that _arguments sees the
    // subcommand's own words.
    s.push_str("    case $words[2] in\n");
    for d in SUBCOMMAND_DOCS {
        let _ = writeln!(s, "        {})", d.name);
        s.push_str("            shift words\n            (( CURRENT-- ))\n");
        let mut specs: Vec<String> = d
            .options
            .iter()
            .map(|(l, doc)| zsh_quote(&format!("--{l}[{}]", zsh_desc(doc))))
            .collect();
        match d.arg {
            SubArg::File => specs.push(zsh_quote("1:rules file (- for standard input):_files")),
            SubArg::OneOf(words) => {
                specs.push(zsh_quote(&format!("1:shell:({})", words.join(" "))))
            }
            SubArg::None => {}
        }
        let _ = writeln!(s, "            _arguments -S {}", specs.join(" "));
        s.push_str("            return ;;\n");
    }
    // Commands whose value is the word after them.
    let with_value: Vec<&Entry> = all
        .iter()
        .filter(|e| e.def.command && e.def.arg == ArgKind::Required)
        .collect();
    for e in &with_value {
        let words = flag_words(e).join(" | ");
        let _ = writeln!(
            s,
            "        {words})\n            if (( CURRENT == 3 )); then\n                _wanted values expl {} compadd -- {}\n                return\n            fi ;;",
            zsh_quote(e.def.value),
            choices(e.def.tag).unwrap_or(&[]).join(" ")
        );
    }
    for e in all.iter().filter(|e| e.def.tag == Tag::Set) {
        let words = flag_words(e).join(" | ");
        let _ = writeln!(
            s,
            "        {words})\n            _message {}\n            return ;;",
            zsh_quote(&format!("timeouts in seconds: {}", e.def.value))
        );
    }
    s.push_str("    esac\n\n");

    // The options after the command: those it accepts; all of them after
    // a bundle such as -Ln.
    s.push_str("    case $words[2] in\n");
    for (cmds, opts) in command_groups(&all) {
        let pat: Vec<String> = cmds.iter().flat_map(|e| flag_words(e)).collect();
        let _ = writeln!(s, "        {})", pat.join(" | "));
        zsh_option_specs(&mut s, &opts, "            ");
        s.push_str("            ;;\n");
    }
    s.push_str("        *)\n");
    let every: Vec<&Entry> = all.iter().filter(|e| !e.def.command).collect();
    zsh_option_specs(&mut s, &every, "            ");
    s.push_str("            ;;\n    esac\n");
    s.push_str("    # The command (and the value of --start-daemon, --stop-daemon) is not an option for _arguments.\n");
    s.push_str("    local skip=1\n");
    s.push_str("    case $words[2] in\n");
    let _ = writeln!(
        s,
        "        {}) skip=2 ;;",
        with_value
            .iter()
            .flat_map(|e| flag_words(e))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    s.push_str("    esac\n");
    s.push_str("    words=(\"$words[1]\" \"${(@)words[2+skip,-1]}\")\n");
    s.push_str("    (( CURRENT -= skip ))\n");
    s.push_str("    _arguments -s -S $options '*: :'\n");
    s.push_str("}\n\n");
    s.push_str("if [ \"$funcstack[1]\" = \"_ipvsadm\" ]; then\n");
    s.push_str("    _ipvsadm \"$@\"\n");
    s.push_str("else\n");
    s.push_str("    compdef _ipvsadm ipvsadm ipvsadm-save ipvsadm-restore\n");
    s.push_str("fi\n");
    s
}

/// Quote for a fish single-quoted word.
fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn fish() -> String {
    let all = entries();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# fish completion for ipvsadm, ipvsadm-save, ipvsadm-restore"
    );
    let _ = writeln!(s, "# {HEADER} fish`; do not edit.\n");
    let command_words: Vec<String> = all
        .iter()
        .filter(|e| e.def.command)
        .flat_map(flag_words)
        .collect();
    s.push_str(
        &"# The words typed so far, without the one being completed.
function __ipvsadm_first_word
    test (count (commandline -opc)) -eq 1
end

# After one of the commands $argv in first position; after any bundle such
# as -Ln (not a command word on its own).
function __ipvsadm_after_command
    set -l words (commandline -opc)
    test (count $words) -ge 2
    and string match -q -- '-*' $words[2]
    or return 1
    contains -- $words[2] $argv
    or not contains -- $words[2] COMMAND_WORDS
end

# Right after the command $argv (for its value: --start-daemon master).
function __ipvsadm_command_value
    set -l words (commandline -opc)
    test (count $words) -eq 2
    and contains -- $words[2] $argv
end

# After the subcommand $argv[1].
function __ipvsadm_subcommand
    set -l words (commandline -opc)
    test (count $words) -ge 2
    and test \"$words[2]\" = $argv[1]
end

complete -c ipvsadm -f
complete -c ipvsadm-save -f
complete -c ipvsadm-restore -f
complete -c ipvsadm-save -s n -d 'Numeric output of addresses and ports'

"
        .replace("COMMAND_WORDS", &command_words.join(" ")),
    );
    s.push_str("# Commands (first word).\n");
    for e in all.iter().filter(|e| e.def.command) {
        let _ = writeln!(s, "{}", fish_flag_line(e, "__ipvsadm_first_word"));
    }
    for e in all
        .iter()
        .filter(|e| e.def.command && e.def.arg == ArgKind::Required)
    {
        if let Some(c) = choices(e.def.tag) {
            let cond = fish_quote(&format!(
                "__ipvsadm_command_value {}",
                flag_words(e).join(" ")
            ));
            let _ = writeln!(
                s,
                "complete -c ipvsadm -n {cond} -x -a {} -d {}",
                fish_quote(&c.join(" ")),
                fish_quote(e.def.value)
            );
        }
    }
    s.push_str("\n# Options (after the command).\n");
    for e in all.iter().filter(|e| !e.def.command) {
        let cmds: Vec<String> = all
            .iter()
            .filter(|c| c.def.command && accepts(c.def.tag, e.def.tag))
            .flat_map(flag_words)
            .collect();
        let cond = fish_quote(&format!("__ipvsadm_after_command {}", cmds.join(" ")));
        let _ = writeln!(s, "{}", fish_flag_line(e, &cond));
    }
    s.push_str("\n# Subcommands.\n");
    for d in SUBCOMMAND_DOCS {
        let _ = writeln!(
            s,
            "complete -c ipvsadm -n __ipvsadm_first_word -a {} -d {}",
            d.name,
            fish_quote(d.summary)
        );
    }
    for d in SUBCOMMAND_DOCS {
        let cond = fish_quote(&format!("__ipvsadm_subcommand {}", d.name));
        for (l, doc) in d.options {
            let _ = writeln!(
                s,
                "complete -c ipvsadm -n {cond} -l {l} -d {}",
                fish_quote(doc)
            );
        }
        match d.arg {
            SubArg::File => {
                let _ = writeln!(s, "complete -c ipvsadm -n {cond} -F");
            }
            SubArg::OneOf(words) => {
                let _ = writeln!(
                    s,
                    "complete -c ipvsadm -n {cond} -a {}",
                    fish_quote(&words.join(" "))
                );
            }
            SubArg::None => {}
        }
    }
    s
}

fn fish_flag_line(e: &Entry, cond: &str) -> String {
    let mut line = format!("complete -c ipvsadm -n {cond}");
    for c in &e.shorts {
        let _ = write!(line, " -s {c}");
    }
    let _ = write!(line, " -l {}", e.def.long);
    match e.def.arg {
        ArgKind::Required => {
            line.push_str(" -x");
            if let Some(c) = choices(e.def.tag) {
                let _ = write!(line, " -a {}", fish_quote(&c.join(" ")));
            } else if e.def.tag == Tag::McastInterface {
                line.push_str(" -a '(__fish_print_interfaces)'");
            }
        }
        ArgKind::Optional | ArgKind::None => {}
    }
    let _ = write!(line, " -d {}", fish_quote(short_doc(e.def.doc)));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_in_man_options() {
        let m = man_options();
        for f in FLAGS {
            assert!(
                m.contains(&format!("\\fB\\-\\-{}\\fR", roff_text(f.long))),
                "{}",
                f.long
            );
            if let Some(c) = f.short {
                assert!(m.contains(&format!("\\fB\\-{c}\\fR")), "-{c}");
            }
        }
    }

    #[test]
    fn every_option_in_a_group_once() {
        let m = man_options();
        assert!(
            !m.contains("Other options"),
            "a flag is missing from GROUPS"
        );
        for e in entries() {
            let head = roff_tag_line(&e);
            assert_eq!(m.matches(&format!("{head}\n")).count(), 1, "{head}");
        }
    }

    #[test]
    fn choices_match_flag_docs() {
        for f in FLAGS {
            if let Some(c) = choices(f.tag) {
                let text = format!("{} {}", f.value, f.doc);
                for w in c {
                    assert!(text.contains(w), "{} does not mention {w}", f.long);
                }
            }
        }
    }

    #[test]
    fn roff_escapes() {
        assert_eq!(roff_text("a-b\\c"), "a\\-b\\ec");
        assert_eq!(roff_text("a|b"), "a|\\:b");
        assert_eq!(roff_text("2\u{b3}"), "2\\[u00B3]");
        assert_eq!(roff_markup("`-s` {x}"), "\\fB\\-s\\fR \\fIx\\fR");
        let mut s = String::new();
        roff_line(&mut s, ".x");
        assert_eq!(s, "\\&.x\n");
    }

    #[test]
    fn sentences_split() {
        assert_eq!(
            sentences("A b. C d. `-x` e."),
            vec!["A b.", "C d.", "`-x` e."]
        );
        assert_eq!(sentences("a.b c. d"), vec!["a.b c. d"]);
    }

    #[test]
    fn unknown_shell() {
        assert!(completion("tcsh").is_none());
        for sh in SHELLS {
            assert!(completion(sh).is_some());
        }
    }
}
