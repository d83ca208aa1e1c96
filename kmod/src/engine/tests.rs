//! Engine behaviour on virtual time: elections, failover deadlines,
//! preemption, demotion, ties, link state and every malformed-input class.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use super::*;
use crate::auth::Key;
use crate::wire::{CarpPacket, CarpRepr};

pub(super) const IF: IfIndex = 1;
pub(super) const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
pub(super) const SEC: u64 = 1_000_000_000;

pub(super) fn at(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

pub(super) struct Node {
    pub(super) e: Engine,
    pub(super) id: VhidId,
    pub(super) alive: bool,
    pub(super) events: Vec<Event>,
}

/// A loss-free, zero-delay segment of nodes, one vhid each.
pub(super) struct Net {
    pub(super) nodes: Vec<Node>,
    pub(super) now: Instant,
    /// (time, sender index, transmit, bytes)
    pub(super) log: Vec<(Instant, usize, Transmit, Vec<u8>)>,
}

impl Net {
    pub(super) fn new(skews: &[u8], pass: &[u8]) -> Net {
        let mut nodes = Vec::new();
        for (i, &skew) in skews.iter().enumerate() {
            let mut e = Engine::new();
            e.seed_rng(i as u64 + 1);
            let addr = Ipv4Addr::new(192, 0, 2, i as u8 + 1);
            e.set_iface_addrs(IF, Some(addr), None).unwrap();
            let mut cfg = VhidConfig::new(7);
            cfg.advskew = skew;
            cfg.key = Key::new(pass).unwrap();
            let id = e.vhid_set(at(0), IF, &cfg).unwrap();
            e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
            nodes.push(Node {
                e,
                id,
                alive: true,
                events: Vec::new(),
            });
        }
        let mut n = Net {
            nodes,
            now: at(0),
            log: Vec::new(),
        };
        n.flush();
        n
    }

    pub(super) fn state(&self, i: usize) -> State {
        self.nodes[i].e.vhid_state(self.nodes[i].id).unwrap()
    }

    fn states(&self) -> Vec<State> {
        (0..self.nodes.len()).map(|i| self.state(i)).collect()
    }

    /// Drains events and packets; packets reach every other live node.
    pub(super) fn flush(&mut self) {
        loop {
            let mut sent = Vec::new();
            for (i, n) in self.nodes.iter_mut().enumerate() {
                while let Some(ev) = n.e.poll_event() {
                    n.events.push(ev);
                }
                let mut buf = [0u8; 1500];
                while let Some(tx) = n.e.poll_transmit(&mut buf) {
                    if n.alive {
                        sent.push((i, tx, buf[..tx.len].to_vec()));
                    }
                }
            }
            if sent.is_empty() {
                return;
            }
            for (i, tx, bytes) in sent {
                self.log.push((self.now, i, tx, bytes.clone()));
                for (j, n) in self.nodes.iter_mut().enumerate() {
                    if j != i && n.alive {
                        let rx = Received {
                            iface: IF,
                            src: tx.src,
                            dst: tx.dst,
                            ttl: tx.ttl,
                            payload: &bytes,
                        };
                        let _ = n.e.handle_packet(self.now, &rx);
                    }
                }
            }
        }
    }

    /// Runs every timer up to and including `until`.
    pub(super) fn run_until(&mut self, until: Instant) {
        loop {
            let next = self
                .nodes
                .iter()
                .filter(|n| n.alive)
                .filter_map(|n| n.e.poll_timeout())
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = t;
                    for n in self.nodes.iter_mut().filter(|n| n.alive) {
                        if n.e.poll_timeout().is_some_and(|d| d <= t) {
                            n.e.handle_timeout(t);
                        }
                    }
                    self.flush();
                }
                _ => break,
            }
        }
        self.now = until;
    }

    pub(super) fn masters(&self) -> usize {
        self.states()
            .iter()
            .filter(|s| **s == State::Master)
            .count()
    }

    fn transitions_to_master(&self, i: usize) -> Vec<(Reason, State)> {
        self.nodes[i]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::StateChanged {
                    to: State::Master,
                    reason,
                    from,
                    ..
                } => Some((*reason, *from)),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn two_nodes_lower_skew_wins_at_exact_deadline() {
    let mut net = Net::new(&[0, 100], b"testpass");
    assert_eq!(net.states(), [State::Backup, State::Backup]);
    // Node 0's master-down fires at exactly 3 s (advbase 1, skew 0).
    assert_eq!(net.nodes[0].e.poll_timeout(), Some(at(3 * SEC)));
    // Node 1's at 3 s + 100/256 s.
    assert_eq!(
        net.nodes[1].e.poll_timeout(),
        Some(at(3 * SEC + 100 * 3_906_250))
    );
    net.run_until(at(3 * SEC));
    assert_eq!(net.states(), [State::Master, State::Backup]);
    assert_eq!(
        net.transitions_to_master(0),
        [(Reason::MasterTimedOut, State::Backup)]
    );
    // The new master advertised at once, and announced its VIP.
    assert_eq!(net.log.len(), 1);
    assert_eq!(net.log[0].0, at(3 * SEC));
    assert!(net.nodes[0]
        .events
        .iter()
        .any(|e| matches!(e, Event::Announce { vhid: 7, .. })));
    net.run_until(at(60 * SEC));
    assert_eq!(net.states(), [State::Master, State::Backup]);
    // One advert per second from the master only.
    assert!(net.log.iter().all(|(_, i, _, _)| *i == 0));
    assert_eq!(net.log.len(), 58);
}

#[test]
fn three_nodes_elect_lowest_skew() {
    let mut net = Net::new(&[50, 0, 100], b"pw");
    net.run_until(at(30 * SEC));
    assert_eq!(net.states(), [State::Backup, State::Master, State::Backup]);
}

#[test]
fn failover_after_master_falls_silent_at_exact_deadline() {
    let mut net = Net::new(&[0, 100], b"testpass");
    net.run_until(at(10 * SEC));
    assert_eq!(net.states(), [State::Master, State::Backup]);
    let last = net.log.last().unwrap().0;
    net.nodes[0].alive = false;
    // Backup's deadline: last advert + 3 * advbase + 100/256 s.
    let deadline = last + Duration::from_nanos(3 * SEC + 100 * 3_906_250);
    assert_eq!(net.nodes[1].e.poll_timeout(), Some(deadline));
    net.run_until(deadline - Duration::from_nanos(1));
    assert_eq!(net.state(1), State::Backup);
    net.run_until(deadline);
    assert_eq!(net.state(1), State::Master);
    assert_eq!(
        net.transitions_to_master(1),
        [(Reason::MasterTimedOut, State::Backup)]
    );
}

#[test]
fn preemption_only_when_enabled() {
    for preempt in [false, true] {
        // Node 1 (skew 0) starts late: node 0 (skew 100) is master by then.
        let mut net = Net::new(&[100, 0], b"pw");
        net.nodes[1].alive = false;
        net.run_until(at(10 * SEC));
        assert_eq!(net.state(0), State::Master);
        net.nodes[1].alive = true;
        net.nodes[1].e.set_preempt(preempt);
        // Restart node 1's vhid as a fresh boot would.
        let n1 = &mut net.nodes[1];
        n1.e.link_state(at(10 * SEC), IF, false);
        n1.e.link_state(at(10 * SEC), IF, true);
        net.flush();
        net.run_until(at(20 * SEC));
        if preempt {
            assert_eq!(net.states(), [State::Backup, State::Master]);
            assert_eq!(
                net.transitions_to_master(1),
                [(Reason::PreemptingSlowerMaster, State::Backup)]
            );
            assert_eq!(net.nodes[1].e.stats().preempt, 1);
        } else {
            assert_eq!(net.states(), [State::Master, State::Backup]);
            assert!(net.transitions_to_master(1).is_empty());
        }
    }
}

#[test]
fn demotion_raises_effective_advskew_and_hands_over() {
    let mut net = Net::new(&[0, 100], b"pw");
    for n in &mut net.nodes {
        n.e.set_preempt(true);
    }
    net.run_until(at(10 * SEC));
    assert_eq!(net.states(), [State::Master, State::Backup]);
    let id = net.nodes[0].id;
    net.nodes[0].e.demote(net.now, 200, DemoteReason::Sysctl);
    assert_eq!(net.nodes[0].e.knobs().demotion, 200);
    assert_eq!(net.nodes[0].e.vhid_effective_advskew(id), Some(200));
    // The demoted master re-advertises at once with skew 200; the backup
    // (skew 100, preempt on) takes over immediately.
    net.flush();
    assert_eq!(net.states(), [State::Backup, State::Master]);
    let (_, _, _, bytes) = net.log.iter().rev().find(|(_, i, _, _)| *i == 0).unwrap();
    let p = CarpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(CarpRepr::parse(&p).unwrap().advskew, 200);
    // Clamped at 240 however far it is demoted; negative is harmless.
    net.nodes[0].e.demote(net.now, 1000, DemoteReason::Sysctl);
    assert_eq!(net.nodes[0].e.vhid_effective_advskew(id), Some(240));
    net.nodes[0].e.demote(net.now, -5000, DemoteReason::Sysctl);
    assert_eq!(net.nodes[0].e.vhid_effective_advskew(id), Some(0));
    let demoted: Vec<_> = net.nodes[0]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Demoted { by, total, .. } => Some((*by, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(demoted, [(200, 200)]);
}

#[test]
fn equal_adverts_make_a_master_step_down() {
    // Two masters with identical advbase/advskew: FreeBSD steps down on an
    // equal advert (§3.3), so both go BACKUP and re-elect by timers.
    let mut net = Net::new(&[0, 0], b"pw");
    net.nodes[1].alive = false;
    net.run_until(at(5 * SEC));
    net.nodes[1].alive = true;
    net.nodes[0].alive = false;
    let n1 = &mut net.nodes[1];
    n1.e.vhid_force_state(at(5 * SEC), n1.id, State::Master)
        .unwrap();
    net.nodes[0].alive = true;
    assert_eq!(net.states(), [State::Master, State::Master]);
    net.flush();
    // Node 1's advert reaches node 0: equal -> node 0 steps down.
    assert_eq!(net.state(0), State::Backup);
    let stepped = net.nodes[0].events.iter().any(|e| {
        matches!(
            e,
            Event::StateChanged {
                reason: Reason::MoreFrequentAdvert,
                to: State::Backup,
                ..
            }
        )
    });
    assert!(stepped);
    net.run_until(at(30 * SEC));
    assert_eq!(net.masters(), 1);
}

#[test]
fn link_down_goes_init_and_demotes_once() {
    let mut net = Net::new(&[0, 100], b"pw");
    net.run_until(at(5 * SEC));
    let id = net.nodes[0].id;
    let e = &mut net.nodes[0].e;
    e.link_state(at(5 * SEC), IF, false);
    assert_eq!(e.vhid_state(id), Some(State::Init));
    assert_eq!(e.knobs().demotion, 240);
    assert_eq!(e.poll_timeout(), None);
    e.link_state(at(5 * SEC), IF, false);
    assert_eq!(e.knobs().demotion, 240);
    assert_eq!(e.knobs().suppress_preempt, 1);
    e.link_state(at(6 * SEC), IF, true);
    assert_eq!(e.knobs().suppress_preempt, 0);
    assert_eq!(e.vhid_state(id), Some(State::Backup));
    assert_eq!(e.knobs().demotion, 0);
    let mut seen = Vec::new();
    while let Some(ev) = e.poll_event() {
        if let Event::StateChanged {
            from, to, reason, ..
        } = ev
        {
            seen.push((from, to, reason));
        }
    }
    assert!(seen.ends_with(&[
        (State::Master, State::Init, Reason::HardwareDown),
        (State::Init, State::Backup, Reason::InitComplete),
    ]));
}

#[test]
fn allow_zero_stops_everything_and_drops_input() {
    let mut net = Net::new(&[0, 100], b"pw");
    net.run_until(at(5 * SEC));
    net.nodes[1].e.set_allow(net.now, false);
    assert_eq!(net.state(1), State::Init);
    let before = net.nodes[1].e.stats().ipackets;
    net.run_until(at(8 * SEC));
    assert_eq!(net.state(1), State::Init);
    assert!(net.nodes[1].e.stats().ipackets > before);
    net.nodes[1].e.set_allow(net.now, true);
    assert_eq!(net.state(1), State::Backup);
}

pub(super) fn engine_with_vhid(pass: &[u8]) -> (Engine, VhidId) {
    let mut e = Engine::new();
    e.set_iface_addrs(IF, Some(Ipv4Addr::new(192, 0, 2, 2)), None)
        .unwrap();
    let mut cfg = VhidConfig::new(7);
    cfg.key = Key::new(pass).unwrap();
    let id = e.vhid_set(at(0), IF, &cfg).unwrap();
    e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
    (e, id)
}

pub(super) fn advert(pass: &[u8], vhid: u8, advskew: u8, counter: u64) -> [u8; 36] {
    let signer = crate::auth::Signer::new(&Key::new(pass).unwrap(), vhid, &[VIP.octets()], &[]);
    let repr = CarpRepr {
        vhid,
        advskew,
        advbase: 1,
        demote: 0,
        counter,
        digest: signer.sign(counter),
    };
    let mut buf = [0u8; 36];
    repr.emit(&mut CarpPacket::new_unchecked(&mut buf[..]));
    buf
}

pub(super) fn rx(payload: &[u8], ttl: u8) -> Received<'_> {
    Received {
        iface: IF,
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        dst: IpAddr::V4(crate::wire::CARP_GROUP_V4),
        ttl,
        payload,
    }
}

#[test]
fn every_malformed_class_is_counted_and_ignored() {
    let (mut e, id) = engine_with_vhid(b"testpass");
    let deadline = e.poll_timeout();
    let good = advert(b"testpass", 7, 0, 42);

    let mut bad_sum = good;
    bad_sum[6] ^= 0xff;
    let mut bad_ver = good;
    bad_ver[0] = 0x41;
    let mut bad_ver_fixed = CarpPacket::new_unchecked(bad_ver);
    bad_ver_fixed.fill_checksum();
    let bad_ver = bad_ver_fixed.into_inner();
    let wrong_pass = advert(b"wrongpass", 7, 0, 42);
    let unknown = advert(b"testpass", 8, 0, 42);

    let cases: [(&[u8], u8, Drop); 7] = [
        (&good[..7], 255, Drop::BadLength),
        (&good[..20], 255, Drop::BadLength),
        (&bad_sum, 255, Drop::BadChecksum),
        (&bad_ver, 255, Drop::BadVersion),
        (&good, 64, Drop::BadTtl),
        (&wrong_pass, 255, Drop::BadAuth),
        (&unknown, 255, Drop::UnknownVhid),
    ];
    for (payload, ttl, want) in cases {
        assert_eq!(e.handle_packet(at(SEC), &rx(payload, ttl)), Err(want));
        // Nothing changed: still BACKUP, same deadline, nothing to send.
        assert_eq!(e.vhid_state(id), Some(State::Backup));
        assert_eq!(e.poll_timeout(), deadline);
        assert!(e.poll_transmit(&mut [0u8; 1500]).is_none());
    }
    let s = *e.stats();
    assert_eq!(s.ipackets, 7);
    assert_eq!(
        (s.badlen, s.badsum, s.badver, s.badttl, s.badauth, s.badvhid),
        (2, 1, 1, 1, 1, 1)
    );
    assert_eq!(e.vhid_stats(id).unwrap().bad_auth, 1);
    // An authentic advert is accepted and restarts the master-down timer.
    assert_eq!(e.handle_packet(at(SEC), &rx(&good, 255)), Ok(()));
    assert_eq!(e.poll_timeout(), Some(at(4 * SEC)));
}

#[test]
fn looped_own_advert_is_dropped() {
    let (mut e, _) = engine_with_vhid(b"pw");
    let good = advert(b"pw", 7, 0, 1);
    let mut r = rx(&good, 255);
    r.src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(e.handle_packet(at(SEC), &r), Err(Drop::Looped));
    assert_eq!(e.stats().badif, 1);
}

#[test]
fn unicast_peer_skips_ttl_check() {
    let mut e = Engine::new();
    e.set_iface_addrs(IF, Some(Ipv4Addr::new(192, 0, 2, 2)), None)
        .unwrap();
    let mut cfg = VhidConfig::new(7);
    cfg.key = Key::new(b"pw").unwrap();
    // 198.51.100.224: a unicast peer whose last octet looks multicast in
    // network byte order (PR 284872).
    cfg.peer4 = Some(Ipv4Addr::new(198, 51, 100, 224));
    let id = e.vhid_set(at(0), IF, &cfg).unwrap();
    e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
    let good = advert(b"pw", 7, 0, 1);
    assert_eq!(e.handle_packet(at(SEC), &rx(&good, 17)), Ok(()));
    // It sends to the peer, with the real MAC (no virtual source).
    e.vhid_force_state(at(SEC), id, State::Master).unwrap();
    let mut buf = [0u8; 1500];
    let tx = e.poll_transmit(&mut buf).unwrap();
    assert_eq!(tx.dst, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 224)));
    assert_eq!(tx.src_mac, None);
}

