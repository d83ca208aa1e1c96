#!/usr/bin/env bash
# run-tests.sh TARGET...: the body of `make test`. Runs every test target,
# in order, even when one fails, and ends with the failed targets named and
# the plain line "N passed, M failed" (CI reads that line). Exits 1 if any
# target failed.
set -uo pipefail
MAKE=${MAKE:-make}
n=$#
i=0
passed=0
failed=()
times=()
start_all=$SECONDS
for t in "$@"; do
	i=$((i + 1))
	echo
	echo "==== make test [$i/$n]: $t"
	start=$SECONDS
	if "$MAKE" --no-print-directory "$t"; then
		passed=$((passed + 1))
		verdict=PASS
	else
		failed+=("$t")
		verdict=FAIL
	fi
	times+=("$(printf '  %-20s %s %4d s' "$t" "$verdict" $((SECONDS - start)))")
	echo "==== make test [$i/$n]: $t: $verdict ($((SECONDS - start)) s)"
done
echo
echo "make test: per target"
printf '%s\n' "${times[@]}"
echo "make test: total $((SECONDS - start_all)) s"
if [ ${#failed[@]} -gt 0 ]; then
	echo "make test: FAILED targets: ${failed[*]}"
else
	echo "make test: every target passed"
fi
echo "$passed passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
