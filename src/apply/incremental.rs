//! `apply --incremental`: diff a rules file against the [`Record`] of the
//! last apply instead of reading the whole table, then read from the kernel
//! only the services that the difference touches.
//!
//! How:
//! 1. The lines the new file shares with the recorded text at its start
//!    and at its end are taken as unchanged; only the lines in between are
//!    parsed. (Lines parse on their own, so equal text means equal
//!    meaning; and those lines keep their relative order, so the checks of
//!    the full read still hold for them.)
//! 2. The parts of the state that changed lines belong to (services,
//!    timeouts, daemons) are "touched". All lines of the new file that
//!    belong to them are parsed and checked in file order, exactly as a
//!    full read checks them.
//! 3. The kernel is asked for its number of services (must equal the
//!    record's) and for the touched parts, which must be as the record
//!    says. Otherwise the record is stale: [`Prepared::Stale`], and the
//!    caller does a full apply.
//! 4. The plan over the touched parts is the full plan restricted to them.
//!
//! What it cannot see: a change made by another tool to a service that the
//! new file does not touch, that leaves the number of services as it was
//! (our own commands that change the tables remove the record). The
//! default full apply reads everything and sees all.

use super::record::{Record, OWNER_DAEMONS, OWNER_FIRST_KEY, OWNER_NONE, OWNER_TIMEOUTS};
use super::{lines, parse_line, plan, Desired, FastMap, Item, Owner};
use crate::error::{Errno, Error};
use crate::model::{Document, ServiceEntry, ServiceKey};
use crate::Ipvs;

/// The parts of the state a change touches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    pub keys: Vec<ServiceKey>,
    pub timeouts: bool,
    pub daemons: bool,
}

/// A restricted apply, ready to plan and run.
#[derive(Debug)]
pub struct Partial {
    /// The kernel's state of the touched parts.
    pub before: Document,
    /// The wanted state of the touched parts.
    pub want: Desired,
    pub touched: Touched,
    /// The record to store once the change is made.
    pub record: Record,
}

/// What [`prepare`] found.
#[derive(Debug)]
pub enum Prepared {
    Ready(Box<Partial>),
    /// The record does not describe the kernel; the reason.
    Stale(&'static str),
    /// Errors in the new file, as `FILE:LINE: message`, in line order.
    Invalid(Vec<String>),
}

/// Read the touched parts of the kernel's state.
pub fn read_part(ipvs: &mut Ipvs, touched: &Touched) -> Result<Document, Error> {
    let mut present = Vec::with_capacity(touched.keys.len());
    for k in &touched.keys {
        match ipvs.service(k) {
            Ok(s) => present.push(s),
            Err(Error::Kernel(Errno(e))) if e == libc::ESRCH => {}
            Err(e) => return Err(e),
        }
    }
    let keys: Vec<ServiceKey> = present.iter().map(|s| s.key).collect();
    let dests = ipvs.dests_of(&keys)?;
    Ok(Document {
        info: None,
        timeouts: if touched.timeouts {
            Some(ipvs.timeouts()?)
        } else {
            None
        },
        services: present
            .into_iter()
            .zip(dests)
            .map(|(service, dests)| ServiceEntry { service, dests })
            .collect(),
        daemons: if touched.daemons {
            Some(ipvs.daemons()?)
        } else {
            None
        },
    })
}

/// Plan an incremental apply of `text` (rules; `file` names it in
/// messages) against `rec`.
pub fn prepare(ipvs: &mut Ipvs, rec: Record, text: &str, file: &str) -> Result<Prepared, Error> {
    let old: Vec<&str> = lines(&rec.text).collect();
    let new: Vec<&str> = lines(text).collect();
    if old.len() != rec.owners.len() {
        return Ok(Prepared::Stale("the record is damaged"));
    }
    // 1. Unchanged head and tail.
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let room = old.len().min(new.len()) - head;
    let tail = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    let shift = new.len() as isize - old.len() as isize;
    let new_mid = head..new.len() - tail;
    let old_mid = head..old.len() - tail;

    // 2. What the changed lines touch.
    let mut errors: Vec<(usize, String)> = Vec::new();
    let mut parsed: FastMap<usize, Item> = FastMap::default();
    // Owner ids of the record, plus ids for keys it does not know.
    let mut keys = rec.keys.clone();
    let mut key_id: FastMap<ServiceKey, u32> = FastMap::default();
    if new_mid.len() > 64 {
        // Many changed lines: index the record's keys once rather than
        // search them per line.
        key_id.extend(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (*k, OWNER_FIRST_KEY + i as u32)),
        );
    }
    let mut id_of = |k: ServiceKey, keys: &mut Vec<ServiceKey>| -> u32 {
        if let Some(&id) = key_id.get(&k) {
            return id;
        }
        let id = match keys.iter().position(|x| *x == k) {
            Some(i) => OWNER_FIRST_KEY + i as u32,
            None => {
                keys.push(k);
                OWNER_FIRST_KEY + keys.len() as u32 - 1
            }
        };
        key_id.insert(k, id);
        id
    };
    let mut new_owner: Vec<u32> = Vec::with_capacity(new.len());
    let mut touched_ids: Vec<u32> = Vec::new();
    for (i, line) in new.iter().enumerate() {
        let id = if new_mid.contains(&i) {
            match parse_line(line) {
                Ok(None) => OWNER_NONE,
                Ok(Some(item)) => {
                    let id = owner_id(item.owner(), &mut |k| id_of(k, &mut keys));
                    parsed.insert(i, item);
                    touched_ids.push(id);
                    id
                }
                Err(msg) => {
                    errors.push((i + 1, format!("{file}:{}: {msg}", i + 1)));
                    OWNER_NONE
                }
            }
        } else if i < head {
            rec.owners[i]
        } else {
            rec.owners[(i as isize - shift) as usize]
        };
        new_owner.push(id);
    }
    touched_ids.extend(old_mid.clone().map(|j| rec.owners[j]));
    let mut is_touched = vec![false; OWNER_FIRST_KEY as usize + keys.len()];
    for id in touched_ids {
        is_touched[id as usize] = true;
    }
    is_touched[OWNER_NONE as usize] = false;

