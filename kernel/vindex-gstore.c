// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-gstore.c - the HNSW graph's words where they live: the blocks of
 * the graph file (inode 4), read through the block device's page cache,
 * which the kernel may evict under memory pressure. The index holds in
 * memory only the blocks changed since the graph was last written, and
 * every block of a graph that was never written (built by a rebuild, or
 * grown): struct vexfs_gstore. The core reaches the words through the
 * callbacks below (struct vexfs_hnsw_store, shim/vexfs_core.h).
 *
 * A block read from disk is checked once (tag and CRC-32C) and marked
 * (BH_VexfsGraphChecked) while its buffer stays cached; a damaged block
 * fails the graph call with -EUCLEAN, which turns the graph off and asks
 * for a rebuild (vexfs_graph_failed).
 *
 * Locking: the graph's callers hold vi->lock (searches for reading, changes
 * for writing; a rebuild's private store is its worker's alone). gs->blk[]
 * entries are installed only by vexfs_gstore_own(), which the core calls
 * for the one writer, and freed only by vexfs_gstore_write_back() with the
 * lock held for writing: a reader holding the lock sees a stable array.
 * gs->pblk[] entries are filled lazily under the lock held either way;
 * two fillers of one entry store the same value (graph-file blocks are
 * never moved or freed while mounted). gs->node_cache is the core's alone
 * (atomic bytes, see struct vexfs_hnsw_store): C only allocates and frees it.
 */
#include <linux/buffer_head.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vindex.h"

/* Device block of graph-file block b, looked up once; 0 and *err on failure. */
static u32 vexfs_gstore_pblk(struct vexfs_gstore *gs, u64 b, int *err)
{
	struct vexfs_map map;
	u32 nr = READ_ONCE(gs->pblk[b]);

	if (nr)
		return nr;
	*err = vexfs_map_blocks(gs->vi->graph_file, b, 1, false, &map);
	if (*err)
		return 0;
	if (!map.block_nr) {
		pr_err_ratelimited("vexfs (%s): graph block %llu is a hole in the graph file\n",
				   gs->vi->sb->s_id, b);
		*err = -EUCLEAN;
		return 0;
	}
	WRITE_ONCE(gs->pblk[b], map.block_nr);
	return map.block_nr;
}

/* Graph block b as on disk, checked, referenced; NULL and *err on failure. */
static struct buffer_head *vexfs_gstore_bh(struct vexfs_gstore *gs, u64 b, int *err)
{
	struct super_block *sb = gs->vi->sb;
	struct buffer_head *bh;
	u32 nr = vexfs_gstore_pblk(gs, b, err);

	if (!nr)
		return NULL;
	bh = sb_find_get_block(sb, nr);
	if (!bh || !buffer_uptodate(bh)) {
		brelse(bh);
		bh = vexfs_bread(sb, nr);
		if (!bh) {
			pr_err_ratelimited("vexfs (%s): cannot read graph block %llu (block %u)\n",
					   sb->s_id, b, nr);
			*err = -EIO;
			return NULL;
		}
	}
	if (!buffer_vexfs_graph_checked(bh)) {
		if (vexfs_hnsw_check_block((const u8 *)bh->b_data, b)) {
			pr_err_ratelimited("vexfs (%s): graph block %llu (block %u) is damaged (tag or checksum)\n",
					   sb->s_id, b, nr);
			brelse(bh);
			*err = -EUCLEAN;
			return NULL;
		}
		set_buffer_vexfs_graph_checked(bh);
	}
	return bh;
}

/* vexfs_graph_fetch_fn: n words of block b from offset off into out. */
static int vexfs_gstore_fetch(void *kstore, u64 b, u32 off, u32 n, u32 *out)
{
	struct vexfs_gstore *gs = kstore;
	struct buffer_head *bh;
	const __le32 *w;
	int err = 0;
	u32 i;

	if (b >= gs->nblocks || off > VEXFS_GRAPH_BLOCK_WORDS || n > VEXFS_GRAPH_BLOCK_WORDS - off)
		return -EUCLEAN;
	if (gs->fresh) {
		memset(out, 0, n * sizeof(u32));
		return 0;
	}
	bh = vexfs_gstore_bh(gs, b, &err);
	if (!bh)
		return err;
	w = (const __le32 *)bh->b_data + off;
	for (i = 0; i < n; i++)
		out[i] = le32_to_cpu(w[i]);
	brelse(bh);
	return 0;
}

