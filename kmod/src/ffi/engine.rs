//! Engine lifetime, packet input, timers, statistics and transmit drain.

use alloc::alloc::{alloc, dealloc, Layout};
use core::ffi::{c_int, c_void};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::ptr::{self, NonNull};

use super::tx::{addr_bytes, CarpRsTx};
use super::{
    CARP_RS_AF_INET, CARP_RS_AF_INET6, CARP_RS_DROPPED, CARP_RS_EINVAL, CARP_RS_NSTATS, CARP_RS_OK,
    CARP_RS_TXBUF_MIN,
};
use crate::ctl::legacy::Clones;
use crate::engine::{Engine, Instant, Received, Stats};
use crate::wire::ip;

/// `struct carp_rs_engine`, opaque to C: the engine and the legacy `carpN`
/// registry that feeds it.
pub struct CarpRsEngine {
    pub(super) engine: Engine,
    pub(super) clones: Clones,
    /// carpstats of packets the shim drops before the engine could see
    /// them (an IPv6 advert on a parent without vhids: only the shim knows
    /// `if_carp`); added to the engine's counters on read.
    pub(super) shim_stats: Stats,
    /// Resynchronisation after lost events (`event.rs`): the engine's
    /// dropped-event count already answered, and the next vhid to report
    /// while a resync is running.
    pub(super) lost_seen: u64,
    pub(super) resync: Option<usize>,
}

// The stats copy-out reads `Stats` as the 16 counters of `struct carpstats`.
const _: () = assert!(core::mem::size_of::<Stats>() == CARP_RS_NSTATS * 8);
const _: () = assert!(core::mem::align_of::<Stats>() == core::mem::align_of::<u64>());

/// Creates an engine; NULL when memory is short (the module load then fails
/// with ENOMEM instead of panicking).
#[unsafe(no_mangle)]
pub extern "C" fn carp_rs_engine_new() -> *mut CarpRsEngine {
    let layout = Layout::new::<CarpRsEngine>();
    // SAFETY: `CarpRsEngine` holds an `Engine`, so the layout is not empty.
    let Some(p) = NonNull::new(unsafe { alloc(layout) }.cast::<CarpRsEngine>()) else {
        return ptr::null_mut();
    };
    // SAFETY: `p` is a fresh allocation of the right size and alignment.
    unsafe {
        p.as_ptr().write(CarpRsEngine {
            engine: Engine::new(),
            clones: Clones::new(),
            shim_stats: Stats::default(),
            lost_seen: 0,
            resync: None,
        })
    };
    p.as_ptr()
}

/// Destroys an engine made by [`carp_rs_engine_new`]; NULL is ignored.
///
/// # Safety
/// `h` is NULL or a live handle, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_engine_free(h: *mut CarpRsEngine) {
    if h.is_null() {
        return;
    }
    // SAFETY: the caller hands over a live handle from `carp_rs_engine_new`,
    // which allocated it with this layout.
    unsafe {
        ptr::drop_in_place(h);
        dealloc(h.cast(), Layout::new::<CarpRsEngine>());
    }
}

/// Reads an address of family `af` (`CARP_RS_AF_*`) from `p`.
///
/// # Safety
/// `p` is NULL or points at 4 (IPv4) or 16 (IPv6) readable bytes.
pub(super) unsafe fn read_addr(af: u8, p: *const u8) -> Option<IpAddr> {
    if p.is_null() {
        return None;
    }
    match af {
        // SAFETY: the caller promises 4 bytes; read_unaligned needs no alignment.
        CARP_RS_AF_INET => Some(IpAddr::V4(Ipv4Addr::from(unsafe {
            p.cast::<[u8; 4]>().read_unaligned()
        }))),
        // SAFETY: likewise, 16 bytes.
        CARP_RS_AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(unsafe {
            p.cast::<[u8; 16]>().read_unaligned()
        }))),
        _ => None,
    }
}

