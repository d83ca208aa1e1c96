//! VRRPv2 advertisement (RFC 3768 §5.1), IPv4 only.
//!
//! ```text
//!  0       1       2       3       4       5       6       7
//! +-------+-------+-------+-------+-------+-------+-------+-------+
//! |ver|typ| vrid  |priorty| count |auth ty|adv int|   checksum    |
//! +-------+-------+-------+-------+-------+-------+-------+-------+
//! |                  count IPv4 addresses (4 bytes each)          |
//! +---------------------------------------------------------------+
//! |                  authentication data (8 bytes)                |
//! +---------------------------------------------------------------+
//! ```
//!
//! FreeBSD never speaks it, but it shares protocol 112 and version 2 with
//! CARP, so a node on a segment with keepalived sees it and has to tell it
//! apart (see [`super::classify`]).

use super::field::{self, Field};
use super::{checksum, Error, Result};

mod layout {
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT_ADDR: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT: usize = 5;
    pub const CHECKSUM: usize = 6;
    pub const ADDRESSES: usize = 8;
}

/// Length of the fixed part; addresses and authentication data follow.
pub const HEADER_LEN: usize = 8;
/// The authentication data is always present, whatever the auth type.
pub const AUTH_DATA_LEN: usize = 8;
pub const VERSION: u8 = 2;
pub const TYPE_ADVERTISEMENT: u8 = 1;

fn address_field(count: u8) -> Field {
    layout::ADDRESSES..layout::ADDRESSES + usize::from(count) * 4
}

fn auth_field(count: u8) -> Field {
    let start = address_field(count).end;
    start..start + AUTH_DATA_LEN
}

/// The length RFC 3768 gives a message with `count` addresses.
pub fn message_len(count: u8) -> usize {
    auth_field(count).end
}

/// A read/write wrapper around a VRRPv2 advertisement buffer.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length; accessors of missing
    /// bytes read zero instead of panicking.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensures the fixed header, the addresses it announces and the
    /// authentication data are all there.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < message_len(self.count_addr()) {
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

    pub fn auth_type(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::AUTH_TYPE)
    }

    /// Seconds (VRRPv3 switched to centiseconds).
    pub fn adver_int(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::ADVER_INT)
    }

    pub fn checksum(&self) -> u16 {
        field::get_u16(self.buffer.as_ref(), layout::CHECKSUM)
    }

    /// `count_addr` × 4 bytes, shorter if the buffer ends first.
    pub fn addresses(&self) -> &[u8] {
        field::get_slice(self.buffer.as_ref(), address_field(self.count_addr()))
    }

    /// The 8 bytes after the addresses, shorter if the buffer ends first.
    pub fn auth_data(&self) -> &[u8] {
        field::get_slice(self.buffer.as_ref(), auth_field(self.count_addr()))
    }

    /// The plain Internet checksum over the whole buffer: unlike VRRPv3,
    /// RFC 3768 has no pseudo-header, just like CARP.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == !0
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

    pub fn set_auth_type(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::AUTH_TYPE, value);
    }

    pub fn set_adver_int(&mut self, seconds: u8) {
        field::set_u8(self.buffer.as_mut(), layout::ADVER_INT, seconds);
    }

    pub fn set_checksum(&mut self, value: u16) {
        field::set_u16(self.buffer.as_mut(), layout::CHECKSUM, value);
    }

    pub fn addresses_mut(&mut self) -> &mut [u8] {
        let range = address_field(self.count_addr());
        field::get_slice_mut(self.buffer.as_mut(), range)
    }

    pub fn auth_data_mut(&mut self) -> &mut [u8] {
        let range = auth_field(self.count_addr());
        field::get_slice_mut(self.buffer.as_mut(), range)
    }

    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.buffer.as_ref());
        self.set_checksum(!sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A VRRPv2 advertisement with its address list borrowed from the packet.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Repr<'a> {
    pub vrid: u8,
    pub priority: u8,
    /// Seconds.
    pub adver_int: u8,
    /// 0 none, 1 simple text password (RFC 2338; "reserved" in RFC 3768).
    pub auth_type: u8,
    /// Raw IPv4 addresses, 4 bytes each.
    pub addrs: &'a [u8],
    pub auth_data: [u8; AUTH_DATA_LEN],
}

