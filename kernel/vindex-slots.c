// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-slots.c - the slot arrays of the vector index: the slot of an
 * inode (vi->ino_slot), allocation of free slots, growth of the arrays (and
 * of the graph with them), release and reset of slots.
 *
 * Locking: vi->lock, held for writing, guards the arrays, capacity,
 * slot_hint, ino_slot and the graph words they grow with; growth allocates
 * with the lock dropped (allocation may reclaim) and adopts under it again.
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

/* ---- slots ---------------------------------------------------------------- */

int vexfs_slot_of(struct vexfs_vindex *vi, u64 ino)
{
	void *v = xa_load(&vi->ino_slot, ino);

	return v ? (int)(xa_to_value(v) - 1) : -ENOENT;
}

void vexfs_arrays_free(struct vexfs_slot_arrays *a)
{
	kvfree(a->vecs);
	kvfree(a->gen);
	kvfree(a->uid);
	kvfree(a->gid);
	kvfree(a->parent);
	kvfree(a->ino);
	kvfree(a->mode);
	kvfree(a->state);
	kvfree(a->gw);
	kfree(a->gh);
}

int vexfs_arrays_alloc(struct vexfs_vindex *vi, u32 capacity, bool with_graph,
			      struct vexfs_slot_arrays *a)
{
	memset(a, 0, sizeof(*a));
	a->capacity = capacity;
	a->vecs = kvcalloc((size_t)capacity * vi->dim, sizeof(u32), GFP_KERNEL);
	a->gen = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->uid = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->gid = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->parent = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->ino = kvcalloc(capacity, sizeof(u64), GFP_KERNEL);
	a->mode = kvcalloc(capacity, sizeof(u16), GFP_KERNEL);
	a->state = kvcalloc(capacity, sizeof(u8), GFP_KERNEL);
	if (!a->vecs || !a->gen || !a->uid || !a->gid || !a->parent || !a->ino || !a->mode || !a->state)
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
		a->gw_len = words;
		a->gw = kvcalloc(words, sizeof(u32), GFP_KERNEL);
		a->gh = kzalloc(vexfs_hnsw_handle_size(), GFP_KERNEL);
		if (!a->gw || !a->gh)
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

	if (a->gw && vi->gw) {
		err = vexfs_hnsw_grow(a->gh, vi->gh, a->gw, a->gw_len, a->capacity);
		if (err)
			return err;
	}
	if (old) {
		memcpy(a->vecs, vi->vecs, (size_t)old * vi->dim * sizeof(u32));
		memcpy(a->gen, vi->slot_gen, old * sizeof(u32));
		memcpy(a->uid, vi->slot_uid, old * sizeof(u32));
		memcpy(a->gid, vi->slot_gid, old * sizeof(u32));
		memcpy(a->parent, vi->slot_parent, old * sizeof(u32));
		memcpy(a->ino, vi->slot_ino, old * sizeof(u64));
		memcpy(a->mode, vi->slot_mode, old * sizeof(u16));
		memcpy(a->state, vi->slot_state, old * sizeof(u8));
	}
	swap(vi->vecs, a->vecs);
	swap(vi->slot_gen, a->gen);
	swap(vi->slot_uid, a->uid);
	swap(vi->slot_gid, a->gid);
	swap(vi->slot_parent, a->parent);
	swap(vi->slot_ino, a->ino);
	swap(vi->slot_mode, a->mode);
	swap(vi->slot_state, a->state);
	if (a->gw && vi->gw) {
		swap(vi->gw, a->gw);
		swap(vi->gw_len, a->gw_len);
		swap(vi->gh, a->gh);
	}
	vi->capacity = a->capacity;
	a->capacity = old;
	return 0;
}

/* Find a free slot, growing the arrays when full. Takes and returns with the write lock. */
int vexfs_slot_alloc(struct vexfs_vindex *vi, u32 *slot)
{
	u32 i, j;

	for (;;) {
		struct vexfs_slot_arrays a;
		bool with_graph;
		u32 want, delay_ms;
		int err;

		/* Search from the last allocation: slots fill densely. */
		for (j = 0; j < vi->capacity; j++) {
			i = (vi->slot_hint + j) % vi->capacity;
			if (!vi->slot_state[i]) {
				*slot = i;
				vi->slot_hint = i + 1;
				return 0;
			}
		}
		want = max(VEXFS_HNSW_MIN_CAPACITY, vi->capacity * 2);
		if (want <= vi->capacity)
			return -ENOSPC;
		/* Allocate without the lock (it may reclaim), then adopt under it. */
		with_graph = vi->gw != NULL;
		up_write(&vi->lock);
		delay_ms = READ_ONCE(debug_alloc_delay_ms);
		if (delay_ms) {
			pr_info("vexfs (%s): debug_alloc_delay_ms: growing the slot arrays to %u (%s graph) after %u ms\n",
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
		if (vi->capacity < want && with_graph == (vi->gw != NULL))
			err = vexfs_arrays_adopt(vi, &a);
		vexfs_arrays_free(&a);
		if (err)
			return err;
	}
}

/* Release a slot that holds no vector and has no graph node. */
void vexfs_slot_release(struct vexfs_vindex *vi, u32 slot)
{
	u8 st = vi->slot_state[slot];

	if (st & (VSLOT_LIVE | VSLOT_IN_GRAPH | VSLOT_PENDING))
		return;
	vi->slot_state[slot] = 0;
	vi->slot_ino[slot] = 0;
	memset(vi->vecs + (size_t)slot * vi->dim, 0, vi->dim * sizeof(u32));
}

/* Reset slots after a stale graph: vectors are reloaded into dense slots. */
void vexfs_vindex_reset_slots(struct vexfs_vindex *vi)
{
	xa_destroy(&vi->ino_slot);
	xa_init(&vi->ino_slot);
	memset(vi->slot_state, 0, vi->capacity);
	memset(vi->slot_ino, 0, vi->capacity * sizeof(u64));
	vi->nr_live = 0;
}
