#!/usr/bin/env python3
"""`make vmtest`: boot FreeBSD under qemu with the carpvm PID-1 driver and
run every scenario; print a summary table.

Per VM an El Torito (no emulation) ISO is built with xorriso: cdboot, the
loader, a loader.rc (serial console, scenario parameters in the kenv), the
kernel and a preloaded cd9660 root image (`load -t md_image`) holding the
driver as /carpvm and the modules under /modules. Two-VM scenarios join
their NICs with qemu UDP socket networking on 127.0.0.1 only.
"""

import argparse
import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hub  # noqa: E402
import parse  # noqa: E402
import world  # noqa: E402

OURS = "/modules/carp_rs.ko"
STOCK = "/modules/carp.ko"
EPAIR = "/modules/if_epair.ko"
# The jail modules (MODULES=DIR) from the same kernel build as KERNEL.
JAIL_MODULES = ("if_epair.ko", "if_bridge.ko", "bridgestp.ko")
MAC = {"a": "58:9c:fc:00:00:0a", "b": "58:9c:fc:00:00:0b", "c": "58:9c:fc:00:00:0c"}
IP = {"a": "192.0.2.11", "b": "192.0.2.12"}
IP6 = {"a": "2001:db8::11/64", "b": "2001:db8::12/64"}
PEER = {"a": "b", "b": "a"}


def pair(ko_a, ko_b, skew_a=0, skew_b=100, **extra):
    """Parameters for a two-VM election scenario."""
    vms = {}
    for vm, ko, skew in (("a", ko_a, skew_a), ("b", ko_b, skew_b)):
        p = {
            "vm": vm,
            "ko": ko,
            "ip": IP[vm] + "/24",
            "ip6": IP6[vm],
            "peer": IP[PEER[vm]],
            "vip": "192.0.2.1/24",
            "advskew": str(skew),
            "pass": "foobar",
            "preempt": "1",
            "mac": MAC[vm],
        }
        p.update(extra.get(vm, {}))
        p.update(extra.get("both", {}))
        vms[vm] = p
    return vms


# The unload scenarios' IPv6 VIP, on vhid 1 next to the IPv4 one.
VIP6 = "2001:db8::50/128"
ELECT = ["elect.load", "elect.vip", "elect.one_master", "elect.by_advskew", "elect.failover"]
DEVCTL = ["elect.devctl_open", "elect.devctl_backup", "elect.devctl_master"]
# The kernel's own log(9) line for the failover (seen on a console with no
# syslogd), exactly as stock carp words it.
TIMED_OUT = [r"^carp: 1@vtnet0: BACKUP -> MASTER \(master timed out\)$"]

