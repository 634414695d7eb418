// SPDX-License-Identifier: GPL-2.0
/*
 * vector.c - the vector store and its HNSW index on a mounted VexFS (the
 * storage-graph bridge).
 *
 * Vectors are user data of their inode: the record of inode n lives in the
 * hidden vector-store file (inode 3) at a position the core computes, and
 * the inode carries VEXFS_INODE_FL_HAS_VECTOR. At mount every record is
 * read into memory (one flat array, so distance kernels stream it), checked
 * against its inode (in use, same generation), and the persisted graph
 * (inode 4) is loaded if it belongs to the same vector generation and the
 * volume was cleanly unmounted; otherwise it is rebuilt in the background
 * while exact search serves.
 *
 * Sync modes: immediate applies a change to the graph before the call
 * returns; lazy queues it (bounded ring) for a worker that applies batches.
 * Either way a search sees every change at once: queued slots are excluded
 * from graph results and scanned exactly instead, and removed vectors leave
 * the store (and so every result) immediately.
 *
 * FPU: distances are computed only in vexfs_dist_cb(), between
 * kernel_fpu_begin() and kernel_fpu_end(), over vectors in memory that stay
 * put while the index lock is held; nothing there sleeps.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/cred.h>
#include <linux/capability.h>
#include <linux/ktime.h>
#include <linux/cpumask.h>
#include <linux/sort.h>
#include <linux/moduleparam.h>
#include <linux/delay.h>
#include <asm/fpu/api.h>
#include <asm/cpufeature.h>

#include "vector.h"
#include "../shim/vexfs_simd.h"

#define VINDEX_SCAN_BATCH	256u
#define VINDEX_REBUILD_CHUNK	256u
#define VINDEX_DEFAULT_EF	64u
#define VINDEX_SCRATCH_EF	(VEXFS_IOC_MAX_EF > VEXFS_IOC_MAX_K ? VEXFS_IOC_MAX_EF : VEXFS_IOC_MAX_K)

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
static unsigned int debug_alloc_delay_ms;
module_param(debug_alloc_delay_ms, uint, 0600);
MODULE_PARM_DESC(debug_alloc_delay_ms, "Test only: growing the slot arrays waits this long unlocked");

/* Injected graph failure (debug_fail_graph): as if the core had failed. */
static int vexfs_debug_graph_err(void)
{
	return READ_ONCE(debug_fail_graph) ? -EIO : 0;
}

/* ---- distance and filter callbacks handed to the core ------------------- */

struct vexfs_kctx {
	struct vexfs_vindex *vi;
	const u32 *query;	/* the search vector (VEXFS_HNSW_QUERY_INPUT) */
	bool check_perm;	/* hide files the caller may not read */
	bool skip_pending;	/* queued slots are scanned exactly instead */
};

static int vexfs_dist_cb(void *kctxp, u32 query_slot, const u32 *ids, u32 n, u32 *out)
{
	struct vexfs_kctx *kc = kctxp;
	struct vexfs_vindex *vi = kc->vi;
	const u32 *q;
	int err;

	if (query_slot == VEXFS_HNSW_QUERY_INPUT)
		q = kc->query;
	else if (query_slot < vi->capacity)
		q = vi->vecs + (size_t)query_slot * vi->dim;
	else
		return -EINVAL;
	if (!q)
		return -EINVAL;
	kernel_fpu_begin();
	err = vexfs_simd_dist_batch(vi->metric, vi->caps, q, vi->dim, vi->vecs, vi->dim,
				    vi->capacity, ids, n, out);
	kernel_fpu_end();
	return err;
}

/* The caller may read a file with these attributes (VexFS has no ACLs). */
static bool vexfs_slot_readable(struct vexfs_vindex *vi, u32 slot)
{
	kuid_t uid = make_kuid(&init_user_ns, vi->slot_uid[slot]);
	kgid_t gid = make_kgid(&init_user_ns, vi->slot_gid[slot]);
	u16 mode = vi->slot_mode[slot];

	if (uid_eq(current_fsuid(), uid))
		mode >>= 6;
	else if (in_group_p(gid))
		mode >>= 3;
	return mode & 4;
}

static int vexfs_filter_cb(void *kctxp, u32 slot)
{
	struct vexfs_kctx *kc = kctxp;
	struct vexfs_vindex *vi = kc->vi;
	u8 st;

	if (slot >= vi->capacity)
		return 0;
	st = vi->slot_state[slot];
	if (!(st & VSLOT_LIVE))
		return 0;
	if (kc->skip_pending && (st & VSLOT_PENDING))
		return 0;
	if (kc->check_perm && !vexfs_slot_readable(vi, slot))
		return 0;
	return 1;
}

/* ---- scratch pool -------------------------------------------------------- */

static void vexfs_scratch_free(struct vexfs_scratch *s)
{
	if (!s)
		return;
	kvfree(s->ctx.scratch32);
	kvfree(s->ctx.scratch64);
	kfree(s);
}

static struct vexfs_scratch *vexfs_scratch_alloc(struct vexfs_vindex *vi, u32 capacity)
{
	struct vexfs_scratch *s;
	u64 n32, n64;
	int err;

	err = vexfs_hnsw_scratch_size(capacity, vi->m, VINDEX_SCRATCH_EF, &n32, &n64);
	if (err)
		return ERR_PTR(err);
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->ctx.scratch32 = kvcalloc(n32, sizeof(u32), GFP_KERNEL);
	s->ctx.scratch64 = kvcalloc(n64, sizeof(u64), GFP_KERNEL);
	if (!s->ctx.scratch32 || !s->ctx.scratch64) {
		vexfs_scratch_free(s);
		return ERR_PTR(-ENOMEM);
	}
	s->ctx.scratch32_len = n32;
	s->ctx.scratch64_len = n64;
	s->ctx.ef_max = VINDEX_SCRATCH_EF;
	s->ctx.capacity = capacity;
	s->capacity = capacity;
	return s;
}

/*
 * Take a scratch sized for the current capacity. Called without the index
 * lock (it may allocate); the caller re-checks the capacity under the lock.
 */
static struct vexfs_scratch *vexfs_scratch_get(struct vexfs_vindex *vi)
{
	struct vexfs_scratch *s;
	u32 cap;

	if (down_interruptible(&vi->scratch_sem))
		return ERR_PTR(-EINTR);
	spin_lock(&vi->scratch_lock);
	s = list_first_entry_or_null(&vi->scratch_free, struct vexfs_scratch, list);
	if (s)
		list_del(&s->list);
	spin_unlock(&vi->scratch_lock);
	cap = READ_ONCE(vi->capacity);
	if (s && s->capacity >= cap)
		return s;
	vexfs_scratch_free(s);
	s = vexfs_scratch_alloc(vi, cap);
	if (IS_ERR(s))
		up(&vi->scratch_sem);
	return s;
}

static void vexfs_scratch_put(struct vexfs_vindex *vi, struct vexfs_scratch *s)
{
	spin_lock(&vi->scratch_lock);
	list_add(&s->list, &vi->scratch_free);
	spin_unlock(&vi->scratch_lock);
	up(&vi->scratch_sem);
}

