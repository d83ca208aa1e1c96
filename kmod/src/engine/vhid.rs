//! One virtual host: the per-(interface, vhid) record (`carp_softc`).

use alloc::vec::Vec;
use core::net::IpAddr;

use super::config::{Version, VhidConfig, MAX_SKEW};
use super::state::{Reason, State};
use super::stats::VhidStats;
use super::time::Instant;
use super::IfIndex;
use crate::auth::Signer;

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
    pub addrs4: Vec<[u8; 4]>,
    pub addrs6: Vec<[u8; 16]>,
    pub signer: Signer,
    pub counter: u64,
    /// No counter seen or drawn yet: the first advert draws a random one.
    pub counter_init: bool,
    pub ad_at: Option<Instant>,
    pub md4_at: Option<Instant>,
    pub md6_at: Option<Instant>,
    /// VRRP: the master's advertised interval, centiseconds.
    pub master_inter: u16,
    /// The interface-down demotion is applied for this vhid (`sc_suppress`).
    pub suppressed: bool,
    pub sendad_errors: u32,
    pub sendad_success: u32,
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
    pub announced_at: Option<Instant>,
}

impl Vhid {
    pub fn new(gen: u32, iface: IfIndex, cfg: VhidConfig) -> Vhid {
        let signer = Signer::new(&cfg.key, cfg.vhid, &[], &[]);
        let master_inter = cfg.vrrp_interval;
        Vhid {
            gen,
            iface,
            cfg,
            state: State::Init,
            addrs4: Vec::new(),
            addrs6: Vec::new(),
            signer,
            counter: 0,
            counter_init: true,
            ad_at: None,
            md4_at: None,
            md6_at: None,
            master_inter,
            suppressed: false,
            sendad_errors: 0,
            sendad_success: 0,
            pending: 0,
            queued: false,
            dying: false,
            stats: VhidStats::default(),
            last_peer: None,
            since: Instant::from_nanos(0),
            why: None,
            announced_at: None,
        }
    }

    pub fn has_addrs(&self) -> bool {
        !self.addrs4.is_empty() || !self.addrs6.is_empty()
    }

    /// Re-derives the HMAC state after a key or address change, as
    /// `carp_hmac_prepare` does.
    pub fn prepare_signer(&mut self) {
        self.signer = Signer::new(&self.cfg.key, self.cfg.vhid, &self.addrs4, &self.addrs6);
    }

    /// The earliest of the three timers, the vhid's key in the timer heap.
    pub fn next_deadline(&self) -> Option<Instant> {
        let earlier = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(x), Some(y)) => Some(if y < x { y } else { x }),
            (x, None) => x,
            (None, y) => y,
        };
        earlier(earlier(self.ad_at, self.md4_at), self.md6_at)
    }

    pub fn stop_timers(&mut self) {
        self.ad_at = None;
        self.md4_at = None;
        self.md6_at = None;
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
