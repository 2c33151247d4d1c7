//! Kernel replies: any datagram is either decoded or rejected, and every
//! decoded message can be asked for every model value, without panics.
#![no_main]

use ipvsadm_rs::model::Family;
use ipvsadm_rs::netlink::transport::{decode_datagram, Incoming};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let _ = decode_datagram(data, &mut out);
    for m in out {
        if let Incoming::Data { msg, .. } = m {
            let _ = msg.to_service();
            let _ = msg.to_dest(Family::Inet);
            let _ = msg.to_dest(Family::Inet6);
            let _ = msg.to_daemon();
            let _ = msg.to_timeouts();
            let _ = msg.to_info();
        }
    }
});
