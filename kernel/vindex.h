/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vindex.h - declarations shared by the files of the vector index and
 * private to them (vector.h is what the rest of the module uses):
 *   vector.c         public API (chunk sets: replace, get; staleness), load, unload
 *   vindex-store.c   store-file records, the slot bitmap, the mount scan over them
 *   vindex-slots.c   slot arrays: run of an inode, run allocation, growth
 *   vindex-graph.c   graph changes, pending queue, workers, persistence
 *   vindex-vecs.c    the float32 vectors, read through the page cache
 *   vindex-search.c  distance/filter callbacks, scratch pool, searches
 * Locking is that of struct vexfs_vindex (vector.h): vi->lock guards the
 * slot arrays, the graph, the pending queue and the flags; each file's
 * first lines say which of them it changes and how.
 */
#ifndef _VEXFS_VINDEX_H
#define _VEXFS_VINDEX_H

#include "vector.h"
#include "../shim/vexfs_simd.h"

/*
 * Read-ahead windows of the mount-time scans: while one window is being
 * read, the next is in flight.
 */
#define VEXFS_SCAN_READAHEAD	1024u	/* slots: their store records, then their owners' inodes */
#define VEXFS_GRAPH_READAHEAD	64u	/* graph file blocks */

/*
 * A persisted graph that differs from the store in at most this many nodes
 * plus 1/8 of the live vectors is repaired at mount
 * (vexfs_graph_reconcile), not rebuilt.
 */
#define VEXFS_GRAPH_REPAIR_MIN	256u

/* The int8 codes are trained once the index holds this many live vectors. */
#define VEXFS_SQ8_MIN		256u

/* Slot-bitmap bits per file block. */
#define VEXFS_SLOTMAP_BITS	(VEXFS_BLOCK_SIZE * 8u)

/*
 * Sets of more chunks than this are handed to the graph through the
 * pending queue even in the immediate mode, and applied in batches with
 * the lock dropped between them: searches are not held up by thousands
 * of inserts.
 */
#define VEXFS_RUN_INLINE	32u

struct vexfs_ftop;

struct vexfs_kctx {
	struct vexfs_vindex *vi;
	const u32 *query;	/* the search vector (VEXFS_HNSW_QUERY_INPUT) */
	bool check_perm;	/* hide files the caller may not read */
	bool skip_pending;	/* queued slots are scanned exactly instead */
	bool fresh;		/* hide stale sets (VEXFS_SEARCH_F_FRESH) */
	struct vexfs_dirv *dirv;	/* the file's directory must pass; NULL: no check */
	struct vexfs_ftop *ftop;	/* PER_FILE: hits go here, one per file; NULL: none */
	u32 *bounce;		/* vexfs_vecs_bounce_words(dim) words (the scratch's); NULL when 0 */
	/* VEXFS_HNSW_QUERY_CODES: the query folded for the int8 codes (vindex-codes.c) */
	struct vexfs_sq8_query sq;
	const s16 *sq_w;	/* dim weights (the scratch's) */
	const u8 **recs;	/* VEXFS_CODE_RECS record pointers (the scratch's) */
	int err;		/* set by the filter: a slot group failed to load */
};

struct vexfs_slot_arrays {
	u32 capacity;
	u32 *pblk, pblk_len;	/* store-file block -> device block, vexfs_store_blocks_for() */
	/*
	 * capacity / VEXFS_SG_SLOTS group pointers; the groups past the old
	 * capacity are allocated, those below it are the index's own (moved in
	 * by vexfs_arrays_adopt, not copied).
	 */
	struct vexfs_sgroup **sg;
	u32 sg_from;		/* first group allocated here */
	bool lazy;		/* none allocated: loaded on first use */
	struct vexfs_gstore *gs;	/* a new graph (grown), fresh */
	void *gh;
};

/* Words per graph block (docs/HNSW.md: 4 KiB blocks of u32 words). */
#define VEXFS_GRAPH_BLOCK_WORDS	(VEXFS_BLOCK_SIZE / 4u)

