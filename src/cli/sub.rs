//! Our own subcommands. Each is a bare first word, which ipvsadm 1.31
//! rejects (its first argument must be an option), so none of them changes
//! the meaning of an ipvsadm command line.
//!
//! * `ipvsadm state [--json]` — the whole state (timeouts, services, real
//!   servers with thresholds, sync daemons) as rules that `ipvsadm -R` or
//!   `ipvsadm apply` restore, or as JSON.
//! * `ipvsadm apply [--dry-run] [--drain] [--incremental] FILE|-` — make
//!   the kernel match FILE (rules or JSON), changing only what differs,
//!   rolling back on failure; with `--incremental`, against the record of
//!   the last apply (`apply::incremental`).
//! * `ipvsadm serve [OPTIONS] FILE` — the health-checking daemon
//!   ([`crate::serve`]); `serve status`, `serve reload` and `serve check`
//!   talk to it or check a FILE.
//! * `ipvsadm metrics [--per-service]` — one Prometheus scrape of the
//!   tables (`format::metrics`), for node_exporter's textfile collector.
//! * `ipvsadm import keepalived FILE`, `ipvsadm export keepalived
//!   [FILE|-]` — keepalived.conf to and from the `serve` document
//!   ([`crate::keepalived`], `cli::convert`).
//! * `ipvsadm version` — our own name and version.
//! * `ipvsadm completions bash|zsh|fish` — the shell completion script,
//!   generated from the flag table (`cli::docs`).

use super::help::usage_error;
use super::run::ipvs_strerror;
use crate::apply::{self, ApplyError, Failure};
use crate::client::Ipvs;
use crate::format;
use crate::lang::parse::Call;
use crate::lang::render;
use std::io::{Read, Write};

/// The subcommand words.
pub const SUBCOMMANDS: &[&str] = &[
    "apply",
    "state",
    "serve",
    "metrics",
    "import",
    "export",
    "completions",
    "version",
];

const APPLY_USAGE: &str =
    "Usage: ipvsadm apply [--dry-run] [--drain] [--incremental] [--wait SECONDS] [-v] FILE|-
Make the IPVS tables match FILE (ipvsadm rules as -S or `ipvsadm state`
print them, '#' comments allowed; or the JSON of --json), changing only what
differs: services and real servers are edited in place, new real servers are
added before old ones are removed, untouched entries keep their connections
and counters. The whole file is checked first (errors as FILE:LINE); if the
kernel refuses a change, every change made is undone.
  --dry-run   print the changes as ipvsadm commands, change nothing
  --drain     real servers to remove that still have connections get
              weight 0 instead (a later apply removes them once idle)
  --incremental
              diff FILE against the record the last apply kept (in
              /run/ipvsadm-rs) and read from the kernel only the services
              that differ; if the kernel no longer matches that record
              (service count, or a service the change touches), or there is
              none, do the full apply. Rules files only. Changes another
              tool made to services FILE does not change go unnoticed.
  --wait SECONDS
              how long to wait while another apply or -R changes the tables
              of this network namespace (default 60); then give up, changing
              nothing
  -v, --verbose
              say on standard error how the state was read
Exit status: 0 done, 1 invalid input or usage, 2 refused and rolled back,
3 rollback incomplete, 4 cannot reach IPVS, 5 another run held the tables
past --wait.
";

const METRICS_USAGE: &str = "Usage: ipvsadm metrics [--per-service]
Print one scrape of the IPVS tables in the Prometheus text format: every
64-bit counter (connections, packets and bytes in and out) of every service
and real server, active, inactive and persistent connections, weights.
Labels as node_exporter's ipvs collector (proto, local_address, local_port,
local_mark, remote_address, remote_port) plus family, scheduler and
forwarding. For node_exporter's textfile collector:
  ipvsadm metrics > /var/lib/prometheus/node-exporter/ipvs.prom.$$ &&
  mv /var/lib/prometheus/node-exporter/ipvs.prom.$$ /var/lib/prometheus/node-exporter/ipvs.prom
  --per-service   no real-server series (sums per service instead)
";

const STATE_USAGE: &str = "Usage: ipvsadm state [--json]
Print the whole IPVS state: timeouts (--set), services and real servers with
thresholds, sync daemons (--start-daemon), as rules that `ipvsadm -R` and
`ipvsadm apply` read back; or as JSON with --json.
";

