"""Unit tests for vmtest.py's VM supervision (no VM needed)."""

import os
import tempfile
import time
import unittest

import vmtest


class FakeVm:
    """A qemu process stand-in that ends after `runs` polls (never if None)."""

    def __init__(self, runs=None):
        self.runs = runs
        self.killed = False

    def poll(self):
        if self.killed:
            return -9
        if self.runs is None:
            return None
        self.runs -= 1
        return 0 if self.runs < 0 else None

    def kill(self):
        self.killed = True

    def wait(self):
        return 0


class WaitVmsTest(unittest.TestCase):
    def logs(self, d, texts):
        out = {}
        for vm, text in texts.items():
            out[vm] = os.path.join(d, vm + ".log")
            with open(out[vm], "w") as f:
                f.write(text)
        return out

    def test_peer_of_a_panicked_vm_is_stopped(self):
        with tempfile.TemporaryDirectory() as d:
            logs = self.logs(d, {"a": "CARPVM BEGIN\npanic: page fault\n", "b": "CARPVM BEGIN\n"})
            procs = {"a": FakeVm(runs=0), "b": FakeVm()}
            t0 = time.monotonic()
            timed_out = vmtest.wait_vms(procs, logs, 60, t0)
            self.assertEqual(timed_out, [])
            self.assertTrue(procs["b"].killed)
            self.assertLess(time.monotonic() - t0, 10)

    def test_timeout_stops_everything(self):
        with tempfile.TemporaryDirectory() as d:
            logs = self.logs(d, {"a": "", "b": ""})
            procs = {"a": FakeVm(), "b": FakeVm()}
            self.assertEqual(sorted(vmtest.wait_vms(procs, logs, 0, time.monotonic())), ["a", "b"])

    def test_clean_ends_are_waited_for(self):
        with tempfile.TemporaryDirectory() as d:
            logs = self.logs(d, {"a": "CARPVM END\n", "b": "CARPVM END\n"})
            procs = {"a": FakeVm(runs=1), "b": FakeVm(runs=3)}
            self.assertEqual(vmtest.wait_vms(procs, logs, 60, time.monotonic()), [])
            self.assertFalse(procs["a"].killed or procs["b"].killed)

    def test_a_vm_booted_again_is_waited_for(self):
        with tempfile.TemporaryDirectory() as d:
            logs = self.logs(d, {"a": "CARPVM END\n", "b": "CARPVM END\n", "a2": "CARPVM END\n"})
            a2_log = logs.pop("a2")
            procs = {"a": FakeVm(runs=1), "b": FakeVm(runs=2)}
            second = FakeVm(runs=6)
            calls = []

            def ended(vm):
                calls.append(vm)
                return ("a2", second, a2_log) if vm == "a" else None

            self.assertEqual(vmtest.wait_vms(procs, logs, 60, time.monotonic(), ended=ended), [])
            # a's second boot ran to its end after b had ended; each VM's
            # end was reported once.
            self.assertEqual(second.poll(), 0)
            self.assertFalse(second.killed)
            self.assertEqual(sorted(calls), ["a", "a2", "b"])
            self.assertIn("a2", logs)

    def test_loader_variant_rc(self):
        rc = vmtest.loader_rc({"vm": "a"}, None, ["carp_rs"])
        self.assertNotIn("init_path", rc)
        self.assertIn("load carp_rs\n", rc)


if __name__ == "__main__":
    unittest.main()
