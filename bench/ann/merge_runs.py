#!/usr/bin/env python3
"""Merges one engine's JSON results from several benchmark rounds into one.

merge_runs.py OUT IN...

bench-ann and bench-ann-cos run every engine ANN_ROUNDS times, the engines
alternating, so that a spell of cache or memory contention from other work
on a shared host does not fall on one engine only. Per ef the merged result
is the round with the most queries per second (its recall and QPS were
measured together); the build time is the fastest round's; everything else
comes from the first round. `rounds` says how many were merged and
`recall_varied` whether an ef's recall differed between rounds (the builds
are seeded, so it should not)."""
import json
import os
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: merge_runs.py OUT IN...")
    out, ins = sys.argv[1], sys.argv[2:]
    runs = []
    for p in ins:
        try:
            with open(p) as f:
                runs.append(json.load(f))
        except (OSError, ValueError) as e:
            sys.exit(f"merge_runs.py: {p}: {e}")
    merged = dict(runs[0])
    efs = [r["ef"] for r in runs[0]["results"]]
    results, varied = [], False
    for ef in efs:
        pts = []
        for p, d in zip(ins, runs):
            r = next((x for x in d["results"] if x["ef"] == ef), None)
            if r is None:
                sys.exit(f"merge_runs.py: {p} has no result for ef {ef}")
            pts.append(r)
        varied |= len({round(r["recall"], 6) for r in pts}) > 1
        results.append(max(pts, key=lambda r: r["qps"]))
    merged["results"] = results
    merged["build_s"] = min(d["build_s"] for d in runs)
    merged["rounds"] = len(runs)
    merged["recall_varied"] = varied
    with open(out + ".tmp", "w") as f:
        json.dump(merged, f, indent=1)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
