#!/usr/bin/env bash
# The pinned Rust toolchain (rust-toolchain.toml), with rust-src and the
# bare-metal target the kernel staticlib is built for. rustup itself is
# checked by scripts/setup.sh before any step runs. Host crates (build
# scripts, proc macros) link with the system C compiler: gcc.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/apt-install.sh gcc libc6-dev
# The channel, components and targets are named explicitly: Debian 13's
# rustup (1.27) cannot read them from rust-toolchain.toml by itself.
channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
[ -n "$channel" ] || { echo "setup: no channel in rust-toolchain.toml" >&2; exit 1; }
rustup toolchain list | grep -q "^$channel-" ||
	rustup toolchain install "$channel" --profile minimal
rustup component add --toolchain "$channel" rustfmt clippy rust-src >/dev/null
rustup target add --toolchain "$channel" x86_64-unknown-none >/dev/null
