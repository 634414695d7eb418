#!/usr/bin/env python3
"""usearch (PyPI `usearch`) on the same TEXMEX files, single thread, same
output as `vexfs-bench --json` ({"build_s", "bytes_per_vector", "results":
[{"ef", "recall", "qps"}]}) plus "dtype", "bytes_per_vector_rss" (resident-memory growth during the build
/ n) and "bytes_per_vector_memory_usage" (usearch's own `memory_usage` / n,
which includes reserved capacity). bytes_per_vector is the saved index size
/ n (vectors in --dtype plus its graph), as run_hnswlib.py measures hnswlib."""
import argparse
import json
import os
import tempfile
import time

import numpy as np
from usearch.index import Index

from run_hnswlib import read_vecs, rss_bytes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--gt", required=True)
    ap.add_argument("--metric", default="l2")
    ap.add_argument("--dtype", default="f32", help="f32, f16, bf16 or i8")
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
    metric = {"l2": "l2sq", "cosine": "cos", "ip": "ip", "dot": "ip"}[a.metric]
    r0 = rss_bytes()
    # usearch's connectivity is hnswlib's M (level 0 gets 2M);
    # expansion_add / expansion_search are ef_construction / ef.
    idx = Index(ndim=dim, metric=metric, dtype=a.dtype, connectivity=a.M,
                expansion_add=a.ef_construction, expansion_search=a.k)
    t0 = clock()
    idx.add(np.arange(n), base, threads=1)
    build_s = clock() - t0
    rss = rss_bytes() - r0
    mem = idx.memory_usage
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "idx.usearch")
        idx.save(p)
        saved = os.path.getsize(p)
    results = []
    for ef in [int(x) for x in a.ef.split(",")]:
        idx.expansion_search = max(ef, a.k)
        secs = float("inf")
        for _ in range(max(1, a.repeat)):
            t = clock()
            m = idx.search(queries, a.k, threads=1)
            secs = min(secs, clock() - t)
        keys = np.asarray(m.keys)
        hits = sum(len(set(keys[i].tolist()) & set(gt[i].tolist())) for i in range(len(queries)))
        results.append({"ef": ef, "recall": hits / (len(queries) * a.k), "qps": len(queries) / secs})
    print(json.dumps({"dtype": a.dtype, "build_s": build_s, "bytes_per_vector": saved / n,
                      "bytes_per_vector_rss": rss / n, "bytes_per_vector_memory_usage": mem / n, "results": results}))


if __name__ == "__main__":
    main()
