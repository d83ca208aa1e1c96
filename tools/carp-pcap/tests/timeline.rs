//! `carp-pcap --timeline` on the captured failovers of ucarp, keepalived
//! and FRR: every failover that `index.json` measured (with its own
//! Python tooling, from the same capture) must appear as a takeover by
//! the same new master with the same gap, set against the protocol's
//! deadline; the wrong-password capture must show the split brain and the
//! bad authentication; the mixed capture the CARP/VRRP vhid clash.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

use serde_json::Value;

mod common;
use common::{vector, vectors_dir};

fn index() -> Value {
    let path = vectors_dir().join("index.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("test vectors missing: {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn timeline(args: &[&str], pcap: &str) -> (Vec<Value>, String) {
    let path = vector(pcap);
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_carp-pcap"));
        cmd.args(args).arg("--timeline");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let rows = run(true)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (rows, run(false))
}

fn group_args(scenario: &Value) -> Vec<String> {
    scenario["carp_groups"]
        .as_array()
        .unwrap()
        .iter()
        .take(1)
        .map(|g| {
            let vips: Vec<&str> = g["vips"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            format!(
                "--group={}:{}:{}",
                g["vhid"],
                g["password"].as_str().unwrap(),
                vips.join(",")
            )
        })
        .collect()
}

#[test]
fn every_measured_failover_is_a_takeover_with_the_same_gap() {
    let index = index();
    let mut checked = 0;
    for scenario in index["scenarios"].as_array().unwrap() {
        let Some(failovers) = scenario["metrics"]["failover"].as_array() else {
            continue;
        };
        let args = group_args(scenario);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (rows, text) = timeline(&args, scenario["pcap"].as_str().unwrap());
        for f in failovers {
            let new = f["new_master"].as_str().unwrap();
            let first = f["first_advert_from_new_master_t"].as_f64().unwrap();
            let row = rows
                .iter()
                .find(|r| r["master"] == new && (r["from"].as_f64().unwrap() - first).abs() < 1e-3)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: no period of {new} at {first}:\n{text}",
                        scenario["name"]
                    )
                });
            // After a priority-0 advert the gap counts from that advert.
            let (want_start, want_gap) = match f["priority0_to_new_master_s"].as_f64() {
                Some(g) => ("bowout", g),
                None => (
                    "timeout",
                    f["gap_last_advert_to_new_master_s"].as_f64().unwrap(),
                ),
            };
            assert_eq!(row["start"], want_start, "{}:\n{text}", scenario["name"]);
            let gap = row["takeover_gap_s"].as_f64().unwrap();
            assert!(
                (gap - want_gap).abs() < 0.0015,
                "{}: gap {gap} vs {want_gap}",
                scenario["name"]
            );
            let deadline = row["deadline_s"].as_f64().unwrap();
            // Every peer here runs advbase/interval 1 s: CARP 3 s + skew,
            // VRRP 3 s + Skew_Time (or Skew_Time alone after priority 0).
            assert!(
                (0.5..3.7).contains(&deadline),
                "{}: deadline {deadline}",
                scenario["name"]
            );
            assert!(text.contains(&format!("takeover by {new}")), "{text}");
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} failovers checked");
}

#[test]
fn carp_deadlines_follow_the_new_masters_advskew() {
    // ucarp-failover: B (advskew 50) takes over from A: 3 + 50/256 s.
    let (rows, _) = timeline(&["--group=7:testpass:192.0.2.100"], "ucarp-failover.pcap");
    let take = rows.iter().find(|r| r["start"] == "timeout").unwrap();
    assert_eq!(take["master"], "192.0.2.2");
    assert!((take["deadline_s"].as_f64().unwrap() - (3.0 + 50.0 / 256.0)).abs() < 1e-9);
    // A comes back and preempts: no gap, no deadline.
    let back = rows.last().unwrap();
    assert_eq!(
        (&back["master"], &back["start"]),
        (&Value::from("192.0.2.1"), &Value::from("preempt"))
    );
    assert!(back["takeover_gap_s"].is_null());
}

#[test]
fn wrong_password_shows_split_brain_and_bad_auth() {
    let (rows, text) = timeline(&["--group=7:testpass:192.0.2.100"], "ucarp-badpass.pcap");
    assert!(rows
        .iter()
        .any(|r| r["master"] == "192.0.2.3" && r["start"] == "conflict"));
    assert!(
        text.contains("split brain")
            && text.contains("192.0.2.1 (advskew 0) and 192.0.2.3 (advskew 100)"),
        "{text}"
    );
    assert!(text.contains("wrong password"), "{text}");
    assert!(
        text.contains("bad auth: 3 advert(s) from 192.0.2.3"),
        "{text}"
    );
}

#[test]
fn carp_and_vrrp_on_one_vhid_is_a_conflict() {
    let (rows, text) = timeline(&[], "mixed-v2.pcap");
    let protos: Vec<&str> = rows.iter().map(|r| r["proto"].as_str().unwrap()).collect();
    assert!(
        protos.contains(&"carp") && protos.contains(&"vrrp2"),
        "{protos:?}"
    );
    assert!(text.contains("vhid 7 is also used by vrrp2"), "{text}");
}

#[test]
fn plot_is_written_and_options_are_checked() {
    let svg = std::env::temp_dir().join(format!("carp-pcap-timeline-{}.svg", std::process::id()));
    let pcap = vector("ka-v3-failover.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_carp-pcap"))
        .args(["--timeline", "--plot"])
        .arg(&svg)
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = std::fs::read_to_string(&svg).unwrap();
    std::fs::remove_file(&svg).unwrap();
    assert!(
        doc.starts_with("<svg") && doc.contains("vrrp3 vrid 7") && doc.contains("failover 3.612 s"),
        "{doc}"
    );
    // --plot without --timeline is a usage error (exit 2).
    let out = Command::new(env!("CARGO_BIN_EXE_carp-pcap"))
        .args(["--plot", "x.svg"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