# name -> (driver scenario, per-VM params, required checks, one_master, needs
#          [, console lines that must appear in some VM's log (regexes)
#          [, options: {"timeout": seconds}]])
# needs: "ours" (carp_rs.ko), "stock" (STOCK_CARP_KO), "mods" (MODULES=).
SCENARIOS = [
    ("smoke", "smoke", {"a": {"vm": "a"}}, ["smoke.osrelease", "smoke.pid1"], False, ()),
    ("loadunload", "loadunload", {"a": {"vm": "a", "ko": OURS, "count": "50"}}, ["loadunload.cycles"], False, ("ours",)),
    (
        "refused_load",
        "refused_load",
        {"a": {"vm": "a", "ko": OURS, "stock": STOCK}},
        ["refused.load_refused", "refused.sysctl_intact", "refused.stock_works"],
        False,
        ("ours", "stock"),
    ),
    (
        "stock_baseline",
        "elect_v4",
        pair(STOCK, STOCK, both={"devctl": "1"}),
        ELECT + DEVCTL,
        True,
        ("stock",),
        TIMED_OUT,
    ),
    (
        "loadunload_vhids",
        "loadunload_vhids",
        {"a": {"vm": "a", "ko": OURS, "count": "50"}},
        ["loadunload_vhids.cycles", "loadunload_vhids.sysctls"],
        False,
        ("ours",),
    ),
    (
        "basic_v4",
        "elect_v4",
        pair(OURS, OURS, both={"devctl": "1"}),
        ELECT + DEVCTL + ["elect.arp_vmac"],
        True,
        ("ours",),
        TIMED_OUT,
    ),
    (
        "basic_v6",
        "elect_v6",
        pair(OURS, OURS, both={"vip": "2001:db8::1/64"}),
        ELECT + ["elect.base_addr6"],
        True,
        ("ours",),
    ),
    (
        "legacy_carp0",
        "legacy_carp0",
        pair(OURS, OURS, both={"devctl": "1"}),
        ELECT + ["elect.carp0_create", "elect.arp_vmac", "elect.devctl_open", "elect.devctl_link_up"],
        True,
        ("ours",),
    ),
    # 15.x ifconfig: libifconfig's netlink SET on vtnet0, GET dump back;
    # then the MASTER kldunloads and must bow out.
    (
        "netlink_bowout",
        "elect_v4",
        pair(OURS, OURS, both={"nl": "1", "bowout": "1", "devctl": "1"}),
        [c for c in ELECT if c != "elect.failover"]
        + DEVCTL
        + ["elect.nl_set", "elect.nl_get", "elect.bowout", "elect.bowout_unload"],
        True,
        ("ours",),
    ),
    (
        "netlink_carp0",
        "legacy_carp0",
        pair(OURS, OURS, both={"nl": "1", "devctl": "1"}),
        ELECT + ["elect.carp0_create", "elect.nl_set", "elect.nl_get", "elect.devctl_link_up"],
        True,
        ("ours",),
    ),
    # Pre-10 two-step: SIOCSVH on carp0, then the VIP without a vhid.
    (
        "legacy_twostep",
        "legacy_carp0",
        pair(OURS, OURS, both={"novhid": "1"}),
        ELECT + ["elect.carp0_create", "elect.siocsvh", "elect.arp_vmac"],
        True,
        ("ours",),
    ),
    ("interop_rs_master", "elect_v4", pair(OURS, STOCK), ELECT, True, ("ours", "stock")),
    ("interop_stock_master", "elect_v4", pair(STOCK, OURS), ELECT, True, ("ours", "stock")),
    (
        "negative_demotion",
        "negative_demotion",
        pair(OURS, OURS, a={"demote_neg": "1"}),
        ELECT + ["elect.demotion_set"],
        True,
        ("ours",),
    ),
    (
        "badauth",
        "badauth",
        pair(OURS, OURS, a={"pass": "right"}, b={"pass": "wrong"}),
        ["badauth.counted"],
        False,
        ("ours",),
    ),
    # Issue 11: vnet jails, unload with live vhids, stress, departure.
    # These fail on a module without per-VNET state, unload cleanup and an
    # ifnet departure handler; they must pass once the kernel glue has them.
    (
        "vnet_isolation",
        "vnet_isolation",
        {"a": {"vm": "a", "ko": OURS, "epair": EPAIR}},
        [
            "vnet.load", "vnet.setup", "vnet.sysctl_in_jail", "vnet.knob_in_jail", "vnet.configure", "vnet.jail_one_vhid",
            "vnet.jail_two_vhid", "vnet.knob_isolated", "vnet.host_knob_isolated", "vnet.demotion_isolated",
            "vnet.stats_isolated", "vnet.stats_in_jail", "vnet.adverts_epair_one", "vnet.adverts_epair_two",
        ],
        False,
        ("ours", "mods"),
    ),
    (
        "vnet_cycles",
        "vnet_cycles",
        {"a": {"vm": "a", "ko": OURS, "epair": EPAIR, "count": "300"}},
        ["vnet_cycles.load", "vnet_cycles.cycles", "vnet_cycles.host_intact", "vnet_cycles.no_leak",
         "vnet_cycles.unload"],
        False,
        ("ours", "mods"),
        (),
        {"timeout": 900},
    ),
    (
        "unload_backup",
        "elect_v4",
        pair(OURS, OURS, both={"unload": "backup", "vip6": VIP6}),
        ELECT[:4] + ["elect.vip6", "unload.kldunload", "unload.no_vip_addr", "unload.peer_master",
                     "unload.no_arp_from_unloaded", "unload.no_na_from_unloaded"],
        True,
        ("ours",),
    ),
    (
        "unload_master",
        "elect_v4",
        pair(OURS, OURS, both={"unload": "master", "vip6": VIP6}),
        ELECT[:4] + ["elect.vip6", "unload.kldunload", "unload.no_vip_addr", "unload.peer_master",
                     "unload.no_arp_from_unloaded", "unload.no_na_from_unloaded"],
        True,
        ("ours",),
    ),
    (
        "stress_unload",
        "stress_unload",
        pair(OURS, OURS, both={"count": "50"}),
        ["stress.peer_up", "stress.cycles", "stress.no_hang", "stress.flood_seen", "stress.no_vip_left",
         "stress.reload", "stress.peer_config", "stress.done_sync", "stress.one_master"],
        True,
        ("ours",),
        (),
        {"timeout": 1200},
    ),
    (
        "departure",
        "departure",
        {"a": {"vm": "a", "ko": OURS, "epair": EPAIR, "count": "20"}},
        ["departure.load", "departure.warmup", "departure.cycles", "departure.no_leak",
         "departure.no_stale_vhid", "departure.unload"],
        False,
        ("ours", "mods"),
    ),
    # Issue 14: the diagnostics (diag.rs). The kernel's own log lines must
    # be worded as the module's man page says.
    (
        "diag_ledger",
        "diag_ledger",
        {"a": {"vm": "a", "ko": OURS, "ip": IP["a"] + "/24", "vip": "192.0.2.1/24", "pass": "foobar"}},
        ["ledger.load", "ledger.config", "ledger.master", "ledger.vhids_master", "ledger.empty",
         "ledger.admin_write", "ledger.admin", "ledger.ifdown", "ledger.admin_ifdown", "ledger.vhids_ifdown",
         "ledger.ifup", "ledger.admin_after_up", "ledger.admin_undo", "ledger.cleared", "ledger.cleared_empty"],
        False,
        ("ours",),
        [r"^carp: demoted by -1 to -1 \(sysctl\)$", r"^carp: demoted by 240 to 239 \(interface down\)$",
         r"^carp: 1@vtnet0: MASTER -> INIT \(hardware interface down\)$"],
    ),
    (
        "diag_splitbrain",
        "diag_splitbrain",
        pair(OURS, OURS),
        ["splitbrain.load", "splitbrain.static_arp", "splitbrain.config", "splitbrain.conflict_devd",
         "splitbrain.both_master",
         "splitbrain.conflict_once", "splitbrain.logged_once", "splitbrain.one_way"],
        False,
        ("ours",),
        [r"^carp: 1@vtnet0: split brain: 192\.0\.2\.12 also MASTER \(skew 100, ours 0\), does not hear us$"],
    ),
    (
        "diag_replay",
        "diag_replay",
        pair(OURS, OURS, both={"replay_check": "0"}),
        ["replay.load", "replay.knob", "replay.elected", "replay.captured", "replay.unload", "replay.b_master",
         "replay.injected", "replay.stepped_down"],
        False,
        ("ours",),
        [r"^carp: 1@vtnet0: MASTER -> BACKUP \(more frequent advertisement received\)$"],
    ),
    (
        "diag_replay_check",
        "diag_replay",
        pair(OURS, OURS, both={"replay_check": "1"}),
        ["replay.load", "replay.knob", "replay.elected", "replay.captured", "replay.unload", "replay.b_master",
         "replay.injected", "replay.held", "replay.badreplay"],
        False,
        ("ours",),
    ),
    (
        "diag_garp",
        "diag_garp",
        pair(OURS, OURS),
        ["garp.load", "garp.elected", "garp.knob_off", "garp.none_when_off", "garp.knob_on", "garp.refreshed"],
        False,
        ("ours",),
    ),
]


