//! The run's trace: every line is hashed (same seed, same hash), the last
//! few hundred are kept for the failure report, and `--verbose` prints all.

use std::collections::VecDeque;

const KEEP: usize = 400;

pub struct Trace {
    hash: u64,
    lines: u64,
    ring: VecDeque<String>,
    verbose: bool,
}

impl Trace {
    pub fn new(verbose: bool) -> Trace {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            lines: 0,
            ring: VecDeque::with_capacity(KEEP),
            verbose,
        }
    }

    pub fn line(&mut self, now: u64, text: String) {
        let text = format!(
            "{:>4}.{:06} {text}",
            now / 1_000_000_000,
            (now / 1000) % 1_000_000
        );
        // FNV-1a over the line and a separator.
        for b in text.bytes().chain([b'\n']) {
            self.hash ^= u64::from(b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.lines += 1;
        if self.verbose {
            println!("{text}");
        }
        if self.ring.len() == KEEP {
            self.ring.pop_front();
        }
        self.ring.push_back(text);
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    pub fn tail(&self) -> Vec<String> {
        self.ring.iter().cloned().collect()
    }
}
