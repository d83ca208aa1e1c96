# FreeBSD 9's ARP load sharing (carp(4) of 9.x, carp_rs.4): both hosts
# carry 192.0.2.50 on carp0 (vhid 1) and carp1 (vhid 2) with mirrored
# advskews, so a masters vhid 1 and b vhid 2; with arpbalance=1 the
# requester's address modulo the two running vhids picks the one master
# that answers. The host sends the ARP requests from 192.0.2.101-112 and
# checks the answers on the wire (hub.py, arpbalance.*); when done it ARPs
# for each VM's own address from 192.0.2.99, which the VMs wait for.
if [ "$vm" = a ]; then skew0=0; skew1=100; else skew0=100; skew1=0; fi
expect arpbalance.knob sysctl net.inet.carp.arpbalance=1
ifconfig carp0 create
ifconfig carp0 vhid 1 advskew $skew0 pass mekmitasdigoat 192.0.2.50/24
ifconfig carp1 create
ifconfig carp1 vhid 2 advskew $skew1 pass mekmitasdigoat 192.0.2.50/24
sync_phase 1 180
sleep 5
show arpbalance.ifconfig ifconfig carp0
show arpbalance.ifconfig ifconfig carp1
if [ "$vm" = a ]; then mine="carp0 1"; theirs="carp1 2"; else mine="carp1 2"; theirs="carp0 1"; fi
check arpbalance.own_master '[ "$(carp_state $mine)" = MASTER ] && [ "$(carp_state $theirs)" = BACKUP ]' \
    "$mine $(carp_state $mine), $theirs $(carp_state $theirs)"
info arpbalance.ready "probe now"
_i=0
while [ $_i -lt 120 ] && ! arp -an | grep -q '^? (192\.0\.2\.99) at 58:9c:fc:00:00:99'; do
	sleep 1
	_i=$((_i + 1))
done
check arpbalance.probed '[ $_i -lt 120 ]' "the host's requests came in ${_i} s"
show arpbalance.arp arp -an
show arpbalance.netstat netstat -s -p carp
show arpbalance.sysctl sysctl net.inet.carp
# Neither leaves before the other has seen the probes.
sync_phase 2 60
