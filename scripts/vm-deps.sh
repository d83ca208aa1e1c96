#!/usr/bin/env bash
# Installed only when `make vmtest` is given a kernel, not by setup:
# qemu and xorriso for `make vmtest` (tests/vm): building per-VM boot ISOs
# and booting FreeBSD under TCG. Nothing of FreeBSD itself is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/apt-install.sh xorriso qemu-system-x86
