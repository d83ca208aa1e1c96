//! `carp_rs::auth` against the adverts captured from real ucarp peers
//! (`tests/vectors/carp-vectors.json`), and against an independent
//! reference built from the spec (sort, dedup, plain `hmac`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use carp_rs::auth::{digest_naive, Key, KeyError, Signer, DIGEST_LEN, KEY_LEN};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;

fn vectors_dir() -> PathBuf {
    match std::env::var_os("CARP_VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors"),
    }
}

fn rows() -> Vec<Value> {
    let path = vectors_dir().join("carp-vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test vectors missing: {}: {e}; the repository carries it: restore it with `git checkout tests/vectors` or regenerate with `make vectors`",
            path.display()
        )
    });
    let rows: Vec<Value> =
        serde_json::from_str(&text).expect("carp-vectors.json is not a JSON array");
    assert!(!rows.is_empty(), "{} holds no rows", path.display());
    rows
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn str_field<'a>(row: &'a Value, name: &str) -> &'a str {
    row[name]
        .as_str()
        .unwrap_or_else(|| panic!("row lacks string {name}: {row}"))
}

/// A captured advert with the configuration its receivers had.
struct Vector {
    password: String,
    matched_password: Option<String>,
    vhid: u8,
    v4: Vec<[u8; 4]>,
    v6: Vec<[u8; 16]>,
    counter: u64,
    digest: Vec<u8>,
    expected: Vec<u8>,
    hmac_ok: bool,
}

fn vector(row: &Value) -> Vector {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for vip in row["vips"].as_array().expect("vips") {
        let vip = vip.as_str().expect("vip string");
        match vip.parse::<Ipv4Addr>() {
            Ok(a) => v4.push(a.octets()),
            Err(_) => v6.push(
                vip.parse::<Ipv6Addr>()
                    .expect("vip is neither v4 nor v6")
                    .octets(),
            ),
        }
    }
    let counter = u64::from_str_radix(str_field(row, "counter"), 16).unwrap();
    let digest = unhex(str_field(row, "digest"));
    // The decoded fields must be what the payload really carries.
    let payload = unhex(str_field(row, "payload_hex"));
    assert_eq!(payload.len(), 36);
    assert_eq!(
        u64::from_be_bytes(payload[8..16].try_into().unwrap()),
        counter
    );
    assert_eq!(&payload[16..36], &digest[..]);
    assert_eq!(u64::from(payload[1]), row["vhid"].as_u64().unwrap());
    Vector {
        password: str_field(row, "password").to_owned(),
        matched_password: row["matched_password"].as_str().map(str::to_owned),
        vhid: payload[1],
        v4,
        v6,
        counter,
        digest,
        expected: unhex(str_field(row, "expected_digest")),
        hmac_ok: row["hmac_ok"].as_bool().expect("hmac_ok"),
    }
}

/// The spec, written the obvious way with allocation: sort, dedup, hash.
fn reference(
    pass: &[u8],
    vhid: u8,
    v4: &[[u8; 4]],
    v6: &[[u8; 16]],
    counter: u64,
) -> [u8; DIGEST_LEN] {
    let mut key = pass.to_vec();
    key.resize(KEY_LEN, 0);
    let mut v4: Vec<u32> = v4.iter().map(|a| u32::from_be_bytes(*a)).collect();
    v4.sort_unstable();
    v4.dedup();
    let mut v6: Vec<[u8; 16]> = v6
        .iter()
        .map(|a| {
            let mut a = *a;
            let scoped = (a[0] == 0xfe && a[1] & 0xc0 == 0x80)
                || (a[0] == 0xff && matches!(a[1] & 0x0f, 1 | 2));
            if scoped {
                a[2] = 0;
                a[3] = 0;
            }
            a
        })
        .collect();
    v6.sort_unstable();
    v6.dedup();
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&key).unwrap();
    mac.update(&[2, 1, vhid]);
    for a in v4 {
        mac.update(&a.to_be_bytes());
    }
    for a in v6 {
        mac.update(&a);
    }
    mac.update(&counter.to_be_bytes());
    mac.finalize().into_bytes().into()
}

