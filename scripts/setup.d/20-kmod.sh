#!/usr/bin/env bash
# Prerequisites of the kernel-module build (mk/kmod.mk) and its checks:
#  * ziglang wheels: zig cc/ld.lld plus the FreeBSD headers they ship.
#    0.17.0 carries the FreeBSD 15.0 headers, 0.15.2 the 14.3 ones; a wheel
#    cannot be installed twice in one venv, so each goes into its own
#    --target directory inside the project venv.
#  * pyelftools for tests/check-ko (module metadata decoding).
#  * Debian: libck-dev (ConcurrencyKit headers that sys/ck.h includes),
#    libclang1-16 (bindgen in sys-bindings), mandoc (man page lint),
#    binutils (objdump/objcopy/nm/readelf).
set -euo pipefail
cd "$(dirname "$0")/../.."

bash scripts/apt-install.sh libck-dev libclang1-16 mandoc binutils

VENV=.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import elftools, sys; sys.exit(0 if elftools.__version__ == "0.32" else 1)' 2>/dev/null ||
	"$VENV/bin/pip" install -q --disable-pip-version-check 'pyelftools==0.32'

for v in 0.17.0 0.15.2; do
	dir="$VENV/zig-$v"
	if [ ! -x "$dir/ziglang/zig" ] || ! grep -qx "Version: $v" "$dir"/ziglang-"$v".dist-info/METADATA 2>/dev/null; then
		rm -rf "$dir"
		"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --target "$dir" "ziglang==$v"
	fi
done
