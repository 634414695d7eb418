// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-codes.c - the int8 codes that steer kNN graph walks (DiskANN's and
 * Qdrant's layout: compressed codes in memory, the float32 vectors read from
 * the page cache only to re-rank the final candidates). One code record of
 * vexfs_sq8_code_bytes(dim) bytes per slot in its slot group (dim / 4 of the
 * float32 size); the quantiser (per-dimension min and step) is trained from
 * up to VEXFS_SQ8_SAMPLE live vectors at mount, or when the index first
 * reaches VEXFS_SQ8_MIN vectors, and every live slot's code written then;
 * a set's codes are written when it becomes live (vexfs_switch_mem).
 * Vectors outside the trained range get clamped codes: they steer less
 * precisely, the re-rank keeps the answer exact. The quantiser is trained
 * again when the index has grown 4x since (amortised O(1) per vector).
 *
 * The quantiser is kept with the graph: its blocks follow the graph's in the
 * graph file (struct vexfs_sq8_disk, docs/HNSW.md), written and read with
 * it, so a remount steers with the same codes and gives the same answers.
 *
 * Locking: the codes, the quantiser and codes_ready change with vi->lock
 * held for writing (or before the index is published); searches read them
 * under vi->lock held for reading.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/crc32c.h>
#include <asm/fpu/api.h>

#include "vindex.h"

/*
 * The quantiser's copy on disk (struct vexfs_sq8_disk, its magic, version
 * and the training sample VEXFS_SQ8_SAMPLE) is defined in
 * shim/vexfs_format.h: mkfs.vexfs writes the same copy.
 */
/* Trained again when the live count reaches this multiple of the count at training. */
#define VEXFS_SQ8_REGROW	4u

struct vexfs_codes_job {
	u32 *tmp;	/* dim floats: the quantiser's working copy */
	u32 *max;	/* training: the running maximum */
	bool first;
	struct vexfs_sgroup *grp;	/* encoding into a group not yet published; NULL: the index's */
};

/* vexfs_vec_fn (FPU section): widen the running min/max with one vector. */
static int vexfs_codes_observe(struct vexfs_vindex *vi, void *arg, u32 slot, const u32 *vec)
{
	struct vexfs_codes_job *job = arg;
	int err = vexfs_simd_sq8_observe(vi->metric, vi->dim, vec, job->tmp, vi->sq_min, job->max,
					 job->first);

	job->first = false;
	return err;
}

/* vexfs_vec_fn (FPU section): write one slot's code. */
static int vexfs_codes_encode(struct vexfs_vindex *vi, void *arg, u32 slot, const u32 *vec)
{
	struct vexfs_codes_job *job = arg;

	u8 *code = job->grp ? job->grp->codes + (size_t)(slot & VEXFS_SG_MASK) * vi->code_bytes :
		   vexfs_slot_code(vi, slot);

	return vexfs_simd_sq8_encode(vi->metric, vi->dim, vi->sq_min, vi->sq_scale, vec, job->tmp,
				     code, vi->code_bytes);
}

/* The job's buffers, allocated without reclaim into the filesystem (vi->lock may be held). */
static int vexfs_codes_job_init(struct vexfs_vindex *vi, struct vexfs_codes_job *job, u32 **bounce)
{
	unsigned int nofs = memalloc_nofs_save();
	u32 nb = vexfs_vecs_bounce_words(vi->dim);

	job->first = true;
	job->grp = NULL;
	job->tmp = kvcalloc(vi->dim, sizeof(u32), GFP_KERNEL);
	job->max = kvcalloc(vi->dim, sizeof(u32), GFP_KERNEL);
	*bounce = nb ? kvcalloc(nb, sizeof(u32), GFP_KERNEL) : NULL;
	memalloc_nofs_restore(nofs);
	return (!job->tmp || !job->max || (nb && !*bounce)) ? -ENOMEM : 0;
}

static void vexfs_codes_job_free(struct vexfs_codes_job *job, u32 *bounce)
{
	kvfree(job->tmp);
	kvfree(job->max);
	kvfree(bounce);
}

/*
 * fn on every step-th live slot, VEXFS_SCAN_READAHEAD slot numbers gathered
 * in batch at a time (vexfs_vecs_apply pins their vectors).
 */
