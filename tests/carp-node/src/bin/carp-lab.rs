//! `carp-lab demo`: the FreeBSD handbook's CARP scenario on real packets,
//! with a readable timeline and a verdict.
//! `carp-lab bench [N]`: N hard-kill failovers each for carp-node, ucarp
//! and keepalived, measured from the bridge capture.
//!
//! `carp-lab vectors DIR [SCENARIO...]`: records the captures of
//! tests/vectors again from the real peers (see `vectors.rs`).
//!
//! Needs root (network namespaces). Exit status 0 = PASS, 1 = FAIL,
//! 77 = could not build namespaces (SKIP).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use carp_node::lab::{now_wall, Lab, Skip};
use carp_node::pcap::Capture;
use carp_node::peers::{self, Carp};

#[path = "carp-lab/vectors.rs"]
mod vectors;

const S: Duration = Duration::from_secs(1);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("vectors") => vectors::run(args.get(1), args.get(2..).unwrap_or(&[])),
        Some("bench") => bench(
            args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20),
            args.get(2..).unwrap_or(&[]),
        ),
        _ => {
            eprintln!(
                "usage: carp-lab demo | carp-lab bench [N] | carp-lab vectors DIR [SCENARIO...]"
            );
            2
        }
    };
    std::process::exit(code);
}

fn new_lab(tag: &str, hosts: usize, budget: Duration) -> Result<Lab, i32> {
    match Lab::new(tag, hosts, false, budget) {
        Ok(mut l) => match l.start_capture() {
            Ok(()) => Ok(l),
            Err(e) => {
                eprintln!("capture failed: {e}");
                Err(1)
            }
        },
        Err(Skip(m)) => {
            eprintln!("SKIP: {m}");
            Err(77)
        }
    }
}

// ------------------------------------------------------------------ demo

/// One carp-node of the demo: which host, which vhid/VIP.
struct Node {
    dead: bool,
    host: &'static str,
    h: usize,
    vhid: u8,
    vip: &'static str,
    proc: usize,
}

struct Demo {
    lab: Lab,
    t0: u64,
    nodes: Vec<Node>,
    notes: Vec<(u64, String)>,
    ok: bool,
}

impl Demo {
    fn rel(&self, wall: u64) -> f64 {
        wall.saturating_sub(self.t0) as f64 / 1e9
    }

    fn note(&mut self, s: String) {
        let t = now_wall();
        println!("  {:>7.3}s  ** {s}", self.rel(t));
        self.notes.push((t, s));
    }

    fn start(&mut self, host: &'static str, h: usize, vhid: u8, skew: u8, vip: &'static str) {
        let cfg = Carp::new(vhid, skew, &format!("{vip}/24")).preempt(true);
        let label = format!("{host}-v{vhid}-{}", self.nodes.len());
        let p = match peers::carp_node(&mut self.lab, &label, h, &cfg) {
            Ok(p) => p,
            Err(e) => {
                self.note(format!("cannot start carp-node on {host}: {e}"));
                self.ok = false;
                return;
            }
        };
        self.nodes.push(Node {
            dead: false,
            host,
            h,
            vhid,
            vip,
            proc: p,
        });
        let pid = self.lab.proc(p).map(|p| p.pid).unwrap_or(0);
        self.note(format!(
            "start {host}: carp-node vhid {vhid} advskew {skew} preempt {vip} (pid {pid})"
        ));
    }

