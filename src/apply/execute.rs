//! Reading the kernel's state, and carrying out a plan: batched, and on the
//! first refused change every change made is undone in reverse order and
//! the state read back is compared with the state before.

use super::plan::Step;
use crate::client::Ipvs;
use crate::error::{Errno, Error};
use crate::format::text;
use crate::lang::render::op_command;
use crate::model::*;

/// The kernel's current state: services with real servers (no counters),
/// timeouts, daemons.
pub fn current(ipvs: &mut Ipvs) -> Result<Document, Error> {
    current_with(ipvs, false)
}

/// [`current`], with the counters when `stats` (an apply compares
/// everything but them).
pub fn current_with(ipvs: &mut Ipvs, stats: bool) -> Result<Document, Error> {
    let table = ipvs.table_with(stats)?;
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
