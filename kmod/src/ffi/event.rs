//! Event drain and data-path queries. The shim gets each engine event with
//! its log line and devd strings already formatted (FreeBSD's wording, in
//! `ctl::log`), so all it does is `log(9)`, `devctl_notify(9)` and the
//! ifnet work (GARP, NA, routes, carpN link state).

use core::ffi::{c_int, c_void};

use super::ctl::state_u8;
use super::engine::CarpRsEngine;
use super::CStrByte;
use crate::ctl::log;
use crate::engine::{Event, Reason};

/// `CARP_RS_EV_*`.
pub const CARP_RS_EV_STATE: u32 = 1;
pub const CARP_RS_EV_ANNOUNCE: u32 = 2;
pub const CARP_RS_EV_DEMOTED: u32 = 3;
pub const CARP_RS_EV_BADPACKET: u32 = 4;
/// Split brain, bad authentication, protocol clash.
pub const CARP_RS_EV_CONFLICT: u32 = 5;

/// syslog priorities of `log(9)`.
pub const LOG_INFO: u8 = 6;
pub const LOG_DEBUG: u8 = 7;

/// `struct carp_rs_event`. Strings are NUL-terminated; an empty `log`
/// means "nothing to log", an empty `devd_subsystem` "no devd event".
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CarpRsEvent {
    pub kind: u32,
    /// The parent interface (0 for demotion).
    pub ifindex: u32,
    /// `VhidId::to_raw` (0 for demotion).
    pub id: u64,
    /// The legacy carpN owning this vhid, 0 if none.
    pub legacy_ifindex: u32,
    /// New `if_link_state` for that carpN, -1 if unchanged.
    pub legacy_link: i32,
    pub vhid: u8,
    pub from: u8,
    pub to: u8,
    /// `LOG_INFO`, `LOG_DEBUG`, or 0 with an empty `log`.
    pub log_pri: u8,
    pub pad: [u8; 4],
    /// The `log(9)` line, FreeBSD's wording.
    pub log: [CStrByte; 124],
    /// `devctl_notify("CARP", devd_subsystem, devd_type)`; empty: none.
    pub devd_subsystem: [CStrByte; 24],
    pub devd_type: [CStrByte; 12],
}

impl Default for CarpRsEvent {
    fn default() -> Self {
        CarpRsEvent {
            kind: 0,
            ifindex: 0,
            id: 0,
            legacy_ifindex: 0,
            legacy_link: -1,
            vhid: 0,
            from: 0,
            to: 0,
            log_pri: 0,
            pad: [0; 4],
            log: [0; 124],
            devd_subsystem: [0; 24],
            devd_type: [0; 12],
        }
    }
}

/// The shim's interface-name lookup: writes the name of `ifindex` (no NUL)
/// into `buf` and returns its length, 0 if unknown.
pub type IfNameFn = Option<
    unsafe extern "C" fn(arg: *mut c_void, ifindex: u32, buf: *mut CStrByte, len: usize) -> usize,
>;

/// Formats into `dst` with `f`, keeping a terminating NUL.
fn cstr(dst: &mut [u8], f: impl FnOnce(&mut [u8]) -> usize) -> usize {
    let Some(last) = dst.len().checked_sub(1) else {
        return 0;
    };
    let n = dst.get_mut(..last).map_or(0, f).min(last);
    if let Some(b) = dst.get_mut(n) {
        *b = 0;
    }
    n
}