/* vexfs_graph_own_fn: a private copy of block b, installed in gs->blk (the writer). */
static u32 *vexfs_gstore_own(void *kstore, u64 b)
{
	struct vexfs_gstore *gs = kstore;
	u32 *p;

	if (b >= gs->nblocks)
		return NULL;
	if (gs->blk[b])
		return gs->blk[b];
	/* The writer holds vi->lock: reclaim must not re-enter VexFS. */
	p = kmalloc(VEXFS_BLOCK_SIZE, GFP_NOFS);
	if (!p)
		return NULL;
	if (vexfs_gstore_fetch(gs, b, 0, VEXFS_GRAPH_BLOCK_WORDS, p)) {
		kfree(p);
		return NULL;
	}
	gs->blk[b] = p;
	gs->nmem++;
	return p;
}

/*
 * A store of nwords graph words for a graph of capacity slots. fresh: not
 * on disk yet (a new graph; every block reads as zeros until written, and
 * the next write-back writes all of them). Otherwise the graph file holds
 * them. The core's node cache (1 byte per slot) comes with it.
 */
struct vexfs_gstore *vexfs_gstore_alloc(struct vexfs_vindex *vi, u64 nwords, u32 capacity, bool fresh)
{
	struct vexfs_gstore *gs = kzalloc(sizeof(*gs), GFP_KERNEL);

	if (!gs)
		return NULL;
	gs->vi = vi;
	gs->fresh = fresh;
	gs->nblocks = DIV_ROUND_UP(nwords, VEXFS_GRAPH_BLOCK_WORDS);
	gs->blk = kvcalloc(gs->nblocks, sizeof(*gs->blk), GFP_KERNEL);
	gs->pblk = kvcalloc(gs->nblocks, sizeof(*gs->pblk), GFP_KERNEL);
	gs->node_cache = kvzalloc(max(capacity, 1u), GFP_KERNEL);
	if (!gs->nblocks || !gs->blk || !gs->pblk || !gs->node_cache) {
		vexfs_gstore_free(gs);
		return NULL;
	}
	gs->st.blk = gs->blk;
	gs->st.nblocks = gs->nblocks;
	gs->st.kstore = gs;
	gs->st.fetch = vexfs_gstore_fetch;
	gs->st.own = vexfs_gstore_own;
	gs->st.node_cache = gs->node_cache;
	gs->st.node_cache_len = capacity;
	gs->capacity = capacity;
	return gs;
}

static void vexfs_gstore_drop_mem(struct vexfs_gstore *gs)
{
	u64 b;

	for (b = 0; b < gs->nblocks && gs->nmem; b++) {
		if (gs->blk[b]) {
			kfree(gs->blk[b]);
			gs->blk[b] = NULL;
			gs->nmem--;
		}
	}
}

void vexfs_gstore_free(struct vexfs_gstore *gs)
{
	if (!gs)
		return;
	if (gs->blk)
		vexfs_gstore_drop_mem(gs);
	kvfree(gs->blk);
	kvfree(gs->pblk);
	kvfree(gs->node_cache);
	kfree(gs);
}

/* What the store pins: its arrays, the node cache and the blocks in memory. */
u64 vexfs_gstore_bytes(const struct vexfs_gstore *gs)
{
	if (!gs)
		return 0;
	return sizeof(*gs) + gs->nblocks * (sizeof(*gs->blk) + sizeof(*gs->pblk)) +
	       max(gs->capacity, 1u) + (u64)gs->nmem * VEXFS_BLOCK_SIZE;
}

/*
 * Write the blocks in memory (all blocks of a fresh store) into the graph
 * file's buffers, sealed (tag and CRC), and let them go: from here on they
 * are read through the page cache. The file must already map every block
 * (vexfs_graph_prealloc). vi->lock held for writing: readers may be about
 * to read the copies freed here. Derived data, not journaled (the caller's
 * generation stamps say which graph the file holds).
 */
int vexfs_gstore_write_back(struct vexfs_vindex *vi, struct vexfs_gstore *gs)
{
	struct super_block *sb = vi->sb;
	const u32 *zero = page_address(ZERO_PAGE(0));
	u64 b;
	int err = 0;

	lockdep_assert_held_write(&vi->lock);
	for (b = 0; b < gs->nblocks; b++) {
		const u32 *words = gs->blk[b];
		struct buffer_head *bh;
		u32 nr;

		if (!words && !gs->fresh)
			continue;
		nr = vexfs_gstore_pblk(gs, b, &err);
		if (!nr)
			return err ? err : -EIO;
		bh = sb_getblk(sb, nr);
		if (!bh)
			return -ENOMEM;
		lock_buffer(bh);
		err = vexfs_hnsw_encode_words(words ? words : zero, b, (u8 *)bh->b_data);
		if (!err) {
			set_buffer_uptodate(bh);
			set_buffer_vexfs_graph_checked(bh);
		}
		unlock_buffer(bh);
		if (!err)
			mark_buffer_dirty(bh);
		brelse(bh);
		if (err)
			return err;
	}
	vexfs_gstore_drop_mem(gs);
	gs->fresh = false;
	return 0;
}
