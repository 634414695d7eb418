// SPDX-License-Identifier: GPL-2.0
/*
 * vector.c - the vector store and its HNSW index on a mounted VexFS (the
 * storage-graph bridge): the public API (replacing and reading a file's
 * chunk set, the single-vector calls on top of it, staleness, attribute
 * changes) and the index's life cycle (load at mount, unload at unmount).
 * The rest is in the vindex-*.c files (kernel/vindex.h lists them).
 *
 * A file's vectors are its chunk set: a run of slots [i_chunk_first,
 * +i_chunk_count) of the store file (inode 3), slot s holding chunk
 * s - i_chunk_first, allocated in the slot bitmap (inode 5). A set is
 * replaced copy-on-write: a free run is reserved in memory, its records are
 * written through the journal while nothing references them, then one
 * handle switches the bitmap bits and the inode (docs/FORMAT.md). At mount
 * every allocated slot's record is read into memory (one flat array, so
 * distance kernels stream it) and checked against its owner, and the
 * persisted graph (inode 4, node s = slot s) is loaded if it belongs to the
 * same vector generation and the volume was cleanly unmounted; otherwise
 * it is rebuilt in the background while exact search serves.
 *
 * Sync modes: immediate applies a change to the graph before the call
 * returns; lazy queues it (bounded ring) for a worker that applies batches.
 * Either way a search sees every change at once: queued slots are excluded
 * from graph results and scanned exactly instead, and removed chunks leave
 * the index (and so every result) immediately.
 *
 * Locking: a set is replaced under the inode lock; records and bitmap
 * blocks are written under vi->store_mutex inside journal handles, then the
 * slots and the inode's set fields change under vi->lock held for writing.
 * Unmount sets vi->stopping under vi->lock before it cancels the workers,
 * and destroys the workqueue before freeing anything.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/cpumask.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>

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

/* The owner's attributes searches filter on, copied into slot s. */
static void vexfs_slot_owner(struct vexfs_vindex *vi, u32 s, struct inode *inode)
{
	struct vexfs_slot_attr *a = vexfs_slot(vi, s);

	a->ino = inode->i_ino;
	a->gen = inode->i_generation;
	a->uid = i_uid_read(inode);
	a->gid = i_gid_read(inode);
	a->mode = inode->i_mode;
	a->parent = vexfs_slot_parent_of(inode);
}

/*
 * Slot s holds a live chunk of inode (lock held). Its group is loaded (the
 * inode's groups were when it was read: vexfs_vindex_inode_read); were
 * that to fail, the slot is not the inode's.
 */
static bool vexfs_slot_owned(struct vexfs_vindex *vi, u32 s, struct inode *inode)
{
	struct vexfs_slot_attr *a;

	if (s >= vi->capacity)
		return false;
	a = vexfs_slot_get(vi, s);
	return !IS_ERR(a) && (a->state & VSLOT_LIVE) && a->ino == inode->i_ino;
}

/* Slot s is allocated with a damaged record (lock held; its group loaded or not). */
static bool vexfs_slot_bad(struct vexfs_vindex *vi, u32 s)
{
	return s < vi->capacity && vexfs_slot_loaded(vi, s) && (vexfs_slot(vi, s)->state & VSLOT_BAD);
}

/*
 * The run to clear in the slot bitmap when inode's set goes: its run, when
 * every slot of it is the inode's live chunk or a damaged slot (lock held).
 * A run that disagrees with the index (a damaged inode) is left allocated
 * for fsck rather than clearing bits another file may own.
 */
static u32 vexfs_old_run(struct vexfs_vindex *vi, struct inode *inode, u32 *first)
{
	struct vexfs_inode_info *ii = VEXFS_I(inode);
	u32 s;

	*first = ii->i_chunk_first;
	if (!ii->i_chunk_count)
		return 0;
	for (s = ii->i_chunk_first; s < ii->i_chunk_first + ii->i_chunk_count; s++) {
		if (!vexfs_slot_owned(vi, s, inode) &&
		    !vexfs_slot_bad(vi, s)) {
			pr_err("vexfs (%s): inode %lu: chunk set slots %u..%u disagree with the vector store at slot %u; left allocated, run fsck.vexfs\n",
			       vi->sb->s_id, inode->i_ino, ii->i_chunk_first,
			       ii->i_chunk_first + ii->i_chunk_count - 1, s);
			VEXFS_SB(vi->sb)->geom.state |= VEXFS_STATE_ERROR;
			return 0;
		}
	}
	return ii->i_chunk_count;
}

