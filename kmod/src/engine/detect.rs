//! Conflict detectors: split brain, authentication failures and protocol
//! clashes, each reported once per episode.
//!
//! FreeBSD counts what goes wrong (`badauth`, `badver`) but never says who
//! or why, and a MASTER that keeps hearing a worse MASTER (a one-way
//! segment) says nothing at all (`carp_input_c` ignores the advert). Here
//! an *episode* is a run of one kind of trouble from one peer for one vhid;
//! it ends when that peer has been quiet for three of the vhid's advert
//! intervals. The first report of an episode becomes an
//! [`Event::Conflict`]: a log line at `log >= 1` and a devd notification.
//! Episodes live in a small fixed table (nothing allocates on the input
//! path); when it is full a new episode is counted in `untracked` and
//! reported anyway, so an alert is never lost, only its de-duplication.

use core::net::IpAddr;

use super::config::Version;
use super::io::{AuthHint, Conflict, Event};
use super::time::Instant;
use super::{Engine, VhidId};
use crate::auth::{Key, Signer};

/// What a queued conflict report carries besides its vhid (the event
/// queue keeps it beside the packed event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConflictDetail {
    pub peer: IpAddr,
    pub kind: Conflict,
}

impl Default for ConflictDetail {
    fn default() -> Self {
        ConflictDetail {
            peer: IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
            kind: Conflict::BadAuth(AuthHint::WrongPasswordOrAddresses),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SplitBrain,
    BadAuth,
    Protocol,
}

#[derive(Clone, Copy, Debug)]
struct Episode {
    id: VhidId,
    kind: Kind,
    peer: IpAddr,
    first: Instant,
    last: Instant,
    /// Silence that ends this episode (its own vhid's, not the caller's:
    /// another vhid's shorter interval must not end it).
    quiet_ns: u64,
    reported: bool,
}

/// Concurrent episodes tracked; more are reported without de-duplication.
pub const EPISODES: usize = 16;

#[derive(Clone, Debug, Default)]
pub struct Detector {
    episodes: [Option<Episode>; EPISODES],
    /// Episodes that found the table full.
    pub untracked: u64,
}

/// Outcome of noting one occurrence.
enum Noted {
    /// Report now (first occurrence of an episode, or threshold reached).
    Report,
    /// Already reported, or not yet due.
    Quiet,
}

impl Detector {
    /// Notes one occurrence of `kind` from `peer` for vhid `id` at `now`.
    /// `quiet_ns` ends an episode after that much silence; `due_ns` is how
    /// long it must last before it is reported (0: at once).
    fn note(
        &mut self,
        id: VhidId,
        kind: Kind,
        peer: IpAddr,
        now: Instant,
        quiet_ns: u64,
        due_ns: u64,
    ) -> Noted {
        let live = |e: &Episode| now.as_nanos().saturating_sub(e.last.as_nanos()) <= e.quiet_ns;
        let found = self
            .episodes
            .iter_mut()
            .flatten()
            .find(|e| e.id == id && e.kind == kind && e.peer == peer);
        let episode = match found {
            Some(e) if live(e) => e,
            Some(e) => {
                *e = Episode {
                    id,
                    kind,
                    peer,
                    first: now,
                    last: now,
                    quiet_ns,
                    reported: false,
                };
                e
            }
            None => {
                let slot = self
                    .episodes
                    .iter_mut()
                    .find(|e| e.as_ref().is_none_or(|e| !live(e)));
                let Some(slot) = slot else {
                    self.untracked = self.untracked.saturating_add(1);
                    return if due_ns == 0 {
                        Noted::Report
                    } else {
                        Noted::Quiet
                    };
                };
                slot.insert(Episode {
                    id,
                    kind,
                    peer,
                    first: now,
                    last: now,
                    quiet_ns,
                    reported: false,
                })
            }
        };
        episode.last = now;
        episode.quiet_ns = quiet_ns;
        if !episode.reported && now.as_nanos().saturating_sub(episode.first.as_nanos()) >= due_ns {
            episode.reported = true;
            Noted::Report
        } else {
            Noted::Quiet
        }
    }

    /// Forgets the episodes of a removed vhid.
    pub fn forget(&mut self, id: VhidId) {
        for e in &mut self.episodes {
            if e.is_some_and(|e| e.id == id) {
                *e = None;
            }
        }
    }
}

/// Most of our addresses tried one left out, for the "fewer addresses"
/// diagnosis (each try is one HMAC key schedule, once per episode).
const MAX_LEAVE_OUT: usize = 16;

/// Why an authenticated-looking advert from a peer failed our HMAC.
pub(crate) fn diagnose(
    key: &Key,
    vhid: u8,
    v4: &[[u8; 4]],
    v6: &[[u8; 16]],
    counter: u64,
    digest: &[u8],
) -> AuthHint {
    let ok =
        |k: &Key, a: &[[u8; 4]], b: &[[u8; 16]]| Signer::new(k, vhid, a, b).verify(counter, digest);
    let no_pass = Key::default();
    if key.as_bytes() != no_pass.as_bytes() && ok(&no_pass, v4, v6) {
        return AuthHint::PeerHasNoPassword;
    }
    // One family only.
    if !v4.is_empty() && !v6.is_empty() {
        if ok(key, v4, &[]) {
            return AuthHint::FewerAddresses {
                missing: u8::try_from(v6.len()).unwrap_or(u8::MAX),
            };
        }
        if ok(key, &[], v6) {
            return AuthHint::FewerAddresses {
                missing: u8::try_from(v4.len()).unwrap_or(u8::MAX),
            };
        }
    }
    // One address left out (copied to the stack: nothing allocates).
    if v4.len() <= MAX_LEAVE_OUT && v6.len() <= MAX_LEAVE_OUT && v4.len() + v6.len() > 1 {
        let mut a4 = [[0u8; 4]; MAX_LEAVE_OUT];
        let mut a6 = [[0u8; 16]; MAX_LEAVE_OUT];
        for skip in 0..v4.len() + v6.len() {
            let (mut n4, mut n6) = (0usize, 0usize);
            for (i, a) in v4.iter().enumerate() {
                if i != skip {
                    if let Some(d) = a4.get_mut(n4) {
                        *d = *a;
                        n4 += 1;
                    }
                }
            }
            for (i, a) in v6.iter().enumerate() {
                if i + v4.len() != skip {
                    if let Some(d) = a6.get_mut(n6) {
                        *d = *a;
                        n6 += 1;
                    }
                }
            }
            let (Some(s4), Some(s6)) = (a4.get(..n4), a6.get(..n6)) else {
                continue;
            };
            if ok(key, s4, s6) {
                return AuthHint::FewerAddresses { missing: 1 };
            }
        }
    }
    if key.as_bytes() == no_pass.as_bytes() {
        AuthHint::PeerHasPassword
    } else {
        AuthHint::WrongPasswordOrAddresses
    }
}

impl Engine {
    /// How long a vhid's episodes stay open without news: three advert
    /// intervals (at least one second).
    fn episode_quiet_ns(&self, slot: u32) -> u64 {
        let interval = self.table.get(slot).map_or(1_000_000_000, |v| {
            if v.is_vrrp() {
                u64::from(v.cfg.vrrp_interval()) * super::time::NS_PER_CENTISEC
            } else {
                super::time::carp_interval(u32::from(v.cfg.advbase), u32::from(v.cfg.advskew))
            }
        });
        3 * interval.max(1_000_000_000)
    }

    fn report_conflict(&mut self, slot: u32, peer: IpAddr, kind: Conflict) {
        let Some(v) = self.table.get(slot) else {
            return;
        };
        let ev = Event::Conflict {
            id: VhidId { slot, gen: v.gen },
            iface: v.iface,
            vhid: v.cfg.vhid,
            peer,
            kind,
        };
        self.push_event(ev);
    }

    /// Notes one occurrence for vhid `slot`; true when it is to be
    /// reported now. `due_after_quiet`: report only once the episode has
    /// lasted one quiet period (split brain), not at its first occurrence.
    fn episode_due(
        &mut self,
        now: Instant,
        slot: u32,
        kind: Kind,
        peer: IpAddr,
        due_after_quiet: bool,
    ) -> bool {
        let Some(id) = self.id_of(slot) else {
            return false;
        };
        let quiet = self.episode_quiet_ns(slot);
        let due = if due_after_quiet { quiet } else { 0 };
        matches!(
            self.detector.note(id, kind, peer, now, quiet, due),
            Noted::Report
        )
    }

    /// A MASTER heard a worse MASTER (`ours`, `theirs`: advertised skews).
    /// Reported once the other master has been heard for three intervals:
    /// a preempted master stops after one advert.
    pub(crate) fn detect_split_brain(
        &mut self,
        now: Instant,
        slot: u32,
        peer: IpAddr,
        ours: u8,
        theirs: u8,
    ) {
        if self.episode_due(now, slot, Kind::SplitBrain, peer, true) {
            self.report_conflict(slot, peer, Conflict::SplitBrain { ours, theirs });
        }
    }

    /// An advert from `peer` failed our HMAC.
    pub(crate) fn detect_bad_auth(
        &mut self,
        now: Instant,
        slot: u32,
        peer: IpAddr,
        counter: u64,
        digest: &[u8],
    ) {
        if !self.episode_due(now, slot, Kind::BadAuth, peer, false) {
            return;
        }
        let Some(v) = self.table.get(slot) else {
            return;
        };
        let hint = diagnose(
            &v.cfg.key,
            v.cfg.vhid,
            v.addrs.v4(),
            v.addrs.v6(),
            counter,
            digest,
        );
        self.report_conflict(slot, peer, Conflict::BadAuth(hint));
    }

    /// An advert of the other protocol arrived for our vhid.
    pub(crate) fn detect_protocol(
        &mut self,
        now: Instant,
        slot: u32,
        peer: IpAddr,
        theirs: Version,
    ) {
        if self.episode_due(now, slot, Kind::Protocol, peer, false) {
            self.report_conflict(slot, peer, Conflict::Protocol { theirs });
        }
    }

    /// Episodes that found the detector's table full (reported anyway).
    pub fn untracked_episodes(&self) -> u64 {
        self.detector.untracked
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const A: [u8; 4] = [192, 0, 2, 50];
    const B: [u8; 4] = [192, 0, 2, 51];
    const C6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50];

    fn digest(key: &Key, v4: &[[u8; 4]], v6: &[[u8; 16]]) -> [u8; 20] {
        Signer::new(key, 1, v4, v6).sign(7)
    }

    #[test]
    fn diagnosis_tells_password_from_address_set() {
        let key = Key::new(b"s3cret").unwrap();
        let other = Key::new(b"other").unwrap();
        let none = Key::default();
        let ours4 = [A, B];
        let d = digest(&key, &[A], &[]);
        assert_eq!(
            diagnose(&key, 1, &ours4, &[], 7, &d),
            AuthHint::FewerAddresses { missing: 1 }
        );
        let d = digest(&key, &ours4, &[]);
        assert_eq!(
            diagnose(&key, 1, &ours4, &[C6], 7, &d),
            AuthHint::FewerAddresses { missing: 1 }
        );
        let d = digest(&other, &ours4, &[]);
        assert_eq!(
            diagnose(&key, 1, &ours4, &[], 7, &d),
            AuthHint::WrongPasswordOrAddresses
        );
        let d = digest(&none, &ours4, &[]);
        assert_eq!(
            diagnose(&key, 1, &ours4, &[], 7, &d),
            AuthHint::PeerHasNoPassword
        );
        let d = digest(&key, &ours4, &[]);
        assert_eq!(
            diagnose(&none, 1, &ours4, &[], 7, &d),
            AuthHint::PeerHasPassword
        );
        // A peer with an address we lack is not recognisable.
        let d = digest(&key, &[A, B, [192, 0, 2, 99]], &[]);
        assert_eq!(
            diagnose(&key, 1, &ours4, &[], 7, &d),
            AuthHint::WrongPasswordOrAddresses
        );
    }

    fn id(slot: u32) -> VhidId {
        VhidId { slot, gen: 1 }
    }

    #[test]
    fn one_report_per_episode_and_a_new_one_after_quiet() {
        let mut d = Detector::default();
        let peer: IpAddr = [192, 0, 2, 3].into();
        let s = Instant::from_nanos;
        let q = 3_000_000_000;
        assert!(matches!(
            d.note(id(1), Kind::BadAuth, peer, s(0), q, 0),
            Noted::Report
        ));
        for t in 1..10u64 {
            let now = s(t * 1_000_000_000);
            assert!(matches!(
                d.note(id(1), Kind::BadAuth, peer, now, q, 0),
                Noted::Quiet
            ));
        }
        // Four seconds of silence: a new episode.
        assert!(matches!(
            d.note(id(1), Kind::BadAuth, peer, s(13_500_000_000), q, 0),
            Noted::Report
        ));
        // Another peer is its own episode.
        let other: IpAddr = [192, 0, 2, 4].into();
        assert!(matches!(
            d.note(id(1), Kind::BadAuth, other, s(13_600_000_000), q, 0),
            Noted::Report
        ));
    }

    #[test]
    fn split_brain_is_due_after_three_intervals() {
        let mut d = Detector::default();
        let peer: IpAddr = [192, 0, 2, 3].into();
        let s = |sec: u64| Instant::from_nanos(sec * 1_000_000_000);
        let q = 3_000_000_000;
        let mut reports = 0;
        for t in 0..10 {
            if let Noted::Report = d.note(id(2), Kind::SplitBrain, peer, s(t), q, q) {
                assert_eq!(t, 3);
                reports += 1;
            }
        }
        assert_eq!(reports, 1);
    }

    #[test]
    fn an_episode_ends_by_its_own_quiet_period_not_the_callers() {
        // Found by the simulator: a forger's episode on a vhid with a 1 s
        // interval recycled a live episode of a vhid with a 3 s interval,
        // which was then reported a second time.
        let mut d = Detector::default();
        let peer: IpAddr = [192, 0, 2, 3].into();
        let forger: IpAddr = [192, 0, 2, 250].into();
        let s = |ms: u64| Instant::from_nanos(ms * 1_000_000);
        let slow = 9_000_000_000;
        let fast = 3_000_000_000;
        assert!(matches!(
            d.note(id(1), Kind::BadAuth, peer, s(0), slow, 0),
            Noted::Report
        ));
        // Fill every other slot with short-lived episodes of another vhid.
        for i in 0..EPISODES as u32 - 1 {
            let _ = d.note(id(100 + i), Kind::BadAuth, forger, s(100), fast, 0);
        }
        // 4 s later (over the fast quiet, under the slow one) a new fast
        // episode must not take the slow one's slot.
        let _ = d.note(id(200), Kind::BadAuth, forger, s(4_100), fast, 0);
        assert!(matches!(
            d.note(id(1), Kind::BadAuth, peer, s(6_000), slow, 0),
            Noted::Quiet
        ));
    }

    #[test]
    fn a_full_table_still_reports() {
        let mut d = Detector::default();
        let now = Instant::from_nanos(0);
        for i in 0..EPISODES as u32 + 3 {
            let peer: IpAddr = [192, 0, 2, 3].into();
            assert!(matches!(
                d.note(id(i), Kind::BadAuth, peer, now, 1, 0),
                Noted::Report
            ));
        }
        assert_eq!(d.untracked, 3);
    }
}