/// Takes the next engine event into `*ev`: `CARP_RS_OK` when there was
/// one, `CARP_RS_DROPPED` when the queue is empty, `CARP_RS_EINVAL` on a
/// NULL argument.
///
/// # Safety
/// `h` is NULL or a live handle; `ev` NULL or writable; `ifname` NULL or a
/// function honouring [`IfNameFn`] with `arg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_engine_event(
    h: *mut CarpRsEngine,
    ifname: IfNameFn,
    arg: *mut c_void,
    ev: *mut CarpRsEvent,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return super::CARP_RS_EINVAL;
    };
    if ev.is_null() {
        return super::CARP_RS_EINVAL;
    }
    let (e, resync) = match h.engine.poll_event() {
        Some(e) => (e, false),
        None => match resync_event(h) {
            Some(e) => (e, true),
            None => return super::CARP_RS_DROPPED,
        },
    };
    let mut out = CarpRsEvent::default();
    let iface = match e {
        Event::StateChanged { iface, .. }
        | Event::Announce { iface, .. }
        | Event::BadPacket { iface, .. }
        | Event::Conflict { iface, .. } => iface,
        Event::Demoted { .. } => 0,
    };
    let mut name = [0u8; 16];
    let nlen = match ifname {
        // SAFETY: the callback writes at most `name.len()` bytes per the contract.
        Some(f) if iface != 0 => unsafe { f(arg, iface, name.as_mut_ptr(), name.len()) },
        _ => 0,
    };
    let name = name.get(..nlen).unwrap_or(&[]);
    out.ifindex = iface;
    let level = h.engine.knobs().log;
    let n = if resync {
        0
    } else {
        cstr(&mut out.log, |b| log::event(b, level, &e, name))
    };
    if n > 0 {
        out.log_pri = if matches!(e, Event::BadPacket { .. }) {
            LOG_DEBUG
        } else {
            LOG_INFO
        };
    }
    match e {
        Event::StateChanged {
            id, vhid, from, to, ..
        } => {
            out.kind = CARP_RS_EV_STATE;
            out.id = id.to_raw();
            out.vhid = vhid;
            out.from = state_u8(from);
            out.to = state_u8(to);
            cstr(&mut out.devd_subsystem, |b| {
                log::devd_subsystem(b, vhid, name)
            });
            cstr(&mut out.devd_type, |b| {
                let t = log::devd_type(to).as_bytes();
                for (d, s) in b.iter_mut().zip(t) {
                    *d = *s;
                }
                t.len()
            });
            if let Some((carpn, link)) = h.clones.on_event(&e) {
                out.legacy_ifindex = carpn;
                out.legacy_link = link.map_or(-1, |l| l as i32);
            }
        }
        Event::Announce { id, vhid, .. } => {
            out.kind = CARP_RS_EV_ANNOUNCE;
            out.id = id.to_raw();
            out.vhid = vhid;
            if let Some(c) = h.clones.owner(iface, vhid) {
                out.legacy_ifindex = c.ifindex();
            }
        }
        Event::Demoted { .. } => out.kind = CARP_RS_EV_DEMOTED,
        Event::Conflict {
            id, vhid, ref kind, ..
        } => {
            out.kind = CARP_RS_EV_CONFLICT;
            out.id = id.to_raw();
            out.vhid = vhid;
            cstr(&mut out.devd_subsystem, |b| {
                log::devd_subsystem(b, vhid, name)
            });
            cstr(&mut out.devd_type, |b| {
                let t = log::conflict_devd_type(kind).as_bytes();
                for (d, s) in b.iter_mut().zip(t) {
                    *d = *s;
                }
                t.len()
            });
        }
        Event::BadPacket { vhid, .. } => {
            out.kind = CARP_RS_EV_BADPACKET;
            out.vhid = vhid;
        }
    }
    // SAFETY: non-null and writable per the contract.
    unsafe { ev.write_unaligned(out) };
    super::CARP_RS_OK
}

/// After the engine dropped events (its queue was full while the shim was
/// slow to drain it), one `StateChanged` per live vhid with `from == to ==`
/// its current state, so that the shim, which applies state events
/// idempotently, converges on the engine's state: routes, carpN link
/// state and the last devd event.  Nothing is lost for good, whatever
/// was dropped.
fn resync_event(h: &mut CarpRsEngine) -> Option<Event> {
    let cursor = match h.resync {
        Some(c) => c,
        None => {
            let lost = h.engine.events_dropped();
            if lost == h.lost_seen {
                return None;
            }
            h.lost_seen = lost;
            0
        }
    };
    let Some(id) = h.engine.vhids().nth(cursor) else {
        h.resync = None;
        return None;
    };
    h.resync = Some(cursor.saturating_add(1));
    let state = h.engine.vhid_state(id)?;
    Some(Event::StateChanged {
        id,
        iface: h.engine.vhid_iface(id)?,
        vhid: h.engine.vhid_config(id)?.vhid,
        from: state,
        to: state,
        reason: Reason::UserRequested,
    })
}