/* ---- the store file ------------------------------------------------------ */

static u32 vexfs_record_len(struct vexfs_vindex *vi)
{
	return VEXFS_VEC_RECORD_HEADER_SIZE + 4 * vi->dim;
}

/*
 * Read (create = false) or write the record bytes of inode ino in the store
 * file. rec == NULL on write clears the record. The record may span several
 * whole blocks (dim > 1020).
 */
static int vexfs_store_io(struct vexfs_vindex *vi, u64 ino, u8 *rec, bool write, bool *absent)
{
	struct inode *store = vi->store;
	struct super_block *sb = vi->sb;
	struct vexfs_vec_pos pos;
	u32 done = 0;
	u64 block;
	int err;

	err = vexfs_vec_record_pos(ino, vi->dim, &pos);
	if (err)
		return err;
	if (absent)
		*absent = false;
	for (block = pos.block; done < pos.len; block++) {
		struct buffer_head map = { .b_size = VEXFS_BLOCK_SIZE };
		struct buffer_head *bh;
		u32 off = done ? 0 : pos.offset;
		u32 n = min_t(u32, pos.len - done, VEXFS_BLOCK_SIZE - off);

		err = vexfs_get_block(store, block, &map, write && rec);
		if (err)
			return err;
		if (!buffer_mapped(&map)) {
			/* A hole: nothing was ever stored there. */
			if (write)
				return 0;	/* clearing an absent record */
			if (absent)
				*absent = true;
			return 0;
		}
		bh = buffer_new(&map) ? sb_getblk(sb, map.b_blocknr) : vexfs_bread(sb, map.b_blocknr);
		if (!bh)
			return -EIO;
		if (write) {
			if (buffer_new(&map)) {
				/* jbd2 wants new blocks locked for create access */
				lock_buffer(bh);
				err = vexfs_journal_create_access(sb, bh);
			} else {
				err = vexfs_journal_write_access(sb, bh);
				lock_buffer(bh);
			}
			if (err) {
				unlock_buffer(bh);
				brelse(bh);
				return err;
			}
			if (buffer_new(&map)) {
				memset(bh->b_data, 0, VEXFS_BLOCK_SIZE);
				set_buffer_uptodate(bh);
			}
			if (rec)
				memcpy(bh->b_data + off, rec + done, n);
			else
				memset(bh->b_data + off, 0, n);
			unlock_buffer(bh);
			err = vexfs_journal_dirty(sb, store, bh);
			if (err) {
				brelse(bh);
				return err;
			}
		} else {
			memcpy(rec + done, bh->b_data + off, n);
		}
		brelse(bh);
		done += n;
	}
	if (write && rec) {
		loff_t end = (loff_t)(pos.block << VEXFS_BLOCK_SIZE_BITS) + pos.offset + pos.len;

		if (end > i_size_read(store)) {
			i_size_write(store, end);
			mark_inode_dirty(store);
		}
	}
	return 0;
}

static int vexfs_store_write(struct vexfs_vindex *vi, struct inode *inode, const u32 *bits)
{
	u32 len = vexfs_record_len(vi);
	u8 *rec;
	int err;

	rec = kvmalloc(len, GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	err = vexfs_vec_record_encode(inode->i_ino, inode->i_generation, bits, vi->dim, rec, len);
	if (!err) {
		mutex_lock(&vi->store_mutex);
		err = vexfs_store_io(vi, inode->i_ino, rec, true, NULL);
		mutex_unlock(&vi->store_mutex);
	}
	kvfree(rec);
	return err;
}

static int vexfs_store_clear(struct vexfs_vindex *vi, u64 ino)
{
	handle_t *handle;
	int err;

	handle = vexfs_journal_begin(vi->sb, VEXFS_CREDITS_VECTOR);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	mutex_lock(&vi->store_mutex);
	err = vexfs_store_io(vi, ino, NULL, true, NULL);
	mutex_unlock(&vi->store_mutex);
	vexfs_journal_end(handle);
	return err;
}

/* ---- slots ---------------------------------------------------------------- */

static int vexfs_slot_of(struct vexfs_vindex *vi, u64 ino)
{
	void *v = xa_load(&vi->ino_slot, ino);

	return v ? (int)(xa_to_value(v) - 1) : -ENOENT;
}

struct vexfs_slot_arrays {
	u32 capacity;
	u32 *vecs, *gen, *uid, *gid;
	u64 *ino;
	u16 *mode;
	u8 *state;
	u32 *gw;
	u64 gw_len;
	void *gh;
};

static void vexfs_arrays_free(struct vexfs_slot_arrays *a)
{
	kvfree(a->vecs);
	kvfree(a->gen);
	kvfree(a->uid);
	kvfree(a->gid);
	kvfree(a->ino);
	kvfree(a->mode);
	kvfree(a->state);
	kvfree(a->gw);
	kfree(a->gh);
}

static int vexfs_arrays_alloc(struct vexfs_vindex *vi, u32 capacity, bool with_graph,
			      struct vexfs_slot_arrays *a)
{
	memset(a, 0, sizeof(*a));
	a->capacity = capacity;
	a->vecs = kvcalloc((size_t)capacity * vi->dim, sizeof(u32), GFP_KERNEL);
	a->gen = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->uid = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->gid = kvcalloc(capacity, sizeof(u32), GFP_KERNEL);
	a->ino = kvcalloc(capacity, sizeof(u64), GFP_KERNEL);
	a->mode = kvcalloc(capacity, sizeof(u16), GFP_KERNEL);
	a->state = kvcalloc(capacity, sizeof(u8), GFP_KERNEL);
	if (!a->vecs || !a->gen || !a->uid || !a->gid || !a->ino || !a->mode || !a->state)
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
static int vexfs_arrays_adopt(struct vexfs_vindex *vi, struct vexfs_slot_arrays *a)
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
		memcpy(a->ino, vi->slot_ino, old * sizeof(u64));
		memcpy(a->mode, vi->slot_mode, old * sizeof(u16));
		memcpy(a->state, vi->slot_state, old * sizeof(u8));
	}
	swap(vi->vecs, a->vecs);
	swap(vi->slot_gen, a->gen);
	swap(vi->slot_uid, a->uid);
	swap(vi->slot_gid, a->gid);
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
static int vexfs_slot_alloc(struct vexfs_vindex *vi, u32 *slot)
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
	s->ctx.dist_batch = vexfs_dist_cb;
	s->ctx.filter = NULL;
	return 0;
}

/* The slot's vector is gone but its graph node is not: a graph delete is due. */
static bool vexfs_graph_delete_due(const struct vexfs_vindex *vi, u32 slot)
{
	return (vi->slot_state[slot] & (VSLOT_LIVE | VSLOT_IN_GRAPH)) == VSLOT_IN_GRAPH;
}

