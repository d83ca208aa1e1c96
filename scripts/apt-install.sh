#!/usr/bin/env bash
# apt-install.sh PKG...: installs the Debian packages that are missing, running
# `apt-get update` at most once per run. The one way setup steps install
# Debian packages.
set -euo pipefail
missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
