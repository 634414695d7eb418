#!/usr/bin/env python3
"""Build the `make demo` corpus: whole files of the Linux kernel's own documentation.

Source: Debian's linux-source-6.1 package (/usr/src/linux-source-6.1.tar.xz). The .rst and
.txt files under a few distinct subject areas of Documentation/ (power management,
cgroups, filesystems, networking, sound, USB, scheduler, memory, security, development
process, input devices, virtualisation, tracing, BPF, crypto, block devices) whose size is
between --min-bytes and --max-bytes are candidates; --files of them are kept, spread evenly
over each area's sorted list (every area gets its share). Files are extracted unchanged to

    OUT/Documentation/<path>

so `vexctl index` sees the real documents, not passages cut from them. Deterministic for a
given tarball and options. Standard library only.

usage: demo-docs.py [--tar PATH] [--files N] [--min-bytes N] [--max-bytes N]
                    [--require PATH]... OUT
--require names a file (path under Documentation/) that must be in the selection.
"""
import argparse
import os
import shutil
import sys
import tarfile

AREAS = [
    "admin-guide/pm/", "power/", "admin-guide/cgroup-v1/", "admin-guide/cgroup-v2",
    "filesystems/", "networking/", "sound/", "usb/", "driver-api/usb/", "scheduler/",
    "admin-guide/mm/", "mm/", "admin-guide/LSM/", "security/", "process/", "input/",
    "virt/", "trace/", "bpf/", "crypto/", "block/",
]


def area_of(rel):
    for a in AREAS:
        if rel.startswith(a):
            return a
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tar", default="/usr/src/linux-source-6.1.tar.xz")
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--min-bytes", type=int, default=1000)
    ap.add_argument("--max-bytes", type=int, default=6000)
    ap.add_argument("--require", action="append", default=[])
    ap.add_argument("out")
    a = ap.parse_args()

    by_area = {}
    members = {}
    with tarfile.open(a.tar) as t:
        for m in t:
            if not m.isfile():
                continue
            parts = m.name.split("/", 2)
            if len(parts) < 3 or parts[1] != "Documentation":
                continue
            rel = parts[2]
            if not rel.endswith((".rst", ".txt")):
                continue
            ar = area_of(rel)
            if ar is None or not (a.min_bytes <= m.size <= a.max_bytes):
                continue
            by_area.setdefault(ar, []).append(rel)
            members[rel] = m.name
        if not by_area:
            sys.exit(f"demo-docs: no Documentation files found in {a.tar}")
        share = max(1, a.files // len(by_area))
        chosen = set()
        for ar in sorted(by_area):
            names = sorted(by_area[ar])
            if len(names) <= share:
                chosen.update(names)
            else:
                step = len(names) / share
                chosen.update(names[int(i * step)] for i in range(share))
        for r in a.require:
            if r not in members:
                sys.exit(f"demo-docs: required file Documentation/{r} is not a candidate")
            chosen.add(r)
        if os.path.exists(a.out):
            shutil.rmtree(a.out)
        total = 0
        for rel in sorted(chosen):
            data = t.extractfile(members[rel]).read()
            dst = os.path.join(a.out, "Documentation", rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(data)
            total += len(data)
    print(f"demo-docs: {len(chosen)} files ({total // 1024} KiB) from {len(by_area)} areas of Documentation/ in {a.out}")


if __name__ == "__main__":
    main()
