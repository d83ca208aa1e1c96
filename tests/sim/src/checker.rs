//! The invariants. The checker sees only what a driver sees (events,
//! adverts, drop verdicts, the engine's public queries) plus ground truth
//! only the simulator has: which packets were authentic, when the network
//! last changed, and each host's configuration.

use carp_rs::engine::{Drop, Reason, State};

use crate::scenario::{Proto, Scenario, MS, SEC};
use crate::trace::Trace;
use crate::world::NetState;

/// Nanoseconds per 1/256 s of advskew.
const NS_PER_SKEW: u64 = 3_906_250;
const NS_PER_CS: u64 = 10_000_000;
const MAX_VIOLATIONS: usize = 64;

/// The packet being handled when an event was emitted.
pub struct RxCause {
    pub authentic: bool,
    pub accepted: bool,
}

#[derive(Clone, Debug)]
pub struct Violation {
    pub at: u64,
    pub kind: &'static str,
    pub group: Option<usize>,
    pub detail: String,
}

#[derive(Clone, Default)]
struct Track {
    /// Per family (v4, v6): when the master-down timer was last armed.
    md_armed: [Option<u64>; 2],
    /// Per family: the previous advert (time, advertised skew, whether it
    /// was the first after becoming MASTER).
    prev_adv: [Option<(u64, u8, bool)>; 2],
    first_pending: [bool; 2],
    /// When the vhid last became MASTER.
    master_since: Option<u64>,
}

pub struct Checker {
    track: Vec<Vec<Track>>,
    /// Master-down interval and advert interval parameters per group.
    md: Vec<Vec<u64>>,
    /// Per group: which families (v4, v6) it has addresses in.
    fams: Vec<[bool; 2]>,
    last_change: u64,
    /// Every change at `last_change` restored connectivity.
    heal_only: bool,
    pub violations: Vec<Violation>,
}

pub fn master_down(sc: &Scenario, h: usize, g: usize) -> u64 {
    let grp = &sc.groups[g];
    match grp.proto {
        // 3 × advbase + raw advskew/256: FreeBSD does not triple the skew.
        Proto::Carp => 3 * u64::from(grp.advbase) * SEC + u64::from(grp.pref[h]) * NS_PER_SKEW,
        // RFC 5798: 3 × Master_Adver_Interval + Skew_Time.
        Proto::Vrrp => {
            let mi = u64::from(grp.vrrp_interval) * NS_PER_CS;
            3 * mi + (256 - u64::from(grp.pref[h])) * mi / 256
        }
    }
}

fn advert_interval(sc: &Scenario, g: usize, skew: u8) -> u64 {
    let grp = &sc.groups[g];
    match grp.proto {
        Proto::Carp => u64::from(grp.advbase) * SEC + u64::from(skew) * NS_PER_SKEW,
        Proto::Vrrp => u64::from(grp.vrrp_interval) * NS_PER_CS,
    }
}

/// The slowest a MASTER of group `g` can advertise: skew 240 (the demotion
/// clamp) or the configured skew if larger.
fn worst_advert(sc: &Scenario, g: usize) -> u64 {
    let worst = sc.groups[g]
        .pref
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(240);
    advert_interval(sc, g, worst)
}

impl Checker {
    pub fn new(sc: &Scenario) -> Checker {
        let n = sc.hosts.len();
        let m = sc.groups.len();
        Checker {
            track: vec![vec![Track::default(); m]; n],
            md: (0..n)
                .map(|h| (0..m).map(|g| master_down(sc, h, g)).collect())
                .collect(),
            fams: sc.groups.iter().map(|g| [g.v4, g.v6]).collect(),
            last_change: 0,
            heal_only: false,
            violations: Vec::new(),
        }
    }

