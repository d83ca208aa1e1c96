//! `carp-lab vectors DIR`: records the captures of `tests/vectors` again
//! from the real peers (Debian's ucarp, keepalived and FRR vrrpd), each
//! scenario in its own namespace lab on the vectors' segment (hosts
//! 192.0.2.1-3, MACs 02:00:00:00:00:01-03, VIP 192.0.2.100, vhid/vrid 7,
//! password `testpass`). Writes `<scenario>.pcap` and
//! `<scenario>.events.json` (what was started and killed when, in the
//! capture's clock, and the peers' Debian versions); everything else in
//! tests/vectors is derived from those by `tests/vectors/tools/build_vectors.py`.
//! `make vectors` runs both and the vector tests on the result.

use std::path::{Path, PathBuf};
use std::time::Duration;

use carp_node::lab::{now_wall, Lab, Segment, Skip};
use carp_node::peers::{self, Carp, Keepalived};
use serde_json::{json, Value};

const VIP: &str = "192.0.2.100";
const VHID: u8 = 7;

/// What the harness did, as build_vectors.py reads it.
struct Rec {
    name: &'static str,
    doc: &'static str,
    lab: Lab,
    events: Vec<Value>,
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn sleep(s: f64) {
    std::thread::sleep(Duration::from_secs_f64(s));
}

impl Rec {
    fn new(
        name: &'static str,
        doc: &'static str,
        hosts: usize,
        budget: u64,
    ) -> Result<Rec, String> {
        let mut lab = Lab::on_segment(
            "vec",
            hosts,
            false,
            Duration::from_secs(budget),
            Segment::VECTORS,
        )
        .map_err(|Skip(m)| format!("SKIP: {m}"))?;
        lab.start_capture().map_err(|e| format!("capture: {e}"))?;
        let mut r = Rec {
            name,
            doc,
            lab,
            events: Vec::new(),
        };
        r.push(json!({"event": "capture-start", "pcap": format!("{name}.pcap")}));
        Ok(r)
    }

    fn push(&mut self, mut e: Value) {
        if let Some(o) = e.as_object_mut() {
            o.insert("t".into(), json!(secs(now_wall())));
        }
        self.events.push(e);
    }

    fn started(&mut self, label: &str, host: usize, proc: usize) {
        let ip = self.lab.hosts.get(host).map(|h| h.v4.to_string());
        let pid = self.lab.proc(proc).map(|p| p.pid);
        self.push(
            json!({"event": "start", "label": label, "ns": self.lab.ns(host),
                         "ip": ip, "daemon_pids": [pid]}),
        );
    }

    fn ucarp(&mut self, label: &str, host: usize, c: &Carp) -> Result<usize, String> {
        let p = peers::ucarp(&mut self.lab, label, host, c).map_err(|e| format!("{label}: {e}"))?;
        self.started(label, host, p);
        Ok(p)
    }

    fn keepalived(&mut self, label: &str, host: usize, k: &Keepalived) -> Result<usize, String> {
        let p = peers::keepalived_with(&mut self.lab, label, host, k)
            .map_err(|e| format!("{label}: {e}"))?;
        self.started(label, host, p);
        Ok(p)
    }

    /// FRR zebra + vrrpd; returns vrrpd's process (the one to kill).
    fn frr(&mut self, label: &str, host: usize, prio: u8) -> Result<usize, String> {
        let (_, v) = peers::frr(&mut self.lab, label, host, VHID, prio, VIP)
            .map_err(|e| format!("{label}: {e}"))?;
        self.started(label, host, v);
        Ok(v)
    }

    /// A hard kill (SIGSTOP then SIGKILL of the process tree: no goodbye)
    /// or a SIGTERM (graceful: VRRP priority 0, ucarp's own exit).
    fn kill(&mut self, label: &str, proc: usize, hard: bool) {
        let pid = self.lab.proc(proc).map(|p| p.pid);
        if hard {
            self.lab.kill(proc, libc::SIGKILL);
        } else {
            self.lab.signal(proc, libc::SIGTERM);
        }
        self.push(json!({"event": "kill", "label": label, "pid": pid,
                         "how": if hard { "hard" } else { "term" }}));
    }

