//! RFC 1071 Internet checksum.
//!
//! CARP sums its 36-byte header alone; VRRPv3 (RFC 5798 §5.2.8) prefixes
//! the IPv4 or IPv6 pseudo-header, so the sums are kept as folded but not
//! inverted 16-bit values that can be combined before the final `!`.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Folds the carries of a wide one's-complement accumulator into 16 bits.
#[inline(always)]
fn fold(sum: u64) -> u16 {
    // End-around carry twice: 64 -> 32 -> 16 bits. Adding the carry back
    // cannot carry again: a sum that overflowed is at most 2^n - 2.
    let (lo, c) = (sum as u32).overflowing_add((sum >> 32) as u32);
    let sum = lo.wrapping_add(u32::from(c));
    let (lo, c) = (sum as u16).overflowing_add((sum >> 16) as u16);
    lo.wrapping_add(u16::from(c))
}

/// The folded one's-complement sum of `bytes`, not inverted.
///
/// An odd trailing byte counts as the high byte of a word padded with zero.
/// A buffer whose checksum field is correct sums to `0xffff`.
///
/// Sums 64-bit words in native byte order with end-around carry: a 64-bit
/// word is four 16-bit words and 2^16 = 1 in one's-complement arithmetic,
/// so the carries out of each half land in the next and those out of the
/// top count once each; and the one's-complement sum of byte-swapped words
/// is the byte-swapped sum (RFC 1071 §2(A), (B)), so one swap at the end
/// gives the big-endian 16-bit word sum with an eighth of the additions.
/// This is on the input and output path of every advert.
#[inline(always)]
pub fn data(bytes: &[u8]) -> u16 {
    let (words, tail) = bytes.as_chunks::<8>();
    let mut sum: u64 = 0;
    // Carries out of bit 63: one per word at most, so no overflow.
    let mut carries: u64 = 0;
    for w in words {
        let (s, c) = sum.overflowing_add(u64::from_ne_bytes(*w));
        sum = s;
        carries += u64::from(c);
    }
    let (w4, tail) = tail.as_chunks::<4>();
    let (w2, tail) = tail.as_chunks::<2>();
    let short = w4
        .iter()
        .map(|w| u64::from(u32::from_ne_bytes(*w)))
        .chain(w2.iter().map(|w| u64::from(u16::from_ne_bytes(*w))))
        .chain(tail.iter().map(|&b| u64::from(u16::from_ne_bytes([b, 0]))))
        .sum::<u64>();
    // `short` is below 2^35 and `carries` below 2^61: their sum is added
    // with its carry out of bit 63 brought around, as above.
    let (sum, c) = sum.overflowing_add(short + carries);
    u16::from_be(fold(sum.wrapping_add(u64::from(c))))
}

/// [`data`] of a buffer whose length is known at compile time, so the
/// loops unroll completely (the 36-byte CARP header of every advert).
#[inline(always)]
pub fn data_array<const N: usize>(bytes: &[u8; N]) -> u16 {
    data(bytes)
}

/// Adds partial sums obtained from [`data`] or the pseudo-header functions.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The sum of the IPv4 pseudo-header (RFC 768 layout).
///
/// `length` is the upper-layer length; IPv4 can only carry 16 bits of it,
/// and the sum is the same whether it is added as one 32-bit or as a
/// 16-bit quantity as long as it fits.
pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, next_header: u8, length: u32) -> u16 {
    let [l0, l1, l2, l3] = length.to_be_bytes();
    combine(&[
        data(&src.octets()),
        data(&dst.octets()),
        data(&[0, next_header]),
        data(&[l0, l1, l2, l3]),
    ])
}

/// The sum of the IPv6 pseudo-header (RFC 8200 §8.1 layout).
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let [l0, l1, l2, l3] = length.to_be_bytes();
    combine(&[
        data(&src.octets()),
        data(&dst.octets()),
        data(&[l0, l1, l2, l3]),
        data(&[0, 0, 0, next_header]),
    ])
}

/// The pseudo-header sum for either family.
///
/// Returns `None` when `src` and `dst` are of different families: no such
/// pseudo-header exists, and a silent zero would let a wrong checksum
/// verify or be emitted.
pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, next_header: u8, length: u32) -> Option<u16> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Some(pseudo_header_v4(s, d, next_header, length)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Some(pseudo_header_v6(s, d, next_header, length)),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Straight RFC 1071 §4.1 loop, kept independent of `data`.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i + 1 < bytes.len() {
            sum += u32::from(bytes[i]) << 8 | u32::from(bytes[i + 1]);
            i += 2;
        }
        if i < bytes.len() {
            sum += u32::from(bytes[i]) << 8;
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn odd_length_pads_low_byte() {
        assert_eq!(data(&[0x12]), 0x1200);
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x6834);
        assert_eq!(data(&[]), 0);
    }

    #[test]
    fn combine_folds_carries() {
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
        assert_eq!(combine(&[0x8000, 0x8000]), 0x0001);
        assert_eq!(combine(&[]), 0);
    }

    #[test]
    fn pseudo_header_v4_matches_flat_layout() {
        let s = Ipv4Addr::new(192, 0, 2, 1);
        let d = Ipv4Addr::new(224, 0, 0, 18);
        let flat = [192, 0, 2, 1, 224, 0, 0, 18, 0, 112, 0, 12];
        assert_eq!(pseudo_header_v4(&s, &d, 112, 12), reference(&flat));
        assert_eq!(
            pseudo_header(&s.into(), &d.into(), 112, 12),
            Some(reference(&flat))
        );
    }

    #[test]
    fn pseudo_header_v6_matches_flat_layout() {
        let s: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let d: Ipv6Addr = "ff02::12".parse().unwrap();
        let mut flat = [0u8; 40];
        flat[..16].copy_from_slice(&s.octets());
        flat[16..32].copy_from_slice(&d.octets());
        flat[32..36].copy_from_slice(&28u32.to_be_bytes());
        flat[39] = 112;
        assert_eq!(pseudo_header_v6(&s, &d, 112, 28), reference(&flat));
        assert_eq!(
            pseudo_header(&s.into(), &d.into(), 112, 28),
            Some(reference(&flat))
        );
    }

    #[test]
    fn mixed_families_have_no_pseudo_header() {
        let s = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let d = IpAddr::V6("ff02::12".parse().unwrap());
        assert_eq!(pseudo_header(&s, &d, 112, 8), None);
        assert_eq!(pseudo_header(&d, &s, 112, 8), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn data_matches_reference(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(data(&bytes), reference(&bytes));
        }

        #[test]
        fn split_sums_combine(bytes in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..150) {
            // Splitting at an even offset must not change the sum.
            let cut = (cut * 2).min(bytes.len() & !1);
            let (a, b) = bytes.split_at(cut);
            prop_assert_eq!(combine(&[data(a), data(b)]), data(&bytes));
        }

        #[test]
        fn inverted_sum_verifies(mut bytes in proptest::collection::vec(any::<u8>(), 2..300)) {
            bytes[0] = 0;
            bytes[1] = 0;
            let ck = !data(&bytes);
            bytes[..2].copy_from_slice(&ck.to_be_bytes());
            prop_assert_eq!(data(&bytes), 0xffff);
        }
    }
}