/// Feeds one received CARP/VRRP packet (the bytes after the IP header).
///
/// Returns `CARP_RS_OK`, `CARP_RS_DROPPED` (counted in the stats) or
/// `CARP_RS_EINVAL`.
///
/// # Safety
/// `h` is NULL or a live handle; `src`/`dst` are NULL or hold an address of
/// family `af`; `payload` is NULL or points at `len` readable bytes that stay
/// unchanged during the call.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn carp_rs_engine_input(
    h: *mut CarpRsEngine,
    now_ns: u64,
    ifindex: u32,
    af: u8,
    src: *const u8,
    dst: *const u8,
    ttl: u8,
    payload: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: the shim's mutex makes this the only reference.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return CARP_RS_EINVAL;
    };
    // SAFETY: forwarded caller promises.
    let (Some(src), Some(dst)) = (unsafe { read_addr(af, src) }, unsafe { read_addr(af, dst) })
    else {
        return CARP_RS_EINVAL;
    };
    if payload.is_null() || len > isize::MAX as usize {
        return CARP_RS_EINVAL;
    }
    // SAFETY: non-null, `len` readable bytes per the contract, len <= isize::MAX.
    let payload = unsafe { core::slice::from_raw_parts(payload, len) };
    let rx = Received {
        iface: ifindex,
        src,
        dst,
        ttl,
        payload,
    };
    match h.engine.handle_packet(Instant::from_nanos(now_ns), &rx) {
        Ok(()) => CARP_RS_OK,
        Err(_) => CARP_RS_DROPPED,
    }
}

/// The next deadline in the ABI's encoding: nanoseconds, 0 for none.
fn deadline_ns(engine: &Engine) -> u64 {
    match engine.poll_timeout() {
        None => 0,
        // A deadline at the epoch itself is already due; 1 keeps it non-zero.
        Some(t) => t.as_nanos().max(1),
    }
}

/// Runs every timer due at `now_ns` and returns the next deadline (ns on
/// the same clock, 0 for none) for the shim's callout.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_engine_timeout(h: *mut CarpRsEngine, now_ns: u64) -> u64 {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return 0;
    };
    h.engine.handle_timeout(Instant::from_nanos(now_ns));
    deadline_ns(&h.engine)
}

/// The next deadline without running timers (ns, 0 for none).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_engine_deadline(h: *const CarpRsEngine) -> u64 {
    // SAFETY: a shared borrow under the shim's mutex.
    match unsafe { h.as_ref() } {
        Some(h) => deadline_ns(&h.engine),
        None => 0,
    }
}

/// Copies up to `n` counters, in `struct carpstats` order, to `out`;
/// returns how many were written (0 on a NULL argument).
///
/// # Safety
/// `h` is NULL or a live handle; `out` is NULL or has room for `n` u64s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_engine_stats(
    h: *const CarpRsEngine,
    out: *mut u64,
    n: usize,
) -> usize {
    // SAFETY: a shared borrow under the shim's mutex.
    let Some(h) = (unsafe { h.as_ref() }) else {
        return 0;
    };
    if out.is_null() {
        return 0;
    }
    let engine = h.engine.stats().as_array();
    let shim = h.shim_stats.as_array();
    let n = n.min(CARP_RS_NSTATS);
    for (i, (e, s)) in engine.iter().zip(shim.iter()).take(n).enumerate() {
        // SAFETY: i < n <= the caller's capacity.
        unsafe { out.add(i).write_unaligned(e.saturating_add(*s)) };
    }
    n
}

/// Why the shim dropped a packet before the engine saw it
/// ([`carp_rs_input_drop`]): `carp6_input` on a parent whose `if_carp` is
/// NULL (`badif`, counted before the packet is looked at; the engine would
/// say `badvhid`).
pub const CARP_RS_DROP_BADIF: c_int = 0;
/// A payload larger than the largest CARP or VRRP advert the engine takes
/// (`badlen`): the shim copies no more than that.
pub const CARP_RS_DROP_BADLEN: c_int = 1;

