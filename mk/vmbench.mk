# Failover on the real kernel, carp_rs.ko and stock carp.ko side by side
# (tests/vm/bench.py): two qemu VMs, KILLS hard kills (qemu monitor `stop`
# of the MASTER) per module in one run, lateness from the survivor's bpf
# timestamps, bow-out takeover times, table in $(VMBENCH_OUT)/summary.md.
#
#   make vmtest-bench KERNEL=/path/to/kernel BOOT=/dir/with/cdboot+loader_simp \
#                     STOCK_CARP_KO=/path/to/carp.ko [KILLS=20] [BLOCK=5]
#
# Without KERNEL it prints a SKIP line and succeeds, like vmtest.

VMBENCH_OUT ?= $(BUILD)/vmtest-bench
KILLS ?= 20
BLOCK ?= 5

.PHONY: vmtest-bench vmtest-bench-skip-check vmtest-bench-test

vmtest-bench:
ifeq ($(strip $(KERNEL)),)
	@echo "vmtest-bench: SKIP: no FreeBSD kernel given (make vmtest-bench KERNEL=... BOOT=... STOCK_CARP_KO=...); failover was not measured"
else
	@test -n "$(BOOT)" || { echo "vmtest-bench: BOOT= (directory with cdboot and loader_simp) is required with KERNEL="; exit 2; }
	@test -n "$(STOCK_CARP_KO)" || { echo "vmtest-bench: STOCK_CARP_KO= is required (the side-by-side reference)"; exit 2; }
	@command -v xorriso >/dev/null && command -v qemu-system-x86_64 >/dev/null || bash scripts/vm-deps.sh
	$(MAKE) vm-driver
	@test -f $(VM_MODULE) || { echo "vmtest-bench: $(VM_MODULE) missing (run make)"; exit 2; }
	python3 tests/vm/bench.py --kernel $(firstword $(KERNEL)) --boot $(BOOT) \
		--module $(VM_MODULE) --stock-ko $(STOCK_CARP_KO) --driver $(VM_DRIVER) \
		--out $(VMBENCH_OUT) --kills $(KILLS) --block $(BLOCK)
endif

# CI has no kernel: the skip is reported and is not a failure.
vmtest-bench-skip-check:
	@out=$$($(MAKE) --no-print-directory vmtest-bench KERNEL=); echo "$$out"; \
		case "$$out" in *"vmtest-bench: SKIP"*) ;; *) echo "vmtest-bench-skip-check: no SKIP line"; exit 1;; esac

# Host unit tests of bench.py's parsing and summary.
vmtest-bench-test:
	cd tests/vm && python3 -m unittest -q test_bench

TEST_TARGETS += vmtest-bench-test vmtest-bench-skip-check