/// Issue 11 defect 7: the source is asked for as each advert is written
/// (`carp_best_ifa` in `carp_send_ad_locked`), not fixed at attach time;
/// the answer also becomes the address input recognises as our own.
#[test]
fn advert_source_is_asked_per_advert() {
    let (mut e, id) = engine_with_vhid(b"pw");
    e.vhid_force_state(at(SEC), id, State::Master).unwrap();
    let mut buf = [0u8; 1500];
    let renumbered = Ipv4Addr::new(192, 0, 2, 3);
    let mut asked = Vec::new();
    let tx = e
        .poll_transmit_with(&mut buf, &mut |i| {
            asked.push(i);
            Some((Some(renumbered), None))
        })
        .unwrap();
    assert_eq!(asked, [IF]);
    assert_eq!(tx.src, IpAddr::V4(renumbered));
    // `None` keeps the last answer; the old address is no longer ours.
    e.handle_timeout(at(2 * SEC));
    let tx = e.poll_transmit_with(&mut buf, &mut |_| None).unwrap();
    assert_eq!(tx.src, IpAddr::V4(renumbered));
    let theirs = advert(b"pw", 7, 0, 1);
    let mut r = rx(&theirs, 255);
    r.src = IpAddr::V4(renumbered);
    assert_eq!(e.handle_packet(at(3 * SEC), &r), Err(Drop::Looped));
    // A parent that lost its own address: carp_best_ifa is left with
    // the vhid's address.
    e.handle_timeout(at(4 * SEC));
    let tx = e
        .poll_transmit_with(&mut buf, &mut |_| Some((None, None)))
        .unwrap();
    assert_eq!(tx.src, IpAddr::V4(VIP));
}

