// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-search.c - searching the vector index: the distance and filter
 * callbacks handed to the core, the pool of search scratch areas, the exact
 * scan, and kNN/range search (in passes when directory verdicts are needed:
 * vindex-scope.c computes them between passes, with the lock dropped).
 *
 * Locking: searches hold vi->lock for reading, which keeps the slot arrays,
 * the graph and the pending queue still; an exact scan drops and re-takes it
 * between batches when a writer waits (vexfs_scan_yield), keeping only slot
 * numbers and hits across, and re-checks its hits if the vectors changed
 * meanwhile. The scratch free list is guarded by vi->scratch_lock, and
 * vi->scratch_sem bounds the scratch areas in use.
 *
 * FPU: distances are computed only in vexfs_dist_cb() and
 * vexfs_dist_key_for_threshold(), between kernel_fpu_begin() and
 * kernel_fpu_end(), over vectors in memory that stay put while the index
 * lock is held; nothing there sleeps.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/cred.h>
#include <linux/capability.h>
#include <linux/ktime.h>
#include <linux/sort.h>
#include <linux/moduleparam.h>
#include <asm/fpu/api.h>

#include "vindex.h"
#include "../shim/vexfs_simd.h"

#define VINDEX_SCAN_BATCH	256u
#define VINDEX_SCRATCH_EF	(VEXFS_IOC_MAX_EF > VEXFS_IOC_MAX_K ? VEXFS_IOC_MAX_EF : VEXFS_IOC_MAX_K)

/* ---- distance and filter callbacks handed to the core ------------------- */

int vexfs_dist_cb(void *kctxp, u32 query_slot, const u32 *ids, u32 n, u32 *out)
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

/* The caller may see this live slot: readable file in a passing directory. */
static bool vexfs_slot_visible(struct vexfs_kctx *kc, u32 slot)
{
	struct vexfs_vindex *vi = kc->vi;

	if (kc->check_perm && !vexfs_slot_readable(vi, slot))
		return false;
	return !kc->dirv || vexfs_dirv_slot_ok(kc->dirv, vi->slot_parent[slot]);
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
	return vexfs_slot_visible(kc, slot);
}

/* ---- scratch pool -------------------------------------------------------- */

void vexfs_scratch_free(struct vexfs_scratch *s)
{
	if (!s)
		return;
	kvfree(s->ctx.scratch32);
	kvfree(s->ctx.scratch64);
	kfree(s);
}

struct vexfs_scratch *vexfs_scratch_alloc(struct vexfs_vindex *vi, u32 capacity)
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

/* ---- search ----------------------------------------------------------------- */

static int vexfs_hit_cmp(const void *a, const void *b)
{
	const struct vexfs_hnsw_hit *x = a, *y = b;

	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->slot < y->slot ? -1 : (x->slot > y->slot);
}

/* Order by slot (to find a slot's duplicates). */
static int vexfs_hit_slot_cmp(const void *a, const void *b)
{
	const struct vexfs_hnsw_hit *x = a, *y = b;

	return x->slot < y->slot ? -1 : (x->slot > y->slot);
}

/*
 * Exact distances from the query to slots ids[0..nb), each within max_key
 * offered to hits, a heap of the best cap (the core's top-k: O(log cap) per
 * offer). Returns how many were within max_key, or <0.
 */
static s64 vexfs_scan_batch(struct vexfs_vindex *vi, struct vexfs_kctx *kc, const u32 *ids,
			    u32 nb, u32 max_key, struct vexfs_hnsw_hit *hits, u32 cap, u32 *n)
{
	u32 keys[VINDEX_SCAN_BATCH / 4];
	s64 matches = 0;
	int err;

	if (!nb)
		return 0;
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
		err = vexfs_topk_offer(hits, cap, n, &h);
		if (err < 0)
			return err;
	}
	return matches;
}

