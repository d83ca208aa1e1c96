//! Reads the bridge capture (classic pcap, as tcpdump -w writes it) and
//! decodes the protocol-112 adverts in it: the ground truth every lab
//! assertion and measurement is taken from.

use std::net::IpAddr;
use std::path::Path;

/// One CARP or VRRPv3 advert seen on the bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advert {
    /// Capture timestamp, ns since the epoch (the capture's clock).
    pub ts_ns: u64,
    pub src_mac: [u8; 6],
    pub src: IpAddr,
    pub ttl: u8,
    pub tos: u8,
    /// 2 = CARP, 3 = VRRPv3.
    pub version: u8,
    pub vhid: u8,
    /// CARP advskew; VRRP priority.
    pub skew_or_prio: u8,
    /// CARP advbase (s); VRRP interval (cs).
    pub interval: u16,
    pub counter: u64,
}

impl Advert {
    /// A CARP bow-out (advbase 255 / advskew 255) or VRRP priority 0.
    pub fn is_bowout(&self) -> bool {
        match self.version {
            2 => self.interval == 255 && self.skew_or_prio == 255,
            _ => self.skew_or_prio == 0,
        }
    }
}

/// An ARP request where sender == target: a gratuitous ARP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Garp {
    pub ts_ns: u64,
    pub src_mac: [u8; 6],
    pub ip: [u8; 4],
}

#[derive(Default, Debug)]
pub struct Capture {
    pub adverts: Vec<Advert>,
    pub garps: Vec<Garp>,
}

/// Reads the whole file; a record cut short (tcpdump still writing) ends
/// the read without error.
pub fn read(path: &Path) -> std::io::Result<Capture> {
    let data = std::fs::read(path)?;
    Ok(parse(&data))
}

pub fn parse(data: &[u8]) -> Capture {
    let mut cap = Capture::default();
    let Some(magic) = data.get(..4) else {
        return cap;
    };
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => return cap,
    };
    let u32at = |b: &[u8], o: usize| -> Option<u32> {
        let w: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        })
    };
    let linktype = u32at(data, 20).unwrap_or(1);
    let mut off = 24;
    while let (Some(sec), Some(frac), Some(incl)) =
        (u32at(data, off), u32at(data, off + 4), u32at(data, off + 8))
    {
        let start = off + 16;
        let end = start + incl as usize;
        let Some(frame) = data.get(start..end) else {
            break;
        };
        off = end;
        let ts_ns = u64::from(sec) * 1_000_000_000
            + if nanos {
                u64::from(frac)
            } else {
                u64::from(frac) * 1000
            };
        if linktype == 1 {
            decode_eth(ts_ns, frame, &mut cap);
        }
    }
    cap
}

fn decode_eth(ts_ns: u64, f: &[u8], cap: &mut Capture) {
    let Some(src_mac) = f.get(6..12).and_then(|m| <[u8; 6]>::try_from(m).ok()) else {
        return;
    };
    let ethertype = match f.get(12..14) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => return,
    };
    let Some(l3) = f.get(14..) else { return };
    match ethertype {
        0x0800 => {
            let Some(&vihl) = l3.first() else { return };
            let ihl = usize::from(vihl & 0x0f) * 4;
            if l3.get(9) != Some(&112) {
                return;
            }
            let (Some(&tos), Some(&ttl), Some(s)) = (l3.get(1), l3.get(8), l3.get(12..16)) else {
                return;
            };
            let Ok(s) = <[u8; 4]>::try_from(s) else {
                return;
            };
            if let Some(p) = l3.get(ihl..) {
                push_advert(cap, ts_ns, src_mac, IpAddr::from(s), ttl, tos, p);
            }
        }
        0x86dd => {
            if l3.get(6) != Some(&112) {
                return;
            }
            let (Some(h0), Some(h1), Some(&hl), Some(s)) =
                (l3.first(), l3.get(1), l3.get(7), l3.get(8..24))
            else {
                return;
            };
            let tclass = (h0 << 4) | (h1 >> 4);
            let Ok(s) = <[u8; 16]>::try_from(s) else {
                return;
            };
            if let Some(p) = l3.get(40..) {
                push_advert(cap, ts_ns, src_mac, IpAddr::from(s), hl, tclass, p);
            }
        }
        // Request (op 1) with sender IP == target IP.
        0x0806 if l3.get(6..8) == Some(&[0, 1]) && l3.get(14..18) == l3.get(24..28) => {
            if let Some(ip) = l3.get(14..18).and_then(|s| <[u8; 4]>::try_from(s).ok()) {
                cap.garps.push(Garp { ts_ns, src_mac, ip });
            }
        }
        _ => {}
    }
}