/*
 * The graph's words: blocks of the graph file read through the page cache,
 * and private copies of the blocks changed since it was written
 * (vindex-gstore.c, which says what guards what).
 */
struct vexfs_gstore {
	struct vexfs_vindex *vi;
	struct vexfs_hnsw_store st;	/* the core's view: st.blk is blk */
	u32 **blk;		/* nblocks: block in memory, or NULL (on disk) */
	u32 *pblk;		/* nblocks: device block of each, 0: not looked up yet */
	u8 *node_cache;		/* capacity bytes: the core's cache of node meta words */
	u32 capacity;
	u64 nblocks;
	u32 nmem;		/* blocks in memory */
	bool fresh;		/* never written: a block not in memory is zeros */
};

enum vexfs_vwork {
	VWORK_REBUILD,		/* rebuild_work */
	VWORK_SYNC,		/* sync_work after delay, unless already queued */
	VWORK_SYNC_NOW,		/* sync_work now, even if queued for later */
	VWORK_PERSIST,		/* persist_work: write the graph, letting its blocks go */
	VWORK_WARM,		/* warm_work: read more slot groups of a lazy mount */
};

/* vector.c */
void vexfs_summary_note(struct vexfs_vindex *vi);

/* vindex-gstore.c */
struct vexfs_gstore *vexfs_gstore_alloc(struct vexfs_vindex *vi, u64 nwords, u32 capacity,
					bool fresh);
void vexfs_gstore_free(struct vexfs_gstore *gs);
u64 vexfs_gstore_bytes(const struct vexfs_gstore *gs);
int vexfs_gstore_write_back(struct vexfs_vindex *vi, struct vexfs_gstore *gs);

/* vindex-search.c */
int vexfs_dist_cb(void *kctxp, u32 query_slot, const u32 *ids, u32 n, u32 *out);
struct vexfs_scratch *vexfs_scratch_alloc(struct vexfs_vindex *vi, u32 capacity);
void vexfs_scratch_free(struct vexfs_scratch *s);

/* vindex-vecs.c */
u32 vexfs_store_blocks_for(u32 dim, u32 capacity);
void vexfs_vecs_note_blocks(struct vexfs_vindex *vi, u64 first, const u32 *pblk, u32 n);
int vexfs_vecs_copy(struct vexfs_vindex *vi, u32 slot, u32 *out);
int vexfs_vecs_range(struct vexfs_vindex *vi, u32 slot, u64 *offset, u64 *length);
int vexfs_vecs_dist(struct vexfs_vindex *vi, u32 *bounce, const u32 *query, u32 query_slot,
		    const u32 *ids, u32 n, u32 *out);
u32 vexfs_vecs_bounce_words(u32 dim);
/* Called inside an FPU section: must not sleep. */
typedef int (*vexfs_vec_fn)(struct vexfs_vindex *vi, void *arg, u32 slot, const u32 *vec);
int vexfs_vecs_apply(struct vexfs_vindex *vi, u32 *bounce, const u32 *slots, u32 first, u32 n,
		     vexfs_vec_fn fn, void *arg);

/* vindex-codes.c (write lock held, or before the index is published) */
int vexfs_codes_train(struct vexfs_vindex *vi);
void vexfs_codes_encode_run(struct vexfs_vindex *vi, u32 first, u32 n);
int vexfs_codes_encode_group(struct vexfs_vindex *vi, struct vexfs_sgroup *grp, u32 g);
int vexfs_codes_encode_all(struct vexfs_vindex *vi);
u32 vexfs_sq8_blocks(u32 dim);
void vexfs_sq8_encode_block(struct vexfs_vindex *vi, u64 generation, u32 b, u8 *out);
bool vexfs_sq8_decode(struct vexfs_vindex *vi, const u8 *buf, u64 generation);

