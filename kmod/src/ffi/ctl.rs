//! Control-plane entry points: `SIOCSVH`/`SIOCGVH`, the netlink family,
//! sysctls, address attach/detach and parent link state. Each one copies
//! the caller's bytes into a slice and hands them to [`crate::ctl`], which
//! takes every decision; the return value is a FreeBSD errno (0: success).

use core::ffi::{c_char, c_int, CStr};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::slice;

use super::engine::{read_addr, CarpRsEngine};
use super::legacy::CarpRsLegacyOut;
use super::{errno, put, CStrByte, EINVAL};
use crate::ctl::netlink::{self, MsgHeader, Request};
use crate::ctl::sysctl::{self, Knob};
use crate::ctl::{carpreq, Errno, IfInfo, SetOutcome};
use crate::engine::{DemoteReason, Instant, State, VhidId};

/// `struct carp_rs_ifinfo`: what the shim found for the interface a
/// request names (a NULL pointer means "no such interface").
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpRsIfInfo {
    pub index: u32,
    /// `if_flags`.
    pub flags: u32,
    /// `if_type` (`IFT_*`).
    pub if_type: u8,
    pub pad: [u8; 3],
}

/// `struct carp_rs_setres`: what a SET did, for the shim's side effects.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpRsSetRes {
    /// `VhidId::to_raw` of the vhid set.
    pub id: u64,
    /// 1 when the SET created the vhid (the parent needs its `if_carp`).
    pub created: u8,
    /// The state the user forced (1 BACKUP, 2 MASTER), 0 if none.
    pub forced: u8,
    pub pad: [u8; 6],
}

impl From<SetOutcome> for CarpRsSetRes {
    fn from(o: SetOutcome) -> Self {
        CarpRsSetRes {
            id: o.id.to_raw(),
            created: u8::from(o.created),
            forced: o.forced.map_or(0, |s| s as u8),
            pad: [0; 6],
        }
    }
}

/// `struct carp_rs_nlreq`: the interface a netlink request names, so the
/// shim can look it up before the request is applied.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpRsNlReq {
    pub cmd: u8,
    pub has_ifname: u8,
    pub pad: [u8; 2],
    pub ifindex: u32,
    /// NUL-terminated, cut to 15 characters (`IFNAMSIZ`).
    pub ifname: [CStrByte; 16],
}

/// Borrows `len` bytes at `p`; None for NULL or an absurd length.
///
/// # Safety
/// `p` is NULL or points at `len` readable bytes that outlive `'a`.
pub(super) unsafe fn bytes<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if p.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-null, `len` readable bytes per the contract.
    Some(unsafe { slice::from_raw_parts(p, len) })
}

/// Mutably borrows `len` bytes at `p`.
///
/// # Safety
/// `p` is NULL or points at `len` writable bytes that outlive `'a`.
pub(super) unsafe fn bytes_mut<'a>(p: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if p.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-null, `len` writable bytes per the contract.
    Some(unsafe { slice::from_raw_parts_mut(p, len) })
}

/// # Safety
/// `p` is NULL or points at a readable `CarpRsIfInfo`.
pub(super) unsafe fn ifinfo(p: *const CarpRsIfInfo) -> Option<IfInfo> {
    // SAFETY: forwarded contract.
    unsafe { p.as_ref() }.map(|i| IfInfo {
        index: i.index,
        if_type: i.if_type,
        flags: i.flags,
    })
}

/// The registered carpN `ifp` names, if it names one.
fn clone_of(h: &CarpRsEngine, ifp: Option<&IfInfo>) -> Option<u32> {
    ifp.map(|i| i.index).filter(|&i| h.clones.get(i).is_some())
}