    pub fn violation(
        &mut self,
        now: u64,
        kind: &'static str,
        group: Option<usize>,
        detail: String,
        trace: &mut Trace,
    ) {
        trace.line(now, format!("VIOLATION {kind}: {detail}"));
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(Violation {
                at: now,
                kind,
                group,
                detail,
            });
        }
    }

    pub fn on_boot(&mut self, h: usize) {
        for t in &mut self.track[h] {
            *t = Track::default();
        }
    }

    pub fn on_crash(&mut self, h: usize) {
        self.on_boot(h);
    }

    /// A demotion change makes every MASTER advertise at once and re-arm
    /// with the demoted skew: advert spacing restarts from that advert.
    pub fn on_demoted(&mut self, h: usize) {
        for t in &mut self.track[h] {
            t.prev_adv = [None; 2];
            t.first_pending = [false; 2];
        }
    }

    pub fn on_change(&mut self, now: u64, heals: bool, _net: &NetState) {
        if now > self.last_change || now == 0 {
            self.heal_only = heals;
        } else {
            self.heal_only &= heals;
        }
        self.last_change = now;
    }

    /// Longest one-way trip a packet can take: the two slowest attachments
    /// plus the largest jitter ever configured (packets sent under an old
    /// jitter setting may still be in flight).
    pub fn delay_bound(&self, sc: &Scenario, net: &NetState) -> u64 {
        let mut d: Vec<u64> = sc.hosts.iter().map(|h| h.delay).collect();
        d.sort_unstable();
        let two = d.iter().rev().take(2).sum::<u64>();
        two + net.max_jitter
    }

    /// When a connected, loss-free group must have exactly one MASTER:
    /// one master-down interval (the slowest host's) after the last change,
    /// plus one advert interval, plus a trip per host.
    ///
    /// The extra advert interval is real FreeBSD behaviour, not slack: the
    /// master-down timer uses the *raw* advskew, so a demoted host can time
    /// out first, become MASTER and advertise skew 240; every preempting
    /// backup then becomes MASTER in the same burst, and a backup that has
    /// just stepped down for the best master may preempt *again* on an
    /// advert still in flight from a worse one. That second MASTER lasts
    /// until the best master's next advert (found by seed 727).
    pub fn settled(&self, now: u64, g: usize, sc: &Scenario, d: u64) -> bool {
        let md = self.md.iter().map(|per| per[g]).max().unwrap_or(0);
        let hops = sc.hosts.len() as u64 + 1;
        now >= self.last_change + md + worst_advert(sc, g) + hops * d + MS
    }

    /// Whether a dual MASTER among `masters` has lasted too long: in a
    /// connected loss-free segment it must end within one advert interval
    /// (the slowest possible: skew 240, or the configured skew if larger)
    /// plus two trips of whichever came last, connectivity returning or
    /// the newest master appearing. (After a heal, a backup may still
    /// preempt on an advert that was in flight from a master that has
    /// since stepped down: that starts a new, equally short, episode.)
    /// Returns the episode's start if it is overdue.
    pub fn dual_overdue(
        &self,
        now: u64,
        g: usize,
        masters: &[usize],
        sc: &Scenario,
        d: u64,
    ) -> Option<u64> {
        if masters.len() < 2 {
            return None;
        }
        let newest = masters
            .iter()
            .filter_map(|&h| self.track[h][g].master_since)
            .max()
            .unwrap_or(0);
        let start = newest.max(self.last_change);
        (now > start + worst_advert(sc, g) + 2 * d + MS).then_some(start)
    }

    /// The last change restored connectivity only (heal, loss back to 0).
    pub fn last_change_healed(&self) -> bool {
        self.heal_only
    }

    #[allow(clippy::too_many_arguments)]
    pub fn on_state(
        &mut self,
        now: u64,
        h: usize,
        g: usize,
        from: State,
        to: State,
        reason: Reason,
        cause: Option<&RxCause>,
        trace: &mut Trace,
    ) {
        if let Some(c) = cause {
            if !c.accepted || !c.authentic {
                self.violation(
                    now,
                    "unauthenticated-transition",
                    Some(g),
                    format!(
                        "h{h}: {from} -> {to} ({}) on a packet that was {}",
                        reason.as_str(),
                        if c.accepted {
                            "accepted but not authentic"
                        } else {
                            "dropped"
                        }
                    ),
                    trace,
                );
            }
        }
        if to == State::Master {
            let packet_driven = matches!(
                reason,
                Reason::PreemptingSlowerMaster | Reason::MasterWillTimeOut
            );
            if packet_driven && cause.is_none() {
                self.violation(
                    now,
                    "master-without-packet",
                    Some(g),
                    format!(
                        "h{h}: MASTER ({}) with no packet being handled",
                        reason.as_str()
                    ),
                    trace,
                );
            }
            if !matches!(
                reason,
                Reason::PreemptingSlowerMaster
                    | Reason::MasterWillTimeOut
                    | Reason::MasterTimedOut
                    | Reason::UserRequested
            ) {
                self.violation(
                    now,
                    "master-reason",
                    Some(g),
                    format!("h{h}: MASTER for reason {}", reason.as_str()),
                    trace,
                );
            }
            if reason == Reason::MasterTimedOut {
                let t = &self.track[h][g];
                let armed = t.md_armed.iter().flatten().min().copied();
                if let Some(armed) = armed {
                    let due = armed + self.md[h][g];
                    if now != due {
                        self.violation(
                            now,
                            "timer-deadline",
                            Some(g),
                            format!(
                                "h{h}: master-down fired at {now} ns, armed at {armed} for {} ns: due {due}",
                                self.md[h][g]
                            ),
                            trace,
                        );
                    }
                }
            }
        }
        let fams = self.fams[g];
        let t = &mut self.track[h][g];
        t.prev_adv = [None; 2];
        t.first_pending = [to == State::Master; 2];
        // Entering BACKUP arms the timer of each family it has addresses in.
        t.md_armed = fams.map(|has| (has && to == State::Backup).then_some(now));
        t.master_since = (to == State::Master).then_some(now);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn on_receive(
        &mut self,
        now: u64,
        h: usize,
        g: usize,
        v6: bool,
        authentic: bool,
        echo: bool,
        res: Result<(), Drop>,
        before: Option<State>,
        after: Option<State>,
        trace: &mut Trace,
    ) {
        if res.is_ok() && !authentic {
            self.violation(
                now,
                if echo {
                    "accepted-own-advert"
                } else {
                    "accepted-unauthenticated"
                },
                Some(g),
                format!("h{h} accepted a packet that is not authentic"),
                trace,
            );
        }
        // An accepted advert re-arms a BACKUP's timer of that family only.
        if res.is_ok() && before == Some(State::Backup) && after == Some(State::Backup) {
            self.track[h][g].md_armed[usize::from(v6)] = Some(now);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn on_transmit(
        &mut self,
        now: u64,
        h: usize,
        g: usize,
        v6: bool,
        state: Option<State>,
        skew: Option<u8>,
        sc: &Scenario,
        trace: &mut Trace,
    ) {
        if state != Some(State::Master) {
            self.violation(
                now,
                "advert-from-non-master",
                Some(g),
                format!("h{h} advertised in state {state:?}"),
                trace,
            );
        }
        let f = usize::from(v6);
        let cfg_skew = sc.groups[g].pref[h];
        let t = &mut self.track[h][g];
        let first = std::mem::replace(&mut t.first_pending[f], false);
        let prev = t.prev_adv[f].replace((now, skew.unwrap_or(0), first));
        if let Some((t0, s0, was_first)) = prev {
            // FreeBSD quirk: the timer armed on becoming MASTER uses the
            // raw skew; every later one the skew just advertised.
            let s = if was_first { cfg_skew } else { s0 };
            let want = advert_interval(sc, g, s);
            if now - t0 != want {
                self.violation(
                    now,
                    "advert-spacing",
                    Some(g),
                    format!("h{h}: adverts {} ns apart, expected {want}", now - t0),
                    trace,
                );
            }
        }
    }
}
