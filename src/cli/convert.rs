//! `ipvsadm import keepalived FILE [--format json|rules]` and
//! `ipvsadm export keepalived [FILE|-]` ([`crate::keepalived`]).

use super::help::usage_error;
use super::run::ipvs_strerror;
use crate::keepalived::{self, Format};
use std::io::{Read, Write};

pub const IMPORT_USAGE: &str = "Usage: ipvsadm import keepalived [--format json|rules] FILE
Print keepalived.conf FILE (and the files it includes) as the document
`ipvsadm serve` and `ipvsadm apply` read: JSON (default), or rules with
`#@ health` and `#@ name` lines with --format rules. virtual_server,
virtual_server_group, real_server, the checkers (TCP_CHECK, HTTP_GET,
SSL_GET, MISC_CHECK, UDP_CHECK, PING_CHECK) and global_defs' lvs_timeouts and
lvs_sync_daemon are mapped with keepalived's defaults; the document
reproduces keepalived's checking (up after one success, down after retry + 1
failures). What cannot be mapped is a warning on standard error naming
FILE:LINE; vrrp_* and other keepalived blocks are noted once and skipped.
  --format json|rules   the output (default json)
Exit status: 0 printed (warnings or not), 1 an error (FILE:LINE: message on
standard error, nothing on standard output) or usage.
";

pub const EXPORT_USAGE: &str = "Usage: ipvsadm export keepalived [FILE|-]
Print a `serve`/`apply` document (FILE, or - for standard input; rules or
JSON) as keepalived.conf: global_defs with lvs_timeouts and lvs_sync_daemon,
virtual_server blocks with their real servers, and one checker per real
server from the service's health monitor; services sharing a name become a
virtual_server_group. Without FILE, the running IPVS state (no checkers).
What keepalived cannot express is a warning on standard error.
Exit status: 0 printed, 1 invalid FILE or usage, 4 cannot reach IPVS.
";

/// `ipvsadm import …`.
pub fn import_main(args: &[String]) -> Result<i32, i32> {
    let mut format = Format::Json;
    let mut words: Vec<String> = Vec::new();
    let mut p = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = p
        .next()
        .map_err(|e| usage_error(&e.to_string(), IMPORT_USAGE))?
    {
        match arg {
            lexopt::Arg::Long("format") => {
                let v = p
                    .value()
                    .map_err(|e| usage_error(&e.to_string(), IMPORT_USAGE))?;
                format = match v.to_str() {
                    Some("json") => Format::Json,
                    Some("rules") => Format::Rules,
                    _ => return Err(usage_error("--format takes json or rules", IMPORT_USAGE)),
                };
            }
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => {
                print!("{IMPORT_USAGE}");
                return Ok(0);
            }
            lexopt::Arg::Value(v) => words.push(v.to_string_lossy().into_owned()),
            other => return Err(usage_error(&other.unexpected().to_string(), IMPORT_USAGE)),
        }
    }
    let file = match words.as_slice() {
        [k, f] if k == "keepalived" => f.clone(),
        [k] if k == "keepalived" => {
            return Err(usage_error("import keepalived needs a FILE", IMPORT_USAGE))
        }
        [k, ..] if k != "keepalived" => {
            return Err(usage_error(
                &format!("cannot import from {k} (only keepalived)"),
                IMPORT_USAGE,
            ))
        }
        _ => return Err(usage_error("import keepalived FILE", IMPORT_USAGE)),
    };
    match keepalived::import_file(&file, format) {
        Ok(out) => print_converted(
            "import",
            &out.text,
            out.warnings.iter().map(|w| w.to_string()),
        ),
        Err(errors) => fail(errors),
    }
}

/// `ipvsadm export …`.
pub fn export_main(args: &[String]) -> Result<i32, i32> {
    let mut words: Vec<String> = Vec::new();
    let mut p = lexopt::Parser::from_args(args.iter().cloned());
    while let Some(arg) = p
        .next()
        .map_err(|e| usage_error(&e.to_string(), EXPORT_USAGE))?
    {
        match arg {
            lexopt::Arg::Long("help") | lexopt::Arg::Short('h') => {
                print!("{EXPORT_USAGE}");
                return Ok(0);
            }
            lexopt::Arg::Value(v) => words.push(v.to_string_lossy().into_owned()),
            other => return Err(usage_error(&other.unexpected().to_string(), EXPORT_USAGE)),
        }
    }
    let file = match words.as_slice() {
        [k] if k == "keepalived" => None,
        [k, f] if k == "keepalived" => Some(f.clone()),
        [k, ..] if k != "keepalived" => {
            return Err(usage_error(
                &format!("cannot export to {k} (only keepalived)"),
                EXPORT_USAGE,
            ))
        }
        _ => return Err(usage_error("export keepalived [FILE|-]", EXPORT_USAGE)),
    };
    let (display, text) = match file.as_deref() {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| {
                eprintln!("ipvsadm export: cannot read standard input: {e}");
                1
            })?;
            ("<stdin>".to_string(), s)
        }
        Some(f) => {
            let s = std::fs::read_to_string(f).map_err(|e| {
                eprintln!("ipvsadm export: cannot read {f}: {e}");
                1
            })?;
            (f.to_string(), s)
        }
        None => {
            // The running state, as `ipvsadm state --json` prints it.
            let mut ipvs = crate::client::Ipvs::connect().map_err(|e| {
                eprintln!(
                    "ipvsadm export: cannot reach IPVS: {}",
                    ipvs_strerror(None, e.errno())
                );
                4
            })?;
            let doc = crate::apply::current_with(&mut ipvs, false).map_err(|e| {
                eprintln!("ipvsadm export: {}", ipvs_strerror(None, e.errno()));
                4
            })?;
            let json = crate::format::json::document(&doc).map_err(|e| {
                eprintln!("ipvsadm export: {e}");
                1
            })?;
            ("<kernel>".to_string(), json)
        }
    };
    match keepalived::export_text(&text, &display) {
        Ok(out) => print_converted(
            "export",
            &out.text,
            out.warnings.iter().map(|w| format!("warning: {w}")),
        ),
        Err(errors) => fail(errors),
    }
}

/// Warnings on stderr (each already a whole line), the converted text on
/// stdout; a write error is exit 1.
fn print_converted(
    what: &str,
    text: &str,
    warnings: impl Iterator<Item = String>,
) -> Result<i32, i32> {
    for w in warnings {
        eprintln!("{w}");
    }
    let mut so = std::io::stdout().lock();
    so.write_all(text.as_bytes())
        .and_then(|_| so.flush())
        .map_err(|e| {
            eprintln!("ipvsadm {what}: {e}");
            1
        })?;
    Ok(0)
}

/// Every error on its own line (`FILE:LINE: message`), exit 1.
fn fail<E: std::fmt::Display>(errors: impl IntoIterator<Item = E>) -> Result<i32, i32> {
    for e in errors {
        eprintln!("{e}");
    }
    Err(1)
}
