//! Per-address commands (`routes.rs`): what the MASTER installs, publishes
//! and announces, and that the command stream never removes what it did
//! not install and always removes what it did, whatever the interleaving
//! of state changes, address removals, detaches and vhid destruction.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::tests::{at, IF};
use super::*;

const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100));

fn engine() -> Engine {
    let mut e = Engine::new();
    e.set_iface_addrs(
        IF,
        Some(Ipv4Addr::new(192, 0, 2, 1)),
        Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    )
    .unwrap();
    e
}

fn vhid(e: &mut Engine, n: u8, addrs: &[IpAddr]) -> VhidId {
    let id = e.vhid_set(at(0), IF, &VhidConfig::new(n)).unwrap();
    for a in addrs {
        e.addr_add(at(0), id, *a).unwrap();
    }
    id
}

fn drain(e: &mut Engine) -> Vec<Command> {
    while e.poll_event().is_some() {}
    core::iter::from_fn(|| e.poll_command()).collect()
}

fn cmd(op: Op, addr: IpAddr, vhid: u8) -> Command {
    Command {
        op,
        iface: IF,
        addr,
        vhid,
    }
}

#[test]
fn master_routes_announces_and_backup_removes() {
    let mut e = engine();
    let id = vhid(&mut e, 7, &[V4, V6]);
    e.route_track(IF, V4, false).unwrap();
    e.route_track(IF, V6, false).unwrap();
    // Not MASTER: nothing installed, nothing announced.
    assert_eq!(drain(&mut e), []);
    e.vhid_force_state(at(1), id, State::Master).unwrap();
    assert_eq!(
        drain(&mut e),
        [
            cmd(Op::RouteAdd, V4, 7),
            cmd(Op::Garp, V4, 7),
            cmd(Op::RouteAdd, V6, 7),
            cmd(Op::Na, V6, 7),
        ]
    );
    // Idle: nothing more, however often asked.
    assert_eq!(e.poll_command(), None);
    e.vhid_force_state(at(2), id, State::Backup).unwrap();
    assert_eq!(
        drain(&mut e),
        [cmd(Op::RouteDelete, V4, 7), cmd(Op::RouteDelete, V6, 7)]
    );
    // Untracking a BACKUP's address removes nothing.
    assert_eq!(e.route_untrack(IF, V4, false), None);
}

#[test]
fn detach_of_a_master_address_returns_its_removal_once() {
    let mut e = engine();
    let id = vhid(&mut e, 3, &[V4]);
    e.route_track(IF, V4, false).unwrap();
    e.vhid_force_state(at(1), id, State::Master).unwrap();
    assert_eq!(drain(&mut e)[0], cmd(Op::RouteAdd, V4, 3));
    e.addr_remove(at(2), id, V4).unwrap();
    assert_eq!(
        e.route_untrack(IF, V4, false),
        Some(cmd(Op::RouteDelete, V4, 3))
    );
    assert_eq!(drain(&mut e), []);
    assert!(!e.route_installed(IF, V4));
}

#[test]
fn carpn_publishes_v4_only_and_republishes_on_a_new_vhid() {
    let mut e = engine();
    let a = vhid(&mut e, 1, &[V4, V6]);
    e.route_track(IF, V4, true).unwrap();
    e.route_track(IF, V6, true).unwrap();
    e.vhid_force_state(at(1), a, State::Master).unwrap();
    assert_eq!(
        drain(&mut e),
        [cmd(Op::Publish, V4, 1), cmd(Op::Garp, V4, 1)]
    );
    // carpN re-bound: vhid 1 goes, vhid 2 takes the address as MASTER.
    e.vhid_remove(at(2), a).unwrap();
    let b = vhid(&mut e, 2, &[V4]);
    e.vhid_force_state(at(3), b, State::Master).unwrap();
    // Published again with vhid 2's MAC: RTM_ADD replaces the entry, so
    // the address is never left unanswered in between.
    assert_eq!(
        drain(&mut e),
        [cmd(Op::Publish, V4, 2), cmd(Op::Garp, V4, 2)]
    );
    // Its MASTER gone, the entry is withdrawn, naming the vhid it holds.
    e.vhid_force_state(at(4), b, State::Backup).unwrap();
    assert_eq!(drain(&mut e), [cmd(Op::Unpublish, V4, 2)]);
}

/// What the applied commands put in the host's tables, checked as a
/// kernel would see it.
#[derive(Default)]
struct Host {
    installed: Vec<(IpAddr, u8)>,
    adds: usize,
    removes: usize,
}

