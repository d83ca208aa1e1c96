#!/usr/bin/env bash
# Simulator, fuzzing and benchmark prerequisites: valgrind (callgrind
# instruction counts), python3 (fuzz seed corpus), and cargo-fuzz, pinned,
# for the nightly toolchain the machine image provides. Fuzzing is skipped
# (loudly) by fuzz/run.sh when nightly or cargo-fuzz is unavailable.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/apt-install.sh valgrind python3

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
	# Outside the repository so rust-toolchain.toml does not apply: any
	# stable toolchain builds cargo-fuzz itself.
	(cd / && cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked) ||
		echo "setup: cargo-fuzz could not be installed; fuzz targets will be skipped" >&2
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
	rustup toolchain install nightly --profile minimal ||
		echo "setup: no nightly toolchain; fuzz targets will be skipped" >&2
fi
