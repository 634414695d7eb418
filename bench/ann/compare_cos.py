#!/usr/bin/env python3
"""Table of several engines' JSON results on one dataset (vexfs-bench in f32
and int8 mode, hnswlib, usearch per dtype), all from one run.

compare_cos.py TITLE OUT_JSON NAME=FILE... (the first NAME that starts with
"hnswlib" is the baseline of the ratios; the VexFS rows are also compared
with every other hnswlib run, e.g. hnswlib-thp). Prints recall@10 / QPS per ef, QPS
at recall 0.95 and 0.99 (interpolated as compare.py does), build time and
bytes per vector, with ratios against hnswlib and every usearch run; writes
the same numbers as one JSON object to OUT_JSON (read by bench/report.py)."""
import json
import os
import sys

from compare import qps_at_recall

TARGETS = (0.95, 0.99)


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: compare_cos.py TITLE OUT_JSON NAME=FILE...")
    title, out = sys.argv[1], sys.argv[2]
    runs = []
    for arg in sys.argv[3:]:
        name, sep, path = arg.partition("=")
        if not sep:
            sys.exit(f"compare_cos.py: expected NAME=FILE, got {arg!r}")
        with open(path) as f:
            runs.append((name, json.load(f)))
    base = next((n for n, _ in runs if n.startswith("hnswlib")), None)
    if base is None:
        sys.exit("compare_cos.py: no hnswlib run to compare against")
    others = [n for n, _ in runs if n.startswith("usearch")]
    more_hnswlib = [n for n, _ in runs if n.startswith("hnswlib") and n != base]
    summary = {"title": title, "baseline": base, "engines": {}}
    for name, d in runs:
        summary["engines"][name] = {
            "build_s": d["build_s"],
            "bytes_per_vector": d["bytes_per_vector"],
            "float_bytes_per_vector": d.get("float_bytes_per_vector"),
            "huge_page_bytes": d.get("huge_page_bytes"),
            "qps_at": {str(t): qps_at_recall(d["results"], t) for t in TARGETS},
            "results": d["results"],
        }
    eng = summary["engines"]

    def ratio(a, b, t):
        x, y = eng[a]["qps_at"][str(t)], eng[b]["qps_at"][str(t)]
        return x / y if x and y else None

    def peers(name):
        """What a row is compared with: hnswlib, for the VexFS rows also
        every other hnswlib run (hnswlib-thp), every usearch run, and for
        the compressed mode also the f32 mode."""
        ps = [base] + (more_hnswlib if name.startswith("vexfs") else []) + others \
            + ([n for n, _ in runs if n == "vexfs-f32"] if name == "vexfs-int8" else [])
        return [o for o in ps if o != name]

    print(f"\n== ANN benchmark {title} (single thread, recall@10) ==")
    efs = [r["ef"] for r in runs[0][1]["results"]]
    head = f"{'ef':>5} |" + "|".join(f" {n:>22} " for n, _ in runs)
    print(head)
    print(f"{'':>5} |" + "|".join(f" {'recall':>9} {'QPS':>12} " for _ in runs))
    for ef in efs:
        cells = []
        for _, d in runs:
            r = next((x for x in d["results"] if x["ef"] == ef), None)
            cells.append(f" {r['recall']:>9.4f} {r['qps']:>12.0f} " if r else f" {'':>22} ")
        print(f"{ef:>5} |" + "|".join(cells))
    for t in TARGETS:
        print(f"\nQPS at recall {t} (interpolated):")
        for name, _ in runs:
            q = eng[name]["qps_at"][str(t)]
            if q is None:
                print(f"  {name:<14} not reached")
                continue
            rs = [f"{ratio(name, o, t):.2f}x {o}" for o in peers(name) if ratio(name, o, t)]
            print(f"  {name:<14} {q:>9.0f}" + (f"   ({', '.join(rs)})" if rs else ""))
    print("\nbuild time and memory:")
    for name, _ in runs:
        e = eng[name]
        extra = f" + {e['float_bytes_per_vector']:.0f} float32 for re-ranking (not resident)" if name.endswith("int8") else ""
        print(f"  {name:<14} build {e['build_s']:>7.2f} s ({e['build_s'] / eng[base]['build_s']:.2f}x {base}), "
              f"bytes/vector {e['bytes_per_vector']:>7.1f} ({e['bytes_per_vector'] / eng[base]['bytes_per_vector']:.2f}x {base}){extra}")
    summary["ratios"] = {name: {str(t): {o: ratio(name, o, t) for o in peers(name)} for t in TARGETS}
                         for name, _ in runs}
    with open(out + ".tmp", "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
