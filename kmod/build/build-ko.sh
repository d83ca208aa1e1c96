#!/usr/bin/env bash
# build-ko.sh 15|14 OUT.ko: cross-builds carp_rs.ko on Linux, the way
# sys/conf/kmod.mk builds a module on an amd64 FreeBSD host.
#
#  1. the Rust engine as a staticlib for x86_64-unknown-none, core and alloc
#     rebuilt with kernel code generation (the prebuilt ones are PIC and
#     reach memcpy through the GOT, which the kernel linker rejects);
#  2. the C shim with kern.mk's amd64 flags through zig cc against the
#     FreeBSD headers of the zig release pinned for that major version, and
#     the C ABI header carp_rs_ffi.h generated from kmod/src/ffi by
#     tools/ffi-header (cbindgen) into $BUILD_DIR/gen, which must also
#     compile on its own (after <sys/types.h> only) without a warning;
#  3. ld -r, drop LLVM-only sections, make every defined global local
#     (EXPORT_SYMS=NO), strip debug info.
#
# Environment: BUILD_DIR (default build/kmod), CARP_RS_MANIFEST (the crate
# to link, default kmod/Cargo.toml), KMOD_INFALLIBLE_ALLOC (default
# "forbid": alloc is built with no_global_oom_handling, so code that could
# only fail by panicking the kernel on an M_NOWAIT NULL does not compile;
# "allow" drops that, for an engine that still uses Vec::push).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
variant=${1:?usage: build-ko.sh 15|14 OUT.ko}
out=${2:?usage: build-ko.sh 15|14 OUT.ko}
case $variant in
15) zigver=0.17.0 triple=x86_64-freebsd.15.0 fbsd_version=1500068 ;;
14) zigver=0.15.2 triple=x86_64-freebsd.14.3 fbsd_version=1403000 ;;
*) echo "build-ko.sh: unknown variant $variant" >&2; exit 2 ;;
esac
export PATH="$HOME/.cargo/bin:$PATH"
BUILD_DIR=${BUILD_DIR:-$TOP/build/kmod}
MANIFEST=${CARP_RS_MANIFEST:-$TOP/kmod/Cargo.toml}
ZIGDIR=$TOP/.venv/zig-$zigver/ziglang
ZIG=$ZIGDIR/zig
ZINC=$ZIGDIR/lib/libc/include
for f in "$ZIG" "$ZINC/generic-freebsd/sys/param.h" /usr/include/ck_pr.h; do
	[ -e "$f" ] || { echo "build-ko.sh: $f missing: run scripts/setup.sh" >&2; exit 1; }
done
mkdir -p "$BUILD_DIR" "$(dirname "$out")"
# zig keeps its cache outside the tree; give it one per build dir so two
# builds (the reproducibility check) do not share state.
export ZIG_GLOBAL_CACHE_DIR=$BUILD_DIR/zig-cache ZIG_LOCAL_CACHE_DIR=$BUILD_DIR/zig-cache

# ConcurrencyKit headers (sys/ck.h includes them) from Debian's libck-dev,
# copied apart so that no Linux header can be picked up by mistake.
ckdir=$BUILD_DIR/ck-include
if [ ! -e "$ckdir/ck_pr.h" ]; then
	dpkg -L libck-dev | grep '^/usr/include/.*\.h$' | while read -r h; do
		mkdir -p "$ckdir/$(dirname "${h#/usr/include/}")"
		cp "$h" "$ckdir/${h#/usr/include/}"
	done
fi

# The C ABI header, generated from the Rust that defines it (a host tool:
# built and run before RUSTFLAGS is set for the kernel target).
gendir=$BUILD_DIR/gen
(cd "$TOP" && cargo run --quiet --locked -p carp-ffi-header -- "$gendir/carp_rs_ffi.h")

# 1. Rust staticlib (identical for both variants: it sees no kernel header).
sysroot=$(cd "$TOP" && rustc --print sysroot)
rust_target=$BUILD_DIR/cargo
case ${KMOD_INFALLIBLE_ALLOC:-forbid} in
forbid) oom_cfg="--cfg no_global_oom_handling" ;;
allow) oom_cfg= ;;
*) echo "build-ko.sh: KMOD_INFALLIBLE_ALLOC must be forbid or allow" >&2; exit 2 ;;
esac
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-C relocation-model=static -C relro-level=off -C code-model=kernel \
-C force-frame-pointers=yes --cfg sha1_backend=\"soft\" $oom_cfg \
--remap-path-prefix=$TOP=/carp_rs --remap-path-prefix=$sysroot=/rustc \
--remap-path-prefix=$HOME/.cargo=/cargo --remap-path-prefix=$BUILD_DIR=/build"
(cd "$TOP" && cargo rustc --quiet --manifest-path "$MANIFEST" -p carp_rs --release --locked \
	--target x86_64-unknown-none -Z build-std=core,alloc \
	--config 'profile.release.package.compiler_builtins.codegen-units=10000' \
	--config profile.release.lto=true --config 'profile.release.opt-level="s"' \
	--target-dir "$rust_target" --crate-type staticlib)
