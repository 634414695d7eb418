// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-slots.c - the slot arrays of the vector index: the run of slots of
 * an inode (vi->ino_slot), allocation of free contiguous runs, growth of
 * the arrays (and of the graph with them), release of slots.
 *
 * Locking: vi->lock, held for writing, guards the arrays, capacity,
 * slot_hint, ino_slot and the graph words they grow with; growth allocates
 * with the lock dropped (allocation may reclaim) and adopts under it again.
 * A reserved run (VSLOT_RESV) belongs to the one set being written into
 * it: its owner fills its array entries under the lock held for reading.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>

#include "vindex.h"

/*
 * Test knobs (/sys/module/vexfs/parameters/, root only), all 0 in normal
 * use: they make failures and race windows the VM tests need happen on
 * demand (tests/vm/cases/vectors-races.sh).
 */
static unsigned int debug_alloc_delay_ms;
module_param(debug_alloc_delay_ms, uint, 0600);
MODULE_PARM_DESC(debug_alloc_delay_ms, "Test only: growing the slot arrays waits this long unlocked");

/*
 * After a lazy mount, read the slot groups no search has needed yet in the
 * background (1, the default), so later searches find them loaded; 0 leaves
 * every group to its first use. Read at mount.
 */
unsigned int vexfs_warm_after_mount = 1;
module_param_named(warm_after_mount, vexfs_warm_after_mount, uint, 0644);
MODULE_PARM_DESC(warm_after_mount, "After a lazy mount, read the index's slot groups in the background (default 1)");

/* ---- runs ------------------------------------------------------------------ */

/* ino_slot entries: a run packed into an xarray value. */
#define VEXFS_RUN_COUNT_BITS	16

void *vexfs_run_entry(u32 first, u32 count)
{
	return xa_mk_value(((unsigned long)first << VEXFS_RUN_COUNT_BITS) | (count - 1));
}

/* The run of inode ino's chunk set as the index holds it: 0, or -ENOENT. */
int vexfs_run_of(struct vexfs_vindex *vi, u64 ino, u32 *first, u32 *count)
{
	void *v = xa_load(&vi->ino_slot, ino);
	unsigned long x;

	if (!v)
		return -ENOENT;
	x = xa_to_value(v);
	*first = x >> VEXFS_RUN_COUNT_BITS;
	*count = (x & ((1UL << VEXFS_RUN_COUNT_BITS) - 1)) + 1;
	return 0;
}

/* The first slot of inode ino's set, or -ENOENT. */
int vexfs_slot_of(struct vexfs_vindex *vi, u64 ino)
{
	u32 first, count;
	int err = vexfs_run_of(vi, ino, &first, &count);

	return err ? err : (int)first;
}

/* ---- slot groups ------------------------------------------------------------ */

/* Bytes of one group: attributes, then codes. */
size_t vexfs_sgroup_bytes(const struct vexfs_vindex *vi)
{
	return sizeof(struct vexfs_sgroup) + (size_t)VEXFS_SG_SLOTS * vi->code_bytes;
}

/* What one group pins: it is vmalloc'ed, whole pages (a kmalloc bucket would waste up to half). */
size_t vexfs_sgroup_pinned(const struct vexfs_vindex *vi)
{
	return PAGE_ALIGN(vexfs_sgroup_bytes(vi));
}

/* An empty group (every slot free), or NULL. */
struct vexfs_sgroup *vexfs_sgroup_alloc(struct vexfs_vindex *vi)
{
	return vzalloc(vexfs_sgroup_bytes(vi));
}

/* Free groups [from, to) of sg (NULL entries skipped). */
void vexfs_sgroups_free(struct vexfs_sgroup **sg, u32 from, u32 to)
{
	u32 g;

	if (!sg)
		return;
	for (g = from; g < to; g++)
		vfree(sg[g]);
}

