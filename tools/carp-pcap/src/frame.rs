//! From a captured frame to the payload of an IP packet with protocol 112.
//!
//! Link layers: Ethernet (802.1Q / 802.1ad tags skipped), Linux cooked
//! captures v1 and v2 (what `tcpdump -i any` writes) and raw IP. Network
//! layers: IPv4 with options, IPv6 with its extension headers walked until
//! next header 112.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];
const ARPHRD_ETHER: u16 = 1;
pub const IPPROTO_CARP: u8 = 112;

/// Why a frame yields no protocol-112 payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// A well-formed frame of something else (ARP, TCP, ...).
    NotOurs,
    /// Cut short, or with lengths that contradict each other.
    Malformed,
    /// A fragment: its payload is not a whole advert.
    Fragment,
}

/// The protocol-112 payload of a frame and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip112<'a> {
    pub src_mac: Option<[u8; 6]>,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL or hop limit: CARP and VRRP both insist on 255.
    pub ttl: u8,
    pub payload: &'a [u8],
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn mac(bytes: &[u8], at: usize) -> Option<[u8; 6]> {
    bytes.get(at..at + 6)?.try_into().ok()
}

/// Skips VLAN tags: returns the inner ethertype and what follows it.
fn untag(mut ethertype: u16, mut rest: &[u8]) -> Result<(u16, &[u8]), Skip> {
    while ETHERTYPE_VLAN.contains(&ethertype) {
        ethertype = be16(rest, 2).ok_or(Skip::Malformed)?;
        rest = rest.get(4..).ok_or(Skip::Malformed)?;
    }
    Ok((ethertype, rest))
}

/// Parses one frame of the given pcap link type.
pub fn parse(link_type: u32, frame: &[u8]) -> Result<Ip112<'_>, Skip> {
    let (src_mac, ethertype, packet) = match link_type {
        LINKTYPE_ETHERNET => {
            let ethertype = be16(frame, 12).ok_or(Skip::Malformed)?;
            let rest = frame.get(14..).ok_or(Skip::Malformed)?;
            let (ethertype, packet) = untag(ethertype, rest)?;
            (mac(frame, 6), ethertype, packet)
        }
        LINKTYPE_LINUX_SLL => {
            // packet type, ARPHRD type, address length, address[8], protocol
            let hatype = be16(frame, 2).ok_or(Skip::Malformed)?;
            let halen = be16(frame, 4).ok_or(Skip::Malformed)?;
            let ethertype = be16(frame, 14).ok_or(Skip::Malformed)?;
            let rest = frame.get(16..).ok_or(Skip::Malformed)?;
            let (ethertype, packet) = untag(ethertype, rest)?;
            let src = (hatype == ARPHRD_ETHER && halen == 6)
                .then(|| mac(frame, 6))
                .flatten();
            (src, ethertype, packet)
        }
        LINKTYPE_LINUX_SLL2 => {
            // protocol, reserved, ifindex[4], ARPHRD type, packet type,
            // address length, address[8]
            let ethertype = be16(frame, 0).ok_or(Skip::Malformed)?;
            let hatype = be16(frame, 8).ok_or(Skip::Malformed)?;
            let halen = *frame.get(11).ok_or(Skip::Malformed)?;
            let rest = frame.get(20..).ok_or(Skip::Malformed)?;
            let (ethertype, packet) = untag(ethertype, rest)?;
            let src = (hatype == ARPHRD_ETHER && halen == 6)
                .then(|| mac(frame, 12))
                .flatten();
            (src, ethertype, packet)
        }
        LINKTYPE_RAW => {
            let ethertype = match frame.first().map(|b| b >> 4) {
                Some(4) => ETHERTYPE_IPV4,
                Some(6) => ETHERTYPE_IPV6,
                _ => return Err(Skip::Malformed),
            };
            (None, ethertype, frame)
        }
        _ => return Err(Skip::NotOurs),
    };
    let (src, dst, ttl, payload) = match ethertype {
        ETHERTYPE_IPV4 => ipv4(packet)?,
        ETHERTYPE_IPV6 => ipv6(packet)?,
        _ => return Err(Skip::NotOurs),
    };
    Ok(Ip112 {
        src_mac,
        src,
        dst,
        ttl,
        payload,
    })
}

type Ip<'a> = (IpAddr, IpAddr, u8, &'a [u8]);

