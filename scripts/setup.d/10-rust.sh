#!/usr/bin/env bash
# The pinned Rust toolchain (rust-toolchain.toml), with rust-src and the
# bare-metal target the kernel staticlib is built for. rustup itself is
# checked by scripts/setup.sh before any step runs. Host crates (build
# scripts, proc macros) link with the system C compiler: gcc.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/apt-install.sh gcc libc6-dev
# rustup reads rust-toolchain.toml and installs the channel, components and
# targets listed there on first use.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
rustup component add rustfmt clippy rust-src >/dev/null
rustup target add x86_64-unknown-none >/dev/null
