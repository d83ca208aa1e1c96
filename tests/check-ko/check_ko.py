#!/usr/bin/env python3
"""check_ko.py --variant 15|14 carp_rs.ko

Static load checks of a cross-built FreeBSD amd64 module: what
sys/kern/link_elf_obj.c and sys/amd64/amd64/elf_machdep.c would accept,
what a kernel context tolerates (no FPU/SIMD), and what the module says
about itself (modmetadata).  Prints one line per check and a summary;
exits 1 if any check fails.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

VARIANTS = {
    # variant: (zig release with the headers, clang triple, __FreeBSD_version)
    "15": ("0.17.0", "x86_64-freebsd.15.0", 1500068),
    "14": ("0.15.2", "x86_64-freebsd.14.3", 1403000),
}

# elf_machdep.c (amd64) elf_reloc_internal(): everything else in a
# relocatable module fails with "unexpected relocation type".  GLOB_DAT,
# JMP_SLOT, RELATIVE and IRELATIVE only occur in shared objects.
ALLOWED_RELOCS = {
    "R_X86_64_NONE", "R_X86_64_64", "R_X86_64_PC32", "R_X86_64_PLT32",
    "R_X86_64_32S",
}

# Compiler-emitted references that the kernel defines but no header
# declares (sys/kern/stack_protector.c, for -fstack-protector).
COMPILER_ABI = {"__stack_chk_fail", "__stack_chk_guard"}

# Leftovers of a Rust runtime or of compiler-rt that the kernel lacks.
RUST_RUNTIME = re.compile(
    r"^(_R|_ZN|__rust|__rdl|__rg_|rust_|_Unwind|__udivti3|__umodti3|__divti3|"
    r"__modti3|__muloti4|__ashlti3|__lshrti3|__ashrti3|__float|__fix|"
    r"__(add|sub|mul|div)[sdt]f3|__extend|__trunc|__probestack|__rust_probestack)")

# x87, MMX, SSE, AVX, AVX-512 and FPU state instructions, by register or
# mnemonic, as objdump -d (AT&T) prints them.
SIMD_OPERAND = re.compile(r"%(x|y|z)mm\d|%mm\d|%st(\(|\b)|%k[0-7]\b")
SIMD_MNEMONIC = re.compile(
    r"^(f[a-z0-9]*|ldmxcsr|stmxcsr|emms|femms|xsave\w*|xrstor\w*|"
    r"vzeroupper|vzeroall|v(mov|add|sub|mul|div|xor|and|or|p|cvt|perm|shuf|"
    r"broadcast|insert|extract|fmadd|fmsub|blend|gather|unpck|sqrt|max|min|"
    r"cmp|round|test|zero)\w*|movaps|movups|movdqa|movdqu|movnt(dq|ps|pd|q)|"
    r"(add|sub|mul|div|sqrt|max|min|cmp|and|andn|or|xor)(ps|pd|ss|sd)|"
    r"cvt\w+|pxor|por|pand\w*|padd\w*|psub\w*|pshuf\w*|punpck\w*|pcmp\w*|"
    r"shufp[sd]|unpck\w+|comis[sd]|ucomis[sd])$")
# The red zone: the kernel takes interrupts on the current stack.
RED_ZONE = re.compile(r"-0x[0-9a-f]+\(%rsp\)")


class Report:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, name, ok, detail=""):
        print(("ok    " if ok else "FAIL  ") + name + (": " + detail if detail else ""))
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)


def symtab(elf):
    tabs = [s for s in elf.iter_sections() if isinstance(s, SymbolTableSection)
            and s["sh_type"] == "SHT_SYMTAB"]
    return tabs


def check_header(r, elf, tabs):
    h = elf.header
    r.check("ELF64 little-endian", elf.elfclass == 64 and elf.little_endian)
    r.check("ET_REL (link_elf_obj)", h["e_type"] == "ET_REL", h["e_type"])
    r.check("EM_X86_64", h["e_machine"] == "EM_X86_64", h["e_machine"])
    r.check("exactly one SYMTAB", len(tabs) == 1, str(len(tabs)))


def check_relocs(r, elf):
    counts = {}
    for sec in elf.iter_sections():
        if not isinstance(sec, RelocationSection):
            continue
        for rel in sec.iter_relocations():
            t = describe_reloc(elf, rel["r_info_type"])
            counts[t] = counts.get(t, 0) + 1
    bad = {t: n for t, n in counts.items() if t not in ALLOWED_RELOCS}
    detail = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    r.check("relocation types the amd64 kernel linker applies", not bad and counts,
            detail if not bad else "rejected: " + ", ".join(sorted(bad)))


def describe_reloc(elf, t):
    from elftools.elf.descriptions import describe_reloc_type
    return describe_reloc_type(t, elf)


def check_instructions(r, path):
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-M", "att", path],
                         check=True, capture_output=True, text=True).stdout
    simd, redzone, insns = [], [], 0
    for line in dis.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip().endswith(":"):
            continue
        insn = parts[1].strip()
        if not insn:
            continue
        insns += 1
        fields = insn.split(None, 1)
        mnemonic = fields[0]
        if mnemonic in ("rep", "repz", "repnz", "lock", "notrack", "bnd", "data16", "cs", "ds") \
                and len(fields) > 1:
            fields = fields[1].split(None, 1)
            mnemonic = fields[0]
        operands = fields[1] if len(fields) > 1 else ""
        if SIMD_MNEMONIC.match(mnemonic) or SIMD_OPERAND.search(operands):
            simd.append(insn)
        if RED_ZONE.search(operands):
            redzone.append(insn)
    r.check("no FPU/SIMD/x87 instructions", insns > 0 and not simd,
            f"{insns} instructions scanned" if not simd else f"{len(simd)} found, e.g. {simd[:3]}")
    r.check("no red-zone stack accesses", not redzone,
            "" if not redzone else f"{len(redzone)}, e.g. {redzone[:3]}")


def symbols(tab):
    for sym in tab.iter_symbols():
        yield sym


def check_symbols(r, elf, tab, variant):
    undefined, exported = [], []
    for sym in symbols(tab):
        name = sym.name
        bind = sym["st_info"]["bind"]
        if not name or sym["st_info"]["type"] in ("STT_SECTION", "STT_FILE"):
            continue
        if sym["st_shndx"] == "SHN_UNDEF":
            undefined.append((name, bind))
        elif bind in ("STB_GLOBAL", "STB_WEAK"):
            exported.append(name)
    r.check("no defined global left exported (EXPORT_SYMS=NO)", not exported,
            ", ".join(exported[:10]))
    names = sorted({n for n, _ in undefined})
    runtime = [n for n in names if RUST_RUNTIME.match(n)]
    r.check("no Rust runtime or compiler-rt symbol undefined", not runtime, ", ".join(runtime))
    sets = [n for n in names if re.match(r"^__(start|stop)_set_", n)]
    kpi = [n for n in names if n not in sets]
    undeclared = undeclared_in_headers([n for n in kpi if n not in COMPILER_ABI], variant)
    r.check(f"every undefined symbol declared in the FreeBSD headers ({len(kpi)} KPI symbols)",
            undeclared is not None and not undeclared,
            "cannot compile the check" if undeclared is None else ", ".join(undeclared))
    return kpi, sets


def shim_sources():
    """The shim's C files and its own headers (carp_rs_var.h includes the
    kernel headers they all need), from kmod/shim-srcs.mk (one list for
    every build)."""
    with open(os.path.join(TOP, "kmod", "shim-srcs.mk")) as f:
        mk = f.read()
    files = []
    for var in ("CARP_RS_SHIM_HDRS", "CARP_RS_SHIM_SRCS"):
        m = re.search(r"^%s\s*=\s*(.*)$" % var, mk, re.M)
        files += m.group(1).split() if m else []
    return files or ["carp_rs_shim.c"]


def shim_includes():
    incs = []
    for src in shim_sources():
        with open(os.path.join(TOP, "kmod", src)) as f:
            for h in re.findall(r"^#include\s+<([^>]+)>", f.read(), re.M):
                if h not in incs:
                    incs.append(h)
    # Also headers declaring what inline KPI pulls in.
    for extra in ("sys/pcpu.h", "sys/proc.h", "net/vnet.h"):
        if extra not in incs:
            incs.append(extra)
    return incs


def zig_cc(variant):
    zigver, triple, version = VARIANTS[variant]
    zigdir = os.path.join(TOP, ".venv", f"zig-{zigver}", "ziglang")
    zinc = os.path.join(zigdir, "lib", "libc", "include")
    ck = os.path.join(os.environ.get("BUILD_DIR", os.path.join(TOP, "build", "kmod")), "ck-include")
    return [os.path.join(zigdir, "zig"), "cc", "-target", triple,
            "-U__FreeBSD_version", f"-D__FreeBSD_version={version}",
            "-D_KERNEL", "-DKLD_MODULE", "-nostdinc", "-include", "opt_global.h",
            "-I", os.path.join(TOP, "kmod", "build", "include"),
            "-isystem", os.path.join(zinc, "x86_64-freebsd-none"),
            "-isystem", os.path.join(zinc, "generic-freebsd"), "-isystem", ck,
            "-ffreestanding", "-mno-sse", "-mno-sse2", "-msoft-float",
            "-mno-implicit-float", "-mcmodel=kernel", "-mno-red-zone",
            "-D__printf__=__freebsd_kprintf__", "-std=gnu17", "-ferror-limit=0", "-Wno-everything"]


def undeclared_in_headers(names, variant):
    """Names among `names` that the kernel headers do not declare as a
    function or an object: `&name` compiles only for those."""
    if not names:
        return []
    # The shim's own option headers first: ip_carp.h declares the IPv4 and
    # IPv6 hooks only under INET / INET6.
    # NETLINK as carp_rs_nl.c defines it: the in-kernel netlink writer KPI
    # (_nlmsg_add ...) is declared only then.
    src = '#include "opt_inet.h"\n#include "opt_inet6.h"\n#define NETLINK 1\n'
    src += "".join(f"#include <{h}>\n" for h in shim_includes())
    src += "void check_ko_refs(void);\nvoid check_ko_refs(void)\n{\n"
    src += "".join(f"\t(void)&{n};\n" for n in names) + "}\n"
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, "refs.c")
        with open(c, "w") as f:
            f.write(src)
        env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=os.path.join(d, "zc"),
                   ZIG_LOCAL_CACHE_DIR=os.path.join(d, "zc"))
        p = subprocess.run(zig_cc(variant) + ["-c", c, "-o", os.path.join(d, "refs.o")], capture_output=True, text=True, env=env)
    if p.returncode == 0:
        return []
    bad = sorted({n for n in names if re.search(r"\b%s\b" % re.escape(n), p.stderr)})
    if not bad:
        sys.stderr.write(p.stderr)
        return None
    return bad


def check_sections(r, elf):
    alloc = {s.name for s in elf.iter_sections() if s["sh_flags"] & 0x2}
    need = ["set_modmetadata_set", "set_sysinit_set", "set_sysuninit_set", "set_sysctl_set", ".text"]
    missing = [n for n in need if n not in alloc]
    r.check("required sections present", not missing,
            ", ".join(need) if not missing else "missing " + ", ".join(missing))


class Image:
    """Follows R_X86_64_64 pointers in an unlinked object."""

    def __init__(self, elf, tab):
        self.elf = elf
        self.tab = tab
        self.relocs = {}
        for sec in elf.iter_sections():
            if isinstance(sec, RelocationSection):
                target = elf.get_section(sec["sh_info"])
                self.relocs[target.name] = {rel["r_offset"]: rel for rel in sec.iter_relocations()}

    def pointer(self, secname, off):
        rel = self.relocs.get(secname, {}).get(off)
        if rel is None or describe_reloc(self.elf, rel["r_info_type"]) != "R_X86_64_64":
            raise ValueError(f"no R_X86_64_64 at {secname}+{off:#x}")
        sym = self.tab.get_symbol(rel["r_info_sym"])
        if sym["st_shndx"] == "SHN_UNDEF":
            raise ValueError(f"pointer to undefined {sym.name}")
        sec = self.elf.get_section(sym["st_shndx"])
        return sec.name, sym["st_value"] + rel["r_addend"]

    def data(self, secname, off, n):
        sec = self.elf.get_section_by_name(secname)
        return sec.data()[off:off + n]

    def int32(self, secname, off):
        return int.from_bytes(self.data(secname, off, 4), "little", signed=True)

    def cstring(self, secname, off):
        d = self.elf.get_section_by_name(secname).data()[off:]
        return d[:d.index(b"\0")].decode()


MDT = {1: "DEPEND", 2: "MODULE", 3: "VERSION", 4: "PNP_INFO"}


def decode_metadata(elf, tab):
    img = Image(elf, tab)
    sec = elf.get_section_by_name("set_modmetadata_set")
    out = []
    for off in range(0, sec["sh_size"], 8):
        ms, mo = img.pointer(sec.name, off)
        ver, typ = img.int32(ms, mo), img.int32(ms, mo + 4)
        cval = img.cstring(*img.pointer(ms, mo + 16))
        ds, do = img.pointer(ms, mo + 8)
        kind = MDT.get(typ, str(typ))
        if kind == "DEPEND":
            out.append((kind, cval, tuple(img.int32(ds, do + 4 * i) for i in range(3))))
        elif kind == "VERSION":
            out.append((kind, cval, img.int32(ds, do)))
        elif kind == "MODULE":
            out.append((kind, cval, img.cstring(*img.pointer(ds, do))))
        else:
            out.append((kind, cval, None))
    return sorted(out)


def check_metadata(r, elf, tab, variant):
    version = VARIANTS[variant][2]
    want = sorted([
        ("DEPEND", "kernel", (version, version, (version // 100000 + 1) * 100000 - 1)),
        ("MODULE", "carp", "carp"),
        ("VERSION", "carp", 1),
    ])
    try:
        got = decode_metadata(elf, tab)
    except (ValueError, AttributeError) as e:
        r.check("module metadata decodes", False, str(e))
        return
    r.check("module metadata: module carp, kernel depend range", got == want,
            "; ".join(f"{k} {c} {v}" for k, c, v in got) + ("" if got == want else f" (want {want})"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", required=True, choices=sorted(VARIANTS))
    ap.add_argument("--list-undefined", action="store_true")
    ap.add_argument("ko")
    a = ap.parse_args()
    r = Report()
    print(f"check-ko: {a.ko} (FreeBSD {a.variant}.x, {os.path.getsize(a.ko)} bytes)")
    with open(a.ko, "rb") as f:
        elf = ELFFile(f)
        tabs = symtab(elf)
        check_header(r, elf, tabs)
        if len(tabs) != 1:
            return 1
        check_relocs(r, elf)
        check_instructions(r, a.ko)
        kpi, sets = check_symbols(r, elf, tabs[0], a.variant)
        check_sections(r, elf)
        if elf.get_section_by_name("set_modmetadata_set") is not None:
            check_metadata(r, elf, tabs[0], a.variant)
    if a.list_undefined:
        print("undefined KPI symbols: " + " ".join(kpi))
        print("linker-set bounds: " + " ".join(sets))
    print(f"check-ko: {r.passed} passed, {len(r.failed)} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
