//! Opt-in replay protection (`net.inet.carp.replay_check=1`).
//!
//! FreeBSD's `carp_input_c` verifies the HMAC over the advert's 64-bit
//! counter and then only adopts it ("XXX Replay protection goes here"), so
//! an advert captured on the segment can be sent again later: a captured
//! advert of a better master makes a MASTER step down (or, with preempt, a
//! BACKUP's peers yield) long after that master is gone. A master's counter
//! goes up by one per advert, and a host that takes over continues from the
//! counter it adopted, so an honest peer's counter only grows. With the
//! knob on, each vhid remembers the last authenticated counter of its two
//! most recent peers and drops an advert whose counter does not advance
//! (counted per vhid as `bad_replay`, not in `struct carpstats`, which
//! keeps FreeBSD's layout).
//!
//! To keep that true across partitions (two masters counting on from the
//! same base), a node with the knob on adopts a received counter only if
//! it is higher than its own, so its own counter never goes back.
//!
//! What it cannot tell: a peer that restarts with a fresh random counter
//! lower than the one remembered here is indistinguishable from a replay
//! until this host forgets it (turning the knob off and on, or
//! reconfiguring the vhid); honest peers restart as BACKUP and adopt the
//! group's counter before they advertise, so this needs every node of the
//! group to restart at once. The table is allocated when the knob is set
//! and when a vhid is added (never on the input path).

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

use super::time::Instant;
use super::VhidId;
use crate::util::try_resize;

/// Peers remembered per vhid; the least recently heard one is replaced.
pub const PEERS_PER_VHID: usize = 2;

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: Option<VhidId>,
    peer: IpAddr,
    counter: u64,
    heard: Instant,
}

const EMPTY: Entry = Entry {
    id: None,
    peer: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    counter: 0,
    heard: Instant::from_nanos(0),
};

#[derive(Debug, Default)]
pub struct Replay {
    /// `PEERS_PER_VHID` entries per table slot.
    entries: Vec<Entry>,
}

impl Replay {
    /// Makes room for `slots` vhid slots. Configuration path only.
    pub fn reserve(&mut self, slots: usize) -> Result<(), ()> {
        let want = slots.saturating_mul(PEERS_PER_VHID);
        if self.entries.len() >= want {
            return Ok(());
        }
        try_resize(&mut self.entries, want, EMPTY).map_err(|_| ())
    }

    /// Forgets everything and frees the table.
    pub fn clear(&mut self) {
        self.entries = Vec::new();
    }

    /// Whether an authenticated advert with `counter` from `peer` for `id`
    /// is fresh; records it if so. A slot the table has no room for (an
    /// allocation failed at configuration) is accepted.
    pub fn fresh(&mut self, id: VhidId, peer: IpAddr, counter: u64, now: Instant) -> bool {
        let base = (id.slot as usize).saturating_mul(PEERS_PER_VHID);
        let Some(pair) = self.entries.get_mut(base..base + PEERS_PER_VHID) else {
            return true;
        };
        if let Some(e) = pair.iter_mut().find(|e| e.id == Some(id) && e.peer == peer) {
            if counter <= e.counter {
                return false;
            }
            e.counter = counter;
            e.heard = now;
            return true;
        }
        // A new peer: take a free entry (or one of a removed vhid), else
        // the least recently heard.
        let victim = pair
            .iter_mut()
            .min_by_key(|e| (e.id == Some(id), e.heard.as_nanos()));
        if let Some(e) = victim {
            *e = Entry {
                id: Some(id),
                peer,
                counter,
                heard: now,
            };
        }
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn id(slot: u32) -> VhidId {
        VhidId::from_raw((1u64 << 32) | u64::from(slot))
    }

    #[test]
    fn counters_must_advance_per_peer() {
        let mut r = Replay::default();
        r.reserve(4).unwrap();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let t = Instant::from_nanos;
        assert!(r.fresh(id(1), a, 100, t(1)));
        assert!(r.fresh(id(1), a, 101, t(2)));
        assert!(!r.fresh(id(1), a, 101, t(3)), "duplicate");
        assert!(!r.fresh(id(1), a, 50, t(4)), "replayed");
        // Another peer and another vhid have their own counters.
        assert!(r.fresh(id(1), b, 60, t(5)));
        assert!(r.fresh(id(2), a, 10, t(6)));
        assert!(r.fresh(id(1), a, 102, t(7)));
    }

    #[test]
    fn a_third_peer_replaces_the_least_recently_heard() {
        let mut r = Replay::default();
        r.reserve(2).unwrap();
        let p = |n: u8| IpAddr::from([192, 0, 2, n]);
        let t = Instant::from_nanos;
        assert!(r.fresh(id(0), p(1), 10, t(1)));
        assert!(r.fresh(id(0), p(2), 10, t(2)));
        assert!(r.fresh(id(0), p(1), 11, t(3)));
        assert!(r.fresh(id(0), p(3), 10, t(4)));
        // p(1) is still checked, p(2) was forgotten.
        assert!(!r.fresh(id(0), p(1), 11, t(5)));
        assert!(r.fresh(id(0), p(2), 5, t(6)));
    }

    #[test]
    fn without_room_everything_is_accepted() {
        let mut r = Replay::default();
        let a: IpAddr = [192, 0, 2, 1].into();
        assert!(r.fresh(id(9), a, 1, Instant::from_nanos(0)));
        assert!(r.fresh(id(9), a, 1, Instant::from_nanos(0)));
    }
}