free_udp_port = hub.free_udp_port


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def build_root(work, driver, ours, stock, mods=None):
    """The cd9660 root image shared by every VM of one run."""
    root = os.path.join(work, "root")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "dev"))
    os.makedirs(os.path.join(root, "modules"))
    os.makedirs(os.path.join(root, "tmp"))
    dst = os.path.join(root, "carpvm")
    shutil.copyfile(driver, dst)
    with open(dst, "r+b") as f:  # EI_OSABI = ELFOSABI_FREEBSD
        f.seek(7)
        f.write(bytes([9]))
    os.chmod(dst, 0o555)
    for src, name in ((ours, "carp_rs.ko"), (stock, "carp.ko")):
        if src:
            shutil.copyfile(src, os.path.join(root, "modules", name))
    for name in JAIL_MODULES if mods else ():
        shutil.copyfile(os.path.join(mods, name), os.path.join(root, "modules", name))
    img = os.path.join(work, "root.img")
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "CARPVMROOT", "-o", img, root])
    return img


def loader_rc(params, init_path="/carpvm", loads=()):
    """loader.rc of a VM: serial console, no debugger, a backtrace on
    panic, the md root, the scenario's parameters in the kenv. The PID-1
    driver is init (`init_path`); userland VMs (init_path None) boot the
    real /sbin/init and /etc/rc. loader_simp reads no loader.conf: `loads`
    are the modules it would have had the full loader preload, loaded by
    name from the boot medium's /boot/modules after the kernel, as lua's
    config.lua does for each `NAME_load="YES"`."""
    lines = [
        "set console=comconsole",
        "set comconsole_speed=115200",
        "set boot_serial=YES",
        "set hw.uart.console=io:1016,br:115200",
        "set debug.debugger_on_panic=0",
        "set debug.trace_on_panic=1",
        "set kern.panic_reboot_wait_time=0",
        "set vfs.root.mountfrom=cd9660:/dev/md0",
        "set kern.hz=100",
    ]
    if init_path:
        lines.append(f"set init_path={init_path}")
    lines += [f"set carpvm.{k}={v}" for k, v in sorted(params.items())]
    lines += ["load /boot/kernel/kernel", "set module_path=/boot/kernel;/boot/modules"]
    lines += [f"load {m}" for m in loads]
    lines += ["load -t md_image /boot/root.img", "boot"]
    return "\n".join(lines) + "\n"


