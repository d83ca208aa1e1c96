//! `struct carpstats` as returned by the `net.inet.carp.stats` sysctl
//! (sixteen `uint64_t` counters, native byte order), which is what
//! `netstat -s -p carp` prints.

pub const NAMES: [&str; 16] = [
    "ipackets",
    "ipackets6",
    "badif",
    "badttl",
    "hdrops",
    "badsum",
    "badver",
    "badlen",
    "badauth",
    "badvhid",
    "badaddrs",
    "opackets",
    "opackets6",
    "onomem",
    "ostates",
    "preempt",
];

pub const SIZE: usize = 16 * 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CarpStats(pub [u64; 16]);

impl CarpStats {
    /// Decodes exactly `SIZE` bytes; anything else means the kernel's
    /// struct differs from the one `netstat` expects, itself a finding.
    pub fn decode(b: &[u8]) -> Option<CarpStats> {
        if b.len() != SIZE {
            return None;
        }
        let mut out = [0u64; 16];
        for (o, c) in out.iter_mut().zip(b.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            *o = u64::from_le_bytes(w);
        }
        Some(CarpStats(out))
    }

    pub fn get(&self, name: &str) -> u64 {
        NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.0.get(i).copied())
            .unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn decode_by_name() {
        let mut b = [0u8; SIZE];
        b[0] = 7; // ipackets
        b[8 * 8] = 3; // badauth
        b[11 * 8 + 1] = 1; // opackets = 256
        let s = CarpStats::decode(&b).unwrap();
        assert_eq!(s.get("ipackets"), 7);
        assert_eq!(s.get("badauth"), 3);
        assert_eq!(s.get("opackets"), 256);
        assert_eq!(s.get("preempt"), 0);
        assert_eq!(s.get("nonsense"), 0);
        assert_eq!(CarpStats::decode(&b[..SIZE - 8]), None);
    }
}