/*
 * Load group g (vi->lock held, for reading or writing) if it is not yet:
 * after a lazy mount a group is read from the store the first time a slot
 * of it is needed. Loaders may race (both hold the lock for reading): each
 * builds its own copy from the same disk state, the first one published
 * stays. Writers change a group only once it is published, under the lock
 * held for writing, so nothing a loader reads from disk is older than
 * what the group would hold (vexfs_vindex_inode_read keeps the owners in
 * memory in published groups).
 */
int vexfs_sg_load(struct vexfs_vindex *vi, u32 g)
{
	struct vexfs_sgroup *grp;
	unsigned int nofs;
	u32 in_graph = 0;
	int err;

	if (READ_ONCE(vi->sg[g]))
		return 0;
	nofs = memalloc_nofs_save();
	grp = vexfs_sgroup_alloc(vi);
	err = grp ? vexfs_store_load_group(vi, g, grp, &in_graph) : -ENOMEM;
	if (!err)
		err = vexfs_codes_encode_group(vi, grp, g);
	memalloc_nofs_restore(nofs);
	if (err) {
		vfree(grp);
		pr_err_ratelimited("vexfs (%s): cannot load vector slots %u..%u: %d\n", vi->sb->s_id,
				   g << VEXFS_SG_SHIFT, ((g + 1) << VEXFS_SG_SHIFT) - 1, err);
		return err;
	}
	if (cmpxchg(&vi->sg[g], NULL, grp)) {
		vfree(grp);	/* another loader was first */
	} else {
		atomic_dec(&vi->sg_unloaded);
		atomic_sub(in_graph, &vi->graph_unloaded);
	}
	return 0;
}

/* vexfs_slot_get when the group is not loaded yet. */
struct vexfs_slot_attr *vexfs_slot_get_slow(struct vexfs_vindex *vi, u32 s)
{
	int err = vexfs_sg_load(vi, s >> VEXFS_SG_SHIFT);

	return err ? ERR_PTR(err) : vexfs_slot(vi, s);
}

/* Load the groups of slots [first, first + n) that lie below the capacity (vi->lock held). */
int vexfs_sg_load_range(struct vexfs_vindex *vi, u32 first, u32 n)
{
	u64 end = min_t(u64, (u64)first + n, vi->capacity);
	u64 g;
	int err;

	for (g = first >> VEXFS_SG_SHIFT; (g << VEXFS_SG_SHIFT) < end; g++) {
		err = vexfs_sg_load(vi, g);
		if (err)
			return err;
	}
	return 0;
}

/* Groups one run of the warm-up reads: the lock is dropped between runs, so writers get in. */
#define VEXFS_WARM_GROUPS	8u

/*
 * The background half of a lazy mount: reads, in slot order, the groups no
 * search has loaded yet, VEXFS_WARM_GROUPS per run under vi->lock held for
 * reading (as a search's first use does), then queues itself again until
 * every group is loaded. Never queued once teardown has begun
 * (vexfs_vwork_queue), and cancelled before the arrays are freed. A group
 * that cannot be read is left to its first use, which reports the error;
 * when the pass ends, warm_done is set, so that status reports such
 * groups as unreadable instead of still loading.
 */
void vexfs_warm_worker(struct work_struct *work)
{
	struct vexfs_vindex *vi = container_of(work, struct vexfs_vindex, warm_work);
	u32 done = 0;

	down_read(&vi->lock);
	while (!vi->stopping && done < VEXFS_WARM_GROUPS &&
	       (u64)vi->warm_next << VEXFS_SG_SHIFT < vi->capacity) {
		if (!READ_ONCE(vi->sg[vi->warm_next])) {
			vexfs_sg_load(vi, vi->warm_next);
			done++;
		}
		vi->warm_next++;
	}
	if ((u64)vi->warm_next << VEXFS_SG_SHIFT < vi->capacity && atomic_read(&vi->sg_unloaded)) {
		vexfs_vwork_queue(vi, VWORK_WARM, 0);
	} else if (!vi->stopping) {
		int unread = atomic_read(&vi->sg_unloaded);

		if (unread)
			pr_warn("vexfs (%s): background warm-up ended with %d slot group(s) unreadable; searches that need them fail until fsck.vexfs repairs the store\n",
				vi->sb->s_id, unread);
		WRITE_ONCE(vi->warm_done, true);
	}
	up_read(&vi->lock);
}