const COMPLETIONS_USAGE: &str = "Usage: ipvsadm completions bash|zsh|fish
Print the completion script for the shell, e.g.
  ipvsadm completions bash > /usr/share/bash-completion/completions/ipvsadm
  ipvsadm completions zsh > /usr/share/zsh/vendor-completions/_ipvsadm
  ipvsadm completions fish > /usr/share/fish/vendor_completions.d/ipvsadm.fish
";

fn connect(cmd: &str) -> Result<Ipvs, i32> {
    Ipvs::connect().map_err(|e| {
        eprintln!(
            "ipvsadm {cmd}: cannot reach IPVS: {}",
            ipvs_strerror(None, e.errno())
        );
        4
    })
}

/// Run a subcommand (`argv[1]` is its name); returns the exit code.
pub fn main(argv: &[String]) -> i32 {
    let name = argv.get(1).map(String::as_str).unwrap_or("");
    let rest = argv.get(2..).unwrap_or(&[]);
    let result = match name {
        "apply" => apply_main(rest),
        "serve" => serve_main(rest),
        "metrics" => metrics_main(rest),
        "import" => super::convert::import_main(rest),
        "export" => super::convert::export_main(rest),
        "state" => state_main(rest),
        "completions" => completions_main(rest),
        "version" => version_main(rest),
        _ => Err(usage_error(&format!("unknown subcommand {name}"), "")),
    };
    let _ = std::io::stdout().flush();
    result.unwrap_or_else(|code| code)
}

fn metrics_main(args: &[String]) -> Result<i32, i32> {
    let mut opts = format::metrics::Options::default();
    let mut p = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = p
        .next()
        .map_err(|e| usage_error(&e.to_string(), METRICS_USAGE))?
    {
        match arg {
            lexopt::Arg::Long("per-service") => opts.per_service_only = true,
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => {
                print!("{METRICS_USAGE}");
                return Ok(0);
            }
            other => return Err(usage_error(&other.unexpected().to_string(), METRICS_USAGE)),
        }
    }
    let mut ipvs = connect("metrics")?;
    // Each service is taken into the scrape as it is read: the table
    // itself is never held (see format::metrics::Scrape).
    let mut scrape = format::metrics::Scrape::new(&opts);
    ipvs.table_each(true, |s, ds| scrape.push(&s, ds, None))
        .map_err(|e| {
            eprintln!("ipvsadm metrics: {}", ipvs_strerror(None, e.errno()));
            4
        })?;
    // Written as it is rendered, through one buffer (see Scrape::write).
    let mut out = String::with_capacity(format::metrics::FLUSH_AT + 64 * 1024);
    let mut so = std::io::stdout().lock();
    let mut failed = None;
    scrape.write(&mut out, &[], &mut |b| {
        if failed.is_none() {
            failed = so.write_all(b.as_bytes()).err();
        }
        b.clear();
    });
    if let Some(e) = failed {
        eprintln!("ipvsadm metrics: {e}");
        return Err(1);
    }
    so.write_all(out.as_bytes())
        .and_then(|_| so.flush())
        .map_err(|e| {
            eprintln!("ipvsadm metrics: {e}");
            1
        })?;
    Ok(0)
}

fn state_main(args: &[String]) -> Result<i32, i32> {
    let mut json = false;
    let mut p = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = p
        .next()
        .map_err(|e| usage_error(&e.to_string(), STATE_USAGE))?
    {
        match arg {
            lexopt::Arg::Long("json") => json = true,
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => {
                print!("{STATE_USAGE}");
                return Ok(0);
            }
            other => return Err(usage_error(&other.unexpected().to_string(), STATE_USAGE)),
        }
    }
    let mut ipvs = connect("state")?;
    let doc = apply::current_with(&mut ipvs, true).map_err(|e| {
        eprintln!("ipvsadm state: {}", ipvs_strerror(None, e.errno()));
        4
    })?;
    let mut doc = doc;
    doc.services
        .sort_by(|a, b| format::text::cmp_services(&a.service, &b.service));
    for e in &mut doc.services {
        format::text::sort_dests(&mut e.dests);
    }
    let out = if json {
        format::json::document(&doc).map_err(|e| {
            eprintln!("ipvsadm state: cannot write JSON: {e}");
            1
        })?
    } else {
        render::state_rules(&doc)
    };
    print!("{out}");
    Ok(0)
}