/// `SIOCSVH`: `req` is the caller's `struct carpreq` (40 bytes). On a
/// registered carpN it configures carpN's one vhid and fills `*legacy`
/// (`vip` 1: the shim applies it to carpN's records); elsewhere the
/// per-address model and `*res`.
///
/// # Safety
/// Pointers are NULL or valid for their lengths / types.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn carp_rs_ioctl_set(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifp: *const CarpRsIfInfo,
    req: *const u8,
    len: usize,
    privileged: c_int,
    res: *mut CarpRsSetRes,
    legacy: *mut CarpRsLegacyOut,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex; the rest per the contract.
    let (Some(h), Some(req)) = (unsafe { h.as_mut() }, unsafe { bytes(req, len) }) else {
        return EINVAL;
    };
    // SAFETY: per the contract.
    let ifp = unsafe { ifinfo(ifp) };
    // SAFETY: per the contract.
    unsafe {
        put(res, CarpRsSetRes::default());
        put(legacy, CarpRsLegacyOut::default());
    }
    if let Some(index) = clone_of(h, ifp.as_ref()) {
        let r = super::legacy::clone_ioctl_set(h, now_ns, index, req, privileged != 0);
        return super::legacy::finish(h, index, r, legacy);
    }
    let now = Instant::from_nanos(now_ns);
    let r = carpreq::ioctl_set(&mut h.engine, now, ifp.as_ref(), req, privileged != 0);
    if let Ok(o) = r {
        // SAFETY: per the contract.
        unsafe { put(res, CarpRsSetRes::from(o)) };
    }
    errno(&r)
}

/// `SIOCGVH`: fills `out` with one `struct carpreq` per vhid returned (on
/// a carpN: its one vhid) and stores the bytes to copy out in `*used`.
///
/// # Safety
/// Pointers are NULL or valid for their lengths / types.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn carp_rs_ioctl_get(
    h: *const CarpRsEngine,
    ifp: *const CarpRsIfInfo,
    req: *const u8,
    len: usize,
    privileged: c_int,
    out: *mut u8,
    outlen: usize,
    used: *mut usize,
) -> c_int {
    // SAFETY: shared under the shim's mutex; the rest per the contract.
    let (Some(h), Some(req), Some(out)) =
        (unsafe { h.as_ref() }, unsafe { bytes(req, len) }, unsafe {
            bytes_mut(out, outlen)
        })
    else {
        return EINVAL;
    };
    // SAFETY: per the contract.
    let ifp = unsafe { ifinfo(ifp) };
    let r = match clone_of(h, ifp.as_ref()) {
        Some(index) => super::legacy::clone_ioctl_get(h, index, req, privileged != 0, out),
        None => carpreq::ioctl_get(&h.engine, ifp.as_ref(), req, privileged != 0, out),
    };
    if let Ok(n) = r {
        // SAFETY: per the contract.
        unsafe { put(used, n) };
    }
    errno(&r)
}

/// Reads the command and the interface of a netlink request (`attrs`: the
/// genl payload, `struct genlmsghdr` first).
///
/// # Safety
/// Pointers are NULL or valid for their lengths / types.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_nl_parse(
    attrs: *const u8,
    len: usize,
    out: *mut CarpRsNlReq,
) -> c_int {
    // SAFETY: per the contract.
    let Some(b) = (unsafe { bytes(attrs, len) }) else {
        return EINVAL;
    };
    let r = Request::parse_genl(b);
    if let Ok((cmd, req)) = r {
        let mut o = CarpRsNlReq {
            cmd,
            ifindex: req.ifindex,
            ..CarpRsNlReq::default()
        };
        if let Some(name) = req.ifname {
            o.has_ifname = 1;
            for (d, s) in o.ifname.iter_mut().take(15).zip(name) {
                *d = *s;
            }
        }
        // SAFETY: per the contract.
        unsafe { put(out, o) };
    }
    errno(&r)
}

