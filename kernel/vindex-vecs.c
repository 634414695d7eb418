// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-vecs.c - the index's float32 vectors, read where they live: in the
 * store file's chunk records (inode 3), through the block device's page
 * cache, which the kernel may evict under memory pressure. The index pins
 * no copy of them; what it keeps per vector is the slot arrays and the
 * graph (vindex-slots.c).
 *
 * A batch of distances pins the buffers of its vectors (buffer references,
 * taken where sleeping is allowed: reading a block waits for I/O), computes
 * the batch in one kernel_fpu_begin/end section, and drops the references.
 * Records larger than a block (dim > 1016) are copied into the caller's
 * bounce buffer instead, a block at a time.
 *
 * vi->store_pblk[b] is the device block of store-file block b (0: none
 * noted), 4 bytes per store block (1/14 of a slot at dim 64). It is noted
 * when a record is read (vexfs_store_load, a group's loading) and when one
 * is written (vexfs_store_write_slot); a block not noted yet (a lazily
 * loaded index) is mapped once when first read. The array is
 * reallocated only with vi->lock held for writing (vexfs_arrays_adopt);
 * entries are written with vi->lock held for reading, where two writers of
 * one entry store the same value (store blocks are never moved or freed
 * while mounted).
 */
#include <linux/buffer_head.h>
#include <asm/fpu/api.h>

#include "vindex.h"
#include "../shim/vexfs_simd.h"

/* Vectors pinned per FPU section: bounds the stack arrays below. */
#define VEXFS_VPIN_BATCH	32u
/* ... and per section when records span blocks (each is copied into the bounce buffer). */
#define VEXFS_VPIN_BIG		4u

/* Store-file blocks that hold the records of slots [0, capacity). */
u32 vexfs_store_blocks_for(u32 dim, u32 capacity)
{
	struct vexfs_vec_pos pos;

	if (!capacity || vexfs_chunk_record_pos(capacity - 1, dim, &pos))
		return 0;
	return pos.block + DIV_ROUND_UP(pos.offset + pos.len, VEXFS_BLOCK_SIZE);
}

/*
 * Note that store-file blocks [first, first + n) sit at device blocks
 * pblk[0..n) (vi->lock held, for reading at least).
 */
void vexfs_vecs_note_blocks(struct vexfs_vindex *vi, u64 first, const u32 *pblk, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (first + i < vi->store_pblk_len && pblk[i])
			WRITE_ONCE(vi->store_pblk[first + i], pblk[i]);
}

/* The buffer of store-file block fblock, read and referenced; NULL and *err on failure. */
static struct buffer_head *vexfs_vecs_block(struct vexfs_vindex *vi, u64 fblock, int *err)
{
	struct super_block *sb = vi->sb;
	struct buffer_head *bh;
	u32 nr = fblock < vi->store_pblk_len ? READ_ONCE(vi->store_pblk[fblock]) : 0;

	if (!nr) {
		/* Not noted yet (its group not loaded): map it once, and note it. */
		struct vexfs_map map;

		*err = vexfs_map_blocks(vi->store, fblock, 1, false, &map);
		if (*err)
			return NULL;
		nr = map.block_nr;
		if (!nr) {
			pr_err_ratelimited("vexfs (%s): vector store block %llu is a hole under a live slot\n",
					   sb->s_id, fblock);
			*err = -EIO;
			return NULL;
		}
		if (fblock < vi->store_pblk_len)
			WRITE_ONCE(vi->store_pblk[fblock], nr);
	}
	bh = sb_find_get_block(sb, nr);
	if (bh && buffer_uptodate(bh))
		return bh;
	brelse(bh);
	bh = vexfs_bread(sb, nr);
	if (!bh) {
		pr_err_ratelimited("vexfs (%s): cannot read vector store block %llu (block %u)\n",
				   sb->s_id, fblock, nr);
		*err = -EIO;
	}
	return bh;
}

/*
 * Copy slot's vector (dim float32 bit patterns) from its record into out.
 * vi->lock held (the slot is live and its blocks noted); may sleep.
 */
int vexfs_vecs_copy(struct vexfs_vindex *vi, u32 slot, u32 *out)
{
	struct vexfs_vec_pos pos;
	u64 at, end;	/* byte positions in the store file */
	u8 *dst = (u8 *)out;
	int err;

	err = vexfs_chunk_record_pos(slot, vi->dim, &pos);
	if (err)
		return err;
	at = pos.block * VEXFS_BLOCK_SIZE + pos.offset + VEXFS_CHUNK_RECORD_HEADER_SIZE;
	end = pos.block * VEXFS_BLOCK_SIZE + pos.offset + pos.len;
	while (at < end) {
		u32 off = at % VEXFS_BLOCK_SIZE;
		u32 n = min_t(u64, end - at, VEXFS_BLOCK_SIZE - off);
		struct buffer_head *bh = vexfs_vecs_block(vi, at / VEXFS_BLOCK_SIZE, &err);

		if (!bh)
			return err;
		memcpy(dst, bh->b_data + off, n);
		brelse(bh);
		dst += n;
		at += n;
	}
	return 0;
}

/*
 * The chunk's byte range from slot's record header (not kept in memory: only
 * results and GET_CHUNKS need it). vi->lock held; may sleep.
 */
int vexfs_vecs_range(struct vexfs_vindex *vi, u32 slot, u64 *offset, u64 *length)
{
	const struct vexfs_chunk_record *r;
	struct vexfs_vec_pos pos;
	struct buffer_head *bh;
	int err;

	err = vexfs_chunk_record_pos(slot, vi->dim, &pos);
	if (err)
		return err;
	bh = vexfs_vecs_block(vi, pos.block, &err);
	if (!bh)
		return err;
	r = (const void *)(bh->b_data + pos.offset);
	*offset = le64_to_cpu(r->cr_offset);
	*length = le64_to_cpu(r->cr_length);
	brelse(bh);
	return 0;
}

/*
 * Pin slot's vector: a pointer into its referenced block (*bh, to brelse)
 * when the vector lies in one block, else a copy in bounce (*bh NULL).
 */
static const u32 *vexfs_vecs_pin(struct vexfs_vindex *vi, u32 slot, struct buffer_head **bh,
				 u32 *bounce, int *err)
{
	struct vexfs_vec_pos pos;
	u32 start;

	*bh = NULL;
	*err = vexfs_chunk_record_pos(slot, vi->dim, &pos);
	if (*err)
		return NULL;
	start = pos.offset + VEXFS_CHUNK_RECORD_HEADER_SIZE;
	if (pos.offset + pos.len <= VEXFS_BLOCK_SIZE) {
		*bh = vexfs_vecs_block(vi, pos.block, err);
		return *bh ? (const u32 *)((*bh)->b_data + start) : NULL;
	}
	if (!bounce) {
		*err = -EINVAL;
		return NULL;
	}
	*err = vexfs_vecs_copy(vi, slot, bounce);
	return *err ? NULL : bounce;
}

/*
 * Distance keys from a query to slots ids[0..n): the query is the caller's
 * vector (query != NULL) or slot query_slot's. Vectors larger than a block
 * go through kc->bounce ((VEXFS_VPIN_BIG + 1) * dim words, see
 * vexfs_vecs_bounce_words). vi->lock held; sleeps only outside the FPU
 * sections.
 */
int vexfs_vecs_dist(struct vexfs_vindex *vi, u32 *bounce, const u32 *query, u32 query_slot,
		    const u32 *ids, u32 n, u32 *out)
{
	struct buffer_head *qbh = NULL, *bh[VEXFS_VPIN_BATCH];
	const void *vp[VEXFS_VPIN_BATCH];
	u32 dim = vi->dim, per = VEXFS_VPIN_BATCH;
	u32 *vbounce = NULL;
	int err = 0;

	if (bounce) {
		/* Slot 0 of the bounce buffer holds the query, 1.. the batch. */
		per = VEXFS_VPIN_BIG;
		vbounce = bounce + dim;
	}
	if (!query) {
		if (query_slot >= vi->capacity)
			return -EINVAL;
		query = vexfs_vecs_pin(vi, query_slot, &qbh, bounce, &err);
		if (!query)
			return err;
	}
	for (u32 i = 0; i < n && !err; i += per) {
		u32 m = min(per, n - i), j;

		for (j = 0; j < m; j++) {
			if (ids[i + j] >= vi->capacity) {
				err = -EINVAL;
				break;
			}
			vp[j] = vexfs_vecs_pin(vi, ids[i + j], &bh[j],
					       vbounce ? vbounce + (size_t)j * dim : NULL, &err);
			if (!vp[j])
				break;
		}
		if (j == m) {
			kernel_fpu_begin();
			err = vexfs_simd_dist_ptrs(vi->metric, vi->caps, query, dim, vp, m, out + i);
			kernel_fpu_end();
		}
		while (j--)
			brelse(bh[j]);
	}
	brelse(qbh);
	return err;
}

/*
 * For slots[0..n) (first..first+n when slots is NULL): fn(vi, arg, slot,
 * vec) on each slot's vector, VEXFS_VPIN_BATCH (or VEXFS_VPIN_BIG) pinned at
 * a time and handed over in one FPU section: fn must not sleep. bounce as
 * for vexfs_vecs_dist. Stops at the first error.
 */
int vexfs_vecs_apply(struct vexfs_vindex *vi, u32 *bounce, const u32 *slots, u32 first, u32 n,
		     vexfs_vec_fn fn, void *arg)
{
	struct buffer_head *bh[VEXFS_VPIN_BATCH];
	const u32 *vp[VEXFS_VPIN_BATCH];
	u32 dim = vi->dim, per = bounce ? VEXFS_VPIN_BIG : VEXFS_VPIN_BATCH;
	int err = 0;

	for (u32 i = 0; i < n && !err; i += per) {
		u32 m = min(per, n - i), j, k;

		for (j = 0; j < m; j++) {
			u32 s = slots ? slots[i + j] : first + i + j;

			vp[j] = s < vi->capacity ?
				vexfs_vecs_pin(vi, s, &bh[j], bounce ? bounce + (size_t)j * dim : NULL, &err) :
				NULL;
			if (!vp[j]) {
				err = err ? err : -EINVAL;
				break;
			}
		}
		if (j == m) {
			kernel_fpu_begin();
			for (k = 0; k < m && !err; k++)
				err = fn(vi, arg, slots ? slots[i + k] : first + i + k, vp[k]);
			kernel_fpu_end();
		}
		while (j--)
			brelse(bh[j]);
	}
	return err;
}

/* Words of bounce buffer a search needs for dim (0: every record fits a block). */
u32 vexfs_vecs_bounce_words(u32 dim)
{
	if (VEXFS_CHUNK_RECORD_HEADER_SIZE + 4 * dim <= VEXFS_BLOCK_SIZE)
		return 0;
	return (VEXFS_VPIN_BIG + 1) * dim;
}
