//! carp-sim CLI.
//!
//!   carp-sim --seed N [--verbose] [--keep 1,4,9] [--mutant deaf-master]
//!   carp-sim --seeds START..END [--jobs 1]
//!
//! Exit status 1 if any seed violates an invariant; each failing seed
//! prints a shrunk trace and the command that replays it.

use std::process::ExitCode;

use carp_sim::scenario::Scenario;
use carp_sim::{describe, run, shrink, Mutant, Options};

fn usage() -> ExitCode {
    eprintln!(
        "usage: carp-sim (--seed N | --seeds START..END) [--verbose] [--keep I,J,..] [--mutant deaf-master|late-timers]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seeds: Option<(u64, u64)> = None;
    let mut opts = Options::default();
    let mut keep: Option<Vec<usize>> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let val = args.get(i + 1).cloned().unwrap_or_default();
        match a {
            "--seed" => {
                let Ok(s) = val.parse() else { return usage() };
                seeds = Some((s, s + 1));
                i += 1;
            }
            "--seeds" => {
                let Some((a, b)) = val.split_once("..") else {
                    return usage();
                };
                let (Ok(a), Ok(b)) = (a.parse(), b.parse()) else {
                    return usage();
                };
                seeds = Some((a, b));
                i += 1;
            }
            "--verbose" => opts.verbose = true,
            "--keep" => {
                let parsed: Result<Vec<usize>, _> = val
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::parse)
                    .collect();
                let Ok(k) = parsed else { return usage() };
                keep = Some(k);
                i += 1;
            }
            "--mutant" => {
                let Some(m) = Mutant::parse(&val) else {
                    return usage();
                };
                opts.mutant = Some(m);
                i += 1;
            }
            _ => return usage(),
        }
        i += 1;
    }
    let Some((start, end)) = seeds else {
        return usage();
    };
    let mutant_arg = opts
        .mutant
        .map(|m| format!(" --mutant {}", m.name()))
        .unwrap_or_default();
    let mut failed = 0u64;
    let mut passed = 0u64;
    let mut totals = carp_sim::world::RunStats::default();
    for seed in start..end {
        let mut sc = Scenario::generate(seed);
        if let Some(k) = &keep {
            sc = sc.keep(k);
        }
        if opts.verbose {
            print!("{}", describe(&sc));
        }
        let out = run(&sc, &opts);
        totals.adverts += out.stats.adverts;
        totals.deliveries += out.stats.deliveries;
        totals.transitions += out.stats.transitions;
        totals.steady_checks += out.stats.steady_checks;
        totals.tie_skips += out.stats.tie_skips;
        totals.rejected += out.stats.rejected;
        totals.arp_checks += out.stats.arp_checks;
        totals.conflicts += out.stats.conflicts;
        if opts.verbose || end - start == 1 {
            println!(
                "seed {seed}: trace {:016x} ({} lines), {} violations",
                out.trace_hash,
                out.trace_lines,
                out.violations.len()
            );
        }
        let Some(first) = out.violations.first().cloned() else {
            passed += 1;
            continue;
        };
        failed += 1;
        println!(
            "FAIL seed {seed}: {} at {} ns: {}",
            first.kind, first.at, first.detail
        );
        print!("{}", describe(&sc));
        let kept = if keep.is_none() {
            shrink(&sc, &opts, first.kind, 300)
        } else {
            (0..sc.actions.len()).collect()
        };
        let small = if keep.is_none() {
            sc.keep(&kept)
        } else {
            sc.clone()
        };
        let min = run(
            &small,
            &Options {
                stop_at_first: true,
                verbose: false,
                ..opts.clone()
            },
        );
        println!(
            "minimal scenario keeps {} of {} actions:",
            kept.len(),
            sc.actions.len()
        );
        for (t, a) in &small.actions {
            println!(
                "  {:>4}.{:06} {a}",
                t / 1_000_000_000,
                (t / 1000) % 1_000_000
            );
        }
        let v = min.violations.first().unwrap_or(&first);
        let g = v.group.map(|g| format!("vhid {}", sc.groups[g].vhid));
        println!("trace (last lines before the violation):");
        let lines: Vec<&String> = min
            .tail
            .iter()
            .filter(|l| {
                l.contains("action:")
                    || l.contains("VIOLATION")
                    || l.contains(" -> ")
                    || g.as_ref().is_none_or(|g| l.contains(g.as_str()))
            })
            .collect();
        for l in lines.iter().skip(lines.len().saturating_sub(40)) {
            println!("  {l}");
        }
        let keep_arg = if kept.len() < sc.actions.len() {
            let k: Vec<String> = kept.iter().map(|i| i.to_string()).collect();
            format!(" --keep {}", k.join(","))
        } else {
            String::new()
        };
        println!("replay: cargo run -p carp-sim --release -- --seed {seed}{mutant_arg} --verbose");
        println!("replay minimal: cargo run -p carp-sim --release -- --seed {seed}{mutant_arg}{keep_arg} --verbose");
    }
    println!(
        "carp-sim: seeds {start}..{end}: {} adverts, {} deliveries ({} rejected), {} transitions, {} steady checks, {} tie skips, {} ARP checks, {} conflict reports",
        totals.adverts,
        totals.deliveries,
        totals.rejected,
        totals.transitions,
        totals.steady_checks,
        totals.tie_skips,
        totals.arp_checks,
        totals.conflicts
    );
    println!("carp-sim: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
