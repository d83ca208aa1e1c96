//! The IPv4/IPv6 header of an outgoing advert, as `carp_send_ad_locked`
//! fills it before `ip_output(IP_RAWOUTPUT)` / `ip6_output`.
//!
//! FreeBSD 10+ keeps `ip_len` and `ip_off` in network byte order all the
//! way through `ip_output` (it reads them with `ntohs`), so they are
//! written big-endian here. With `IP_RAWOUTPUT` `ip_output` leaves
//! version, header length and `ip_id` alone and computes `ip_sum` itself:
//! the id is left zero for the driver's `ip_fillid()` (it needs the VNET's
//! `ip_random_id` knob) and the checksum zero for `ip_output`.

use core::net::IpAddr;

use super::IPPROTO_CARP;

/// Bytes of an IPv4 header without options.
pub const V4_HEADER_LEN: usize = 20;
/// Bytes of an IPv6 header.
pub const V6_HEADER_LEN: usize = 40;
/// `IP_DF` of `ip_off`.
const IP_DF: u16 = 0x4000;

/// Writes the header for `payload_len` bytes of CARP/VRRP payload from
/// `src` to `dst` (one family) into the front of `buf`; returns its
/// length, or `None` if the families differ, the buffer is too short or
/// the length does not fit the header's field.
pub fn write_header(
    buf: &mut [u8],
    src: IpAddr,
    dst: IpAddr,
    tos: u8,
    ttl: u8,
    payload_len: usize,
) -> Option<usize> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(payload_len.checked_add(V4_HEADER_LEN)?).ok()?;
            let h = buf.get_mut(..V4_HEADER_LEN)?;
            let [l0, l1] = total.to_be_bytes();
            let [o0, o1] = IP_DF.to_be_bytes();
            let [s0, s1, s2, s3] = s.octets();
            let [d0, d1, d2, d3] = d.octets();
            h.copy_from_slice(&[
                0x45,
                tos,
                l0,
                l1,
                0,
                0,
                o0,
                o1,
                ttl,
                IPPROTO_CARP,
                0,
                0,
                s0,
                s1,
                s2,
                s3,
                d0,
                d1,
                d2,
                d3,
            ]);
            Some(V4_HEADER_LEN)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let plen = u16::try_from(payload_len).ok()?;
            let h = buf.get_mut(..V6_HEADER_LEN)?;
            // Version 6, traffic class `tos`, flow label 0.
            let flow = (6u32 << 28) | (u32::from(tos) << 20);
            h.get_mut(..4)?.copy_from_slice(&flow.to_be_bytes());
            h.get_mut(4..6)?.copy_from_slice(&plen.to_be_bytes());
            *h.get_mut(6)? = IPPROTO_CARP;
            *h.get_mut(7)? = ttl;
            h.get_mut(8..24)?.copy_from_slice(&s.octets());
            h.get_mut(24..40)?.copy_from_slice(&d.octets());
            Some(V6_HEADER_LEN)
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn v6_header_fields() {
        let mut b = [0xffu8; 64];
        let s: Ipv6Addr = "fe80::1".parse().unwrap();
        let d: Ipv6Addr = "ff02::12".parse().unwrap();
        assert_eq!(
            write_header(&mut b, s.into(), d.into(), 0xe0, 255, 36),
            Some(40)
        );
        assert_eq!(&b[..8], &[0x6e, 0x00, 0, 0, 0, 36, 112, 255]);
        assert_eq!(&b[8..24], &s.octets());
        assert_eq!(&b[24..40], &d.octets());
        assert_eq!(b[40], 0xff, "nothing written past the header");
    }

    #[test]
    fn mixed_families_short_buffers_and_huge_payloads_are_refused() {
        let mut b = [0u8; 40];
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(write_header(&mut b, v4, v6, 0, 255, 36), None);
        assert_eq!(write_header(&mut b[..19], v4, v4, 0, 255, 36), None);
        assert_eq!(write_header(&mut b[..39], v6, v6, 0, 255, 36), None);
        assert_eq!(write_header(&mut b, v4, v4, 0, 255, 65_516), None);
        assert_eq!(write_header(&mut b, v4, v4, 0, 255, 65_515), Some(20));
        assert_eq!(write_header(&mut b, v6, v6, 0, 255, 65_536), None);
    }
}