/*
 * Test knob (/sys/module/vexfs/parameters/, root only), 0 in normal use: the
 * exact scan's lock drop, and the re-check of hits after a change, happen
 * on demand (tests/vm/cases/vectors-concurrency.sh).
 */
static unsigned int debug_scan_yield;
module_param(debug_scan_yield, uint, 0600);
MODULE_PARM_DESC(debug_scan_yield, "Test only: an exact scan drops and re-takes the index lock between all its batches");

/*
 * Between batches of an exact scan: let a waiting writer (or another task)
 * in. Drops vi->lock, which the caller (vexfs_vindex_search) holds for
 * reading, and takes it again; meanwhile the slot arrays may have been
 * replaced by larger ones (vexfs_arrays_adopt: so nothing read from them is
 * kept across the call, only slot numbers and hits) and slots freed, reused
 * or changed. Returns true when the vectors changed meanwhile (the
 * generation moved): the hits must then be checked again at the end. A
 * vector changed during the scan may be missing from its results (as if
 * the search had run just before the change), never returned stale.
 */
static bool vexfs_scan_yield(struct vexfs_vindex *vi, u64 gen)
{
	if (!need_resched() && !rwsem_is_contended(&vi->lock) && !READ_ONCE(debug_scan_yield))
		return false;
	up_read(&vi->lock);
	cond_resched();
	down_read(&vi->lock);
	return VEXFS_SB(vi->sb)->geom.vector_generation != gen;
}

/*
 * The vectors changed while a scan had dropped the lock: keep only the hits
 * whose slot still holds the same inode's live vector that the caller may
 * see, each slot once, with the distance recomputed from the current vector
 * and still within max_key; then make hits a heap again. Returns <0 on error.
 */
static int vexfs_hits_recheck(struct vexfs_vindex *vi, struct vexfs_kctx *kc, u32 max_key,
			      struct vexfs_hnsw_hit *hits, u32 *n)
{
	u32 ids[VINDEX_SCAN_BATCH / 8], keys[VINDEX_SCAN_BATCH / 8];
	u32 i, w = 0, done;
	int err;

	sort(hits, *n, sizeof(*hits), vexfs_hit_slot_cmp, NULL);
	for (i = 0; i < *n; i++) {
		u32 slot = hits[i].slot;

		if (w && hits[w - 1].slot == slot)
			continue;
		if (slot >= vi->capacity || !(vi->slot_state[slot] & VSLOT_LIVE) ||
		    vi->slot_ino[slot] != hits[i].key || !vexfs_slot_visible(kc, slot))
			continue;
		hits[w++] = hits[i];
	}
	*n = w;
	for (done = 0; done < *n; done += ARRAY_SIZE(ids)) {
		u32 nb = min_t(u32, *n - done, ARRAY_SIZE(ids));

		for (i = 0; i < nb; i++)
			ids[i] = hits[done + i].slot;
		err = vexfs_dist_cb(kc, VEXFS_HNSW_QUERY_INPUT, ids, nb, keys);
		if (err)
			return err;
		atomic64_add(nb, &vi->st.dists);
		for (i = 0; i < nb; i++)
			hits[done + i].dist = keys[i];
	}
	for (i = 0, w = 0; i < *n; i++)
		if (hits[i].dist <= max_key)
			hits[w++] = hits[i];
	*n = w;
	return vexfs_topk_heapify(hits, w);
}

/*
 * Exact distances to every live slot (only the queued ones when
 * only_pending) the caller may see, offered to hits[0..*n] (kept as a heap
 * of the best cap). Every VINDEX_SCAN_BATCH slots the lock may be dropped
 * (vexfs_scan_yield), so a long scan never starves writers. Returns
 * matches within max_key, or <0.
 */
