//! The diagnostics no CARP has: the demotion ledger, conflict detectors,
//! per-vhid status, opt-in replay protection and GARP refresh.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

use super::tests::{advert, at, engine_with_vhid, rx, Net, IF, SEC, VIP};
use super::*;
use crate::ctl::status;

/// The packet a logged transmit puts on the segment, as received.
fn received<'a>(tx: &Transmit, bytes: &'a [u8]) -> Received<'a> {
    Received {
        iface: IF,
        src: tx.src,
        dst: tx.dst,
        ttl: tx.ttl,
        payload: bytes,
    }
}

fn drain(e: &mut Engine) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(ev) = e.poll_event() {
        out.push(ev);
    }
    let mut buf = [0u8; 1500];
    while e.poll_transmit(&mut buf).is_some() {}
    out
}

fn conflicts(events: &[Event]) -> Vec<(IpAddr, Conflict)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Conflict { peer, kind, .. } => Some((*peer, *kind)),
            _ => None,
        })
        .collect()
}

fn em0(i: IfIndex, buf: &mut [u8]) -> usize {
    let name: &[u8] = if i == IF { b"em0" } else { b"" };
    buf[..name.len()].copy_from_slice(name);
    name.len()
}

fn text(f: impl FnOnce(&mut [u8]) -> usize) -> String {
    let mut buf = [0u8; 2048];
    let n = f(&mut buf);
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Runs a lone vhid until it is MASTER.
fn lone_master(pass: &[u8]) -> (Engine, VhidId) {
    let (mut e, id) = engine_with_vhid(pass);
    while e.vhid_state(id) != Some(State::Master) {
        let t = e.poll_timeout().unwrap();
        e.handle_timeout(t);
    }
    drain(&mut e);
    (e, id)
}

#[test]
fn ledger_names_every_source_and_sums_to_the_demotion() {
    let mut net = Net::new(&[0, 100], b"pw");
    net.run_until(at(5 * SEC));
    let e = &mut net.nodes[0].e;
    e.link_state(at(5 * SEC), IF, false);
    e.demote(
        at(5 * SEC),
        240,
        DemoteReason::External("pfsync bulk start"),
    );
    e.demote(at(5 * SEC), -1, DemoteReason::Sysctl);
    assert_eq!(e.knobs().demotion, 479);
    let sum: i64 = e.demotion_sources().map(|(_, v)| v).sum();
    assert_eq!(sum, 479);
    assert_eq!(
        text(|b| status::demotion_sources(b, e, &em0)),
        "ifdown em0 240\npfsync \"bulk start\" 240\nadmin -1\n"
    );
    // The log lines stay FreeBSD's: one per change, with the total.
    let demoted: Vec<(i32, i32)> = drain(e)
        .iter()
        .filter_map(|x| match x {
            Event::Demoted { by, total, .. } => Some((*by, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(demoted, [(240, 240), (240, 480), (-1, 479)]);
    e.link_state(at(6 * SEC), IF, true);
    e.demote(
        at(6 * SEC),
        -240,
        DemoteReason::External("pfsync bulk done"),
    );
    assert_eq!(text(|b| status::demotion_sources(b, e, &em0)), "admin -1\n");
    assert_eq!(e.knobs().demotion, -1);
}

#[test]
fn send_errors_are_a_source_of_their_own() {
    let (mut e, id) = lone_master(b"pw");
    for _ in 0..3 {
        e.transmit_result(at(10 * SEC), id, false);
    }
    assert_eq!(
        text(|b| status::demotion_sources(b, &e, &em0)),
        "senderr 7@em0 240\n"
    );
    for _ in 0..3 {
        e.transmit_result(at(11 * SEC), id, true);
    }
    assert_eq!(e.demotion_sources().count(), 0);
    assert_eq!(e.knobs().demotion, 0);
}

#[test]
fn split_brain_is_reported_once_per_episode_after_three_intervals() {
    let (mut e, id) = lone_master(b"pw");
    let t0 = e.poll_timeout().unwrap().as_nanos();
    let mut reports = Vec::new();
    // A worse master (skew 100) that never hears us: every second.
    for k in 0..8u64 {
        let now = at(t0 + k * SEC);
        let ad = advert(b"pw", 7, 100, 1000 + k);
        e.handle_packet(now, &rx(&ad, 255)).unwrap();
        for c in conflicts(&drain(&mut e)) {
            reports.push((k, c));
        }
        assert_eq!(e.vhid_state(id), Some(State::Master));
    }
    let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(
        reports,
        [(
            3,
            (
                peer,
                Conflict::SplitBrain {
                    ours: 0,
                    theirs: 100
                }
            )
        )]
    );
    // Silence for longer than three intervals ends the episode.
    let later = t0 + 20 * SEC;
    for k in 0..5u64 {
        let ad = advert(b"pw", 7, 100, 2000 + k);
        e.handle_packet(at(later + k * SEC), &rx(&ad, 255)).unwrap();
        reports.extend(conflicts(&drain(&mut e)).into_iter().map(|c| (k, c)));
    }
    assert_eq!(reports.len(), 2);
    // FreeBSD's log format, and a devd type admins can match.
    let mut buf = [0u8; 124];
    let n = crate::ctl::log::conflict(&mut buf, 7, b"em0", &peer, &reports[1].1 .1);
    assert_eq!(
        core::str::from_utf8(&buf[..n]).unwrap(),
        "carp: 7@em0: split brain: 192.0.2.1 also MASTER (skew 100, ours 0), does not hear us"
    );
}

#[test]
fn a_preempted_master_is_no_split_brain() {
    let mut net = Net::new(&[100, 0], b"pw");
    net.nodes[1].alive = false;
    net.run_until(at(10 * SEC));
    net.nodes[1].alive = true;
    net.nodes[1].e.set_preempt(true);
    net.run_until(at(30 * SEC));
    assert_eq!(net.state(1), State::Master);
    for n in &net.nodes {
        assert!(conflicts(&n.events).is_empty(), "{:?}", n.events);
    }
}

#[test]
fn bad_auth_is_reported_once_with_its_likely_cause() {
    let (mut e, id) = engine_with_vhid(b"pw");
    let second = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101));
    e.addr_add(at(0), id, second).unwrap();
    drain(&mut e);
    // Same password, but the peer lacks 192.0.2.101.
    let mut reports = Vec::new();
    for k in 0..5u64 {
        let ad = advert(b"pw", 7, 0, 10 + k);
        assert_eq!(
            e.handle_packet(at(k * SEC), &rx(&ad, 255)),
            Err(Drop::BadAuth)
        );
        reports.extend(conflicts(&drain(&mut e)));
    }
    let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(
        reports,
        [(
            peer,
            Conflict::BadAuth(AuthHint::FewerAddresses { missing: 1 })
        )]
    );
    // Another password: a new peer, its own episode and diagnosis.
    let ad = advert(b"other", 7, 0, 99);
    let mut r = rx(&ad, 255);
    let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    r.src = other;
    let _ = e.handle_packet(at(6 * SEC), &r);
    assert_eq!(
        conflicts(&drain(&mut e)),
        [(other, Conflict::BadAuth(AuthHint::WrongPasswordOrAddresses))]
    );
    assert_eq!(e.stats().badauth, 6);
}

#[test]
fn carp_adverts_for_a_vrrp_vrid_are_a_protocol_conflict() {
    let mut e = Engine::new();
    e.set_iface_addrs(IF, Some(Ipv4Addr::new(192, 0, 2, 2)), None)
        .unwrap();
    let mut cfg = VhidConfig::new(7);
    cfg.version = Version::Vrrp3;
    let id = e.vhid_set(at(0), IF, &cfg).unwrap();
    e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
    drain(&mut e);
    for k in 0..3u64 {
        let ad = advert(b"", 7, 0, k);
        assert_eq!(
            e.handle_packet(at(k * SEC), &rx(&ad, 255)),
            Err(Drop::BadVersion)
        );
    }
    assert_eq!(
        conflicts(&drain(&mut e)),
        [(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            Conflict::Protocol {
                theirs: Version::Carp
            }
        )]
    );
}

/// A is MASTER (skew 0) and B BACKUP (skew 100); an attacker records one
/// of A's adverts. A dies, B takes over; the attacker replays the advert.
fn replay_scenario(replay_check: bool) -> (State, u32) {
    let mut net = Net::new(&[0, 100], b"pw");
    if replay_check {
        net.nodes[1].e.set_replay_check(true).unwrap();
    }
    net.run_until(at(5 * SEC));
    assert_eq!(net.state(0), State::Master);
    let captured = net
        .log
        .iter()
        .rev()
        .find(|(_, i, _, _)| *i == 0)
        .map(|(_, _, tx, bytes)| (*tx, bytes.clone()))
        .unwrap();
    net.nodes[0].alive = false;
    net.run_until(at(10 * SEC));
    assert_eq!(net.state(1), State::Master);
    let (tx, bytes) = captured;
    let r = received(&tx, &bytes);
    let _ = net.nodes[1].e.handle_packet(at(10 * SEC), &r);
    let st = net.nodes[1]
        .e
        .vhid_stats(net.nodes[1].id)
        .unwrap()
        .bad_replay;
    (net.state(1), st)
}

#[test]
fn a_replayed_advert_unseats_a_stock_master_but_not_with_replay_check() {
    // FreeBSD's behaviour (the default): the replay is accepted.
    assert_eq!(replay_scenario(false), (State::Backup, 0));
    // Opt-in: dropped and counted per vhid, not in carpstats.
    assert_eq!(replay_scenario(true), (State::Master, 1));
}

#[test]
fn replay_check_keeps_a_live_masters_fresh_adverts() {
    let mut net = Net::new(&[0, 100], b"pw");
    net.nodes[1].e.set_replay_check(true).unwrap();
    net.run_until(at(30 * SEC));
    assert_eq!((net.state(0), net.state(1)), (State::Master, State::Backup));
    // A duplicate of the newest advert is dropped and changes nothing.
    let (_, _, tx, bytes) = net
        .log
        .iter()
        .rev()
        .find(|(_, i, _, _)| *i == 0)
        .unwrap()
        .clone();
    let r = received(&tx, &bytes);
    let before = net.nodes[1].e.stats().as_array();
    assert_eq!(
        net.nodes[1].e.handle_packet(net.now, &r),
        Err(Drop::Replayed)
    );
    // carpstats keeps FreeBSD's fields: only ipackets moved.
    let after = net.nodes[1].e.stats().as_array();
    let moved: Vec<usize> = (0..16).filter(|i| before[*i] != after[*i]).collect();
    assert_eq!(moved, [0]);
    net.run_until(at(40 * SEC));
    assert_eq!((net.state(0), net.state(1)), (State::Master, State::Backup));
    assert_eq!(
        net.nodes[1]
            .e
            .vhid_stats(net.nodes[1].id)
            .unwrap()
            .bad_replay,
        1
    );
}

#[test]
fn garp_refresh_reannounces_every_interval_only_when_set() {
    for (interval, want) in [(0u32, 1usize), (5, 4)] {
        let (mut e, id) = engine_with_vhid(b"pw");
        e.set_garp_interval(interval);
        let mut announces = 0;
        while let Some(t) = e.poll_timeout() {
            if t > at(18 * SEC) {
                break;
            }
            e.handle_timeout(t);
            announces += drain(&mut e)
                .iter()
                .filter(|x| matches!(x, Event::Announce { .. }))
                .count();
        }
        assert_eq!(e.vhid_state(id), Some(State::Master));
        // Master at ~3 s, then (with 5 s) refreshes at ~8, ~13, ~18 s.
        assert_eq!(announces, want, "garp_interval {interval}");
    }
}

#[test]
fn vhids_text_says_state_since_when_and_why() {
    let mut net = Net::new(&[0, 100], b"pw");
    net.nodes[1].e.set_preempt(true);
    net.run_until(at(10 * SEC));
    let e = &net.nodes[0].e;
    let out = text(|b| status::vhids(b, e, at(10 * SEC), &em0));
    // Master since the master-down timer at 3 s.
    assert!(
        out.starts_with("7@em0 MASTER since 7.000s (master timed out) sent "),
        "{out}"
    );
    assert!(
        out.ends_with("badauth 0 badreplay 0 preemptions 0 masters 1\n"),
        "{out}"
    );
    let out = text(|b| status::vhids(b, &net.nodes[1].e, at(10 * SEC), &em0));
    assert!(
        out.starts_with("7@em0 BACKUP since 10.000s (initialization complete)"),
        "{out}"
    );
}

/// The form of the attack: an advert of the master recorded while
/// it was demoted (skew 200), replayed later, makes a BACKUP configured
/// with preempt take over from the live master ("preempting a slower
/// master"), and the two then flap; with `replay_check` the BACKUP drops it.
fn preempt_replay(replay_check: bool) -> (Vec<Reason>, u32) {
    let mut net = Net::new(&[0, 100], b"pw");
    // net.inet.carp.preempt=1 on both, as the handbook's pair has it.
    net.nodes[0].e.set_preempt(true);
    net.nodes[1].e.set_preempt(true);
    if replay_check {
        net.nodes[1].e.set_replay_check(true).unwrap();
    }
    net.run_until(at(5 * SEC));
    // A is demoted for a while (an interface of its went down, say).
    net.nodes[0].e.demote(net.now, 200, DemoteReason::Sysctl);
    net.flush();
    net.run_until(at(7 * SEC));
    let demoted_ad = net
        .log
        .iter()
        .rev()
        .find(|(_, i, _, b)| *i == 0 && b[2] == 200)
        .map(|(_, _, tx, bytes)| (*tx, bytes.clone()))
        .expect("an advert with skew 200");
    net.nodes[0].e.demote(net.now, -200, DemoteReason::Sysctl);
    net.flush();
    net.run_until(at(20 * SEC));
    assert_eq!((net.state(0), net.state(1)), (State::Master, State::Backup));
    let before = net.nodes[1].events.len();
    let (tx, bytes) = demoted_ad;
    let r = received(&tx, &bytes);
    let _ = net.nodes[1].e.handle_packet(net.now, &r);
    net.flush();
    let reasons = net.nodes[1].events[before..]
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged {
                to: State::Master,
                reason,
                ..
            } => Some(*reason),
            _ => None,
        })
        .collect();
    let replays = net.nodes[1]
        .e
        .vhid_stats(net.nodes[1].id)
        .unwrap()
        .bad_replay;
    (reasons, replays)
}

#[test]
fn a_replayed_demoted_advert_makes_a_preempting_backup_take_over_unless_checked() {
    assert_eq!(
        preempt_replay(false),
        (vec![Reason::PreemptingSlowerMaster], 0)
    );
    assert_eq!(preempt_replay(true), (vec![], 1));
}
