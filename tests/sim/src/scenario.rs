//! What a run does: the hosts, the vhid groups and a timeline of faults,
//! all drawn from the seed. The timeline alternates chaos windows (loss,
//! partitions, corruption...) with calm windows long enough for the
//! steady-state invariants to apply, and ends calm with every host back.

use core::fmt;

use crate::rng::Rng;

pub const MS: u64 = 1_000_000;
pub const SEC: u64 = 1_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proto {
    Carp,
    Vrrp,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub vhid: u8,
    pub proto: Proto,
    pub v4: bool,
    pub v6: bool,
    /// CARP seconds.
    pub advbase: u8,
    /// VRRP centiseconds.
    pub vrrp_interval: u16,
    /// Per host: advskew (CARP) or priority (VRRP). Distinct within a group
    /// so that an election has a unique winner (FreeBSD steps *both*
    /// masters down on equal adverts, so identical configurations can
    /// legitimately flap).
    pub pref: Vec<u8>,
    /// A host configured with the wrong password for this (CARP) group.
    pub bad_key: Option<usize>,
    /// Index into the VIP plan: groups sharing a VIP (arpbalance) share it.
    pub vip: u8,
}

#[derive(Clone, Debug)]
pub struct HostSpec {
    /// One-way delay this host's attachment adds, ns.
    pub delay: u64,
    pub preempt: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Permille of deliveries lost / duplicated / corrupted (one byte).
    Loss(u32),
    Dup(u32),
    Corrupt(u32),
    /// Extra uniform delay 0..=ns per delivery: reorders packets.
    Jitter(u64),
    /// Side of each host; hosts on different sides cannot talk.
    Partition(Vec<u8>),
    Heal,
    Crash(usize),
    Restart(usize),
    LinkDown(usize),
    LinkUp(usize),
    /// `sysctl net.inet.carp.demotion=<adj>` on a host (writes add).
    Demote(usize, i32),
    Preempt(usize, bool),
    /// `ifconfig ... vhid N state master` on a host.
    ForceMaster(usize, usize),
    /// An attacker injects an advert with a valid checksum, advskew 0 and
    /// a random digest into a CARP group.
    Forge(usize),
    /// The segment echoes every advert back to its sender (VMware, [P5]).
    Echo(bool),
}

impl Action {
    /// Whether this action restores connectivity (the "partition heals"
    /// invariant applies after it) rather than changing the hosts.
    pub fn heals(&self) -> bool {
        matches!(
            self,
            Action::Heal
                | Action::Loss(0)
                | Action::Corrupt(0)
                | Action::Dup(_)
                | Action::Jitter(_)
        )
    }

    /// Forged packets and echo must change nothing, so they do not restart
    /// the steady-state clock.
    pub fn is_change(&self) -> bool {
        !matches!(self, Action::Forge(_) | Action::Echo(_))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Loss(p) => write!(f, "loss {p}‰"),
            Action::Dup(p) => write!(f, "dup {p}‰"),
            Action::Corrupt(p) => write!(f, "corrupt {p}‰"),
            Action::Jitter(ns) => write!(f, "jitter {}us", ns / 1000),
            Action::Partition(sides) => write!(f, "partition {sides:?}"),
            Action::Heal => write!(f, "heal"),
            Action::Crash(h) => write!(f, "crash h{h}"),
            Action::Restart(h) => write!(f, "restart h{h}"),
            Action::LinkDown(h) => write!(f, "link down h{h}"),
            Action::LinkUp(h) => write!(f, "link up h{h}"),
            Action::Demote(h, d) => write!(f, "demote h{h} by {d}"),
            Action::Preempt(h, on) => write!(f, "preempt h{h} {on}"),
            Action::ForceMaster(h, g) => write!(f, "force master h{h} g{g}"),
            Action::Forge(g) => write!(f, "forge advert g{g}"),
            Action::Echo(on) => write!(f, "echo {on}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub seed: u64,
    pub hosts: Vec<HostSpec>,
    pub groups: Vec<Group>,
    pub arpbalance: bool,
    /// Sorted by time; ties keep their order.
    pub actions: Vec<(u64, Action)>,
    pub duration: u64,
}

impl Scenario {
    /// Draws a scenario from `seed`.
    pub fn generate(seed: u64) -> Scenario {
        let mut r = Rng::fork(seed, 1);
        let arpbalance = r.chance(150);
        let n = r.range(2, 5) as usize;
        let hosts: Vec<HostSpec> = (0..n)
            .map(|_| HostSpec {
                delay: r.range(50_000, 4 * MS),
                preempt: false,
            })
            .collect();
        let preempt_all = r.chance(600);
        let mut hosts = hosts;
        for h in &mut hosts {
            h.preempt = if r.chance(900) {
                preempt_all
            } else {
                !preempt_all
            };
        }
        let mut groups = Vec::new();
        if arpbalance {
            // FreeBSD 9 arpbalance: one vhid per host sharing one VIP, each
            // host preferred for its own vhid.
            for h in 0..n {
                let mut pref = bytes(distinct(&mut r, n, 1, 200));
                pref.sort_unstable();
                // Host h gets the smallest skew for vhid h.
                let best = pref.remove(0);
                pref.insert(h, best);
                let advbase = if r.chance(800) { 1 } else { 2 };
                groups.push(Group {
                    vhid: 10 + h as u8,
                    proto: Proto::Carp,
                    v4: true,
                    v6: false,
                    advbase,
                    vrrp_interval: 100,
                    pref,
                    bad_key: None,
                    vip: 0,
                });
            }
            for h in &mut hosts {
                h.preempt = true;
            }
        } else {
            let m = r.range(1, 4) as usize;
            let mut vhids = distinct(&mut r, m, 1, 255);
            for (g, vhid) in vhids.drain(..).enumerate() {
                let proto = if r.chance(300) {
                    Proto::Vrrp
                } else {
                    Proto::Carp
                };
                let (v4, v6) = match r.below(4) {
                    0 => (false, true),
                    1 => (true, true),
                    _ => (true, false),
                };
                let pref = match proto {
                    Proto::Carp => bytes(distinct(&mut r, n, 0, 200)),
                    Proto::Vrrp => bytes(distinct(&mut r, n, 1, 254)),
                };
                let bad_key =
                    (proto == Proto::Carp && r.chance(250)).then(|| r.below(n as u64) as usize);
                groups.push(Group {
                    vhid: vhid as u8,
                    proto,
                    v4,
                    v6,
                    advbase: *r.pick(&[1, 1, 1, 2, 3]),
                    vrrp_interval: *r.pick(&[100, 100, 50, 30, 200]),
                    pref,
                    bad_key,
                    vip: g as u8,
                });
            }
        }
        let duration = r.range(90, 150) * SEC;
        let actions = timeline(&mut r, n, &groups, duration);
        Scenario {
            seed,
            hosts,
            groups,
            arpbalance,
            actions,
            duration,
        }
    }

    /// The same scenario with only the actions whose indices are in `keep`.
    pub fn keep(&self, keep: &[usize]) -> Scenario {
        let mut s = self.clone();
        s.actions = self
            .actions
            .iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, a)| a.clone())
            .collect();
        s
    }
}

