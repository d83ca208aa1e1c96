//! One virtual host: the per-(interface, vhid) record (`carp_softc`).

use core::net::IpAddr;

use super::addrs::Addrs;
use super::config::{ConfigError, Version, VhidConfig, MAX_SKEW};
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
    pub cfg: VhidConfig,
    pub state: State,
    /// Addresses and the HMAC over them.
    pub addrs: Addrs,
    pub counter: u64,
    /// No counter seen or drawn yet: the first advert draws a random one.
    pub counter_init: bool,
    /// Advert timer (MASTER) and master-down timers per family (BACKUP).
    pub ad_at: Deadline,
    pub md4_at: Deadline,
    pub md6_at: Deadline,
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
    /// Source of the last authenticated advert, for status output.
    pub last_peer: Option<IpAddr>,
    /// When the vhid entered its current state (creation at first), and
    /// why (`None` until the first transition): `net.inet.carp.vhids`.
    pub since: Instant,
    pub why: Option<Reason>,
    /// Last gratuitous ARP / NA announcement (for `garp_interval`).
    pub announced_at: Deadline,
}

impl Vhid {
    pub fn new(gen: u32, iface: IfIndex, cfg: VhidConfig) -> Result<Vhid, ConfigError> {
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
            ad_at: Deadline::NONE,
            md4_at: Deadline::NONE,
            md6_at: Deadline::NONE,
            master_inter,
            suppressed: false,
            sendad_errors: 0,
            sendad_success: 0,
            pending: 0,
            queued: false,
            dying: false,
            stats: VhidStats::default(),
            last_peer: None,
            since: Instant::ZERO,
            why: None,
            announced_at: Deadline::NONE,
        })
    }

    pub fn has_addrs(&self) -> bool {
        self.addrs.has_v4() || self.addrs.has_v6()
    }

    /// The earliest of the three timers, the vhid's key in the timer heap.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.ad_at.min(self.md4_at).min(self.md6_at).get()
    }

    pub fn stop_timers(&mut self) {
        self.ad_at = Deadline::NONE;
        self.md4_at = Deadline::NONE;
        self.md6_at = Deadline::NONE;
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
