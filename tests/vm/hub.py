"""The host side of the userland scenarios' network: an Ethernet hub on
127.0.0.1 and what the host checks on it.

Each VM's NIC is a qemu UDP socket netdev whose remote end is the hub; the
hub repeats every frame to every other VM (a shared segment, as three hosts
on one switch port group), keeps a time-stamped copy of each, and can put
frames of its own on the segment (ARP requests from addresses no VM has).
The checks turn those frames into the same `CARPVM CHECK` lines the VMs
print, so parse.py judges them with the VMs' own.
"""

import socket
import struct
import threading
import time

ETH_ARP = 0x0806
ETH_IP = 0x0800
IPPROTO_CARP = 112
BROADCAST = b"\xff" * 6
# The requester's MAC: locally administered, no VM has it.
PROBE_MAC = bytes.fromhex("589cfc000099")


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Hub:
    """Repeats frames between VMs; `frames` holds (monotonic time, sender,
    frame) for every frame seen, the host's own with sender "host"."""

    def __init__(self, vms):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.ports = {vm: free_udp_port() for vm in vms}
        self._vm_of = {p: vm for vm, p in self.ports.items()}
        self.frames = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data, (_, port) = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                # A VM that is not up any more; or the hub is closing.
                if self._stop.is_set():
                    return
                continue
            vm = self._vm_of.get(port)
            if vm is not None:
                self._send(vm, data)

    def _send(self, sender, frame):
        self.frames.append((time.monotonic(), sender, frame))
        for vm, port in self.ports.items():
            if vm != sender:
                try:
                    self.sock.sendto(frame, ("127.0.0.1", port))
                except OSError:
                    pass  # that VM is not up (yet, or any more)

    def inject(self, frame):
        self._send("host", frame)

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


def ip4(text):
    return socket.inet_aton(text)


def arp_request(sender_ip, target_ip, sender_mac=PROBE_MAC):
    """A broadcast ARP request (RFC 826), padded to the Ethernet minimum."""
    arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IP, 6, 4, 1, sender_mac, ip4(sender_ip), b"\0" * 6, ip4(target_ip))
    return (BROADCAST + sender_mac + struct.pack("!H", ETH_ARP) + arp).ljust(60, b"\0")


def arp_reply(frame):
    """(sender MAC, sender IP, target IP) of an ARP reply, else None."""
    if len(frame) < 42 or struct.unpack_from("!H", frame, 12)[0] != ETH_ARP:
        return None
    if struct.unpack_from("!H", frame, 20)[0] != 2:
        return None
    return frame[22:28], socket.inet_ntoa(frame[28:32]), socket.inet_ntoa(frame[38:42])


def carp_advert(frame):
    """(vhid, advskew) of an IPv4 CARP advertisement, else None."""
    if len(frame) < 34 or struct.unpack_from("!H", frame, 12)[0] != ETH_IP:
        return None
    ihl = (frame[14] & 0x0F) * 4
    if frame[23] != IPPROTO_CARP or len(frame) < 14 + ihl + 3:
        return None
    carp = 14 + ihl
    if frame[carp] >> 4 != 2:  # CARP version 2 (VRRPv3 is version 3)
        return None
    return frame[carp + 1], frame[carp + 2]


def vmac(vhid):
    return bytes([0, 0, 0x5E, 0, 1, vhid])


def check_line(name, ok, detail):
    return f"CARPVM CHECK {name} {'PASS' if ok else 'FAIL'} {detail}"


def arpbalance_checks(frames, vip, probes, expect):
    """carp_rs.4's arpbalance: each probe (requester IP) answered exactly
    once, by the VM and with the virtual MAC `expect(requester)` names as
    (vm, vhid); and every such VM answered some. Returns check lines."""
    lines = []
    answered = {p: [] for p in probes}
    for _, vm, frame in frames:
        r = arp_reply(frame)
        if r and r[1] == vip and r[2] in answered:
            answered[r[2]].append((vm, r[0]))
    once = [p for p, a in answered.items() if len(a) == 1]
    lines.append(check_line("arpbalance.each_once", len(once) == len(probes),
                            f"{len(once)}/{len(probes)} requesters answered exactly once; "
                            + ", ".join(f"{p}:{'+'.join(vm for vm, _ in a) or 'none'}" for p, a in answered.items())))
    wrong = []
    for p, a in answered.items():
        vm, vhid = expect(p)
        if a and any(got != (vm, vmac(vhid)) for got in a):
            wrong.append(f"{p} by {'+'.join(v + '/' + m.hex(':') for v, m in a)} (want {vm}/{vmac(vhid).hex(':')})")
    lines.append(check_line("arpbalance.by_requester", not wrong and len(once) == len(probes),
                            "; ".join(wrong) or "every answer from the master of requester mod 2's vhid"))
    by = {vm for a in answered.values() for vm, _ in a}
    want = {expect(p)[0] for p in probes}
    lines.append(check_line("arpbalance.shared", by == want and len(want) > 1,
                            f"answered by {sorted(by)}, expected {sorted(want)}"))
    return lines


def failover_checks(frames, old, new, vhid, advbase, advskew, slack, off):
    """The backup `new` takes over vhid within 3 x advbase + advskew/256 s
    (carp_setrun's master-down interval) of the last advertisement `old`
    sent before it was powered off at `off` (monotonic time), plus `slack`
    for a shared TCG host. Returns check lines."""
    last_old = None
    took = None
    for t, vm, frame in frames:
        a = carp_advert(frame)
        if not a or a[0] != vhid or a[1] == 255:
            continue
        if vm == old and t <= off:
            last_old = t
        elif vm == new and last_old is not None and t > last_old:
            took = t
            break
    bound = 3 * advbase + advskew / 256
    if last_old is None or took is None:
        return [check_line("handbook.failover_time", False,
                           f"no takeover seen ({old} advertised vhid {vhid}: {last_old is not None}, "
                           f"{new} after it: {took is not None})")]
    gap = took - last_old
    return [check_line("handbook.failover_time", gap <= bound + slack,
                       f"{new} advertised vhid {vhid} {gap:.2f} s after {old}'s last advert "
                       f"(3 x advbase + advskew/256 = {bound:.2f} s, slack {slack} s)")]
