"""Serial-console log parser for `make vmtest`.

The PID-1 driver prints one `CARPVM ...` line per observation; the kernel
prints panics and its own messages. This module turns one log per VM into a
pass/fail verdict per scenario and renders the summary table.
"""

import re

LINE = re.compile(r"CARPVM (BEGIN|END|CHECK|INFO) ?(.*)$")
PANIC = re.compile(r"^(panic: .*|Fatal trap .*|lock order reversal:.*)$", re.M)
# malloc_uninit(9) on kldunload of a module whose malloc type still holds
# memory (kern_malloc.c): a leak, whatever the scenario checked.
LOR = re.compile(r"^lock order reversal:.*$", re.M)
LEAK = re.compile(r"^(Warning: memory type \S+ leaked memory on destroy.*)$", re.M)


class VmLog:
    """What one VM's console said."""

    def __init__(self):
        self.begin = None
        self.end = None
        self.checks = []  # (name, ok, detail)
        self.infos = []  # (key, detail)
        self.panics = []
        self.leaks = []
        self.lors = []  # per reversal: WITNESS's next lines (1st/2nd lock)
        self.booted = False
        self.console = []  # every other console line (kernel messages)

    def info(self, key):
        return [d for k, d in self.infos if k == key]


def parse_log(text):
    log = VmLog()
    # Serial output may carry CRs and the kernel's own text interleaved at
    # line starts; only whole driver lines count.
    text = text.replace("\r", "")
    log.booted = "FreeBSD" in text and ("Copyright" in text or "CARPVM" in text)
    for raw in text.split("\n"):
        i = raw.find("CARPVM ")
        if i < 0:
            log.console.append(raw)
            continue
        m = LINE.match(raw[i:])
        if not m:
            continue
        kind, rest = m.group(1), m.group(2)
        if kind == "BEGIN":
            log.begin = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
        elif kind == "END":
            log.end = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
        elif kind == "CHECK":
            parts = rest.split(" ", 2)
            if len(parts) >= 2 and parts[1] in ("PASS", "FAIL"):
                log.checks.append((parts[0], parts[1] == "PASS", parts[2] if len(parts) > 2 else ""))
        elif kind == "INFO":
            parts = rest.split(" ", 1)
            log.infos.append((parts[0], parts[1] if len(parts) > 1 else ""))
    log.panics = [m.group(1) for m in PANIC.finditer(text)]
    # WITNESS names the two locks on the lines after the header; keep them
    # so a run can tell whose lock order reversed.
    log.lors = [text[m.end():].split("\n", 4)[1:4] for m in LOR.finditer(text)]
    log.leaks = [m.group(1) for m in LEAK.finditer(text)]
    return log


def foreign_lors(log, owner):
    """Lock-order reversals whose locks WITNESS places in `owner` (a source
    file name, e.g. stock carp's ip_carp.c), and how many there are."""
    return sum(1 for ctx in log.lors if any(owner in line for line in ctx))


def evaluate(logs, required=(), one_master=False, console=(), ignore_lor_in=None):
    """Verdict for one scenario run: `logs` maps VM name to VmLog.

    `console`: regexes each of which must match a whole non-driver console
    line of at least one VM (the kernel's own messages); each counts as a
    check named `console:<regex>`. `ignore_lor_in`: a source file name
    whose lock-order reversals do not fail the run.

    Returns (passed: bool, reason: str, n_checks: int, n_failed: int).
    """
    reasons = []
    n = failed = 0
    for vm, log in sorted(logs.items()):
        panics = log.panics
        if ignore_lor_in:
            # Reversals inside another module (stock carp.ko, which the same
            # VM also runs) are reported by the caller, not failed here.
            own = [ctx for ctx in log.lors if not any(ignore_lor_in in line for line in ctx)]
            panics = [p for p in panics if not p.startswith("lock order reversal")]
            panics += ["lock order reversal: " + " / ".join(c.strip() for c in ctx) for ctx in own]
        if panics:
            reasons.append(f"{vm}: {panics[0]}")
        if log.leaks:
            reasons.append(f"{vm}: {log.leaks[0]}")
        if log.begin is None:
            reasons.append(f"{vm}: driver never started" + ("" if log.booted else " (no boot)"))
            continue
        if log.end is None:
            reasons.append(f"{vm}: no END (driver died or VM timed out)")
        for name, ok, detail in log.checks:
            n += 1
            if not ok:
                failed += 1
                reasons.append(f"{vm}: {name}: {detail}")
    for pat in console:
        n += 1
        rx = re.compile(pat)
        if not any(rx.search(line) for log in logs.values() for line in log.console):
            failed += 1
            reasons.append(f"no console line /{pat}/")
    seen = {name for log in logs.values() for name, _, _ in log.checks}
    for name in required:
        if name not in seen:
            reasons.append(f"missing check {name}")
    if one_master:
        states = [d.split()[3] if len(d.split()) > 3 else "?" for log in logs.values() for d in log.info("state")]
        masters = states.count("MASTER")
        if masters != 1:
            reasons.append(f"{masters} MASTERs across VMs ({', '.join(states) or 'no state'})")
    if n == 0 and not reasons:
        reasons.append("no checks ran")
    return (not reasons, "; ".join(reasons), n, failed)


def table(rows):
    """Markdown summary: rows of (kernel, scenario, passed, n, failed, reason);
    `passed` None means the scenario was skipped (an optional input missing)."""
    out = ["| kernel | scenario | result | checks | why |", "|---|---|---|---|---|"]
    for kernel, scen, passed, n, failed, reason in rows:
        why = reason.replace("|", "/")
        if len(why) > 160:
            why = why[:157] + "..."
        result = "SKIP" if passed is None else "PASS" if passed else "FAIL"
        out.append(f"| {kernel} | {scen} | {result} | {n - failed}/{n} | {why} |")
    return "\n".join(out)
