//! CARP authentication: HMAC-SHA1 exactly as FreeBSD's `carp_hmac_prepare()`
//! and `carp_hmac_generate()` compute it.
//!
//! The digest is standard HMAC-SHA1 (RFC 2104) with
//!
//! * key: the raw password, NUL-padded to [`KEY_LEN`] bytes (the kernel never
//!   hashes it; no password means twenty zero bytes, and the HMAC is still
//!   checked, so there is no "no authentication" mode);
//! * message: `0x02 0x01 vhid`, then every IPv4 address of the vhid in
//!   ascending numeric order, then every IPv6 address in ascending `memcmp`
//!   order with the KAME embedded zone (bytes 2..4) cleared for scoped
//!   addresses, then the 64-bit counter, big-endian, as on the wire.
//!
//! Both address lists go into *every* advert, whatever its address family,
//! so peers must agree on the whole address set of the vhid.
//!
//! FreeBSD sorts by repeatedly selecting the smallest address strictly
//! between the previous one and an all-ones sentinel, starting from zero.
//! That skips duplicates, and it also means `0.0.0.0`, `255.255.255.255`,
//! `::` and `ffff:..:ffff` are never hashed. We select the same way, so our
//! digests match the kernel's for every input, not only for sane ones.
//!
//! [`Signer`] does what `carp_hmac_prepare()` does: it runs SHA-1 over the
//! ipad block and the address lists once, when the key or the addresses
//! change, and keeps the prefix bytes after the last whole block (the
//! *tail*). Signing or verifying one advert then costs one compression for
//! the inner hash (two only if the tail leaves fewer than 17 bytes in its
//! block) and one for the outer hash. Nothing here allocates.
//!
//! [`Prepared`] is the same state without the tail bytes (44 bytes instead
//! of 108): the engine keeps the tail next to the vhid's addresses, in the
//! one buffer it allocates per vhid anyway.

use core::fmt;

use hmac::{Hmac, Mac};
use sha1::digest::generic_array::GenericArray;
use sha1::digest::typenum::U64;
use sha1::Sha1;

/// Size of the kernel's `sc_key` (`CARP_KEY_LEN`).
pub const KEY_LEN: usize = 20;
/// Size of a SHA-1 digest, and of the HMAC field of a CARP header.
pub const DIGEST_LEN: usize = 20;

const BLOCK_LEN: usize = 64;
const COUNTER_LEN: usize = 8;
/// The 0x80 terminator plus the 64-bit message length that SHA-1 appends.
const PAD_MIN: usize = 1 + 8;
const CARP_VERSION: u8 = 2;
const CARP_ADVERTISEMENT: u8 = 1;
const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// A CARP key: the password bytes, NUL-padded to [`KEY_LEN`].
///
/// `Debug` deliberately does not show the bytes: keys end up in structs
/// that get logged.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Key([u8; KEY_LEN]);

/// Why a password cannot become a [`Key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// More than [`KEY_LEN`] bytes: the kernel's key buffer cannot hold it,
    /// and silently truncating would make two different passwords equal.
    TooLong,
}

impl Key {
    /// The key of a vhid configured without `pass`.
    pub const ZERO: Key = Key([0; KEY_LEN]);

    /// Builds the key the kernel would hold for `pass`.
    ///
    /// Up to 20 bytes are accepted, as the netlink interface does; `ifconfig`
    /// keeps only 19 (`strlcpy`), which is the configuring tool's business.
    pub fn new(pass: &[u8]) -> Result<Key, KeyError> {
        if pass.len() > KEY_LEN {
            return Err(KeyError::TooLong);
        }
        let mut key = [0u8; KEY_LEN];
        for (dst, src) in key.iter_mut().zip(pass) {
            *dst = *src;
        }
        Ok(Key(key))
    }

    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// True for the key of a vhid without a password.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|b| *b == 0)
    }

    /// The key zero-extended to the SHA-1 block and XORed with `pad`.
    fn padded(&self, pad: u8) -> [u8; BLOCK_LEN] {
        let mut block = [pad; BLOCK_LEN];
        for (dst, src) in block.iter_mut().zip(self.0) {
            *dst ^= src;
        }
        block
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_zero() {
            "Key(<zero>)"
        } else {
            "Key(<redacted>)"
        })
    }
}

