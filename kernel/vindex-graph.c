// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-graph.c - keeping the HNSW graph in line with the store: applying
 * changes to the graph (one at a time, or deletes in a batch), the pending
 * queue of lazy sync, the background workers (lazy sync, rebuild), and
 * persistence of the graph file (inode 4; node s = slot s, keyed by the
 * owner's inode number): writing it at sync, loading it at mount.
 *
 * Locking: vi->lock guards the graph (gs, gh, graph_valid, graph_dirty,
 * rebuilding), the pending ring (pq, pq_head, pq_count, pq_drops, del_batch),
 * the writer's scratch and `stopping`: changes hold it for writing; a
 * rebuild builds under it for reading and swaps under it for writing;
 * writing the graph file holds it for reading. Work is queued only through
 * vexfs_vwork_queue(), with the lock held, and never once `stopping` is set.
 * Nothing starts a journal handle with the lock held.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/sched/mm.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>

#include "vindex.h"

#define VINDEX_REBUILD_CHUNK	256u

/*
 * Test knobs (/sys/module/vexfs/parameters/, root only), all 0 in normal
 * use: they make failures and race windows the VM tests need happen on
 * demand (tests/vm/cases/vectors-races.sh).
 */
static unsigned int debug_fail_graph;
module_param(debug_fail_graph, uint, 0600);
MODULE_PARM_DESC(debug_fail_graph, "Test only: every graph change (and rebuild insert) fails with -EIO");
static unsigned int debug_max_pending;
module_param(debug_max_pending, uint, 0600);
MODULE_PARM_DESC(debug_max_pending, "Test only: pending queue bound below VEXFS_MAX_PENDING (0: none)");
static unsigned int debug_rebuild_delay_ms;
module_param(debug_rebuild_delay_ms, uint, 0600);
MODULE_PARM_DESC(debug_rebuild_delay_ms, "Test only: a rebuild waits this long between building and swapping in");

/* Injected graph failure (debug_fail_graph): as if the core had failed. */
static int vexfs_debug_graph_err(void)
{
	return READ_ONCE(debug_fail_graph) ? -EIO : 0;
}

/* ---- graph operations (write lock held) ------------------------------------ */

static int vexfs_writer_ctx(struct vexfs_vindex *vi, struct vexfs_kctx *kc)
{
	struct vexfs_scratch *s = vi->wscratch;

	if (!s || s->capacity < vi->capacity) {
		/* Under the write lock: reclaim must not re-enter VexFS (evict). */
		unsigned int nofs = memalloc_nofs_save();
		struct vexfs_scratch *n = vexfs_scratch_alloc(vi, vi->capacity);

		memalloc_nofs_restore(nofs);
		if (IS_ERR(n))
			return PTR_ERR(n);
		vexfs_scratch_free(s);
		vi->wscratch = n;
		s = n;
	}
	kc->vi = vi;
	kc->query = NULL;
	kc->check_perm = false;
	kc->skip_pending = false;
	s->ctx.kctx = kc;
	kc->bounce = s->bounce;
	s->ctx.dist_batch = vexfs_dist_cb;
	s->ctx.filter = NULL;
	return 0;
}

/* The slot's vector is gone but its graph node is not: a graph delete is due. */
static bool vexfs_graph_delete_due(const struct vexfs_vindex *vi, u32 slot)
{
	return (vexfs_slot(vi, slot)->state & (VSLOT_LIVE | VSLOT_IN_GRAPH)) == VSLOT_IN_GRAPH;
}

/*
 * The one place work is queued (index lock held): never once teardown has
 * begun, since vexfs_vindex_unload() cancels the work, drains, and then
 * frees what the work uses.
 */
void vexfs_vwork_queue(struct vexfs_vindex *vi, enum vexfs_vwork w, unsigned long delay)
{
	lockdep_assert_held(&vi->lock);
	if (vi->stopping)
		return;
	switch (w) {
	case VWORK_REBUILD:
		queue_work(vi->wq, &vi->rebuild_work);
		break;
	case VWORK_SYNC:
		queue_delayed_work(vi->wq, &vi->sync_work, delay);
		break;
	case VWORK_SYNC_NOW:
		mod_delayed_work(vi->wq, &vi->sync_work, 0);
		break;
	case VWORK_PERSIST:
		queue_work(vi->wq, &vi->persist_work);
		break;
	case VWORK_WARM:
		queue_work(vi->wq, &vi->warm_work);
		break;
	}
}

/*
 * Graph blocks a store may hold in memory before they are written back:
 * 1/16 of the graph, at least 64 (what a burst of changes dirties between
 * two write-backs). The rest is read through the page cache.
 */
static u64 vexfs_graph_mem_max(const struct vexfs_gstore *gs)
{
	return max_t(u64, 64, gs->nblocks / 16);
}

/*
 * After a change (write lock held): when the graph holds too many blocks in
 * memory, write them back now, or, for a graph never written (the file may
 * first need blocks, which takes a journal handle, never taken under the
 * lock), from the persist worker.
 */
static void vexfs_graph_trim(struct vexfs_vindex *vi)
{
	struct vexfs_gstore *gs = vi->gs;

	if (!gs || gs->nmem < vexfs_graph_mem_max(gs))
		return;
	if (!gs->fresh && !vexfs_gstore_write_back(vi, gs))
		return;
	vexfs_vwork_queue(vi, VWORK_PERSIST, 0);
}

/* A graph failure degrades to exact search; the store stays right. */
static void vexfs_graph_failed(struct vexfs_vindex *vi, int err, const char *what, u32 n)
{
	atomic64_inc(&vi->st.errors);
	pr_warn_ratelimited("vexfs (%s): graph error %d %s %u, falling back to exact search until rebuilt\n",
			    vi->sb->s_id, err, what, n);
	vi->graph_valid = false;
	if (vi->auto_rebuild)
		vexfs_vwork_queue(vi, VWORK_REBUILD, 0);
}

/* Bring the graph node of slot in line with the store. */
static int vexfs_graph_apply(struct vexfs_vindex *vi, u32 slot)
{
	struct vexfs_kctx kc;
	u8 st = vexfs_slot(vi, slot)->state;
	u64 d0;
	int err = 0;

	if (!vi->gs || !vi->graph_valid)
		return 0;
	err = vexfs_writer_ctx(vi, &kc);
	if (err)
		return err;
	d0 = vi->wscratch->ctx.dist_count;
	err = vexfs_debug_graph_err();
	if (!err && (st & VSLOT_LIVE) && !(st & VSLOT_IN_GRAPH)) {
		ktime_t t0 = ktime_get();

		err = vexfs_hnsw_insert(vi->gh, &vi->wscratch->ctx, slot, vexfs_slot(vi, slot)->ino);
		if (!err) {
			vexfs_slot(vi, slot)->state |= VSLOT_IN_GRAPH;
			atomic64_inc(&vi->st.inserts);
			atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), t0)), &vi->st.insert_ns);
		}
	} else if (!err && (st & VSLOT_LIVE) && (st & VSLOT_IN_GRAPH)) {
		err = vexfs_hnsw_update(vi->gh, &vi->wscratch->ctx, slot);
		if (!err)
			atomic64_inc(&vi->st.updates);
	} else if (!err && (st & VSLOT_IN_GRAPH)) {
		err = vexfs_hnsw_delete(vi->gh, &vi->wscratch->ctx, slot);
		if (!err) {
			vexfs_slot(vi, slot)->state &= ~VSLOT_IN_GRAPH;
			atomic64_inc(&vi->st.deletes);
		}
	}
	atomic64_add(vi->wscratch->ctx.dist_count - d0, &vi->st.dists);
	if (err) {
		vexfs_graph_failed(vi, err, "on slot", slot);
		return err;
	}
	vi->graph_dirty = true;
	vexfs_graph_trim(vi);
	return 0;
}