/// `CARP_NL_CMD_SET` on the interface the shim resolved. On a registered
/// carpN it configures carpN's one vhid and fills `*legacy` (`vip` 1: the
/// shim applies it to carpN's records); elsewhere the per-address model
/// and `*res`.
///
/// # Safety
/// Pointers are NULL or valid for their lengths / types.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn carp_rs_nl_set(
    h: *mut CarpRsEngine,
    now_ns: u64,
    attrs: *const u8,
    len: usize,
    ifp: *const CarpRsIfInfo,
    privileged: c_int,
    res: *mut CarpRsSetRes,
    legacy: *mut CarpRsLegacyOut,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex; the rest per the contract.
    let (Some(h), Some(b)) = (unsafe { h.as_mut() }, unsafe { bytes(attrs, len) }) else {
        return EINVAL;
    };
    // SAFETY: per the contract.
    let ifp = unsafe { ifinfo(ifp) };
    // SAFETY: per the contract.
    unsafe {
        put(res, CarpRsSetRes::default());
        put(legacy, CarpRsLegacyOut::default());
    }
    if let Some(index) = clone_of(h, ifp.as_ref()) {
        let r = super::legacy::clone_nl_set(h, now_ns, index, b, privileged != 0);
        return super::legacy::finish(h, index, r, legacy);
    }
    let r = Request::parse_genl(b).and_then(|(_, req)| {
        netlink::set(
            &mut h.engine,
            Instant::from_nanos(now_ns),
            &req,
            ifp.as_ref(),
            privileged != 0,
        )
    });
    if let Ok(o) = r {
        // SAFETY: per the contract.
        unsafe { put(res, CarpRsSetRes::from(o)) };
    }
    errno(&r)
}

/// `CARP_NL_CMD_GET`: writes one complete reply message (`nlmsghdr`, genl
/// header, attributes) per vhid into `out`, back to back, with the type,
/// sequence number and port of the request, and stores the bytes used.
///
/// # Safety
/// Pointers are NULL or valid for their lengths / types.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn carp_rs_nl_get(
    h: *const CarpRsEngine,
    attrs: *const u8,
    len: usize,
    ifp: *const CarpRsIfInfo,
    privileged: c_int,
    msg_type: u16,
    seq: u32,
    pid: u32,
    out: *mut u8,
    outlen: usize,
    used: *mut usize,
) -> c_int {
    // SAFETY: shared under the shim's mutex; the rest per the contract.
    let (Some(h), Some(b), Some(out)) = (
        unsafe { h.as_ref() },
        unsafe { bytes(attrs, len) },
        unsafe { bytes_mut(out, outlen) },
    ) else {
        return EINVAL;
    };
    // SAFETY: per the contract.
    let ifp = unsafe { ifinfo(ifp) };
    let legacy = ifp.and_then(|i| h.clones.get(i.index));
    let hdr = MsgHeader {
        kind: msg_type,
        flags: netlink::NLM_F_MULTI,
        seq,
        pid,
    };
    let mut off = 0usize;
    let mut emit = |info: &crate::ctl::VhidInfo| -> bool {
        let Some(rest) = out.get_mut(off..) else {
            return false;
        };
        match netlink::write_message(rest, hdr, |b| netlink::write_vhid(b, info)) {
            Ok(n) => {
                off += n;
                true
            }
            Err(_) => false,
        }
    };
    let r = Request::parse_genl(b).and_then(|(_, req)| match legacy {
        // A carpN answers for its one vhid, bound or not.
        Some(c) => {
            let i = c.get(&h.engine, i64::from(req.vhid), privileged != 0)?;
            if emit(&i) {
                Ok(1)
            } else {
                Err(Errno::ENOMEM)
            }
        }
        None => netlink::get(&h.engine, &req, ifp.as_ref(), privileged != 0, &mut emit),
    });
    if r.is_ok() {
        // SAFETY: per the contract.
        unsafe { put(used, off) };
    }
    errno(&r)
}

/// `CARP_RS_SYSCTL_*`: the `net.inet.carp` integer knobs of
/// [`carp_rs_sysctl`] (`knob` maps each to its `Knob`).
pub const CARP_RS_SYSCTL_ALLOW: u32 = 0;
pub const CARP_RS_SYSCTL_PREEMPT: u32 = 1;
pub const CARP_RS_SYSCTL_LOG: u32 = 2;
pub const CARP_RS_SYSCTL_DEMOTION: u32 = 3;
pub const CARP_RS_SYSCTL_SENDERR: u32 = 4;
pub const CARP_RS_SYSCTL_IFDOWN: u32 = 5;
pub const CARP_RS_SYSCTL_DSCP: u32 = 6;
pub const CARP_RS_SYSCTL_ARPBALANCE: u32 = 7;
pub const CARP_RS_SYSCTL_SUPPRESS: u32 = 8;
/// carp_rs: `replay_check`.
pub const CARP_RS_SYSCTL_REPLAY: u32 = 9;
/// carp_rs: `garp_interval`.
pub const CARP_RS_SYSCTL_GARP: u32 = 10;
/// Number of knobs.
pub const CARP_RS_SYSCTL_COUNT: u32 = 11;

