//! `ipvsadm serve`: apply FILE as `ipvsadm apply` does, then keep the
//! kernel matching it and every real server's weight matching its health.
//!
//! One job per module:
//! * [`config`]: FILE (rules with `#@ health` lines, or JSON with
//!   `health_monitor` objects) read and checked whole;
//! * [`probe`] and [`tls`]: one check of one target, by type;
//! * [`engine`]: probes (one per unique target and monitor), rise/fall,
//!   quorum, drain, what is written to the kernel, the status;
//! * [`kernel`]: the thread that talks to IPVS;
//! * [`control`]: the status and reload socket;
//! * [`events`]: `--events`, state changes and reloads as JSON lines;
//! * [`http`]: `--listen`, the read-only `/metrics` endpoint and status
//!   page ([`page`]: its rates and last apply).
//!
//! The runtime (tokio, one thread) exists only inside [`run`]: the
//! ipvsadm command path never starts one.

pub mod config;
pub mod control;
pub mod engine;
pub mod events;
pub mod http;
pub mod kernel;
pub mod page;
pub mod probe;
pub mod tls;

use engine::{Engine, Report};
use kernel::{Job, Kernel, Reply};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, oneshot};

/// What stopping does to the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnStop {
    /// Leave it serving (a restart or upgrade drops no traffic).
    Leave,
    /// Delete the services of FILE.
    Remove,
}

/// How to serve.
#[derive(Clone, Debug)]
pub struct Options {
    pub file: String,
    pub socket: PathBuf,
    pub on_stop: OnStop,
    /// How often the whole table is compared with FILE (repairing what
    /// another tool changed).
    pub resync: Duration,
    /// How often the connections of draining real servers are read.
    pub drain_poll: Duration,
    /// How long to wait for another apply holding the table lock.
    pub lock_wait: Duration,
    /// Where to serve `/metrics`, if anywhere.
    pub listen: Option<std::net::SocketAddr>,
    /// Where to append events as JSON lines (`-`: standard output).
    pub events: Option<String>,
}

use engine::log;

fn notify(states: &[sd_notify::NotifyState]) {
    let _ = sd_notify::notify(states);
}

fn log_raw(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Read and check FILE.
fn load(file: &str) -> Result<config::Config, Vec<String>> {
    let text =
        std::fs::read_to_string(file).map_err(|e| vec![format!("cannot read {file}: {e}")])?;
    config::read(&text, file)
}

/// Run the daemon until SIGTERM or SIGINT; the exit status.
pub fn run(opts: Options) -> i32 {
    let cfg = match load(&opts.file) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                log_raw(&e);
            }
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log(&format!("cannot start: {e}"));
            return 1;
        }
    };
    rt.block_on(main_loop(opts, cfg))
}

/// Warn where the kernel's settings defeat draining (kube-proxy's traps).
fn warn_sysctls() {
    let read = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/vs/{name}"))
            .ok()
            .map(|s| s.trim().to_string())
    };
    if read("conn_reuse_mode").as_deref() == Some("0") {
        log("warning: net.ipv4.vs.conn_reuse_mode=0: clients reusing source ports keep reaching weight-0 real servers, so draining may not end before drain_timeout");
    }
    if read("expire_nodest_conn").as_deref() == Some("0") {
        log("warning: net.ipv4.vs.expire_nodest_conn=0: connections of a deleted real server are black-holed until they time out; set it to 1");
    }
}

