# Test vectors (tests/vectors): captures of real ucarp, keepalived and FRR
# vrrpd, and what is derived from them. The repository carries them; this
# re-records them from the Debian-packaged peers in network namespaces (the
# carp-node lab, tests/carp-node), derives the JSON/CSV with the independent
# Python decoder, runs the vector tests and the fake kernel (whose
# scenarios replay the captured adverts) on the new set and only then
# replaces tests/vectors. Needs root. See tests/vectors/README.md.
#
#   make vectors                       every scenario (about 4 minutes)
#   make vectors VECTORS_ONLY="ucarp-tie ka-v3-graceful"
#                                      only these; the others keep their capture

VECTORS_NEW := $(BUILD)/vectors
VECTORS_ONLY ?=

.PHONY: vectors

vectors: setup node-build
	rm -rf $(VECTORS_NEW) && mkdir -p $(VECTORS_NEW)
	timeout -k 10 900 $(CARP_LAB) vectors $(VECTORS_NEW) $(VECTORS_ONLY)
	@for p in tests/vectors/*.pcap; do n=$$(basename $$p .pcap); \
		if [ ! -e $(VECTORS_NEW)/$$n.pcap ]; then \
			echo "vectors: $$n: kept from tests/vectors (not re-recorded)"; \
			cp tests/vectors/$$n.pcap tests/vectors/$$n.events.json $(VECTORS_NEW)/; \
		fi; done
	python3 tests/vectors/tools/build_vectors.py $(VECTORS_NEW)
	CARP_VECTORS_DIR=$(VECTORS_NEW) cargo test --locked -p carp_rs --test wire_vectors --test auth_vectors
	CARP_VECTORS_DIR=$(VECTORS_NEW) cargo test --locked -p carp-pcap --test vectors
	FK_VECTORS=$(VECTORS_NEW)/carp-vectors.json $(MAKE) --no-print-directory fakekern-test FK_VARIANTS=15
	cd $(VECTORS_NEW) && cp *.pcap *.events.json *.packets.json index.json \
		carp-vectors.json carp-vectors.csv vrrp-vectors.json vrrp-vectors.csv $(TOP)/tests/vectors/
	@echo "vectors: tests/vectors replaced; review and commit:"
	@git status --short tests/vectors