const _: () = assert!(Knob::ALL.len() == CARP_RS_SYSCTL_COUNT as usize);

/// The knob behind a `CARP_RS_SYSCTL_*` id.
pub(super) fn knob(id: u32) -> Option<Knob> {
    Some(match id {
        CARP_RS_SYSCTL_ALLOW => Knob::Allow,
        CARP_RS_SYSCTL_PREEMPT => Knob::Preempt,
        CARP_RS_SYSCTL_LOG => Knob::Log,
        CARP_RS_SYSCTL_DEMOTION => Knob::Demotion,
        CARP_RS_SYSCTL_SENDERR => Knob::SenderrDemotionFactor,
        CARP_RS_SYSCTL_IFDOWN => Knob::IfdownDemotionFactor,
        CARP_RS_SYSCTL_DSCP => Knob::Dscp,
        CARP_RS_SYSCTL_ARPBALANCE => Knob::Arpbalance,
        CARP_RS_SYSCTL_SUPPRESS => Knob::SuppressPreempt,
        CARP_RS_SYSCTL_REPLAY => Knob::ReplayCheck,
        CARP_RS_SYSCTL_GARP => Knob::GarpInterval,
        _ => return None,
    })
}

/// One `net.inet.carp` integer sysctl: stores the value before the write
/// in `*old`, then applies `*newval` if `newval` is not NULL.
///
/// # Safety
/// Pointers are NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_sysctl(
    h: *mut CarpRsEngine,
    now_ns: u64,
    knob_id: u32,
    newval: *const i32,
    old: *mut i32,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let (Some(h), Some(k)) = (unsafe { h.as_mut() }, knob(knob_id)) else {
        return EINVAL;
    };
    // SAFETY: per the contract.
    let new = unsafe { newval.as_ref() }.copied();
    let r = sysctl::handle(&mut h.engine, Instant::from_nanos(now_ns), k, new);
    if let Ok(v) = r {
        // SAFETY: per the contract.
        unsafe { put(old, v) };
    }
    errno(&r)
}

/// `CARP_RS_OID_*`: how the shim registers a leaf of `net.inet.carp`
/// (its CTLTYPE/CTLFLAG bits and handler): `CTLTYPE_INT | CTLFLAG_RW`.
pub const CARP_RS_OID_INT: u32 = 0;
/// `CTLTYPE_INT | CTLFLAG_RD`.
pub const CARP_RS_OID_INT_RO: u32 = 1;
/// `CTLFLAG_RWTUN`: a loader tunable too.
pub const CARP_RS_OID_INT_TUN: u32 = 2;
/// `struct carpstats`; a write zeroes it.
pub const CARP_RS_OID_STATS: u32 = 3;
/// A text of `carp_rs_status_text` (arg2 says which).
pub const CARP_RS_OID_TEXT: u32 = 4;

/// One leaf of `net.inet.carp`, as the shim hands it to sysctl_add_oid().
#[repr(C)]
pub struct CarpRsOid {
    pub name: *const c_char,
    pub descr: *const c_char,
    /// `CARP_RS_OID_*`.
    pub kind: u32,
    /// The handler's arg2: the knob (`CARP_RS_SYSCTL_*`) or text number.
    pub arg2: u32,
}

/// The leaves after the knobs: statistics and the diagnostic texts.
const OTHER_OIDS: [(&CStr, &CStr, u32, u32); 3] = [
    (
        c"stats",
        c"CARP statistics (struct carpstats, netinet/ip_carp.h)",
        CARP_RS_OID_STATS,
        0,
    ),
    (
        c"demotion_sources",
        c"Contributions to the demotion, one per line (sum = demotion)",
        CARP_RS_OID_TEXT,
        super::status::CARP_RS_STATUS_DEMOTION_SOURCES,
    ),
    (
        c"vhids",
        c"Per vhid: state, since when and why, adverts, errors",
        CARP_RS_OID_TEXT,
        super::status::CARP_RS_STATUS_VHIDS,
    ),
];

