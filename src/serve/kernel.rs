//! The daemon's one channel to IPVS, on a thread of its own so that a slow
//! netlink exchange (a whole-table read under load) never delays a check.
//! Jobs are carried out in the order they were sent.
//!
//! A failed or interrupted read is an error and nothing is changed because
//! of it (the transport repeats interrupted dumps; what still fails is
//! reported and retried later by the engine).

use crate::apply::{self, lock::Lock, Desired};
use crate::client::Ipvs;
use crate::error::Errno;
use crate::model::{Dest, Op, Service, ServiceKey};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Work for the kernel thread.
pub enum Job {
    /// Health changes: sent as one batch.
    Ops(Vec<Op>),
    /// Make the whole table match (the lock of the namespace held, as
    /// `ipvsadm apply` does): read, plan, carry out, roll back on refusal.
    Resync(Box<Desired>),
    /// Read the real servers (with connection counts) of these services.
    ReadDests(Vec<ServiceKey>),
    /// Read the whole table with counters (a metrics scrape).
    ReadTable,
}

/// The real servers of services as read (`None`: the service is gone).
pub type DestsRead = Vec<(ServiceKey, Option<Vec<Dest>>)>;

/// What became of a job.
pub enum Reply {
    Ops { refused: Vec<(Op, i32)> },
    Resynced(Result<usize, String>),
    Dests(Result<DestsRead, String>),
    Table(Result<Vec<(Service, Vec<Dest>)>, String>),
}

/// The sending end; the thread ends when it is dropped.
pub struct Kernel {
    tx: mpsc::Sender<Job>,
}

impl Kernel {
    /// Start the thread (in the calling thread's network namespace).
    pub fn start(replies: UnboundedSender<Reply>, lock_wait: Duration) -> Kernel {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ipvs".into())
            .spawn(move || worker(rx, replies, lock_wait))
            .expect("spawn the IPVS thread");
        Kernel { tx }
    }

    pub fn send(&self, job: Job) {
        let _ = self.tx.send(job);
    }
}

fn errno_text(e: &crate::error::Error) -> String {
    Errno(e.errno()).strerror()
}

fn worker(rx: mpsc::Receiver<Job>, replies: UnboundedSender<Reply>, lock_wait: Duration) {
    let mut ipvs: Option<Ipvs> = None;
    while let Ok(job) = rx.recv() {
        if ipvs.is_none() {
            match Ipvs::connect() {
                Ok(i) => ipvs = Some(i),
                Err(e) => {
                    let msg = format!("cannot reach IPVS: {}", errno_text(&e));
                    let r = match job {
                        Job::Ops(ops) => Reply::Ops {
                            refused: ops.into_iter().map(|o| (o, e.errno())).collect(),
                        },
                        Job::Resync(_) => Reply::Resynced(Err(msg)),
                        Job::ReadDests(_) => Reply::Dests(Err(msg)),
                        Job::ReadTable => Reply::Table(Err(msg)),
                    };
                    let _ = replies.send(r);
                    continue;
                }
            }
        }
        let Some(i) = ipvs.as_mut() else { continue };
        let (reply, broken) = run(i, job, lock_wait);
        if broken {
            ipvs = None;
        }
        if replies.send(reply).is_err() {
            return;
        }
    }
}

fn run(ipvs: &mut Ipvs, job: Job, lock_wait: Duration) -> (Reply, bool) {
    match job {
        Job::Ops(ops) => match ipvs.apply(&ops) {
            Ok(results) => {
                let refused = ops
                    .into_iter()
                    .zip(results)
                    .filter_map(|(o, r)| r.err().map(|e| (o, e.0)))
                    .collect();
                (Reply::Ops { refused }, false)
            }
            Err(e) => (
                Reply::Ops {
                    refused: ops.into_iter().map(|o| (o, e.errno())).collect(),
                },
                true,
            ),
        },
        Job::Resync(want) => {
            let _lock = match Lock::acquire(lock_wait) {
                Ok(l) => l,
                Err(msg) => return (Reply::Resynced(Err(msg)), false),
            };
            let before = match apply::current(ipvs) {
                Ok(b) => b,
                Err(e) => {
                    return (
                        Reply::Resynced(Err(format!("reading the table: {}", errno_text(&e)))),
                        true,
                    )
                }
            };
            let steps = apply::plan(&before, &want, false);
            let n = steps.len();
            match apply::execute(ipvs, &steps, &before, 256, &mut apply::current) {
                Ok(()) => (Reply::Resynced(Ok(n)), false),
                Err(f) => {
                    let why = match f {
                        apply::Failure::RolledBack { index, errno, .. } => format!(
                            "{}: {}; rolled back",
                            crate::lang::render::op_command(&steps[index].op),
                            errno.strerror()
                        ),
                        apply::Failure::RollbackIncomplete {
                            index,
                            errno,
                            detail,
                        } => format!(
                            "{}: {}; rollback incomplete: {detail}",
                            crate::lang::render::op_command(&steps[index].op),
                            errno.strerror()
                        ),
                        apply::Failure::Channel(e) => errno_text(&e),
                    };
                    (Reply::Resynced(Err(why)), false)
                }
            }
        }
        Job::ReadTable => match ipvs.table_with(true) {
            Ok(t) => (Reply::Table(Ok(t)), false),
            Err(e) => (
                Reply::Table(Err(format!("reading the table: {}", errno_text(&e)))),
                true,
            ),
        },
        Job::ReadDests(keys) => {
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                match ipvs.dests_with(&k, false) {
                    Ok(d) => out.push((k, Some(d))),
                    Err(crate::error::Error::Kernel(e)) if e.0 == libc::ESRCH => {
                        out.push((k, None))
                    }
                    Err(e) => {
                        return (
                            Reply::Dests(Err(format!("reading real servers: {}", errno_text(&e)))),
                            true,
                        )
                    }
                }
            }
            (Reply::Dests(Ok(out)), false)
        }
    }
}
