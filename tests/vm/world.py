"""`make vmtest WORLD=DIR [TESTS=DIR]`: scenarios run by FreeBSD's own
userland (the real /sbin/init, /etc/rc, ifconfig, sysctl, devd, jail,
netstat, atf-sh) instead of the PID-1 driver.

WORLD is an installed FreeBSD userland (installworld + distribution),
TESTS a directory holding FreeBSD's sys/netinet/carp.sh and
sys/common/vnet.subr; both are inputs, nothing of them is in this
repository. Per kernel one cd9660 root image is built: the world, stock
carp.ko and the jail modules in /boot/kernel, carp_rs.ko in /boot/modules,
our rc.conf (tests/vm/sh/rc/base.conf, which sources a per scenario and VM
fragment chosen by the loader environment), devd rules, and /etc/rc.local
running tests/vm/sh/run.sh: the scenario script prints the same CARPVM
lines as the driver on the serial console and powers off.
"""

import os
import re
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
SH = os.path.join(HERE, "sh")

# name -> (VMs, modules to run it with, needs, required checks, one_master, timeout
#          [, options])
# Modules: "carp" is stock carp.ko (loaded by name from /boot/kernel),
# "carp_rs" ours (from /boot/modules). needs as in vmtest.SCENARIOS plus
# "tests" (TESTS=). Options: "variants", one row per way of loading the
# module at boot (kenv carpvm.variant); "reboot", a VM powered off by its
# script and booted again by the harness (its second console is `<vm>2`).
# VMs a, b, c share one segment (tests/vm/hub.py), which the host watches.
SCENARIOS = [
    ("carpsh", ("a",), ("both",), ("ours", "stock", "mods", "tests"), ["carpsh.cases"], False, 3000),
    ("admin", ("a",), ("carp", "carp_rs"), ("ours", "stock"),
     ["admin.kldload_by_name", "admin.kldstat_module", "admin.master", "admin.netstat_sent", "admin.devd_carp"],
     False, 400),
    ("strict", ("a",), ("carp", "carp_rs"), ("ours", "stock", "mods"),
     ["strict.jexec_sysctl_preempt", "strict.jexec_sysctl_demotion", "strict.preempt_per_jail",
      "strict.stats_per_jail", "strict.demotion_per_jail", "strict.ifdown_demotion_per_jail",
      "strict.unload_no_plain_vip"], False, 400),
    # FreeBSD 9's carpN front-end: carp_rs only (stock 15.x has no carp0).
    # a = hosta, b = the provider, c = hostb; hosta is powered off and
    # booted again.
    ("handbook", ("a", "b", "c"), ("carp_rs",), ("ours",),
     ["handbook.loaded", "handbook.hosta_master", "handbook.provider_backup", "handbook.provider_backup_51",
      "handbook.hostb_master", "handbook.failover", "handbook.failover_time", "handbook.preempt_sysctl",
      "handbook.preempt_back", "handbook.gives_back", "handbook.hostb_kept"], False, 900,
     {"variants": ("kld_list", "loader", "rc.d"), "reboot": "a"}),
    ("forum", ("a", "b"), ("carp", "carp_rs"), ("ours", "stock"), ["forum.own_master", "forum.takes_both",
                                                                    "forum.back"], False, 500),
    # FreeBSD 9's arpbalance: carp_rs only (stock 15.x has neither the knob
    # nor a way to put one address on two vhids). The host sends the ARP
    # requests (tests/vm/hub.py) and checks who answers.
    ("arpbalance", ("a", "b"), ("carp_rs",), ("ours",),
     ["arpbalance.knob", "arpbalance.own_master", "arpbalance.probed", "arpbalance.each_once",
      "arpbalance.by_requester", "arpbalance.shared"], False, 400),
    ("modern", ("a", "b"), ("carp", "carp_rs"), ("ours", "stock"),
     ["modern.v4", "modern.v6", "modern.vrrp", "modern.unicast", "modern.vhid1", "modern.vhid2", "modern.vhid3",
      "modern.vhid4"], True, 500),
]

# arpbalance: the shared VIP, the requesters the host ARPs from (carp_rs.4:
# requester mod 2 running vhids picks vhid 1, a's, for even addresses,
# vhid 2, b's, for odd), and the requester whose ARP to each VM's own
# address tells the VMs the probes are over.
ARPBALANCE_VIP = "192.0.2.50"
ARPBALANCE_PROBES = [f"192.0.2.{i}" for i in range(101, 113)]
ARPBALANCE_DONE = "192.0.2.99"


def arpbalance_expect(requester):
    """(VM, vhid) that must answer `requester` for the VIP."""
    odd = int(requester.rsplit(".", 1)[1]) % 2
    return ("b", 2) if odd else ("a", 1)


LOADER_CONF = os.path.join(SH, "loader.conf")
RC_D = os.path.join(os.path.dirname(os.path.dirname(HERE)), "rc.d", "carp_rs")


def options(entry):
    return entry[7] if len(entry) > 7 else {}


def loader_conf_loads(text):
    """The modules a loader.conf has loaded (`NAME_load="YES"`), in order,
    as FreeBSD's loader (lua config.lua) reads them."""
    out = []
    for line in text.splitlines():
        m = re.match(r'^\s*([A-Za-z0-9_]+)_load\s*=\s*"?(YES|yes)"?\s*(#.*)?$', line)
        if m:
            out.append(m.group(1))
    return out


