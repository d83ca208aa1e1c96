#!/usr/bin/env bash
# progress.sh LABEL CMD...: runs CMD and, while it works without a word (a
# quiet cargo build, the fuzz build), prints "LABEL: still working (N s)"
# every PROGRESS_EVERY seconds (15), then "LABEL: done in N s". Exits with
# CMD's status.
set -uo pipefail
label=$1
shift
every=${PROGRESS_EVERY:-15}
start=$SECONDS
echo "$label: started (progress every ${every} s)"
"$@" &
pid=$!
(
	t=0
	while sleep "$every" </dev/null >/dev/null 2>&1; do
		t=$((t + every))
		echo "$label: still working (${t} s)"
	done
) &
ticker=$!
wait "$pid"
rc=$?
kill "$ticker" 2>/dev/null
wait "$ticker" 2>/dev/null
if [ "$rc" -eq 0 ]; then
	echo "$label: done in $((SECONDS - start)) s"
else
	echo "$label: FAILED (exit $rc) after $((SECONDS - start)) s"
fi
exit "$rc"