/// Counts a packet the shim dropped before the engine, as `carp_input` and
/// `carp6_input` count: `ipackets` or `ipackets6` always, then, while
/// `net.inet.carp.allow` is on, the counter of `why` (`CARP_RS_DROP_*`).
/// Returns `CARP_RS_DROPPED`, or `CARP_RS_EINVAL` on a NULL handle or an
/// unknown family or reason.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_input_drop(h: *mut CarpRsEngine, af: u8, why: c_int) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return CARP_RS_EINVAL;
    };
    let allow = h.engine.knobs().allow;
    let s = &mut h.shim_stats;
    let received = match af {
        CARP_RS_AF_INET => &mut s.ipackets,
        CARP_RS_AF_INET6 => &mut s.ipackets6,
        _ => return CARP_RS_EINVAL,
    };
    let counter = match why {
        CARP_RS_DROP_BADIF => &mut s.badif,
        CARP_RS_DROP_BADLEN => &mut s.badlen,
        _ => return CARP_RS_EINVAL,
    };
    *counter = counter.saturating_add(u64::from(allow));
    *received = received.saturating_add(1);
    CARP_RS_DROPPED
}

/// Zeroes the counters (a write to `net.inet.carp.stats`, `netstat -z`).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_engine_stats_reset(h: *mut CarpRsEngine) {
    // SAFETY: exclusive under the shim's mutex.
    if let Some(h) = unsafe { h.as_mut() } {
        h.engine.reset_stats();
        h.shim_stats = Stats::default();
    }
}

/// `carp_rs_srcaddr_fn`: writes the parent's best IPv4 address (4 bytes)
/// and IPv6 address (16 bytes, scope cleared) and returns
/// `CARP_RS_SRC_V4 | CARP_RS_SRC_V6` for those it has, or -1 when it does
/// not know the parent (the engine keeps what it had).
pub type SrcAddrFn =
    Option<unsafe extern "C" fn(arg: *mut c_void, ifindex: u32, v4: *mut u8, v6: *mut u8) -> c_int>;

/// The parent has an IPv4 address: `v4` holds it.
pub const CARP_RS_SRC_V4: c_int = 1;
/// The parent has an IPv6 address: `v6` holds it.
pub const CARP_RS_SRC_V6: c_int = 2;

/// Asks the shim's `srcaddr` for the addresses of `iface`.
///
/// # Safety
/// `srcaddr` is `None` or a function honouring [`SrcAddrFn`] with `arg`.
unsafe fn ask_source(
    srcaddr: SrcAddrFn,
    arg: *mut c_void,
    iface: u32,
) -> Option<(Option<Ipv4Addr>, Option<Ipv6Addr>)> {
    let f = srcaddr?;
    let (mut v4, mut v6) = ([0u8; 4], [0u8; 16]);
    // SAFETY: the buffers are 4 and 16 writable bytes, as the type says.
    let got = unsafe { f(arg, iface, v4.as_mut_ptr(), v6.as_mut_ptr()) };
    if got < 0 {
        return None;
    }
    Some((
        (got & CARP_RS_SRC_V4 != 0).then(|| Ipv4Addr::from(v4)),
        (got & CARP_RS_SRC_V6 != 0).then(|| Ipv6Addr::from(v6)),
    ))
}