def build_iso(work, name, kernel, boot, root_img, params, rc=loader_rc, extra=None):
    """The boot ISO of one VM; `extra` maps paths on it to files to copy
    there (what the loader itself reads, e.g. modules it preloads)."""
    stage = os.path.join(work, name)
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, "boot", "kernel"))
    for rel, src in (extra or {}).items():
        os.makedirs(os.path.dirname(os.path.join(stage, rel)), exist_ok=True)
        shutil.copyfile(src, os.path.join(stage, rel))
    shutil.copyfile(boot["cdboot"], os.path.join(stage, "boot", "cdboot"))
    shutil.copyfile(boot["loader"], os.path.join(stage, "boot", "loader"))
    shutil.copyfile(kernel, os.path.join(stage, "boot", "kernel", "kernel"))
    shutil.copyfile(root_img, os.path.join(stage, "boot", "root.img"))
    with open(os.path.join(stage, "boot", "loader.rc"), "w") as f:
        f.write(rc(params))
    iso = os.path.join(work, name + ".iso")
    run(
        ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "CARPVM", "-b", "boot/cdboot", "-no-emul-boot",
         "-o", iso, stage]
    )
    shutil.rmtree(stage)
    return iso


def qemu_cmd(iso, log, mac, local, remote, mem):
    return [
        "qemu-system-x86_64", "-accel", "tcg", "-m", str(mem), "-smp", "1",
        "-display", "none", "-monitor", "none", "-no-reboot",
        "-serial", f"file:{log}",
        "-cdrom", iso, "-boot", "d",
        "-netdev", f"socket,id=n0,udp=127.0.0.1:{remote},localaddr=127.0.0.1:{local}",
        "-device", f"virtio-net-pci,netdev=n0,mac={mac}",
    ]


