//! Declarative apply: read a desired state (ipvsadm rules or JSON), check all
//! of it before touching the kernel, compute the difference from the
//! kernel's state, and carry out only that, rolling back on failure.
//!
//! One job per module:
//! * [`desired`]: reading the input into a [`Desired`] state;
//! * [`plan`]: the difference as [`Step`]s, each with its inverse;
//! * [`execute`]: reading the kernel's state, carrying out a plan, rollback;
//! * [`record`] and [`incremental`]: the record of the last apply, and the
//!   apply that reads only what differs from it;
//! * [`lock`]: one table-changing run at a time per network namespace.
//!
//! [`run`] is the one entry point: it owns the choice between the full and
//! the incremental apply, and the lock.
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

pub mod desired;
pub mod execute;
pub mod incremental;
pub mod lock;
pub mod plan;
pub mod record;

pub use crate::model::FastMap;
pub use desired::{read, read_json, read_rules, read_rules_owned, Desired, WantService};
pub use execute::{comparable, current, current_with, execute, Failure};
pub use plan::{plan, Step};

use crate::client::Ipvs;
use crate::error::Error;
use crate::model::Document;
use incremental::Prepared;
use std::time::Duration;

/// How to apply.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Plan only; change nothing.
    pub dry_run: bool,
    /// Real servers to remove that still have connections get weight 0.
    pub drain: bool,
    /// Diff against the record of the last apply when it still describes
    /// the kernel.
    pub incremental: bool,
    /// How long to wait for another table-changing run to finish.
    pub wait: Duration,
}

/// What a successful [`run`] did.
#[derive(Debug)]
pub struct Outcome {
    /// The planned changes (carried out unless `dry_run`).
    pub steps: Vec<Step>,
}

/// Why a [`run`] did not succeed.
#[derive(Debug)]
pub enum ApplyError {
    /// The input is invalid: `FILE:LINE: message` each. Nothing was sent.
    Invalid(Vec<String>),
    /// IPVS could not be reached. Nothing was sent.
    Connect(Error),
    /// Reading the kernel's state failed. Nothing was sent.
    Read(Error),
    /// Another run holds the namespace's lock (the message says which).
    /// Nothing was sent.
    Busy(String),
    /// Carrying out the plan failed: at `step` (none when the channel
    /// itself failed); `failure` says what became of the rest.
    Failed {
        step: Option<Box<Step>>,
        failure: Failure,
    },
}

/// Batch size of changes sent at once.
const BATCH: usize = 256;

/// Make the kernel's tables match `text` (rules or JSON; `file` names it
/// in messages). `connect` opens the channel when it is needed; `note`
/// hears how the state was read.
pub fn run(
    text: &str,
    file: &str,
    opts: &Options,
    connect: &mut dyn FnMut() -> Result<Ipvs, Error>,
    note: &mut dyn FnMut(&str),
) -> Result<Outcome, ApplyError> {
    let json = desired::is_json(text);
    // The input is checked whole before anything else; the incremental
    // path checks the lines it reads, and falls back to this.
    let mut full_input = None;
    if !opts.incremental || json {
        full_input = Some(read_input(text, file, json)?);
    }
    let mut ipvs = connect().map_err(ApplyError::Connect)?;
    // Planning reads the state the changes are computed from: no other
    // table-changing run may come between the reading and the changes.
    let _lock = if opts.dry_run {
        None
    } else {
        Some(lock::Lock::acquire(opts.wait).map_err(ApplyError::Busy)?)
    };

    if opts.incremental && json {
        note("JSON input: reading the whole table");
    } else if opts.incremental {
        match record::load() {
            None => note("no record of the last apply: reading the whole table"),
            Some(rec) => {
                match incremental::prepare(&mut ipvs, rec, text, file).map_err(ApplyError::Read)? {
                    Prepared::Ready(part) => {
                        let t = &part.touched;
                        note(&format!(
                            "incremental: read {} service(s){}{} that differ from the record",
                            t.keys.len(),
                            if t.timeouts { ", the timeouts" } else { "" },
                            if t.daemons { ", the daemons" } else { "" },
                        ));
                        let steps = plan(&part.before, &part.want, opts.drain);
                        let touched = part.touched.clone();
                        let reread = &mut |i: &mut Ipvs| incremental::read_part(i, &touched);
                        return carry_out(
                            &mut ipvs,
                            steps,
                            &part.before,
                            reread,
                            opts,
                            part.record,
                        );
                    }
                    Prepared::Invalid(errors) => return Err(ApplyError::Invalid(errors)),
                    Prepared::Stale(why) => note(&format!("{why}: reading the whole table")),
                }
            }
        }
    }
    // The full apply: the whole file, the whole table.
    let (want, rec) = match full_input {
        Some(input) => input,
        None => read_input(text, file, json)?,
    };
    let before = current(&mut ipvs).map_err(ApplyError::Read)?;
    let steps = plan(&before, &want, opts.drain);
    carry_out(&mut ipvs, steps, &before, &mut current, opts, rec)
}

/// The desired state and, for rules, the record a successful apply leaves.
fn read_input(
    text: &str,
    file: &str,
    json: bool,
) -> Result<(Desired, Option<record::Record>), ApplyError> {
    if json {
        Ok((read_json(text, file).map_err(ApplyError::Invalid)?, None))
    } else {
        let (want, owners) = read_rules_owned(text, file).map_err(ApplyError::Invalid)?;
        let rec = incremental::full_record(text, &owners, &want);
        Ok((want, rec))
    }
}

/// Carry out `steps` (unless `dry_run`); on success store `rec` (or,
/// without one, forget any), on failure forget it.
fn carry_out(
    ipvs: &mut Ipvs,
    steps: Vec<Step>,
    before: &Document,
    reread: &mut dyn FnMut(&mut Ipvs) -> Result<Document, Error>,
    opts: &Options,
    rec: Option<record::Record>,
) -> Result<Outcome, ApplyError> {
    if opts.dry_run {
        return Ok(Outcome { steps });
    }
    // Until the record is stored again, none describes the tables.
    record::forget();
    match execute(ipvs, &steps, before, BATCH, reread) {
        Ok(()) => {
            if let Some(rec) = rec {
                // Without it the next --incremental apply reads everything.
                let _ = record::save(&rec);
            }
            Ok(Outcome { steps })
        }
        Err(failure) => {
            let index = match &failure {
                Failure::RolledBack { index, .. } | Failure::RollbackIncomplete { index, .. } => {
                    Some(*index)
                }
                Failure::Channel(_) => None,
            };
            let step = index.and_then(|i| steps.into_iter().nth(i)).map(Box::new);
            Err(ApplyError::Failed { step, failure })
        }
    }
}