/*
 * Switch inode's set to the written run [first, first + n) in memory (write
 * lock held; the bitmap and inode changes are in the caller's handle).
 * Returns true when the caller must apply queued graph work unlocked.
 */
static bool vexfs_switch_mem(struct vexfs_vindex *vi, struct inode *inode, u32 first, u32 n,
			     u32 cleared)
{
	struct vexfs_inode_info *ii = VEXFS_I(inode);
	u32 s;

	for (s = ii->i_chunk_first; s < ii->i_chunk_first + ii->i_chunk_count; s++) {
		if (vexfs_slot_owned(vi, s, inode)) {
			vexfs_slot(vi, s)->state &= ~(VSLOT_LIVE | VSLOT_STALE);
			vi->nr_live--;
			vexfs_slot_changed(vi, s);
		} else if (cleared && vexfs_slot_bad(vi, s)) {
			vexfs_slot(vi, s)->state &= ~VSLOT_BAD;	/* freed on disk with the set */
			vexfs_slot_release(vi, s);
		}
	}
	if (ii->i_chunk_count) {
		vi->files--;
		if (ii->i_data_version != ii->i_chunk_version)
			vi->stale_files--;
	}
	for (s = first; s < first + n; s++) {
		vexfs_slot_owner(vi, s, inode);
		vexfs_slot(vi, s)->state = (vexfs_slot(vi, s)->state & ~VSLOT_RESV) | VSLOT_LIVE;
	}
	vi->nr_live += n;
	if (n)
		vexfs_codes_encode_run(vi, first, n);
	if (n) {
		vi->files++;
		/* Reserved before the disk switch: the store allocates nothing. */
		xa_store(&vi->ino_slot, inode->i_ino, vexfs_run_entry(first, n), GFP_NOFS);
	} else {
		xa_erase(&vi->ino_slot, inode->i_ino);
		vexfs_link_dirs_set(vi, inode->i_ino, NULL);
	}
	ii->i_chunk_first = n ? first : 0;
	ii->i_chunk_count = n;
	ii->i_chunk_version = ii->i_data_version;
	if (n) {
		ii->i_flags |= VEXFS_INODE_FL_HAS_VECTOR;
		ii->i_vector_dim = vi->dim;
	} else {
		ii->i_flags &= ~VEXFS_INODE_FL_HAS_VECTOR;
		ii->i_vector_dim = 0;
	}
	vexfs_vector_generation_bump(vi);
	return n ? vexfs_run_changed(vi, first, n) : false;
}

/* Credits to write one record: its blocks, each possibly allocated, and the store inode. */
static int vexfs_record_credits(struct vexfs_vindex *vi)
{
	u32 len = VEXFS_CHUNK_RECORD_HEADER_SIZE + 4 * vi->dim;

	return (DIV_ROUND_UP(len, VEXFS_BLOCK_SIZE) + 1) * (VEXFS_CREDITS_ALLOC + 1) +
	       VEXFS_CREDITS_INODE;
}

/*
 * Replace inode's chunk set with src's count chunks (0: drop it), atomically
 * across a crash. The caller holds the inode lock and checked permission.
 * Chunks are read from src, checked and written a page at a time; on any
 * error the reservation is given back and nothing visible changed.
 */
