//! IPv4/IPv6 address and prefix parsing for scenario parameters, and the
//! `sockaddr_in`/`sockaddr_in6` images FreeBSD's ioctls take.

/// Parses dotted-quad IPv4 (`198.51.100.7`).
pub fn parse_v4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for o in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p.starts_with('0')) {
            return None;
        }
        *o = u8::try_from(crate::parse_u32(p)?).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Parses an IPv6 address in RFC 4291 text form, with at most one `::`
/// (no embedded IPv4 form: scenarios never need it).
pub fn parse_v6(s: &str) -> Option<[u8; 16]> {
    fn groups(s: &str, out: &mut [u16; 8]) -> Option<usize> {
        if s.is_empty() {
            return Some(0);
        }
        let mut n = 0;
        for g in s.split(':') {
            if g.is_empty() || g.len() > 4 {
                return None;
            }
            let v = u16::from_str_radix(g, 16).ok()?;
            *out.get_mut(n)? = v;
            n += 1;
        }
        Some(n)
    }
    let mut words = [0u16; 8];
    if let Some((head, tail)) = s.split_once("::") {
        if tail.contains("::") {
            return None;
        }
        let mut h = [0u16; 8];
        let mut t = [0u16; 8];
        let nh = groups(head, &mut h)?;
        let nt = groups(tail, &mut t)?;
        if nh + nt > 7 {
            return None;
        }
        for (w, v) in words.iter_mut().zip(h.iter().take(nh)) {
            *w = *v;
        }
        for (w, v) in words.iter_mut().skip(8 - nt).zip(t.iter().take(nt)) {
            *w = *v;
        }
    } else if groups(s, &mut words)? != 8 {
        return None;
    }
    let mut out = [0u8; 16];
    for (c, w) in out.chunks_exact_mut(2).zip(words) {
        c.copy_from_slice(&w.to_be_bytes());
    }
    Some(out)
}

/// `addr/len` for either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    V4([u8; 4], u8),
    V6([u8; 16], u8),
}

impl Prefix {
    pub fn parse(s: &str) -> Option<Prefix> {
        let (a, l) = s.split_once('/')?;
        let len = u8::try_from(crate::parse_u32(l)?).ok()?;
        if a.contains(':') {
            (len <= 128).then_some(Prefix::V6(parse_v6(a)?, len))
        } else {
            (len <= 32).then_some(Prefix::V4(parse_v4(a)?, len))
        }
    }
}

/// Netmask bytes for a prefix length (`N` = 4 or 16).
pub fn mask<const N: usize>(len: u8) -> [u8; N] {
    let mut out = [0u8; N];
    let mut left = usize::from(len);
    for b in out.iter_mut() {
        let take = left.min(8);
        // take in 0..=8: shifting a u16 keeps 8 in range.
        *b = (0xff00u16 >> take) as u8;
        left -= take;
    }
    out
}

/// FreeBSD `struct sockaddr_in` (16 bytes, `sin_len` first).
pub fn sockaddr_in(a: [u8; 4], port: u16) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[0] = 16;
    s[1] = 2; // AF_INET
    s[2..4].copy_from_slice(&port.to_be_bytes());
    s[4..8].copy_from_slice(&a);
    s
}

/// FreeBSD `struct sockaddr_in6` (28 bytes).
pub fn sockaddr_in6(a: [u8; 16], port: u16) -> [u8; 28] {
    let mut s = [0u8; 28];
    s[0] = 28;
    s[1] = 28; // AF_INET6
    s[2..4].copy_from_slice(&port.to_be_bytes());
    s[8..24].copy_from_slice(&a);
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn v4() {
        assert_eq!(parse_v4("192.0.2.1"), Some([192, 0, 2, 1]));
        assert_eq!(parse_v4("0.0.0.0"), Some([0; 4]));
        assert_eq!(parse_v4("192.0.2"), None);
        assert_eq!(parse_v4("192.0.2.1.5"), None);
        assert_eq!(parse_v4("192.0.2.256"), None);
        assert_eq!(parse_v4("192.0.2.01"), None);
        assert_eq!(parse_v4("192..2.1"), None);
    }

    #[test]
    fn v6() {
        let a = parse_v6("2001:db8::1").unwrap();
        assert_eq!(&a[..4], &[0x20, 0x01, 0x0d, 0xb8]);
        assert_eq!(a[15], 1);
        assert!(a[4..15].iter().all(|b| *b == 0));
        assert_eq!(parse_v6("::"), Some([0; 16]));
        let full = parse_v6("fe80:0:0:0:1:2:3:4").unwrap();
        assert_eq!(&full[8..], &[0, 1, 0, 2, 0, 3, 0, 4]);
        assert_eq!(parse_v6("::1").unwrap()[15], 1);
        assert_eq!(parse_v6("ff02::12").unwrap()[..2], [0xff, 0x02]);
        assert_eq!(parse_v6("1::2::3"), None);
        assert_eq!(parse_v6("1:2:3:4:5:6:7"), None);
        assert_eq!(parse_v6("1:2:3:4:5:6:7:8:9"), None);
        assert_eq!(parse_v6("12345::"), None);
        assert_eq!(parse_v6("1:2:3:4::5:6:7:8"), None);
    }

    #[test]
    fn prefixes_and_masks() {
        assert_eq!(
            Prefix::parse("192.0.2.11/24"),
            Some(Prefix::V4([192, 0, 2, 11], 24))
        );
        assert_eq!(Prefix::parse("192.0.2.11/33"), None);
        assert_eq!(Prefix::parse("192.0.2.11"), None);
        assert!(matches!(
            Prefix::parse("2001:db8::1/64"),
            Some(Prefix::V6(_, 64))
        ));
        assert_eq!(mask::<4>(24), [255, 255, 255, 0]);
        assert_eq!(mask::<4>(29), [255, 255, 255, 248]);
        assert_eq!(mask::<4>(0), [0; 4]);
        assert_eq!(mask::<4>(32), [255; 4]);
        let m6 = mask::<16>(64);
        assert!(m6[..8].iter().all(|b| *b == 255) && m6[8..].iter().all(|b| *b == 0));
    }

    #[test]
    fn sockaddrs() {
        let s = sockaddr_in([192, 0, 2, 1], 5555);
        assert_eq!(s[..8], [16, 2, 0x15, 0xb3, 192, 0, 2, 1]);
        let s6 = sockaddr_in6(parse_v6("2001:db8::1").unwrap(), 0);
        assert_eq!(s6[0..2], [28, 28]);
        assert_eq!(s6[8..10], [0x20, 0x01]);
        assert_eq!(s6[23], 1);
    }
}
