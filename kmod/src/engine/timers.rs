//! An indexed binary min-heap of per-vhid deadlines.
//!
//! Each vhid has at most one entry (its earliest timer), so re-arming is an
//! O(log n) sift and `poll_timeout` is O(1). Storage is reserved when vhids
//! are created; arming a timer on the packet path never allocates.

use alloc::vec::Vec;

use super::time::Instant;
use crate::util::{push_within_capacity, reserve_chunked, try_resize};

const NONE: u32 = u32::MAX;

/// One heap entry, 12 bytes instead of the 16 of `(Instant, u32)`: the
/// deadline in ns and the slot, ordered by deadline then slot.
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
struct Entry {
    at: u64,
    slot: u32,
}

/// Heap bytes per vhid: its entry and its position.
pub(crate) const BYTES_PER_SLOT: usize = core::mem::size_of::<Entry>() + 4;

impl Entry {
    fn key(self) -> (u64, u32) {
        (self.at, self.slot)
    }
}

#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    /// Heap-ordered by deadline then slot.
    heap: Vec<Entry>,
    /// slot -> position in `heap`, or NONE.
    pos: Vec<u32>,
}

impl TimerHeap {
    /// Makes room for `slots` entries; the only place that allocates.
    pub(crate) fn reserve_slots(&mut self, slots: usize) -> bool {
        if self.pos.len() >= slots {
            return true;
        }
        if reserve_chunked(&mut self.heap, slots).is_err()
            || reserve_chunked(&mut self.pos, slots).is_err()
        {
            return false;
        }
        try_resize(&mut self.pos, slots, NONE).is_ok()
    }

    pub(crate) fn peek(&self) -> Option<(Instant, u32)> {
        self.heap
            .first()
            .map(|e| (Instant::from_nanos(e.at), e.slot))
    }

    /// Sets or clears the deadline of `slot`.
    #[inline(always)]
    pub(crate) fn set(&mut self, slot: u32, at: Option<Instant>) {
        let Some(&p) = self.pos.get(slot as usize) else {
            return;
        };
        match (p == NONE, at) {
            (true, None) => {}
            (true, Some(t)) => {
                // Capacity was reserved for every slot, so this never grows.
                let i = self.heap.len();
                let e = Entry {
                    at: t.as_nanos(),
                    slot,
                };
                if push_within_capacity(&mut self.heap, e).is_err() {
                    return;
                }
                self.place(i);
                self.sift_up(i);
            }
            (false, None) => self.remove_at(p as usize),
            (false, Some(t)) => {
                let i = p as usize;
                let Some(e) = self.heap.get_mut(i) else {
                    return;
                };
                let (old, t) = (e.at, t.as_nanos());
                if t == old {
                    return;
                }
                e.at = t;
                if t < old {
                    self.sift_up(i);
                } else {
                    self.sift_down(i);
                }
            }
        }
    }

    /// Moves the earliest entry (the one [`TimerHeap::peek`] gave) to the
    /// later deadline `at`: [`TimerHeap::set`] without finding it first.
    #[inline(always)]
    pub(crate) fn reschedule_top(&mut self, at: Instant) {
        if let Some(e) = self.heap.first_mut() {
            e.at = at.as_nanos().max(e.at);
            self.sift_down(0);
        }
    }

    fn key(&self, i: usize) -> Option<(u64, u32)> {
        self.heap.get(i).map(|e| e.key())
    }

    fn place(&mut self, i: usize) {
        if let Some(slot) = self.heap.get(i).map(|e| e.slot) {
            if let Some(p) = self.pos.get_mut(slot as usize) {
                *p = i as u32;
            }
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.place(a);
        self.place(b);
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            match (self.key(i), self.key(parent)) {
                (Some(c), Some(p)) if c < p => {
                    self.swap(i, parent);
                    i = parent;
                }
                _ => break,
            }
        }
    }

    #[inline(always)]
    fn sift_down(&mut self, mut i: usize) {
        while let (Some(k), Some(left)) = (self.key(i), self.key(2 * i + 1)) {
            let l = 2 * i + 1;
            let (m, km) = match self.key(l + 1) {
                Some(right) if right < left => (l + 1, right),
                _ => (l, left),
            };
            if km >= k {
                break;
            }
            self.swap(i, m);
            i = m;
        }
    }

    fn remove_at(&mut self, i: usize) {
        let last = self.heap.len().saturating_sub(1);
        if i > last || self.heap.is_empty() {
            return;
        }
        if let Some(slot) = self.heap.get(i).map(|e| e.slot) {
            if let Some(p) = self.pos.get_mut(slot as usize) {
                *p = NONE;
            }
        }
        if i != last {
            self.heap.swap(i, last);
            self.heap.pop();
            self.place(i);
            self.sift_down(i);
            self.sift_up(i);
        } else {
            self.heap.pop();
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_updates() {
        let mut h = TimerHeap::default();
        assert!(h.reserve_slots(8));
        for (s, t) in [(0u32, 50u64), (1, 10), (2, 30), (3, 20), (4, 40)] {
            h.set(s, Some(Instant::from_nanos(t)));
        }
        assert_eq!(h.peek(), Some((Instant::from_nanos(10), 1)));
        h.set(1, Some(Instant::from_nanos(60)));
        assert_eq!(h.peek(), Some((Instant::from_nanos(20), 3)));
        h.set(3, None);
        assert_eq!(h.peek(), Some((Instant::from_nanos(30), 2)));
        h.set(0, Some(Instant::from_nanos(1)));
        assert_eq!(h.peek(), Some((Instant::from_nanos(1), 0)));
        assert_eq!(h.len(), 4);
        let mut out = Vec::new();
        while let Some((t, s)) = h.peek() {
            out.push((t.as_nanos(), s));
            h.set(s, None);
        }
        assert_eq!(out, vec![(1, 0), (30, 2), (40, 4), (60, 1)]);
    }

    proptest::proptest! {
        #[test]
        fn heap_matches_model(ops in proptest::collection::vec((0u32..16, proptest::option::of(0u64..1000)), 0..200)) {
            let mut h = TimerHeap::default();
            assert!(h.reserve_slots(16));
            let mut model = [None::<u64>; 16];
            for (s, t) in ops {
                h.set(s, t.map(Instant::from_nanos));
                model[s as usize] = t;
                let want = model.iter().enumerate().filter_map(|(i, t)| t.map(|t| (t, i as u32))).min();
                proptest::prop_assert_eq!(h.peek().map(|(t, s)| (t.as_nanos(), s)), want);
            }
        }
    }
}
