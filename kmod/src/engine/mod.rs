//! The sans-IO CARP engine: a table of vhids and FreeBSD's state machine.
//!
//! Drivers call [`Engine::handle_packet`], [`Engine::handle_timeout`] and the
//! configuration methods with the current [`Instant`], then drain
//! [`Engine::poll_transmit`] and [`Engine::poll_event`] and re-arm their one
//! timer at [`Engine::poll_timeout`]. Storage grows only in configuration
//! calls, and only with fallible allocation; the packet and timer paths never
//! allocate.

mod addrs;
mod config;
mod detect;
mod events;
mod input;
mod io;
mod ledger;
mod machine;
mod output;
mod replay;
mod routes;
mod state;
mod stats;
mod table;
mod time;
mod timers;
mod vhid;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_diag;
#[cfg(test)]
mod tests_routes;

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use addrs::MAX_ADDRS;
pub use config::{
    ConfigError, DemoteReason, Knobs, Version, VhidConfig, MAX_SKEW, VRRP_MAX_INTERVAL,
};
pub use detect::EPISODES;
pub use io::{AuthHint, Conflict, Event, Received, Transmit};
pub use ledger::{Source as DemoteSource, LEDGER_SLOTS};
pub use output::IfaceAddrs;
pub use routes::{Command, Op};
pub use state::{Reason, State};
pub use stats::{Drop, Stats, VhidStats};
pub use time::Instant;

use crate::util::{try_push, Ring};
use detect::Detector;
use events::EventQueue;
use ledger::Ledger;
use replay::Replay;
use table::Table;
use time::Deadline;
use timers::TimerHeap;
use vhid::Vhid;

/// An interface index as the driver numbers interfaces (`if_index`).
pub type IfIndex = u32;

/// Handle of a vhid. Stays valid until the vhid is removed; a stale handle
/// is detected (the slot's generation differs) and refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct VhidId {
    slot: u32,
    gen: u32,
}

impl VhidId {
    /// Packs the handle into one integer for C callers.
    pub const fn to_raw(self) -> u64 {
        ((self.gen as u64) << 32) | self.slot as u64
    }

    pub const fn from_raw(raw: u64) -> VhidId {
        VhidId {
            slot: raw as u32,
            gen: (raw >> 32) as u32,
        }
    }
}

/// What the engine knows of a parent interface.
#[derive(Clone, Copy, Debug)]
struct Iface {
    index: IfIndex,
    /// The parent's own best addresses: advert source, and how we recognise
    /// our own adverts coming back.
    v4: Option<Ipv4Addr>,
    v6: Option<Ipv6Addr>,
    /// IFF_UP and LINK_STATE_UP together.
    up: bool,
}

/// Events kept beyond this many per vhid are dropped (and counted): a
/// driver that never drains events must not make the engine grow.
pub const EVENTS_PER_VHID: usize = 2;
const EVENTS_MIN: usize = 64;

