#!/usr/bin/env bash
# fuzz/run.sh smoke|long: seeds the corpora from the captured vectors, then
# runs every cargo-fuzz target for a bounded time (smoke: FUZZ_SMOKE_TIME,
# default 20 s each; long: FUZZ_TIME, default 600 s each). Prints executions
# and crashes per target; exits non-zero on any crash.
#
# It runs on the project's pinned stable toolchain: RUSTC_BOOTSTRAP=1 lets
# it accept the -Z sanitizer flags cargo-fuzz passes (the same mechanism the
# kernel build uses for build-std), so no nightly toolchain is needed.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
mode=${1:-smoke}
case $mode in
smoke) secs=${FUZZ_SMOKE_TIME:-20} ;;
long) secs=${FUZZ_TIME:-600} ;;
*) echo "usage: $0 smoke|long" >&2; exit 2 ;;
esac
vectors=${VECTORS:-../tests/vectors}
targets="wire_parsers handle_packet auth_verify"

if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "fuzz: FAILED: cargo-fuzz is missing (scripts/setup.d/50-sim.sh installs it)" >&2
	exit 1
fi
export RUSTC_BOOTSTRAP=1

python3 seed_corpus.py "$vectors" corpus
# Own target dir: ASan-instrumented artefacts must not mix with the
# workspace's.
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}
# Quiet for about two minutes on a fresh checkout: progress.sh says it is
# alive; the whole log is shown only when the build fails.
mkdir -p "$CARGO_TARGET_DIR"
blog=$CARGO_TARGET_DIR/fuzz-build.log
if ! bash ../scripts/progress.sh "fuzz: building the targets with ASan" \
	bash -c 'cargo fuzz build --release >"$1" 2>&1' _ "$blog"; then
	tail -n 60 "$blog"
	exit 1
fi
tail -n 1 "$blog"

total=0
crashes=0
summary=""
for t in $targets; do
	log=$(mktemp)
	set +e
	cargo fuzz run --release "$t" "corpus/$t" -- \
		-max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=1024 >"$log" 2>&1
	rc=$?
	set -e
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n1)
	runs=${runs:-0}
	total=$((total + runs))
	if [ $rc -ne 0 ]; then
		crashes=$((crashes + 1))
		echo "fuzz: $t FAILED (exit $rc); last lines:"
		tail -n 40 "$log"
		summary+="$t: $runs executions, CRASH (see fuzz/artifacts/$t)\n"
	else
		summary+="$t: $runs executions, 0 crashes\n"
	fi
	rm -f "$log"
done
printf "fuzz (%s, %ss per target):\n$summary" "$mode" "$secs"
echo "fuzz: $total executions, $crashes crashing targets"
[ $crashes -eq 0 ]
