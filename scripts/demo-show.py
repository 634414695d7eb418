#!/usr/bin/env python3
"""Print `make demo`'s answers: for each query, the files VexFS returned (HNSW search in
the VM) with their distances and a snippet of each file as read back from VexFS, and how
the HNSW answer compares with the exact (brute-force) answer of the same kernel.

usage: demo-show.py QUERIES.txt RESULTS_DIR
RESULTS_DIR (written by the guest): qN.txt and qN.exact.txt (`vexctl search` tables),
files/<path> (the hit files copied out of the VexFS mount), status.txt, stats.txt.
"""
import os
import re
import sys
import textwrap


def table(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\s*(\d+)\s+(\S+)\s+(.+?)\s*$", line)
            if m:
                rows.append((int(m.group(1)), float(m.group(2)), m.group(3)))
    return rows


def snippet(path, width=100, words=38):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    title = ""
    lines = text.splitlines()
    if lines and lines[0].startswith("Title: "):
        title = lines[0][len("Title: "):]
    body = " ".join(l for l in lines[1:] if l and not l.startswith("Source: "))
    ws = body.split()
    s = " ".join(ws[:words]) + (" ..." if len(ws) > words else "")
    return title, textwrap.wrap(s, width)


def main():
    qfile, res = sys.argv[1], sys.argv[2]
    queries = [l.strip() for l in open(qfile, encoding="utf-8") if l.strip() and not l.startswith("#")]
    agree_total = n_total = 0
    for i, q in enumerate(queries, 1):
        hits = table(os.path.join(res, f"q{i}.txt"))
        exact = table(os.path.join(res, f"q{i}.exact.txt"))
        print(f"\n[{i}] \"{q}\"")
        for rank, dist, p in hits:
            title, snip = snippet(os.path.join(res, "files", p))
            print(f"  {rank}. {dist:.3f}  {p}")
            print(f"       {title}")
            for line in snip[:2]:
                print(f"       | {line}")
        same = len({p for _, _, p in hits} & {p for _, _, p in exact})
        agree_total += same
        n_total += len(exact)
        print(f"     (HNSW top-{len(hits)} vs exact scan: {same} of {len(exact)} files in common)")
    print(f"\nHNSW vs exact over all queries: {agree_total}/{n_total} of the exact top results found")
    for name in ("status.txt", "stats.txt"):
        p = os.path.join(res, name)
        if os.path.exists(p):
            print(f"\n--- vexctl {name[:-4]} (in the VM)")
            sys.stdout.write(open(p, encoding="utf-8").read())


if __name__ == "__main__":
    main()