impl Host {
    fn apply(&mut self, c: Command) {
        let key = (c.addr, c.vhid);
        match c.op {
            Op::RouteAdd | Op::Publish => {
                assert!(
                    !self.installed.iter().any(|k| k.0 == c.addr),
                    "{c:?}: already installed"
                );
                self.installed.push(key);
                self.adds += 1;
            }
            Op::RouteDelete | Op::Unpublish => {
                let i = self.installed.iter().position(|k| *k == key);
                assert!(i.is_some(), "{c:?}: removes what was not installed");
                self.installed.swap_remove(i.unwrap());
                self.removes += 1;
            }
            Op::Garp | Op::Na => assert!(
                self.installed.contains(&key),
                "{c:?}: announce without routes"
            ),
        }
    }
}

#[test]
fn interleaved_changes_never_remove_foreign_or_leak_routes() {
    let addrs = [
        V4,
        V6,
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101)),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 102)),
    ];
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let (mut adds, mut removes, mut detached) = (0, 0, 0);
    for _round in 0..200 {
        let mut e = engine();
        let mut host = Host::default();
        // (vhid number, id); address i belongs to vhids[i % 2] if tracked.
        let mut ids: Vec<Option<VhidId>> = alloc::vec![None, None];
        let mut tracked = [false; 4];
        for step in 0..60u64 {
            let now = at(step + 1);
            let v = next(2) as usize;
            let a = next(4) as usize;
            match next(7) {
                0 => {
                    if ids[v].is_none() {
                        ids[v] = Some(vhid(&mut e, v as u8 + 1, &[]));
                    }
                }
                1 => {
                    if let Some(id) = ids[v].take() {
                        e.vhid_remove(now, id).unwrap();
                    }
                }
                2 | 3 => {
                    if let Some(id) = ids[v] {
                        let s = [State::Master, State::Backup][next(2) as usize];
                        let _ = e.vhid_force_state(now, id, s);
                    }
                }
                4 => {
                    // Attach: engine first, then the driver's record.
                    if let (Some(id), false) = (ids[a % 2], tracked[a]) {
                        e.addr_add(now, id, addrs[a]).unwrap();
                        e.route_track(IF, addrs[a], false).unwrap();
                        tracked[a] = true;
                    }
                }
                5 => {
                    // Detach: the engine drops it, then the record goes.
                    if tracked[a] {
                        if let Some(id) = ids[a % 2] {
                            let _ = e.addr_remove(now, id, addrs[a]);
                        }
                        if let Some(c) = e.route_untrack(IF, addrs[a], false) {
                            host.apply(c);
                            detached += 1;
                        }
                        tracked[a] = false;
                    }
                }
                _ => {
                    // The applier runs for a while, possibly not to the end.
                    for _ in 0..next(4) {
                        match e.poll_command() {
                            Some(c) => host.apply(c),
                            None => break,
                        }
                    }
                }
            }
        }
        for c in drain(&mut e) {
            host.apply(c);
        }
        // Converged: installed exactly where a MASTER holds the address.
        for (i, addr) in addrs.iter().enumerate() {
            let master = tracked[i]
                && ids[i % 2].is_some_and(|id| {
                    e.vhid_state(id) == Some(State::Master)
                        && e.addrs_v4(id)
                            .iter()
                            .map(|b| IpAddr::from(*b))
                            .chain(e.addrs_v6(id).iter().map(|b| IpAddr::from(*b)))
                            .any(|x| x == *addr)
                });
            assert_eq!(
                host.installed.iter().any(|k| k.0 == *addr),
                master,
                "{addr}"
            );
            assert_eq!(e.route_installed(IF, *addr), master);
        }
        // Every record gone: nothing left behind.
        for (i, addr) in addrs.iter().enumerate() {
            if tracked[i] {
                if let Some(c) = e.route_untrack(IF, *addr, false) {
                    host.apply(c);
                }
            }
        }
        assert_eq!(host.installed, []);
        adds += host.adds;
        removes += host.removes;
    }
    // The walk did exercise installs, removals and MASTER detaches.
    assert!(
        adds > 50 && removes == adds && detached > 10,
        "{adds} {removes} {detached}"
    );
}

/// `poll_command` resumes where it stopped, so a drain of n addresses is n
/// looks; a change in between queues the addresses it touches, passed or
/// not, or an address already passed would keep its routes.
#[test]
fn a_change_mid_drain_revisits_addresses_already_passed() {
    let b4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 101));
    let mut e = engine();
    let id = vhid(&mut e, 5, &[V4, b4]);
    e.route_track(IF, V4, false).unwrap();
    e.route_track(IF, b4, false).unwrap();
    e.vhid_force_state(at(1), id, State::Master).unwrap();
    while e.poll_event().is_some() {}
    // Half-way: V4 installed and announced, b4 installed.
    assert_eq!(e.poll_command(), Some(cmd(Op::RouteAdd, V4, 5)));
    assert_eq!(e.poll_command(), Some(cmd(Op::Garp, V4, 5)));
    assert_eq!(e.poll_command(), Some(cmd(Op::RouteAdd, b4, 5)));
    e.vhid_force_state(at(2), id, State::Backup).unwrap();
    assert_eq!(
        drain(&mut e),
        [cmd(Op::RouteDelete, V4, 5), cmd(Op::RouteDelete, b4, 5)]
    );
    assert!(!e.route_installed(IF, V4) && !e.route_installed(IF, b4));
}