/// `carp_forus`: 1 if `mac` is the virtual MAC of a MASTER vhid on
/// `ifindex`.
///
/// # Safety
/// `h` is NULL or a live handle; `mac` NULL or 6 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_forus(
    h: *const CarpRsEngine,
    ifindex: u32,
    mac: *const u8,
) -> c_int {
    // SAFETY: shared under the shim's mutex.
    let Some(h) = (unsafe { h.as_ref() }) else {
        return 0;
    };
    if mac.is_null() {
        return 0;
    }
    // SAFETY: 6 readable bytes per the contract.
    let mac = unsafe { mac.cast::<[u8; 6]>().read_unaligned() };
    c_int::from(h.engine.forus(ifindex, &mac))
}

/// `carp_master`/`carp_iamatch6`: 1 if vhid `vhid` of `ifindex` is MASTER.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_is_master(
    h: *const CarpRsEngine,
    ifindex: u32,
    vhid: u8,
) -> c_int {
    // SAFETY: shared under the shim's mutex.
    match unsafe { h.as_ref() } {
        Some(h) => c_int::from(h.engine.is_master(ifindex, vhid)),
        None => 0,
    }
}

/// Whether the link-layer ARP hook (`carp_rs_arp_filter`) is needed:
/// arpbalance is on. The shim links its pfil hook only then, so frames
/// pay nothing otherwise; it asks after every knob write.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_arp_filter_wanted(h: *const CarpRsEngine) -> c_int {
    // SAFETY: shared under the shim's mutex.
    unsafe { h.as_ref() }.map_or(0, |h| c_int::from(h.engine.knobs().arpbalance))
}

/// FreeBSD 9's arpbalance at the link layer (`carp_iamatch` with the
/// requester's address): 1 if the Ethernet frame of `len` bytes at
/// `frame`, received on `ifindex`, is an ARP request for a shared VIP that
/// another host answers, so the caller drops it; 0 to pass it on to ARP
/// input. Counted in the engine.
///
/// # Safety
/// `h` is NULL or a live handle; `frame` NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_arp_filter(
    h: *mut CarpRsEngine,
    ifindex: u32,
    frame: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return 0;
    };
    if frame.is_null() {
        return 0;
    }
    // SAFETY: `len` readable bytes per the contract.
    let bytes = unsafe { core::slice::from_raw_parts(frame, len) };
    c_int::from(h.engine.arp_filter(ifindex, bytes))
}

/// The log line (NUL-terminated in `buf`) for a VIP carp_rs removes at
/// unload: `carp: <addr> removed from <ifname>: module unloaded`.
/// `af` is `CARP_RS_AF_INET`/`_INET6`, `addr` 4 or 16 bytes. Returns the
/// text length (0 on bad arguments).
///
/// # Safety
/// `addr` NULL or readable for its family; `ifname` NULL or `ifname_len`
/// readable bytes; `buf` NULL or `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_log_addr_removed(
    af: u8,
    addr: *const u8,
    ifname: *const u8,
    ifname_len: usize,
    buf: *mut u8,
    len: usize,
) -> usize {
    if addr.is_null() || ifname.is_null() || buf.is_null() || len == 0 || ifname_len > 16 {
        return 0;
    }
    // SAFETY: per the contract, for the family's length.
    let ip = match af {
        super::CARP_RS_AF_INET => {
            core::net::IpAddr::from(unsafe { addr.cast::<[u8; 4]>().read_unaligned() })
        }
        super::CARP_RS_AF_INET6 => {
            core::net::IpAddr::from(unsafe { addr.cast::<[u8; 16]>().read_unaligned() })
        }
        _ => return 0,
    };
    // SAFETY: per the contract.
    let (name, out) = unsafe {
        (
            core::slice::from_raw_parts(ifname, ifname_len),
            core::slice::from_raw_parts_mut(buf, len),
        )
    };
    cstr(out, |b| log::addr_removed(b, ip, name))
}
