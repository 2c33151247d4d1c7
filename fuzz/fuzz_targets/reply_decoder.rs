//! Kernel replies: any datagram is walked or rejected, and every message in
//! it can be asked for every model value (with and without counters), and
//! parsed into typed attributes, without panics.
#![no_main]

use ipvsadm_rs::model::Family;
use ipvsadm_rs::netlink::attr::cmd;
use ipvsadm_rs::netlink::codec::{
    decode_daemon, decode_dest, decode_info, decode_service, decode_timeouts, nest_of,
};
use ipvsadm_rs::netlink::view::frames;
use ipvsadm_rs::netlink::IpvsMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for f in frames(data) {
        let Ok(f) = f else { break };
        let _ = f.errno();
        let _ = IpvsMessage::parse_bytes(f.bytes);
        let Ok(g) = f.genl() else { continue };
        let a = g.attrs;
        for stats in [false, true] {
            if let Ok(n) = nest_of(a, cmd::SERVICE, "service") {
                let _ = decode_service(n, stats);
            }
            if let Ok(n) = nest_of(a, cmd::DEST, "dest") {
                let _ = decode_dest(n, Family::Inet, stats);
                let _ = decode_dest(n, Family::Inet6, stats);
            }
        }
        if let Ok(n) = nest_of(a, cmd::DAEMON, "daemon") {
            let _ = decode_daemon(n);
        }
        let _ = decode_timeouts(a);
        let _ = decode_info(a);
    }
});
