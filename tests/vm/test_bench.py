"""Unit tests of bench.py's parsing and summary (no VM needed)."""

import os
import tempfile
import unittest

import bench
import parse


def kill(mod, n, late_us, valid=1, deadline_us=3390625):
    if not valid:
        return f"CARPVM INFO bench.kill mod={mod} n={n} how=stop valid=0 own_advert=false"
    gap = deadline_us + late_us
    return (
        f"CARPVM INFO bench.kill mod={mod} n={n} how=stop valid=1 last_us=1000 first_us={1000 + gap} "
        f"gap_us={gap} deadline_us={deadline_us} late_us={late_us} last_skew=0 peer_adverts=3 advbase=1 advskew=100"
    )


def bowout(mod, how, gap_us, skew):
    return (
        f"CARPVM INFO bench.bowout mod={mod} n=1 how={how} valid=1 last_us=5 first_us={5 + gap_us} "
        f"gap_us={gap_us} deadline_us=3390625 late_us={gap_us - 3390625} last_skew={skew} peer_adverts=4 "
        "advbase=1 advskew=100"
    )


def log_b(lines):
    text = "FreeBSD Copyright\r\nCARPVM BEGIN scenario=failover_bench vm=b\r\n"
    text += "\r\n".join(lines) + "\r\nCARPVM END checks=3 failed=0\r\n"
    return parse.parse_log(text)


class KvAndPercentile(unittest.TestCase):
    def test_kv(self):
        self.assertEqual(bench.kv("mod=stock n=3 junk late_us=-12"), {"mod": "stock", "n": "3", "late_us": "-12"})
        self.assertEqual(bench.kv(""), {})

    def test_nearest_rank(self):
        xs = list(range(1, 21))  # 1..20
        self.assertEqual(bench.percentile(xs, 50), 10)
        self.assertEqual(bench.percentile(xs, 99), 20)
        self.assertEqual(bench.percentile([5], 99), 5)
        self.assertIsNone(bench.percentile([], 50))
        self.assertEqual(bench.percentile([3, 1, 2], 50), 2)


class Summary(unittest.TestCase):
    def test_lateness_and_verdict_met(self):
        lines = [kill("carp_rs", i, 100 * i) for i in range(1, 21)]
        lines += [kill("stock", i, 10000 + 500 * i) for i in range(1, 21)]
        lines += [kill("stock", 21, 0, valid=0)]
        lines += [bowout("carp_rs", "unload", 25000, 255), bowout("stock", "destroy", 3410000, 0)]
        s = bench.summarize(log_b(lines))
        self.assertEqual(s["carp_rs"]["n"], 20)
        self.assertEqual(s["stock"]["n"], 20)
        self.assertEqual(s["stock"]["invalid"], 1)
        self.assertAlmostEqual(s["carp_rs"]["p50"], 1.0)
        self.assertAlmostEqual(s["carp_rs"]["p99"], 2.0)
        self.assertAlmostEqual(s["stock"]["p50"], 15.0)
        self.assertAlmostEqual(s["stock"]["p99"], 20.0)
        self.assertAlmostEqual(s["carp_rs"]["deadline_ms"], 3390.625)
        self.assertEqual(s["carp_rs"]["bowout"], [("unload", 25.0, "255")])
        self.assertEqual(s["stock"]["bowout"], [("destroy", 3410.0, "0")])
        self.assertEqual(bench.verdict(s), "goal failover-lateness: met carp_rs p99 2.00 ms <= stock p99 20.00 ms")
        t = bench.render(s)
        self.assertIn("| carp_rs | 20 | 3390.625 |", t)
        self.assertIn("| stock | 20 (+1 invalid) |", t)
        self.assertIn("ratio carp_rs/stock: p50 0.07, p99 0.10", t)
        self.assertIn("| carp_rs | unload | 25.00 | 255 |", t)
        self.assertIn("carp_rs lateness samples (ms, sorted): 0.10 0.20 0.30 ", t)
        self.assertIn(" 19.50 20.00\n", t)
        self.assertTrue(t.endswith(bench.verdict(s)))

    def test_verdict_missed_and_missing(self):
        lines = [kill("carp_rs", 1, 30000), kill("stock", 1, 20000)]
        s = bench.summarize(log_b(lines))
        self.assertTrue(bench.verdict(s).startswith("goal failover-lateness: missed carp_rs p99 30.00 ms"))
        s = bench.summarize(log_b([kill("carp_rs", 1, 10)]))
        self.assertEqual(s["stock"]["n"], 0)
        self.assertEqual(bench.verdict(s), "goal failover-lateness: missed carp_rs p99 0.01 ms <= stock p99 n/a ms")
        self.assertIn("p99 n/a", bench.render(s))

    def test_ratio_guard(self):
        self.assertIsNone(bench.ratio(1.0, 0.0))
        self.assertIsNone(bench.ratio(None, 2.0))
        self.assertAlmostEqual(bench.ratio(1.0, 4.0), 0.25)


class TailLines(unittest.TestCase):
    def test_partial_lines_wait_for_newline(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "a.log")
            t = bench.Tail(p)
            self.assertEqual(t.lines(), [])
            with open(p, "w") as f:
                f.write("one\r\ntw")
            self.assertEqual(t.lines(), ["one"])
            with open(p, "a") as f:
                f.write("o\nthree\n")
            self.assertEqual(t.lines(), ["two", "three"])
            self.assertEqual(t.lines(), [])


if __name__ == "__main__":
    unittest.main()
