//! The event queue. Room for two events per vhid is reserved at
//! configuration (a link or `allow` change moves every vhid and demotes once
//! per vhid), so at 4,080 vhids the size of a queued event matters: they are
//! kept packed in 16 bytes and expanded to [`Event`] when polled, in order.

use alloc::collections::TryReserveError;

use super::config::DemoteReason;
use super::detect::ConflictDetail;
use super::io::Event;
use super::state::{Reason, State};
use super::stats::Drop;
use super::VhidId;
use crate::util::Ring;

/// Queued `DemoteReason::External` texts (pfsync's) that may wait undrained
/// at once; one more is dropped and counted like any event that does not
/// fit.
const EXTERNAL_CAP: usize = 16;

/// Conflict reports (peer and kind) that may wait undrained at once; they
/// come at most once per episode, so a few suffice.
const CONFLICT_CAP: usize = 16;

/// One queued event: three words and four bytes, by kind:
/// state change (slot, gen, iface; vhid, from | to << 2, reason),
/// announce (slot, gen, iface; vhid), demotion (by, total, -; reason),
/// bad packet (-, -, iface; vhid, drop), conflict (slot, gen, iface; vhid;
/// peer and kind in the `conflicts` queue).
#[derive(Clone, Copy, Default)]
struct Packed {
    a: u32,
    b: u32,
    c: u32,
    kind: u8,
    x: u8,
    y: u8,
    z: u8,
}

const STATE_CHANGED: u8 = 1;
const ANNOUNCE: u8 = 2;
const DEMOTED: u8 = 3;
const BAD_PACKET: u8 = 4;
const CONFLICT: u8 = 5;

const REASONS: [Reason; 9] = [
    Reason::InitComplete,
    Reason::MoreFrequentAdvert,
    Reason::PreemptingSlowerMaster,
    Reason::MasterWillTimeOut,
    Reason::MasterTimedOut,
    Reason::UserRequested,
    Reason::HardwareDown,
    Reason::HardwareUp,
    Reason::Destroyed,
];

const DROPS: [Drop; 10] = [
    Drop::NotAllowed,
    Drop::BadLength,
    Drop::BadVersion,
    Drop::BadChecksum,
    Drop::Looped,
    Drop::UnknownVhid,
    Drop::BadTtl,
    Drop::BadAuth,
    Drop::BadAddresses,
    Drop::Replayed,
];

const DEMOTE_REASONS: [DemoteReason; 6] = [
    DemoteReason::Sysctl,
    DemoteReason::InterfaceDown,
    DemoteReason::InterfaceUp,
    DemoteReason::SendError,
    DemoteReason::SendOk,
    DemoteReason::VhidRemoved,
];
/// `z` of a demotion whose text is in the `external` queue.
const EXTERNAL: u8 = DEMOTE_REASONS.len() as u8;

fn index_of<T: PartialEq>(table: &[T], x: &T) -> u8 {
    table.iter().position(|t| t == x).unwrap_or(0) as u8
}

fn state(bits: u8) -> State {
    State::from_u32(u32::from(bits & 3)).unwrap_or_default()
}

/// Bytes of one queued event.
pub(crate) const EVENT_BYTES: usize = core::mem::size_of::<Packed>();

#[derive(Default)]
pub(crate) struct EventQueue {
    ring: Ring<Packed>,
    /// Texts of the queued external demotions, in queue order.
    external: Ring<&'static str>,
    /// Peer and kind of the queued conflict reports, in queue order.
    conflicts: Ring<ConflictDetail>,
    dropped: u64,
}

impl EventQueue {
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Configuration path: room for `cap` events.
    pub fn try_grow(&mut self, cap: usize) -> Result<(), TryReserveError> {
        self.external.try_grow(EXTERNAL_CAP)?;
        self.conflicts.try_grow(CONFLICT_CAP)?;
        self.ring.try_grow(cap)
    }

