# Our strict variants of what carp.sh leaves unchecked: inside a vnet jail
# every `jexec ... sysctl net.inet.carp.*` must succeed; statistics and
# demotion stay per jail; after kldunload no VIP is left as a plain
# address (stock carp.ko refuses the unload instead).
kldload "$kld"
kldload if_epair
e=$(ifconfig epair create)
e=${e%a}
jail -c name=s1 vnet persist >/dev/null
jail -c name=s2 vnet persist >/dev/null
ifconfig ${e}a vnet s1
ifconfig ${e}b vnet s2
expect strict.jexec_sysctl_preempt jexec s1 sysctl net.inet.carp.preempt=1
expect strict.jexec_sysctl_demotion jexec s1 sysctl net.inet.carp.demotion=-1
check strict.preempt_per_jail '[ "$(jexec s2 sysctl -n net.inet.carp.preempt)" = 0 ] && [ "$(sysctl -n net.inet.carp.preempt)" = 0 ]' \
    "after s1 set 1: s2 $(jexec s2 sysctl -n net.inet.carp.preempt), host $(sysctl -n net.inet.carp.preempt)"
jexec s1 ifconfig ${e}a 192.0.2.1/24 up
jexec s1 ifconfig ${e}a add vhid 1 192.0.2.254/24 advskew 0 pass foobar
jexec s2 ifconfig ${e}b 192.0.2.2/24 up
jexec s2 ifconfig ${e}b add vhid 1 192.0.2.254/24 advskew 100 pass foobar
sleep 5
hs=$(netstat -s -p carp | awk '/sent \(IPv4\)/ { print $1 }')
js=$(jexec s1 netstat -s -p carp | awk '/sent \(IPv4\)/ { print $1 }')
check strict.stats_per_jail '[ "${hs:-x}" = 0 ] && [ "${js:-0}" -gt 0 ]' "packets sent (IPv4): host $hs (no vhid), jail s1 $js"
check strict.demotion_per_jail '[ "$(jexec s2 sysctl -n net.inet.carp.demotion)" = 0 ] && [ "$(sysctl -n net.inet.carp.demotion)" = 0 ]' \
    "after s1 demotion=-1: s2 $(jexec s2 sysctl -n net.inet.carp.demotion), host $(sysctl -n net.inet.carp.demotion)"
jexec s2 ifconfig ${e}b down
sleep 1
check strict.ifdown_demotion_per_jail '[ "$(sysctl -n net.inet.carp.demotion)" = 0 ] && [ "$(jexec s1 sysctl -n net.inet.carp.demotion)" = -1 ]' \
    "after ifconfig ${e}b down in s2: host $(sysctl -n net.inet.carp.demotion), s1 $(jexec s1 sysctl -n net.inet.carp.demotion), s2 $(jexec s2 sysctl -n net.inet.carp.demotion)"
jail -r s1 s2
ifconfig ${e}a destroy 2>/dev/null
ifconfig vtnet0 inet 192.0.2.11/24 up
ifconfig vtnet0 vhid 3 pass x alias 192.0.2.60/32
sleep 4
kldunload "$kld"
urc=$?
info strict.unload "kldunload $kld -> $urc; $(ifconfig vtnet0 | grep 'inet ' | tr '\n' ';')"
show strict.dmesg sh -c 'dmesg | grep -E "carp|scrub" | tail -8'
if kldstat -q -m carp; then
	check strict.unload_no_plain_vip 'ifconfig vtnet0 | grep -q "inet 192.0.2.60 .*vhid 3"' "module kept (kldunload refused): the VIP is still a CARP address"
else
	check strict.unload_no_plain_vip '! ifconfig vtnet0 | grep -q "inet 192.0.2.60 "' "module unloaded: 192.0.2.60 must be gone from vtnet0"
fi