/*
 * Remove the graph nodes of n deleted slots (in the graph, no longer live)
 * together: a neighbour of several of them re-selects its links once.
 */
static void vexfs_graph_delete_batch(struct vexfs_vindex *vi, const u32 *slots, u32 n)
{
	struct vexfs_kctx kc;
	u64 d0;
	int err;

	if (!vi->gs || !vi->graph_valid || !n)
		return;
	err = vexfs_writer_ctx(vi, &kc);
	if (!err)
		err = vexfs_debug_graph_err();
	if (!err) {
		d0 = vi->wscratch->ctx.dist_count;
		err = vexfs_hnsw_delete_batch(vi->gh, &vi->wscratch->ctx, slots, n);
		atomic64_add(vi->wscratch->ctx.dist_count - d0, &vi->st.dists);
	}
	if (err) {
		vexfs_graph_failed(vi, err, "deleting nodes, count", n);
		return;
	}
	for (u32 i = 0; i < n; i++)
		vexfs_slot(vi, slots[i])->state &= ~VSLOT_IN_GRAPH;
	atomic64_add(n, &vi->st.deletes);
	vi->graph_dirty = true;
	vexfs_graph_trim(vi);
}

static u32 vexfs_pending_max(void)
{
	u32 max = READ_ONCE(debug_max_pending);

	return max && max < VEXFS_MAX_PENDING ? max : VEXFS_MAX_PENDING;
}

