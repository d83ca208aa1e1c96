//! One virtual host: the per-(interface, vhid) record (`carp_softc`).

use super::addrs::Addrs;
use super::config::{ConfigError, Settings, Version, MAX_SKEW};
use super::state::{Reason, State};
use super::stats::VhidStats;
use super::time::{Deadline, Instant};
use super::IfIndex;

/// What the vhid still has to hand to the driver.
pub(crate) mod pending {
    pub const ADVERT4: u8 = 1;
    pub const ADVERT6: u8 = 2;
    /// The adverts queued are bow-outs (advbase 255 / advskew 255, or VRRP
    /// priority 0): the vhid is going away.
    pub const BOWOUT: u8 = 4;
}

pub(crate) struct Vhid {
    pub gen: u32,
    pub iface: IfIndex,
    pub cfg: Settings,
    pub state: State,
    /// Addresses and the HMAC over them.
    pub addrs: Addrs,
    pub counter: u64,
    /// No counter seen or drawn yet: the first advert draws a random one.
    pub counter_init: bool,
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
    /// The interface-down demotion is applied for this vhid (`sc_suppress`).
    pub suppressed: bool,
    /// `sc_sendad_errors` / `sc_sendad_success`: they only count to
    /// [`SENDAD_MAX_ERRORS`](super::config::SENDAD_MAX_ERRORS) and
    /// [`SENDAD_MIN_SUCCESS`](super::config::SENDAD_MIN_SUCCESS), so a
    /// saturating byte each behaves the same.
    pub sendad_errors: u8,
    pub sendad_success: u8,
    pub pending: u8,
    pub queued: bool,
    /// Removed by configuration; the slot lives until its bow-out is sent.
    pub dying: bool,
    pub stats: VhidStats,
    /// When the vhid entered its current state (creation at first), and
    /// why (`None` until the first transition): `net.inet.carp.vhids`.
    pub since: Instant,
    pub why: Option<Reason>,
}

impl Vhid {
    pub fn new(gen: u32, iface: IfIndex, cfg: Settings) -> Result<Vhid, ConfigError> {
        let addrs = Addrs::new(&cfg.key, cfg.vhid)?;
        let master_inter = cfg.vrrp_interval;
        Ok(Vhid {
            gen,
            iface,
            cfg,
            state: State::Init,
            addrs,
            counter: 0,
            counter_init: true,
            t1: Deadline::NONE,
            t2: Deadline::NONE,
            master_inter,
            suppressed: false,
            sendad_errors: 0,
            sendad_success: 0,
            pending: 0,
            queued: false,
            dying: false,
            stats: VhidStats::default(),
            since: Instant::ZERO,
            why: None,
        })
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
