# Fake-kernel harness (issue 5 item 6): the real C shim (kmod/shim-srcs.mk)
# compiled for the Linux host against the FreeBSD headers, linked with the
# engine and a test-only fake of the kernel, run under ASan and UBSan.
#
#   make fakekern-test        build (tests/fakekern/build.sh) and run
#   FK_VARIANT=14 make ...    against the 14.3 headers instead of 15.0
# One scenario: build/fakekern/freebsd15/fakekern NAME (FK_VERBOSE=1 shows
# the console).

FK_VARIANT ?= 15

.PHONY: fakekern-test

fakekern-test: setup
	bash tests/fakekern/build.sh $(FK_VARIANT)
	python3 tests/fakekern/run.py $(BUILD)/fakekern/freebsd$(FK_VARIANT)/fakekern

TEST_TARGETS += fakekern-test
