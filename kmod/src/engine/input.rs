//! Advert input: `carp_input`/`carp6_input` and `carp_input_c` /
//! `vrrp_input_c`. Every check drops and counts; nothing unauthenticated
//! reaches the state machine.

use core::net::IpAddr;

use super::config::Version;
use super::io::{Event, Received};
use super::machine::{arm, runnable, vrrp_skew, Af};
use super::state::{Reason, State};
use super::stats::Drop;
use super::time::{carp_tv_us, Deadline};
use super::vhid::{demoted_skew, flag};
use super::Engine;
use crate::wire::{self, CarpPacket, CarpRepr, VrrpPacket, VrrpRepr, CARP_HEADER_LEN, CARP_TTL};

impl Engine {
    /// Feeds one received protocol-112 packet. `Err` says why it was
    /// dropped; the matching carpstats counter has been bumped either way.
    pub fn handle_packet(&mut self, now: super::Instant, rx: &Received<'_>) -> Result<(), Drop> {
        let r = self.input(now, rx);
        if let Err(drop) = r {
            self.stats.count(drop);
            if self.knobs.log >= 2 {
                let vhid = rx.payload.get(1).copied().unwrap_or(0);
                self.push_event(Event::BadPacket {
                    iface: rx.iface,
                    vhid,
                    drop,
                });
            }
        }
        r
    }

    fn input(&mut self, now: super::Instant, rx: &Received<'_>) -> Result<(), Drop> {
        let v6 = rx.src.is_ipv6();
        if v6 {
            self.stats.ipackets6 = self.stats.ipackets6.saturating_add(1);
        } else {
            self.stats.ipackets = self.stats.ipackets.saturating_add(1);
        }
        if !self.knobs.allow {
            return Err(Drop::NotAllowed);
        }
        if rx.payload.len() < 8 {
            return Err(Drop::BadLength);
        }
        let version = wire::version_of(rx.payload).ok_or(Drop::BadLength)?;
        match version {
            2 => self.input_carp(now, rx, v6),
            3 => self.input_vrrp(now, rx, v6),
            _ => Err(Drop::BadVersion),
        }
    }

    /// Our own advert echoed back by the segment (FreeBSD: badif).
    fn looped(&self, rx: &Received<'_>) -> bool {
        self.iface(rx.iface).is_some_and(|i| is_own(i, rx))
    }

    /// `carp_find_ifa`: the vhid on the receiving interface, which must
    /// hold an address of the packet's family.
    fn find_vhid(&self, rx: &Received<'_>, vhid: u8, v6: bool) -> Result<u32, Drop> {
        let slot = self.table.lookup(rx.iface, vhid).ok_or(Drop::UnknownVhid)?;
        let v = self.table.get(slot).ok_or(Drop::UnknownVhid)?;
        let has = if v6 {
            v.addrs.has_v6()
        } else {
            v.addrs.has_v4()
        };
        if has {
            Ok(slot)
        } else {
            Err(Drop::UnknownVhid)
        }
    }

