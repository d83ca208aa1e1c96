//! The simulated segment: hosts running the real engine, a virtual clock,
//! and an L2 segment with per-link delay, jitter, loss, duplication,
//! corruption, partitions and echo. The driver loop is the one every real
//! driver runs: feed the engine, drain events and adverts, re-arm the one
//! timer at `poll_timeout()`.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use carp_rs::auth::Key;
use carp_rs::engine::{Drop, Engine, Event, Instant, Received, State, Version, VhidConfig, VhidId};
use carp_rs::wire::{self, CarpPacket, CarpRepr, CARP_GROUP_V4};

use crate::checker::{Checker, RxCause};
use crate::rng::Rng;
use crate::scenario::{Action, Proto, Scenario, MS};
use crate::trace::Trace;
use crate::{Mutant, Options};

pub const IFACE: u32 = 1;

/// The hosts' own addresses: 192.0.2.1.. and 2001:db8::1...
pub fn host_v4(h: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 1 + h as u8)
}

pub fn host_v6(h: usize) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1 + h as u16)
}

pub fn vip_v4(vip: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 100 + vip)
}

pub fn vip_v6(vip: u8) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100 + u16::from(vip))
}

/// An attacker's source address for forged adverts.
const FORGER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 250);

pub struct Host {
    pub engine: Option<Engine>,
    pub link_up: bool,
    pub preempt: bool,
    /// Per group.
    pub ids: Vec<Option<VhidId>>,
    pub timer: Option<u64>,
    pub boots: u64,
}

impl Host {
    pub fn alive(&self) -> bool {
        self.engine.is_some()
    }

    pub fn state(&self, g: usize) -> Option<State> {
        let e = self.engine.as_ref()?;
        e.vhid_state((*self.ids.get(g)?)?)
    }
}

struct Packet {
    to: usize,
    /// `None` for a forged packet.
    from: Option<usize>,
    group: Option<usize>,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    payload: Vec<u8>,
    corrupted: bool,
    echo: bool,
}

struct Queued {
    at: u64,
    seq: u64,
    pkt: Packet,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    /// Reversed: `BinaryHeap` is a max-heap and we want the earliest.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
pub struct NetState {
    pub loss: u32,
    pub dup: u32,
    pub corrupt: u32,
    pub jitter: u64,
    pub max_jitter: u64,
    pub sides: Option<Vec<u8>>,
    pub echo: bool,
}

impl NetState {
    /// Loss-free and connected: where the steady-state invariants apply.
    /// Duplication and jitter are allowed; they must not matter.
    pub fn calm(&self) -> bool {
        self.loss == 0 && self.corrupt == 0 && self.sides.is_none()
    }
}

#[derive(Default, Clone, Debug)]
pub struct RunStats {
    pub adverts: u64,
    pub deliveries: u64,
    pub lost: u64,
    pub rejected: u64,
    pub transitions: u64,
    pub steady_checks: u64,
    pub tie_skips: u64,
    pub arp_checks: u64,
    /// Conflict reports (split brain, bad auth, protocol clash).
    pub conflicts: u64,
}

/// What the simulator knows of one bad-auth episode's report.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Episode {
    Unreported,
    Reported,
    /// Began after a gap too close to the detector's limit to judge.
    Unknown,
}

pub struct World<'a> {
    pub sc: &'a Scenario,
    pub opts: &'a Options,
    pub now: u64,
    /// Bad-authentication episodes per (host, vhid, peer): last drop,
    /// and the episode's report state (checks "once per episode").
    badauth: HashMap<(usize, u8, IpAddr), (u64, Episode)>,
    pub hosts: Vec<Host>,
    pub net: NetState,
    pub checker: Checker,
    pub trace: Trace,
    pub stats: RunStats,
    heap: BinaryHeap<Queued>,
    seq: u64,
    rng: Rng,
    buf: Vec<u8>,
    /// Set while a received packet is being handled, for the checker.
    cause: Option<RxCause>,
    pub broken: bool,
}