    fn kill(&mut self, host: &str) {
        let idx: Vec<usize> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.host == host && !n.dead)
            .map(|(i, _)| i)
            .collect();
        for i in idx {
            let Some(n) = self.nodes.get(i) else { continue };
            let (p, vhid) = (n.proc, n.vhid);
            self.lab.kill(p, libc::SIGKILL);
            self.lab.reap(p, S);
            self.note(format!("kill -9 {host} (vhid {vhid})"));
            if let Some(n) = self.nodes.get_mut(i) {
                n.dead = true;
            }
        }
    }

    /// Who is MASTER of `vhid`: carp-nodes whose last JSON state says so.
    fn masters(&self, vhid: u8) -> Vec<&'static str> {
        self.nodes
            .iter()
            .filter(|n| {
                !n.dead
                    && n.vhid == vhid
                    && self.lab.last_state(n.proc).as_deref() == Some("MASTER")
            })
            .map(|n| n.host)
            .collect()
    }

    /// Waits until `want` (vhid -> host) holds by the JSON events, and
    /// checks it against the wire: the latest adverts of each vhid come
    /// from that host and from no one else.
    fn expect(&mut self, what: &str, want: &[(u8, &'static str)], t: Duration) {
        let ok_json = self.lab.wait_until(t, |_| {
            want.iter().all(|(v, h)| self.masters(*v) == vec![*h])
        });
        std::thread::sleep(Duration::from_millis(1500));
        let cap = self.lab.capture();
        let since = now_wall().saturating_sub(1_200_000_000);
        let mut wire_ok = true;
        let mut table = Vec::new();
        for (v, h) in want {
            let senders: Vec<IpAddr> = senders(&cap, 2, *v, since);
            let host_ip = self
                .nodes
                .iter()
                .find(|n| n.host == *h && !n.dead)
                .and_then(|n| self.lab.hosts.get(n.h))
                .map(|x| IpAddr::V4(x.v4));
            let good = senders.len() == 1 && Some(senders[0]) == host_ip;
            wire_ok &= good;
            let vip = self
                .nodes
                .iter()
                .find(|n| n.vhid == *v)
                .map(|n| n.vip)
                .unwrap_or("?");
            table.push(format!(
                "vhid {v} {vip}: MASTER {} (wire: adverts from {})",
                self.masters(*v).join("+"),
                if senders.is_empty() {
                    "nobody".into()
                } else {
                    senders
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        let ok = ok_json && wire_ok;
        self.ok &= ok;
        let t = now_wall();
        println!(
            "  {:>7.3}s  == check: {what}: {}",
            self.rel(t),
            if ok { "ok" } else { "FAILED" }
        );
        for l in table {
            println!("               {l}");
        }
    }

    fn timeline(&self) {
        let mut lines: Vec<(u64, String)> = Vec::new();
        for n in &self.nodes {
            self.collect(n, &mut lines);
        }
        lines.extend(self.notes.iter().map(|(t, s)| (*t, format!("** {s}"))));
        lines.sort();
        println!("\n  timeline (actions, and state changes from the carp-node JSON events):");
        for (t, l) in lines {
            println!("  {:>7.3}s  {l}", self.rel(t));
        }
    }

    fn collect(&self, n: &Node, out: &mut Vec<(u64, String)>) {
        for e in self.lab.events(n.proc) {
            if e["event"] == "state" {
                out.push((
                    e["wall_ns"].as_u64().unwrap_or(0),
                    format!(
                        "{:<9} {:<14} {}",
                        n.host,
                        n.vip,
                        e["log"].as_str().unwrap_or("")
                    ),
                ));
            }
        }
    }
}

fn senders(cap: &Capture, ver: u8, vhid: u8, since: u64) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = cap
        .group(ver, vhid)
        .filter(|a| a.ts_ns >= since && !a.is_bowout())
        .map(|a| a.src)
        .collect();
    v.sort();
    v.dedup();
    v
}

fn demo() -> i32 {
    println!(
        "carp_rs demo: FreeBSD handbook CARP on real packets (carp-node in network namespaces)"
    );
    println!(
        "segment 198.51.100.0/24: hosta .10, hostb .11, provider .12; advbase 1, pass testpass\n"
    );
    let lab = match new_lab("demo", 3, Duration::from_secs(80)) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let mut d = Demo {
        lab,
        t0: now_wall(),
        nodes: Vec::new(),
        notes: Vec::new(),
        ok: true,
    };
    let started = Instant::now();
    println!("part 1: hosta and hostb serve one VIP each, provider backs both up (advskew 100)");
    d.start("hosta", 0, 1, 0, "198.51.100.50");
    d.start("hostb", 1, 2, 0, "198.51.100.51");
    d.start("provider", 2, 1, 100, "198.51.100.50");
    d.start("provider", 2, 2, 100, "198.51.100.51");
    d.expect(
        "hosta owns .50, hostb owns .51",
        &[(1, "hosta"), (2, "hostb")],
        6 * S,
    );
    d.kill("hosta");
    d.expect(
        "provider took over .50",
        &[(1, "provider"), (2, "hostb")],
        6 * S,
    );
    d.start("hosta", 0, 1, 0, "198.51.100.50");
    d.expect(
        "hosta is back and preempted .50",
        &[(1, "hosta"), (2, "hostb")],
        5 * S,
    );
    d.timeline();
    let part1 = d.ok;
    drop(d);

    println!("\npart 2: two nodes, mirrored advskew: each is MASTER for one VIP (load balancing)");
    let lab = match new_lab("demo2", 2, Duration::from_secs(60)) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let mut d = Demo {
        lab,
        t0: now_wall(),
        nodes: Vec::new(),
        notes: Vec::new(),
        ok: true,
    };
    d.start("node1", 0, 1, 0, "198.51.100.50");
    d.start("node1", 0, 2, 100, "198.51.100.51");
    d.start("node2", 1, 1, 100, "198.51.100.50");
    d.start("node2", 1, 2, 0, "198.51.100.51");
    d.expect(
        "node1 serves .50, node2 serves .51",
        &[(1, "node1"), (2, "node2")],
        6 * S,
    );
    d.kill("node2");
    d.expect("node1 serves both", &[(1, "node1"), (2, "node1")], 6 * S);
    d.start("node2", 1, 1, 100, "198.51.100.50");
    d.start("node2", 1, 2, 0, "198.51.100.51");
    d.expect(
        "node2 took .51 back, the load is shared again",
        &[(1, "node1"), (2, "node2")],
        5 * S,
    );
    d.timeline();
    let ok = part1 && d.ok;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "\nverdict: {} (handbook failover + preemption, mirrored-advskew load balancing; {secs:.1}s)",
        if ok { "PASS" } else { "FAIL" }
    );
    if !ok {
        d.lab.keep();
    }
    if ok {
        0
    } else {
        1
    }
}

// ----------------------------------------------------------------- bench

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    CarpNode,
    Ucarp,
    Keepalived,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::CarpNode => "carp-node",
            Impl::Ucarp => "ucarp",
            Impl::Keepalived => "keepalived",
        }
    }

    fn version(self) -> u8 {
        if self == Impl::Keepalived {
            3
        } else {
            2
        }
    }

    /// Host 0 is the preferred node (advskew 0 / prio 200), host 1 the
    /// other (advskew 50 / prio 100). Neither preempts, so a restarted
    /// node stays BACKUP and the roles alternate.
    fn start(self, lab: &mut Lab, label: &str, h: usize) -> std::io::Result<usize> {
        let vip = "198.51.100.50";
        match self {
            Impl::CarpNode => {
                let skew = if h == 0 { 0 } else { 50 };
                peers::carp_node(lab, label, h, &Carp::new(7, skew, &format!("{vip}/24")))
            }
            Impl::Ucarp => {
                let skew = if h == 0 { 0 } else { 50 };
                peers::ucarp(lab, label, h, &Carp::new(7, skew, vip))
            }
            Impl::Keepalived => {
                let prio = if h == 0 { 200 } else { 100 };
                peers::keepalived(lab, label, h, 7, prio, true, vip)
            }
        }
    }

    /// The protocol's master-down interval of the node taking over.
    fn deadline(self, new_master: usize) -> f64 {
        match (self, new_master) {
            (Impl::Keepalived, 0) => 3.0 + 56.0 / 256.0,
            (Impl::Keepalived, _) => 3.0 + 156.0 / 256.0,
            (_, 0) => 3.0,
            (_, _) => 3.0 + 50.0 / 256.0,
        }
    }
}