impl<'a> Repr<'a> {
    /// Length, version, type, address list plus authentication data, then
    /// the checksum over the whole buffer.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        let bytes: &'a [u8] = packet.buffer.as_ref();
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if packet.version() != VERSION {
            return Err(Error::Version);
        }
        if packet.type_() != TYPE_ADVERTISEMENT {
            return Err(Error::Type);
        }
        let count = packet.count_addr();
        let (Some(addrs), Some(auth)) = (
            bytes.get(address_field(count)),
            bytes.get(auth_field(count)),
        ) else {
            return Err(Error::Truncated);
        };
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let mut auth_data = [0u8; AUTH_DATA_LEN];
        auth_data.copy_from_slice(auth);
        Ok(Repr {
            vrid: packet.vrid(),
            priority: packet.priority(),
            adver_int: packet.adver_int(),
            auth_type: packet.auth_type(),
            addrs,
            auth_data,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.addrs.len() + AUTH_DATA_LEN
    }

    /// Writes a complete advertisement, checksum included, over exactly
    /// [`buffer_len`](Repr::buffer_len) bytes.
    ///
    /// Fails with [`Error::Malformed`] if `addrs` is not a whole number of
    /// IPv4 addresses (at most 255), [`Error::Truncated`] if the buffer is
    /// too short; nothing is written then.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Packet<&mut T>,
    ) -> Result<()> {
        let count = u8::try_from(self.addrs.len() / 4).map_err(|_| Error::Malformed)?;
        if !self.addrs.len().is_multiple_of(4) {
            return Err(Error::Malformed);
        }
        if packet.buffer.as_ref().len() < self.buffer_len() {
            return Err(Error::Truncated);
        }
        packet.set_version_type(VERSION, TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        packet.set_count_addr(count);
        packet.set_auth_type(self.auth_type);
        packet.set_adver_int(self.adver_int);
        let addrs = packet.addresses_mut();
        if addrs.len() == self.addrs.len() {
            addrs.copy_from_slice(self.addrs);
        }
        let auth = packet.auth_data_mut();
        if auth.len() == AUTH_DATA_LEN {
            auth.copy_from_slice(&self.auth_data);
        }
        packet.fill_checksum();
        Ok(())
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

    /// keepalived, vrid 7, priority 200, 1 s, VIP 192.0.2.100, no auth.
    const KA: [u8; 20] = [
        0x21, 0x07, 0xc8, 0x01, 0x00, 0x01, 0x54, 0x91, 192, 0, 2, 100, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn getters_read_captured_advert() {
        let p = Packet::new_checked(&KA[..]).unwrap();
        assert_eq!(
            (p.version(), p.type_(), p.vrid(), p.priority()),
            (2, 1, 7, 200)
        );
        assert_eq!((p.count_addr(), p.auth_type(), p.adver_int()), (1, 0, 1));
        assert_eq!(p.checksum(), 0x5491);
        assert_eq!(p.addresses(), &[192, 0, 2, 100]);
        assert_eq!(p.auth_data(), &[0; 8]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn setters_write_their_bytes() {
        let mut buf = [0u8; 20];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version_type(2, 1);
        p.set_vrid(3);
        p.set_priority(4);
        p.set_count_addr(1);
        p.set_auth_type(1);
        p.set_adver_int(6);
        p.set_checksum(0x0708);
        p.addresses_mut().copy_from_slice(&[9, 10, 11, 12]);
        p.auth_data_mut().copy_from_slice(b"password");
        assert_eq!(&buf[..12], &[0x21, 3, 4, 1, 1, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(&buf[12..], b"password");
    }

    #[test]
    fn captured_advert_round_trips() {
        let repr = Repr::parse(&Packet::new_unchecked(&KA[..])).unwrap();
        assert_eq!(
            (repr.vrid, repr.priority, repr.adver_int, repr.auth_type),
            (7, 200, 1, 0)
        );
        let mut again = [0xffu8; 20];
        assert_eq!(repr.buffer_len(), 20);
        repr.emit(&mut Packet::new_unchecked(&mut again[..]))
            .unwrap();
        assert_eq!(again, KA);
    }

    #[test]
    fn error_classes() {
        fn parse(b: &[u8]) -> Result<Repr<'_>> {
            Repr::parse(&Packet::new_unchecked(b))
        }
        assert_eq!(parse(&KA[..7]), Err(Error::Truncated));
        let mut v3 = KA;
        v3[0] = 0x31;
        assert_eq!(parse(&v3), Err(Error::Version));
        let mut t = KA;
        t[0] = 0x20;
        assert_eq!(parse(&t), Err(Error::Type));
        assert_eq!(parse(&KA[..19]), Err(Error::Truncated));
        assert_eq!(Packet::new_checked(&KA[..19]).err(), Some(Error::Truncated));
        let mut bad = KA;
        bad[19] = 1;
        assert_eq!(parse(&bad), Err(Error::Checksum));
        let odd = [0u8; 5];
        let repr = Repr {
            vrid: 1,
            priority: 1,
            adver_int: 1,
            auth_type: 0,
            addrs: &odd,
            auth_data: [0; 8],
        };
        let mut buf = [0u8; 21];
        assert_eq!(
            repr.emit(&mut Packet::new_unchecked(&mut buf[..])),
            Err(Error::Malformed)
        );
        let repr = Repr {
            addrs: &odd[..4],
            ..repr
        };
        assert_eq!(
            repr.emit(&mut Packet::new_unchecked(&mut buf[..19])),
            Err(Error::Truncated)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let p = Packet::new_unchecked(&bytes[..]);
            let _ = (p.version(), p.type_(), p.vrid(), p.priority(), p.count_addr(), p.auth_type());
            let _ = (p.adver_int(), p.checksum(), p.verify_checksum());
            prop_assert!(p.addresses().len() + p.auth_data().len() <= bytes.len().saturating_sub(HEADER_LEN));
            let _ = Packet::new_checked(&bytes[..]);
            if let Ok(repr) = Repr::parse(&p) {
                prop_assert_eq!(bytes[0], 0x21);
                prop_assert_eq!(repr.addrs.len(), usize::from(bytes[3]) * 4);
            }
        }

        #[test]
        fn emit_parse_round_trip(
            vrid in any::<u8>(), priority in any::<u8>(), adver_int in any::<u8>(),
            auth_type in any::<u8>(), auth_data in any::<[u8; 8]>(),
            addrs in proptest::collection::vec(any::<[u8; 4]>(), 0..20),
        ) {
            let addrs: Vec<u8> = addrs.concat();
            let repr = Repr { vrid, priority, adver_int, auth_type, addrs: &addrs, auth_data };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
            prop_assert_eq!(buf.len(), message_len(buf[3]));
            prop_assert_eq!(Repr::parse(&Packet::new_unchecked(&buf[..])), Ok(repr));
        }
    }
}
