#!/usr/bin/env python3
"""`make vmtest-bench`: hard-kill failover of carp_rs.ko and of stock
carp.ko on the real kernel, side by side in one run.

Two VMs (vmtest's ISO, root image and UDP socket link) run the driver's
`failover_bench` scenario: vm a (advskew 0) is MASTER, vm b (advskew 100)
BACKUP; the module alternates between carp_rs.ko and carp.ko every
`--block` kills. A hard kill is a qemu monitor `stop` of vm a when it
prints `bench.stop_me`: its vCPU and clocks freeze between two adverts, it
sends nothing more (no bow-out, no link change), exactly what the backup
sees of a power cut. When vm b has reported its takeover (`bench.kill`,
from its own bpf(4) timestamps) the host sends `cont`; a's clock resumes
where it stopped, it preempts back (preempt=1) and the next round starts.
That is faithful to a kill on the wire and costs no reboot per round.

Lateness = (b's first advert - a's last advert) - (3 x advbase +
advskew/256 s), both timestamps taken by b's bpf. qemu TCG on a shared
host is noisy, so only the ratio within the same run counts.
"""

import argparse
import math
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parse  # noqa: E402
import vmtest  # noqa: E402

MODULES = ("carp_rs", "stock")


def kv(detail):
    """`a=1 b=x` -> {"a": "1", "b": "x"} (words without `=` are ignored)."""
    return dict(w.split("=", 1) for w in detail.split() if "=" in w)


def samples(log, key):
    """The valid `INFO <key> ...` records of one parsed VM log."""
    out = []
    for d in log.info(key):
        r = kv(d)
        if r.get("valid") == "1":
            out.append(r)
    return out


def percentile(xs, p):
    """Nearest-rank percentile (with 20 samples p99 is the worst one)."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


def ms(us):
    return None if us is None else us / 1000.0


def summarize(log_b):
    """Per module: lateness and bow-out figures from the survivor's log."""
    out = {}
    for mod in MODULES:
        kills = [r for r in samples(log_b, "bench.kill") if r.get("mod") == mod]
        late = [int(r["late_us"]) for r in kills]
        gaps = [int(r["gap_us"]) for r in kills]
        bows = [r for r in samples(log_b, "bench.bowout") if r.get("mod") == mod]
        invalid = sum(1 for d in log_b.info("bench.kill") if kv(d).get("mod") == mod and kv(d).get("valid") != "1")
        out[mod] = {
            "n": len(late),
            "invalid": invalid,
            "deadline_ms": ms(int(kills[0]["deadline_us"])) if kills else None,
            "p50": ms(percentile(late, 50)),
            "p99": ms(percentile(late, 99)),
            "min": ms(min(late)) if late else None,
            "gap_p50": ms(percentile(gaps, 50)),
            "bowout": [(r.get("how", "?"), int(r["gap_us"]) / 1000.0, r.get("last_skew", "?")) for r in bows],
            "late": sorted(ms(x) for x in late),
        }
    return out


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt(v, nd=2):
    return "n/a" if v is None else f"{v:.{nd}f}"


def verdict(s):
    rs, st = s["carp_rs"]["p99"], s["stock"]["p99"]
    met = rs is not None and st is not None and rs <= st
    return f"goal failover-lateness: {'met' if met else 'missed'} carp_rs p99 {fmt(rs)} ms <= stock p99 {fmt(st)} ms"


