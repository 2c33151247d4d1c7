//! The FILE of `ipvsadm serve`: the state `ipvsadm apply` reads (rules or
//! JSON, through [`crate::apply::desired`]) plus health monitors.
//!
//! * JSON: a service carries `"health_monitor": {…}` with Octavia's field
//!   names (`type`, `delay`, `timeout`, `max_retries`, `max_retries_down`,
//!   `http_method`, `url_path`, `expected_codes`, `http_version`,
//!   `domain_name`) and ours (`alpha`, `on_failure`, `quorum`,
//!   `hysteresis`, `sorry_server`, `drain_timeout`, `command`,
//!   `misc_dynamic`, `verify`, `ca_file`); a real server may carry
//!   `monitor_address` and `monitor_port`. `ipvsadm apply` ignores them.
//! * Rules: `#@ health SERVICE key=value …` and
//!   `#@ health SERVICE -r SERVER key=value …` lines, SERVICE and SERVER
//!   spelt as in `-A`/`-a` lines. To ipvsadm-restore, Debian's init script
//!   and `ipvsadm apply` they are comments. A value with blanks is written
//!   in double quotes (`command="/usr/local/bin/check 80"`).
//! * A service's name (the `name` label of its metrics, `serve status`,
//!   events): `"name": "web"` in JSON, `#@ name SERVICE NAME` in rules
//!   (NAME last, in double quotes if it has blanks). At most 64
//!   characters, no control character ([`check_name`]).
//!
//! Everything is checked before anything is touched; errors are
//! `FILE:LINE: message` or `FILE: services[i].health_monitor.key: message`.

use crate::apply::desired::{self, Desired};
use crate::lang::parse::{parse, Action};
use crate::model::{FastMap, Op, ServiceKey};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What a check does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckType {
    Tcp,
    Http,
    Https,
    TlsHello,
    UdpConnect,
    Ping,
    /// An external command (keepalived's MISC_CHECK).
    Misc,
}

impl CheckType {
    pub fn name(self) -> &'static str {
        match self {
            CheckType::Tcp => "TCP",
            CheckType::Http => "HTTP",
            CheckType::Https => "HTTPS",
            CheckType::TlsHello => "TLS-HELLO",
            CheckType::UdpConnect => "UDP-CONNECT",
            CheckType::Ping => "PING",
            CheckType::Misc => "MISC",
        }
    }

    fn from_name(s: &str) -> Result<CheckType, String> {
        Ok(match s {
            "TCP" => CheckType::Tcp,
            "HTTP" => CheckType::Http,
            "HTTPS" => CheckType::Https,
            "TLS-HELLO" => CheckType::TlsHello,
            "UDP-CONNECT" => CheckType::UdpConnect,
            "PING" => CheckType::Ping,
            "MISC" => CheckType::Misc,
            "SCTP" => return Err("SCTP health monitors are not supported".into()),
            _ => {
                return Err(format!(
                    "unknown type `{s}` (TCP, HTTP, HTTPS, TLS-HELLO, UDP-CONNECT, PING or MISC)"
                ))
            }
        })
    }
}

/// HTTP methods Octavia allows.
pub const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "PATCH", "CONNECT",
];

/// What makes a check: two real servers with equal monitors on the same
/// target share one probe.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Monitor {
    pub kind: CheckType,
    pub delay: Duration,
    pub timeout: Duration,
    /// `max_retries`: consecutive successes to go up.
    pub rise: u32,
    /// `max_retries_down`: consecutive failures to go down.
    pub fall: u32,
    /// Start down until the first success.
    pub alpha: bool,
    pub http_method: String,
    pub url_path: String,
    /// Inclusive ranges of accepted status codes.
    pub expected_codes: Vec<(u16, u16)>,
    /// `1.0` or `1.1`.
    pub http_version: &'static str,
    pub domain_name: Option<String>,
    /// Verify the server's certificate (HTTPS, TLS-HELLO).
    pub verify: bool,
    pub ca_file: Option<String>,
    /// MISC: run by `/bin/sh -c`.
    pub command: Option<String>,
    /// MISC: exit status 2–255 sets weight status − 2.
    pub misc_dynamic: bool,
}

/// What a failed real server becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Weight 0: established connections go on, new ones go elsewhere.
    Weight0,
    /// Removed from the table.
    Remove,
}

/// A service's health settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    pub monitor: Monitor,
    pub on_failure: OnFailure,
    /// Minimum sum of live weights; below it the sorry server serves.
    pub quorum: u32,
    pub hysteresis: u32,
    pub sorry_server: Option<SocketAddr>,
    /// How long a real server removed from FILE may drain.
    pub drain_timeout: Duration,
}