#[cfg(test)]
std::thread_local! {
    /// Compressions done on this thread, so tests can check the cost claims.
    static COMPRESSIONS: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

fn compress(state: &mut [u32; 5], block: &[u8; BLOCK_LEN]) {
    #[cfg(test)]
    COMPRESSIONS.with(|c| c.set(c.get() + 1));
    // A view, not a copy: `GenericArray<u8, U64>` is `[u8; 64]`.
    let block: &GenericArray<u8, U64> = block.into();
    sha1::compress(state, core::slice::from_ref(block));
}

fn state_bytes(state: &[u32; 5]) -> [u8; DIGEST_LEN] {
    let mut out = [0u8; DIGEST_LEN];
    for (dst, word) in out.chunks_exact_mut(4).zip(state) {
        dst.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// A SHA-1 in progress: whole blocks compressed, the rest buffered.
struct Sha1Stream {
    state: [u32; 5],
    buf: [u8; BLOCK_LEN],
    fill: usize,
    blocks: u64,
}

impl Sha1Stream {
    fn new() -> Self {
        Sha1Stream {
            state: SHA1_IV,
            buf: [0; BLOCK_LEN],
            fill: 0,
            blocks: 0,
        }
    }

    fn update(&mut self, data: &[u8]) {
        for byte in data {
            if let Some(slot) = self.buf.get_mut(self.fill) {
                *slot = *byte;
                self.fill += 1;
            }
            if self.fill == BLOCK_LEN {
                compress(&mut self.state, &self.buf);
                self.blocks += 1;
                self.fill = 0;
            }
        }
    }
}

/// The IPv4 addresses in FreeBSD's hashing order (see the module docs).
struct SortedV4<'a> {
    addrs: &'a [[u8; 4]],
    last: u32,
}

impl Iterator for SortedV4<'_> {
    type Item = [u8; 4];

    fn next(&mut self) -> Option<[u8; 4]> {
        let last = self.last;
        let next = self
            .addrs
            .iter()
            .map(|a| u32::from_be_bytes(*a))
            .filter(|a| *a > last && *a < u32::MAX)
            .min()?;
        self.last = next;
        Some(next.to_be_bytes())
    }
}

/// The IPv6 addresses, zone cleared, in FreeBSD's hashing order.
struct SortedV6<'a> {
    addrs: &'a [[u8; 16]],
    last: [u8; 16],
}

impl Iterator for SortedV6<'_> {
    type Item = [u8; 16];

    fn next(&mut self) -> Option<[u8; 16]> {
        let last = self.last;
        let next = self
            .addrs
            .iter()
            .map(|a| without_zone(*a))
            .filter(|a| *a > last && *a < [0xff; 16])
            .min()?;
        self.last = next;
        Some(next)
    }
}

/// `IN6_IS_SCOPE_EMBED()`: link-local unicast (fe80::/10) and interface- or
/// link-local multicast carry the KAME zone id in bytes 2..4 inside the
/// kernel; the HMAC covers the on-wire form, with those bytes zero.
fn without_zone(mut addr: [u8; 16]) -> [u8; 16] {
    let link_local = addr.first() == Some(&0xfe) && addr.get(1).is_some_and(|b| b & 0xc0 == 0x80);
    let scoped_multicast =
        addr.first() == Some(&0xff) && addr.get(1).is_some_and(|b| matches!(b & 0x0f, 0x01 | 0x02));
    if link_local || scoped_multicast {
        if let Some(zone) = addr.get_mut(2..4) {
            zone.fill(0);
        }
    }
    addr
}