enum vexfs_vwork {
	VWORK_REBUILD,		/* rebuild_work */
	VWORK_SYNC,		/* sync_work after delay, unless already queued */
	VWORK_SYNC_NOW,		/* sync_work now, even if queued for later */
};

/*
 * The one place work is queued (index lock held): never once teardown has
 * begun, since vexfs_vindex_unload() cancels the work, drains, and then
 * frees what the work uses.
 */
static void vexfs_vwork_queue(struct vexfs_vindex *vi, enum vexfs_vwork w, unsigned long delay)
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
	}
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
	u8 st = vi->slot_state[slot];
	u64 d0;
	int err = 0;

	if (!vi->gw || !vi->graph_valid)
		return 0;
	err = vexfs_writer_ctx(vi, &kc);
	if (err)
		return err;
	d0 = vi->wscratch->ctx.dist_count;
	err = vexfs_debug_graph_err();
	if (!err && (st & VSLOT_LIVE) && !(st & VSLOT_IN_GRAPH)) {
		ktime_t t0 = ktime_get();

		err = vexfs_hnsw_insert(vi->gh, &vi->wscratch->ctx, slot, vi->slot_ino[slot]);
		if (!err) {
			vi->slot_state[slot] |= VSLOT_IN_GRAPH;
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
			vi->slot_state[slot] &= ~VSLOT_IN_GRAPH;
			atomic64_inc(&vi->st.deletes);
		}
	}
	atomic64_add(vi->wscratch->ctx.dist_count - d0, &vi->st.dists);
	if (err) {
		vexfs_graph_failed(vi, err, "on slot", slot);
		return err;
	}
	vi->graph_dirty = true;
	return 0;
}

/*
 * Remove the graph nodes of n deleted slots (in the graph, no longer live)
 * with one scan of the graph: a single delete scans the whole graph for links
 * to the node (20 ms per delete at 100,000 vectors in the emulated VM), so
 * rm -r of many files with vectors was quadratic.
 */
static void vexfs_graph_delete_batch(struct vexfs_vindex *vi, const u32 *slots, u32 n)
{
	struct vexfs_kctx kc;
	u64 d0;
	int err;

	if (!vi->gw || !vi->graph_valid || !n)
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
		vi->slot_state[slots[i]] &= ~VSLOT_IN_GRAPH;
	atomic64_add(n, &vi->st.deletes);
	vi->graph_dirty = true;
}

/* Release a slot that holds no vector and has no graph node. */
static void vexfs_slot_release(struct vexfs_vindex *vi, u32 slot)
{
	u8 st = vi->slot_state[slot];

	if (st & (VSLOT_LIVE | VSLOT_IN_GRAPH | VSLOT_PENDING))
		return;
	vi->slot_state[slot] = 0;
	vi->slot_ino[slot] = 0;
	memset(vi->vecs + (size_t)slot * vi->dim, 0, vi->dim * sizeof(u32));
}

/* Queue a slot for the graph; applies a batch itself when the ring is full. */
static void vexfs_pending_drain(struct vexfs_vindex *vi, u32 max);

static u32 vexfs_pending_max(void)
{
	u32 max = READ_ONCE(debug_max_pending);

	return max && max < VEXFS_MAX_PENDING ? max : VEXFS_MAX_PENDING;
}

static void vexfs_pending_add(struct vexfs_vindex *vi, u32 slot)
{
	u32 max = vexfs_pending_max();

	if (vi->slot_state[slot] & VSLOT_PENDING)
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
	vi->slot_state[slot] |= VSLOT_PENDING;
}

static void vexfs_pending_drain(struct vexfs_vindex *vi, u32 max)
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
		vi->slot_state[slot] &= ~VSLOT_PENDING;
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
 * either way, and one graph scan then serves a whole rm -r.
 */
#define VEXFS_DELETE_BATCH_MS	20
static void vexfs_slot_changed(struct vexfs_vindex *vi, u32 slot)
{
	if (vi->sync_mode == VEXFS_SYNC_IMMEDIATE && !vi->rebuilding &&
	    !(vi->slot_state[slot] & VSLOT_PENDING) && vi->gw && vi->graph_valid &&
	    vexfs_graph_delete_due(vi, slot)) {
		vexfs_pending_add(vi, slot);
		vexfs_vwork_queue(vi, VWORK_SYNC, msecs_to_jiffies(VEXFS_DELETE_BATCH_MS));
		return;
	}
	if (vi->sync_mode == VEXFS_SYNC_LAZY || vi->rebuilding || (vi->slot_state[slot] & VSLOT_PENDING)) {
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

/* ---- public vector operations ---------------------------------------------- */

u32 vexfs_vindex_dim(struct super_block *sb)
{
	struct vexfs_vindex *vi = VEXFS_VI(sb);

	return vi ? vi->dim : 0;
}

static void vexfs_vector_generation_bump(struct vexfs_vindex *vi)
{
	VEXFS_SB(vi->sb)->geom.vector_generation++;
}

static int __vexfs_vector_set(struct inode *inode, const u32 *bits, u32 dim);

/*
 * Set inode's vector: the record and the inode's flag change in one
 * journal transaction (nested in the caller's when there is one).
 */
int vexfs_vector_set(struct inode *inode, const u32 *bits, u32 dim)
{
	handle_t *handle;
	int err, err2;

	handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_VECTOR);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_vector_set(inode, bits, dim);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

static int __vexfs_vector_set(struct inode *inode, const u32 *bits, u32 dim)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	int slot, err;
	u32 s;

	if (!vi)
		return -EOPNOTSUPP;
	if (dim != vi->dim)
		return -EINVAL;
	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	if (inode->i_ino < VEXFS_FIRST_INO || !inode->i_nlink)
		return -ENOENT;
	err = vexfs_vec_check(bits, dim);
	if (err)
		return -EINVAL;

	/* The record first: the index never holds what the disk does not. */
	err = vexfs_store_write(vi, inode, bits);
	if (err)
		goto fail;

	down_write(&vi->lock);
	slot = vexfs_slot_of(vi, inode->i_ino);
	if (slot < 0) {
		err = vexfs_slot_alloc(vi, &s);
		if (err) {
			up_write(&vi->lock);
			goto fail;
		}
		err = xa_err(xa_store(&vi->ino_slot, inode->i_ino, xa_mk_value(s + 1), GFP_NOFS));
		if (err) {
			up_write(&vi->lock);
			goto fail;
		}
		slot = s;
		vi->slot_ino[slot] = inode->i_ino;
		vi->nr_live++;
	}
	memcpy(vi->vecs + (size_t)slot * vi->dim, bits, dim * sizeof(u32));
	vi->slot_gen[slot] = inode->i_generation;
	vi->slot_uid[slot] = i_uid_read(inode);
	vi->slot_gid[slot] = i_gid_read(inode);
	vi->slot_mode[slot] = inode->i_mode;
	vi->slot_state[slot] |= VSLOT_LIVE;
	vexfs_vector_generation_bump(vi);
	vexfs_slot_changed(vi, slot);
	up_write(&vi->lock);

	VEXFS_I(inode)->i_flags |= VEXFS_INODE_FL_HAS_VECTOR;
	VEXFS_I(inode)->i_vector_dim = dim;
	inode->i_ctime = current_time(inode);
	mark_inode_dirty(inode);
	return 0;
fail:
	atomic64_inc(&vi->st.errors);
	if (err != -ENOSPC && err != -ENOMEM)
		pr_warn_ratelimited("vexfs (%s): storing the vector of inode %lu failed: %d\n",
				    inode->i_sb->s_id, inode->i_ino, err);
	return err;
}

int vexfs_vector_get(struct inode *inode, u32 *bits, u32 dim)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	int slot;

	if (!vi)
		return -EOPNOTSUPP;
	if (dim < vi->dim)
		return -ERANGE;
	down_read(&vi->lock);
	slot = vexfs_slot_of(vi, inode->i_ino);
	if (slot < 0 || !(vi->slot_state[slot] & VSLOT_LIVE)) {
		up_read(&vi->lock);
		return -ENODATA;
	}
	memcpy(bits, vi->vecs + (size_t)slot * vi->dim, vi->dim * sizeof(u32));
	up_read(&vi->lock);
	return vi->dim;
}