fn ipv4(packet: &[u8]) -> Result<Ip<'_>, Skip> {
    let first = *packet.first().ok_or(Skip::Malformed)?;
    if first >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let total_len = usize::from(be16(packet, 2).ok_or(Skip::Malformed)?);
    if header_len < 20 || total_len < header_len {
        return Err(Skip::Malformed);
    }
    // Ethernet pads short frames: trust the IP length, not the frame's.
    let packet = packet.get(..total_len).ok_or(Skip::Malformed)?;
    let flags_offset = be16(packet, 6).ok_or(Skip::Malformed)?;
    let ttl = *packet.get(8).ok_or(Skip::Malformed)?;
    let proto = *packet.get(9).ok_or(Skip::Malformed)?;
    let src: [u8; 4] = packet
        .get(12..16)
        .and_then(|s| s.try_into().ok())
        .ok_or(Skip::Malformed)?;
    let dst: [u8; 4] = packet
        .get(16..20)
        .and_then(|s| s.try_into().ok())
        .ok_or(Skip::Malformed)?;
    let payload = packet.get(header_len..).ok_or(Skip::Malformed)?;
    if proto != IPPROTO_CARP {
        return Err(Skip::NotOurs);
    }
    if flags_offset & 0x3fff != 0 {
        return Err(Skip::Fragment);
    }
    Ok((
        Ipv4Addr::from(src).into(),
        Ipv4Addr::from(dst).into(),
        ttl,
        payload,
    ))
}

