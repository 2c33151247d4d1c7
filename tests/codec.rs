//! Exact bytes of every IPVS request kind, and decoding of every reply kind.
//!
//! Expected bytes are built here by hand, attribute by attribute, with the
//! byte order of each payload written out literally (ports big-endian,
//! everything else little-endian on the x86 hosts we test on).

use ipvsadm_rs::model::*;
use ipvsadm_rs::netlink::codec::{
    decode_daemon, decode_dest, decode_info, decode_service, decode_timeouts, nest_of,
};
use ipvsadm_rs::netlink::encode::{self, Request};
use ipvsadm_rs::netlink::view::{frames, NLMSG_DONE, NLMSG_ERROR};
use ipvsadm_rs::netlink::{IpvsCmd, IpvsMessage};
use ipvsadm_rs::Op;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const FAMILY: u16 = 0x1f; // any id; the kernel assigns it at run time
const REQ_ACK: u16 = 0x1 | 0x4;
const NESTED: u16 = 0x8000;

fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((payload.len() + 4) as u16).to_le_bytes());
    v.extend_from_slice(&kind.to_le_bytes());
    v.extend_from_slice(payload);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

fn nest(kind: u16, children: &[Vec<u8>]) -> Vec<u8> {
    nla(kind | NESTED, &children.concat())
}

fn message(cmd: u8, flags: u16, seq: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
    let body = attrs.concat();
    let mut v = Vec::new();
    v.extend_from_slice(&((16 + 4 + body.len()) as u32).to_le_bytes());
    v.extend_from_slice(&FAMILY.to_le_bytes());
    v.extend_from_slice(&flags.to_le_bytes());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&[cmd, 1, 0, 0]);
    v.extend_from_slice(&body);
    v
}

fn encode(req: Request<'_>, seq: u32, flags: u16) -> Vec<u8> {
    let mut out = Vec::new();
    encode::encode(FAMILY, seq, flags, &req, &mut out);
    out
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn addr16(bytes: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..bytes.len()].copy_from_slice(bytes);
    a
}

fn tcp_key() -> ServiceKey {
    ServiceKey::tcp(v4(192, 0, 2, 1), 80)
}

/// Identity of tcp 192.0.2.1:80: AF=2, PROTOCOL=6, ADDR, PORT=0x0050 (BE).
fn tcp_key_attrs() -> Vec<Vec<u8>> {
    vec![
        nla(1, &[2, 0]),
        nla(2, &[6, 0]),
        nla(3, &addr16(&[192, 0, 2, 1])),
        nla(4, &[0x00, 0x50]),
    ]
}

