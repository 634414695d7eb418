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

void vexfs_arrays_free(struct vexfs_slot_arrays *a)
{
	kvfree(a->pblk);
	kvfree(a->codes);
	kvfree(a->gen);
	kvfree(a->uid);
	kvfree(a->gid);
	kvfree(a->parent);
	kvfree(a->ino);
	kvfree(a->mode);
	kvfree(a->state);
	vexfs_gstore_free(a->gs);
	kfree(a->gh);
}

int vexfs_arrays_alloc(struct vexfs_vindex *vi, u32 capacity, bool with_graph,
			      struct vexfs_slot_arrays *a)
{
	memset(a, 0, sizeof(*a));
	a->capacity = capacity;
	a->pblk_len = vexfs_store_blocks_for(vi->dim, capacity);
	a->pblk = kvcalloc(a->pblk_len, sizeof(u32), GFP_KERNEL);
	a->codes = kvcalloc(capacity, vi->code_bytes, GFP_KERNEL);
	a->gen = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->uid = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->gid = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->parent = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->ino = kvcalloc(capacity, sizeof(u64), GFP_KERNEL);
	a->mode = kvcalloc(capacity, sizeof(u16), GFP_KERNEL);
	a->state = kvcalloc(capacity, sizeof(u8), GFP_KERNEL);
	if (!a->pblk || !a->codes || !a->gen || !a->uid || !a->gid || !a->parent || !a->ino ||
	    !a->mode || !a->state)
		goto nomem;
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

/* Move the index onto larger arrays (under the write lock). */
int vexfs_arrays_adopt(struct vexfs_vindex *vi, struct vexfs_slot_arrays *a)
{
	u32 old = vi->capacity;
	int err;

	if (a->gs && vi->gs) {
		/* The grown graph is fresh (all in memory) until written: vexfs_graph_trim(). */
		err = vexfs_hnsw_grow_store(a->gh, vi->gh, &a->gs->st, a->capacity);
		if (err)
			return err;
	}
	if (old) {
		memcpy(a->pblk, vi->store_pblk, vi->store_pblk_len * sizeof(u32));
		memcpy(a->codes, vi->codes, (size_t)old * vi->code_bytes);
		memcpy(a->gen, vi->slot_gen, old * sizeof(u32));
		memcpy(a->uid, vi->slot_uid, old * sizeof(u32));
		memcpy(a->gid, vi->slot_gid, old * sizeof(u32));
		memcpy(a->parent, vi->slot_parent, old * sizeof(u32));
		memcpy(a->ino, vi->slot_ino, old * sizeof(u64));
		memcpy(a->mode, vi->slot_mode, old * sizeof(u16));
		memcpy(a->state, vi->slot_state, old * sizeof(u8));
	}
	swap(vi->store_pblk, a->pblk);
	swap(vi->store_pblk_len, a->pblk_len);
	swap(vi->codes, a->codes);
	swap(vi->slot_gen, a->gen);
	swap(vi->slot_uid, a->uid);
	swap(vi->slot_gid, a->gid);
	swap(vi->slot_parent, a->parent);
	swap(vi->slot_ino, a->ino);
	swap(vi->slot_mode, a->mode);
	swap(vi->slot_state, a->state);
	if (a->gs && vi->gs) {
		swap(vi->gs, a->gs);
		swap(vi->gh, a->gh);
		vi->graph_dirty = true;
	}
	vi->capacity = a->capacity;
	a->capacity = old;
	return 0;
}

/* Before the index is published (mount): slot arrays of want slots, no graph. */
int vexfs_arrays_grow(struct vexfs_vindex *vi, u32 want)
{
	struct vexfs_slot_arrays a;
	struct vexfs_gstore *gs = vi->gs;
	int err;

	/* Slot arrays only: a loaded graph is kept as it is. */
	vi->gs = NULL;
	err = vexfs_arrays_alloc(vi, want, false, &a);
	if (!err)
		err = vexfs_arrays_adopt(vi, &a);
	vexfs_arrays_free(&a);
	vi->gs = gs;
	return err;
}

/* The first free run of n slots in [from, to), or -1. */
static s64 vexfs_find_run(struct vexfs_vindex *vi, u32 n, u32 from, u32 to)
{
	u32 i, len = 0;

	for (i = from; i < to; i++) {
		if (vi->slot_state[i]) {
			len = 0;
			continue;
		}
		if (++len == n)
			return i + 1 - n;
	}
	return -1;
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
		at = vexfs_find_run(vi, n, min(vi->slot_hint, vi->capacity), vi->capacity);
		if (at < 0)
			at = vexfs_find_run(vi, n, 0, vi->capacity);
		if (at >= 0) {
			memset(vi->slot_state + at, VSLOT_RESV, n);
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
		err = vexfs_arrays_alloc(vi, want, with_graph, &a);
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
		if (err)
			return err;
	}
}

/* Give back a reserved run that did not become a set (write lock held). */
void vexfs_run_unreserve(struct vexfs_vindex *vi, u32 first, u32 n)
{
	u32 s;

	for (s = first; s < first + n && s < vi->capacity; s++) {
		vi->slot_state[s] &= ~VSLOT_RESV;
		vexfs_slot_release(vi, s);
	}
}

/* Release a slot that holds no chunk and has no graph node. */
void vexfs_slot_release(struct vexfs_vindex *vi, u32 slot)
{
	u8 st = vi->slot_state[slot];

	if (st & (VSLOT_LIVE | VSLOT_IN_GRAPH | VSLOT_PENDING | VSLOT_RESV | VSLOT_BAD))
		return;
	vi->slot_state[slot] = 0;
	vi->slot_ino[slot] = 0;
}
