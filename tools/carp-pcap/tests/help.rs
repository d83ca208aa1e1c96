//! `carp-pcap --help` must document what the tool does: every option it
//! accepts, every field it prints (collected from its real output on the
//! captured vectors) and every exit status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_carp-pcap")
}

fn help() -> String {
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "--help exits 0");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_names_every_option_and_exit_status() {
    let text = help();
    assert_eq!(
        Command::new(bin()).arg("-h").output().unwrap().stdout,
        text.as_bytes(),
        "-h and --help print the same"
    );
    for opt in [
        "-g, --group VHID:PASS:ADDR[,ADDR...]",
        "--group=",
        "-h, --help",
        "--  ",
        "--timeline",
        "--json",
        "--plot FILE.svg",
    ] {
        assert!(text.contains(opt), "--help does not describe {opt:?}");
    }
    for status in ["  0  ", "  1  ", "  2  "] {
        assert!(
            text.contains(status),
            "--help does not explain exit status {status:?}"
        );
    }
}

#[test]
fn help_describes_every_output_field() {
    let text = help();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors");
    let mut keys = BTreeSet::new();
    for name in ["ucarp-badpass.pcap", "mixed-v2.pcap", "ka-v3-failover.pcap"] {
        let pcap = dir.join(name);
        assert!(
            pcap.is_file(),
            "test vector missing: {}; the repository carries it: restore it with `git checkout tests/vectors` or regenerate with `make vectors`",
            pcap.display()
        );
        let out = Command::new(bin())
            .args(["--group", "7:testpass:192.0.2.100"])
            .arg(&pcap)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            keys.extend(v.as_object().unwrap().keys().cloned());
        }
    }
    // All three protocols and the HMAC verdicts were seen.
    for k in [
        "advskew",
        "auth_type",
        "addrs",
        "hmac_ok",
        "matched_password",
    ] {
        assert!(keys.contains(k), "the vectors did not exercise {k}");
    }
    for k in &keys {
        let documented = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("{k} "))
                || l.starts_with(&format!("{k},"))
                || l.contains(&format!(", {k} "))
        });
        assert!(
            documented,
            "--help does not describe the output field {k:?}"
        );
    }
}

#[test]
fn help_describes_every_timeline_field() {
    let text = help();
    let pcap =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/ucarp-failover.pcap");
    assert!(pcap.is_file(), "test vector missing: {}", pcap.display());
    let out = Command::new(bin())
        .args(["--timeline", "--json"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let mut keys = BTreeSet::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        keys.extend(v.as_object().unwrap().keys().cloned());
    }
    assert!(keys.contains("takeover_gap_s"), "{keys:?}");
    for k in &keys {
        let documented = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with(&format!("{k} "))
                || l.starts_with(&format!("{k},"))
                || l.contains(&format!(", {k} "))
                || l.contains(&format!(", {k},"))
        });
        assert!(
            documented,
            "--help does not describe the timeline field {k:?}"
        );
    }
}
