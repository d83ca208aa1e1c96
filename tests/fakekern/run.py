#!/usr/bin/env python3
"""Test only: runs the fake-kernel binary and judges it.

* every scenario line ("ok", "FAIL", "skip") is counted;
* any AddressSanitizer / UndefinedBehaviorSanitizer / LeakSanitizer report,
  a crash or a time-out is a failure;
* every "PKT" line (an advert the module handed to ip_output/ip6_output) is
  checked independently of the engine: IP header fields, the CARP checksum,
  and the HMAC recomputed the way FreeBSD's carp_hmac_generate() does
  (HMAC-SHA1, key = password[:20] NUL-padded, message = version 2, type 1,
  vhid, IPv4 VIPs ascending, IPv6 VIPs ascending, then the 8-byte counter).
  The checker first proves itself on the captured ucarp adverts of
  tests/vectors (good ones verify, wrong-password ones do not); a missing
  vector file is a failure.

Ends with the line "fakekern checks: N passed, N failed" (only make test's own
summary is a bare "N passed, M failed" line).
"""
import hashlib
import hmac
import ipaddress
import os
import re
import subprocess
import sys

SANITIZER = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"UndefinedBehaviorSanitizer|AddressSanitizer:DEADLYSIGNAL")


def csum_ok(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def check_pkt(fields):
    """Returns a list of problems with one captured advert."""
    errs = []
    af = int(fields["af"])
    pkt = bytes.fromhex(fields["hex"])
    key = fields.get("key", "").encode()
    vips = [ipaddress.ip_address(a) for a in fields.get("vips", "").split(",") if a]
    if af == 4:
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            return ["not an IPv4 packet"]
        hl = (pkt[0] & 15) * 4
        if pkt[9] != 112:
            errs.append("IP protocol %d, not 112" % pkt[9])
        if pkt[8] != 255:
            errs.append("TTL %d, not 255" % pkt[8])
        if int.from_bytes(pkt[2:4], "big") != len(pkt):
            errs.append("ip_len %d != %d" % (int.from_bytes(pkt[2:4], "big"), len(pkt)))
        if "tos" in fields and pkt[1] != int(fields["tos"]):
            errs.append("TOS %#x, expected %#x" % (pkt[1], int(fields["tos"])))
        if "src" in fields and str(ipaddress.ip_address(pkt[12:16])) != fields["src"]:
            errs.append("src %s, expected the parent's %s" % (
                ipaddress.ip_address(pkt[12:16]), fields["src"]))
        if "dst" in fields and str(ipaddress.ip_address(pkt[16:20])) != fields["dst"]:
            errs.append("dst %s, expected %s" % (ipaddress.ip_address(pkt[16:20]), fields["dst"]))
        carp = pkt[hl:]
    else:
        if len(pkt) < 40 or pkt[0] >> 4 != 6:
            return ["not an IPv6 packet"]
        if pkt[6] != 112:
            errs.append("next header %d, not 112" % pkt[6])
        if pkt[7] != 255:
            errs.append("hop limit %d, not 255" % pkt[7])
        carp = pkt[40:]
    if fields.get("proto") == "vrrp3":
        return errs + check_vrrp3(fields, pkt, af, carp, vips)
    if len(carp) != 36:
        return errs + ["CARP payload is %d bytes, not 36" % len(carp)]
    if carp[0] != 0x21:
        errs.append("version/type %#x, not 0x21" % carp[0])
    if "vhid" in fields and int(fields["vhid"]) >= 0 and carp[1] != int(fields["vhid"]):
        errs.append("vhid %d, expected %s" % (carp[1], fields["vhid"]))
    for name, off in (("advskew", 2), ("advbase", 5)):
        if name in fields and carp[off] != int(fields[name]):
            errs.append("%s %d, expected %s" % (name, carp[off], fields[name]))
    if carp[3] != 7:
        errs.append("authlen %d, not 7" % carp[3])
    if not csum_ok(carp):
        errs.append("bad CARP checksum")
    msg = bytes([2, 1, carp[1]])
    for fam in (4, 6):
        for a in sorted(v for v in vips if v.version == fam):
            msg += a.packed
    msg += carp[8:16]
    want = hmac.new(key[:20].ljust(20, b"\0"), msg, hashlib.sha1).digest()
    if carp[16:36] != want:
        errs.append("HMAC does not verify with key %r and VIPs %s" % (key, fields.get("vips")))
    return errs


def check_vrrp3(fields, pkt, af, v, vips):
    """RFC 9568 advert: header, addresses, checksum over the pseudo-header."""
    errs = []
    if len(v) < 8:
        return ["VRRP payload is %d bytes" % len(v)]
    if v[0] != 0x31:
        errs.append("version/type %#x, not 0x31" % v[0])
    for name, got in (("vhid", v[1]), ("prio", v[2]),
                      ("adv", int.from_bytes(v[4:6], "big") & 0xFFF)):
        if name in fields and int(fields[name]) >= 0 and got != int(fields[name]):
            errs.append("%s %d, expected %s" % (name, got, fields[name]))
    alen = 4 if af == 4 else 16
    addrs = [ipaddress.ip_address(v[8 + i * alen:8 + (i + 1) * alen]) for i in range(v[3])]
    if len(v) != 8 + v[3] * alen:
        errs.append("length %d does not match %d addresses" % (len(v), v[3]))
    if sorted(addrs) != sorted(vips):
        errs.append("addresses %s, expected %s" % (addrs, vips))
    if af == 4:
        pseudo = pkt[12:16] + pkt[16:20] + bytes([0, 112]) + len(v).to_bytes(2, "big")
    else:
        pseudo = pkt[8:24] + pkt[24:40] + len(v).to_bytes(4, "big") + bytes([0, 0, 0, 112])
    if not csum_ok(pseudo + v):
        errs.append("bad VRRPv3 checksum (RFC 9568 pseudo-header)")
    return errs


def self_test(vectors):
    """The checker must accept real adverts and reject wrong-password ones."""
    import json
    with open(vectors) as f:
        vecs = json.load(f)
    for v in vecs:
        frame = bytes.fromhex(v["frame_hex"])
        fields = {"af": "4", "hex": frame[14:].hex(), "key": "testpass",
                  "vips": ",".join(v["vips"]), "vhid": str(v["vhid"])}
        ok = not check_pkt(fields)
        if ok != v["hmac_ok"]:
            return "checker disagrees with capture %s frame %d" % (v["pcap"], v["frame"])
    with open(os.path.join(os.path.dirname(vectors), "vrrp-vectors.json")) as f:
        for v in json.load(f):
            if v["version"] != 3:
                continue
            frame = bytes.fromhex(v["frame_hex"])
            fields = {"af": "4", "hex": frame[14:].hex(), "proto": "vrrp3",
                      "vips": ",".join(v["vips"]), "vhid": str(v["vrid"])}
            if (not check_pkt(fields)) != v["cksum_ok"]:
                return "VRRPv3 checker disagrees with capture %s frame %d" % (
                    v["pcap"], v["frame"])
    return None


def main():
    binary = sys.argv[1]
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:"
                   "detect_stack_use_after_return=1:strict_string_checks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    try:
        proc = subprocess.run([binary] + sys.argv[2:], capture_output=True, text=True,
                              timeout=int(env.get("FK_TIMEOUT", "300")), env=env)
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, rc = "timed out", -1
    passed = failed = skipped = 0
    # The sanitizers must be live: each canary must be caught.
    for canary, pattern in (("canary_asan", "heap-buffer-overflow"),
                            ("canary_ubsan", "runtime error: shift exponent")):
        c = subprocess.run([binary, canary], capture_output=True, text=True,
                           timeout=60, env=env)
        if pattern in c.stderr and c.returncode != 0:
            print("ok %s" % canary)
            passed += 1
        else:
            print("FAIL %s: the sanitizer did not report it (exit %d)" % (canary, c.returncode))
            failed += 1
    vectors = os.environ.get("FK_VECTORS", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "../vectors/carp-vectors.json"))
    missing = [p for p in (vectors, os.path.join(os.path.dirname(vectors), "vrrp-vectors.json"))
               if not os.path.isfile(p)]
    if missing:
        print("FAIL checker_self_test: test vector missing: %s; the repository carries it: "
              "restore it with `git checkout tests/vectors` or regenerate with `make vectors`"
              % ", ".join(missing))
        failed += 1
    else:
        problem = self_test(vectors)
        if problem:
            print("FAIL checker_self_test: " + problem)
            failed += 1
        else:
            print("ok checker_self_test")
            passed += 1
    pkt_bad = {}
    pkts = 0
    counters = {}
    for line in out.splitlines():
        if line.startswith("PKT "):
            fields = dict(kv.split("=", 1) for kv in line.split()[2:])
            pkts += 1
            problems = check_pkt(fields)
            # FreeBSD's counter grows by one per advert of a vhid (its
            # softc: one per vhid and interface, so per vnet too).
            raw = bytes.fromhex(fields["hex"])
            if fields.get("proto") != "vrrp3" and len(raw) >= 36:
                hl = (raw[0] & 15) * 4 if fields["af"] == "4" else 40
                key = (line.split()[1], fields["af"], fields.get("ifindex"),
                       raw[hl + 1])
                ctr = int.from_bytes(raw[hl + 8:hl + 16], "big")
                if key in counters and ctr <= counters[key]:
                    problems.append("counter %#x not above the previous %#x" % (
                        ctr, counters[key]))
                counters[key] = ctr
            if problems:
                pkt_bad.setdefault(line.split()[1], []).extend(problems)
            continue
        print(line)
        if line.startswith("ok "):
            name = line.split()[1]
            if name in pkt_bad:
                print("FAIL %s: packet check: %s" % (name, "; ".join(pkt_bad[name])))
                failed += 1
            else:
                passed += 1
        elif line.startswith("FAIL "):
            failed += 1
        elif line.startswith("skip "):
            skipped += 1
    if len(sys.argv) > 2:
        pass
    if SANITIZER.search(err) or SANITIZER.search(out):
        print(err)
        print("FAIL sanitizer: a sanitizer reported an error (above)")
        failed += 1
    elif rc != 0 and failed == 0:
        print(err)
        print("FAIL run: exit status %d" % rc)
        failed += 1
    elif err.strip():
        print(err.rstrip())
    if not re.search(r"^fakekern: ", out, re.M):
        print("FAIL run: the binary did not finish")
        failed += 1
    print("%d adverts checked (checksum, HMAC); %d scenario(s) skipped" % (pkts, skipped))
    print("fakekern checks: %d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