/* Remove inode's vector (explicitly, or because its last link went). */
int vexfs_vector_remove(struct inode *inode)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	handle_t *handle;
	int slot, err;

	if (!vi)
		return -EOPNOTSUPP;
	handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_VECTOR);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	down_write(&vi->lock);
	slot = vexfs_slot_of(vi, inode->i_ino);
	if (slot < 0) {
		up_write(&vi->lock);
		vexfs_journal_end(handle);
		return -ENODATA;
	}
	xa_erase(&vi->ino_slot, inode->i_ino);
	vi->slot_state[slot] &= ~VSLOT_LIVE;
	vi->nr_live--;
	vexfs_vector_generation_bump(vi);
	vexfs_slot_changed(vi, slot);
	up_write(&vi->lock);

	err = vexfs_store_clear(vi, inode->i_ino);
	VEXFS_I(inode)->i_flags &= ~VEXFS_INODE_FL_HAS_VECTOR;
	VEXFS_I(inode)->i_vector_dim = 0;
	inode->i_ctime = current_time(inode);
	mark_inode_dirty(inode);
	vexfs_journal_end(handle);
	return err;
}

/* Owner or mode changed: searches filter on the cached copy. */
void vexfs_vector_attr_changed(struct inode *inode)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	int slot;

	if (!vi || !(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		return;
	down_write(&vi->lock);
	slot = vexfs_slot_of(vi, inode->i_ino);
	if (slot >= 0) {
		vi->slot_uid[slot] = i_uid_read(inode);
		vi->slot_gid[slot] = i_gid_read(inode);
		vi->slot_mode[slot] = inode->i_mode;
	}
	up_write(&vi->lock);
}

/* ---- search ----------------------------------------------------------------- */

static int vexfs_hit_cmp(const void *a, const void *b)
{
	const struct vexfs_hnsw_hit *x = a, *y = b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->slot < y->slot ? -1 : (x->slot > y->slot);
}

/*
 * Keep the best `cap` hits in hits[0..*n] (unsorted max-selection): replace
 * the current worst when the new hit is better.
 */
static bool vexfs_hits_offer(struct vexfs_hnsw_hit *hits, u32 cap, u32 *n,
			     const struct vexfs_hnsw_hit *h)
{
	u32 i, worst = 0;

	if (*n < cap) {
		hits[(*n)++] = *h;
		return true;
	}
	if (!cap)
		return false;
	for (i = 1; i < *n; i++)
		if (vexfs_hit_cmp(&hits[i], &hits[worst]) > 0)
			worst = i;
	if (vexfs_hit_cmp(h, &hits[worst]) < 0) {
		hits[worst] = *h;
		return true;
	}
	return false;
}

/*
 * Exact distances to the slots chosen by `want` (all live slots, or only
 * queued ones), offered to hits. Returns matches within max_key, or <0.
 */
static s64 vexfs_scan(struct vexfs_vindex *vi, struct vexfs_kctx *kc, bool only_pending,
		      u32 max_key, struct vexfs_hnsw_hit *hits, u32 cap, u32 *n)
{
	u32 ids[VINDEX_SCAN_BATCH / 4], keys[VINDEX_SCAN_BATCH / 4];
	u32 slot = 0, nb;
	s64 matches = 0;
	int err;

	while (slot < vi->capacity) {
		for (nb = 0; slot < vi->capacity && nb < ARRAY_SIZE(ids); slot++) {
			u8 st = vi->slot_state[slot];

			if (!(st & VSLOT_LIVE) || (only_pending && !(st & VSLOT_PENDING)))
				continue;
			if (kc->check_perm && !vexfs_slot_readable(vi, slot))
				continue;
			ids[nb++] = slot;
		}
		if (!nb)
			continue;
		err = vexfs_dist_cb(kc, VEXFS_HNSW_QUERY_INPUT, ids, nb, keys);
		if (err)
			return err;
		atomic64_add(nb, &vi->st.dists);
		for (u32 i = 0; i < nb; i++) {
			struct vexfs_hnsw_hit h = {
				.key = vi->slot_ino[ids[i]], .slot = ids[i], .dist = keys[i],
			};

			if (keys[i] > max_key)
				continue;
			matches++;
			vexfs_hits_offer(hits, cap, n, &h);
		}
	}
	return matches;
}

/* Scanning only queued slots touches the whole slot array; cheap next to a search. */
int vexfs_vindex_search(struct vexfs_vindex *vi, const struct vexfs_search_req *req,
			struct vexfs_hnsw_hit *hits, u32 *count, bool *truncated)
{
	bool knn = req->kind == VEXFS_SEARCH_KNN;
	u32 max_key = knn ? U32_MAX : req->max_key;
	u32 ef = req->ef ? req->ef : vi->ef_search;
	struct vexfs_scratch *s;
	struct vexfs_kctx kc = {
		.vi = vi, .query = req->query, .skip_pending = true,
		/* CAP_DAC_READ_SEARCH may read any file: no filtering needed. */
		.check_perm = !ns_capable_noaudit(&init_user_ns, CAP_DAC_READ_SEARCH),
	};
	ktime_t t0 = ktime_get();
	u32 n = 0, complete = 1;
	s64 matches = 0;
	bool exact;
	int err = 0;
	u64 ns;

	*truncated = false;
	s = vexfs_scratch_get(vi);
	if (IS_ERR(s))
		return PTR_ERR(s);
	down_read(&vi->lock);
	exact = (req->flags & VEXFS_SEARCH_F_EXACT) || !vi->graph_valid || !vi->gw ||
		s->capacity < vi->capacity;
	if (!exact) {
		s->ctx.kctx = &kc;
		s->ctx.dist_batch = vexfs_dist_cb;
		s->ctx.filter = vexfs_filter_cb;
		s->ctx.dist_count = 0;
		err = vexfs_hnsw_search(vi->gh, &s->ctx,
					knn ? VEXFS_HNSW_KNN : VEXFS_HNSW_RANGE, ef, max_key,
					hits, req->k, &complete);
		atomic64_add(s->ctx.dist_count, &vi->st.dists);
		if (err >= 0) {
			n = err;
			err = 0;
			/* Queued changes are not in the graph yet: scan them exactly. */
			if (vi->pq_count)
				matches = vexfs_scan(vi, &kc, true, max_key, hits, req->k, &n);
			if (matches < 0)
				err = matches;
			else if (!knn && (!complete || n + matches > req->k))
				*truncated = n >= req->k;
		} else {
			/* The graph failed: degrade to exact search, never fail the read. */
			atomic64_inc(&vi->st.errors);
			pr_warn_ratelimited("vexfs (%s): graph search failed (%d), using exact search\n",
					    vi->sb->s_id, err);
			exact = true;
			n = 0;
			err = 0;
		}
	}
	if (exact) {
		kc.skip_pending = false;
		matches = vexfs_scan(vi, &kc, false, max_key, hits, req->k, &n);
		if (matches < 0)
			err = matches;
		else if (!knn)
			*truncated = matches > req->k;
		atomic64_inc(&vi->st.exact_searches);
	}
	up_read(&vi->lock);
	vexfs_scratch_put(vi, s);
	if (err) {
		atomic64_inc(&vi->st.errors);
		return err;
	}
	sort(hits, n, sizeof(*hits), vexfs_hit_cmp, NULL);
	*count = n;
	ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	atomic64_inc(&vi->st.searches);
	atomic64_add(ns, &vi->st.search_ns);
	for (;;) {	/* search_ns_max = max(search_ns_max, ns) */
		s64 old = atomic64_read(&vi->st.search_ns_max);

		if (ns <= old || atomic64_cmpxchg(&vi->st.search_ns_max, old, ns) == old)
			break;
	}
	return 0;
}

u32 vexfs_dist_key_for_threshold(struct vexfs_vindex *vi, u32 kind, u32 t_bits, int *err)
{
	u32 key = 0;

	*err = 0;
	if ((t_bits >> 23 & 0xff) == 0xff) {
		*err = -EINVAL;
		return 0;
	}
	if (kind == VEXFS_SEARCH_RANGE)
		return vexfs_dist_key_from_bits(t_bits);
	kernel_fpu_begin();
	*err = vexfs_simd_threshold_key(vi->metric, t_bits, &key);
	kernel_fpu_end();
	return key;
}

u32 vexfs_dist_bits(u32 key)
{
	return vexfs_dist_bits_from_key(key);
}

/* ---- background work: lazy sync and rebuild ------------------------------------ */

static void vexfs_sync_worker(struct work_struct *work)
{
	struct vexfs_vindex *vi = container_of(to_delayed_work(work), struct vexfs_vindex, sync_work);

	down_write(&vi->lock);
	vexfs_pending_drain(vi, vi->batch_size);
	if (vi->pq_count && !vi->rebuilding)
		vexfs_vwork_queue(vi, VWORK_SYNC, msecs_to_jiffies(vi->sync_interval_ms));
	up_write(&vi->lock);
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
static void vexfs_rebuild_worker(struct work_struct *work)
{
	struct vexfs_vindex *vi = container_of(work, struct vexfs_vindex, rebuild_work);
	struct vexfs_hnsw_params p = {
		.m = vi->m, .ef_construction = vi->efc, .metric = vi->metric,
		.dim = vi->dim, .seed = VEXFS_HNSW_SEED,
	};
	struct vexfs_scratch *s;
	struct vexfs_kctx kc = { .vi = vi };
	u32 *gw, cap, slot, delay_ms;
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
	gw = NULL;
	gh = NULL;
	built = NULL;
	slot = 0;
	p.capacity = max(cap, VEXFS_HNSW_MIN_CAPACITY);
	words = vexfs_hnsw_words_needed(&p);
	err = words < 0 ? words : 0;
	if (!err) {
		gw = kvcalloc(words, sizeof(u32), GFP_KERNEL);
		gh = kzalloc(vexfs_hnsw_handle_size(), GFP_KERNEL);
		built = kvcalloc(p.capacity, 1, GFP_KERNEL);
		s = vexfs_scratch_alloc(vi, p.capacity);
		if (!gw || !gh || !built)
			err = -ENOMEM;
		else if (IS_ERR(s))
			err = PTR_ERR(s);
	}
	if (!err)
		err = vexfs_hnsw_create(gh, gw, words, &p);
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
		s->ctx.dist_batch = vexfs_dist_cb;
		s->ctx.filter = NULL;
		for (; slot < cap && done < VINDEX_REBUILD_CHUNK; slot++) {
			u8 st = vi->slot_state[slot];

			if (!(st & VSLOT_LIVE) || (st & VSLOT_PENDING))
				continue;
			err = vexfs_debug_graph_err();
			if (!err)
				err = vexfs_hnsw_insert(gh, &s->ctx, slot, vi->slot_ino[slot]);
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
		kvfree(gw);
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
				vi->slot_state[slot] |= VSLOT_IN_GRAPH;
			else
				vi->slot_state[slot] &= ~VSLOT_IN_GRAPH;
		}
		swap(vi->gw, gw);
		swap(vi->gh, gh);
		vi->gw_len = words;
		vi->graph_valid = true;
		vi->graph_dirty = true;
		atomic64_inc(&vi->st.rebuilds);
		/* The new graph is in place: a back-pressure drain applies to it. */
		for (slot = 0; slot < cap; slot++) {
			if (built[slot])
				continue;
			/* Live slots the rebuild skipped (queued) get in through the queue. */
			if (vi->slot_state[slot] & VSLOT_LIVE)
				vexfs_pending_add(vi, slot);
			else
				vexfs_slot_release(vi, slot);
		}
		vexfs_pending_drain(vi, U32_MAX);
		pr_info("vexfs (%s): HNSW graph rebuilt over %u vectors\n", vi->sb->s_id, vi->nr_live);
	} else if (err != -EAGAIN) {
		atomic64_inc(&vi->st.errors);
		pr_err("vexfs (%s): HNSW rebuild failed (%d); exact search serves\n", vi->sb->s_id, err);
	}
	/* else: unmounting; the graph stays invalid and is not persisted. */
	up_write(&vi->lock);
	kvfree(gw);
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
		struct buffer_head map = { .b_size = VEXFS_BLOCK_SIZE };

		err = vexfs_journal_ensure_restart(vi->sb, VEXFS_CREDITS_ALLOC + 2);
		if (!err)
			err = vexfs_get_block(gi, b, &map, 1);
		if (!err) {
			i_size_write(gi, (b + 1) << VEXFS_BLOCK_SIZE_BITS);
			mark_inode_dirty(gi);
		}
	}
	vexfs_journal_end(handle);
	return err;
}