/*
 * An inode was read into memory: load the groups of its chunk set, so that
 * while it is in memory (and may change there before its inode block does)
 * its slots are never loaded from its inode block again. Called by iget
 * before the inode is published; an error fails the iget.
 */
int vexfs_vindex_inode_read(struct inode *inode)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_inode_info *ii = VEXFS_I(inode);
	int err;

	if (!vi || !S_ISREG(inode->i_mode) || !ii->i_chunk_count ||
	    !atomic_read(&vi->sg_unloaded))
		return 0;
	down_read(&vi->lock);
	err = vexfs_sg_load_range(vi, ii->i_chunk_first, ii->i_chunk_count);
	up_read(&vi->lock);
	return err;
}

/*
 * The run of inode ino's chunk set: vexfs_run_of, and after a lazy mount,
 * for a file no loaded group has named yet, from its inode block (it has
 * not been in memory since the mount, so that block is current), its
 * groups loaded (vi->lock held).
 */
int vexfs_run_lookup(struct vexfs_vindex *vi, u64 ino, u32 *first, u32 *count)
{
	struct vexfs_inode_mem im;
	int err = vexfs_run_of(vi, ino, first, count), rerr;

	if (err != -ENOENT || !atomic_read(&vi->sg_unloaded))
		return err;
	rerr = vexfs_owner_read(vi, ino, &im, &err);
	if (rerr == -EIO)
		return -EIO;
	if (rerr || err || !im.chunk_count || im.chunk_first >= vi->capacity)
		return -ENOENT;
	err = vexfs_sg_load_range(vi, im.chunk_first, im.chunk_count);
	return err ? err : vexfs_run_of(vi, ino, first, count);
}

void vexfs_arrays_free(struct vexfs_slot_arrays *a)
{
	kvfree(a->pblk);
	if (a->sg)
		vexfs_sgroups_free(a->sg, a->sg_from, a->capacity >> VEXFS_SG_SHIFT);
	kvfree(a->sg);
	vexfs_gstore_free(a->gs);
	kfree(a->gh);
}

/*
 * Arrays for capacity slots: the group pointers, and the groups past the
 * index's current capacity (those below it are moved over by
 * vexfs_arrays_adopt). Called without vi->lock (it may reclaim); the caller
 * adopts only if the capacity did not change meanwhile.
 */
int vexfs_arrays_alloc(struct vexfs_vindex *vi, u32 capacity, bool with_graph, bool lazy,
		       struct vexfs_slot_arrays *a)
{
	u32 g, ngroups = capacity >> VEXFS_SG_SHIFT;

	memset(a, 0, sizeof(*a));
	if (!capacity || (capacity & VEXFS_SG_MASK))
		return -EINVAL;
	a->capacity = capacity;
	a->sg_from = min(READ_ONCE(vi->capacity), capacity) >> VEXFS_SG_SHIFT;
	a->lazy = lazy;
	a->pblk_len = vexfs_store_blocks_for(vi->dim, capacity);
	a->pblk = kvcalloc(a->pblk_len, sizeof(u32), GFP_KERNEL);
	a->sg = kvcalloc(ngroups, sizeof(*a->sg), GFP_KERNEL);
	if (!a->pblk || !a->sg)
		goto nomem;
	for (g = a->sg_from; g < ngroups && !lazy; g++) {
		a->sg[g] = vexfs_sgroup_alloc(vi);
		if (!a->sg[g])
			goto nomem;
	}
	if (with_graph) {
		struct vexfs_hnsw_params p = {
			.capacity = capacity, .m = vi->m, .ef_construction = vi->efc,
			.metric = vi->metric, .dim = vi->dim, .seed = VEXFS_HNSW_SEED,
		};
		s64 words = vexfs_hnsw_words_needed(&p);

		if (words < 0) {
			vexfs_arrays_free(a);
			return words;
		}
		a->gs = vexfs_gstore_alloc(vi, words, capacity, true);
		a->gh = kzalloc(vexfs_hnsw_handle_size(), GFP_KERNEL);
		if (!a->gs || !a->gh)
			goto nomem;
	}
	return 0;
nomem:
	vexfs_arrays_free(a);
	return -ENOMEM;
}