/// Leaf `i` of `net.inet.carp` into `*out`, in registration order: the
/// knobs (`Knob::ALL`; `allow` a loader tunable, as FreeBSD's
/// `CTLFLAG_RWTUN`; `suppress_preempt` read-only), then [`OTHER_OIDS`].
/// ENOENT past the last. The names live as long as the module.
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_sysctl_oid(i: u32, out: *mut CarpRsOid) -> c_int {
    // SAFETY: per the contract.
    let Some(out) = (unsafe { out.as_mut() }) else {
        return EINVAL;
    };
    let (name, descr, kind, arg2) = match knob(i) {
        Some(k) => {
            let kind = match k {
                Knob::Allow => CARP_RS_OID_INT_TUN,
                k if !k.writable() => CARP_RS_OID_INT_RO,
                _ => CARP_RS_OID_INT,
            };
            (k.c_name(), k.c_description(), kind, i)
        }
        None => {
            let rest = usize::try_from(i)
                .ok()
                .and_then(|i| i.checked_sub(Knob::ALL.len()));
            match rest.and_then(|r| OTHER_OIDS.get(r)) {
                Some(&o) => o,
                None => return Errno::ENOENT.0,
            }
        }
    };
    *out = CarpRsOid {
        name: name.as_ptr(),
        descr: descr.as_ptr(),
        kind,
        arg2,
    };
    0
}

/// The reasons FreeBSD's pfsync passes to `carp_demote_adj_p`
/// (`if_pfsync.c`); the log line quotes the caller's text, and the engine
/// keeps only `'static` strings, so known texts map to their own copy.
const EXTERNAL_REASONS: [&str; CARP_RS_DEMOTE_REASONS as usize - 1] = [
    "pfsync bulk start",
    "pfsync bulk done",
    "pfsync bulk fail",
    "pfsync destroy",
];

/// Number of reason ids [`carp_rs_demote_reason_id`] returns: one per
/// known pfsync text, then "external" (the last).
pub const CARP_RS_DEMOTE_REASONS: u32 = 5;

/// The id (`0..CARP_RS_DEMOTE_REASONS`) of a `carp_demote_adj_p` caller's text.
/// Pure: no engine, no lock, no allocation, so the hook can call it in
/// pfsync's locked context and only record `(id, adj)` atomically.
///
/// # Safety
/// `reason` is NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_demote_reason_id(reason: *const u8, len: usize) -> u32 {
    let text: &[u8] = if reason.is_null() || len > isize::MAX as usize {
        &[]
    } else {
        // SAFETY: non-null, `len` readable bytes per the contract.
        unsafe { slice::from_raw_parts(reason, len) }
    };
    EXTERNAL_REASONS
        .iter()
        .position(|r| r.as_bytes() == text)
        .map_or(CARP_RS_DEMOTE_REASONS - 1, |i| i as u32)
}

/// `carp_demote_adj_p(adj, reason)` (pfsync), applied from the task the
/// hook enqueued: adds `adj` to the demotion, logs "demoted by %d to %d
/// (reason)" with the text of reason `id` (out of range: "external") and
/// has every MASTER re-advertise.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_demote_adj_id(
    h: *mut CarpRsEngine,
    now_ns: u64,
    adj: i32,
    id: u32,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return EINVAL;
    };
    let text = EXTERNAL_REASONS
        .get(id as usize)
        .copied()
        .unwrap_or("external");
    h.engine.demote(
        Instant::from_nanos(now_ns),
        adj,
        DemoteReason::External(text),
    );
    0
}

/// The current value of a knob without writing (for the shim's own use,
/// e.g. the log level).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_sysctl_read(h: *const CarpRsEngine, knob_id: u32) -> i32 {
    // SAFETY: shared under the shim's mutex.
    match (unsafe { h.as_ref() }, knob(knob_id)) {
        (Some(h), Some(k)) => sysctl::read(&h.engine, k),
        _ => 0,
    }
}