/// `carp_best_ifa` on a parent with no IPv4 address of its own: the
/// source is a vhid address, a MASTER's rather than the first vhid's.
#[test]
fn advert_source_falls_back_to_a_master_vip() {
    let mut e = Engine::new();
    let backup_vip = Ipv4Addr::new(192, 0, 2, 107);
    let master_vip = Ipv4Addr::new(192, 0, 2, 108);
    let b = e.vhid_set(at(0), IF, &VhidConfig::new(7)).unwrap();
    e.addr_add(at(0), b, IpAddr::V4(backup_vip)).unwrap();
    let m = e.vhid_set(at(0), IF, &VhidConfig::new(8)).unwrap();
    e.addr_add(at(0), m, IpAddr::V4(master_vip)).unwrap();
    let mut buf = [0u8; 1500];
    while e.poll_transmit(&mut buf).is_some() {}
    e.vhid_force_state(at(SEC), m, State::Master).unwrap();
    let tx = e
        .poll_transmit_with(&mut buf, &mut |_| Some((None, None)))
        .unwrap();
    assert_eq!((tx.vhid, tx.src), (8, IpAddr::V4(master_vip)));
    // The parent's own address, once it has one, wins.
    e.handle_timeout(at(3 * SEC));
    let own = Ipv4Addr::new(192, 0, 2, 2);
    let tx = e
        .poll_transmit_with(&mut buf, &mut |_| Some((Some(own), None)))
        .unwrap();
    assert_eq!(tx.src, IpAddr::V4(own));
}

