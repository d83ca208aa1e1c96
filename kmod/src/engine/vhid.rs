//! One virtual host: the per-(interface, vhid) record (`carp_softc`).

use super::addrs::Addrs;
use super::config::{ConfigError, Settings, Version, MAX_SKEW};
use super::state::{Reason, State};
use super::stats::VhidStats;
use super::time::{Deadline, Instant};
use super::IfIndex;

/// What the vhid still has to hand to the driver: bits of [`Vhid::flags`].
pub(crate) mod pending {
    pub const ADVERT4: u8 = 1;
    pub const ADVERT6: u8 = 2;
    /// The adverts queued are bow-outs (advbase 255 / advskew 255, or VRRP
    /// priority 0): the vhid is going away.
    pub const BOWOUT: u8 = 4;
    /// All of the above.
    pub const ALL: u8 = ADVERT4 | ADVERT6 | BOWOUT;
}

/// The vhid's other yes/no facts: bits of [`Vhid::flags`], next to the
/// [`pending`] ones, read and written through [`Vhid::is`] and
/// [`Vhid::set`]. One byte for all of them keeps the record at 168 bytes
/// (4,080 vhids: the memory goal).
pub(crate) mod flag {
    /// In the transmit queue.
    pub const QUEUED: u8 = 8;
    /// The interface-down demotion is applied for this vhid (`sc_suppress`).
    pub const SUPPRESSED: u8 = 16;
    /// Removed by configuration; the slot lives until its bow-out is sent.
    pub const DYING: u8 = 32;
    /// No counter seen or drawn yet: the first advert draws a random one.
    pub const COUNTER_INIT: u8 = 64;
    /// The vhid has unicast peers in the table's side list.
    pub const HAS_PEERS: u8 = 128;
}

/// `sc_sendad_errors` / `sc_sendad_success` and the last transition's
/// reason, packed in [`Vhid::misc`]: errors (bits 0-1), successes (2-3),
/// reason + 1 (4-7, 0 for none yet).
const ERRORS_MASK: u8 = 0x03;
const SUCCESS_SHIFT: u32 = 2;
const WHY_SHIFT: u32 = 4;

pub(crate) struct Vhid {
    pub gen: u32,
    pub iface: IfIndex,
    pub cfg: Settings,
    pub state: State,
    /// Addresses and the HMAC over them.
    pub addrs: Addrs,
    pub counter: u64,
    /// Two 8-byte slots whose meaning follows the state, since a vhid
    /// never needs the MASTER's and the BACKUP's timers at once (FreeBSD
    /// stops one kind before arming the other): MASTER: advert deadline
    /// (`sc_ad_tmo`) and last gratuitous ARP / NA announcement (for
    /// `garp_interval`); BACKUP: IPv4 and IPv6 master-down deadlines
    /// (`sc_md_tmo`, `sc_md6_tmo`); INIT: none. [`set_state`] clears both
    /// on every transition; read and write them through the methods.
    ///
    /// [`set_state`]: super::Engine::set_state
    t1: Deadline,
    t2: Deadline,
    /// VRRP: the master's advertised interval, centiseconds.
    pub master_inter: u16,
    /// [`pending`] and [`flag`] bits.
    pub flags: u8,
    /// Send errors and successes, and why the vhid last changed state
    /// (see [`ERRORS_MASK`]).
    misc: u8,
    pub stats: VhidStats,
    /// When the vhid entered its current state (creation at first):
    /// `net.inet.carp.vhids`, with [`Vhid::why`].
    pub since: Instant,
}

impl Vhid {
    pub fn new(gen: u32, iface: IfIndex, cfg: Settings) -> Result<Vhid, ConfigError> {
        let addrs = Addrs::new(&cfg.key, cfg.vhid)?;
        let master_inter = cfg.vrrp_interval();
        Ok(Vhid {
            gen,
            iface,
            cfg,
            state: State::Init,
            addrs,
            counter: 0,
            t1: Deadline::NONE,
            t2: Deadline::NONE,
            master_inter,
            flags: flag::COUNTER_INIT,
            misc: 0,
            stats: VhidStats::default(),
            since: Instant::ZERO,
        })
    }

