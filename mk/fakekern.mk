# Fake-kernel harness (issue 5 item 6): the real C shim (kmod/shim-srcs.mk)
# compiled for the Linux host against the FreeBSD headers, linked with the
# engine and a test-only fake of the kernel, run under ASan and UBSan.
# Test only: nothing of it goes into carp_rs.ko.  See tests/fakekern/README.md.
#
#   make fakekern-test          build and run against the 15.0 and 14.3 headers
#   make fakekern-test FK_VARIANTS=15
# One scenario: build/fakekern/freebsd15/fakekern NAME (FK_VERBOSE=1 shows
# the console, devd and stack events; FK_STRICT=1 fails on known gaps).

FK_VARIANTS ?= 15 14

.PHONY: fakekern-test

fakekern-test: setup
	@set -e; for v in $(FK_VARIANTS); do \
		echo "== fakekern: FreeBSD $$v headers"; \
		bash tests/fakekern/build.sh $$v; \
		python3 tests/fakekern/run.py $(BUILD)/fakekern/freebsd$$v/fakekern; \
	done

TEST_TARGETS += fakekern-test
