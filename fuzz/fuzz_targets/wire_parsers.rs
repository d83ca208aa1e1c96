//! Every protocol-112 parser on arbitrary bytes: no panic, and whatever
//! parses re-emits to bytes that parse to the same fields.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use carp_rs::wire::{self, CarpPacket, CarpRepr, Vrrp2Packet, Vrrp2Repr, VrrpPacket, VrrpRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wire::classify(data);
    let _ = wire::version_of(data);

    if let Ok(p) = CarpPacket::new_checked(data) {
        if let Ok(r) = CarpRepr::parse(&p) {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut CarpPacket::new_unchecked(&mut out[..]));
            let again = CarpRepr::parse(&CarpPacket::new_unchecked(&out[..]))
                .expect("emitted CARP advert must parse");
            assert_eq!(again, r);
        }
    }

    let v4 = (
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
    );
    let v6 = (
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
    );
    for (src, dst) in [v4, v6, (v4.0, v6.1)] {
        if let Ok(p) = VrrpPacket::new_checked(data) {
            if let Ok(r) = VrrpRepr::parse(&p, &src, &dst) {
                let mut out = vec![0u8; r.buffer_len()];
                r.emit(&mut VrrpPacket::new_unchecked(&mut out[..]), &src, &dst)
                    .expect("emit what parsed");
                let again = VrrpRepr::parse(&VrrpPacket::new_unchecked(&out[..]), &src, &dst)
                    .expect("emitted VRRPv3 advert must parse");
                assert_eq!(
                    (again.vrid, again.priority, again.max_adver_int, again.addrs),
                    (r.vrid, r.priority, r.max_adver_int, r.addrs)
                );
            }
        }
    }

    if let Ok(p) = Vrrp2Packet::new_checked(data) {
        if let Ok(r) = Vrrp2Repr::parse(&p) {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut Vrrp2Packet::new_unchecked(&mut out[..]))
                .expect("emit what parsed");
            let again = Vrrp2Repr::parse(&Vrrp2Packet::new_unchecked(&out[..]))
                .expect("emitted VRRPv2 advert must parse");
            assert_eq!(
                (
                    again.vrid,
                    again.priority,
                    again.adver_int,
                    again.auth_type,
                    again.addrs,
                    again.auth_data
                ),
                (
                    r.vrid,
                    r.priority,
                    r.adver_int,
                    r.auth_type,
                    r.addrs,
                    r.auth_data
                )
            );
        }
    }
});