static int vexfs_codes_each_live(struct vexfs_vindex *vi, u32 *bounce, u32 *batch, u32 step,
				 vexfs_vec_fn fn, struct vexfs_codes_job *job)
{
	u32 i, seen = 0, nbatch = 0;
	int err = 0;

	for (i = 0; i < vi->capacity && !err; i++) {
		struct vexfs_slot_attr *a = vexfs_slot_get(vi, i);

		if (IS_ERR(a))
			return PTR_ERR(a);
		if (!(a->state & VSLOT_LIVE) || seen++ % step)
			continue;
		batch[nbatch++] = i;
		if (nbatch == VEXFS_SCAN_READAHEAD) {
			err = vexfs_vecs_apply(vi, bounce, batch, 0, nbatch, fn, job);
			nbatch = 0;
			cond_resched();
		}
	}
	if (!err && nbatch)
		err = vexfs_vecs_apply(vi, bounce, batch, 0, nbatch, fn, job);
	return err;
}

/*
 * Train the quantiser on an even sample of the live vectors and write every
 * live slot's code (vi->lock held for writing, or before publishing). On
 * failure codes_ready stays false: kNN walks use float32 distances.
 */
int vexfs_codes_train(struct vexfs_vindex *vi)
{
	struct vexfs_codes_job job;
	u32 *bounce = NULL, *batch = NULL;
	int err;

	vi->codes_ready = false;
	if (!vi->nr_live || !vi->sg)
		return 0;
	err = vexfs_codes_job_init(vi, &job, &bounce);
	if (!err) {
		unsigned int nofs = memalloc_nofs_save();

		batch = kvmalloc_array(VEXFS_SCAN_READAHEAD, sizeof(u32), GFP_KERNEL);
		memalloc_nofs_restore(nofs);
		if (!batch)
			err = -ENOMEM;
	}
	/* Train on every step-th live slot, then encode them all. */
	if (!err)
		err = vexfs_codes_each_live(vi, bounce, batch, max(1u, vi->nr_live / VEXFS_SQ8_SAMPLE),
					    vexfs_codes_observe, &job);
	if (!err && job.first)
		err = -ENODATA;	/* no live slot after all */
	if (!err) {
		kernel_fpu_begin();
		err = vexfs_simd_sq8_finish(vi->dim, vi->sq_min, job.max);
		kernel_fpu_end();
	}
	if (!err) {
		memcpy(vi->sq_scale, job.max, vi->dim * sizeof(u32));
		err = vexfs_codes_each_live(vi, bounce, batch, 1, vexfs_codes_encode, &job);
	}
	kvfree(batch);
	vexfs_codes_job_free(&job, bounce);
	if (err) {
		pr_warn("vexfs (%s): training the int8 codes failed (%d); kNN walks use float32 distances\n",
			vi->sb->s_id, err);
		return err;
	}
	vi->codes_ready = true;
	vi->codes_trained_at = vi->nr_live;
	vi->graph_dirty = true;	/* the quantiser is written with the graph */
	return 0;
}

/*
 * Write the codes of grp's live slots (group g, being loaded: vi->lock held,
 * not yet published). Nothing to do without a quantiser.
 */
int vexfs_codes_encode_group(struct vexfs_vindex *vi, struct vexfs_sgroup *grp, u32 g)
{
	struct vexfs_codes_job job;
	u32 *bounce = NULL, *batch = NULL, n = 0, i;
	int err;

	if (!vi->codes_ready)
		return 0;
	err = vexfs_codes_job_init(vi, &job, &bounce);
	if (!err) {
		batch = kvmalloc_array(VEXFS_SG_SLOTS, sizeof(u32), GFP_KERNEL);
		if (!batch)
			err = -ENOMEM;
	}
	if (!err) {
		for (i = 0; i < VEXFS_SG_SLOTS; i++)
			if (grp->a[i].state & VSLOT_LIVE)
				batch[n++] = (g << VEXFS_SG_SHIFT) + i;
		job.grp = grp;
		err = vexfs_vecs_apply(vi, bounce, batch, 0, n, vexfs_codes_encode, &job);
	}
	kvfree(batch);
	vexfs_codes_job_free(&job, bounce);
	return err;
}

/* Encode every live slot with the quantiser loaded from disk (before publishing). */
int vexfs_codes_encode_all(struct vexfs_vindex *vi)
{
	struct vexfs_codes_job job;
	u32 *bounce = NULL, *batch = NULL;
	int err;

	vi->codes_ready = false;
	err = vexfs_codes_job_init(vi, &job, &bounce);
	if (!err) {
		batch = kvmalloc_array(VEXFS_SCAN_READAHEAD, sizeof(u32), GFP_KERNEL);
		if (!batch)
			err = -ENOMEM;
	}
	if (!err)
		err = vexfs_codes_each_live(vi, bounce, batch, 1, vexfs_codes_encode, &job);
	kvfree(batch);
	vexfs_codes_job_free(&job, bounce);
	if (err)
		return err;
	vi->codes_ready = true;
	vi->codes_trained_at = vi->nr_live;
	return 0;
}

