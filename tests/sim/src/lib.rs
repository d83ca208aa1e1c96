//! carp-sim: N hosts × M vhids running the real `carp_rs` engine on a
//! virtual clock and a simulated L2 segment, with invariants checked after
//! every step. Everything derives from one seed, so a failure replays
//! exactly (`cargo run -p carp-sim --release -- --seed N --verbose`).

pub mod checker;
pub mod rng;
pub mod scenario;
pub mod trace;
pub mod world;

use checker::Violation;
use scenario::Scenario;
use world::{RunStats, World};

/// A deliberately broken driver, to prove the invariants bite.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mutant {
    /// A MASTER ignores every advert it receives, so it never steps down.
    DeafMaster,
    /// Timers fire 1 ms after their deadline.
    LateTimers,
    /// The driver never passes `preempt` on to the engine.
    LostPreempt,
}

impl Mutant {
    pub fn parse(s: &str) -> Option<Mutant> {
        match s {
            "deaf-master" => Some(Mutant::DeafMaster),
            "late-timers" => Some(Mutant::LateTimers),
            "lost-preempt" => Some(Mutant::LostPreempt),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mutant::DeafMaster => "deaf-master",
            Mutant::LateTimers => "late-timers",
            Mutant::LostPreempt => "lost-preempt",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub mutant: Option<Mutant>,
    pub verbose: bool,
    pub stop_at_first: bool,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub trace_hash: u64,
    pub trace_lines: u64,
    pub violations: Vec<Violation>,
    pub stats: RunStats,
    pub tail: Vec<String>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn first_kind(&self) -> Option<&'static str> {
        self.violations.first().map(|v| v.kind)
    }
}

pub fn run(sc: &Scenario, opts: &Options) -> Outcome {
    let mut w = World::new(sc, opts);
    w.run();
    Outcome {
        trace_hash: w.trace.hash(),
        trace_lines: w.trace.lines(),
        violations: w.checker.violations,
        stats: w.stats,
        tail: w.trace.tail(),
    }
}

pub fn run_seed(seed: u64, opts: &Options) -> Outcome {
    run(&Scenario::generate(seed), opts)
}

/// Greedy delta debugging over the scenario's actions: the smallest set
/// of action indices (found within `budget` runs) that still produces the
/// same first violation kind.
pub fn shrink(sc: &Scenario, opts: &Options, kind: &str, budget: usize) -> Vec<usize> {
    let quiet = Options {
        verbose: false,
        stop_at_first: true,
        ..opts.clone()
    };
    let mut keep: Vec<usize> = (0..sc.actions.len()).collect();
    let mut runs = 0;
    let mut chunk = keep.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < keep.len() && runs < budget {
            let end = (i + chunk).min(keep.len());
            let trial: Vec<usize> = keep[..i].iter().chain(&keep[end..]).copied().collect();
            runs += 1;
            let out = run(&sc.keep(&trial), &quiet);
            if out.first_kind() == Some(kind) {
                keep = trial;
            } else {
                i = end;
            }
        }
        if chunk == 1 || runs >= budget {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    keep
}

/// Human summary of a scenario's setup.
pub fn describe(sc: &Scenario) -> String {
    let mut s = format!(
        "seed {}: {} hosts, {} groups{}, {} actions, {} s\n",
        sc.seed,
        sc.hosts.len(),
        sc.groups.len(),
        if sc.arpbalance { " (arpbalance)" } else { "" },
        sc.actions.len(),
        sc.duration / scenario::SEC
    );
    for (h, host) in sc.hosts.iter().enumerate() {
        s += &format!(
            "  h{h}: delay {} us, preempt {}\n",
            host.delay / 1000,
            host.preempt
        );
    }
    for (g, grp) in sc.groups.iter().enumerate() {
        s += &format!(
            "  g{g}: vhid {} {:?} v4 {} v6 {} advbase {} vrrp_int {} pref {:?} bad_key {:?}\n",
            grp.vhid,
            grp.proto,
            grp.v4,
            grp.v6,
            grp.advbase,
            grp.vrrp_interval,
            grp.pref,
            grp.bad_key
        );
    }
    s
}
