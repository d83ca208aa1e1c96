#!/bin/sh
# carp_rs vmtest: run from /etc/rc.local after a normal /etc/rc boot; runs
# the scenario named in the loader environment and powers the VM off.
# Started in the background by /etc/rc.local with /etc/rc's pid: wait
# until rc is done (rc.d/sysctl_lastload, which applies sysctl.conf to the
# modules from kld_list, runs after rc.local), then reopen the console,
# which init revokes when rc exits.
_i=0
while [ -n "$1" ] && [ $_i -lt 120 ] && kill -0 "$1" 2>/dev/null; do
	sleep 1
	_i=$((_i + 1))
done
sleep 1
exec >/dev/console 2>&1
scenario=$(kenv -q carpvm.scenario)
vm=$(kenv -q carpvm.vm)
kld=$(kenv -q carpvm.kld)
echo "CARPVM BEGIN scenario=$scenario vm=$vm"
. /carpvm/lib.sh
# Barrier addresses (lib.sh): 192.0.2.200+N for a, 220+N for b, 240+N
# for c; a's peer is b, the others' is a.
case $vm in
a)	MYBASE=200; PEERBASE=220 ;;
b)	MYBASE=220; PEERBASE=200 ;;
*)	MYBASE=240; PEERBASE=200 ;;
esac
boot=$(kenv -q carpvm.boot)
if [ -r "/carpvm/scenarios/$scenario.sh" ]; then
	. "/carpvm/scenarios/$scenario.sh"
else
	check scenario.known false "no scenario $scenario"
fi
echo "CARPVM END checks=$CARPVM_N failed=$CARPVM_F"
reboot -p