/// The peers live outside the vhid record: each vhid keeps its own,
/// updates and clears reach the adverts, and a slot reused after a removal
/// starts without its predecessor's peers.
#[test]
fn unicast_peers_follow_their_vhid() {
    let mut e = Engine::new();
    e.set_iface_addrs(IF, Some(Ipv4Addr::new(192, 0, 2, 2)), None)
        .unwrap();
    let p6: Ipv6Addr = "2001:db8::9".parse().unwrap();
    let mut ids = Vec::new();
    for vhid in 1..=3u8 {
        let mut cfg = VhidConfig::new(vhid);
        if vhid != 2 {
            cfg.peer4 = Some(Ipv4Addr::new(198, 51, 100, vhid));
        }
        if vhid == 3 {
            cfg.peer6 = Some(p6);
        }
        ids.push(e.vhid_set(at(0), IF, &cfg).unwrap());
    }
    let peers = |e: &Engine, id| {
        let c = e.vhid_config(id).unwrap();
        (c.peer4, c.peer6)
    };
    assert_eq!(
        peers(&e, ids[0]),
        (Some(Ipv4Addr::new(198, 51, 100, 1)), None)
    );
    assert_eq!(peers(&e, ids[1]), (None, None));
    assert_eq!(
        peers(&e, ids[2]),
        (Some(Ipv4Addr::new(198, 51, 100, 3)), Some(p6))
    );
    // Changing one vhid's peers leaves the others alone.
    let mut cfg = e.vhid_config(ids[1]).unwrap();
    cfg.peer6 = Some(p6);
    e.vhid_set(at(0), IF, &cfg).unwrap();
    let mut cfg = e.vhid_config(ids[0]).unwrap();
    cfg.peer4 = None;
    e.vhid_set(at(0), IF, &cfg).unwrap();
    assert_eq!(peers(&e, ids[0]), (None, None));
    assert_eq!(peers(&e, ids[1]), (None, Some(p6)));
    assert_eq!(
        peers(&e, ids[2]),
        (Some(Ipv4Addr::new(198, 51, 100, 3)), Some(p6))
    );
    // The advert goes to the peer, then to the group once it is cleared.
    e.addr_add(at(0), ids[2], IpAddr::V4(VIP)).unwrap();
    e.vhid_force_state(at(SEC), ids[2], State::Master).unwrap();
    let mut buf = [0u8; 1500];
    let tx = e.poll_transmit(&mut buf).unwrap();
    assert_eq!(tx.dst, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 3)));
    let mut cfg = e.vhid_config(ids[2]).unwrap();
    cfg.peer4 = None;
    e.vhid_set(at(SEC), IF, &cfg).unwrap();
    e.handle_timeout(at(3 * SEC));
    let tx = e.poll_transmit(&mut buf).unwrap();
    assert_eq!(tx.dst, IpAddr::V4(crate::wire::CARP_GROUP_V4));
    // Removing vhid 2 frees its slot; vhid 4 takes it without peers.
    e.vhid_remove(at(3 * SEC), ids[1]).unwrap();
    let id4 = e.vhid_set(at(3 * SEC), IF, &VhidConfig::new(4)).unwrap();
    assert_eq!(id4.slot, ids[1].slot);
    assert_eq!(peers(&e, id4), (None, None));
    assert_eq!(peers(&e, ids[2]), (None, Some(p6)));
}

/// A buffer too small for the advert drops it (counted as `onomem`) and
/// leaves nothing stuck: both families' adverts are dropped in one poll,
/// the next period's adverts go out, and a dying vhid whose bow-out is
/// dropped still frees its slot.
#[test]
fn too_small_buffer_drops_counts_and_moves_on() {
    let (mut e, id) = engine_with_vhid(b"pw");
    e.addr_add(at(0), id, IpAddr::V6("2001:db8::64".parse().unwrap()))
        .unwrap();
    e.vhid_force_state(at(SEC), id, State::Master).unwrap();
    let mut small = [0u8; 20];
    assert_eq!(e.poll_transmit(&mut small), None);
    assert_eq!(e.stats().onomem, 2);
    assert_eq!(e.vhid_stats(id).unwrap().adverts_out, 0);
    let mut buf = [0u8; 1500];
    assert_eq!(e.poll_transmit(&mut buf), None, "both were dropped");
    let next = e.poll_timeout().unwrap();
    e.handle_timeout(next);
    let tx4 = e.poll_transmit(&mut buf).unwrap();
    let tx6 = e.poll_transmit(&mut buf).unwrap();
    assert!(tx4.dst.is_ipv4() && tx6.dst.is_ipv6());
    assert_eq!((e.stats().opackets, e.stats().opackets6), (1, 1));
    // The bow-out of a removed MASTER cannot be written either: the slot
    // is freed all the same, and a new vhid takes it.
    e.vhid_remove(next, id).unwrap();
    assert_eq!(e.poll_transmit(&mut small), None);
    assert_eq!(e.stats().onomem, 4);
    let again = e.vhid_set(next, IF, &VhidConfig::new(9)).unwrap();
    assert_eq!(again.slot, id.slot);
}