/// Where a real server is probed, when not at its own address and port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Override {
    pub address: Option<IpAddr>,
    pub port: Option<u16>,
}

/// The whole FILE.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub desired: Desired,
    pub health: FastMap<ServiceKey, Health>,
    pub overrides: FastMap<(ServiceKey, IpAddr, u16), Override>,
    /// The services' names (`name`), where FILE gives one.
    pub names: FastMap<ServiceKey, String>,
}

/// The longest service name, in characters.
pub const MAX_NAME: usize = 64;

/// A service name is 1–[`MAX_NAME`] characters, printable: no control
/// character, no blank but the space, none at either end.
pub fn check_name(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("empty name".into());
    }
    if v.chars().count() > MAX_NAME {
        return Err(format!("longer than {MAX_NAME} characters"));
    }
    if let Some(c) = v
        .chars()
        .find(|c| c.is_control() || (c.is_whitespace() && *c != ' '))
    {
        return Err(format!(
            "`{}` has the control or blank character U+{:04X}",
            v.escape_debug(),
            c as u32
        ));
    }
    if v.starts_with(' ') || v.ends_with(' ') {
        return Err(format!("`{v}` starts or ends with a blank"));
    }
    Ok(())
}

impl Config {
    /// The name FILE gives the service `key`, if any.
    pub fn name(&self, key: &ServiceKey) -> Option<&str> {
        self.names.get(key).map(String::as_str)
    }

    /// Where real server `addr:port` of `key` is probed.
    pub fn target(&self, key: &ServiceKey, addr: IpAddr, port: u16) -> (IpAddr, u16) {
        let o = self
            .overrides
            .get(&(*key, addr, port))
            .copied()
            .unwrap_or_default();
        let port = o.port.unwrap_or(port);
        (o.address.unwrap_or(addr), port)
    }
}

/// Read FILE (`file` names it in messages).
pub fn read(text: &str, file: &str) -> Result<Config, Vec<String>> {
    let json = desired::is_json(text);
    let cfg = if json {
        read_json(text, file)?
    } else {
        read_rules(text, file)?
    };
    let errors = check_targets(&cfg, file, json);
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

/// Every checked real server has a port to check (fwmark services' real
/// servers often have none: they need `monitor_port`).
fn check_targets(cfg: &Config, file: &str, json: bool) -> Vec<String> {
    let mut errors = Vec::new();
    for (i, ws) in cfg.desired.services.iter().enumerate() {
        let key = ws.service.key;
        let Some(h) = cfg.health.get(&key) else {
            continue;
        };
        if matches!(h.monitor.kind, CheckType::Ping | CheckType::Misc) {
            continue;
        }
        for (j, (d, line)) in ws.dests.iter().enumerate() {
            if cfg.target(&key, d.addr, d.port).1 == 0 {
                let msg = format!(
                    "real server {} has port 0: a {} check needs monitor_port",
                    SocketAddr::new(d.addr, d.port),
                    h.monitor.kind.name()
                );
                errors.push(if json {
                    format!("{file}: services[{i}].dests[{j}]: {msg}")
                } else {
                    format!("{file}:{line}: {msg}")
                });
            }
        }
    }
    errors
}

/// Collects `key=value` settings into a [`Health`].
struct Builder {
    kind: Option<CheckType>,
    delay: Option<Duration>,
    timeout: Option<Duration>,
    rise: u32,
    fall: u32,
    alpha: bool,
    http_method: String,
    url_path: String,
    expected_codes: Vec<(u16, u16)>,
    http_version: &'static str,
    domain_name: Option<String>,
    verify: bool,
    ca_file: Option<String>,
    command: Option<String>,
    misc_dynamic: bool,
    on_failure: OnFailure,
    quorum: u32,
    hysteresis: u32,
    sorry_server: Option<SocketAddr>,
    drain_timeout: Duration,
    http_fields: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            kind: None,
            delay: None,
            timeout: None,
            rise: 1,
            fall: 3,
            alpha: false,
            http_method: "GET".into(),
            url_path: "/".into(),
            expected_codes: vec![(200, 200)],
            http_version: "1.0",
            domain_name: None,
            verify: false,
            ca_file: None,
            command: None,
            misc_dynamic: false,
            on_failure: OnFailure::Weight0,
            quorum: 1,
            hysteresis: 0,
            sorry_server: None,
            drain_timeout: Duration::from_secs(300),
            http_fields: false,
        }
    }
}

