//! Pure parts of the vmtest PID-1 driver: address and parameter parsing,
//! console line formatting, the UDP barrier message, `struct carpstats`,
//! ARP frames and BPF capture records, CARP adverts, the `kern.malloc_stats`
//! stream, the netlink wire format, and takeover timing from a capture.
//!
//! Everything here is free of syscalls so it can be unit-tested on the
//! Linux host; `main.rs` wires it to raw FreeBSD syscalls inside the VM.
#![cfg_attr(not(test), no_std)]

pub mod addr;
pub mod arp;
pub mod barrier;
pub mod carp;
pub mod devctl;
pub mod diagtext;
pub mod errno;
pub mod line;
pub mod mstats;
pub mod nd6;
pub mod netlink;
pub mod stats;
pub mod takeover;

/// Parses a decimal `u32` as the loader environment spells it (no sign, no
/// spaces); kenv values are operator-written, so be strict.
pub fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        let d = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        v = v * 10 + u64::from(d);
    }
    u32::try_from(v).ok()
}

/// Interprets a NUL-terminated buffer filled by the kernel as UTF-8 text.
pub fn cstr(buf: &[u8]) -> &str {
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let (head, _) = buf.split_at(end);
    core::str::from_utf8(head).unwrap_or("<non-utf8>")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn u32_strict() {
        assert_eq!(parse_u32("0"), Some(0));
        assert_eq!(parse_u32("50"), Some(50));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("4294967296"), None);
        assert_eq!(parse_u32(""), None);
        assert_eq!(parse_u32("-1"), None);
        assert_eq!(parse_u32("1 "), None);
        assert_eq!(parse_u32("99999999999"), None);
    }

    #[test]
    fn cstr_stops_at_nul() {
        assert_eq!(cstr(b"15.1-RELEASE-p1\0junk"), "15.1-RELEASE-p1");
        assert_eq!(cstr(b"abc"), "abc");
        assert_eq!(cstr(b"\xff\0"), "<non-utf8>");
    }
}