/*
 * Write the graph into its (already mapped) file blocks. Read lock held: no
 * writer changes the graph meanwhile. The graph is derived data and is not
 * journaled: a crash leaves it stale, and it is rebuilt at the next mount.
 */
static int vexfs_graph_persist(struct vexfs_vindex *vi, u64 nblocks)
{
	struct super_block *sb = vi->sb;
	u64 b;
	int err;

	for (b = 0; b < nblocks; b++) {
		struct buffer_head map = { .b_size = VEXFS_BLOCK_SIZE };
		struct buffer_head *bh;

		err = vexfs_get_block(vi->graph_file, b, &map, 0);
		if (!err && !buffer_mapped(&map))
			err = -EIO;
		if (err)
			return err;
		bh = sb_getblk(sb, map.b_blocknr);
		if (!bh)
			return -ENOMEM;
		lock_buffer(bh);
		err = vexfs_hnsw_encode_block(vi->gh, b, (u8 *)bh->b_data);
		if (!err)
			set_buffer_uptodate(bh);
		unlock_buffer(bh);
		if (!err)
			mark_buffer_dirty(bh);
		brelse(bh);
		if (err)
			return err;
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
		 * core changes the graph), then downgrade: searches go on while
		 * the blocks are written.
		 */
		down_write(&vi->lock);
		if (!vi->graph_valid || !vi->gw || !vi->graph_dirty || vi->pq_count) {
			up_write(&vi->lock);
			break;
		}
		nblocks = vexfs_hnsw_blocks(vi->gh);
		if (nblocks < 0) {
			err = nblocks;
			up_write(&vi->lock);
			break;
		}
		if ((u64)nblocks > (u64)(i_size_read(vi->graph_file) >> VEXFS_BLOCK_SIZE_BITS)) {
			up_write(&vi->lock);
			err = vexfs_graph_prealloc(vi, nblocks);
			if (err)
				break;
			continue;	/* the graph may have changed meanwhile */
		}
		gen = sbi->geom.vector_generation;
		err = vexfs_hnsw_set_generation(vi->gh, gen);
		downgrade_write(&vi->lock);
		if (!err)
			err = vexfs_graph_persist(vi, nblocks);
		if (!err) {
			vi->graph_dirty = false;	/* writers need the write lock: no race */
			sbi->geom.graph_generation = gen;
		}
		up_read(&vi->lock);
		break;
	}
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
				err = write_inode_now(vi->store, 1);
			if (!err)
				err = write_inode_now(vi->graph_file, 1);
		}
	}
	return err;
}

