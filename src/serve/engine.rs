//! The daemon's state: the FILE, one probe per unique (target, monitor),
//! each probe's rise/fall state, quorum per service, real servers
//! draining, and what was last written to the kernel. Everything here runs
//! on the event loop's one thread; probes only send their outcomes, the
//! kernel thread only carries out jobs.
//!
//! Health decides each real server's weight:
//! * no monitor: the FILE's weight (NO_MONITOR);
//! * up: the FILE's weight, or a MISC check's dynamic weight (ONLINE);
//! * down: weight 0, or removed with `on_failure=remove` (ERROR);
//! * quorum lost (live weight below `quorum − hysteresis`, with a sorry
//!   server): the live servers are taken out as failed ones are, and the
//!   sorry server serves until the live weight is back to
//!   `quorum + hysteresis`;
//! * removed from FILE on reload: weight 0 until its connections end or
//!   `drain_timeout` passes, then deleted (DRAINING). UDP real servers are
//!   deleted at once.

use super::config::{CheckType, Config, Health, Monitor, OnFailure};
use super::events::{Event, Events};
use super::kernel::{Job, Kernel};
use super::probe::{Outcome, Spec};
use super::tls;
use crate::apply::Desired;
use crate::format::metrics::Histogram;
use crate::lang::rules::Item;
use crate::model::{Dest, FastMap, FwdMethod, Op, Protocol, ServiceKey};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::UnboundedSender;

/// A real server of a service.
pub type DestId = (ServiceKey, IpAddr, u16);
/// A probe: its target and its monitor (an index into `Engine::monitors`).
type ProbeKey = (SocketAddr, u32);

/// A probe's outcome as the event loop hears it.
pub struct Report {
    pub id: u64,
    pub outcome: Outcome,
    /// How late the check started against its schedule.
    pub lateness: Duration,
}

/// Rise/fall state of one probe.
#[derive(Clone, Debug)]
pub struct ProbeState {
    pub up: bool,
    pub successes: u32,
    pub failures: u32,
    pub since: SystemTime,
    pub last: Option<(Outcome, SystemTime)>,
    /// MISC dynamic weight of the last success.
    pub weight: Option<i32>,
    pub checks: u64,
}

impl ProbeState {
    pub fn new(alpha: bool) -> ProbeState {
        ProbeState {
            up: !alpha,
            successes: 0,
            failures: 0,
            since: SystemTime::now(),
            last: None,
            weight: None,
            checks: 0,
        }
    }

    /// Count one outcome; true when `up` or the dynamic weight changed.
    pub fn record(&mut self, o: &Outcome, m: &Monitor, now: SystemTime) -> bool {
        self.checks += 1;
        let mut changed = false;
        if o.ok {
            self.successes = self.successes.saturating_add(1);
            self.failures = 0;
            if !self.up && self.successes >= m.rise {
                self.up = true;
                self.since = now;
                changed = true;
            }
            if self.weight != o.weight {
                self.weight = o.weight;
                changed |= self.up;
            }
        } else {
            self.failures = self.failures.saturating_add(1);
            self.successes = 0;
            if self.up && self.failures >= m.fall {
                self.up = false;
                self.since = now;
                changed = true;
            }
        }
        self.last = Some((o.clone(), now));
        changed
    }
}

struct Probe {
    id: u64,
    state: ProbeState,
    users: Vec<DestId>,
    task: tokio::task::JoinHandle<()>,
}

struct Drain {
    dest: Dest,
    deadline: Instant,
    since: SystemTime,
}

/// Latency of check starts against their schedule, by millisecond.
#[derive(Default)]
pub struct Lateness {
    buckets: Vec<u64>,
    count: u64,
}

impl Lateness {
    fn add(&mut self, d: Duration) {
        let ms = (d.as_millis() as usize).min(60_000);
        if self.buckets.len() <= ms {
            self.buckets.resize(ms + 1, 0);
        }
        self.buckets[ms] += 1;
        self.count += 1;
    }

    /// The 99th percentile, in milliseconds (upper bound of its bucket).
    pub fn p99_ms(&self) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let want = (self.count * 99).div_ceil(100);
        let mut seen = 0;
        for (ms, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Some(ms as u64 + 1);
            }
        }
        None
    }
}

