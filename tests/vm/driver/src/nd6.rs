//! IPv6 neighbour discovery frames written and read through bpf(4): a VM
//! asks "who has the v6 VIP" (a neighbour solicitation, RFC 4861 4.3) and
//! sees which link-layer address the advertisements carry (the virtual MAC
//! `00:00:5e:00:01:<vhid>` from the MASTER; a VIP left behind as a plain
//! address would answer with the host's own MAC).

pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Ethernet (14) + IPv6 (40) + NS (24) + source link-layer option (8).
pub const NS_LEN: usize = 86;
const ICMPV6: u8 = 58;
const NS: u8 = 135;
const NA: u8 = 136;

/// The solicited-node multicast address of `target` (RFC 4291 2.7.1).
pub fn solicited_node(target: [u8; 16]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xff;
    a[1] = 0x02;
    a[11] = 0x01;
    a[12] = 0xff;
    a[13..16].copy_from_slice(&target[13..16]);
    a
}

/// The ICMPv6 checksum (RFC 4443 2.3) over the pseudo-header and `msg`.
pub fn icmp6_cksum(src: [u8; 16], dst: [u8; 16], msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = u16::from_be_bytes([*c.first().unwrap_or(&0), *c.get(1).unwrap_or(&0)]);
            sum = sum.wrapping_add(u32::from(w));
        }
    };
    add(&src);
    add(&dst);
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, ICMPV6]);
    add(msg);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A neighbour solicitation for `target` from `(sha, src)`, to the
/// target's solicited-node group, with a source link-layer option.
pub fn solicit(sha: [u8; 6], src: [u8; 16], target: [u8; 16]) -> [u8; NS_LEN] {
    let dst = solicited_node(target);
    let mut f = [0u8; NS_LEN];
    f[0..6].copy_from_slice(&[0x33, 0x33, dst[12], dst[13], dst[14], dst[15]]);
    f[6..12].copy_from_slice(&sha);
    f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    f[14] = 0x60; // version 6
    f[18..20].copy_from_slice(&32u16.to_be_bytes());
    f[20] = ICMPV6;
    f[21] = 255; // hop limit: ND messages must carry 255
    f[22..38].copy_from_slice(&src);
    f[38..54].copy_from_slice(&dst);
    f[54] = NS;
    f[62..78].copy_from_slice(&target);
    f[78] = 1; // source link-layer address, 8 bytes
    f[79] = 1;
    f[80..86].copy_from_slice(&sha);
    let ck = icmp6_cksum(src, dst, &f[54..86]);
    f[56..58].copy_from_slice(&ck.to_be_bytes());
    f
}

/// A neighbour advertisement: the Ethernet source, the target address and
/// the target link-layer address option (if present).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    pub target: [u8; 16],
    pub tlla: Option<[u8; 6]>,
}

/// Parses an Ethernet/IPv6 neighbour advertisement (no extension
/// headers); `None` for anything else.
pub fn parse_advert(frame: &[u8]) -> Option<Advert> {
    if frame.get(12..14)? != ETHERTYPE_IPV6.to_be_bytes() || *frame.get(20)? != ICMPV6 {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes(frame.get(18..20)?.try_into().ok()?));
    let icmp = frame.get(54..54 + plen)?;
    if *icmp.first()? != NA {
        return None;
    }
    let target: [u8; 16] = icmp.get(8..24)?.try_into().ok()?;
    let mut tlla = None;
    let mut opts = icmp.get(24..)?;
    while let (Some(&kind), Some(&units)) = (opts.first(), opts.get(1)) {
        let len = usize::from(units) * 8;
        if len == 0 || len > opts.len() {
            break;
        }
        if kind == 2 && len == 8 {
            tlla = opts.get(2..8)?.try_into().ok();
        }
        opts = opts.get(len..).unwrap_or(&[]);
    }
    Some(Advert {
        eth_dst: frame.get(0..6)?.try_into().ok()?,
        eth_src: frame.get(6..12)?.try_into().ok()?,
        target,
        tlla,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x58, 0x9c, 0xfc, 0, 0, 0x0b];
    const SRC: [u8; 16] = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12,
    ];
    const VIP: [u8; 16] = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50,
    ];

    #[test]
    fn solicitation_layout_and_checksum() {
        let f = solicit(MAC, SRC, VIP);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0xff, 0, 0, 0x50]);
        assert_eq!(
            solicited_node(VIP),
            [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0x50]
        );
        assert_eq!(&f[62..78], &VIP);
        // A correct checksum sums (with itself) to 0xffff: recomputing
        // over the message with the checksum in place gives 0.
        assert_eq!(icmp6_cksum(SRC, solicited_node(VIP), &f[54..86]), 0);
        assert_eq!(parse_advert(&f), None, "a solicitation is not an advert");
    }

    #[test]
    fn checksum_known_value() {
        // RFC 1071 example words summed as a message of their own.
        let msg = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        let zero = [0u8; 16];
        // Pseudo-header adds length 8 and next header 58: 0xddf2 + 8 + 58.
        let sum: u32 = 0xddf2 + 8 + 58;
        assert_eq!(icmp6_cksum(zero, zero, &msg), !(sum as u16));
    }

    fn advert(tlla: Option<[u8; 6]>) -> [u8; 86] {
        let mut f = solicit(MAC, SRC, VIP);
        f[54] = NA;
        match tlla {
            Some(m) => {
                f[78] = 2;
                f[80..86].copy_from_slice(&m);
            }
            None => f[78] = 99, // an unknown option is skipped
        }
        f
    }

    #[test]
    fn parses_adverts() {
        let vmac = [0, 0, 0x5e, 0, 1, 1];
        let a = parse_advert(&advert(Some(vmac))).unwrap();
        assert_eq!(a.target, VIP);
        assert_eq!(a.tlla, Some(vmac));
        assert_eq!(a.eth_src, MAC);
        assert_eq!(parse_advert(&advert(None)).unwrap().tlla, None);
        assert_eq!(parse_advert(&advert(Some(vmac))[..60]), None, "truncated");
        let mut zero_len = advert(Some(vmac));
        zero_len[79] = 0;
        assert_eq!(parse_advert(&zero_len).unwrap().tlla, None);
    }
}