#[test]
fn new_service_tcp_exact_bytes() {
    let mut svc = Service::new(tcp_key(), "rr");
    svc.flags = ServiceFlags(ServiceFlags::PERSISTENT | ServiceFlags::SCHED3);
    svc.timeout = 360;
    svc.netmask = 0xffff_ff00;
    let got = encode(Request::Op(&Op::AddService(svc.clone())), 7, REQ_ACK);
    let mut s = tcp_key_attrs();
    s.push(nla(6, b"rr\0"));
    s.push(nla(7, &[0x21, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
    s.push(nla(8, &[0x68, 0x01, 0, 0]));
    s.push(nla(9, &[255, 255, 255, 0])); // IPv4 netmask: network order
    let want = message(1, REQ_ACK, 7, &[nest(1, &s)]);
    assert_eq!(got, want);
    // Spot-check literal positions: total length and the big-endian port.
    assert_eq!(&got[0..4], &(want.len() as u32).to_le_bytes());
    let port_at = 16 + 4 + 4 + 8 + 8 + 20;
    assert_eq!(&got[port_at..port_at + 8], &[6, 0, 4, 0, 0x00, 0x50, 0, 0]);
}

#[test]
fn new_service_ipv6_with_pe_exact_bytes() {
    let addr: Ipv6Addr = "2001:db8::80".parse().unwrap();
    let key = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: IpAddr::V6(addr),
        port: 5060,
    };
    let mut svc = Service::new(key, "wrr");
    svc.flags = ServiceFlags(ServiceFlags::PERSISTENT);
    svc.timeout = 600;
    svc.netmask = 64;
    svc.pe_name = Some("sip".into());
    let got = encode(Request::Op(&Op::EditService(svc.clone())), 9, REQ_ACK);
    let s = vec![
        nla(1, &[10, 0]),
        nla(2, &[17, 0]),
        nla(3, &addr.octets()),
        nla(4, &[0x13, 0xc4]),
        nla(6, b"wrr\0"),
        nla(11, b"sip\0"),
        nla(7, &[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
        nla(8, &[0x58, 0x02, 0, 0]),
        nla(9, &[64, 0, 0, 0]), // IPv6 prefix: host order
    ];
    assert_eq!(got, message(2, REQ_ACK, 9, &[nest(1, &s)]));
}

#[test]
fn fwmark_service_identity_and_delete() {
    let key = ServiceKey::fwmark(Family::Inet6, 0xabcd_ef01);
    let got = encode(Request::Op(&Op::DelService(key)), 1, REQ_ACK);
    let s = vec![nla(1, &[10, 0]), nla(5, &[0x01, 0xef, 0xcd, 0xab])];
    assert_eq!(got, message(3, REQ_ACK, 1, &[nest(1, &s)]));
}

#[test]
fn get_service_doit_and_dump() {
    let got = encode(Request::GetService(Some(&tcp_key())), 2, REQ_ACK);
    assert_eq!(got, message(4, REQ_ACK, 2, &[nest(1, &tcp_key_attrs())]));
    let dump_flags = 0x1 | 0x300;
    let got = encode(Request::GetService(None), 3, dump_flags);
    assert_eq!(got, message(4, dump_flags, 3, &[]));
}

fn full_dest_attrs(d: &[Vec<u8>]) -> Vec<Vec<u8>> {
    d.to_vec()
}

#[test]
fn new_and_set_dest_exact_bytes() {
    let mut d = Dest::new(v4(192, 0, 2, 10), 8080);
    d.fwd = FwdMethod::Masq;
    d.weight = 3;
    d.u_threshold = 100;
    d.l_threshold = 10;
    let want_dest = full_dest_attrs(&[
        nla(11, &[2, 0]),
        nla(1, &addr16(&[192, 0, 2, 10])),
        nla(2, &[0x1f, 0x90]),
        nla(3, &[0, 0, 0, 0]),
        nla(4, &[3, 0, 0, 0]),
        nla(13, &[0]),
        nla(14, &[0, 0]),
        nla(15, &[0, 0]),
        nla(5, &[100, 0, 0, 0]),
        nla(6, &[10, 0, 0, 0]),
    ]);
    let got = encode(Request::Op(&Op::AddDest(tcp_key(), d.clone())), 4, REQ_ACK);
    assert_eq!(
        got,
        message(
            5,
            REQ_ACK,
            4,
            &[nest(1, &tcp_key_attrs()), nest(2, &want_dest)]
        )
    );
    let got = encode(Request::Op(&Op::EditDest(tcp_key(), d.clone())), 5, REQ_ACK);
    assert_eq!(
        got,
        message(
            6,
            REQ_ACK,
            5,
            &[nest(1, &tcp_key_attrs()), nest(2, &want_dest)]
        )
    );
}

#[test]
fn gue_tunnel_dest_ipv4_behind_ipv6_service() {
    let addr: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let key = ServiceKey::tcp(IpAddr::V6(addr), 443);
    let mut d = Dest::new(v4(192, 0, 2, 20), 443);
    d.fwd = FwdMethod::Tunnel;
    d.tun_type = TunType::Gue;
    d.tun_port = 6080;
    d.tun_flags = TunFlags(TunFlags::CSUM | TunFlags::REMCSUM);
    let got = encode(Request::Op(&Op::AddDest(key, d.clone())), 6, REQ_ACK);
    let s = vec![
        nla(1, &[10, 0]),
        nla(2, &[6, 0]),
        nla(3, &addr.octets()),
        nla(4, &[0x01, 0xbb]),
    ];
    let dd = vec![
        nla(11, &[2, 0]),
        nla(1, &addr16(&[192, 0, 2, 20])),
        nla(2, &[0x01, 0xbb]),
        nla(3, &[2, 0, 0, 0]),
        nla(4, &[1, 0, 0, 0]),
        nla(13, &[1]),
        nla(14, &[0x17, 0xc0]), // tunnel port: network order
        nla(15, &[3, 0]),       // tunnel flags: host order
        nla(5, &[0, 0, 0, 0]),
        nla(6, &[0, 0, 0, 0]),
    ];
    assert_eq!(got, message(5, REQ_ACK, 6, &[nest(1, &s), nest(2, &dd)]));
}

#[test]
fn del_dest_and_get_dests() {
    let got = encode(
        Request::Op(&Op::DelDest(tcp_key(), v4(192, 0, 2, 10), 80)),
        8,
        REQ_ACK,
    );
    let dd = vec![
        nla(11, &[2, 0]),
        nla(1, &addr16(&[192, 0, 2, 10])),
        nla(2, &[0, 80]),
    ];
    assert_eq!(
        got,
        message(7, REQ_ACK, 8, &[nest(1, &tcp_key_attrs()), nest(2, &dd)])
    );
    let got = encode(Request::GetDests(&tcp_key()), 9, 0x301);
    assert_eq!(got, message(8, 0x301, 9, &[nest(1, &tcp_key_attrs())]));
}

#[test]
fn daemon_requests() {
    let mut d = Daemon::new(DaemonState::Backup, "eth1", 7);
    d.sync_maxlen = 1472;
    d.mcast_group = Some(v4(239, 0, 0, 1));
    d.mcast_port = 8849;
    d.mcast_ttl = 2;
    let got = encode(Request::Op(&Op::StartDaemon(d.clone())), 10, REQ_ACK);
    let dd = vec![
        nla(1, &[2, 0, 0, 0]),
        nla(2, b"eth1\0"),
        nla(3, &[7, 0, 0, 0]),
        nla(4, &[0xc0, 0x05]),
        nla(5, &[239, 0, 0, 1]), // IPv4 group: network order
        nla(7, &[0x91, 0x22]),   // mcast port: host order
        nla(8, &[2]),
    ];
    assert_eq!(got, message(9, REQ_ACK, 10, &[nest(3, &dd)]));

    let mut d6 = Daemon::new(DaemonState::Master, "eth0", 0);
    let g: Ipv6Addr = "ff02::1:81".parse().unwrap();
    d6.mcast_group = Some(IpAddr::V6(g));
    let got = encode(Request::Op(&Op::StartDaemon(d6.clone())), 11, REQ_ACK);
    let dd = vec![
        nla(1, &[1, 0, 0, 0]),
        nla(2, b"eth0\0"),
        nla(3, &[0, 0, 0, 0]),
        nla(6, &g.octets()),
    ];
    assert_eq!(got, message(9, REQ_ACK, 11, &[nest(3, &dd)]));

    let got = encode(
        Request::Op(&Op::StopDaemon(DaemonState::Master, 5)),
        12,
        REQ_ACK,
    );
    let dd = vec![nla(1, &[1, 0, 0, 0]), nla(2, b"\0"), nla(3, &[5, 0, 0, 0])];
    assert_eq!(got, message(10, REQ_ACK, 12, &[nest(3, &dd)]));
    let got = encode(Request::GetDaemons, 13, 0x301);
    assert_eq!(got, message(11, 0x301, 13, &[]));
}

#[test]
fn config_info_zero_flush() {
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    let got = encode(Request::Op(&Op::SetTimeouts(t)), 14, REQ_ACK);
    let want = message(
        12,
        REQ_ACK,
        14,
        &[
            nla(4, &[0x84, 3, 0, 0]),
            nla(5, &[120, 0, 0, 0]),
            nla(6, &[0x2c, 1, 0, 0]),
        ],
    );
    assert_eq!(got, want);
    assert_eq!(
        encode(Request::GetTimeouts, 15, REQ_ACK),
        message(13, REQ_ACK, 15, &[])
    );
    assert_eq!(
        encode(Request::GetInfo, 16, REQ_ACK),
        message(15, REQ_ACK, 16, &[])
    );
    assert_eq!(
        encode(Request::Op(&Op::Zero(None)), 17, REQ_ACK),
        message(16, REQ_ACK, 17, &[])
    );
    assert_eq!(
        encode(Request::Op(&Op::Zero(Some(tcp_key()))), 18, REQ_ACK),
        message(16, REQ_ACK, 18, &[nest(1, &tcp_key_attrs())])
    );
    assert_eq!(
        encode(Request::Op(&Op::Flush), 19, REQ_ACK),
        message(17, REQ_ACK, 19, &[])
    );
}

#[test]
fn command_numbers_cover_all_17() {
    let all = [
        (IpvsCmd::NewService, 1),
        (IpvsCmd::SetService, 2),
        (IpvsCmd::DelService, 3),
        (IpvsCmd::GetService, 4),
        (IpvsCmd::NewDest, 5),
        (IpvsCmd::SetDest, 6),
        (IpvsCmd::DelDest, 7),
        (IpvsCmd::GetDest, 8),
        (IpvsCmd::NewDaemon, 9),
        (IpvsCmd::DelDaemon, 10),
        (IpvsCmd::GetDaemon, 11),
        (IpvsCmd::SetConfig, 12),
        (IpvsCmd::GetConfig, 13),
        (IpvsCmd::SetInfo, 14),
        (IpvsCmd::GetInfo, 15),
        (IpvsCmd::Zero, 16),
        (IpvsCmd::Flush, 17),
    ];
    for (c, n) in all {
        assert_eq!(c.to_raw(), n);
        assert_eq!(IpvsCmd::from_raw(n), c);
    }
    assert_eq!(IpvsCmd::from_raw(0), IpvsCmd::Other(0));
    assert_eq!(IpvsCmd::from_raw(99), IpvsCmd::Other(99));
}

// ---------------------------------------------------------------------------
// replies

fn reply(cmd: u8, seq: u32, flags: u16, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut m = message(cmd, flags, seq, attrs);
    m[4..6].copy_from_slice(&FAMILY.to_le_bytes());
    m
}

/// One message of a datagram, copied out of its view.
#[derive(Debug)]
struct Msg {
    kind: u16,
    seq: u32,
    errno: i32,
    /// The generic-netlink attributes (data messages only).
    attrs: Vec<u8>,
}

fn decode(buf: &[u8]) -> Vec<Msg> {
    frames(buf)
        .map(|f| {
            let f = f.expect("decodes");
            let data = f.kind != NLMSG_DONE && f.kind != NLMSG_ERROR;
            Msg {
                kind: f.kind,
                seq: f.seq,
                errno: if data { 0 } else { f.errno() },
                attrs: if data {
                    f.genl().expect("genl").attrs.to_vec()
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

fn service_of(m: &Msg) -> ipvsadm_rs::error::Result<Service> {
    decode_service(nest_of(&m.attrs, 1, "service")?, true)
}

fn u64b(v: u64) -> [u8; 8] {
    v.to_le_bytes()
}

/// A service entry as the 6.1 kernel sends it: STATS (mixed widths) and
/// STATS64 with PAD attributes, plus an attribute type we do not know.
fn kernel_service_entry() -> Vec<u8> {
    let stats32 = vec![
        nla(1, &[5, 0, 0, 0]),
        nla(2, &[6, 0, 0, 0]),
        nla(3, &[7, 0, 0, 0]),
        nla(4, &u64b(8)),
        nla(5, &u64b(9)),
        nla(6, &[1, 0, 0, 0]),
    ];
    let stats64 = vec![
        nla(11, &[]),
        nla(1, &u64b(0x1_0000_0005)),
        nla(11, &[]),
        nla(2, &u64b(6)),
        nla(3, &u64b(7)),
        nla(4, &u64b(123_456_789_012_345)),
        nla(5, &u64b(9)),
        nla(6, &u64b(1)),
        nla(10, &u64b(1_000_000_000)),
    ];
    let mut s = tcp_key_attrs();
    s.push(nla(6, b"wlc\0"));
    s.push(nla(7, &[0x23, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
    s.push(nla(8, &[0x2c, 1, 0, 0]));
    s.push(nla(9, &[255, 255, 0, 0]));
    s.push(nest(10, &stats32));
    s.push(nest(12, &stats64));
    s.push(nla(99, &[1, 2, 3, 4]));
    reply(1, 42, 0x2, &[nest(1, &s)])
}

#[test]
fn parse_service_reply_prefers_stats64() {
    let msgs = decode(&kernel_service_entry());
    assert_eq!(msgs.len(), 1);
    let svc = service_of(&msgs[0]).unwrap();
    assert_eq!(svc.key, tcp_key());
    assert_eq!(svc.scheduler, "wlc");
    assert_eq!(svc.flags.0, 0x23);
    assert!(svc.flags.persistent());
    assert_eq!(svc.timeout, 300);
    assert_eq!(svc.netmask, 0xffff_0000);
    assert_eq!(svc.pe_name, None);
    assert_eq!(svc.stats.conns, 0x1_0000_0005);
    assert_eq!(svc.stats.inbytes, 123_456_789_012_345);
    assert_eq!(svc.stats.outbps, 1_000_000_000);
}

#[test]
fn parse_service_reply_stats32_only_and_fwmark_ipv6() {
    let s = vec![
        nla(1, &[10, 0]),
        nla(5, &[0x81, 0xef, 0xcd, 0xab]),
        nla(6, b"sh\0"),
        nla(11, b"sip\0"),
        nla(7, &[0x19, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
        nla(8, &[0x2c, 1, 0, 0]),
        nla(9, &[128, 0, 0, 0]),
        nest(
            10,
            &[nla(1, &[0xff, 0xff, 0xff, 0xff]), nla(4, &u64b(1 << 40))],
        ),
    ];
    let msgs = decode(&reply(1, 1, 0x2, &[nest(1, &s)]));
    let svc = service_of(&msgs[0]).unwrap();
    assert_eq!(svc.key, ServiceKey::fwmark(Family::Inet6, 0xabcd_ef81));
    assert_eq!(svc.netmask, 128);
    assert_eq!(svc.pe_name.as_deref(), Some("sip"));
    assert_eq!(svc.stats.conns, 0xffff_ffff);
    assert_eq!(svc.stats.inbytes, 1 << 40);
}

#[test]
fn parse_dest_reply_with_own_family_and_64bit_stats() {
    let dd = vec![
        nla(1, &addr16(&[192, 0, 2, 10])),
        nla(2, &[0x1f, 0x90]),
        nla(3, &[2, 0, 0, 0]),
        nla(4, &[0xff, 0xff, 0, 0]),
        nla(5, &[9, 0, 0, 0]),
        nla(6, &[4, 0, 0, 0]),
        nla(7, &[3, 0, 0, 0]),
        nla(8, &[12, 0, 0, 0]),
        nla(9, &[5, 0, 0, 0]),
        nest(10, &[nla(1, &[1, 0, 0, 0])]),
        nla(11, &[2, 0]),
        nest(12, &[nla(11, &[]), nla(1, &u64b(123_000_000_000))]),
        nla(13, &[2]),
        nla(14, &[0, 0]),
        nla(15, &[1, 0]),
    ];
    // A dump datagram: two entries and NLMSG_DONE.
    let mut buf = reply(5, 3, 0x2, &[nest(2, &dd)]);
    buf.extend(reply(5, 3, 0x2, &[nest(2, &dd)]));
    let mut done = vec![20, 0, 0, 0, 3, 0, 0x2, 0, 3, 0, 0, 0, 0, 0, 0, 0];
    done.extend_from_slice(&0i32.to_le_bytes());
    buf.extend(done);
    let msgs = decode(&buf);
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        (msgs[2].kind, msgs[2].seq, msgs[2].errno),
        (NLMSG_DONE, 3, 0)
    );
    // An IPv6 service with an IPv4 real server: ADDR_FAMILY decides.
    let d = decode_dest(
        nest_of(&msgs[0].attrs, 2, "dest").unwrap(),
        Family::Inet6,
        true,
    )
    .unwrap();
    // Without counters asked for, the rest is the same and the counters 0.
    let plain = decode_dest(
        nest_of(&msgs[0].attrs, 2, "dest").unwrap(),
        Family::Inet6,
        false,
    )
    .unwrap();
    assert_eq!(plain.stats, Stats::default());
    assert_eq!(
        Dest {
            stats: d.stats,
            ..plain
        },
        d
    );
    assert_eq!(d.addr, v4(192, 0, 2, 10));
    assert_eq!(d.port, 8080);
    assert_eq!(d.fwd, FwdMethod::Tunnel);
    assert_eq!(d.weight, 65535);
    assert_eq!((d.u_threshold, d.l_threshold), (9, 4));
    assert_eq!((d.active_conns, d.inact_conns, d.persist_conns), (3, 12, 5));
    assert_eq!(d.stats.conns, 123_000_000_000);
    assert_eq!(d.tun_type, TunType::Gre);
    assert_eq!(d.tun_flags, TunFlags(1));
}

#[test]
fn parse_daemon_timeouts_info_and_errors() {
    let dd = vec![
        nla(1, &[2, 0, 0, 0]),
        nla(2, b"eth1\0"),
        nla(3, &[7, 0, 0, 0]),
        nla(4, &[0xc0, 0x05]),
        nla(5, &[224, 0, 0, 81]),
        nla(7, &[0x90, 0x22]),
        nla(8, &[1]),
    ];
    let msgs = decode(&reply(9, 1, 0x2, &[nest(3, &dd)]));
    let d = decode_daemon(nest_of(&msgs[0].attrs, 3, "daemon").unwrap()).unwrap();
    assert_eq!(d.state, DaemonState::Backup);
    assert_eq!(d.mcast_ifn, "eth1");
    assert_eq!(d.syncid, 7);
    assert_eq!(d.sync_maxlen, 1472);
    assert_eq!(d.mcast_group, Some(v4(224, 0, 0, 81)));
    assert_eq!(d.mcast_port, 8848);
    assert_eq!(d.mcast_ttl, 1);

    let t = decode(&reply(
        12,
        2,
        0,
        &[
            nla(4, &[0x84, 3, 0, 0]),
            nla(5, &[120, 0, 0, 0]),
            nla(6, &[0x2c, 1, 0, 0]),
        ],
    ));
    assert_eq!(
        decode_timeouts(&t[0].attrs).unwrap(),
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );

    // GET_INFO's reply (cmd SET_INFO) numbers its attributes 1 and 2.
    let i = decode(&reply(
        14,
        3,
        0,
        &[nla(1, &[1, 2, 1, 0]), nla(2, &[0, 0x10, 0, 0])],
    ));
    let info = decode_info(&i[0].attrs).unwrap();
    assert_eq!(info.version, 0x010201);
    assert_eq!(info.conn_tab_size, 4096);
    assert_eq!(info.to_string(), "1.2.1");

    // NLMSG_ERROR: -EEXIST with the capped request header.
    let mut e = vec![36, 0, 0, 0, 2, 0, 0x1, 0x1, 4, 0, 0, 0, 0, 0, 0, 0];
    e.extend_from_slice(&(-17i32).to_le_bytes());
    e.extend_from_slice(&[0u8; 16]);
    let m = decode(&e);
    assert_eq!((m[0].kind, m[0].seq, m[0].errno), (NLMSG_ERROR, 4, 17));
}

#[test]
fn malformed_replies_are_errors_not_panics() {
    let good = kernel_service_entry();
    let decode_all = |buf: &[u8]| -> ipvsadm_rs::error::Result<Vec<Service>> {
        let mut out = Vec::new();
        for f in frames(buf) {
            let attrs = f?.genl()?.attrs;
            out.push(decode_service(nest_of(attrs, 1, "service")?, true)?);
        }
        Ok(out)
    };
    // Every truncation of a valid datagram either decodes or errors.
    for n in 0..good.len() {
        let _ = decode_all(&good[..n]);
    }
    assert_eq!(decode_all(&good).unwrap().len(), 1);
    // Bad nlmsg length.
    let mut bad = good.clone();
    bad[0] = 200;
    assert!(decode_all(&bad).is_err());
    // A port attribute with a one-byte payload.
    let s = vec![nla(1, &[2, 0]), nla(4, &[0x50])];
    assert!(decode_all(&reply(1, 1, 0, &[nest(1, &s)])).is_err());
    // A service without identity is not a service.
    let s = vec![nla(1, &[2, 0]), nla(6, b"rr\0")];
    assert!(decode_all(&reply(1, 1, 0, &[nest(1, &s)])).is_err());
    // Counters not asked for are not looked at, even when malformed.
    let mut s = tcp_key_attrs();
    s.push(nla(6, b"rr\0"));
    s.push(nest(12, &[nla(1, &[1])]));
    let m = decode(&reply(1, 1, 0, &[nest(1, &s)]));
    let nest = nest_of(&m[0].attrs, 1, "service").unwrap();
    assert!(decode_service(nest, true).is_err());
    assert_eq!(decode_service(nest, false).unwrap().key, tcp_key());
}

/// Every request parses back, through the typed attributes, into the same
/// bytes: the encoder writes what the typed layout says.
#[test]
fn every_request_reads_back_through_the_typed_attributes() {
    use netlink_packet_core::Emitable;
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    let keys = [
        tcp_key(),
        ServiceKey::udp(v6, 53),
        ServiceKey::fwmark(Family::Inet6, 0xabcd_ef01),
        ServiceKey::fwmark(Family::Inet, 7),
    ];
    let mut tun = Dest::new(v4(198, 51, 100, 9), 443);
    tun.fwd = FwdMethod::Tunnel;
    tun.tun_type = TunType::Gue;
    tun.tun_port = 6080;
    tun.tun_flags = TunFlags(TunFlags::REMCSUM);
    tun.u_threshold = 10;
    tun.l_threshold = 2;
    let dests = [Dest::new(v4(192, 0, 2, 10), 8080), Dest::new(v6, 53), tun];
    let mut svc = Service::new(tcp_key(), "sh");
    svc.pe_name = Some("sip".into());
    svc.flags = ServiceFlags(ServiceFlags::PERSISTENT);
    let mut ops = vec![
        Op::AddService(svc.clone()),
        Op::EditService(svc),
        Op::Flush,
        Op::Zero(None),
        Op::SetTimeouts(Timeouts::default()),
        Op::StartDaemon(Daemon::new(DaemonState::Backup, "eth1", 3)),
        Op::StopDaemon(DaemonState::Master, 0),
    ];
    for k in keys {
        ops.push(Op::DelService(k));
        ops.push(Op::Zero(Some(k)));
        for d in &dests {
            ops.push(Op::AddDest(k, d.clone()));
            ops.push(Op::EditDest(k, d.clone()));
            ops.push(Op::DelDest(k, d.addr, d.port));
        }
    }
    let mut reqs: Vec<Request> = ops.iter().map(Request::Op).collect();
    reqs.extend([
        Request::GetService(None),
        Request::GetService(Some(&keys[1])),
        Request::GetDests(&keys[2]),
        Request::GetDaemons,
        Request::GetTimeouts,
        Request::GetInfo,
    ]);
    for (i, req) in reqs.iter().enumerate() {
        let bytes = encode(*req, i as u32, REQ_ACK);
        let (header, msg) =
            IpvsMessage::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{req:?}: {e}"));
        assert_eq!(header.length as usize, bytes.len(), "{req:?}");
        assert_eq!((header.sequence_number, header.flags), (i as u32, REQ_ACK));
        assert_eq!(msg.cmd, req.cmd(), "{req:?}");
        let mut again = vec![0u8; msg.buffer_len()];
        msg.emit(&mut again);
        assert_eq!(again, bytes[20..], "{req:?}");
    }
}
