//! Carrying out a parsed command against the kernel, with ipvsadm's
//! messages and exit statuses.
//!
//! One `Ctx` (and so one netlink socket) serves a whole process, including
//! every line of `-R`.

use super::help;
use crate::client::Ipvs;
use crate::error::Error;
use crate::format;
use crate::lang::parse::{parse, tryhelp, Action, Call, ListWhat, ParseError};
use crate::lang::stream::ConfigStream;
use crate::lang::ListFlags;
use crate::model::Op;
use crate::model::{Document, ServiceEntry};

/// Changes read ahead by `-R` before they are sent.
pub const RESTORE_BATCH: usize = 4096;

/// Changes queued by `-R`, and the call each is reported as.
#[derive(Default)]
struct Pending {
    ops: Vec<Op>,
    calls: Vec<Call>,
}
use std::io::{self, BufRead, Write};

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// The command's status (0 or -1); `-R` goes on with the next line.
    Status(i32),
    /// End the process with this exit code now (ipvsadm's `exit()`).
    Exit(i32),
}

/// ipvsadm's `ipvs_strerror`: the message for `errno` after `call`.
pub fn ipvs_strerror(call: Option<Call>, errno: i32) -> String {
    use libc::*;
    use Call::*;
    let specific = match (call, errno) {
        (Some(AddService), EEXIST) => Some("Service already exists"),
        (Some(AddService | UpdateService), ENOENT) => {
            Some("Scheduler or persistence engine not found")
        }
        (Some(UpdateService | DelService | ZeroService), ESRCH) => Some("No such service"),
        (Some(AddDest | UpdateDest | DelDest), ESRCH) => Some("Service not defined"),
        (Some(AddDest), EEXIST) => Some("Destination already exists"),
        (Some(UpdateDest | DelDest), ENOENT) => Some("No such destination"),
        (Some(StartDaemon), EEXIST) => Some("Daemon has already run"),
        (Some(StopDaemon), ESRCH) => Some("No daemon is running"),
        (Some(GetServices | GetDests | GetService), ESRCH) => Some("No such service"),
        (_, EPERM) => Some("Permission denied (you must be root)"),
        (_, EINVAL) => {
            Some("Invalid operation.  Possibly wrong module version, address not unicast, ...")
        }
        (_, ENOPROTOOPT) => Some("Protocol not available"),
        (_, ENOMEM) => Some("Memory allocation problem"),
        (_, EOPNOTSUPP) => Some("Operation not supported with IPv6"),
        (_, EAFNOSUPPORT) => Some("Operation not supported with specified address family"),
        (_, EMSGSIZE) => Some("Module is wrong version"),
        _ => None,
    };
    specific
        .map(str::to_string)
        .unwrap_or_else(|| crate::Errno(errno).strerror())
}

/// Process-wide state: the program name, the lazily opened IPVS channel,
/// buffered standard output.
pub struct Ctx<W: Write> {
    pub program: String,
    ipvs: Option<Ipvs>,
    pub out: W,
    /// The apply record of this namespace was removed (once is enough).
    record_forgotten: bool,
    /// What `GET_INFO` said when the channel was opened.
    info: Option<crate::model::Info>,
    /// The table lock of this namespace, while `-R` runs.
    lock: Option<crate::apply::lock::Lock>,
    /// Inside `-R` (more commands may follow a listing).
    restoring: bool,
}

impl<W: Write> Ctx<W> {
    pub fn new(program: &str, out: W) -> Self {
        Ctx {
            program: program.to_string(),
            ipvs: None,
            out,
            record_forgotten: false,
            info: None,
            lock: None,
            restoring: false,
        }
    }

    /// Before changing the tables: remove the record `apply` keeps of
    /// them, which would no longer describe them (`apply::record`).
    /// Zeroing counters changes nothing it records.
    fn forget_record(&mut self, ops: &[Op]) {
        if !self.record_forgotten && ops.iter().any(|op| !matches!(op, Op::Zero(_))) {
            crate::apply::record::forget();
            self.record_forgotten = true;
        }
    }

