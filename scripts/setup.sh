#!/usr/bin/env bash
# scripts/setup.sh [build|demo|test]: installs the prerequisites of carp_rs
# on Debian 12 (bookworm) or 13 (trixie), as root. Idempotent: each step in
# scripts/setup.d/ checks before it installs.
#
#   build  what `make` needs: the pinned Rust toolchain (through rustup), the
#          .ko cross-build (python3-venv, pinned ziglang, libck-dev, libclang)
#   demo   build + ucarp, keepalived, FRR, tcpdump, tshark (`make demo`)
#   test   demo + linters, clang sanitizers, valgrind, cargo-fuzz (`make test`)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-test}
case $profile in
build) steps="10-rust 20-kmod" ;;
demo) steps="10-rust 20-kmod 30-interop" ;;
test) steps="10-rust 20-kmod 30-interop 40-lint 50-sim 60-fakekern" ;;
*) echo "usage: $0 [build|demo|test]" >&2; exit 2 ;;
esac

# Checked before anything is installed. Rust comes only through rustup (it
# reads rust-toolchain.toml); Debian's own rustc is too old for the pinned
# toolchain, so nothing else will do.
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v rustup >/dev/null; then
	ver=$(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-}")
	case $ver in
	12) how="apt-get install -y curl ca-certificates && curl --proto '=https' --tlsv1.2 -sSfO https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init && sh -c 'chmod +x rustup-init && ./rustup-init -y --default-toolchain none && rm rustup-init'" ;;
	*) how="apt-get install -y rustup" ;;
	esac
	echo "setup: rustup is missing; install it, then run make again: $how" >&2
	exit 1
fi

for step in $steps; do
	echo "setup ($profile): scripts/setup.d/$step.sh"
	bash "scripts/setup.d/$step.sh"
done
