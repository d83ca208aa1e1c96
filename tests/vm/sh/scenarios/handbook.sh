# The seed's FreeBSD 9 handbook setup, configured by rc.conf alone
# (kld_list, cloned_interfaces, ifconfig_carpN) with preempt=1 from
# sysctl.conf: vm a is hosta (advskew 0), vm b the provider (advskew 100).
# "Power hosta off" is its link going down; hosta comes back and preempts.
sync_phase 1 180
sleep 4
show handbook.ifconfig ifconfig carp0
st=$(carp_state carp0 1)
info state "carp0 vhid 1 $st"
line=$(ifconfig carp0 | grep 'carp:' | sed 's/^[[:space:]]*//')
if [ "$vm" = a ]; then
	check handbook.hosta_master '[ "$line" = "carp: MASTER vhid 1 advbase 1 advskew 0" ]' "hosta: $line"
	check handbook.preempt_sysctl '[ "$(sysctl -n net.inet.carp.preempt)" = 1 ]' "preempt from sysctl.conf: $(sysctl -n net.inet.carp.preempt)"
	sync_phase 2 60
	# Let the peer's ping of our phase-2 address finish before the link
	# goes (the barrier has no linger of its own).
	sleep 3
	ifconfig vtnet0 down
	sleep 10
	ifconfig vtnet0 up
	sync_phase 3 60
	wait_state carp0 1 MASTER 10
	check handbook.preempt_back '[ "$(carp_state carp0 1)" = MASTER ]' "hosta back with preempt=1: $(carp_state carp0 1)"
else
	check handbook.provider_backup '[ "$line" = "carp: BACKUP vhid 1 advbase 1 advskew 100" ]' "provider: $line"
	sync_phase 2 60
	wait_state carp0 1 MASTER 8
	check handbook.failover '[ "$(carp_state carp0 1)" = MASTER ]' "provider for 192.0.2.50 after hosta's link went down: $(carp_state carp0 1)"
	sync_phase 3 60
	wait_state carp0 1 BACKUP 10
	check handbook.gives_back '[ "$(carp_state carp0 1)" = BACKUP ]' "provider after hosta returned: $(carp_state carp0 1)"
fi