/* Queue a slot for the graph; applies a batch itself when the ring is full. */
static void vexfs_pending_add(struct vexfs_vindex *vi, u32 slot)
{
	u32 max = vexfs_pending_max();

	if (vexfs_slot(vi, slot)->state & VSLOT_PENDING)
		return;
	if (vi->pq_count >= max)
		vexfs_pending_drain(vi, vi->batch_size);	/* back-pressure */
	if (vi->pq_count >= max) {
		/*
		 * Still full (the graph failed, or a rebuild holds the queue):
		 * drop the change and the graph, exact search serves. A
		 * rebuild running now sees pq_drops move and starts over.
		 */
		vi->graph_valid = false;
		vi->pq_drops++;
		return;
	}
	vi->pq[(vi->pq_head + vi->pq_count) % VEXFS_MAX_PENDING] = slot;
	vi->pq_count++;
	vexfs_slot(vi, slot)->state |= VSLOT_PENDING;
}

void vexfs_pending_drain(struct vexfs_vindex *vi, u32 max)
{
	u32 n = 0, ndel = 0;

	if (vi->rebuilding)
		return;	/* the rebuild drains the queue when it swaps the graph in */
	/* The batch's graph deletes first, together (and before inserts link to them). */
	for (u32 i = 0; i < vi->pq_count && i < max; i++) {
		u32 slot = vi->pq[(vi->pq_head + i) % VEXFS_MAX_PENDING];

		if (slot < vi->capacity && vexfs_graph_delete_due(vi, slot))
			vi->del_batch[ndel++] = slot;
	}
	if (ndel > 1)
		vexfs_graph_delete_batch(vi, vi->del_batch, ndel);
	while (vi->pq_count && n < max) {
		u32 slot = vi->pq[vi->pq_head];

		vi->pq_head = (vi->pq_head + 1) % VEXFS_MAX_PENDING;
		vi->pq_count--;
		n++;
		if (slot >= vi->capacity)
			continue;
		vexfs_slot(vi, slot)->state &= ~VSLOT_PENDING;
		vexfs_graph_apply(vi, slot);
		vexfs_slot_release(vi, slot);
	}
	if (n) {
		atomic64_inc(&vi->st.syncs);
		vi->last_sync_ns = ktime_get_real_ns();
	}
}

/*
 * A change to slot: to the graph now, or to the queue. In the immediate mode
 * graph deletes are queued too, for VEXFS_DELETE_BATCH_MS, and applied in
 * batches: a removed vector leaves the store, and so every result, at once
 * either way, and a neighbour shared by several of a rm -r's files is
 * repaired once.
 */
#define VEXFS_DELETE_BATCH_MS	20
void vexfs_slot_changed(struct vexfs_vindex *vi, u32 slot)
{
	if (vi->sync_mode == VEXFS_SYNC_IMMEDIATE && !vi->rebuilding &&
	    !(vexfs_slot(vi, slot)->state & VSLOT_PENDING) && vi->gs && vi->graph_valid &&
	    vexfs_graph_delete_due(vi, slot)) {
		vexfs_pending_add(vi, slot);
		vexfs_vwork_queue(vi, VWORK_SYNC, msecs_to_jiffies(VEXFS_DELETE_BATCH_MS));
		return;
	}
	if (vi->sync_mode == VEXFS_SYNC_LAZY || vi->rebuilding || (vexfs_slot(vi, slot)->state & VSLOT_PENDING)) {
		vexfs_pending_add(vi, slot);
		if (vi->sync_mode == VEXFS_SYNC_LAZY && vi->pq_count >= vi->batch_size)
			vexfs_vwork_queue(vi, VWORK_SYNC_NOW, 0);
		else
			vexfs_vwork_queue(vi, VWORK_SYNC, msecs_to_jiffies(vi->sync_interval_ms));
		return;
	}
	vexfs_graph_apply(vi, slot);
	vexfs_slot_release(vi, slot);
}