    /// Events that did not fit because the driver did not drain them.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Queues `ev` within the reserved room, or counts it as dropped.
    pub fn push(&mut self, ev: Event) {
        let p = match ev {
            Event::StateChanged {
                id,
                iface,
                vhid,
                from,
                to,
                reason,
            } => Packed {
                a: id.slot,
                b: id.gen,
                c: iface,
                kind: STATE_CHANGED,
                x: vhid,
                y: from as u8 | (to as u8) << 2,
                z: index_of(&REASONS, &reason),
            },
            Event::Announce { id, iface, vhid } => Packed {
                a: id.slot,
                b: id.gen,
                c: iface,
                kind: ANNOUNCE,
                x: vhid,
                ..Packed::default()
            },
            Event::Demoted { by, total, reason } => Packed {
                a: by as u32,
                b: total as u32,
                kind: DEMOTED,
                z: match reason {
                    DemoteReason::External(_) => EXTERNAL,
                    r => index_of(&DEMOTE_REASONS, &r),
                },
                ..Packed::default()
            },
            Event::BadPacket { iface, vhid, drop } => Packed {
                c: iface,
                kind: BAD_PACKET,
                x: vhid,
                z: index_of(&DROPS, &drop),
                ..Packed::default()
            },
            Event::Conflict {
                id, iface, vhid, ..
            } => Packed {
                a: id.slot,
                b: id.gen,
                c: iface,
                kind: CONFLICT,
                x: vhid,
                ..Packed::default()
            },
        };
        if self.ring.len() >= self.ring.capacity() {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        if let Event::Demoted {
            reason: DemoteReason::External(text),
            ..
        } = ev
        {
            if self.external.push_back(text).is_err() {
                self.dropped = self.dropped.saturating_add(1);
                return;
            }
        }
        if let Event::Conflict { peer, kind, .. } = ev {
            if self
                .conflicts
                .push_back(ConflictDetail { peer, kind })
                .is_err()
            {
                self.dropped = self.dropped.saturating_add(1);
                return;
            }
        }
        if self.ring.push_back(p).is_err() {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    pub fn pop(&mut self) -> Option<Event> {
        let p = self.ring.pop_front()?;
        let id = VhidId {
            slot: p.a,
            gen: p.b,
        };
        Some(match p.kind {
            STATE_CHANGED => Event::StateChanged {
                id,
                iface: p.c,
                vhid: p.x,
                from: state(p.y),
                to: state(p.y >> 2),
                reason: REASONS
                    .get(usize::from(p.z))
                    .copied()
                    .unwrap_or(Reason::InitComplete),
            },
            ANNOUNCE => Event::Announce {
                id,
                iface: p.c,
                vhid: p.x,
            },
            DEMOTED => Event::Demoted {
                by: p.a as i32,
                total: p.b as i32,
                reason: if p.z == EXTERNAL {
                    DemoteReason::External(self.external.pop_front().unwrap_or(""))
                } else {
                    DEMOTE_REASONS
                        .get(usize::from(p.z))
                        .copied()
                        .unwrap_or(DemoteReason::Sysctl)
                },
            },
            CONFLICT => {
                let d = self.conflicts.pop_front().unwrap_or_default();
                Event::Conflict {
                    id,
                    iface: p.c,
                    vhid: p.x,
                    peer: d.peer,
                    kind: d.kind,
                }
            }
            _ => Event::BadPacket {
                iface: p.c,
                vhid: p.x,
                drop: DROPS
                    .get(usize::from(p.z))
                    .copied()
                    .unwrap_or(Drop::BadLength),
            },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every kind and every value of its fields comes back unchanged, in
    /// order, external texts included.
    #[test]
    fn round_trips_in_order() {
        let mut q = EventQueue::default();
        q.try_grow(512).unwrap();
        let id = VhidId {
            slot: 7,
            gen: 0xdead_beef,
        };
        let mut want = std::vec::Vec::new();
        let states = [State::Init, State::Backup, State::Master];
        for (i, &reason) in REASONS.iter().enumerate() {
            for &from in &states {
                for &to in &states {
                    want.push(Event::StateChanged {
                        id,
                        iface: u32::MAX - i as u32,
                        vhid: i as u8 + 1,
                        from,
                        to,
                        reason,
                    });
                }
            }
        }
        want.push(Event::Announce {
            id,
            iface: 3,
            vhid: 255,
        });
        for (i, &reason) in DEMOTE_REASONS.iter().enumerate() {
            want.push(Event::Demoted {
                by: -240 * i as i32,
                total: i32::MIN + i as i32,
                reason,
            });
        }
        want.push(Event::Demoted {
            by: 1,
            total: 2,
            reason: DemoteReason::External("pfsync bulk start"),
        });
        want.push(Event::Demoted {
            by: -1,
            total: 1,
            reason: DemoteReason::External("pfsync bulk done"),
        });
        for (i, &drop) in DROPS.iter().enumerate() {
            want.push(Event::BadPacket {
                iface: i as u32,
                vhid: 9,
                drop,
            });
        }
        for ev in &want {
            q.push(*ev);
        }
        let got: std::vec::Vec<Event> = core::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, want);
        assert_eq!(q.dropped(), 0);
        assert_eq!(core::mem::size_of::<Packed>(), 16);
    }

    #[test]
    fn full_queue_drops_and_counts() {
        let mut q = EventQueue::default();
        q.try_grow(2).unwrap();
        let ev = Event::Announce {
            id: VhidId { slot: 1, gen: 1 },
            iface: 1,
            vhid: 1,
        };
        q.push(ev);
        q.push(ev);
        q.push(ev);
        assert_eq!(q.dropped(), 1);
        // External texts beyond their own room are dropped too, and the
        // texts of those kept stay paired with their events.
        let mut q = EventQueue::default();
        q.try_grow(64).unwrap();
        for i in 0..EXTERNAL_CAP + 1 {
            q.push(Event::Demoted {
                by: i as i32,
                total: 0,
                reason: DemoteReason::External(if i % 2 == 0 { "even" } else { "odd" }),
            });
        }
        assert_eq!(q.dropped(), 1);
        for i in 0..EXTERNAL_CAP {
            assert_eq!(
                q.pop(),
                Some(Event::Demoted {
                    by: i as i32,
                    total: 0,
                    reason: DemoteReason::External(if i % 2 == 0 { "even" } else { "odd" }),
                })
            );
        }
        assert_eq!(q.pop(), None);
    }
}
