#!/usr/bin/env bash
# tests/sim/bench.sh smoke|full: engine cost benchmarks (not timed tests).
#   * instructions per op under valgrind --tool=callgrind (deterministic):
#     each op runs N1 and N2 times and the difference is divided by N2-N1,
#     so setup cost cancels out;
#   * wall time per op (std::time; noisy on a shared machine);
#   * 4,080 vhids (255 x 16 interfaces) at advbase 1: CPU per simulated
#     second and heap bytes per vhid;
#   * a mass failover of those 4,080 vhids: instructions per vhid state
#     change, its advert, events and route commands drained (callgrind).
# Results go to stdout and $BUILD/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
mode=${1:-smoke}
case $mode in
smoke) n1=200 n2=1200 f1=200 f2=1200 wall_ms=40 scale_s=5 ;;
# failover: 8,160 changes = each of the 4,080 vhids to MASTER and back.
full) n1=1000 n2=21000 f1=1000 f2=9160 wall_ms=500 scale_s=60 ;;
*) echo "usage: $0 smoke|full" >&2; exit 2 ;;
esac
out_dir=${BUILD:-$PWD/build}/bench
mkdir -p "$out_dir"
res=$out_dir/results-$mode.md

cargo build -p carp-sim --release --locked --bin carp-bench 2>&1 | tail -n 1
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/carp-bench

# "3290" -> "3,290"
commas() { echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[,.]\)/\1,\2\3/' -e 'ta'; }
# verdict NAME FIGURE GOAL UNIT: one final line per goal; FIGURE may be a
# decimal, "-" when it could not be measured.
verdicts=()
verdict() {
	local v
	if [ "$2" = - ]; then
		v="skipped (not measured)"
	elif [ "$2" = busy ]; then
		v="not judged (the machine was busy: run make bench on an idle machine)"
	elif awk -v x="$2" -v g="$3" 'BEGIN{exit !(x <= g)}'; then
		v="met $(commas "$2") <= $(commas "$3") $4"
	else
		v="missed $(commas "$2") > $(commas "$3") $4"
	fi
	verdicts+=("goal $1: $v")
}

{
	echo "# carp-bench ($mode) $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	if command -v valgrind >/dev/null; then
		ir() {
			valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" ops "$1" "$2" 2>&1 |
				sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
		}
		declare -A per
		echo "| op | instructions/op (callgrind) | in SHA-1 compressions |"
		echo "|---|---|---|"
		for op in sha1 hmac naive verify emit; do
			a=$(ir $n1 $op)
			b=$(ir $n2 $op)
			per[$op]=$(((b - a) / (n2 - n1)))
		done
		for op in sha1 hmac naive verify emit; do
			printf "| %s | %d | %s |\n" "$op" "${per[$op]}" \
				"$(awk -v x="${per[$op]}" -v c="${per[sha1]}" 'BEGIN{printf "%.2f", x/c}')"
		done
		goal=$((2 * per[sha1] + 400))
		echo
		echo "ops: sha1 = one sha1::compress; hmac = Signer::verify alone; naive = auth::digest_naive"
		echo "(pads recomputed per packet); verify = Engine::handle_packet of an authentic advert on a"
		echo "BACKUP (parse, checksum, lookup, HMAC, election, timer re-arm); emit = advert timer"
		echo "firing on a MASTER + poll_transmit (HMAC sign, header, checksum, re-arm)."
		echo
		for op in verify emit hmac; do
			if [ "${per[$op]}" -le "$goal" ]; then v=met; else v=MISSED; fi
			echo "goal: $op <= 2 compressions + 400 = $goal instructions: ${per[$op]} ($v)"
		done
		verdict verified-advert "${per[verify]}" "$goal" instructions
		verdict emitted-advert "${per[emit]}" "$goal" instructions
		verdict hmac-verify "${per[hmac]}" "$goal" instructions
		a=$(ir $f1 failover)
		b=$(ir $f2 failover)
		per[failover]=$(((b - a) / (f2 - f1)))
		echo
		echo "failover: 4,080 vhids (255 x 16 interfaces, one VIP each, route records tracked); one op"
		echo "= the next vhid forced MASTER (BACKUP on the next round), then its advert, events and"
		echo "route commands drained: ${per[failover]} instructions per vhid state change"
		verdict mass-failover "${per[failover]}" 10000 "instructions per vhid state change (4,080 vhids)"
	else
		echo "callgrind: SKIPPED (valgrind not installed; scripts/setup.d/50-sim.sh installs it)"
		verdict verified-advert - 0 instructions
		verdict emitted-advert - 0 instructions
		verdict hmac-verify - 0 instructions
		verdict mass-failover - 0 instructions
	fi
	echo
	"$bin" wall "$wall_ms"
	echo
	scale=$("$bin" scale "$scale_s")
	echo "$scale"
	bytes=$(echo "$scale" | sed -n 's/.* = \([0-9]*\) B\/vhid.*/\1/p')
	master=$(echo "$scale" | sed -n 's/.*(\([0-9.]*\) % of a core, master).*/\1/p')
	backup=$(echo "$scale" | sed -n 's/.*(\([0-9.]*\) % of a core, backup).*/\1/p')
	if echo "$scale" | grep -q 'machine busy'; then
		master=busy backup=busy
	fi
	verdict scale-cpu-master "${master:--}" 1 "% of a core (4,080 vhids)"
	verdict scale-cpu-backup "${backup:--}" 1 "% of a core (4,080 vhids)"
	verdict memory-per-vhid "${bytes:--}" 256 "bytes (4,080 vhids)"
	echo
	printf '%s\n' "${verdicts[@]}"
} | tee "$res"
echo "bench: results in $res"
