//! Big-endian field access that cannot panic.
//!
//! `Packet::new_unchecked` may wrap a buffer shorter than the header, and
//! kernel code must never panic on a packet from the wire, so every read
//! of a byte that is not there yields zero and every write to it is
//! dropped. `new_checked` is what makes the values meaningful.

/// A byte range inside a header.
pub(crate) type Field = core::ops::Range<usize>;

pub(crate) fn get_u8(buf: &[u8], at: usize) -> u8 {
    buf.get(at).copied().unwrap_or(0)
}

pub(crate) fn get_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([get_u8(buf, at), get_u8(buf, at.wrapping_add(1))])
}

pub(crate) fn get_u64(buf: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    if let Some(src) = at.checked_add(8).and_then(|end| buf.get(at..end)) {
        word.copy_from_slice(src);
    }
    u64::from_be_bytes(word)
}

/// The bytes of `field`, or fewer (possibly none) if the buffer ends early.
pub(crate) fn get_slice(buf: &[u8], field: Field) -> &[u8] {
    let end = field.end.min(buf.len());
    buf.get(field.start..end).unwrap_or(&[])
}

pub(crate) fn get_slice_mut(buf: &mut [u8], field: Field) -> &mut [u8] {
    let end = field.end.min(buf.len());
    buf.get_mut(field.start..end).unwrap_or(&mut [])
}

pub(crate) fn set_u8(buf: &mut [u8], at: usize, value: u8) {
    if let Some(byte) = buf.get_mut(at) {
        *byte = value;
    }
}

pub(crate) fn set_u16(buf: &mut [u8], at: usize, value: u16) {
    let [hi, lo] = value.to_be_bytes();
    set_u8(buf, at, hi);
    set_u8(buf, at.wrapping_add(1), lo);
}

pub(crate) fn set_u64(buf: &mut [u8], at: usize, value: u64) {
    if let Some(dst) = at.checked_add(8).and_then(|end| buf.get_mut(at..end)) {
        dst.copy_from_slice(&value.to_be_bytes());
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn short_buffers_read_zero_and_ignore_writes() {
        let mut buf = [0xabu8; 3];
        assert_eq!(get_u8(&buf, 3), 0);
        assert_eq!(get_u16(&buf, 2), 0xab00);
        assert_eq!(get_u64(&buf, 0), 0);
        assert_eq!(get_slice(&buf, 1..10), &[0xab, 0xab]);
        assert!(get_slice(&buf, 5..10).is_empty());
        set_u16(&mut buf, 2, 0x1234);
        assert_eq!(buf, [0xab, 0xab, 0x12]);
        set_u64(&mut buf, 0, u64::MAX);
        assert_eq!(buf, [0xab, 0xab, 0x12]);
        assert!(get_slice_mut(&mut buf, usize::MAX..usize::MAX).is_empty());
    }

    #[test]
    fn values_are_big_endian() {
        let mut buf = [0u8; 10];
        set_u64(&mut buf, 1, 0x0102_0304_0506_0708);
        assert_eq!(&buf[1..9], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(get_u64(&buf, 1), 0x0102_0304_0506_0708);
        set_u16(&mut buf, 0, 0xbeef);
        assert_eq!(buf[0], 0xbe);
        assert_eq!(get_u16(&buf, 0), 0xbeef);
    }
}