/*
 * Start reads of file blocks [first, first + n) of @file (mapped in runs,
 * holes skipped) without waiting: the mount-time scans read every block in
 * order, and one synchronous read at a time left the disk idle between them.
 * For the vector store (@vi set), also the inode-table blocks of the inodes
 * whose records are in the mapped runs (the scan checks each record's owner):
 * holes have no records, so a sparse store reads no inodes for them.
 */
static void vexfs_file_readahead(struct inode *file, u64 first, u64 n, struct vexfs_vindex *vi)
{
	struct super_block *sb = file->i_sb;
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	u64 b = first, end = first + n;

	while (b < end) {
		struct buffer_head map = { .b_size = (size_t)(end - b) << VEXFS_BLOCK_SIZE_BITS };
		u64 i, run, lo, hi;
		u32 it_first, it_last, off;

		if (vexfs_get_block(file, b, &map, 0))
			return;
		if (!buffer_mapped(&map)) {
			b++;
			continue;
		}
		run = map.b_size >> VEXFS_BLOCK_SIZE_BITS;
		for (i = 0; i < run; i++)
			vexfs_breadahead(sb, map.b_blocknr + i);
		/* The inode table is contiguous: the blocks of inodes lo..hi. */
		if (vi && vexfs_vec_block_inos(b, run, vi->dim, &lo, &hi) == 1 &&
		    !vexfs_inode_locate(&sbi->geom, max_t(u64, lo, VEXFS_FIRST_INO), &it_first, &off) &&
		    !vexfs_inode_locate(&sbi->geom, min_t(u64, hi, sbi->geom.inodes_count), &it_last, &off))
			for (i = it_first; i <= it_last; i++)
				vexfs_breadahead(sb, i);
		b += run;
	}
}

/*
 * Read-ahead windows of the mount-time scans: while one window is being
 * read, the next is in flight.
 */
#define VEXFS_SCAN_READAHEAD	1024u	/* inodes: their store records and inode-table blocks */
#define VEXFS_GRAPH_READAHEAD	64u	/* graph file blocks */

/* At position pos of a scan over [0, total): the range to start reading, if any. */
static bool vexfs_scan_window(u64 pos, u64 total, u64 window, u64 *from, u64 *n)
{
	u64 start, end;

	if (pos % window)
		return false;
	start = pos ? pos + window : 0;
	end = min(total, pos + 2 * window);
	if (start >= end)
		return false;
	*from = start;
	*n = end - start;
	return true;
}

/* Read ahead the store records, and their inodes, of inodes [from, from + n). */
static void vexfs_store_readahead(struct vexfs_vindex *vi, u64 from, u64 n)
{
	struct vexfs_vec_pos a, z;
	u64 last = from + n - 1;

	if (!n || vexfs_vec_record_pos(from, vi->dim, &a) || vexfs_vec_record_pos(last, vi->dim, &z))
		return;
	vexfs_file_readahead(vi->store, a.block,
			     z.block + DIV_ROUND_UP(z.offset + z.len, VEXFS_BLOCK_SIZE) - a.block, vi);
}

/* Read the persisted graph when it belongs to the current vectors. */
static int vexfs_graph_load(struct vexfs_vindex *vi)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vi->sb);
	struct inode *gi = vi->graph_file;
	struct vexfs_hnsw_params p;
	u64 nblocks, b, gen, ra_from, ra_n;
	u32 *head, live;
	s64 words;
	int err;

	if (!sbi->was_clean || sbi->geom.graph_generation != sbi->geom.vector_generation ||
	    i_size_read(gi) < VEXFS_BLOCK_SIZE)
		return -ESTALE;
	head = kvmalloc(VEXFS_BLOCK_SIZE, GFP_KERNEL);
	if (!head)
		return -ENOMEM;
	err = -EIO;
	{
		struct buffer_head map = { .b_size = VEXFS_BLOCK_SIZE };
		struct buffer_head *bh;

		err = vexfs_get_block(gi, 0, &map, 0);
		if (!err && !buffer_mapped(&map))
			err = -ESTALE;
		if (!err) {
			bh = vexfs_bread(vi->sb, map.b_blocknr);
			err = bh ? vexfs_hnsw_decode_block((u8 *)bh->b_data, 0, head, VEXFS_BLOCK_SIZE / 4) : -EIO;
			brelse(bh);
		}
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
	vi->gw = kvcalloc(words, sizeof(u32), GFP_KERNEL);
	vi->gh = kzalloc(vexfs_hnsw_handle_size(), GFP_KERNEL);
	vi->gw_len = words;
	if (!vi->gw || !vi->gh)
		err = -ENOMEM;
	for (b = 0; b < nblocks && !err; b++) {
		struct buffer_head map = { .b_size = VEXFS_BLOCK_SIZE };
		struct buffer_head *bh;

		if (vexfs_scan_window(b, nblocks, VEXFS_GRAPH_READAHEAD, &ra_from, &ra_n))
			vexfs_file_readahead(gi, ra_from, ra_n, NULL);
		err = vexfs_get_block(gi, b, &map, 0);
		if (!err && !buffer_mapped(&map))
			err = -EUCLEAN;
		if (err)
			break;
		bh = vexfs_bread(vi->sb, map.b_blocknr);
		if (!bh) {
			err = -EIO;
			break;
		}
		err = vexfs_hnsw_decode_block((u8 *)bh->b_data, b, vi->gw, vi->gw_len);
		brelse(bh);
	}
	if (!err)
		err = vexfs_hnsw_open(vi->gh, vi->gw, vi->gw_len, &p, &live, &gen);
	if (!err && gen != sbi->geom.vector_generation)
		err = -ESTALE;
	if (err) {
		kvfree(vi->gw);
		kfree(vi->gh);
		vi->gw = NULL;
		vi->gh = NULL;
		vi->gw_len = 0;
		return err;
	}
	return p.capacity;
}