/// The fixed-size parts of what the engine keeps per vhid, in bytes, for
/// the benchmark's memory breakdown; indented names are parts of the vhid
/// record above them. Not listed: the address buffer (4 bytes per IPv4
/// and 16 per IPv6 address plus the HMAC prefix tail rounded up to 8) and
/// the index, which holds 4 bytes per entry at most half full.
pub fn per_vhid_sizes() -> [(&'static str, usize); 13] {
    use core::mem::size_of;
    let record = size_of::<Option<Vhid>>();
    let parts = [
        (
            "  config (VhidConfig without the peers)",
            size_of::<config::Settings>(),
        ),
        (
            "  HMAC state (auth::Prepared)",
            size_of::<crate::auth::Prepared>(),
        ),
        ("  address buffer header", addrs::HEADER_BYTES),
        ("  counters (VhidStats)", size_of::<VhidStats>()),
        (
            "  timers (2 deadlines, by state)",
            2 * size_of::<Deadline>(),
        ),
        ("  advert counter", size_of::<u64>()),
        ("  state since (net.inet.carp.vhids)", size_of::<Instant>()),
    ];
    let named: usize = parts.iter().map(|p| p.1).sum();
    let [a, b, c, d, e, f, g] = parts;
    [
        ("vhid record", record),
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        (
            "  handle, iface, state, VRRP interval, flag bytes",
            record.saturating_sub(named),
        ),
        ("timer heap entry + position", timers::BYTES_PER_SLOT),
        ("transmit queue slot", size_of::<u32>()),
        ("events reserved", EVENTS_PER_VHID * events::EVENT_BYTES),
        (
            "route record of its IPv4 address (routes.rs)",
            routes::ENTRY_BYTES.0,
        ),
    ]
}

/// splitmix64 over the engine's generator state: the first advert
/// counter only needs to be unpredictable enough to not repeat across
/// restarts, as FreeBSD's arc4random pair.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub struct Engine {
    knobs: Knobs,
    stats: Stats,
    table: Table,
    ifaces: Vec<Iface>,
    timers: TimerHeap,
    /// Slots with adverts to hand out, each at most once.
    txq: Ring<u32>,
    events: EventQueue,
    rng: u64,
    /// Who contributes what to `knobs.demotion` (always its sum).
    ledger: Ledger,
    detector: Detector,
    /// Last counter per (vhid, peer), allocated while `replay_check` is on.
    replay: Replay,
    /// ARP requests [`Engine::arp_filter`] dropped for another host.
    arp_drops: u64,
    /// What is installed per address, and what is still to do.
    routes: routes::Routes,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// An empty engine with stock knobs. Allocates nothing.
    pub fn new() -> Engine {
        Engine {
            knobs: Knobs::default(),
            stats: Stats::default(),
            table: Table::default(),
            ifaces: Vec::new(),
            timers: TimerHeap::default(),
            txq: Ring::new(),
            events: EventQueue::default(),
            rng: 0x9e37_79b9_7f4a_7c15,
            ledger: Ledger::default(),
            detector: Detector::default(),
            replay: Replay::default(),
            arp_drops: 0,
            routes: routes::Routes::default(),
        }
    }

    /// Seeds the generator of initial advert counters (the kernel passes
    /// arc4random output, the simulator its seed).
    pub fn seed_rng(&mut self, seed: u64) {
        self.rng = seed ^ 0x9e37_79b9_7f4a_7c15;
    }

    // ---- global knobs -------------------------------------------------

    pub fn knobs(&self) -> &Knobs {
        &self.knobs
    }

    /// `net.inet.carp.allow`: 0 sends every vhid to INIT (with the
    /// interface-down demotion) and drops all input; 1 restarts them.
    pub fn set_allow(&mut self, now: Instant, allow: bool) {
        if self.knobs.allow == allow {
            return;
        }
        self.knobs.allow = allow;
        for slot in self.table.slots() {
            self.sc_state(now, slot);
        }
    }

    pub fn set_preempt(&mut self, on: bool) {
        self.knobs.preempt = on;
    }

    pub fn set_log(&mut self, level: u8) {
        self.knobs.log = level;
    }

    pub fn set_dscp(&mut self, dscp: u8) -> Result<(), ConfigError> {
        if dscp > 63 {
            return Err(ConfigError::Dscp);
        }
        self.knobs.dscp = dscp;
        Ok(())
    }

    pub fn set_ifdown_demotion_factor(&mut self, v: i32) {
        self.knobs.ifdown_demotion_factor = v;
    }

    pub fn set_senderr_demotion_factor(&mut self, v: i32) {
        self.knobs.senderr_demotion_factor = v;
    }

    pub fn set_arpbalance(&mut self, on: bool) {
        self.knobs.arpbalance = on;
    }

    /// `net.inet.carp.replay_check`: on allocates the per-peer counter
    /// table (ENOMEM leaves it off); off frees it, forgetting every peer.
    pub fn set_replay_check(&mut self, on: bool) -> Result<(), ConfigError> {
        if on {
            self.replay
                .reserve(self.table.capacity_after_insert())
                .map_err(|()| ConfigError::NoMemory)?;
        } else {
            self.replay.clear();
        }
        self.knobs.replay_check = on;
        Ok(())
    }

    /// `net.inet.carp.garp_interval`: seconds between a MASTER's
    /// re-announcements of its addresses, 0 = off.
    pub fn set_garp_interval(&mut self, seconds: u32) {
        self.knobs.garp_interval = seconds;
    }

    /// Adds `delta` to FreeBSD 9's suppress_preempt hold count (saturating
    /// at 0). The engine holds one per vhid whose parent is down and one per
    /// vhid demoted for send errors, as FreeBSD 9 did; pfsync-like callers
    /// add their own. While it is non-zero adverts carry skew 240 and
    /// backups do not preempt. Masters re-advertise at once so peers see it.
    pub fn adjust_suppress_preempt(&mut self, now: Instant, delta: i32) {
        let old = self.knobs.suppress_preempt;
        self.knobs.suppress_preempt = old.saturating_add_signed(delta);
        if (old == 0) != (self.knobs.suppress_preempt == 0) {
            self.send_all(now);
        }
    }

    /// `carp_demote_adj`: the demotion is *added* (a sysctl write of -1
    /// lowers it by one), logged, and every MASTER re-advertises at once.
    /// Administrator writes ([`DemoteReason::Sysctl`]) and external callers
    /// (pfsync) are kept in the ledger under their own source.
    pub fn demote(&mut self, now: Instant, adj: i32, reason: DemoteReason) {
        let source = match reason {
            DemoteReason::External(text) => DemoteSource::External(text),
            DemoteReason::Sysctl => DemoteSource::Admin,
            _ => DemoteSource::Other,
        };
        self.demote_from(now, adj, reason, source);
    }

    /// [`Engine::demote`] with the contribution's source.
    pub(crate) fn demote_from(
        &mut self,
        now: Instant,
        adj: i32,
        reason: DemoteReason,
        source: DemoteSource,
    ) {
        // Configuration path: make sure the event has room even before any
        // vhid exists (packet-path callers always have vhids, hence room).
        if self.events.capacity() < EVENTS_MIN {
            let _ = self.events.try_grow(EVENTS_MIN);
        }
        self.ledger.add(source, adj);
        self.knobs.demotion = self.ledger.total();
        self.push_event(Event::Demoted {
            by: adj,
            total: self.knobs.demotion,
            reason,
        });
        self.send_all(now);
    }

    /// The live contributions to the demotion, with their sources; their
    /// sum is `knobs().demotion` (`net.inet.carp.demotion_sources`).
    pub fn demotion_sources(&self) -> impl Iterator<Item = (DemoteSource, i64)> + '_ {
        self.ledger.sources()
    }

    // ---- interfaces ---------------------------------------------------

    fn iface(&self, index: IfIndex) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.index == index)
    }

    fn iface_mut(&mut self, index: IfIndex) -> Result<&mut Iface, ConfigError> {
        if let Some(pos) = self.ifaces.iter().position(|i| i.index == index) {
            return self.ifaces.get_mut(pos).ok_or(ConfigError::NoSuchVhid);
        }
        try_push(
            &mut self.ifaces,
            Iface {
                index,
                v4: None,
                v6: None,
                up: true,
            },
        )
        .map_err(|_| ConfigError::NoMemory)?;
        self.ifaces.last_mut().ok_or(ConfigError::NoMemory)
    }

    /// Tells the engine the parent's own best addresses (advert source, and
    /// recognising our own adverts if the segment echoes them).
    pub fn set_iface_addrs(
        &mut self,
        iface: IfIndex,
        v4: Option<Ipv4Addr>,
        v6: Option<Ipv6Addr>,
    ) -> Result<(), ConfigError> {
        let i = self.iface_mut(iface)?;
        i.v4 = v4;
        i.v6 = v6;
        Ok(())
    }

    /// Parent link or IFF_UP changed (`carp_linkstate_p`). Interfaces the
    /// engine has not heard of are up.
    pub fn link_state(&mut self, now: Instant, iface: IfIndex, up: bool) {
        match self.iface_mut(iface) {
            Ok(i) if i.up == up => return,
            Ok(i) => i.up = up,
            Err(_) => return,
        }
        for slot in self.table.slots() {
            if self.table.get(slot).is_some_and(|v| v.iface == iface) {
                self.sc_state(now, slot);
            }
        }
    }

    fn iface_up(&self, iface: IfIndex) -> bool {
        self.iface(iface).is_none_or(|i| i.up)
    }

    // ---- vhids ----------------------------------------------------------

    fn slot_of(&self, id: VhidId) -> Option<u32> {
        self.table
            .get(id.slot)
            .filter(|v| v.gen == id.gen && !v.is(vhid::flag::DYING))
            .map(|_| id.slot)
    }

    fn vhid(&self, id: VhidId) -> Option<&Vhid> {
        self.slot_of(id).and_then(|s| self.table.get(s))
    }

    fn id_of(&self, slot: u32) -> Option<VhidId> {
        self.table.get(slot).map(|v| VhidId { slot, gen: v.gen })
    }

    /// Creates the vhid on `iface`, or updates it. An update keeps the state
    /// and timers (as SIOCSVH does); a key change re-prepares the HMAC.
    pub fn vhid_set(
        &mut self,
        now: Instant,
        iface: IfIndex,
        cfg: &VhidConfig,
    ) -> Result<VhidId, ConfigError> {
        cfg.validate()?;
        if let Some(slot) = self.table.lookup(iface, cfg.vhid) {
            let v = self.table.get_mut(slot).ok_or(ConfigError::NoSuchVhid)?;
            if v.cfg.version != cfg.version {
                return Err(ConfigError::VersionChange);
            }
            let (peer4, peer6) = (cfg.peer4, cfg.peer6);
            if v.is(vhid::flag::HAS_PEERS) || peer4.is_some() || peer6.is_some() {
                // Before anything changes, so ENOMEM changes nothing.
                self.table.reserve_peers()?;
            }
            let v = self.table.get_mut(slot).ok_or(ConfigError::NoSuchVhid)?;
            if v.cfg.key != cfg.key {
                v.addrs.rekey(&cfg.key, cfg.vhid)?;
            }
            if v.cfg.vrrp_interval() != cfg.vrrp_interval {
                v.master_inter = cfg.vrrp_interval;
            }
            v.cfg = config::Settings::new(cfg);
            self.table.set_peers(slot, peer4, peer6);
            let _ = now;
            return self.id_of(slot).ok_or(ConfigError::NoSuchVhid);
        }
        self.iface_mut(iface)?;
        // Reserve everything the packet and timer paths may need for one
        // more vhid before creating it, so they never allocate.
        let slots = self.table.capacity_after_insert();
        let events_cap = EVENTS_MIN + EVENTS_PER_VHID * (self.table.len() + 1);
        if !self.timers.reserve_slots(slots)
            || self.txq.try_grow(slots).is_err()
            || self.events.try_grow(events_cap).is_err()
            || (self.knobs.replay_check && self.replay.reserve(slots).is_err())
        {
            return Err(ConfigError::NoMemory);
        }
        let slot = self.table.insert(iface, cfg)?;
        if let Some(v) = self.table.get_mut(slot) {
            v.since = now;
        }
        self.id_of(slot).ok_or(ConfigError::NoSuchVhid)
    }

    /// Destroys the vhid. A MASTER first queues a bow-out advert (advbase
    /// 255 / advskew 255, or VRRP priority 0) so backups take over at once
    /// instead of after the master-down interval; the slot is reused only
    /// after that advert has been polled.
    pub fn vhid_remove(&mut self, now: Instant, id: VhidId) -> Result<(), ConfigError> {
        let slot = self.slot_of(id).ok_or(ConfigError::NoSuchVhid)?;
        self.detector.forget(id);
        let was_master = self
            .table
            .get(slot)
            .is_some_and(|v| v.state == State::Master);
        self.set_state(now, slot, State::Init, Reason::Destroyed);
        if let Some(v) = self.table.get_mut(slot) {
            v.stop_timers();
            v.set(vhid::flag::DYING, true);
            v.flags &= !vhid::pending::ALL;
        }
        self.timers.set(slot, None);
        let suppressed = self
            .table
            .get(slot)
            .filter(|v| v.is(vhid::flag::SUPPRESSED))
            .map(|v| v.iface);
        if let Some(iface) = suppressed {
            let f = self.knobs.ifdown_demotion_factor;
            self.demote_from(
                now,
                -f,
                DemoteReason::VhidRemoved,
                DemoteSource::IfDown(iface),
            );
            self.adjust_suppress_preempt(now, -1);
        }
        self.table.unindex(slot);
        if was_master {
            if let Some(v) = self.table.get_mut(slot) {
                if v.addrs.has_v4() {
                    v.flags |= vhid::pending::ADVERT4;
                }
                if v.addrs.has_v6() {
                    v.flags |= vhid::pending::ADVERT6;
                }
                v.flags |= vhid::pending::BOWOUT;
            }
            self.queue_tx(slot);
            if self
                .table
                .get(slot)
                .is_some_and(|v| v.is(vhid::flag::QUEUED))
            {
                return Ok(());
            }
        }
        self.table.remove(slot);
        Ok(())
    }

    /// `ifconfig ... vhid N state master|backup` (§3.5 of the spec): applies
    /// only to a running vhid and only when the state differs.
    pub fn vhid_force_state(
        &mut self,
        now: Instant,
        id: VhidId,
        state: State,
    ) -> Result<(), ConfigError> {
        let slot = self.slot_of(id).ok_or(ConfigError::NoSuchVhid)?;
        let cur = self.table.get(slot).map(|v| v.state).unwrap_or_default();
        if cur == State::Init {
            return Err(ConfigError::NotRunning);
        }
        if cur == state {
            return Ok(());
        }
        match state {
            State::Backup => {
                if let Some(v) = self.table.get_mut(slot) {
                    v.set_ad_at(Deadline::NONE);
                }
                self.set_state(now, slot, State::Backup, Reason::UserRequested);
                self.setrun(now, slot, machine::Af::Both);
            }
            State::Master => self.master_down(now, slot, Reason::UserRequested),
            State::Init => return Err(ConfigError::NotRunning),
        }
        self.rearm(slot);
        Ok(())
    }

    pub fn vhid_lookup(&self, iface: IfIndex, vhid: u8) -> Option<VhidId> {
        self.table.lookup(iface, vhid).and_then(|s| self.id_of(s))
    }

    /// The vhid's configuration, as last set. Returned by value: the
    /// record keeps the rarely set unicast peers apart.
    pub fn vhid_config(&self, id: VhidId) -> Option<VhidConfig> {
        self.slot_of(id).and_then(|slot| self.table.config(slot))
    }

    pub fn vhid_state(&self, id: VhidId) -> Option<State> {
        self.vhid(id).map(|v| v.state)
    }

    pub fn vhid_iface(&self, id: VhidId) -> Option<IfIndex> {
        self.vhid(id).map(|v| v.iface)
    }

    pub fn vhid_stats(&self, id: VhidId) -> Option<&VhidStats> {
        self.vhid(id).map(|v| &v.stats)
    }

    /// When the vhid entered its current state (its creation until the
    /// first transition), and the transition's reason.
    pub fn vhid_since(&self, id: VhidId) -> Option<(Instant, Option<Reason>)> {
        self.vhid(id).map(|v| (v.since, v.why()))
    }

    /// The skew this vhid currently advertises (demotion applied).
    pub fn vhid_effective_advskew(&self, id: VhidId) -> Option<u8> {
        self.vhid(id).map(|v| self.demoted(v) as u8)
    }

    /// Every live vhid, in slot order.
    pub fn vhids(&self) -> impl Iterator<Item = VhidId> + '_ {
        self.table
            .iter()
            .filter(|(_, v)| !v.is(vhid::flag::DYING))
            .map(|(slot, v)| VhidId { slot, gen: v.gen })
    }

    /// Attaches a virtual address (`carp_attach`): the HMAC covers it from
    /// now on, and the vhid re-runs its state (a MASTER re-elects, as in
    /// FreeBSD). Adding an address it already has changes nothing.
    pub fn addr_add(&mut self, now: Instant, id: VhidId, addr: IpAddr) -> Result<(), ConfigError> {
        let slot = self.slot_of(id).ok_or(ConfigError::NoSuchVhid)?;
        // The same address may sit on several vhids of one parent: that is
        // how FreeBSD 9's arpbalance shares a VIP between masters.
        let v = self.table.get_mut(slot).ok_or(ConfigError::NoSuchVhid)?;
        if v.addrs.contains(addr) {
            return Ok(());
        }
        v.addrs.add(&v.cfg.key, v.cfg.vhid, addr)?;
        let iface = v.iface;
        self.routes.recount(&self.table, iface, addr);
        self.sc_state(now, slot);
        Ok(())
    }

    /// Detaches a virtual address (`carp_detach`).
    pub fn addr_remove(
        &mut self,
        now: Instant,
        id: VhidId,
        addr: IpAddr,
    ) -> Result<(), ConfigError> {
        let slot = self.slot_of(id).ok_or(ConfigError::NoSuchVhid)?;
        let v = self.table.get_mut(slot).ok_or(ConfigError::NoSuchVhid)?;
        v.addrs.remove(&v.cfg.key, v.cfg.vhid, addr)?;
        let iface = v.iface;
        self.routes.recount(&self.table, iface, addr);
        self.sc_state(now, slot);
        Ok(())
    }

    /// The vhid's IPv4 addresses in the order they were added.
    pub fn addrs_v4(&self, id: VhidId) -> &[[u8; 4]] {
        self.vhid(id).map(|v| v.addrs.v4()).unwrap_or(&[])
    }

    /// The vhid's IPv6 addresses in the order they were added.
    pub fn addrs_v6(&self, id: VhidId) -> &[[u8; 16]] {
        self.vhid(id).map(|v| v.addrs.v6()).unwrap_or(&[])
    }

    // ---- queries for the data path ---------------------------------------

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// `netstat -z`: writing the stats sysctl zeroes them.
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// Counts an input the driver had to drop before the engine saw it
    /// (an mbuf pullup failure: `hdrops`).
    pub fn count_hdrop(&mut self) {
        self.stats.hdrops = self.stats.hdrops.saturating_add(1);
    }

    /// Counts an advert the driver could not allocate (`onomem`).
    pub fn count_onomem(&mut self) {
        self.stats.onomem = self.stats.onomem.saturating_add(1);
    }

    /// Events that did not fit the queue because the driver did not drain it.
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped()
    }

    pub fn is_master(&self, iface: IfIndex, vhid: u8) -> bool {
        self.table
            .lookup(iface, vhid)
            .and_then(|s| self.table.get(s))
            .is_some_and(|v| v.state == State::Master)
    }

    /// `carp_forus`: frames to a virtual MAC are ours only while MASTER.
    pub fn forus(&self, iface: IfIndex, dst_mac: &[u8; 6]) -> bool {
        match dst_mac {
            [0x00, 0x00, 0x5e, 0x00, 0x01, vhid] => self.is_master(iface, *vhid),
            _ => false,
        }
    }

    /// Whether to answer an ARP request for `vip` from `requester`, and with
    /// which MAC (`carp_iamatch`). Without arpbalance the MASTER of the vhid
    /// holding `vip` answers. With FreeBSD 9's arpbalance several vhids may
    /// hold the same VIP; the requester's address modulo the number of
    /// running vhids holding it picks the one vhid whose MASTER answers, so
    /// each client is served by exactly one host.
    pub fn arp_reply_mac(
        &self,
        iface: IfIndex,
        vip: Ipv4Addr,
        requester: Ipv4Addr,
    ) -> Option<[u8; 6]> {
        let holds = |v: &Vhid| {
            v.iface == iface && !v.is(vhid::flag::DYING) && v.addrs.contains(IpAddr::V4(vip))
        };
        if !self.knobs.arpbalance {
            return self
                .table
                .iter()
                .map(|(_, v)| v)
                .find(|v| holds(v) && v.state == State::Master)
                .map(|v| crate::wire::virtual_mac(v.cfg.vhid));
        }
        // FreeBSD 9 walked the vhids in ascending vhid order.
        let running = |v: &Vhid| holds(v) && v.state != State::Init;
        let count = self.table.iter().filter(|(_, v)| running(v)).count() as u32;
        if count == 0 {
            return None;
        }
        let mut pick = u32::from(requester) % count;
        for vhid in 1..=255u8 {
            let Some(v) = self
                .table
                .lookup(iface, vhid)
                .and_then(|s| self.table.get(s))
            else {
                continue;
            };
            if !running(v) {
                continue;
            }
            if pick == 0 {
                return (v.state == State::Master).then(|| crate::wire::virtual_mac(vhid));
            }
            pick -= 1;
        }
        None
    }

    /// Whether an Ethernet frame that arrived on `iface` must be dropped
    /// before ARP input sees it: FreeBSD 9's arpbalance (`carp_iamatch`
    /// with the requester's address), applied at the link layer because
    /// FreeBSD 10+'s `carp_iamatch_p` and the published entry of a carpN
    /// address never learn who asks. True only when arpbalance is on, the
    /// frame is an IPv4 ARP request for an address that at least two
    /// running vhids of `iface` hold, and [`Engine::arp_reply_mac`] says
    /// another host answers this requester. Everything else passes.
    pub fn arp_filter(&mut self, iface: IfIndex, frame: &[u8]) -> bool {
        if !self.knobs.arpbalance {
            return false;
        }
        let Ok(req) =
            crate::wire::arp::Request::parse(&crate::wire::arp::Packet::new_unchecked(frame))
        else {
            return false;
        };
        let target = IpAddr::V4(req.target);
        let running = self
            .table
            .iter()
            .filter(|(_, v)| {
                v.iface == iface
                    && !v.is(vhid::flag::DYING)
                    && v.state != State::Init
                    && v.addrs.contains(target)
            })
            .count();
        if running < 2 || self.arp_reply_mac(iface, req.target, req.sender).is_some() {
            return false;
        }
        self.arp_drops = self.arp_drops.saturating_add(1);
        true
    }

    /// ARP requests [`Engine::arp_filter`] has dropped.
    pub fn arp_drops(&self) -> u64 {
        self.arp_drops
    }

    // ---- internals shared by the submodules --------------------------------

    fn push_event(&mut self, ev: Event) {
        // Routes and announces follow the change even if the queue is full.
        match ev {
            Event::StateChanged { id, .. } | Event::Announce { id, .. } => {
                let announce = matches!(ev, Event::Announce { .. });
                match self.slot_of(id).and_then(|s| self.table.get(s)) {
                    Some(v) => self.routes.mark_vhid(v, announce),
                    None => self.routes.mark(),
                }
            }
            _ => {}
        }
        // Capacity was reserved at configuration; never grow here.
        self.events.push(ev);
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    fn demoted(&self, v: &Vhid) -> u32 {
        vhid::demoted_skew(
            v.cfg.advskew,
            self.knobs.demotion,
            self.knobs.suppress_preempt,
        )
    }
}
