#!/usr/bin/env python3
"""Writes the fuzz seed corpora into fuzz/corpus/<target>/ from the captured
vectors (payload_hex of every CARP, VRRPv3 and VRRPv2 advert).

usage: seed_corpus.py VECTORS_DIR OUT_DIR
"""
import csv
import hashlib
import ipaddress
import os
import sys


def put(out, target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rows(path):
    if not os.path.isfile(path):
        sys.exit(f"seed_corpus: FAILED: test vector missing: {path}; the repository carries it: "
                 "restore it with `git checkout tests/vectors` or regenerate with `make vectors`")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def record(ctl, payload):
    return bytes([ctl, min(len(payload), 255)]) + payload[:255]


def main():
    vectors, out = sys.argv[1], sys.argv[2]
    carp = rows(os.path.join(vectors, "carp-vectors.csv"))
    vrrp = rows(os.path.join(vectors, "vrrp-vectors.csv"))
    n = 0
    carp_payloads, vrrp_payloads = [], []
    for r in carp:
        p = bytes.fromhex(r["payload_hex"])
        carp_payloads.append(p)
        put(out, "wire_parsers", p)
        # handle_packet: iface 1 (CARP), peer 192.0.2.2, TTL 255.
        put(out, "handle_packet", record(0x00, p))
        # auth_verify: [klen][key][vhid][n4][n6][counter][v4 addrs][digest]
        pw = (r.get("matched_password") or r.get("password") or "").encode()[:20]
        vips = [ipaddress.ip_address(v) for v in r["vips"].split() if v]
        v4 = [v.packed for v in vips if v.version == 4][:7]
        a = bytes([len(pw)]) + pw + bytes([int(r["vhid"]), len(v4), 0])
        a += bytes.fromhex(r["counter"]) + b"".join(v4) + bytes.fromhex(r["digest"])
        put(out, "auth_verify", a)
        n += 1
    for r in vrrp:
        p = bytes.fromhex(r["payload_hex"])
        vrrp_payloads.append(p)
        put(out, "wire_parsers", p)
        put(out, "handle_packet", record(0x10, p))
        n += 1
    # Sequences: a few adverts with time passing in between, so inputs
    # reach timers, elections and preemption.
    for i in range(0, min(len(carp_payloads), 40), 4):
        seq = b"".join(record(0x20 * (k % 8), p) for k, p in enumerate(carp_payloads[i:i + 4]))
        put(out, "handle_packet", seq)
    for i in range(0, min(len(vrrp_payloads), 40), 4):
        seq = b"".join(record(0x10 | 0x20 * (k % 8), p) for k, p in enumerate(vrrp_payloads[i:i + 4]))
        put(out, "handle_packet", seq)
    for t in ("wire_parsers", "handle_packet", "auth_verify"):
        os.makedirs(os.path.join(out, t), exist_ok=True)
    print(f"seed_corpus: {n} captured adverts from {vectors} -> {out}")
    if n == 0:
        sys.exit(f"seed_corpus: FAILED: no captured advert in {vectors}: the corpora would start empty")


if __name__ == "__main__":
    main()