/*
 * The slots of a new run [first, first + n) became live (write lock held).
 * A small run goes through vexfs_slot_changed(); a large one in the
 * immediate mode is queued (searches scan queued slots exactly) and true is
 * returned: the caller then applies it with vexfs_pending_apply() once it
 * has dropped the lock, so searches are not held up by thousands of inserts.
 */
bool vexfs_run_changed(struct vexfs_vindex *vi, u32 first, u32 n)
{
	u32 s;

	if (n <= VEXFS_RUN_INLINE || vi->sync_mode == VEXFS_SYNC_LAZY || vi->rebuilding ||
	    !vi->gs || !vi->graph_valid) {
		for (s = first; s < first + n; s++)
			vexfs_slot_changed(vi, s);
		return false;
	}
	for (s = first; s < first + n; s++)
		vexfs_pending_add(vi, s);
	/* Should the caller's batches stop early (a rebuild began), the worker finishes. */
	vexfs_vwork_queue(vi, VWORK_SYNC, msecs_to_jiffies(vi->sync_interval_ms));
	return true;
}

/*
 * Apply what is queued (immediate mode) in batches of VEXFS_RUN_INLINE,
 * taking the write lock for each: called without the lock after
 * vexfs_run_changed() returned true. Bounded by the queue's length at the
 * start, so concurrent writers cannot keep it going.
 */
void vexfs_pending_apply(struct vexfs_vindex *vi)
{
	u32 budget;

	down_read(&vi->lock);
	budget = vi->pq_count;
	up_read(&vi->lock);
	while (budget) {
		u32 step = min(budget, VEXFS_RUN_INLINE);

		down_write(&vi->lock);
		if (!vi->pq_count || vi->rebuilding || vi->sync_mode != VEXFS_SYNC_IMMEDIATE) {
			up_write(&vi->lock);
			break;
		}
		vexfs_pending_drain(vi, step);
		up_write(&vi->lock);
		budget -= step;
		cond_resched();
	}
}

/* ---- background work: lazy sync and rebuild ------------------------------------ */

void vexfs_sync_worker(struct work_struct *work)
{
	struct vexfs_vindex *vi = container_of(to_delayed_work(work), struct vexfs_vindex, sync_work);

	down_write(&vi->lock);
	vexfs_pending_drain(vi, vi->batch_size);
	if (vi->pq_count && !vi->rebuilding)
		vexfs_vwork_queue(vi, VWORK_SYNC, msecs_to_jiffies(vi->sync_interval_ms));
	up_write(&vi->lock);
}

/* Write the graph out (vexfs_graph_trim asked), so its blocks leave memory. */
void vexfs_persist_worker(struct work_struct *work)
{
	struct vexfs_vindex *vi = container_of(work, struct vexfs_vindex, persist_work);

	vexfs_vindex_sync(vi->sb, false);
}

int vexfs_vindex_force_sync(struct vexfs_vindex *vi)
{
	int err = 0;

	flush_work(&vi->rebuild_work);
	down_write(&vi->lock);
	vexfs_pending_drain(vi, U32_MAX);
	if (vi->pq_count)
		err = -EAGAIN;
	up_write(&vi->lock);
	return err;
}

/*
 * Build a fresh graph over every live slot, a chunk at a time under the read
 * lock (searches continue, exact), then swap it in under the write lock.
 * Changes made meanwhile are queued and drained after the swap. When the
 * store grew or the full queue dropped a change meanwhile, what was built
 * misses something: start over (in this run, so flush_work() waits for it).
 */
