//! Real servers: every forwarding method, tunnel types with their checksum
//! flags, mixed-family tunnelling, edit and delete.

use crate::common::ip;
use crate::support::*;
use ipvsadm_rs::model::*;
use ipvsadm_rs::Ipvs;

fn dest(addr: &str, port: u16, fwd: FwdMethod, weight: i32) -> Dest {
    let mut d = Dest::new(ip(addr), port);
    d.fwd = fwd;
    d.weight = weight;
    d
}

#[test]
fn forwarding_methods_ipv4() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::tcp(ip("192.0.2.1"), 80);
    ipvs.add_service(&Service::new(key, "wrr")).unwrap();
    let masq = dest("198.51.100.1", 8080, FwdMethod::Masq, 3);
    let route = dest("198.51.100.2", 80, FwdMethod::Route, 0);
    let tun = dest("198.51.100.3", 80, FwdMethod::Tunnel, 65535);
    for d in [&masq, &route, &tun] {
        ipvs.add_dest(&key, d).unwrap();
    }
    let mut got = ipvs.dests(&key).unwrap();
    got.sort_by_key(|d| d.addr);
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip([&masq, &route, &tun]) {
        assert_eq!(
            (g.addr, g.port, g.fwd, g.weight),
            (w.addr, w.port, w.fwd, w.weight)
        );
        assert_eq!(g.tun_type, TunType::Ipip);
    }
    assert_saved(&[
        "-A -t 192.0.2.1:80 -s wrr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 3",
        "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -g -w 0",
        "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -i -w 65535 --tun-type ipip",
    ]);

    // Duplicate → EEXIST; edit; delete; missing → ENOENT.
    assert_errno(ipvs.add_dest(&key, &masq), libc::EEXIST);
    let mut edited = masq.clone();
    edited.weight = 7;
    edited.u_threshold = 100;
    edited.l_threshold = 20;
    ipvs.edit_dest(&key, &edited).unwrap();
    let got = ipvs.dests(&key).unwrap();
    let g = got.iter().find(|d| d.addr == masq.addr).unwrap();
    assert_eq!((g.weight, g.u_threshold, g.l_threshold), (7, 100, 20));
    ipvs.del_dest(&key, &route.addr, route.port).unwrap();
    assert_errno(ipvs.del_dest(&key, &route.addr, route.port), libc::ENOENT);
    assert_saved(&[
        "-A -t 192.0.2.1:80 -s wrr",
        "-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 7",
        "-a -t 192.0.2.1:80 -r 198.51.100.3:80 -i -w 65535 --tun-type ipip",
    ]);

    // A real server of a missing service: ESRCH.
    let other = ServiceKey::tcp(ip("192.0.2.9"), 80);
    assert_errno(ipvs.add_dest(&other, &masq), libc::ESRCH);
    // l_threshold above u_threshold: ERANGE.
    let mut bad = dest("198.51.100.9", 80, FwdMethod::Masq, 1);
    bad.l_threshold = 5;
    assert_errno(ipvs.add_dest(&key, &bad), libc::ERANGE);
}

#[test]
fn forwarding_methods_ipv6() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::udp(ip("2001:db8::80"), 53);
    ipvs.add_service(&Service::new(key, "rr")).unwrap();
    ipvs.add_dest(&key, &dest("2001:db8:1::1", 5353, FwdMethod::Masq, 2))
        .unwrap();
    ipvs.add_dest(&key, &dest("2001:db8:1::2", 53, FwdMethod::Route, 1))
        .unwrap();
    let got = ipvs.dests(&key).unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|d| d.family() == Family::Inet6));
    assert_saved(&[
        "-A -u [2001:db8::80]:53 -s rr",
        "-a -u [2001:db8::80]:53 -r [2001:db8:1::1]:5353 -m -w 2",
        "-a -u [2001:db8::80]:53 -r [2001:db8:1::2]:53 -g -w 1",
    ]);
}

#[test]
fn tunnel_types_and_checksum_flags() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::fwmark(Family::Inet, 5);
    ipvs.add_service(&Service::new(key, "rr")).unwrap();
    let cases = [
        (
            "198.51.100.11",
            TunType::Gue,
            6080,
            TunFlags::NOCSUM,
            "--tun-type gue --tun-port 6080 --tun-nocsum",
        ),
        (
            "198.51.100.12",
            TunType::Gue,
            6081,
            TunFlags::CSUM,
            "--tun-type gue --tun-port 6081 --tun-csum",
        ),
        (
            "198.51.100.13",
            TunType::Gue,
            6082,
            TunFlags::REMCSUM,
            "--tun-type gue --tun-port 6082 --tun-remcsum",
        ),
        (
            "198.51.100.14",
            TunType::Gre,
            0,
            TunFlags::NOCSUM,
            "--tun-type gre --tun-nocsum",
        ),
        (
            "198.51.100.15",
            TunType::Gre,
            0,
            TunFlags::CSUM,
            "--tun-type gre --tun-csum",
        ),
        (
            "198.51.100.16",
            TunType::Ipip,
            0,
            TunFlags::NOCSUM,
            "--tun-type ipip",
        ),
    ];
    let mut want = vec!["-A -f 5 -s rr".to_string()];
    for (addr, tt, port, flags, saved) in cases {
        let mut d = dest(addr, 0, FwdMethod::Tunnel, 1);
        d.tun_type = tt;
        d.tun_port = port;
        d.tun_flags = TunFlags(flags);
        ipvs.add_dest(&key, &d).unwrap();
        want.push(format!("-a -f 5 -r {addr}:0 -i -w 1 {saved}"));
    }
    let mut got = ipvs.dests(&key).unwrap();
    got.sort_by_key(|d| d.addr);
    for (g, (addr, tt, port, flags, _)) in got.iter().zip(cases) {
        assert_eq!(g.addr, ip(addr));
        assert_eq!(
            (g.tun_type, g.tun_port, g.tun_flags),
            (tt, port, TunFlags(flags))
        );
    }
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert_saved(&want);

    // GUE without a port is refused by the kernel.
    let mut d = dest("198.51.100.17", 0, FwdMethod::Tunnel, 1);
    d.tun_type = TunType::Gue;
    assert_errno(ipvs.add_dest(&key, &d), libc::EINVAL);
}

#[test]
fn ipv4_real_server_behind_ipv6_tunnel_service() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::tcp(ip("2001:db8::443"), 443);
    ipvs.add_service(&Service::new(key, "wlc")).unwrap();
    ipvs.add_dest(&key, &dest("198.51.100.21", 443, FwdMethod::Tunnel, 5))
        .unwrap();
    ipvs.add_dest(&key, &dest("2001:db8:1::21", 443, FwdMethod::Tunnel, 5))
        .unwrap();
    let got = ipvs.dests(&key).unwrap();
    let fams: Vec<Family> = got.iter().map(Dest::family).collect();
    assert!(fams.contains(&Family::Inet) && fams.contains(&Family::Inet6));
    assert_saved(&[
        "-A -t [2001:db8::443]:443 -s wlc",
        "-a -t [2001:db8::443]:443 -r 198.51.100.21:443 -i -w 5 --tun-type ipip",
        "-a -t [2001:db8::443]:443 -r [2001:db8:1::21]:443 -i -w 5 --tun-type ipip",
    ]);
    // Mixed families need tunnelling: NAT is refused.
    assert_errno(
        ipvs.add_dest(&key, &dest("198.51.100.22", 443, FwdMethod::Masq, 1)),
        libc::EINVAL,
    );
}
