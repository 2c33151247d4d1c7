//! `apply --incremental`: diff a rules file against the [`Record`] of the
//! last apply instead of reading the whole table, then read from the kernel
//! only the services that the difference touches.
//!
//! How:
//! 1. The lines the new file shares with the recorded text at its start
//!    and at its end are taken as unchanged; only the lines in between are
//!    parsed. (Lines parse on their own, so equal text means equal
//!    meaning, as long as no line names a host or a service: NSS may answer
//!    differently now. So a text with such a line ([`depends_on_names`]) is
//!    never recorded, and unchanged lines are always numeric; changed lines
//!    are resolved now. Unchanged lines keep their relative order, so the
//!    checks of the full read still hold for them.)
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
use super::{plan, Desired, FastMap};
use crate::client::Ipvs;
use crate::error::{Errno, Error};
use crate::lang::rules::{depends_on_names, lines, parse_line, Item, Owner};
use crate::model::{Document, ServiceEntry, ServiceKey};

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
    /// The record to store once the change is made (none when the new
    /// text names hosts or services).
    pub record: Option<Record>,
}

/// What [`diff_text`] (`T` = [`TextDiff`]) or [`prepare`] (`T` =
/// [`Partial`]) found.
#[derive(Debug)]
pub enum Prepared<T> {
    Ready(Box<T>),
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
    // Counters play no part in a plan (nor in the full apply's reading).
    let dests = keys
        .iter()
        .map(|k| ipvs.dests_with(k, false))
        .collect::<Result<Vec<_>, _>>()?;
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

/// What the new text changes against a record, before asking the kernel.
#[derive(Debug)]
pub struct TextDiff {
    /// The wanted state of the touched parts (the new text's lines).
    pub want: Desired,
    /// Their state as recorded (the recorded text's lines).
    pub recorded: Desired,
    pub touched: Touched,
    /// The record of the new text; its `services` is still the old count.
    pub record: Record,
    /// A changed line names a host or a service: the new text may not be
    /// recorded (see [`depends_on_names`]).
    pub names: bool,
}

/// Plan an incremental apply of `text` (rules; `file` names it in
/// messages) against `rec`.
pub fn prepare(
    ipvs: &mut Ipvs,
    rec: Record,
    text: &str,
    file: &str,
) -> Result<Prepared<Partial>, Error> {
    let d = match diff_text(&rec, text, file) {
        Prepared::Ready(d) => d,
        Prepared::Stale(why) => return Ok(Prepared::Stale(why)),
        Prepared::Invalid(errors) => return Ok(Prepared::Invalid(errors)),
    };
    let TextDiff {
        want,
        recorded,
        touched,
        mut record,
        names,
    } = *d;
    // 3. The kernel must be as recorded.
    if ipvs.service_count()? != rec.services {
        return Ok(Prepared::Stale(
            "the number of services changed since the last apply",
        ));
    }
    let before = read_part(ipvs, &touched)?;
    // Nothing to do between them: every touched service the kernel holds
    // is recorded (else a deletion is planned), and as recorded.
    if !plan(&before, &recorded, false).is_empty() {
        return Ok(Prepared::Stale(
            "a service the change touches differs from the record of the last apply",
        ));
    }
    record.services =
        (rec.services as usize + want.services.len()).saturating_sub(before.services.len()) as u32;
    Ok(Prepared::Ready(Box::new(Partial {
        before,
        want,
        touched,
        record: (!names).then_some(record),
    })))
}

/// Steps 1, 2 and the new record's owners: no kernel involved.
pub fn diff_text(rec: &Record, text: &str, file: &str) -> Prepared<TextDiff> {
    let old: Vec<&str> = lines(&rec.text).collect();
    let new: Vec<&str> = lines(text).collect();
    if old.len() != rec.owners.len() {
        return Prepared::Stale("the record is damaged");
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
    if new_mid.len() > 8 {
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
                _ => return Prepared::Stale("the record is damaged"),
            },
        };
        if let Err(e) = want.add(item, i + 1, file) {
            errors.push((i + 1, e));
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|(line, _)| *line);
        return Prepared::Invalid(errors.into_iter().map(|(_, e)| e).collect());
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
                    return Prepared::Stale("the record is damaged");
                }
            }
            _ => return Prepared::Stale("the record is damaged"),
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
    let names = new[new_mid.clone()].iter().any(|l| depends_on_names(l));
    Prepared::Ready(Box::new(TextDiff {
        names,
        want,
        recorded,
        touched,
        record: Record {
            text: text.to_string(),
            owners: new_owner,
            keys: kept,
            services: rec.services,
        },
    }))
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
/// gave, the services of `want`; none when a line names a host or a
/// service ([`depends_on_names`]).
pub fn full_record(text: &str, owners: &[Owner], want: &Desired) -> Option<Record> {
    if lines(text).any(depends_on_names) {
        return None;
    }
    Some(record_of(text, owners, want))
}