async fn main_loop(opts: Options, cfg: config::Config) -> i32 {
    let (rep_tx, mut rep_rx) = mpsc::unbounded_channel::<Report>();
    let (k_tx, mut k_rx) = mpsc::unbounded_channel::<Reply>();
    // An address in use is an error before anything is touched.
    let listener = match opts.listen {
        Some(addr) => match http::bind(addr).await {
            Ok(l) => Some(l),
            Err(e) => {
                log(&e);
                return 1;
            }
        },
        None => None,
    };
    let kernel = Kernel::start(k_tx, opts.lock_wait);
    let mut engine = match Engine::new(cfg, opts.file.clone(), kernel, rep_tx) {
        Ok(e) => e,
        Err(errors) => {
            for e in errors {
                log_raw(&e);
            }
            return 1;
        }
    };
    if let Some(path) = &opts.events {
        engine.events = events::Events::open(path);
    }
    // The first apply, as `ipvsadm apply FILE` (health as known at start:
    // every server up, or down with `alpha`).
    let t0 = Instant::now();
    engine.resync_as("start");
    let mut page = page::Page::default();
    match k_rx.recv().await {
        Some(Reply::Resynced(Ok(n))) => {
            page.applied(&Ok(n));
            log(&format!(
                "applied {}: {n} change(s) in {:.3} s; {} service(s), {} probe(s)",
                opts.file,
                t0.elapsed().as_secs_f64(),
                engine.services().len(),
                engine.probe_count()
            ))
        }
        Some(Reply::Resynced(Err(e))) => {
            log(&format!("applying {} failed: {e}", opts.file));
            let mut ev = events::Event::new("start");
            ev.file = Some(opts.file.clone());
            ev.result = Some("failed");
            ev.error = Some(e);
            engine.events.emit(ev);
            engine.events.close(Duration::from_secs(1));
            return 2;
        }
        _ => {
            log("the IPVS thread ended");
            return 2;
        }
    }
    engine.kernel_done();
    {
        let mut ev = events::Event::new("start");
        ev.file = Some(opts.file.clone());
        ev.result = Some("ok");
        ev.pid = Some(std::process::id());
        ev.services = Some(engine.services().len());
        ev.probes = Some(engine.probe_count());
        engine.events.emit(ev);
    }
    engine.log_all();
    warn_sysctls();

    let (scrape_tx, mut scrape_rx) = mpsc::channel::<http::Scrape>(64);
    if let Some(l) = listener {
        if let Ok(a) = l.local_addr() {
            log(&format!(
                "serving /metrics and the status page on http://{a}/"
            ));
        }
        tokio::spawn(http::serve(l, scrape_tx));
    } else {
        drop(scrape_tx);
    }
    let mut scrapes: std::collections::VecDeque<http::Scrape> = Default::default();
    let (call_tx, mut call_rx) = mpsc::channel::<control::Call>(64);
    match control::listen(&opts.socket) {
        Ok(l) => {
            tokio::spawn(control::serve(l, call_tx));
        }
        Err(e) => log(&format!(
            "warning: no control socket ({e}); checking goes on, `serve status` and `serve reload` will not answer (SIGHUP still reloads)"
        )),
    }
    let (mut hup, mut term, mut int) = match (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        _ => {
            log("cannot install signal handlers");
            return 1;
        }
    };
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&format!("{} probe(s)", engine.probe_count())),
    ]);
    let watchdog = sd_notify::watchdog_enabled();
    let mut last_ping = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_resync = Instant::now() + opts.resync;
    let mut next_drain = Instant::now() + opts.drain_poll;
    let mut retry_after = Instant::now();
    let mut resyncs_sent: u64 = 0;
    let mut resyncs_done: u64 = 0;
    let mut waiting: Vec<(u64, oneshot::Sender<String>)> = Vec::new();

    loop {
        tokio::select! {
            Some(r) = rep_rx.recv() => {
                engine.report(r);
                // Take what else is queued without going round the loop.
                for _ in 0..4096 {
                    match rep_rx.try_recv() {
                        Ok(r) => engine.report(r),
                        Err(_) => break,
                    }
                }
                engine.flush();
            }
            Some(reply) = k_rx.recv() => {
                let job_kind = engine.kernel_done();
                match reply {
                    Reply::Ops { refused } => {
                        for (op, errno) in &refused {
                            log(&format!(
                                "the kernel refused `{}`: {}; the whole table will be read and repaired",
                                crate::lang::render::op_command(op),
                                crate::error::Errno(*errno).strerror()
                            ));
                            let mut ev = events::Event::new("refused");
                            ev.command = Some(crate::lang::render::op_command(op));
                            ev.error = Some(crate::error::Errno(*errno).strerror());
                            engine.events.emit(ev);
                        }
                        if !refused.is_empty() {
                            engine.resync_wanted = true;
                        }
                    }
                    Reply::Resynced(r) => {
                        resyncs_done += 1;
                        resync_event(&mut engine, job_kind, &r, &opts.file);
                        page.applied(&r);
                        let last_resync_error = match r {
                            Ok(0) => None,
                            Ok(n) => {
                                log(&format!("table repaired/updated: {n} change(s)"));
                                None
                            }
                            Err(e) => {
                                log(&format!("resync failed: {e}; retrying in 5 s"));
                                engine.resync_wanted = true;
                                retry_after = Instant::now() + Duration::from_secs(5);
                                Some(e)
                            }
                        };
                        let (done, rest): (Vec<_>, Vec<_>) =
                            waiting.drain(..).partition(|(seq, _)| *seq <= resyncs_done);
                        waiting = rest;
                        for (_, tx) in done {
                            let msg = match &last_resync_error {
                                None => "ok\n".to_string(),
                                Some(e) => format!("failed\nthe new configuration is in place but the kernel refused it: {e}\n"),
                            };
                            let _ = tx.send(msg);
                        }
                    }
                    Reply::Dests(Ok(read)) => {
                        engine.drain_read(read);
                        engine.flush();
                    }
                    Reply::Dests(Err(e)) => log(&format!("reading draining real servers failed: {e}; retrying")),
                    Reply::Table(r) => {
                        if let Some(http::Scrape { want, reply: tx }) = scrapes.pop_front() {
                            match r {
                                Ok(table) if want == http::Want::Page => {
                                    let _ = tx.send(http::Answer::Whole(page.render(&engine, &table, &|k| engine.name_of(k).map(str::to_string))));
                                }
                                Ok(table) => {
                                    let _ = tx.send(http::Answer::Pieces(stream_metrics(&engine, table)));
                                }
                                Err(e) => {
                                    log(&format!("metrics: {e}"));
                                    drop(tx);
                                }
                            }
                        }
                    }
                }
            }
            Some(tx) = scrape_rx.recv() => {
                scrapes.push_back(tx);
                engine.send_job(Job::ReadTable);
            }
            Some((req, tx)) = call_rx.recv() => {
                match req {
                    control::Request::Status => { let _ = tx.send(engine.status().text()); }
                    control::Request::StatusJson => {
                        let mut s = serde_json::to_string_pretty(&engine.status()).unwrap_or_default();
                        s.push('\n');
                        let _ = tx.send(s);
                    }
                    control::Request::Reload => {
                        match reload(&mut engine, &opts.file) {
                            Ok(()) => {
                                resyncs_sent += 1;
                                waiting.push((resyncs_sent, tx));
                            }
                            Err(errors) => {
                                let mut s = String::from("failed\n");
                                for e in errors { s.push_str(&e); s.push('\n'); }
                                let _ = tx.send(s);
                            }
                        }
                    }
                }
            }
            _ = hup.recv() => {
                if reload(&mut engine, &opts.file).is_ok() {
                    resyncs_sent += 1;
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = tick.tick() => {
                let now = Instant::now();
                if engine.kernel_pending == 0 {
                    if (engine.resync_wanted && now >= retry_after) || now >= next_resync {
                        engine.resync();
                        resyncs_sent += 1;
                        next_resync = now + opts.resync;
                    } else if now >= next_drain {
                        next_drain = now + opts.drain_poll;
                        let keys = engine.draining_services();
                        if !keys.is_empty() {
                            engine.send_job(Job::ReadDests(keys));
                        }
                    }
                }
                if let Some(wd) = watchdog {
                    if now.duration_since(last_ping) >= wd / 3 && healthy(&engine, wd) {
                        notify(&[sd_notify::NotifyState::Watchdog]);
                        last_ping = now;
                    }
                }
            }
        }
    }
    notify(&[sd_notify::NotifyState::Stopping]);
    if opts.on_stop == OnStop::Remove {
        let ops: Vec<crate::model::Op> = engine
            .services()
            .into_iter()
            .map(crate::model::Op::DelService)
            .collect();
        let n = ops.len();
        engine.send_job(Job::Ops(ops));
        // The reply of that job (after any still queued).
        while let Some(r) = k_rx.recv().await {
            engine.kernel_done();
            if engine.kernel_pending == 0 {
                if let Reply::Ops { refused } = r {
                    log(&format!(
                        "stopping: deleted {} of {n} service(s)",
                        n - refused.len()
                    ));
                }
                break;
            }
        }
    } else {
        log("stopping: the table is left as it is (--on-stop leave)");
    }
    let mut ev = events::Event::new("stop");
    ev.pid = Some(std::process::id());
    engine.events.emit(ev);
    engine.events.close(Duration::from_secs(2));
    0
}

/// One `/metrics` scrape of `table`, streamed: what it needs of the
/// engine (names, health, the daemon's own series) is copied here, on the
/// event loop; the text is rendered on a blocking thread and handed over
/// in pieces of about [`crate::format::metrics::FLUSH_AT`] bytes, at most
/// four ahead of the client. A client that goes away ends the sending (the
/// rest is rendered and dropped).
fn stream_metrics(
    engine: &Engine,
    table: Vec<(crate::model::Service, Vec<crate::model::Dest>)>,
) -> tokio::sync::mpsc::Receiver<hyper::body::Bytes> {
    use crate::format::metrics;
    use std::collections::HashMap;
    let names: HashMap<crate::model::ServiceKey, String> = table
        .iter()
        .filter_map(|(s, _)| engine.name_of(&s.key).map(|n| (s.key, n.to_string())))
        .collect();
    let health = metrics::health_in_order(&table, |k, d| engine.health_of(k, d));
    let mut own = String::new();
    engine.own_metrics(&mut own);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let piece = || String::with_capacity(metrics::FLUSH_AT + 64 * 1024);
        let mut out = piece();
        let mut open = true;
        metrics::render_to(
            &mut out,
            &table,
            &|k| names.get(k).cloned(),
            &health,
            &metrics::Options::default(),
            &mut |b| {
                if open {
                    let full = std::mem::replace(b, piece());
                    open = tx.blocking_send(hyper::body::Bytes::from(full)).is_ok();
                } else {
                    b.clear();
                }
            },
        );
        out.push_str(&own);
        if open {
            let _ = tx.blocking_send(hyper::body::Bytes::from(out));
        }
    });
    rx
}