/*
 * Move the index onto larger arrays (under the write lock): its groups
 * move into the new pointer array, a's new groups join them.
 */
int vexfs_arrays_adopt(struct vexfs_vindex *vi, struct vexfs_slot_arrays *a)
{
	u32 old = vi->capacity, g;
	int err;

	if (a->capacity <= old || a->sg_from != old >> VEXFS_SG_SHIFT)
		return -EAGAIN;	/* allocated for another capacity */
	if (a->gs && vi->gs) {
		/* The grown graph is fresh (all in memory) until written: vexfs_graph_trim(). */
		err = vexfs_hnsw_grow_store(a->gh, vi->gh, &a->gs->st, a->capacity);
		if (err)
			return err;
	}
	if (old)
		memcpy(a->pblk, vi->store_pblk, vi->store_pblk_len * sizeof(u32));
	for (g = 0; g < old >> VEXFS_SG_SHIFT; g++)
		a->sg[g] = vi->sg[g];
	swap(vi->store_pblk, a->pblk);
	swap(vi->store_pblk_len, a->pblk_len);
	swap(vi->sg, a->sg);
	if (a->gs && vi->gs) {
		swap(vi->gs, a->gs);
		swap(vi->gh, a->gh);
		vi->graph_dirty = true;
	}
	if (a->lazy)
		atomic_add((a->capacity - old) >> VEXFS_SG_SHIFT, &vi->sg_unloaded);
	vi->capacity = a->capacity;
	/* a now holds the old pointer array, whose groups are the index's: none to free. */
	a->capacity = old;
	a->sg_from = old >> VEXFS_SG_SHIFT;
	return 0;
}

/*
 * Before the index is published (mount): slot arrays of want slots, no
 * graph; lazy: their groups are loaded on first use (vexfs_sg_load).
 */
int vexfs_arrays_grow(struct vexfs_vindex *vi, u32 want, bool lazy)
{
	struct vexfs_slot_arrays a;
	struct vexfs_gstore *gs = vi->gs;
	int err;

	/* Slot arrays only: a loaded graph is kept as it is. */
	vi->gs = NULL;
	err = vexfs_arrays_alloc(vi, want, false, lazy, &a);
	if (!err)
		err = vexfs_arrays_adopt(vi, &a);
	vexfs_arrays_free(&a);
	vi->gs = gs;
	return err;
}

/*
 * Is slot s in use? Its state when its group is loaded; otherwise its bit
 * in the slot bitmap (a group not loaded has no slot reserved, queued or
 * damaged-but-freed: those only exist in loaded groups). *bh caches the
 * bitmap block last read (the caller releases it).
 */
static int vexfs_slot_in_use(struct vexfs_vindex *vi, u32 s, struct buffer_head **bh, u64 *bh_block,
			     bool *used)
{
	u64 block = s / VEXFS_SLOTMAP_BITS;
	bool fresh;
	int err = 0;

	if (vexfs_slot_loaded(vi, s)) {
		*used = vexfs_slot(vi, s)->state != 0;
		return 0;
	}
	if (!*bh || *bh_block != block) {
		brelse(*bh);
		*bh = vexfs_meta_bread(vi->slotmap, block, false, &fresh, &err);
		*bh_block = block;
		if (!*bh && err)
			return err;
	}
	*used = *bh && test_bit_le(s % VEXFS_SLOTMAP_BITS, (*bh)->b_data);
	return 0;
}

/*
 * *at: the first free run of n slots in [from, to), its groups loaded, or
 * -1 (none). Write lock held.
 */