COLUMN = {"carp": "stock", "carp_rs": "carp_rs"}
CARPSH_LINE = re.compile(r"^(\S+) (carp|carp_rs) (.*)$")


def check_inputs(world, tests):
    """Problems with WORLD/TESTS, as messages (empty when usable)."""
    errs = []
    for rel in ("sbin/init", "etc/rc", "sbin/ifconfig", "bin/sh", "bin/kenv", "usr/sbin/jail"):
        if not os.path.exists(os.path.join(world, rel)):
            errs.append(f"WORLD={world} lacks /{rel}")
    if tests:
        for rel in ("sys/netinet/carp.sh", "sys/common/vnet.subr"):
            if not os.path.isfile(os.path.join(tests, rel)):
                errs.append(f"TESTS={tests} lacks {rel}")
    return errs


def _copy(src, dst, mode=0o444):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, mode)


def build_root(work, world, ours, stock, mods, tests, run):
    """The root image with the real userland; `run(cmd)` runs xorriso."""
    root = os.path.join(work, "wroot")
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(world, root, symlinks=True)
    # No fstab: rc.d/fsck would want to check a read-only cd9660 root.
    for rel in ("etc/fstab",):
        if os.path.lexists(os.path.join(root, rel)):
            os.unlink(os.path.join(root, rel))
    for d in ("boot/kernel", "boot/modules", "dev", "tmp", "var"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    if ours:
        _copy(ours, os.path.join(root, "boot/modules/carp_rs.ko"), 0o555)
    if stock:
        _copy(stock, os.path.join(root, "boot/kernel/carp.ko"), 0o555)
    for name in ("if_epair.ko", "if_bridge.ko", "bridgestp.ko") if mods else ():
        _copy(os.path.join(mods, name), os.path.join(root, "boot/kernel", name), 0o555)
    _copy(os.path.join(SH, "rc", "base.conf"), os.path.join(root, "etc/rc.conf"))
    _copy(os.path.join(SH, "sysctl.conf"), os.path.join(root, "etc/sysctl.conf"))
    _copy(os.path.join(SH, "devd.conf"), os.path.join(root, "etc/devd/carpvm.conf"))
    # The project's rc.d script where a package installs it; enabled only
    # by handbook[rc.d]'s rc.conf (carp_rs_enable="YES").
    _copy(RC_D, os.path.join(root, "usr/local/etc/rc.d/carp_rs"), 0o555)
    with open(os.path.join(root, "etc/rc.local"), "w") as f:
        # In the background: rc.d/local runs before LOGIN, and
        # sysctl_lastload (sysctl.conf for modules from kld_list) after it.
        # rc.d/local sources this in a subshell of /etc/rc: $$ is rc's pid.
        f.write("/bin/sh /carpvm/run.sh $$ >/dev/console 2>&1 &\n")
    for sub in ("", "scenarios", "rc"):
        src = os.path.join(SH, sub)
        for name in sorted(os.listdir(src)):
            if os.path.isfile(os.path.join(src, name)):
                _copy(os.path.join(src, name), os.path.join(root, "carpvm", sub, name), 0o555)
    if tests:
        # As FreeBSD's atf.test.mk installs an atf-sh test program.
        dst = os.path.join(root, "usr/tests/sys/netinet/carp")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(os.path.join(tests, "sys/netinet/carp.sh")) as f:
            body = f.read()
        with open(dst, "w") as f:
            f.write("#! /usr/libexec/atf-sh\n" + body)
        os.chmod(dst, 0o555)
        _copy(os.path.join(tests, "sys/common/vnet.subr"), os.path.join(root, "usr/tests/sys/common/vnet.subr"))
    img = os.path.join(work, "wroot.img")
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "CARPVMWORLD", "-o", img, root])
    shutil.rmtree(root)
    return img


def runs(entry):
    """(row name, kld, variant) for each module (or, with variants, each
    way of loading it) a scenario runs with."""
    name, _, mods = entry[:3]
    variants = options(entry).get("variants")
    if variants:
        return [(f"{name}[{v}]", mods[0], v) for v in variants]
    if mods == ("both",):
        return [(name, "both", None)]
    if len(mods) == 1:
        return [(name, mods[0], None)]
    return [(f"{name}[{COLUMN[m]}]", m, None) for m in mods]


def carpsh_table(logs):
    """From the `CARPVM INFO carpsh <case> <module> <result>` lines: rows
    (case, stock result, carp_rs result) in order of first appearance, and
    the cases where stock passed and carp_rs did not."""
    res = {}
    order = []
    for log in logs.values():
        for detail in log.info("carpsh"):
            m = CARPSH_LINE.match(detail)
            if not m:
                continue
            case, mod, result = m.groups()
            if case not in res:
                res[case] = {}
                order.append(case)
            res[case][COLUMN[mod]] = result
    rows = [(c, res[c].get("stock", "not run"), res[c].get("carp_rs", "not run")) for c in order]
    regressions = [c for c, s, r in rows if s.startswith("passed") and not r.startswith("passed")]
    return rows, regressions


def side_by_side(rows):
    """Markdown: rows of (kernel, case, stock, carp_rs)."""
    out = ["| kernel | case | stock carp.ko | carp_rs.ko |", "|---|---|---|---|"]
    for k, c, s, r in rows:
        out.append(f"| {k} | {c} | {s.replace('|', '/')[:80]} | {r.replace('|', '/')[:80]} |")
    return "\n".join(out)