/// `ipvsadm version`: our own name and version (`-v` stays ipvsadm
/// 1.31's line, for scripts that parse it).
fn version_main(args: &[String]) -> Result<i32, i32> {
    if let Some(a) = args.first() {
        return Err(usage_error(
            &format!("version takes no argument ({a})"),
            "Usage: ipvsadm version\n",
        ));
    }
    println!(
        "ipvsadm-rs {} (compatible with ipvsadm v1.31; -v prints ipvsadm's own line)",
        env!("CARGO_PKG_VERSION")
    );
    Ok(0)
}

fn completions_main(args: &[String]) -> Result<i32, i32> {
    let mut shell = None::<String>;
    let mut p = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = p
        .next()
        .map_err(|e| usage_error(&e.to_string(), COMPLETIONS_USAGE))?
    {
        match arg {
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => {
                print!("{COMPLETIONS_USAGE}");
                return Ok(0);
            }
            lexopt::Arg::Value(v) if shell.is_none() => {
                shell = Some(v.to_string_lossy().into_owned());
            }
            other => {
                return Err(usage_error(
                    &other.unexpected().to_string(),
                    COMPLETIONS_USAGE,
                ))
            }
        }
    }
    let Some(shell) = shell else {
        return Err(usage_error("completions needs a SHELL", COMPLETIONS_USAGE));
    };
    match super::docs::completion(&shell) {
        Some(script) => {
            print!("{script}");
            Ok(0)
        }
        None => Err(usage_error(
            &format!("no completions for shell {shell} (bash, zsh or fish)"),
            COMPLETIONS_USAGE,
        )),
    }
}

fn apply_main(args: &[String]) -> Result<i32, i32> {
    let mut opts = apply::Options {
        wait: apply::lock::DEFAULT_WAIT,
        ..Default::default()
    };
    let mut verbose = false;
    let mut file = None::<String>;
    let mut p = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = p
        .next()
        .map_err(|e| usage_error(&e.to_string(), APPLY_USAGE))?
    {
        match arg {
            lexopt::Arg::Long("dry-run") => opts.dry_run = true,
            lexopt::Arg::Long("drain") => opts.drain = true,
            lexopt::Arg::Long("incremental") => opts.incremental = true,
            lexopt::Arg::Long("wait") => {
                let v = p
                    .value()
                    .map_err(|e| usage_error(&e.to_string(), APPLY_USAGE))?;
                let secs = v
                    .to_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 86400.0)
                    .ok_or_else(|| {
                        usage_error("--wait takes seconds, from 0 to 86400", APPLY_USAGE)
                    })?;
                opts.wait = std::time::Duration::from_secs_f64(secs);
            }
            lexopt::Arg::Long("verbose") | lexopt::Arg::Short('v') => verbose = true,
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => {
                print!("{APPLY_USAGE}");
                return Ok(0);
            }
            lexopt::Arg::Value(v) if file.is_none() => {
                file = Some(v.to_string_lossy().into_owned());
            }
            other => return Err(usage_error(&other.unexpected().to_string(), APPLY_USAGE)),
        }
    }
    let Some(file) = file else {
        return Err(usage_error(
            "apply needs a FILE (or - for standard input)",
            APPLY_USAGE,
        ));
    };
    let (display, text) = if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            eprintln!("ipvsadm apply: cannot read standard input: {e}");
            1
        })?;
        ("<stdin>".to_string(), s)
    } else {
        let s = std::fs::read_to_string(&file).map_err(|e| {
            eprintln!("ipvsadm apply: cannot read {file}: {e}");
            1
        })?;
        (file.clone(), s)
    };
    let mut note = |what: &str| {
        if verbose {
            eprintln!("ipvsadm apply: {what}");
        }
    };
    let outcome = apply::run(&text, &display, &opts, &mut Ipvs::connect, &mut note);
    match outcome {
        Ok(done) => {
            if opts.dry_run {
                let mut out = String::new();
                for s in &done.steps {
                    out.push_str(&render::op_command(&s.op));
                    out.push('\n');
                }
                print!("{out}");
            }
            Ok(0)
        }
        Err(ApplyError::Invalid(errors)) => {
            for e in errors {
                eprintln!("{e}");
            }
            Err(1)
        }
        Err(ApplyError::Connect(e)) => {
            eprintln!(
                "ipvsadm apply: cannot reach IPVS: {}",
                ipvs_strerror(None, e.errno())
            );
            Err(4)
        }
        Err(ApplyError::Read(e)) => {
            eprintln!("ipvsadm apply: {}", ipvs_strerror(None, e.errno()));
            Err(4)
        }
        Err(ApplyError::Busy(msg)) => {
            eprintln!("ipvsadm apply: {msg}");
            Err(5)
        }
        Err(ApplyError::Failed { step, failure }) => {
            let at = |s: &apply::Step| {
                let place = if s.line > 0 {
                    format!("{display}:{}: ", s.line)
                } else {
                    format!("{display}: ")
                };
                format!("{place}{}", render::op_command(&s.op))
            };
            let refused = |s: &apply::Step, errno: i32| {
                eprintln!("{}: {}", at(s), ipvs_strerror(Some(Call::of(&s.op)), errno));
            };
            match (failure, step) {
                (Failure::RolledBack { errno, undone, .. }, Some(s)) => {
                    refused(&s, errno.0);
                    eprintln!(
                        "ipvsadm apply: {undone} change(s) rolled back; the tables are as before"
                    );
                    Err(2)
                }
                (Failure::RollbackIncomplete { errno, detail, .. }, Some(s)) => {
                    refused(&s, errno.0);
                    eprintln!("ipvsadm apply: rollback incomplete: {detail}");
                    Err(3)
                }
                (Failure::Channel(e), _) => {
                    eprintln!("ipvsadm apply: {}", ipvs_strerror(None, e.errno()));
                    Err(4)
                }
                (_, None) => {
                    eprintln!("ipvsadm apply: failed");
                    Err(3)
                }
            }
        }
    }
}

