// SPDX-License-Identifier: GPL-2.0
/*
 * vector.c - the vector store and its HNSW index on a mounted VexFS (the
 * storage-graph bridge): the public API (vector set/get/remove, attribute
 * changes) and the index's life cycle (load at mount, unload at unmount).
 * The rest is in the vindex-*.c files (kernel/vindex.h lists them).
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
 * Locking: vector changes write the store record first (vi->store_mutex,
 * inside the caller's journal handle), then change the slot under vi->lock
 * held for writing. Unmount sets vi->stopping under vi->lock before it
 * cancels the workers, and destroys the workqueue before freeing anything.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/cpumask.h>
#include <asm/cpufeature.h>

#include "vindex.h"
#include "../shim/vexfs_simd.h"

#define VINDEX_DEFAULT_EF	64u

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
	vi->slot_parent[slot] = READ_ONCE(VEXFS_I(inode)->i_parent);
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

/*
 * The file's i_parent hint changed (rename, link, unlink of a name): searches
 * judge a slot's directory from the cached copy.
 */
void vexfs_vector_parent_changed(struct inode *inode)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	int slot;

	if (!vi || !(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		return;
	down_write(&vi->lock);
	slot = vexfs_slot_of(vi, inode->i_ino);
	if (slot >= 0)
		vi->slot_parent[slot] = READ_ONCE(VEXFS_I(inode)->i_parent);
	up_write(&vi->lock);
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
	kvfree(vi->slot_parent);
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
