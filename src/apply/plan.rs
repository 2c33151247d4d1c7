//! The plan: the changes ([`Step`]s, each with its inverse) that turn the
//! kernel's state into the desired one, touching nothing else.

use super::desired::{dest_id, Desired};
use crate::model::*;
use std::collections::HashMap;
use std::net::IpAddr;

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
        if want.service(&h.service.key).is_some() {
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
