//! Packet formats carried in IP protocol 112, and the ARP request view
//! (`arp`) that FreeBSD 9's arpbalance filters on.
//!
//! Three dialects share the protocol number: FreeBSD's CARP (version 2),
//! VRRPv3 (FreeBSD 15's `carpver 3`, keepalived, FRR) and VRRPv2
//! (keepalived). Each module follows the smoltcp `wire` pattern: a
//! zero-copy `Packet` view over a byte buffer and a `Repr` holding the
//! fields that vary. Unlike smoltcp, no accessor panics on a short buffer,
//! because this code runs in the kernel on bytes straight off the wire.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

pub mod arp;
pub mod carp;
pub mod checksum;
mod field;
pub mod ip;
pub mod vrrp;
pub mod vrrp2;

pub use carp::{Packet as CarpPacket, Repr as CarpRepr, HEADER_LEN as CARP_HEADER_LEN};
pub use vrrp::{Packet as VrrpPacket, Repr as VrrpRepr, HEADER_LEN as VRRP_HEADER_LEN};
pub use vrrp2::{Packet as Vrrp2Packet, Repr as Vrrp2Repr};

/// Why a packet was refused. The variants map onto FreeBSD's `carpstats`
/// counters: `Truncated` is `badlen`, `Version` is `badver`, `Checksum` is
/// `badsum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the header, or than the address list it announces.
    Truncated,
    /// The version nibble is not the one this parser handles.
    Version,
    /// The type nibble is not "advertisement" (VRRP only; CARP ignores it).
    Type,
    /// The Internet checksum does not verify.
    Checksum,
    /// Inconsistent input from the caller, such as mixed address families.
    Malformed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "packet too short",
            Error::Version => "unsupported version",
            Error::Type => "not an advertisement",
            Error::Checksum => "bad checksum",
            Error::Malformed => "malformed packet or arguments",
        })
    }
}

impl core::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;

/// `IPPROTO_CARP`, which IANA assigned to VRRP.
pub const IPPROTO_CARP: u8 = 112;
/// `INADDR_CARP_GROUP`, also VRRP's IPv4 group.
pub const CARP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// `ff02::12`, CARP's and VRRP's IPv6 group.
pub const CARP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit of every advert; receivers check it to reject
/// packets that crossed a router.
pub const CARP_TTL: u8 = 255;

/// The version nibble, the first thing FreeBSD dispatches on.
pub fn version_of(payload: &[u8]) -> Option<u8> {
    payload.first().map(|b| b >> 4)
}

/// `00:00:5e:00:01:<vhid>`: FreeBSD uses the IPv4 VRRP prefix for both
/// families and in VRRP mode too, never RFC 5798's `00:00:5e:00:02:xx`.
pub const fn virtual_mac(vhid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, 0x01, vhid]
}

/// Which dialect a protocol-112 payload speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Carp,
    Vrrp2,
    Vrrp3,
}