int vexfs_chunks_replace(struct inode *inode, struct vexfs_chunk_src *src)
{
	struct super_block *sb = inode->i_sb;
	struct vexfs_vindex *vi = VEXFS_VI(sb);
	u32 n = src->count, dim, per, len, first = 0, i, old_first, cleared;
	struct vexfs_ioc_chunk *ch = NULL;
	handle_t *handle = NULL;
	bool reserved = false, xa_held = false, queued = false;
	u32 *bits = NULL;
	u8 *rec = NULL;
	int err, err2;

	if (!vi)
		return -EOPNOTSUPP;
	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	if (n > VEXFS_MAX_CHUNKS)
		return -E2BIG;
	/* A set needs a file that is still reachable; dropping one never does. */
	if (inode->i_ino < VEXFS_FIRST_INO || (n && !inode->i_nlink))
		return -ENOENT;
	dim = vi->dim;
	len = VEXFS_CHUNK_RECORD_HEADER_SIZE + 4 * dim;
	per = vexfs_chunks_per_step(dim);
	if (n) {
		ch = kmalloc_array(per, sizeof(*ch), GFP_KERNEL);
		bits = kvmalloc_array((size_t)per * dim, sizeof(u32), GFP_KERNEL);
		rec = kvmalloc(len, GFP_KERNEL);
		err = (!ch || !bits || !rec) ? -ENOMEM : 0;
		if (err)
			goto out;
		down_write(&vi->lock);
		err = vexfs_run_alloc(vi, n, &first);
		up_write(&vi->lock);
		if (err)
			goto out;
		reserved = true;
		err = xa_reserve(&vi->ino_slot, inode->i_ino, GFP_KERNEL);
		if (err)
			goto out;
		xa_held = true;
	}
	handle = vexfs_journal_begin(sb, n ? VEXFS_CREDITS_VECTOR : VEXFS_CREDITS_CHUNK_SWITCH);
	if (IS_ERR(handle)) {
		err = PTR_ERR(handle);
		handle = NULL;
		goto out;
	}
	/* The new run's records: unreferenced until the switch, so partial progress is invisible. */
	for (i = 0; i < n; i += per) {
		u32 k = min(per, n - i), j;

		err = src->read(src, i, k, ch, bits);
		if (err)
			goto out;
		for (j = 0; j < k; j++) {
			struct vexfs_chunk_hdr h = {
				.offset = ch[j].offset, .length = ch[j].length, .ino = inode->i_ino,
				.generation = inode->i_generation, .chunk = i + j,
			};

			if (vexfs_vec_check(bits + (size_t)j * dim, dim) ||
			    ch[j].offset + ch[j].length < ch[j].offset) {
				err = -EINVAL;	/* NaN, Inf, |x| >= 2^56, or a range that overflows */
				goto out;
			}
			if (vexfs_chunk_record_encode(&h, bits + (size_t)j * dim, dim, rec, len)) {
				err = -EINVAL;
				goto out;
			}
			err = vexfs_journal_ensure_restart(sb, vexfs_record_credits(vi));
			if (!err)
				err = vexfs_store_write_slot(vi, first + i + j, rec);
			if (err)
				goto out;
		}
		cond_resched();
	}
	/* One handle switches the bitmap and the inode. */
	err = vexfs_journal_ensure_restart(sb, VEXFS_CREDITS_CHUNK_SWITCH);
	if (err)
		goto out;
	down_read(&vi->lock);
	cleared = vexfs_old_run(vi, inode, &old_first);
	up_read(&vi->lock);
	if (!n && !VEXFS_I(inode)->i_chunk_count && !(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR)) {
		err = -ENODATA;	/* nothing to drop */
		goto out;
	}
	err = vexfs_slotmap_update(vi, first, n, old_first, cleared);
	if (err)
		goto out;
	down_write(&vi->lock);
	queued = vexfs_switch_mem(vi, inode, first, n, cleared);
	up_write(&vi->lock);
	reserved = false;
	xa_held = false;
	/* A new set of a file with several names: the index learns its directories. */
	if (n && READ_ONCE(VEXFS_I(inode)->i_names_block))
		vexfs_vector_parent_changed(inode);
	inode->i_ctime = current_time(inode);
	mark_inode_dirty(inode);
out:
	if (reserved) {
		down_write(&vi->lock);
		vexfs_run_unreserve(vi, first, n);
		up_write(&vi->lock);
	}
	if (xa_held)
		xa_release(&vi->ino_slot, inode->i_ino);
	err2 = vexfs_journal_end(handle);
	if (!err)
		err = err2;
	if (queued)
		vexfs_pending_apply(vi);
	kfree(ch);
	kvfree(bits);
	kvfree(rec);
	if (err && err != -ENODATA && err != -EINVAL && err != -EFAULT && err != -E2BIG) {
		atomic64_inc(&vi->st.errors);
		if (err != -ENOSPC && err != -ENOMEM)
			pr_warn_ratelimited("vexfs (%s): replacing the chunk set of inode %lu failed: %d\n",
					    sb->s_id, inode->i_ino, err);
	}
	return err;
}

