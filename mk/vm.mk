# Real-kernel tests (tests/vm): `make vmtest` boots FreeBSD under qemu with
# carp_rs.ko and the carpvm PID-1 driver. It needs a FreeBSD amd64 kernel and
# boot files, which CI does not have:
#
#   make vmtest KERNEL=/path/to/kernel BOOT=/path/with/cdboot+loader_simp \
#               [STOCK_CARP_KO=/path/to/carp.ko] [MODULES=/dir/with/if_epair.ko...]
#               [VMTEST_ONLY=smoke,loadunload] [VMTEST_OUT=build/vmtest] [VMTEST_JOBS=2]
#
# MODULES: a directory with if_epair.ko, if_bridge.ko and bridgestp.ko from
# the same kernel build (the vnet jail scenarios need them; without it they
# are reported as SKIP).
#
# WORLD: an installed FreeBSD userland (installworld + distribution); with
# it the userland scenarios boot the real /sbin/init and /etc/rc and run
# tests/vm/sh/scenarios/*.sh. TESTS: a directory with FreeBSD's
# sys/netinet/carp.sh and sys/common/vnet.subr, whose cases then run with
# atf-sh under stock carp.ko and under carp_rs.ko. Without WORLD those
# scenarios are reported as SKIP.
#
# KERNEL may list several kernels (e.g. plain and INVARIANTS+WITNESS), each
# as PATH or LABEL=PATH. On a FreeBSD host: KERNEL=/boot/kernel/kernel
# BOOT=/boot STOCK_CARP_KO=/boot/kernel/carp.ko.

VM_DRIVER_TARGET := x86_64-unknown-none
VM_TARGET_DIR ?= $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),$(TOP)/target)
VM_DRIVER := $(VM_TARGET_DIR)/$(VM_DRIVER_TARGET)/release/carpvm
VM_MODULE ?= $(BUILD)/freebsd15/carp_rs.ko
VMTEST_OUT ?= $(BUILD)/vmtest
VMTEST_JOBS ?= 2

.PHONY: vm-driver vm-driver-test vmtest vmtest-skip-check

# A static, non-PIE ELF executable: the FreeBSD image activator loads it as
# is (no dynamic linker, no relocation at run time).
vm-driver: setup
	RUSTFLAGS="-C relocation-model=static" cargo build --locked --release \
		-p carpvm-driver --target $(VM_DRIVER_TARGET)
	@test -x $(VM_DRIVER)

# Host unit tests of the driver's parsers and of the serial-log parser.
vm-driver-test: setup
	cargo test --locked -p carpvm-driver
	cd tests/vm && python3 -m unittest -q test_parse test_world test_vmtest test_hub
	sh -n tests/vm/sh/lib.sh tests/vm/sh/run.sh tests/vm/sh/scenarios/*.sh tests/vm/sh/rc/*.conf

vmtest:
ifeq ($(strip $(KERNEL)),)
	@echo "vmtest: SKIP: no FreeBSD kernel given (make vmtest KERNEL=... BOOT=... [STOCK_CARP_KO=...] [MODULES=...] [WORLD=... [TESTS=...]]); real-kernel scenarios were not run"
else
	@test -n "$(BOOT)" || { echo "vmtest: BOOT= (directory with cdboot and loader_simp) is required with KERNEL="; exit 2; }
	@command -v xorriso >/dev/null && command -v qemu-system-x86_64 >/dev/null || bash scripts/vm-deps.sh
	$(MAKE) vm-driver
	@test -f $(VM_MODULE) || echo "vmtest: note: $(VM_MODULE) missing (run make); scenarios needing it will fail"
	python3 tests/vm/vmtest.py $(foreach k,$(KERNEL),--kernel $(k)) --boot $(BOOT) \
		--module $(VM_MODULE) $(if $(STOCK_CARP_KO),--stock-ko $(STOCK_CARP_KO)) \
		$(if $(MODULES),--modules $(MODULES)) \
		$(if $(WORLD),--world $(WORLD)) $(if $(TESTS),--tests $(TESTS)) \
		--driver $(VM_DRIVER) --out $(VMTEST_OUT) --jobs $(VMTEST_JOBS) \
		$(if $(VMTEST_ONLY),--only $(VMTEST_ONLY))
endif

# CI has no kernel: check that the skip is reported and is not a failure.
vmtest-skip-check:
	@out=$$($(MAKE) --no-print-directory vmtest KERNEL=); echo "$$out"; \
		case "$$out" in *"vmtest: SKIP"*) ;; *) echo "vmtest-skip-check: no SKIP line"; exit 1;; esac

BUILD_TARGETS += vm-driver
TEST_TARGETS += vm-driver-test vm-driver vmtest-skip-check
