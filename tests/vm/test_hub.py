"""Unit tests for hub.py: the host's side of the userland scenarios'
segment (no VM needed; frames are built here and, for the hub itself,
sent over 127.0.0.1)."""

import socket
import struct
import time
import unittest

import hub
import world

A_MAC = bytes.fromhex("589cfc00000a")


def arp_reply(vm_mac, sender_mac, sender_ip, target_ip):
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, sender_mac, hub.ip4(sender_ip), hub.PROBE_MAC,
                      hub.ip4(target_ip))
    return hub.PROBE_MAC + vm_mac + struct.pack("!H", 0x0806) + arp


def advert(vhid, skew):
    ip = bytes([0x45, 0x10, 0, 56, 0, 0, 0, 0, 255, 112, 0, 0]) + hub.ip4("192.0.2.11") + hub.ip4("224.0.0.18")
    carp = bytes([0x21, vhid, skew, 7, 0, 1, 0, 0]) + b"\0" * 28
    return b"\x01\x00\x5e\x00\x00\x12" + hub.vmac(vhid) + struct.pack("!H", 0x0800) + ip + carp


def balanced(probes, skip=(), extra=()):
    """Frames in which each probe is answered as carp_rs.4 says, but for
    `skip`; `extra` (vm, vhid, requester) answers are added."""
    frames = []
    for p in probes:
        if p in skip:
            continue
        vm, vhid = world.arpbalance_expect(p)
        frames.append((0.0, vm, arp_reply(A_MAC, hub.vmac(vhid), "192.0.2.50", p)))
    for vm, vhid, p in extra:
        frames.append((0.0, vm, arp_reply(A_MAC, hub.vmac(vhid), "192.0.2.50", p)))
    return frames


class FramesTest(unittest.TestCase):
    def test_arp_request_layout(self):
        f = hub.arp_request("192.0.2.101", "192.0.2.50")
        self.assertEqual(len(f), 60)
        self.assertEqual(f[:6], b"\xff" * 6)
        self.assertEqual(f[12:14], b"\x08\x06")
        self.assertEqual(f[20:22], b"\x00\x01")  # request
        self.assertEqual(socket.inet_ntoa(f[28:32]), "192.0.2.101")
        self.assertEqual(socket.inet_ntoa(f[38:42]), "192.0.2.50")
        self.assertIsNone(hub.arp_reply(f))  # a request is not a reply

    def test_arp_reply_and_advert(self):
        r = hub.arp_reply(arp_reply(A_MAC, hub.vmac(2), "192.0.2.50", "192.0.2.103"))
        self.assertEqual(r, (hub.vmac(2), "192.0.2.50", "192.0.2.103"))
        self.assertEqual(hub.carp_advert(advert(1, 100)), (1, 100))
        self.assertIsNone(hub.carp_advert(arp_reply(A_MAC, A_MAC, "192.0.2.50", "192.0.2.1")))


class ArpbalanceTest(unittest.TestCase):
    probes = world.ARPBALANCE_PROBES

    def verdicts(self, frames):
        out = {}
        for line in hub.arpbalance_checks(frames, "192.0.2.50", self.probes, world.arpbalance_expect):
            _, _, name, verdict, _ = line.split(" ", 4)
            out[name] = verdict
        return out

    def test_expected_split_passes(self):
        self.assertEqual(world.arpbalance_expect("192.0.2.101"), ("b", 2))
        self.assertEqual(world.arpbalance_expect("192.0.2.102"), ("a", 1))
        self.assertEqual(set(self.verdicts(balanced(self.probes)).values()), {"PASS"})

    def test_unanswered_double_and_misrouted_fail(self):
        v = self.verdicts(balanced(self.probes, skip=("192.0.2.101",)))
        self.assertEqual(v["arpbalance.each_once"], "FAIL")
        v = self.verdicts(balanced(self.probes, extra=(("a", 1, "192.0.2.101"),)))
        self.assertEqual(v["arpbalance.each_once"], "FAIL")
        self.assertEqual(v["arpbalance.by_requester"], "FAIL")
        # Without arpbalance the master of vhid 1 answers everyone.
        v = self.verdicts([(0.0, "a", arp_reply(A_MAC, hub.vmac(1), "192.0.2.50", p)) for p in self.probes])
        self.assertEqual(v["arpbalance.each_once"], "PASS")
        self.assertEqual(v["arpbalance.by_requester"], "FAIL")
        self.assertEqual(v["arpbalance.shared"], "FAIL")


class FailoverTest(unittest.TestCase):
    def check(self, frames, off):
        line = hub.failover_checks(frames, "a", "b", vhid=1, advbase=1, advskew=100, slack=1.0, off=off)[0]
        return line.split(" ")[3]

    def test_takeover_within_master_down(self):
        frames = [(float(t), "a", advert(1, 0)) for t in range(10)] + [(12.5, "b", advert(1, 100))]
        self.assertEqual(self.check(frames, off=11), "PASS")
        # Adverts of other vhids and bow-outs do not count.
        frames += [(9.5, "b", advert(2, 0)), (9.6, "a", advert(1, 255))]
        self.assertEqual(self.check(sorted(frames, key=lambda f: f[0]), off=11), "PASS")

    def test_late_or_missing_takeover_fails(self):
        frames = [(float(t), "a", advert(1, 0)) for t in range(10)] + [(15.0, "b", advert(1, 100))]
        self.assertEqual(self.check(frames, off=11), "FAIL")
        self.assertEqual(self.check(frames[:10], off=11), "FAIL")
        # A backup's advert from before the last one of a (a boot race)
        # is no takeover.
        self.assertEqual(self.check([(0.5, "b", advert(1, 100))] + frames[:10], off=11), "FAIL")


class HubTest(unittest.TestCase):
    def test_repeats_to_the_others_and_records(self):
        socks = {}
        net = hub.Hub(("a", "b", "c"))
        try:
            for vm, port in net.ports.items():
                socks[vm] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks[vm].bind(("127.0.0.1", port))
                socks[vm].settimeout(5)
            socks["a"].sendto(b"frame-from-a", ("127.0.0.1", net.port))
            self.assertEqual(socks["b"].recv(100), b"frame-from-a")
            self.assertEqual(socks["c"].recv(100), b"frame-from-a")
            net.inject(b"frame-from-host")
            for vm in ("a", "b", "c"):
                self.assertEqual(socks[vm].recv(100), b"frame-from-host")
            socks["a"].settimeout(0.3)
            with self.assertRaises(socket.timeout):
                socks["a"].recv(100)  # never its own frame back
            deadline = time.monotonic() + 5
            while len(net.frames) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual([(vm, f) for _, vm, f in net.frames], [("a", b"frame-from-a"), ("host", b"frame-from-host")])
        finally:
            net.close()
            for s in socks.values():
                s.close()


if __name__ == "__main__":
    unittest.main()