/// Feeds `0x02 0x01 vhid || v4... || v6...` to `sink`, in order.
fn for_each_prefix_part(vhid: u8, v4: &[[u8; 4]], v6: &[[u8; 16]], mut sink: impl FnMut(&[u8])) {
    sink(&[CARP_VERSION, CARP_ADVERTISEMENT, vhid]);
    for addr in (SortedV4 { addrs: v4, last: 0 }) {
        sink(&addr);
    }
    for addr in (SortedV6 {
        addrs: v6,
        last: [0; 16],
    }) {
        sink(&addr);
    }
}

/// The final block of the outer hash: the inner digest (written per
/// advert) in bytes 0..20, then SHA-1's padding for a 64 + 20 byte message.
// Evaluated at compile time: an index out of range fails the build.
#[allow(clippy::indexing_slicing)]
const OUTER_FINAL: [u8; BLOCK_LEN] = {
    let mut b = [0u8; BLOCK_LEN];
    b[DIGEST_LEN] = 0x80;
    let bits = (((BLOCK_LEN + DIGEST_LEN) * 8) as u64).to_be_bytes();
    let mut i = 0;
    while i < 8 {
        b[BLOCK_LEN - 8 + i] = bits[i];
        i += 1;
    }
    b
};

/// The HMAC of one vhid precomputed as far as it can be, without the tail
/// bytes of the address prefix (see the module docs); each call takes them
/// as `tail`, which must start with the bytes [`Signer::tail`] gave for the
/// same key and addresses (what follows them is ignored).
#[derive(Clone, Copy)]
pub struct Prepared {
    /// Inner SHA-1 state after the ipad block and every whole block of the
    /// address prefix.
    inner: [u32; 5],
    /// Outer SHA-1 state after the opad block.
    outer: [u32; 5],
    /// Bytes of the inner message (ipad block, prefix, counter): gives the
    /// tail length and SHA-1's length field. The engine caps the address
    /// count far below what would overflow it.
    msg_len: u32,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The states are as good as the key: show nothing.
        f.debug_struct("Prepared").finish_non_exhaustive()
    }
}

impl Prepared {
    /// How many tail bytes the calls expect (0..=63).
    pub fn tail_len(&self) -> usize {
        (self.msg_len as usize).wrapping_sub(COUNTER_LEN) % BLOCK_LEN
    }