rlib=$rust_target/x86_64-unknown-none/release/libcarp_rs.a

# 2. C shim: every file kmod/shim-srcs.mk lists.
shim_srcs=$(sed -n 's/^CARP_RS_SHIM_SRCS *= *//p' "$TOP/kmod/shim-srcs.mk")
objdir=$BUILD_DIR/freebsd$variant
mkdir -p "$objdir"
objs=()
cflags=(-target "$triple" \
	-U__FreeBSD_version -D__FreeBSD_version="$fbsd_version" \
	-O2 -pipe -fno-strict-aliasing -Werror -D_KERNEL -DKLD_MODULE \
	-nostdinc -include opt_global.h -I"$TOP/kmod/build/include" -I"$TOP/kmod" -I"$gendir" \
	-isystem "$ZINC/x86_64-freebsd-none" -isystem "$ZINC/generic-freebsd" -isystem "$ckdir" \
	-fno-common -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-mcmodel=kernel -mno-red-zone -mno-mmx -mno-sse -mno-sse2 -msoft-float -mno-implicit-float \
	-fno-asynchronous-unwind-tables -ffreestanding -fwrapv -fstack-protector \
	-Wall -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wundef \
	-Wno-pointer-sign -D__printf__=__freebsd_kprintf__ \
	-fdiagnostics-show-option -Wno-unknown-pragmas -Wno-error=tautological-compare \
	-Wno-error=empty-body -Wno-error=parentheses-equality -Wno-error=unused-function \
	-Wno-error=pointer-sign -Wno-error=shift-negative-value -Wno-address-of-packed-member \
	-Wno-format-zero-length -mno-aes -mno-avx -std=gnu17 \
	-ffile-prefix-map="$TOP"=/carp_rs -ffile-prefix-map="$ckdir"=/ck-include \
	-ffile-prefix-map="$gendir"=/gen)
# The generated header alone, as a kernel C file sees it: no warning.
printf '#include <sys/types.h>\n#include "carp_rs_ffi.h"\n' >"$objdir/ffi_header_check.c"
"$ZIG" cc "${cflags[@]}" -Wextra -c "$objdir/ffi_header_check.c" -o "$objdir/ffi_header_check.o"
for src in $shim_srcs; do
	obj=$objdir/${src%.c}.o
	"$ZIG" cc "${cflags[@]}" -c "$TOP/kmod/$src" -o "$obj"
	objs+=("$obj")
done

# 3. Link as kmod.mk does on amd64 (ld -r), then localise and strip.
tmp=$out.tmp
"$ZIG" ld.lld -m elf_x86_64_fbsd -warn-common --build-id=sha1 \
	-T "$TOP/kmod/build/kmod-amd64.ld" -r -o "$tmp" "${objs[@]}" "$rlib" \
	--why-extract="$tmp.why"
# The archive exports compiler_builtins' C symbols (memcpy ..., but also
# libm's log, exp ...): a shim call to a kernel function of the same name
# would silently bind to them.  Only the mem* family may come from there.
bad=$(awk -F'\t' -v objdir="$objdir/" 'index($1, objdir) == 1 && $2 ~ /compiler_builtins/ &&
	$3 !~ /^(memcpy|memmove|memset|memcmp|bcmp)$/ { print $3 }' "$tmp.why" | sort -u)
rm -f "$tmp.why"
if [ -n "$bad" ]; then
	echo "build-ko.sh: the shim binds to compiler_builtins instead of the kernel: $bad" >&2
	exit 1
fi
objcopy --remove-section=.llvmbc --remove-section=.llvmcmd \
	--remove-section=.llvm_addrsig --remove-section=.comment "$tmp"
nm -g "$tmp" | awk 'NF == 3 && $2 != "U" { print ($2 == "C" ? "-N" : "-L") $3 }' > "$tmp.syms"
if [ -s "$tmp.syms" ]; then xargs objcopy "$tmp" < "$tmp.syms"; fi
objcopy --strip-debug "$tmp"
rm -f "$tmp.syms"
mv "$tmp" "$out"