#[test]
fn advert_fields_and_counter() {
    let (mut e, id) = engine_with_vhid(b"pw");
    e.seed_rng(99);
    e.vhid_force_state(at(SEC), id, State::Master).unwrap();
    let mut buf = [0u8; 1500];
    let tx = e.poll_transmit(&mut buf).unwrap();
    assert_eq!(tx.len, 36);
    assert_eq!(tx.ttl, 255);
    assert_eq!(tx.tos, 56 << 2);
    assert_eq!(tx.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
    assert_eq!(tx.dst, IpAddr::V4(crate::wire::CARP_GROUP_V4));
    assert_eq!(tx.src_mac, Some([0, 0, 0x5e, 0, 1, 7]));
    let p = CarpPacket::new_checked(&buf[..36]).unwrap();
    assert!(p.verify_checksum());
    let first = CarpRepr::parse(&p).unwrap();
    let signer = crate::auth::Signer::new(&Key::new(b"pw").unwrap(), 7, &[VIP.octets()], &[]);
    assert!(signer.verify(first.counter, &first.digest));
    // Next advert: counter + 1.
    e.handle_timeout(at(2 * SEC));
    let _ = e.poll_transmit(&mut buf).unwrap();
    let second = CarpRepr::parse(&CarpPacket::new_checked(&buf[..36]).unwrap()).unwrap();
    assert_eq!(second.counter, first.counter.wrapping_add(1));
    assert_eq!(e.stats().opackets, 2);
}

#[test]
fn dual_family_vhid_sends_both_and_times_each_family() {
    let mut e = Engine::new();
    let ll: Ipv6Addr = "fe80::2".parse().unwrap();
    e.set_iface_addrs(IF, Some(Ipv4Addr::new(192, 0, 2, 2)), Some(ll))
        .unwrap();
    let id = e.vhid_set(at(0), IF, &VhidConfig::new(1)).unwrap();
    e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
    e.addr_add(at(0), id, "2001:db8::100".parse().unwrap())
        .unwrap();
    e.handle_timeout(at(3 * SEC));
    assert_eq!(e.vhid_state(id), Some(State::Master));
    let mut buf = [0u8; 1500];
    let a = e.poll_transmit(&mut buf).unwrap();
    let b = e.poll_transmit(&mut buf).unwrap();
    assert!(a.dst.is_ipv4() && b.dst.is_ipv6());
    assert_eq!(b.src, IpAddr::V6(ll));
    assert!(e.poll_transmit(&mut buf).is_none());
    assert_eq!((e.stats().opackets, e.stats().opackets6), (1, 1));
}

#[test]
fn remove_master_sends_bowout() {
    let (mut e, id) = engine_with_vhid(b"pw");
    e.vhid_force_state(at(SEC), id, State::Master).unwrap();
    let mut buf = [0u8; 1500];
    e.poll_transmit(&mut buf).unwrap();
    e.vhid_remove(at(2 * SEC), id).unwrap();
    assert_eq!(e.vhid_lookup(IF, 7), None);
    let tx = e.poll_transmit(&mut buf).unwrap();
    let r = CarpRepr::parse(&CarpPacket::new_checked(&buf[..tx.len]).unwrap()).unwrap();
    assert_eq!((r.advbase, r.advskew), (255, 255));
    assert!(e.poll_transmit(&mut buf).is_none());
    assert_eq!(e.poll_timeout(), None);
    // The slot is reusable and the stale handle is refused.
    assert_eq!(e.vhid_state(id), None);
    let id2 = e.vhid_set(at(3 * SEC), IF, &VhidConfig::new(7)).unwrap();
    assert_ne!(id, id2);
}

#[test]
fn config_validation_and_version_lock() {
    let mut e = Engine::new();
    let mut c = VhidConfig::new(0);
    assert_eq!(e.vhid_set(at(0), IF, &c), Err(ConfigError::Vhid));
    c.vhid = 1;
    c.advskew = 255;
    assert_eq!(e.vhid_set(at(0), IF, &c), Err(ConfigError::Advskew));
    c.advskew = 0;
    c.advbase = 0;
    assert_eq!(e.vhid_set(at(0), IF, &c), Err(ConfigError::Advbase));
    c.advbase = 1;
    e.vhid_set(at(0), IF, &c).unwrap();
    c.version = Version::Vrrp3;
    assert_eq!(e.vhid_set(at(0), IF, &c), Err(ConfigError::VersionChange));
    assert_eq!(e.set_dscp(64), Err(ConfigError::Dscp));
}

#[test]
fn many_vhids_lookup_and_timers() {
    let mut e = Engine::new();
    let mut ids = Vec::new();
    for iface in 1..=16u32 {
        for vhid in 1..=255u8 {
            let id = e.vhid_set(at(0), iface, &VhidConfig::new(vhid)).unwrap();
            let a = Ipv4Addr::new(10, iface as u8, vhid, 1);
            e.addr_add(at(0), id, IpAddr::V4(a)).unwrap();
            ids.push((iface, vhid, id));
        }
    }
    for &(iface, vhid, id) in &ids {
        assert_eq!(e.vhid_lookup(iface, vhid), Some(id));
    }
    e.handle_timeout(at(3 * SEC));
    assert!(ids
        .iter()
        .all(|&(_, _, id)| e.vhid_state(id) == Some(State::Master)));
    let mut buf = [0u8; 1500];
    let mut n = 0;
    while e.poll_transmit(&mut buf).is_some() {
        n += 1;
    }
    assert_eq!(n, 4080);
    // Remove half; lookups of the rest still work.
    for &(iface, vhid, id) in ids.iter().filter(|(_, v, _)| v % 2 == 0) {
        e.vhid_remove(at(4 * SEC), id).unwrap();
        assert_eq!(e.vhid_lookup(iface, vhid), None);
    }
    while e.poll_transmit(&mut buf).is_some() {}
    for &(iface, vhid, id) in ids.iter().filter(|(_, v, _)| v % 2 == 1) {
        assert_eq!(e.vhid_lookup(iface, vhid), Some(id));
    }
}

#[test]
fn arpbalance_picks_one_master_per_requester() {
    // Two hosts, vhids 1 and 2 both holding the VIP; host A masters vhid 1,
    // host B vhid 2. Each requester must get exactly one answer.
    let mk = |master_of: u8| {
        let mut e = Engine::new();
        e.set_arpbalance(true);
        for vhid in [1u8, 2] {
            let id = e.vhid_set(at(0), IF, &VhidConfig::new(vhid)).unwrap();
            e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
            if vhid == master_of {
                e.vhid_force_state(at(0), id, State::Master).unwrap();
            }
        }
        e
    };
    let a = mk(1);
    let b = mk(2);
    for last in 1..=254u8 {
        let req = Ipv4Addr::new(198, 51, 100, last);
        let ra = a.arp_reply_mac(IF, VIP, req);
        let rb = b.arp_reply_mac(IF, VIP, req);
        assert!(
            ra.is_some() != rb.is_some(),
            "requester {req}: {ra:?} {rb:?}"
        );
    }
}

/// An Ethernet frame: who-has `target` tell `sender`.
pub(super) fn arp_request(sender: Ipv4Addr, target: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12..22].copy_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f[22..28].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[28..32].copy_from_slice(&sender.octets());
    f[38..42].copy_from_slice(&target.octets());
    f
}