void vexfs_rebuild_worker(struct work_struct *work)
{
	struct vexfs_vindex *vi = container_of(work, struct vexfs_vindex, rebuild_work);
	struct vexfs_hnsw_params p = {
		.m = vi->m, .ef_construction = vi->efc, .metric = vi->metric,
		.dim = vi->dim, .seed = VEXFS_HNSW_SEED,
	};
	struct vexfs_scratch *s;
	struct vexfs_kctx kc = { .vi = vi };
	struct vexfs_gstore *gs;
	u32 cap, slot, delay_ms;
	u64 drops;
	void *gh;
	u8 *built;
	s64 words;
	int err;

	down_write(&vi->lock);
	if (vi->rebuilding) {
		up_write(&vi->lock);
		return;
	}
	vi->rebuilding = true;
restart:
	cap = vi->capacity;
	drops = vi->pq_drops;
	up_write(&vi->lock);

	s = NULL;
	gs = NULL;
	gh = NULL;
	built = NULL;
	slot = 0;
	p.capacity = max(cap, VEXFS_HNSW_MIN_CAPACITY);
	words = vexfs_hnsw_words_needed(&p);
	err = words < 0 ? words : 0;
	if (!err) {
		/* Built in memory (a fresh store), written at the next sync. */
		gs = vexfs_gstore_alloc(vi, words, p.capacity, true);
		gh = kzalloc(vexfs_hnsw_handle_size(), GFP_KERNEL);
		built = kvcalloc(p.capacity, 1, GFP_KERNEL);
		s = vexfs_scratch_alloc(vi, p.capacity);
		if (!gs || !gh || !built)
			err = -ENOMEM;
		else if (IS_ERR(s))
			err = PTR_ERR(s);
	}
	if (!err)
		err = vexfs_hnsw_create_store(gh, &gs->st, &p);
	while (!err) {
		u32 done = 0;

		down_read(&vi->lock);
		if (vi->capacity != cap) {
			/* The store grew meanwhile: start over at the new size. */
			up_read(&vi->lock);
			err = -EAGAIN;
			break;
		}
		s->ctx.kctx = &kc;
		kc.bounce = s->bounce;
		s->ctx.dist_batch = vexfs_dist_cb;
		s->ctx.filter = NULL;
		for (; slot < cap && done < VINDEX_REBUILD_CHUNK; slot++) {
			/* Every group gets loaded: the swap below marks every slot. */
			struct vexfs_slot_attr *a = vexfs_slot_get(vi, slot);
			u8 st;

			if (IS_ERR(a)) {
				err = PTR_ERR(a);
				break;
			}
			st = a->state;
			if (!(st & VSLOT_LIVE) || (st & VSLOT_PENDING))
				continue;
			err = vexfs_debug_graph_err();
			if (!err)
				err = vexfs_hnsw_insert(gh, &s->ctx, slot, vexfs_slot(vi, slot)->ino);
			if (err)
				break;
			built[slot] = 1;
			done++;
			/* An insert can take milliseconds (emulated: far more): yield. */
			cond_resched();
		}
		up_read(&vi->lock);
		if (slot >= cap || err)
			break;
		cond_resched();
	}
	delay_ms = READ_ONCE(debug_rebuild_delay_ms);
	if (!err && delay_ms) {
		pr_info("vexfs (%s): debug_rebuild_delay_ms: graph built, swapping it in after %u ms\n",
			vi->sb->s_id, delay_ms);
		msleep(delay_ms);
	}

	down_write(&vi->lock);
	if (!err && (vi->capacity != cap || vi->pq_drops != drops))
		err = -EAGAIN;
	if (err == -EAGAIN && !vi->stopping) {
		vexfs_gstore_free(gs);
		kfree(gh);
		kvfree(built);
		if (!IS_ERR_OR_NULL(s))
			vexfs_scratch_free(s);
		goto restart;
	}
	vi->rebuilding = false;
	if (!err) {
		for (slot = 0; slot < cap; slot++) {
			if (built[slot])
				vexfs_slot(vi, slot)->state |= VSLOT_IN_GRAPH;
			else
				vexfs_slot(vi, slot)->state &= ~VSLOT_IN_GRAPH;
		}
		swap(vi->gs, gs);
		swap(vi->gh, gh);
		vi->graph_valid = true;
		vi->graph_dirty = true;
		atomic64_inc(&vi->st.rebuilds);
		/* The new graph is in place: a back-pressure drain applies to it. */
		for (slot = 0; slot < cap; slot++) {
			if (built[slot])
				continue;
			/* Live slots the rebuild skipped (queued) get in through the queue. */
			if (vexfs_slot(vi, slot)->state & VSLOT_LIVE)
				vexfs_pending_add(vi, slot);
			else
				vexfs_slot_release(vi, slot);
		}
		vexfs_pending_drain(vi, U32_MAX);
		/* Write it out, so that its blocks leave memory. */
		vexfs_vwork_queue(vi, VWORK_PERSIST, 0);
		pr_info("vexfs (%s): HNSW graph rebuilt over %u vectors\n", vi->sb->s_id, vi->nr_live);
	} else if (err != -EAGAIN) {
		atomic64_inc(&vi->st.errors);
		pr_err("vexfs (%s): HNSW rebuild failed (%d); exact search serves\n", vi->sb->s_id, err);
	}
	/* else: unmounting; the graph stays invalid and is not persisted. */
	up_write(&vi->lock);
	vexfs_gstore_free(gs);
	kfree(gh);
	kvfree(built);
	if (!IS_ERR_OR_NULL(s))
		vexfs_scratch_free(s);
}