struct Sample {
    failover: f64,
    late: f64,
}

fn bench_one(imp: Impl, n: usize) -> Result<Vec<Sample>, String> {
    let budget = Duration::from_secs(30 + 9 * n as u64);
    let mut lab = new_lab(&imp.name()[..2], 2, budget).map_err(|c| format!("lab: {c}"))?;
    let ver = imp.version();
    let mut procs = [0usize; 2];
    let ips = [IpAddr::V4(lab.hosts[0].v4), IpAddr::V4(lab.hosts[1].v4)];
    procs[0] = imp.start(&mut lab, "n0-0", 0).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(300));
    procs[1] = imp.start(&mut lab, "n1-0", 1).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for i in 0..n {
        // The master is whoever sent the last adverts; wait until exactly
        // one host has been advertising for a while.
        let mut master = None;
        lab.wait_until(10 * S, |l| {
            let c = l.capture();
            let since = now_wall().saturating_sub(1_500_000_000);
            let s = senders(&c, ver, 7, since);
            master = (s.len() == 1).then(|| s[0]);
            master.is_some()
        });
        let Some(m) = master else {
            return Err(format!("{}: no single master before kill {i}", imp.name()));
        };
        let mh = if m == ips[0] { 0 } else { 1 };
        let nh = 1 - mh;
        let t_kill = now_wall();
        lab.kill(procs[mh], libc::SIGKILL);
        lab.reap(procs[mh], S);
        let cap = lab
            .wait_capture(8 * S, |c| {
                c.group(ver, 7)
                    .any(|a| a.src == ips[nh] && a.ts_ns >= t_kill && !a.is_bowout())
            })
            .ok_or_else(|| format!("{}: no takeover after kill {i}", imp.name()))?;
        let first = cap
            .group(ver, 7)
            .find(|a| a.src == ips[nh] && a.ts_ns >= t_kill && !a.is_bowout())
            .map(|a| a.ts_ns)
            .unwrap_or(0);
        let last = cap
            .group(ver, 7)
            .filter(|a| a.src == ips[mh] && a.ts_ns < first && !a.is_bowout())
            .last()
            .map(|a| a.ts_ns)
            .unwrap_or(first);
        let f = (first - last) as f64 / 1e9;
        out.push(Sample {
            failover: f,
            late: f - imp.deadline(nh),
        });
        if imp == Impl::Ucarp {
            // SIGKILLed ucarp leaves its VIP (no down script): clean up.
            let _ = lab.exec(
                mh,
                &["ip", "addr", "del", "198.51.100.50/24", "dev", "eth0"],
            );
        }
        procs[mh] = imp
            .start(&mut lab, &format!("n{mh}-{}", i + 1), mh)
            .map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(1500));
    }
    Ok(out)
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let r = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[r.min(s.len()) - 1]
}

