//! The same real adverts, re-encapsulated every way the tool claims to
//! read (byte orders, nanosecond timestamps, Linux cooked captures, VLAN
//! tags, IPv4 options, IPv6 extension headers), must decode to the same
//! JSON; damaged input must be skipped, never crash the tool.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

mod common;
use common::vectors_dir;

struct Frame {
    sec: u32,
    usec: u32,
    data: Vec<u8>,
}

/// Reads the little-endian microsecond Ethernet captures of the vectors.
fn read_capture(name: &str) -> Vec<Frame> {
    let path = vectors_dir().join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!(
            "test vector missing: {}: {e}; the repository carries it: restore it with `git checkout tests/vectors` or regenerate with `make vectors`",
            path.display()
        ));
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "{name}: expected LE usec pcap"
    );
    assert_eq!(
        u32::from_le_bytes(bytes[20..24].try_into().unwrap()),
        1,
        "{name}: expected Ethernet"
    );
    let mut frames = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().unwrap());
        let (sec, usec, len) = (word(0), word(4), word(8) as usize);
        frames.push(Frame {
            sec,
            usec,
            data: bytes[at + 16..at + 16 + len].to_vec(),
        });
        at += 16 + len;
    }
    frames
}

fn write_capture(big: bool, nanos: bool, link: u32, frames: &[Frame]) -> Vec<u8> {
    let w32 = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend(w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend(w16(2));
    out.extend(w16(4));
    out.extend(w32(0));
    out.extend(w32(0));
    out.extend(w32(262_144));
    out.extend(w32(link));
    for f in frames {
        out.extend(w32(f.sec));
        out.extend(w32(if nanos { f.usec * 1000 } else { f.usec }));
        out.extend(w32(f.data.len() as u32));
        out.extend(w32(f.data.len() as u32));
        out.extend(&f.data);
    }
    out
}

fn temp_file(tag: &str, bytes: &[u8]) -> PathBuf {
    // Tests run in parallel threads of one process: number every file.
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "carp-pcap-test-{}-{seq}-{tag}.pcap",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn exec(path: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_carp-pcap"))
        .args(args)
        .arg(path)
        .output()
        .unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn decode(tag: &str, bytes: &[u8], args: &[&str]) -> Vec<Value> {
    let path = temp_file(tag, bytes);
    let out = exec(&path, args);
    std::fs::remove_file(&path).unwrap();
    lines(&out)
}

const GROUP: [&str; 2] = ["--group", "7:testpass:192.0.2.100"];

fn without(mut v: Vec<Value>, keys: &[&str]) -> Vec<Value> {
    for obj in &mut v {
        for k in keys {
            obj.as_object_mut().unwrap().remove(*k);
        }
    }
    v
}

fn ipv4_header_checksum(header: &mut [u8]) {
    header[10] = 0;
    header[11] = 0;
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    header[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

fn ethertype(f: &Frame) -> u16 {
    u16::from_be_bytes([f.data[12], f.data[13]])
}

fn map_frames(frames: &[Frame], f: impl Fn(&Frame) -> Vec<u8>) -> Vec<Frame> {
    frames
        .iter()
        .map(|fr| Frame {
            sec: fr.sec,
            usec: fr.usec,
            data: f(fr),
        })
        .collect()
}

/// Captures that together hold CARP (good and wrong-password), VRRPv2 and
/// VRRPv3 adverts.
const CAPTURES: [&str; 3] = ["ucarp-badpass.pcap", "mixed-v2.pcap", "ka-v3-failover.pcap"];

#[test]
fn byte_orders_and_timestamp_resolutions() {
    for name in CAPTURES {
        let frames = read_capture(name);
        let base = decode("base", &write_capture(false, false, 1, &frames), &GROUP);
        assert!(!base.is_empty());
        for (big, nanos) in [(true, false), (false, true), (true, true)] {
            let got = decode("order", &write_capture(big, nanos, 1, &frames), &GROUP);
            assert_eq!(got, base, "{name} big={big} nanos={nanos}");
        }
    }
}

#[test]
fn linux_cooked_v1_and_v2() {
    for name in CAPTURES {
        let frames = read_capture(name);
        let base = decode("base", &write_capture(false, false, 1, &frames), &GROUP);
        let sll = map_frames(&frames, |f| {
            let mut d = vec![0, 0, 0, 1, 0, 6];
            d.extend(&f.data[6..12]);
            d.extend([0, 0]);
            d.extend(&f.data[12..]);
            d
        });
        assert_eq!(
            decode("sll", &write_capture(false, false, 113, &sll), &GROUP),
            base,
            "{name} SLL"
        );
        let sll2 = map_frames(&frames, |f| {
            let mut d = f.data[12..14].to_vec();
            d.extend([0, 0, 0, 0, 0, 2, 0, 1, 0, 6]);
            d.extend(&f.data[6..12]);
            d.extend([0, 0]);
            d.extend(&f.data[14..]);
            d
        });
        assert_eq!(
            decode("sll2", &write_capture(false, false, 276, &sll2), &GROUP),
            base,
            "{name} SLL2"
        );
        let raw: Vec<Frame> = frames
            .iter()
            .filter(|f| ethertype(f) == 0x0800)
            .map(|f| Frame {
                sec: f.sec,
                usec: f.usec,
                data: f.data[14..].to_vec(),
            })
            .collect();
        let got = decode("raw", &write_capture(false, false, 101, &raw), &GROUP);
        assert_eq!(
            without(got, &["frame", "src_mac"]),
            without(base.clone(), &["frame", "src_mac"]),
            "{name} raw"
        );
    }
}

#[test]
fn vlan_tags_and_ipv4_options() {
    for name in CAPTURES {
        let frames = read_capture(name);
        let base = decode("base", &write_capture(false, false, 1, &frames), &GROUP);
        for tags in [&[0x8100u16][..], &[0x88a8, 0x8100]] {
            let tagged = map_frames(&frames, |f| {
                let mut d = f.data[..12].to_vec();
                for t in tags {
                    d.extend(t.to_be_bytes());
                    d.extend(0x0064u16.to_be_bytes());
                }
                d.extend(&f.data[12..]);
                d
            });
            assert_eq!(
                decode("vlan", &write_capture(false, false, 1, &tagged), &GROUP),
                base,
                "{name} {tags:?}"
            );
        }
        let with_options = map_frames(&frames, |f| {
            if ethertype(f) != 0x0800 {
                return f.data.clone();
            }
            let ip = &f.data[14..];
            let hl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let mut header = ip[..hl].to_vec();
            header.extend([0x94, 0x04, 0x00, 0x00]); // router alert
            header.extend([0x01, 0x01, 0x01, 0x00]); // NOP NOP NOP EOL
            header[0] = 0x40 | (header.len() / 4) as u8;
            header[2..4].copy_from_slice(&((total + 8) as u16).to_be_bytes());
            ipv4_header_checksum(&mut header);
            let mut d = f.data[..14].to_vec();
            d.extend(header);
            d.extend(&ip[hl..]);
            d
        });
        assert_eq!(
            decode(
                "opts",
                &write_capture(false, false, 1, &with_options),
                &GROUP
            ),
            base,
            "{name} options"
        );
    }
}

/// CARP's checksum has no pseudo-header and its HMAC does not cover the IP
/// header, so a CARP advert moved into IPv6 keeps both valid.
#[test]
fn carp_over_ipv6_with_extension_headers() {
    let frames = read_capture("ucarp-badpass.pcap");
    let base = decode("base", &write_capture(false, false, 1, &frames), &GROUP);
    let v6 = map_frames(&frames, |f| {
        if ethertype(f) != 0x0800 {
            return f.data.clone();
        }
        let ip = &f.data[14..];
        let hl = usize::from(ip[0] & 0x0f) * 4;
        let carp = &ip[hl..usize::from(u16::from_be_bytes([ip[2], ip[3]]))];
        let mut exts = vec![60, 0, 5, 2, 0, 0, 1, 0]; // hop-by-hop: router alert, next dst opts
        exts.extend([44, 1, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // dst opts (PadN), next fragment
        exts.extend([112, 0, 0, 0, 0, 0, 0, 1]); // atomic fragment, next CARP
        let mut d = vec![0x33, 0x33, 0, 0, 0, 0x12];
        d.extend(&f.data[6..12]);
        d.extend(0x86ddu16.to_be_bytes());
        d.extend([0x60, 0, 0, 0]);
        d.extend(((exts.len() + carp.len()) as u16).to_be_bytes());
        d.extend([0, ip[8]]);
        d.extend(
            "fe80::200:5eff:fe00:7"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        d.extend("ff02::12".parse::<std::net::Ipv6Addr>().unwrap().octets());
        d.extend(exts);
        d.extend(carp);
        d
    });
    let got = decode("v6", &write_capture(false, false, 1, &v6), &GROUP);
    assert_eq!(got.len(), base.len());
    assert!(got
        .iter()
        .all(|g| g["src"] == "fe80::200:5eff:fe00:7" && g["dst"] == "ff02::12"));
    assert_eq!(
        without(got, &["src", "dst"]),
        without(base, &["src", "dst"])
    );
}

#[test]
fn damaged_frames_are_skipped_and_counted() {
    let frames = read_capture("ucarp-badpass.pcap");
    let base = decode("base", &write_capture(false, false, 1, &frames), &GROUP);
    let carp = frames.iter().find(|f| ethertype(f) == 0x0800).unwrap();
    let mut damaged: Vec<Frame> = Vec::new();
    let mut push = |data: Vec<u8>| {
        damaged.push(Frame {
            sec: 1,
            usec: 0,
            data,
        })
    };
    // Cut anywhere: inside Ethernet, IP, or the CARP header.
    for cut in [0, 5, 13, 14, 20, 33, 34, 40, 60, carp.data.len() - 1] {
        push(carp.data[..cut].to_vec());
    }
    // IP total length beyond the frame, and a CARP payload too short for
    // its header but consistent at the IP level.
    let mut long = carp.data.clone();
    long[16..18].copy_from_slice(&200u16.to_be_bytes());
    push(long);
    let mut short = carp.data[..14 + 20 + 20].to_vec();
    short[16..18].copy_from_slice(&40u16.to_be_bytes());
    push(short);
    // A fragment.
    let mut frag = carp.data.clone();
    frag[20] |= 0x20;
    push(frag);
    // Pseudo-random garbage, some of it with an IPv4/112 prefix.
    let mut seed = 0x9e37_79b9_u32;
    for i in 0..200 {
        let mut d: Vec<u8> = (0..(i % 90))
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        if i % 2 == 0 && d.len() > 34 {
            d[..24].copy_from_slice(&carp.data[..24]);
        }
        push(d);
    }
    let mut all: Vec<Frame> = Vec::new();
    all.extend(damaged);
    for f in &frames {
        all.push(Frame {
            sec: f.sec,
            usec: f.usec,
            data: f.data.clone(),
        });
    }
    let path = temp_file("damaged", &write_capture(false, false, 1, &all));
    let out = exec(&path, &GROUP);
    std::fs::remove_file(&path).unwrap();
    let skipped = 213;
    let got = lines(&out);
    // Garbage that happens to parse may print; the real adverts all do.
    let real = without(
        got.iter()
            .filter(|g| g["frame"].as_u64().unwrap() > skipped)
            .cloned()
            .collect(),
        &["frame"],
    );
    assert_eq!(real, without(base, &["frame"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("malformed"), "{stderr}");
    assert!(stderr.contains("fragment"), "{stderr}");
}

#[test]
fn truncated_file_keeps_what_was_read() {
    let frames = read_capture("ucarp-badpass.pcap");
    let bytes = write_capture(false, false, 1, &frames);
    let base = decode("base", &bytes, &GROUP);
    let last = frames.last().unwrap();
    let cut = &bytes[..bytes.len() - last.data.len() / 2];
    let path = temp_file("cut", cut);
    let out = exec(&path, &GROUP);
    std::fs::remove_file(&path).unwrap();
    let got = lines(&out);
    let last_frame = frames.len() as u64;
    let want: Vec<Value> = base
        .into_iter()
        .filter(|b| b["frame"].as_u64().unwrap() < last_frame)
        .collect();
    assert_eq!(got, want);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut short"));
}

#[test]
fn usage_and_unreadable_input_exit_2() {
    let bin = env!("CARGO_BIN_EXE_carp-pcap");
    let code = |args: &[&str]| Command::new(bin).args(args).output().unwrap().status.code();
    let good = vectors_dir().join("mixed-v2.pcap");
    assert!(
        good.is_file(),
        "test vector missing: {}; the repository carries it: restore it with `git checkout tests/vectors` or regenerate with `make vectors`",
        good.display()
    );
    let good = good.to_str().unwrap();
    assert_eq!(code(&[]), Some(2));
    assert_eq!(code(&[good, good]), Some(2));
    assert_eq!(code(&["--bogus", good]), Some(2));
    assert_eq!(code(&[good, "--group"]), Some(2));
    assert_eq!(code(&["--group", "7:pass", good]), Some(2));
    assert_eq!(
        code(&["--group", "7:123456789012345678901:192.0.2.1", good]),
        Some(2)
    );
    assert_eq!(code(&["/nonexistent/x.pcap"]), Some(2));
    assert_eq!(code(&["--help"]), Some(0));
    assert_eq!(code(&["--group=7:testpass:192.0.2.100", good]), Some(0));

    let not_pcap = temp_file("text", b"this is not a capture file at all");
    assert_eq!(code(&[not_pcap.to_str().unwrap()]), Some(2));
    std::fs::remove_file(&not_pcap).unwrap();
    let frames = read_capture("mixed-v2.pcap");
    let wifi = temp_file("wifi", &write_capture(false, false, 105, &frames));
    assert_eq!(code(&[wifi.to_str().unwrap()]), Some(2));
    std::fs::remove_file(&wifi).unwrap();
    let empty = temp_file("empty", &write_capture(true, true, 1, &[]));
    let out = exec(&empty, &[]);
    std::fs::remove_file(&empty).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}
