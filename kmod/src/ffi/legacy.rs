//! The legacy `carpN` registry ([`crate::ctl::legacy`]) behind the C ABI:
//! the shim's cloner and carpN `if_ioctl` call these, then do the ifnet
//! work the returned [`CarpRsLegacyOut`] asks for.

use core::ffi::c_int;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::engine::{read_addr, CarpRsEngine};
use super::{errno, put, CARP_RS_AF_INET, CARP_RS_AF_INET6, EINVAL};
use crate::ctl::carpreq::CarpReq;
use crate::ctl::legacy::{mask_len, Candidate, Outcome};
use crate::ctl::{Errno, VhidInfo};
use crate::engine::Instant;

/// `struct carp_rs_cand`: one address of another interface, for the
/// parent-by-subnet rule.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpRsCand {
    pub ifindex: u32,
    pub flags: u32,
    pub if_type: u8,
    /// `CARP_RS_AF_*`.
    pub af: u8,
    pub pad: [u8; 2],
    pub addr: [u8; 16],
    /// The netmask, laid out like `addr` (all ones: a host address).
    pub mask: [u8; 16],
}

/// `struct carp_rs_legacy_out`: what a carpN operation did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpRsLegacyOut {
    /// The live vhid after the call (valid if `has_id`).
    pub id: u64,
    /// A vhid the call destroyed (valid if `has_destroyed`).
    pub destroyed: u64,
    /// The parent after the call, 0 if none.
    pub parent: u32,
    pub has_id: u8,
    /// 1: the vhid `id` was just created on `parent`.
    pub created: u8,
    pub has_destroyed: u8,
    /// 1 BACKUP / 2 MASTER forced by the request, 0 none.
    pub forced: u8,
    /// The carpN's vhid after the call (0: none yet).
    pub vhid: u8,
    /// 1: this is a carpN outcome for the shim to apply to carpN's
    /// records. [`carp_rs_clone_add_addr`]: 0 the address stays a plain
    /// one (not a VIP, or no vhid yet).
    pub vip: u8,
    pub pad: [u8; 6],
}

impl From<Outcome> for CarpRsLegacyOut {
    fn from(o: Outcome) -> Self {
        CarpRsLegacyOut {
            id: o.id.map_or(0, |i| i.to_raw()),
            destroyed: o.destroyed.map_or(0, |i| i.to_raw()),
            parent: o.parent.unwrap_or(0),
            has_id: u8::from(o.id.is_some()),
            created: u8::from(o.created),
            has_destroyed: u8::from(o.destroyed.is_some()),
            forced: o.forced.map_or(0, |s| s as u8),
            vhid: 0,
            vip: 0,
            pad: [0; 6],
        }
    }
}

fn cand(c: &CarpRsCand) -> Option<Candidate> {
    let (addr, mask) = match c.af {
        CARP_RS_AF_INET => {
            let (a, _) = c.addr.split_first_chunk::<4>()?;
            (IpAddr::V4(Ipv4Addr::from(*a)), c.mask.get(..4)?)
        }
        CARP_RS_AF_INET6 => (IpAddr::V6(Ipv6Addr::from(c.addr)), &c.mask[..]),
        _ => return None,
    };
    Some(Candidate {
        ifindex: c.ifindex,
        if_type: c.if_type,
        flags: c.flags,
        addr,
        prefixlen: mask_len(mask),
    })
}

/// Writes a carpN call's outcome, with the carpN's vhid after it.
pub(super) fn finish(
    h: &CarpRsEngine,
    ifindex: u32,
    r: Result<Outcome, Errno>,
    out: *mut CarpRsLegacyOut,
) -> c_int {
    if let Ok(o) = r {
        let mut o = CarpRsLegacyOut::from(o);
        o.vhid = h.clones.get(ifindex).and_then(|c| c.vhid()).unwrap_or(0);
        o.vip = 1;
        // SAFETY: the callers' contract: `out` NULL or writable.
        unsafe { put(out, o) };
    }
    errno(&r)
}

/// `ifconfig carpN create`: registers the clone (EEXIST if known).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_clone_create(h: *mut CarpRsEngine, ifindex: u32) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return EINVAL;
    };
    let r = h.clones.create(ifindex).map(|_| ());
    errno(&r)
}

/// `ifconfig carpN destroy`: unbinds (a MASTER bows out) and forgets it.
///
/// # Safety
/// Pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_clone_destroy(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    out: *mut CarpRsLegacyOut,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return EINVAL;
    };
    let r = h
        .clones
        .destroy(&mut h.engine, Instant::from_nanos(now_ns), ifindex);
    finish(h, ifindex, r, out)
}

/// Whether `ifindex` is a registered carpN (1) or not (0).
///
/// # Safety
/// `h` is NULL or a live handle.
#[cfg(test)]
pub(crate) unsafe fn carp_rs_clone_known(h: *const CarpRsEngine, ifindex: u32) -> c_int {
    // SAFETY: shared under the shim's mutex.
    match unsafe { h.as_ref() } {
        Some(h) => c_int::from(h.clones.get(ifindex).is_some()),
        None => 0,
    }
}

/// The vhid configured on carpN (0: none), for `carp_get_vhid`.
///
/// # Safety
/// `h` is NULL or a live handle.
#[cfg(test)]
pub(crate) unsafe fn carp_rs_clone_vhid(h: *const CarpRsEngine, ifindex: u32) -> u8 {
    // SAFETY: shared under the shim's mutex.
    unsafe { h.as_ref() }
        .and_then(|h| h.clones.get(ifindex))
        .and_then(|c| c.vhid())
        .unwrap_or(0)
}

