# What an administrator types on one host ($kld is carp or carp_rs, loaded
# by name from /boot/kernel or /boot/modules): the knobs with their stock
# defaults, a per-address vhid, netstat -s -p carp, devd actions, kldstat.
expect admin.kldload_by_name kldload "$kld"
check admin.kldstat_module 'kldstat -v | grep -q "[[:space:]]carp$"' "kldstat -v lists module carp"
show admin.sysctl sysctl net.inet.carp
for kv in allow=1 preempt=0 log=1 demotion=0 ifdown_demotion_factor=240 senderr_demotion_factor=240 dscp=56; do
	k=${kv%%=*}
	v=${kv#*=}
	got=$(sysctl -n net.inet.carp.$k 2>&1)
	check admin.default.$k '[ "$got" = "$v" ]' "net.inet.carp.$k=$got (stock default $v)"
done
for kv in preempt=1 log=2 dscp=46 ifdown_demotion_factor=200 senderr_demotion_factor=200 allow=0 allow=1; do
	k=${kv%%=*}
	v=${kv#*=}
	sysctl net.inet.carp.$kv >/dev/null 2>&1
	got=$(sysctl -n net.inet.carp.$k 2>&1)
	check admin.set.$k '[ "$got" = "$v" ]' "sysctl net.inet.carp.$kv -> $got"
done
ifconfig vtnet0 inet 192.0.2.11/24 up
sent0=$(netstat -s -p carp | awk '/sent \(IPv4\)/ { print $1 }')
expect admin.ifconfig_vhid ifconfig vtnet0 vhid 1 advskew 100 pass s3cret alias 192.0.2.50/32
wait_state vtnet0 1 MASTER 10
check admin.master '[ "$(carp_state vtnet0 1)" = MASTER ]' "alone on the link: $(ifconfig vtnet0 | grep 'carp:')"
show admin.ifconfig ifconfig vtnet0
sleep 3
sent1=$(netstat -s -p carp | awk '/sent \(IPv4\)/ { print $1 }')
check admin.netstat_sent '[ "${sent1:-0}" -gt "${sent0:-0}" ]' "netstat -s -p carp: packets sent (IPv4) $sent0 -> $sent1"
show admin.netstat netstat -s -p carp
check admin.devd_carp 'grep -q "CARP 1@vtnet0 MASTER" /tmp/devd.log' "devd rule action ran: $(tr '\n' ';' </tmp/devd.log 2>/dev/null)"
if [ "$kld" = carp_rs ]; then
	expect admin.carp1_create ifconfig carp1 create vhid 2 pass x 192.0.2.51/24
	wait_state carp1 2 MASTER 10
	check admin.carp1_master '[ "$(carp_state carp1 2)" = MASTER ]' "$(ifconfig carp1 2>&1 | grep -E 'carp:|inet ' | tr '\n' ' ')"
	sleep 1
	check admin.devd_link_up 'grep -q "IFNET carp1 LINK_UP" /tmp/devd.log' "devd IFNET rule: $(tr '\n' ';' </tmp/devd.log 2>/dev/null)"
	show admin.ifconfig_carp1 ifconfig carp1
fi