/* One vector covering the whole file: the source of the single-vector calls. */
struct vexfs_one_src {
	struct vexfs_chunk_src src;
	const u32 *bits;
	u32 dim;
};

static int vexfs_one_read(struct vexfs_chunk_src *src, u32 first, u32 n,
			  struct vexfs_ioc_chunk *ch, u32 *bits)
{
	struct vexfs_one_src *o = container_of(src, struct vexfs_one_src, src);

	ch[0].offset = 0;
	ch[0].length = 0;
	memcpy(bits, o->bits, o->dim * sizeof(u32));
	return 0;
}

/* Set inode's vector: its set becomes one chunk (0, 0). */
int vexfs_vector_set(struct inode *inode, const u32 *bits, u32 dim)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_one_src o = {
		.src = { .count = 1, .read = vexfs_one_read }, .bits = bits, .dim = dim,
	};

	if (!vi)
		return -EOPNOTSUPP;
	if (dim != vi->dim)
		return -EINVAL;
	return vexfs_chunks_replace(inode, &o.src);
}

/*
 * The vector of a one-chunk set; -E2BIG when the set has several chunks
 * (there is no single vector: VEXFS_IOC_GET_CHUNKS reads them).
 */
int vexfs_vector_get(struct inode *inode, u32 *bits, u32 dim)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_inode_info *ii = VEXFS_I(inode);
	int err;

	if (!vi)
		return -EOPNOTSUPP;
	if (dim < vi->dim)
		return -ERANGE;
	down_read(&vi->lock);
	if (!ii->i_chunk_count)
		err = -ENODATA;
	else if (ii->i_chunk_count > 1)
		err = -E2BIG;
	else if (!vexfs_slot_owned(vi, ii->i_chunk_first, inode))
		err = -EIO;	/* the slot was damaged (reported at mount) */
	else
		err = vexfs_vecs_copy(vi, ii->i_chunk_first, bits);
	up_read(&vi->lock);
	return err ? err : vi->dim;
}

/*
 * The file's set as it stands (lock-free snapshot for listxattr and
 * getxattr sizing): chunk count, 0 without a set.
 */
u32 vexfs_chunk_count(struct inode *inode)
{
	return READ_ONCE(VEXFS_I(inode)->i_chunk_count);
}

/*
 * Chunks [first, first + n) of inode's set into ch[] and bits[n * dim]
 * (kernel memory). *total = chunks in the set, *stale, *data_version.
 * -ENODATA without a set; first beyond the set returns nothing (n = 0).
 */
int vexfs_chunks_get(struct inode *inode, u32 first, u32 *n, struct vexfs_ioc_chunk *ch,
		     u32 *bits, u32 *total, bool *stale, u64 *data_version)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_inode_info *ii = VEXFS_I(inode);
	u32 i, k;
	int err = 0;

	if (!vi)
		return -EOPNOTSUPP;
	down_read(&vi->lock);
	*total = ii->i_chunk_count;
	*stale = ii->i_data_version != ii->i_chunk_version;
	*data_version = ii->i_data_version;
	if (!ii->i_chunk_count) {
		err = -ENODATA;
		goto out;
	}
	k = first < ii->i_chunk_count ? min(*n, ii->i_chunk_count - first) : 0;
	for (i = 0; i < k; i++) {
		u32 s = ii->i_chunk_first + first + i;

		if (!vexfs_slot_owned(vi, s, inode)) {
			err = -EIO;	/* the slot was damaged (reported at mount) */
			goto out;
		}
		err = vexfs_vecs_range(vi, s, &ch[i].offset, &ch[i].length);
		if (!err)
			err = vexfs_vecs_copy(vi, s, bits + (size_t)i * vi->dim);
		if (err)
			goto out;
	}
	*n = k;
out:
	up_read(&vi->lock);
	return err;
}

