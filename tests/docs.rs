//! The generated documentation in the repository matches what the code
//! generates: the OPTIONS region of `man/ipvsadm.8` and the completion
//! scripts in `completions/`. To rewrite them after changing the flag table
//! (`src/cli/opts.rs`) or `src/cli/docs.rs`:
//!
//!     IPVSADM_REGENERATE=1 cargo test --test docs
//!
//! Also checked: every flag is documented, the man pages render without
//! warnings (when groff is installed), the scripts parse (with each shell
//! that is installed) and `ipvsadm completions SHELL` prints them.

use ipvsadm_rs::cli::docs::{self, SHELLS};
use ipvsadm_rs::lang::flags::FLAGS;
use std::path::{Path, PathBuf};
use std::process::Command;

const BEGIN: &str = ".\\\" BEGIN GENERATED OPTIONS";
const END: &str = ".\\\" END GENERATED OPTIONS";
const HOW: &str = "run `IPVSADM_REGENERATE=1 cargo test --test docs` to regenerate";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn regenerate() -> bool {
    std::env::var_os("IPVSADM_REGENERATE").is_some_and(|v| !v.is_empty() && v != "0")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The man page split around its generated region: (before, region, after),
/// `before` ending with the BEGIN line, `after` starting with the END line.
fn split_man(text: &str) -> (String, String, String) {
    let mut before = String::new();
    let mut region = String::new();
    let mut after = String::new();
    let mut state = 0;
    for line in text.split_inclusive('\n') {
        match state {
            0 => {
                before.push_str(line);
                if line.starts_with(BEGIN) {
                    state = 1;
                }
            }
            1 if line.starts_with(END) => {
                after.push_str(line);
                state = 2;
            }
            1 => region.push_str(line),
            _ => after.push_str(line),
        }
    }
    assert_eq!(
        state, 2,
        "man/ipvsadm.8 lacks the BEGIN/END GENERATED OPTIONS markers"
    );
    (before, region, after)
}

#[test]
fn man_options_region_is_generated() {
    let path = root().join("man/ipvsadm.8");
    let text = read(&path);
    let (before, region, after) = split_man(&text);
    let want = docs::man_options();
    if region != want {
        if regenerate() {
            std::fs::write(&path, format!("{before}{want}{after}")).unwrap();
            eprintln!("rewrote {}", path.display());
        } else {
            panic!("man/ipvsadm.8: the OPTIONS region differs from docs::man_options(); {HOW}");
        }
    }
}

#[test]
fn completion_files_are_generated() {
    let mut stale = Vec::new();
    for (shell, file) in [
        ("bash", "completions/ipvsadm.bash"),
        ("zsh", "completions/_ipvsadm"),
        ("fish", "completions/ipvsadm.fish"),
    ] {
        let path = root().join(file);
        let want = docs::completion(shell).unwrap();
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if regenerate() {
                std::fs::write(&path, &want).unwrap();
                eprintln!("rewrote {}", path.display());
            } else {
                stale.push(file);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from docs::completion(); {HOW}"
    );
}

#[test]
fn every_long_option_in_man_page() {
    let text = read(&root().join("man/ipvsadm.8"));
    for f in FLAGS {
        let long = format!("\\-\\-{}", f.long.replace('-', "\\-"));
        assert!(text.contains(&long), "--{} is not in man/ipvsadm.8", f.long);
        if let Some(c) = f.short {
            assert!(
                text.contains(&format!("\\fB\\-{c}\\fR")),
                "-{c} is not in man/ipvsadm.8"
            );
        }
    }
    // Our subcommands and their options.
    for d in docs::SUBCOMMAND_DOCS {
        assert!(text.contains(&format!("ipvsadm {}", d.name)), "{}", d.name);
        for (l, _) in d.options {
            assert!(
                text.contains(&format!("\\-\\-{}", l.replace('-', "\\-"))),
                "{} --{l}",
                d.name
            );
        }
    }
}

#[test]
fn subcommand_docs_match_dispatch() {
    let mut documented: Vec<&str> = docs::SUBCOMMAND_DOCS.iter().map(|d| d.name).collect();
    let mut dispatched: Vec<&str> = ipvsadm_rs::cli::sub::SUBCOMMANDS.to_vec();
    documented.sort_unstable();
    dispatched.sort_unstable();
    assert_eq!(documented, dispatched);
}

#[test]
fn completions_subcommand_prints_the_scripts() {
    let exe = env!("CARGO_BIN_EXE_ipvsadm");
    for shell in SHELLS {
        let out = Command::new(exe)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            docs::completion(shell).unwrap()
        );
    }
    let out = Command::new(exe)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = Command::new(exe).args(["completions"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// A tool a test needs: missing, the test fails (scripts/test installs
/// them all), it never passes without having checked.
#[track_caller]
fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{tool} is needed for this test: apt-get install {package} (scripts/test does)"
    );
}

#[test]
fn completion_scripts_parse() {
    for (shell, args) in [
        ("bash", vec!["-n"]),
        ("zsh", vec!["-n"]),
        ("fish", vec!["-n"]),
    ] {
        require(shell, shell);
        let dir = std::env::temp_dir().join(format!("ipvsadm-docs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("completion.{shell}"));
        std::fs::write(&file, docs::completion(shell).unwrap()).unwrap();
        let out = Command::new(shell).args(&args).arg(&file).output().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{shell} -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn man_pages_render_without_warnings() {
    require("groff", "groff-base");
    for page in ["ipvsadm.8", "ipvsadm-save.8", "ipvsadm-restore.8"] {
        let path = root().join("man").join(page);
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z", "-Tutf8"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "groff -man -ww {page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipvsadm-docs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn install_script_lays_out_files() {
    require("bash", "bash");
    require("install", "coreutils");
    let dest = temp_dir("install");
    let out = Command::new("bash")
        .arg(root().join("scripts/install"))
        .args(["--prefix", "/usr", "--destdir"])
        .arg(&dest)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_ipvsadm"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "usr/sbin/ipvsadm",
        "usr/share/man/man8/ipvsadm.8",
        "usr/share/man/man8/ipvsadm-save.8",
        "usr/share/man/man8/ipvsadm-restore.8",
        "usr/share/bash-completion/completions/ipvsadm",
        "usr/share/zsh/vendor-completions/_ipvsadm",
        "usr/share/fish/vendor_completions.d/ipvsadm.fish",
        "usr/lib/systemd/system/ipvsadm.service",
        "usr/lib/ipvsadm-rs/ipvsadm-service",
        "etc/default/ipvsadm",
        "usr/lib/systemd/system/ipvsadm-serve.service",
        "etc/default/ipvsadm-serve",
    ] {
        assert!(dest.join(f).is_file(), "{f} not installed");
    }
    for (link, target) in [
        ("usr/sbin/ipvsadm-save", "ipvsadm"),
        ("usr/sbin/ipvsadm-restore", "ipvsadm"),
    ] {
        let t = std::fs::read_link(dest.join(link)).unwrap();
        assert_eq!(t, Path::new(target), "{link}");
    }
    let unit = read(&dest.join("usr/lib/systemd/system/ipvsadm.service"));
    assert!(unit.contains("ExecStart=/usr/lib/ipvsadm-rs/ipvsadm-service start"));
    // The daemon's unit runs the installed binary with the settings file.
    let serve = read(&dest.join("usr/lib/systemd/system/ipvsadm-serve.service"));
    for line in [
        "Type=notify",
        "EnvironmentFile=-/etc/default/ipvsadm-serve",
        "ExecStartPre=/usr/sbin/ipvsadm serve check ${FILE}",
        "ExecStart=/usr/sbin/ipvsadm serve $OPTIONS ${FILE}",
        "ExecReload=/usr/sbin/ipvsadm serve reload",
    ] {
        assert!(
            serve.lines().any(|l| l == line),
            "ipvsadm-serve.service: no line {line}"
        );
    }
    // Run under its other name, the installed binary is ipvsadm-save.
    let out = Command::new(dest.join("usr/sbin/ipvsadm-save"))
        .arg("-x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Script to save the IPVS table"));
    let _ = std::fs::remove_dir_all(&dest);
}

/// `packaging/ipvsadm-service` with a stand-in ipvsadm that logs its
/// arguments, under a fake /etc: which rules file, restore, save, clear.
#[test]
fn service_helper_follows_both_conventions() {
    require("sh", "dash");
    let dir = temp_dir("service");
    let etc = dir.join("root/etc");
    std::fs::create_dir_all(etc.join("sysconfig")).unwrap();
    std::fs::create_dir_all(etc.join("default")).unwrap();
    let log = dir.join("log");
    let stub = dir.join("ipvsadm");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\necho \"ipvsadm $*\" >> '{0}'\n[ \"$1\" = -S ] && echo '-A -t 192.0.2.1:80 -s rr'\n[ \"$1\" = -R ] && cat >> '{0}'\nexit 0\n",
            log.display()
        ),
    )
    .unwrap();
    let restore = dir.join("ipvsadm-restore");
    std::fs::write(
        &restore,
        format!(
            "#!/bin/sh\necho ipvsadm-restore >> '{0}'\ncat >> '{0}'\n",
            log.display()
        ),
    )
    .unwrap();
    for f in [&stub, &restore] {
        Command::new("chmod").arg("755").arg(f).status().unwrap();
    }
    let run = |action: &str| -> String {
        let _ = std::fs::remove_file(&log);
        let out = Command::new("sh")
            .arg(root().join("packaging/ipvsadm-service"))
            .arg(action)
            .env("IPVSADM", &stub)
            .env("IPVSADM_SERVICE_ROOT", dir.join("root"))
            .env_remove("AUTO")
            .env_remove("RULES")
            .env_remove("SAVE_ON_STOP")
            .env_remove("DAEMON")
            .env_remove("IFACE")
            .env_remove("SYNCID")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{action}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&log).unwrap_or_default()
    };

    // Red Hat: /etc/sysconfig/ipvsadm restored at start, saved and cleared at stop.
    let rhel = etc.join("sysconfig/ipvsadm");
    std::fs::write(&rhel, "-A -t 192.0.2.1:80 -s wlc\n").unwrap();
    assert_eq!(run("start"), "ipvsadm-restore\n-A -t 192.0.2.1:80 -s wlc\n");
    assert_eq!(run("stop"), "ipvsadm -S -n\nipvsadm -C\n");
    assert!(read(&rhel).ends_with("-A -t 192.0.2.1:80 -s rr\n"));

    // Debian: /etc/ipvsadm.rules first, /etc/default/ipvsadm's AUTO and
    // DAEMON; no save at stop unless SAVE_ON_STOP.
    std::fs::write(etc.join("debian_version"), "12\n").unwrap();
    std::fs::write(
        etc.join("ipvsadm.rules"),
        "# ipvsadm.rules\n-A -u 192.0.2.1:53 -s rr\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("default/ipvsadm"),
        "AUTO=\"false\"\nDAEMON=\"none\"\n",
    )
    .unwrap();
    assert_eq!(run("start"), "");
    std::fs::write(
        etc.join("default/ipvsadm"),
        "AUTO=\"true\"\nDAEMON=\"master\"\nIFACE=\"eth1\"\nSYNCID=\"7\"\n",
    )
    .unwrap();
    assert_eq!(
        run("start"),
        "ipvsadm-restore\n# ipvsadm.rules\n-A -u 192.0.2.1:53 -s rr\n\
         ipvsadm --start-daemon master --mcast-interface eth1 --syncid 7\n"
    );
    assert_eq!(run("stop"), "ipvsadm --stop-daemon master\nipvsadm -C\n");
    let _ = std::fs::remove_dir_all(&dir);
}