/* Blocks of the quantiser's copy on disk. */
u32 vexfs_sq8_blocks(u32 dim)
{
	return DIV_ROUND_UP(sizeof(struct vexfs_sq8_disk) + 8 * (size_t)dim, VEXFS_BLOCK_SIZE);
}

/* Byte i of the on-disk copy (header, min, scale), for writing. */
static u8 vexfs_sq8_byte(struct vexfs_vindex *vi, const struct vexfs_sq8_disk *h, size_t i)
{
	size_t hs = sizeof(*h), fb = 4 * (size_t)vi->dim;

	if (i < hs)
		return ((const u8 *)h)[i];
	i -= hs;
	if (i < fb)
		return ((const u8 *)vi->sq_min)[i];
	i -= fb;
	return i < fb ? ((const u8 *)vi->sq_scale)[i] : 0;
}

/*
 * Fill block b (0-based) of the quantiser's copy (vi->lock held): zeros
 * when there is no trained quantiser, so a stale copy is never read back.
 */
void vexfs_sq8_encode_block(struct vexfs_vindex *vi, u64 generation, u32 b, u8 *out)
{
	struct vexfs_sq8_disk h = {};
	size_t i;

	if (!vi->codes_ready) {
		memset(out, 0, VEXFS_BLOCK_SIZE);
		return;
	}
	h.sq_magic = cpu_to_le32(VEXFS_SQ8_MAGIC);
	h.sq_version = cpu_to_le32(VEXFS_SQ8_VERSION);
	h.sq_dim = cpu_to_le32(vi->dim);
	h.sq_metric = cpu_to_le32(vi->metric);
	h.sq_generation = cpu_to_le64(generation);
	h.sq_crc = cpu_to_le32(crc32c(crc32c(~0u, vi->sq_min, 4 * vi->dim), vi->sq_scale, 4 * vi->dim));
	for (i = 0; i < VEXFS_BLOCK_SIZE; i++)
		out[i] = vexfs_sq8_byte(vi, &h, (size_t)b * VEXFS_BLOCK_SIZE + i);
}

/*
 * Take the quantiser from its on-disk copy, gathered into buf
 * (vexfs_sq8_blocks(dim) blocks), if it is whole and was written with the
 * graph of this generation: true then (vi->sq_min/sq_scale set).
 */
bool vexfs_sq8_decode(struct vexfs_vindex *vi, const u8 *buf, u64 generation)
{
	const struct vexfs_sq8_disk *h = (const void *)buf;
	const u8 *min = buf + sizeof(*h), *scale = min + 4 * (size_t)vi->dim;

	BUILD_BUG_ON(sizeof(struct vexfs_sq8_disk) != VEXFS_SQ8_HEADER_SIZE);
	if (le32_to_cpu(h->sq_magic) != VEXFS_SQ8_MAGIC || le32_to_cpu(h->sq_version) != VEXFS_SQ8_VERSION ||
	    le32_to_cpu(h->sq_dim) != vi->dim || le32_to_cpu(h->sq_metric) != vi->metric ||
	    le64_to_cpu(h->sq_generation) != generation ||
	    le32_to_cpu(h->sq_crc) != crc32c(crc32c(~0u, min, 4 * vi->dim), scale, 4 * vi->dim))
		return false;
	memcpy(vi->sq_min, min, 4 * vi->dim);
	memcpy(vi->sq_scale, scale, 4 * vi->dim);
	return true;
}

/*
 * The run [first, first + n) became live (vi->lock held for writing): write
 * its codes, or train the quantiser once the index is large enough.
 */
void vexfs_codes_encode_run(struct vexfs_vindex *vi, u32 first, u32 n)
{
	struct vexfs_codes_job job;
	u32 *bounce = NULL;
	int err;

	if (!vi->codes_failed &&
	    (vi->codes_ready ? vi->nr_live >= VEXFS_SQ8_REGROW * (u64)vi->codes_trained_at :
			       vi->nr_live >= VEXFS_SQ8_MIN)) {
		/* Every live slot, this run's too, gets its code from the new quantiser. */
		vi->codes_failed = vexfs_codes_train(vi) != 0;
		return;
	}
	if (!vi->codes_ready)
		return;
	err = vexfs_codes_job_init(vi, &job, &bounce);
	if (!err)
		err = vexfs_vecs_apply(vi, bounce, NULL, first, n, vexfs_codes_encode, &job);
	vexfs_codes_job_free(&job, bounce);
	if (err) {
		/* A slot without its code would steer walks wrongly: stop using codes. */
		vi->codes_ready = false;
		vi->codes_failed = true;
		pr_warn_ratelimited("vexfs (%s): writing int8 codes failed (%d); kNN walks use float32 distances until the next mount\n",
				    vi->sb->s_id, err);
	}
}
