# carp_rs.ko, cross-built on Linux for FreeBSD 15.x and 14.3+ (amd64), and
# its static load checks.  kmod/build/build-ko.sh holds the recipe;
# kmod/Makefile is the native bsd.kmod.mk build on a FreeBSD host.

KMOD_DIR := $(BUILD)/kmod
KO_15 := $(BUILD)/freebsd15/carp_rs.ko
KO_14 := $(BUILD)/freebsd14/carp_rs.ko
# tools/ffi-header generates the C ABI header (carp_rs_ffi.h) from
# kmod/src/ffi into the build directory before any C file is compiled.
KMOD_INPUTS := $(shell find kmod/src tools/ffi-header/src -name '*.rs') kmod/Cargo.toml \
	tools/ffi-header/Cargo.toml tools/ffi-header/cbindgen.toml $(wildcard Cargo.lock) \
	Cargo.toml rust-toolchain.toml $(wildcard kmod/*.c kmod/*.h) kmod/shim-srcs.mk \
	$(wildcard kmod/build/*) $(wildcard kmod/build/include/*.h)

.PHONY: kmod check-ko check-ko-repro man-lint

# The Rust build inside is quiet for ~35 s: progress.sh says it is alive.
$(KO_15): $(SETUP_BUILD_STAMP) $(KMOD_INPUTS)
	BUILD_DIR=$(KMOD_DIR) bash scripts/progress.sh "kmod: carp_rs.ko for FreeBSD 15" \
		bash kmod/build/build-ko.sh 15 $@

# Serialized after the 15.x build: both share the Rust staticlib.
$(KO_14): $(SETUP_BUILD_STAMP) $(KMOD_INPUTS) | $(KO_15)
	BUILD_DIR=$(KMOD_DIR) bash scripts/progress.sh "kmod: carp_rs.ko for FreeBSD 14" \
		bash kmod/build/build-ko.sh 14 $@

kmod: $(KO_15) $(KO_14)
PRODUCT_TARGETS += $(KO_15) $(KO_14)

check-ko: $(KO_15) $(KO_14)
	.venv/bin/python tests/check-ko/test_check_ko.py
	BUILD_DIR=$(KMOD_DIR) .venv/bin/python tests/check-ko/check_ko.py --variant 15 --list-undefined $(KO_15)
	BUILD_DIR=$(KMOD_DIR) .venv/bin/python tests/check-ko/check_ko.py --variant 14 $(KO_14)
	$(MAKE) --no-print-directory check-ko-repro

# Two clean builds must give byte-identical modules: a second one from
# scratch, in another directory, compared with the first.
check-ko-repro: $(KO_15) $(KO_14)
	rm -rf $(BUILD)/kmod-repro
	BUILD_DIR=$(BUILD)/kmod-repro/work bash scripts/progress.sh "check-ko-repro: second build, 15" \
		bash kmod/build/build-ko.sh 15 $(BUILD)/kmod-repro/freebsd15/carp_rs.ko
	BUILD_DIR=$(BUILD)/kmod-repro/work bash scripts/progress.sh "check-ko-repro: second build, 14" \
		bash kmod/build/build-ko.sh 14 $(BUILD)/kmod-repro/freebsd14/carp_rs.ko
	cmp $(KO_15) $(BUILD)/kmod-repro/freebsd15/carp_rs.ko
	cmp $(KO_14) $(BUILD)/kmod-repro/freebsd14/carp_rs.ko
	rm -rf $(BUILD)/kmod-repro
	@echo "check-ko-repro: both modules are reproducible"

# -W warning: the STYLE-level "referenced manual not found" notes only say
# that this Linux host lacks FreeBSD's pages.  groff (what man(1) uses on
# Linux) knows other things than mandoc (e.g. which .Fx versions exist):
# any warning of either fails the lint.
man-lint: $(SETUP_STAMP)
	mandoc -T lint -W warning kmod/carp_rs.4
	@out=$$(groff -mandoc -Tutf8 -ww -z kmod/carp_rs.4 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; echo "man-lint: groff warns (above)"; exit 1; fi
	sh -n rc.d/carp_rs
	@echo "man-lint: kmod/carp_rs.4 (mandoc, groff) and rc.d/carp_rs are clean"

TEST_TARGETS += check-ko man-lint
