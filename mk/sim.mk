# Deterministic simulator, fuzzing and benchmarks of the engine (issue 7).
#
#   make sim-test           SIM_SEEDS seeds (default 5000) of the simulator
#   make soak SEEDS=N       N more seeds, from SOAK_START (default 100000)
#   make fuzz-smoke         every cargo-fuzz target for FUZZ_SMOKE_TIME s (20)
#   make fuzz               every target for FUZZ_TIME s (600)
#   make bench-smoke        a quick run of every benchmark (numbers only)
#   make bench              callgrind instruction counts, wall time, 4,080 vhids
#
# A failing seed prints a shrunk trace and the command that replays it:
#   cargo run -p carp-sim --release -- --seed N --verbose

SIM_SEEDS ?= 5000
SEEDS ?= 20000
SOAK_START ?= 100000
CARP_SIM := cargo run -p carp-sim --release --locked --bin carp-sim --

.PHONY: sim-test soak fuzz-smoke fuzz bench-smoke bench

sim-test: setup
	$(CARP_SIM) --seeds 0..$(SIM_SEEDS)

soak: setup
	$(CARP_SIM) --seeds $(SOAK_START)..$(shell echo $$(( $(SOAK_START) + $(SEEDS) )))

fuzz-smoke: setup
	bash fuzz/run.sh smoke

fuzz: setup
	bash fuzz/run.sh long

bench-smoke: setup
	bash tests/sim/bench.sh smoke

bench: setup
	bash tests/sim/bench.sh full

TEST_TARGETS += sim-test fuzz-smoke bench-smoke
