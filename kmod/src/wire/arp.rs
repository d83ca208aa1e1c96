//! An Ethernet frame carrying an ARP packet for IPv4 over Ethernet
//! (RFC 826, `struct arphdr` of `net/if_arp.h` after `struct ether_header`),
//! as the link-layer pfil hook sees it in `ether_demux`.
//!
//! ```text
//!  0             6             12    14    16    18 19 20    22
//! +-------------+-------------+-----+-----+-----+--+--+-----+
//! | dst MAC     | src MAC     |type |hrd  |pro  |hl|pl| op  |
//! +-------------+-------------+-----+-----+-----+--+--+-----+
//! | sender MAC (22..28) | sender IP (28..32) |
//! | target MAC (32..38) | target IP (38..42) |
//! ```
//!
//! Only what arpbalance needs is read: whether the frame is an IPv4 ARP
//! request, who sends it and which address it asks for.

use core::net::Ipv4Addr;

use super::field::{self, Field};
use super::{Error, Result};

mod layout {
    use super::Field;

    pub const ETHERTYPE: usize = 12;
    pub const HRD: usize = 14;
    pub const PRO: usize = 16;
    pub const HLN: usize = 18;
    pub const PLN: usize = 19;
    pub const OP: usize = 20;
    pub const SPA: Field = 28..32;
    pub const TPA: Field = 38..42;
}

/// Ethernet header plus an Ethernet/IPv4 ARP packet.
pub const FRAME_LEN: usize = 42;
/// `ETHERTYPE_ARP`.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// `ARPHRD_ETHER`.
pub const HRD_ETHER: u16 = 1;
/// `ETHERTYPE_IP`, the protocol type of an IPv4 ARP packet.
pub const PRO_IPV4: u16 = 0x0800;
/// `ARPOP_REQUEST`.
pub const OP_REQUEST: u16 = 1;

/// A read-only view of an Ethernet frame holding an ARP packet.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length; accessors of missing
    /// bytes read zero.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer holding at least the Ethernet header and an
    /// Ethernet/IPv4 ARP packet.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < FRAME_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn ethertype(&self) -> u16 {
        field::get_u16(self.buffer.as_ref(), layout::ETHERTYPE)
    }

    pub fn hardware_type(&self) -> u16 {
        field::get_u16(self.buffer.as_ref(), layout::HRD)
    }

    pub fn protocol_type(&self) -> u16 {
        field::get_u16(self.buffer.as_ref(), layout::PRO)
    }

    pub fn hardware_len(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::HLN)
    }

    pub fn protocol_len(&self) -> u8 {
        field::get_u8(self.buffer.as_ref(), layout::PLN)
    }

    pub fn operation(&self) -> u16 {
        field::get_u16(self.buffer.as_ref(), layout::OP)
    }

    /// The requester's IPv4 address (`ar_spa`).
    pub fn sender_ip(&self) -> Ipv4Addr {
        ipv4(field::get_slice(self.buffer.as_ref(), layout::SPA))
    }

    /// The address asked for (`ar_tpa`).
    pub fn target_ip(&self) -> Ipv4Addr {
        ipv4(field::get_slice(self.buffer.as_ref(), layout::TPA))
    }
}

fn ipv4(bytes: &[u8]) -> Ipv4Addr {
    let mut a = [0u8; 4];
    for (d, s) in a.iter_mut().zip(bytes) {
        *d = *s;
    }
    Ipv4Addr::from(a)
}

/// The fields of an IPv4 ARP request that decide who answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// `ar_spa`: whose address picks the vhid under arpbalance.
    pub sender: Ipv4Addr,
    /// `ar_tpa`: the address asked for.
    pub target: Ipv4Addr,
}

impl Request {
    /// Parses an Ethernet frame as `in_arpinput` would accept a request:
    /// ethertype ARP, hardware Ethernet (6-byte addresses), protocol IPv4
    /// (4-byte addresses), operation request. Anything else is
    /// [`Error::Malformed`] (not a request this module looks at) or
    /// [`Error::Truncated`].
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Request> {
        packet.check_len()?;
        if packet.ethertype() != ETHERTYPE_ARP
            || packet.hardware_type() != HRD_ETHER
            || packet.protocol_type() != PRO_IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
            || packet.operation() != OP_REQUEST
        {
            return Err(Error::Malformed);
        }
        Ok(Request {
            sender: packet.sender_ip(),
            target: packet.target_ip(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A who-has 192.0.2.50 tell 192.0.2.101 from 02:00:00:00:00:65.
    fn request() -> [u8; FRAME_LEN] {
        let mut f = [0u8; FRAME_LEN];
        f[0..6].copy_from_slice(&[0xff; 6]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0x65]);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        f[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
        f[22..28].copy_from_slice(&[2, 0, 0, 0, 0, 0x65]);
        f[28..32].copy_from_slice(&[192, 0, 2, 101]);
        f[38..42].copy_from_slice(&[192, 0, 2, 50]);
        f
    }

    #[test]
    fn parses_a_request() {
        let f = request();
        let r = Request::parse(&Packet::new_checked(&f[..]).unwrap()).unwrap();
        assert_eq!(r.sender, Ipv4Addr::new(192, 0, 2, 101));
        assert_eq!(r.target, Ipv4Addr::new(192, 0, 2, 50));
        // Ethernet padding to 60 bytes changes nothing.
        let mut padded = [0u8; 60];
        padded[..FRAME_LEN].copy_from_slice(&f);
        assert_eq!(Request::parse(&Packet::new_unchecked(&padded[..])), Ok(r));
    }

    #[test]
    fn truncated_frames_are_refused_without_panic() {
        let f = request();
        for len in 0..FRAME_LEN {
            let p = Packet::new_unchecked(&f[..len]);
            assert_eq!(Request::parse(&p), Err(Error::Truncated), "len {len}");
            // Accessors of a short buffer read zero, never panic.
            let _ = (p.sender_ip(), p.target_ip(), p.operation());
        }
        assert!(Packet::new_checked(&f[..FRAME_LEN - 1]).is_err());
        assert_eq!(
            Packet::new_unchecked(&f[..30]).sender_ip(),
            Ipv4Addr::new(192, 0, 0, 0)
        );
    }

    #[test]
    fn other_frames_are_not_requests() {
        // (offset, value) changes that each make it something else.
        let cases: [(usize, &[u8]); 8] = [
            (12, &[0x08, 0x00]), // IPv4, not ARP
            (12, &[0x81, 0x00]), // a VLAN tag in the frame
            (14, &[0, 6]),       // IEEE 802 hardware
            (16, &[0x86, 0xdd]), // IPv6 protocol
            (18, &[8]),          // hardware address length
            (19, &[16]),         // protocol address length
            (20, &[0, 2]),       // reply
            (20, &[0, 3]),       // RARP request
        ];
        for (at, bytes) in cases {
            let mut f = request();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            assert_eq!(
                Request::parse(&Packet::new_unchecked(&f[..])),
                Err(Error::Malformed),
                "change at {at}"
            );
        }
    }
}
