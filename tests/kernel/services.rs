//! Virtual services: create, read back, edit, delete for TCP, UDP, SCTP and
//! fwmark, IPv4 and IPv6.

use crate::common::ip;
use crate::support::*;
use ipvsadm_rs::model::*;
use ipvsadm_rs::Ipvs;

/// Create, read back, edit, read back, delete one service; `saved` is the
/// oracle's `-A` line after creation and after the edit.
fn lifecycle(key: ServiceKey, saved_add: &str, saved_edit: &str) {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().expect("connect");
    assert!(ipvs.services().unwrap().is_empty());

    let svc = Service::new(key, "rr");
    ipvs.add_service(&svc).unwrap();
    let got = ipvs.service(&key).unwrap();
    assert_eq!(got.key, key);
    assert_eq!(got.scheduler, "rr");
    assert!(!got.flags.persistent());
    assert_eq!(got.netmask, Service::full_netmask(key.family()));
    assert_eq!(ipvs.services().unwrap().len(), 1);
    assert_saved(&[saved_add]);

    // Adding it again is refused with EEXIST.
    assert_errno(ipvs.add_service(&svc), libc::EEXIST);

    let mut edited = svc.clone();
    edited.scheduler = "wlc".into();
    edited.flags = ServiceFlags(ServiceFlags::PERSISTENT);
    edited.timeout = 1800;
    if key.family() == Family::Inet6 {
        edited.netmask = 64;
    } else {
        edited.netmask = 0xffff_ff00;
    }
    ipvs.edit_service(&edited).unwrap();
    let got = ipvs.service(&key).unwrap();
    assert_eq!(got.scheduler, "wlc");
    assert!(got.flags.persistent());
    assert_eq!(got.timeout, 1800);
    assert_eq!(got.netmask, edited.netmask);
    assert_saved(&[saved_edit]);

    ipvs.del_service(&key).unwrap();
    assert!(ipvs.services().unwrap().is_empty());
    assert_saved(&[]);
    assert_errno(ipvs.service(&key), libc::ESRCH);
}

#[test]
fn tcp_ipv4() {
    lifecycle(
        ServiceKey::tcp(ip("192.0.2.1"), 80),
        "-A -t 192.0.2.1:80 -s rr",
        "-A -t 192.0.2.1:80 -s wlc -p 1800 -M 255.255.255.0",
    );
}

#[test]
fn udp_ipv4() {
    lifecycle(
        ServiceKey::udp(ip("192.0.2.2"), 53),
        "-A -u 192.0.2.2:53 -s rr",
        "-A -u 192.0.2.2:53 -s wlc -p 1800 -M 255.255.255.0",
    );
}

#[test]
fn sctp_ipv4() {
    lifecycle(
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: ip("192.0.2.3"),
            port: 9999,
        },
        "-A --sctp-service 192.0.2.3:9999 -s rr",
        "-A --sctp-service 192.0.2.3:9999 -s wlc -p 1800 -M 255.255.255.0",
    );
}

#[test]
fn fwmark_ipv4() {
    lifecycle(
        ServiceKey::fwmark(Family::Inet, 42),
        "-A -f 42 -s rr",
        "-A -f 42 -s wlc -p 1800 -M 255.255.255.0",
    );
}

#[test]
fn tcp_ipv6() {
    lifecycle(
        ServiceKey::tcp(ip("2001:db8::1"), 443),
        "-A -t [2001:db8::1]:443 -s rr",
        "-A -t [2001:db8::1]:443 -s wlc -p 1800 -M 64",
    );
}

#[test]
fn udp_ipv6() {
    lifecycle(
        ServiceKey::udp(ip("2001:db8::2"), 53),
        "-A -u [2001:db8::2]:53 -s rr",
        "-A -u [2001:db8::2]:53 -s wlc -p 1800 -M 64",
    );
}

#[test]
fn sctp_ipv6() {
    lifecycle(
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: ip("2001:db8::3"),
            port: 3868,
        },
        "-A --sctp-service [2001:db8::3]:3868 -s rr",
        "-A --sctp-service [2001:db8::3]:3868 -s wlc -p 1800 -M 64",
    );
}

#[test]
fn fwmark_ipv6() {
    lifecycle(
        ServiceKey::fwmark(Family::Inet6, 7),
        "-A -f 7 -6 -s rr",
        "-A -f 7 -6 -s wlc -p 1800 -M 64",
    );
}

#[test]
fn flags_pe_and_one_packet() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    // UDP, one-packet scheduling, persistent with the sip engine, sh flags.
    let key = ServiceKey::udp(ip("192.0.2.5"), 5060);
    let mut svc = Service::new(key, "sh");
    svc.flags = ServiceFlags(
        ServiceFlags::PERSISTENT
            | ServiceFlags::ONEPACKET
            | ServiceFlags::SCHED1
            | ServiceFlags::SCHED2,
    );
    svc.timeout = 360;
    svc.pe_name = Some("sip".into());
    ipvs.add_service(&svc).unwrap();
    let got = ipvs.service(&key).unwrap();
    assert_eq!(got.pe_name.as_deref(), Some("sip"));
    assert!(got.flags.one_packet());
    assert_eq!(
        got.flags.sched_bits(),
        ServiceFlags::SCHED1 | ServiceFlags::SCHED2
    );
    assert_saved(&["-A -u 192.0.2.5:5060 -s sh -p 360 --pe sip -o -b sh-fallback,sh-port"]);

    // An unknown scheduler is refused with ENOENT and changes nothing.
    let bad = Service::new(ServiceKey::tcp(ip("192.0.2.6"), 80), "nosuchsched");
    assert_errno(ipvs.add_service(&bad), libc::ENOENT);
    assert_eq!(ipvs.services().unwrap().len(), 1);
}

#[test]
fn large_fwmark_is_unsigned() {
    let _gate = fresh_netns();
    let mut ipvs = Ipvs::connect().unwrap();
    let key = ServiceKey::fwmark(Family::Inet, 0xabcd_ef81);
    ipvs.add_service(&Service::new(key, "lc")).unwrap();
    assert_eq!(ipvs.services().unwrap()[0].key, key);
    // ipvsadm 1.31 prints marks >= 2^31 signed (a known bug we fix).
    assert_saved(&["-A -f -1412567167 -s lc"]);
}
