//! Advert output: `carp_send_ad_locked` / `vrrp_send_ad_locked`, done when
//! the driver polls, into the driver's buffer.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::io::Transmit;
use super::vhid::pending;
use super::{Engine, VhidId};
use crate::wire::{
    self, CarpPacket, CarpRepr, VrrpPacket, VrrpRepr, CARP_GROUP_V4, CARP_GROUP_V6, CARP_TTL,
};

impl Engine {
    /// Writes the next queued advert into `buf` and describes it. `None`
    /// when nothing is queued (or `buf` is too small for the advert, which
    /// is then counted as `onomem` and dropped).
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        loop {
            let (slot, family_v4, last) = self.next_queued()?;
            let tx = self.emit_one(slot, family_v4, buf);
            if last {
                self.finish_slot(slot);
            }
            if tx.is_some() {
                return tx;
            }
            self.stats.onomem = self.stats.onomem.saturating_add(1);
        }
    }

    /// The next advert to write: its slot, whether it is the IPv4 one, and
    /// whether it is the slot's last. Takes it out of the slot's pending
    /// set and skips slots with nothing (left) to send. Kept apart from the
    /// writing so the loop does not carry a `Transmit` around.
    #[inline(never)]
    fn next_queued(&mut self) -> Option<(u32, bool, bool)> {
        loop {
            let &slot = self.txq.front()?;
            let Some(v) = self.table.get_mut(slot) else {
                self.txq.pop_front();
                continue;
            };
            let bit = if v.pending & pending::ADVERT4 != 0 {
                pending::ADVERT4
            } else if v.pending & pending::ADVERT6 != 0 {
                pending::ADVERT6
            } else {
                self.finish_slot(slot);
                continue;
            };
            v.pending &= !bit;
            let last = v.pending & (pending::ADVERT4 | pending::ADVERT6) == 0;
            return Some((slot, bit == pending::ADVERT4, last));
        }
    }

    /// Takes a slot with nothing left to send off the queue, and frees a
    /// dying one now that its bow-out is out.
    #[inline(always)]
    fn finish_slot(&mut self, slot: u32) {
        self.txq.pop_front();
        let dying = match self.table.get_mut(slot) {
            Some(v) => {
                v.queued = false;
                v.pending = 0;
                v.dying
            }
            None => false,
        };
        if dying {
            self.table.remove(slot);
        }
    }

    #[inline(always)]
    fn emit_one(&mut self, slot: u32, v4: bool, buf: &mut [u8]) -> Option<Transmit> {
        let dscp = self.knobs.dscp;
        let skew = self.table.get(slot).map(|v| self.demoted(v))?;
        let iface = self.table.get(slot).map(|v| v.iface)?;
        let (src4, src6) = self
            .iface(iface)
            .map(|i| (i.v4, i.v6))
            .unwrap_or((None, None));
        // Drawn only for a vhid's first advert: it costs a splitmix round.
        let first_counter = if self.table.get(slot).is_some_and(|v| v.counter_init) {
            self.next_random()
        } else {
            0
        };
        let (peer4, peer6) = self.table.peers(slot);
        let v = self.table.get_mut(slot)?;
        let bowout = v.pending & pending::BOWOUT != 0;
        let (src, dst, multicast) = if v4 {
            let dst = peer4.unwrap_or(CARP_GROUP_V4);
            let src = IpAddr::V4(src4.unwrap_or(Ipv4Addr::UNSPECIFIED));
            (src, IpAddr::V4(dst), dst.is_multicast())
        } else {
            let dst = peer6.unwrap_or(CARP_GROUP_V6);
            let src = IpAddr::V6(src6.unwrap_or(Ipv6Addr::UNSPECIFIED));
            (src, IpAddr::V6(dst), dst.is_multicast())
        };
        let len = if v.is_vrrp() {
            // VRRP always multicasts to the group (peers are CARP-only).
            let dst = if v4 {
                IpAddr::V4(CARP_GROUP_V4)
            } else {
                IpAddr::V6(CARP_GROUP_V6)
            };
            let addrs = if v4 {
                v.addrs.v4_bytes()
            } else {
                v.addrs.v6_bytes()
            };
            let repr = VrrpRepr {
                vrid: v.cfg.vhid,
                priority: if bowout { 0 } else { v.cfg.vrrp_priority },
                max_adver_int: v.cfg.vrrp_interval,
                addrs,
            };
            let len = repr.buffer_len();
            let out = buf.get_mut(..len)?;
            let mut packet = VrrpPacket::new_unchecked(out);
            repr.emit(&mut packet, &src, &dst).ok()?;
            return Some(self.finish_tx(slot, v4, src, dst, true, len, dscp));
        } else {
            if v.counter_init {
                v.counter = first_counter;
                v.counter_init = false;
            } else {
                v.counter = v.counter.wrapping_add(1);
            }
            let (advbase, advskew) = if bowout {
                (255, 255)
            } else {
                (v.cfg.advbase, skew as u8)
            };
            let repr = CarpRepr {
                vhid: v.cfg.vhid,
                advskew,
                advbase,
                demote: 0,
                counter: v.counter,
                digest: v.addrs.sign(v.counter),
            };
            let len = repr.buffer_len();
            let out = buf.get_mut(..len)?;
            let mut packet = CarpPacket::new_unchecked(out);
            repr.emit(&mut packet);
            len
        };
        Some(self.finish_tx(slot, v4, src, dst, multicast, len, dscp))
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_tx(
        &mut self,
        slot: u32,
        v4: bool,
        src: IpAddr,
        dst: IpAddr,
        multicast: bool,
        len: usize,
        dscp: u8,
    ) -> Transmit {
        if v4 {
            self.stats.opackets = self.stats.opackets.saturating_add(1);
        } else {
            self.stats.opackets6 = self.stats.opackets6.saturating_add(1);
        }
        let (vhid, iface, gen) = match self.table.get_mut(slot) {
            Some(v) => {
                v.stats.adverts_out = v.stats.adverts_out.saturating_add(1);
                (v.cfg.vhid, v.iface, v.gen)
            }
            None => (0, 0, 0),
        };
        Transmit {
            id: VhidId { slot, gen },
            iface,
            vhid,
            src,
            dst,
            ttl: CARP_TTL,
            tos: dscp << 2,
            len,
            src_mac: multicast.then(|| wire::virtual_mac(vhid)),
        }
    }
}