    fn input_carp(&mut self, now: super::Instant, rx: &Received<'_>, v6: bool) -> Result<(), Drop> {
        if rx.payload.len() < CARP_HEADER_LEN {
            return Err(Drop::BadLength);
        }
        // IPv6 input checksums exactly the header; IPv4 the whole payload.
        let bytes = if v6 {
            rx.payload.get(..CARP_HEADER_LEN).ok_or(Drop::BadLength)?
        } else {
            rx.payload
        };
        let packet = CarpPacket::new_checked(bytes).map_err(|_| Drop::BadLength)?;
        let ch = CarpRepr::parse(&packet).map_err(|e| match e {
            wire::Error::Checksum => Drop::BadChecksum,
            wire::Error::Version => Drop::BadVersion,
            _ => Drop::BadLength,
        })?;
        // One interface lookup for the loop check and, later, carp_setrun's
        // "parent up" (the vhid found is on this interface).
        let parent = self.iface(rx.iface);
        if parent.is_some_and(|i| is_own(i, rx)) {
            return Err(Drop::Looped);
        }
        let parent_up = parent.is_none_or(|i| i.up);
        // `find_vhid` with the record and its peers in one lookup.
        let slot = self
            .table
            .lookup(rx.iface, ch.vhid)
            .ok_or(Drop::UnknownVhid)?;
        let (v, peer4, peer6) = self
            .table
            .get_mut_with_peers(slot)
            .ok_or(Drop::UnknownVhid)?;
        // Adverts to a multicast group get the TTL check; tested in host
        // order (the FreeBSD PR 284872 mistake was testing network order).
        let (has, multicast) = if v6 {
            (v.addrs.has_v6(), peer6.is_none_or(|a| a.is_multicast()))
        } else {
            (v.addrs.has_v4(), peer4.is_none_or(|a| a.is_multicast()))
        };
        if !has {
            return Err(Drop::UnknownVhid);
        }
        if v.is_vrrp() {
            self.detect_protocol(now, slot, rx.src, Version::Carp);
            return Err(Drop::BadVersion);
        }
        if multicast && rx.ttl != CARP_TTL {
            v.stats.bad_ttl = v.stats.bad_ttl.saturating_add(1);
            return Err(Drop::BadTtl);
        }
        // The digest straight from the packet: no copy on the hot path.
        if !v.addrs.verify(ch.counter, packet.digest()) {
            v.stats.bad_auth = v.stats.bad_auth.saturating_add(1);
            self.detect_bad_auth(now, slot, rx.src, ch.counter, &ch.digest);
            return Err(Drop::BadAuth);
        }
        // FreeBSD has no replay protection ("XXX Replay protection goes
        // here"): the counter is simply adopted, so our next advert
        // continues from it. `replay_check` is the opt-in check; with it
        // a node's own counter only grows (adopting a lower one, from a
        // peer that advertised less during a partition, would make our
        // next adverts look replayed to those who heard our higher ones).
        if self.knobs.replay_check {
            let id = super::VhidId { slot, gen: v.gen };
            if !self.replay.fresh(id, rx.src, ch.counter, now) {
                v.stats.bad_replay = v.stats.bad_replay.saturating_add(1);
                return Err(Drop::Replayed);
            }
            if v.is(flag::COUNTER_INIT) || ch.counter > v.counter {
                v.counter = ch.counter;
            }
        } else {
            v.counter = ch.counter;
        }
        v.set(flag::COUNTER_INIT, false);
        v.stats.adverts_in = v.stats.adverts_in.saturating_add(1);
        if v.state == State::Backup {
            // The usual case, on the vhid in hand.
            let af = if v6 { Af::V6 } else { Af::V4 };
            if let Some(reason) = backup_elect(
                &self.knobs,
                &mut self.timers,
                slot,
                v,
                &ch,
                now,
                af,
                parent_up,
            ) {
                if reason == Reason::PreemptingSlowerMaster {
                    self.stats.preempt = self.stats.preempt.saturating_add(1);
                }
                self.master_down(now, slot, reason);
                self.rearm(slot);
            }
            return Ok(());
        }
        self.carp_elect(now, slot, &ch, rx.src);
        Ok(())
    }

    /// §3.3 for a MASTER (a BACKUP goes through [`backup_elect`]): compare
    /// the advertised interval with ours, as timevals, and step down to a
    /// better or equal master.
    fn carp_elect(&mut self, now: super::Instant, slot: u32, ch: &CarpRepr, src: IpAddr) {
        let Some(v) = self.table.get_mut(slot) else {
            return;
        };
        let k = &self.knobs;
        let skew = demoted_skew(v.cfg.advskew, k.demotion, k.suppress_preempt);
        let sc_tv = carp_tv_us(u32::from(v.cfg.advbase), skew);
        let ch_tv = carp_tv_us(u32::from(ch.advbase), u32::from(ch.advskew));
        match v.state {
            State::Init | State::Backup => {}
            State::Master => {
                if sc_tv >= ch_tv {
                    self.step_down(now, slot);
                } else {
                    self.count_dual_master(slot);
                    let ours = u8::try_from(skew).unwrap_or(u8::MAX);
                    self.detect_split_brain(now, slot, src, ours, ch.advskew);
                }
            }
        }
        self.rearm(slot);
    }

    /// MASTER hears a better (or equal) master: BACKUP, re-arm master-down.
    fn step_down(&mut self, now: super::Instant, slot: u32) {
        if let Some(v) = self.table.get_mut(slot) {
            v.set_ad_at(Deadline::NONE);
            v.stats.dual_master = v.stats.dual_master.saturating_add(1);
        }
        self.set_state(now, slot, State::Backup, Reason::MoreFrequentAdvert);
        self.setrun(now, slot, Af::Both);
    }

    /// A MASTER that keeps hearing a worse master: the other side will step
    /// down on our next advert; count it so split brain is visible.
    fn count_dual_master(&mut self, slot: u32) {
        if let Some(v) = self.table.get_mut(slot) {
            v.stats.dual_master = v.stats.dual_master.saturating_add(1);
        }
    }

