#!/usr/bin/env python3
"""Real sentence embeddings as an ANN dataset: the chunks `vexctl embed --dir
--chunks` wrote to a manifest (all-MiniLM-L6-v2, 384 dimensions, one JSON line
per chunk with its vector), split into held-out queries and base vectors.

gen_real_dataset.py --manifest CHUNKS.jsonl --nq 1000 [--n N] [--seed 7] --out DIR

Chunks whose vector repeats an earlier one (the same text in two files) are
kept once, so that the ground truth has no ties between copies. The rest are
shuffled (seeded); the first NQ are the queries, which are not in the base,
and the next N (0: all the rest) the base. Writes base.fvecs, queries.fvecs
(unit rows), gt.ivecs (exact top-100 by cosine, as gen_cos_dataset.py) and
info.json (the counts), and prints the counts."""
import argparse
import json
import os
import sys

import numpy as np

from gen_cos_dataset import exact_cosine_gt
from gen_dataset import write_vecs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--n", type=int, default=0, help="base vectors (0: every chunk not held out)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = []
    with open(a.manifest) as f:
        for n, line in enumerate(f, 1):
            try:
                v = json.loads(line)["vector"]
            except (ValueError, KeyError) as e:
                sys.exit(f"gen_real_dataset: {a.manifest}:{n}: {e}")
            if not v:
                sys.exit(f"gen_real_dataset: {a.manifest}:{n}: chunk without a vector")
            rows.append(v)
    x = np.asarray(rows, dtype=np.float32)
    if x.ndim != 2 or not np.isfinite(x).all():
        sys.exit(f"gen_real_dataset: {a.manifest}: vectors of unequal length or not finite")
    _, first = np.unique(x, axis=0, return_index=True)
    x = x[np.sort(first)]
    if len(x) <= a.nq + 100:
        sys.exit(f"gen_real_dataset: only {len(x)} distinct vectors for {a.nq} queries")
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x = x[np.random.default_rng(a.seed).permutation(len(x))]
    queries, base = x[:a.nq], x[a.nq:a.nq + a.n if a.n > 0 else len(x)]
    gt = exact_cosine_gt(base, queries)
    os.makedirs(a.out, exist_ok=True)
    write_vecs(os.path.join(a.out, "base.fvecs"), base, np.float32)
    write_vecs(os.path.join(a.out, "queries.fvecs"), queries, np.float32)
    write_vecs(os.path.join(a.out, "gt.ivecs"), gt, np.int32)
    info = {"manifest": os.path.abspath(a.manifest), "chunks": len(rows), "distinct": len(x),
            "n": len(base), "nq": len(queries), "dim": int(x.shape[1]), "seed": a.seed}
    with open(os.path.join(a.out, "info.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"gen_real_dataset: {len(rows)} chunks, {len(x)} distinct vectors: {len(base)} base x {x.shape[1]}, "
          f"{len(queries)} held-out queries, gt top-100 -> {a.out}")


if __name__ == "__main__":
    main()