    /// The inner hash of the advert carrying `counter`: the tail, the
    /// counter, 0x80, zeros and the bit length in one block, or in two when
    /// fewer than 17 bytes are left after the tail.
    ///
    /// `tail` holds the [`tail_len`](Prepared::tail_len) tail bytes and may
    /// go on: the tail is copied in whole 8-byte words when `tail` is long
    /// enough (no `memcpy` call on the packet path), and whatever comes
    /// after the tail lands where the counter is written next.
    ///
    /// The one-block case builds its block in `block` (all zeros on entry)
    /// and returns how many leading bytes it wrote besides the length
    /// field, so the outer hash can reuse the block; the two-block case
    /// leaves `block` alone and returns 0.
    #[inline(always)]
    fn inner_digest(
        &self,
        block: &mut [u8; BLOCK_LEN],
        tail: &[u8],
        counter: u64,
    ) -> ([u32; 5], usize) {
        let at = self.tail_len();
        let bits = u64::from(self.msg_len).wrapping_mul(8).to_be_bytes();
        let mut inner = self.inner;
        if at + COUNTER_LEN + PAD_MIN <= BLOCK_LEN {
            let words = at.div_ceil(COUNTER_LEN);
            let (dst, _) = block.as_chunks_mut::<COUNTER_LEN>();
            match (
                dst.get_mut(..words),
                tail.as_chunks::<COUNTER_LEN>().0.get(..words),
            ) {
                (Some(dst), Some(src)) => {
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d = *s;
                    }
                }
                _ => {
                    if let (Some(dst), Some(src)) = (block.get_mut(..at), tail.get(..at)) {
                        dst.copy_from_slice(src);
                    }
                }
            }
            if let Some(dst) = block.get_mut(at..at + COUNTER_LEN) {
                dst.copy_from_slice(&counter.to_be_bytes());
            }
            if let Some(b) = block.get_mut(at + COUNTER_LEN) {
                *b = 0x80;
            }
            if let Some(dst) = block.last_chunk_mut::<8>() {
                *dst = bits;
            }
            compress(&mut inner, block);
            // Whole words of tail were copied: up to 7 bytes past `at`,
            // all overwritten by the counter.
            (inner, at + COUNTER_LEN + 1)
        } else {
            // Rare: a prefix tail of 48..=63 bytes (many addresses).
            let mut blocks = [[0u8; BLOCK_LEN]; 2];
            let flat = blocks.as_flattened_mut();
            if let (Some(dst), Some(src)) = (flat.get_mut(..at), tail.get(..at)) {
                dst.copy_from_slice(src);
            }
            if let Some(dst) = flat.get_mut(at..at + COUNTER_LEN) {
                dst.copy_from_slice(&counter.to_be_bytes());
            }
            if let Some(b) = flat.get_mut(at + COUNTER_LEN) {
                *b = 0x80;
            }
            if let Some(dst) = flat.last_chunk_mut::<8>() {
                *dst = bits;
            }
            for block in &blocks {
                compress(&mut inner, block);
            }
            (inner, 0)
        }
    }

    /// The HMAC as SHA-1 state words (the digest, big-endian). The outer
    /// hash's final block is the inner one's, rewritten where it differs
    /// from [`OUTER_FINAL`].
    #[inline(always)]
    fn outer_digest(&self, tail: &[u8], counter: u64) -> [u32; 5] {
        let mut block = [0u8; BLOCK_LEN];
        let (inner, dirty) = self.inner_digest(&mut block, tail, counter);
        if let Some(stale) = block.get_mut(DIGEST_LEN + 1..dirty) {
            stale.fill(0);
        }
        for (dst, word) in block.as_chunks_mut::<4>().0.iter_mut().zip(inner) {
            *dst = word.to_be_bytes();
        }
        if let Some(b) = block.get_mut(DIGEST_LEN) {
            *b = 0x80;
        }
        if let (Some(dst), Some(src)) = (block.last_chunk_mut::<8>(), OUTER_FINAL.last_chunk::<8>())
        {
            *dst = *src;
        }
        let mut outer = self.outer;
        compress(&mut outer, &block);
        outer
    }

    /// The HMAC field of the advert carrying `counter`.
    #[inline(always)]
    pub fn sign(&self, tail: &[u8], counter: u64) -> [u8; DIGEST_LEN] {
        state_bytes(&self.outer_digest(tail, counter))
    }

    /// [`Prepared::sign`] written straight into the packet's HMAC field.
    #[inline(always)]
    pub fn sign_into(&self, tail: &[u8], counter: u64, out: &mut [u8; DIGEST_LEN]) {
        let state = self.outer_digest(tail, counter);
        for (dst, word) in out.as_chunks_mut::<4>().0.iter_mut().zip(state) {
            *dst = word.to_be_bytes();
        }
    }

    /// Whether `digest` is the HMAC of the advert carrying `counter`.
    ///
    /// FreeBSD compares with `bcmp`; we compare in constant time, which
    /// accepts exactly the same packets.
    #[inline(always)]
    pub fn verify(&self, tail: &[u8], counter: u64, digest: &[u8]) -> bool {
        let Ok(digest) = <&[u8; DIGEST_LEN]>::try_from(digest) else {
            return false;
        };
        let expected = self.outer_digest(tail, counter);
        // Word-wise XOR-OR against the state words: constant time, and no
        // conversion of the expected digest to bytes.
        let diff = expected
            .iter()
            .zip(digest.as_chunks::<4>().0)
            .fold(0u32, |acc, (w, b)| acc | (w ^ u32::from_be_bytes(*b)));
        core::hint::black_box(diff) == 0
    }
}

