/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * vexfs_simd.h - C entry points of the VexFS distance kernels (crate
 * vexfs-simd, built with SSE2/AVX2/AVX-512 enabled as a separate object).
 *
 * Rules for callers in the kernel:
 *  - call these ONLY between kernel_fpu_begin() and kernel_fpu_end(): they use
 *    xmm/ymm/zmm registers. Nothing here sleeps, allocates or takes locks, so a
 *    whole batch (e.g. all neighbours of one HNSW node) fits in one section;
 *  - the vectors they read must stay pinned (no page faults inside the section);
 *  - pass VEXFS_SIMD_CAP_AVX2_FMA in `caps` only if
 *    boot_cpu_has(X86_FEATURE_AVX2) && boot_cpu_has(X86_FEATURE_FMA);
 *    otherwise the SSE2 baseline kernels are used. Add VEXFS_SIMD_CAP_AVX512
 *    only if, in addition, boot_cpu_has(X86_FEATURE_AVX512F) and the kernel
 *    saves the zmm state (cpu_has_xfeatures(XFEATURE_MASK_AVX512, NULL)).
 *
 * Vectors are little-endian IEEE-754 float32 arrays, passed as `const void *`
 * (4-byte aligned) so that C never handles float values. Distances come back
 * as ORDERED u32 KEYS: key(a) < key(b) iff distance a < distance b, where
 *   key(f) = (bits(f) >> 31) ? ~bits(f) : bits(f) | 0x80000000.
 * Metrics are VEXFS_METRIC_L2 / _COSINE / _DOT from vexfs_format.h
 * (squared L2, 1 - cosine similarity, negative inner product; a zero vector
 * has cosine distance 1 to everything).
 *
 * Return value: 0 on success, -EINVAL (-22) on a bad argument (unknown
 * metric, dim 0 or > 4096, stride < dim, an id >= base_count, a NULL pointer).
 * On error the contents of out_keys are unspecified.
 */
#ifndef _VEXFS_SIMD_H
#define _VEXFS_SIMD_H

#include <linux/types.h>

#define VEXFS_SIMD_CAP_AVX2_FMA	0x1u	/* CPU has AVX2 and FMA */
#define VEXFS_SIMD_CAP_AVX512	0x2u	/* and AVX-512F with zmm state saved */
#define VEXFS_SIMD_MAX_DIM	4096u

/*
 * Distances from `query` (dim floats) to the vectors
 *   base + ids[i] * stride   (stride and dim in floats, stride >= dim)
 * for i in [0, n), ids[i] < base_count; keys written to out_keys[i].
 */
int vexfs_simd_dist_batch(__u32 metric, __u32 caps,
			  const void *query, __u32 dim,
			  const void *base, __u32 stride, __u32 base_count,
			  const __u32 *ids, __u32 n, __u32 *out_keys);

/*
 * Distances from `query` (dim floats) to the n vectors vecs[i] (each dim
 * floats, anywhere: e.g. in pinned page-cache pages); keys to out_keys[i].
 */
int vexfs_simd_dist_ptrs(__u32 metric, __u32 caps, const void *query, __u32 dim,
			 const void *const *vecs, __u32 n, __u32 *out_keys);

/*
 * Converts a similarity threshold T (float32 bit pattern t_bits) into the
 * largest distance key that satisfies "similarity >= T": cosine: key(1 - T);
 * dot: key(-T); L2: key(T) (T read as a maximum squared distance).
 * -EINVAL for NaN/Inf or an unknown metric.
 */
int vexfs_simd_threshold_key(__u32 metric, __u32 t_bits, __u32 *out_key);

/*
 * int8 scalar quantisation (simd/src/quant.rs): code records of
 * vexfs_sq8_code_bytes(dim) bytes steer the graph walk; the final
 * candidates are re-ranked with the float32 vectors. For cosine, vectors and
 * queries are normalised into tmp (dim floats) first. Same rules as above
 * (inside kernel_fpu_begin/end, nothing sleeps); -EINVAL on bad arguments
 * or non-finite input.
 */
struct vexfs_sq8_query {
	__u32 metric;
	__u32 qnorm, qmin, step;	/* float32 bit patterns */
};

static inline __u32 vexfs_sq8_code_bytes(__u32 dim)
{
	return (dim + 3) / 4 * 4 + 4;
}

/* Widen running per-dimension min/max with vec (first != 0: start them). */
int vexfs_simd_sq8_observe(__u32 metric, __u32 dim, const void *vec, void *tmp,
			   void *min, void *max, __u32 first);
/* max becomes the step (max - min) / 255, in place. */
int vexfs_simd_sq8_finish(__u32 dim, const void *min, void *max);
/* vec's code record into code (code_len = vexfs_sq8_code_bytes(dim)). */
int vexfs_simd_sq8_encode(__u32 metric, __u32 dim, const void *min, const void *scale,
			  const void *vec, void *tmp, __u8 *code, __u32 code_len);
/* A query folded into weights w[dim] and constants pq. */
int vexfs_simd_sq8_prepare(__u32 metric, __u32 dim, const void *min, const void *scale,
			   const void *query, void *tmp, __s16 *w, struct vexfs_sq8_query *pq);
/* Approximate distance keys to the code records of ids (record id at id * code bytes). */
int vexfs_simd_sq8_dist(__u32 caps, const struct vexfs_sq8_query *pq, const __s16 *w, __u32 dim,
			const __u8 *codes, __u32 ncodes, const __u32 *ids, __u32 n, __u32 *out_keys);
/* The same, the i-th code record at recs[i] (codes kept in slot groups). */
int vexfs_simd_sq8_dist_recs(__u32 caps, const struct vexfs_sq8_query *pq, const __s16 *w, __u32 dim,
			     const __u8 *const *recs, __u32 n, __u32 *out_keys);

#endif /* _VEXFS_SIMD_H */
