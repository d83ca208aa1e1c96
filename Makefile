# carp_rs top-level Makefile (GNU make, Linux development and CI host).
#
#   make          install prerequisites (scripts/setup.sh) and build everything
#   make test     every test that runs without a FreeBSD kernel (what CI runs)
#   make demo     a CARP failover on real packets in network namespaces
#
# Each area adds its own targets in mk/*.mk; they append to BUILD_TARGETS and
# TEST_TARGETS so this file stays the single entry point.

SHELL := /bin/bash
.DEFAULT_GOAL := all
export CARGO_TERM_COLOR ?= never

# Rust tools come from rustup; make sure ~/.cargo/bin is on PATH in CI shells.
export PATH := $(HOME)/.cargo/bin:$(PATH)

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
SETUP_STAMP := $(BUILD)/.setup-done

BUILD_TARGETS :=
TEST_TARGETS :=

.PHONY: all build test setup fmt fmt-check clippy cargo-test clean

setup: $(SETUP_STAMP)
$(SETUP_STAMP): scripts/setup.sh $(wildcard scripts/setup.d/*.sh)
	bash scripts/setup.sh
	@mkdir -p $(BUILD) && touch $@

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
	cargo test --workspace --locked

TEST_TARGETS += fmt-check clippy cargo-test

-include $(sort $(wildcard mk/*.mk))

all: build
build: $(BUILD_TARGETS)

# Each target stops make on failure, so reaching this recipe means all of
# them passed; the last line is a plain summary for CI to read.
test: $(TEST_TARGETS)
	@echo "make test: every target passed: $(TEST_TARGETS)"
	@echo "targets: $(words $(TEST_TARGETS)) passed, 0 failed"

clean:
	cargo clean
	rm -rf $(BUILD)
