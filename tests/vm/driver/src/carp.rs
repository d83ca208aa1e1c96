//! CARP advertisements as the vm scenarios see them on the wire: the
//! 36-byte `struct carp_header` (version 2, type 1) that the stress
//! scenario floods through a raw IPv4 socket (the kernel adds the IP
//! header), and adverts read back from bpf(4) Ethernet frames, so the vnet
//! scenario can tell which jail's vhid speaks on which epair.

pub const CARP_LEN: usize = 36;
pub const IPPROTO_CARP: u8 = 112;

/// The Internet checksum (RFC 1071) over `b`.
pub fn in_cksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let hi = u32::from(c.first().copied().unwrap_or(0));
        let lo = u32::from(c.get(1).copied().unwrap_or(0));
        sum += (hi << 8) | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A CARP v2 advertisement with a valid checksum and `md` as its HMAC
/// (a flood of well-formed adverts with a wrong HMAC reaches the receiver's
/// HMAC check and is counted as badauth).
pub fn advert(vhid: u8, advskew: u8, advbase: u8, counter: u64, md: [u8; 20]) -> [u8; CARP_LEN] {
    let mut p = [0u8; CARP_LEN];
    p[0] = 0x21; // version 2, type advertisement
    p[1] = vhid;
    p[2] = advskew;
    p[3] = 7; // authlen
    p[5] = advbase;
    p[8..16].copy_from_slice(&counter.to_be_bytes());
    p[16..36].copy_from_slice(&md);
    let ck = in_cksum(&p);
    p[6..8].copy_from_slice(&ck.to_be_bytes());
    p
}

/// What a sniffed advert says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seen {
    pub src: [u8; 4],
    pub ttl: u8,
    pub vhid: u8,
    pub advskew: u8,
    pub advbase: u8,
    pub eth_src: [u8; 6],
}

/// Parses an Ethernet/IPv4 frame carrying a CARP advertisement.
pub fn parse_frame(f: &[u8]) -> Option<Seen> {
    if f.get(12..14)? != [8, 0] {
        return None;
    }
    let ip = f.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ip.first()? >> 4 != 4 || ihl < 20 || *ip.get(9)? != IPPROTO_CARP {
        return None;
    }
    let c = ip.get(ihl..ihl + CARP_LEN)?;
    if c.first()? >> 4 != 2 {
        return None;
    }
    Some(Seen {
        src: ip.get(12..16)?.try_into().ok()?,
        ttl: *ip.get(8)?,
        vhid: *c.get(1)?,
        advskew: *c.get(2)?,
        advbase: *c.get(5)?,
        eth_src: f.get(6..12)?.try_into().ok()?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn checksum_known_vector() {
        // RFC 1071 section 3 example bytes.
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(in_cksum(&b), !0xddf2);
        assert_eq!(in_cksum(&[0xff]), !0xff00);
    }

    #[test]
    fn advert_is_valid_and_parses_back() {
        let p = advert(7, 100, 1, 0x0102_0304_0506_0708, [0xaa; 20]);
        assert_eq!(in_cksum(&p), 0);
        assert_eq!((p[0], p[1], p[2], p[3], p[5]), (0x21, 7, 100, 7, 1));
        let mut f = vec![0u8; 14];
        f[6..12].copy_from_slice(&[0, 0, 0x5e, 0, 1, 7]);
        f[12..14].copy_from_slice(&[8, 0]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[8] = 255;
        ip[9] = 112;
        ip[12..16].copy_from_slice(&[192, 0, 2, 11]);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&p);
        let s = parse_frame(&f).unwrap();
        assert_eq!(
            s,
            Seen {
                src: [192, 0, 2, 11],
                ttl: 255,
                vhid: 7,
                advskew: 100,
                advbase: 1,
                eth_src: [0, 0, 0x5e, 0, 1, 7]
            }
        );
        let mut other = f.clone();
        other[14 + 9] = 17;
        assert_eq!(parse_frame(&other), None);
        assert_eq!(parse_frame(&f[..f.len() - 1]), None);
        let mut v6 = f.clone();
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(parse_frame(&v6), None);
    }
}
