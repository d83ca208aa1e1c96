#!/bin/sh
# carp_rs vmtest: run from /etc/rc.local after a normal /etc/rc boot; runs
# the scenario named in the loader environment and powers the VM off.
# Started in the background by /etc/rc.local: wait until /etc/rc is done
# (rc.d/sysctl_lastload, which applies sysctl.conf to modules loaded from
# kld_list, runs after rc.local).
_i=0
while [ $_i -lt 120 ] && ps -ax -o command= | grep -Eq '^(/bin/)?sh /etc/rc( |$)'; do
	sleep 1
	_i=$((_i + 1))
done
scenario=$(kenv -q carpvm.scenario)
vm=$(kenv -q carpvm.vm)
kld=$(kenv -q carpvm.kld)
echo "CARPVM BEGIN scenario=$scenario vm=$vm"
. /carpvm/lib.sh
if [ "$vm" = a ]; then
	MYBASE=200
	PEERBASE=220
else
	MYBASE=220
	PEERBASE=200
fi
if [ -r "/carpvm/scenarios/$scenario.sh" ]; then
	. "/carpvm/scenarios/$scenario.sh"
else
	check scenario.known false "no scenario $scenario"
fi
echo "CARPVM END checks=$CARPVM_N failed=$CARPVM_F"
reboot -p
