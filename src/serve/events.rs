//! `--events PATH`: what happens, as JSON lines appended to PATH (`-`:
//! standard output), one object per line:
//!
//! ```text
//! {"ts":"2026-11-30T07:47:35.123Z","event":"state","service":"TCP 192.0.2.1:80","name":"web","server":"198.51.100.2:80","from":"ONLINE","to":"ERROR","reason":"connect: connection refused","latency_ms":1.1,"in_a_row":2,"weight":0}
//! ```
//!
//! `event` is `start`, `state` (a real server's operating status:
//! `ONLINE`, `ERROR`, `DRAINING`, `DELETED`; `from` is `START` for the
//! first status when it is not serving), `quorum_lost` / `quorum_regained`
//! (sorry server in / out), `reload` (`result` `ok` with `changes`, or
//! `failed` with `errors`), `repair` (the periodic comparison changed the
//! table, or `result` `failed`), `refused` (the kernel refused a health
//! edit: `command`, `error`), `stop`. Fields that do not apply are left
//! out; `weight` is the weight in the kernel (`null`: removed).
//!
//! Writing never stops checking: lines go through a bounded queue to a
//! thread of their own; a full queue drops the line, a failed open or
//! write (full disk, missing directory, closed pipe) is said once on
//! stderr and the line is dropped — both are counted
//! (`ipvs_serve_events_lost_total`). The file is opened again at each
//! reload (log rotation) and after a failure.

use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::SystemTime;

/// Lines queued for the writer at most.
pub const QUEUE: usize = 4096;

/// One event. `ts` is filled in by [`Events::emit`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct Event {
    pub ts: String,
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Successes or failures in a row that made the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_a_row: Option<u32>,
    /// The weight in the kernel (`Some(None)`: removed, written `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<Option<i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_weight: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

impl Event {
    pub fn new(event: &'static str) -> Event {
        Event {
            event,
            ..Default::default()
        }
    }
}

enum Msg {
    Line(String),
    Reopen,
}

