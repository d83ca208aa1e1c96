//! The text sysctls `net.inet.carp.demotion_sources` and
//! `net.inet.carp.vhids` (`ctl::status`), for the shim's `SYSCTL_PROC`
//! handlers: the shim allocates nothing for them; it formats into its own
//! buffer under the engine mutex and copies out after dropping it.

use core::ffi::c_void;

use super::engine::CarpRsEngine;
use super::event::IfNameFn;
use super::CStrByte;
use crate::ctl::status;
use crate::engine::Instant;

/// `CARP_RS_STATUS_*`: which text.
pub const CARP_RS_STATUS_DEMOTION_SOURCES: u32 = 0;
pub const CARP_RS_STATUS_VHIDS: u32 = 1;

/// Formats text `which` into `buf` (`len` bytes, NUL-terminated when
/// `len > 0`) and returns the length the whole text needs without the NUL
/// (like `snprintf`), or 0 for a NULL handle or an unknown `which`.
///
/// # Safety
/// `h` is NULL or a live handle; `buf` NULL or writable for `len` bytes;
/// `ifname` NULL or a function honouring [`IfNameFn`] with `arg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn carp_rs_status_text(
    h: *const CarpRsEngine,
    now_ns: u64,
    which: u32,
    ifname: IfNameFn,
    arg: *mut c_void,
    buf: *mut CStrByte,
    len: usize,
) -> usize {
    // SAFETY: a shared borrow under the shim's mutex.
    let Some(h) = (unsafe { h.as_ref() }) else {
        return 0;
    };
    let name = |index: u32, out: &mut [u8]| match ifname {
        // SAFETY: the callback writes at most `out.len()` bytes per the contract.
        Some(f) => unsafe { f(arg, index, out.as_mut_ptr(), out.len()) }.min(out.len()),
        None => 0,
    };
    let out: &mut [u8] = if buf.is_null() || len == 0 {
        &mut []
    } else {
        // SAFETY: non-null and writable for `len` bytes per the contract.
        unsafe { core::slice::from_raw_parts_mut(buf, len) }
    };
    let room = out.len().saturating_sub(1);
    let text = out.get_mut(..room).unwrap_or_default();
    let needed = match which {
        CARP_RS_STATUS_DEMOTION_SOURCES => status::demotion_sources(text, &h.engine, &name),
        CARP_RS_STATUS_VHIDS => status::vhids(text, &h.engine, Instant::from_nanos(now_ns), &name),
        _ => return 0,
    };
    if let Some(nul) = out.get_mut(needed.min(room)) {
        *nul = 0;
    }
    needed
}