fn push_advert(
    cap: &mut Capture,
    ts_ns: u64,
    src_mac: [u8; 6],
    src: IpAddr,
    ttl: u8,
    tos: u8,
    p: &[u8],
) {
    let (Some(&vt), Some(&vhid), Some(&b2)) = (p.first(), p.get(1), p.get(2)) else {
        return;
    };
    let version = vt >> 4;
    let (interval, counter) = match version {
        2 if p.len() >= 36 => {
            let c: [u8; 8] = match p.get(8..16).and_then(|c| c.try_into().ok()) {
                Some(c) => c,
                None => return,
            };
            (
                u16::from(p.get(5).copied().unwrap_or(0)),
                u64::from_be_bytes(c),
            )
        }
        3 if p.len() >= 8 => {
            let (Some(&a), Some(&b)) = (p.get(4), p.get(5)) else {
                return;
            };
            (u16::from_be_bytes([a & 0x0f, b]), 0)
        }
        _ => return,
    };
    cap.adverts.push(Advert {
        ts_ns,
        src_mac,
        src,
        ttl,
        tos,
        version,
        vhid,
        skew_or_prio: b2,
        interval,
        counter,
    });
}

impl Capture {
    /// Adverts of one group (protocol version and vhid), bow-outs included.
    pub fn group(&self, version: u8, vhid: u8) -> impl Iterator<Item = &Advert> + '_ {
        self.adverts
            .iter()
            .filter(move |a| a.version == version && a.vhid == vhid)
    }

    /// Regular (non bow-out) adverts of the group sent by `src` at or after
    /// `since_ns`.
    pub fn from_since(&self, version: u8, vhid: u8, src: IpAddr, since_ns: u64) -> Vec<&Advert> {
        self.group(version, vhid)
            .filter(|a| a.src == src && a.ts_ns >= since_ns && !a.is_bowout())
            .collect()
    }

    /// The sender of the group's most recent regular advert.
    pub fn last_sender(&self, version: u8, vhid: u8) -> Option<IpAddr> {
        self.group(version, vhid)
            .filter(|a| !a.is_bowout())
            .last()
            .map(|a| a.src)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// The real ucarp capture from the repository's tests/vectors; a
    /// missing capture is a failure.
    #[test]
    fn decodes_the_ucarp_vector_capture() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/ucarp-failover.pcap");
        let cap = read(&p).unwrap_or_else(|e| {
            panic!(
                "test vector missing: {}: {e}; the repository carries it: restore it with `git checkout tests/vectors` or regenerate with `make vectors`",
                p.display()
            )
        });
        assert!(cap.adverts.len() > 10);
        let a = &cap.adverts[0];
        assert_eq!((a.version, a.vhid, a.ttl, a.tos), (2, 7, 255, 0x10));
        assert_eq!(a.src_mac, [0, 0, 0x5e, 0, 0, 7]);
        assert!(!cap.garps.is_empty());
    }

    #[test]
    fn truncated_file_is_not_an_error() {
        let mut d = vec![0xd4, 0xc3, 0xb2, 0xa1];
        d.extend_from_slice(&[0; 16]);
        d.extend_from_slice(&1u32.to_le_bytes());
        d.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0]);
        let c = parse(&d);
        assert!(c.adverts.is_empty());
    }
}
