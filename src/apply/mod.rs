//! Declarative apply: read a desired state (ipvsadm rules or JSON), check all
//! of it before touching the kernel, compute the difference from the
//! kernel's state, and carry out only that, rolling back on failure.
//!
//! Invariants:
//! * Nothing is sent unless the whole input is valid.
//! * Services and real servers that the difference does not touch get no
//!   request at all, so their connections and counters survive.
//! * Changes are made in place where the kernel allows it (`SET_SERVICE`,
//!   `SET_DEST`); new real servers are added before old ones are removed.
//! * Every planned change carries its inverse, computed from the state read
//!   before; if the kernel refuses a change, the changes that succeeded are
//!   undone in reverse order and the state is read again and compared.

use crate::cli::parse::{parse, Action, ParseError};
use crate::client::Op;
use crate::error::{Errno, Error};
use crate::format::names::SystemNames;
use crate::format::text;
use crate::model::*;
use crate::Ipvs;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

pub mod incremental;
pub mod record;

/// A hash for keys read from the admin's own files: fast, not keyed (the
/// input is trusted, so hash flooding is not a concern here).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i.into());
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i.into());
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i.into());
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// A map keyed by [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// One desired service and where it came from.
#[derive(Clone, Debug)]
pub struct WantService {
    pub service: Service,
    pub line: usize,
    pub dests: Vec<(Dest, usize)>,
}

/// The desired state: services always; timeouts and daemons only if the
/// input mentions them.
#[derive(Clone, Debug, Default)]
pub struct Desired {
    pub timeouts: Option<(Timeouts, usize)>,
    pub services: Vec<WantService>,
    pub daemons: Option<Vec<(Daemon, usize)>>,
    /// Position of each service in `services`.
    index: FastMap<ServiceKey, usize>,
}

fn normalize(svc: &mut Service) {
    if svc.netmask == 0 {
        svc.netmask = Service::full_netmask(svc.key.family());
    }
    svc.stats = Stats::default();
}

fn dest_id(d: &Dest) -> (IpAddr, u16) {
    (d.addr, d.port)
}

impl Desired {
    fn add_service(&mut self, mut service: Service, line: usize, file: &str) -> Result<(), String> {
        normalize(&mut service);
        if let Some(&i) = self.index.get(&service.key) {
            return Err(format!(
                "{file}:{line}: service already defined at line {}",
                self.services[i].line
            ));
        }
        self.index.insert(service.key, self.services.len());
        self.services.push(WantService {
            service,
            line,
            dests: Vec::new(),
        });
        Ok(())
    }

    fn add_dest(
        &mut self,
        key: ServiceKey,
        mut dest: Dest,
        line: usize,
        file: &str,
    ) -> Result<(), String> {
        let Some(&i) = self.index.get(&key) else {
            return Err(format!(
                "{file}:{line}: real server for a service not defined above"
            ));
        };
        let w = &mut self.services[i];
        if let Some((_, l)) = w.dests.iter().find(|(d, _)| dest_id(d) == dest_id(&dest)) {
            return Err(format!(
                "{file}:{line}: real server already defined at line {l}"
            ));
        }
        dest.stats = Stats::default();
        w.dests.push((dest, line));
        Ok(())
    }
}

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
/// their own: the same text always means the same thing.
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

impl Desired {
    /// Add what line `line` says, checking it against the lines before.
    pub fn add(&mut self, item: Item, line: usize, file: &str) -> Result<(), String> {
        match item {
            Item::Service(s) => self.add_service(s, line, file),
            Item::Dest(k, d) => self.add_dest(k, d, line, file),
            Item::Timeouts(t) => match self.timeouts {
                Some((_, l)) => Err(format!("{file}:{line}: timeouts already set at line {l}")),
                None => {
                    self.timeouts = Some((t, line));
                    Ok(())
                }
            },
            Item::Daemon(d) => {
                let ds = self.daemons.get_or_insert_with(Vec::new);
                match ds.iter().find(|(x, _)| x.state == d.state) {
                    Some((_, l)) => Err(format!(
                        "{file}:{line}: {} daemon already defined at line {l}",
                        d.state.name()
                    )),
                    None => {
                        ds.push((d, line));
                        Ok(())
                    }
                }
            }
        }
    }