/// `carp_attach`: adds an address to vhid `vhid` of interface `ifindex`.
/// ENOENT when that vhid was never SET there (as FreeBSD). Stores the
/// vhid's handle in `*id`.
///
/// # Safety
/// Pointers are NULL or valid; `addr` holds an address of family `af`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_addr_attach(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    vhid: u8,
    af: u8,
    addr: *const u8,
    id: *mut u64,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex; the address per the contract.
    let (Some(h), Some(a)) = (unsafe { h.as_mut() }, unsafe { read_addr(af, addr) }) else {
        return EINVAL;
    };
    let r = attach(h, Instant::from_nanos(now_ns), ifindex, vhid, a);
    if let Ok(v) = r {
        // SAFETY: per the contract.
        unsafe { put(id, v.to_raw()) };
    }
    errno(&r)
}

fn attach(
    h: &mut CarpRsEngine,
    now: Instant,
    ifindex: u32,
    vhid: u8,
    a: IpAddr,
) -> Result<VhidId, Errno> {
    if vhid == 0 {
        return Err(Errno::EINVAL);
    }
    let id = h.engine.vhid_lookup(ifindex, vhid).ok_or(Errno::ENOENT)?;
    h.engine.addr_add(now, id, a)?;
    Ok(id)
}

/// `carp_detach`: removes the address; unless `keep` (an address being
/// replaced by `SIOCAIFADDR`), a vhid left without addresses is destroyed
/// (a MASTER bows out first). `*destroyed` tells the shim.
///
/// # Safety
/// Pointers are NULL or valid; `addr` holds an address of family `af`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_addr_detach(
    h: *mut CarpRsEngine,
    now_ns: u64,
    id: u64,
    af: u8,
    addr: *const u8,
    keep: c_int,
    destroyed: *mut c_int,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex; the address per the contract.
    let (Some(h), Some(a)) = (unsafe { h.as_mut() }, unsafe { read_addr(af, addr) }) else {
        return EINVAL;
    };
    let now = Instant::from_nanos(now_ns);
    let id = VhidId::from_raw(id);
    let r = h
        .engine
        .addr_remove(now, id, a)
        .map_err(Errno::from)
        .and_then(|()| {
            let empty = h.engine.addrs_v4(id).is_empty() && h.engine.addrs_v6(id).is_empty();
            if keep == 0 && empty {
                h.engine.vhid_remove(now, id)?;
                Ok(true)
            } else {
                Ok(false)
            }
        });
    if let Ok(d) = r {
        // SAFETY: per the contract.
        unsafe { put(destroyed, c_int::from(d)) };
    }
    errno(&r)
}

/// Destroys a vhid outright (module unload, parent departure).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_vhid_remove(h: *mut CarpRsEngine, now_ns: u64, id: u64) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return EINVAL;
    };
    let r = h
        .engine
        .vhid_remove(Instant::from_nanos(now_ns), VhidId::from_raw(id))
        .map_err(Errno::from);
    errno(&r)
}

/// Number of live vhids on `ifindex` (the shim frees the parent's
/// `if_carp` when it drops to 0).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_iface_vhids(h: *const CarpRsEngine, ifindex: u32) -> u32 {
    // SAFETY: shared under the shim's mutex.
    let Some(h) = (unsafe { h.as_ref() }) else {
        return 0;
    };
    crate::ctl::vhids_on(&h.engine, ifindex).count() as u32
}

/// The raw handles of every live vhid, for teardown; returns how many
/// there are (it may exceed `n`, of which only `n` are written).
///
/// # Safety
/// `h` is NULL or a live handle; `out` NULL or room for `n` u64s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_vhid_list(
    h: *const CarpRsEngine,
    out: *mut u64,
    n: usize,
) -> usize {
    // SAFETY: shared under the shim's mutex.
    let Some(h) = (unsafe { h.as_ref() }) else {
        return 0;
    };
    let mut count = 0usize;
    for id in h.engine.vhids() {
        if count < n && !out.is_null() {
            // SAFETY: count < n, the caller's capacity.
            unsafe { out.add(count).write_unaligned(id.to_raw()) };
        }
        count += 1;
    }
    count
}

