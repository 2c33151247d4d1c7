//! The `ipvsadm` command line (also `ipvsadm-save` and `ipvsadm-restore`,
//! chosen by the name the binary is invoked as).
//!
//! Flow: argv → [`parse`] (over the flag table in [`opts`], tokenized by
//! [`popt`]) → [`parse::Action`] → [`run`] (kernel calls through
//! [`crate::Ipvs`], output through [`crate::format`]).

pub mod convert;
pub mod docs;
pub mod help;
pub mod run;
pub mod sub;

use run::{exit_code, Ctx, Flow};
use std::io::{self, BufWriter, Read, Write};

fn args() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Entry point of the binary; returns the exit code.
pub fn main() -> i32 {
    let argv = args();
    let program = argv.first().cloned().unwrap_or_else(|| "ipvsadm".into());
    match basename(&program) {
        "ipvsadm-save" => save_main(&argv),
        "ipvsadm-restore" => restore_main(&argv),
        _ => ipvsadm_main(&argv),
    }
}

fn stdout() -> BufWriter<io::Stdout> {
    BufWriter::with_capacity(64 * 1024, io::stdout())
}

/// `ipvsadm ARGS…`.
pub fn ipvsadm_main(argv: &[String]) -> i32 {
    if argv
        .get(1)
        .is_some_and(|w| sub::SUBCOMMANDS.contains(&w.as_str()))
    {
        return sub::main(argv);
    }
    let program = argv.first().map(String::as_str).unwrap_or("ipvsadm");
    let mut ctx = Ctx::new(program, stdout());
    let flow = if argv.len() <= 1 {
        ctx.list_default()
    } else {
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        ctx.process(argv, Some(&mut lock))
    };
    let _ = ctx.out.flush();
    exit_code(flow)
}

/// `ipvsadm-save [-n]`, as the upstream shell script: any other dash
/// argument prints its usage and fails; other words are ignored.
pub fn save_main(argv: &[String]) -> i32 {
    let name = basename(argv.first().map(String::as_str).unwrap_or("ipvsadm-save")).to_string();
    let mut numeric = false;
    for a in argv.iter().skip(1) {
        if a == "-n" {
            numeric = true;
        } else if a.starts_with('-') {
            eprintln!("{name}: Script to save the IPVS table to stdout.");
            eprintln!("   With the -n option, prints out the table in numeric format.");
            return 1;
        }
    }
    let mut cmd = vec!["ipvsadm".to_string(), "-S".to_string()];
    if numeric {
        cmd.push("-n".into());
    }
    ipvsadm_main(&cmd)
}

/// `ipvsadm-restore`, as the upstream shell script: drop lines starting
/// with `#`, flush the table, then restore the rest.
pub fn restore_main(_argv: &[String]) -> i32 {
    let mut raw = Vec::new();
    if let Err(e) = io::stdin().read_to_end(&mut raw) {
        eprintln!("ipvsadm-restore: cannot read the rules from standard input: {e}");
        return 1;
    }
    // `INPUT="$(grep -v '^#')"; echo "$INPUT"`: trailing newlines collapse
    // to one.
    let mut input: Vec<u8> = Vec::with_capacity(raw.len() + 1);
    for line in raw.split(|&b| b == b'\n') {
        if line.first() != Some(&b'#') {
            input.extend_from_slice(line);
            input.push(b'\n');
        }
    }
    while input.last() == Some(&b'\n') {
        input.pop();
    }
    input.push(b'\n');

    let program = "ipvsadm";
    let mut ctx = Ctx::new(program, stdout());
    // The flush and the restore are one change of the tables.
    if let Err(flow) = ctx.lock_tables() {
        return exit_code(flow);
    }
    let flush = ctx.process::<&[u8]>(&[program.to_string(), "-C".to_string()], None);
    if let Flow::Exit(_) = flush {
        let _ = ctx.out.flush();
    }
    let mut reader: &[u8] = &input;
    let flow = ctx.process(&[program.to_string(), "-R".to_string()], Some(&mut reader));
    let _ = ctx.out.flush();
    exit_code(flow)
}
