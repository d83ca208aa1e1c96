//! The state machine proper: `carp_set_state`, `carp_setrun`,
//! `carp_sc_state`, `carp_master_down_locked` and the timers.

use super::config::DemoteReason;
use super::io::Event;
use super::state::{Reason, State};
use super::time::{carp_interval, Deadline, Instant, NS_PER_CENTISEC};
use super::vhid::{self, flag, pending, Vhid};
use super::{DemoteSource, Engine};
use crate::util::Ring;

/// Which master-down timer(s) an action concerns: an advert of one family
/// restarts only that family's timer, as in FreeBSD.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Af {
    V4,
    V6,
    Both,
}

/// VRRP master-down interval, RFC 5798: 3 × Master_Adver_Interval plus
/// Skew_Time = (256 − priority) × Master_Adver_Interval / 256.
pub(crate) fn vrrp_master_down(master_inter: u16, prio: u8) -> u64 {
    let mi = u64::from(master_inter) * NS_PER_CENTISEC;
    3 * mi + (256 - u64::from(prio)) * mi / 256
}

pub(crate) fn vrrp_skew(master_inter: u16, prio: u8) -> u64 {
    let mi = u64::from(master_inter) * NS_PER_CENTISEC;
    (256 - u64::from(prio)) * mi / 256
}

/// Backup's master-down interval: 3 × advbase + advskew/256 with the raw,
/// undemoted skew (FreeBSD does not triple the skew).
fn master_down_interval(v: &Vhid) -> u64 {
    if v.is_vrrp() {
        vrrp_master_down(v.master_inter, v.cfg.vrrp_priority)
    } else {
        carp_interval(3 * u32::from(v.cfg.advbase), u32::from(v.cfg.advskew))
    }
}

impl Engine {
    /// Moves the vhid to `to`, emitting the log/devd event only on a real
    /// change, as `carp_set_state` does.
    pub(crate) fn set_state(&mut self, now: Instant, slot: u32, to: State, reason: Reason) {
        let Some(v) = self.table.get_mut(slot) else {
            return;
        };
        let from = v.state;
        if from == to {
            return;
        }
        v.state = to;
        v.since = now;
        v.set_why(reason);
        // The Announce that follows a change to MASTER is its first
        // GARP/NA.
        v.timers_for(to, now);
        v.stats.transitions = v.stats.transitions.saturating_add(1);
        if to == State::Master {
            v.stats.became_master = v.stats.became_master.saturating_add(1);
            if reason == Reason::PreemptingSlowerMaster {
                v.stats.preemptions = v.stats.preemptions.saturating_add(1);
            }
        }
        let ev = Event::StateChanged {
            id: super::VhidId { slot, gen: v.gen },
            iface: v.iface,
            vhid: v.cfg.vhid,
            from,
            to,
            reason,
        };
        self.push_event(ev);
    }

    /// Whether a vhid may run: parent up, at least one address, carp allowed.
    #[inline(always)]
    fn runnable(&self, v: &Vhid) -> bool {
        runnable(&self.knobs, v, self.iface_up(v.iface))
    }

    /// `carp_setrun`: arms the timers the current state needs. INIT moves
    /// on to BACKUP; there is no INIT -> MASTER shortcut.
    #[inline(always)]
    pub(crate) fn setrun(&mut self, now: Instant, slot: u32, af: Af) {
        let Some(v) = self.table.get(slot) else {
            return;
        };
        if !self.runnable(v) {
            return;
        }
        let mut af = af;
        if v.state == State::Init {
            self.set_state(now, slot, State::Backup, Reason::InitComplete);
            af = Af::Both;
        }
        if let Some(v) = self.table.get_mut(slot) {
            arm(v, now, af);
        }
    }