/// Tells the dialects apart.
///
/// Version 3 is VRRPv3. Version 2 is CARP unless the payload is exactly
/// the length RFC 3768 gives its address count (8 + 4 × byte 3 + 8 bytes
/// of authentication data) *and* its plain checksum verifies: then it is
/// VRRPv2. A real CARP advert cannot look like that, since it is 36 bytes
/// with 7 in byte 3 where VRRPv2 with 7 addresses is 44. Everything else of
/// version 2, damaged CARP included, is CARP, as it is to FreeBSD, so that
/// [`CarpRepr::parse`] reports the same error FreeBSD would count.
///
/// `None` for payloads shorter than 8 bytes (every dialect's fixed header
/// is 8 bytes) and for other versions.
pub fn classify(payload: &[u8]) -> Option<Kind> {
    if payload.len() < VRRP_HEADER_LEN {
        return None;
    }
    match version_of(payload)? {
        3 => Some(Kind::Vrrp3),
        2 => {
            let v2 = Vrrp2Packet::new_unchecked(payload);
            if payload.len() == vrrp2::message_len(v2.count_addr()) && v2.verify_checksum() {
                Some(Kind::Vrrp2)
            } else {
                Some(Kind::Carp)
            }
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn constants() {
        assert_eq!(CARP_GROUP_V4.octets(), [224, 0, 0, 18]);
        assert_eq!(CARP_GROUP_V6, "ff02::12".parse::<Ipv6Addr>().unwrap());
        assert_eq!(virtual_mac(7), [0, 0, 0x5e, 0, 1, 7]);
        assert_eq!(virtual_mac(255)[5], 255);
    }

    #[test]
    fn version_nibble() {
        assert_eq!(version_of(&[]), None);
        assert_eq!(version_of(&[0x21]), Some(2));
        assert_eq!(version_of(&[0x31, 0]), Some(3));
    }

    #[test]
    fn error_display_differs() {
        let all = [
            Error::Truncated,
            Error::Version,
            Error::Type,
            Error::Checksum,
            Error::Malformed,
        ];
        let texts: Vec<String> = all.iter().map(|e| e.to_string()).collect();
        for (i, a) in texts.iter().enumerate() {
            assert!(!a.is_empty());
            assert!(texts[i + 1..].iter().all(|b| b != a));
        }
    }

    fn carp_advert(authlen: u8) -> [u8; 36] {
        let repr = CarpRepr {
            vhid: 7,
            advskew: 0,
            advbase: 1,
            demote: 0,
            counter: 9,
            digest: [0x33; 20],
        };
        let mut buf = [0u8; 36];
        let mut p = CarpPacket::new_unchecked(&mut buf[..]);
        repr.emit(&mut p);
        p.set_authlen(authlen);
        p.fill_checksum();
        buf
    }

    fn vrrp2_advert(count: u8) -> Vec<u8> {
        let addrs = vec![0xc0u8; usize::from(count) * 4];
        let repr = Vrrp2Repr {
            vrid: 7,
            priority: 100,
            adver_int: 1,
            auth_type: 0,
            addrs: &addrs,
            auth_data: [0; 8],
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Vrrp2Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        buf
    }

    #[test]
    fn classify_dialects() {
        assert_eq!(classify(&carp_advert(7)), Some(Kind::Carp));
        // The one collision: 36 bytes is also VRRPv2 with 5 addresses.
        // FreeBSD always sends authlen 7, so only a foreign CARP could hit it.
        assert_eq!(classify(&carp_advert(5)), Some(Kind::Vrrp2));
        for count in [0, 1, 5, 7, 255] {
            assert_eq!(
                classify(&vrrp2_advert(count)),
                Some(Kind::Vrrp2),
                "count {count}"
            );
        }
        let v3 = [0x31, 7, 100, 0, 0, 100, 0, 0];
        assert_eq!(classify(&v3), Some(Kind::Vrrp3));
        assert_eq!(classify(&[0x21, 7, 0, 7, 0, 1, 0]), None);
        assert_eq!(classify(&[0x11; 36]), None);
        assert_eq!(classify(&[]), None);
    }

    #[test]
    fn damaged_version_2_is_carp() {
        // A CARP advert with a bad checksum still goes to CARP, which
        // then counts it as badsum.
        let mut carp = carp_advert(7);
        carp[30] ^= 1;
        assert_eq!(classify(&carp), Some(Kind::Carp));
        // So does a VRRPv2 advert whose checksum fails...
        let mut v2 = vrrp2_advert(1);
        v2[19] ^= 1;
        assert_eq!(classify(&v2), Some(Kind::Carp));
        // ...or that lacks its authentication data.
        let v2 = vrrp2_advert(1);
        assert_eq!(classify(&v2[..12]), Some(Kind::Carp));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn classify_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let kind = classify(&bytes);
            match kind {
                None => prop_assert!(bytes.len() < 8 || !matches!(bytes[0] >> 4, 2 | 3)),
                Some(Kind::Vrrp3) => prop_assert_eq!(bytes[0] >> 4, 3),
                Some(Kind::Vrrp2) => prop_assert_eq!(bytes.len(), 16 + 4 * usize::from(bytes[3])),
                Some(Kind::Carp) => prop_assert_eq!(bytes[0] >> 4, 2),
            }
        }

        #[test]
        fn carp_adverts_are_never_vrrp2(
            vhid in any::<u8>(), advskew in any::<u8>(), advbase in any::<u8>(),
            counter in any::<u64>(), digest in any::<[u8; 20]>(),
        ) {
            let repr = CarpRepr { vhid, advskew, advbase, demote: 0, counter, digest };
            let mut buf = [0u8; 36];
            repr.emit(&mut CarpPacket::new_unchecked(&mut buf[..]));
            prop_assert_eq!(classify(&buf), Some(Kind::Carp));
        }
    }
}
