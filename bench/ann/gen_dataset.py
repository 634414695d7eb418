#!/usr/bin/env python3
"""Deterministic clustered ANN dataset in TEXMEX format.

Writes base.fvecs (N x D), queries.fvecs (NQ x D) and gt.ivecs (exact
top-100 by squared L2, ties by lower id) into --out.

Model (seeded numpy Generator, so the bytes are identical on every run):
C cluster centres ~ N(0, 1)^D; every cluster has its own random 24-dim
subspace and scale; a point is centre + basis @ z * scale + 0.3 * noise,
z ~ N(0, 1)^24, noise ~ N(0, 1)^D. Queries come from the same model (they are
not base points). Low intrinsic dimension inside clusters, like real
embeddings, plus full-dimensional noise.
"""
import argparse
import os
import numpy as np


def write_vecs(path, a, dtype):
    a = np.ascontiguousarray(a, dtype=dtype)
    n, d = a.shape
    out = np.empty((n, d + 1), dtype=np.int32)
    out[:, 0] = d
    out[:, 1:] = a.view(np.int32)
    out.tofile(path)


def sample(rng, centres, bases, scales, n):
    c = rng.integers(0, len(centres), size=n)
    z = rng.standard_normal((n, bases.shape[1]), dtype=np.float32)
    x = centres[c] + np.einsum("nk,nkd->nd", z, bases[c]) * scales[c, None]
    x += 0.3 * rng.standard_normal(x.shape, dtype=np.float32)
    return x.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--clusters", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    k = 24
    centres = rng.standard_normal((a.clusters, a.dim), dtype=np.float32)
    bases = rng.standard_normal((a.clusters, k, a.dim), dtype=np.float32) / np.sqrt(a.dim)
    scales = rng.uniform(0.5, 1.5, size=a.clusters).astype(np.float32)
    base = np.concatenate([sample(rng, centres, bases, scales, min(10000, a.n - i)) for i in range(0, a.n, 10000)])
    queries = sample(rng, centres, bases, scales, a.nq)
    # exact ground truth (squared L2), in float64 to be safe
    b64 = base.astype(np.float64)
    bn = (b64 * b64).sum(1)
    gt = np.empty((a.nq, 100), dtype=np.int32)
    for i in range(0, a.nq, 200):
        q = queries[i:i + 200].astype(np.float64)
        d = bn[None, :] - 2.0 * q @ b64.T + (q * q).sum(1)[:, None]
        idx = np.argpartition(d, 100, axis=1)[:, :100]
        for r in range(len(q)):
            row = idx[r]
            order = np.lexsort((row, d[r, row]))
            gt[i + r] = row[order]
    write_vecs(os.path.join(a.out, "base.fvecs"), base, np.float32)
    write_vecs(os.path.join(a.out, "queries.fvecs"), queries, np.float32)
    write_vecs(os.path.join(a.out, "gt.ivecs"), gt, np.int32)
    print(f"gen_dataset: {a.n} x {a.dim} base, {a.nq} queries, gt top-100 -> {a.out}")


if __name__ == "__main__":
    main()