#[test]
fn arp_filter_drops_requests_another_host_answers() {
    // Host A masters vhid 1, host B vhid 2; both hold VIP on IF.
    let mk = |master_of: u8| {
        let mut e = Engine::new();
        for vhid in [1u8, 2] {
            let id = e.vhid_set(at(0), IF, &VhidConfig::new(vhid)).unwrap();
            e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
            e.vhid_force_state(
                at(0),
                id,
                if vhid == master_of {
                    State::Master
                } else {
                    State::Backup
                },
            )
            .unwrap();
        }
        e
    };
    let (mut a, mut b) = (mk(1), mk(2));
    let even = arp_request(Ipv4Addr::new(192, 0, 2, 102), VIP);
    let odd = arp_request(Ipv4Addr::new(192, 0, 2, 101), VIP);
    // arpbalance off: nothing is filtered (ARP input decides as before).
    for f in [&even, &odd] {
        assert!(!a.arp_filter(IF, f) && !b.arp_filter(IF, f));
    }
    a.set_arpbalance(true);
    b.set_arpbalance(true);
    // Even requester -> first running vhid (1, A's), odd -> vhid 2 (B's).
    assert!(!a.arp_filter(IF, &even));
    assert!(b.arp_filter(IF, &even));
    assert!(a.arp_filter(IF, &odd));
    assert!(!b.arp_filter(IF, &odd));
    assert_eq!((a.arp_drops(), b.arp_drops()), (1, 1));
    // Every requester is passed by exactly one host.
    for last in 1..=254u8 {
        let f = arp_request(Ipv4Addr::new(198, 51, 100, last), VIP);
        assert!(
            a.arp_filter(IF, &f) != b.arp_filter(IF, &f),
            "requester .{last}"
        );
    }
    // Another parent, another address, a reply, a truncated frame: passed.
    assert!(!a.arp_filter(IF + 1, &odd));
    assert!(!a.arp_filter(
        IF,
        &arp_request(Ipv4Addr::new(192, 0, 2, 101), Ipv4Addr::new(192, 0, 2, 7))
    ));
    let mut reply = odd;
    reply[21] = 2;
    assert!(!a.arp_filter(IF, &reply));
    assert!(!a.arp_filter(IF, &odd[..41]));
    assert!(!a.arp_filter(IF, &[]));
}

#[test]
fn arp_filter_needs_two_running_vhids() {
    // One vhid holding the VIP (BACKUP here): not arpbalance's business,
    // ARP input answers (or not) as without the knob.
    let mut e = Engine::new();
    e.set_arpbalance(true);
    let id = e.vhid_set(at(0), IF, &VhidConfig::new(1)).unwrap();
    e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
    e.vhid_force_state(at(0), id, State::Backup).unwrap();
    let odd = arp_request(Ipv4Addr::new(192, 0, 2, 101), VIP);
    assert!(!e.arp_filter(IF, &odd));
    // A second vhid, BACKUP too: two running, none of them ours to answer.
    let id2 = e.vhid_set(at(0), IF, &VhidConfig::new(2)).unwrap();
    e.addr_add(at(0), id2, IpAddr::V4(VIP)).unwrap();
    e.vhid_force_state(at(0), id2, State::Backup).unwrap();
    assert!(e.arp_filter(IF, &odd));
    // The address leaves vhid 2: one holder again.
    e.addr_remove(at(0), id2, IpAddr::V4(VIP)).unwrap();
    assert!(!e.arp_filter(IF, &odd));
}

/// Builds `n` VRRPv3 nodes (vrid 7, interval `cs`), priorities given.
fn vrrp_net(prios: &[u8], cs: u16) -> Net {
    let mut nodes = Vec::new();
    for (i, &prio) in prios.iter().enumerate() {
        let mut e = Engine::new();
        let addr = Ipv4Addr::new(192, 0, 2, i as u8 + 1);
        e.set_iface_addrs(IF, Some(addr), None).unwrap();
        let mut cfg = VhidConfig::new(7);
        cfg.version = Version::Vrrp3;
        cfg.vrrp_priority = prio;
        cfg.vrrp_interval = cs;
        let id = e.vhid_set(at(0), IF, &cfg).unwrap();
        e.addr_add(at(0), id, IpAddr::V4(VIP)).unwrap();
        nodes.push(Node {
            e,
            id,
            alive: true,
            events: Vec::new(),
        });
    }
    let mut n = Net {
        nodes,
        now: at(0),
        log: Vec::new(),
    };
    n.flush();
    n
}

