# carp_rs.ko, cross-built on Linux for FreeBSD 15.x and 14.3+ (amd64), and
# its static load checks.  kmod/build/build-ko.sh holds the recipe;
# kmod/Makefile is the native bsd.kmod.mk build on a FreeBSD host.

KMOD_DIR := $(BUILD)/kmod
KO_15 := $(BUILD)/freebsd15/carp_rs.ko
KO_14 := $(BUILD)/freebsd14/carp_rs.ko
KMOD_INPUTS := $(shell find kmod/src -name '*.rs') kmod/Cargo.toml $(wildcard Cargo.lock) \
	Cargo.toml rust-toolchain.toml $(wildcard kmod/*.c kmod/*.h) kmod/shim-srcs.mk \
	$(wildcard kmod/build/*) $(wildcard kmod/build/include/*.h)

.PHONY: kmod check-ko check-ko-repro man-lint

$(KO_15): $(SETUP_STAMP) $(KMOD_INPUTS)
	BUILD_DIR=$(KMOD_DIR) bash kmod/build/build-ko.sh 15 $@

# Serialized after the 15.x build: both share the Rust staticlib.
$(KO_14): $(SETUP_STAMP) $(KMOD_INPUTS) | $(KO_15)
	BUILD_DIR=$(KMOD_DIR) bash kmod/build/build-ko.sh 14 $@

kmod: $(KO_15) $(KO_14)
BUILD_TARGETS += $(KO_15) $(KO_14)

check-ko: $(KO_15) $(KO_14)
	.venv/bin/python tests/check-ko/test_check_ko.py
	BUILD_DIR=$(KMOD_DIR) .venv/bin/python tests/check-ko/check_ko.py --variant 15 --list-undefined $(KO_15)
	BUILD_DIR=$(KMOD_DIR) .venv/bin/python tests/check-ko/check_ko.py --variant 14 $(KO_14)
	$(MAKE) --no-print-directory check-ko-repro

# Two clean builds must give byte-identical modules: a second one from
# scratch, in another directory, compared with the first.
check-ko-repro: $(KO_15) $(KO_14)
	rm -rf $(BUILD)/kmod-repro
	BUILD_DIR=$(BUILD)/kmod-repro/work bash kmod/build/build-ko.sh 15 $(BUILD)/kmod-repro/freebsd15/carp_rs.ko
	BUILD_DIR=$(BUILD)/kmod-repro/work bash kmod/build/build-ko.sh 14 $(BUILD)/kmod-repro/freebsd14/carp_rs.ko
	cmp $(KO_15) $(BUILD)/kmod-repro/freebsd15/carp_rs.ko
	cmp $(KO_14) $(BUILD)/kmod-repro/freebsd14/carp_rs.ko
	rm -rf $(BUILD)/kmod-repro
	@echo "check-ko-repro: both modules are reproducible"

# -W warning: the STYLE-level "referenced manual not found" notes only say
# that this Linux host lacks FreeBSD's pages.
man-lint: $(SETUP_STAMP)
	mandoc -T lint -W warning kmod/carp_rs.4
	sh -n rc.d/carp_rs
	@echo "man-lint: kmod/carp_rs.4 and rc.d/carp_rs are clean"

TEST_TARGETS += check-ko man-lint
