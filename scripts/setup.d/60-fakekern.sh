#!/usr/bin/env bash
# Fake-kernel harness (tests/fakekern, issue 5 item 6): the real C shim is
# compiled for the Linux host with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer, so clang and its sanitizer runtimes
# (libclang_rt.asan / ubsan_standalone) are needed. The FreeBSD headers and
# libck-dev come from 20-kmod.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/apt-install.sh clang-14 libclang-rt-14-dev
