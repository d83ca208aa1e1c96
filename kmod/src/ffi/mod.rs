//! The C ABI that the kernel shim (`kmod/carp_rs_*.c`) calls, defined here
//! only: the C header `carp_rs_ffi.h` is generated from this module by
//! cbindgen (`tools/ffi-header`) at build time, doc comments included.
//!
//! The ABI carries only our own types: integers, byte pointers with lengths
//! and `struct carp_rs_tx`. Kernel structures (mbufs, ifnets, `struct
//! carpstats`) stay on the C side, which copies what the engine needs out of
//! them, so a KBI change between FreeBSD releases never reaches this crate.
//!
//! Every entry point is null-safe and cannot panic: a bad argument is an
//! error return, never a kernel panic. None of them locks: the shim holds
//! its engine mutex around every call, which is also what makes the `&mut`
//! borrows below exclusive.

mod cmd;
mod ctl;
mod engine;
mod event;
mod legacy;
mod status;
mod tx;

#[cfg(test)]
mod tests;

pub use cmd::*;
pub use ctl::*;
pub use engine::*;
pub use event::*;
pub use legacy::*;
pub use status::*;
pub use tx::CarpRsTx;

/// Address family tags of this ABI (`CARP_RS_AF_*`): the address length
/// in bytes, independent of any OS's `AF_*` numbering.
pub const CARP_RS_AF_INET: u8 = 4;
/// IPv6: 16-byte addresses.
pub const CARP_RS_AF_INET6: u8 = 6;

/// Success, or "a packet was produced" for [`carp_rs_engine_transmit`].
pub const CARP_RS_OK: i32 = 0;
/// The engine looked at the packet and dropped it (and counted why).
pub const CARP_RS_DROPPED: i32 = 1;
/// A null pointer, an unknown address family or a buffer that is too small.
pub const CARP_RS_EINVAL: i32 = -1;
/// Memory could not be allocated.
pub const CARP_RS_ENOMEM: i32 = -2;

/// Number of `uint64_t` counters in `struct carpstats`.
pub const CARP_RS_NSTATS: usize = 16;

/// Smallest transmit buffer the shim may pass: an Ethernet MTU.
pub const CARP_RS_TXBUF_MIN: usize = 1500;

/// A byte of a C string: `char` in the generated header (cbindgen.toml
/// renames it), `u8` here so the engine writes text without casts. Same
/// size and alignment as C's `char`.
pub type CStrByte = u8;

// Helpers every entry point file shares (not part of the ABI).

/// FreeBSD's `EINVAL`, the errno of a malformed request.
const EINVAL: core::ffi::c_int = crate::ctl::Errno::EINVAL.0;

/// The errno of a result, 0 for success.
fn errno<T>(r: &Result<T, crate::ctl::Errno>) -> core::ffi::c_int {
    match r {
        Ok(_) => 0,
        Err(e) => e.get(),
    }
}

/// Writes `v` through an out-pointer the caller may leave NULL.
///
/// # Safety
/// `p` is NULL or writable.
unsafe fn put<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-null and writable per the contract.
        unsafe { p.write_unaligned(v) };
    }
}
