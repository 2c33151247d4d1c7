//! `apply --incremental` without a kernel: a record file that does not
//! decode must be ignored without a panic, and for two rules texts split
//! from the input at its first NUL (the recorded one and the new one),
//! diffing the new text against the record of the old must agree with the
//! full read of the new text (`check_against_full`).
#![no_main]

use ipvsadm_rs::apply::{incremental, record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ipvsadm_rs::names::disable_host_lookups();
    if let Some(rec) = record::decode_bytes(data, "fuzz", 1, 2) {
        let _ = incremental::diff_text(&rec, "", "fuzz");
    }
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let old = String::from_utf8_lossy(&data[..cut]);
    let new = String::from_utf8_lossy(data.get(cut + 1..).unwrap_or_default());
    if old.lines().count() > 64 || new.lines().count() > 64 {
        return;
    }
    if let Err(e) = incremental::check_against_full(&old, &new) {
        panic!("old {old:?}\nnew {new:?}\n{e}");
    }
});