/* Drop inode's set (explicitly, or because its last link went): -ENODATA without one. */
int vexfs_vector_remove(struct inode *inode)
{
	struct vexfs_chunk_src none = { .count = 0 };

	return vexfs_chunks_replace(inode, &none);
}

/*
 * The file's data changed (write, truncate, fallocate, mmap write): the
 * first change after its set was written makes the set stale. Cheap when
 * there is no set or it is already stale (no lock). The inode is dirtied
 * in the caller's journal handle, if any.
 */
void vexfs_data_changed(struct inode *inode)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_inode_info *ii = VEXFS_I(inode);
	bool changed = false;
	u32 s;

	if (!vi || !READ_ONCE(ii->i_chunk_count) ||
	    READ_ONCE(ii->i_data_version) != READ_ONCE(ii->i_chunk_version))
		return;
	down_write(&vi->lock);
	if (ii->i_chunk_count && ii->i_data_version == ii->i_chunk_version) {
		ii->i_data_version++;
		for (s = ii->i_chunk_first; s < ii->i_chunk_first + ii->i_chunk_count; s++)
			if (vexfs_slot_owned(vi, s, inode))
				vexfs_slot(vi, s)->state |= VSLOT_STALE;
		vi->stale_files++;
		changed = true;
	}
	up_write(&vi->lock);
	/* After the lock: dirtying may start a journal handle. */
	if (changed)
		mark_inode_dirty(inode);
}

/*
 * The file's names changed (rename, link, unlink of a name; its set became
 * live): searches judge its slots from the copies of i_parent, or of the
 * directories its names block lists, made here. Called with the inode's
 * i_rwsem held or with the set just switched, so they do not change meanwhile.
 */
void vexfs_vector_parent_changed(struct inode *inode)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_inode_info *ii = VEXFS_I(inode);
	struct vexfs_link_dirs *ld = NULL;
	u32 s, blk = READ_ONCE(ii->i_names_block);
	bool owned = false;
	int err;

	if (!vi || !READ_ONCE(ii->i_chunk_count))
		return;
	/* Read before the lock: searches do not wait for the block. */
	if (blk && vexfs_names_enabled(inode->i_sb))
		ld = vexfs_link_dirs_read(inode->i_sb, inode->i_ino, blk, &err);
	down_write(&vi->lock);
	for (s = ii->i_chunk_first; s < ii->i_chunk_first + ii->i_chunk_count; s++) {
		if (vexfs_slot_owned(vi, s, inode)) {
			vexfs_slot(vi, s)->parent = vexfs_slot_parent_of(inode);
			owned = true;
		}
	}
	if (owned || !ld)
		vexfs_link_dirs_set(vi, inode->i_ino, owned ? ld : NULL);
	else
		kfree(ld);
	up_write(&vi->lock);
}