    // Every line of the new file in a touched part, in file order.
    let mut want = Desired::default();
    for (i, &id) in new_owner.iter().enumerate() {
        if !is_touched[id as usize] {
            continue;
        }
        let item = match parsed.remove(&i) {
            Some(item) => item,
            None => match parse_line(new[i]) {
                Ok(Some(item)) => item,
                // An unchanged line that was valid before is valid now.
                _ => return Ok(Prepared::Stale("the record is damaged")),
            },
        };
        if let Err(e) = want.add(item, i + 1, file) {
            errors.push((i + 1, e));
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|(line, _)| *line);
        return Ok(Prepared::Invalid(
            errors.into_iter().map(|(_, e)| e).collect(),
        ));
    }
    // The recorded lines of the touched parts: what the kernel should hold.
    let mut recorded = Desired::default();
    for (j, &id) in rec.owners.iter().enumerate() {
        if !is_touched[id as usize] {
            continue;
        }
        match parse_line(old[j]) {
            Ok(Some(item)) => {
                if recorded.add(item, j + 1, "record").is_err() {
                    return Ok(Prepared::Stale("the record is damaged"));
                }
            }
            _ => return Ok(Prepared::Stale("the record is damaged")),
        }
    }
    let touched = Touched {
        keys: (0..keys.len())
            .filter(|&i| is_touched[OWNER_FIRST_KEY as usize + i])
            .map(|i| keys[i])
            .collect(),
        timeouts: is_touched[OWNER_TIMEOUTS as usize],
        daemons: is_touched[OWNER_DAEMONS as usize],
    };

    // 3. The kernel must be as recorded.
    if ipvs.service_count()? != rec.services {
        return Ok(Prepared::Stale(
            "the number of services changed since the last apply",
        ));
    }
    let before = read_part(ipvs, &touched)?;
    if !plan(&before, &recorded, false).is_empty() || !all_recorded(&before, &recorded) {
        return Ok(Prepared::Stale(
            "a service the change touches differs from the record of the last apply",
        ));
    }
    // What the recorded timeouts and daemons leave unset is not compared
    // by `plan`; the wanted ones are, against the kernel, below.

    // 4. The new record: owner ids renumbered to the keys still in use.
    let mut used = vec![false; keys.len()];
    for &id in &new_owner {
        if id >= OWNER_FIRST_KEY {
            used[(id - OWNER_FIRST_KEY) as usize] = true;
        }
    }
    let mut renumber = vec![0u32; keys.len()];
    let mut kept = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        if used[i] {
            renumber[i] = OWNER_FIRST_KEY + kept.len() as u32;
            kept.push(*k);
        }
    }
    for id in &mut new_owner {
        if *id >= OWNER_FIRST_KEY {
            *id = renumber[(*id - OWNER_FIRST_KEY) as usize];
        }
    }
    let services_after =
        (rec.services as usize + want.services.len()).saturating_sub(before.services.len());
    Ok(Prepared::Ready(Box::new(Partial {
        before,
        want,
        touched,
        record: Record {
            text: text.to_string(),
            owners: new_owner,
            keys: kept,
            services: services_after as u32,
        },
    })))
}

/// Every touched service the kernel holds is one the record has.
fn all_recorded(before: &Document, recorded: &Desired) -> bool {
    before
        .services
        .iter()
        .all(|e| recorded.service(&e.service.key).is_some())
}

fn owner_id(owner: Owner, key_id: &mut dyn FnMut(ServiceKey) -> u32) -> u32 {
    match owner {
        Owner::None => OWNER_NONE,
        Owner::Timeouts => OWNER_TIMEOUTS,
        Owner::Daemons => OWNER_DAEMONS,
        Owner::Service(k) => key_id(k),
    }
}

/// The record of a full apply of `text`: the owners [`super::read_rules_owned`]
/// gave, the services of `want`.
pub fn full_record(text: &str, owners: &[Owner], want: &Desired) -> Record {
    let mut keys = Vec::with_capacity(want.services.len());
    let mut id: FastMap<ServiceKey, u32> = FastMap::default();
    let owners = owners
        .iter()
        .map(|&o| {
            owner_id(o, &mut |k| {
                *id.entry(k).or_insert_with(|| {
                    keys.push(k);
                    OWNER_FIRST_KEY + keys.len() as u32 - 1
                })
            })
        })
        .collect();
    Record {
        text: text.to_string(),
        owners,
        keys,
        services: want.services.len() as u32,
    }
}