/// The daemon's state.
pub struct Engine {
    pub cfg: Config,
    probes: FastMap<ProbeKey, Probe>,
    by_id: FastMap<u64, ProbeKey>,
    /// Every monitor seen, interned (probe keys hold the index).
    monitors: Vec<Monitor>,
    monitor_ids: FastMap<Monitor, u32>,
    /// The monitor index of each service with health.
    service_monitor: FastMap<ServiceKey, u32>,
    next_id: u64,
    quorum_up: FastMap<ServiceKey, bool>,
    draining: FastMap<DestId, Drain>,
    /// The real servers of each service as last written.
    applied: FastMap<ServiceKey, Vec<Dest>>,
    /// Edits not yet sent ([`Engine::flush`]).
    pending: Vec<Op>,
    /// The operating status last logged for each real server.
    status_of: FastMap<DestId, &'static str>,
    tls_configs: FastMap<(bool, Option<String>), Arc<rustls::ClientConfig>>,
    kernel: Kernel,
    reports: UnboundedSender<Report>,
    pub lateness: Lateness,
    pub checks: u64,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    pub last_result: Instant,
    pub kernel_pending: usize,
    pub kernel_busy_since: Option<Instant>,
    pub resync_wanted: bool,
    pub started: SystemTime,
    pub file: String,
    /// How long checks took, per probe target and check type (probes of
    /// one target with different monitors of one type share a series).
    check_latency: FastMap<(SocketAddr, CheckType), Histogram>,
    /// Jobs sent to the kernel thread and not answered: their kind
    /// ([`Engine::kernel_done`]) and when they were sent.
    jobs: std::collections::VecDeque<(&'static str, Instant)>,
    /// The kind of the next resync (`start`, `reload`, `resync`).
    resync_kind: &'static str,
    /// When the kernel thread last finished a job.
    last_done: Instant,
    /// Per kind of change: how long the last one took and when it ended.
    last_apply: Vec<(&'static str, Duration, SystemTime)>,
    /// `--events`.
    pub events: Events,
}

pub use super::events::log;

/// How a service is named in messages: as in `-L -n` (the status page
/// names it the same way).
pub fn service_name(key: &ServiceKey) -> String {
    crate::format::html::service_title(key)
}

fn server_name(addr: IpAddr, port: u16) -> String {
    SocketAddr::new(addr, port).to_string()
}

impl Engine {
    pub fn new(
        cfg: Config,
        file: String,
        kernel: Kernel,
        reports: UnboundedSender<Report>,
    ) -> Result<Engine, Vec<String>> {
        let mut e = Engine {
            cfg: Config::default(),
            probes: FastMap::default(),
            by_id: FastMap::default(),
            monitors: Vec::new(),
            monitor_ids: FastMap::default(),
            service_monitor: FastMap::default(),
            next_id: 1,
            quorum_up: FastMap::default(),
            draining: FastMap::default(),
            applied: FastMap::default(),
            pending: Vec::new(),
            status_of: FastMap::default(),
            tls_configs: FastMap::default(),
            kernel,
            reports,
            lateness: Lateness::default(),
            checks: 0,
            reloads_ok: 0,
            reloads_failed: 0,
            last_result: Instant::now(),
            kernel_pending: 0,
            kernel_busy_since: None,
            resync_wanted: false,
            started: SystemTime::now(),
            file,
            check_latency: FastMap::default(),
            jobs: Default::default(),
            resync_kind: "resync",
            last_done: Instant::now(),
            last_apply: Vec::new(),
            events: Events::none(),
        };
        e.check_tls(&cfg)?;
        e.install(cfg);
        Ok(e)
    }

    /// Every TLS configuration the FILE needs loads (CA files readable).
    fn check_tls(&mut self, cfg: &Config) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        for (key, h) in &cfg.health {
            let m = &h.monitor;
            if !matches!(
                m.kind,
                super::config::CheckType::Https | super::config::CheckType::TlsHello
            ) {
                continue;
            }
            let k = (m.verify, m.ca_file.clone());
            if self.tls_configs.contains_key(&k) {
                continue;
            }
            match tls::client_config(m.verify, m.ca_file.as_deref()) {
                Ok(c) => {
                    self.tls_configs.insert(k, c);
                }
                Err(e) => errors.push(format!(
                    "{}: health monitor of {}: {e}",
                    self.file,
                    service_name(key)
                )),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Make `cfg` the configuration: probes kept where their (target,
    /// monitor) stays, started where new, stopped where gone.
    fn install(&mut self, cfg: Config) {
        let mut users: FastMap<ProbeKey, Vec<DestId>> = FastMap::default();
        self.service_monitor.clear();
        for ws in &cfg.desired.services {
            let key = ws.service.key;
            let Some(h) = cfg.health.get(&key) else {
                continue;
            };
            let mid = match self.monitor_ids.get(&h.monitor) {
                Some(&i) => i,
                None => {
                    let i = self.monitors.len() as u32;
                    self.monitors.push(h.monitor.clone());
                    self.monitor_ids.insert(h.monitor.clone(), i);
                    i
                }
            };
            self.service_monitor.insert(key, mid);
            for (d, _) in &ws.dests {
                let (a, p) = cfg.target(&key, d.addr, d.port);
                users
                    .entry((SocketAddr::new(a, p), mid))
                    .or_default()
                    .push((key, d.addr, d.port));
            }
        }
        // Stop the probes no one uses any more.
        let gone: Vec<ProbeKey> = self
            .probes
            .keys()
            .filter(|k| !users.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            if let Some(p) = self.probes.remove(&k) {
                p.task.abort();
                self.by_id.remove(&p.id);
            }
        }
        let live: crate::model::FastSet<(SocketAddr, CheckType)> = users
            .keys()
            .map(|(a, m)| (*a, self.monitors[*m as usize].kind))
            .collect();
        self.check_latency.retain(|k, _| live.contains(k));
        for (k, u) in users {
            if let Some(p) = self.probes.get_mut(&k) {
                p.users = u;
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            let m = &self.monitors[k.1 as usize];
            let tls = self
                .tls_configs
                .get(&(m.verify, m.ca_file.clone()))
                .cloned();
            let spec = Arc::new(Spec {
                target: k.0,
                monitor: m.clone(),
                tls,
                ident: (std::process::id() as u16) ^ (id as u16).wrapping_mul(40503),
            });
            let task = spawn_probe(id, spec, self.reports.clone());
            self.by_id.insert(id, k);
            self.probes.insert(
                k,
                Probe {
                    id,
                    state: ProbeState::new(m.alpha),
                    users: u,
                    task,
                },
            );
        }
        self.quorum_up
            .retain(|k, _| cfg.health.get(k).is_some_and(|h| h.sorry_server.is_some()));
        self.cfg = cfg;
        let keys: Vec<ServiceKey> = self.cfg.health.keys().copied().collect();
        for k in keys {
            self.update_quorum(&k, true);
        }
    }

    fn probe_of(&self, key: &ServiceKey, d: &Dest) -> Option<&Probe> {
        let mid = *self.service_monitor.get(key)?;
        let (a, p) = self.cfg.target(key, d.addr, d.port);
        self.probes.get(&(SocketAddr::new(a, p), mid))
    }

    /// Sum of the weights of the live real servers of `key`.
    fn live_weight(&self, key: &ServiceKey) -> u64 {
        let Some(ws) = self.cfg.desired.service(key) else {
            return 0;
        };
        ws.dests
            .iter()
            .filter_map(|(d, _)| {
                let p = self.probe_of(key, d)?;
                p.state
                    .up
                    .then(|| p.state.weight.unwrap_or(d.weight).max(0) as u64)
            })
            .sum()
    }

    /// Recompute the quorum state of `key`; true when it changed.
    fn update_quorum(&mut self, key: &ServiceKey, quiet: bool) -> bool {
        let Some(h) = self.cfg.health.get(key) else {
            return false;
        };
        if h.sorry_server.is_none() {
            return false;
        }
        let live = self.live_weight(key);
        let (q, hy) = (h.quorum as u64, h.hysteresis as u64);
        let now = match self.quorum_up.get(key) {
            None => live >= q,
            Some(true) => live + hy >= q,
            Some(false) => live >= q + hy,
        };
        let before = self.quorum_up.insert(*key, now);
        let changed = before.is_some_and(|b| b != now);
        let sorry = h.sorry_server.map(|s| s.to_string()).unwrap_or_default();
        let mut ev = self.service_event(
            if now {
                "quorum_regained"
            } else {
                "quorum_lost"
            },
            key,
        );
        ev.live_weight = Some(live);
        ev.sorry_server = Some(sorry.clone());
        if changed && !quiet {
            if now {
                log(&format!(
                    "{}: quorum regained (live weight {live} ≥ {}): live servers back, sorry server {sorry} out",
                    service_name(key),
                    q + hy
                ));
                ev.threshold = Some(q + hy);
            } else {
                log(&format!(
                    "{}: quorum lost (live weight {live} < {}): sorry server {sorry} in",
                    service_name(key),
                    q.saturating_sub(hy)
                ));
                ev.threshold = Some(q.saturating_sub(hy));
            }
            self.events.emit(ev);
        } else if before.is_none() && !now {
            log(&format!(
                "{}: below quorum at start (live weight {live} < {q}): sorry server in",
                service_name(key)
            ));
            ev.threshold = Some(q);
            ev.reason = Some("below quorum at start".into());
            self.events.emit(ev);
        }
        changed
    }

    /// The operating status of a configured real server, and its weight
    /// in the kernel (`None`: absent).
    fn decide(
        &self,
        key: &ServiceKey,
        d: &Dest,
        h: Option<&Health>,
    ) -> (&'static str, Option<i32>) {
        let Some(h) = h else {
            return ("NO_MONITOR", Some(d.weight));
        };
        let Some(p) = self.probe_of(key, d) else {
            return ("NO_MONITOR", Some(d.weight));
        };
        let out = match h.on_failure {
            OnFailure::Weight0 => Some(0),
            OnFailure::Remove => None,
        };
        if !p.state.up {
            return ("ERROR", out);
        }
        if self.quorum_up.get(key) == Some(&false) {
            return ("ONLINE", out);
        }
        ("ONLINE", Some(p.state.weight.unwrap_or(d.weight)))
    }

    /// The real servers `key` should have in the kernel now.
    fn effective(&self, key: &ServiceKey) -> Vec<Dest> {
        let Some(ws) = self.cfg.desired.service(key) else {
            return Vec::new();
        };
        let h = self.cfg.health.get(key);
        let mut out = Vec::with_capacity(ws.dests.len() + 1);
        for (d, _) in &ws.dests {
            if let (_, Some(w)) = self.decide(key, d, h) {
                let mut d = d.clone();
                d.weight = w;
                out.push(d);
            }
        }
        if let Some(h) = h {
            if let (Some(s), Some(false)) = (h.sorry_server, self.quorum_up.get(key)) {
                if !out.iter().any(|d| d.addr == s.ip() && d.port == s.port()) {
                    let mut d = Dest::new(s.ip(), s.port());
                    d.fwd = ws.dests.first().map_or(FwdMethod::Masq, |(d, _)| d.fwd);
                    out.push(d);
                }
            }
        }
        for ((k, a, p), dr) in &self.draining {
            if k == key && !out.iter().any(|d| d.addr == *a && d.port == *p) {
                let mut d = dr.dest.clone();
                d.weight = 0;
                out.push(d);
            }
        }
        out
    }

    /// Send what `key` needs to match its effective real servers.
    fn sync(&mut self, key: &ServiceKey) {
        let want = self.effective(key);
        let have = self.applied.get(key).cloned().unwrap_or_default();
        let mut ops = Vec::new();
        for w in &want {
            match have.iter().find(|h| h.addr == w.addr && h.port == w.port) {
                None => ops.push(Op::AddDest(*key, w.clone())),
                Some(h) if !h.same_settings(w) => ops.push(Op::EditDest(*key, w.clone())),
                Some(_) => {}
            }
        }
        for h in &have {
            if !want.iter().any(|w| w.addr == h.addr && w.port == h.port) {
                ops.push(Op::DelDest(*key, h.addr, h.port));
            }
        }
        self.applied.insert(*key, want);
        self.pending.extend(ops);
    }

    /// Send the edits collected since the last flush as one batch (many
    /// servers failing together make one netlink exchange, not one each).
    pub fn flush(&mut self) {
        if !self.pending.is_empty() {
            let ops = std::mem::take(&mut self.pending);
            self.send(Job::Ops(ops));
        }
    }

    /// Hand a job to the kernel thread.
    pub fn send_job(&mut self, job: Job) {
        self.send(job)
    }

    fn send(&mut self, job: Job) {
        let now = Instant::now();
        if self.kernel_pending == 0 {
            self.kernel_busy_since = Some(now);
        }
        self.kernel_pending += 1;
        let kind = match &job {
            Job::Ops(_) => "edit",
            Job::Resync(_) => self.resync_kind,
            Job::ReadDests(_) | Job::ReadTable => "read",
        };
        self.jobs.push_back((kind, now));
        self.kernel.send(job);
    }

    /// A kernel job finished (the replies come in the order the jobs were
    /// sent); its kind (`edit`, `start`, `reload`, `resync`, `read`). The
    /// job ran from when it was sent or the one before it ended, whichever
    /// is later: that long is kept per kind (reads excepted).
    pub fn kernel_done(&mut self) -> Option<&'static str> {
        self.kernel_pending = self.kernel_pending.saturating_sub(1);
        let now = Instant::now();
        self.kernel_busy_since = if self.kernel_pending == 0 {
            None
        } else {
            Some(now)
        };
        let (kind, sent) = self.jobs.pop_front()?;
        let took = now.duration_since(sent.max(self.last_done));
        self.last_done = now;
        if kind != "read" {
            let end = SystemTime::now();
            match self.last_apply.iter_mut().find(|(k, _, _)| *k == kind) {
                Some(e) => *e = (kind, took, end),
                None => self.last_apply.push((kind, took, end)),
            }
        }
        Some(kind)
    }

    /// Make the whole table match: the FILE with health applied.
    pub fn resync(&mut self) {
        self.resync_as("resync")
    }

    /// [`Engine::resync`], its duration counted as `kind` (`start`,
    /// `reload`, `resync`).
    pub fn resync_as(&mut self, kind: &'static str) {
        // Edits planned before go first (the resync plans from scratch).
        self.flush();
        self.resync_kind = kind;
        self.resync_wanted = false;
        let mut want = Desired::default();
        for ws in &self.cfg.desired.services {
            let _ = want.add(Item::Service(ws.service.clone()), ws.line, "");
        }
        let keys = self.services();
        for key in &keys {
            let eff = self.effective(key);
            for d in &eff {
                let _ = want.add(Item::Dest(*key, d.clone()), 0, "");
            }
            self.applied.insert(*key, eff);
        }
        self.applied.retain(|k, _| keys.contains(k));
        want.timeouts = self.cfg.desired.timeouts;
        want.daemons = self.cfg.desired.daemons.clone();
        self.send(Job::Resync(Box::new(want)));
    }

    /// Log the operating status changes of `key`'s real servers.
    fn log_changes(&mut self, key: &ServiceKey) {
        let Some(ws) = self.cfg.desired.service(key) else {
            return;
        };
        let h = self.cfg.health.get(key);
        let mut lines = Vec::new();
        let mut events = Vec::new();
        for (d, _) in &ws.dests {
            let (st, w) = self.decide(key, d, h);
            let id = (*key, d.addr, d.port);
            let before = self.status_of.insert(id, st);
            if before == Some(st) {
                continue;
            }
            // At start only what is not serving is worth a line.
            if before.is_none() && matches!(st, "ONLINE" | "NO_MONITOR") {
                continue;
            }
            let mut line = format!(
                "{} -> {}: {} -> {st}",
                service_name(key),
                server_name(d.addr, d.port),
                before.unwrap_or("START")
            );
            let mut ev = self.service_event("state", key);
            ev.server = Some(server_name(d.addr, d.port));
            ev.from = Some(before.unwrap_or("START"));
            ev.to = Some(st);
            ev.weight = Some(w);
            if let Some(p) = self.probe_of(key, d) {
                let s = &p.state;
                let (n, what) = match (s.up, s.successes == 1 || s.failures == 1) {
                    (true, true) => (s.successes, "success"),
                    (true, false) => (s.successes, "successes"),
                    (false, true) => (s.failures, "failure"),
                    (false, false) => (s.failures, "failures"),
                };
                if let Some((o, _)) = &s.last {
                    let _ = write!(
                        line,
                        " after {n} {what} ({}, {:.1} ms)",
                        o.reason,
                        o.latency.as_secs_f64() * 1000.0
                    );
                    ev.in_a_row = Some(n);
                    ev.reason = Some(o.reason.clone());
                    ev.latency_ms = Some((o.latency.as_secs_f64() * 1e6).round() / 1e3);
                }
            }
            let _ = write!(
                line,
                "; weight {}",
                w.map_or("removed".to_string(), |w| w.to_string())
            );
            lines.push(line);
            events.push(ev);
        }
        for l in lines {
            log(&l);
        }
        for ev in events {
            self.events.emit(ev);
        }
    }

    /// A probe reported.
    pub fn report(&mut self, r: Report) {
        self.last_result = Instant::now();
        self.checks += 1;
        self.lateness.add(r.lateness);
        let Some(k) = self.by_id.get(&r.id) else {
            return;
        };
        let kind = self.monitors[k.1 as usize].kind;
        self.check_latency
            .entry((k.0, kind))
            .or_default()
            .observe(r.outcome.latency.as_secs_f64());
        let Some(p) = self.probes.get_mut(k) else {
            return;
        };
        let changed = p
            .state
            .record(&r.outcome, &self.monitors[k.1 as usize], SystemTime::now());
        if !changed {
            return;
        }
        let mut keys: Vec<ServiceKey> = p.users.iter().map(|u| u.0).collect();
        keys.sort_unstable_by_key(crate::format::text::service_key_order);
        keys.dedup();
        for key in keys {
            self.update_quorum(&key, false);
            self.log_changes(&key);
            self.sync(&key);
        }
    }

    /// Log every real server's starting status.
    pub fn log_all(&mut self) {
        let keys = self.services();
        for k in keys {
            self.log_changes(&k);
        }
    }

    /// Take `cfg` as the new FILE: the probes it keeps keep their state;
    /// real servers it drops drain; then one resync.
    pub fn reload(&mut self, cfg: Config) -> Result<(), Vec<String>> {
        self.check_tls(&cfg)?;
        let now = Instant::now();
        for ws in &self.cfg.desired.services {
            let key = ws.service.key;
            let Some(new) = cfg.desired.service(&key) else {
                let mut ev = self.service_event("service_removed", &key);
                ev.reason = Some(format!("removed from {}", self.file));
                self.events.emit(ev);
                continue;
            };
            let udp = matches!(
                key,
                ServiceKey::Addr {
                    protocol: Protocol::Udp,
                    ..
                }
            );
            let timeout = cfg
                .health
                .get(&key)
                .map_or(Duration::from_secs(300), |h| h.drain_timeout);
            for (d, _) in &ws.dests {
                let kept = new
                    .dests
                    .iter()
                    .any(|(n, _)| n.addr == d.addr && n.port == d.port);
                let id = (key, d.addr, d.port);
                let present = self
                    .applied
                    .get(&key)
                    .is_some_and(|a| a.iter().any(|x| x.addr == d.addr && x.port == d.port));
                if !kept && (udp || !present) {
                    let mut ev = self.service_event("state", &key);
                    ev.server = Some(server_name(d.addr, d.port));
                    ev.from = self.status_of.get(&id).copied();
                    ev.to = Some("DELETED");
                    ev.weight = Some(None);
                    ev.reason = Some(format!("removed from {}", self.file));
                    self.events.emit(ev);
                }
                if !kept && !udp && present && !self.draining.contains_key(&id) {
                    let mut ev = self.service_event("state", &key);
                    ev.server = Some(server_name(d.addr, d.port));
                    ev.from = self.status_of.get(&id).copied();
                    ev.to = Some("DRAINING");
                    ev.weight = Some(Some(0));
                    ev.reason = Some(format!("removed from {}", self.file));
                    self.events.emit(ev);
                    self.draining.insert(
                        id,
                        Drain {
                            dest: d.clone(),
                            deadline: now + timeout,
                            since: SystemTime::now(),
                        },
                    );
                    log(&format!(
                        "{} -> {}: removed from {}: DRAINING (weight 0 until idle, at most {} s)",
                        service_name(&key),
                        server_name(d.addr, d.port),
                        self.file,
                        timeout.as_secs_f64()
                    ));
                }
            }
        }
        // A real server back in the FILE stops draining; one whose
        // service is gone goes with it.
        self.draining.retain(|(k, a, p), _| {
            cfg.desired
                .service(k)
                .is_some_and(|s| !s.dests.iter().any(|(d, _)| d.addr == *a && d.port == *p))
        });
        self.status_of.retain(|(k, a, p), _| {
            cfg.desired
                .service(k)
                .is_some_and(|s| s.dests.iter().any(|(d, _)| d.addr == *a && d.port == *p))
        });
        for ws in &cfg.desired.services {
            if self.cfg.desired.service(&ws.service.key).is_none() {
                let mut ev = Event::new("service_added");
                ev.service = Some(service_name(&ws.service.key));
                ev.name = cfg.name(&ws.service.key).map(str::to_string);
                self.events.emit(ev);
            }
        }
        self.install(cfg);
        self.log_all();
        self.resync_as("reload");
        Ok(())
    }

    /// Services with real servers draining.
    pub fn draining_services(&self) -> Vec<ServiceKey> {
        let mut v: Vec<ServiceKey> = self.draining.keys().map(|k| k.0).collect();
        v.sort_unstable_by_key(crate::format::text::service_key_order);
        v.dedup();
        v
    }

    /// The kernel's real servers of draining services: delete the idle and
    /// the overdue.
    pub fn drain_read(&mut self, read: Vec<(ServiceKey, Option<Vec<Dest>>)>) {
        let now = Instant::now();
        let mut touched = Vec::new();
        for (key, dests) in read {
            let ids: Vec<DestId> = self
                .draining
                .keys()
                .filter(|k| k.0 == key)
                .copied()
                .collect();
            for id in ids {
                let found = dests
                    .as_ref()
                    .and_then(|ds| ds.iter().find(|d| d.addr == id.1 && d.port == id.2));
                let Some(dr) = self.draining.get(&id) else {
                    continue;
                };
                let why = match found {
                    None => Some("gone".to_string()),
                    Some(d) if d.active_conns + d.inact_conns == 0 => {
                        Some("no connections left".to_string())
                    }
                    Some(d) if now >= dr.deadline => Some(format!(
                        "drain_timeout passed with {} active and {} inactive connections",
                        d.active_conns, d.inact_conns
                    )),
                    Some(_) => None,
                };
                if let Some(why) = why {
                    let secs = dr.since.elapsed().map_or(0.0, |d| d.as_secs_f64());
                    self.draining.remove(&id);
                    log(&format!(
                        "{} -> {}: DRAINING -> deleted after {secs:.1} s ({why})",
                        service_name(&key),
                        server_name(id.1, id.2)
                    ));
                    let mut ev = self.service_event("state", &key);
                    ev.server = Some(server_name(id.1, id.2));
                    ev.from = Some("DRAINING");
                    ev.to = Some("DELETED");
                    ev.weight = Some(None);
                    ev.reason = Some(format!("after {secs:.1} s: {why}"));
                    self.events.emit(ev);
                    touched.push(key);
                }
            }
        }
        touched.dedup();
        for k in touched {
            self.sync(&k);
        }
    }

    /// The name FILE gives the service `key` (its `name` label, status
    /// and events), if any.
    pub fn name_of(&self, key: &ServiceKey) -> Option<&str> {
        self.cfg.name(key)
    }

    /// An event about the service `key` (its name filled in).
    pub fn service_event(&self, event: &'static str, key: &ServiceKey) -> Event {
        let mut ev = Event::new(event);
        ev.service = Some(service_name(key));
        ev.name = self.name_of(key).map(str::to_string);
        ev
    }

    /// How long the last change of each kind took, and when it ended.
    pub fn last_apply(&self) -> &[(&'static str, Duration, SystemTime)] {
        &self.last_apply
    }

    /// The health of a real server of the table, for metrics: those of
    /// FILE (with or without a monitor) and those draining.
    pub fn health_of(
        &self,
        key: &ServiceKey,
        d: &Dest,
    ) -> Option<crate::format::metrics::DestHealth> {
        use crate::format::metrics::DestHealth;
        let epoch = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        };
        if let Some(dr) = self.draining.get(&(*key, d.addr, d.port)) {
            return Some(DestHealth {
                up: true,
                operating_status: "DRAINING",
                configured_weight: dr.dest.weight,
                consecutive_failures: 0,
                last_change: epoch(dr.since),
                checked: true,
            });
        }
        let ws = self.cfg.desired.service(key)?;
        let (want, _) = ws
            .dests
            .iter()
            .find(|(w, _)| w.addr == d.addr && w.port == d.port)?;
        let (st, _) = self.decide(key, want, self.cfg.health.get(key));
        let p = self.probe_of(key, want);
        Some(DestHealth {
            up: st != "ERROR",
            operating_status: st,
            configured_weight: want.weight,
            consecutive_failures: p.map_or(0, |p| p.state.failures),
            last_change: p.map_or(epoch(self.started), |p| epoch(p.state.since)),
            checked: p.is_some(),
        })
    }

    /// The daemon's own series, appended to a scrape.
    pub fn own_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let loop_age = self.last_result.elapsed().as_secs_f64();
        // Every line at the first column (the exposition format has no
        // indentation).
        let _ = write!(
            out,
            "# HELP ipvs_serve_probes Probes running (one per unique target and monitor)\n\
             # TYPE ipvs_serve_probes gauge\n\
             ipvs_serve_probes {}\n\
             # HELP ipvs_serve_checks_total Checks done\n\
             # TYPE ipvs_serve_checks_total counter\n\
             ipvs_serve_checks_total {}\n\
             # HELP ipvs_serve_last_check_timestamp_seconds Unix time of the last check result (the checker's liveness)\n\
             # TYPE ipvs_serve_last_check_timestamp_seconds gauge\n\
             ipvs_serve_last_check_timestamp_seconds {:.3}\n\
             # HELP ipvs_serve_reloads_total Reloads of FILE\n\
             # TYPE ipvs_serve_reloads_total counter\n\
             ipvs_serve_reloads_total{{result=\"ok\"}} {}\n\
             ipvs_serve_reloads_total{{result=\"failed\"}} {}\n",
            self.probes.len(),
            self.checks,
            now - loop_age,
            self.reloads_ok,
            self.reloads_failed
        );
        let _ = write!(
            out,
            "# HELP ipvs_serve_last_apply_duration_seconds How long the last change of the table took, by kind: start (the first apply), reload, resync (the periodic comparison and repair), edit (a batch of health changes)\n\
             # TYPE ipvs_serve_last_apply_duration_seconds gauge\n"
        );
        for (kind, took, _) in &self.last_apply {
            let _ = writeln!(
                out,
                "ipvs_serve_last_apply_duration_seconds{{kind=\"{kind}\"}} {:.6}",
                took.as_secs_f64()
            );
        }
        let _ = write!(
            out,
            "# HELP ipvs_serve_last_apply_timestamp_seconds Unix time the last change of the table of each kind ended\n\
             # TYPE ipvs_serve_last_apply_timestamp_seconds gauge\n"
        );
        for (kind, _, at) in &self.last_apply {
            let t = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let _ = writeln!(
                out,
                "ipvs_serve_last_apply_timestamp_seconds{{kind=\"{kind}\"}} {t:.3}"
            );
        }
        if self.events.enabled() {
            let _ = write!(
                out,
                "# HELP ipvs_serve_events_lost_total Events not written (queue full or the events file not writable)\n\
                 # TYPE ipvs_serve_events_lost_total counter\n\
                 ipvs_serve_events_lost_total {}\n",
                self.events.lost()
            );
        }
        // Check durations, one series per probe target and check type.
        let mut series: Vec<(&(SocketAddr, CheckType), &Histogram)> =
            self.check_latency.iter().collect();
        series.sort_unstable_by_key(|((a, kind), _)| (a.ip(), a.port(), kind.name()));
        let series: Vec<(String, &Histogram)> = series
            .into_iter()
            .map(|((a, kind), h)| {
                (
                    format!(
                        "remote_address=\"{}\",remote_port=\"{}\",check=\"{}\"",
                        a.ip(),
                        a.port(),
                        kind.name()
                    ),
                    h,
                )
            })
            .collect();
        crate::format::metrics::histogram(
            out,
            "ipvs_backend_check_duration_seconds",
            "How long health checks took (failed ones included; a timeout counts as its timeout), per probe target (monitor_address/monitor_port where set) and check type",
            &series,
        );
    }

    /// Services of the FILE (for stopping with `--on-stop remove`).
    pub fn services(&self) -> Vec<ServiceKey> {
        self.cfg
            .desired
            .services
            .iter()
            .map(|w| w.service.key)
            .collect()
    }

    pub fn probe_count(&self) -> usize {
        self.probes.len()
    }

    /// The longest a probe may stay silent (its delay plus its timeout).
    pub fn max_silence(&self) -> Duration {
        self.probes
            .keys()
            .map(|k| {
                let m = &self.monitors[k.1 as usize];
                m.delay + m.timeout
            })
            .max()
            .unwrap_or_default()
    }

    /// Every real server and its health.
    pub fn status(&self) -> Status {
        let mut services = Vec::new();
        let epoch = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        };
        for ws in &self.cfg.desired.services {
            let key = ws.service.key;
            let h = self.cfg.health.get(&key);
            let mut servers = Vec::new();
            for (d, _) in &ws.dests {
                let (st, w) = self.decide(&key, d, h);
                let p = self.probe_of(&key, d);
                let (ta, tp) = self.cfg.target(&key, d.addr, d.port);
                servers.push(ServerStatus {
                    server: server_name(d.addr, d.port),
                    operating_status: st,
                    weight: d.weight,
                    kernel_weight: w,
                    check: h.map(|h| h.monitor.kind.name()),
                    target: h.map(|_| server_name(ta, tp)),
                    last_ok: p.and_then(|p| p.state.last.as_ref().map(|l| l.0.ok)),
                    last_reason: p.and_then(|p| p.state.last.as_ref().map(|l| l.0.reason.clone())),
                    last_latency_ms: p.and_then(|p| {
                        p.state
                            .last
                            .as_ref()
                            .map(|l| l.0.latency.as_secs_f64() * 1000.0)
                    }),
                    last_at: p.and_then(|p| p.state.last.as_ref().map(|l| epoch(l.1))),
                    successes: p.map(|p| p.state.successes),
                    failures: p.map(|p| p.state.failures),
                    since: p.map(|p| epoch(p.state.since)),
                    checks: p.map(|p| p.state.checks),
                });
            }
            for ((k, a, port), dr) in &self.draining {
                if *k == key {
                    servers.push(ServerStatus {
                        server: server_name(*a, *port),
                        operating_status: "DRAINING",
                        weight: dr.dest.weight,
                        kernel_weight: Some(0),
                        check: None,
                        target: None,
                        last_ok: None,
                        last_reason: None,
                        last_latency_ms: None,
                        last_at: None,
                        successes: None,
                        failures: None,
                        since: Some(epoch(dr.since)),
                        checks: None,
                    });
                }
            }
            let sorry = h.and_then(|h| h.sorry_server).map(|s| s.to_string());
            services.push(ServiceStatus {
                service: service_name(&key),
                name: self.name_of(&key).map(str::to_string),
                quorum_up: self.quorum_up.get(&key).copied(),
                sorry_server_active: sorry
                    .clone()
                    .filter(|_| self.quorum_up.get(&key) == Some(&false)),
                live_weight: h.map(|_| self.live_weight(&key)),
                servers,
            });
        }
        Status {
            file: self.file.clone(),
            pid: std::process::id(),
            started: epoch(self.started),
            probes: self.probes.len(),
            checks: self.checks,
            lateness_p99_ms: self.lateness.p99_ms(),
            reloads_ok: self.reloads_ok,
            reloads_failed: self.reloads_failed,
            services,
        }
    }
}

fn spawn_probe(
    id: u64,
    spec: Arc<Spec>,
    reports: UnboundedSender<Report>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = spec.monitor.delay;
        // Spread the first checks over one period (golden-ratio steps), so
        // that many probes never fire in the same millisecond.
        let frac = ((id as f64) * 0.618_033_988_75).fract();
        let mut next = tokio::time::Instant::now() + period.mul_f64(frac);
        let mut seq: u16 = 0;
        loop {
            tokio::time::sleep_until(next).await;
            let start = tokio::time::Instant::now();
            let lateness = start.saturating_duration_since(next);
            seq = seq.wrapping_add(1);
            let outcome = super::probe::check(&spec, seq).await;
            if reports
                .send(Report {
                    id,
                    outcome,
                    lateness,
                })
                .is_err()
            {
                return;
            }
            next += period;
            let now = tokio::time::Instant::now();
            if next < now {
                // A check that ran past its period: the next one starts
                // now, not in a burst of the missed ones.
                next = now;
            }
        }
    })
}

/// `ipvsadm serve status --json`.
#[derive(Serialize)]
pub struct Status {
    pub file: String,
    pub pid: u32,
    pub started: f64,
    pub probes: usize,
    pub checks: u64,
    pub lateness_p99_ms: Option<u64>,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    pub services: Vec<ServiceStatus>,
}

#[derive(Serialize)]
pub struct ServiceStatus {
    pub service: String,
    /// The name FILE gives the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorry_server_active: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_weight: Option<u64>,
    pub servers: Vec<ServerStatus>,
}

#[derive(Serialize)]
pub struct ServerStatus {
    pub server: String,
    pub operating_status: &'static str,
    pub weight: i32,
    /// The weight in the kernel (`null`: removed).
    pub kernel_weight: Option<i32>,
    pub check: Option<&'static str>,
    pub target: Option<String>,
    pub last_ok: Option<bool>,
    pub last_reason: Option<String>,
    pub last_latency_ms: Option<f64>,
    pub last_at: Option<f64>,
    pub successes: Option<u32>,
    pub failures: Option<u32>,
    pub since: Option<f64>,
    pub checks: Option<u64>,
}

impl Status {
    /// The text `ipvsadm serve status` prints.
    pub fn text(&self) -> String {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let ago = |t: f64| {
            let s = (now - t).max(0.0);
            if s < 120.0 {
                format!("{s:.0}s")
            } else if s < 7200.0 {
                format!("{:.0}m", s / 60.0)
            } else {
                format!("{:.0}h", s / 3600.0)
            }
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ipvsadm serve {} (pid {}): {} probe(s), {} check(s), p99 lateness {}, reloads {} ok / {} failed",
            self.file,
            self.pid,
            self.probes,
            self.checks,
            self.lateness_p99_ms
                .map_or("-".to_string(), |v| format!("{v} ms")),
            self.reloads_ok,
            self.reloads_failed
        );
        for s in &self.services {
            let _ = write!(out, "{}", s.service);
            if let Some(n) = &s.name {
                let _ = write!(out, " ({n})");
            }
            if let Some(q) = s.quorum_up {
                let _ = write!(out, "  quorum {}", if q { "up" } else { "LOST" });
            }
            if let Some(sorry) = &s.sorry_server_active {
                let _ = write!(out, ", sorry server {sorry} serving");
            }
            out.push('\n');
            for r in &s.servers {
                let w = r.kernel_weight.map_or("-".to_string(), |w| w.to_string());
                let _ = write!(
                    out,
                    "  -> {:<28} {:<10} weight {:>5}/{:<5}",
                    r.server, r.operating_status, w, r.weight
                );
                if let Some(c) = r.check {
                    let _ = write!(out, " {c}");
                    if let (Some(ok), Some(why)) = (r.last_ok, &r.last_reason) {
                        let _ = write!(
                            out,
                            " {}: {why} ({:.1} ms)",
                            if ok { "ok" } else { "FAIL" },
                            r.last_latency_ms.unwrap_or(0.0)
                        );
                    } else {
                        out.push_str(" (not checked yet)");
                    }
                    let _ = write!(
                        out,
                        " [{} ok, {} failed in a row]",
                        r.successes.unwrap_or(0),
                        r.failures.unwrap_or(0)
                    );
                }
                if let Some(t) = r.since {
                    let _ = write!(out, " since {} ago", ago(t));
                }
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(rise: u32, fall: u32) -> Monitor {
        let text = format!(
            "-A -t 192.0.2.1:80\n#@ health -t 192.0.2.1:80 type=TCP delay=1 timeout=0.5 \
             max_retries={rise} max_retries_down={fall}\n"
        );
        let cfg = crate::serve::config::read(&text, "t").unwrap();
        cfg.health.into_values().next().unwrap().monitor
    }

    fn outcome(ok: bool) -> Outcome {
        Outcome {
            ok,
            reason: String::new(),
            latency: Duration::ZERO,
            weight: None,
        }
    }

    #[test]
    fn rise_and_fall() {
        let m = monitor(2, 3);
        let now = SystemTime::now();
        let mut s = ProbeState::new(false);
        assert!(s.up);
        assert!(!s.record(&outcome(false), &m, now));
        assert!(!s.record(&outcome(false), &m, now));
        assert!(!s.record(&outcome(true), &m, now)); // resets the failures
        assert!(!s.record(&outcome(false), &m, now));
        assert!(!s.record(&outcome(false), &m, now));
        assert!(s.record(&outcome(false), &m, now));
        assert!(!s.up);
        assert!(!s.record(&outcome(true), &m, now));
        assert!(s.record(&outcome(true), &m, now));
        assert!(s.up);
    }

    #[test]
    fn alpha_starts_down() {
        let m = monitor(1, 3);
        let mut s = ProbeState::new(true);
        assert!(!s.up);
        assert!(s.record(&outcome(true), &m, SystemTime::now()));
        assert!(s.up);
    }

    #[test]
    fn p99() {
        let mut l = Lateness::default();
        for _ in 0..99 {
            l.add(Duration::from_micros(300));
        }
        l.add(Duration::from_millis(40));
        assert_eq!(l.p99_ms(), Some(1));
        l.add(Duration::from_millis(40));
        assert_eq!(l.p99_ms(), Some(41));
    }
}
