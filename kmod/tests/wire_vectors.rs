//! Every advert captured from ucarp, keepalived and FRR
//! (`tests/vectors/*-vectors.json`) must decode to the fields the capture
//! tooling decoded, verify (or not) exactly as recorded, and re-encode to
//! the same bytes.
//!
//! The directory is `$CARP_VECTORS_DIR`, else the repository's
//! `tests/vectors`. A missing file fails the test: silently passing without the
//! real packets would prove nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use carp_rs::wire::{
    self, checksum, classify, CarpPacket, CarpRepr, Error, Kind, Vrrp2Packet, Vrrp2Repr,
    VrrpPacket, VrrpRepr,
};
use serde_json::Value;

fn vectors(file: &str) -> Vec<Value> {
    let dir = match std::env::var_os("CARP_VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors"),
    };
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test vectors {} missing ({e}); the repository carries it: restore it with `git checkout tests/vectors` or regenerate with `make vectors`",
            path.display()
        )
    });
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(!rows.is_empty(), "{} has no rows", path.display());
    rows
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex string {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn str_of<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {row}"))
}

fn u64_of(row: &Value, key: &str) -> u64 {
    row[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a number in {row}"))
}

fn bool_of(row: &Value, key: &str) -> bool {
    row[key]
        .as_bool()
        .unwrap_or_else(|| panic!("{key} is not a bool in {row}"))
}

fn ip_of(row: &Value, key: &str) -> IpAddr {
    str_of(row, key).parse().unwrap()
}

fn vips(row: &Value) -> Vec<u8> {
    row["vips"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v.as_str().unwrap().parse::<Ipv4Addr>().unwrap().octets())
        .collect()
}

fn name(row: &Value) -> String {
    format!("{} frame {}", str_of(row, "pcap"), row["frame"])
}

/// The IP payload inside the captured Ethernet frame must be the payload
/// the row gives, so the checks below test what was really on the wire.
fn assert_payload_in_frame(row: &Value, payload: &[u8]) {
    let frame = hex(str_of(row, "frame_hex"));
    assert_eq!(&frame[12..14], &[0x08, 0x00], "{}: not IPv4", name(row));
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    assert_eq!(frame[14 + 9], wire::IPPROTO_CARP, "{}", name(row));
    assert_eq!(&frame[14 + ihl..14 + total], payload, "{}", name(row));
}

#[test]
fn carp_vectors() {
    let rows = vectors("carp-vectors.json");
    for row in &rows {
        let id = name(row);
        let payload = hex(str_of(row, "payload_hex"));
        assert_payload_in_frame(row, &payload);
        assert_eq!(classify(&payload), Some(Kind::Carp), "{id}");

        let packet = CarpPacket::new_checked(&payload[..]).unwrap();
        assert_eq!(u64::from(packet.version()), u64_of(row, "version"), "{id}");
        assert_eq!(u64::from(packet.type_()), u64_of(row, "type"), "{id}");
        assert_eq!(u64::from(packet.authlen()), u64_of(row, "authlen"), "{id}");
        assert_eq!(u64::from(packet.demote()), u64_of(row, "pad1"), "{id}");
        assert_eq!(
            format!("{:04x}", packet.checksum()),
            str_of(row, "cksum"),
            "{id}"
        );
        assert_eq!(packet.verify_checksum(), bool_of(row, "cksum_ok"), "{id}");

        let parsed = CarpRepr::parse(&packet);
        if !bool_of(row, "cksum_ok") {
            assert_eq!(parsed, Err(Error::Checksum), "{id}");
            continue;
        }
        let repr = parsed.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(u64::from(repr.vhid), u64_of(row, "vhid"), "{id}");
        assert_eq!(u64::from(repr.advbase), u64_of(row, "advbase"), "{id}");
        assert_eq!(u64::from(repr.advskew), u64_of(row, "advskew"), "{id}");
        assert_eq!(
            format!("{:016x}", repr.counter),
            str_of(row, "counter"),
            "{id}"
        );
        assert_eq!(repr.digest.to_vec(), hex(str_of(row, "digest")), "{id}");

        let mut again = vec![0u8; repr.buffer_len()];
        repr.emit(&mut CarpPacket::new_unchecked(&mut again[..]));
        assert_eq!(again, payload, "{id}: re-emit differs");

        // VRRPv3 on the same protocol must refuse it on the version.
        let (src, dst) = (ip_of(row, "ip_src"), ip_of(row, "ip_dst"));
        assert_eq!(
            VrrpRepr::parse(&VrrpPacket::new_unchecked(&payload[..]), &src, &dst),
            Err(Error::Version)
        );
    }
}

#[test]
fn vrrp_vectors() {
    let rows = vectors("vrrp-vectors.json");
    let (mut v2_rows, mut v3_rows) = (0, 0);
    for row in &rows {
        let id = name(row);
        let payload = hex(str_of(row, "payload_hex"));
        assert_payload_in_frame(row, &payload);
        let (src, dst) = (ip_of(row, "ip_src"), ip_of(row, "ip_dst"));
        match str_of(row, "proto") {
            "VRRPv3" => {
                v3_rows += 1;
                check_vrrp3(row, &id, &payload, &src, &dst);
            }
            "VRRPv2" => {
                v2_rows += 1;
                check_vrrp2(row, &id, &payload);
            }
            other => panic!("{id}: unknown proto {other}"),
        }
    }
    assert!(
        v2_rows > 0 && v3_rows > 0,
        "expected both VRRP versions, got v2 {v2_rows} v3 {v3_rows}"
    );
}

fn check_vrrp3(row: &Value, id: &str, payload: &[u8], src: &IpAddr, dst: &IpAddr) {
    assert_eq!(classify(payload), Some(Kind::Vrrp3), "{id}");
    // FreeBSD's CARP path drops it as badver.
    assert_eq!(
        CarpRepr::parse(&CarpPacket::new_unchecked(payload)),
        Err(Error::Version),
        "{id}"
    );

    let packet = VrrpPacket::new_checked(payload).unwrap();
    assert_eq!(u64::from(packet.version()), u64_of(row, "version"), "{id}");
    assert_eq!(u64::from(packet.type_()), u64_of(row, "type"), "{id}");
    assert_eq!(
        format!("{:04x}", packet.checksum()),
        str_of(row, "cksum"),
        "{id}"
    );
    let pseudo_ok = packet.verify_checksum(src, dst);
    assert_eq!(
        pseudo_ok,
        bool_of(row, "cksum_ok_rfc5798_pseudo_hdr"),
        "{id}"
    );
    assert_eq!(
        checksum::data(payload) == 0xffff,
        bool_of(row, "cksum_ok_v2_style_no_pseudo_hdr"),
        "{id}"
    );

    let parsed = VrrpRepr::parse(&packet, src, dst);
    if !pseudo_ok {
        assert_eq!(parsed, Err(Error::Checksum), "{id}");
        return;
    }
    let repr = parsed.unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(u64::from(repr.vrid), u64_of(row, "vrid"), "{id}");
    assert_eq!(u64::from(repr.priority), u64_of(row, "priority"), "{id}");
    assert_eq!(
        u64::from(repr.max_adver_int),
        u64_of(row, "max_adver_int_cs"),
        "{id}"
    );
    assert_eq!(
        u64::from(packet.count_addr()),
        u64_of(row, "count_ip"),
        "{id}"
    );
    assert_eq!(repr.addrs, &vips(row)[..], "{id}");

    let mut again = vec![0u8; repr.buffer_len()];
    repr.emit(&mut VrrpPacket::new_unchecked(&mut again[..]), src, dst)
        .unwrap();
    assert_eq!(again, payload, "{id}: re-emit differs");
}

fn check_vrrp2(row: &Value, id: &str, payload: &[u8]) {
    assert_eq!(classify(payload), Some(Kind::Vrrp2), "{id}");
    // FreeBSD takes it for a CARP header and drops it as badlen.
    assert_eq!(
        CarpRepr::parse(&CarpPacket::new_unchecked(payload)),
        Err(Error::Truncated),
        "{id}"
    );

    let packet = Vrrp2Packet::new_checked(payload).unwrap();
    assert_eq!(u64::from(packet.version()), u64_of(row, "version"), "{id}");
    assert_eq!(u64::from(packet.type_()), u64_of(row, "type"), "{id}");
    assert_eq!(
        format!("{:04x}", packet.checksum()),
        str_of(row, "cksum"),
        "{id}"
    );
    assert_eq!(packet.verify_checksum(), bool_of(row, "cksum_ok"), "{id}");

    let parsed = Vrrp2Repr::parse(&packet);
    if !bool_of(row, "cksum_ok") {
        assert_eq!(parsed, Err(Error::Checksum), "{id}");
        return;
    }
    let repr = parsed.unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(u64::from(repr.vrid), u64_of(row, "vrid"), "{id}");
    assert_eq!(u64::from(repr.priority), u64_of(row, "priority"), "{id}");
    assert_eq!(
        u64::from(repr.adver_int),
        u64_of(row, "adver_int_s"),
        "{id}"
    );
    assert_eq!(u64::from(repr.auth_type), u64_of(row, "auth_type"), "{id}");
    assert_eq!(
        u64::from(packet.count_addr()),
        u64_of(row, "count_ip"),
        "{id}"
    );
    assert_eq!(repr.addrs, &vips(row)[..], "{id}");

    let mut again = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Vrrp2Packet::new_unchecked(&mut again[..]))
        .unwrap();
    assert_eq!(again, payload, "{id}: re-emit differs");
}

