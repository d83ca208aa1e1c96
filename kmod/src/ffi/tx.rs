//! `struct carp_rs_tx`: what the shim needs to put an outgoing
//! advertisement, IP header included, into an mbuf and send it.

use core::net::IpAddr;

use super::{CARP_RS_AF_INET, CARP_RS_AF_INET6};

/// One outgoing packet's metadata; the payload is in the caller's buffer.
///
/// Field order avoids padding so C and Rust agree without relying on
/// compiler-inserted holes; `sys-bindings/tests/ffi_layout.rs` checks every
/// field against the generated `carp_rs_ffi.h` as the C compiler reads it
/// (bindgen), as for the other structs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarpRsTx {
    /// Interface index of the parent to send on.
    pub ifindex: u32,
    /// Bytes of the whole IP packet written to the buffer: the IPv4/IPv6
    /// header ([`crate::wire::ip::write_header`]) then the CARP/VRRP
    /// header and data.
    pub len: u32,
    /// The vhid (VRRP: vrid) that sends.
    pub vhid: u8,
    /// `CARP_RS_AF_INET` or `CARP_RS_AF_INET6`; both addresses use it.
    pub af: u8,
    /// IP TTL / hop limit.
    pub ttl: u8,
    /// IP TOS / traffic class (DSCP << 2).
    pub tos: u8,
    /// 1 if `src_mac` holds the virtual MAC to send from, else 0.
    pub has_src_mac: u8,
    /// Ethernet source for multicast adverts.
    pub src_mac: [u8; 6],
    /// Bytes of the IP header at the start of the buffer (20 or 40).
    pub hlen: u8,
    /// Source address; IPv4 uses the first 4 bytes, the rest are zero.
    pub src: [u8; 16],
    /// Destination address, laid out like `src`.
    pub dst: [u8; 16],
}

/// Address bytes in the ABI's 16-byte slot, with the family tag.
pub(crate) fn addr_bytes(addr: IpAddr) -> (u8, [u8; 16]) {
    let mut out = [0u8; 16];
    match addr {
        IpAddr::V4(a) => {
            for (dst, src) in out.iter_mut().zip(a.octets()) {
                *dst = src;
            }
            (CARP_RS_AF_INET, out)
        }
        IpAddr::V6(a) => (CARP_RS_AF_INET6, a.octets()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn v4_fills_first_four_bytes_only() {
        let (af, b) = addr_bytes(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        assert_eq!(af, CARP_RS_AF_INET);
        assert_eq!(&b[..4], &[192, 0, 2, 7]);
        assert!(b[4..].iter().all(|&x| x == 0));
    }

    #[test]
    fn v6_uses_all_sixteen() {
        let a: Ipv6Addr = "2001:db8::12".parse().unwrap();
        let (af, b) = addr_bytes(IpAddr::V6(a));
        assert_eq!(af, CARP_RS_AF_INET6);
        assert_eq!(b, a.octets());
    }
}
