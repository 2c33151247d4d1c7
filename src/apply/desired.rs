//! The desired state: a rules file or a JSON document read whole into a
//! [`Desired`], every error reported as `FILE:LINE: message` (JSON: the
//! path of the value) before anything is sent.

use crate::lang::render;
use crate::lang::rules::{lines, parse_line, Item, Owner};
use crate::model::*;
use std::net::IpAddr;

/// One desired service and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
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

pub(crate) fn dest_id(d: &Dest) -> (IpAddr, u16) {
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

/// Read the JSON document `--json` prints. Every value passes the same
/// checks as rules text: each service, real server, the timeouts and each
/// daemon is written as its rule and read back through the rules parser,
/// which must accept it and give back the same value. Errors name the
/// value by its path (`FILE: services[2].dests[0]: illegal weight
/// specified`).
pub fn read_json(text: &str, file: &str) -> Result<Desired, Vec<String>> {
    let doc: Document = serde_json::from_str(text)
        .map_err(|e| vec![format!("{file}:{}:{}: {e}", e.line(), e.column())])?;
    let mut want = Desired::default();
    let mut errors = Vec::new();
    if let Some(t) = doc.timeouts {
        match checked(&Op::SetTimeouts(t), file, "timeouts") {
            Ok(Item::Timeouts(t)) => want.timeouts = Some((t, 0)),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if let Some(ds) = doc.daemons {
        let mut list = Vec::with_capacity(ds.len());
        for (i, d) in ds.into_iter().enumerate() {
            let path = format!("daemons[{i}]");
            match checked(&Op::StartDaemon(d), file, &path) {
                Ok(Item::Daemon(d)) => list.push((d, 0)),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        want.daemons = Some(list);
    }
    for (i, entry) in doc.services.into_iter().enumerate() {
        let path = format!("services[{i}]");
        let key = entry.service.key;
        let mut service = entry.service;
        normalize(&mut service);
        let service = match checked(&Op::AddService(service), file, &path) {
            Ok(Item::Service(s)) => s,
            Ok(_) => continue,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Err(e) = want.add_service(service, 0, file) {
            errors.push(format!("{e} ({path})"));
            continue;
        }
        for (j, mut d) in entry.dests.into_iter().enumerate() {
            let path = format!("{path}.dests[{j}]");
            d.stats = Stats::default();
            let d = match checked(&Op::AddDest(key, d), file, &path) {
                Ok(Item::Dest(_, d)) => d,
                Ok(_) => continue,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if let Err(e) = want.add_dest(key, d, 0, file) {
                errors.push(format!("{e} ({path})"));
            }
        }
    }
    if errors.is_empty() {
        Ok(want)
    } else {
        Err(errors)
    }
}

/// `op` as its rule, read back: the item if the parser accepts it and
/// gives back the same value, else `FILE: PATH: why`.
fn checked(op: &Op, file: &str, path: &str) -> Result<Item, String> {
    let line = render::op_command(op);
    let item = match parse_line(&line) {
        Ok(Some(item)) => item,
        Ok(None) => return Err(format!("{file}: {path}: empty")),
        Err(msg) => return Err(format!("{file}: {path}: {msg}")),
    };
    let same = match (&item, op) {
        (Item::Service(a), Op::AddService(b)) => {
            // The kernel's HASHED bit (in what `state --json` prints) is
            // no part of a rule: the parsed service stands for both.
            let mut a = a.clone();
            normalize(&mut a);
            let mut b = b.clone();
            b.flags.0 &= !ServiceFlags::HASHED;
            a == b
        }
        (Item::Dest(k, a), Op::AddDest(key, b)) => {
            // Only the fields a rule carries (no counters, no connection
            // counts: those are the kernel's to report).
            // A LOCALNODE real server (as `state --json` shows one) is
            // written, and read back, as -g.
            k == key && a.addr == b.addr && a.port == b.port && b.same_settings(a)
        }
        (Item::Timeouts(a), Op::SetTimeouts(b)) => a == b,
        (Item::Daemon(a), Op::StartDaemon(b)) => a == b,
        _ => false,
    };
    if same {
        Ok(item)
    } else {
        Err(format!(
            "{file}: {path}: not what the rule `{line}` means (ipvsadm would set it differently)"
        ))
    }
}

/// Is `text` JSON (its first non-blank character is `{`)?
pub fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Read either format: JSON if [`is_json`].
pub fn read(text: &str, file: &str) -> Result<Desired, Vec<String>> {
    if is_json(text) {
        read_json(text, file)
    } else {
        read_rules(text, file)
    }
}
