//! Engine time.
//!
//! Drivers own the clock: the kernel passes `sbinuptime()`-derived
//! nanoseconds, the Linux node `CLOCK_MONOTONIC`, the simulator a virtual
//! clock. The engine only compares and adds, so any monotonic epoch works.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point in time, in nanoseconds since the driver's epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default, Hash)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_nanos(ns: u64) -> Self {
        Instant(ns)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self` plus `ns` nanoseconds, saturating: the engine's timers add
    /// plain nanoseconds to avoid `Duration`'s u128 conversions on the
    /// packet path.
    pub(crate) const fn after_ns(self, ns: u64) -> Instant {
        Instant(self.0.saturating_add(ns))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates instead of overflowing: a deadline past the end of time
    /// is simply never reached.
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_nanos(d)))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(duration_nanos(d)))
    }
}

/// A timer of a vhid: a deadline or none, in 8 bytes instead of the 16 of
/// `Option<Instant>` (three per vhid). `u64::MAX` ns, 584 years of uptime,
/// stands for none; a deadline that saturates there is never reached anyway.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Deadline(u64);

impl Deadline {
    pub const NONE: Deadline = Deadline(u64::MAX);

    pub const fn at(t: Instant) -> Deadline {
        Deadline(t.0)
    }

    pub const fn get(self) -> Option<Instant> {
        if self.0 == u64::MAX {
            None
        } else {
            Some(Instant(self.0))
        }
    }

    /// Set and not later than `now`.
    pub const fn is_due(self, now: Instant) -> bool {
        self.0 != u64::MAX && self.0 <= now.0
    }

    /// The earlier of two; none is later than any deadline.
    pub const fn min(self, other: Deadline) -> Deadline {
        if other.0 < self.0 {
            other
        } else {
            self
        }
    }
}

/// Nanoseconds in one 1/256 s step of advskew: exact, 10^9 / 2^8.
pub(crate) const NS_PER_SKEW: u64 = 3_906_250;
pub(crate) const NS_PER_SEC: u64 = 1_000_000_000;
pub(crate) const NS_PER_CENTISEC: u64 = 10_000_000;

/// `advbase + skew/256` seconds, exactly, as a timer length in ns.
pub(crate) const fn carp_interval(advbase: u32, skew: u32) -> u64 {
    advbase as u64 * NS_PER_SEC + skew as u64 * NS_PER_SKEW
}

/// The same value as FreeBSD compares it in `carp_input_c`: a timeval whose
/// microseconds are `skew * 1000000 / 256` truncated. Elections must use the
/// truncated form so that ties fall exactly where FreeBSD's fall.
pub(crate) fn carp_tv_us(advbase: u32, skew: u32) -> u64 {
    u64::from(advbase) * 1_000_000 + u64::from(skew) * 1_000_000 / 256
}
