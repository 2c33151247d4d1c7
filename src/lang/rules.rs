//! Rules files: the `-S` format plus `--set` and `--start-daemon` lines,
//! blank lines and `#` comments; one line at a time into a typed [`Item`].
//! Lines parse on their own, with the parser of command lines
//! ([`super::parse`]).

use super::flags::Tag;
use super::parse::{parse, Action, ParseError};
use super::popt::Popt;
use super::values;
use crate::model::{Daemon, Dest, Op, Service, ServiceKey, Timeouts};

/// What one line of a rules file says.
#[derive(Clone, Debug)]
pub enum Item {
    Service(Service),
    Dest(ServiceKey, Dest),
    Timeouts(Timeouts),
    Daemon(Daemon),
}

impl Item {
    /// The part of the state the line belongs to.
    pub fn owner(&self) -> Owner {
        match self {
            Item::Service(s) => Owner::Service(s.key),
            Item::Dest(k, _) => Owner::Service(*k),
            Item::Timeouts(_) => Owner::Timeouts,
            Item::Daemon(_) => Owner::Daemons,
        }
    }
}

/// The part of the state a line of a rules file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// Blank line or comment.
    None,
    Timeouts,
    Daemons,
    Service(ServiceKey),
}

/// One line of a rules file (without its newline): `Ok(None)` for a blank
/// or comment line, else what it says, or the message (without
/// `FILE:LINE: `) of why it cannot be part of a state. Lines parse on
/// their own; the same text means the same thing unless it names hosts or
/// services, which resolve through NSS (see [`depends_on_names`]).
pub fn parse_line(raw: &str) -> Result<Option<Item>, String> {
    let mut argv: Vec<&str> = Vec::with_capacity(16);
    argv.push("ipvsadm");
    argv.extend(
        raw.split([' ', '\t', '\r'])
            .filter(|w| !w.is_empty() && *w != "ipvsadm"),
    );
    if argv.get(1).is_none_or(|w| w.starts_with('#')) {
        return Ok(None);
    }
    match parse(&argv) {
        Ok(Action::Change(Op::AddService(s), _)) => Ok(Some(Item::Service(s))),
        Ok(Action::Change(Op::AddDest(k, d), _)) => Ok(Some(Item::Dest(k, d))),
        Ok(Action::Change(Op::SetTimeouts(t), _)) => Ok(Some(Item::Timeouts(t))),
        Ok(Action::Change(Op::StartDaemon(d), _)) => Ok(Some(Item::Daemon(d))),
        Ok(_) => Err("only -A, -a, --set and --start-daemon lines describe a state".into()),
        Err(ParseError::Fail { msg, .. }) | Err(ParseError::Popt { msg }) => {
            Err(msg.trim_end().to_string())
        }
    }
}

/// The lines of a rules file: split at LF only, as `ipvsadm -R` reads.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    text.split('\n').filter(move |_| !empty)
}

/// Does what `raw` (a line of a rules file) means depend on name
/// resolution? True when a service or real-server address, a port or a
/// `-M` mask is not numeric: ipvsadm resolves those through NSS
/// (`/etc/hosts`, DNS, `/etc/services`), whose answers can change while
/// the text stays the same.
pub fn depends_on_names(raw: &str) -> bool {
    // Fast path for the lines `-S` writes: every option a word of its own.
    let mut words = raw.split([' ', '\t', '\r']).filter(|w| !w.is_empty());
    let mut simple = true;
    let named_mask = |v: &str| values::inet_aton(v).is_none() && values::strtol_whole(v).is_none();
    while let Some(w) = words.next() {
        let named = match w {
            "-t" | "-u" | "--sctp-service" | "-r" | "--tcp-service" | "--udp-service"
            | "--real-server" => words.next().is_some_and(values::service_uses_names),
            "-M" | "--netmask" => words.next().is_some_and(named_mask),
            // Options whose value has no name in it, and those without one.
            "-s" | "-p" | "-w" | "-x" | "-y" | "-b" | "--pe" | "--tun-type" | "--tun-port"
            | "-f" | "--mcast-interface" | "--syncid" | "--sync-maxlen" | "--mcast-group"
            | "--mcast-port" | "--mcast-ttl" | "--set" | "--start-daemon" => false,
            w if w.starts_with('-') && w.len() == 2 => false,
            w if w.starts_with("--") && !w.contains('=') => false,
            w if w.starts_with('-') => {
                simple = false;
                break;
            }
            _ => false,
        };
        if named {
            return true;
        }
    }
    if simple {
        return false;
    }
    let argv: Vec<&str> = raw
        .split([' ', '\t', '\r'])
        .filter(|w| !w.is_empty() && *w != "ipvsadm")
        .collect();
    let mut popt = Popt::new(&argv);
    while let Ok(Some(o)) = popt.next_opt() {
        let v = o.value.unwrap_or("");
        let named = match o.def.tag {
            Tag::TcpService | Tag::UdpService | Tag::SctpService | Tag::RealServer => {
                values::service_uses_names(v)
            }
            Tag::Netmask => values::inet_aton(v).is_none() && values::strtol_whole(v).is_none(),
            _ => false,
        };
        if named {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_in_addresses_ports_and_masks() {
        for numeric in [
            "-A -t 192.0.2.1:80 -s wlc",
            "-A -t [2001:db8::1]:443 -s rr -p 300 -M 64",
            "-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 3",
            "-A -f 5 -s sh -b sh-port",
            "-A -t 192.0.2.1:80 -s rr -p 60 -M 255.255.255.0",
            "--set 1 2 3",
            "--start-daemon master --mcast-interface eth0 --syncid 3",
            "-a -t 192.0.2.1:80 -r 198.51.100.1 -i --tun-type gue --tun-port 6080",
            "# a comment with words",
            "",
        ] {
            assert!(!depends_on_names(numeric), "{numeric}");
        }
        for named in [
            "-A -t www.example.org:80 -s wlc",
            "-A -t 192.0.2.1:http -s wlc",
            "-a -t 192.0.2.1:80 -r backend1 -m",
            "-a -t 192.0.2.1:80 -r 198.51.100.1:https -m",
            "-A -t 192.0.2.1:80 -s rr -p 60 -M netmask-host",
            // Not the way -S writes: bundles and attached values.
            "-at 192.0.2.1:80 -r host1",
            "-A --tcp-service=web:80",
            "-A -u[2001:db8::1]:domain",
        ] {
            assert!(depends_on_names(named), "{named}");
        }
    }
}
