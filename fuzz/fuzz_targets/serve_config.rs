//! The FILE of `ipvsadm serve`: rules with `#@ health` lines, or JSON with
//! `health_monitor` objects. The reader must never panic, and what it
//! accepts must describe only services and real servers the file defines.
#![no_main]

use ipvsadm_rs::serve::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ipvsadm_rs::names::disable_host_lookups();
    let text = String::from_utf8_lossy(data);
    if let Ok(cfg) = config::read(&text, "fuzz") {
        for (key, h) in &cfg.health {
            assert!(cfg.desired.service(key).is_some());
            assert!(h.monitor.timeout < h.monitor.delay);
            assert!((1..=10).contains(&h.monitor.rise) && (1..=10).contains(&h.monitor.fall));
        }
        for (key, addr, port) in cfg.overrides.keys() {
            let s = cfg.desired.service(key).expect("override of a defined service");
            assert!(s.dests.iter().any(|(d, _)| d.addr == *addr && d.port == *port));
        }
    }
});
