//! devd(8)'s view of carp: the `/dev/devctl` event lines
//! (`!system=CARP subsystem=1@vtnet0 type=MASTER`) that devd.conf rules
//! match on, collected into a fixed log and searched.

/// Everything read from `/dev/devctl`, kept whole up to `N` bytes (later
/// bytes are dropped and counted so a check can say it may have missed
/// events).
pub struct Log<const N: usize> {
    buf: [u8; N],
    len: usize,
    pub dropped: usize,
}

impl<const N: usize> Default for Log<N> {
    fn default() -> Self {
        Log {
            buf: [0; N],
            len: 0,
            dropped: 0,
        }
    }
}

impl<const N: usize> Log<N> {
    pub fn push(&mut self, data: &[u8]) {
        for b in data {
            match self.buf.get_mut(self.len) {
                Some(d) => {
                    *d = *b;
                    self.len += 1;
                }
                None => self.dropped += 1,
            }
        }
    }

    pub fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Whether a complete notify line for `system`/`subsystem`/`ty` was
    /// seen (optional ` key=value` data may follow the type).
    pub fn has(&self, system: &str, subsystem: &str, ty: &str) -> bool {
        lines(self.bytes()).any(|l| is_notify(l, system, subsystem, ty))
    }

    /// How many complete lines name `system`.
    pub fn count_system(&self, system: &str) -> usize {
        lines(self.bytes())
            .filter(|l| field(l, "!system=") == Some(system))
            .count()
    }
}

/// Complete (newline-terminated) lines only: a line cut at the end of the
/// buffer is not an event yet.
pub fn lines(buf: &[u8]) -> impl Iterator<Item = &str> {
    let complete = match buf.iter().rposition(|b| *b == b'\n') {
        Some(i) => buf.get(..i).unwrap_or(&[]),
        None => &[],
    };
    complete
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| core::str::from_utf8(l).ok())
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = if key.starts_with('!') {
        line.strip_prefix(key)?
    } else {
        let i = line.find(key)?;
        line.get(i + key.len()..)?
    };
    Some(start.split(' ').next().unwrap_or(""))
}

/// `!system=S subsystem=B type=T[ data]`, fields in devctl_notify's order.
pub fn is_notify(line: &str, system: &str, subsystem: &str, ty: &str) -> bool {
    let mut w = line.split(' ');
    w.next().and_then(|f| f.strip_prefix("!system=")) == Some(system)
        && w.next().and_then(|f| f.strip_prefix("subsystem=")) == Some(subsystem)
        && w.next().and_then(|f| f.strip_prefix("type=")) == Some(ty)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const EVENTS: &[u8] = b"!system=IFNET subsystem=vtnet0 type=LINK_UP\n\
!system=CARP subsystem=1@vtnet0 type=BACKUP\n\
!system=CARP subsystem=1@vtnet0 type=MASTER\n\
!system=IFNET subsystem=carp0 type=LINK_UP\n\
!system=CARP subsystem=12@vtnet0 type=MAS";

    #[test]
    fn finds_complete_events_only() {
        let mut l = Log::<256>::default();
        l.push(EVENTS);
        assert!(l.has("CARP", "1@vtnet0", "MASTER"));
        assert!(l.has("CARP", "1@vtnet0", "BACKUP"));
        assert!(l.has("IFNET", "carp0", "LINK_UP"));
        assert!(!l.has("IFNET", "carp0", "LINK_DOWN"));
        assert!(!l.has("CARP", "1@carp0", "MASTER"));
        // The cut last line is not counted.
        assert!(!l.has("CARP", "12@vtnet0", "MAS"));
        assert_eq!(l.count_system("CARP"), 2);
        assert_eq!(l.count_system("IFNET"), 2);
    }

    #[test]
    fn exact_fields_not_prefixes() {
        assert!(is_notify(
            "!system=CARP subsystem=1@vtnet0 type=MASTER extra=1",
            "CARP",
            "1@vtnet0",
            "MASTER"
        ));
        assert!(!is_notify(
            "!system=CARP subsystem=11@vtnet0 type=MASTER",
            "CARP",
            "1@vtnet0",
            "MASTER"
        ));
        assert!(!is_notify(
            "!system=CARP subsystem=1@vtnet0 type=MASTERX",
            "CARP",
            "1@vtnet0",
            "MASTER"
        ));
        assert!(!is_notify(
            "system=CARP subsystem=1@vtnet0 type=MASTER",
            "CARP",
            "1@vtnet0",
            "MASTER"
        ));
    }

    #[test]
    fn overflow_is_counted() {
        let mut l = Log::<8>::default();
        l.push(b"!system=CARP\n");
        assert_eq!(l.bytes().len(), 8);
        assert_eq!(l.dropped, 5);
        assert_eq!(lines(l.bytes()).count(), 0);
    }
}
