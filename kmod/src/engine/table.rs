//! The vhid table: a slab of [`Vhid`] records plus an open-addressing
//! index on (interface, vhid), so input finds its vhid in O(1) however many
//! interfaces and vhids there are.

use alloc::vec::Vec;
use core::ops::Range;

use core::net::{Ipv4Addr, Ipv6Addr};

use super::config::{ConfigError, Settings, VhidConfig};
use super::vhid::{flag, Vhid};
use super::IfIndex;
use crate::util::{push_within_capacity, reserve_chunked, try_push, try_resize};

const EMPTY: u32 = 0;
const MIN_INDEX: usize = 16;

/// The unicast peers of one slot (`sc_carpaddr` / `sc_carpaddr6`).
#[derive(Clone, Copy)]
struct Peers {
    slot: u32,
    peer4: Option<Ipv4Addr>,
    peer6: Option<Ipv6Addr>,
}

#[derive(Default)]
pub(crate) struct Table {
    slots: Vec<Option<Vhid>>,
    /// Peers of the vhids that have any, sorted by slot; a vhid's
    /// `cfg.has_peers` says whether it has an entry, so vhids without
    /// peers (nearly all) never search.
    peers: Vec<Peers>,
    /// Empty slots below `slots.len()`; `insert` reuses the first one it
    /// finds (a scan on the configuration path instead of a free list of
    /// 4 bytes per slot).
    holes: usize,
    /// slot + 1, or EMPTY; length a power of two, at most half full.
    index: Vec<u32>,
    indexed: usize,
    next_gen: u32,
}