    /// `carp_sc_state`: re-evaluates a vhid after a link, address or
    /// `allow` change. Going down: INIT plus the interface-down demotion,
    /// once per vhid. Coming up: INIT then BACKUP; a MASTER re-elects.
    pub(crate) fn sc_state(&mut self, now: Instant, slot: u32) {
        let Some(v) = self.table.get(slot) else {
            return;
        };
        if v.is(flag::DYING) {
            return;
        }
        let up = self.knobs.allow && self.iface_up(v.iface);
        if !up {
            if let Some(v) = self.table.get_mut(slot) {
                v.stop_timers();
                // An earlier vhid's interface-down demotion in this same
                // pass may have queued an advert for us through send_all.
                // FreeBSD's sendall task runs after the pass, when this
                // vhid is INIT and sends nothing, so neither do we.
                v.flags &= !(pending::ADVERT4 | pending::ADVERT6);
            }
            self.set_state(now, slot, State::Init, Reason::HardwareDown);
            let newly = self
                .table
                .get_mut(slot)
                .and_then(|v| (!v.set(flag::SUPPRESSED, true)).then_some(v.iface));
            if let Some(iface) = newly {
                let f = self.knobs.ifdown_demotion_factor;
                self.demote_from(
                    now,
                    f,
                    DemoteReason::InterfaceDown,
                    DemoteSource::IfDown(iface),
                );
                // FreeBSD 9 counted the same event as a preemption hold.
                self.adjust_suppress_preempt(now, 1);
            }
        } else {
            if let Some(v) = self.table.get_mut(slot) {
                v.stop_timers();
            }
            self.set_state(now, slot, State::Init, Reason::HardwareUp);
            self.setrun(now, slot, Af::Both);
            let was = self
                .table
                .get_mut(slot)
                .and_then(|v| v.set(flag::SUPPRESSED, false).then_some(v.iface));
            if let Some(iface) = was {
                let f = self.knobs.ifdown_demotion_factor;
                self.demote_from(
                    now,
                    -f,
                    DemoteReason::InterfaceUp,
                    DemoteSource::IfDown(iface),
                );
                self.adjust_suppress_preempt(now, -1);
            }
        }
        self.rearm(slot);
    }

    /// `carp_master_down_locked`: BACKUP becomes MASTER, advertises at
    /// once and announces its addresses. Ignored in other states.
    pub(crate) fn master_down(&mut self, now: Instant, slot: u32, reason: Reason) {
        if self.table.get(slot).map(|v| v.state) != Some(State::Backup) {
            return;
        }
        self.set_state(now, slot, State::Master, reason);
        self.queue_advert(slot, 0);
        // The master-down timers went with the BACKUP state.
        let Some(v) = self.table.get(slot) else {
            return;
        };
        let ev = Event::Announce {
            id: super::VhidId { slot, gen: v.gen },
            iface: v.iface,
            vhid: v.cfg.vhid,
        };
        self.push_event(ev);
        self.setrun(now, slot, Af::Both);
        self.rearm(slot);
    }

    /// Queues this vhid's adverts (one per family it has addresses in).
    pub(crate) fn queue_advert(&mut self, slot: u32, extra: u8) {
        if let Some(v) = self.table.get_mut(slot) {
            enqueue(&mut self.txq, slot, v, extra);
        }
    }

    pub(crate) fn queue_tx(&mut self, slot: u32) {
        if let Some(v) = self.table.get_mut(slot) {
            enqueue(&mut self.txq, slot, v, 0);
        }
    }

    /// `carp_send_ad_locked` from the advert timer: queue and re-arm with
    /// the demoted skew.
    #[inline(always)]
    pub(crate) fn send_ad(&mut self, now: Instant, slot: u32) {
        let Some(v) = self.table.get_mut(slot) else {
            return;
        };
        advertise(&self.knobs, &mut self.txq, slot, v, now);
        if self.knobs.garp_interval != 0 {
            self.garp_refresh(now, slot);
        }
    }

