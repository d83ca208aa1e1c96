//! VRRPv3 advertisement (RFC 5798 §5.1), `struct vrrpv3_header`.
//!
//! ```text
//!  0       1       2       3       4       5       6       7
//! +-------+-------+-------+-------+-------+-------+-------+-------+
//! |ver|typ| vrid  |priorty| count |rsv|max_adv_int|   checksum    |
//! +-------+-------+-------+-------+-------+-------+-------+-------+
//! |       count IPv4 (4 bytes) or IPv6 (16 bytes) addresses       |
//! +---------------------------------------------------------------+
//! ```
//!
//! The header does not say which family its addresses are: that is the
//! family of the IP packet carrying it, so the caller passes it in.

use core::net::IpAddr;

use super::field::{self, Field};
use super::{checksum, Error, Result, IPPROTO_CARP};

mod layout {
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT_ADDR: usize = 3;
    pub const MAX_ADVER_INT: usize = 4;
    pub const CHECKSUM: usize = 6;
    pub const ADDRESSES: usize = 8;
}

/// Length of the fixed part; the address list follows.
pub const HEADER_LEN: usize = 8;
pub const VERSION: u8 = 3;
/// RFC 5798 defines only the advertisement.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// The interval is 12 bits of centiseconds; the top 4 bits are reserved.
pub const MAX_ADVER_INT_MASK: u16 = 0x0fff;

/// Bytes per address for the family of `addr`.
const fn addr_len(addr: &IpAddr) -> usize {
    match addr {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 16,
    }
}

/// The address list's bytes for `count` addresses of `alen` bytes,
/// clamped to what the buffer holds.
fn address_field(count: u8, alen: usize) -> Field {
    layout::ADDRESSES..layout::ADDRESSES + usize::from(count) * alen
}

