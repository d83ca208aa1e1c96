#!/usr/bin/env bash
# The pinned Rust toolchain (rust-toolchain.toml), with rust-src and the
# bare-metal target the kernel staticlib is built for.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v rustup >/dev/null; then
	echo "setup: rustup is required (the machine image provides it)" >&2
	exit 1
fi
# rustup reads rust-toolchain.toml and installs the channel, components and
# targets listed there on first use.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
rustup component add rustfmt clippy rust-src >/dev/null
rustup target add x86_64-unknown-none >/dev/null