fn bench(n: usize, only: &[String]) -> i32 {
    println!("bench-failover: {n} hard-kill failovers each, advbase 1 / advert_int 1, measured on the bridge");
    println!("failover = new master's first advert - old master's last advert; deadline = protocol master-down interval\n");
    let started = Instant::now();
    let handles: Vec<_> = [Impl::CarpNode, Impl::Ucarp, Impl::Keepalived]
        .into_iter()
        .filter(|i| only.is_empty() || only.iter().any(|o| o == i.name()))
        .map(|imp| std::thread::spawn(move || (imp, bench_one(imp, n))))
        .collect();
    let mut rows = Vec::new();
    let mut failed = false;
    for h in handles {
        match h.join() {
            Ok((imp, Ok(s))) => rows.push((imp, s)),
            Ok((imp, Err(e))) => {
                eprintln!("{}: {e}", imp.name());
                failed = true;
            }
            Err(_) => failed = true,
        }
    }
    println!(
        "| implementation | n | failover median (s) | failover p99 (s) | lateness median (ms) | lateness p99 (ms) | lateness max (ms) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (imp, s) in &rows {
        let each: Vec<String> = s
            .iter()
            .map(|x| format!("{:.1}", x.late * 1000.0))
            .collect();
        eprintln!(
            "{} lateness per failover (ms): {}",
            imp.name(),
            each.join(" ")
        );
    }
    for (imp, s) in &rows {
        let f: Vec<f64> = s.iter().map(|x| x.failover).collect();
        let l: Vec<f64> = s.iter().map(|x| x.late * 1000.0).collect();
        println!(
            "| {} | {} | {:.4} | {:.4} | {:.2} | {:.2} | {:.2} |",
            imp.name(),
            s.len(),
            pct(&f, 50.0),
            pct(&f, 99.0),
            pct(&l, 50.0),
            pct(&l, 99.0),
            pct(&l, 100.0)
        );
    }
    println!(
        "\ndeadlines: CARP 3 x advbase + advskew/256 (3.000 s / 3.195 s for skew 0 / 50); \
         VRRPv3 3 x interval + (256 - prio)/256 (3.219 s / 3.609 s for prio 200 / 100). {:.0}s",
        started.elapsed().as_secs_f64()
    );
    let cn_ok = rows
        .iter()
        .find(|(i, _)| *i == Impl::CarpNode)
        .map(|(_, s)| pct(&s.iter().map(|x| x.late * 1000.0).collect::<Vec<_>>(), 99.0) <= 2.0)
        .unwrap_or(false);
    println!(
        "carp-node goal p99 lateness <= 2 ms: {}",
        if cn_ok { "met" } else { "NOT met" }
    );
    if failed {
        1
    } else {
        0
    }
}
