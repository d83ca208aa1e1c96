//! An exactly sized, immutable heap byte buffer behind one pointer.

use alloc::alloc::{alloc, dealloc, Layout};
use core::ptr::NonNull;

/// Bytes of the length header at the start of the allocation.
const HEADER: usize = 4;

/// Immutable bytes in one allocation that starts with their length, so the
/// handle is one pointer (8 bytes where a `Vec<u8>` takes 24). Made for
/// per-vhid data kept at thousands of vhids; built once, replaced whole.
pub struct ThinBytes {
    /// `None` for no bytes (no allocation); otherwise a live allocation of
    /// `HEADER + len` bytes, 4-aligned: the `u32` length, then the bytes.
    ptr: Option<NonNull<u8>>,
}

// SAFETY: a ThinBytes uniquely owns its allocation, like a `Box<[u8]>`, and
// never writes to it after construction.
unsafe impl Send for ThinBytes {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for ThinBytes {}

impl ThinBytes {
    pub const fn empty() -> ThinBytes {
        ThinBytes { ptr: None }
    }

    fn layout(len: usize) -> Option<Layout> {
        Layout::from_size_align(HEADER.checked_add(len)?, 4).ok()
    }

    /// A copy of `src`, or `None` if the allocation fails (or `src` is
    /// longer than 4 GiB).
    pub fn try_from_slice(src: &[u8]) -> Option<ThinBytes> {
        if src.is_empty() {
            return Some(ThinBytes::empty());
        }
        let len = u32::try_from(src.len()).ok()?;
        let layout = Self::layout(src.len())?;
        // SAFETY: the layout's size is at least HEADER, never zero.
        let ptr = NonNull::new(unsafe { alloc(layout) })?;
        // SAFETY: the fresh allocation holds HEADER + src.len() bytes and is
        // 4-aligned: the u32 header fits at its start and `src` right after
        // it; a fresh allocation cannot overlap `src`.
        unsafe {
            ptr.as_ptr().cast::<u32>().write(len);
            core::ptr::copy_nonoverlapping(src.as_ptr(), ptr.as_ptr().add(HEADER), src.len());
        }
        Some(ThinBytes { ptr: Some(ptr) })
    }

    pub fn as_slice(&self) -> &[u8] {
        let Some(ptr) = self.ptr else {
            return &[];
        };
        // SAFETY: `ptr` is the live allocation `try_from_slice` made: the
        // u32 length it wrote, then that many initialised bytes, unchanged
        // since, and owned by `self` for the lifetime of the borrow.
        unsafe {
            let len = ptr.as_ptr().cast::<u32>().read() as usize;
            core::slice::from_raw_parts(ptr.as_ptr().add(HEADER), len)
        }
    }
}

impl Drop for ThinBytes {
    fn drop(&mut self) {
        let len = self.as_slice().len();
        let Some(ptr) = self.ptr.take() else {
            return;
        };
        if let Some(layout) = Self::layout(len) {
            // SAFETY: `ptr` was allocated by `try_from_slice` with exactly
            // this layout (the same length) and is freed once: `take` above.
            unsafe { dealloc(ptr.as_ptr(), layout) };
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_one_pointer() {
        assert_eq!(core::mem::size_of::<ThinBytes>(), 8);
        assert!(ThinBytes::empty().as_slice().is_empty());
        assert!(ThinBytes::try_from_slice(&[])
            .unwrap()
            .as_slice()
            .is_empty());
        for n in [1usize, 3, 4, 7, 8, 63, 64, 1000] {
            let src: std::vec::Vec<u8> = (0..n).map(|i| i as u8 ^ 0x5a).collect();
            let b = ThinBytes::try_from_slice(&src).unwrap();
            assert_eq!(b.as_slice(), &src[..]);
            let moved = b;
            assert_eq!(moved.as_slice(), &src[..]);
        }
    }
}
