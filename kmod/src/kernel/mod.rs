//! What the crate needs from its host when it runs inside the FreeBSD
//! kernel: a global allocator and a panic handler. Both are thin calls into
//! the C shim (`kmod/carp_rs_shim.c`), which owns the kernel headers, so no
//! kernel struct layout or flag value is repeated on the Rust side.
//!
//! Only compiled for `target_os = "none"` (the `x86_64-unknown-none`
//! staticlib); host builds keep std's allocator and panic machinery.

mod kalloc;
mod kpanic;