int vexfs_vindex_rebuild(struct vexfs_vindex *vi)
{
	down_write(&vi->lock);
	vi->graph_valid = false;
	vexfs_vwork_queue(vi, VWORK_REBUILD, 0);
	up_write(&vi->lock);
	flush_work(&vi->rebuild_work);
	return vi->graph_valid ? 0 : -EIO;
}

/* ---- persistence ------------------------------------------------------------------ */

/*
 * Map graph-file blocks [0, nblocks) (allocating, journaled). Called
 * without the index lock: allocation starts journal handles, and nothing
 * may start one while holding the index lock.
 */
static int vexfs_graph_prealloc(struct vexfs_vindex *vi, u64 nblocks)
{
	struct inode *gi = vi->graph_file;
	handle_t *handle;
	u64 b;
	int err = 0;

	handle = vexfs_journal_begin(vi->sb, VEXFS_CREDITS_TRUNCATE);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	for (b = i_size_read(gi) >> VEXFS_BLOCK_SIZE_BITS; b < nblocks && !err; b++) {
		struct vexfs_map map;

		err = vexfs_journal_ensure_restart(vi->sb, VEXFS_CREDITS_ALLOC + 2);
		if (!err)
			err = vexfs_map_blocks(gi, b, 1, true, &map);
		if (!err) {
			i_size_write(gi, (b + 1) << VEXFS_BLOCK_SIZE_BITS);
			mark_inode_dirty(gi);
		}
	}
	vexfs_journal_end(handle);
	return err;
}

/*
 * Write the graph's blocks held in memory into its (already mapped) file
 * blocks and let them go (vexfs_gstore_write_back), then the quantiser's
 * copy after them (vindex-codes.c). Write lock held: the copies are freed.
 * Derived data, not journaled: after a crash the next mount repairs the
 * graph it finds (vexfs_graph_reconcile) or rebuilds.
 */
static int vexfs_graph_persist(struct vexfs_vindex *vi, u64 nblocks, u64 gen)
{
	struct super_block *sb = vi->sb;
	u64 b, total = nblocks + vexfs_sq8_blocks(vi->dim);
	int err;

	err = vexfs_gstore_write_back(vi, vi->gs);
	if (err)
		return err;
	for (b = nblocks; b < total; b++) {
		struct vexfs_map map;
		struct buffer_head *bh;

		err = vexfs_map_blocks(vi->graph_file, b, 1, false, &map);
		if (!err && !map.block_nr)
			err = -EIO;
		if (err)
			return err;
		bh = sb_getblk(sb, map.block_nr);
		if (!bh)
			return -ENOMEM;
		lock_buffer(bh);
		vexfs_sq8_encode_block(vi, gen, b - nblocks, (u8 *)bh->b_data);
		set_buffer_uptodate(bh);
		/* No longer a graph block (the graph shrank in blocks: never, but be exact). */
		clear_buffer_vexfs_graph_checked(bh);
		unlock_buffer(bh);
		mark_buffer_dirty(bh);
		brelse(bh);
	}
	return 0;
}