def panicked(path):
    try:
        with open(path, errors="replace") as f:
            return parse.PANIC.search(f.read().replace("\r", "")) is not None
    except FileNotFoundError:
        return False


def wait_vms(procs, logs, timeout, t0, ended=None):
    """Waits for every VM of a scenario, at most `timeout` s from t0. Once
    one VM has ended with a panic on its console its peers can only wait
    for it: they are stopped at once (bounded runs, no 20-minute waits).
    `ended(vm)`, called once per VM that ends, may return (name, process,
    log) of a VM to wait for too (a VM booted again). Returns the VMs
    stopped at the timeout."""
    timed_out = []
    seen = set()
    while True:
        # Before the loop's end test: a VM booted again keeps it going.
        for vm, pr in list(procs.items()):
            if ended and vm not in seen and pr.poll() is not None:
                seen.add(vm)
                again = ended(vm)
                if again:
                    procs[again[0]], logs[again[0]] = again[1], again[2]
        if all(pr.poll() is not None for pr in procs.values()):
            break
        crashed = [vm for vm, pr in procs.items() if pr.poll() is not None and panicked(logs[vm])]
        late = time.monotonic() - t0 > timeout
        for vm, pr in procs.items():
            if pr.poll() is None and (crashed or late):
                if late:
                    timed_out.append(vm)
                pr.kill()
                pr.wait()
        time.sleep(0.5)
    return timed_out


def boot_vm(work, name, kernel, boot, root_img, params, mac, local, remote, mem, rc=loader_rc, extra=None):
    """Builds one VM's ISO and starts its qemu; returns (process, log)."""
    iso = build_iso(work, name, kernel, boot, root_img, params, rc=rc, extra=extra)
    log = os.path.join(work, f"{name}.log")
    cmd = qemu_cmd(iso, log, mac, local, remote, mem)
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), log


def read_logs(work, logs):
    """Parses each VM's console log and removes the VMs' ISOs."""
    parsed = {}
    for vm, path in logs.items():
        try:
            with open(path, errors="replace") as f:
                parsed[vm] = parse.parse_log(f.read())
        except FileNotFoundError:
            parsed[vm] = parse.parse_log("")
        iso = os.path.join(work, vm + ".iso")
        if os.path.exists(iso):
            os.unlink(iso)
    return parsed


def fresh_dir(args, kernel_label, row):
    work = os.path.join(args.out, kernel_label, row.replace("[", "-").replace("]", ""))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return work


def run_scenario(args, kernel_label, kernel, boot, root_img, entry):
    """One PID-1 driver scenario; two VMs are wired back to back."""
    name, driver_scen, vms, required, one_master = entry[:5]
    console = entry[6] if len(entry) > 6 else ()
    timeout = (entry[7] if len(entry) > 7 else {}).get("timeout", args.timeout)
    work = fresh_dir(args, kernel_label, name)
    ports = {vm: free_udp_port() for vm in vms}
    procs, logs = {}, {}
    t0 = time.monotonic()
    for vm, p in vms.items():
        remote = ports[PEER[vm]] if PEER.get(vm) in ports else free_udp_port()
        procs[vm], logs[vm] = boot_vm(work, vm, kernel, boot, root_img, dict(p, scenario=driver_scen),
                                      MAC.get(vm, "58:9c:fc:00:00:01"), ports[vm], remote, args.mem)
    timed_out = wait_vms(procs, logs, timeout, t0)
    parsed = read_logs(work, logs)
    passed, why, n, failed = parse.evaluate(parsed, required=required, one_master=one_master, console=console)
    if timed_out:
        why = f"timeout {timeout}s ({','.join(timed_out)}); " + why
        passed = False
    return (kernel_label, name, passed, n, failed, why, time.monotonic() - t0)


