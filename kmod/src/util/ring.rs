//! A FIFO with a capacity fixed at configuration time.

use alloc::collections::TryReserveError;
use alloc::vec::Vec;

use super::push_within_capacity;

/// First in, first out. Grows only in [`Ring::try_grow`] (configuration);
/// `push_back` on a full ring hands the value back instead of allocating.
/// Slots hold plain `T` (no `Option` tag: a `u32` slot is 4 bytes, not 8),
/// so `T` is `Copy` and free slots hold `T::default()`.
#[derive(Debug)]
pub struct Ring<T> {
    buf: Vec<T>,
    head: usize,
    len: usize,
}

impl<T: Copy + Default> Default for Ring<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default> Ring<T> {
    pub const fn new() -> Self {
        Ring {
            buf: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Makes room for at least `cap` entries, keeping the queued ones in
    /// order.
    pub fn try_grow(&mut self, cap: usize) -> Result<(), TryReserveError> {
        if cap <= self.buf.len() {
            return Ok(());
        }
        let mut fresh: Vec<T> = Vec::new();
        fresh.try_reserve_exact(cap)?;
        let len = self.len;
        while let Some(x) = self.pop_front() {
            let _ = push_within_capacity(&mut fresh, x);
        }
        while fresh.len() < cap {
            if push_within_capacity(&mut fresh, T::default()).is_err() {
                break;
            }
        }
        self.len = len;
        self.buf = fresh;
        self.head = 0;
        Ok(())
    }

    pub fn push_back(&mut self, value: T) -> Result<(), T> {
        let cap = self.buf.len();
        if self.len >= cap {
            return Err(value);
        }
        // head < cap and len < cap: one wrap at most, no division.
        let i = self.head + self.len;
        let i = if i >= cap { i - cap } else { i };
        match self.buf.get_mut(i) {
            Some(slot) => {
                *slot = value;
                self.len += 1;
                Ok(())
            }
            None => Err(value),
        }
    }

    pub fn front(&self) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        self.buf.get(self.head)
    }

    pub fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let cap = self.buf.len();
        let v = self.buf.get(self.head).copied();
        self.head = if self.head + 1 >= cap {
            0
        } else {
            self.head + 1
        };
        self.len -= 1;
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fifo_wraps_and_grows_in_order() {
        let mut r: Ring<u32> = Ring::new();
        assert_eq!(r.push_back(1), Err(1));
        r.try_grow(3).unwrap();
        for i in 0..3 {
            r.push_back(i).unwrap();
        }
        assert_eq!(r.push_back(9), Err(9));
        assert_eq!(r.pop_front(), Some(0));
        r.push_back(3).unwrap();
        r.try_grow(5).unwrap();
        r.push_back(4).unwrap();
        assert_eq!(r.len(), 4);
        let out: Vec<_> = core::iter::from_fn(|| r.pop_front()).collect();
        assert_eq!(out, [1, 2, 3, 4]);
        assert!(r.is_empty());
        assert_eq!(r.front(), None);
    }

    proptest::proptest! {
        #[test]
        fn matches_vecdeque(ops in proptest::collection::vec(proptest::option::of(0u8..255), 0..300)) {
            let mut r: Ring<u8> = Ring::new();
            r.try_grow(16).unwrap();
            let mut model = std::collections::VecDeque::new();
            for op in ops {
                match op {
                    Some(x) => {
                        let ok = r.push_back(x).is_ok();
                        proptest::prop_assert_eq!(ok, model.len() < 16);
                        if ok { model.push_back(x); }
                    }
                    None => proptest::prop_assert_eq!(r.pop_front(), model.pop_front()),
                }
                proptest::prop_assert_eq!(r.front(), model.front());
            }
        }
    }
}
