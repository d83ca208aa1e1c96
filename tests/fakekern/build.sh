#!/usr/bin/env bash
# build.sh [15|14]: builds the fake-kernel test binary (test only, never part
# of carp_rs.ko).
#
#  * the REAL shim sources (every kmod/*.c) and the fakes are compiled for
#    the Linux host by clang with the FreeBSD kernel headers of the pinned
#    ziglang wheel, -D_KERNEL -DKLD_MODULE, the project's opt_*.h and the
#    same __FreeBSD_version as kmod/build/build-ko.sh, plus INVARIANTS (so
#    KASSERT/mtx_assert are live) and -fsanitize=address,undefined.  The
#    target triple is Linux's (x86-64 SysV, same as FreeBSD amd64), so the
#    objects use Linux's ASan shadow layout; the FreeBSD-ness comes from
#    -D__FreeBSD__ and -nostdinc with the FreeBSD headers.
#  * kernel functions whose names libc or the sanitizer runtimes also
#    define (malloc, free, printf, log...) are renamed to fkk_<name> in all
#    kernel-side objects, so the shim reaches the fakes, never libc;
#  * the engine is linked as a host staticlib (tests/fakekern/rs, which
#    routes Rust allocations through the shim's carp_rs_kmalloc).
#
# Output: $FK_BUILD/fakekern (default build/fakekern/freebsd<variant>).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
variant=${1:-15}
case $variant in
15) zigver=0.17.0 fbsd_version=1500068 ;;
14) zigver=0.15.2 fbsd_version=1403000 ;;
*) echo "build.sh: unknown variant $variant" >&2; exit 2 ;;
esac
export PATH="$HOME/.cargo/bin:$PATH"
OUT=${FK_BUILD:-$TOP/build/fakekern/freebsd$variant}
# clang 14 on Debian 12, 19 on Debian 13 (scripts/setup.d/60-fakekern.sh).
CC=${FK_CC:-$(command -v clang-14 || command -v clang-19 || echo clang-14)}
ZINC=$TOP/.venv/zig-$zigver/ziglang/lib/libc/include
VECTORS=${FK_VECTORS:-$TOP/tests/vectors/carp-vectors.json}
for f in "$VECTORS" "$(dirname "$VECTORS")/vrrp-vectors.json"; do
	[ -e "$f" ] || { echo "build.sh: FAILED: test vector missing: $f; the repository carries it: restore it with \`git checkout tests/vectors\` or regenerate with \`make vectors\`" >&2; exit 1; }
done
for f in "$ZINC/generic-freebsd/sys/param.h" /usr/include/ck_pr.h; do
	[ -e "$f" ] || { echo "build.sh: $f missing: run scripts/setup.sh" >&2; exit 1; }
done
command -v "$CC" >/dev/null || { echo "build.sh: $CC missing: run scripts/setup.sh" >&2; exit 1; }
mkdir -p "$OUT/obj"
FK=$TOP/tests/fakekern

