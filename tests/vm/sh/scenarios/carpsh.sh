# FreeBSD's own carp test program (tests/sys/netinet/carp.sh, supplied with
# TESTS=), every case run by atf-sh as kyua would: in a fresh directory,
# the body then its cleanup; first with stock carp.ko, then with carp_rs.
# One `CARPVM INFO carpsh <case> <module> <result>` line per run; vmtest
# builds the side-by-side table from them.
t=/usr/tests/sys/netinet/carp
cases=$(sed -n 's/^[[:space:]]*atf_add_test_case[[:space:]]*"*\([A-Za-z0-9_]*\)"*.*/\1/p' $t)
check carpsh.cases '[ -n "$cases" ]' "cases: $(echo $cases)"
for m in carp carp_rs; do
	if ! kldload $m; then
		check carpsh.load.$m false "kldload $m failed"
		continue
	fi
	for c in $cases; do
		d=$(mktemp -d /tmp/carpsh.XXXXXX)
		cd "$d" || continue
		timeout -f 240 $t -r "$d/result" -s /usr/tests/sys/netinet "$c" >"$d/out" 2>&1
		res=$(head -1 "$d/result" 2>/dev/null)
		timeout -f 120 $t -s /usr/tests/sys/netinet "$c:cleanup" >/dev/null 2>&1
		info carpsh "$c $m ${res:-no result (timed out?)}"
		case "$res" in
		passed*) ;;
		*) tail -5 "$d/out" | while IFS= read -r l; do info carpsh.out "$c $m: $l"; done ;;
		esac
		cd /
	done
	if ! kldunload $m; then
		check carpsh.unload.$m false "kldunload $m failed"
	fi
done