    /// Stops the capture and writes `<name>.pcap` and `<name>.events.json`
    /// into `out`; returns the number of protocol-112 frames captured.
    fn finish(mut self, out: &Path) -> Result<usize, String> {
        self.push(json!({"event": "stop"}));
        let pcap = self.lab.stop_capture().ok_or("no capture")?;
        let data = std::fs::read(&pcap).map_err(|e| format!("{}: {e}", pcap.display()))?;
        let n = proto112_frames(&data);
        std::fs::copy(&pcap, out.join(format!("{}.pcap", self.name)))
            .map_err(|e| format!("{}: {e}", out.display()))?;
        let t0 = self
            .events
            .first()
            .and_then(|e| e["t"].as_f64())
            .unwrap_or(0.0);
        for e in &mut self.events {
            let rel = e["t"].as_f64().unwrap_or(0.0) - t0;
            if let Some(o) = e.as_object_mut() {
                o.insert("rel".into(), json!((rel * 1000.0).round() / 1000.0));
            }
        }
        let doc = json!({
            "scenario": self.name,
            "doc": self.doc,
            "made_by": "carp-lab vectors (tests/carp-node), make vectors",
            "peers": peer_versions(),
            "t0": t0,
            "events": self.events,
            "state_changes": [],
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(out.join(format!("{}.events.json", self.name)), text + "\n")
            .map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(n)
    }
}

/// IPv4 protocol-112 frames (CARP, VRRPv2 and VRRPv3 alike) in tcpdump's
/// classic little-endian Ethernet pcap.
fn proto112_frames(data: &[u8]) -> usize {
    let u32le = |o: usize| {
        data.get(o..o + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    let mut n = 0;
    let mut off = 24;
    while let Some(incl) = u32le(off + 8) {
        let start = off + 16;
        off = start + incl as usize;
        let Some(f) = data.get(start..off) else { break };
        if f.get(12..14) == Some(&[0x08, 0x00]) && f.get(14 + 9) == Some(&112) {
            n += 1;
        }
    }
    n
}

fn peer_versions() -> Value {
    let mut m = serde_json::Map::new();
    for p in ["ucarp", "keepalived", "frr", "tcpdump"] {
        let v = std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", p])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        m.insert(p.into(), json!(v));
    }
    Value::Object(m)
}

fn carp(advskew: u8, preempt: bool) -> Carp {
    Carp::new(VHID, advskew, &format!("{VIP}/24")).preempt(preempt)
}

fn ka(version: u8, prio: u8) -> Keepalived {
    Keepalived {
        vrid: VHID,
        prio,
        nopreempt: false,
        vip: VIP.into(),
        version,
        vmac: false,
    }
}

type Scenario = fn(&Path) -> Result<usize, String>;

/// Every scenario of tests/vectors, by name.
const SCENARIOS: &[(&str, Scenario)] = &[
    ("ucarp-failover", ucarp_failover),
    ("ucarp-failover-repeat", ucarp_failover_repeat),
    ("ucarp-nopreempt", ucarp_nopreempt),
    ("ucarp-badpass", ucarp_badpass),
    ("ucarp-tie", ucarp_tie),
    ("ka-v3-failover", |o| ka_failover(o, "ka-v3-failover", 3)),
    ("ka-v2-failover", |o| ka_failover(o, "ka-v2-failover", 2)),
    ("ka-v3-graceful", ka_v3_graceful),
    ("ka-v3-vmac", ka_v3_vmac),
    ("frr-v3-failover", frr_v3_failover),
    ("frr-ka-v3", frr_ka_v3),
    ("mixed-v2", mixed_v2),
];

fn ucarp_failover(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "ucarp-failover",
        "3 ucarp peers, vhid 7, advbase 1, skews 0/50/100, all --preempt. \
         Election; SIGKILL master A; B takes over; A restarts and preempts.",
        3,
        60,
    )?;
    let a = r.ucarp("a", 0, &carp(0, true))?;
    sleep(0.15);
    r.ucarp("b", 1, &carp(50, true))?;
    sleep(0.15);
    r.ucarp("c", 2, &carp(100, true))?;
    sleep(7.0);
    r.kill("a", a, true);
    sleep(7.0);
    r.ucarp("a2", 0, &carp(0, true))?;
    sleep(7.0);
    r.finish(out)
}

fn ucarp_failover_repeat(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "ucarp-failover-repeat",
        "2 ucarp peers without --preempt (A skew 0, B skew 50): 6 alternating hard \
         kills of the master; the killed peer restarts as BACKUP (failover distribution).",
        2,
        90,
    )?;
    let mut cur = [r.ucarp("a0", 0, &carp(0, false))?, 0];
    sleep(0.5);
    cur[1] = r.ucarp("b0", 1, &carp(50, false))?;
    let mut labels = ["a0".to_string(), "b0".to_string()];
    sleep(5.0);
    for k in 1..=6usize {
        // A is master first (it started first), then they alternate.
        let h = (k + 1) % 2;
        r.kill(&labels[h].clone(), cur[h], true);
        sleep(4.5);
        labels[h] = format!("{}{k}", if h == 0 { "a" } else { "b" });
        cur[h] = r.ucarp(
            &labels[h].clone(),
            h,
            &carp(if h == 0 { 0 } else { 50 }, false),
        )?;
        sleep(2.0);
    }
    r.finish(out)
}

fn ucarp_nopreempt(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "ucarp-nopreempt",
        "2 ucarp peers, no --preempt: B (skew 50) is master alone; A (skew 0) joins \
         late and stays BACKUP; B is killed and A takes over.",
        2,
        40,
    )?;
    let b = r.ucarp("b", 1, &carp(50, false))?;
    sleep(5.0);
    r.ucarp("a", 0, &carp(0, false))?;
    sleep(5.0);
    r.kill("b", b, true);
    sleep(6.0);
    r.finish(out)
}

fn ucarp_badpass(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "ucarp-badpass",
        "ucarp A with testpass, ucarp C with wrongpass: they cannot verify each \
         other, both end up MASTER; C's adverts are the negative vectors.",
        3,
        30,
    )?;
    r.ucarp("a", 0, &carp(0, false))?;
    sleep(0.3);
    r.ucarp("c", 2, &carp(100, false).pass("wrongpass"))?;
    sleep(9.0);
    r.finish(out)
}

fn ucarp_tie(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "ucarp-tie",
        "2 ucarp peers with identical advbase/advskew (1/0), started 0.15 s apart.",
        2,
        30,
    )?;
    r.ucarp("a", 0, &carp(0, false))?;
    sleep(0.15);
    r.ucarp("b", 1, &carp(0, false))?;
    sleep(8.0);
    r.finish(out)
}

