#!/usr/bin/env bash
# Interop peers and capture tools for tests/carp-node (mk/node.mk):
#  * ucarp (CARP v2), keepalived and frr (VRRPv3 peers), run by the tests in
#    their own network namespaces with their own config and pid files;
#  * tcpdump and tshark to capture and decode the shared bridge; iproute2
#    for `ip netns`.
# The packages' own system services must not start: a temporary
# policy-rc.d refuses every invoke-rc.d start during the install (and any
# that slipped through are stopped), and tshark is preseeded to not install
# dumpcap setuid, so the install is non-interactive.
set -euo pipefail
cd "$(dirname "$0")/../.."

PKGS=(ucarp keepalived frr tcpdump tshark iproute2 procps)
missing=0
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing=1
done
[ "$missing" -eq 0 ] && exit 0

echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# carp_rs setup.d/30-interop.sh: no service starts during install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	made_policy=1
fi
cleanup() { [ "$made_policy" -eq 1 ] && rm -f "$policy"; return 0; }
trap cleanup EXIT

bash scripts/apt-install.sh "${PKGS[@]}"

# Belt and braces: where a service manager runs, keep the daemons off.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	for s in keepalived frr; do
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
fi
