# The seed's FreeBSD 9 handbook setup, three hosts configured by rc.conf
# alone (cloned_interfaces, ifconfig_carpN; preempt=1 from sysctl.conf):
# vm a is hosta (vhid 1, 192.0.2.50), vm c hostb (vhid 2, 192.0.2.51),
# vm b the provider (backup for both, advskew 100). The module is loaded
# by kld_list, by the boot loader (loader.conf) or by rc.d/carp_rs, per
# the row's variant. hosta powers off; the harness boots it again (boot 2)
# and it takes 192.0.2.50 back. The host times the takeover on the wire
# (hub.py, handbook.failover_time).
variant=$(kenv -q carpvm.variant)

# The module was loaded the variant's way: with the loader and rc.d
# variants rc.conf has no kld_list, so nothing else loaded it.
loaded_check() {
	_kl=$(. /etc/rc.conf; echo "$kld_list")
	_ko=$(kldstat | awk '$5 == "carp_rs.ko" { print "id " $1 " at " $3 }')
	case $variant in
	loader)
		check handbook.loaded '[ -n "$_ko" ] && [ -z "$_kl" ]' \
		    "carp_rs.ko ${_ko:-not loaded}, kld_list '$_kl': by loader.conf"
		;;
	rc.d)
		_how=$(/usr/local/etc/rc.d/carp_rs status 2>&1)
		check handbook.loaded '[ "$_how" = "carp_rs is loaded." ] && [ -z "$_kl" ]' \
		    "rc.d/carp_rs status: $_how; kld_list '$_kl'"
		;;
	*)
		check handbook.loaded '[ -n "$_ko" ] && [ "$_kl" = carp_rs ]' \
		    "carp_rs.ko ${_ko:-not loaded}, kld_list '$_kl'"
		;;
	esac
}

carp_line() {
	ifconfig "$1" | grep 'carp:' | sed 's/^[[:space:]]*//'
}

# hosta's second boot, after the power cut.
hosta_back() {
	loaded_check
	check handbook.preempt_sysctl '[ "$(sysctl -n net.inet.carp.preempt)" = 1 ]' \
	    "preempt from sysctl.conf: $(sysctl -n net.inet.carp.preempt)"
	sync_phase 3 300
	wait_state carp0 1 MASTER 10
	info state "carp0 vhid 1 $(carp_state carp0 1)"
	check handbook.preempt_back '[ "$(carp_line carp0)" = "carp: MASTER vhid 1 advbase 1 advskew 0" ]' \
	    "hosta back with preempt=1: $(carp_line carp0)"
	signal 4
	# hostb pings our phase-4 address before it ends.
	sleep 8
}

first_boot() {
	loaded_check
	if [ "$vm" = c ]; then
		signal 1
		waitfor 1 180 200
		waitfor 1 180 220
	else
		signal 1
		waitfor 1 180
		waitfor 1 180 240
	fi
	sleep 4
	show handbook.ifconfig ifconfig carp0
	# FreeBSD 9 gave carpN no IPv6 link-local address (IFT_CARP).
	check handbook.no_linklocal '! ifconfig carp0 | grep -q "inet6 fe80"' \
	    "carp0: $(ifconfig carp0 | grep inet6 | tr '\n' ' ')"
	case $vm in
	a)
		check handbook.hosta_master '[ "$(carp_line carp0)" = "carp: MASTER vhid 1 advbase 1 advskew 0" ]' \
		    "hosta: $(carp_line carp0)"
		sync_phase 2 60
		# Let the provider's ping of our phase-2 address finish, then power
		# off (run.sh: reboot -p).
		sleep 3
		info handbook.poweroff "hosta powers off"
		;;
	b)
		check handbook.provider_backup '[ "$(carp_line carp0)" = "carp: BACKUP vhid 1 advbase 1 advskew 100" ]' \
		    "provider: $(carp_line carp0)"
		check handbook.provider_backup_51 '[ "$(carp_line carp1)" = "carp: BACKUP vhid 2 advbase 1 advskew 100" ]' \
		    "provider: $(carp_line carp1)"
		sync_phase 2 60
		wait_state carp0 1 MASTER 20
		check handbook.failover '[ "$(carp_state carp0 1)" = MASTER ] && [ "$(carp_state carp1 2)" = BACKUP ]' \
		    "provider after hosta powered off: 192.0.2.50 $(carp_state carp0 1), 192.0.2.51 $(carp_state carp1 2)"
		show handbook.ifconfig ifconfig carp0
		# hosta boots again (TCG: a minute or two).
		waitfor 3 400
		wait_state carp0 1 BACKUP 10
		info state "carp0 vhid 1 $(carp_state carp0 1)"
		check handbook.gives_back '[ "$(carp_state carp0 1)" = BACKUP ]' \
		    "provider after hosta returned: $(carp_state carp0 1)"
		signal 3
		sleep 8
		;;
	c)
		check handbook.hostb_master '[ "$(carp_line carp0)" = "carp: MASTER vhid 2 advbase 1 advskew 0" ]' \
		    "hostb: $(carp_line carp0)"
		waitfor 4 600 200
		check handbook.hostb_kept '[ "$(carp_state carp0 2)" = MASTER ]' \
		    "hostb through hosta's power cut: $(carp_state carp0 2)"
		;;
	esac
}

if [ "$vm" = a ] && [ "$boot" = 2 ]; then
	hosta_back
else
	first_boot
fi
