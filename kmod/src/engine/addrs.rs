//! A vhid's virtual addresses and its precomputed HMAC, in one allocation.
//!
//! FreeBSD keeps the addresses on the ifaddr list and the HMAC contexts in
//! `carp_softc` (`carp_hmac_prepare`). Here one exactly sized buffer holds
//! the IPv4 addresses, the IPv6 addresses and the HMAC's prefix tail (the
//! bytes after the last whole SHA-1 block, see [`crate::auth`]), so a vhid
//! with one address costs one small allocation, no spare capacity, and an
//! 8-byte handle ([`ThinBytes`]).

use alloc::vec::Vec;
use core::net::IpAddr;

use super::config::ConfigError;
use crate::auth::{Key, Prepared, Signer};
use crate::util::{extend_within_capacity, push_within_capacity, ThinBytes};

/// Addresses per family and vhid; far more than any interface carries, and
/// small enough that the HMAC message length fits its 32-bit field.
pub const MAX_ADDRS: usize = u16::MAX as usize;

/// Bytes of [`Addrs`] besides its [`Prepared`] state.
pub(crate) const HEADER_BYTES: usize =
    core::mem::size_of::<Addrs>() - core::mem::size_of::<Prepared>();

pub(crate) struct Addrs {
    /// IPv4 octets, then IPv6 octets, then the HMAC prefix tail, padded
    /// with zeros to whole 8-byte words so it is copied word by word.
    buf: ThinBytes,
    n4: u16,
    n6: u16,
    hmac: Prepared,
}

impl Addrs {
    /// No addresses yet; the HMAC is prepared for the empty set.
    pub fn new(key: &Key, vhid: u8) -> Result<Addrs, ConfigError> {
        let mut a = Addrs {
            buf: ThinBytes::empty(),
            n4: 0,
            n6: 0,
            hmac: *Signer::new(key, vhid, &[], &[]).prepared(),
        };
        a.rebuild(key, vhid, None, None)?;
        Ok(a)
    }

    fn v6_start(&self) -> usize {
        4 * usize::from(self.n4)
    }

    fn tail_start(&self) -> usize {
        self.v6_start() + 16 * usize::from(self.n6)
    }

    /// The IPv4 addresses in the order they were added.
    pub fn v4(&self) -> &[[u8; 4]] {
        self.v4_bytes().as_chunks::<4>().0
    }

    /// The IPv6 addresses in the order they were added.
    pub fn v6(&self) -> &[[u8; 16]] {
        self.v6_bytes().as_chunks::<16>().0
    }

    /// The IPv4 addresses back to back, as a VRRP advert lists them.
    pub fn v4_bytes(&self) -> &[u8] {
        self.buf.as_slice().get(..self.v6_start()).unwrap_or(&[])
    }

    pub fn v6_bytes(&self) -> &[u8] {
        self.buf
            .as_slice()
            .get(self.v6_start()..self.tail_start())
            .unwrap_or(&[])
    }

    pub fn has_v4(&self) -> bool {
        self.n4 != 0
    }

    pub fn has_v6(&self) -> bool {
        self.n6 != 0
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4().contains(&a.octets()),
            IpAddr::V6(a) => self.v6().contains(&a.octets()),
        }
    }

    fn tail(&self) -> &[u8] {
        self.buf.as_slice().get(self.tail_start()..).unwrap_or(&[])
    }

    /// [`Addrs::sign`] written straight into the packet's HMAC field.
    #[inline(always)]
    pub fn sign_into(&self, counter: u64, out: &mut [u8; crate::auth::DIGEST_LEN]) {
        self.hmac.sign_into(self.tail(), counter, out)
    }

    /// Whether `digest` authenticates the advert carrying `counter`.
    #[inline(always)]
    pub fn verify(&self, counter: u64, digest: &[u8]) -> bool {
        self.hmac.verify(self.tail(), counter, digest)
    }

    /// Re-prepares the HMAC for a new key (`carp_hmac_prepare`).
    pub fn rekey(&mut self, key: &Key, vhid: u8) -> Result<(), ConfigError> {
        self.rebuild(key, vhid, None, None)
    }

    /// Adds `addr` (the caller checked it is new) and re-prepares the HMAC.
    pub fn add(&mut self, key: &Key, vhid: u8, addr: IpAddr) -> Result<(), ConfigError> {
        self.rebuild(key, vhid, Some(addr), None)
    }

    /// Removes `addr`; `NoSuchAddress` if the vhid does not hold it.
    pub fn remove(&mut self, key: &Key, vhid: u8, addr: IpAddr) -> Result<(), ConfigError> {
        if !self.contains(addr) {
            return Err(ConfigError::NoSuchAddress);
        }
        self.rebuild(key, vhid, None, Some(addr))
    }

    /// Builds the buffer afresh with `add` appended and `drop` left out,
    /// then swaps it in; on failure nothing changes. Configuration path:
    /// allocates exactly what the new set needs.
    fn rebuild(
        &mut self,
        key: &Key,
        vhid: u8,
        add: Option<IpAddr>,
        drop: Option<IpAddr>,
    ) -> Result<(), ConfigError> {
        let keep4 = |a: &&[u8; 4]| !matches!(drop, Some(IpAddr::V4(d)) if d.octets() == **a);
        let keep6 = |a: &&[u8; 16]| !matches!(drop, Some(IpAddr::V6(d)) if d.octets() == **a);
        let add4 = match add {
            Some(IpAddr::V4(a)) => Some(a.octets()),
            _ => None,
        };
        let add6 = match add {
            Some(IpAddr::V6(a)) => Some(a.octets()),
            _ => None,
        };
        let n4 = self.v4().iter().filter(keep4).count() + usize::from(add4.is_some());
        let n6 = self.v6().iter().filter(keep6).count() + usize::from(add6.is_some());
        if n4 > MAX_ADDRS || n6 > MAX_ADDRS {
            return Err(ConfigError::TooMany);
        }
        let addr_len = 4 * n4 + 16 * n6;
        let mut fresh: Vec<u8> = Vec::new();
        fresh
            .try_reserve_exact(addr_len)
            .map_err(|_| ConfigError::NoMemory)?;
        let v4 = self.v4().iter().filter(keep4).chain(add4.as_ref());
        for a in v4 {
            extend_within_capacity(&mut fresh, a);
        }
        let v6 = self.v6().iter().filter(keep6).chain(add6.as_ref());
        for a in v6 {
            extend_within_capacity(&mut fresh, a);
        }
        let (a4, a6) = fresh.split_at_checked(4 * n4).unwrap_or((&[], &[]));
        let signer = Signer::new(key, vhid, a4.as_chunks().0, a6.as_chunks().0);
        let tail = signer.tail();
        let padded = tail.len().next_multiple_of(8);
        fresh
            .try_reserve_exact(padded)
            .map_err(|_| ConfigError::NoMemory)?;
        extend_within_capacity(&mut fresh, tail);
        while fresh.len() < addr_len + padded {
            if push_within_capacity(&mut fresh, 0).is_err() {
                break;
            }
        }
        self.buf = ThinBytes::try_from_slice(&fresh).ok_or(ConfigError::NoMemory)?;
        self.n4 = n4 as u16;
        self.n6 = n6 as u16;
        self.hmac = *signer.prepared();
        Ok(())
    }
}
