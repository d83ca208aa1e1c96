//! Test only: the carp_rs engine packaged as a host (x86_64 Linux) static
//! library for the fake-kernel harness in `tests/fakekern`.
//!
//! `carp_rs` supplies its global allocator and panic handler only for the
//! kernel target (`target_os = "none"`). This crate stands in for that
//! `kernel` module on the host: every Rust allocation goes through the
//! shim's `carp_rs_kmalloc`/`carp_rs_kfree`, exactly as in the `.ko`, so
//! the harness's counting malloc(9) sees the engine's memory too and the
//! leak check after unload covers it. std's panic machinery stays (a panic
//! aborts the test binary, which the harness reports as a failure).
//!
//! The engine's `#[no_mangle]` C ABI (`carp_rs::ffi`) is exported from the
//! archive because the whole `carp_rs` rlib is bundled into it; the
//! re-export below keeps that link explicit.

pub use carp_rs::ffi;

// Not in this crate's own unit tests: they run without the shim.
#[cfg(not(test))]
mod shim_malloc;