    /// `net.inet.carp.garp_interval` (keepalived's `garp_master_refresh`):
    /// a MASTER re-announces its addresses every that many seconds, checked
    /// at each advert (so within one advert interval of the period), for
    /// switches that age out the virtual MAC.
    fn garp_refresh(&mut self, now: Instant, slot: u32) {
        let period = u64::from(self.knobs.garp_interval) * 1_000_000_000;
        if period == 0 {
            return;
        }
        let Some(v) = self.table.get_mut(slot) else {
            return;
        };
        if v.state != State::Master || v.is(flag::DYING) {
            return;
        }
        let due = v
            .announced_at()
            .get()
            .is_none_or(|t| now.as_nanos().saturating_sub(t.as_nanos()) >= period);
        if due {
            v.set_announced_at(Deadline::at(now));
            let ev = Event::Announce {
                id: super::VhidId { slot, gen: v.gen },
                iface: v.iface,
                vhid: v.cfg.vhid,
            };
            self.push_event(ev);
        }
    }

    /// `carp_send_ad_all`: every MASTER advertises now, so peers learn a
    /// demotion change without waiting a whole interval.
    pub(crate) fn send_all(&mut self, now: Instant) {
        for slot in self.table.slots() {
            if self
                .table
                .get(slot)
                .is_some_and(|v| v.state == State::Master && !v.is(flag::DYING))
            {
                self.send_ad(now, slot);
                self.rearm(slot);
            }
        }
    }

    /// Puts the vhid's earliest deadline into the timer heap.
    #[inline(always)]
    pub(crate) fn rearm(&mut self, slot: u32) {
        let at = self.table.get(slot).and_then(Vhid::next_deadline);
        self.timers.set(slot, at);
    }

    /// The instant the driver must call [`Engine::handle_timeout`] at.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|(t, _)| t)
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, slot)) = self.timers.peek() {
            if at > now {
                break;
            }
            let Some(v) = self.table.get_mut(slot) else {
                self.timers.set(slot, None);
                continue;
            };
            if v.state == State::Master && v.ad_at() == Deadline::at(at) {
                // A MASTER's only timer is its advert timer, which is its
                // heap key `at` (a stale key takes the general path below)
                // and so is due. `carp_send_ad_locked`, re-armed
                // from the deadline, not from `now`, so a late timer does
                // not stretch the period; the slot stays at the heap's top
                // until its new deadline is placed.
                let next = advertise(&self.knobs, &mut self.txq, slot, v, at);
                if self.knobs.garp_interval != 0 {
                    self.garp_refresh(at, slot);
                }
                self.timers.reschedule_top(next);
                continue;
            }
            // Only the current state's timers exist (see `Vhid::t1`).
            if v.ad_at().is_due(now) {
                v.set_ad_at(Deadline::NONE);
                // Re-arm from the deadline, not from `now`, so a late
                // timer does not stretch the period.
                self.send_ad(at, slot);
            } else {
                let (md4, md6) = v.md_at();
                let (md4, md6) = (md4.is_due(now), md6.is_due(now));
                if md4 {
                    v.set_md_at(false, Deadline::NONE);
                }
                if md6 {
                    v.set_md_at(true, Deadline::NONE);
                }
                if md4 || md6 {
                    self.master_down(now, slot, Reason::MasterTimedOut);
                }
            }
            self.rearm(slot);
        }
    }

    /// Send-error accounting (`carp_send_ad_error`): the third error in a
    /// row demotes by the senderr factor; three successes undo it. Unlike
    /// FreeBSD, successes undo only a demotion that was actually applied.
    pub fn transmit_result(&mut self, now: Instant, id: super::VhidId, ok: bool) {
        let Some(slot) = self.slot_of(id) else {
            return;
        };
        let factor = self.knobs.senderr_demotion_factor;
        let Some(v) = self.table.get_mut(slot) else {
            return;
        };
        let source = DemoteSource::SendError {
            iface: v.iface,
            vhid: v.cfg.vhid,
        };
        if !ok {
            v.stats.send_errors = v.stats.send_errors.saturating_add(1);
            // Stored saturating at 3: FreeBSD acts when the count first
            // reaches SENDAD_MAX_ERRORS, i.e. on the increment from 2.
            let reached = u32::from(v.sendad_errors()) + 1;
            v.set_sendad(v.sendad_errors().saturating_add(1), 0);
            if reached == super::config::SENDAD_MAX_ERRORS {
                self.demote_from(now, factor, DemoteReason::SendError, source);
                self.adjust_suppress_preempt(now, 1);
            }
        } else if u32::from(v.sendad_errors()) >= super::config::SENDAD_MAX_ERRORS {
            let success = v.sendad_success().saturating_add(1);
            v.set_sendad(v.sendad_errors(), success);
            if u32::from(success) >= super::config::SENDAD_MIN_SUCCESS {
                v.set_sendad(0, 0);
                self.demote_from(now, -factor, DemoteReason::SendOk, source);
                self.adjust_suppress_preempt(now, -1);
            }
        } else {
            v.set_sendad(0, v.sendad_success());
        }
    }
}