/// The precomputed HMAC of one vhid: build it whenever the key or the
/// address set changes, then sign and verify adverts with it.
#[derive(Clone)]
pub struct Signer {
    prepared: Prepared,
    /// The prefix bytes after the last whole block; `prepared.tail_len()`
    /// of them are used.
    tail: [u8; BLOCK_LEN - 1],
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(key: &Key, vhid: u8, v4: &[[u8; 4]], v6: &[[u8; 16]]) -> Signer {
        let mut stream = Sha1Stream::new();
        stream.update(&key.padded(IPAD));
        for_each_prefix_part(vhid, v4, v6, |part| stream.update(part));

        let buffered = stream.fill;
        let message_bytes = stream.blocks * BLOCK_LEN as u64 + (buffered + COUNTER_LEN) as u64;
        let mut tail = [0u8; BLOCK_LEN - 1];
        if let (Some(dst), Some(src)) = (tail.get_mut(..buffered), stream.buf.get(..buffered)) {
            dst.copy_from_slice(src);
        }
        let mut outer = SHA1_IV;
        compress(&mut outer, &key.padded(OPAD));

        Signer {
            prepared: Prepared {
                inner: stream.state,
                outer,
                msg_len: u32::try_from(message_bytes).unwrap_or(u32::MAX),
            },
            tail,
        }
    }

    /// The state without the tail, for callers that keep the tail elsewhere.
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// The tail bytes [`Prepared`]'s calls take.
    pub fn tail(&self) -> &[u8] {
        self.tail
            .get(..self.prepared.tail_len())
            .unwrap_or(&self.tail)
    }

    /// The HMAC field of the advert carrying `counter`.
    pub fn sign(&self, counter: u64) -> [u8; DIGEST_LEN] {
        self.prepared.sign(&self.tail, counter)
    }

    /// Whether `digest` is the HMAC of the advert carrying `counter`.
    pub fn verify(&self, counter: u64, digest: &[u8]) -> bool {
        self.prepared.verify(&self.tail, counter, digest)
    }
}

