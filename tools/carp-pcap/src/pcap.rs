//! The classic libpcap file format (not pcapng): a 24-byte global header,
//! then records of a 16-byte header and the captured bytes.
//!
//! The magic number, written in the capturing host's byte order, tells both
//! the byte order of every later field and whether the fractional part of
//! a timestamp counts microseconds or nanoseconds.

use std::fmt;

const MAGIC_MICRO: u32 = 0xa1b2_c3d4;
const MAGIC_NANO: u32 = 0xa1b2_3c4d;
const GLOBAL_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Fewer than 24 bytes, or a magic number of neither byte order.
    NotPcap,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotPcap => f.write_str("not a classic pcap file (bad magic number)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Little,
    Big,
}

impl Order {
    fn u32_at(self, bytes: &[u8], at: usize) -> Option<u32> {
        let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(match self {
            Order::Little => u32::from_le_bytes(raw),
            Order::Big => u32::from_be_bytes(raw),
        })
    }
}

/// One captured frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// 1-based position in the file, as Wireshark and tcpdump count.
    pub number: usize,
    pub ts_sec: u32,
    /// Nanoseconds, whatever the file's resolution.
    pub ts_nsec: u32,
    pub data: &'a [u8],
}

impl Record<'_> {
    pub fn time(&self) -> f64 {
        f64::from(self.ts_sec) + f64::from(self.ts_nsec) / 1e9
    }
}

/// Reads records from a whole file held in memory.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    order: Order,
    nanos: bool,
    link_type: u32,
    offset: usize,
    number: usize,
    truncated: bool,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Reader<'a>, Error> {
        if bytes.len() < GLOBAL_HEADER_LEN {
            return Err(Error::NotPcap);
        }
        let (order, nanos) = match Order::Little.u32_at(bytes, 0) {
            Some(MAGIC_MICRO) => (Order::Little, false),
            Some(MAGIC_NANO) => (Order::Little, true),
            _ => match Order::Big.u32_at(bytes, 0) {
                Some(MAGIC_MICRO) => (Order::Big, false),
                Some(MAGIC_NANO) => (Order::Big, true),
                _ => return Err(Error::NotPcap),
            },
        };
        // The top bits of the link-type field may carry FCS information
        // (LINKTYPE_LINUX_SLL era libpcap); the type is the low 28 bits.
        let link_type = order.u32_at(bytes, 20).ok_or(Error::NotPcap)? & 0x0fff_ffff;
        Ok(Reader {
            bytes,
            order,
            nanos,
            link_type,
            offset: GLOBAL_HEADER_LEN,
            number: 0,
            truncated: false,
        })
    }

    pub fn link_type(&self) -> u32 {
        self.link_type
    }

    /// Whether the file ended inside a record (a capture cut short).
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.offset >= self.bytes.len() {
            return None;
        }
        let header = self.offset;
        let fields = (
            self.order.u32_at(self.bytes, header),
            self.order.u32_at(self.bytes, header + 4),
            self.order.u32_at(self.bytes, header + 8),
        );
        let (Some(ts_sec), Some(frac), Some(incl_len)) = fields else {
            self.truncated = true;
            self.offset = self.bytes.len();
            return None;
        };
        let start = header + RECORD_HEADER_LEN;
        let end = usize::try_from(incl_len)
            .ok()
            .and_then(|len| start.checked_add(len));
        let Some(data) = end.and_then(|end| self.bytes.get(start..end)) else {
            self.truncated = true;
            self.offset = self.bytes.len();
            return None;
        };
        self.offset = start + data.len();
        self.number += 1;
        let ts_nsec = if self.nanos {
            frac
        } else {
            frac.saturating_mul(1000)
        };
        Some(Record {
            number: self.number,
            ts_sec,
            ts_nsec,
            data,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn file(big: bool, nanos: bool, link: u32, frames: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend(w32(if nanos { MAGIC_NANO } else { MAGIC_MICRO }));
        out.extend(w16(2));
        out.extend(w16(4));
        out.extend(w32(0));
        out.extend(w32(0));
        out.extend(w32(65535));
        out.extend(w32(link));
        for (sec, frac, data) in frames {
            out.extend(w32(*sec));
            out.extend(w32(*frac));
            out.extend(w32(data.len() as u32));
            out.extend(w32(data.len() as u32));
            out.extend_from_slice(data);
        }
        out
    }

    #[test]
    fn all_four_magics() {
        for big in [false, true] {
            for nanos in [false, true] {
                let bytes = file(big, nanos, 113, &[(10, 500, b"abc"), (11, 0, b"")]);
                let mut r = Reader::new(&bytes).unwrap();
                assert_eq!(r.link_type(), 113);
                let a = r.next().unwrap();
                assert_eq!((a.number, a.ts_sec, a.data), (1, 10, &b"abc"[..]));
                assert_eq!(a.ts_nsec, if nanos { 500 } else { 500_000 });
                let b = r.next().unwrap();
                assert_eq!((b.number, b.ts_sec, b.data), (2, 11, &b""[..]));
                assert!(r.next().is_none());
                assert!(!r.truncated());
            }
        }
    }

    #[test]
    fn rejects_other_files() {
        assert_eq!(Reader::new(b"").unwrap_err(), Error::NotPcap);
        let mut bytes = file(false, false, 1, &[]);
        bytes[0] ^= 1;
        assert_eq!(Reader::new(&bytes).unwrap_err(), Error::NotPcap);
        // pcapng section header block
        let mut ng = vec![0x0a, 0x0d, 0x0d, 0x0a];
        ng.resize(32, 0);
        assert_eq!(Reader::new(&ng).unwrap_err(), Error::NotPcap);
    }

    #[test]
    fn stops_at_a_cut_record() {
        let bytes = file(
            false,
            false,
            1,
            &[(1, 0, b"0123456789"), (2, 0, b"0123456789")],
        );
        for cut in 1..26 {
            let mut r = Reader::new(&bytes[..bytes.len() - cut]).unwrap();
            assert_eq!(r.next().unwrap().data, b"0123456789");
            assert!(r.next().is_none(), "cut {cut}");
            assert!(r.truncated());
        }
        // An absurd length is a cut record too.
        let mut bytes = file(false, false, 1, &[(1, 0, b"x")]);
        bytes[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut r = Reader::new(&bytes).unwrap();
        assert!(r.next().is_none());
        assert!(r.truncated());
    }

    #[test]
    fn time_in_seconds() {
        let r = Record {
            number: 1,
            ts_sec: 1_795_373_429,
            ts_nsec: 57_784_000,
            data: &[],
        };
        assert!((r.time() - 1_795_373_429.057_784).abs() < 1e-6);
    }
}
