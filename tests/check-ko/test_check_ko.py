#!/usr/bin/env python3
"""Self-test of check_ko.py: a module that breaks every rule must fail
each check it breaks (a checker that always passes would be worthless)."""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
ZIG = os.path.join(TOP, ".venv", "zig-0.17.0", "ziglang", "zig")

BAD_C = r"""
extern double scale;                 /* GOT access under -fPIC */
extern int carp_rs_not_a_kernel_symbol(int);
unsigned __int128 wide;
int exported_global = 1;             /* a defined global left exported */
double bad_float(double x) { return x * scale + 1.5; }   /* SSE */
unsigned __int128 bad_div(unsigned __int128 a) { return a / wide; } /* __udivti3 */
int bad_call(int x) { return carp_rs_not_a_kernel_symbol(x); }
"""

EXPECT_FAIL = [
    "relocation types the amd64 kernel linker applies",
    "no FPU/SIMD/x87 instructions",
    "no defined global left exported",
    "no Rust runtime or compiler-rt symbol undefined",
    "every undefined symbol declared in the FreeBSD headers",
    "required sections present",
]
EXPECT_OK = ["ELF64 little-endian", "ET_REL (link_elf_obj)", "EM_X86_64"]


def main():
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=os.path.join(d, "zc"),
                   ZIG_LOCAL_CACHE_DIR=os.path.join(d, "zc"))
        src, obj, ko = (os.path.join(d, n) for n in ("bad.c", "bad.o", "bad.ko"))
        with open(src, "w") as f:
            f.write(BAD_C)
        subprocess.run([ZIG, "cc", "-target", "x86_64-freebsd.15.0", "-O2", "-fPIC",
                        "-ffreestanding", "-c", src, "-o", obj], check=True, env=env)
        subprocess.run([ZIG, "ld.lld", "-r", "-o", ko, obj], check=True, env=env)
        p = subprocess.run([sys.executable, os.path.join(HERE, "check_ko.py"),
                            "--variant", "15", ko], capture_output=True, text=True)
    lines = p.stdout.splitlines()

    def status(name):
        for line in lines:
            if line[6:].startswith(name):
                return line[:4].strip()
        return None

    checks = [(n, "FAIL") for n in EXPECT_FAIL] + [(n, "ok") for n in EXPECT_OK]
    checks.append(("exit status 1", p.returncode == 1))
    for name, want in checks:
        got = status(name) if isinstance(want, str) else None
        ok = want is True if not isinstance(want, str) else got == want
        print(("ok    " if ok else "FAIL  ") + f"bad module: {name}"
              + ("" if ok else f" (got {got!r}, want {want!r})"))
        passed += ok
        failed += not ok
    if failed:
        print(p.stdout, p.stderr, sep="\n")
    print(f"check-ko self-test: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