def host_checks(name, net, off):
    """What the host checks on the hub for a userland scenario, as a
    parsed log of its own (None when it checks nothing)."""
    if name == "arpbalance":
        lines = hub.arpbalance_checks(net.frames, world.ARPBALANCE_VIP, world.ARPBALANCE_PROBES,
                                      world.arpbalance_expect)
    elif name == "handbook":
        lines = hub.failover_checks(net.frames, "a", "b", vhid=1, advbase=1, advskew=100, slack=1.5,
                                    off=off.get("a", float("inf")))
    else:
        return None
    return parse.parse_log("\n".join(["CARPVM BEGIN scenario=%s vm=host" % name] + lines + ["CARPVM END"]) + "\n")


def arp_prober(net, logs, stop):
    """arpbalance: once both VMs print `arpbalance.ready`, ARP requests for
    the VIP from each probe address, then one to each VM's own address
    from world.ARPBALANCE_DONE, which the VMs wait for (their ARP table
    learns the requester)."""
    while not stop.is_set():
        ready = 0
        for path in logs.values():
            try:
                with open(path, errors="replace") as f:
                    ready += "CARPVM INFO arpbalance.ready" in f.read()
            except FileNotFoundError:
                pass
        if ready == len(logs):
            break
        stop.wait(1)
    else:
        return
    for src in world.ARPBALANCE_PROBES:
        net.inject(hub.arp_request(src, world.ARPBALANCE_VIP))
        stop.wait(0.5)
    stop.wait(3)
    for _ in range(3):
        for own in IP.values():
            net.inject(hub.arp_request(world.ARPBALANCE_DONE, own))
        stop.wait(1)


def run_world_scenario(args, kernel_label, kernel, boot, root_img, entry, row, kld, variant=None):
    """One userland scenario (world.SCENARIOS) with module `kld`: its VMs
    share one hub; a VM the scenario boots twice (opts "reboot") is booted
    again when it powers off, as `<vm>2`."""
    name, vms, _, _, required, one_master, timeout = entry[:7]
    opts = world.options(entry)
    work = fresh_dir(args, kernel_label, row)
    net = hub.Hub(vms)
    procs, logs = {}, {}
    off = {}
    mem = max(args.mem, 1024)
    extra = {}
    loads = ()
    if variant == "loader":
        # What loader.conf's carp_rs_load="YES" has the full loader do.
        extra = {"boot/modules/carp_rs.ko": args.module, "boot/loader.conf": world.LOADER_CONF}
        with open(world.LOADER_CONF) as f:
            loads = world.loader_conf_loads(f.read())

    def start(vm, boot_no):
        params = {"scenario": name, "vm": vm, "kld": kld, "boot": str(boot_no)}
        if variant:
            params["variant"] = variant
        label = vm if boot_no == 1 else f"{vm}{boot_no}"
        return boot_vm(work, label, kernel, boot, root_img, params, MAC[vm], net.ports[vm], net.port, mem,
                       rc=lambda p: loader_rc(p, None, loads), extra=extra)

    def ended(vm):
        # Only a VM that powered itself off (its script ran to END) boots
        # again, not one stopped after a panic or at the timeout.
        if vm == opts.get("reboot") and not panicked(logs[vm]) and time.monotonic() - t0 < timeout:
            with open(logs[vm], errors="replace") as f:
                if "CARPVM END" in f.read():
                    off[vm] = time.monotonic()
                    return (f"{vm}2",) + start(vm, 2)
        return None

    t0 = time.monotonic()
    for vm in vms:
        procs[vm], logs[vm] = start(vm, 1)
    stop = threading.Event()
    prober = None
    if name == "arpbalance":
        prober = threading.Thread(target=arp_prober, args=(net, dict(logs), stop), daemon=True)
        prober.start()
    timed_out = wait_vms(procs, logs, timeout, t0, ended=ended)
    stop.set()
    if prober:
        prober.join()
    net.close()
    parsed = read_logs(work, logs)
    host = host_checks(name, net, off)
    if host:
        parsed["host"] = host
        with open(os.path.join(work, "host.log"), "w") as f:
            f.writelines(f"CARPVM CHECK {c} {'PASS' if ok else 'FAIL'} {d}\n" for c, ok, d in host.checks)
    # Runs with stock carp.ko (the reference; carpsh loads both): stock's
    # own reversals (WITNESS names ip_carp.c) are reported in the row, not
    # failed; carp_rs has no such file, so none of its own can hide here.
    stock_src = "netinet/ip_carp.c" if kld in ("carp", "both") else None
    passed, why, n, failed = parse.evaluate(parsed, required=required, one_master=one_master,
                                            ignore_lor_in=stock_src)
    if stock_src:
        nstock = sum(parse.foreign_lors(log, stock_src) for log in parsed.values())
        if nstock:
            why = (why + "; " if why else "") + f"{nstock} lock order reversal(s) in stock ip_carp.c (not counted)"
    extra_rows = []
    if name == "carpsh":
        table, regressions = world.carpsh_table(parsed)
        extra_rows = [(kernel_label, "carpsh:" + c, s, r) for c, s, r in table]
        n += len(table)
        if regressions:
            failed += len(regressions)
            passed = False
            why = f"pass on stock, not on carp_rs: {', '.join(regressions)}; " + why
    if timed_out:
        why = f"timeout {timeout}s ({','.join(timed_out)}); " + why
        passed = False
    return (kernel_label, row, passed, n, failed, why, time.monotonic() - t0, extra_rows)