int vexfs_vindex_sync(struct super_block *sb, bool wait)
{
	struct vexfs_vindex *vi = VEXFS_VI(sb);
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	int err = 0;

	if (!vi || sb_rdonly(sb))
		return 0;
	for (;;) {
		u64 gen = sbi->geom.vector_generation;
		s64 nblocks;

		/*
		 * Write lock to stamp the generation into the graph header (the
		 * core changes the graph) and to write the blocks held in memory
		 * and free them: only blocks changed since the last write (a
		 * whole graph only after a rebuild or growth).
		 */
		down_write(&vi->lock);
		if (!vi->graph_valid || !vi->gs || !vi->graph_dirty || vi->pq_count) {
			up_write(&vi->lock);
			break;
		}
		nblocks = vexfs_hnsw_blocks(vi->gh);
		if (nblocks < 0) {
			err = nblocks;
			up_write(&vi->lock);
			break;
		}
		if ((u64)nblocks + vexfs_sq8_blocks(vi->dim) >
		    (u64)(i_size_read(vi->graph_file) >> VEXFS_BLOCK_SIZE_BITS)) {
			up_write(&vi->lock);
			err = vexfs_graph_prealloc(vi, nblocks + vexfs_sq8_blocks(vi->dim));
			if (err)
				break;
			continue;	/* the graph may have changed meanwhile */
		}
		gen = sbi->geom.vector_generation;
		err = vexfs_hnsw_set_generation(vi->gh, gen);
		if (!err)
			err = vexfs_graph_persist(vi, nblocks, gen);
		if (!err) {
			vi->graph_dirty = false;
			sbi->geom.graph_generation = gen;
		}
		up_write(&vi->lock);
		break;
	}
	/* The counts go with the superblock written next (after a clean unmount: trusted). */
	down_read(&vi->lock);
	vexfs_summary_note(vi);
	up_read(&vi->lock);
	if (err) {
		pr_err("vexfs (%s): writing the HNSW graph failed: %d\n", sb->s_id, err);
		return err;
	}
	if (wait) {
		struct address_space *bdev_mapping = sb->s_bdev->bd_inode->i_mapping;

		/* The graph blocks are plain dirty buffers of the device. */
		err = filemap_write_and_wait(bdev_mapping);
		if (!err && !VEXFS_SB(sb)->journal) {
			err = sync_mapping_buffers(vi->store->i_mapping);
			if (!err)
				err = sync_mapping_buffers(vi->slotmap->i_mapping);
			if (!err)
				err = write_inode_now(vi->store, 1);
			if (!err)
				err = write_inode_now(vi->slotmap, 1);
			if (!err)
				err = write_inode_now(vi->graph_file, 1);
		}
	}
	return err;
}

/*
 * At mount, before the index is published: bring a loaded graph (node s =
 * slot s, keyed by its owner) in line with the slot arrays just read. Nodes
 * of slots that are no longer live, or now belong to another file, are
 * removed together (local repair around them); live slots without a node
 * are queued for insertion (searches scan queued slots exactly until the
 * worker has inserted them). This is what lets a mount after a crash keep
 * the graph persisted before it: it differs from the store by the changes
 * made since. A node whose slot was given, since, a new vector by the same
 * file keeps its links until the next rebuild; its distances are computed
 * from the vector in the store like every other. Returns -E2BIG, changing
 * nothing, when more than max nodes would have to change: the caller
 * rebuilds instead.
 */
int vexfs_graph_reconcile(struct vexfs_vindex *vi, u32 max, u32 *removed, u32 *queued)
{
	u32 i, ndel = 0, nins = 0;

	lockdep_assert_held_write(&vi->lock);
	*removed = 0;
	*queued = 0;
	for (i = 0; i < vi->capacity; i++) {
		bool live = vexfs_slot(vi, i)->state & VSLOT_LIVE;
		u64 key;
		int has = vexfs_hnsw_node_key(vi->gh, i, &key) == 1;

		if (has && live && key == vexfs_slot(vi, i)->ino)
			continue;
		if (has && ndel < VEXFS_MAX_PENDING)
			vi->del_batch[ndel] = i;
		ndel += has;
		nins += live;
		if (ndel + nins > max || ndel > VEXFS_MAX_PENDING || nins > vexfs_pending_max())
			return -E2BIG;
	}
	for (i = 0; i < vi->capacity; i++) {
		bool live = vexfs_slot(vi, i)->state & VSLOT_LIVE;
		u64 key;

		if (vexfs_hnsw_node_key(vi->gh, i, &key) == 1 && live && key == vexfs_slot(vi, i)->ino)
			vexfs_slot(vi, i)->state |= VSLOT_IN_GRAPH;
	}
	vi->graph_valid = true;
	if (ndel) {
		for (i = 0; i < ndel; i++)
			vexfs_slot(vi, vi->del_batch[i])->state |= VSLOT_IN_GRAPH;
		vexfs_graph_delete_batch(vi, vi->del_batch, ndel);
		if (!vi->graph_valid)
			return -EUCLEAN;	/* the core refused: the graph is damaged */
	}
	for (i = 0; i < vi->capacity && nins; i++) {
		if ((vexfs_slot(vi, i)->state & (VSLOT_LIVE | VSLOT_IN_GRAPH)) == VSLOT_LIVE)
			vexfs_pending_add(vi, i);
	}
	if (vi->pq_count)
		vexfs_vwork_queue(vi, VWORK_SYNC_NOW, 0);
	if (ndel || nins)
		vi->graph_dirty = true;
	*removed = ndel;
	*queued = nins;
	return 0;
}

