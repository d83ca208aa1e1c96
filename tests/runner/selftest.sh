#!/usr/bin/env bash
# Self-test of scripts/run-tests.sh (the body of `make test`): with a stand-in
# for make that fails some targets, every target must still run, the failed
# ones must be named, the last line must be exactly "N passed, M failed" and
# the exit status must say whether anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/fake-make" <<'STUB'
#!/usr/bin/env bash
# Called as: fake-make --no-print-directory TARGET
echo "ran $2" >>"$(dirname "$0")/ran"
case $2 in fail-*) exit 2 ;; esac
exit 0
STUB
chmod +x "$tmp/fake-make"
bad=0
check() { if ! eval "$2"; then echo "runner-selftest: FAIL: $1"; bad=1; fi; }

out=$(MAKE="$tmp/fake-make" bash scripts/run-tests.sh ok-a fail-b ok-c fail-d 2>&1)
rc=$?
check "exit status 1 when a target fails (got $rc)" '[ $rc -eq 1 ]'
check "every target ran after a failure" '[ "$(cat "$tmp/ran" | tr "\n" " ")" = "ran ok-a ran fail-b ran ok-c ran fail-d " ]'
check "last line is the plain summary" '[ "$(printf "%s\n" "$out" | tail -n 1)" = "2 passed, 2 failed" ]'
check "failed targets are named" 'printf "%s\n" "$out" | grep -qx "make test: FAILED targets: fail-b fail-d"'

rm -f "$tmp/ran"
out=$(MAKE="$tmp/fake-make" bash scripts/run-tests.sh ok-a ok-b 2>&1)
rc=$?
check "exit status 0 when all pass (got $rc)" '[ $rc -eq 0 ]'
check "all-pass summary" '[ "$(printf "%s\n" "$out" | tail -n 1)" = "2 passed, 0 failed" ]'

if [ $bad -eq 0 ]; then
	echo "runner-selftest: make test's runner runs every target, names failures, ends with 'N passed, M failed'"
fi
exit $bad