#[test]
fn vrrp_elects_highest_priority_with_rfc_timers() {
    let mut net = vrrp_net(&[100, 200], 100);
    // Master_Down_Interval = 3 * 1 s + (256 - prio) / 256 s.
    let md_200 = 3 * SEC + (56 * 1_000_000_000) / 256;
    assert_eq!(net.nodes[1].e.poll_timeout(), Some(at(md_200)));
    net.run_until(at(20 * SEC));
    assert_eq!(net.states(), [State::Backup, State::Master]);
    let (_, _, tx, bytes) = net.log.last().unwrap();
    assert_eq!(tx.dst, IpAddr::V4(crate::wire::CARP_GROUP_V4));
    assert_eq!(tx.src_mac, Some([0, 0, 0x5e, 0, 1, 7]));
    let p = crate::wire::VrrpPacket::new_checked(&bytes[..]).unwrap();
    assert!(p.verify_checksum(&tx.src, &tx.dst));
    assert_eq!(
        (p.priority(), p.max_adver_int(), p.count_addr()),
        (200, 100, 1)
    );
    assert_eq!(p.addresses(false), &VIP.octets());
}

#[test]
fn vrrp_equal_priority_tie_broken_by_higher_address() {
    let mut net = vrrp_net(&[100, 100], 100);
    // Force both MASTER: the higher source address must win, at once.
    let t = at(SEC);
    for n in &mut net.nodes {
        let id = n.id;
        n.e.vhid_force_state(t, id, State::Master).unwrap();
    }
    net.flush();
    assert_eq!(net.states(), [State::Backup, State::Master]);
    net.run_until(at(20 * SEC));
    assert_eq!(net.states(), [State::Backup, State::Master]);
}

#[test]
fn vrrp_bowout_hands_over_after_skew_time() {
    let mut net = vrrp_net(&[100, 200], 100);
    net.run_until(at(10 * SEC));
    assert_eq!(net.states(), [State::Backup, State::Master]);
    let t = net.now;
    let id = net.nodes[1].id;
    net.nodes[1].e.vhid_remove(t, id).unwrap();
    net.flush();
    let (_, _, _, bytes) = net.log.last().unwrap();
    let p = crate::wire::VrrpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.priority(), 0);
    // Backup (prio 100) takes over after Skew_Time = 156/256 s, not 3.6 s.
    let skew = Duration::from_nanos(156 * 10_000_000 * 100 / 256);
    assert_eq!(net.nodes[0].e.poll_timeout(), Some(t + skew));
    net.run_until(t + skew);
    assert_eq!(net.state(0), State::Master);
}

#[test]
fn vrrp_preempts_lower_priority_only_with_preempt() {
    for preempt in [false, true] {
        let mut net = vrrp_net(&[100, 200], 100);
        net.nodes[1].alive = false;
        net.run_until(at(10 * SEC));
        assert_eq!(net.state(0), State::Master);
        net.nodes[1].alive = true;
        net.nodes[1].e.set_preempt(preempt);
        let t = net.now;
        net.nodes[1].e.link_state(t, IF, false);
        net.nodes[1].e.link_state(t, IF, true);
        net.flush();
        net.run_until(at(20 * SEC));
        let want = if preempt {
            [State::Backup, State::Master]
        } else {
            [State::Master, State::Backup]
        };
        assert_eq!(net.states(), want);
    }
}

#[test]
fn vrrp_rejects_bad_ttl_and_carp_on_vrrp_vhid() {
    let mut net = vrrp_net(&[100, 200], 100);
    net.run_until(at(5 * SEC));
    let (_, _, tx, bytes) = net.log.last().unwrap().clone();
    let e = &mut net.nodes[0].e;
    let mut r = Received {
        iface: IF,
        src: tx.src,
        dst: tx.dst,
        ttl: 254,
        payload: &bytes,
    };
    assert_eq!(e.handle_packet(at(5 * SEC), &r), Err(Drop::BadTtl));
    let carp = advert(b"", 7, 0, 1);
    r.payload = &carp;
    r.ttl = 255;
    assert_eq!(e.handle_packet(at(5 * SEC), &r), Err(Drop::BadVersion));
}

#[test]
fn ipv6_only_vhid_elects_and_checks_family() {
    let mut e = Engine::new();
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    e.set_iface_addrs(IF, None, Some(ll)).unwrap();
    let id = e.vhid_set(at(0), IF, &VhidConfig::new(3)).unwrap();
    e.addr_add(at(0), id, "2001:db8::1".parse().unwrap())
        .unwrap();
    // An IPv4 advert for vhid 3 finds no IPv4 address on it: badvhid.
    let signer = crate::auth::Signer::new(
        &Key::ZERO,
        3,
        &[],
        &["2001:db8::1".parse::<Ipv6Addr>().unwrap().octets()],
    );
    let repr = CarpRepr {
        vhid: 3,
        advskew: 0,
        advbase: 1,
        demote: 0,
        counter: 5,
        digest: signer.sign(5),
    };
    let mut buf = [0u8; 36];
    repr.emit(&mut CarpPacket::new_unchecked(&mut buf[..]));
    let v4 = rx(&buf, 255);
    assert_eq!(e.handle_packet(at(SEC), &v4), Err(Drop::UnknownVhid));
    let v6 = Received {
        iface: IF,
        src: IpAddr::V6("fe80::2".parse().unwrap()),
        dst: IpAddr::V6(crate::wire::CARP_GROUP_V6),
        ttl: 255,
        payload: &buf,
    };
    assert_eq!(e.handle_packet(at(SEC), &v6), Ok(()));
    assert_eq!(e.stats().ipackets6, 1);
}

#[test]
fn send_errors_demote_after_three_and_recover_after_three() {
    let (mut e, id) = engine_with_vhid(b"pw");
    e.transmit_result(at(1), id, false);
    e.transmit_result(at(2), id, false);
    assert_eq!(e.knobs().demotion, 0);
    // Two successes after fewer than three errors undo nothing.
    e.transmit_result(at(3), id, true);
    assert_eq!(e.knobs().demotion, 0);
    for t in 4..7 {
        e.transmit_result(at(t), id, false);
    }
    assert_eq!(e.knobs().demotion, 240);
    assert_eq!(e.knobs().suppress_preempt, 1);
    for t in 7..9 {
        e.transmit_result(at(t), id, true);
    }
    assert_eq!(e.knobs().demotion, 240);
    e.transmit_result(at(9), id, true);
    assert_eq!(e.knobs().demotion, 0);
    assert_eq!(e.knobs().suppress_preempt, 0);
}

