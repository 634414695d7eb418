#!/usr/bin/env python3
"""Deterministic 384-d cosine ANN dataset in TEXMEX format, shaped like
sentence embeddings (all-MiniLM-L6-v2 produces 384-d unit vectors whose
covariance spectrum decays roughly as a power law).

Writes base.fvecs (N x D), queries.fvecs (NQ x D) and gt.ivecs (exact
top-100 by cosine distance, ties by lower id) into --out.

Model (seeded numpy Generator, identical bytes on every run): per-axis
standard deviations sigma_j = (j + 1)^(-alpha / 2) (variance power law with
exponent alpha); C cluster centres ~ N(0, diag(sigma^2)); a point is
centre + spread * N(0, diag(sigma^2)) for a per-cluster spread in
[0.6, 1.2]; every row is then rotated by one random orthogonal matrix (so
the spectrum is not axis-aligned) and normalised to unit length. Queries
come from the same model (they are not base points).
"""
import argparse
import os
import numpy as np

from gen_dataset import write_vecs


def sample(rng, centres, sigma, spread, rot, n):
    c = rng.integers(0, len(centres), size=n)
    x = centres[c] + rng.standard_normal((n, len(sigma)), dtype=np.float32) * sigma[None, :] * spread[c, None]
    x = x @ rot
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def exact_cosine_gt(base, queries, k=100):
    """The k nearest base rows of every query by cosine distance of unit
    rows (1 - dot, in float64), nearest first, ties by row index."""
    b64 = base.astype(np.float64)
    gt = np.empty((len(queries), k), dtype=np.int32)
    for i in range(0, len(queries), 200):
        q = queries[i:i + 200].astype(np.float64)
        d = 1.0 - q @ b64.T
        idx = np.argpartition(d, k, axis=1)[:, :k]
        for r in range(len(q)):
            row = idx[r]
            order = np.lexsort((row, d[r, row]))
            gt[i + r] = row[order]
    return gt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--clusters", type=int, default=500)
    ap.add_argument("--alpha", type=float, default=1.0, help="variance power-law exponent")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    sigma = ((np.arange(a.dim) + 1.0) ** (-a.alpha / 2)).astype(np.float32)
    rot, _ = np.linalg.qr(rng.standard_normal((a.dim, a.dim)))
    rot = rot.astype(np.float32)
    centres = (rng.standard_normal((a.clusters, a.dim)) * sigma[None, :]).astype(np.float32)
    spread = rng.uniform(0.6, 1.2, size=a.clusters).astype(np.float32)
    base = np.concatenate([sample(rng, centres, sigma, spread, rot, min(10000, a.n - i)) for i in range(0, a.n, 10000)])
    queries = sample(rng, centres, sigma, spread, rot, a.nq)
    gt = exact_cosine_gt(base, queries)
    write_vecs(os.path.join(a.out, "base.fvecs"), base, np.float32)
    write_vecs(os.path.join(a.out, "queries.fvecs"), queries, np.float32)
    write_vecs(os.path.join(a.out, "gt.ivecs"), gt, np.int32)
    print(f"gen_cos_dataset: {a.n} x {a.dim} unit rows (alpha {a.alpha}, {a.clusters} clusters), {a.nq} queries, gt top-100 -> {a.out}")


if __name__ == "__main__":
    main()