/// Recomputes everything per call, as a naive implementation would; for tests and the benchmark baseline.
pub fn digest_naive(
    key: &Key,
    vhid: u8,
    v4: &[[u8; 4]],
    v6: &[[u8; 16]],
    counter: u64,
) -> [u8; DIGEST_LEN] {
    let mut block = [0u8; BLOCK_LEN];
    for (dst, src) in block.iter_mut().zip(key.as_bytes()) {
        *dst = *src;
    }
    let mut mac = <Hmac<Sha1> as Mac>::new(&GenericArray::from(block));
    for_each_prefix_part(vhid, v4, v6, |part| mac.update(part));
    mac.update(&counter.to_be_bytes());
    let mut out = [0u8; DIGEST_LEN];
    for (dst, src) in out.iter_mut().zip(mac.finalize().into_bytes()) {
        *dst = src;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn compressions<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = COMPRESSIONS.with(|c| c.get());
        let out = f();
        (out, COMPRESSIONS.with(|c| c.get()) - before)
    }

    /// RFC 2202 test case 2 has a short key; with our 20-byte NUL padding
    /// the HMAC is unchanged, so it checks the hand-rolled SHA-1 framing.
    #[test]
    fn rfc2202_vector_through_naive_hmac() {
        let key = Key::new(b"Jefe").unwrap();
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(b"what do ya want for nothing?");
        let got = mac.finalize().into_bytes();
        assert_eq!(hex(&got), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    fn hex(b: &[u8]) -> std::string::String {
        b.iter().map(|x| std::format!("{x:02x}")).collect()
    }

    #[test]
    fn sign_costs_two_compressions_for_small_address_sets() {
        let key = Key::new(b"testpass").unwrap();
        let v4 = [[192, 0, 2, 100], [192, 0, 2, 101]];
        let v6 = [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]];
        let signer = Signer::new(&key, 7, &v4, &v6);
        let (digest, n) = compressions(|| signer.sign(42));
        assert_eq!(n, 2);
        assert_eq!(digest, digest_naive(&key, 7, &v4, &v6, 42));
        let (ok, n) = compressions(|| signer.verify(42, &digest));
        assert!(ok);
        assert_eq!(n, 2);
    }

    /// Every prefix length modulo the block size, including those where the
    /// counter straddles two blocks or the padding spills into a second one.
    #[test]
    fn every_tail_layout_matches_the_naive_hmac() {
        let key = Key::new(b"k").unwrap();
        let v4: std::vec::Vec<[u8; 4]> = (1..=80u32)
            .map(|i| (0x0a00_0000 + i).to_be_bytes())
            .collect();
        for n in 0..=v4.len() {
            let signer = Signer::new(&key, 9, &v4[..n], &[]);
            let buffered = (3 + 4 * n) % 64;
            let (digest, cost) = compressions(|| signer.sign(0x0102_0304_0506_0708));
            assert_eq!(cost, if buffered + 17 <= 64 { 2 } else { 3 }, "n = {n}");
            assert_eq!(
                digest,
                digest_naive(&key, 9, &v4[..n], &[], 0x0102_0304_0506_0708),
                "n = {n}"
            );
        }
    }

    #[test]
    fn sentinels_are_not_hashed_like_freebsd() {
        let key = Key::ZERO;
        let a = [192, 0, 2, 1];
        let with = Signer::new(
            &key,
            1,
            &[a, [0, 0, 0, 0], [255; 4]],
            &[[0; 16], [0xff; 16]],
        );
        let without = Signer::new(&key, 1, &[a], &[]);
        assert_eq!(with.sign(5), without.sign(5));
    }

    #[test]
    fn zone_is_cleared_only_for_scoped_addresses() {
        let mut ll = [0u8; 16];
        ll[..2].copy_from_slice(&[0xfe, 0x80]);
        ll[2..4].copy_from_slice(&[0, 5]);
        ll[15] = 1;
        assert_eq!(&without_zone(ll)[2..4], &[0, 0]);
        let mut mc_link = ll;
        mc_link[..2].copy_from_slice(&[0xff, 0x02]);
        assert_eq!(&without_zone(mc_link)[2..4], &[0, 0]);
        let mut mc_if = ll;
        mc_if[..2].copy_from_slice(&[0xff, 0x01]);
        assert_eq!(&without_zone(mc_if)[2..4], &[0, 0]);
        let mut site_local = ll;
        site_local[..2].copy_from_slice(&[0xfe, 0xc0]);
        assert_eq!(without_zone(site_local), site_local);
        let mut global = ll;
        global[..2].copy_from_slice(&[0x20, 0x01]);
        assert_eq!(without_zone(global), global);
        let mut mc_site = ll;
        mc_site[..2].copy_from_slice(&[0xff, 0x05]);
        assert_eq!(without_zone(mc_site), mc_site);
    }

    #[test]
    fn debug_hides_key() {
        let key = Key::new(b"AAAA").unwrap();
        let shown = std::format!("{key:?} {:?}", Signer::new(&key, 1, &[], &[]));
        assert!(
            !shown.contains("65") && !shown.contains("41") && !shown.contains("AAAA"),
            "{shown}"
        );
    }

    #[test]
    fn verify_rejects_wrong_length_and_flipped_bits() {
        let signer = Signer::new(&Key::ZERO, 3, &[[198, 51, 100, 1]], &[]);
        let good = signer.sign(7);
        assert!(signer.verify(7, &good));
        assert!(!signer.verify(8, &good));
        assert!(!signer.verify(7, &good[..19]));
        for i in 0..DIGEST_LEN * 8 {
            let mut bad = good;
            bad[i / 8] ^= 1 << (i % 8);
            assert!(!signer.verify(7, &bad));
        }
    }
}