/// The record of `text` (whatever its lines name).
fn record_of(text: &str, owners: &[Owner], want: &Desired) -> Record {
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

/// The property [`diff_text`] keeps, for tests and fuzzing: with a record
/// of a valid `old` text, diffing `new` gives the full read's errors, or
/// the full read's services for every touched key (the rest unchanged from
/// `old`) and the full read's line owners. `Err` says how it failed.
#[doc(hidden)]
pub fn check_against_full(old: &str, new: &str) -> Result<(), String> {
    // Only valid texts are recorded: an invalid `old` is replaced by its
    // valid part (the lines that parse and define nothing twice, kept in
    // order), so that every input checks something.
    let old = recordable(old);
    let old = old.as_str();
    let (old_want, old_owners) = super::read_rules_owned(old, "f")
        .map_err(|e| format!("the valid part of old is invalid: {e:?}"))?;
    let rec = record_of(old, &old_owners, &old_want);
    let full = super::read_rules_owned(new, "f");
    let d = match (diff_text(&rec, new, "f"), full) {
        (Prepared::Invalid(got), Err(want)) if got == want => return Ok(()),
        (Prepared::Ready(d), Ok(full)) => (d, full),
        (got, want) => return Err(format!("diff {got:?}, full read {want:?}")),
    };
    let (d, (full_want, full_owners)) = d;
    for k in &d.touched.keys {
        if d.want.service(k) != full_want.service(k) {
            return Err(format!("touched {k:?} differs"));
        }
    }
    for w in &full_want.services {
        let k = w.service.key;
        if !d.touched.keys.contains(&k) {
            // Unchanged: as in `old` (line numbers may have moved).
            let strip = |w: Option<&super::WantService>| {
                w.map(|w| {
                    (
                        w.service.clone(),
                        w.dests.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(),
                    )
                })
            };
            if strip(old_want.service(&k)) != strip(Some(w)) {
                return Err(format!("untouched {k:?} differs from old"));
            }
        }
    }
    let key_of = |r: &Record, id: u32| -> Option<ServiceKey> {
        id.checked_sub(OWNER_FIRST_KEY)
            .and_then(|i| r.keys.get(i as usize).copied())
    };
    let want_rec = record_of(new, &full_owners, &full_want);
    if d.record.owners.len() != want_rec.owners.len() {
        return Err("owner count".into());
    }
    for (i, (a, b)) in d.record.owners.iter().zip(&want_rec.owners).enumerate() {
        let same = if *a < OWNER_FIRST_KEY || *b < OWNER_FIRST_KEY {
            a == b
        } else {
            key_of(&d.record, *a) == key_of(&want_rec, *b)
        };
        if !same {
            return Err(format!("owner of line {} differs", i + 1));
        }
    }
    if d.record.keys.len() != want_rec.keys.len() {
        return Err("record keys not compacted".into());
    }
    Ok(())
}

/// The part of `text` a full read accepts: each line kept if adding it to
/// the lines kept before still reads without an error.
fn recordable(text: &str) -> String {
    let mut kept = String::new();
    let mut want = Desired::default();
    for (i, raw) in lines(text).enumerate() {
        let ok = match parse_line(raw) {
            Ok(None) => true,
            Ok(Some(item)) => want.add(item, i + 1, "f").is_ok(),
            Err(_) => false,
        };
        if ok {
            kept.push_str(raw);
            kept.push('\n');
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "\
# director
--set 10 20 30
-A -t 192.0.2.1:80 -s wrr
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1
-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1
-A -u 192.0.2.1:53 -s rr

-a -u 192.0.2.1:53 -r 198.51.100.1:53 -m
-A -f 7 -s sh
-a -f 7 -r 198.51.100.3:0 -g -w 2
--start-daemon master --mcast-interface eth0
";

    /// Names resolve anew each time: a text that names a host or a service
    /// is not recorded, and a changed line that does keeps the new text
    /// from being recorded; the names are looked up now either way.
    #[test]
    fn texts_with_names_are_not_recorded() {
        crate::names::disable_host_lookups();
        let named = OLD.replace("198.51.100.2:80", "198.51.100.2:http");
        let (want, owners) = crate::apply::read_rules_owned(&named, "f").unwrap();
        assert!(full_record(&named, &owners, &want).is_none());
        let (want, owners) = crate::apply::read_rules_owned(OLD, "f").unwrap();
        assert!(full_record(OLD, &owners, &want).is_some());
        match diff(OLD, &named) {
            Prepared::Ready(d) => {
                assert!(d.names);
                assert_eq!(d.touched.keys.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        match diff(OLD, &OLD.replace("-w 2", "-w 3")) {
            Prepared::Ready(d) => assert!(!d.names),
            other => panic!("{other:?}"),
        }
    }

    fn diff(old: &str, new: &str) -> Prepared<TextDiff> {
        let (want, owners) = crate::apply::read_rules_owned(old, "f").unwrap();
        diff_text(
            &full_record(old, &owners, &want).expect("numeric"),
            new,
            "f",
        )
    }

    fn touched(old: &str, new: &str) -> Touched {
        match diff(old, new) {
            Prepared::Ready(d) => d.touched,
            other => panic!("{other:?}"),
        }
    }

    fn tcp80() -> ServiceKey {
        ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80)
    }

    #[test]
    fn touches_only_the_changed_parts() {
        assert_eq!(touched(OLD, OLD), Touched::default());
        let one = OLD.replace("198.51.100.2:80 -m -w 1", "198.51.100.2:80 -m -w 5");
        assert_eq!(
            touched(OLD, &one),
            Touched {
                keys: vec![tcp80()],
                ..Default::default()
            }
        );
        let t = touched(OLD, &OLD.replace("--set 10 20 30", "--set 10 20 31"));
        assert!(t.timeouts && !t.daemons && t.keys.is_empty());
        // A comment changed: nothing to read.
        assert_eq!(
            touched(OLD, &OLD.replace("# director", "# lb")),
            Touched::default()
        );
        // Two changes far apart: everything between is taken as changed.
        let two = one.replace("--start-daemon master", "--start-daemon backup");
        let t = touched(OLD, &two);
        assert_eq!(t.keys.len(), 3);
        assert!(t.daemons && !t.timeouts);
        for new in [&one, &two, &OLD.replace("-A -f 7 -s sh\n", "")] {
            check_against_full(OLD, new).unwrap();
        }
    }

    #[test]
    fn errors_are_the_full_reads() {
        for new in [
            OLD.replace("-m -w 1\n-a -t", "-m -w x\n-a -t"),
            OLD.replace(
                "-A -f 7 -s sh\n",
                "-A -f 7 -s sh\n-A -t 192.0.2.1:80 -s rr\n",
            ),
            OLD.replace("-A -u 192.0.2.1:53 -s rr\n", ""),
            OLD.replace("--set 10 20 30\n", "--set 10 20 30\n-C\n"),
            format!("{OLD}--set 1 2 3\n"),
        ] {
            match diff(OLD, &new) {
                Prepared::Invalid(_) => {}
                other => panic!("{new}: {other:?}"),
            }
            check_against_full(OLD, &new).unwrap();
        }
    }

    #[test]
    fn every_edit_of_every_line_agrees_with_the_full_read() {
        // Delete, duplicate, or swap with the next, each line of OLD.
        let lines: Vec<&str> = OLD.lines().collect();
        for i in 0..lines.len() {
            let mut del = lines.clone();
            del.remove(i);
            let mut dup = lines.clone();
            dup.insert(i, lines[i]);
            let mut swap = lines.clone();
            if i + 1 < lines.len() {
                swap.swap(i, i + 1);
            }
            for v in [del, dup, swap] {
                let new = v.join("\n") + "\n";
                check_against_full(OLD, &new).unwrap_or_else(|e| panic!("{new}: {e}"));
            }
        }
    }

    #[test]
    fn a_damaged_record_is_stale() {
        let (want, owners) = crate::apply::read_rules_owned(OLD, "f").unwrap();
        let mut rec = full_record(OLD, &owners, &want).expect("numeric");
        rec.owners.pop();
        assert!(matches!(diff_text(&rec, OLD, "f"), Prepared::Stale(_)));
    }
}
