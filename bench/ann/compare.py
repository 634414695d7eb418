#!/usr/bin/env python3
"""Side-by-side table of vexfs-bench and hnswlib JSON results."""
import json
import sys


def first_at(res, target):
    for r in sorted(res, key=lambda r: r["ef"]):
        if r["recall"] >= target:
            return r
    return None


def qps_at_recall(res, target):
    """QPS at recall `target`, linear interpolation between the two ef points
    around it (None if never reached)."""
    pts = sorted(res, key=lambda r: r["ef"])
    prev = None
    for r in pts:
        if r["recall"] >= target:
            if prev is None or prev["recall"] >= r["recall"]:
                return r["qps"]
            f = (target - prev["recall"]) / (r["recall"] - prev["recall"])
            return prev["qps"] + f * (r["qps"] - prev["qps"])
        prev = r
    return None


def main():
    v = json.load(open(sys.argv[1]))
    h = json.load(open(sys.argv[2]))
    title = sys.argv[3] if len(sys.argv) > 3 else ""
    print(f"\n== ANN benchmark {title} (single thread, recall@10) ==")
    print(f"{'ef':>5} | {'vexfs recall':>12} {'vexfs QPS':>10} | {'hnswlib recall':>14} {'hnswlib QPS':>11} | {'QPS ratio':>9}")
    hm = {r["ef"]: r for r in h["results"]}
    for r in v["results"]:
        o = hm.get(r["ef"])
        if o:
            print(f"{r['ef']:>5} | {r['recall']:>12.4f} {r['qps']:>10.0f} | {o['recall']:>14.4f} {o['qps']:>11.0f} | {r['qps'] / o['qps']:>9.2f}")
        else:
            print(f"{r['ef']:>5} | {r['recall']:>12.4f} {r['qps']:>10.0f} |")
    for target in (0.95, 0.99):
        a, b = qps_at_recall(v["results"], target), qps_at_recall(h["results"], target)
        if a and b:
            print(f"QPS at recall {target} (interpolated): vexfs {a:.0f}, hnswlib {b:.0f}, ratio {a / b:.2f}")
        else:
            print(f"QPS at recall {target}: not reached by {'vexfs' if not a else 'hnswlib'}")
    fa, fb = first_at(v["results"], 0.95), first_at(h["results"], 0.95)
    if fa and fb:
        print(f"first ef with recall >= 0.95: vexfs ef={fa['ef']} ({fa['qps']:.0f} QPS), hnswlib ef={fb['ef']} ({fb['qps']:.0f} QPS), ratio {fa['qps'] / fb['qps']:.2f}")
    print(f"build time: vexfs {v['build_s']:.2f} s, hnswlib {h['build_s']:.2f} s, ratio (vexfs/hnswlib) {v['build_s'] / h['build_s']:.2f}")
    extra = f", hnswlib process RSS growth {h['bytes_per_vector_rss']:.1f}" if "bytes_per_vector_rss" in h else ""
    print(f"bytes per vector: vexfs {v['bytes_per_vector']:.1f} (graph words + vectors), hnswlib {h['bytes_per_vector']:.1f} (saved index){extra}")


if __name__ == "__main__":
    main()