/* Read the quantiser's copy that follows the graph's nblocks blocks, if whole and current. */
static void vexfs_sq8_load(struct vexfs_vindex *vi, u64 nblocks, u64 gen)
{
	u32 qb = vexfs_sq8_blocks(vi->dim), b;
	u8 *buf;
	int err = 0;

	if ((u64)i_size_read(vi->graph_file) < (nblocks + qb) << VEXFS_BLOCK_SIZE_BITS)
		return;
	buf = kvmalloc((size_t)qb * VEXFS_BLOCK_SIZE, GFP_KERNEL);
	if (!buf)
		return;	/* trained again instead */
	for (b = 0; b < qb && !err; b++) {
		struct buffer_head *bh;
		bool fresh;

		bh = vexfs_meta_bread(vi->graph_file, nblocks + b, false, &fresh, &err);
		if (!bh) {
			err = err ? err : -ENODATA;
			break;
		}
		memcpy(buf + (size_t)b * VEXFS_BLOCK_SIZE, bh->b_data, VEXFS_BLOCK_SIZE);
		brelse(bh);
	}
	vi->sq_loaded = !err && vexfs_sq8_decode(vi, buf, gen);
	kvfree(buf);
}

/*
 * Read the persisted graph: after a clean unmount when it is current (its
 * generation is the store's), after a crash whatever its generation (the
 * caller reconciles it with the store, vexfs_graph_reconcile). Returns its
 * capacity or <0 (-ESTALE: none, or not current after a clean unmount,
 * which is how fsck.vexfs asks for a rebuild).
 */
int vexfs_graph_load(struct vexfs_vindex *vi)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vi->sb);
	struct inode *gi = vi->graph_file;
	struct vexfs_hnsw_params p;
	u64 nblocks, gen;
	u32 *head, live;
	s64 words;
	int err;

	if (i_size_read(gi) < VEXFS_BLOCK_SIZE ||
	    (sbi->was_clean && sbi->geom.graph_generation != sbi->geom.vector_generation))
		return -ESTALE;
	head = kvmalloc(VEXFS_BLOCK_SIZE, GFP_KERNEL);
	if (!head)
		return -ENOMEM;
	err = -EIO;
	{
		struct buffer_head *bh;
		bool fresh;

		bh = vexfs_meta_bread(gi, 0, false, &fresh, &err);
		if (bh)
			err = vexfs_hnsw_decode_block((u8 *)bh->b_data, 0, head, VEXFS_BLOCK_SIZE / 4);
		else if (!err)
			err = -ESTALE;	/* a hole: no graph was written */
		brelse(bh);
	}
	if (!err)
		err = vexfs_hnsw_peek_params(head, &p);
	kvfree(head);
	if (err)
		return err;
	if (p.m != vi->m || p.metric != vi->metric || p.dim != vi->dim)
		return -EUCLEAN;
	words = vexfs_hnsw_words_needed(&p);
	if (words < 0)
		return words;
	nblocks = DIV_ROUND_UP((u64)words, VEXFS_BLOCK_SIZE / 4);
	if ((u64)i_size_read(gi) < nblocks << VEXFS_BLOCK_SIZE_BITS)
		return -EUCLEAN;
	vi->gs = vexfs_gstore_alloc(vi, words, p.capacity, false);
	vi->gh = kzalloc(vexfs_hnsw_handle_size(), GFP_KERNEL);
	if (!vi->gs || !vi->gh)
		err = -ENOMEM;
	/*
	 * After a clean unmount only the header is read: every other block is
	 * read (and checked) when a search or a change first needs it. After a
	 * crash every node is validated first (one read of the file), since
	 * the graph may have been written in part.
	 */
	if (!err && !sbi->was_clean)
		vexfs_file_readahead(gi, 0, nblocks);
	if (!err)
		err = vexfs_hnsw_open_store(vi->gh, &vi->gs->st, !sbi->was_clean, &p, &live, &gen);
	if (!err && sbi->was_clean && gen != sbi->geom.vector_generation)
		err = -ESTALE;
	if (!err) {
		vi->graph_loaded_live = live;
		vexfs_sq8_load(vi, nblocks, gen);
	}
	if (err) {
		vexfs_gstore_free(vi->gs);
		kfree(vi->gh);
		vi->gs = NULL;
		vi->gh = NULL;
		return err;
	}
	return p.capacity;
}
