//! Ethernet frames the node writes itself (adverts with the virtual source
//! MAC, gratuitous ARP, unsolicited NA) and the IPv4 header it reads.

use std::net::{Ipv4Addr, Ipv6Addr};

use carp_rs::wire::checksum;

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_ARP: u16 = 0x0806;
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// RFC 1112 / RFC 2464 multicast MACs of an IP group.
pub fn mcast_mac4(a: Ipv4Addr) -> [u8; 6] {
    let o = a.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

pub fn mcast_mac6(a: Ipv6Addr) -> [u8; 6] {
    let o = a.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

fn eth(out: &mut Vec<u8>, dst: [u8; 6], src: [u8; 6], ty: u16) {
    out.clear();
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ty.to_be_bytes());
}

/// Ethernet + IPv4 (DF, as FreeBSD's `ip_output` of a carp advert) +
/// payload.
#[allow(clippy::too_many_arguments)]
pub fn ipv4(
    out: &mut Vec<u8>,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    tos: u8,
    ttl: u8,
    id: u16,
    payload: &[u8],
) {
    eth(out, dst_mac, src_mac, ETH_IPV4);
    let total = (20 + payload.len()) as u16;
    let start = out.len();
    out.extend_from_slice(&[0x45, tos]);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x40, 0x00, ttl, 112, 0, 0]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    let sum = !checksum::data(out.get(start..).unwrap_or(&[]));
    if let Some(c) = out.get_mut(start + 10..start + 12) {
        c.copy_from_slice(&sum.to_be_bytes());
    }
    out.extend_from_slice(payload);
}

/// Ethernet + IPv6 (next header 112) + payload.
#[allow(clippy::too_many_arguments)]
pub fn ipv6(
    out: &mut Vec<u8>,
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    tclass: u8,
    hlim: u8,
    next: u8,
    payload: &[u8],
) {
    eth(out, dst_mac, src_mac, ETH_IPV6);
    let vtf: u32 = (6 << 28) | (u32::from(tclass) << 20);
    out.extend_from_slice(&vtf.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(&[next, hlim]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    out.extend_from_slice(payload);
}

/// Gratuitous ARP as `arp_announce_ifaddr`: a broadcast request "who-has
/// VIP tell VIP" from `mac`.
pub fn garp(out: &mut Vec<u8>, mac: [u8; 6], vip: Ipv4Addr) {
    eth(out, BROADCAST, mac, ETH_ARP);
    out.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    out.extend_from_slice(&mac);
    out.extend_from_slice(&vip.octets());
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&vip.octets());
}

/// Unsolicited neighbour advertisement (RFC 4861 §7.2.6) for `vip` to
/// all-nodes, override flag set, with the target link-layer option.
pub fn unsolicited_na(out: &mut Vec<u8>, mac: [u8; 6], vip: Ipv6Addr) {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[136, 0, 0, 0]); // type NA, code, checksum
    icmp.extend_from_slice(&[0x20, 0, 0, 0]); // O flag
    icmp.extend_from_slice(&vip.octets());
    icmp.extend_from_slice(&[2, 1]); // target link-layer address, 8 bytes
    icmp.extend_from_slice(&mac);
    let sum = !checksum::combine(&[
        checksum::pseudo_header_v6(&vip, &all_nodes, 58, icmp.len() as u32),
        checksum::data(&icmp),
    ]);
    if let Some(c) = icmp.get_mut(2..4) {
        c.copy_from_slice(&sum.to_be_bytes());
    }
    ipv6(
        out,
        mcast_mac6(all_nodes),
        mac,
        vip,
        all_nodes,
        0,
        255,
        58,
        &icmp,
    );
}

/// What the node needs of a received IPv4 header.
pub struct Ip4<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub payload: &'a [u8],
}

pub fn parse_ipv4(pkt: &[u8]) -> Option<Ip4<'_>> {
    let vihl = *pkt.first()?;
    if vihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*pkt.get(2)?, *pkt.get(3)?]));
    let ttl = *pkt.get(8)?;
    let src: [u8; 4] = pkt.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = pkt.get(16..20)?.try_into().ok()?;
    let payload = pkt.get(ihl..total.min(pkt.len()))?;
    Some(Ip4 {
        src: src.into(),
        dst: dst.into(),
        ttl,
        payload,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies_and_parses_back() {
        let mut f = Vec::new();
        let src = Ipv4Addr::new(198, 51, 100, 1);
        let dst = Ipv4Addr::new(224, 0, 0, 18);
        ipv4(
            &mut f,
            mcast_mac4(dst),
            [0, 0, 0x5e, 0, 1, 7],
            src,
            dst,
            0xe0,
            255,
            9,
            &[0x21; 36],
        );
        assert_eq!(&f[..6], &[0x01, 0x00, 0x5e, 0, 0, 18]);
        assert_eq!(checksum::data(&f[14..34]), 0xffff);
        let ip = parse_ipv4(&f[14..]).unwrap();
        assert_eq!((ip.src, ip.dst, ip.ttl), (src, dst, 255));
        assert_eq!(ip.payload.len(), 36);
        assert_eq!(f[15], 0xe0);
    }

    #[test]
    fn na_checksum_verifies() {
        let mut f = Vec::new();
        let vip: Ipv6Addr = "2001:db8::50".parse().unwrap();
        unsolicited_na(&mut f, [2, 0, 0, 0, 0, 1], vip);
        let icmp = &f[54..];
        let all: Ipv6Addr = "ff02::1".parse().unwrap();
        let s = checksum::combine(&[
            checksum::pseudo_header_v6(&vip, &all, 58, icmp.len() as u32),
            checksum::data(icmp),
        ]);
        assert_eq!(s, 0xffff);
        assert_eq!(&f[..6], &[0x33, 0x33, 0, 0, 0, 1]);
    }

    #[test]
    fn garp_is_request_for_itself() {
        let mut f = Vec::new();
        let vip = Ipv4Addr::new(198, 51, 100, 50);
        garp(&mut f, [2, 0, 0, 0, 0, 1], vip);
        assert_eq!(f.len(), 42);
        assert_eq!(&f[28..32], &vip.octets());
        assert_eq!(&f[38..42], &vip.octets());
        assert_eq!(&f[20..22], &[0, 1]);
    }
}