static s64 vexfs_scan(struct vexfs_vindex *vi, struct vexfs_kctx *kc, bool only_pending,
		      u32 max_key, struct vexfs_hnsw_hit *hits, u32 cap, u32 *n)
{
	u64 gen = VEXFS_SB(vi->sb)->geom.vector_generation;
	u32 ids[VINDEX_SCAN_BATCH / 4];
	u32 slot = 0, nb, next_yield = VINDEX_SCAN_BATCH;
	bool changed = false;
	s64 matches = 0, got;
	int err;

	err = vexfs_topk_heapify(hits, *n);	/* a graph search left them sorted */
	if (err)
		return err;
	while (slot < vi->capacity) {
		for (nb = 0; slot < vi->capacity && nb < ARRAY_SIZE(ids); slot++) {
			u8 st = vi->slot_state[slot];

			if (!(st & VSLOT_LIVE) || (only_pending && !(st & VSLOT_PENDING)))
				continue;
			if (!vexfs_slot_visible(kc, slot))
				continue;
			ids[nb++] = slot;
		}
		got = vexfs_scan_batch(vi, kc, ids, nb, max_key, hits, cap, n);
		if (got < 0)
			return got;
		matches += got;
		if (slot >= next_yield && slot < vi->capacity) {
			next_yield = slot + VINDEX_SCAN_BATCH;
			changed |= vexfs_scan_yield(vi, gen);
		}
	}
	if (changed) {
		err = vexfs_hits_recheck(vi, kc, max_key, hits, n);
		if (err)
			return err;
	}
	return matches;
}

/*
 * Exact distances to the scope's members (a small scope), offered to hits
 * as in vexfs_scan (the lock may be dropped between batches). Returns
 * matches within max_key, or <0.
 */
static s64 vexfs_scan_members(struct vexfs_vindex *vi, struct vexfs_kctx *kc, u32 max_key,
			      struct vexfs_hnsw_hit *hits, u32 cap, u32 *n)
{
	const struct vexfs_dirv *dv = kc->dirv;
	u64 gen = VEXFS_SB(vi->sb)->geom.vector_generation;
	u32 ids[VINDEX_SCAN_BATCH / 4];
	u32 m = 0, nb, next_yield = VINDEX_SCAN_BATCH;
	bool changed = false;
	s64 matches = 0, got;
	int err;

	err = vexfs_topk_heapify(hits, *n);
	if (err)
		return err;
	while (m < dv->nr_members) {
		for (nb = 0; m < dv->nr_members && nb < ARRAY_SIZE(ids); m++) {
			int slot = vexfs_slot_of(vi, dv->members[m]);

			if (slot < 0 || !(vi->slot_state[slot] & VSLOT_LIVE))
				continue;
			if (!vexfs_slot_visible(kc, slot))
				continue;
			ids[nb++] = slot;
		}
		got = vexfs_scan_batch(vi, kc, ids, nb, max_key, hits, cap, n);
		if (got < 0)
			return got;
		matches += got;
		if (m >= next_yield && m < dv->nr_members) {
			next_yield = m + VINDEX_SCAN_BATCH;
			changed |= vexfs_scan_yield(vi, gen);
		}
	}
	if (changed) {
		err = vexfs_hits_recheck(vi, kc, max_key, hits, n);
		if (err)
			return err;
	}
	return matches;
}

/*
 * One pass of a search, under vi->lock for reading: the graph (plus an exact
 * scan of queued slots), or an exact scan of every slot. Scanning only
 * queued slots touches the whole slot array; cheap next to a search.
 */
static int vexfs_search_pass(struct vexfs_vindex *vi, struct vexfs_scratch *s,
			     const struct vexfs_search_req *req, struct vexfs_kctx *kc,
			     struct vexfs_hnsw_hit *hits, u32 *count, bool *truncated)
{
	bool knn = req->kind == VEXFS_SEARCH_KNN;
	u32 max_key = knn ? U32_MAX : req->max_key;
	u32 ef = req->ef ? req->ef : vi->ef_search;
	u32 n = 0, complete = 1;
	s64 matches = 0;
	bool exact;
	int err = 0;

