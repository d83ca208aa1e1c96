//! Engine bugs the simulator found, pinned as direct engine tests.

use std::net::{IpAddr, Ipv4Addr};

use carp_rs::engine::{Engine, Instant, State, VhidConfig, VhidId};

const IF: u32 = 1;
const SEC: u64 = 1_000_000_000;

/// Two vhids on one parent, both MASTER after the master-down interval.
fn two_masters() -> (Engine, [VhidId; 2], u64) {
    let mut e = Engine::new();
    e.set_iface_addrs(IF, Some(Ipv4Addr::new(192, 0, 2, 1)), None)
        .unwrap();
    let mut ids = Vec::new();
    for vhid in [1u8, 2] {
        let id = e
            .vhid_set(Instant::ZERO, IF, &VhidConfig::new(vhid))
            .unwrap();
        e.addr_add(
            Instant::ZERO,
            id,
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100 + vhid)),
        )
        .unwrap();
        ids.push(id);
    }
    let mut now = 0;
    let mut buf = [0u8; 1500];
    while ids
        .iter()
        .any(|&id| e.vhid_state(id) != Some(State::Master))
    {
        now = e.poll_timeout().unwrap().as_nanos();
        assert!(now < 10 * SEC);
        e.handle_timeout(Instant::from_nanos(now));
        while e.poll_transmit(&mut buf).is_some() {}
    }
    while e.poll_event().is_some() {}
    (e, [ids[0], ids[1]], now)
}

/// Found by `carp-sim --seed 3`: on parent link down, the first vhid's
/// interface-down demotion ran send_all synchronously while the second
/// vhid was still MASTER, so an advert (skew 240) left for a vhid already
/// in INIT. Backups hearing it re-arm their master-down timer and fail
/// over up to one advert interval late. FreeBSD runs `carp_sendall_task`
/// from a taskqueue after `carp_linkstate` has put every vhid in INIT, so
/// it sends nothing.
#[test]
fn link_down_sends_no_advert_from_vhids_going_init() {
    let (mut e, ids, now) = two_masters();
    e.link_state(Instant::from_nanos(now + 1), IF, false);
    for id in ids {
        assert_eq!(e.vhid_state(id), Some(State::Init));
    }
    let mut buf = [0u8; 1500];
    let sent = e.poll_transmit(&mut buf);
    assert!(sent.is_none(), "advert sent after link down: {sent:?}");
}

/// Same pass, through `net.inet.carp.allow=0`.
#[test]
fn allow_zero_sends_no_advert() {
    let (mut e, _, now) = two_masters();
    e.set_allow(Instant::from_nanos(now + 1), false);
    let mut buf = [0u8; 1500];
    assert!(e.poll_transmit(&mut buf).is_none());
}

/// The fix must not swallow the demotion advert of a MASTER on another,
/// still-up interface.
#[test]
fn demotion_still_advertises_on_other_interfaces() {
    let mut e = Engine::new();
    e.set_iface_addrs(IF, Some(Ipv4Addr::new(192, 0, 2, 1)), None)
        .unwrap();
    e.set_iface_addrs(2, Some(Ipv4Addr::new(198, 51, 100, 1)), None)
        .unwrap();
    let a = e.vhid_set(Instant::ZERO, IF, &VhidConfig::new(1)).unwrap();
    e.addr_add(Instant::ZERO, a, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)))
        .unwrap();
    let b = e.vhid_set(Instant::ZERO, 2, &VhidConfig::new(2)).unwrap();
    e.addr_add(
        Instant::ZERO,
        b,
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100)),
    )
    .unwrap();
    let mut buf = [0u8; 1500];
    let mut now = 0;
    while [a, b]
        .iter()
        .any(|&id| e.vhid_state(id) != Some(State::Master))
    {
        now = e.poll_timeout().unwrap().as_nanos();
        e.handle_timeout(Instant::from_nanos(now));
        while e.poll_transmit(&mut buf).is_some() {}
    }
    e.link_state(Instant::from_nanos(now + 1), IF, false);
    let tx = e.poll_transmit(&mut buf).expect("vhid 2 re-advertises");
    assert_eq!(tx.vhid, 2);
    assert_eq!(buf[2], 240, "advert carries the demoted skew");
    assert!(e.poll_transmit(&mut buf).is_none());
}