fn seconds(v: &str) -> Result<Duration, String> {
    let s: f64 = v
        .parse()
        .map_err(|_| format!("`{v}` is not a number of seconds"))?;
    if !(s.is_finite() && s > 0.0 && s <= 86400.0) {
        return Err(format!("`{v}` is outside 0 (excluded) to 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn count(v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(n) if (1..=10).contains(&n) => Ok(n),
        _ => Err(format!("`{v}` is outside 1–10")),
    }
}

fn boolean(v: &str) -> Result<bool, String> {
    match v {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("`{v}` is not true or false")),
    }
}

fn code(s: &str) -> Option<u16> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|c| (100..=599).contains(c))
}

/// `200`, `200,202` or `200-204` (Octavia's forms).
pub fn expected_codes(v: &str) -> Result<Vec<(u16, u16)>, String> {
    let bad = || format!("`{v}` is not NNN, NNN,NNN… or NNN-NNN (codes 100–599)");
    if let Some((a, b)) = v.split_once('-') {
        let (a, b) = (code(a).ok_or_else(bad)?, code(b).ok_or_else(bad)?);
        if a > b {
            return Err(bad());
        }
        return Ok(vec![(a, b)]);
    }
    v.split(',')
        .map(|c| code(c).map(|c| (c, c)).ok_or_else(bad))
        .collect()
}

fn socket_addr(v: &str) -> Result<SocketAddr, String> {
    v.parse()
        .map_err(|_| format!("`{v}` is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)"))
}

impl Builder {
    fn set(&mut self, key: &str, v: &str) -> Result<(), String> {
        match key {
            "type" => self.kind = Some(CheckType::from_name(v)?),
            "delay" => self.delay = Some(seconds(v)?),
            "timeout" => self.timeout = Some(seconds(v)?),
            "max_retries" => self.rise = count(v)?,
            "max_retries_down" => self.fall = count(v)?,
            "http_method" => {
                if !HTTP_METHODS.contains(&v) {
                    return Err(format!("`{v}` is not one of {}", HTTP_METHODS.join(", ")));
                }
                self.http_method = v.into();
                self.http_fields = true;
            }
            "url_path" => {
                if !v.starts_with('/') || v.bytes().any(|b| b <= b' ' || b == 0x7f) {
                    return Err(format!(
                        "`{v}` is not a path (it starts with / and has no blank)"
                    ));
                }
                self.url_path = v.into();
                self.http_fields = true;
            }
            "expected_codes" => {
                self.expected_codes = expected_codes(v)?;
                self.http_fields = true;
            }
            "http_version" => {
                self.http_version = match v {
                    "1.0" => "1.0",
                    "1.1" => "1.1",
                    _ => return Err(format!("`{v}` is not 1.0 or 1.1")),
                };
                self.http_fields = true;
            }
            "domain_name" => {
                if v.is_empty()
                    || !v
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
                {
                    return Err(format!("`{v}` is not a host name"));
                }
                self.domain_name = Some(v.into());
                self.http_fields = true;
            }
            "alpha" => self.alpha = boolean(v)?,
            "verify" => self.verify = boolean(v)?,
            "ca_file" => self.ca_file = Some(v.into()),
            "command" => {
                if v.trim().is_empty() {
                    return Err("empty command".into());
                }
                self.command = Some(v.into());
            }
            "misc_dynamic" => self.misc_dynamic = boolean(v)?,
            "on_failure" => {
                self.on_failure = match v {
                    "weight0" => OnFailure::Weight0,
                    "remove" => OnFailure::Remove,
                    _ => return Err(format!("`{v}` is not weight0 or remove")),
                }
            }
            "quorum" => {
                self.quorum = v
                    .parse::<u32>()
                    .ok()
                    .filter(|&q| q <= 65535 * 1000)
                    .ok_or_else(|| format!("`{v}` is not a weight sum"))?
            }
            "hysteresis" => {
                self.hysteresis = v
                    .parse::<u32>()
                    .map_err(|_| format!("`{v}` is not a weight sum"))?
            }
            "sorry_server" => self.sorry_server = Some(socket_addr(v)?),
            "drain_timeout" => self.drain_timeout = seconds(v)?,
            _ => return Err("unknown key".into()),
        }
        Ok(())
    }