/*
 * Is inode ino in use with this generation and a vector? Reads the inode
 * table; on success *im holds the owner (for the permission filter).
 */
static bool vexfs_record_owner_ok(struct vexfs_vindex *vi, u32 ino, u32 gen,
				  struct vexfs_inode_mem *im)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vi->sb);
	struct buffer_head *bh;
	u32 block_nr, offset;
	bool ok;

	if (ino < VEXFS_FIRST_INO || vexfs_inode_locate(&sbi->geom, ino, &block_nr, &offset))
		return false;
	bh = vexfs_bread(vi->sb, block_nr);
	if (!bh)
		return false;
	ok = !vexfs_inode_decode(&sbi->geom, (u8 *)bh->b_data + offset, VEXFS_INODE_SIZE, ino,
				 im, NULL, 0) &&
	     im->links_count && im->generation == gen &&
	     (im->flags & VEXFS_INODE_FL_HAS_VECTOR) && (im->mode & S_IFMT) == S_IFREG;
	brelse(bh);
	return ok;
}

/* Read every record of the store file into slots. */
static int vexfs_store_load(struct vexfs_vindex *vi, bool graph_slots)
{
	u32 len = vexfs_record_len(vi), *bits;
	struct vexfs_inode_mem *im;
	u64 nrec, ino, stale = 0, ra_from, ra_n;
	u8 *rec;
	int err = 0;

	rec = kvmalloc(len, GFP_KERNEL);
	bits = kvmalloc_array(vi->dim, sizeof(u32), GFP_KERNEL);
	im = kmalloc(sizeof(*im), GFP_KERNEL);
	if (!rec || !bits || !im) {
		err = -ENOMEM;
		goto out;
	}
	/* Records are indexed by inode number; scan every possible one. */
	nrec = VEXFS_SB(vi->sb)->geom.inodes_count + 1ULL;
	for (ino = VEXFS_FIRST_INO; ino < nrec; ino++) {
		bool absent;
		int slot, rc;
		u32 gen;

		if (vexfs_scan_window(ino - VEXFS_FIRST_INO, nrec - VEXFS_FIRST_INO,
				      VEXFS_SCAN_READAHEAD, &ra_from, &ra_n))
			vexfs_store_readahead(vi, VEXFS_FIRST_INO + ra_from, ra_n);

		err = vexfs_store_io(vi, ino, rec, false, &absent);
		if (err)
			goto out;
		if (absent)
			continue;
		rc = vexfs_vec_record_decode(rec, len, ino, vi->dim, &gen, bits);
		if (rc == 0)
			continue;
		if (rc < 0 || !vexfs_record_owner_ok(vi, ino, gen, im)) {
			stale++;
			if (!sb_rdonly(vi->sb))
				vexfs_store_clear(vi, ino);
			continue;
		}
		slot = vexfs_slot_of(vi, ino);
		if (slot < 0) {
			u32 s;

			if (graph_slots) {
				/* A vector the graph does not know: the graph is stale. */
				err = -ESTALE;
				goto out;
			}
			down_write(&vi->lock);
			err = vexfs_slot_alloc(vi, &s);
			if (!err)
				err = xa_err(xa_store(&vi->ino_slot, ino, xa_mk_value(s + 1), GFP_KERNEL));
			up_write(&vi->lock);
			if (err)
				goto out;
			slot = s;
			vi->slot_ino[slot] = ino;
		}
		memcpy(vi->vecs + (size_t)slot * vi->dim, bits, vi->dim * sizeof(u32));
		vi->slot_gen[slot] = gen;
		vi->slot_uid[slot] = im->uid;
		vi->slot_gid[slot] = im->gid;
		vi->slot_mode[slot] = im->mode;
		vi->slot_state[slot] |= VSLOT_LIVE;
		vi->nr_live++;
		if ((ino & 1023) == 0)
			cond_resched();
	}
	if (stale)
		pr_warn("vexfs (%s): dropped %llu vector records whose file is gone or damaged\n",
			vi->sb->s_id, stale);
out:
	kvfree(rec);
	kvfree(bits);
	kfree(im);
	return err;
}

static void vexfs_vindex_free(struct vexfs_vindex *vi)
{
	struct vexfs_scratch *s, *tmp;

	/* First: anything still queued runs now, on what is freed below. */
	if (vi->wq)
		destroy_workqueue(vi->wq);
	list_for_each_entry_safe(s, tmp, &vi->scratch_free, list) {
		list_del(&s->list);
		vexfs_scratch_free(s);
	}
	vexfs_scratch_free(vi->wscratch);
	xa_destroy(&vi->ino_slot);
	kvfree(vi->vecs);
	kvfree(vi->slot_ino);
	kvfree(vi->slot_gen);
	kvfree(vi->slot_uid);
	kvfree(vi->slot_gid);
	kvfree(vi->slot_mode);
	kvfree(vi->slot_state);
	kvfree(vi->gw);
	kfree(vi->gh);
	kvfree(vi->pq);
	kvfree(vi->del_batch);
	iput(vi->store);
	iput(vi->graph_file);
	kfree(vi);
}

/* Reset slots after a stale graph: vectors are reloaded into dense slots. */
static void vexfs_vindex_reset_slots(struct vexfs_vindex *vi)
{
	xa_destroy(&vi->ino_slot);
	xa_init(&vi->ino_slot);
	memset(vi->slot_state, 0, vi->capacity);
	memset(vi->slot_ino, 0, vi->capacity * sizeof(u64));
	vi->nr_live = 0;
}

