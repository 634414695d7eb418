#!/usr/bin/env python3
"""hnswlib on the same TEXMEX files, single thread, same output as
`vexfs-bench --json`: {"build_s", "bytes_per_vector", "results": [{"ef", "recall", "qps"}]}
plus "bytes_per_vector_rss" (resident-memory growth during the build / n) and
"huge_page_bytes" (the process's memory in transparent huge pages after the
searches: nonzero when run with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which
makes malloc advise them for hnswlib's arrays)."""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np
import hnswlib


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    rows = raw.reshape(-1, d + 1)
    return rows[:, 1:].copy().view(dtype)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def anon_huge_bytes():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--gt", required=True)
    ap.add_argument("--metric", default="l2")
    ap.add_argument("-M", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="10,20,40,80,160")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cpu-time", action="store_true",
                    help="process CPU time instead of wall time (as vexfs-bench --cpu-time)")
    a = ap.parse_args()
    base = read_vecs(a.base, np.float32)
    queries = read_vecs(a.queries, np.float32)
    gt = read_vecs(a.gt, np.int32)[:, : a.k]
    n, dim = base.shape
    clock = time.process_time if a.cpu_time else time.perf_counter
    space = {"l2": "l2", "cosine": "cosine", "ip": "ip", "dot": "ip"}[a.metric]
    r0 = rss_bytes()
    idx = hnswlib.Index(space=space, dim=dim)
    idx.init_index(max_elements=n, ef_construction=a.ef_construction, M=a.M, random_seed=100)
    idx.set_num_threads(1)
    t0 = clock()
    idx.add_items(base, np.arange(n), num_threads=1)
    build_s = clock() - t0
    rss = rss_bytes() - r0
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "idx.bin")
        idx.save_index(p)
        saved = os.path.getsize(p)
    results = []
    for ef in [int(x) for x in a.ef.split(",")]:
        idx.set_ef(max(ef, a.k))
        secs = float("inf")
        for _ in range(max(1, a.repeat)):
            t = clock()
            labels, _ = idx.knn_query(queries, k=a.k, num_threads=1)
            secs = min(secs, clock() - t)
        hits = sum(len(set(labels[i]) & set(gt[i])) for i in range(len(queries)))
        results.append({"ef": ef, "recall": hits / (len(queries) * a.k), "qps": len(queries) / secs})
    print(json.dumps({"build_s": build_s, "bytes_per_vector": saved / n, "bytes_per_vector_rss": rss / n,
                      "huge_page_bytes": anon_huge_bytes(), "results": results}))


if __name__ == "__main__":
    main()
