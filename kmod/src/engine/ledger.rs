//! The demotion ledger: who contributes what to `net.inet.carp.demotion`.
//!
//! FreeBSD keeps one integer (`V_carp_demotion`, moved by
//! `carp_demote_adj`) and a log line per change, so "demotion is 480 and
//! the master never takes back — why?" has no answer once the lines have
//! scrolled away. The ledger keeps every live contribution with its source;
//! the total is their sum, so the two can never disagree. Storage is a
//! fixed array (no allocation: `carp_demote_adj_p` is called from pfsync's
//! locked context); sources beyond it share one `Other` entry, so the sum
//! stays exact.

use super::IfIndex;

/// Where a demotion contribution comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A parent interface went down (`carp_sc_state`): the ifdown factor
    /// once per vhid on it.
    IfDown(IfIndex),
    /// A vhid's adverts kept failing (`carp_send_ad_error`).
    SendError { iface: IfIndex, vhid: u8 },
    /// `carp_demote_adj_p` callers (pfsync); the text is the reason of the
    /// last raising call.
    External(&'static str),
    /// Writes to `net.inet.carp.demotion`.
    Admin,
    /// Contributions that found the ledger full.
    Other,
}

impl Source {
    /// Same source, whatever the external reason text.
    fn same(self, other: Source) -> bool {
        match (self, other) {
            (Source::External(_), Source::External(_)) => true,
            _ => self == other,
        }
    }
}

/// Live sources kept individually; more share [`Source::Other`].
pub const LEDGER_SLOTS: usize = 32;

#[derive(Clone, Debug)]
pub struct Ledger {
    entries: [Option<(Source, i64)>; LEDGER_SLOTS],
    other: i64,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            entries: [None; LEDGER_SLOTS],
            other: 0,
        }
    }
}

impl Ledger {
    /// Adds `adj` to `source`'s contribution; a contribution that returns
    /// to zero leaves the ledger.
    pub fn add(&mut self, source: Source, adj: i32) {
        let adj = i64::from(adj);
        if let Some(e) = self
            .entries
            .iter_mut()
            .flatten()
            .find(|(s, _)| s.same(source))
        {
            e.1 += adj;
            // The reason shown is that of the last call that raised it.
            if adj > 0 {
                e.0 = source;
            }
        } else if let Some(free) = self.entries.iter_mut().find(|e| e.is_none()) {
            *free = Some((source, adj));
        } else {
            self.other += adj;
        }
        for e in &mut self.entries {
            if e.is_some_and(|(_, v)| v == 0) {
                *e = None;
            }
        }
    }

    /// The sum of every contribution, as the `demotion` sysctl shows it
    /// (clamped to an `int`).
    pub fn total(&self) -> i32 {
        let sum: i64 = self.entries.iter().flatten().map(|(_, v)| *v).sum::<i64>() + self.other;
        i32::try_from(sum).unwrap_or(if sum < 0 { i32::MIN } else { i32::MAX })
    }

    /// The live contributions, in arrival order, then the shared rest.
    pub fn sources(&self) -> impl Iterator<Item = (Source, i64)> + '_ {
        let other = (self.other != 0).then_some((Source::Other, self.other));
        self.entries.iter().flatten().copied().chain(other)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn contributions_add_up_and_leave_at_zero() {
        let mut l = Ledger::default();
        l.add(Source::IfDown(2), 240);
        l.add(Source::IfDown(2), 240);
        l.add(Source::External("pfsync bulk start"), 240);
        l.add(Source::Admin, -1);
        assert_eq!(l.total(), 719);
        l.add(Source::External("pfsync bulk done"), -240);
        l.add(Source::IfDown(2), -240);
        let live: Vec<_> = l.sources().collect();
        assert_eq!(live, [(Source::IfDown(2), 240), (Source::Admin, -1)]);
        assert_eq!(l.total(), 239);
    }

    #[test]
    fn external_reason_is_the_last_raising_one() {
        let mut l = Ledger::default();
        l.add(Source::External("bulk update start"), 240);
        l.add(Source::External("bulk update fail"), 10);
        l.add(Source::External("x"), -5);
        assert_eq!(
            l.sources().collect::<Vec<_>>(),
            [(Source::External("bulk update fail"), 245)]
        );
    }

    #[test]
    fn a_full_ledger_keeps_the_sum_exact() {
        let mut l = Ledger::default();
        for i in 0..(LEDGER_SLOTS as u32 + 5) {
            l.add(Source::IfDown(i + 1), 240);
        }
        assert_eq!(l.total(), 240 * (LEDGER_SLOTS as i32 + 5));
        assert_eq!(l.sources().last(), Some((Source::Other, 5 * 240)));
    }

    #[test]
    fn total_clamps_like_an_int() {
        let mut l = Ledger::default();
        l.add(Source::Admin, i32::MAX);
        l.add(Source::IfDown(1), 240);
        assert_eq!(l.total(), i32::MAX);
    }
}