def render(s, header=""):
    lines = [header] if header else []
    lines += [
        "| module | hard kills | deadline (ms) | gap p50 (ms) | lateness min (ms) | lateness p50 (ms) | lateness p99 (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for mod in MODULES:
        m = s[mod]
        n = f"{m['n']}" + (f" (+{m['invalid']} invalid)" if m["invalid"] else "")
        lines.append(
            f"| {mod} | {n} | {fmt(m['deadline_ms'], 3)} | {fmt(m['gap_p50'])} | {fmt(m['min'])} "
            f"| {fmt(m['p50'])} | {fmt(m['p99'])} |"
        )
    r50 = ratio(s["carp_rs"]["p50"], s["stock"]["p50"])
    r99 = ratio(s["carp_rs"]["p99"], s["stock"]["p99"])
    lines += ["", f"ratio carp_rs/stock: p50 {fmt(r50)}, p99 {fmt(r99)}", ""]
    for mod in MODULES:
        lines.append(f"{mod} lateness samples (ms, sorted): " + " ".join(fmt(x) for x in s[mod]["late"]))
    lines.append("")
    lines += [
        "| module | bow-out | takeover (ms): old master's last advert -> new master's first | last advert's advskew |",
        "|---|---|---|---|",
    ]
    for mod in MODULES:
        for how, gap, skew in s[mod]["bowout"]:
            lines.append(f"| {mod} | {how} | {gap:.2f} | {skew} |")
    lines += ["", verdict(s)]
    return "\n".join(lines)


class Tail:
    """Complete lines appended to a growing file since the last call."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.rest = ""

    def lines(self):
        try:
            with open(self.path, errors="replace") as f:
                f.seek(self.pos)
                data = f.read()
                self.pos = f.tell()
        except FileNotFoundError:
            return []
        data = self.rest + data.replace("\r", "")
        parts = data.split("\n")
        self.rest = parts.pop()
        return parts


class Monitor:
    """The qemu human monitor on a unix socket (`stop`, `cont`)."""

    def __init__(self, path):
        self.path = path

    def cmd(self, c):
        for _ in range(100):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.path)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"qemu monitor {self.path} unreachable")
        with s:
            s.settimeout(10)
            buf = b""
            while b"(qemu)" not in buf:
                buf += s.recv(4096)
            s.sendall(c.encode() + b"\n")
            buf = b""
            while buf.count(b"(qemu)") < 1:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk


def drive(procs, logs, mon_a, timeout, out=print):
    """Pauses vm a on `bench.stop_me`, resumes it on b's `bench.kill`."""
    ta, tb = Tail(logs["a"]), Tail(logs["b"])
    t0 = time.monotonic()
    paused_at = None
    stops = 0
    while time.monotonic() - t0 < timeout and any(p.poll() is None for p in procs.values()):
        for line in ta.lines():
            if "CARPVM INFO bench.stop_me" in line and paused_at is None:
                mon_a.cmd("stop")
                paused_at = time.monotonic()
                stops += 1
        for line in tb.lines():
            if "CARPVM INFO bench.kill" in line:
                r = kv(line.split("bench.kill", 1)[1])
                late = int(r["late_us"]) / 1000.0 if r.get("valid") == "1" else None
                out(f"vmtest-bench: {r.get('mod')} kill {r.get('n')}: lateness {fmt(late)} ms", flush=True)
                if paused_at is not None:
                    mon_a.cmd("cont")
                    paused_at = None
            elif "CARPVM INFO bench.bowout" in line:
                r = kv(line.split("bench.bowout", 1)[1])
                out(f"vmtest-bench: {r.get('mod')} bow-out ({r.get('how')}): {r.get('gap_us')} us", flush=True)
            elif "CHECK" in line and " FAIL " in line:
                out(f"vmtest-bench: b: {line.strip()}", flush=True)
        # A lost report must not leave the master frozen for good.
        if paused_at is not None and time.monotonic() - paused_at > 120:
            mon_a.cmd("cont")
            paused_at = None
        time.sleep(0.02)
    return stops, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kernel", required=True, help="LABEL=PATH or PATH (one kernel)")
    ap.add_argument("--boot", required=True)
    ap.add_argument("--module", required=True)
    ap.add_argument("--stock-ko", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--kills", type=int, default=20, help="hard kills per module")
    ap.add_argument("--block", type=int, default=5, help="kills per module before switching")
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--mem", type=int, default=512)
    args = ap.parse_args()
    label, _, kernel = args.kernel.rpartition("=")
    label = label or "kernel"
    for what, p in (("kernel", kernel), ("carp_rs.ko", args.module), ("stock carp.ko", args.stock_ko),
                    ("driver", args.driver), ("cdboot", os.path.join(args.boot, "cdboot"))):
        if not os.path.isfile(p):
            sys.exit(f"vmtest-bench: {what} not found at {p}")
    boot = {"cdboot": os.path.join(args.boot, "cdboot")}
    for cand in ("loader_simp", "loader"):
        if os.path.exists(os.path.join(args.boot, cand)):
            boot["loader"] = os.path.join(args.boot, cand)
            break
    else:
        sys.exit(f"vmtest-bench: no loader_simp or loader in {args.boot}")
    work = os.path.join(args.out, label)
    os.makedirs(work, exist_ok=True)
    root_img = vmtest.build_root(work, args.driver, args.module, args.stock_ko)
    vms = vmtest.pair(vmtest.OURS, vmtest.OURS, both={
        "stock": vmtest.STOCK, "kills": str(args.kills), "block": str(args.block)})
    ports = {vm: vmtest.free_udp_port() for vm in vms}
    procs, logs, mons = {}, {}, {}
    t0 = time.monotonic()
    for vm, p in vms.items():
        iso = vmtest.build_iso(work, vm, kernel, boot, root_img, dict(p, scenario="failover_bench"))
        logs[vm] = os.path.join(work, f"{vm}.log")
        if os.path.exists(logs[vm]):
            os.unlink(logs[vm])
        mons[vm] = os.path.join(work, f"{vm}.monitor")
        if os.path.exists(mons[vm]):
            os.unlink(mons[vm])
        cmd = vmtest.qemu_cmd(iso, logs[vm], vmtest.MAC[vm], ports[vm], ports[vmtest.PEER[vm]], args.mem)
        cmd[cmd.index("-monitor") + 1] = f"unix:{mons[vm]},server=on,wait=off"
        procs[vm] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    print(f"vmtest-bench: {label}: 2 VMs booting, {args.kills} hard kills per module in blocks of {args.block}",
          flush=True)
    try:
        stops, _ = drive(procs, logs, Monitor(mons["a"]), args.timeout)
    finally:
        for pr in procs.values():
            if pr.poll() is None:
                pr.kill()
            pr.wait()
        for vm in vms:
            for f in (os.path.join(work, vm + ".iso"), mons[vm]):
                if os.path.exists(f):
                    os.unlink(f)
    wall = time.monotonic() - t0
    parsed = {}
    for vm, path in logs.items():
        with open(path, errors="replace") as f:
            parsed[vm] = parse.parse_log(f.read())
    s = summarize(parsed["b"])
    failed = [(vm, c) for vm, lg in parsed.items() for c in lg.checks if not c[1]]
    header = (f"Failover on the real kernel ({label}), {stops} qemu `stop` hard kills, one run, "
              f"{wall / 60:.1f} min; lateness = new master's first advert - old master's last advert "
              f"- (3 x advbase + advskew/256), from the survivor's bpf timestamps; p99 is nearest-rank.\n")
    table = render(s, header)
    problems = [f"{vm}: CHECK {c[0]} FAIL {c[2]}" for vm, c in failed]
    problems += [f"{vm}: {p}" for vm, lg in parsed.items() for p in lg.panics]
    problems += [f"{vm}: no END line" for vm, lg in parsed.items() if lg.end is None]
    if problems:
        table += "\n\nProblems:\n" + "\n".join("- " + p for p in problems)
    print("\n" + table)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(table + "\n")
    ok = not problems and all(s[m]["n"] >= args.kills for m in MODULES)
    print(f"\nvmtest-bench: {'done' if ok else 'INCOMPLETE'} in {wall:.0f}s; logs in {work}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