fn ka_failover(out: &Path, name: &'static str, version: u8) -> Result<usize, String> {
    let doc = if version == 3 {
        "2 keepalived VRRPv3, prio 200/100, advert_int 1: election, hard kill of the \
         master (no goodbye), failover, restart and preemption."
    } else {
        "2 keepalived VRRPv2, prio 200/100, advert_int 1: election, hard kill of the \
         master (no goodbye), failover, restart and preemption."
    };
    let mut r = Rec::new(name, doc, 2, 60)?;
    let a = r.keepalived("a", 0, &ka(version, 200))?;
    sleep(0.3);
    r.keepalived("b", 1, &ka(version, 100))?;
    sleep(6.0);
    r.kill("a", a, true);
    sleep(6.0);
    r.keepalived("a2", 0, &ka(version, 200))?;
    sleep(6.0);
    r.finish(out)
}

fn ka_v3_graceful(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "ka-v3-graceful",
        "2 keepalived VRRPv3: SIGTERM the master: priority-0 advert, takeover after Skew_Time.",
        2,
        40,
    )?;
    let a = r.keepalived("a", 0, &ka(3, 200))?;
    sleep(0.3);
    r.keepalived("b", 1, &ka(3, 100))?;
    sleep(6.0);
    r.kill("a", a, false);
    sleep(4.0);
    r.finish(out)
}

fn ka_v3_vmac(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "ka-v3-vmac",
        "2 keepalived VRRPv3 with use_vmac: adverts and GARPs from 00:00:5e:00:01:07.",
        2,
        40,
    )?;
    let vmac = |prio| Keepalived {
        vmac: true,
        ..ka(3, prio)
    };
    r.keepalived("a", 0, &vmac(200))?;
    sleep(0.3);
    r.keepalived("b", 1, &vmac(100))?;
    sleep(9.0);
    r.finish(out)
}

fn frr_v3_failover(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "frr-v3-failover",
        "2 FRR vrrpd VRRPv3 (macvlan with the virtual MAC), prio 200/100: election, \
         hard kill of the master's vrrpd, failover.",
        2,
        60,
    )?;
    let a = r.frr("a", 0, 200)?;
    r.frr("b", 1, 100)?;
    sleep(8.0);
    r.kill("a", a, true);
    sleep(6.0);
    r.finish(out)
}

fn frr_ka_v3(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "frr-ka-v3",
        "FRR vrrpd (prio 200) and keepalived (prio 100), two independent VRRPv3 \
         stacks: election, hard kill of FRR's vrrpd, failover to keepalived.",
        2,
        60,
    )?;
    let a = r.frr("a", 0, 200)?;
    r.keepalived("b", 1, &ka(3, 100))?;
    sleep(8.0);
    r.kill("a", a, true);
    sleep(6.0);
    r.finish(out)
}

fn mixed_v2(out: &Path) -> Result<usize, String> {
    let mut r = Rec::new(
        "mixed-v2",
        "ucarp vhid 7 and keepalived VRRPv2 vrid 7 on one segment: each drops the \
         other's packets (same IP protocol 112, version 2) and both end up MASTER.",
        2,
        30,
    )?;
    r.ucarp("u", 0, &carp(0, false))?;
    sleep(0.3);
    r.keepalived("k", 1, &ka(2, 100))?;
    sleep(7.0);
    r.finish(out)
}

/// Runs the scenarios named in `only` (all when empty) into `out`.
pub fn run(out: Option<&String>, only: &[String]) -> i32 {
    let Some(out) = out.map(PathBuf::from) else {
        eprintln!("usage: carp-lab vectors DIR [SCENARIO...]");
        return 2;
    };
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("{}: {e}", out.display());
        return 1;
    }
    let mut failed = 0;
    for (name, f) in SCENARIOS {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        println!("vectors: {name} ...");
        match f(&out) {
            Ok(0) => {
                println!("vectors: {name}: FAILED: no protocol-112 frame captured");
                failed += 1;
            }
            Ok(n) => println!("vectors: {name}: {n} protocol-112 frames captured"),
            Err(e) if e.starts_with("SKIP") => {
                println!("vectors: {e}");
                return 77;
            }
            Err(e) => {
                println!("vectors: {name}: FAILED: {e}");
                failed += 1;
            }
        }
    }
    i32::from(failed > 0)
}