fn ipv6(packet: &[u8]) -> Result<Ip<'_>, Skip> {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const AUTH: u8 = 51;
    const DEST_OPTS: u8 = 60;
    const MOBILITY: u8 = 135;

    if packet.first().map(|b| b >> 4) != Some(6) {
        return Err(Skip::Malformed);
    }
    let payload_len = usize::from(be16(packet, 4).ok_or(Skip::Malformed)?);
    let mut next = *packet.get(6).ok_or(Skip::Malformed)?;
    let hop_limit = *packet.get(7).ok_or(Skip::Malformed)?;
    let src: [u8; 16] = packet
        .get(8..24)
        .and_then(|s| s.try_into().ok())
        .ok_or(Skip::Malformed)?;
    let dst: [u8; 16] = packet
        .get(24..40)
        .and_then(|s| s.try_into().ok())
        .ok_or(Skip::Malformed)?;
    // A zero payload length means a jumbogram, which no advert is.
    if payload_len == 0 {
        return Err(Skip::Malformed);
    }
    let mut rest = packet.get(40..40 + payload_len).ok_or(Skip::Malformed)?;
    while next != IPPROTO_CARP {
        let header_len = match next {
            HOP_BY_HOP | ROUTING | DEST_OPTS | MOBILITY => {
                (usize::from(*rest.get(1).ok_or(Skip::Malformed)?) + 1) * 8
            }
            AUTH => (usize::from(*rest.get(1).ok_or(Skip::Malformed)?) + 2) * 4,
            FRAGMENT => {
                let offset_flags = be16(rest, 2).ok_or(Skip::Malformed)?;
                // Only an atomic fragment (offset 0, no more) is whole.
                if offset_flags & 0xfff9 != 0 {
                    return Err(Skip::Fragment);
                }
                8
            }
            // ESP, no next header, upper layers: not ours.
            _ => return Err(Skip::NotOurs),
        };
        next = *rest.first().ok_or(Skip::Malformed)?;
        rest = rest.get(header_len..).ok_or(Skip::Malformed)?;
    }
    Ok((
        Ipv6Addr::from(src).into(),
        Ipv6Addr::from(dst).into(),
        hop_limit,
        rest,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x07];

    fn ipv4_packet(options: &[u8], payload: &[u8], proto: u8) -> Vec<u8> {
        let hl = 20 + options.len();
        let mut p = vec![0x40 | (hl / 4) as u8, 0];
        p.extend(((hl + payload.len()) as u16).to_be_bytes());
        p.extend([0, 1, 0x40, 0, 255, proto, 0, 0]);
        p.extend([192, 0, 2, 1, 224, 0, 0, 18]);
        p.extend_from_slice(options);
        p.extend_from_slice(payload);
        p
    }

    fn ether(ethertype: u16, tags: &[u16], packet: &[u8]) -> Vec<u8> {
        let mut f = vec![0x01, 0x00, 0x5e, 0, 0, 0x12];
        f.extend(MAC);
        for tag in tags {
            f.extend(tag.to_be_bytes());
            f.extend(0x0007u16.to_be_bytes());
        }
        f.extend(ethertype.to_be_bytes());
        f.extend_from_slice(packet);
        f
    }

    #[test]
    fn ethernet_ipv4_with_options_vlan_and_padding() {
        let payload = [0x21u8; 36];
        let packet = ipv4_packet(&[1, 1, 1, 0], &payload, 112);
        for tags in [&[][..], &[0x8100], &[0x88a8, 0x8100]] {
            let mut frame = ether(0x0800, tags, &packet);
            frame.extend([0; 6]); // Ethernet padding
            let got = parse(LINKTYPE_ETHERNET, &frame).unwrap();
            assert_eq!(got.payload, &payload);
            assert_eq!(got.src_mac, Some(MAC));
            assert_eq!(got.src, "192.0.2.1".parse::<IpAddr>().unwrap());
            assert_eq!(got.dst, "224.0.0.18".parse::<IpAddr>().unwrap());
            assert_eq!(got.ttl, 255);
        }
    }

    #[test]
    fn others_and_garbage() {
        let arp = ether(0x0806, &[], &[0; 28]);
        assert_eq!(parse(LINKTYPE_ETHERNET, &arp), Err(Skip::NotOurs));
        let tcp = ether(0x0800, &[], &ipv4_packet(&[], &[0; 20], 6));
        assert_eq!(parse(LINKTYPE_ETHERNET, &tcp), Err(Skip::NotOurs));
        let good = ether(0x0800, &[], &ipv4_packet(&[], &[0x21; 36], 112));
        for cut in 0..good.len() {
            let r = parse(LINKTYPE_ETHERNET, &good[..cut]);
            assert_eq!(r, Err(Skip::Malformed), "cut at {cut}");
        }
        let mut frag = ipv4_packet(&[], &[0x21; 36], 112);
        frag[6] = 0x20; // MF
        assert_eq!(
            parse(LINKTYPE_ETHERNET, &ether(0x0800, &[], &frag)),
            Err(Skip::Fragment)
        );
        let mut bad_hl = ipv4_packet(&[], &[0x21; 36], 112);
        bad_hl[0] = 0x44;
        assert_eq!(
            parse(LINKTYPE_ETHERNET, &ether(0x0800, &[], &bad_hl)),
            Err(Skip::Malformed)
        );
        assert_eq!(
            parse(LINKTYPE_ETHERNET, &ether(0x8100, &[], &[0, 7])),
            Err(Skip::Malformed)
        );
    }

    fn ipv6_packet(exts: &[(u8, Vec<u8>)], payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut first = 112;
        for (i, (kind, ext)) in exts.iter().enumerate() {
            let next = exts.get(i + 1).map_or(112, |(k, _)| *k);
            if i == 0 {
                first = *kind;
            }
            let mut ext = ext.clone();
            ext[0] = next;
            body.extend(ext);
        }
        body.extend_from_slice(payload);
        let mut p = vec![0x60, 0, 0, 0];
        p.extend((body.len() as u16).to_be_bytes());
        p.extend([first, 255]);
        p.extend("fe80::1".parse::<Ipv6Addr>().unwrap().octets());
        p.extend("ff02::12".parse::<Ipv6Addr>().unwrap().octets());
        p.extend(body);
        p
    }

    #[test]
    fn ipv6_extension_headers() {
        let payload = [0x21u8; 36];
        let hbh = vec![0, 0, 5, 2, 0, 0, 1, 0]; // router alert
        let dst = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let frag = vec![0, 0, 0, 0, 0, 0, 0, 9];
        let ah = vec![
            0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let packet = ipv6_packet(
            &[(0, hbh), (60, dst), (44, frag.clone()), (51, ah)],
            &payload,
        );
        let frame = ether(0x86dd, &[], &packet);
        let got = parse(LINKTYPE_ETHERNET, &frame).unwrap();
        assert_eq!(got.payload, &payload);
        assert_eq!(got.src, "fe80::1".parse::<IpAddr>().unwrap());
        assert_eq!(got.dst, "ff02::12".parse::<IpAddr>().unwrap());
        assert_eq!(got.ttl, 255);

        let mut more = frag;
        more[3] = 1; // M flag
        let packet = ipv6_packet(&[(44, more)], &payload);
        assert_eq!(
            parse(LINKTYPE_ETHERNET, &ether(0x86dd, &[], &packet)),
            Err(Skip::Fragment)
        );
        let esp = ipv6_packet(&[(50, vec![0; 8])], &payload);
        assert_eq!(
            parse(LINKTYPE_ETHERNET, &ether(0x86dd, &[], &esp)),
            Err(Skip::NotOurs)
        );
        let good = ether(0x86dd, &[], &ipv6_packet(&[(0, vec![0; 8])], &payload));
        for cut in 0..good.len() {
            assert_eq!(
                parse(LINKTYPE_ETHERNET, &good[..cut]),
                Err(Skip::Malformed),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn linux_cooked_captures() {
        let payload = [0x31u8; 12];
        let packet = ipv4_packet(&[], &payload, 112);
        let mut sll = vec![0, 2, 0, 1, 0, 6];
        sll.extend(MAC);
        sll.extend([0, 0]);
        sll.extend(0x0800u16.to_be_bytes());
        sll.extend(&packet);
        let got = parse(LINKTYPE_LINUX_SLL, &sll).unwrap();
        assert_eq!((got.payload, got.src_mac), (&payload[..], Some(MAC)));

        let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
        sll2.extend([0, 0, 0, 0, 0, 3, 0, 1, 2, 6]);
        sll2.extend(MAC);
        sll2.extend([0, 0]);
        sll2.extend(&packet);
        let got = parse(LINKTYPE_LINUX_SLL2, &sll2).unwrap();
        assert_eq!((got.payload, got.src_mac), (&payload[..], Some(MAC)));

        // A cooked capture of a non-Ethernet device has no MAC to report.
        sll2[9] = 0;
        sll2[8] = 3;
        assert_eq!(parse(LINKTYPE_LINUX_SLL2, &sll2).unwrap().src_mac, None);

        let got = parse(LINKTYPE_RAW, &packet).unwrap();
        assert_eq!((got.payload, got.src_mac), (&payload[..], None));
    }
}