    /// The IPVS channel, opened on first use, and asked for its version
    /// as ipvsadm's `ipvs_init` does. Failing either ends the process as
    /// ipvsadm's start-up check does (an unprivileged user fails here:
    /// the kernel refuses `GET_INFO` without CAP_NET_ADMIN).
    fn ipvs(&mut self) -> Result<&mut Ipvs, Flow> {
        if self.ipvs.is_none() {
            match Ipvs::connect().and_then(|mut i| i.info().map(|info| (i, info))) {
                Ok((i, info)) => {
                    self.ipvs = Some(i);
                    self.info = Some(info);
                }
                Err(e) => {
                    let _ = self.out.flush();
                    eprintln!(
                        "Can't initialize ipvs: {}\nAre you sure that IP Virtual Server is built in the kernel or as module?",
                        ipvs_strerror(None, e.errno())
                    );
                    return Err(Flow::Exit(2));
                }
            }
        }
        // Just opened or already there.
        self.ipvs.as_mut().ok_or(Flow::Exit(2))
    }

    /// Take the table lock of this network namespace (`apply::lock`) for
    /// the rest of the process: `-R` and `ipvsadm-restore` change the
    /// tables with no `apply` in between.
    pub fn lock_tables(&mut self) -> Result<(), Flow> {
        if self.lock.is_none() {
            match crate::apply::lock::Lock::acquire(crate::apply::lock::DEFAULT_WAIT) {
                Ok(l) => self.lock = Some(l),
                Err(msg) => {
                    self.flush();
                    eprintln!("{}: {msg}", self.program);
                    return Err(Flow::Exit(1));
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> Result<(), Flow> {
        self.out.write_all(s.as_bytes()).map_err(|_| Flow::Exit(1))
    }

    /// `doc` as JSON; a failure is reported and ends the process.
    fn json(&mut self, doc: &Document) -> Result<String, Flow> {
        format::json::document(doc).map_err(|e| {
            self.flush();
            eprintln!("{}: cannot write JSON: {e}", self.program);
            Flow::Exit(1)
        })
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }

    /// Report `err` after `call` the way ipvsadm does.
    fn report(&mut self, call: Call, err: &Error) {
        self.flush();
        eprintln!("{}", ipvs_strerror(Some(call), err.errno()));
    }

    /// ipvsadm's `process_options` for one command line.
    pub fn process<R: BufRead>(&mut self, argv: &[String], stdin: Option<&mut R>) -> Flow {
        self.dispatch(parse(argv), stdin)
    }

    /// Carry out a parsed command line (or report why it did not parse).
    fn dispatch<R: BufRead>(
        &mut self,
        parsed: Result<Action, ParseError>,
        stdin: Option<&mut R>,
    ) -> Flow {
        let action = match parsed {
            Ok(a) => a,
            Err(ParseError::Fail { msg, code }) => {
                self.flush();
                eprintln!("{msg}");
                return Flow::Exit(code);
            }
            Err(ParseError::Popt { msg }) => {
                self.flush();
                eprintln!("{msg}");
                return Flow::Status(-1);
            }
        };
        match self.execute(action, stdin) {
            Ok(status) => Flow::Status(status),
            Err(flow) => flow,
        }
    }

    /// Send queued changes in pipelined batches and report each failure in
    /// line order, as ipvsadm would have line by line. Returns the status
    /// of the last one.
    fn flush_changes(&mut self, pending: &mut Pending) -> Result<i32, Flow> {
        if pending.ops.is_empty() {
            return Ok(0);
        }
        self.forget_record(&pending.ops);
        let ipvs = self.ipvs()?;
        let outcome = ipvs.apply(&pending.ops);
        let mut last = 0;
        match outcome {
            Ok(results) => {
                for (call, r) in pending.calls.iter().zip(results) {
                    last = match r {
                        Ok(()) => 0,
                        Err(errno) => {
                            self.report(*call, &Error::Kernel(errno));
                            -1
                        }
                    };
                }
            }
            Err(e) => {
                // The channel itself failed: nothing more can be known.
                self.report(pending.calls[0], &e);
                last = -1;
            }
        }
        pending.ops.clear();
        pending.calls.clear();
        Ok(last)
    }

    fn execute<R: BufRead>(&mut self, action: Action, stdin: Option<&mut R>) -> Result<i32, Flow> {
        match action {
            Action::Help => {
                let program = self.program.clone();
                self.write(&help::usage(&program))?;
                Err(Flow::Exit(0))
            }
            Action::Version => {
                self.write(&help::version())?;
                Err(Flow::Exit(0))
            }
            Action::Restore => match stdin {
                Some(input) => self.restore(input),
                None => {
                    let program = self.program.clone();
                    let ParseError::Fail { msg, code } = tryhelp(&program) else {
                        return Err(Flow::Exit(255));
                    };
                    self.flush();
                    eprintln!("{msg}");
                    Err(Flow::Exit(code))
                }
            },
            Action::Save(f) => {
                self.list_all(&f)?;
                Ok(0)
            }
            Action::List(what, f) => {
                self.list(what, &f)?;
                Ok(0)
            }
            Action::Change(op, call) => {
                self.forget_record(std::slice::from_ref(&op));
                let ipvs = self.ipvs()?;
                match ipvs.apply(std::slice::from_ref(&op)) {
                    Ok(r) => match r.into_iter().next() {
                        Some(Err(errno)) => {
                            self.report(call, &Error::Kernel(errno));
                            Ok(-1)
                        }
                        _ => Ok(0),
                    },
                    Err(e) => {
                        self.report(call, &e);
                        Ok(-1)
                    }
                }
            }
        }
    }

    fn list_all(&mut self, f: &ListFlags) -> Result<(), Flow> {
        self.ipvs()?;
        // Read when the channel opened (ipvsadm reads it once at start-up
        // too); it does not change.
        let info = if f.rule { None } else { self.info };
        let ipvs = self.ipvs()?;
        // Counters are decoded only for the listings that show them.
        let mut table = match ipvs.table_with(f.stats || f.rate || f.json) {
            Ok(t) => t,
            Err(e) => {
                self.report(Call::GetServices, &e);
                return Err(Flow::Exit(1));
            }
        };
        let mut s = String::new();
        if f.json {
            if !f.nosort {
                format::text::sort_services(&mut table);
            }
            let services = table
                .into_iter()
                .map(|(service, mut dests)| {
                    if !f.nosort {
                        format::text::sort_dests(&mut dests);
                    }
                    ServiceEntry { service, dests }
                })
                .collect();
            let doc = Document {
                info,
                services,
                ..Document::default()
            };
            let text = self.json(&doc)?;
            return self.write(&text);
        }
        // Written in pieces: one buffer for the whole listing.
        let mut failed = false;
        let out = &mut self.out;
        let mut spill = |piece: &mut String| {
            failed = failed || out.write_all(piece.as_bytes()).is_err();
        };
        format::text::listing_in_chunks(
            &mut s,
            info.as_ref(),
            &mut table,
            f,
            &crate::names::SystemNames,
            &mut spill,
        );
        let written = if failed {
            Err(Flow::Exit(1))
        } else {
            self.write(&s)
        };
        if !self.restoring {
            // The process ends right after: freeing tens of thousands of
            // entries one by one would cost a tenth of the formatting.
            std::mem::forget(table);
        }
        written
    }

    fn list(&mut self, what: ListWhat, f: &ListFlags) -> Result<(), Flow> {
        let mut s = String::new();
        match what {
            ListWhat::All => return self.list_all(f),
            ListWhat::Service(key) => {
                let ipvs = self.ipvs()?;
                let svc = match ipvs.service(&key) {
                    Ok(s) => s,
                    Err(e) => {
                        self.report(Call::GetService, &e);
                        return Err(Flow::Exit(1));
                    }
                };
                let ipvs = self.ipvs()?;
                let mut dests = match ipvs.dests(&svc.key) {
                    Ok(d) => d,
                    Err(e) => {
                        self.report(Call::GetDests, &e);
                        return Err(Flow::Exit(1));
                    }
                };
                if f.json {
                    if !f.nosort {
                        format::text::sort_dests(&mut dests);
                    }
                    let doc = Document {
                        services: vec![ServiceEntry {
                            service: svc,
                            dests,
                        }],
                        ..Document::default()
                    };
                    s = self.json(&doc)?;
                } else {
                    format::text::list_service(&mut s, &svc, &mut dests, f);
                }
            }
            ListWhat::Connections => {
                let path = "/proc/net/ip_vs_conn";
                let text = match std::fs::read(path) {
                    Ok(t) => String::from_utf8_lossy(&t).into_owned(),
                    Err(_) => {
                        self.flush();
                        eprintln!("cannot open file {path}");
                        return Err(Flow::Exit(1));
                    }
                };
                if let Err(e) =
                    format::conn::list_connections(&mut s, &text, f.numeric, f.persistent_conn)
                {
                    self.write(&s)?;
                    self.flush();
                    eprintln!("{e}");
                    return Err(Flow::Exit(1));
                }
            }
            ListWhat::Timeouts => {
                let ipvs = self.ipvs()?;
                let t = ipvs.timeouts().map_err(|_| Flow::Exit(1))?;
                if f.json {
                    s = self.json(&Document {
                        timeouts: Some(t),
                        ..Document::default()
                    })?;
                } else {
                    format::text::timeouts(&mut s, &t);
                }
            }
            ListWhat::Daemons => {
                let ipvs = self.ipvs()?;
                let d = ipvs.daemons().map_err(|_| Flow::Exit(1))?;
                if f.json {
                    s = self.json(&Document {
                        daemons: Some(d),
                        ..Document::default()
                    })?;
                } else {
                    format::text::daemons(&mut s, &d);
                }
            }
        }
        self.write(&s)
    }

    /// `-R`: run every line of `input`; the status is the last line's.
    ///
    /// Lines are parsed ahead and consecutive changes are sent pipelined,
    /// [`RESTORE_BATCH`] at a time; anything else (a listing, a parse error,
    /// the end of input) first sends what is queued, so messages keep their
    /// order and a failing line leaves exactly the earlier lines applied.
    /// Lines whose first word starts with `#` are comments.
    fn restore<R: BufRead>(&mut self, input: &mut R) -> Result<i32, Flow> {
        let mut data = Vec::new();
        if let Err(e) = input.read_to_end(&mut data) {
            // ipvsadm 1.31 reports success having restored nothing.
            self.flush();
            eprintln!(
                "{}: cannot read the rules from standard input: {e}",
                self.program
            );
            return Err(Flow::Exit(1));
        }
        self.lock_tables()?;
        self.restoring = true;
        let mut stream = ConfigStream::new(&data);
        let mut result = 0;
        let mut pending = Pending::default();
        let program = self.program.clone();
        while let Some(words) = stream.next_command() {
            if words.first().is_none_or(|w| w.starts_with('#')) {
                continue;
            }
            let mut argv: Vec<&str> = Vec::with_capacity(words.len() + 1);
            argv.push(&program);
            argv.extend(words.iter().map(|w| w.as_ref()));
            match parse(&argv) {
                Ok(Action::Change(op, call)) => {
                    pending.ops.push(op);
                    pending.calls.push(call);
                    if pending.ops.len() >= RESTORE_BATCH {
                        result = self.flush_changes(&mut pending)?;
                    }
                }
                other => {
                    // Its status is replaced by this line's.
                    self.flush_changes(&mut pending)?;
                    match self.dispatch::<io::Empty>(other, None) {
                        Flow::Status(s) => result = s,
                        Flow::Exit(code) => return Err(Flow::Exit(code)),
                    }
                }
            }
        }
        if !pending.ops.is_empty() {
            result = self.flush_changes(&mut pending)?;
        }
        Ok(result)
    }

    /// `ipvsadm` with no arguments: list everything with name resolution.
    pub fn list_default(&mut self) -> Flow {
        match self.list_all(&ListFlags::default()) {
            Ok(()) => Flow::Status(0),
            Err(f) => f,
        }
    }
}

/// Exit code of a flow, as the C program's `return`/`exit` would give it.
pub fn exit_code(flow: Flow) -> i32 {
    match flow {
        Flow::Status(s) | Flow::Exit(s) => s & 0xff,
    }
}
