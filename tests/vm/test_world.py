"""Unit tests for world.py (run in `make test`; no VM needed)."""

import os
import tempfile
import unittest

import parse
import vmtest
import world

LOG = """\
CARPVM BEGIN scenario=carpsh vm=a
CARPVM CHECK carpsh.cases PASS cases: basic_v4 unicast_v4 negative_demotion
CARPVM INFO carpsh basic_v4 carp passed
CARPVM INFO carpsh unicast_v4 carp failed: Both jails are master
CARPVM INFO carpsh negative_demotion carp passed
CARPVM INFO carpsh basic_v4 carp_rs passed
CARPVM INFO carpsh.out unicast_v4 carp_rs: oops
CARPVM INFO carpsh unicast_v4 carp_rs failed: Both jails are master
CARPVM INFO carpsh negative_demotion carp_rs failed: Two masters!
CARPVM END checks=1 failed=0
"""


class WorldTest(unittest.TestCase):
    def test_carpsh_side_by_side(self):
        rows, regressions = world.carpsh_table({"a": parse.parse_log(LOG)})
        self.assertEqual(
            rows,
            [
                ("basic_v4", "passed", "passed"),
                ("unicast_v4", "failed: Both jails are master", "failed: Both jails are master"),
                ("negative_demotion", "passed", "failed: Two masters!"),
            ],
        )
        # Failing on both is not a carp_rs regression; passing only on
        # stock is.
        self.assertEqual(regressions, ["negative_demotion"])
        t = world.side_by_side([("plain", c, s, r) for c, s, r in rows])
        self.assertIn("| plain | negative_demotion | passed | failed: Two masters! |", t)

    def test_missing_module_column(self):
        rows, regressions = world.carpsh_table({"a": parse.parse_log(LOG.split("CARPVM INFO carpsh basic_v4 carp_rs")[0])})
        self.assertEqual(rows[0], ("basic_v4", "passed", "not run"))
        self.assertEqual(regressions, ["basic_v4", "negative_demotion"])

    def test_runs_and_loader_rc(self):
        runs = {row: (kld, variant) for e in world.SCENARIOS for row, kld, variant in world.runs(e)}
        self.assertEqual(runs["carpsh"], ("both", None))
        self.assertEqual(runs["admin[stock]"], ("carp", None))
        self.assertEqual(runs["admin[carp_rs]"], ("carp_rs", None))
        self.assertEqual(runs["arpbalance"], ("carp_rs", None))
        for v in ("kld_list", "loader", "rc.d"):
            self.assertEqual(runs[f"handbook[{v}]"], ("carp_rs", v))
        self.assertNotIn("handbook", runs)
        rc = vmtest.loader_rc({"scenario": "admin", "vm": "a", "kld": "carp_rs"}, None)
        self.assertIn("set carpvm.kld=carp_rs\n", rc)
        self.assertNotIn("init_path", rc)
        self.assertNotIn("load carp_rs", rc)
        self.assertIn("set init_path=/carpvm\n", vmtest.loader_rc({"vm": "a"}))
        self.assertTrue(rc.endswith("boot\n"))

    def test_loader_conf(self):
        with open(world.LOADER_CONF) as f:
            self.assertEqual(world.loader_conf_loads(f.read()), ["carp_rs"])
        text = 'carp_rs_load="YES"  # ours\nif_bridge_load="NO"\n#pf_load="YES"\nepair_load=YES\n'
        self.assertEqual(world.loader_conf_loads(text), ["carp_rs", "epair"])
        rc = vmtest.loader_rc({"vm": "a"}, None, ["carp_rs"]).split("\n")
        # After the kernel (the module links against it), before boot.
        self.assertLess(rc.index("load /boot/kernel/kernel"), rc.index("load carp_rs"))
        self.assertLess(rc.index("load carp_rs"), rc.index("boot"))
        self.assertTrue(os.access(world.RC_D, os.R_OK))

    def test_every_scenario_has_a_script(self):
        for e in world.SCENARIOS:
            self.assertTrue(os.path.isfile(os.path.join(world.SH, "scenarios", e[0] + ".sh")), e[0])

    def test_check_inputs(self):
        with tempfile.TemporaryDirectory() as d:
            errs = world.check_inputs(d, d)
            self.assertTrue(any("sbin/init" in e for e in errs))
            self.assertTrue(any("carp.sh" in e for e in errs))


if __name__ == "__main__":
    unittest.main()