    fn finish(self) -> Result<Health, (&'static str, String)> {
        let kind = self.kind.ok_or(("type", "required".to_string()))?;
        let delay = self.delay.ok_or(("delay", "required".to_string()))?;
        let timeout = self.timeout.ok_or(("timeout", "required".to_string()))?;
        if timeout >= delay {
            return Err((
                "timeout",
                format!(
                    "must be below delay ({} s ≥ {} s)",
                    timeout.as_secs_f64(),
                    delay.as_secs_f64()
                ),
            ));
        }
        let http = matches!(kind, CheckType::Http | CheckType::Https);
        if self.http_fields && !http {
            return Err((
                "type",
                format!(
                    "{} takes no http_method, url_path, expected_codes, http_version or domain_name",
                    kind.name()
                ),
            ));
        }
        if self.domain_name.is_some() && self.http_version != "1.1" {
            return Err(("domain_name", "needs http_version 1.1".into()));
        }
        if (kind == CheckType::Misc) != self.command.is_some() {
            return Err(if kind == CheckType::Misc {
                ("command", "required by type MISC".into())
            } else {
                ("command", "only for type MISC".into())
            });
        }
        if self.misc_dynamic && kind != CheckType::Misc {
            return Err(("misc_dynamic", "only for type MISC".into()));
        }
        if (self.verify || self.ca_file.is_some())
            && !matches!(kind, CheckType::Https | CheckType::TlsHello)
        {
            return Err(("verify", "only for types HTTPS and TLS-HELLO".into()));
        }
        Ok(Health {
            monitor: Monitor {
                kind,
                delay,
                timeout,
                rise: self.rise,
                fall: self.fall,
                alpha: self.alpha,
                http_method: self.http_method,
                url_path: self.url_path,
                expected_codes: self.expected_codes,
                http_version: self.http_version,
                domain_name: self.domain_name,
                verify: self.verify || self.ca_file.is_some(),
                ca_file: self.ca_file,
                command: self.command,
                misc_dynamic: self.misc_dynamic,
            },
            on_failure: self.on_failure,
            quorum: self.quorum,
            hysteresis: self.hysteresis,
            sorry_server: self.sorry_server,
            drain_timeout: self.drain_timeout,
        })
    }
}

