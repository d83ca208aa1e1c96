#!/usr/bin/env bash
# Installs every prerequisite of carp_rs on a fresh Debian 12 machine.
# Idempotent: each step in scripts/setup.d/ checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/setup.d/*.sh; do
	echo "setup: $step"
	bash "$step"
done
