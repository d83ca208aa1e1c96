"""Unit tests for parse.py (run in `make test`; no VM needed)."""

import unittest

import parse

GOOD = """\
Copyright (c) 1992-2025 The FreeBSD Project.
FreeBSD 15.1-RELEASE-p1 CARPVM amd64
CARPVM BEGIN scenario=loadunload vm=a\r
CARPVM CHECK loadunload.cycles PASS 50 load+unload cycles of /modules/carp_rs.ko ok
CARPVM INFO sysctls net.inet.carp.allow present in 0/50 loads
CARPVM END checks=1 failed=0
"""


class ParseTest(unittest.TestCase):
    def test_good_log(self):
        log = parse.parse_log(GOOD)
        self.assertTrue(log.booted)
        self.assertEqual(log.begin, {"scenario": "loadunload", "vm": "a"})
        self.assertEqual(log.end["failed"], "0")
        self.assertEqual(log.checks, [("loadunload.cycles", True, "50 load+unload cycles of /modules/carp_rs.ko ok")])
        ok, why, n, failed = parse.evaluate({"a": log}, required=["loadunload.cycles"])
        self.assertTrue(ok, why)
        self.assertEqual((n, failed), (1, 0))

    def test_lor_attribution(self):
        lor = ("lock order reversal: (sleepable after non-sleepable)\n"
               " 1st 0xfff carp_softc (carp_softc, sleep mutex) @ /usr/src/sys/netinet/ip_carp.c:2558\n"
               " 2nd 0xfff in_multi_sx (in_multi_sx, sx) @ /usr/src/sys/netinet/in_mcast.c:1284\n"
               "lock order carp_softc -> in_multi_sx attempted at:\n")
        log = parse.parse_log(GOOD + lor)
        self.assertEqual(parse.foreign_lors(log, "netinet/ip_carp.c"), 1)
        ok, why, _, _ = parse.evaluate({"a": log}, required=["loadunload.cycles"])
        self.assertFalse(ok)
        ok, why, _, _ = parse.evaluate({"a": log}, required=["loadunload.cycles"], ignore_lor_in="netinet/ip_carp.c")
        self.assertTrue(ok, why)
        ours = lor.replace("/usr/src/sys/netinet/ip_carp.c:2558", "carp_rs_hooks.c:100")
        ok, why, _, _ = parse.evaluate({"a": parse.parse_log(GOOD + ours)}, required=["loadunload.cycles"],
                                       ignore_lor_in="netinet/ip_carp.c")
        self.assertFalse(ok)
        self.assertIn("carp_rs_hooks.c", why)

    def test_leak_on_unload_fails(self):
        text = GOOD + "Warning: memory type carp_rs leaked memory on destroy (2 allocations, 96 bytes leaked).\n"
        ok, why, n, failed = parse.evaluate({"a": parse.parse_log(text)}, required=["loadunload.cycles"])
        self.assertFalse(ok)
        self.assertEqual((n, failed), (1, 0))
        self.assertIn("memory type carp_rs leaked", why)

    def test_skipped_row_in_table(self):
        t = parse.table([("plain", "vnet_cycles", None, 0, 0, "skipped: no MODULES="),
                         ("plain", "smoke", True, 2, 0, "")])
        self.assertIn("| plain | vnet_cycles | SKIP | 0/0 | skipped: no MODULES= |", t)
        self.assertIn("| plain | smoke | PASS | 2/2 |  |", t)

    def test_missing_required_and_end(self):
        log = parse.parse_log(GOOD.replace("CARPVM END checks=1 failed=0\n", ""))
        ok, why, _, _ = parse.evaluate({"a": log}, required=["loadunload.cycles", "x.y"])
        self.assertFalse(ok)
        self.assertIn("no END", why)
        self.assertIn("missing check x.y", why)

    def test_failed_check_and_panic(self):
        text = GOOD.replace("PASS 50", "FAIL cycle 3 kldunload: EBUSY(16)") + "panic: witness bad\n"
        ok, why, n, failed = parse.evaluate({"a": parse.parse_log(text)})
        self.assertFalse(ok)
        self.assertEqual((n, failed), (1, 1))
        self.assertIn("panic: witness bad", why)
        self.assertIn("EBUSY", why)

    def test_no_boot(self):
        ok, why, _, _ = parse.evaluate({"a": parse.parse_log("SeaBIOS\nBooting from DVD/CD...\n")})
        self.assertFalse(ok)
        self.assertIn("no boot", why)

    def test_one_master(self):
        def vm(state):
            return parse.parse_log(
                "CARPVM BEGIN scenario=elect_v4 vm=x\n"
                f"CARPVM INFO state vtnet0 vhid 1 {state} advskew 0\n"
                "CARPVM CHECK elect.load PASS ok\nCARPVM END checks=1 failed=0\n"
            )

        self.assertTrue(parse.evaluate({"a": vm("MASTER"), "b": vm("BACKUP")}, one_master=True)[0])
        ok, why, _, _ = parse.evaluate({"a": vm("MASTER"), "b": vm("MASTER")}, one_master=True)
        self.assertFalse(ok)
        self.assertIn("2 MASTERs", why)

    def test_interleaved_kernel_text(self):
        log = parse.parse_log("vtnet0: link state changed to UP\nfoo CARPVM CHECK a.b PASS x\n")
        self.assertEqual(log.checks, [("a.b", True, "x")])

    def test_table(self):
        t = parse.table([("plain", "smoke", True, 2, 0, ""), ("plain", "basic_v4", False, 3, 1, "a|b")])
        self.assertIn("| plain | smoke | PASS | 2/2 |  |", t)
        self.assertIn("| plain | basic_v4 | FAIL | 2/3 | a/b |", t)


if __name__ == "__main__":
    unittest.main()


KERNEL_LINES = """\
FreeBSD 15.1-RELEASE-p1 CARPVM amd64
CARPVM BEGIN scenario=elect_v4 vm=b
carp: 1@vtnet0: INIT -> BACKUP (initialization complete)\r
CARPVM CHECK elect.failover PASS BACKUP -> MASTER 3400 ms
carp: 1@vtnet0: BACKUP -> MASTER (master timed out)\r
CARPVM END checks=1 failed=0
"""

TIMED_OUT = r"^carp: 1@vtnet0: BACKUP -> MASTER \(master timed out\)$"


class ConsoleTest(unittest.TestCase):
    def test_kernel_line_found_in_any_vm(self):
        b = parse.parse_log(KERNEL_LINES)
        a = parse.parse_log(GOOD)
        self.assertIn("carp: 1@vtnet0: BACKUP -> MASTER (master timed out)", b.console)
        self.assertNotIn("CARPVM END checks=1 failed=0", b.console)
        ok, why, n, failed = parse.evaluate({"a": a, "b": b}, console=[TIMED_OUT])
        self.assertTrue(ok, why)
        self.assertEqual((n, failed), (3, 0))

    def test_missing_kernel_line_fails(self):
        text = KERNEL_LINES.replace("(master timed out)", "(preempting a slower master)")
        ok, why, n, failed = parse.evaluate({"b": parse.parse_log(text)}, console=[TIMED_OUT])
        self.assertFalse(ok)
        self.assertEqual((n, failed), (2, 1))
        self.assertIn("no console line", why)