/// `ifnet_departure_event`: every vhid of the departing interface goes
/// (its addresses were purged before; a vhid without addresses is not
/// running, so nothing is sent), and every carpN bound to it is unbound,
/// its addresses forgotten ([`crate::ctl::legacy::Clones::parent_departed`]).
/// Returns how many vhids were removed.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_iface_depart(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
) -> u32 {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return 0;
    };
    let now = Instant::from_nanos(now_ns);
    let mut n = h.clones.parent_departed(&mut h.engine, now, ifindex);
    loop {
        let next = h
            .engine
            .vhids()
            .find(|id| h.engine.vhid_iface(*id) == Some(ifindex));
        let Some(id) = next else {
            break;
        };
        if h.engine.vhid_remove(now, id).is_err() {
            break;
        }
        n = n.saturating_add(1);
    }
    n
}

/// Parent `ifindex` came up (IFF_UP and LINK_STATE_UP) or went down.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_link_state(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    up: c_int,
) {
    // SAFETY: exclusive under the shim's mutex.
    if let Some(h) = unsafe { h.as_mut() } {
        h.engine
            .link_state(Instant::from_nanos(now_ns), ifindex, up != 0);
    }
}

/// The parent's own addresses adverts are sent from (NULL: none of that
/// family). IPv6 in on-wire form (no embedded scope).
///
/// # Safety
/// Pointers are NULL or valid (4 / 16 bytes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_iface_addrs(
    h: *mut CarpRsEngine,
    ifindex: u32,
    v4: *const u8,
    v6: *const u8,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return EINVAL;
    };
    // SAFETY: per the contract.
    let v4 = match unsafe { read_addr(super::CARP_RS_AF_INET, v4) } {
        Some(IpAddr::V4(a)) => Some(a),
        _ => None::<Ipv4Addr>,
    };
    // SAFETY: per the contract.
    let v6 = match unsafe { read_addr(super::CARP_RS_AF_INET6, v6) } {
        Some(IpAddr::V6(a)) => Some(a),
        _ => None::<Ipv6Addr>,
    };
    let r = h
        .engine
        .set_iface_addrs(ifindex, v4, v6)
        .map_err(Errno::from);
    errno(&r)
}

/// The state of vhid `id` (0 INIT, 1 BACKUP, 2 MASTER); -1 if unknown.
///
/// # Safety
/// `h` is NULL or a live handle.
#[cfg(test)]
pub(crate) unsafe fn carp_rs_vhid_state(h: *const CarpRsEngine, id: u64) -> c_int {
    // SAFETY: shared under the shim's mutex.
    match unsafe { h.as_ref() }.and_then(|h| h.engine.vhid_state(VhidId::from_raw(id))) {
        Some(s) => s as c_int,
        None => -1,
    }
}

/// Reports whether the advert for (`ifindex`, `vhid`) left (`ok` != 0) or
/// `ip_output` failed, for send-error demotion.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_tx_result(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    vhid: u8,
    ok: c_int,
) {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return;
    };
    if let Some(id) = h.engine.vhid_lookup(ifindex, vhid) {
        h.engine
            .transmit_result(Instant::from_nanos(now_ns), id, ok != 0);
    }
}

/// Seeds the initial-counter generator (the shim passes arc4random output).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_seed(h: *mut CarpRsEngine, seed: u64) {
    // SAFETY: exclusive under the shim's mutex.
    if let Some(h) = unsafe { h.as_mut() } {
        h.engine.seed_rng(seed);
    }
}

/// Counts a packet the shim dropped before the engine saw it (too short
/// to hold a header, or an mbuf it could not allocate on output).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_count(h: *mut CarpRsEngine, nomem: c_int) {
    // SAFETY: exclusive under the shim's mutex.
    if let Some(h) = unsafe { h.as_mut() } {
        if nomem != 0 {
            h.engine.count_onomem();
        } else {
            h.engine.count_hdrop();
        }
    }
}

/// Whether `state` is a state number GET can report.
pub(super) fn state_u8(s: State) -> u8 {
    s as u8
}
