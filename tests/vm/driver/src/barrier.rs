//! The UDP message two VMs exchange to line up scenario phases (qemu gives
//! no shared clock) and to tell each other what they observed.
//!
//! Text, one datagram: `CARPVM1 <vm> <phase> <value>`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg<'a> {
    pub vm: &'a str,
    pub phase: &'a str,
    pub value: &'a str,
}

const MAGIC: &str = "CARPVM1";

impl<'a> Msg<'a> {
    pub fn encode(&self, out: &mut [u8]) -> Option<usize> {
        let mut n = 0;
        for (i, part) in [MAGIC, self.vm, self.phase, self.value].iter().enumerate() {
            if part.is_empty() || part.contains(' ') {
                return None;
            }
            if i > 0 {
                *out.get_mut(n)? = b' ';
                n += 1;
            }
            out.get_mut(n..n + part.len())?
                .copy_from_slice(part.as_bytes());
            n += part.len();
        }
        Some(n)
    }

    pub fn decode(b: &'a [u8]) -> Option<Msg<'a>> {
        let s = core::str::from_utf8(b).ok()?;
        let mut it = s.split(' ');
        if it.next()? != MAGIC {
            return None;
        }
        let m = Msg {
            vm: it.next()?,
            phase: it.next()?,
            value: it.next()?,
        };
        (it.next().is_none() && !m.vm.is_empty() && !m.phase.is_empty() && !m.value.is_empty())
            .then_some(m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let m = Msg {
            vm: "a",
            phase: "state",
            value: "MASTER",
        };
        let mut buf = [0u8; 64];
        let n = m.encode(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"CARPVM1 a state MASTER");
        assert_eq!(Msg::decode(&buf[..n]), Some(m));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(Msg::decode(b"CARPVM2 a b c"), None);
        assert_eq!(Msg::decode(b"CARPVM1 a b"), None);
        assert_eq!(Msg::decode(b"CARPVM1 a b c d"), None);
        assert_eq!(Msg::decode(b"CARPVM1 a  c"), None);
        let mut small = [0u8; 8];
        assert_eq!(
            Msg {
                vm: "a",
                phase: "b",
                value: "c"
            }
            .encode(&mut small),
            None
        );
        let mut buf = [0u8; 64];
        assert_eq!(
            Msg {
                vm: "a b",
                phase: "b",
                value: "c"
            }
            .encode(&mut buf),
            None
        );
    }
}