/* vindex-store.c */
int vexfs_store_write_slot(struct vexfs_vindex *vi, u64 slot, const u8 *rec);
int vexfs_slotmap_update(struct vexfs_vindex *vi, u32 set_first, u32 set_n,
			 u32 clr_first, u32 clr_n);
int vexfs_store_load(struct vexfs_vindex *vi, u32 min_capacity);
int vexfs_owner_read(struct vexfs_vindex *vi, u64 ino, struct vexfs_inode_mem *im, int *decode_err);
int vexfs_store_load_group(struct vexfs_vindex *vi, u32 g, struct vexfs_sgroup *grp, u32 *in_graph);
void vexfs_file_readahead(struct inode *file, u64 first, u64 n);
bool vexfs_scan_window(u64 pos, u64 total, u64 window, u64 *from, u64 *n);

/* vindex-slots.c (write lock held, except where said) */
int vexfs_run_of(struct vexfs_vindex *vi, u64 ino, u32 *first, u32 *count);
int vexfs_slot_of(struct vexfs_vindex *vi, u64 ino);
void *vexfs_run_entry(u32 first, u32 count);
void vexfs_arrays_free(struct vexfs_slot_arrays *a);
struct vexfs_sgroup *vexfs_sgroup_alloc(struct vexfs_vindex *vi);
void vexfs_sgroups_free(struct vexfs_sgroup **sg, u32 from, u32 to);
size_t vexfs_sgroup_bytes(const struct vexfs_vindex *vi);
size_t vexfs_sgroup_pinned(const struct vexfs_vindex *vi);
int vexfs_arrays_alloc(struct vexfs_vindex *vi, u32 capacity, bool with_graph, bool lazy,
		       struct vexfs_slot_arrays *a);
int vexfs_arrays_adopt(struct vexfs_vindex *vi, struct vexfs_slot_arrays *a);
int vexfs_arrays_grow(struct vexfs_vindex *vi, u32 want, bool lazy);
int vexfs_sg_load(struct vexfs_vindex *vi, u32 g);
int vexfs_sg_load_range(struct vexfs_vindex *vi, u32 first, u32 n);
void vexfs_warm_worker(struct work_struct *work);
extern unsigned int vexfs_warm_after_mount;
struct vexfs_slot_attr *vexfs_slot_get_slow(struct vexfs_vindex *vi, u32 s);

/* Slot s's attributes, its group loaded first if need be (s < capacity, vi->lock held). */
static inline struct vexfs_slot_attr *vexfs_slot_get(struct vexfs_vindex *vi, u32 s)
{
	return likely(vexfs_slot_loaded(vi, s)) ? vexfs_slot(vi, s) : vexfs_slot_get_slow(vi, s);
}
int vexfs_run_lookup(struct vexfs_vindex *vi, u64 ino, u32 *first, u32 *count);
int vexfs_run_alloc(struct vexfs_vindex *vi, u32 n, u32 *first);
void vexfs_run_unreserve(struct vexfs_vindex *vi, u32 first, u32 n);
void vexfs_slot_release(struct vexfs_vindex *vi, u32 slot);

/* vindex-graph.c */
void vexfs_vwork_queue(struct vexfs_vindex *vi, enum vexfs_vwork w, unsigned long delay);
void vexfs_slot_changed(struct vexfs_vindex *vi, u32 slot);
bool vexfs_run_changed(struct vexfs_vindex *vi, u32 first, u32 n);
void vexfs_pending_apply(struct vexfs_vindex *vi);
void vexfs_pending_drain(struct vexfs_vindex *vi, u32 max);
void vexfs_sync_worker(struct work_struct *work);
void vexfs_rebuild_worker(struct work_struct *work);
void vexfs_persist_worker(struct work_struct *work);
int vexfs_graph_load(struct vexfs_vindex *vi);
int vexfs_graph_reconcile(struct vexfs_vindex *vi, u32 max, u32 *removed, u32 *queued);

#endif /* _VEXFS_VINDEX_H */
