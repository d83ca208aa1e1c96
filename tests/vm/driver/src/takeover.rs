//! Takeover timing as the surviving VM sees it on the wire (`make
//! vmtest-bench`): from the bpf(4) capture of one round, the old master's
//! last advert and this host's first advert as the new master.
//!
//! The backup's master-down timer (FreeBSD `carp_setrun`, BACKUP case:
//! 3 x advbase + advskew/256 s) restarts on every advert it accepts, and
//! bpf taps a frame in `ether_input` just before `carp_input` sees it, so
//! the gap between those two capture timestamps minus that deadline is how
//! late the new master was. A round is only valid if the old master was
//! heard at all.

use crate::carp::Seen;

/// What one round's capture showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Takeover {
    /// Capture time (µs) of the old master's last advert before ours.
    pub last_peer_us: i64,
    /// Its advskew: 255 marks FreeBSD-style bow-out adverts.
    pub last_peer_skew: u8,
    /// Capture time (µs) of our first advert.
    pub first_own_us: i64,
    /// How many of the peer's adverts the capture held before ours.
    pub peer_adverts: u32,
}

impl Takeover {
    /// Wire gap in µs between the two adverts.
    pub fn gap_us(&self) -> i64 {
        self.first_own_us - self.last_peer_us
    }
}

/// Feeds the adverts of one capture in order; stops at our first advert.
#[derive(Debug, Clone, Copy)]
pub struct Watch {
    me: [u8; 4],
    peer: [u8; 4],
    vhid: u8,
    last_peer: Option<(i64, u8)>,
    first_own: Option<i64>,
    peer_adverts: u32,
}

impl Watch {
    pub fn new(me: [u8; 4], peer: [u8; 4], vhid: u8) -> Watch {
        Watch {
            me,
            peer,
            vhid,
            last_peer: None,
            first_own: None,
            peer_adverts: 0,
        }
    }

    /// One sniffed advert at capture time `ts_us`; true once ours was seen.
    pub fn feed(&mut self, ts_us: i64, s: &Seen) -> bool {
        if self.first_own.is_some() || s.vhid != self.vhid {
            return self.done();
        }
        if s.src == self.peer {
            self.last_peer = Some((ts_us, s.advskew));
            self.peer_adverts += 1;
        } else if s.src == self.me {
            self.first_own = Some(ts_us);
        }
        self.done()
    }

    pub fn done(&self) -> bool {
        self.first_own.is_some()
    }

    /// The round's figures, if both the peer and we were heard.
    pub fn result(&self) -> Option<Takeover> {
        let (last_peer_us, last_peer_skew) = self.last_peer?;
        Some(Takeover {
            last_peer_us,
            last_peer_skew,
            first_own_us: self.first_own?,
            peer_adverts: self.peer_adverts,
        })
    }
}

/// The protocol deadline in µs: 3 x advbase + advskew/256 s, with the
/// microsecond truncation `carp_setrun` applies to the skew.
pub fn deadline_us(advbase: u32, advskew: u32) -> i64 {
    i64::from(advbase) * 3_000_000 + i64::from(advskew) * 1_000_000 / 256
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const A: [u8; 4] = [192, 0, 2, 11];
    const B: [u8; 4] = [192, 0, 2, 12];

    fn seen(src: [u8; 4], vhid: u8, advskew: u8) -> Seen {
        Seen {
            src,
            vhid,
            advskew,
            ttl: 255,
            advbase: 1,
            ..Seen::default()
        }
    }

    #[test]
    fn last_peer_then_first_own() {
        let mut w = Watch::new(B, A, 1);
        assert!(!w.feed(1_000_000, &seen(A, 1, 0)));
        assert!(!w.feed(2_000_000, &seen(A, 1, 0)));
        // Another vhid and a third host do not count.
        assert!(!w.feed(2_500_000, &seen(B, 2, 100)));
        assert!(!w.feed(2_600_000, &seen([192, 0, 2, 99], 1, 0)));
        assert_eq!(w.result(), None);
        assert!(w.feed(5_400_000, &seen(B, 1, 100)));
        // After ours, the old master coming back changes nothing.
        assert!(w.feed(6_000_000, &seen(A, 1, 0)));
        let t = w.result().unwrap();
        assert_eq!(
            t,
            Takeover {
                last_peer_us: 2_000_000,
                last_peer_skew: 0,
                first_own_us: 5_400_000,
                peer_adverts: 2
            }
        );
        assert_eq!(t.gap_us(), 3_400_000);
        assert_eq!(t.gap_us() - deadline_us(1, 100), 9_375);
    }

    #[test]
    fn no_peer_heard_is_no_result() {
        let mut w = Watch::new(B, A, 1);
        assert!(w.feed(1, &seen(B, 1, 100)));
        assert_eq!(w.result(), None);
    }

    #[test]
    fn bow_out_skew_is_kept() {
        let mut w = Watch::new(B, A, 1);
        w.feed(10, &seen(A, 1, 0));
        w.feed(20, &seen(A, 1, 255));
        w.feed(45, &seen(B, 1, 100));
        let t = w.result().unwrap();
        assert_eq!((t.last_peer_skew, t.gap_us(), t.peer_adverts), (255, 25, 2));
    }

    #[test]
    fn deadline() {
        assert_eq!(deadline_us(1, 0), 3_000_000);
        assert_eq!(deadline_us(1, 100), 3_390_625);
        assert_eq!(deadline_us(2, 255), 6_996_093);
    }
}