/// The IPv4 header the engine writes for an advert (`wire::ip`) is the one
/// on the wire in every captured CARP advert, once `ip_fillid()` has set
/// the id and `ip_output` the checksum (the two fields the engine leaves
/// to the kernel).
#[test]
fn carp_ip_headers_match_the_captures() {
    for row in vectors("carp-vectors.json") {
        let frame = hex(str_of(&row, "frame_hex"));
        let payload = hex(str_of(&row, "payload_hex"));
        assert_eq!(&frame[12..14], &[0x08, 0x00], "{}: not IPv4", name(&row));
        let want = &frame[14..34];
        let mut got = [0u8; 40];
        let hlen = wire::ip::write_header(
            &mut got,
            ip_of(&row, "ip_src"),
            ip_of(&row, "ip_dst"),
            u64_of(&row, "ip_tos") as u8,
            u64_of(&row, "ip_ttl") as u8,
            payload.len(),
        );
        assert_eq!(hlen, Some(20), "{}", name(&row));
        assert_eq!(&got[10..12], &[0, 0], "checksum left to ip_output");
        got[4..6].copy_from_slice(&(u64_of(&row, "ip_id") as u16).to_be_bytes());
        let sum = !checksum::data(&got[..20]);
        got[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(&got[..20], want, "{}", name(&row));
    }
}