impl<'a> World<'a> {
    pub fn new(sc: &'a Scenario, opts: &'a Options) -> World<'a> {
        let hosts = sc
            .hosts
            .iter()
            .map(|h| Host {
                engine: None,
                link_up: true,
                preempt: h.preempt,
                ids: vec![None; sc.groups.len()],
                timer: None,
                boots: 0,
            })
            .collect();
        World {
            sc,
            opts,
            now: 0,
            hosts,
            net: NetState::default(),
            checker: Checker::new(sc),
            trace: Trace::new(opts.verbose),
            stats: RunStats::default(),
            heap: BinaryHeap::new(),
            seq: 0,
            rng: Rng::fork(sc.seed, 2),
            buf: vec![0; 1500],
            cause: None,
            broken: false,
            badauth: HashMap::new(),
        }
    }

    pub fn key(&self, h: usize, g: usize) -> Key {
        let grp = &self.sc.groups[g];
        let pass = if grp.bad_key == Some(h) {
            "wrongpass".to_string()
        } else {
            format!("sim-group-{g}")
        };
        Key::new(pass.as_bytes()).expect("short password")
    }

    /// Boots host `h`: a fresh engine configured as the scenario says.
    pub fn boot(&mut self, h: usize) {
        let now = Instant::from_nanos(self.now);
        // A fresh engine has a fresh detector.
        self.badauth.retain(|k, _| k.0 != h);
        let host = &mut self.hosts[h];
        host.boots += 1;
        let mut e = Engine::new();
        e.seed_rng(self.sc.seed ^ ((h as u64) << 40) ^ (host.boots << 20));
        e.set_iface_addrs(IFACE, Some(host_v4(h)), Some(host_v6(h)))
            .expect("iface");
        e.set_preempt(host.preempt && self.opts.mutant != Some(Mutant::LostPreempt));
        e.set_arpbalance(self.sc.arpbalance);
        // Opt-in replay protection on a third of the seeds: it must never
        // cost a live master its fresh adverts (under duplication,
        // reordering, restarts and partitions the invariants still hold).
        if self.sc.seed % 3 == 1 {
            e.set_replay_check(true).expect("replay table");
        }
        if !host.link_up {
            e.link_state(now, IFACE, false);
        }
        let mut ids = Vec::new();
        for (g, grp) in self.sc.groups.iter().enumerate() {
            let mut cfg = VhidConfig::new(grp.vhid);
            match grp.proto {
                Proto::Carp => {
                    cfg.advbase = grp.advbase;
                    cfg.advskew = grp.pref[h];
                }
                Proto::Vrrp => {
                    cfg.version = Version::Vrrp3;
                    cfg.vrrp_priority = grp.pref[h];
                    cfg.vrrp_interval = grp.vrrp_interval;
                }
            }
            cfg.key = self.key(h, g);
            let id = e.vhid_set(now, IFACE, &cfg).expect("vhid_set");
            if grp.v4 {
                e.addr_add(now, id, IpAddr::V4(vip_v4(grp.vip)))
                    .expect("addr_add");
            }
            if grp.v6 {
                e.addr_add(now, id, IpAddr::V6(vip_v6(grp.vip)))
                    .expect("addr_add");
            }
            ids.push(Some(id));
        }
        let host = &mut self.hosts[h];
        host.ids = ids;
        host.engine = Some(e);
        self.checker.on_boot(h);
        self.drain(h);
    }

    fn group_of_vhid(&self, vhid: u8) -> Option<usize> {
        self.sc.groups.iter().position(|g| g.vhid == vhid)
    }

    /// Drains events and adverts of host `h` and re-arms its timer.
    fn drain(&mut self, h: usize) {
        let now = self.now;
        while let Some(ev) = self.hosts[h].engine.as_mut().and_then(Engine::poll_event) {
            self.on_event(h, ev);
        }
        loop {
            let mut buf = std::mem::take(&mut self.buf);
            let tx = self.hosts[h]
                .engine
                .as_mut()
                .and_then(|e| e.poll_transmit(&mut buf));
            let Some(tx) = tx else {
                self.buf = buf;
                break;
            };
            let payload = buf[..tx.len].to_vec();
            self.buf = buf;
            if let Some(e) = self.hosts[h].engine.as_mut() {
                e.transmit_result(Instant::from_nanos(now), tx.id, true);
            }
            let g = self.group_of_vhid(tx.vhid);
            self.stats.adverts += 1;
            let fam = if tx.src.is_ipv6() { "v6" } else { "v4" };
            let what = describe(&payload);
            self.trace.line(now, format!("h{h} tx {fam} {what}"));
            if let Some(g) = g {
                let state = self.hosts[h].state(g);
                let skew = (self.sc.groups[g].proto == Proto::Carp)
                    .then(|| payload.get(2).copied().unwrap_or(0));
                self.checker.on_transmit(
                    now,
                    h,
                    g,
                    tx.src.is_ipv6(),
                    state,
                    skew,
                    self.sc,
                    &mut self.trace,
                );
            }
            // A transmit may carry events (none today), so loop on both.
            while let Some(ev) = self.hosts[h].engine.as_mut().and_then(Engine::poll_event) {
                self.on_event(h, ev);
            }
            self.send(h, g, tx.src, tx.dst, tx.ttl, payload);
        }
        let timer = self.hosts[h]
            .engine
            .as_ref()
            .and_then(Engine::poll_timeout)
            .map(Instant::as_nanos);
        if let Some(t) = timer {
            if t < now {
                self.checker.violation(
                    now,
                    "timer-in-past",
                    None,
                    format!("h{h}: poll_timeout {t} is before now {now}"),
                    &mut self.trace,
                );
                self.broken = true;
            }
        }
        let late = if self.opts.mutant == Some(Mutant::LateTimers) {
            MS
        } else {
            0
        };
        self.hosts[h].timer = timer.map(|t| t + late);
    }

    fn on_event(&mut self, h: usize, ev: Event) {
        let now = self.now;
        match ev {
            Event::StateChanged {
                vhid,
                from,
                to,
                reason,
                ..
            } => {
                self.stats.transitions += 1;
                self.trace.line(
                    now,
                    format!("h{h} vhid {vhid} {from} -> {to} ({})", reason.as_str()),
                );
                if let Some(g) = self.group_of_vhid(vhid) {
                    self.checker.on_state(
                        now,
                        h,
                        g,
                        from,
                        to,
                        reason,
                        self.cause.as_ref(),
                        &mut self.trace,
                    );
                }
            }
            Event::Announce { vhid, .. } => {
                self.trace.line(now, format!("h{h} vhid {vhid} announce"));
                if let Some(g) = self.group_of_vhid(vhid) {
                    if self.hosts[h].state(g) != Some(State::Master) {
                        self.checker.violation(
                            now,
                            "announce-not-master",
                            Some(g),
                            format!("h{h} announced vhid {vhid} without being MASTER"),
                            &mut self.trace,
                        );
                    }
                }
            }
            Event::Demoted { by, total, reason } => {
                self.trace.line(
                    now,
                    format!("h{h} demoted by {by} to {total} ({})", reason.as_str()),
                );
                self.checker.on_demoted(h);
                // The ledger always explains the whole demotion.
                if let Some(e) = self.hosts[h].engine.as_ref() {
                    let sum: i64 = e.demotion_sources().map(|(_, v)| v).sum();
                    if sum != i64::from(e.knobs().demotion) {
                        self.checker.violation(
                            now,
                            "demotion-ledger",
                            None,
                            format!(
                                "h{h}: sources sum to {sum}, demotion is {} (event total {total})",
                                e.knobs().demotion
                            ),
                            &mut self.trace,
                        );
                        self.broken = true;
                    }
                }
            }
            Event::Conflict {
                vhid, peer, kind, ..
            } => {
                self.stats.conflicts += 1;
                self.trace.line(
                    now,
                    format!("h{h} vhid {vhid} conflict from {peer}: {kind:?}"),
                );
                // Only adverts between the host with the wrong password and
                // the others fail the HMAC (a corrupted advert fails its
                // checksum first), and the forger's.
                if let (carp_rs::engine::Conflict::BadAuth(_), Some(g)) =
                    (kind, self.group_of_vhid(vhid))
                {
                    let untracked = self.hosts[h]
                        .engine
                        .as_ref()
                        .map_or(0, Engine::untracked_episodes);
                    match self.badauth.get_mut(&(h, vhid, peer)) {
                        Some(e) if e.1 == Episode::Reported && untracked == 0 => {
                            self.checker.violation(
                                now,
                                "badauth-reported-twice",
                                Some(g),
                                format!("h{h}: a second bad-auth report for {peer} in one episode"),
                                &mut self.trace,
                            );
                        }
                        Some(e) if e.1 == Episode::Unreported => e.1 = Episode::Reported,
                        _ => {}
                    }
                    let bad = self.sc.groups[g].bad_key;
                    let from_bad = peer == IpAddr::V4(FORGER)
                        || bad.is_some_and(|b| {
                            peer == IpAddr::V4(host_v4(b)) || peer == IpAddr::V6(host_v6(b))
                        });
                    if !from_bad && bad != Some(h) {
                        self.checker.violation(
                            now,
                            "false-badauth",
                            Some(g),
                            format!("h{h}: bad-auth report for {peer}, not the wrong-key host"),
                            &mut self.trace,
                        );
                    }
                }
            }
            Event::BadPacket { vhid, drop, .. } => {
                self.trace.line(
                    now,
                    format!("h{h} bad packet vhid {vhid}: {}", drop.as_str()),
                );
            }
        }
    }

    /// The detector's episode rule, seen from outside: a bad-auth episode
    /// of (host, vhid, peer) ends after 3 x max(advert interval, 1 s) of
    /// silence, and each episode is reported exactly once (while the
    /// detector's table has room). Gaps within 1 ms of the limit are
    /// ambiguous and not judged.
    fn note_badauth(&mut self, h: usize, g: usize, peer: IpAddr, untracked: u64) {
        let now = self.now;
        let grp = &self.sc.groups[g];
        let interval =
            u64::from(grp.advbase) * 1_000_000_000 + u64::from(grp.pref[h]) * 1_000_000_000 / 256;
        let quiet = 3 * interval.max(1_000_000_000);
        let key = (h, grp.vhid, peer);
        match self.badauth.get(&key).copied() {
            Some((last, _)) if now.saturating_sub(last) + MS <= quiet => {
                if let Some(e) = self.badauth.get_mut(&key) {
                    e.0 = now;
                }
            }
            Some((last, state)) if now.saturating_sub(last) >= quiet + MS => {
                if state == Episode::Unreported && untracked == 0 {
                    self.checker.violation(
                        now,
                        "badauth-episode-unreported",
                        Some(g),
                        format!("h{h}: a bad-auth episode from {peer} ended without a report"),
                        &mut self.trace,
                    );
                }
                self.badauth.insert(key, (now, Episode::Unreported));
            }
            Some(_) => {
                // Ambiguous gap: not judged until the next clear episode.
                self.badauth.insert(key, (now, Episode::Unknown));
            }
            None => {
                self.badauth.insert(key, (now, Episode::Unreported));
            }
        }
    }

    fn delay_of(&mut self, from: usize, to: usize) -> u64 {
        let base = self.sc.hosts[from].delay + self.sc.hosts[to].delay;
        let j = if self.net.jitter > 0 {
            self.rng.below(self.net.jitter + 1)
        } else {
            0
        };
        base + j
    }

    /// Puts one advert on the segment: a copy to every other host (and to
    /// the sender itself when the segment echoes), each subject to the
    /// partition, loss, duplication, corruption and delay of its link.
    fn send(
        &mut self,
        h: usize,
        g: Option<usize>,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: Vec<u8>,
    ) {
        for r in 0..self.hosts.len() {
            let echo = r == h;
            if echo && !self.net.echo {
                continue;
            }
            if let Some(sides) = &self.net.sides {
                if sides[h] != sides[r] {
                    continue;
                }
            }
            if self.net.loss > 0 && self.rng.chance(self.net.loss) {
                self.stats.lost += 1;
                continue;
            }
            let copies = if self.net.dup > 0 && self.rng.chance(self.net.dup) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let mut p = payload.clone();
                let mut corrupted = false;
                if self.net.corrupt > 0 && self.rng.chance(self.net.corrupt) && !p.is_empty() {
                    let i = self.rng.below(p.len() as u64) as usize;
                    p[i] ^= 1 + self.rng.below(255) as u8;
                    corrupted = true;
                }
                let at = self.now + self.delay_of(h, r);
                self.push(
                    at,
                    Packet {
                        to: r,
                        from: Some(h),
                        group: g,
                        src,
                        dst,
                        ttl,
                        payload: p,
                        corrupted,
                        echo,
                    },
                );
            }
        }
    }

    fn push(&mut self, at: u64, pkt: Packet) {
        self.seq += 1;
        self.heap.push(Queued {
            at,
            seq: self.seq,
            pkt,
        });
    }

    fn deliver(&mut self, pkt: Packet) {
        let now = self.now;
        let r = pkt.to;
        if !self.hosts[r].alive() || !self.hosts[r].link_up {
            return;
        }
        let g = pkt.group;
        if self.opts.mutant == Some(Mutant::DeafMaster) {
            // The broken rule: a MASTER never looks at adverts, so it
            // never steps down.
            if g.is_some_and(|g| self.hosts[r].state(g) == Some(State::Master)) {
                return;
            }
        }
        self.stats.deliveries += 1;
        let authentic = !pkt.corrupted
            && !pkt.echo
            && match (pkt.from, g) {
                (Some(from), Some(g)) => {
                    self.sc.groups[g].proto == Proto::Vrrp || self.key(from, g) == self.key(r, g)
                }
                _ => false,
            };
        let before = g.and_then(|g| self.hosts[r].state(g));
        let rx = Received {
            iface: IFACE,
            src: pkt.src,
            dst: pkt.dst,
            ttl: pkt.ttl,
            payload: &pkt.payload,
        };
        let e = self.hosts[r].engine.as_mut().expect("alive");
        let res = e.handle_packet(Instant::from_nanos(now), &rx);
        let untracked = e.untracked_episodes();
        let after = g.and_then(|g| self.hosts[r].state(g));
        if let (Err(Drop::BadAuth), Some(g)) = (res, g) {
            self.note_badauth(r, g, pkt.src, untracked);
        }
        let from = pkt
            .from
            .map_or_else(|| "forger".to_string(), |f| format!("h{f}"));
        let tag = match (pkt.echo, pkt.corrupted) {
            (true, _) => " echo",
            (_, true) => " corrupted",
            _ => "",
        };
        let verdict = match res {
            Ok(()) => "ok".to_string(),
            Err(d) => {
                self.stats.rejected += 1;
                format!("drop {}", d.as_str())
            }
        };
        self.trace.line(
            now,
            format!(
                "h{r} rx from {from}{tag} {}: {verdict}",
                describe(&pkt.payload)
            ),
        );
        if let Some(g) = g {
            self.checker.on_receive(
                now,
                r,
                g,
                pkt.src.is_ipv6(),
                authentic,
                pkt.echo,
                res,
                before,
                after,
                &mut self.trace,
            );
        }
        self.cause = Some(RxCause {
            authentic,
            accepted: res.is_ok(),
        });
        self.drain(r);
        self.cause = None;
    }

    fn fire_timer(&mut self, h: usize) {
        let now = self.now;
        let Some(e) = self.hosts[h].engine.as_mut() else {
            return;
        };
        e.handle_timeout(Instant::from_nanos(now));
        self.drain(h);
        if let Some(t) = self.hosts[h].timer {
            let late = if self.opts.mutant == Some(Mutant::LateTimers) {
                MS
            } else {
                0
            };
            if t <= now && late == 0 {
                self.checker.violation(
                    now,
                    "timer-not-consumed",
                    None,
                    format!("h{h}: handle_timeout({now}) left a timer due at {t}"),
                    &mut self.trace,
                );
                self.broken = true;
            }
        }
    }

    pub fn apply(&mut self, a: &Action) {
        let now = self.now;
        self.trace.line(now, format!("action: {a}"));
        let ins = Instant::from_nanos(now);
        match a {
            Action::Loss(p) => self.net.loss = *p,
            Action::Dup(p) => self.net.dup = *p,
            Action::Corrupt(p) => self.net.corrupt = *p,
            Action::Jitter(j) => {
                self.net.jitter = *j;
                self.net.max_jitter = self.net.max_jitter.max(*j);
            }
            Action::Partition(sides) => {
                if sides.len() == self.hosts.len() {
                    self.net.sides = Some(sides.clone());
                }
            }
            Action::Heal => self.net.sides = None,
            Action::Crash(h) => {
                let host = &mut self.hosts[*h];
                host.engine = None;
                host.timer = None;
                self.checker.on_crash(*h);
            }
            Action::Restart(h) => {
                if !self.hosts[*h].alive() {
                    self.boot(*h);
                }
            }
            Action::LinkDown(h) | Action::LinkUp(h) => {
                let up = matches!(a, Action::LinkUp(_));
                self.hosts[*h].link_up = up;
                if let Some(e) = self.hosts[*h].engine.as_mut() {
                    e.link_state(ins, IFACE, up);
                    self.drain(*h);
                }
            }
            Action::Demote(h, d) => {
                if let Some(e) = self.hosts[*h].engine.as_mut() {
                    e.demote(ins, *d, carp_rs::engine::DemoteReason::Sysctl);
                    self.drain(*h);
                }
            }
            Action::Preempt(h, on) => {
                self.hosts[*h].preempt = *on;
                if let Some(e) = self.hosts[*h].engine.as_mut() {
                    e.set_preempt(*on && self.opts.mutant != Some(Mutant::LostPreempt));
                }
            }
            Action::ForceMaster(h, g) => {
                let id = self.hosts[*h].ids.get(*g).copied().flatten();
                if let (Some(e), Some(id)) = (self.hosts[*h].engine.as_mut(), id) {
                    // Refused (EINVAL) in INIT, as ifconfig would be.
                    let _ = e.vhid_force_state(ins, id, State::Master);
                    self.drain(*h);
                }
            }
            Action::Forge(g) => self.forge(*g),
            Action::Echo(on) => self.net.echo = *on,
        }
        if a.is_change() {
            self.checker.on_change(now, a.heals(), &self.net);
        }
    }

    /// A well-formed CARP advert claiming the best possible skew, with a
    /// digest the attacker cannot compute.
    fn forge(&mut self, g: usize) {
        let grp = &self.sc.groups[g];
        if grp.proto != Proto::Carp || !grp.v4 {
            return;
        }
        let mut digest = [0u8; 20];
        for b in &mut digest {
            *b = self.rng.below(256) as u8;
        }
        let repr = CarpRepr {
            vhid: grp.vhid,
            advskew: 0,
            advbase: 1,
            demote: 0,
            counter: self.rng.next_u64(),
            digest,
        };
        let mut p = vec![0u8; repr.buffer_len()];
        repr.emit(&mut CarpPacket::new_unchecked(&mut p[..]));
        for r in 0..self.hosts.len() {
            let at = self.now + self.sc.hosts[r].delay;
            self.push(
                at,
                Packet {
                    to: r,
                    from: None,
                    group: Some(g),
                    src: IpAddr::V4(FORGER),
                    dst: IpAddr::V4(CARP_GROUP_V4),
                    ttl: wire::CARP_TTL,
                    payload: p.clone(),
                    corrupted: false,
                    echo: false,
                },
            );
        }
    }

    fn next_timer(&self) -> Option<(u64, usize)> {
        self.hosts
            .iter()
            .enumerate()
            .filter_map(|(h, host)| host.timer.map(|t| (t, h)))
            .min()
    }

    /// Runs the scenario to its end (or the first violation if asked).
    pub fn run(&mut self) {
        for h in 0..self.hosts.len() {
            self.boot(h);
        }
        self.checker.on_change(0, false, &self.net);
        let mut next = 0;
        loop {
            let ta = self.sc.actions.get(next).map(|a| a.0);
            let tt = self.next_timer();
            let tp = self.heap.peek().map(|q| q.at);
            let t = [ta, tt.map(|x| x.0), tp].into_iter().flatten().min();
            let Some(t) = t else { break };
            if t > self.sc.duration {
                break;
            }
            self.now = t;
            if ta == Some(t) {
                let a = self.sc.actions[next].1.clone();
                next += 1;
                self.apply(&a);
            } else if let Some((_, h)) = tt.filter(|x| x.0 == t) {
                self.hosts[h].timer = None;
                self.fire_timer(h);
            } else if let Some(q) = self.heap.pop() {
                self.deliver(q.pkt);
            }
            self.check_steady();
            if self.broken || (self.opts.stop_at_first && !self.checker.violations.is_empty()) {
                break;
            }
        }
    }

    /// The steady-state invariants, evaluated after every step.
    fn check_steady(&mut self) {
        let now = self.now;
        if !self.net.calm() {
            return;
        }
        let d = self.checker.delay_bound(self.sc, &self.net);
        let mut all_steady = true;
        let mut any = false;
        for g in 0..self.sc.groups.len() {
            let grp = &self.sc.groups[g];
            let live: Vec<usize> = (0..self.hosts.len())
                .filter(|&h| {
                    self.hosts[h].alive() && self.hosts[h].link_up && grp.bad_key != Some(h)
                })
                .collect();
            if live.is_empty() {
                all_steady = false;
                continue;
            }
            let masters: Vec<usize> = live
                .iter()
                .copied()
                .filter(|&h| self.hosts[h].state(g) == Some(State::Master))
                .collect();
            // A dual MASTER (e.g. after a partition heals) ends within one
            // advert interval.
            if let Some(start) = self.checker.dual_overdue(now, g, &masters, self.sc, d) {
                let kind = if self.checker.last_change_healed() {
                    "heal-dual-master"
                } else {
                    "dual-master-duration"
                };
                self.checker.violation(
                    now,
                    kind,
                    Some(g),
                    format!(
                        "vhid {}: masters {masters:?} since {start} ns, longer than one advert interval + 2 delays",
                        grp.vhid
                    ),
                    &mut self.trace,
                );
            }
            if !self.checker.settled(now, g, self.sc, d) {
                all_steady = false;
                continue;
            }
            // Preference of each live host: lower is better.
            let prefs: Vec<(u32, usize)> = live
                .iter()
                .map(|&h| {
                    let e = self.hosts[h].engine.as_ref().expect("alive");
                    let id = self.hosts[h].ids[g].expect("configured");
                    let p = match grp.proto {
                        Proto::Carp => u32::from(e.vhid_effective_advskew(id).unwrap_or(255)),
                        // Priority, then the higher address wins (RFC 5798).
                        Proto::Vrrp => (255 - u32::from(grp.pref[h])) * 256 + (255 - h as u32),
                    };
                    (p, h)
                })
                .collect();
            let mut sorted = prefs.clone();
            sorted.sort_unstable();
            if sorted.windows(2).any(|w| w[0].0 == w[1].0) {
                // Equal adverts: FreeBSD steps both masters down and the
                // first master-down timer re-elects; with symmetric delays
                // that can legitimately repeat. No unique winner to check.
                self.stats.tie_skips += 1;
                all_steady = false;
                continue;
            }
            any = true;
            if masters.len() != 1 {
                self.checker.violation(
                    now,
                    "steady-master-count",
                    Some(g),
                    format!(
                        "vhid {}: {} masters {masters:?} among live {live:?} one master-down interval after the last change",
                        grp.vhid,
                        masters.len()
                    ),
                    &mut self.trace,
                );
                continue;
            }
            let best = sorted[0].1;
            if self.hosts[best].preempt && masters[0] != best {
                self.checker.violation(
                    now,
                    "preempt-winner",
                    Some(g),
                    format!(
                        "vhid {}: preempt is on and h{best} is most preferred, but h{} is MASTER",
                        grp.vhid, masters[0]
                    ),
                    &mut self.trace,
                );
            }
            if grp.v4 && !self.sc.arpbalance {
                self.stats.arp_checks += 1;
                let vip = vip_v4(grp.vip);
                let want = wire::virtual_mac(grp.vhid);
                for req in [1u8, 2, 3, 77] {
                    let requester = Ipv4Addr::new(198, 51, 100, req);
                    let answering: Vec<usize> = live
                        .iter()
                        .copied()
                        .filter(|&h| {
                            let e = self.hosts[h].engine.as_ref().expect("alive");
                            e.arp_reply_mac(IFACE, vip, requester) == Some(want)
                        })
                        .collect();
                    let other = live.iter().any(|&h| {
                        let e = self.hosts[h].engine.as_ref().expect("alive");
                        e.arp_reply_mac(IFACE, vip, requester)
                            .is_some_and(|m| m != want)
                    });
                    if answering.len() != 1 || other {
                        self.checker.violation(
                            now,
                            "arp-answers",
                            Some(g),
                            format!("VIP {vip} from {requester}: answered by {answering:?} (wrong MAC: {other})"),
                            &mut self.trace,
                        );
                    }
                }
            }
        }
        if any {
            self.stats.steady_checks += 1;
        }
        if self.sc.arpbalance && all_steady {
            self.stats.arp_checks += 1;
            let vip = vip_v4(0);
            for req in 1..=12u8 {
                let requester = Ipv4Addr::new(198, 51, 100, req);
                let answering: Vec<(usize, [u8; 6])> = (0..self.hosts.len())
                    .filter(|&h| self.hosts[h].alive() && self.hosts[h].link_up)
                    .filter_map(|h| {
                        let e = self.hosts[h].engine.as_ref().expect("alive");
                        e.arp_reply_mac(IFACE, vip, requester).map(|m| (h, m))
                    })
                    .collect();
                if answering.len() != 1 {
                    self.checker.violation(
                        now,
                        "arpbalance-answers",
                        None,
                        format!("VIP {vip} from {requester}: answered by {answering:?}"),
                        &mut self.trace,
                    );
                }
            }
        }
    }
}

/// One-line summary of an advert for the trace.
pub fn describe(p: &[u8]) -> String {
    match wire::version_of(p) {
        Some(2) if p.len() >= 16 => format!(
            "carp vhid {} base {} skew {} ctr {:016x}",
            p[1],
            p[5],
            p[2],
            u64::from_be_bytes(p[8..16].try_into().expect("8 bytes"))
        ),
        Some(3) if p.len() >= 8 => format!(
            "vrrp vrid {} prio {} int {}",
            p[1],
            p[2],
            u16::from_be_bytes([p[4], p[5]]) & 0x0fff
        ),
        _ => format!("{} bytes", p.len()),
    }
}
