//! The global allocator of the host build: malloc(9) through the shim.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::{c_int, c_void};

unsafe extern "C" {
    fn carp_rs_kmalloc(size: usize, align: usize, zero: c_int) -> *mut c_void;
    fn carp_rs_kfree(p: *mut c_void);
}

struct ShimMalloc;

// SAFETY: the shim returns NULL or a block of at least `size` bytes aligned
// to `align`, owned by the caller until `carp_rs_kfree`.
unsafe impl GlobalAlloc for ShimMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain FFI call into the shim.
        unsafe { carp_rs_kmalloc(layout.size(), layout.align(), 0).cast() }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above, with M_ZERO.
        unsafe { carp_rs_kmalloc(layout.size(), layout.align(), 1).cast() }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from `alloc`/`alloc_zeroed` above.
        unsafe { carp_rs_kfree(ptr.cast()) }
    }
}

#[global_allocator]
static SHIM_MALLOC: ShimMalloc = ShimMalloc;
