//! The global allocator: malloc(9) with `M_NOWAIT` and the module's own
//! malloc type.
//!
//! `GlobalAlloc` cannot carry flags, and the engine runs in IP input (inside
//! the net epoch, under a non-sleepable mutex) and in callouts, where
//! `M_WAITOK` may sleep and so is a WITNESS panic or a hang. `M_NOWAIT` means
//! a NULL return is real; `alloc` is built with `no_global_oom_handling`, so
//! every allocation site in the crate is a fallible one that sees it.
//!
//! The private malloc type (`vmstat -m` shows it as `carp_rs`) makes leaks
//! visible: the kernel warns when a type is torn down with memory still
//! accounted to it at unload.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::{c_int, c_void};

unsafe extern "C" {
    /// `malloc(size, M_CARP_RS, M_NOWAIT | (zero ? M_ZERO : 0))`, or
    /// `malloc_aligned` when `align` exceeds what malloc(9) guarantees.
    fn carp_rs_kmalloc(size: usize, align: usize, zero: c_int) -> *mut c_void;
    /// `free(p, M_CARP_RS)`; NULL is ignored.
    fn carp_rs_kfree(p: *mut c_void);
}

struct KernelMalloc;

// SAFETY: the shim returns either NULL or a block of at least `size` bytes
// aligned to `align`, owned by the caller until `carp_rs_kfree`.
unsafe impl GlobalAlloc for KernelMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain FFI call; the shim handles every size and alignment.
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
static KERNEL_MALLOC: KernelMalloc = KernelMalloc;