pub const SERVE_USAGE: &str =
    "Usage: ipvsadm serve [--listen [ADDR:]PORT] [--events PATH] [--socket PATH]
                     [--on-stop leave|remove] [--resync SECONDS]
                     [--drain-poll SECONDS] [--wait SECONDS] FILE
       ipvsadm serve status [--json] [--socket PATH]
       ipvsadm serve reload [--socket PATH]
       ipvsadm serve check FILE
Apply FILE as `ipvsadm apply` does, then keep the kernel matching it and each
real server's weight matching its health, in the foreground, until SIGTERM.
FILE is what `ipvsadm apply` reads, plus health monitors: in JSON a service's
\"health_monitor\" object (Octavia's fields: type, delay, timeout, max_retries,
max_retries_down, http_method, url_path, expected_codes, http_version,
domain_name; and alpha, on_failure, quorum, hysteresis, sorry_server,
drain_timeout, command, misc_dynamic, verify, ca_file), a real server's
monitor_address and monitor_port, and a service's \"name\" (the name label of
its metrics, status and events); in rules, lines
  #@ health -t VIP:PORT type=HTTP delay=5 timeout=2 url_path=/health
  #@ health -t VIP:PORT -r SERVER:PORT monitor_port=8080
  #@ name -t VIP:PORT web
which ipvsadm-restore and `ipvsadm apply` read as comments.
SIGHUP or `serve reload` re-reads FILE and applies only what differs; a FILE
with errors is refused and the running configuration stays.
  --listen [ADDR:]PORT
                    serve GET /metrics (Prometheus) and GET / (a status
                    page for browsers) over HTTP, read-only; a PORT alone
                    listens on 127.0.0.1
  --events PATH     append state changes, reloads and repairs to PATH as JSON
                    lines (- for standard output); a file that cannot be
                    written loses events, never checks
  --socket PATH     control socket (default /run/ipvsadm-rs/serve.sock)
  --on-stop leave   on SIGTERM leave the table serving (default)
  --on-stop remove  on SIGTERM delete the services of FILE
  --resync SECONDS  compare the whole table with FILE this often (default 60)
  --drain-poll SECONDS
                    read the connections of draining servers this often
                    (default 2)
  --wait SECONDS    how long to wait for another apply holding the table
                    (default 30; keep it below the systemd WatchdogSec)
`serve status` lists every real server with its operating status (ONLINE,
ERROR, DRAINING, NO_MONITOR), last result, latency and reason; `serve check`
checks FILE and exits 0 (valid) or 1.
Exit status: 0 stopped by a signal, 1 invalid FILE or usage, 2 the first
apply failed; status/reload: 0 done, 1 failed or no daemon.
";

fn serve_seconds(p: &mut lexopt::Parser, what: &str) -> Result<std::time::Duration, i32> {
    let v = p
        .value()
        .map_err(|e| usage_error(&e.to_string(), SERVE_USAGE))?;
    v.to_str()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86400.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| {
            usage_error(
                &format!("{what} takes seconds, above 0 up to 86400"),
                SERVE_USAGE,
            )
        })
}

