//! Shared fixtures, and the properties of [`super::apply_set`] that both
//! front-ends rely on.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::engine::{Event, Reason};

pub const ETH0: IfIndex = 2;
pub const SEC: u64 = 1_000_000_000;
pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

pub fn at(sec: u64) -> Instant {
    Instant::from_nanos(sec * SEC)
}

/// vhid 1 on ETH0 with one address, driven to `state` (BACKUP at t=0,
/// MASTER after the master-down timer), events drained.
pub fn running_engine(state: State) -> (Engine, VhidId) {
    let mut e = Engine::new();
    e.set_iface_addrs(ETH0, Some(Ipv4Addr::new(192, 0, 2, 1)), None)
        .unwrap();
    let id = e.vhid_set(at(0), ETH0, &VhidConfig::new(1)).unwrap();
    e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
    assert_eq!(e.vhid_state(id), Some(State::Backup));
    if state == State::Master {
        e.handle_timeout(at(5));
        assert_eq!(e.vhid_state(id), Some(State::Master));
    }
    drain(&mut e);
    (e, id)
}

pub fn drain(e: &mut Engine) -> Vec<Event> {
    let mut buf = [0u8; 1500];
    while e.poll_transmit(&mut buf).is_some() {}
    let mut v = Vec::new();
    while let Some(ev) = e.poll_event() {
        v.push(ev);
    }
    v
}

#[test]
fn apply_set_creates_then_updates() {
    let mut e = Engine::new();
    let mut req = SetRequest::carp(3);
    req.advskew = 20;
    let out = apply_set(&mut e, at(0), ETH0, &req).unwrap();
    assert!(out.created);
    assert_eq!(out.forced, None);
    req.advbase = 4;
    let again = apply_set(&mut e, at(0), ETH0, &req).unwrap();
    assert_eq!((again.id, again.created), (out.id, false));
    let cfg = e.vhid_config(out.id).unwrap();
    assert_eq!((cfg.advbase, cfg.advskew), (4, 20));
    // Same vhid on another interface is another vhid.
    let other = apply_set(&mut e, at(0), ETH0 + 1, &req).unwrap();
    assert!(other.created);
    assert_ne!(other.id, out.id);
}

#[test]
fn apply_set_refuses_vhid_zero_and_version_change() {
    let mut e = Engine::new();
    assert_eq!(
        apply_set(&mut e, at(0), ETH0, &SetRequest::carp(0)),
        Err(Errno::EINVAL)
    );
    apply_set(&mut e, at(0), ETH0, &SetRequest::carp(1)).unwrap();
    let mut v = SetRequest::carp(1);
    v.version = Version::Vrrp3;
    assert_eq!(apply_set(&mut e, at(0), ETH0, &v), Err(Errno::EINVAL));
}

#[test]
fn forced_master_announces_and_forced_backup_does_not() {
    let (mut e, id) = running_engine(State::Backup);
    let mut req = SetRequest::carp(1);
    req.state = State::Master as u32;
    apply_set(&mut e, at(10), ETH0, &req).unwrap();
    let ev = drain(&mut e);
    assert!(ev.iter().any(|x| matches!(
        x,
        Event::StateChanged {
            to: State::Master,
            reason: Reason::UserRequested,
            ..
        }
    )));
    assert!(ev.iter().any(|x| matches!(x, Event::Announce { .. })));
    req.state = State::Backup as u32;
    apply_set(&mut e, at(11), ETH0, &req).unwrap();
    let ev = drain(&mut e);
    assert_eq!(e.vhid_state(id), Some(State::Backup));
    assert!(!ev.iter().any(|x| matches!(x, Event::Announce { .. })));
}

#[test]
fn get_lists_in_vhid_order_with_count() {
    let mut e = Engine::new();
    for v in [200, 7, 31] {
        apply_set(&mut e, at(0), ETH0, &SetRequest::carp(v)).unwrap();
    }
    let mut seen = Vec::new();
    let n = get(&e, ETH0, 0, 255, true, |i, c| {
        seen.push((i.vhid, c));
        true
    })
    .unwrap();
    assert_eq!(n, 3);
    assert_eq!(seen, [(7, 3), (31, 3), (200, 3)]);
    assert_eq!(
        get(&e, ETH0 + 1, 0, 255, true, |_, _| true),
        Err(Errno::ENOENT)
    );
    assert_eq!(get(&e, ETH0, 0, 2, true, |_, _| true), Err(Errno::EMSGSIZE));
}