    fn input_vrrp(&mut self, now: super::Instant, rx: &Received<'_>, v6: bool) -> Result<(), Drop> {
        let packet = VrrpPacket::new_checked(rx.payload).map_err(|_| Drop::BadLength)?;
        let vh = VrrpRepr::parse(&packet, &rx.src, &rx.dst).map_err(|e| match e {
            wire::Error::Checksum => Drop::BadChecksum,
            wire::Error::Version | wire::Error::Type => Drop::BadVersion,
            _ => Drop::BadLength,
        })?;
        if self.looped(rx) {
            return Err(Drop::Looped);
        }
        let slot = self.find_vhid(rx, vh.vrid, v6)?;
        let own_src = self.iface(rx.iface).and_then(|i| {
            if v6 {
                i.v6.map(IpAddr::V6)
            } else {
                i.v4.map(IpAddr::V4)
            }
        });
        let preempt = self.knobs.preempt && self.knobs.suppress_preempt == 0;
        let v = self.table.get_mut(slot).ok_or(Drop::UnknownVhid)?;
        if !v.is_vrrp() {
            self.detect_protocol(now, slot, rx.src, Version::Vrrp3);
            return Err(Drop::BadVersion);
        }
        // VRRP has no unicast exemption: TTL 255 always.
        if rx.ttl != CARP_TTL {
            v.stats.bad_ttl = v.stats.bad_ttl.saturating_add(1);
            return Err(Drop::BadTtl);
        }
        v.stats.adverts_in = v.stats.adverts_in.saturating_add(1);
        // The address owner never yields.
        if v.cfg.vrrp_priority == 255 {
            return Ok(());
        }
        if vh.max_adver_int != 0 {
            v.master_inter = vh.max_adver_int;
        }
        let own = v.cfg.vrrp_priority;
        let af = if v6 { Af::V6 } else { Af::V4 };
        match v.state {
            State::Init => {}
            State::Master => {
                if vh.priority == 0 {
                    // RFC 5798 6.4.3: answer a resigning peer at once.
                    self.send_ad(now, slot);
                } else if vh.priority > own
                    || (vh.priority == own && own_src.is_some_and(|o| ip_gt(&rx.src, &o)))
                {
                    self.step_down(now, slot);
                } else {
                    self.count_dual_master(slot);
                    self.detect_split_brain(now, slot, rx.src, own, vh.priority);
                }
            }
            State::Backup => {
                if vh.priority == 0 {
                    // The master resigned: take over after Skew_Time.
                    let skew = vrrp_skew(v.master_inter, own);
                    let at = now.after_ns(skew);
                    if v.addrs.has_v4() {
                        v.set_md_at(false, Deadline::at(at));
                    }
                    if v.addrs.has_v6() {
                        v.set_md_at(true, Deadline::at(at));
                    }
                } else if preempt && vh.priority < own {
                    self.stats.preempt = self.stats.preempt.saturating_add(1);
                    self.master_down(now, slot, Reason::PreemptingSlowerMaster);
                } else {
                    self.setrun(now, slot, af);
                }
            }
        }
        self.rearm(slot);
        Ok(())
    }
}

/// Whether `rx` comes from the parent's own address: our advert echoed.
fn is_own(i: &super::Iface, rx: &Received<'_>) -> bool {
    match rx.src {
        IpAddr::V4(a) => i.v4 == Some(a),
        IpAddr::V6(a) => i.v6 == Some(a),
    }
}

/// RFC 5798's tie-break compares primary addresses as unsigned integers.
fn ip_gt(a: &IpAddr, b: &IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets() > b.octets(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() > b.octets(),
        _ => false,
    }
}

/// §3.3 for a BACKUP, on the vhid in hand: the reason to become MASTER
/// (preempting a slower master, or one that will time out before it
/// advertises again), or `None` after `carp_setrun`'s usual re-arm of
/// the master-down timer of the advert's family.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backup_elect(
    k: &super::Knobs,
    timers: &mut super::timers::TimerHeap,
    slot: u32,
    v: &mut super::vhid::Vhid,
    ch: &CarpRepr,
    now: super::Instant,
    af: Af,
    parent_up: bool,
) -> Option<Reason> {
    let skew = demoted_skew(v.cfg.advskew, k.demotion, k.suppress_preempt);
    let sc_tv = carp_tv_us(u32::from(v.cfg.advbase), skew);
    let ch_tv = carp_tv_us(u32::from(ch.advbase), u32::from(ch.advskew));
    let preempt = k.preempt && k.suppress_preempt == 0;
    if preempt && sc_tv < ch_tv {
        return Some(Reason::PreemptingSlowerMaster);
    }
    if carp_tv_us(3 * u32::from(v.cfg.advbase), skew) < ch_tv {
        return Some(Reason::MasterWillTimeOut);
    }
    if runnable(k, v, parent_up) {
        arm(v, now, af);
    }
    timers.set(slot, v.next_deadline());
    None
}