fn serve_main(args: &[String]) -> Result<i32, i32> {
    use crate::serve::{self, control, OnStop};
    let mut opts = serve::Options {
        file: String::new(),
        socket: control::DEFAULT_SOCKET.into(),
        on_stop: OnStop::Leave,
        resync: std::time::Duration::from_secs(60),
        drain_poll: std::time::Duration::from_secs(2),
        lock_wait: std::time::Duration::from_secs(30),
        listen: None,
        events: None,
    };
    let mut words: Vec<String> = Vec::new();
    let mut json = false;
    let mut p = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = p
        .next()
        .map_err(|e| usage_error(&e.to_string(), SERVE_USAGE))?
    {
        match arg {
            lexopt::Arg::Long("socket") => {
                opts.socket = p
                    .value()
                    .map_err(|e| usage_error(&e.to_string(), SERVE_USAGE))?
                    .into();
            }
            lexopt::Arg::Long("on-stop") => {
                let v = p
                    .value()
                    .map_err(|e| usage_error(&e.to_string(), SERVE_USAGE))?;
                opts.on_stop = match v.to_str() {
                    Some("leave") => OnStop::Leave,
                    Some("remove") => OnStop::Remove,
                    _ => return Err(usage_error("--on-stop takes leave or remove", SERVE_USAGE)),
                };
            }
            lexopt::Arg::Long("resync") => opts.resync = serve_seconds(&mut p, "--resync")?,
            lexopt::Arg::Long("drain-poll") => {
                opts.drain_poll = serve_seconds(&mut p, "--drain-poll")?
            }
            lexopt::Arg::Long("wait") => opts.lock_wait = serve_seconds(&mut p, "--wait")?,
            lexopt::Arg::Long("listen") => {
                let v = p
                    .value()
                    .map_err(|e| usage_error(&e.to_string(), SERVE_USAGE))?;
                let v = v.to_string_lossy();
                opts.listen =
                    Some(serve::http::parse_listen(&v).map_err(|e| usage_error(&e, SERVE_USAGE))?);
            }
            lexopt::Arg::Long("events") => {
                let v = p
                    .value()
                    .map_err(|e| usage_error(&e.to_string(), SERVE_USAGE))?;
                let v = v.to_string_lossy().into_owned();
                if v.is_empty() {
                    return Err(usage_error("--events takes a PATH or -", SERVE_USAGE));
                }
                opts.events = Some(v);
            }
            lexopt::Arg::Long("json") => json = true,
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => {
                print!("{SERVE_USAGE}");
                return Ok(0);
            }
            lexopt::Arg::Value(v) => words.push(v.to_string_lossy().into_owned()),
            other => return Err(usage_error(&other.unexpected().to_string(), SERVE_USAGE)),
        }
    }
    let ask = |request: &str| -> Result<String, i32> {
        control::ask(&opts.socket, request, std::time::Duration::from_secs(30)).map_err(|e| {
            eprintln!(
                "ipvsadm serve: no daemon answers on {}: {e}",
                opts.socket.display()
            );
            1
        })
    };
    match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["status"] => {
            let answer = ask(if json { "status-json" } else { "status" })?;
            print!("{answer}");
            Ok(0)
        }
        ["reload"] if !json => {
            let answer = ask("reload")?;
            match answer.strip_prefix("ok\n") {
                Some(rest) => {
                    print!("{rest}");
                    Ok(0)
                }
                None => {
                    let rest = answer.strip_prefix("failed\n").unwrap_or(&answer);
                    eprint!("{rest}");
                    Err(1)
                }
            }
        }
        ["check", file] if !json => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                eprintln!("ipvsadm serve: cannot read {file}: {e}");
                1
            })?;
            match serve::config::read(&text, file) {
                Ok(_) => Ok(0),
                Err(errors) => {
                    for e in errors {
                        eprintln!("{e}");
                    }
                    Err(1)
                }
            }
        }
        [file] if !json => {
            opts.file = file.to_string();
            let code = serve::run(opts);
            if code == 0 {
                Ok(0)
            } else {
                Err(code)
            }
        }
        [] => Err(usage_error("serve needs a FILE", SERVE_USAGE)),
        _ => Err(usage_error("unexpected arguments", SERVE_USAGE)),
    }
}
