//! Table-changing runs are serialised per network namespace
//! (`apply::lock`): concurrent `apply`, `-R` and `ipvsadm-restore` runs
//! leave exactly one whole file in the table, never a mix, and a run that
//! waits too long gives up and changes nothing.

use crate::support::*;
use ipvsadm_rs::apply::lock::Lock;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// A rules file of `n` services with 4 real servers each, in the order
/// `-S -n` prints, so that a table holding exactly this file saves as
/// exactly this text. `variant` changes every line (port, scheduler,
/// weights), so any mix of two variants shows.
fn file(n: usize, variant: u16) -> String {
    let mut s = String::new();
    let sched = ["rr", "wlc", "sh"][usize::from(variant) % 3];
    for i in 0..n {
        let vip = format!(
            "192.0.2.{}:{}",
            1 + i / 200,
            1000 + (i % 200) as u16 * 3 + variant
        );
        let _ = writeln!(s, "-A -t {vip} -s {sched}");
        for r in 0..4 {
            let _ = writeln!(
                s,
                "-a -t {vip} -r 198.51.100.{}:80 -m -w {}",
                1 + r * 10 + usize::from(variant),
                1 + variant
            );
        }
    }
    s
}

fn saved() -> String {
    let o = ours(&["-S", "-n"], None);
    assert_eq!(o.status, 0, "{}", o.stderr);
    o.stdout
}

#[test]
fn concurrent_appliers_leave_one_whole_file() {
    let _gate = fresh_netns_alone();
    let n = 300;
    let files: Vec<String> = (0..3).map(|v| file(n, v)).collect();
    let t0 = Instant::now();
    let rounds = 4;
    for round in 0..rounds {
        // Three writers at once: two applies of different files and one
        // ipvsadm-restore (flush + -R) of the third, started together.
        let start = std::sync::Barrier::new(3);
        let results: Vec<Output> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..3)
                .map(|w| {
                    let (files, start) = (&files, &start);
                    sc.spawn(move || {
                        // A thread starts in the namespace of the thread
                        // that spawned it: this test's.
                        start.wait();
                        let f = &files[(w + round) % 3];
                        if w == 2 {
                            run_tool(&ours_bin(), "ipvsadm-restore", &[] as &[&str], Some(f))
                        } else {
                            ours(&["apply", "-"], Some(f))
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("writer"))
                .collect()
        });
        for (w, r) in results.iter().enumerate() {
            assert_eq!(
                (r.status, r.stderr.as_str()),
                (0, ""),
                "round {round}, writer {w}: {}",
                r.stdout
            );
        }
        let table = saved();
        let which = files.iter().position(|f| *f == table);
        assert!(
            which.is_some(),
            "round {round}: the table is no single file ({} lines)",
            table.lines().count()
        );
        eprintln!("round {round}: the table is file {}", which.unwrap_or(9));
    }
    eprintln!(
        "{rounds} rounds of 3 concurrent writers of {n} services x 4 in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn a_run_that_waits_too_long_changes_nothing() {
    let _gate = fresh_netns();
    let before = file(2, 0);
    let r = ours(&["apply", "-"], Some(&before));
    assert_eq!((r.status, r.stderr.as_str()), (0, ""));
    // This test holds the namespace's lock, as a running apply would.
    let held = Lock::acquire(Duration::ZERO).expect("take the lock");
    let t = Instant::now();
    let r = ours(&["apply", "--wait", "0.5", "-"], Some(&file(2, 1)));
    let waited = t.elapsed();
    assert_eq!(r.status, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("(pid {})", std::process::id()))
            && r.stderr.contains("nothing was changed"),
        "{}",
        r.stderr
    );
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert_eq!(saved(), before);
    // A dry run takes no lock.
    let r = ours(&["apply", "--dry-run", "-"], Some(&file(2, 1)));
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("-A -t 192.0.2.1:1001 -s wlc"),
        "{}",
        r.stdout
    );

    // -R waits for the lock, then restores.
    let (during, r) = std::thread::scope(|sc| {
        let h = sc.spawn(|| ours(&["-R"], Some("-A -t 192.0.2.9:9 -s rr\n")));
        std::thread::sleep(Duration::from_millis(800));
        let during = saved();
        drop(held);
        (during, h.join().expect("restore"))
    });
    assert_eq!(
        during, before,
        "-R changed the table while the lock was held"
    );
    assert_eq!((r.status, r.stderr.as_str()), (0, ""));
    assert_eq!(saved(), format!("{before}-A -t 192.0.2.9:9 -s rr\n"));
}
