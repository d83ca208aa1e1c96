# carp_rs vmtest, userland scenarios: helpers sourced by run.sh.
# Each observation is one console line in the PID-1 driver's format
# (`CARPVM CHECK <name> PASS|FAIL <detail>`, `CARPVM INFO <key> <detail>`),
# so tests/vm/parse.py judges both kinds of scenario the same way.

CARPVM_N=0
CARPVM_F=0

# check NAME CONDITION DETAIL...: CONDITION is evaluated by sh.
check() {
	_name=$1
	_cond=$2
	shift 2
	CARPVM_N=$((CARPVM_N + 1))
	if eval "$_cond"; then
		echo "CARPVM CHECK $_name PASS $*"
	else
		CARPVM_F=$((CARPVM_F + 1))
		echo "CARPVM CHECK $_name FAIL $*"
	fi
}

# expect NAME COMMAND...: PASS if the command exits 0; its output is shown.
expect() {
	_name=$1
	shift
	_out=$("$@" 2>&1)
	_rc=$?
	check "$_name" "[ $_rc -eq 0 ]" "'$*' -> exit $_rc: $(echo "$_out" | head -3 | tr '\n' ' ')"
}

info() {
	_k=$1
	shift
	echo "CARPVM INFO $_k $*"
}

# Prints every line of a command's output as an INFO line (console excerpts).
show() {
	_k=$1
	shift
	"$@" 2>&1 | while IFS= read -r _l; do echo "CARPVM INFO $_k $_l"; done
}

# carp_state IF VHID: MASTER, BACKUP, INIT or nothing, from ifconfig(8)
# (`carp: STATE vhid N ...`, or `vrrp: STATE vrid N ...` with carpver 3).
carp_state() {
	ifconfig "$1" 2>/dev/null | awk -v v="$2" \
	    '($1 == "carp:" && $3 == "vhid" || $1 == "vrrp:" && $3 == "vrid") && $4 == v { print $2; exit }'
}

# wait_state IF VHID STATE SECONDS: polls ifconfig until STATE or timeout.
wait_state() {
	_i=0
	while [ $_i -lt "$4" ]; do
		[ "$(carp_state "$1" "$2")" = "$3" ] && return 0
		sleep 1
		_i=$((_i + 1))
	done
	return 1
}

# A barrier between the VMs of a scenario with nothing but ifconfig and
# ping: phase N is reached when this VM holds 192.0.2.(MYBASE+N)/32 and the
# peer answers on 192.0.2.(PEERBASE+N) (waitfor N [SECONDS [BASE]]: on
# 192.0.2.(BASE+N), another VM's).
signal() {
	ifconfig vtnet0 inet 192.0.2.$((MYBASE + $1))/32 alias
}

waitfor() {
	_i=0
	while [ $_i -lt "${2:-120}" ]; do
		ping -c 1 -t 1 192.0.2.$((${3:-$PEERBASE} + $1)) >/dev/null 2>&1 && return 0
		# An unresolved address fails at once (EHOSTDOWN): keep the pace.
		sleep 1
		_i=$((_i + 1))
	done
	return 1
}

sync_phase() {
	signal "$1"
	waitfor "$1" "${2:-120}"
}
