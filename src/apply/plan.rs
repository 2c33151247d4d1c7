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
                        Some(old) if !old.same_settings(d) => steps.push(Step {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::desired::read_rules;
    use crate::apply::execute::comparable;
    use crate::lang::render::{op_command, state_rules};

    /// The kernel's state as a document, from rules text (counters and
    /// connection counts as given per real server: `(addr, active)`).
    fn have(rules: &str, busy: &[(&str, u32)]) -> Document {
        let want = read_rules(rules, "have").expect("valid have");
        let mut doc = Document {
            timeouts: Some(Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            }),
            daemons: Some(Vec::new()),
            ..Document::default()
        };
        for w in &want.services {
            let mut svc = w.service.clone();
            svc.flags.0 |= ServiceFlags::HASHED;
            let dests = w
                .dests
                .iter()
                .map(|(d, _)| {
                    let mut d = d.clone();
                    if let Some((_, n)) = busy.iter().find(|(a, _)| d.addr.to_string() == *a) {
                        d.active_conns = *n;
                    }
                    d
                })
                .collect();
            doc.services.push(ServiceEntry {
                service: svc,
                dests,
            });
        }
        doc
    }

    fn planned(have_rules: &str, busy: &[(&str, u32)], want: &str, drain: bool) -> Vec<String> {
        let want = read_rules(want, "want").expect("valid want");
        plan(&have(have_rules, busy), &want, drain)
            .iter()
            .map(|s| format!("{} @{}", op_command(&s.op), s.line))
            .collect()
    }

    const BASE: &str = "\
-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1
-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1
-A -u 192.0.2.1:53 -s wlc
-a -u 192.0.2.1:53 -r 198.51.100.3:53 -g -w 1
";

    #[test]
    fn plans_for_a_table_of_cases() {
        // (what, busy real servers, wanted text, drain, expected steps)
        type Case<'a> = (&'a str, &'a [(&'a str, u32)], &'a str, bool, &'a [&'a str]);
        let cases: &[Case] = &[
            ("no change", &[], BASE, false, &[]),
            (
                "scheduler edited in place",
                &[],
                &BASE.replace("-s rr", "-s wrr"),
                false,
                &["-E -t 192.0.2.1:80 -s wrr @1"],
            ),
            (
                "weight edited in place",
                &[],
                &BASE.replace(":80 -m -w 1\n-a -t 192.0.2.1:80 -r 198.51.100.2", ":80 -m -w 5\n-a -t 192.0.2.1:80 -r 198.51.100.2"),
                false,
                &["-e -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 5 @2"],
            ),
            (
                "new real server before the old one goes",
                &[],
                &BASE.replace("198.51.100.2:80", "198.51.100.9:80"),
                false,
                &[
                    "-a -t 192.0.2.1:80 -r 198.51.100.9:80 -m -w 1 @3",
                    "-d -t 192.0.2.1:80 -r 198.51.100.2:80 @0",
                ],
            ),
            (
                "busy real server drained to weight 0",
                &[("198.51.100.2", 4)],
                &BASE.replace("-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1\n", ""),
                true,
                &["-e -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 0 @0"],
            ),
            (
                "idle real server removed even with drain",
                &[],
                &BASE.replace("-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1\n", ""),
                true,
                &["-d -t 192.0.2.1:80 -r 198.51.100.2:80 @0"],
            ),
            (
                "busy real server removed without drain",
                &[("198.51.100.2", 4)],
                &BASE.replace("-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1\n", ""),
                false,
                &["-d -t 192.0.2.1:80 -r 198.51.100.2:80 @0"],
            ),
            (
                "service removed last, new one added first",
                &[],
                "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1\n-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1\n-A -f 9 -s sh\n",
                false,
                &["-A -f 9 -s sh @4", "-D -u 192.0.2.1:53 @0"],
            ),
            (
                "timeouts: zero keeps the current value",
                &[],
                &format!("--set 0 60 0\n{BASE}"),
                false,
                &["--set 900 60 300 @1"],
            ),
            (
                "a daemon started",
                &[],
                &format!("{BASE}--start-daemon master --mcast-interface eth0 --syncid 2\n"),
                false,
                &["--start-daemon master --mcast-interface eth0 --syncid 2 @6"],
            ),
        ];
        for (what, busy, want, drain, expected) in cases {
            assert_eq!(planned(BASE, busy, want, *drain), *expected, "{what}");
        }
    }

    #[test]
    fn every_step_has_an_inverse_that_restores_the_state() {
        // Carry out a plan and its undo on a model of the kernel: the state
        // after the undo is the state before.
        let before = have(BASE, &[]);
        let want = read_rules(
            "--set 10 20 30\n-A -t 192.0.2.1:80 -s wrr\n-a -t 192.0.2.1:80 -r 198.51.100.7:80 -m -w 2\n-A -f 3 -s rr\n",
            "want",
        )
        .unwrap();
        let steps = plan(&before, &want, false);
        assert!(steps.len() >= 5, "{steps:?}");
        let mut state = before.clone();
        for s in &steps {
            model_apply(&mut state, &s.op);
        }
        assert_ne!(comparable(&state), comparable(&before));
        for s in steps.iter().rev() {
            for op in &s.undo {
                model_apply(&mut state, op);
            }
        }
        assert_eq!(
            state_rules(&comparable(&state)),
            state_rules(&comparable(&before))
        );
    }

    /// What the kernel does with an operation, on a document.
    fn model_apply(doc: &mut Document, op: &Op) {
        let find = |doc: &mut Document, k: &ServiceKey| {
            doc.services.iter().position(|e| e.service.key == *k)
        };
        match op {
            Op::AddService(s) | Op::EditService(s) => match find(doc, &s.key) {
                Some(i) => doc.services[i].service = s.clone(),
                None => doc.services.push(ServiceEntry {
                    service: s.clone(),
                    dests: Vec::new(),
                }),
            },
            Op::DelService(k) => doc.services.retain(|e| e.service.key != *k),
            Op::AddDest(k, d) | Op::EditDest(k, d) => {
                let i = find(doc, k).expect("service");
                let ds = &mut doc.services[i].dests;
                ds.retain(|x| (x.addr, x.port) != (d.addr, d.port));
                ds.push(d.clone());
            }
            Op::DelDest(k, a, p) => {
                let i = find(doc, k).expect("service");
                doc.services[i]
                    .dests
                    .retain(|x| (x.addr, x.port) != (*a, *p));
            }
            Op::SetTimeouts(t) => doc.timeouts = Some(*t),
            Op::StartDaemon(d) => doc.daemons.get_or_insert_with(Vec::new).push(d.clone()),
            Op::StopDaemon(s, _) => {
                if let Some(ds) = &mut doc.daemons {
                    ds.retain(|d| d.state != *s)
                }
            }
            Op::Zero(_) | Op::Flush => unreachable!("not planned"),
        }
    }
}
