//! CARP version 2 advertisement, `struct carp_header` (`netinet/ip_carp.h`).
//!
//! ```text
//!  0       1       2       3       4       5       6       7
//! +-------+-------+-------+-------+-------+-------+-------+-------+
//! |ver|typ| vhid  |advskew|authlen| pad1  |advbase|   checksum    |
//! +-------+-------+-------+-------+-------+-------+-------+-------+
//! |               counter (64 bits, big-endian)                   |
//! +---------------------------------------------------------------+
//! |               SHA-1 HMAC (20 bytes)                           |
//! +---------------------------------------------------------------+
//! ```

use super::checksum;
use super::field::{self, Field};
use super::{Error, Result};

mod layout {
    use super::Field;

    pub const VER_TYPE: usize = 0;
    pub const VHID: usize = 1;
    pub const ADVSKEW: usize = 2;
    pub const AUTHLEN: usize = 3;
    pub const DEMOTE: usize = 4;
    pub const ADVBASE: usize = 5;
    pub const CHECKSUM: usize = 6;
    pub const COUNTER: usize = 8;
    pub const DIGEST: Field = 16..36;
}

/// Length of a CARP advertisement; nothing follows the header.
pub const HEADER_LEN: usize = 36;
/// Length of the HMAC-SHA1 digest carried in the header.
pub const DIGEST_LEN: usize = 20;
/// The only version this module speaks.
pub const VERSION: u8 = 2;
/// `CARP_ADVERTISEMENT`, the only type ever sent.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Counter plus digest, in 32-bit words, as FreeBSD fills it.
pub const AUTHLEN: u8 = 7;

/// FreeBSD looks at the version before it knows the packet is a CARP
/// header, and needs 8 bytes for that (the VRRPv3 header is that long).
const MIN_PROBE_LEN: usize = 8;

/// A read/write wrapper around a CARP advertisement buffer.
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

    /// Wraps a buffer that holds at least a whole header.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensures every field accessor reads real bytes.
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

    pub fn vhid(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::VHID)
    }

    pub fn advskew(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::ADVSKEW)
    }

    pub fn authlen(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::AUTHLEN)
    }

    /// `carp_pad1` in FreeBSD, which sends 0 and ignores it; OpenBSD
    /// carries its demotion counter here.
    pub fn demote(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::DEMOTE)
    }

    pub fn advbase(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::ADVBASE)
    }

    pub fn checksum(&self) -> u16 {
        field::get_u16(self.buffer.as_ref(), layout::CHECKSUM)
    }

    /// FreeBSD keeps it as two 32-bit words, high word first, which is the
    /// same as one big-endian 64-bit value.
    pub fn counter(&self) -> u64 {
        field::get_u64(self.buffer.as_ref(), layout::COUNTER)
    }

    /// The HMAC; shorter than [`DIGEST_LEN`] only if the buffer is truncated.
    pub fn digest(&self) -> &[u8] {
        field::get_slice(self.buffer.as_ref(), layout::DIGEST)
    }

    /// Checks the Internet checksum over the whole buffer.
    ///
    /// FreeBSD main sums the whole IP payload, not just 36 bytes, so
    /// trailing bytes must spoil the checksum here as well.
    pub fn verify_checksum(&self) -> bool {
        header_sum(self.buffer.as_ref()) == !0
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

    pub fn set_vhid(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::VHID, value);
    }

    pub fn set_advskew(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::ADVSKEW, value);
    }

    pub fn set_authlen(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::AUTHLEN, value);
    }

    pub fn set_demote(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::DEMOTE, value);
    }

    pub fn set_advbase(&mut self, value: u8) {
        field::set_u8(self.buffer.as_mut(), layout::ADVBASE, value);
    }

    pub fn set_checksum(&mut self, value: u16) {
        field::set_u16(self.buffer.as_mut(), layout::CHECKSUM, value);
    }

    pub fn set_counter(&mut self, value: u64) {
        field::set_u64(self.buffer.as_mut(), layout::COUNTER, value);
    }

    pub fn digest_mut(&mut self) -> &mut [u8] {
        field::get_slice_mut(self.buffer.as_mut(), layout::DIGEST)
    }

    /// Computes the checksum over the whole buffer, as [`verify_checksum`]
    /// checks it, so give it exactly the bytes that go on the wire.
    ///
    /// [`verify_checksum`]: Packet::verify_checksum
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = header_sum(self.buffer.as_ref());
        self.set_checksum(!sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The checksum sum of an advert: unrolled for the usual exact header,
/// the general loop when anything follows it.
#[inline(always)]
fn header_sum(bytes: &[u8]) -> u16 {
    match <&[u8; HEADER_LEN]>::try_from(bytes) {
        Ok(header) => checksum::data_array(header),
        Err(_) => checksum::data(bytes),
    }
}

/// A CARP advertisement with the constant fields taken out.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Repr {
    pub vhid: u8,
    pub advskew: u8,
    pub advbase: u8,
    /// Byte 4; FreeBSD sends 0.
    pub demote: u8,
    pub counter: u64,
    pub digest: [u8; DIGEST_LEN],
}