static int vexfs_find_run(struct vexfs_vindex *vi, u32 n, u32 from, u32 to, s64 *at)
{
	struct buffer_head *bh = NULL;
	u64 bh_block = 0;
	u32 i, len = 0;
	bool used;
	int err = 0;

	*at = -1;
	for (i = from; i < to && *at < 0; i++) {
		err = vexfs_slot_in_use(vi, i, &bh, &bh_block, &used);
		if (err)
			break;
		if (used) {
			len = 0;
			continue;
		}
		if (++len < n)
			continue;
		/* Load the run's groups; it is free if they agree. */
		err = vexfs_sg_load_range(vi, i + 1 - n, n);
		if (err)
			break;
		for (len = 0; len < n && !vexfs_slot(vi, i + 1 - n + len)->state; len++)
			;
		if (len == n)
			*at = i + 1 - n;
		else
			len = 0;	/* the bitmap was behind a loaded group: look on */
	}
	brelse(bh);
	return err;
}

/*
 * Reserve a free run of n slots (VSLOT_RESV), growing the arrays when none
 * fits. Takes and returns with the write lock (dropped while growing).
 */
int vexfs_run_alloc(struct vexfs_vindex *vi, u32 n, u32 *first)
{
	if (!n || n > VEXFS_MAX_CHUNKS)
		return -EINVAL;
	for (;;) {
		struct vexfs_slot_arrays a;
		bool with_graph;
		u32 delay_ms;
		u64 want;
		s64 at;
		int err;

		/* From the last allocation on, then from the start: slots fill densely. */
		err = vexfs_find_run(vi, n, min(vi->slot_hint, vi->capacity), vi->capacity, &at);
		if (!err && at < 0)
			err = vexfs_find_run(vi, n, 0, vi->capacity, &at);
		if (err)
			return err;
		if (at >= 0) {
			for (u32 s = at; s < at + n; s++)
				vexfs_slot(vi, s)->state = VSLOT_RESV;
			*first = at;
			vi->slot_hint = at + n;
			return 0;
		}
		want = max(VEXFS_HNSW_MIN_CAPACITY, vi->capacity * 2);
		while (want < (u64)vi->capacity + n)
			want *= 2;
		if (want > S32_MAX)
			return -ENOSPC;
		/* Allocate without the lock (it may reclaim), then adopt under it. */
		with_graph = vi->gs != NULL;
		up_write(&vi->lock);
		delay_ms = READ_ONCE(debug_alloc_delay_ms);
		if (delay_ms) {
			pr_info("vexfs (%s): debug_alloc_delay_ms: growing the slot arrays to %llu (%s graph) after %u ms\n",
				vi->sb->s_id, want, with_graph ? "with" : "without", delay_ms);
			msleep(delay_ms);
		}
		err = vexfs_arrays_alloc(vi, want, with_graph, false, &a);
		down_write(&vi->lock);
		if (err)
			return err;
		/*
		 * A rebuild may have swapped a graph in meanwhile: arrays
		 * allocated without one would outgrow it (its inserts fail).
		 * Then allocate again, with the graph.
		 */
		if (vi->capacity < want && with_graph == (vi->gs != NULL))
			err = vexfs_arrays_adopt(vi, &a);
		vexfs_arrays_free(&a);
		if (err && err != -EAGAIN)	/* -EAGAIN: grown meanwhile, look again */
			return err;
	}
}

/* Give back a reserved run that did not become a set (write lock held). */
void vexfs_run_unreserve(struct vexfs_vindex *vi, u32 first, u32 n)
{
	u32 s;

	for (s = first; s < first + n && s < vi->capacity; s++) {
		vexfs_slot(vi, s)->state &= ~VSLOT_RESV;
		vexfs_slot_release(vi, s);
	}
}

/* Release a slot that holds no chunk and has no graph node. */
void vexfs_slot_release(struct vexfs_vindex *vi, u32 slot)
{
	u8 st = vexfs_slot(vi, slot)->state;

	if (st & (VSLOT_LIVE | VSLOT_IN_GRAPH | VSLOT_PENDING | VSLOT_RESV | VSLOT_BAD))
		return;
	vexfs_slot(vi, slot)->state = 0;
	vexfs_slot(vi, slot)->ino = 0;
}