def world_todo(args, have, only):
    """(entry, row, kld, variant) for each userland run, and skip/not-run rows."""
    todo, skipped = [], []
    for entry in world.SCENARIOS:
        for row, kld, variant in world.runs(entry):
            if only and entry[0] not in only and row not in only:
                continue
            missing = [n for n in entry[3] if n not in have]
            if missing and set(missing) <= {"mods", "tests"}:
                skipped.append((row, "skipped: no " + " and no ".join(
                    {"mods": "MODULES=", "tests": "TESTS="}[m] for m in missing)))
                continue
            if missing:
                skipped.append((row, "not run: no " + ", ".join(missing)))
                continue
            todo.append((entry, row, kld, variant))
    return todo, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kernel", action="append", required=True, help="LABEL=PATH or PATH; repeatable")
    ap.add_argument("--boot", required=True, help="directory with cdboot and loader_simp (or loader)")
    ap.add_argument("--module", help="our carp_rs.ko")
    ap.add_argument("--stock-ko", help="stock carp.ko (for refused-load, baseline and interop)")
    ap.add_argument("--modules", help="directory with if_epair.ko, if_bridge.ko, bridgestp.ko (jail scenarios)")
    ap.add_argument("--world", help="installed FreeBSD userland (userland scenarios)")
    ap.add_argument("--tests", help="FreeBSD test sources: sys/netinet/carp.sh, sys/common/vnet.subr")
    ap.add_argument("--driver", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--jobs", type=int, default=2, help="VMs run at once (a two-VM scenario counts 2)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per scenario")
    ap.add_argument("--mem", type=int, default=512)
    args = ap.parse_args()

    boot = {"cdboot": os.path.join(args.boot, "cdboot")}
    for cand in ("loader_simp", "loader"):
        if os.path.exists(os.path.join(args.boot, cand)):
            boot["loader"] = os.path.join(args.boot, cand)
            break
    for key, path in list(boot.items()) + [("driver", args.driver)]:
        if not os.path.isfile(path):
            sys.exit(f"vmtest: {key} not found at {path}")
    if "loader" not in boot:
        sys.exit(f"vmtest: no loader_simp or loader in {args.boot}")
    have = set()
    if args.module and os.path.isfile(args.module):
        have.add("ours")
    if args.stock_ko and os.path.isfile(args.stock_ko):
        have.add("stock")
    mods = None
    if args.modules:
        missing = [m for m in JAIL_MODULES if not os.path.isfile(os.path.join(args.modules, m))]
        if missing:
            sys.exit(f"vmtest: MODULES={args.modules} lacks {', '.join(missing)}")
        mods = args.modules
        have.add("mods")
    if args.world:
        errs = world.check_inputs(args.world, args.tests)
        if errs:
            sys.exit("vmtest: " + "; ".join(errs))
        if args.tests:
            have.add("tests")
    only = set(args.only.split(",")) if args.only else None
    os.makedirs(args.out, exist_ok=True)

    rows = []
    sbs = []  # carp.sh cases: (kernel, case, stock, carp_rs)
    for k in args.kernel:
        label, _, path = k.rpartition("=")
        label = label or os.path.basename(os.path.dirname(path)) or "kernel"
        if not os.path.isfile(path):
            sys.exit(f"vmtest: kernel not found at {path}")
        root_img = build_root(os.path.join(args.out, label), args.driver,
                              args.module if "ours" in have else None,
                              args.stock_ko if "stock" in have else None, mods)
        todo = []
        for entry in SCENARIOS:
            if only and entry[0] not in only:
                continue
            missing = [n for n in entry[5] if n not in have]
            if missing == ["mods"]:
                # Optional input: the jail scenarios are skipped, not failed.
                print(f"vmtest: {label} {entry[0]}: SKIP (needs MODULES=DIR with {', '.join(JAIL_MODULES)})")
                rows.append((label, entry[0], None, 0, 0, "skipped: no MODULES= (if_epair, if_bridge, bridgestp)", 0.0))
                continue
            if missing:
                what = {"ours": "carp_rs.ko (--module)", "stock": "stock carp.ko (STOCK_CARP_KO)",
                        "mods": "jail modules (MODULES=)"}
                rows.append((label, entry[0], False, 0, 0, "not run: no " + ", ".join(what[m] for m in missing), 0.0))
                continue
            todo.append(entry)
        wtodo = []
        if args.world:
            wtodo, wskipped = world_todo(args, have, only)
            for row, why in wskipped:
                print(f"vmtest: {label} {row}: {'SKIP' if why.startswith('skipped') else 'FAIL'} ({why})")
                rows.append((label, row, None if why.startswith("skipped") else False, 0, 0, why, 0.0))
            if wtodo:
                wimg = world.build_root(os.path.join(args.out, label), args.world,
                                        args.module if "ours" in have else None,
                                        args.stock_ko if "stock" in have else None, mods, args.tests, run)
        elif not only or only & {e[0] for e in world.SCENARIOS}:
            print(f"vmtest: {label}: userland scenarios SKIP: no WORLD= (an installed FreeBSD userland); "
                  f"{', '.join(e[0] for e in world.SCENARIOS)} not run")
            for e in world.SCENARIOS:
                for row, _, _ in world.runs(e):
                    rows.append((label, row, None, 0, 0, "skipped: no WORLD=", 0.0))
        # Scenarios run side by side up to --jobs VMs at once.
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs // 2)) as ex:
            futs = [ex.submit(run_scenario, args, label, path, boot, root_img, e) for e in todo]
            futs += [ex.submit(run_world_scenario, args, label, path, boot, wimg, e, row, kld, variant)
                     for e, row, kld, variant in wtodo]
            for fut in futs:
                r = fut.result()
                verdict = "PASS" if r[2] else "FAIL"
                print(f"vmtest: {r[0]} {r[1]}: {verdict} ({r[6]:.0f}s) {r[5]}", flush=True)
                if len(r) > 7:
                    sbs.extend(r[7])
                    r = r[:7]
                rows.append(r)
    order = {e[0]: i for i, e in enumerate(SCENARIOS)}
    for e in world.SCENARIOS:
        for row, _, _ in world.runs(e):
            order[row] = len(order)
    rows.sort(key=lambda r: (r[0], order.get(r[1], 999)))
    summary = parse.table([r[:6] for r in rows])
    if sbs:
        summary += "\n\nFreeBSD's carp.sh, case by case:\n\n" + world.side_by_side(sbs)
    print("\n" + summary)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(summary + "\n")
    npass = sum(1 for r in rows if r[2])
    nskip = sum(1 for r in rows if r[2] is None)
    print(f"\nvmtest: {npass}/{len(rows) - nskip} scenarios passed, {nskip} skipped; logs in {args.out}")
    sys.exit(0 if npass + nskip == len(rows) else 1)


if __name__ == "__main__":
    main()