/// Where events go (nowhere without `--events`).
#[derive(Default)]
pub struct Events {
    tx: Option<SyncSender<Msg>>,
    lost: Arc<AtomicU64>,
    warned_full: bool,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Events {
    /// No events.
    pub fn none() -> Events {
        Events::default()
    }

    /// Events appended to `path` (`-`: standard output), written by a
    /// thread of their own.
    pub fn open(path: &str) -> Events {
        let (tx, rx) = sync_channel(QUEUE);
        let lost = Arc::new(AtomicU64::new(0));
        let (p, l) = (path.to_string(), lost.clone());
        let spawned = std::thread::Builder::new()
            .name("events".into())
            .spawn(move || writer(&p, rx, &l));
        match spawned {
            Ok(t) => Events {
                tx: Some(tx),
                lost,
                warned_full: false,
                thread: Some(t),
            },
            Err(e) => {
                log(&format!("warning: no events ({e}); checking goes on"));
                Events::none()
            }
        }
    }

    /// Let the writer write what is queued, waiting at most `wait` (a
    /// reader that does not read cannot hold up stopping).
    pub fn close(&mut self, wait: std::time::Duration) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let t0 = std::time::Instant::now();
            while !t.is_finished() && t0.elapsed() < wait {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }

    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Events not written (queue full, or the file not writable).
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Queue `ev` (never blocks).
    pub fn emit(&mut self, mut ev: Event) {
        let Some(tx) = &self.tx else {
            return;
        };
        ev.ts = rfc3339(SystemTime::now());
        let Ok(mut line) = serde_json::to_string(&ev) else {
            self.lost.fetch_add(1, Ordering::Relaxed);
            return;
        };
        line.push('\n');
        match tx.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.lost.fetch_add(1, Ordering::Relaxed);
                if !self.warned_full {
                    self.warned_full = true;
                    log(&format!(
                        "warning: events: {QUEUE} lines waiting to be written, dropping events (said once; ipvs_serve_events_lost_total counts them)"
                    ));
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Open the file again before the next line (after a log rotation).
    pub fn reopen(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(Msg::Reopen);
        }
    }
}

fn open(path: &str) -> std::io::Result<Box<dyn Write>> {
    if path == "-" {
        return Ok(Box::new(std::io::stdout()));
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    Ok(Box::new(f))
}

/// The writer: one `write` per line (appends of a line are whole); a
/// failure is said once until a line is written again.
fn writer(path: &str, rx: Receiver<Msg>, lost: &AtomicU64) {
    let shown = if path == "-" { "standard output" } else { path };
    let mut out: Option<Box<dyn Write>> = None;
    let mut failing = false;
    // A line cut by a failed write: the next one starts on a new line.
    let mut cut = false;
    let fail = |failing: &mut bool, what: String| {
        lost.fetch_add(1, Ordering::Relaxed);
        if !*failing {
            *failing = true;
            log(&format!(
                "warning: events: {what}; events are dropped until it works again, checking goes on"
            ));
        }
    };
    // Open at once, so that a bad path is said at start.
    match open(path) {
        Ok(o) => out = Some(o),
        Err(e) => {
            failing = true;
            log(&format!(
                "warning: events: cannot open {shown}: {e}; events are dropped until it works, checking goes on"
            ));
        }
    }
    while let Ok(msg) = rx.recv() {
        let line = match msg {
            Msg::Reopen => {
                out = None;
                continue;
            }
            Msg::Line(l) => l,
        };
        if out.is_none() {
            match open(path) {
                Ok(o) => out = Some(o),
                Err(e) => {
                    fail(&mut failing, format!("cannot open {shown}: {e}"));
                    continue;
                }
            }
        }
        let Some(w) = out.as_mut() else { continue };
        let mut buf = Vec::with_capacity(line.len() + 1);
        if cut {
            buf.push(b'\n');
        }
        buf.extend_from_slice(line.as_bytes());
        let mut done = 0;
        let r = loop {
            match w.write(&buf[done..]) {
                Ok(0) => break Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
                Ok(n) => {
                    done += n;
                    if done == buf.len() {
                        break w.flush();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        match r {
            Ok(()) => {
                cut = false;
                if failing {
                    failing = false;
                    log(&format!("events: writing to {shown} again"));
                }
            }
            Err(e) => {
                if done > 0 && done < buf.len() {
                    cut = true;
                }
                // Opened again for the next line (a file replaced, a
                // disk with room again).
                out = None;
                fail(&mut failing, format!("cannot write to {shown}: {e}"));
            }
        }
    }
}

/// `t` as RFC 3339 in UTC with milliseconds (`2026-11-30T07:47:35.123Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86400) as i64, secs % 86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// One line on stderr; a stderr that cannot be written (closed, full)
/// never stops the daemon.
pub fn log(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "ipvsadm serve: {msg}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn rfc3339_dates() {
        let at = |s: u64, ms: u64| {
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_millis(s * 1000 + ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_700_000_000, 123), "2023-11-14T22:13:20.123Z");
        assert_eq!(at(4_107_542_399, 999), "2100-02-28T23:59:59.999Z");
        assert_eq!(at(1_803_973_655, 0), "2027-03-02T07:47:35.000Z");
    }

    #[test]
    fn lines_are_json_with_only_the_fields_set() {
        let dir = std::env::temp_dir().join(format!("events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ev.jsonl");
        let mut ev = Events::open(path.to_str().unwrap());
        let mut e = Event::new("state");
        e.server = Some("198.51.100.2:80".into());
        e.from = Some("ONLINE");
        e.to = Some("ERROR");
        e.weight = Some(None);
        e.reason = Some("connect: \"refused\"\n".into());
        ev.emit(e);
        ev.emit(Event::new("stop"));
        let t0 = Instant::now();
        let text = loop {
            let t = std::fs::read_to_string(&path).unwrap_or_default();
            if t.lines().count() == 2 || t0.elapsed() > Duration::from_secs(20) {
                break t;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["event"], "state");
        assert_eq!(lines[0]["to"], "ERROR");
        assert!(lines[0]["weight"].is_null());
        assert!(lines[0].get("weight").is_some());
        assert!(lines[0].get("latency_ms").is_none());
        assert_eq!(lines[0]["reason"], "connect: \"refused\"\n");
        assert!(lines[1]["ts"].as_str().unwrap().ends_with('Z'));
        assert!(text.starts_with("{\"ts\":\""), "{text}");
        assert_eq!(ev.lost(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A full disk (`/dev/full`) and a path that cannot be opened: every
    /// event is dropped and counted, `emit` never blocks or panics.
    #[test]
    fn unwritable_never_blocks() {
        for path in ["/dev/full", "/nonexistent-dir/ev.jsonl"] {
            let mut ev = Events::open(path);
            let t0 = Instant::now();
            for _ in 0..(QUEUE * 3) {
                ev.emit(Event::new("state"));
            }
            assert!(t0.elapsed() < Duration::from_secs(10), "{path}");
            let t0 = Instant::now();
            while ev.lost() < (QUEUE * 3) as u64 && t0.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert_eq!(ev.lost(), (QUEUE * 3) as u64, "{path}");
        }
    }
}