/// A read/write wrapper around a VRRPv3 advertisement buffer.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length.
    ///
    /// Accessors never panic on a short buffer: missing bytes read as zero
    /// and writes to them are dropped.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer that holds at least the fixed header. Whether the
    /// address list fits depends on the family, which [`Repr::parse`]
    /// knows.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::VER_TYPE) >> 4
    }

    pub fn type_(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::VER_TYPE) & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::VRID)
    }

    pub fn priority(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::PRIORITY)
    }

    pub fn count_addr(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::COUNT_ADDR)
    }

    /// Centiseconds; the reserved bits are masked off.
    pub fn max_adver_int(&self) -> u16 {
        field::get_u16(self.buffer.as_ref(), layout::MAX_ADVER_INT) & MAX_ADVER_INT_MASK
    }

    /// The 4 reserved bits, which RFC 5798 says to ignore on receive.
    pub fn reserved(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::MAX_ADVER_INT) >> 4
    }

    pub fn checksum(&self) -> u16 {
        field::get_u16(self.buffer.as_ref(), layout::CHECKSUM)
    }

    /// The raw address list, `count_addr` × 4 (or × 16 with `v6`) bytes,
    /// shorter if the buffer ends first.
    pub fn addresses(&self, v6: bool) -> &[u8] {
        let alen = if v6 { 16 } else { 4 };
        field::get_slice(self.buffer.as_ref(), address_field(self.count_addr(), alen))
    }

    /// Checks the RFC 5798 checksum: the pseudo-header of the carrying IP
    /// packet plus the whole buffer (header, addresses, anything after).
    ///
    /// False if `src` and `dst` are of different families.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        let bytes = self.buffer.as_ref();
        let Ok(len) = u32::try_from(bytes.len()) else {
            return false;
        };
        let Some(pseudo) = checksum::pseudo_header(src, dst, IPPROTO_CARP, len) else {
            return false;
        };
        checksum::combine(&[pseudo, checksum::data(bytes)]) == !0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: u8, type_: u8) {
        field::set_u8(
            self.buffer.as_mut(),
            layout::VER_TYPE,
            (version << 4) | (type_ & 0x0f),
        );
    }

    pub fn set_vrid(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::VRID, value);
    }

    pub fn set_priority(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::PRIORITY, value);
    }

    pub fn set_count_addr(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::COUNT_ADDR, value);
    }

    /// Writes the low 12 bits and clears the reserved ones, as RFC 5798
    /// requires of a sender.
    pub fn set_max_adver_int(&mut self, centiseconds: u16) {
        field::set_u16(
            self.buffer.as_mut(),
            layout::MAX_ADVER_INT,
            centiseconds & MAX_ADVER_INT_MASK,
        );
    }

    pub fn set_checksum(&mut self, value: u16) {
        field::set_u16(self.buffer.as_mut(), layout::CHECKSUM, value);
    }

    pub fn addresses_mut(&mut self, v6: bool) -> &mut [u8] {
        let alen = if v6 { 16 } else { 4 };
        let range = address_field(self.count_addr(), alen);
        field::get_slice_mut(self.buffer.as_mut(), range)
    }

    /// Computes the checksum over the pseudo-header and the whole buffer.
    ///
    /// Fails with [`Error::Malformed`], leaving the packet untouched, if
    /// `src` and `dst` are of different families or the buffer is longer
    /// than any IP payload.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) -> Result<()> {
        let len = u32::try_from(self.buffer.as_ref().len()).map_err(|_| Error::Malformed)?;
        let pseudo =
            checksum::pseudo_header(src, dst, IPPROTO_CARP, len).ok_or(Error::Malformed)?;
        self.set_checksum(0);
        let sum = checksum::combine(&[pseudo, checksum::data(self.buffer.as_ref())]);
        self.set_checksum(!sum);
        Ok(())
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A VRRPv3 advertisement with its address list borrowed from the packet.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Repr<'a> {
    pub vrid: u8,
    pub priority: u8,
    /// Centiseconds, 12 bits.
    pub max_adver_int: u16,
    /// Raw addresses, 4 or 16 bytes each, of the IP source's family.
    pub addrs: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Validates like FreeBSD's `carp_input` plus `vrrp_input_c`: length,
    /// version, type, address list, then the pseudo-header checksum.
    ///
    /// `src`/`dst` are the carrying IP packet's addresses; the address
    /// family is taken from `src`. Mixed families give [`Error::Malformed`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        src: &IpAddr,
        dst: &IpAddr,
    ) -> Result<Repr<'a>> {
        let bytes: &'a [u8] = packet.buffer.as_ref();
        packet.check_len()?;
        if packet.version() != VERSION {
            return Err(Error::Version);
        }
        if packet.type_() != TYPE_ADVERTISEMENT {
            return Err(Error::Type);
        }
        let Some(addrs) = bytes.get(address_field(packet.count_addr(), addr_len(src))) else {
            return Err(Error::Truncated);
        };
        if core::mem::discriminant(src) != core::mem::discriminant(dst) {
            return Err(Error::Malformed);
        }
        if !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            vrid: packet.vrid(),
            priority: packet.priority(),
            max_adver_int: packet.max_adver_int(),
            addrs,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.addrs.len()
    }

    /// Writes a complete advertisement, checksum included.
    ///
    /// `count_addr` is the number of whole addresses in `addrs` (at most
    /// 255, which is all the field holds); give the buffer exactly
    /// [`buffer_len`](Repr::buffer_len) bytes, because the checksum covers
    /// all of it. Fails with [`Error::Truncated`] if the buffer is shorter
    /// and [`Error::Malformed`] if `src` and `dst` are of different
    /// families or `addrs` is not a whole number of addresses (≤ 255);
    /// the checksum is then not filled.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Packet<&mut T>,
        src: &IpAddr,
        dst: &IpAddr,
    ) -> Result<()> {
        if core::mem::discriminant(src) != core::mem::discriminant(dst) {
            return Err(Error::Malformed);
        }
        let alen = addr_len(src);
        let count = u8::try_from(self.addrs.len() / alen).map_err(|_| Error::Malformed)?;
        if !self.addrs.len().is_multiple_of(alen) {
            return Err(Error::Malformed);
        }
        if packet.buffer.as_ref().len() < self.buffer_len() {
            return Err(Error::Truncated);
        }
        packet.set_version_type(VERSION, TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        packet.set_count_addr(count);
        packet.set_max_adver_int(self.max_adver_int);
        let dst_addrs = packet.addresses_mut(alen == 16);
        if dst_addrs.len() == self.addrs.len() {
            dst_addrs.copy_from_slice(self.addrs);
        }
        packet.fill_checksum(src, dst)
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
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    /// FRR vrrpd, vrid 7, priority 200, 100 cs, VIP 192.0.2.100.
    const FRR: [u8; 12] = [
        0x31, 0x07, 0xc8, 0x01, 0x00, 0x64, 0xa1, 0x9d, 192, 0, 2, 100,
    ];

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    fn group4() -> IpAddr {
        IpAddr::V4(super::super::CARP_GROUP_V4)
    }

    fn group6() -> IpAddr {
        IpAddr::V6(super::super::CARP_GROUP_V6)
    }

    fn ll6() -> IpAddr {
        IpAddr::V6("fe80::200:ff:fe00:1".parse::<Ipv6Addr>().unwrap())
    }

    #[test]
    fn getters_read_captured_advert() {
        let p = Packet::new_checked(&FRR[..]).unwrap();
        assert_eq!(p.version(), 3);
        assert_eq!(p.type_(), 1);
        assert_eq!(p.vrid(), 7);
        assert_eq!(p.priority(), 200);
        assert_eq!(p.count_addr(), 1);
        assert_eq!(p.max_adver_int(), 100);
        assert_eq!(p.reserved(), 0);
        assert_eq!(p.checksum(), 0xa19d);
        assert_eq!(p.addresses(false), &[192, 0, 2, 100]);
        // As IPv6 the list would need 16 bytes: clamped, not a panic.
        assert_eq!(p.addresses(true), &[192, 0, 2, 100]);
        assert!(p.verify_checksum(&v4(1), &group4()));
        assert!(!p.verify_checksum(&v4(2), &group4()));
        assert!(!p.verify_checksum(&v4(1), &group6()));
    }

    #[test]
    fn setters_write_their_bytes() {
        let mut buf = [0u8; 12];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version_type(3, 1);
        p.set_vrid(9);
        p.set_priority(254);
        p.set_count_addr(1);
        p.set_max_adver_int(0xf123);
        p.set_checksum(0xbeef);
        p.addresses_mut(false).copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(buf, [0x31, 9, 254, 1, 0x01, 0x23, 0xbe, 0xef, 1, 2, 3, 4]);
    }

    #[test]
    fn reserved_bits_are_ignored_on_receive() {
        let mut buf = FRR;
        buf[4] |= 0xf0;
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.fill_checksum(&v4(1), &group4()).unwrap();
        assert_eq!(p.reserved(), 0xf);
        let repr = Repr::parse(&Packet::new_unchecked(&buf[..]), &v4(1), &group4()).unwrap();
        assert_eq!(repr.max_adver_int, 100);
    }

    #[test]
    fn captured_advert_round_trips() {
        let repr = Repr::parse(&Packet::new_unchecked(&FRR[..]), &v4(1), &group4()).unwrap();
        assert_eq!(
            (repr.vrid, repr.priority, repr.max_adver_int),
            (7, 200, 100)
        );
        assert_eq!(repr.addrs, &[192, 0, 2, 100]);
        let mut again = [0u8; 12];
        assert_eq!(repr.buffer_len(), again.len());
        repr.emit(
            &mut Packet::new_unchecked(&mut again[..]),
            &v4(1),
            &group4(),
        )
        .unwrap();
        assert_eq!(again, FRR);
    }

    #[test]
    fn ipv6_round_trip_uses_v6_pseudo_header() {
        let vips: Vec<u8> = ["2001:db8::100", "2001:db8::101"]
            .iter()
            .flat_map(|s| s.parse::<Ipv6Addr>().unwrap().octets())
            .collect();
        let repr = Repr {
            vrid: 1,
            priority: 100,
            max_adver_int: 4095,
            addrs: &vips,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        assert_eq!(buf.len(), 40);
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &ll6(), &group6())
            .unwrap();
        assert_eq!(buf[3], 2);
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&buf[..]), &ll6(), &group6()),
            Ok(repr)
        );
        // The same bytes checked with a v4 pseudo-header must fail.
        assert!(!Packet::new_unchecked(&buf[..]).verify_checksum(&v4(1), &group4()));
        // Independent sum: pseudo-header and payload laid out flat.
        let mut flat = Vec::new();
        if let (IpAddr::V6(s), IpAddr::V6(d)) = (ll6(), group6()) {
            flat.extend_from_slice(&s.octets());
            flat.extend_from_slice(&d.octets());
        }
        flat.extend_from_slice(&40u32.to_be_bytes());
        flat.extend_from_slice(&[0, 0, 0, 112]);
        flat.extend_from_slice(&buf);
        assert_eq!(checksum::data(&flat), 0xffff);
    }

    #[test]
    fn error_classes() {
        fn parse(b: &[u8]) -> Result<Repr<'_>> {
            Repr::parse(&Packet::new_unchecked(b), &v4(1), &group4())
        }
        assert_eq!(parse(&FRR[..7]), Err(Error::Truncated));
        let mut v2 = FRR;
        v2[0] = 0x21;
        assert_eq!(parse(&v2), Err(Error::Version));
        let mut t2 = FRR;
        t2[0] = 0x32;
        assert_eq!(parse(&t2), Err(Error::Type));
        assert_eq!(parse(&FRR[..11]), Err(Error::Truncated));
        let mut two = FRR;
        two[3] = 2;
        assert_eq!(parse(&two), Err(Error::Truncated));
        let mut bad = FRR;
        bad[11] ^= 0x80;
        assert_eq!(parse(&bad), Err(Error::Checksum));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&FRR[..]), &v4(1), &group6()),
            Err(Error::Malformed)
        );
        // With a v6 source, one address needs 16 bytes.
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&FRR[..]), &ll6(), &group6()),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn emit_refuses_what_it_cannot_encode() {
        let four = [0u8; 4];
        let repr = Repr {
            vrid: 1,
            priority: 1,
            max_adver_int: 1,
            addrs: &four,
        };
        let mut buf = [0u8; 12];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        assert_eq!(repr.emit(&mut p, &v4(1), &group6()), Err(Error::Malformed));
        assert_eq!(repr.emit(&mut p, &ll6(), &group6()), Err(Error::Malformed));
        let mut short = [0u8; 11];
        let mut p = Packet::new_unchecked(&mut short[..]);
        assert_eq!(repr.emit(&mut p, &v4(1), &group4()), Err(Error::Truncated));
        let many = [0u8; 4 * 256];
        let repr = Repr {
            addrs: &many,
            ..repr
        };
        let mut big = vec![0u8; repr.buffer_len()];
        let mut p = Packet::new_unchecked(&mut big[..]);
        assert_eq!(repr.emit(&mut p, &v4(1), &group4()), Err(Error::Malformed));
    }

    #[test]
    fn trailing_bytes_are_covered_by_checksum() {
        let mut long = [0u8; 14];
        long[..12].copy_from_slice(&FRR);
        // The length in the pseudo-header changes, so even zero padding fails.
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&long[..]), &v4(1), &group4()),
            Err(Error::Checksum)
        );
    }

    fn any_ip_pair() -> impl Strategy<Value = (IpAddr, IpAddr)> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<[u8; 4]>())
                .prop_map(|(s, d)| (IpAddr::from(s), IpAddr::from(d))),
            (any::<[u8; 16]>(), any::<[u8; 16]>())
                .prop_map(|(s, d)| (IpAddr::from(s), IpAddr::from(d))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..96),
            (src, dst) in any_ip_pair(),
            v6 in any::<bool>(),
        ) {
            let p = Packet::new_unchecked(&bytes[..]);
            let _ = (p.version(), p.type_(), p.vrid(), p.priority(), p.count_addr());
            let _ = (p.max_adver_int(), p.reserved(), p.checksum(), p.verify_checksum(&src, &dst));
            prop_assert!(p.addresses(v6).len() <= bytes.len().saturating_sub(HEADER_LEN));
            prop_assert_eq!(Packet::new_checked(&bytes[..]).is_ok(), bytes.len() >= HEADER_LEN);
            if let Ok(repr) = Repr::parse(&p, &src, &dst) {
                prop_assert_eq!(bytes[0], 0x31);
                prop_assert_eq!(repr.addrs.len(), usize::from(bytes[3]) * addr_len(&src));
            }
            let mut copy = bytes.clone();
            let _ = Packet::new_unchecked(&mut copy[..]).fill_checksum(&src, &dst);
        }

        #[test]
        fn emit_parse_round_trip(
            vrid in any::<u8>(), priority in any::<u8>(), max_adver_int in 0u16..=0x0fff,
            count in 0usize..20, seed in any::<u8>(), (src, dst) in any_ip_pair(),
        ) {
            let alen = addr_len(&src);
            let addrs: Vec<u8> = (0..count * alen).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
            let repr = Repr { vrid, priority, max_adver_int, addrs: &addrs };
            let mut buf = vec![0xa5u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &src, &dst).unwrap();
            prop_assert_eq!(Repr::parse(&Packet::new_unchecked(&buf[..]), &src, &dst), Ok(repr));
        }
    }
}