	*truncated = false;
	if (kc->dirv && kc->dirv->members) {
		/* A small scope: its members, exactly (queued changes included). */
		kc->skip_pending = false;
		matches = vexfs_scan_members(vi, kc, max_key, hits, req->k, &n);
		if (matches < 0)
			return matches;
		if (!knn)
			*truncated = matches > req->k;
		atomic64_inc(&vi->st.exact_searches);
		*count = n;
		return 0;
	}
	kc->skip_pending = true;
	exact = (req->flags & VEXFS_SEARCH_F_EXACT) || !vi->graph_valid || !vi->gw ||
		s->capacity < vi->capacity;
	if (!exact) {
		s->ctx.kctx = kc;
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
				matches = vexfs_scan(vi, kc, true, max_key, hits, req->k, &n);
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
		kc->skip_pending = false;
		matches = vexfs_scan(vi, kc, false, max_key, hits, req->k, &n);
		if (matches < 0)
			err = matches;
		else if (!knn)
			*truncated = matches > req->k;
		atomic64_inc(&vi->st.exact_searches);
	}
	*count = n;
	return err;
}

/*
 * Passes a search may take: each one resolves (unlocked) the directories
 * the previous one met without a verdict. After the last, directories still
 * unknown count as failing: results can only be missing, never wrong.
 */
#define VINDEX_DIRV_PASSES	8
#define VINDEX_SMALL_SCOPE_MIN	256u	/* files: a scope this small is scanned exactly */

int vexfs_vindex_search(struct vexfs_vindex *vi, const struct vexfs_search_req *req,
			struct vexfs_hnsw_hit *hits, u32 *count, bool *truncated)
{
	struct vexfs_scratch *s;
	struct vexfs_kctx kc = {
		.vi = vi, .query = req->query, .dirv = req->dirv,
		/* CAP_DAC_READ_SEARCH may read any file: no filtering needed. */
		.check_perm = !ns_capable_noaudit(&init_user_ns, CAP_DAC_READ_SEARCH),
	};
	ktime_t t0 = ktime_get();
	u32 n = 0, pass;
	int err = 0;
	u64 ns;

	*truncated = false;
	/*
	 * A scope with few files (at most VINDEX_SMALL_SCOPE_MIN or 2 % of the
	 * vectors) is scanned exactly over its members: a filtered graph walk
	 * would visit mostly files outside it. Finding them walks the scope's
	 * directories and stops at the bound.
	 */
	if (kc.dirv && kc.dirv->scope_ino != VEXFS_ROOT_INO) {
		u32 cap = max(VINDEX_SMALL_SCOPE_MIN, READ_ONCE(vi->nr_live) / 50);

		err = vexfs_dirv_members(kc.dirv, cap);
		if (err && err != -E2BIG)
			return err;
		err = 0;
	}
	/*
	 * Verdicts for the directories of the live files first (no distances):
	 * the walk below then rarely needs a second pass. Bounded by the miss
	 * list; directories beyond it are met, and resolved, by the passes.
	 */
	if (kc.dirv && !kc.dirv->members) {
		down_read(&vi->lock);
		for (u32 slot = 0; slot < vi->capacity; slot++) {
			if (kc.dirv->nr_miss == VEXFS_DIRV_MISSES)
				break;
			if (vi->slot_state[slot] & VSLOT_LIVE)
				vexfs_dirv_slot_ok(kc.dirv, vi->slot_parent[slot]);
		}
		up_read(&vi->lock);
		err = vexfs_dirv_resolve_misses(kc.dirv);
		if (err)
			return err;
	}
	s = vexfs_scratch_get(vi);
	if (IS_ERR(s))
		return PTR_ERR(s);
	for (pass = 1; ; pass++) {
		down_read(&vi->lock);
		err = vexfs_search_pass(vi, s, req, &kc, hits, &n, truncated);
		up_read(&vi->lock);
		if (err || !kc.dirv || !kc.dirv->nr_miss || pass == VINDEX_DIRV_PASSES)
			break;
		err = vexfs_dirv_resolve_misses(kc.dirv);
		if (err)
			break;
	}
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