fn hash(iface: IfIndex, vhid: u8) -> u64 {
    let key = (u64::from(iface) << 8) | u64::from(vhid);
    key.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Table {
    /// Live (indexed) vhids.
    pub fn len(&self) -> usize {
        self.indexed
    }

    pub fn capacity_after_insert(&self) -> usize {
        if self.holes == 0 {
            self.slots.len() + 1
        } else {
            self.slots.len()
        }
    }

    /// All slot numbers; callers skip empty ones. A range, so callers may
    /// mutate the engine while walking it.
    pub fn slots(&self) -> Range<u32> {
        0..self.slots.len() as u32
    }

    pub fn get(&self, slot: u32) -> Option<&Vhid> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Vhid> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &Vhid)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|v| (i as u32, v)))
    }

    fn mask(&self) -> usize {
        self.index.len().wrapping_sub(1)
    }

    pub fn lookup(&self, iface: IfIndex, vhid: u8) -> Option<u32> {
        if self.index.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut i = (hash(iface, vhid) >> 32) as usize & mask;
        for _ in 0..self.index.len() {
            let e = *self.index.get(i)?;
            if e == EMPTY {
                return None;
            }
            let slot = e - 1;
            if let Some(v) = self.get(slot) {
                if v.iface == iface && v.cfg.vhid == vhid && !v.is(flag::DYING) {
                    return Some(slot);
                }
            }
            i = (i + 1) & mask;
        }
        None
    }

    fn index_insert(&mut self, slot: u32) {
        let Some((iface, vhid)) = self.get(slot).map(|v| (v.iface, v.cfg.vhid)) else {
            return;
        };
        let mask = self.mask();
        let mut i = (hash(iface, vhid) >> 32) as usize & mask;
        for _ in 0..self.index.len() {
            match self.index.get_mut(i) {
                Some(e) if *e == EMPTY => {
                    *e = slot + 1;
                    return;
                }
                Some(_) => i = (i + 1) & mask,
                None => return,
            }
        }
    }

    /// Rebuilds the index from the live slots, at `size` entries.
    fn rebuild(&mut self, size: usize) -> Result<(), ConfigError> {
        if self.index.len() != size {
            let mut fresh = Vec::new();
            fresh
                .try_reserve_exact(size)
                .map_err(|_| ConfigError::NoMemory)?;
            try_resize(&mut fresh, size, EMPTY).map_err(|_| ConfigError::NoMemory)?;
            self.index = fresh;
        } else {
            self.index.iter_mut().for_each(|e| *e = EMPTY);
        }
        self.indexed = 0;
        for slot in self.slots() {
            if self.get(slot).is_some_and(|v| !v.is(flag::DYING)) {
                self.index_insert(slot);
                self.indexed += 1;
            }
        }
        Ok(())
    }

    /// The unicast peers of `slot`; `None` means the multicast group.
    #[inline(always)]
    pub fn peers(&self, slot: u32) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
        if !self.get(slot).is_some_and(|v| v.is(flag::HAS_PEERS)) {
            return (None, None);
        }
        self.peers
            .binary_search_by_key(&slot, |p| p.slot)
            .ok()
            .and_then(|i| self.peers.get(i))
            .map_or((None, None), |p| (p.peer4, p.peer6))
    }

    /// The record of `slot` with its peers, in one lookup.
    #[inline(always)]
    pub fn get_mut_with_peers(
        &mut self,
        slot: u32,
    ) -> Option<(&mut Vhid, Option<Ipv4Addr>, Option<Ipv6Addr>)> {
        let v = self.slots.get_mut(slot as usize)?.as_mut()?;
        if !v.is(flag::HAS_PEERS) {
            return Some((v, None, None));
        }
        let p = self
            .peers
            .binary_search_by_key(&slot, |p| p.slot)
            .ok()
            .and_then(|i| self.peers.get(i));
        Some((v, p.and_then(|p| p.peer4), p.and_then(|p| p.peer6)))
    }

    /// The whole configuration of `slot`, peers included.
    pub fn config(&self, slot: u32) -> Option<VhidConfig> {
        let (p4, p6) = self.peers(slot);
        self.get(slot).map(|v| v.cfg.config(p4, p6))
    }

    /// Room for one more peer entry, so [`Table::set_peers`] cannot fail.
    pub fn reserve_peers(&mut self) -> Result<(), ConfigError> {
        self.peers.try_reserve(1).map_err(|_| ConfigError::NoMemory)
    }

    /// Records the peers of `slot` (none: removes its entry). Call
    /// [`Table::reserve_peers`] first: without room a new entry is lost.
    pub fn set_peers(&mut self, slot: u32, peer4: Option<Ipv4Addr>, peer6: Option<Ipv6Addr>) {
        let any = peer4.is_some() || peer6.is_some();
        match self.peers.binary_search_by_key(&slot, |p| p.slot) {
            Ok(i) if any => {
                if let Some(p) = self.peers.get_mut(i) {
                    *p = Peers { slot, peer4, peer6 };
                }
            }
            Ok(i) => {
                self.peers.remove(i);
            }
            Err(i) if any => {
                // `Vec::insert` may grow, which the kernel's `alloc` lacks.
                if push_within_capacity(&mut self.peers, Peers { slot, peer4, peer6 }).is_ok() {
                    if let Some(tail) = self.peers.get_mut(i..) {
                        tail.rotate_right(1);
                    }
                }
            }
            Err(_) => {}
        }
        let has = self.peers.binary_search_by_key(&slot, |p| p.slot).is_ok();
        if let Some(v) = self.get_mut(slot) {
            v.set(flag::HAS_PEERS, has);
        }
    }

    pub fn insert(&mut self, iface: IfIndex, cfg: &VhidConfig) -> Result<u32, ConfigError> {
        if self.slots.len() >= u32::MAX as usize - 1 {
            return Err(ConfigError::TooMany);
        }
        if cfg.peer4.is_some() || cfg.peer6.is_some() {
            self.reserve_peers()?;
        }
        let want = (self.indexed + 1) * 2;
        if self.index.len() < want {
            self.rebuild(want.next_power_of_two().max(MIN_INDEX))?;
        }
        self.next_gen = self.next_gen.wrapping_add(1);
        let vhid = Vhid::new(self.next_gen, iface, Settings::new(cfg))?;
        let hole = if self.holes > 0 {
            self.slots.iter().position(Option::is_none)
        } else {
            None
        };
        let slot = match hole {
            Some(s) => {
                self.holes -= 1;
                s
            }
            None => {
                let n = self.slots.len() + 1;
                reserve_chunked(&mut self.slots, n).map_err(|_| ConfigError::NoMemory)?;
                try_push(&mut self.slots, None).map_err(|_| ConfigError::NoMemory)?;
                self.slots.len() - 1
            }
        };
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(vhid);
        }
        let slot = slot as u32;
        self.set_peers(slot, cfg.peer4, cfg.peer6);
        self.index_insert(slot);
        self.indexed += 1;
        Ok(slot)
    }

    /// Takes the vhid out of the index (it is dying) but keeps its record.
    pub fn unindex(&mut self, slot: u32) {
        if let Some(v) = self.get_mut(slot) {
            v.set(flag::DYING, true);
        }
        let size = self.index.len();
        // Same size: no allocation.
        let _ = self.rebuild(size);
    }

    /// Out of line: the transmit path calls it only for a vhid whose
    /// bow-out just went out, and inlining it there costs every advert.
    #[inline(never)]
    pub fn remove(&mut self, slot: u32) {
        let was_live = self.get(slot).is_some_and(|v| !v.is(flag::DYING));
        if self
            .slots
            .get_mut(slot as usize)
            .and_then(Option::take)
            .is_none()
        {
            return;
        }
        if was_live {
            let size = self.index.len();
            let _ = self.rebuild(size);
        }
        if let Ok(i) = self.peers.binary_search_by_key(&slot, |p| p.slot) {
            self.peers.remove(i);
        }
        self.holes += 1;
    }
}
