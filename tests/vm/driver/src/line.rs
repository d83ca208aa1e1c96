//! Fixed-size line buffer: console lines are formatted without allocation
//! and written with one `write(2)` so lines from the kernel and the driver
//! do not interleave mid-line.

use core::fmt;

pub struct Line<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> Default for Line<N> {
    fn default() -> Self {
        Line {
            buf: [0; N],
            len: 0,
            truncated: false,
        }
    }
}

impl<const N: usize> Line<N> {
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Ends the line with a raw `\n` (which `write_str` would blank out),
    /// overwriting the last byte if the buffer is full.
    pub fn end_line(&mut self) {
        if self.len == N {
            self.len -= 1;
            self.truncated = true;
        }
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b'\n';
            self.len += 1;
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.truncated = false;
    }
}

impl<const N: usize> fmt::Write for Line<N> {
    /// Never fails: a line that does not fit is cut (and marked) rather than
    /// lost, since a partial observation is still worth printing.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            // A newline inside a field would break the one-line-per-
            // observation rule the host parser relies on.
            let b = if b == b'\n' || b == b'\r' { b' ' } else { b };
            match self.buf.get_mut(self.len) {
                Some(slot) => {
                    *slot = b;
                    self.len += 1;
                }
                None => self.truncated = true,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn formats_and_truncates() {
        let mut l = Line::<16>::default();
        let name = "x";
        write!(l, "CHECK {name} {}", 42).unwrap();
        assert_eq!(l.as_bytes(), b"CHECK x 42");
        assert!(!l.truncated());
        write!(l, " and a lot more\ntext").unwrap();
        assert_eq!(l.as_bytes().len(), 16);
        assert!(l.truncated());
        assert!(!l.as_bytes().contains(&b'\n'));
        l.end_line();
        assert_eq!(l.as_bytes().len(), 16);
        assert_eq!(l.as_bytes().last(), Some(&b'\n'));
        l.clear();
        assert_eq!(l.as_bytes(), b"");
    }
}