/// A mass failover (parent link up, preempt of a whole group, demotion)
/// is k state changes with the applier draining in between: draining them
/// must cost vhid looks in proportion to the addresses they touch, not to
/// the whole table for every address. 4,080 vhids (255 on each of 16
/// parents, one address each) go MASTER one by one, a drain after each:
/// at most `PER_CHANGE` looks per change, however large the table.
#[test]
fn mass_failover_costs_looks_per_touched_address_not_the_table() {
    const PER_CHANGE: u64 = 8;
    let mut e = Engine::new();
    let mut ids = Vec::new();
    for p in 0..16u8 {
        let iface = IfIndex::from(p) + 1;
        e.set_iface_addrs(
            iface,
            None,
            Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, p.into())),
        )
        .unwrap();
        for n in 1..=255u8 {
            let id = e.vhid_set(at(0), iface, &VhidConfig::new(n)).unwrap();
            let vip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, p.into(), 0, 0, 0, n.into()));
            e.addr_add(at(0), id, vip).unwrap();
            e.route_track(iface, vip, false).unwrap();
            ids.push((id, iface, vip));
        }
    }
    assert_eq!(drain(&mut e), []);
    e.routes.looks.set(0);
    for (k, &(id, iface, vip)) in ids.iter().enumerate() {
        e.vhid_force_state(at(1), id, State::Master).unwrap();
        let cmds = drain(&mut e);
        assert_eq!(
            cmds,
            [
                Command {
                    op: Op::RouteAdd,
                    iface,
                    addr: vip,
                    vhid: e.vhid_config(id).unwrap().vhid
                },
                Command {
                    op: Op::Na,
                    iface,
                    addr: vip,
                    vhid: e.vhid_config(id).unwrap().vhid
                }
            ]
        );
        let looks = e.routes.looks.get();
        let bound = PER_CHANGE * (k as u64 + 1);
        assert!(
            looks <= bound,
            "{looks} vhid looks after {} state changes of {} (bound {bound})",
            k + 1,
            ids.len()
        );
    }
    std::println!(
        "{} looks for {} state changes",
        e.routes.looks.get(),
        ids.len()
    );
}

/// FreeBSD 9's arpbalance: several carpN of one parent hold the same VIP.
/// The published entry names the first MASTER in slot order, moves in
/// place when that one leaves, and follows the holders as the address
/// is detached and a vhid of another number takes it.
#[test]
fn shared_address_follows_the_first_master_in_slot_order() {
    let mut e = engine();
    let two = vhid(&mut e, 2, &[V4]);
    let one = vhid(&mut e, 1, &[V4]);
    e.route_track(IF, V4, true).unwrap();
    e.route_track(IF, V4, true).unwrap();
    e.vhid_force_state(at(1), one, State::Master).unwrap();
    assert_eq!(
        drain(&mut e),
        [cmd(Op::Publish, V4, 1), cmd(Op::Garp, V4, 1)]
    );
    // vhid 2 sits in the first slot: it serves once MASTER too.
    e.vhid_force_state(at(2), two, State::Master).unwrap();
    assert_eq!(
        drain(&mut e),
        [cmd(Op::Publish, V4, 2), cmd(Op::Garp, V4, 2)]
    );
    e.vhid_force_state(at(3), two, State::Backup).unwrap();
    assert_eq!(drain(&mut e), [cmd(Op::Publish, V4, 1)]);
    // vhid 1 lets the address go: vhid 2 alone holds it, as BACKUP.
    e.addr_remove(at(4), one, V4).unwrap();
    assert_eq!(drain(&mut e), [cmd(Op::Unpublish, V4, 1)]);
    e.vhid_force_state(at(5), two, State::Master).unwrap();
    assert_eq!(
        drain(&mut e),
        [cmd(Op::Publish, V4, 2), cmd(Op::Garp, V4, 2)]
    );
    // vhid 2 goes; vhid 9, a number never seen, takes the address.
    e.vhid_remove(at(6), two).unwrap();
    assert_eq!(drain(&mut e), [cmd(Op::Unpublish, V4, 2)]);
    let nine = vhid(&mut e, 9, &[V4]);
    e.vhid_force_state(at(7), nine, State::Master).unwrap();
    assert_eq!(
        drain(&mut e),
        [cmd(Op::Publish, V4, 9), cmd(Op::Garp, V4, 9)]
    );
}
