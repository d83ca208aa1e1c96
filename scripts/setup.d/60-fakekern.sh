#!/usr/bin/env bash
# Fake-kernel harness (tests/fakekern, issue 5 item 6): the real C shim is
# compiled for the Linux host with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer, so clang and its sanitizer runtimes
# (libclang_rt.asan / ubsan_standalone) are needed. The FreeBSD headers and
# libck-dev come from 20-kmod.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Debian 12: clang 14 (what the harness was written with); 13: its default 19.
case $(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-}") in
12) llvm=14 ;;
*) llvm=19 ;;
esac
bash scripts/apt-install.sh "clang-$llvm" "libclang-rt-$llvm-dev"
