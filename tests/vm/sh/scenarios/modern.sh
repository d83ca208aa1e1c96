# FreeBSD 10+ configuration typed with ifconfig exactly as carp.sh does:
# IPv4 and IPv6 vhids per address, VRRPv3 (carpver 3) and a unicast peer.
# vm a must win every election (lower advskew / higher VRRP priority).
kldload "$kld"
sysctl net.inet.carp.preempt=1 >/dev/null
ifconfig vtnet0 inet6 2001:db8::$MYBASE/64 no_dad
if [ "$vm" = a ]; then skew=0; prio=200; peer=192.0.2.12; else skew=100; prio=100; peer=192.0.2.11; fi
sync_phase 1 180
expect modern.v4 ifconfig vtnet0 vhid 1 advskew $skew pass s3cret alias 192.0.2.50/32
expect modern.v6 ifconfig vtnet0 inet6 vhid 2 advskew $skew pass s3cret alias 2001:db8::50/128
expect modern.vrrp ifconfig vtnet0 vhid 3 carpver 3 vrrpprio $prio alias 192.0.2.52/32
expect modern.unicast ifconfig vtnet0 vhid 4 advskew $skew peer $peer alias 192.0.2.53/32
sync_phase 2 60
sleep 6
show modern.ifconfig ifconfig vtnet0
info state "vtnet0 vhid 1 $(carp_state vtnet0 1)"
if [ "$vm" = a ]; then want=MASTER; else want=BACKUP; fi
for v in 1 2 3 4; do
	check modern.vhid$v '[ "$(carp_state vtnet0 $v)" = $want ]' "vhid $v $(carp_state vtnet0 $v) (want $want)"
done
sync_phase 3 60