int vexfs_vindex_load(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	struct vexfs_vindex *vi;
	struct vexfs_slot_arrays a;
	int cap, err;
	u32 i;

	vi = kzalloc(sizeof(*vi), GFP_KERNEL);
	if (!vi)
		return -ENOMEM;
	vi->sb = sb;
	init_rwsem(&vi->lock);
	mutex_init(&vi->store_mutex);
	xa_init(&vi->ino_slot);
	INIT_LIST_HEAD(&vi->scratch_free);
	spin_lock_init(&vi->scratch_lock);
	vi->nr_scratch = num_possible_cpus() + 1;
	sema_init(&vi->scratch_sem, vi->nr_scratch);
	INIT_DELAYED_WORK(&vi->sync_work, vexfs_sync_worker);
	INIT_WORK(&vi->rebuild_work, vexfs_rebuild_worker);
	vi->dim = sbi->geom.vector_dim;
	vi->metric = sbi->geom.vector_metric;
	vi->m = sbi->geom.hnsw_m;
	vi->efc = sbi->geom.hnsw_ef_construction;
	vi->caps = (boot_cpu_has(X86_FEATURE_AVX2) && boot_cpu_has(X86_FEATURE_FMA)) ?
		   VEXFS_SIMD_CAP_AVX2_FMA : 0;
	vi->sync_mode = VEXFS_SYNC_IMMEDIATE;
	vi->batch_size = 256;
	vi->sync_interval_ms = 1000;
	vi->ef_search = VINDEX_DEFAULT_EF;
	vi->auto_rebuild = 1;

	vi->wq = alloc_workqueue("vexfs-%s", WQ_UNBOUND | WQ_MEM_RECLAIM, 1, sb->s_id);
	vi->pq = kvmalloc_array(VEXFS_MAX_PENDING, sizeof(u32), GFP_KERNEL);
	vi->del_batch = kvmalloc_array(VEXFS_MAX_PENDING, sizeof(u32), GFP_KERNEL);
	err = (!vi->wq || !vi->pq || !vi->del_batch) ? -ENOMEM : 0;
	if (err)
		goto fail;

	vi->store = vexfs_iget(sb, VEXFS_VECSTORE_INO);
	if (IS_ERR(vi->store)) {
		err = PTR_ERR(vi->store);
		vi->store = NULL;
		pr_err("vexfs (%s): cannot read the vector store inode: %d\n", sb->s_id, err);
		goto fail;
	}
	vi->graph_file = vexfs_iget(sb, VEXFS_GRAPH_INO);
	if (IS_ERR(vi->graph_file)) {
		err = PTR_ERR(vi->graph_file);
		vi->graph_file = NULL;
		pr_err("vexfs (%s): cannot read the graph inode: %d\n", sb->s_id, err);
		goto fail;
	}

	/* The persisted graph decides the slot of every vector it holds. */
	cap = vexfs_graph_load(vi);
	if (cap > 0) {
		u32 *gw = vi->gw;

		/* Slot arrays only: the loaded graph is adopted as it is. */
		vi->gw = NULL;
		err = vexfs_arrays_alloc(vi, cap, false, &a);
		if (!err)
			err = vexfs_arrays_adopt(vi, &a);
		vexfs_arrays_free(&a);
		vi->gw = gw;
		for (i = 0; !err && i < vi->capacity; i++) {
			u64 key;

			if (vexfs_hnsw_node_key(vi->gh, i, &key) != 1)
				continue;
			vi->slot_state[i] = VSLOT_IN_GRAPH;
			vi->slot_ino[i] = key;
			err = xa_err(xa_store(&vi->ino_slot, key, xa_mk_value(i + 1), GFP_KERNEL));
		}
		if (err)
			goto fail;
		err = vexfs_store_load(vi, true);
		/* Every graph node must have found its vector. */
		for (i = 0; !err && i < vi->capacity; i++)
			if (vi->slot_state[i] == VSLOT_IN_GRAPH)
				err = -ESTALE;
		if (!err) {
			vi->graph_valid = true;
		} else if (err == -ESTALE) {
			pr_warn("vexfs (%s): persisted HNSW graph disagrees with the vector store, rebuilding\n",
				sb->s_id);
			kvfree(vi->gw);
			kfree(vi->gh);
			vi->gw = NULL;
			vi->gh = NULL;
			vi->gw_len = 0;
			vexfs_vindex_reset_slots(vi);
			cap = 0;
			err = 0;
		} else {
			goto fail;
		}
	} else if (cap != -ESTALE && cap < 0) {
		pr_warn("vexfs (%s): persisted HNSW graph unusable (%d), rebuilding\n", sb->s_id, cap);
	}
	if (cap <= 0) {
		err = vexfs_store_load(vi, false);
		if (err)
			goto fail;
		/* The graph is derived data: rebuild it; exact search serves meanwhile. */
		if (vi->nr_live) {
			down_write(&vi->lock);
			vexfs_vwork_queue(vi, VWORK_REBUILD, 0);
			up_write(&vi->lock);
		} else if (vi->capacity || !vi->gw) {
			struct vexfs_hnsw_params p = {
				.capacity = max(vi->capacity, VEXFS_HNSW_MIN_CAPACITY), .m = vi->m,
				.ef_construction = vi->efc, .metric = vi->metric, .dim = vi->dim,
				.seed = VEXFS_HNSW_SEED,
			};
			s64 words = vexfs_hnsw_words_needed(&p);

			err = words < 0 ? words : 0;
			if (!err && !vi->capacity) {
				err = vexfs_arrays_alloc(vi, p.capacity, false, &a);
				if (!err)
					err = vexfs_arrays_adopt(vi, &a);
				vexfs_arrays_free(&a);
			}
			if (!err) {
				vi->gw = kvcalloc(words, sizeof(u32), GFP_KERNEL);
				vi->gh = kzalloc(vexfs_hnsw_handle_size(), GFP_KERNEL);
				vi->gw_len = words;
				err = (vi->gw && vi->gh) ? vexfs_hnsw_create(vi->gh, vi->gw, words, &p) : -ENOMEM;
			}
			if (err)
				goto fail;
			/* Empty: nothing worth writing until a vector arrives. */
			vi->graph_valid = true;
		}
	}
	sbi->vindex = vi;
	pr_info("vexfs (%s): %u vectors of dimension %u, graph %s\n", sb->s_id, vi->nr_live,
		vi->dim, vi->graph_valid ? "loaded" : "rebuilding");
	return 0;
fail:
	vexfs_vindex_free(vi);
	return err;
}

void vexfs_vindex_unload(struct super_block *sb)
{
	struct vexfs_vindex *vi = VEXFS_VI(sb);

	if (!vi)
		return;
	/*
	 * No work is queued from here on: the drain below (a graph failure
	 * there asks for a rebuild) and a worker still running would
	 * otherwise queue work that runs after the arrays are freed.
	 */
	down_write(&vi->lock);
	vi->stopping = true;
	up_write(&vi->lock);
	cancel_work_sync(&vi->rebuild_work);
	cancel_delayed_work_sync(&vi->sync_work);
	down_write(&vi->lock);
	vexfs_pending_drain(vi, U32_MAX);
	up_write(&vi->lock);
	vexfs_vindex_sync(sb, true);
	VEXFS_SB(sb)->vindex = NULL;
	vexfs_vindex_free(vi);
}
