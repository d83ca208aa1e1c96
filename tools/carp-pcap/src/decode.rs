//! One protocol-112 payload to one JSON object, through `carp_rs::wire`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use carp_rs::wire::{self, CarpPacket, Kind, Vrrp2Packet, VrrpPacket};
use serde_json::{json, Map, Value};

use crate::frame::Ip112;
use crate::group::Group;
use crate::pcap::Record;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac_text(mac: &[u8; 6]) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

fn address_list(raw: &[u8], v6: bool) -> Vec<String> {
    if v6 {
        raw.chunks_exact(16)
            .filter_map(|c| <[u8; 16]>::try_from(c).ok())
            .map(|a| Ipv6Addr::from(a).to_string())
            .collect()
    } else {
        raw.chunks_exact(4)
            .filter_map(|c| <[u8; 4]>::try_from(c).ok())
            .map(|a| Ipv4Addr::from(a).to_string())
            .collect()
    }
}

/// The JSON line for one advert, or `None` if the payload is no dialect
/// of protocol 112 that we know (or too short for its header).
pub fn decode(record: &Record<'_>, ip: &Ip112<'_>, groups: &[Group]) -> Option<Value> {
    let kind = wire::classify(ip.payload)?;
    let mut out = Map::new();
    out.insert("frame".into(), json!(record.number));
    out.insert("time".into(), json!(record.time()));
    out.insert("src".into(), json!(ip.src.to_string()));
    out.insert("dst".into(), json!(ip.dst.to_string()));
    out.insert(
        "src_mac".into(),
        ip.src_mac
            .as_ref()
            .map_or(Value::Null, |m| json!(mac_text(m))),
    );
    out.insert("ttl".into(), json!(ip.ttl));
    let v6 = matches!(ip.src, IpAddr::V6(_));
    match kind {
        Kind::Carp => {
            let packet = CarpPacket::new_checked(ip.payload).ok()?;
            out.insert("proto".into(), json!("carp"));
            out.insert("vhid".into(), json!(packet.vhid()));
            out.insert("advbase".into(), json!(packet.advbase()));
            out.insert("advskew".into(), json!(packet.advskew()));
            out.insert("demote".into(), json!(packet.demote()));
            out.insert(
                "counter".into(),
                json!(format!("{:016x}", packet.counter())),
            );
            out.insert("digest".into(), json!(hex(packet.digest())));
            out.insert("checksum_ok".into(), json!(packet.verify_checksum()));
            let mut mine = groups.iter().filter(|g| g.vhid == packet.vhid()).peekable();
            if let Some(first) = mine.peek() {
                // Judged as a receiver configured with the first group would.
                out.insert(
                    "hmac_ok".into(),
                    json!(first.signer.verify(packet.counter(), packet.digest())),
                );
                let matched = mine.find(|g| g.signer.verify(packet.counter(), packet.digest()));
                out.insert(
                    "matched_password".into(),
                    matched.map_or(Value::Null, |g| json!(g.password)),
                );
            }
        }
        Kind::Vrrp3 => {
            let packet = VrrpPacket::new_checked(ip.payload).ok()?;
            out.insert("proto".into(), json!("vrrp3"));
            out.insert("vhid".into(), json!(packet.vrid()));
            out.insert("priority".into(), json!(packet.priority()));
            out.insert("interval".into(), json!(packet.max_adver_int()));
            out.insert("count".into(), json!(packet.count_addr()));
            out.insert(
                "addrs".into(),
                json!(address_list(packet.addresses(v6), v6)),
            );
            out.insert(
                "checksum_ok".into(),
                json!(packet.verify_checksum(&ip.src, &ip.dst)),
            );
        }
        Kind::Vrrp2 => {
            let packet = Vrrp2Packet::new_checked(ip.payload).ok()?;
            out.insert("proto".into(), json!("vrrp2"));
            out.insert("vhid".into(), json!(packet.vrid()));
            out.insert("priority".into(), json!(packet.priority()));
            out.insert("interval".into(), json!(packet.adver_int()));
            out.insert("count".into(), json!(packet.count_addr()));
            out.insert("auth_type".into(), json!(packet.auth_type()));
            out.insert(
                "addrs".into(),
                json!(address_list(packet.addresses(), false)),
            );
            out.insert("checksum_ok".into(), json!(packet.verify_checksum()));
        }
    }
    Some(Value::Object(out))
}
