//! The simulator's own guarantees: determinism, a clean bounded seed
//! range, and proof that each invariant class catches a broken driver.
//! `make sim-test` runs many more seeds with the release binary.

use carp_sim::scenario::{Action, Group, HostSpec, Proto, Scenario, SEC};
use carp_sim::{run, run_seed, shrink, Mutant, Options};

fn quiet() -> Options {
    Options::default()
}

#[test]
fn same_seed_same_trace_hash() {
    for seed in [1u64, 42, 9001] {
        let a = run_seed(seed, &quiet());
        let b = run_seed(seed, &quiet());
        assert!(a.trace_lines > 100, "seed {seed} did almost nothing");
        assert_eq!(
            a.trace_hash, b.trace_hash,
            "seed {seed} is not deterministic"
        );
        assert_eq!(a.stats.adverts, b.stats.adverts);
    }
    assert_ne!(
        run_seed(1, &quiet()).trace_hash,
        run_seed(2, &quiet()).trace_hash
    );
}

#[test]
fn bounded_seed_range_holds_every_invariant() {
    let n: u64 = std::env::var("CARP_SIM_TEST_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let mut steady = 0;
    for seed in 0..n {
        let out = run_seed(seed, &quiet());
        assert!(
            out.ok(),
            "seed {seed}: {:?}\nreplay: cargo run -p carp-sim --release -- --seed {seed} --verbose",
            out.violations.first()
        );
        steady += out.stats.steady_checks;
    }
    // The steady-state invariants must actually have been evaluated.
    assert!(steady > n * 100, "only {steady} steady checks");
}

/// Two CARP hosts, h1 worse; a partition makes both MASTER, then heals.
fn split_and_heal() -> Scenario {
    Scenario {
        seed: 7,
        hosts: vec![
            HostSpec {
                delay: 500_000,
                preempt: false,
            },
            HostSpec {
                delay: 800_000,
                preempt: false,
            },
        ],
        groups: vec![Group {
            vhid: 7,
            proto: Proto::Carp,
            v4: true,
            v6: false,
            advbase: 1,
            vrrp_interval: 100,
            pref: vec![0, 100],
            bad_key: None,
            vip: 0,
        }],
        arpbalance: false,
        actions: vec![
            (10 * SEC, Action::Partition(vec![0, 1])),
            (20 * SEC, Action::Heal),
        ],
        duration: 40 * SEC,
    }
}

#[test]
fn healed_partition_passes_with_the_real_driver() {
    let out = run(&split_and_heal(), &quiet());
    assert!(out.ok(), "{:?}", out.violations);
    assert!(out.stats.transitions >= 4, "no split brain happened");
}

#[test]
fn deaf_master_is_caught() {
    let opts = Options {
        mutant: Some(Mutant::DeafMaster),
        ..quiet()
    };
    let out = run(&split_and_heal(), &opts);
    let v = out
        .violations
        .first()
        .expect("a never-stepping-down master went unnoticed");
    assert_eq!(v.kind, "heal-dual-master");
    // Caught at the first step after one advert interval (+ skew 240 and
    // two trips) from the heal.
    assert!(v.at > 20 * SEC && v.at <= 23 * SEC, "caught at {}", v.at);
    // And on random scenarios too.
    assert!((0..10).any(|s| !run_seed(s, &opts).ok()));
}

#[test]
fn late_timers_are_caught() {
    let opts = Options {
        mutant: Some(Mutant::LateTimers),
        ..quiet()
    };
    let out = run(&split_and_heal(), &opts);
    assert_eq!(out.first_kind(), Some("timer-deadline"));
}

#[test]
fn lost_preempt_is_caught() {
    let mut sc = split_and_heal();
    for h in &mut sc.hosts {
        h.preempt = true;
    }
    // h0 (preferred) reboots while h1 is MASTER; with preempt it must win.
    sc.actions = vec![(10 * SEC, Action::Crash(0)), (20 * SEC, Action::Restart(0))];
    assert!(run(&sc, &quiet()).ok());
    let opts = Options {
        mutant: Some(Mutant::LostPreempt),
        ..quiet()
    };
    assert_eq!(run(&sc, &opts).first_kind(), Some("preempt-winner"));
}

#[test]
fn wrong_password_node_is_split_but_never_obeyed() {
    let mut sc = split_and_heal();
    sc.hosts.push(HostSpec {
        delay: 300_000,
        preempt: true,
    });
    sc.groups[0].pref = vec![50, 100, 0];
    sc.groups[0].bad_key = Some(2);
    sc.actions = vec![(12 * SEC, Action::Forge(0)), (15 * SEC, Action::Crash(0))];
    let out = run(&sc, &quiet());
    assert!(out.ok(), "{:?}", out.violations);
    // Every advert of the wrong-password node, and the forged ones, were
    // refused.
    assert!(out.stats.rejected > 30, "rejected {}", out.stats.rejected);
    assert!(out.tail.iter().any(|l| l.contains("incorrect hash")));
}

#[test]
fn shrinking_keeps_the_failure_and_drops_noise() {
    let opts = Options {
        mutant: Some(Mutant::DeafMaster),
        ..quiet()
    };
    let mut sc = split_and_heal();
    // Noise that has nothing to do with the failure.
    sc.actions.insert(0, (2 * SEC, Action::Echo(true)));
    sc.actions.insert(1, (3 * SEC, Action::Forge(0)));
    sc.actions.push((25 * SEC, Action::Jitter(1_000_000)));
    let keep = shrink(&sc, &opts, "heal-dual-master", 100);
    let small = sc.keep(&keep);
    assert!(small.actions.len() < sc.actions.len());
    assert_eq!(run(&small, &opts).first_kind(), Some("heal-dual-master"));
}
