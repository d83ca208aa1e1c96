//! Advert output: `carp_send_ad_locked` / `vrrp_send_ad_locked`, done when
//! the driver polls, into the driver's buffer.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::addrs::Addrs;
use super::io::Transmit;
use super::vhid::{self, flag, pending};
use super::{splitmix, Engine, IfIndex, State, VhidId};

/// A parent's own best IPv4 and IPv6 addresses (the advert source).
pub type IfaceAddrs = (Option<Ipv4Addr>, Option<Ipv6Addr>);
use crate::wire::{
    self, VrrpPacket, VrrpRepr, CARP_GROUP_V4, CARP_GROUP_V6, CARP_HEADER_LEN, CARP_TTL,
};

impl Engine {
    /// Writes the next queued advert into `buf` and describes it. `None`
    /// when nothing is queued (or `buf` is too small for the advert, which
    /// is then counted as `onomem` and dropped).
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        self.poll_transmit_with(buf, |_| None)
    }

    /// [`Engine::poll_transmit`], asking `source` for the parent's own
    /// addresses as each advert is written, as `carp_send_ad_locked` asks
    /// `carp_best_ifa` at send time: the source follows a renumbering or a
    /// link-local that appeared after the vhid. `source(iface)` returns
    /// the parent's best IPv4 and IPv6 address (`None` for a family it
    /// has none of), or `None` to keep what
    /// [`Engine::set_iface_addrs`] recorded. The answer is recorded too,
    /// so that input recognises our own adverts by the same address.
    #[inline(always)]
    pub fn poll_transmit_with<F>(&mut self, buf: &mut [u8], mut source: F) -> Option<Transmit>
    where
        F: FnMut(IfIndex) -> Option<IfaceAddrs>,
    {
        let (slot, v4, iface) = self.next_writable(buf.len())?;
        let (src4, src6) = self.advert_source(iface, &mut source);
        // Built straight in our return slot: one copy per family, so the
        // IPv4 one handles 4-byte addresses only.
        if v4 {
            let src = src4
                .or_else(|| self.vip_source(iface, |a| a.v4().first().map(|&b| b.into())))
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            self.write_advert::<false>(slot, IpAddr::V4(src), buf)
        } else {
            let src = src6
                .or_else(|| self.vip_source(iface, |a| a.v6().first().map(|&b| b.into())))
                .unwrap_or(Ipv6Addr::UNSPECIFIED);
            self.write_advert::<true>(slot, IpAddr::V6(src), buf)
        }
    }

    /// The parent's own addresses for an advert: what `source` answers
    /// (recorded, so input knows them as ours), else what was recorded.
    /// Never grows the interface table: the transmit path allocates
    /// nothing.
    #[inline(always)]
    fn advert_source<F>(&mut self, iface: IfIndex, source: &mut F) -> IfaceAddrs
    where
        F: FnMut(IfIndex) -> Option<IfaceAddrs>,
    {
        match self.ifaces.iter_mut().find(|i| i.index == iface) {
            Some(i) => {
                if let Some((v4, v6)) = source(iface) {
                    i.v4 = v4;
                    i.v6 = v6;
                }
                (i.v4, i.v6)
            }
            None => (None, None),
        }
    }

    /// `carp_best_ifa` when the parent has no address of its own in the
    /// family: its vhid addresses are all there is, and `ifa_preferred`
    /// picks one of a MASTER vhid over one of a BACKUP (the engine's vhid
    /// order stands in for the interface's address order). `first` reads
    /// the family's first address of a vhid.
    #[cold]
    fn vip_source<A>(&self, iface: IfIndex, first: impl Fn(&Addrs) -> Option<A>) -> Option<A> {
        let on = || {
            self.table
                .slots()
                .filter_map(|s| self.table.get(s))
                .filter(move |v| v.iface == iface)
        };
        on().filter(|v| v.state == State::Master)
            .find_map(|v| first(&v.addrs))
            .or_else(|| on().find_map(|v| first(&v.addrs)))
    }

    /// The next queued advert that fits in `len` bytes: its slot, whether
    /// it is the IPv4 one, and its parent. Skips slots with nothing (left) to send,
    /// and drops and counts adverts that cannot be written. Kept apart
    /// from the writing so no `Transmit` is carried around this loop.
    #[inline(always)]
    fn next_writable(&mut self, len: usize) -> Option<(u32, bool, IfIndex)> {
        loop {
            let &slot = self.txq.front()?;
            let Some(v) = self.table.get_mut(slot) else {
                self.txq.pop_front();
                continue;
            };
            let v4 = v.flags & pending::ADVERT4 != 0;
            if !v4 && v.flags & pending::ADVERT6 == 0 {
                self.finish_slot(slot);
                continue;
            }
            if advert_len(v, v4).is_some_and(|n| n <= len) {
                return Some((slot, v4, v.iface));
            }
            // It cannot be written: dropped and counted.
            v.flags &= !if v4 {
                pending::ADVERT4
            } else {
                pending::ADVERT6
            };
            if v.flags & (pending::ADVERT4 | pending::ADVERT6) == 0 {
                self.finish_slot(slot);
            }
            self.stats.onomem = self.stats.onomem.saturating_add(1);
        }
    }

    /// Takes a slot with nothing left to send off the queue, and frees a
    /// dying one now that its bow-out is out.
    #[inline(always)]
    fn finish_slot(&mut self, slot: u32) {
        self.txq.pop_front();
        let dying = match self.table.get_mut(slot) {
            Some(v) => {
                v.flags &= !(pending::ALL | flag::QUEUED);
                v.is(flag::DYING)
            }
            None => false,
        };
        if dying {
            self.table.remove(slot);
        }
    }

    /// Writes the slot's pending advert of one family into `buf` (which
    /// [`advert_len`] says is long enough) and takes it off the queue
    /// first, so that even a write that failed (which `advert_len` rules
    /// out; it would be counted as `onomem`) leaves nothing stuck. The
    /// vhid's record is borrowed once, with its peers.
    #[inline(always)]
    fn write_advert<const V6: bool>(
        &mut self,
        slot: u32,
        src: IpAddr,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let Engine {
            table,
            knobs,
            stats,
            rng,
            txq,
            ..
        } = self;
        let (v, peer4, peer6) = table.get_mut_with_peers(slot)?;
        let mut f = v.flags;
        let bowout = f & pending::BOWOUT != 0;
        f &= !if V6 {
            pending::ADVERT6
        } else {
            pending::ADVERT4
        };
        let last = f & (pending::ADVERT4 | pending::ADVERT6) == 0;
        let dying = last && f & flag::DYING != 0;
        if last {
            f &= !(pending::ALL | flag::QUEUED);
            txq.pop_front();
        }
        v.flags = f;
        let dst = if V6 {
            IpAddr::V6(peer6.unwrap_or(CARP_GROUP_V6))
        } else {
            IpAddr::V4(peer4.unwrap_or(CARP_GROUP_V4))
        };
        let tx = write_into::<V6>(v, slot, knobs, stats, rng, bowout, src, dst, buf);
        if tx.is_none() {
            stats.onomem = stats.onomem.saturating_add(1);
        }
        if dying {
            // Its bow-out is out: the slot can go.
            table.remove(slot);
        }
        tx
    }
}