#[test]
fn every_captured_advert() {
    let rows = rows();
    let mut negatives = 0;
    for (i, row) in rows.iter().enumerate() {
        let v = vector(row);
        let key = Key::new(v.password.as_bytes()).unwrap();
        let signer = Signer::new(&key, v.vhid, &v.v4, &v.v6);
        assert_eq!(
            signer.sign(v.counter).to_vec(),
            v.expected,
            "row {i}: expected_digest"
        );
        assert_eq!(
            digest_naive(&key, v.vhid, &v.v4, &v.v6, v.counter).to_vec(),
            v.expected,
            "row {i}: naive"
        );
        assert_eq!(
            signer.verify(v.counter, &v.digest),
            v.hmac_ok,
            "row {i}: hmac_ok"
        );
        assert_eq!(
            v.hmac_ok,
            v.digest == v.expected,
            "row {i}: the vector contradicts itself"
        );
        if !v.hmac_ok {
            negatives += 1;
            // The wrong-password adverts are genuine: they verify under the
            // sender's own password.
            let theirs = v
                .matched_password
                .as_deref()
                .expect("negative row names the sender's password");
            assert_ne!(theirs, v.password);
            let signer = Signer::new(&Key::new(theirs.as_bytes()).unwrap(), v.vhid, &v.v4, &v.v6);
            assert!(
                signer.verify(v.counter, &v.digest),
                "row {i}: sender's password"
            );
        }
        // Neighbouring counters must not verify.
        assert!(
            !signer.verify(v.counter.wrapping_add(1), &v.digest),
            "row {i}: counter+1"
        );
    }
    assert!(negatives > 0, "the vectors lost their wrong-password rows");
}

#[test]
fn captured_adverts_verify_whatever_the_address_order() {
    for row in rows().iter().filter(|r| r["hmac_ok"] == true).take(10) {
        let v = vector(row);
        let key = Key::new(v.password.as_bytes()).unwrap();
        let mut v4 = v.v4.clone();
        v4.extend(v.v4.iter().rev());
        let signer = Signer::new(&key, v.vhid, &v4, &v.v6);
        assert!(signer.verify(v.counter, &v.digest), "duplicated VIP list");
    }
}

fn sample_sets() -> (Vec<[u8; 4]>, Vec<[u8; 16]>) {
    let v4 = [
        "203.0.113.9",
        "192.0.2.100",
        "198.51.100.7",
        "192.0.2.1",
        "192.0.2.255",
        "10.1.2.3",
    ]
    .iter()
    .map(|s| s.parse::<Ipv4Addr>().unwrap().octets())
    .collect();
    let v6 = [
        "2001:db8::2",
        "2001:db8::1",
        "fe80::1",
        "2001:db8:ffff::1",
        "ff02::12",
        "2001:db8::1:0",
    ]
    .iter()
    .map(|s| s.parse::<Ipv6Addr>().unwrap().octets())
    .collect();
    (v4, v6)
}

#[test]
fn order_and_duplicates_do_not_matter() {
    let key = Key::new(b"order").unwrap();
    let (v4, v6) = sample_sets();
    let want = reference(b"order", 42, &v4, &v6, 0xdead_beef_0000_0001);
    let mut seed = 0x1234_5678_u32;
    for round in 0..50 {
        let mut a4 = v4.clone();
        let mut a6 = v6.clone();
        // Add duplicates, then shuffle (xorshift, deterministic).
        a4.extend_from_slice(&v4[..round % v4.len()]);
        a6.extend_from_slice(&v6[..round % v6.len()]);
        for i in (1..a4.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            a4.swap(i, seed as usize % (i + 1));
        }
        for i in (1..a6.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            a6.swap(i, seed as usize % (i + 1));
        }
        let signer = Signer::new(&key, 42, &a4, &a6);
        assert_eq!(signer.sign(0xdead_beef_0000_0001), want, "round {round}");
        assert_eq!(
            digest_naive(&key, 42, &a4, &a6, 0xdead_beef_0000_0001),
            want,
            "round {round}"
        );
    }
}