fn bytes(v: Vec<u64>) -> Vec<u8> {
    v.into_iter().map(|x| x as u8).collect()
}

/// `count` distinct values in `lo..=hi`.
fn distinct(r: &mut Rng, count: usize, lo: u64, hi: u64) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    while out.len() < count {
        let v = r.range(lo, hi);
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn timeline(r: &mut Rng, n: usize, groups: &[Group], duration: u64) -> Vec<(u64, Action)> {
    let mut out = Vec::new();
    let mut crashed = vec![false; n];
    let mut down = vec![false; n];
    let mut demoted = vec![0i32; n];
    let mut t = r.range(5, 12) * SEC;
    while t + 25 * SEC < duration {
        if r.chance(450) {
            // Chaos window.
            let len = r.range(2, 15) * SEC;
            let end = t + len;
            let mut at = t;
            let mut partitioned = false;
            while at < end {
                let a = match r.below(9) {
                    0 => Action::Loss(*r.pick(&[50, 200, 500, 1000])),
                    1 => Action::Dup(*r.pick(&[0, 100, 300])),
                    2 => Action::Corrupt(*r.pick(&[20, 100, 300])),
                    3 => Action::Jitter(r.range(0, 20) * MS),
                    4 | 5 => {
                        partitioned = true;
                        Action::Partition((0..n).map(|_| r.below(2) as u8).collect())
                    }
                    6 => Action::Echo(r.chance(500)),
                    7 => Action::Forge(r.below(groups.len() as u64) as usize),
                    _ => host_action(r, n, groups, &mut crashed, &mut down, &mut demoted),
                };
                out.push((at, a));
                at += r.range(100, 4000) * MS;
            }
            // Restore connectivity, all at one instant.
            if partitioned || r.chance(500) {
                out.push((end, Action::Heal));
            }
            out.push((end, Action::Loss(0)));
            out.push((end, Action::Corrupt(0)));
            if r.chance(500) {
                out.push((end, Action::Jitter(r.range(0, 3) * MS)));
            }
            t = end;
        } else {
            // One host-level change, then quiet.
            out.push((
                t,
                host_action(r, n, groups, &mut crashed, &mut down, &mut demoted),
            ));
            if r.chance(300) {
                out.push((
                    t + r.range(0, 5) * SEC,
                    Action::Forge(r.below(groups.len() as u64) as usize),
                ));
            }
        }
        // Calm long enough for every group to settle (advbase 3: 9 s + skew).
        t += r.range(12, 22) * SEC;
    }
    // Bring everything back and finish calm.
    out.push((t, Action::Heal));
    out.push((t, Action::Loss(0)));
    out.push((t, Action::Corrupt(0)));
    for h in 0..n {
        if crashed[h] {
            out.push((t, Action::Restart(h)));
        }
        if down[h] {
            out.push((t, Action::LinkUp(h)));
        }
        if demoted[h] != 0 {
            out.push((t, Action::Demote(h, -demoted[h])));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

fn host_action(
    r: &mut Rng,
    n: usize,
    groups: &[Group],
    crashed: &mut [bool],
    down: &mut [bool],
    demoted: &mut [i32],
) -> Action {
    let h = r.below(n as u64) as usize;
    match r.below(7) {
        0 | 1 => {
            if crashed[h] {
                crashed[h] = false;
                demoted[h] = 0;
                Action::Restart(h)
            } else {
                crashed[h] = true;
                Action::Crash(h)
            }
        }
        2 => {
            down[h] = !down[h];
            if down[h] {
                Action::LinkDown(h)
            } else {
                Action::LinkUp(h)
            }
        }
        3 | 4 => {
            if demoted[h] != 0 {
                let d = -demoted[h];
                demoted[h] = 0;
                Action::Demote(h, d)
            } else {
                let d = *r.pick(&[1, 20, 50, 100, 240]);
                demoted[h] = d;
                Action::Demote(h, d)
            }
        }
        5 => Action::Preempt(h, r.chance(600)),
        _ => Action::ForceMaster(h, r.below(groups.len() as u64) as usize),
    }
}