/// Check the health settings against the service they belong to.
fn check_service(key: &ServiceKey, h: &Health) -> Result<(), String> {
    if let Some(s) = h.sorry_server {
        if crate::model::Family::of(&s.ip()) != key.family() {
            return Err(format!(
                "sorry_server {s} is not of the service's address family"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- rules --

/// Split a directive into words; `"…"` keeps blanks (`\"` and `\\`
/// escape inside).
fn words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        None => return Err("unterminated quote".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err("unterminated quote".into()),
                        },
                        Some(c) => cur.push(c),
                    }
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// What a `#@ health` line is about.
enum Subject {
    Service(ServiceKey),
    Server(ServiceKey, IpAddr, u16),
}

/// The SERVICE [-r SERVER] words, read as an `-A` or `-a` command line.
fn subject(spec: &[String]) -> Result<Subject, String> {
    if spec.is_empty() {
        return Err("a service (-t, -u, --sctp-service or -f) is needed".into());
    }
    let server = spec.iter().any(|w| {
        w == "-r" || w == "--real-server" || w.starts_with("-r") || w.starts_with("--real-server=")
    });
    let mut argv = vec![
        "ipvsadm".to_string(),
        if server { "-a" } else { "-A" }.to_string(),
    ];
    argv.extend(spec.iter().cloned());
    match parse(&argv) {
        Ok(Action::Change(Op::AddService(s), _)) => Ok(Subject::Service(s.key)),
        Ok(Action::Change(Op::AddDest(k, d), _)) => Ok(Subject::Server(k, d.addr, d.port)),
        Ok(_) => Err("not a service or a real server".into()),
        Err(crate::lang::parse::ParseError::Fail { msg, .. })
        | Err(crate::lang::parse::ParseError::Popt { msg }) => Err(msg.trim_end().to_string()),
    }
}

fn read_rules(text: &str, file: &str) -> Result<Config, Vec<String>> {
    let mut errors = Vec::new();
    let desired = match desired::read_rules(text, file) {
        Ok(d) => d,
        Err(e) => {
            errors = e;
            Desired::default()
        }
    };
    let mut cfg = Config {
        desired,
        ..Default::default()
    };
    let mut seen: FastMap<ServiceKey, usize> = FastMap::default();
    let mut seen_server: FastMap<(ServiceKey, IpAddr, u16), usize> = FastMap::default();
    let mut seen_name: FastMap<ServiceKey, usize> = FastMap::default();
    for (i, raw) in crate::lang::rules::lines(text).enumerate() {
        let line = i + 1;
        let at = |msg: String| format!("{file}:{line}: {msg}");
        let Some(rest) = raw.strip_prefix("#@") else {
            if raw.trim_start().starts_with("#@") {
                // ipvsadm-restore and Debian's init script drop only lines
                // whose first character is `#`.
                errors.push(at("a `#@` line must start at the first column".into()));
            }
            continue;
        };
        let w = match words(rest) {
            Ok(w) => w,
            Err(e) => {
                errors.push(at(e));
                continue;
            }
        };
        match w.first().map(String::as_str) {
            Some("health") => {}
            Some("name") => {
                match rules_name(&w[1..], &cfg, &mut seen_name, line) {
                    Ok((key, name)) => {
                        cfg.names.insert(key, name);
                    }
                    Err(e) => errors.push(at(e)),
                }
                continue;
            }
            Some(other) => {
                errors.push(at(format!(
                    "unknown directive `#@ {other}` (`#@ health` or `#@ name`)"
                )));
                continue;
            }
            None => {
                errors.push(at("empty `#@` directive".into()));
                continue;
            }
        }
        let split = w[1..]
            .iter()
            .position(|x| !x.starts_with('-') && x.contains('='))
            .map_or(w.len(), |p| p + 1);
        let subj = match subject(&w[1..split]) {
            Ok(s) => s,
            Err(e) => {
                errors.push(at(e));
                continue;
            }
        };
        let pairs: Vec<(&str, &str)> = match w[split..]
            .iter()
            .map(|kv| kv.split_once('=').ok_or(kv))
            .collect::<Result<_, _>>()
        {
            Ok(p) => p,
            Err(bad) => {
                errors.push(at(format!("`{bad}` is not key=value")));
                continue;
            }
        };
        match subj {
            Subject::Service(key) => {
                if let Some(l) = seen.insert(key, line) {
                    errors.push(at(format!(
                        "health already set for this service at line {l}"
                    )));
                    continue;
                }
                let mut b = Builder::default();
                let mut ok = true;
                for (k, v) in pairs {
                    if let Err(e) = b.set(k, v) {
                        errors.push(at(format!("{k}: {e}")));
                        ok = false;
                    }
                }
                if cfg.desired.service(&key).is_none() {
                    errors.push(at("health for a service the file does not define".into()));
                    continue;
                }
                if !ok {
                    continue;
                }
                match b.finish() {
                    Ok(h) => match check_service(&key, &h) {
                        Ok(()) => {
                            cfg.health.insert(key, h);
                        }
                        Err(e) => errors.push(at(e)),
                    },
                    Err((k, e)) => errors.push(at(format!("{k}: {e}"))),
                }
            }
            Subject::Server(key, addr, port) => {
                if let Some(l) = seen_server.insert((key, addr, port), line) {
                    errors.push(at(format!(
                        "monitor already set for this real server at line {l}"
                    )));
                    continue;
                }
                let known = cfg.desired.service(&key).is_some_and(|s| {
                    s.dests
                        .iter()
                        .any(|(d, _)| d.addr == addr && d.port == port)
                });
                if !known {
                    errors.push(at("a real server the file does not define".into()));
                    continue;
                }
                match server_override(&pairs) {
                    Ok(o) => {
                        cfg.overrides.insert((key, addr, port), o);
                    }
                    Err(e) => errors.push(at(e)),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

/// `#@ name SERVICE NAME`: the words after `name`.
fn rules_name(
    w: &[String],
    cfg: &Config,
    seen: &mut FastMap<ServiceKey, usize>,
    line: usize,
) -> Result<(ServiceKey, String), String> {
    const FORM: &str = "`#@ name SERVICE NAME`, e.g. `#@ name -t 192.0.2.1:80 web`";
    let Some((name, spec)) = w.split_last().filter(|(_, spec)| !spec.is_empty()) else {
        return Err(format!("a service and a name are needed ({FORM})"));
    };
    if name.starts_with('-') {
        return Err(format!(
            "the name comes last and does not start with `-` ({FORM})"
        ));
    }
    let key = match subject(spec) {
        Ok(Subject::Service(k)) => k,
        Ok(Subject::Server(..)) => {
            return Err(format!(
                "a name is for a service, not a real server ({FORM})"
            ))
        }
        Err(e) => return Err(format!("{e} ({FORM})")),
    };
    check_name(name).map_err(|e| format!("name: {e}"))?;
    if let Some(l) = seen.insert(key, line) {
        return Err(format!("name already set for this service at line {l}"));
    }
    if cfg.desired.service(&key).is_none() {
        return Err("name for a service the file does not define".into());
    }
    Ok((key, name.clone()))
}

fn server_override(pairs: &[(&str, &str)]) -> Result<Override, String> {
    let mut o = Override::default();
    for &(k, v) in pairs {
        match k {
            "monitor_address" => {
                o.address = Some(
                    v.parse()
                        .map_err(|_| format!("monitor_address: `{v}` is not an address"))?,
                )
            }
            "monitor_port" => {
                o.port = Some(
                    v.parse::<u16>()
                        .ok()
                        .filter(|&p| p > 0)
                        .ok_or_else(|| format!("monitor_port: `{v}` is not a port (1–65535)"))?,
                )
            }
            _ => {
                return Err(format!(
                    "{k}: unknown key (a real server takes monitor_address and monitor_port)"
                ))
            }
        }
    }
    Ok(o)
}

// ----------------------------------------------------------------- JSON --

fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn read_json(text: &str, file: &str) -> Result<Config, Vec<String>> {
    let desired = desired::read_json(text, file)?;
    // The same text parsed as plain JSON for the keys apply ignores.
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| vec![format!("{file}:{}:{}: {e}", e.line(), e.column())])?;
    let mut cfg = Config {
        desired,
        ..Default::default()
    };
    let mut errors = Vec::new();
    let services = value
        .get("services")
        .and_then(|s| s.as_array())
        .cloned()
        .unwrap_or_default();
    for (i, (svc, want)) in services.iter().zip(cfg.desired.services.iter()).enumerate() {
        let key = want.service.key;
        if let Some(n) = svc.get("name") {
            match n.as_str() {
                Some(n) => match check_name(n) {
                    Ok(()) => {
                        cfg.names.insert(key, n.to_string());
                    }
                    Err(e) => errors.push(format!("{file}: services[{i}].name: {e}")),
                },
                None => errors.push(format!("{file}: services[{i}].name: not a string")),
            }
        }
        if let Some(hm) = svc.get("health_monitor") {
            let path = format!("services[{i}].health_monitor");
            let Some(obj) = hm.as_object() else {
                errors.push(format!("{file}: {path}: not an object"));
                continue;
            };
            let mut b = Builder::default();
            let mut ok = true;
            for (k, v) in obj {
                let r = json_text(v)
                    .ok_or_else(|| "not a string, number or boolean".to_string())
                    .and_then(|v| b.set(k, &v));
                if let Err(e) = r {
                    errors.push(format!("{file}: {path}.{k}: {e}"));
                    ok = false;
                }
            }
            if ok {
                match b.finish() {
                    Ok(h) => match check_service(&key, &h) {
                        Ok(()) => {
                            cfg.health.insert(key, h);
                        }
                        Err(e) => errors.push(format!("{file}: {path}: {e}")),
                    },
                    Err((k, e)) => errors.push(format!("{file}: {path}.{k}: {e}")),
                }
            }
        }
        let dests = svc.get("dests").and_then(|d| d.as_array());
        for (j, d) in dests.into_iter().flatten().enumerate() {
            let path = format!("services[{i}].dests[{j}]");
            let mut pairs = Vec::new();
            let mut bad = false;
            for k in ["monitor_address", "monitor_port"] {
                if let Some(v) = d.get(k) {
                    match json_text(v) {
                        Some(t) => pairs.push((k, t)),
                        None => {
                            errors.push(format!("{file}: {path}.{k}: not a string or number"));
                            bad = true;
                        }
                    }
                }
            }
            if pairs.is_empty() || bad {
                continue;
            }
            let Some((dest, _)) = want.dests.get(j) else {
                continue;
            };
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            match server_override(&pairs) {
                Ok(o) => {
                    cfg.overrides.insert((key, dest.addr, dest.port), o);
                }
                Err(e) => errors.push(format!("{file}: {path}.{e}")),
            }
        }
    }
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1
-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 2
#@ health -t 192.0.2.1:80 type=HTTP delay=5 timeout=2 max_retries=2 url_path=/health expected_codes=200-204
#@ health -t 192.0.2.1:80 -r 198.51.100.2:80 monitor_port=8080
";

    #[test]
    fn rules_directives() {
        let c = read(RULES, "f").unwrap();
        let key = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
        let h = &c.health[&key];
        assert_eq!(h.monitor.kind, CheckType::Http);
        assert_eq!(h.monitor.delay, Duration::from_secs(5));
        assert_eq!((h.monitor.rise, h.monitor.fall), (2, 3));
        assert_eq!(h.monitor.expected_codes, vec![(200, 204)]);
        assert_eq!(h.on_failure, OnFailure::Weight0);
        let a: IpAddr = "198.51.100.2".parse().unwrap();
        assert_eq!(c.target(&key, a, 80), (a, 8080));
        let b: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(c.target(&key, b, 80), (b, 80));
        // ipvsadm apply reads the same file, the directives as comments.
        assert_eq!(desired::read_rules(RULES, "f").unwrap().services.len(), 1);
    }

    #[test]
    fn rules_errors_name_the_line() {
        let bad = "-A -t 192.0.2.1:80 -s rr
#@ health -t 192.0.2.1:80 type=TCP delay=2 timeout=2
#@ health -t 192.0.2.9:80 type=TCP delay=2 timeout=1
#@ health -u 192.0.2.1:80 type=FOO delay=2 timeout=1 max_retries=11 expected_codes=20
#@ health -t 192.0.2.1:80 -r 198.51.100.7:80 monitor_port=1
#@ nonsense
  #@ health -t 192.0.2.1:80 type=TCP delay=2 timeout=1
";
        let e = read(bad, "f").unwrap_err();
        assert_eq!(
            e,
            vec![
                "f:2: timeout: must be below delay (2 s ≥ 2 s)",
                "f:3: health for a service the file does not define",
                "f:4: type: unknown type `FOO` (TCP, HTTP, HTTPS, TLS-HELLO, UDP-CONNECT, PING or MISC)",
                "f:4: max_retries: `11` is outside 1–10",
                "f:4: expected_codes: `20` is not NNN, NNN,NNN… or NNN-NNN (codes 100–599)",
                "f:4: health for a service the file does not define",
                "f:5: a real server the file does not define",
                "f:6: unknown directive `#@ nonsense` (`#@ health` or `#@ name`)",
                "f:7: a `#@` line must start at the first column",
            ]
        );
    }

    #[test]
    fn names_in_rules() {
        let text = "-A -t 192.0.2.1:80 -s rr
-A -f 7 -6 -s rr
#@ name -t 192.0.2.1:80 web
#@ name -f 7 -6 \"mail \\\"v6\\\" é\"
";
        let c = read(text, "f").unwrap();
        let key = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
        assert_eq!(c.name(&key), Some("web"));
        let f = ServiceKey::fwmark(crate::model::Family::Inet6, 7);
        assert_eq!(c.name(&f), Some("mail \"v6\" é"));
        // apply reads the same file, the names as comments.
        assert_eq!(desired::read_rules(text, "f").unwrap().services.len(), 2);

        let long = "x".repeat(65);
        let bad = format!(
            "-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m
#@ name -t 192.0.2.1:80 web
#@ name -t 192.0.2.1:80 web2
#@ name -t 192.0.2.9:80 other
#@ name -t 192.0.2.1:80 -r 198.51.100.1:80 x
#@ name -t 192.0.2.1:80
#@ name
#@ name -t 192.0.2.1:80 {long}
#@ name -u 192.0.2.1:80 \"a\tb\"
#@ name -u 192.0.2.1:80 \" a\"
#@ name -u 192.0.2.1:80 -x
#@ name -u 192.0.2.1:80 \"\"
"
        );
        let e = read(&bad, "f").unwrap_err();
        let form = "(`#@ name SERVICE NAME`, e.g. `#@ name -t 192.0.2.1:80 web`)";
        assert_eq!(e.len(), 10, "{e:#?}");
        assert_eq!(e[0], "f:4: name already set for this service at line 3");
        assert_eq!(e[1], "f:5: name for a service the file does not define");
        assert_eq!(
            e[2],
            format!("f:6: a name is for a service, not a real server {form}")
        );
        assert!(
            e[3].starts_with("f:7: ") && e[3].ends_with(form),
            "{}",
            e[3]
        );
        assert_eq!(e[4], format!("f:8: a service and a name are needed {form}"));
        assert_eq!(e[5], "f:9: name: longer than 64 characters");
        assert_eq!(
            e[6],
            "f:10: name: `a\\tb` has the control or blank character U+0009"
        );
        assert_eq!(e[7], "f:11: name: ` a` starts or ends with a blank");
        assert_eq!(
            e[8],
            format!("f:12: the name comes last and does not start with `-` {form}")
        );
        assert_eq!(e[9], "f:13: name: empty name");
        // 64 characters (not bytes) is the limit.
        let ok = format!(
            "-A -t 192.0.2.1:80 -s rr\n#@ name -t 192.0.2.1:80 {}\n",
            "é".repeat(64)
        );
        assert!(read(&ok, "f").is_ok());
    }

    #[test]
    fn names_in_json() {
        let text = r#"{"services":[{"key":{"kind":"addr","protocol":"tcp","addr":"192.0.2.1","port":80},
            "scheduler":"rr","name":"web",
            "dests":[{"addr":"198.51.100.1","port":80,"fwd":"masq","weight":1}]},
            {"key":{"kind":"fwmark","family":"inet","mark":7},"scheduler":"rr"}]}"#;
        let c = read(text, "f.json").unwrap();
        let key = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
        assert_eq!(c.name(&key), Some("web"));
        assert_eq!(c.names.len(), 1);
        // apply's reader accepts (and ignores) it.
        assert_eq!(
            desired::read_json(text, "f.json").unwrap().services.len(),
            2
        );
        let bad = text.replace("\"web\"", "7");
        assert_eq!(
            read(&bad, "f.json").unwrap_err(),
            vec!["f.json: services[0].name: not a string"]
        );
        let bad = text.replace("\"web\"", "\"a\\nb\"");
        assert_eq!(
            read(&bad, "f.json").unwrap_err(),
            vec!["f.json: services[0].name: `a\\nb` has the control or blank character U+000A"]
        );
        let bad = text.replace("\"web\"", &format!("\"{}\"", "w".repeat(65)));
        assert_eq!(
            read(&bad, "f.json").unwrap_err(),
            vec!["f.json: services[0].name: longer than 64 characters"]
        );
    }

    #[test]
    fn codes() {
        assert_eq!(expected_codes("200").unwrap(), vec![(200, 200)]);
        assert_eq!(
            expected_codes("200,202").unwrap(),
            vec![(200, 200), (202, 202)]
        );
        assert_eq!(expected_codes("200-204").unwrap(), vec![(200, 204)]);
        for bad in [
            "",
            "20",
            "2000",
            "204-200",
            "200-",
            "200,,201",
            "abc",
            "200-204,300",
        ] {
            assert!(expected_codes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_fields() {
        let text = r#"{"services":[{"key":{"kind":"addr","protocol":"tcp","addr":"192.0.2.1","port":80},
            "scheduler":"rr",
            "health_monitor":{"type":"HTTPS","delay":3,"timeout":1,"max_retries":2,
                "max_retries_down":4,"expected_codes":"200,202","http_version":"1.1",
                "domain_name":"example.org","sorry_server":"198.51.100.9:80","on_failure":"remove"},
            "dests":[{"addr":"198.51.100.1","port":80,"fwd":"masq","weight":1,"monitor_port":8443}]}]}"#;
        let c = read(text, "f.json").unwrap();
        let key = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
        let h = &c.health[&key];
        assert_eq!(h.monitor.kind, CheckType::Https);
        assert_eq!(h.monitor.fall, 4);
        assert_eq!(h.on_failure, OnFailure::Remove);
        assert_eq!(h.sorry_server, Some("198.51.100.9:80".parse().unwrap()));
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(c.target(&key, a, 80), (a, 8443));

        let bad = text.replace("\"max_retries\":2", "\"max_retries\":0");
        assert_eq!(
            read(&bad, "f.json").unwrap_err(),
            vec!["f.json: services[0].health_monitor.max_retries: `0` is outside 1–10"]
        );
        let bad = text.replace("\"timeout\":1", "\"timeout\":3");
        assert_eq!(
            read(&bad, "f.json").unwrap_err(),
            vec!["f.json: services[0].health_monitor.timeout: must be below delay (3 s ≥ 3 s)"]
        );
    }

    #[test]
    fn fwmark_servers_need_a_port() {
        let text = "-A -f 7 -s rr
-a -f 7 -r 198.51.100.1:0 -g
-a -f 7 -r 198.51.100.2:0 -g
#@ health -f 7 type=TCP delay=2 timeout=1
#@ health -f 7 -r 198.51.100.2 monitor_port=443
";
        assert_eq!(
            read(text, "f").unwrap_err(),
            vec!["f:2: real server 198.51.100.1:0 has port 0: a TCP check needs monitor_port"]
        );
        let ping = text.replace("type=TCP", "type=PING");
        assert!(read(&ping, "f").is_ok());
    }

    #[test]
    fn quoted_command() {
        let text = "-A -t 192.0.2.1:80 -s rr
#@ health -t 192.0.2.1:80 type=MISC delay=10 timeout=5 command=\"/bin/check \\\"a b\\\"\" misc_dynamic=true
";
        let c = read(text, "f").unwrap();
        let h = c.health.values().next().unwrap();
        assert_eq!(h.monitor.command.as_deref(), Some("/bin/check \"a b\""));
        assert!(h.monitor.misc_dynamic);
    }
}