# ConcurrencyKit headers apart from /usr/include, as build-ko.sh does.
ckdir=$OUT/ck-include
if [ ! -e "$ckdir/ck_pr.h" ]; then
	dpkg -L libck-dev | grep '^/usr/include/.*\.h$' | while read -r h; do
		mkdir -p "$ckdir/$(dirname "${h#/usr/include/}")"
		cp "$h" "$ckdir/${h#/usr/include/}"
	done
fi

# 1. The engine as a host staticlib, and the C ABI header generated from
#    it (tools/ffi-header) into $OUT, which the shim finds through -I.
cargo_dir=${CARGO_TARGET_DIR:-$TOP/build/fakekern/cargo}
(cd "$TOP" && cargo build --quiet --locked -p carp-fakekern-rs --target-dir "$cargo_dir")
(cd "$TOP" && cargo run --quiet --locked -p carp-ffi-header -- "$OUT/carp_rs_ffi.h")
rlib=$cargo_dir/debug/libcarp_fakekern.a

# 2. Kernel-side objects: the shim and the fakes.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
KFLAGS=(--target=x86_64-unknown-linux-gnu
	-U__linux__ -U__linux -Ulinux -U__gnu_linux__ -U__unix__ -Uunix
	-D__FreeBSD__=$variant -D__FreeBSD_cc_version=${variant}00001
	-D__FreeBSD_version=$fbsd_version -D__unix__
	-D_KERNEL -DKLD_MODULE -DINVARIANTS -DINVARIANT_SUPPORT
	-nostdinc -include opt_global.h -I"$TOP/kmod/build/include" -I"${FK_SHIM_DIR:-$TOP/kmod}"
	-I"$OUT" -isystem "$ZINC/x86_64-freebsd-none" -isystem "$ZINC/generic-freebsd"
	-isystem "$ckdir" -ffreestanding -fwrapv -fno-strict-aliasing -fno-common
	-std=gnu17 -g -O1 $SAN -Wall -Wno-pointer-sign -Wno-format
	-Wno-address-of-packed-member -Wno-unused-function)

python3 "$FK/gen_vectors.py" "$VECTORS" "$OUT/fk_vectors.h"

SHIM_DIR=${FK_SHIM_DIR:-$TOP/kmod}
if [ -e "$SHIM_DIR/shim-srcs.mk" ]; then
	shim_srcs=$(sed -n "s/^CARP_RS_SHIM_SRCS *= *//p" "$SHIM_DIR/shim-srcs.mk" | sed "s|[^ ]*|$SHIM_DIR/&|g")
else
	shim_srcs=$(ls "$SHIM_DIR"/*.c)
fi
kobjs=()
for src in $shim_srcs; do
	o=$OUT/obj/shim_$(basename "${src%.c}").o
	"$CC" "${KFLAGS[@]}" -c "$src" -o "$o"
	kobjs+=("$o")
done
fobjs=()
for src in "$FK"/fk_kern.c "$FK"/fk_sysctl.c "$FK"/fk_net.c "$FK"/fk_hooks.c \
	"$FK"/fk_main.c $(ls "$FK"/fk_x_*.c 2>/dev/null || true); do
	o=$OUT/obj/$(basename "${src%.c}").o
	"$CC" "${KFLAGS[@]}" -Werror -I"$FK" -c "$src" -o "$o"
	fobjs+=("$o")
done
"$CC" -std=gnu17 -g -O1 $SAN -Wall -Werror -c "$FK/fk_host.c" -o "$OUT/obj/fk_host.o"

# 3. Rename the kernel functions that clash with libc or the sanitizer
#    runtime, in every kernel-side object.
rtdir=$("$CC" -print-resource-dir)/lib/linux
{
	for l in /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libm.so.6; do
		nm -D --defined-only "$l" | awk '{print $3}' | sed 's/@.*//'
	done
	nm --defined-only -g "$rtdir"/libclang_rt.asan-x86_64.a \
		"$rtdir"/libclang_rt.ubsan_standalone-x86_64.a 2>/dev/null | awk 'NF==3{print $3}'
} | sort -u > "$OUT/host-syms.txt"
nm --defined-only -g "${fobjs[@]}" | awk 'NF==3{print $3}' | sort -u > "$OUT/fake-syms.txt"
comm -12 "$OUT/host-syms.txt" "$OUT/fake-syms.txt" | awk '{print $1" fkk_"$1}' > "$OUT/rename.txt"
for o in "${kobjs[@]}" "${fobjs[@]}"; do
	objcopy --redefine-syms="$OUT/rename.txt" "$o"
done

# Every kernel symbol the shim needs must come from a fake (or the engine):
# list what nothing defines, so a new KPI in the shim shows up by name.
nm -u "${kobjs[@]}" | awk 'NF==2{print $2}' | grep -v '^__\(asan\|ubsan\)_' | sort -u > "$OUT/shim-undef.txt"
{ nm --defined-only -g "${fobjs[@]}" "${kobjs[@]}" | awk 'NF==3{print $3}'
  nm --defined-only -g "$rlib" 2>/dev/null | awk 'NF==3{print $3}'; } | sort -u > "$OUT/defined.txt"
# libkern's pure string/memory functions may come from libc (ASan checks
# them); anything else must be faked.
LIBKERN_FROM_LIBC='^(memcmp|memcpy|memmove|memset|bcmp|bcopy|bzero|explicit_bzero|strcmp|strncmp|strlen|strnlen|strchr|strrchr|strstr|strcpy|strncpy|strtoul|strtol|snprintf|vsnprintf|sprintf|qsort)$'
comm -23 "$OUT/shim-undef.txt" "$OUT/defined.txt" | grep -v '^__\(start\|stop\)_set_' |
	grep -Ev "$LIBKERN_FROM_LIBC" > "$OUT/unfaked.txt" || true
if [ -s "$OUT/unfaked.txt" ]; then
	echo "build.sh: kernel symbols the shim uses that no fake provides:" >&2
	sed 's/^/  /' "$OUT/unfaked.txt" >&2
	exit 1
fi

# 4. Link.
"$CC" $SAN -o "$OUT/fakekern" "${kobjs[@]}" "${fobjs[@]}" "$OUT/obj/fk_host.o" \
	"$rlib" -lgcc_s -lutil -lrt -lpthread -lm -ldl
echo "build.sh: $OUT/fakekern"
