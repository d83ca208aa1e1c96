# carp_rs top-level Makefile (GNU make, Linux development and CI host).
#
#   make          build the product: both carp_rs.ko and the tools
#   make test     every test that runs without a FreeBSD kernel (what CI runs)
#   make demo     a CARP failover on real packets in network namespaces
#   make help     every target, one line each
#
# Each area adds its own targets in mk/*.mk; they append to BUILD_TARGETS and
# TEST_TARGETS so this file stays the single entry point.
#
# Prerequisites come in three profiles of scripts/setup.sh: `build` (Rust,
# the .ko cross-build) for `make`, `demo` (+ ucarp, keepalived, FRR,
# tcpdump, tshark) for `make demo`, `test` (+ valgrind, cargo-fuzz, clang
# sanitizers, man-page linters) for `make test`.

SHELL := /bin/bash
.DEFAULT_GOAL := all
export CARGO_TERM_COLOR ?= never

# Rust tools come from rustup; make sure ~/.cargo/bin is on PATH in CI shells.
export PATH := $(HOME)/.cargo/bin:$(PATH)

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
SETUP_BUILD_STAMP := $(BUILD)/.setup-build
SETUP_DEMO_STAMP := $(BUILD)/.setup-demo
SETUP_STAMP := $(BUILD)/.setup-done
SETUP_COMMON := scripts/setup.sh scripts/apt-install.sh scripts/setup.d/10-rust.sh \
	scripts/setup.d/20-kmod.sh

BUILD_TARGETS :=
TEST_TARGETS :=
PRODUCT_TARGETS :=

.PHONY: all product build test setup setup-build setup-demo fmt fmt-check clippy \
	cargo-test cargo-build tools clean help runner-selftest

setup-build: $(SETUP_BUILD_STAMP)
$(SETUP_BUILD_STAMP): $(SETUP_COMMON)
	bash scripts/setup.sh build
	@mkdir -p $(BUILD) && touch $@

setup-demo: $(SETUP_DEMO_STAMP)
$(SETUP_DEMO_STAMP): $(SETUP_COMMON) scripts/setup.d/30-interop.sh
	bash scripts/setup.sh demo
	@mkdir -p $(BUILD) && touch $(SETUP_BUILD_STAMP) $@

setup: $(SETUP_STAMP)
$(SETUP_STAMP): $(SETUP_COMMON) $(wildcard scripts/setup.d/*.sh)
	bash scripts/setup.sh test
	@mkdir -p $(BUILD) && touch $(SETUP_BUILD_STAMP) $(SETUP_DEMO_STAMP) $@

# The user-facing tools (tools/): carp-pcap.
tools: $(SETUP_BUILD_STAMP)
	cargo build --release --locked -p carp-pcap
PRODUCT_TARGETS += tools

cargo-build: setup
	cargo build --workspace --release --locked
BUILD_TARGETS += cargo-build

fmt:
	cargo fmt --all

fmt-check: setup
	cargo fmt --all -- --check

clippy: setup
	cargo clippy --workspace --all-targets --locked -- -D warnings

cargo-test: setup
	cargo test --workspace --locked --no-fail-fast

# make test's own runner, checked with a stand-in make that fails targets.
runner-selftest:
	bash tests/runner/selftest.sh

TEST_TARGETS += runner-selftest fmt-check clippy cargo-test

-include $(sort $(wildcard mk/*.mk))

# The product only: the modules and the tools; then where they are and
# what to do next.
all: product
product: $(PRODUCT_TARGETS)
	@echo
	@echo "carp_rs is built:"
	@echo "  build/freebsd15/carp_rs.ko   the module for FreeBSD 15.0 and later"
	@echo "  build/freebsd14/carp_rs.ko   the module for FreeBSD 14.3 and later"
	@echo "  target/release/carp-pcap     checks CARP/VRRP captures and passwords (--help)"
	@echo "Next: on a FreeBSD host, kldload ./build/freebsd15/carp_rs.ko (see README.md),"
	@echo "      or see it fail over here on real packets: make demo"

# Everything, test drivers included.
build: product $(BUILD_TARGETS)

# Runs every test target even when one fails; ends with "N passed, M failed".
test: setup
	@MAKE="$(MAKE)" bash scripts/run-tests.sh $(TEST_TARGETS)

clean:
	cargo clean
	rm -rf $(BUILD)

help:
	@echo "carp_rs make targets (GNU make on Debian 12/13; see README.md):"
	@echo "  make / make all      build both carp_rs.ko (build/freebsd15, build/freebsd14) and carp-pcap"
	@echo "  make build           the product plus every test driver of the workspace"
	@echo "  make demo            CARP failover on real packets in network namespaces (root)"
	@echo "  make test            every test target, then 'N passed, M failed' (what CI runs)"
	@echo "  make setup-build     install what 'make' needs (rustup toolchain, .ko cross-build)"
	@echo "  make setup-demo      ... plus ucarp, keepalived, FRR, tcpdump, tshark"
	@echo "  make setup           ... plus the whole test stack (valgrind, cargo-fuzz, clang, linters)"
	@echo "  make kmod            only the two .ko files"
	@echo "  make tools           only carp-pcap (target/release/carp-pcap)"
	@echo "  make check-ko        static load checks of both .ko + reproducibility (test)"
	@echo "  make man-lint        man page through mandoc and groff, rc.d script through sh -n (test)"
	@echo "  make runner-selftest make test's runner against a stand-in make (test)"
	@echo "  make fmt             cargo fmt the workspace"
	@echo "  make fmt-check       cargo fmt --check (test)"
	@echo "  make clippy          clippy -D warnings on the workspace (test)"
	@echo "  make cargo-test      unit, property and vector tests of the workspace (test)"
	@echo "  make fakekern-test   the C shim on a fake kernel under ASan/UBSan, 15.0 + 14.3 headers (test)"
	@echo "  make node-test       netns interop with ucarp, keepalived, FRR + the demo (test, root)"
	@echo "  make sim-test        SIM_SEEDS (5000) seeds of the deterministic simulator (test)"
	@echo "  make soak SEEDS=N    N more simulator seeds"
	@echo "  make fuzz-smoke      every fuzz target for 20 s (test)"
	@echo "  make fuzz            every fuzz target for 600 s"
	@echo "  make bench-smoke     a quick run of every benchmark (test)"
	@echo "  make bench           callgrind instruction counts, wall time, 4,080 vhids"
	@echo "  make bench-failover  20 hard-kill failovers each of carp-node, ucarp, keepalived"
	@echo "  make vm-driver-test  host tests of the VM PID-1 driver and log parser (test)"
	@echo "  make vm-driver       build the VM PID-1 driver (test)"
	@echo "  make vmtest KERNEL=... BOOT=...  real FreeBSD kernels under qemu (skips without KERNEL)"
	@echo "  make vmtest-skip-check  the vmtest skip is reported and is not a failure (test)"
	@echo "  make vmtest-bench KERNEL=... BOOT=... STOCK_CARP_KO=...  hard-kill failover, carp_rs.ko vs stock carp.ko"
	@echo "  make vmtest-bench-test  host tests of the failover bench's parser and table (test)"
	@echo "  make vmtest-bench-skip-check  the vmtest-bench skip is reported (test)"
	@echo "  make vectors         regenerate tests/vectors from real ucarp/keepalived/FRR in netns (root)"
	@echo "  make clean           remove target/ and build/"
	@echo "  make help            this list"