impl Repr {
    /// Validates in the order `carp_input` does, so a driver can bump the
    /// same statistic FreeBSD would (`badlen`, `badver`, `badsum`).
    ///
    /// The type nibble and `authlen` are not looked at, as in FreeBSD.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        let len = packet.buffer.as_ref().len();
        if len < MIN_PROBE_LEN {
            return Err(Error::Truncated);
        }
        if packet.version() != VERSION {
            return Err(Error::Version);
        }
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let mut digest = [0u8; DIGEST_LEN];
        let Some(wire) = packet.buffer.as_ref().get(layout::DIGEST) else {
            return Err(Error::Truncated);
        };
        digest.copy_from_slice(wire);
        Ok(Repr {
            vhid: packet.vhid(),
            advskew: packet.advskew(),
            advbase: packet.advbase(),
            demote: packet.demote(),
            counter: packet.counter(),
            digest,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a complete advertisement, checksum included.
    ///
    /// The buffer should be exactly [`buffer_len`](Repr::buffer_len) long:
    /// the checksum covers all of it. A shorter one gets what fits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        packet.set_version_type(VERSION, TYPE_ADVERTISEMENT);
        packet.set_vhid(self.vhid);
        packet.set_advskew(self.advskew);
        packet.set_authlen(AUTHLEN);
        packet.set_demote(self.demote);
        packet.set_advbase(self.advbase);
        packet.set_counter(self.counter);
        let digest = packet.digest_mut();
        let n = digest.len();
        if let Some(src) = self.digest.get(..n) {
            digest.copy_from_slice(src);
        }
        packet.fill_checksum();
    }
}

/// Writes the header of an advertisement into a header-sized buffer, all
/// but the digest and the checksum, and hands back the digest field: the
/// output path signs straight into the packet instead of building the
/// digest apart and copying it ([`Repr::emit`] does it all from a `Repr`),
/// then calls [`fill_header_checksum`]. `None` never happens: the digest
/// is the header's last 20 bytes.
#[inline(always)]
pub fn emit_header(
    out: &mut [u8; HEADER_LEN],
    vhid: u8,
    advskew: u8,
    advbase: u8,
    counter: u64,
) -> Option<&mut [u8; DIGEST_LEN]> {
    let [c0, c1, c2, c3, c4, c5, c6, c7] = counter.to_be_bytes();
    let head = [
        (VERSION << 4) | TYPE_ADVERTISEMENT,
        vhid,
        advskew,
        AUTHLEN,
        0,
        advbase,
        0,
        0,
        c0,
        c1,
        c2,
        c3,
        c4,
        c5,
        c6,
        c7,
    ];
    if let Some(h) = out.first_chunk_mut::<{ layout::DIGEST.start }>() {
        *h = head;
    }
    // The digest is the header's last 20 bytes: always there.
    out.last_chunk_mut::<DIGEST_LEN>()
}

/// Fills the checksum of a header whose other fields are written and whose
/// checksum field is zero (as [`emit_header`] leaves it), summing the
/// fixed-size header with unrolled additions.
#[inline(always)]
pub fn fill_header_checksum(out: &mut [u8; HEADER_LEN]) {
    let sum = checksum::data_array(out);
    field::set_u16(out, layout::CHECKSUM, !sum);
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

    /// A ucarp advert from the mixed-v2 capture (vhid 7, advbase 1).
    const UCARP: [u8; 36] = [
        0x21, 0x07, 0x00, 0x07, 0x00, 0x01, 0x7f, 0xca, 0x15, 0x03, 0xf4, 0xfa, 0xc6, 0x2e, 0x34,
        0x59, 0xd1, 0xd5, 0x23, 0x65, 0x9c, 0x3d, 0x06, 0x44, 0xd9, 0x4e, 0xfe, 0xa6, 0x76, 0x74,
        0xad, 0xbb, 0xe3, 0x1b, 0xe3, 0xa1,
    ];

    fn sample() -> Repr {
        Repr {
            vhid: 42,
            advskew: 100,
            advbase: 3,
            demote: 0,
            counter: 0x0102_0304_0506_0708,
            digest: core::array::from_fn(|i| i as u8 + 0xa0),
        }
    }

    #[test]
    fn getters_read_captured_advert() {
        let p = Packet::new_checked(&UCARP[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert_eq!(p.type_(), 1);
        assert_eq!(p.vhid(), 7);
        assert_eq!(p.advskew(), 0);
        assert_eq!(p.authlen(), 7);
        assert_eq!(p.demote(), 0);
        assert_eq!(p.advbase(), 1);
        assert_eq!(p.checksum(), 0x7fca);
        assert_eq!(p.counter(), 0x1503_f4fa_c62e_3459);
        assert_eq!(p.digest(), &UCARP[16..]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn setters_write_their_bytes() {
        let mut buf = [0u8; HEADER_LEN];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version_type(2, 1);
        p.set_vhid(0x11);
        p.set_advskew(0x22);
        p.set_authlen(0x33);
        p.set_demote(0x44);
        p.set_advbase(0x55);
        p.set_checksum(0x6677);
        p.set_counter(0x8899_aabb_ccdd_eeff);
        p.digest_mut().fill(0x5a);
        assert_eq!(
            &buf[..16],
            &[
                0x21, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                0xee, 0xff
            ]
        );
        assert!(buf[16..].iter().all(|&b| b == 0x5a));
    }

    #[test]
    fn fill_checksum_reproduces_capture() {
        let mut buf = UCARP;
        buf[6] = 0;
        buf[7] = 0;
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.fill_checksum();
        assert_eq!(p.checksum(), 0x7fca);
    }

    #[test]
    fn emit_then_parse() {
        let repr = sample();
        let mut buf = [0xffu8; HEADER_LEN];
        assert_eq!(repr.buffer_len(), buf.len());
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert_eq!(p.type_(), 1);
        assert_eq!(p.authlen(), 7);
        assert_eq!(Repr::parse(&p), Ok(repr));
    }

    #[test]
    fn emit_header_then_checksum_matches_emit() {
        let repr = sample();
        let mut want = [0u8; HEADER_LEN];
        repr.emit(&mut Packet::new_unchecked(&mut want[..]));
        let mut got = [0xffu8; HEADER_LEN];
        let digest = emit_header(
            &mut got,
            repr.vhid,
            repr.advskew,
            repr.advbase,
            repr.counter,
        );
        *digest.unwrap() = repr.digest;
        fill_header_checksum(&mut got);
        assert_eq!(got, want);
        assert!(Packet::new_checked(&got[..]).unwrap().verify_checksum());
    }

    #[test]
    fn parse_captured_advert() {
        let repr = Repr::parse(&Packet::new_unchecked(&UCARP[..])).unwrap();
        assert_eq!(
            (repr.vhid, repr.advbase, repr.advskew, repr.demote),
            (7, 1, 0, 0)
        );
        let mut again = [0u8; HEADER_LEN];
        repr.emit(&mut Packet::new_unchecked(&mut again[..]));
        assert_eq!(again, UCARP);
    }

    #[test]
    fn short_buffer_is_truncated_before_version() {
        // 7 bytes of a VRRPv3 header: FreeBSD counts badlen, not badver.
        let buf = [0x31u8; 7];
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&buf[..])),
            Err(Error::Truncated)
        );
        assert_eq!(Packet::new_checked(&buf[..]).err(), Some(Error::Truncated));
    }

    #[test]
    fn wrong_version_beats_short_length() {
        let buf = [0x31u8, 7, 100, 1, 0, 100, 0, 0];
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&buf[..])),
            Err(Error::Version)
        );
        let mut v1 = UCARP;
        v1[0] = 0x11;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&v1[..])),
            Err(Error::Version)
        );
    }

    #[test]
    fn version_2_shorter_than_header_is_truncated() {
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&UCARP[..35])),
            Err(Error::Truncated)
        );
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&UCARP[..8])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn bad_checksum_is_rejected() {
        let mut buf = UCARP;
        buf[20] ^= 1;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&buf[..])),
            Err(Error::Checksum)
        );
    }

    #[test]
    fn trailing_bytes_are_summed() {
        let mut long = [0u8; 38];
        long[..36].copy_from_slice(&UCARP);
        long[36] = 1;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&long[..])),
            Err(Error::Checksum)
        );
        // Zero padding does not change a one's-complement sum.
        long[36] = 0;
        assert!(Repr::parse(&Packet::new_unchecked(&long[..])).is_ok());
    }

    #[test]
    fn type_and_authlen_are_not_checked() {
        let mut buf = UCARP;
        buf[0] = 0x2f;
        buf[3] = 0;
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.fill_checksum();
        let repr = Repr::parse(&Packet::new_unchecked(&buf[..])).unwrap();
        assert_eq!(repr.vhid, 7);
    }

    #[test]
    fn short_buffer_accessors_do_not_panic() {
        let mut buf = [0x21u8, 9, 3];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        assert_eq!(p.vhid(), 9);
        assert_eq!(p.advbase(), 0);
        assert_eq!(p.counter(), 0);
        assert!(p.digest().is_empty());
        p.set_counter(5);
        p.set_advbase(5);
        p.fill_checksum();
        sample().emit(&mut p);
        assert_eq!(p.into_inner().len(), 3);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let p = Packet::new_unchecked(&bytes[..]);
            let _ = (p.version(), p.type_(), p.vhid(), p.advskew(), p.authlen(), p.demote());
            let _ = (p.advbase(), p.checksum(), p.counter(), p.digest(), p.verify_checksum());
            let checked = Packet::new_checked(&bytes[..]);
            prop_assert_eq!(checked.is_ok(), bytes.len() >= HEADER_LEN);
            if let Ok(repr) = Repr::parse(&p) {
                prop_assert!(bytes.len() >= HEADER_LEN);
                prop_assert_eq!(bytes[0] >> 4, 2);
                prop_assert_eq!(repr.vhid, bytes[1]);
                prop_assert_eq!(&repr.digest[..], &bytes[16..36]);
            }
        }

        #[test]
        fn emit_parse_round_trip(
            vhid in any::<u8>(), advskew in any::<u8>(), advbase in any::<u8>(),
            demote in any::<u8>(), counter in any::<u64>(), digest in any::<[u8; 20]>(),
        ) {
            let repr = Repr { vhid, advskew, advbase, demote, counter, digest };
            let mut buf = [0u8; HEADER_LEN];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            prop_assert_eq!(Repr::parse(&Packet::new_unchecked(&buf[..])), Ok(repr));
        }

        #[test]
        fn any_single_bit_flip_is_caught(bit in 0usize..(HEADER_LEN * 8), counter in any::<u64>()) {
            let repr = Repr { counter, ..sample() };
            let mut buf = [0u8; HEADER_LEN];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            buf[bit / 8] ^= 1 << (bit % 8);
            let res = Repr::parse(&Packet::new_unchecked(&buf[..]));
            if (4..8).contains(&bit) {
                // The version nibble is the high half of byte 0.
                prop_assert_eq!(res, Err(Error::Version));
            } else {
                prop_assert_eq!(res, Err(Error::Checksum));
            }
        }
    }
}
