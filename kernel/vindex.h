/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vindex.h - declarations shared by the files of the vector index and
 * private to them (vector.h is what the rest of the module uses):
 *   vector.c         public API (vector set/get/remove), load and unload
 *   vindex-store.c   store-file records and the mount scan over them
 *   vindex-slots.c   slot arrays: slot of an inode, allocation, growth
 *   vindex-graph.c   graph changes, pending queue, workers, persistence
 *   vindex-search.c  distance/filter callbacks, scratch pool, searches
 * Locking is that of struct vexfs_vindex (vector.h): vi->lock guards the
 * slot arrays, the graph, the pending queue and the flags; each file's
 * first lines say which of them it changes and how.
 */
#ifndef _VEXFS_VINDEX_H
#define _VEXFS_VINDEX_H

#include "vector.h"

/*
 * Read-ahead windows of the mount-time scans: while one window is being
 * read, the next is in flight.
 */
#define VEXFS_SCAN_READAHEAD	1024u	/* inodes: their store records and inode-table blocks */
#define VEXFS_GRAPH_READAHEAD	64u	/* graph file blocks */

struct vexfs_ftop;

struct vexfs_kctx {
	struct vexfs_vindex *vi;
	const u32 *query;	/* the search vector (VEXFS_HNSW_QUERY_INPUT) */
	bool check_perm;	/* hide files the caller may not read */
	bool skip_pending;	/* queued slots are scanned exactly instead */
	bool fresh;		/* hide stale sets (VEXFS_SEARCH_F_FRESH) */
	struct vexfs_dirv *dirv;	/* the file's directory must pass; NULL: no check */
	struct vexfs_ftop *ftop;	/* PER_FILE: hits go here, one per file; NULL: none */
};

struct vexfs_slot_arrays {
	u32 capacity;
	u32 *vecs, *gen, *uid, *gid, *parent;
	u64 *ino;
	u16 *mode;
	u8 *state;
	u32 *gw;
	u64 gw_len;
	void *gh;
};

enum vexfs_vwork {
	VWORK_REBUILD,		/* rebuild_work */
	VWORK_SYNC,		/* sync_work after delay, unless already queued */
	VWORK_SYNC_NOW,		/* sync_work now, even if queued for later */
};

/* vindex-search.c */
int vexfs_dist_cb(void *kctxp, u32 query_slot, const u32 *ids, u32 n, u32 *out);
struct vexfs_scratch *vexfs_scratch_alloc(struct vexfs_vindex *vi, u32 capacity);
void vexfs_scratch_free(struct vexfs_scratch *s);

/* vindex-store.c */
int vexfs_store_write(struct vexfs_vindex *vi, struct inode *inode, const u32 *bits);
int vexfs_store_clear(struct vexfs_vindex *vi, u64 ino);
int vexfs_store_load(struct vexfs_vindex *vi, bool graph_slots);
void vexfs_file_readahead(struct inode *file, u64 first, u64 n, struct vexfs_vindex *vi);
bool vexfs_scan_window(u64 pos, u64 total, u64 window, u64 *from, u64 *n);

/* vindex-slots.c (write lock held, except where said) */
int vexfs_slot_of(struct vexfs_vindex *vi, u64 ino);
void vexfs_arrays_free(struct vexfs_slot_arrays *a);
int vexfs_arrays_alloc(struct vexfs_vindex *vi, u32 capacity, bool with_graph,
		       struct vexfs_slot_arrays *a);
int vexfs_arrays_adopt(struct vexfs_vindex *vi, struct vexfs_slot_arrays *a);
int vexfs_slot_alloc(struct vexfs_vindex *vi, u32 *slot);
void vexfs_slot_release(struct vexfs_vindex *vi, u32 slot);
void vexfs_vindex_reset_slots(struct vexfs_vindex *vi);

/* vindex-graph.c */
void vexfs_vwork_queue(struct vexfs_vindex *vi, enum vexfs_vwork w, unsigned long delay);
void vexfs_slot_changed(struct vexfs_vindex *vi, u32 slot);
void vexfs_pending_drain(struct vexfs_vindex *vi, u32 max);
void vexfs_sync_worker(struct work_struct *work);
void vexfs_rebuild_worker(struct work_struct *work);
int vexfs_graph_load(struct vexfs_vindex *vi);

#endif /* _VEXFS_VINDEX_H */
