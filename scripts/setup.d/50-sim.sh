#!/usr/bin/env bash
# Simulator, fuzzing and benchmark prerequisites: valgrind (callgrind
# instruction counts), python3 (fuzz seed corpus), and cargo-fuzz, pinned.
# fuzz/run.sh drives cargo-fuzz with the pinned stable toolchain.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/apt-install.sh valgrind python3

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
	# Outside the repository so rust-toolchain.toml does not apply: any
	# stable toolchain builds cargo-fuzz itself.
	(cd / && cargo +1.95.0 install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked)
fi