/* Owner or mode changed: searches filter on the cached copy. */
void vexfs_vector_attr_changed(struct inode *inode)
{
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_inode_info *ii = VEXFS_I(inode);
	u32 s;

	if (!vi || !READ_ONCE(ii->i_chunk_count))
		return;
	down_write(&vi->lock);
	for (s = ii->i_chunk_first; s < ii->i_chunk_first + ii->i_chunk_count; s++) {
		struct vexfs_slot_attr *a;

		if (!vexfs_slot_owned(vi, s, inode))
			continue;
		a = vexfs_slot(vi, s);
		a->uid = i_uid_read(inode);
		a->gid = i_gid_read(inode);
		a->mode = inode->i_mode;
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
	vexfs_link_dirs_destroy(vi);
	kvfree(vi->store_pblk);
	vexfs_sgroups_free(vi->sg, 0, vi->capacity >> VEXFS_SG_SHIFT);
	kvfree(vi->sg);
	kvfree(vi->sq_min);
	kvfree(vi->sq_scale);
	vexfs_gstore_free(vi->gs);
	kfree(vi->gh);
	kvfree(vi->pq);
	kvfree(vi->del_batch);
	iput(vi->store);
	iput(vi->graph_file);
	iput(vi->slotmap);
	kfree(vi);
}

/*
 * After a clean unmount the superblock's summary (its counts, stamped with
 * the vector generation they describe) stands for the store, and the
 * graph written then for its live slots: the index is then loaded lazily,
 * a group of slots at a time on first use, and mount reads no slot.
 * Anything else (a crash, no summary, a graph of another count, codes
 * still to train) scans the store at mount: NULL, or why.
 */
static const char *vexfs_summary_unusable(struct vexfs_vindex *vi, int cap)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vi->sb);
	const struct vexfs_sb_geom *g = &sbi->geom;

	if (cap <= 0)
		return "no graph to load";
	if (!sbi->was_clean)
		return "not cleanly unmounted";
	if (sbi->journal_was_aborted || (g->state & VEXFS_STATE_ERROR))
		return "errors recorded before this mount";
	if (!(g->feature_compat & VEXFS_FEATURE_COMPAT_INDEX_SUMMARY))
		return "no index summary feature";
	if (!g->index_generation || g->index_generation != g->vector_generation)
		return "no index summary of this vector generation";
	if (g->index_live != vi->graph_loaded_live || g->index_live > (u64)cap ||
	    g->index_files > g->index_live || g->index_stale > g->index_files) {
		pr_warn("vexfs (%s): index summary (%llu vectors, %llu files, %llu stale) disagrees with the graph (%u nodes of %d)\n",
			vi->sb->s_id, g->index_live, g->index_files, g->index_stale,
			vi->graph_loaded_live, cap);
		return "index summary disagrees with the graph";
	}
	/* Codes steer walks once trained: training reads every vector. */
	if (!vi->sq_loaded && g->index_live >= VEXFS_SQ8_MIN)
		return "int8 codes to train";
	return NULL;
}

/*
 * Record the counts in the superblock's summary (vi->lock held). Not after
 * the journal aborted: what was counted may not reach the disk.
 */
void vexfs_summary_note(struct vexfs_vindex *vi)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vi->sb);

	if (sbi->journal && is_journal_aborted(sbi->journal)) {
		WRITE_ONCE(sbi->index_summary.generation, 0);
		return;
	}

	WRITE_ONCE(sbi->index_summary.live, vi->nr_live);
	WRITE_ONCE(sbi->index_summary.files, vi->files);
	WRITE_ONCE(sbi->index_summary.stale, vi->stale_files);
	WRITE_ONCE(sbi->index_summary.generation, sbi->geom.vector_generation);
}

/* The index as the summary says it is, its slot groups left on disk until used. */
static int vexfs_vindex_load_lazy(struct vexfs_vindex *vi, u32 cap)
{
	const struct vexfs_sb_geom *g = &VEXFS_SB(vi->sb)->geom;
	int err = vexfs_arrays_grow(vi, cap, true);

	if (err)
		return err;
	vi->nr_live = g->index_live;
	vi->files = g->index_files;
	vi->stale_files = g->index_stale;
	atomic_set(&vi->graph_unloaded, vi->nr_live);
	vi->codes_ready = vi->sq_loaded && vi->nr_live;
	vi->codes_trained_at = vi->nr_live;
	vi->graph_valid = true;
	return 0;
}

/*
 * The vexfs_simd capability bits this CPU allows (shim/vexfs_simd.h): AVX2
 * and FMA, then AVX-512F on top when the kernel also saves the zmm state.
 */
static u32 vexfs_simd_caps(void)
{
	u32 caps = 0;

	if (boot_cpu_has(X86_FEATURE_AVX2) && boot_cpu_has(X86_FEATURE_FMA)) {
		caps = VEXFS_SIMD_CAP_AVX2_FMA;
		if (boot_cpu_has(X86_FEATURE_AVX512F) &&
		    cpu_has_xfeatures(XFEATURE_MASK_AVX512, NULL))
			caps |= VEXFS_SIMD_CAP_AVX512;
	}
	return caps;
}

