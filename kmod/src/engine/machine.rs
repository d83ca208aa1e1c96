//! The state machine proper: `carp_set_state`, `carp_setrun`,
//! `carp_sc_state`, `carp_master_down_locked` and the timers.

use super::config::DemoteReason;
use super::io::Event;
use super::state::{Reason, State};
use super::time::{carp_interval, Instant, NS_PER_CENTISEC};
use super::vhid::{pending, Vhid};
use super::{DemoteSource, Engine};

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
        v.why = Some(reason);
        v.stats.transitions = v.stats.transitions.saturating_add(1);
        if to == State::Master {
            v.stats.became_master = v.stats.became_master.saturating_add(1);
            // The Announce that follows is this master's first GARP/NA.
            v.announced_at = Some(now);
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
    fn runnable(&self, v: &Vhid) -> bool {
        self.knobs.allow && v.has_addrs() && !v.dying && self.iface_up(v.iface)
    }

    /// `carp_setrun`: arms the timers the current state needs. INIT moves
    /// on to BACKUP; there is no INIT -> MASTER shortcut.
    pub(crate) fn setrun(&mut self, now: Instant, slot: u32, af: Af) {
        let Some(v) = self.table.get(slot) else {
            return;
        };
        if !self.runnable(v) {
            return;
        }
        match v.state {
            State::Init => {
                self.set_state(now, slot, State::Backup, Reason::InitComplete);
                self.setrun(now, slot, Af::Both);
            }
            State::Backup => {
                let Some(v) = self.table.get_mut(slot) else {
                    return;
                };
                v.ad_at = None;
                let at = now.after_ns(master_down_interval(v));
                if matches!(af, Af::V4 | Af::Both) && !v.addrs4.is_empty() {
                    v.md4_at = Some(at);
                }
                if matches!(af, Af::V6 | Af::Both) && !v.addrs6.is_empty() {
                    v.md6_at = Some(at);
                }
            }
            State::Master => {
                let Some(v) = self.table.get_mut(slot) else {
                    return;
                };
                // FreeBSD's quirk, kept for identical timing on the wire: the
                // arm from setrun uses the raw skew; re-arms after each
                // advert use the demoted one.
                v.ad_at = Some(now.after_ns(advert_interval(v, u32::from(v.cfg.advskew))));
            }
        }
    }

    /// `carp_sc_state`: re-evaluates a vhid after a link, address or
    /// `allow` change. Going down: INIT plus the interface-down demotion,
    /// once per vhid. Coming up: INIT then BACKUP; a MASTER re-elects.
    pub(crate) fn sc_state(&mut self, now: Instant, slot: u32) {
        let Some(v) = self.table.get(slot) else {
            return;
        };
        if v.dying {
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
                v.pending &= !(pending::ADVERT4 | pending::ADVERT6);
            }
            self.set_state(now, slot, State::Init, Reason::HardwareDown);
            let newly = self
                .table
                .get_mut(slot)
                .and_then(|v| (!core::mem::replace(&mut v.suppressed, true)).then_some(v.iface));
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
                .and_then(|v| core::mem::replace(&mut v.suppressed, false).then_some(v.iface));
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
        let Some(v) = self.table.get_mut(slot) else {
            return;
        };
        v.md4_at = None;
        v.md6_at = None;
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
        let Some(v) = self.table.get_mut(slot) else {
            return;
        };
        if !v.addrs4.is_empty() {
            v.pending |= pending::ADVERT4;
        }
        if !v.addrs6.is_empty() {
            v.pending |= pending::ADVERT6;
        }
        v.pending |= extra;
        self.queue_tx(slot);
    }

    pub(crate) fn queue_tx(&mut self, slot: u32) {
        let Some(v) = self.table.get_mut(slot) else {
            return;
        };
        if v.queued || v.pending & (pending::ADVERT4 | pending::ADVERT6) == 0 {
            return;
        }
        // Capacity for every slot was reserved at configuration.
        if self.txq.push_back(slot).is_ok() {
            v.queued = true;
        }
    }

    /// `carp_send_ad_locked` from the advert timer: queue and re-arm with
    /// the demoted skew.
    pub(crate) fn send_ad(&mut self, now: Instant, slot: u32) {
        self.queue_advert(slot, 0);
        self.garp_refresh(now, slot);
        let skew = match self.table.get(slot) {
            Some(v) => self.demoted(v),
            None => return,
        };
        if let Some(v) = self.table.get_mut(slot) {
            v.ad_at = Some(now.after_ns(advert_interval(v, skew)));
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
        if v.state != State::Master || v.dying {
            return;
        }
        let due = v
            .announced_at
            .is_none_or(|t| now.as_nanos().saturating_sub(t.as_nanos()) >= period);
        if due {
            v.announced_at = Some(now);
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
                .is_some_and(|v| v.state == State::Master && !v.dying)
            {
                self.send_ad(now, slot);
                self.rearm(slot);
            }
        }
    }

    /// Puts the vhid's earliest deadline into the timer heap.
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
            let ad = v.ad_at.is_some_and(|t| t <= now);
            let md4 = v.md4_at.is_some_and(|t| t <= now);
            let md6 = v.md6_at.is_some_and(|t| t <= now);
            if md4 {
                v.md4_at = None;
            }
            if md6 {
                v.md6_at = None;
            }
            if ad {
                v.ad_at = None;
            }
            let state = v.state;
            if ad && state == State::Master {
                // Re-arm from the deadline, not from `now`, so a late
                // timer does not stretch the period.
                self.send_ad(at, slot);
            }
            if (md4 || md6) && state == State::Backup {
                self.master_down(now, slot, Reason::MasterTimedOut);
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
            v.sendad_success = 0;
            v.sendad_errors = v.sendad_errors.saturating_add(1);
            if v.sendad_errors == super::config::SENDAD_MAX_ERRORS {
                self.demote_from(now, factor, DemoteReason::SendError, source);
                self.adjust_suppress_preempt(now, 1);
            }
        } else if v.sendad_errors >= super::config::SENDAD_MAX_ERRORS {
            v.sendad_success += 1;
            if v.sendad_success >= super::config::SENDAD_MIN_SUCCESS {
                v.sendad_errors = 0;
                v.sendad_success = 0;
                self.demote_from(now, -factor, DemoteReason::SendOk, source);
                self.adjust_suppress_preempt(now, -1);
            }
        } else {
            v.sendad_errors = 0;
        }
    }
}

/// The MASTER's advert period for a given skew: advbase + skew/256 s for
/// CARP, the configured interval for VRRP.
fn advert_interval(v: &Vhid, skew: u32) -> u64 {
    if v.is_vrrp() {
        u64::from(v.cfg.vrrp_interval) * NS_PER_CENTISEC
    } else {
        carp_interval(u32::from(v.cfg.advbase), skew)
    }
}
