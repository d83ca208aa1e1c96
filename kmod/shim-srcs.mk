# The C files of the kernel shim, in one place: build-ko.sh, kmod/Makefile,
# mk/kmod.mk and the fake-kernel harness read this list.  One assignment,
# file names relative to kmod/, no continuation lines.
CARP_RS_SHIM_SRCS = carp_rs_shim.c carp_rs_apply.c carp_rs_if.c carp_rs_arp.c carp_rs_clone.c carp_rs_hooks.c carp_rs_nl.c
CARP_RS_SHIM_HDRS = carp_rs_var.h
# Generated into the build directory from kmod/src/ffi by tools/ffi-header
# (cbindgen), never kept in the tree.
CARP_RS_GEN_HDRS = carp_rs_ffi.h
