//! `Engine::handle_packet` with arbitrary bytes against a configured engine
//! (CARP with and without a key, both families, VRRPv3 on a second
//! interface), interleaved with timers. Records: [ctl][len][payload..].
//! Checks: no panic, no timer in the past, every advert the engine emits
//! is well formed and comes from a MASTER.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use carp_rs::auth::Key;
use carp_rs::engine::{Engine, Instant, Received, State, Version, VhidConfig};
use carp_rs::wire::{self, CarpPacket, CarpRepr, VrrpPacket, VrrpRepr};
use libfuzzer_sys::fuzz_target;

const MS: u64 = 1_000_000;

fn v4(d: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, d)
}

fn v6(d: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, d)
}

fn engine() -> Engine {
    let t = Instant::ZERO;
    let mut e = Engine::new();
    e.set_preempt(true);
    e.set_log(2);
    e.set_iface_addrs(1, Some(v4(1)), Some(v6(1))).unwrap();
    e.set_iface_addrs(2, Some(Ipv4Addr::new(198, 51, 100, 1)), Some(v6(0x51)))
        .unwrap();
    // The captured ucarp group: vhid 7, pass testpass, VIP 192.0.2.100.
    let mut c = VhidConfig::new(7);
    c.key = Key::new(b"testpass").unwrap();
    c.advskew = 100;
    let id = e.vhid_set(t, 1, &c).unwrap();
    e.addr_add(t, id, IpAddr::V4(v4(100))).unwrap();
    // No key, both families.
    let id = e.vhid_set(t, 1, &VhidConfig::new(1)).unwrap();
    e.addr_add(t, id, IpAddr::V4(v4(50))).unwrap();
    e.addr_add(t, id, IpAddr::V6(v6(0x50))).unwrap();
    // VRRPv3 as keepalived/FRR were captured: vrid 7, VIP 192.0.2.100.
    let mut c = VhidConfig::new(7);
    c.version = Version::Vrrp3;
    c.vrrp_priority = 150;
    let id = e.vhid_set(t, 2, &c).unwrap();
    e.addr_add(t, id, IpAddr::V4(v4(100))).unwrap();
    let mut c = VhidConfig::new(9);
    c.version = Version::Vrrp3;
    c.vrrp_interval = 30;
    let id = e.vhid_set(t, 2, &c).unwrap();
    e.addr_add(t, id, IpAddr::V6(v6(9))).unwrap();
    e
}

fn drain(e: &mut Engine, now: u64) {
    let mut buf = [0u8; 1500];
    while let Some(tx) = e.poll_transmit(&mut buf) {
        let p = &buf[..tx.len];
        match wire::version_of(p) {
            Some(2) => {
                CarpRepr::parse(&CarpPacket::new_unchecked(p)).expect("emitted CARP parses");
            }
            Some(3) => {
                VrrpRepr::parse(&VrrpPacket::new_unchecked(p), &tx.src, &tx.dst)
                    .expect("emitted VRRP parses");
            }
            v => panic!("emitted version {v:?}"),
        }
        assert_eq!(
            e.vhid_state(tx.id),
            Some(State::Master),
            "advert from non-master"
        );
        e.transmit_result(Instant::from_nanos(now), tx.id, true);
    }
    while e.poll_event().is_some() {}
    if let Some(t) = e.poll_timeout() {
        assert!(t.as_nanos() >= now, "timer in the past");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut e = engine();
    let mut now = 0u64;
    drain(&mut e, now);
    let mut rest = data;
    while let [ctl, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        // Let time pass, firing every timer due on the way.
        now += u64::from(ctl >> 5) * 700 * MS;
        while let Some(t) = e
            .poll_timeout()
            .map(Instant::as_nanos)
            .filter(|t| *t <= now)
        {
            e.handle_timeout(Instant::from_nanos(t));
            drain(&mut e, t);
        }
        let iface = if ctl & 0x10 != 0 { 2 } else { 1 };
        let six = ctl & 0x08 != 0;
        let ttl = if ctl & 0x04 != 0 { 64 } else { 255 };
        let (src, dst) = match (six, ctl & 3) {
            (false, 0) => (IpAddr::V4(v4(2)), IpAddr::V4(wire::CARP_GROUP_V4)),
            (false, 1) => (IpAddr::V4(v4(1)), IpAddr::V4(wire::CARP_GROUP_V4)),
            (false, 2) => (IpAddr::V4(v4(3)), IpAddr::V4(v4(1))),
            (false, _) => (
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9)),
                IpAddr::V4(wire::CARP_GROUP_V4),
            ),
            (true, 0) => (IpAddr::V6(v6(2)), IpAddr::V6(wire::CARP_GROUP_V6)),
            (true, 1) => (IpAddr::V6(v6(1)), IpAddr::V6(wire::CARP_GROUP_V6)),
            (true, 2) => (IpAddr::V6(v6(3)), IpAddr::V6(v6(1))),
            (true, _) => (IpAddr::V6(v6(0x99)), IpAddr::V6(wire::CARP_GROUP_V6)),
        };
        let rx = Received {
            iface,
            src,
            dst,
            ttl,
            payload,
        };
        let _ = e.handle_packet(Instant::from_nanos(now), &rx);
        drain(&mut e, now);
    }
});
