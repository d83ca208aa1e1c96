# The seed's forum post: two hosts, two VIPs with mirrored advskews and
# preempt=1, configured per address in rc.conf; each host serves one VIP,
# a failed node's VIP moves over, and both come back when it returns.
if [ "$vm" = a ]; then mine=1; theirs=2; else mine=2; theirs=1; fi
sync_phase 1 180
sleep 4
info state "vtnet0 vhid $mine $(carp_state vtnet0 $mine)"
check forum.own_master '[ "$(carp_state vtnet0 $mine)" = MASTER ] && [ "$(carp_state vtnet0 $theirs)" = BACKUP ]' \
    "vhid $mine $(carp_state vtnet0 $mine), vhid $theirs $(carp_state vtnet0 $theirs)"
show forum.ifconfig ifconfig vtnet0
sync_phase 2 60
if [ "$vm" = a ]; then
	# Let the peer's ping of our phase-2 address finish before the link
	# goes (the barrier has no linger of its own).
	sleep 3
	ifconfig vtnet0 down
	sleep 10
	ifconfig vtnet0 up
	sync_phase 3 60
	wait_state vtnet0 1 MASTER 10
	check forum.back '[ "$(carp_state vtnet0 1)" = MASTER ] && [ "$(carp_state vtnet0 2)" = BACKUP ]' \
	    "after return: vhid 1 $(carp_state vtnet0 1), vhid 2 $(carp_state vtnet0 2)"
else
	wait_state vtnet0 1 MASTER 8
	check forum.takes_both '[ "$(carp_state vtnet0 1)" = MASTER ] && [ "$(carp_state vtnet0 2)" = MASTER ]' \
	    "peer down: vhid 1 $(carp_state vtnet0 1), vhid 2 $(carp_state vtnet0 2)"
	sync_phase 3 60
	wait_state vtnet0 1 BACKUP 10
	check forum.back '[ "$(carp_state vtnet0 1)" = BACKUP ] && [ "$(carp_state vtnet0 2)" = MASTER ]' \
	    "after the peer returned: vhid 1 $(carp_state vtnet0 1), vhid 2 $(carp_state vtnet0 2)"
fi