/// The send counts are kept saturating at 3 (two bits each in the vhid
/// record): errors past the third demote nothing more, and an error among
/// the successes starts the count of three again, as FreeBSD's plain ints.
#[test]
fn send_errors_past_the_third_demote_once_and_an_error_restarts_recovery() {
    let (mut e, id) = engine_with_vhid(b"pw");
    for t in 1..8 {
        e.transmit_result(at(t), id, false);
    }
    assert_eq!(e.knobs().demotion, 240);
    assert_eq!(e.knobs().suppress_preempt, 1);
    e.transmit_result(at(8), id, true);
    e.transmit_result(at(9), id, true);
    e.transmit_result(at(10), id, false);
    assert_eq!(e.knobs().demotion, 240);
    e.transmit_result(at(11), id, true);
    e.transmit_result(at(12), id, true);
    assert_eq!(e.knobs().demotion, 240);
    e.transmit_result(at(13), id, true);
    assert_eq!(e.knobs().demotion, 0);
    assert_eq!(e.knobs().suppress_preempt, 0);
    // A fresh run of errors demotes again, once.
    for t in 14..20 {
        e.transmit_result(at(t), id, false);
    }
    assert_eq!(e.knobs().demotion, 240);
}

#[test]
fn suppress_preempt_forces_skew_240_and_holds_preemption() {
    let (mut e, id) = engine_with_vhid(b"pw");
    e.set_preempt(true);
    e.adjust_suppress_preempt(at(0), 1);
    assert_eq!(e.vhid_effective_advskew(id), Some(240));
    // A slower master (skew 100) is not preempted while suppressed.
    let slow = advert(b"pw", 7, 100, 1);
    assert_eq!(e.handle_packet(at(SEC), &rx(&slow, 255)), Ok(()));
    assert_eq!(e.vhid_state(id), Some(State::Backup));
    e.adjust_suppress_preempt(at(SEC), -1);
    assert_eq!(e.handle_packet(at(SEC), &rx(&slow, 255)), Ok(()));
    assert_eq!(e.vhid_state(id), Some(State::Master));
}

#[test]
fn master_will_time_out_on_very_slow_master() {
    let (mut e, id) = engine_with_vhid(b"pw");
    // advbase 4 > 3 * our advbase 1: take over at once, even without preempt.
    let signer = crate::auth::Signer::new(&Key::new(b"pw").unwrap(), 7, &[VIP.octets()], &[]);
    let repr = CarpRepr {
        vhid: 7,
        advskew: 0,
        advbase: 4,
        demote: 0,
        counter: 9,
        digest: signer.sign(9),
    };
    let mut buf = [0u8; 36];
    repr.emit(&mut CarpPacket::new_unchecked(&mut buf[..]));
    assert_eq!(e.handle_packet(at(SEC), &rx(&buf, 255)), Ok(()));
    assert_eq!(e.vhid_state(id), Some(State::Master));
    let reason = core::iter::from_fn(|| e.poll_event()).find_map(|ev| match ev {
        Event::StateChanged {
            to: State::Master,
            reason,
            ..
        } => Some(reason),
        _ => None,
    });
    assert_eq!(reason, Some(Reason::MasterWillTimeOut));
}

#[test]
fn log_level_two_reports_bad_packets() {
    let (mut e, _) = engine_with_vhid(b"pw");
    while e.poll_event().is_some() {}
    let wrong = advert(b"other", 7, 0, 1);
    let _ = e.handle_packet(at(SEC), &rx(&wrong, 255));
    // At the default level only the once-per-episode conflict report.
    assert!(matches!(e.poll_event(), Some(Event::Conflict { .. })));
    assert_eq!(e.poll_event(), None);
    e.set_log(2);
    let _ = e.handle_packet(at(SEC), &rx(&wrong, 255));
    assert_eq!(
        e.poll_event(),
        Some(Event::BadPacket {
            iface: IF,
            vhid: 7,
            drop: Drop::BadAuth
        })
    );
}

#[test]
fn readding_same_address_is_idempotent() {
    let (mut e, id) = engine_with_vhid(b"pw");
    e.vhid_force_state(at(SEC), id, State::Master).unwrap();
    while e.poll_event().is_some() {}
    e.addr_add(at(SEC), id, IpAddr::V4(VIP)).unwrap();
    assert_eq!(e.vhid_state(id), Some(State::Master));
    assert_eq!(e.poll_event(), None);
    let cfg = e.vhid_config(id).unwrap().clone();
    e.vhid_set(at(SEC), IF, &cfg).unwrap();
    assert_eq!(e.vhid_state(id), Some(State::Master));
    assert_eq!(e.poll_event(), None);
}

/// Slots freed by removal are reused (the table scans for holes instead of
/// keeping a free list): the newest vhid takes the first hole, the removed
/// vhid's handle stays refused, and the others are untouched.
#[test]
fn removed_slots_are_reused_first_hole_first() {
    let mut e = Engine::new();
    let ids: Vec<VhidId> = (1..=4u8)
        .map(|v| e.vhid_set(at(0), IF, &VhidConfig::new(v)).unwrap())
        .collect();
    e.vhid_remove(at(0), ids[2]).unwrap();
    e.vhid_remove(at(0), ids[1]).unwrap();
    let a = e.vhid_set(at(0), IF, &VhidConfig::new(10)).unwrap();
    let b = e.vhid_set(at(0), IF, &VhidConfig::new(11)).unwrap();
    let c = e.vhid_set(at(0), IF, &VhidConfig::new(12)).unwrap();
    assert_eq!((a.slot, b.slot, c.slot), (ids[1].slot, ids[2].slot, 4));
    assert_eq!(e.vhid_config(ids[1]), None);
    assert_eq!(e.vhid_config(ids[2]), None);
    assert_eq!(e.vhid_config(ids[0]).map(|c| c.vhid), Some(1));
    assert_eq!(e.vhid_config(ids[3]).map(|c| c.vhid), Some(4));
    assert_eq!(e.vhid_lookup(IF, 11), Some(b));
    assert_eq!(e.vhids().count(), 5);
}