/// Whether a vhid may run: parent up (`parent_up`, the caller looked its
/// interface up), at least one address, carp allowed. Takes the fields so
/// the input path can ask while it holds the vhid.
#[inline(always)]
pub(crate) fn runnable(knobs: &super::Knobs, v: &Vhid, parent_up: bool) -> bool {
    knobs.allow && v.has_addrs() && !v.is(flag::DYING) && parent_up
}

/// The timer half of `carp_setrun` for a running vhid: a BACKUP (re)arms
/// the master-down timer of `af`, a MASTER its advert timer.
#[inline(always)]
pub(crate) fn arm(v: &mut Vhid, now: Instant, af: Af) {
    match v.state {
        State::Init => {}
        State::Backup => {
            let at = Deadline::at(now.after_ns(master_down_interval(v)));
            if matches!(af, Af::V4 | Af::Both) && v.addrs.has_v4() {
                v.set_md_at(false, at);
            }
            if matches!(af, Af::V6 | Af::Both) && v.addrs.has_v6() {
                v.set_md_at(true, at);
            }
        }
        State::Master => {
            // FreeBSD's quirk, kept for identical timing on the wire: the
            // arm from setrun uses the raw skew; re-arms after each advert
            // use the demoted one.
            let at = now.after_ns(advert_interval(v, u32::from(v.cfg.advskew)));
            v.set_ad_at(Deadline::at(at));
        }
    }
}

/// The heart of `carp_send_ad_locked` for a MASTER, on the vhid in hand:
/// queue its adverts and re-arm the advert timer from `now` with the
/// demoted skew. Returns the new deadline.
#[inline(always)]
fn advertise(
    k: &super::Knobs,
    txq: &mut Ring<u32>,
    slot: u32,
    v: &mut Vhid,
    now: Instant,
) -> Instant {
    let skew = vhid::demoted_skew(v.cfg.advskew, k.demotion, k.suppress_preempt);
    let next = now.after_ns(advert_interval(v, skew));
    v.set_ad_at(Deadline::at(next));
    enqueue(txq, slot, v, 0);
    next
}

/// Marks the vhid's adverts pending (one per family it has addresses in,
/// plus `extra`) and puts the slot on the transmit queue once. Takes the
/// fields rather than the engine so callers holding the vhid need no
/// second lookup on the timer path.
#[inline(always)]
fn enqueue(txq: &mut Ring<u32>, slot: u32, v: &mut Vhid, extra: u8) {
    // One read and one write of the flag byte (the timer path's cost).
    let mut f = v.flags
        | extra
        | (u8::from(v.addrs.has_v4()) * pending::ADVERT4)
        | (u8::from(v.addrs.has_v6()) * pending::ADVERT6);
    // Capacity for every slot was reserved at configuration.
    if f & flag::QUEUED == 0
        && f & (pending::ADVERT4 | pending::ADVERT6) != 0
        && txq.push_back(slot).is_ok()
    {
        f |= flag::QUEUED;
    }
    v.flags = f;
}

/// The MASTER's advert period for a given skew: advbase + skew/256 s for
/// CARP, the configured interval for VRRP.
fn advert_interval(v: &Vhid, skew: u32) -> u64 {
    if v.is_vrrp() {
        u64::from(v.cfg.vrrp_interval()) * NS_PER_CENTISEC
    } else {
        carp_interval(u32::from(v.cfg.advbase), skew)
    }
}