    /// The wanted service with this key, if any.
    pub fn service(&self, key: &ServiceKey) -> Option<&WantService> {
        self.index.get(key).map(|&i| &self.services[i])
    }
}

/// Read ipvsadm rules (the `-S` format, plus `--set` and `--start-daemon`
/// lines; blank lines and `#` comments allowed). Every error is reported,
/// as `FILE:LINE: message`.
pub fn read_rules(text: &str, file: &str) -> Result<Desired, Vec<String>> {
    read_rules_owned(text, file).map(|(want, _)| want)
}

/// [`read_rules`], also saying which part of the state each line belongs
/// to (for the record of an apply, [`record`]).
pub fn read_rules_owned(text: &str, file: &str) -> Result<(Desired, Vec<Owner>), Vec<String>> {
    let mut want = Desired::default();
    let mut owners = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in lines(text).enumerate() {
        let line = i + 1;
        let result = match parse_line(raw) {
            Ok(None) => {
                owners.push(Owner::None);
                Ok(())
            }
            Ok(Some(item)) => {
                owners.push(item.owner());
                want.add(item, line, file)
            }
            Err(msg) => {
                owners.push(Owner::None);
                Err(format!("{file}:{line}: {msg}"))
            }
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok((want, owners))
    } else {
        Err(errors)
    }
}

/// Read the JSON document `--json` prints.
pub fn read_json(text: &str, file: &str) -> Result<Desired, Vec<String>> {
    let doc: Document = serde_json::from_str(text)
        .map_err(|e| vec![format!("{file}:{}:{}: {e}", e.line(), e.column())])?;
    let mut want = Desired::default();
    let mut errors = Vec::new();
    want.timeouts = doc.timeouts.map(|t| (t, 0));
    want.daemons = doc
        .daemons
        .map(|ds| ds.into_iter().map(|d| (d, 0)).collect());
    for entry in doc.services {
        let key = entry.service.key;
        if let Err(e) = want.add_service(entry.service, 0, file) {
            errors.push(e);
            continue;
        }
        for d in entry.dests {
            if let Err(e) = want.add_dest(key, d, 0, file) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(want)
    } else {
        Err(errors)
    }
}

/// Read either format: JSON if the first non-blank character is `{`.
pub fn read(text: &str, file: &str) -> Result<Desired, Vec<String>> {
    if text.trim_start().starts_with('{') {
        read_json(text, file)
    } else {
        read_rules(text, file)
    }
}

/// The kernel's current state: services with real servers, timeouts,
/// daemons.
pub fn current(ipvs: &mut Ipvs) -> Result<Document, Error> {
    let table = ipvs.table()?;
    Ok(Document {
        info: None,
        timeouts: Some(ipvs.timeouts()?),
        services: table
            .into_iter()
            .map(|(service, dests)| ServiceEntry { service, dests })
            .collect(),
        daemons: Some(ipvs.daemons()?),
    })
}

/// A planned change, where it came from, and how to undo it.
#[derive(Clone, Debug)]
pub struct Step {
    pub op: Op,
    /// Input line that asked for it (0 for JSON or for removals).
    pub line: usize,
    pub undo: Vec<Op>,
}

fn same_service(have: &Service, want: &Service) -> bool {
    let mask = !ServiceFlags::HASHED;
    have.scheduler == want.scheduler
        && have.flags.0 & mask == want.flags.0 & mask
        && have.timeout == want.timeout
        && have.netmask == want.netmask
        && have.pe_name.as_deref().unwrap_or("") == want.pe_name.as_deref().unwrap_or("")
}

fn same_dest(have: &Dest, want: &Dest) -> bool {
    // The kernel reports local addresses as LOCALNODE whatever was asked.
    let fwd_ok = have.fwd == want.fwd || have.fwd == FwdMethod::Local;
    fwd_ok
        && have.weight == want.weight
        && have.u_threshold == want.u_threshold
        && have.l_threshold == want.l_threshold
        && have.tun_type == want.tun_type
        && have.tun_port == want.tun_port
        && have.tun_flags == want.tun_flags
}

/// The changes that turn `have` into `want`. With `drain`, real servers to
/// be removed that still carry connections are set to weight 0 instead.
pub fn plan(have: &Document, want: &Desired, drain: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut removals = Vec::new();
    let have_svc: HashMap<ServiceKey, &ServiceEntry> =
        have.services.iter().map(|e| (e.service.key, e)).collect();

    if let (Some((t, line)), Some(cur)) = (want.timeouts, have.timeouts) {
        let target = Timeouts {
            tcp: if t.tcp == 0 { cur.tcp } else { t.tcp },
            tcp_fin: if t.tcp_fin == 0 {
                cur.tcp_fin
            } else {
                t.tcp_fin
            },
            udp: if t.udp == 0 { cur.udp } else { t.udp },
        };
        if target != cur {
            steps.push(Step {
                op: Op::SetTimeouts(target),
                line,
                undo: vec![Op::SetTimeouts(cur)],
            });
        }
    }

    for w in &want.services {
        let key = w.service.key;
        match have_svc.get(&key) {
            None => {
                steps.push(Step {
                    op: Op::AddService(w.service.clone()),
                    line: w.line,
                    undo: vec![Op::DelService(key)],
                });
                for (d, line) in &w.dests {
                    steps.push(Step {
                        op: Op::AddDest(key, d.clone()),
                        line: *line,
                        undo: vec![Op::DelDest(key, d.addr, d.port)],
                    });
                }
            }
            Some(h) => {
                if !same_service(&h.service, &w.service) {
                    steps.push(Step {
                        op: Op::EditService(w.service.clone()),
                        line: w.line,
                        undo: vec![Op::EditService(h.service.clone())],
                    });
                }
                let have_dests: HashMap<(IpAddr, u16), &Dest> =
                    h.dests.iter().map(|d| (dest_id(d), d)).collect();
                for (d, line) in &w.dests {
                    match have_dests.get(&dest_id(d)) {
                        None => steps.push(Step {
                            op: Op::AddDest(key, d.clone()),
                            line: *line,
                            undo: vec![Op::DelDest(key, d.addr, d.port)],
                        }),
                        Some(old) if !same_dest(old, d) => steps.push(Step {
                            op: Op::EditDest(key, d.clone()),
                            line: *line,
                            undo: vec![Op::EditDest(key, (*old).clone())],
                        }),
                        Some(_) => {}
                    }
                }
                for old in &h.dests {
                    if w.dests.iter().any(|(d, _)| dest_id(d) == dest_id(old)) {
                        continue;
                    }
                    let busy = old.active_conns + old.inact_conns + old.persist_conns > 0;
                    if drain && busy {
                        if old.weight != 0 {
                            let mut zero = old.clone();
                            zero.weight = 0;
                            removals.push(Step {
                                op: Op::EditDest(key, zero),
                                line: 0,
                                undo: vec![Op::EditDest(key, old.clone())],
                            });
                        }
                    } else {
                        removals.push(Step {
                            op: Op::DelDest(key, old.addr, old.port),
                            line: 0,
                            undo: vec![Op::AddDest(key, old.clone())],
                        });
                    }
                }
            }
        }
    }
    steps.extend(removals);

    for h in &have.services {
        if want.index.contains_key(&h.service.key) {
            continue;
        }
        let mut undo = vec![Op::AddService(h.service.clone())];
        undo.extend(
            h.dests
                .iter()
                .map(|d| Op::AddDest(h.service.key, d.clone())),
        );
        steps.push(Step {
            op: Op::DelService(h.service.key),
            line: 0,
            undo,
        });
    }

    if let (Some(want_ds), Some(have_ds)) = (&want.daemons, &have.daemons) {
        for old in have_ds {
            let keep = want_ds.iter().any(|(d, _)| same_daemon(old, d));
            if !keep {
                steps.push(Step {
                    op: Op::StopDaemon(old.state, old.syncid),
                    line: 0,
                    undo: vec![Op::StartDaemon(old.clone())],
                });
            }
        }
        for (d, line) in want_ds {
            if !have_ds.iter().any(|old| same_daemon(old, d)) {
                steps.push(Step {
                    op: Op::StartDaemon(d.clone()),
                    line: *line,
                    undo: vec![Op::StopDaemon(d.state, d.syncid)],
                });
            }
        }
    }
    steps
}

/// A running daemon matches a wanted one if every field the wanted one
/// sets (non-default) is equal.
fn same_daemon(have: &Daemon, want: &Daemon) -> bool {
    have.state == want.state
        && have.mcast_ifn == want.mcast_ifn
        && have.syncid == want.syncid
        && (want.sync_maxlen == 0 || have.sync_maxlen == want.sync_maxlen)
        && (want.mcast_group.is_none() || have.mcast_group == want.mcast_group)
        && (want.mcast_port == 0 || have.mcast_port == want.mcast_port)
        && (want.mcast_ttl == 0 || have.mcast_ttl == want.mcast_ttl)
}

/// Rule lines (`-A …` and `-a …`, numeric) of one service and its real
/// servers, as `-S -n` prints them.
fn rule_lines(svc: &Service, dests: &[Dest]) -> Vec<String> {
    let mut out = String::new();
    let f = crate::format::ListFlags {
        rule: true,
        numeric: true,
        nosort: true,
        ..Default::default()
    };
    let mut dests = dests.to_vec();
    text::service_entry(&mut out, svc, &mut dests, &f, &SystemNames);
    out.lines().map(str::to_string).collect()
}

/// The service part of a rule (`-t 192.0.2.1:80`, `-f 1 -6`).
fn service_spec(key: &ServiceKey) -> String {
    let svc = Service::new(*key, "x");
    let line = rule_lines(&svc, &[]).remove(0);
    let body = line.trim_start_matches("-A ");
    body.rsplit_once(" -s ")
        .map_or(body, |(s, _)| s)
        .to_string()
}

fn daemon_command(d: &Daemon) -> String {
    let mut s = format!(
        "--start-daemon {} --mcast-interface {} --syncid {}",
        d.state.name(),
        d.mcast_ifn,
        d.syncid
    );
    if d.sync_maxlen != 0 {
        s.push_str(&format!(" --sync-maxlen {}", d.sync_maxlen));
    }
    if let Some(g) = d.mcast_group {
        s.push_str(&format!(" --mcast-group {g}"));
    }
    if d.mcast_port != 0 {
        s.push_str(&format!(" --mcast-port {}", d.mcast_port));
    }
    if d.mcast_ttl != 0 {
        s.push_str(&format!(" --mcast-ttl {}", d.mcast_ttl));
    }
    s
}

/// An operation as the ipvsadm command that does the same.
pub fn op_command(op: &Op) -> String {
    match op {
        Op::AddService(s) => rule_lines(s, &[]).remove(0),
        Op::EditService(s) => rule_lines(s, &[]).remove(0).replacen("-A", "-E", 1),
        Op::DelService(k) => format!("-D {}", service_spec(k)),
        Op::AddDest(k, d) => rule_lines(&Service::new(*k, "x"), std::slice::from_ref(d)).remove(1),
        Op::EditDest(k, d) => rule_lines(&Service::new(*k, "x"), std::slice::from_ref(d))
            .remove(1)
            .replacen("-a", "-e", 1),
        Op::DelDest(k, addr, port) => {
            let d = Dest::new(*addr, *port);
            let line = rule_lines(&Service::new(*k, "x"), &[d]).remove(1);
            let dest = line
                .split_once(" -r ")
                .map(|(_, r)| r.split(' ').next().unwrap_or(r).to_string())
                .unwrap_or_default();
            format!("-d {} -r {dest}", service_spec(k))
        }
        Op::Zero(Some(k)) => format!("-Z {}", service_spec(k)),
        Op::Zero(None) => "-Z".into(),
        Op::Flush => "-C".into(),
        Op::SetTimeouts(t) => format!("--set {} {} {}", t.tcp, t.tcp_fin, t.udp),
        Op::StartDaemon(d) => daemon_command(d),
        Op::StopDaemon(s, _) => format!("--stop-daemon {}", s.name()),
    }
}

/// Rules that recreate a whole state with `ipvsadm -R` or `apply`:
/// timeouts, services and real servers (with thresholds), daemons.
pub fn state_rules(doc: &Document) -> String {
    let mut out = String::new();
    if let Some(t) = doc.timeouts {
        out.push_str(&op_command(&Op::SetTimeouts(t)));
        out.push('\n');
    }
    let mut table: Vec<(Service, Vec<Dest>)> = doc
        .services
        .iter()
        .map(|e| (e.service.clone(), e.dests.clone()))
        .collect();
    text::save_with(&mut out, &mut table, true, &SystemNames);
    for d in doc.daemons.iter().flatten() {
        out.push_str(&daemon_command(d));
        out.push('\n');
    }
    out
}

/// The libipvs call an operation is reported as (for ipvsadm's messages).
pub fn op_call(op: &Op) -> crate::cli::parse::Call {
    use crate::cli::parse::Call;
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

/// How an apply ended when it did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The kernel refused `steps[index]`; everything was rolled back.
    RolledBack {
        index: usize,
        errno: Errno,
        undone: usize,
    },
    /// Rolling back failed too, or the state read back differs from before.
    RollbackIncomplete {
        index: usize,
        errno: Errno,
        detail: String,
    },
    /// The channel itself failed.
    Channel(Error),
}

/// Comparable view of a state: no counters, no HASHED bit, sorted.
pub fn comparable(doc: &Document) -> Document {
    let mut d = doc.clone();
    d.info = None;
    for e in &mut d.services {
        e.service.stats = Stats::default();
        e.service.flags.0 &= !ServiceFlags::HASHED;
        for x in &mut e.dests {
            x.stats = Stats::default();
            x.active_conns = 0;
            x.inact_conns = 0;
            x.persist_conns = 0;
        }
        e.dests.sort_by(text::cmp_dests);
    }
    d.services
        .sort_by(|a, b| text::cmp_services(&a.service, &b.service));
    if let Some(ds) = &mut d.daemons {
        ds.sort_by_key(|x| x.state);
    }
    d
}

/// Carry out `steps` (in batches of `batch` changes); on the first refused
/// change, undo what succeeded and check, with `reread` (which reads what
/// `before` holds: the whole state, or the parts an incremental apply
/// touches), that the state is back as `before`.
pub fn execute(
    ipvs: &mut Ipvs,
    steps: &[Step],
    before: &Document,
    batch: usize,
    reread: &mut dyn FnMut(&mut Ipvs) -> Result<Document, Error>,
) -> Result<(), Failure> {
    let mut done: Vec<usize> = Vec::new();
    let mut failed: Option<(usize, Errno)> = None;
    for (chunk_no, chunk) in steps.chunks(batch.max(1)).enumerate() {
        let ops: Vec<Op> = chunk.iter().map(|s| s.op.clone()).collect();
        let results = ipvs.apply(&ops).map_err(Failure::Channel)?;
        for (i, r) in results.into_iter().enumerate() {
            let index = chunk_no * batch.max(1) + i;
            match r {
                Ok(()) => done.push(index),
                Err(e) => {
                    if failed.is_none() {
                        failed = Some((index, e));
                    }
                }
            }
        }
        if failed.is_some() {
            break;
        }
    }
    let Some((index, errno)) = failed else {
        return Ok(());
    };
    let undo: Vec<Op> = done
        .iter()
        .rev()
        .flat_map(|&i| steps[i].undo.iter().cloned())
        .collect();
    let undo_results = ipvs.apply(&undo).map_err(Failure::Channel)?;
    let undo_errors: Vec<String> = undo
        .iter()
        .zip(&undo_results)
        .filter_map(|(op, r)| r.err().map(|e| format!("{}: {e}", op_command(op))))
        .collect();
    let after = reread(ipvs).map_err(Failure::Channel)?;
    if !undo_errors.is_empty() || comparable(&after) != comparable(before) {
        let detail = if undo_errors.is_empty() {
            "the state read back differs from the state before".to_string()
        } else {
            undo_errors.join("; ")
        };
        return Err(Failure::RollbackIncomplete {
            index,
            errno,
            detail,
        });
    }
    Err(Failure::RolledBack {
        index,
        errno,
        undone: done.len(),
    })
}