int vexfs_vindex_load(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	struct vexfs_vindex *vi;
	ktime_t t[5];
	int cap, err;
	const char *whole;
	bool lazy;
	u32 i;

	vi = kzalloc(sizeof(*vi), GFP_KERNEL);
	if (!vi)
		return -ENOMEM;
	vi->sb = sb;
	init_rwsem(&vi->lock);
	mutex_init(&vi->store_mutex);
	xa_init(&vi->ino_slot);
	xa_init(&vi->link_dirs);
	INIT_LIST_HEAD(&vi->scratch_free);
	spin_lock_init(&vi->scratch_lock);
	vi->nr_scratch = num_possible_cpus() + 1;
	sema_init(&vi->scratch_sem, vi->nr_scratch);
	INIT_DELAYED_WORK(&vi->sync_work, vexfs_sync_worker);
	INIT_WORK(&vi->rebuild_work, vexfs_rebuild_worker);
	INIT_WORK(&vi->persist_work, vexfs_persist_worker);
	INIT_WORK(&vi->warm_work, vexfs_warm_worker);
	vi->dim = sbi->geom.vector_dim;
	vi->metric = sbi->geom.vector_metric;
	vi->m = sbi->geom.hnsw_m;
	vi->efc = sbi->geom.hnsw_ef_construction;
	vi->caps = vexfs_simd_caps();
	vi->sync_mode = VEXFS_SYNC_IMMEDIATE;
	vi->batch_size = 256;
	vi->sync_interval_ms = 1000;
	vi->ef_search = VINDEX_DEFAULT_EF;
	vi->auto_rebuild = 1;

	vi->wq = alloc_workqueue("vexfs-%s", WQ_UNBOUND | WQ_MEM_RECLAIM, 1, sb->s_id);
	vi->code_bytes = vexfs_sq8_code_bytes(vi->dim);
	vi->sq_min = kvcalloc(vi->dim, sizeof(u32), GFP_KERNEL);
	vi->sq_scale = kvcalloc(vi->dim, sizeof(u32), GFP_KERNEL);
	vi->pq = kvmalloc_array(VEXFS_MAX_PENDING, sizeof(u32), GFP_KERNEL);
	vi->del_batch = kvmalloc_array(VEXFS_MAX_PENDING, sizeof(u32), GFP_KERNEL);
	err = (!vi->wq || !vi->pq || !vi->del_batch || !vi->sq_min || !vi->sq_scale) ? -ENOMEM : 0;
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

	vi->slotmap = vexfs_iget(sb, VEXFS_SLOTMAP_INO);
	if (IS_ERR(vi->slotmap)) {
		err = PTR_ERR(vi->slotmap);
		vi->slotmap = NULL;
		pr_err("vexfs (%s): cannot read the slot bitmap inode: %d\n", sb->s_id, err);
		goto fail;
	}

	/* The graph first: the slot arrays are at least as large as it. */
	t[0] = ktime_get();
	cap = vexfs_graph_load(vi);
	t[1] = ktime_get();
	whole = vexfs_summary_unusable(vi, cap);
	lazy = !whole;
	err = lazy ? vexfs_vindex_load_lazy(vi, cap) : vexfs_store_load(vi, cap > 0 ? cap : 0);
	if (err)
		goto fail;
	t[2] = ktime_get();
	/*
	 * Codes for the kNN walks, with the quantiser kept with the graph, else
	 * a new one; without them (a failure) walks use float32 distances.
	 * Lazily loaded groups get theirs when loaded.
	 */
	if (!lazy && vi->nr_live && vi->sq_loaded && vexfs_codes_encode_all(vi))
		vi->sq_loaded = false;
	if (!lazy && vi->nr_live && !vi->sq_loaded)
		vi->codes_failed = vexfs_codes_train(vi) != 0;
	t[3] = ktime_get();
	if (cap > 0 && !lazy) {
		/*
		 * Node s is slot s. A graph that differs from the store by a few
		 * changes (those made after it was written, before a crash) is
		 * repaired; one that differs by more is rebuilt.
		 */
		u32 removed = 0, queued = 0;

		err = vi->capacity == (u32)cap ? 0 : -ERANGE;
		if (!err && sbi->was_clean && vi->graph_loaded_live == vi->nr_live) {
			/*
			 * Written at the clean unmount with the store as it is
			 * (same generation, same count): it has exactly the live
			 * slots' nodes, so none is read here. (Were it wrong, a
			 * node of a dead slot is never returned, and an insert
			 * into a slot with a node fails and starts a rebuild.)
			 */
			for (i = 0; i < vi->capacity; i++)
				if (vexfs_slot(vi, i)->state & VSLOT_LIVE)
					vexfs_slot(vi, i)->state |= VSLOT_IN_GRAPH;
			vi->graph_valid = true;
		} else if (!err) {
			down_write(&vi->lock);
			err = vexfs_graph_reconcile(vi, VEXFS_GRAPH_REPAIR_MIN + vi->nr_live / 8,
						    &removed, &queued);
			up_write(&vi->lock);
		}
		if (!err && (removed || queued))
			pr_info("vexfs (%s): persisted HNSW graph repaired: %u nodes removed, %u vectors queued for insertion\n",
				sb->s_id, removed, queued);
		err = 0;
		if (!vi->graph_valid) {
			pr_warn("vexfs (%s): persisted HNSW graph disagrees with the vector store, rebuilding\n",
				sb->s_id);
			for (i = 0; i < vi->capacity; i++)
				vexfs_slot(vi, i)->state &= ~VSLOT_IN_GRAPH;
			vexfs_gstore_free(vi->gs);
			kfree(vi->gh);
			vi->gs = NULL;
			vi->gh = NULL;
			cap = 0;
		}
	} else if (cap <= 0 && cap != -ESTALE) {
		pr_warn("vexfs (%s): persisted HNSW graph unusable (%d), rebuilding\n", sb->s_id, cap);
	}
	if (cap <= 0) {
		/* The graph is derived data: rebuild it; exact search serves meanwhile. */
		if (vi->nr_live) {
			down_write(&vi->lock);
			vexfs_vwork_queue(vi, VWORK_REBUILD, 0);
			up_write(&vi->lock);
		} else {
			struct vexfs_hnsw_params p = {
				.capacity = vi->capacity, .m = vi->m,
				.ef_construction = vi->efc, .metric = vi->metric, .dim = vi->dim,
				.seed = VEXFS_HNSW_SEED,
			};
			s64 words = vexfs_hnsw_words_needed(&p);

			err = words < 0 ? words : 0;
			if (!err) {
				vi->gs = vexfs_gstore_alloc(vi, words, p.capacity, true);
				vi->gh = kzalloc(vexfs_hnsw_handle_size(), GFP_KERNEL);
				err = (vi->gs && vi->gh) ? vexfs_hnsw_create_store(vi->gh, &vi->gs->st, &p) : -ENOMEM;
			}
			if (err)
				goto fail;
			/* Empty: nothing worth writing until a vector arrives. */
			vi->graph_valid = true;
		}
	}
	vexfs_summary_note(vi);
	sbi->vindex = vi;
	if (lazy && vexfs_warm_after_mount && atomic_read(&vi->sg_unloaded)) {
		down_read(&vi->lock);
		vexfs_vwork_queue(vi, VWORK_WARM, 0);
		up_read(&vi->lock);
	}
	t[4] = ktime_get();
	/* Where a mount's time goes: each phase is linear in what it reads. */
	pr_info("vexfs (%s): %u vectors of dimension %u, graph %s (chunk sets of %llu files, %llu stale); index loaded %s%s in %lld ms: graph %lld, store scan %lld, codes %lld, graph check %lld\n",
		sb->s_id, vi->nr_live, vi->dim, vi->graph_valid ? "loaded" : "rebuilding",
		vi->files, vi->stale_files,
		lazy ? (vexfs_warm_after_mount ? "lazily (slots read on first use and in the background)" :
			"lazily (slots read on first use)") : "whole: ",
		lazy ? "" : whole,
		ktime_ms_delta(t[4], t[0]), ktime_ms_delta(t[1], t[0]),
		ktime_ms_delta(t[2], t[1]), ktime_ms_delta(t[3], t[2]), ktime_ms_delta(t[4], t[3]));
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
	cancel_work_sync(&vi->persist_work);
	cancel_work_sync(&vi->warm_work);
	down_write(&vi->lock);
	vexfs_pending_drain(vi, U32_MAX);
	up_write(&vi->lock);
	vexfs_vindex_sync(sb, true);
	VEXFS_SB(sb)->vindex = NULL;
	vexfs_vindex_free(vi);
}
