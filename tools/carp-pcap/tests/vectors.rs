//! The built `carp-pcap` against every capture in `tests/vectors`: its
//! decode must agree, frame by frame, with the scenario's
//! `<scenario>.packets.json` (made by an independent Python decoder) and
//! with the counts in `index.json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;
use common::{vector, vectors_dir};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "test vectors missing: {}: {e}; the repository carries it: restore it with `git checkout tests/vectors` or regenerate with `make vectors`",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn group_args(scenario: &Value) -> Vec<String> {
    let mut args = Vec::new();
    for g in scenario["carp_groups"].as_array().expect("carp_groups") {
        let vips: Vec<&str> = g["vips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        args.push("--group".to_owned());
        args.push(format!(
            "{}:{}:{}",
            g["vhid"],
            g["password"].as_str().unwrap(),
            vips.join(",")
        ));
    }
    args
}

fn run(pcap: &Path, args: &[String]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_carp-pcap"))
        .args(args)
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {:?} {}",
        pcap.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}: stderr {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn check_frame(name: &str, want: &Value, got: &Value) {
    let ctx = format!("{name} frame {}", want["frame"]);
    let proto = match want["proto"].as_str().unwrap() {
        "CARP" => "carp",
        "VRRPv2" => "vrrp2",
        "VRRPv3" => "vrrp3",
        other => panic!("{ctx}: unknown proto {other}"),
    };
    assert_eq!(got["proto"], proto, "{ctx}");
    assert_eq!(got["src"], want["ip_src"], "{ctx}");
    assert_eq!(got["dst"], want["ip_dst"], "{ctx}");
    assert_eq!(got["src_mac"], want["eth_src"], "{ctx}");
    assert_eq!(got["ttl"], want["ip_ttl"], "{ctx}");
    let dt = got["time"].as_f64().unwrap() - want["ts"].as_f64().unwrap();
    assert!(
        dt.abs() < 2e-6,
        "{ctx}: time {} vs {}",
        got["time"],
        want["ts"]
    );
    if proto == "carp" {
        for (g, w) in [
            ("vhid", "vhid"),
            ("advbase", "advbase"),
            ("advskew", "advskew"),
            ("counter", "counter"),
        ] {
            assert_eq!(got[g], want[w], "{ctx}: {g}");
        }
        assert_eq!(got["digest"], want["digest"], "{ctx}");
        assert_eq!(got["checksum_ok"], want["cksum_ok"], "{ctx}");
        assert_eq!(got["hmac_ok"], want["hmac_ok"], "{ctx}");
        assert_eq!(got["matched_password"], want["matched_password"], "{ctx}");
    } else {
        assert_eq!(got["vhid"], want["vrid"], "{ctx}");
        assert_eq!(got["priority"], want["priority"], "{ctx}");
        let interval = if proto == "vrrp3" {
            &want["max_adver_int_cs"]
        } else {
            &want["adver_int_s"]
        };
        assert_eq!(&got["interval"], interval, "{ctx}");
        assert_eq!(got["checksum_ok"], want["cksum_ok"], "{ctx}");
        assert_eq!(got["addrs"], want["vips"], "{ctx}");
        assert!(got.get("hmac_ok").is_none(), "{ctx}: VRRP has no HMAC");
    }
}

#[test]
fn every_capture_matches_its_decode() {
    let dir = vectors_dir();
    let index = read_json(&vector("index.json"));
    let scenarios: BTreeMap<&str, &Value> = index["scenarios"]
        .as_array()
        .expect("index.json scenarios")
        .iter()
        .map(|s| (s["pcap"].as_str().unwrap(), s))
        .collect();
    // Every scenario of the index must have its capture, and every capture
    // must be in the index.
    let mut pcaps: Vec<PathBuf> = scenarios.keys().map(|f| vector(f)).collect();
    pcaps.sort();
    assert!(!pcaps.is_empty(), "index.json lists no scenario");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "pcap") {
            assert!(pcaps.contains(&p), "{} is not in index.json", p.display());
        }
    }

    let mut total = 0;
    for pcap in &pcaps {
        let file = pcap.file_name().unwrap().to_str().unwrap();
        let scenario = scenarios[file];
        let name = scenario["name"].as_str().unwrap();
        let want = read_json(&vector(scenario["packets_json"].as_str().unwrap()));
        let want = want.as_array().unwrap();
        let got = run(pcap, &group_args(scenario));
        assert_eq!(got.len(), want.len(), "{name}: number of adverts");
        let by_frame: BTreeMap<u64, &Value> = got
            .iter()
            .map(|g| (g["frame"].as_u64().unwrap(), g))
            .collect();
        assert_eq!(by_frame.len(), got.len(), "{name}: a frame printed twice");
        for w in want {
            let frame = w["frame"].as_u64().unwrap();
            let g = by_frame
                .get(&frame)
                .unwrap_or_else(|| panic!("{name}: frame {frame} missing"));
            check_frame(name, w, g);
        }

        let counts = &scenario["counts"];
        let count = |f: &dyn Fn(&Value) -> bool| got.iter().filter(|g| f(g)).count() as u64;
        assert_eq!(
            count(&|g| g["proto"] == "carp"),
            counts["CARP"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            count(&|g| g["proto"] == "vrrp2"),
            counts["VRRPv2"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            count(&|g| g["proto"] == "vrrp3"),
            counts["VRRPv3"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            count(&|g| g["proto"] == "carp" && g["checksum_ok"] == true),
            counts["CARP_cksum_ok"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            count(&|g| g["proto"] == "carp" && g["hmac_ok"] == true),
            counts["CARP_hmac_ok_for_first_group"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            count(&|g| g["proto"] == "vrrp3" && g["checksum_ok"] == true),
            counts["VRRPv3_cksum_ok_pseudo_hdr"].as_u64().unwrap(),
            "{name}"
        );
        total += got.len();
    }
    assert!(total > 0);
}

/// Without `--group` there is nothing to judge the HMAC against: the field
/// must be absent rather than guessed.
#[test]
fn no_group_no_verdict() {
    let pcap = vector("ucarp-badpass.pcap");
    let got = run(&pcap, &[]);
    assert!(!got.is_empty());
    assert!(got
        .iter()
        .all(|g| g.get("hmac_ok").is_none() && g.get("matched_password").is_none()));
    // A group for another vhid does not apply either.
    let got = run(&pcap, &["--group".into(), "8:testpass:192.0.2.100".into()]);
    assert!(got.iter().all(|g| g.get("hmac_ok").is_none()));
    // The wrong password as the only group flips every verdict.
    let got = run(&pcap, &["--group".into(), "7:wrongpass:192.0.2.100".into()]);
    let wrong: Vec<bool> = got
        .iter()
        .map(|g| g["hmac_ok"].as_bool().unwrap())
        .collect();
    let right: Vec<bool> = run(&pcap, &["--group".into(), "7:testpass:192.0.2.100".into()])
        .iter()
        .map(|g| g["hmac_ok"].as_bool().unwrap())
        .collect();
    assert_eq!(wrong.len(), right.len());
    assert!(
        wrong.iter().zip(&right).all(|(w, r)| w != r),
        "{wrong:?} {right:?}"
    );
}
