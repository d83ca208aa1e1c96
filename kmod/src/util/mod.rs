//! Fallible collections for a kernel without an OOM handler.
//!
//! The kernel build compiles `alloc` with `no_global_oom_handling`, which
//! removes every growing operation that would abort on allocation failure
//! (`Vec::push`, `resize`, `VecDeque`, ...). These helpers grow only through
//! `try_reserve` and report failure as a value, so a short `M_NOWAIT`
//! allocation becomes ENOMEM instead of a panic.

mod ring;
mod thin;

pub use ring::Ring;
pub use thin::ThinBytes;

use alloc::collections::TryReserveError;
use alloc::vec::Vec;

/// Appends within the existing capacity; gives the value back if full.
/// Never allocates, so it is safe on the packet path.
pub fn push_within_capacity<T>(v: &mut Vec<T>, value: T) -> Result<(), T> {
    let len = v.len();
    match v.spare_capacity_mut().first_mut() {
        Some(slot) => {
            slot.write(value);
        }
        None => return Err(value),
    }
    // SAFETY: the element at index `len` lies within the capacity and was
    // initialised just above; nothing else has touched the vector since.
    unsafe { v.set_len(len + 1) };
    Ok(())
}

/// Appends all of `src` within the existing capacity, or nothing (and
/// `false`) if it does not fit. Never allocates.
pub fn extend_within_capacity<T: Copy>(v: &mut Vec<T>, src: &[T]) -> bool {
    let len = v.len();
    let Some(dst) = v.spare_capacity_mut().get_mut(..src.len()) else {
        return false;
    };
    for (d, s) in dst.iter_mut().zip(src) {
        d.write(*s);
    }
    // SAFETY: the `src.len()` elements after `len` lie within the capacity
    // and were initialised just above.
    unsafe { v.set_len(len + src.len()) };
    true
}

/// Growth step of the per-vhid arrays, in elements.
const GROW_CHUNK: usize = 64;

/// Makes room for `total` elements, growing to the next multiple of 64
/// exactly: a few dozen spare elements at most, where doubling would leave
/// up to as many spare as used (at 4,097 vhids, 4,095 spare records).
pub fn reserve_chunked<T>(v: &mut Vec<T>, total: usize) -> Result<(), TryReserveError> {
    if v.capacity() >= total {
        return Ok(());
    }
    let want = total.div_ceil(GROW_CHUNK).saturating_mul(GROW_CHUNK);
    v.try_reserve_exact(want - v.len())
}

/// `Vec::push` that fails instead of aborting when memory is short.
pub fn try_push<T>(v: &mut Vec<T>, value: T) -> Result<(), TryReserveError> {
    v.try_reserve(1)?;
    // Capacity for one more is now guaranteed; the push cannot fail.
    let _ = push_within_capacity(v, value);
    Ok(())
}

/// `Vec::resize` (growing or shrinking) without the aborting allocator.
pub fn try_resize<T: Clone>(v: &mut Vec<T>, len: usize, value: T) -> Result<(), TryReserveError> {
    if len <= v.len() {
        v.truncate(len);
        return Ok(());
    }
    v.try_reserve(len - v.len())?;
    while v.len() < len {
        if push_within_capacity(v, value.clone()).is_err() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn push_and_resize() {
        let mut v: Vec<u8> = Vec::new();
        assert_eq!(push_within_capacity(&mut v, 1), Err(1));
        try_push(&mut v, 1).unwrap();
        try_resize(&mut v, 4, 9).unwrap();
        assert_eq!(v, [1, 9, 9, 9]);
        try_resize(&mut v, 2, 0).unwrap();
        assert_eq!(v, [1, 9]);
        v.truncate(0);
        let cap = v.capacity();
        for i in 0..cap {
            assert_eq!(push_within_capacity(&mut v, i as u8), Ok(()));
        }
        assert!(push_within_capacity(&mut v, 0).is_err());
    }

    #[test]
    fn chunked_growth_is_exact_to_the_chunk() {
        let mut v: Vec<u32> = Vec::new();
        reserve_chunked(&mut v, 1).unwrap();
        assert_eq!(v.capacity(), 64);
        reserve_chunked(&mut v, 64).unwrap();
        assert_eq!(v.capacity(), 64);
        try_resize(&mut v, 10, 0).unwrap();
        reserve_chunked(&mut v, 65).unwrap();
        assert_eq!(v.capacity(), 128);
        assert_eq!(v.len(), 10);
    }

    #[test]
    fn extend_all_or_nothing() {
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve_exact(3).unwrap();
        assert!(extend_within_capacity(&mut v, &[1, 2]));
        assert!(!extend_within_capacity(&mut v, &[3, 4]));
        assert_eq!(v, [1, 2]);
        assert!(extend_within_capacity(&mut v, &[3]));
        assert!(extend_within_capacity(&mut v, &[]));
        assert_eq!(v, [1, 2, 3]);
    }
}
