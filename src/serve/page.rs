//! The status page (`GET /` of `--listen`): the daemon's side of
//! [`crate::format::html`]. It keeps what rates need (the counters of the
//! previous render and when they were read) and the outcome of the last
//! apply, and turns the engine's status into the formatter's per real
//! server health.

use super::engine::Engine;
use crate::format::html::{self, Absent, DestStatus, Rates};
use crate::model::{Dest, FastMap, FastSet, Service, ServiceKey, Stats};
use std::net::{IpAddr, SocketAddr};
use std::time::{Instant, SystemTime};

/// Seconds between refreshes of the page.
pub const REFRESH_SECS: u32 = 5;

/// Rates are measured over at least this long; a render sooner after the
/// previous one (another browser) shows the rates measured last.
const MIN_WINDOW: f64 = 1.0;

/// A service (`None`) or one of its real servers.
type RateKey = (ServiceKey, Option<(IpAddr, u16)>);

/// What the page remembers between renders.
#[derive(Default)]
pub struct Page {
    /// The counters of the read rates are measured from.
    base: Option<(Instant, FastMap<RateKey, Stats>)>,
    /// The rates last measured and their window in seconds.
    rates: Option<(f64, FastMap<RateKey, Rates>)>,
    /// The last apply of FILE: when, what, whether it worked.
    last_apply: Option<(SystemTime, String, bool)>,
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this host".into())
}

impl Page {
    /// Note the outcome of an apply (the first one or a resync).
    pub fn applied(&mut self, r: &Result<usize, String>) {
        let what = match r {
            Ok(0) => "ok, in sync".to_string(),
            Ok(n) => format!("ok, {n} change(s)"),
            Err(e) => format!("failed: {e}"),
        };
        self.last_apply = Some((SystemTime::now(), what, r.is_ok()));
    }

    /// Measure rates against the previous read (when long enough ago) and
    /// keep this read for the next one.
    fn measure(&mut self, table: &[(Service, Vec<Dest>)]) {
        let now = Instant::now();
        let mut cur: FastMap<RateKey, Stats> = FastMap::default();
        for (s, ds) in table {
            cur.insert((s.key, None), s.stats);
            for d in ds {
                cur.insert((s.key, Some((d.addr, d.port))), d.stats);
            }
        }
        match &self.base {
            Some((t, _)) if now.duration_since(*t).as_secs_f64() < MIN_WINDOW => {}
            Some((t, before)) => {
                let secs = now.duration_since(*t).as_secs_f64();
                let rates = cur
                    .iter()
                    .filter_map(|(k, st)| {
                        let b = before.get(k)?;
                        Some((*k, Rates::between(b, st, secs)?))
                    })
                    .collect();
                self.rates = Some((secs, rates));
                self.base = Some((now, cur));
            }
            None => self.base = Some((now, cur)),
        }
    }

    /// The page for one read of the table.
    pub fn render(
        &mut self,
        engine: &Engine,
        table: &[(Service, Vec<Dest>)],
        names: &dyn Fn(&ServiceKey) -> Option<String>,
    ) -> String {
        self.measure(table);
        let st = engine.status();
        // The engine's status lists FILE's services in order.
        let mut health: FastMap<(ServiceKey, IpAddr, u16), DestStatus> = FastMap::default();
        for (ws, ss) in engine.cfg.desired.services.iter().zip(&st.services) {
            for r in &ss.servers {
                let Ok(a) = r.server.parse::<SocketAddr>() else {
                    continue;
                };
                health.insert(
                    (ws.service.key, a.ip(), a.port()),
                    DestStatus {
                        operating_status: r.operating_status.to_string(),
                        configured_weight: r.weight,
                        since: r.since.or(Some(st.started)),
                        check: r.check.map(str::to_string),
                        last_ok: r.last_ok,
                        last_reason: r.last_reason.clone(),
                        last_latency_ms: r.last_latency_ms,
                        failures: r.failures,
                    },
                );
            }
        }
        // FILE's real servers the table lacks (removed on failure).
        let in_table: FastSet<(ServiceKey, IpAddr, u16)> = table
            .iter()
            .flat_map(|(s, ds)| ds.iter().map(|d| (s.key, d.addr, d.port)))
            .collect();
        let mut absent: Vec<Absent> = health
            .iter()
            .filter(|(k, _)| !in_table.contains(*k))
            .map(|((key, addr, port), h)| Absent {
                key: *key,
                addr: *addr,
                port: *port,
                status: h.clone(),
            })
            .collect();
        absent.sort_by_key(|a| (a.addr, a.port));
        let rates = self.rates.as_ref();
        let summary = html::Summary {
            version: env!("CARGO_PKG_VERSION").to_string(),
            host: host_name(),
            file: st.file.clone(),
            pid: st.pid,
            now: epoch(SystemTime::now()),
            started: st.started,
            probes: st.probes,
            checks: st.checks,
            lateness_p99_ms: st.lateness_p99_ms,
            reloads_ok: st.reloads_ok,
            reloads_failed: st.reloads_failed,
            last_apply: self
                .last_apply
                .as_ref()
                .map(|(t, w, ok)| (epoch(*t), w.clone(), *ok)),
            refresh_secs: REFRESH_SECS,
            rate_window: rates.map(|r| r.0),
        };
        let mut out = String::with_capacity(8192 + table.len() * 4096);
        html::render(
            &mut out,
            table,
            &absent,
            names,
            &|k, d| health.get(&(*k, d.addr, d.port)).cloned(),
            &|k, d| {
                rates
                    .and_then(|(_, m)| m.get(&(*k, d.map(|d| (d.addr, d.port)))))
                    .copied()
            },
            &summary,
        );
        out
    }
}