/// `SIOCSVH` on carpN, from [`super::carp_rs_ioctl_set`]: a 10.0+
/// `struct carpreq` (40 bytes), or the FREEBSD 9 layout (36 bytes).
pub(super) fn clone_ioctl_set(
    h: &mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    b: &[u8],
    privileged: bool,
) -> Result<Outcome, Errno> {
    let now = Instant::from_nanos(now_ns);
    let c = h.clones.get_mut(ifindex).ok_or(Errno::ENXIO)?;
    if b.len() == crate::ctl::carpreq::CARPREQ_LEGACY_LEN {
        c.ioctl_set_legacy(&mut h.engine, now, b, privileged)
    } else if !privileged {
        Err(Errno::EPERM)
    } else {
        CarpReq::parse(b)
            .and_then(|r| r.to_set())
            .and_then(|set| c.set(&mut h.engine, now, &set))
    }
}

/// `SIOCGVH` on carpN, from [`super::carp_rs_ioctl_get`]: one `struct
/// carpreq` (40 bytes; 36 for the legacy layout) into `o`; the bytes used.
pub(super) fn clone_ioctl_get(
    h: &CarpRsEngine,
    ifindex: u32,
    b: &[u8],
    privileged: bool,
    o: &mut [u8],
) -> Result<usize, Errno> {
    let c = h.clones.get(ifindex).ok_or(Errno::ENXIO)?;
    if b.len() == crate::ctl::carpreq::CARPREQ_LEGACY_LEN {
        c.ioctl_get_legacy(&h.engine, privileged, o)
    } else {
        CarpReq::parse(b).and_then(|r| {
            let i: VhidInfo = c.get(&h.engine, i64::from(r.vhid), privileged)?;
            CarpReq::from_info(&i, 1).emit(o)?;
            Ok(crate::ctl::carpreq::CARPREQ_LEN)
        })
    }
}

/// An address put on carpN, with the vhid the request named (0: a plain
/// address; carpN's vhid applies, if it has one). Decides whether it is a
/// VIP (`out->vip`), configures an unconfigured carpN with the vhid,
/// picks the parent among `cands` (the other interfaces' addresses, in
/// interface order) and binds when it can.
///
/// # Safety
/// Pointers are NULL or valid; `cands` has `n` entries.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn carp_rs_clone_add_addr(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    vhid: u8,
    af: u8,
    addr: *const u8,
    cands: *const CarpRsCand,
    n: usize,
    out: *mut CarpRsLegacyOut,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex; address per the contract.
    let (Some(h), Some(vip)) = (unsafe { h.as_mut() }, unsafe { read_addr(af, addr) }) else {
        return EINVAL;
    };
    if cands.is_null() && n != 0 || n > 256 {
        return EINVAL;
    }
    // At most 256 candidates, copied so the registry sees plain values.
    let mut list = [Candidate {
        ifindex: 0,
        if_type: 0,
        flags: 0,
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        prefixlen: 0,
    }; 256];
    let mut used = 0usize;
    for i in 0..n {
        // SAFETY: i < n entries per the contract.
        let c = unsafe { cands.add(i).read_unaligned() };
        if let (Some(c), Some(slot)) = (cand(&c), list.get_mut(used)) {
            *slot = c;
            used += 1;
        }
    }
    let Some(c) = h.clones.get_mut(ifindex) else {
        return Errno::ENXIO.get();
    };
    let r = c.attach_addr(
        &mut h.engine,
        Instant::from_nanos(now_ns),
        vhid,
        vip,
        list.get(..used).unwrap_or(&[]),
    );
    match r {
        Ok(None) => {
            // SAFETY: per the contract.
            unsafe { put(out, CarpRsLegacyOut::default()) };
            0
        }
        Ok(Some(o)) => finish(h, ifindex, Ok(o), out),
        Err(e) => e.get(),
    }
}

/// An address removed from carpN; the last one unbinds the vhid.
///
/// # Safety
/// Pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_clone_remove_addr(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    af: u8,
    addr: *const u8,
    out: *mut CarpRsLegacyOut,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex; address per the contract.
    let (Some(h), Some(vip)) = (unsafe { h.as_mut() }, unsafe { read_addr(af, addr) }) else {
        return EINVAL;
    };
    let Some(c) = h.clones.get_mut(ifindex) else {
        return Errno::ENXIO.get();
    };
    let r = c.remove_addr(&mut h.engine, Instant::from_nanos(now_ns), vip);
    finish(h, ifindex, r, out)
}

/// carpN `IFF_UP` changed.
///
/// # Safety
/// Pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_clone_set_up(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    up: c_int,
    out: *mut CarpRsLegacyOut,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return EINVAL;
    };
    let Some(c) = h.clones.get_mut(ifindex) else {
        return Errno::ENXIO.get();
    };
    let r = c.set_up(&mut h.engine, Instant::from_nanos(now_ns), up != 0);
    finish(h, ifindex, r, out)
}

/// `CARP_NL_CMD_SET` naming a carpN (what FreeBSD 14+ `ifconfig carp0
/// vhid 1 ...` sends), from [`super::carp_rs_nl_set`]: the request's
/// checks, then carpN's one vhid.
pub(super) fn clone_nl_set(
    h: &mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    genl: &[u8],
    privileged: bool,
) -> Result<Outcome, Errno> {
    if !privileged {
        return Err(Errno::EPERM);
    }
    let c = h.clones.get_mut(ifindex).ok_or(Errno::ENXIO)?;
    crate::ctl::netlink::Request::parse_genl(genl)
        .and_then(|(_, req)| req.to_set())
        .and_then(|set| c.set(&mut h.engine, Instant::from_nanos(now_ns), &set))
}