#[test]
fn both_families_are_hashed_into_every_advert() {
    let key = Key::new(b"fam").unwrap();
    let (v4, v6) = sample_sets();
    let full = Signer::new(&key, 1, &v4, &v6).sign(9);
    assert_eq!(full, reference(b"fam", 1, &v4, &v6, 9));
    assert_ne!(full, Signer::new(&key, 1, &v4, &[]).sign(9));
    assert_ne!(full, Signer::new(&key, 1, &[], &v6).sign(9));
    assert_ne!(full, Signer::new(&key, 1, &v4[1..], &v6).sign(9));
    assert_ne!(full, Signer::new(&key, 2, &v4, &v6).sign(9));
}

#[test]
fn ipv6_zone_bytes_are_cleared_for_scoped_addresses_only() {
    let key = Key::ZERO;
    let plain: Ipv6Addr = "fe80::1".parse().unwrap();
    let mut embedded = plain.octets();
    embedded[2..4].copy_from_slice(&[0, 3]); // KAME zone id for ifindex 3
    let d = |a: [u8; 16]| Signer::new(&key, 5, &[], &[a]).sign(1);
    assert_eq!(d(embedded), d(plain.octets()));
    assert_eq!(d(embedded), reference(&[], 5, &[], &[plain.octets()], 1));

    let mut mc = "ff02::12".parse::<Ipv6Addr>().unwrap().octets();
    let clean = mc;
    mc[3] = 7;
    assert_eq!(d(mc), d(clean));

    // Global addresses keep bytes 2..4: they are part of the address.
    let global: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let mut other = global.octets();
    other[3] ^= 1;
    assert_ne!(d(other), d(global.octets()));

    // A zoned and an unzoned copy of one link-local address are one address.
    let both = Signer::new(&key, 5, &[], &[embedded, plain.octets()]).sign(1);
    assert_eq!(both, d(plain.octets()));
}

#[test]
fn many_addresses() {
    let key = Key::new(b"0123456789abcdefghij").unwrap();
    let v4: Vec<[u8; 4]> = (0..300u32)
        .map(|i| (0xc633_6400 + (i * 7919) % 4096).to_be_bytes())
        .collect();
    let v6: Vec<[u8; 16]> = (0..200u128)
        .map(|i| ((0x2001_0db8_u128 << 96) | ((i * 104_729) % 1000)).to_be_bytes())
        .collect();
    let signer = Signer::new(&key, 255, &v4, &v6);
    for counter in [0, 1, u64::MAX, 0x8000_0000_0000_0000] {
        let want = reference(key.as_bytes(), 255, &v4, &v6, counter);
        assert_eq!(signer.sign(counter), want);
        assert_eq!(digest_naive(&key, 255, &v4, &v6, counter), want);
    }
}

#[test]
fn keys() {
    assert_eq!(Key::new(&[b'x'; 21]), Err(KeyError::TooLong));
    assert_eq!(Key::new(&[0u8; 64]), Err(KeyError::TooLong));
    let twenty = Key::new(&[b'y'; 20]).unwrap();
    assert_eq!(twenty.as_bytes(), &[b'y'; 20]);
    assert!(!twenty.is_zero());
    let empty = Key::new(b"").unwrap();
    assert_eq!(empty, Key::ZERO);
    assert_eq!(empty, Key::default());
    assert!(empty.is_zero());
    let short = Key::new(b"ab").unwrap();
    assert_eq!(&short.as_bytes()[..3], b"ab\0");
    assert_eq!(short.as_bytes()[2..], [0u8; 18]);
    assert!(!format!("{short:?}").contains("ab"));
    assert!(!format!("{short:?}").contains("97"));
    // No password still authenticates: the zero key is a real key.
    let zero = Signer::new(&Key::ZERO, 1, &[[192, 0, 2, 1]], &[]).sign(1);
    assert_eq!(zero, reference(&[], 1, &[[192, 0, 2, 1]], &[], 1));
    assert_ne!(zero, Signer::new(&short, 1, &[[192, 0, 2, 1]], &[]).sign(1));
}