/// The writing half of [`Engine::write_advert`]: the advert itself (CARP
/// signed straight into the header it then checksums) and its
/// description.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn write_into<const V6: bool>(
    v: &mut vhid::Vhid,
    slot: u32,
    knobs: &super::Knobs,
    stats: &mut super::Stats,
    rng: &mut u64,
    bowout: bool,
    src: IpAddr,
    dst: IpAddr,
    buf: &mut [u8],
) -> Option<Transmit> {
    let (len, dst, multicast) = if v.is_vrrp() {
        // VRRP always multicasts to the group (peers are CARP-only).
        let (dst, addrs) = if V6 {
            (IpAddr::V6(CARP_GROUP_V6), v.addrs.v6_bytes())
        } else {
            (IpAddr::V4(CARP_GROUP_V4), v.addrs.v4_bytes())
        };
        let repr = VrrpRepr {
            vrid: v.cfg.vhid,
            priority: if bowout { 0 } else { v.cfg.vrrp_priority },
            max_adver_int: v.cfg.vrrp_interval(),
            addrs,
        };
        let len = repr.buffer_len();
        let out = buf.get_mut(..len)?;
        let mut packet = VrrpPacket::new_unchecked(out);
        repr.emit(&mut packet, &src, &dst).ok()?;
        (len, dst, true)
    } else {
        let out: &mut [u8; CARP_HEADER_LEN] = buf.get_mut(..CARP_HEADER_LEN)?.try_into().ok()?;
        v.counter = if v.is(flag::COUNTER_INIT) {
            // Drawn only for a vhid's first advert.
            v.set(flag::COUNTER_INIT, false);
            splitmix(rng)
        } else {
            v.counter.wrapping_add(1)
        };
        let (advbase, advskew) = if bowout {
            (255, 255)
        } else {
            let skew = vhid::demoted_skew(v.cfg.advskew, knobs.demotion, knobs.suppress_preempt);
            (v.cfg.advbase, skew as u8)
        };
        let digest = wire::carp::emit_header(out, v.cfg.vhid, advskew, advbase, v.counter);
        if let Some(digest) = digest {
            v.addrs.sign_into(v.counter, digest);
        }
        wire::carp::fill_header_checksum(out);
        let multicast = match dst {
            IpAddr::V4(a) => a.is_multicast(),
            IpAddr::V6(a) => a.is_multicast(),
        };
        (CARP_HEADER_LEN, dst, multicast)
    };
    if V6 {
        stats.opackets6 = stats.opackets6.saturating_add(1);
    } else {
        stats.opackets = stats.opackets.saturating_add(1);
    }
    v.stats.adverts_out = v.stats.adverts_out.saturating_add(1);
    let vhid = v.cfg.vhid;
    Some(Transmit {
        id: VhidId { slot, gen: v.gen },
        iface: v.iface,
        vhid,
        src,
        dst,
        ttl: CARP_TTL,
        tos: knobs.dscp << 2,
        len,
        src_mac: multicast.then(|| wire::virtual_mac(vhid)),
    })
}

/// Bytes the vhid's next advert of this family takes, `None` if it cannot
/// be written (a VRRP address count beyond its 8-bit field).
#[inline(always)]
fn advert_len(v: &vhid::Vhid, v4: bool) -> Option<usize> {
    if !v.is_vrrp() {
        return Some(CARP_HEADER_LEN);
    }
    let (bytes, each) = if v4 {
        (v.addrs.v4_bytes().len(), 4)
    } else {
        (v.addrs.v6_bytes().len(), 16)
    };
    (bytes / each <= usize::from(u8::MAX)).then_some(wire::VRRP_HEADER_LEN + bytes)
}
