# carp-node (tests/carp-node): the engine on real packets in Linux network
# namespaces, against ucarp, keepalived and FRR vrrpd (installed by
# scripts/setup.d/30-interop.sh). Needs root; without namespaces every
# scenario prints SKIP (exit status 77 of carp-lab counts as a skip).
#
#   make demo            the FreeBSD handbook CARP scenario, timeline + verdict
#   make node-test       interop tests + the demo (part of make test)
#   make bench-failover  20 failovers each of carp-node, ucarp, keepalived
#                        (minutes; not part of make test)

NODE_BIN_DIR := $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),$(TOP)/target)/release
CARP_LAB := $(NODE_BIN_DIR)/carp-lab

.PHONY: node-build node-test demo bench-failover

node-build: $(SETUP_DEMO_STAMP)
	cargo build --locked --release -p carp-node -p carp-pcap

# Every run is bounded: timeout kills the runner, the runner kills (by
# PID) what it started and deletes its namespaces, PR_SET_PDEATHSIG
# covers the rest.
node-test: node-build
	CARP_PCAP_BIN=$(NODE_BIN_DIR)/carp-pcap timeout -k 10 420 cargo test --locked --release -p carp-node --test interop -- --ignored --test-threads 4
	$(MAKE) --no-print-directory demo

demo: node-build
	@timeout -k 10 120 $(CARP_LAB) demo; rc=$$?; \
		if [ $$rc -eq 77 ]; then echo "demo: SKIP (no network namespaces here)"; exit 0; fi; exit $$rc

bench-failover: node-build
	timeout -k 10 1500 $(CARP_LAB) bench 20

TEST_TARGETS += node-test