/// The event of a whole-table apply that ended: a reload's outcome, or a
/// resync that changed something (a repair) or failed.
fn resync_event(
    engine: &mut Engine,
    kind: Option<&'static str>,
    r: &Result<usize, String>,
    file: &str,
) {
    let mut ev = match (kind, r) {
        (Some("reload"), _) => {
            let mut ev = events::Event::new("reload");
            ev.file = Some(file.to_string());
            ev.services = Some(engine.services().len());
            ev.probes = Some(engine.probe_count());
            ev
        }
        (_, Ok(0)) => return,
        _ => events::Event::new("repair"),
    };
    match r {
        Ok(n) => {
            ev.result = Some("ok");
            ev.changes = Some(*n);
        }
        Err(e) => {
            ev.result = Some("failed");
            ev.error = Some(e.clone());
        }
    }
    engine.events.emit(ev);
}

/// Is the daemon working: checks reporting, the IPVS thread not stuck on
/// one job for a whole watchdog period (so `--wait` must stay below it:
/// 30 s against the unit's 60)?
fn healthy(engine: &Engine, watchdog: Duration) -> bool {
    let silent_ok = engine.probe_count() == 0
        || engine.last_result.elapsed() < engine.max_silence() * 2 + watchdog;
    let kernel_ok = engine
        .kernel_busy_since
        .is_none_or(|t| t.elapsed() < watchdog);
    silent_ok && kernel_ok
}

/// Re-read FILE; on errors the running configuration stays.
fn reload(engine: &mut Engine, file: &str) -> Result<(), Vec<String>> {
    notify(&[
        sd_notify::NotifyState::Reloading,
        sd_notify::NotifyState::monotonic_usec_now().unwrap_or(sd_notify::NotifyState::Custom("")),
    ]);
    // Opened again: a rotated events file is followed.
    engine.events.reopen();
    let r = load(file).and_then(|cfg| engine.reload(cfg));
    match &r {
        Ok(()) => {
            engine.reloads_ok += 1;
            log(&format!(
                "reloaded {file}: {} service(s), {} probe(s)",
                engine.services().len(),
                engine.probe_count()
            ));
        }
        Err(errors) => {
            engine.reloads_failed += 1;
            for e in errors {
                log(e);
            }
            log(&format!(
                "reload of {file} refused; the running configuration stays"
            ));
            let mut ev = events::Event::new("reload");
            ev.file = Some(file.to_string());
            ev.result = Some("failed");
            ev.reason = Some("FILE refused; the running configuration stays".into());
            ev.errors = errors.clone();
            engine.events.emit(ev);
        }
    }
    notify(&[sd_notify::NotifyState::Ready]);
    r
}
