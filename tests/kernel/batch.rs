//! Many requests per `sendmsg`, acks matched by sequence number; many dumps
//! over one socket.

use crate::common::ip;
use crate::support::*;
use ipvsadm_rs::model::*;
use ipvsadm_rs::{Errno, Ipvs, Op};
use std::net::{IpAddr, Ipv4Addr};

fn masq(last: u8) -> Dest {
    let mut d = Dest::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)), 80);
    d.fwd = FwdMethod::Masq;
    d
}

#[test]
fn one_sendmsg_with_failures_in_the_middle() {
    failures_in_the_middle(false);
}

#[test]
fn one_sendmsg_with_failures_in_the_middle_acking_all() {
    failures_in_the_middle(true);
}

fn failures_in_the_middle(ack_all: bool) {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    ipvs.transport().ack_all = ack_all;
    let key = ServiceKey::tcp(ip("192.0.2.1"), 80);
    let missing = ServiceKey::tcp(ip("192.0.2.99"), 80);
    let ops = vec![
        Op::AddService(Service::new(key, "rr")),
        Op::AddDest(key, masq(1)),
        Op::AddDest(key, masq(2)),
        Op::AddDest(key, masq(1)), // 3: duplicate → EEXIST
        Op::AddDest(key, masq(3)),
        Op::DelDest(key, ip("198.51.100.77"), 80), // 5: absent → ENOENT
        Op::AddDest(key, masq(4)),
        Op::AddDest(missing, masq(5)), // 7: no service → ESRCH
        Op::AddDest(key, masq(5)),
        Op::EditDest(key, masq(2)),
    ];
    let before = ipvs.transport().stats;
    let results = ipvs.apply(&ops).unwrap();
    let after = ipvs.transport().stats;
    assert_eq!(
        after.sendmsgs - before.sendmsgs,
        1,
        "all requests in one sendmsg"
    );
    assert_eq!(after.requests - before.requests, ops.len() as u64);
    // Acking only the last request: one read for it and one per failure.
    let reads = after.recvs - before.recvs;
    if ack_all {
        assert_eq!(reads, ops.len() as u64);
    } else {
        assert_eq!(reads, 4);
    }
    let want: Vec<Result<(), Errno>> = (0..ops.len())
        .map(|i| match i {
            3 => Err(Errno(libc::EEXIST)),
            5 => Err(Errno(libc::ENOENT)),
            7 => Err(Errno(libc::ESRCH)),
            _ => Ok(()),
        })
        .collect();
    assert_eq!(results, want);
    assert_saved(&[
        "-A -t 192.0.2.1:80 -s rr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:80 -m -w 1",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 1",
        "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -m -w 1",
        "-a -t 192.0.2.1:80 -r 198.51.100.4:80 -m -w 1",
        "-a -t 192.0.2.1:80 -r 198.51.100.5:80 -m -w 1",
    ]);
}

#[test]
fn large_batches_split_and_all_apply() {
    let _gate = fresh_netns_alone();
    let mut ipvs = Ipvs::connect().unwrap();
    let mut ops = Vec::new();
    for i in 0..250u16 {
        let key = ServiceKey::tcp(ip("192.0.2.1"), 1000 + i);
        ops.push(Op::AddService(Service::new(key, "wrr")));
        for last in 1..=3 {
            ops.push(Op::AddDest(key, masq(last)));
        }
    }
    ipvs.transport().batch_size = 100;
    let before = ipvs.transport().stats.sendmsgs;
    let results = ipvs.apply(&ops).unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(ipvs.transport().stats.sendmsgs - before, 10);

    // Real-server dumps over the same socket read it all back; the oracle agrees.
    let table = ipvs.table().unwrap();
    assert_eq!(table.len(), 250);
    assert!(table.iter().all(|(_, d)| d.len() == 3));
    let saved = oracle_save();
    assert_eq!(saved.lines().filter(|l| l.starts_with("-A ")).count(), 250);
    assert_eq!(saved.lines().filter(|l| l.starts_with("-a ")).count(), 750);
}

#[test]
fn dumps_of_missing_services_are_empty() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::tcp(ip("192.0.2.1"), 80);
    ipvs.add_service(&Service::new(key, "rr")).unwrap();
    ipvs.add_dest(&key, &masq(1)).unwrap();
    let keys = [
        ServiceKey::tcp(ip("192.0.2.2"), 80),
        key,
        ServiceKey::fwmark(Family::Inet, 9),
    ];
    let got = ipvs.dests_of(&keys).unwrap();
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![0, 1, 0]);
}

/// A datagram larger than the receive buffer (as on a kernel whose
/// `NLMSG_GOODSIZE` is larger than ours) is caught: the buffer grows, what
/// is left of the reply is drained and the dump repeated, and the answer
/// is whole. Doit replies are asked for again the same way. (The services
/// dump reads 32 KiB at a time on a socket of its own; real-server dumps and
/// doit requests use the socket whose buffer is shrunk here.)
#[test]
fn a_receive_buffer_too_small_costs_a_repeated_dump() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::tcp(ip("192.0.2.1"), 80);
    let n = 40u8;
    let mut ops = vec![Op::AddService(Service::new(key, "rr"))];
    ops.extend((1..=n).map(|i| Op::AddDest(key, masq(i))));
    assert!(ipvs.apply(&ops).unwrap().iter().all(Result::is_ok));
    let normal = ipvs.transport().recv_size();
    ipvs.transport().set_recv_size(300);
    let recvs = ipvs.transport().stats.recvs;
    let mut got: Vec<IpAddr> = ipvs.dests(&key).unwrap().iter().map(|d| d.addr).collect();
    got.sort_unstable();
    let want: Vec<IpAddr> = (1..=n).map(|i| masq(i).addr).collect();
    assert_eq!(got, want);
    let grown = ipvs.transport().recv_size();
    assert!(grown > 300, "the buffer grew to {grown}");
    let used = ipvs.transport().stats.recvs - recvs;
    println!("real-server dump read with a 300-byte buffer: grew to {grown} (normal {normal}), {used} reads");
    // A doit reply too.
    ipvs.transport().set_recv_size(100);
    let one = ipvs.service(&key).unwrap();
    assert_eq!(one.scheduler, "rr");
    assert!(ipvs.transport().recv_size() > 100);
    // And the services dump, on its own socket, is whole as ever.
    assert_eq!(ipvs.services().unwrap().len(), 1);
}
