#!/usr/bin/env bash
# Prerequisites of the kernel-module build (mk/kmod.mk) and its checks:
#  * ziglang wheels: zig cc/ld.lld plus the FreeBSD headers they ship.
#    0.17.0 carries the FreeBSD 15.0 headers, 0.15.2 the 14.3 ones; a wheel
#    cannot be installed twice in one venv, so each goes into its own
#    --target directory inside the project venv.
#  * pyelftools for tests/check-ko (module metadata decoding).
#  * Debian: python3 and python3-venv (stock Debian Python cannot make a
#    venv without it), libck-dev (ConcurrencyKit headers that sys/ck.h
#    includes), libclang (bindgen in sys-bindings: libclang1-16 on Debian 12,
#    the default libclang1-19 on 13), binutils (objdump/objcopy/nm/readelf).
set -euo pipefail
cd "$(dirname "$0")/../.."

case $(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-}") in
12) libclang=libclang1-16 ;;
*) libclang=libclang1-19 ;;
esac
bash scripts/apt-install.sh python3 python3-venv libck-dev "$libclang" binutils

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