    /// Whether [`flag`] bit `f` is set.
    #[inline(always)]
    pub fn is(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// Sets or clears [`flag`] bit `f`; returns what it was.
    #[inline(always)]
    pub fn set(&mut self, f: u8, on: bool) -> bool {
        let was = self.is(f);
        if on {
            self.flags |= f;
        } else {
            self.flags &= !f;
        }
        was
    }

    /// Consecutive failed sends, saturating at
    /// [`SENDAD_MAX_ERRORS`](super::config::SENDAD_MAX_ERRORS) (3): FreeBSD
    /// only compares them with it, and acts when they first reach it.
    pub fn sendad_errors(&self) -> u8 {
        self.misc & ERRORS_MASK
    }

    /// Successful sends since the errors reached their maximum, up to
    /// [`SENDAD_MIN_SUCCESS`](super::config::SENDAD_MIN_SUCCESS) (3).
    pub fn sendad_success(&self) -> u8 {
        (self.misc >> SUCCESS_SHIFT) & ERRORS_MASK
    }

    /// Stores both send counts, each saturating at 3.
    pub fn set_sendad(&mut self, errors: u8, success: u8) {
        let (e, s) = (errors.min(ERRORS_MASK), success.min(ERRORS_MASK));
        self.misc = (self.misc & !((ERRORS_MASK << SUCCESS_SHIFT) | ERRORS_MASK))
            | (s << SUCCESS_SHIFT)
            | e;
    }

    /// Why the vhid last changed state; `None` before its first transition.
    pub fn why(&self) -> Option<Reason> {
        Reason::from_index((self.misc >> WHY_SHIFT).checked_sub(1)?)
    }

    pub fn set_why(&mut self, why: Reason) {
        self.misc = (self.misc & !(0xf << WHY_SHIFT)) | ((why as u8 + 1) << WHY_SHIFT);
    }

    pub fn has_addrs(&self) -> bool {
        self.addrs.has_v4() || self.addrs.has_v6()
    }

    /// The earliest timer of the current state, the vhid's key in the
    /// timer heap.
    #[inline(always)]
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Master => self.t1.get(),
            State::Backup => self.t1.min(self.t2).get(),
            State::Init => None,
        }
    }

    /// Forgets every timer (and the MASTER's last announcement).
    pub fn stop_timers(&mut self) {
        self.t1 = Deadline::NONE;
        self.t2 = Deadline::NONE;
    }

    /// A state change: the old state's timers die with it (FreeBSD stops
    /// them before or as it changes state); a new MASTER announces now.
    pub(crate) fn timers_for(&mut self, state: State, now: Instant) {
        self.t1 = Deadline::NONE;
        self.t2 = if state == State::Master {
            Deadline::at(now)
        } else {
            Deadline::NONE
        };
    }

    /// The MASTER's advert deadline; none in other states.
    #[inline(always)]
    pub fn ad_at(&self) -> Deadline {
        if self.state == State::Master {
            self.t1
        } else {
            Deadline::NONE
        }
    }

    /// Arms (or stops) the advert timer; only a MASTER has one.
    #[inline(always)]
    pub fn set_ad_at(&mut self, at: Deadline) {
        if self.state == State::Master {
            self.t1 = at;
        }
    }

    /// The BACKUP's master-down deadlines (IPv4, IPv6); none otherwise.
    #[inline(always)]
    pub fn md_at(&self) -> (Deadline, Deadline) {
        if self.state == State::Backup {
            (self.t1, self.t2)
        } else {
            (Deadline::NONE, Deadline::NONE)
        }
    }

    /// Arms (or stops) a master-down timer; only a BACKUP has them.
    #[inline(always)]
    pub fn set_md_at(&mut self, v6: bool, at: Deadline) {
        if self.state == State::Backup {
            if v6 {
                self.t2 = at;
            } else {
                self.t1 = at;
            }
        }
    }

    /// When a MASTER last announced its addresses; none in other states.
    pub fn announced_at(&self) -> Deadline {
        if self.state == State::Master {
            self.t2
        } else {
            Deadline::NONE
        }
    }

    pub fn set_announced_at(&mut self, at: Deadline) {
        if self.state == State::Master {
            self.t2 = at;
        }
    }

    pub fn is_vrrp(&self) -> bool {
        self.cfg.version == Version::Vrrp3
    }
}

/// `DEMOTE_ADVSKEW`: own skew plus the global demotion, clamped to 0..=240;
/// FreeBSD 9's suppress_preempt forces 240.
pub(crate) fn demoted_skew(advskew: u8, demotion: i32, suppress_preempt: u32) -> u32 {
    if suppress_preempt > 0 {
        return u32::from(MAX_SKEW);
    }
    let s = i64::from(advskew) + i64::from(demotion);
    s.clamp(0, i64::from(MAX_SKEW)) as u32
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::config::VhidConfig;

    /// The memory goal (256 bytes per vhid at 4,080 vhids) counts on this.
    #[test]
    fn record_is_168_bytes_and_flags_are_independent() {
        assert_eq!(core::mem::size_of::<Option<Vhid>>(), 168);
        let mut v = Vhid::new(1, 1, Settings::new(&VhidConfig::new(1))).unwrap();
        assert!(v.is(flag::COUNTER_INIT));
        assert_eq!(v.why(), None);
        v.flags |= pending::ALL;
        v.set_sendad(9, 2);
        v.set_why(Reason::Destroyed);
        assert!(!v.set(flag::DYING, true));
        assert!(v.set(flag::DYING, true));
        assert_eq!((v.sendad_errors(), v.sendad_success()), (3, 2));
        assert_eq!(v.why(), Some(Reason::Destroyed));
        assert_eq!(v.flags & pending::ALL, pending::ALL);
        v.set_why(Reason::InitComplete);
        v.set_sendad(0, 3);
        assert_eq!(v.why(), Some(Reason::InitComplete));
        assert_eq!((v.sendad_errors(), v.sendad_success()), (0, 3));
        assert!(v.is(flag::DYING) && v.is(flag::COUNTER_INIT));
    }
}