#[test]
fn info_hides_key_and_zeroes_vrrp_carp_fields() {
    let mut cfg = VhidConfig::new(4);
    cfg.key = Key::new(b"abc").unwrap();
    cfg.advskew = 9;
    let pub_ = VhidInfo::from_config(&cfg, State::Backup, false);
    assert_eq!(
        (pub_.key, pub_.key_visible, pub_.advskew),
        ([0; 20], false, 9)
    );
    let priv_ = VhidInfo::from_config(&cfg, State::Backup, true);
    assert_eq!(&priv_.key[..4], b"abc\0");
    assert_eq!((priv_.peer4, priv_.peer6), (CARP_GROUP4, CARP_GROUP6));
    cfg.version = Version::Vrrp3;
    let v = VhidInfo::from_config(&cfg, State::Master, true);
    assert_eq!(
        (v.advbase, v.advskew, v.key, v.key_visible),
        (0, 0, [0; 20], false)
    );
}

fn arb_request() -> impl Strategy<Value = SetRequest> {
    (
        1u8..=3,
        0u32..4,
        0u8..=255,
        0u8..=254,
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..20)),
        proptest::option::of(any::<[u8; 4]>()),
        proptest::option::of(any::<[u8; 16]>()),
    )
        .prop_map(|(vhid, state, advbase, advskew, key, p4, p6)| {
            let mut r = SetRequest::carp(vhid);
            r.state = state;
            r.advbase = advbase;
            r.advskew = advskew;
            if let Some(k) = key {
                r.key[..k.len()].copy_from_slice(&k);
            }
            r.peer4 = p4.unwrap_or_default();
            r.peer6 = p6.unwrap_or_default();
            r
        })
}

fn arb_vrrp_request() -> impl Strategy<Value = SetRequest> {
    (1u8..=3, 0u32..4, any::<u8>(), 0u16..5000).prop_map(|(vhid, state, prio, inter)| {
        let mut r = SetRequest::carp(vhid);
        r.version = Version::Vrrp3;
        r.state = state;
        r.vrrp_priority = prio;
        r.vrrp_interval = inter;
        r
    })
}

type Snapshot = Vec<(u8, VhidConfig, State)>;

fn snapshot(e: &Engine) -> Snapshot {
    vhids_on(e, ETH0)
        .map(|id| {
            (
                e.vhid_config(id).unwrap().vhid,
                e.vhid_config(id).unwrap().clone(),
                e.vhid_state(id).unwrap(),
            )
        })
        .collect()
}

proptest! {
    /// SET twice = SET once: the second application changes no config or
    /// state, emits no event, queues no advert and gives the same answer.
    #[test]
    fn set_is_idempotent(
        master in any::<bool>(),
        req in prop_oneof![arb_request(), arb_vrrp_request()],
    ) {
        let (mut e, _) = running_engine(if master { State::Master } else { State::Backup });
        let first = apply_set(&mut e, at(20), ETH0, &req);
        drain(&mut e);
        let before = snapshot(&e);
        let deadline = e.poll_timeout();
        let second = apply_set(&mut e, at(20), ETH0, &req);
        prop_assert_eq!(snapshot(&e), before);
        prop_assert_eq!(drain(&mut e), Vec::new());
        prop_assert_eq!(e.poll_timeout(), deadline, "no timer reset");
        match (first, second) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.id, b.id);
                prop_assert!(!b.created);
                prop_assert_eq!(b.forced, None);
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "{:?} then {:?}", a, b),
        }
    }

    /// A refused SET leaves the engine exactly as it was.
    #[test]
    fn refused_set_changes_nothing(req in prop_oneof![arb_request(), arb_vrrp_request()]) {
        let (mut e, _) = running_engine(State::Master);
        let before = snapshot(&e);
        if apply_set(&mut e, at(20), ETH0, &req).is_err() {
            prop_assert_eq!(snapshot(&e), before);
            prop_assert_eq!(drain(&mut e), Vec::new());
        }
    }
}