/// Takes the next outgoing packet: writes its payload to `buf` and its
/// metadata to `*tx`. Returns `CARP_RS_OK` when a packet was produced,
/// `CARP_RS_DROPPED` when none is pending, `CARP_RS_EINVAL` on a NULL
/// argument or a buffer under `CARP_RS_TXBUF_MIN` bytes. The shim calls it
/// until it stops returning `CARP_RS_OK`. `srcaddr` (may be NULL) is asked
/// for the parent's addresses as each advert is written, as
/// `carp_send_ad_locked` calls `carp_best_ifa`.
///
/// # Safety
/// `h` is NULL or a live handle; `srcaddr` is NULL or honours
/// [`SrcAddrFn`] with `arg`; `buf` is NULL or `buflen` writable bytes;
/// `tx` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_engine_transmit(
    h: *mut CarpRsEngine,
    srcaddr: SrcAddrFn,
    arg: *mut c_void,
    buf: *mut u8,
    buflen: usize,
    tx: *mut CarpRsTx,
) -> c_int {
    // SAFETY: exclusive under the shim's mutex.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return CARP_RS_EINVAL;
    };
    if buf.is_null() || tx.is_null() || buflen < CARP_RS_TXBUF_MIN || buflen > isize::MAX as usize {
        return CARP_RS_EINVAL;
    }
    // SAFETY: non-null, `buflen` writable bytes per the contract.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, buflen) };
    loop {
        // SAFETY: `srcaddr` and `arg` per this function's contract.
        let mut source = |iface| unsafe { ask_source(srcaddr, arg, iface) };
        // The payload goes after room for the longest header, then moves
        // up behind the header of its family.
        let Some(t) = buf
            .get_mut(ip::V6_HEADER_LEN..)
            .and_then(|b| h.engine.poll_transmit_with(b, &mut source))
        else {
            return CARP_RS_DROPPED;
        };
        let (af, src) = addr_bytes(t.src);
        let (_, dst) = addr_bytes(t.dst);
        let hlen = if af == CARP_RS_AF_INET {
            ip::V4_HEADER_LEN
        } else {
            ip::V6_HEADER_LEN
        };
        let end = ip::V6_HEADER_LEN.saturating_add(t.len);
        if end > buflen {
            continue;
        }
        buf.copy_within(ip::V6_HEADER_LEN..end, hlen);
        // A packet the engine could not describe consistently is skipped
        // rather than sent malformed.
        if ip::write_header(buf, t.src, t.dst, t.tos, t.ttl, t.len) != Some(hlen) {
            continue;
        }
        let Ok(len) = u32::try_from(hlen.saturating_add(t.len)) else {
            continue;
        };
        let out = CarpRsTx {
            ifindex: t.iface,
            len,
            vhid: t.vhid,
            af,
            ttl: t.ttl,
            tos: t.tos,
            has_src_mac: u8::from(t.src_mac.is_some()),
            src_mac: t.src_mac.unwrap_or([0; 6]),
            hlen: hlen as u8,
            src,
            dst,
        };
        // SAFETY: `tx` is non-null and writable per the contract.
        unsafe { tx.write_unaligned(out) };
        return CARP_RS_OK;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn null_handles_are_rejected_not_dereferenced() {
        let a = [192u8, 0, 2, 1];
        let p = [0u8; 36];
        let mut stats = [0u64; CARP_RS_NSTATS];
        let mut buf = [0u8; CARP_RS_TXBUF_MIN];
        let mut tx = CarpRsTx::default();
        unsafe {
            let null = ptr::null_mut();
            assert_eq!(
                carp_rs_engine_input(
                    null,
                    1,
                    1,
                    CARP_RS_AF_INET,
                    a.as_ptr(),
                    a.as_ptr(),
                    255,
                    p.as_ptr(),
                    p.len()
                ),
                CARP_RS_EINVAL
            );
            assert_eq!(carp_rs_engine_timeout(null, 1), 0);
            assert_eq!(carp_rs_engine_deadline(null), 0);
            assert_eq!(
                carp_rs_engine_stats(null, stats.as_mut_ptr(), stats.len()),
                0
            );
            carp_rs_engine_stats_reset(null);
            assert_eq!(
                carp_rs_engine_transmit(
                    null,
                    None,
                    ptr::null_mut(),
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut tx
                ),
                CARP_RS_EINVAL
            );
            carp_rs_engine_free(null);
        }
    }

    #[test]
    fn bad_arguments_are_rejected() {
        let h = carp_rs_engine_new();
        assert!(!h.is_null());
        let a = [192u8, 0, 2, 1];
        let p = [0u8; 36];
        let mut buf = [0u8; CARP_RS_TXBUF_MIN];
        let mut tx = CarpRsTx::default();
        unsafe {
            for (af, src, dst, pl) in [
                (9u8, a.as_ptr(), a.as_ptr(), p.as_ptr()),
                (CARP_RS_AF_INET, ptr::null(), a.as_ptr(), p.as_ptr()),
                (CARP_RS_AF_INET, a.as_ptr(), ptr::null(), p.as_ptr()),
                (CARP_RS_AF_INET, a.as_ptr(), a.as_ptr(), ptr::null()),
            ] {
                assert_eq!(
                    carp_rs_engine_input(h, 1, 1, af, src, dst, 255, pl, p.len()),
                    CARP_RS_EINVAL
                );
            }
            assert_eq!(carp_rs_engine_stats(h, ptr::null_mut(), 16), 0);
            assert_eq!(
                carp_rs_engine_transmit(h, None, ptr::null_mut(), buf.as_mut_ptr(), 100, &mut tx),
                CARP_RS_EINVAL
            );
            assert_eq!(
                carp_rs_engine_transmit(
                    h,
                    None,
                    ptr::null_mut(),
                    buf.as_mut_ptr(),
                    buf.len(),
                    ptr::null_mut()
                ),
                CARP_RS_EINVAL
            );
            carp_rs_engine_free(h);
        }
    }

    #[test]
    fn input_is_counted_and_stats_copy_out_and_reset() {
        let h = carp_rs_engine_new();
        let src = [192u8, 0, 2, 1];
        let dst = [224u8, 0, 0, 18];
        let short = [0x21u8, 1, 0, 0];
        unsafe {
            // No vhid is configured and the packet is short: dropped.
            assert_eq!(
                carp_rs_engine_input(
                    h,
                    1_000,
                    1,
                    CARP_RS_AF_INET,
                    src.as_ptr(),
                    dst.as_ptr(),
                    255,
                    short.as_ptr(),
                    short.len()
                ),
                CARP_RS_DROPPED
            );
            let mut stats = [u64::MAX; CARP_RS_NSTATS + 2];
            assert_eq!(
                carp_rs_engine_stats(h, stats.as_mut_ptr(), stats.len()),
                CARP_RS_NSTATS
            );
            assert_eq!(stats[0], 1, "ipackets");
            assert_eq!(stats[1], 0, "ipackets6");
            assert_eq!(
                stats[CARP_RS_NSTATS],
                u64::MAX,
                "wrote past the 16 counters"
            );
            // A short copy writes only what was asked for.
            let mut two = [7u64; 3];
            assert_eq!(carp_rs_engine_stats(h, two.as_mut_ptr(), 2), 2);
            assert_eq!(two, [1, 0, 7]);
            carp_rs_engine_stats_reset(h);
            assert_eq!(carp_rs_engine_stats(h, stats.as_mut_ptr(), 1), 1);
            assert_eq!(stats[0], 0);
            carp_rs_engine_free(h);
        }
    }

    #[test]
    fn idle_engine_has_no_deadline_and_nothing_to_send() {
        let h = carp_rs_engine_new();
        let mut buf = [0u8; CARP_RS_TXBUF_MIN];
        let mut tx = CarpRsTx::default();
        unsafe {
            assert_eq!(carp_rs_engine_deadline(h), 0);
            assert_eq!(carp_rs_engine_timeout(h, 5_000_000_000), 0);
            assert_eq!(
                carp_rs_engine_transmit(
                    h,
                    None,
                    ptr::null_mut(),
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut tx
                ),
                CARP_RS_DROPPED
            );
            carp_rs_engine_free(h);
        }
    }
}
