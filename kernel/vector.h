/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vector.h - the per-mount vector index: the in-memory copy of the vector
 * store (one slot per chunk; a file's chunk set is a run of slots), the
 * HNSW graph (its logic is the Rust core's; node s = slot s), the pending
 * queue of lazy sync, statistics and configuration. Owned by vector.c and
 * the vindex-*.c files (their private declarations are in vindex.h);
 * ioctl.c and chunks.c search, report, configure and set it through what
 * is declared here.
 */
#ifndef _VEXFS_VECTOR_H
#define _VEXFS_VECTOR_H

#include "vexfs.h"
#include "../shim/uapi/vexfs_ioctl.h"

/* slot_state bits */
#define VSLOT_LIVE	0x1	/* holds a chunk of a file's current set */
#define VSLOT_IN_GRAPH	0x2	/* the graph has a node for it */
#define VSLOT_PENDING	0x4	/* queued for the graph (lazy sync or rebuild) */
#define VSLOT_STALE	0x8	/* LIVE, and the owner's data changed after the set was written */
#define VSLOT_RESV	0x10	/* reserved for a set being written (not yet in the slot bitmap) */
#define VSLOT_BAD	0x20	/* allocated on disk but its record is damaged: never reused (fsck) */

/* A search's working memory; pooled, one per concurrent searcher. */
struct vexfs_scratch {
	struct list_head list;
	struct vexfs_hnsw_ctx ctx;	/* scratch buffers and visited epoch */
	u32 capacity;			/* graph capacity the buffers were sized for */
	struct vexfs_vindex *vi;	/* whose scratch_bytes count it */
	u64 bytes;			/* allocated for it, struct included */
	u32 *bounce;			/* vexfs_vecs_bounce_words(dim) words; NULL when 0 */
	s16 *sq_w;			/* dim: a query folded for the int8 codes */
	u32 *vtmp;			/* dim: the quantiser's working copy of a vector */
	const u8 **recs;		/* VEXFS_CODE_RECS: code records of one distance batch */
};

/* Code records scored per FPU section (their pointers are gathered first). */
#define VEXFS_CODE_RECS	64u

struct vexfs_vstats {
	atomic64_t inserts, updates, deletes, searches, exact_searches, dists;
	atomic64_t search_ns, search_ns_max, insert_ns, syncs, rebuilds, errors;
};

/*
 * What searches filter on, per slot: the owner's attributes copied from its
 * inode (so a walk reads no inode), and the slot's VSLOT_* state.
 */
struct vexfs_slot_attr {
	u64 ino;			/* owner inode (the graph node's key) */
	u32 gen;			/* owner's generation */
	u32 uid, gid;
	/*
	 * The file's i_parent: searches filter on its directory; or
	 * VEXFS_SLOT_PARENT_NAMES for a file with a names block (several
	 * names), judged by the file's own verdict (vindex-scope.c).
	 */
	u32 parent;
	u16 mode;
	u8 state;			/* VSLOT_* */
};

/*
 * Slots are kept in groups of VEXFS_SG_SLOTS: each group is one allocation
 * (its attributes, then its slots' int8 codes, vi->code_bytes each), so the
 * index grows by adding groups, not by copying arrays. Capacities are
 * multiples of VEXFS_SG_SLOTS (VEXFS_HNSW_MIN_CAPACITY, doubled).
 */
#define VEXFS_SG_SHIFT	8u
#define VEXFS_SG_SLOTS	(1u << VEXFS_SG_SHIFT)
#define VEXFS_SG_MASK	(VEXFS_SG_SLOTS - 1)

struct vexfs_sgroup {
	struct vexfs_slot_attr a[VEXFS_SG_SLOTS];
	u8 codes[];			/* VEXFS_SG_SLOTS * vi->code_bytes */
};

struct vexfs_vindex {
	struct super_block *sb;
	struct inode *store;		/* VEXFS_VECSTORE_INO: chunk records by slot */
	struct inode *graph_file;	/* VEXFS_GRAPH_INO: the persisted graph */
	struct inode *slotmap;		/* VEXFS_SLOTMAP_INO: slot bitmap */

	/*
	 * Readers (searches, graph persistence) share it; writers (vector
	 * set/remove, applying queued changes, swapping the graph) exclude
	 * them. Nothing allocates with reclaim into the fs while holding it.
	 */
	struct rw_semaphore lock;
	/* Serialises block writes to the store and slot-bitmap files (their size, allocation). */
	struct mutex store_mutex;

	u32 dim, metric, m, efc, caps;
	u32 capacity;			/* slots in the arrays below */
	u32 slot_hint;			/* where the next free-run search starts */
	u32 nr_live;			/* live slots (chunks) */
	u64 files;			/* files with a chunk set */
	u64 stale_files;		/* of which stale */
	/*
	 * Store-file block -> device block, for reading the vectors in place
	 * (vindex-vecs.c: no copy of them is kept); store_pblk_len entries.
	 */
	u32 *store_pblk;
	u32 store_pblk_len;
	/*
	 * The slots' attributes and int8 codes, in groups of VEXFS_SG_SLOTS
	 * (capacity / VEXFS_SG_SLOTS of them, sg[] never NULL below capacity):
	 * vexfs_slot(), vexfs_slot_code(). The codes steer kNN walks
	 * (vindex-codes.c); they are valid for live slots when codes_ready. The
	 * quantiser: sq_min/sq_scale, dim float32 bit patterns each.
	 */
	struct vexfs_sgroup **sg;
	/*
	 * After a lazy mount (vexfs_vindex_load: the superblock's summary
	 * stood for the store), groups are loaded on first use: sg[g] is
	 * NULL until then (vexfs_sg_load). sg_unloaded counts those groups;
	 * graph_unloaded the graph's nodes in them (all their live slots).
	 */
	atomic_t sg_unloaded;
	atomic_t graph_unloaded;
	/*
	 * After a lazy mount, warm_work (vexfs_warm_worker) reads the groups
	 * no search has needed yet, a few per run, from group warm_next on
	 * (the worker's own: a work item never runs twice at once).
	 */
	struct work_struct warm_work;
	u32 warm_next;
	/*
	 * Set by the worker when its pass ends (a group still unloaded then
	 * could not be read); written and read with vi->lock held for reading
	 * only, hence WRITE_ONCE/READ_ONCE.
	 */
	bool warm_done;
	u32 code_bytes;
	u32 *sq_min, *sq_scale;
	bool codes_ready;
	bool codes_failed;		/* training or encoding failed: not retried until remount */
	bool sq_loaded;			/* the quantiser came with the persisted graph */
	u32 codes_trained_at;		/* live vectors when the quantiser was trained */
	/*
	 * For files with a names block (ino -> struct vexfs_link_dirs *): the
	 * directories of their names, so a search judges them by directory
	 * verdicts it shares with every other file. Missing (not read yet, or
	 * the read failed): the file gets a verdict of its own. Changed under
	 * the lock held for writing; a slot group's loader only adds entries
	 * (vexfs_link_dirs_add). link_dirs_bytes is what the entries take.
	 */
	struct xarray link_dirs;
	atomic64_t link_dirs_bytes;
	struct xarray ino_slot;		/* ino -> its run, vexfs_run_of() */

	struct vexfs_gstore *gs;	/* the graph's words (NULL: no graph), vindex-gstore.c */
	void *gh;			/* the core's handle on gs */
	u32 graph_loaded_live;		/* live nodes in the graph's header at mount */
	bool graph_valid;		/* searches may use the graph */
	bool graph_dirty;		/* differs from the persisted copy */
	bool rebuilding;
	/*
	 * Teardown began: no work may be queued from here on (set and read
	 * under the lock; every queueing goes through vexfs_vwork_queue()).
	 */
	bool stopping;

	u32 *pq;			/* pending ring: slots, VEXFS_MAX_PENDING */
	u32 pq_head, pq_count;
	u64 pq_drops;			/* changes the full queue dropped: a rebuild started before one misses it */
	u32 *del_batch;			/* drain: the batch's graph deletes, VEXFS_MAX_PENDING */

	struct vexfs_scratch *wscratch;	/* the writer's scratch (under lock) */
	struct list_head scratch_free;
	spinlock_t scratch_lock;
	struct semaphore scratch_sem;
	u32 nr_scratch;
	atomic64_t scratch_bytes;	/* allocated scratch areas (pooled, in use, the writer's) */

	struct delayed_work sync_work;
	struct work_struct rebuild_work;
	struct work_struct persist_work;	/* vexfs_persist_worker */
	struct workqueue_struct *wq;

	u32 sync_mode, batch_size, sync_interval_ms, ef_search, auto_rebuild;
	u64 last_sync_ns;
	struct vexfs_vstats st;
};

static inline struct vexfs_vindex *VEXFS_VI(struct super_block *sb)
{
	return VEXFS_SB(sb)->vindex;
}

/*
 * Slot s's attributes (s < vi->capacity, its group loaded: vexfs_slot_get
 * loads it; vi->lock held).
 */
static inline struct vexfs_slot_attr *vexfs_slot(const struct vexfs_vindex *vi, u32 s)
{
	return &READ_ONCE(vi->sg[s >> VEXFS_SG_SHIFT])->a[s & VEXFS_SG_MASK];
}

/* Slot s's int8 code record, vi->code_bytes bytes (as vexfs_slot). */
static inline u8 *vexfs_slot_code(const struct vexfs_vindex *vi, u32 s)
{
	return READ_ONCE(vi->sg[s >> VEXFS_SG_SHIFT])->codes +
	       (size_t)(s & VEXFS_SG_MASK) * vi->code_bytes;
}

/* Slot s's group is loaded (s < vi->capacity; vi->lock held). */
static inline bool vexfs_slot_loaded(const struct vexfs_vindex *vi, u32 s)
{
	return READ_ONCE(vi->sg[s >> VEXFS_SG_SHIFT]) != NULL;
}

/*
 * Slot s (any number) is in a loaded group and holds a live chunk of file
 * key (vi->lock held): what a hit found earlier must still be.
 */
static inline bool vexfs_slot_live_for(const struct vexfs_vindex *vi, u32 s, u64 key)
{
	return s < vi->capacity && vexfs_slot_loaded(vi, s) &&
	       (vexfs_slot(vi, s)->state & VSLOT_LIVE) && vexfs_slot(vi, s)->ino == key;
}

/*
 * Where a new chunk set comes from (user memory, an xattr value, one
 * vector): read() copies chunks [first, first + n) (n at most a page's
 * worth) into ch[] and their vectors, host-order float32 bits, into
 * bits[n * dim]; it returns 0 or an errno (-EFAULT, -EINVAL).
 */
struct vexfs_chunk_src {
	u32 count;
	int (*read)(struct vexfs_chunk_src *src, u32 first, u32 n,
		    struct vexfs_ioc_chunk *ch, u32 *bits);
};
int vexfs_chunks_replace(struct inode *inode, struct vexfs_chunk_src *src);

/* Chunks per step of a copy: at most a page of vectors and a page of ranges (at least one). */
static inline u32 vexfs_chunks_per_step(u32 dim)
{
	return max_t(u32, 1, min_t(u32, PAGE_SIZE / (4 * dim),
				   PAGE_SIZE / sizeof(struct vexfs_ioc_chunk)));
}
int vexfs_chunks_get(struct inode *inode, u32 first, u32 *n, struct vexfs_ioc_chunk *ch,
		     u32 *bits, u32 *total, bool *stale, u64 *data_version);
u32 vexfs_chunk_count(struct inode *inode);

/* The directories of a hard-linked file's names (vi->link_dirs). */
struct vexfs_link_dirs {
	u32 n;
	u32 dir[];
};
struct vexfs_link_dirs *vexfs_link_dirs_read(struct super_block *sb, u32 ino, u32 blk, int *err);
void vexfs_link_dirs_set(struct vexfs_vindex *vi, u32 ino, struct vexfs_link_dirs *ld);
void vexfs_link_dirs_add(struct vexfs_vindex *vi, u32 ino, struct vexfs_link_dirs *ld);
void vexfs_link_dirs_destroy(struct vexfs_vindex *vi);

/* Marks, in slot_parent, a file judged by its names block. */
#define VEXFS_SLOT_PARENT_NAMES	U32_MAX

/* What a slot of inode's set records as its directory (slot_parent). */
static inline u32 vexfs_slot_parent_of(struct inode *inode)
{
	struct vexfs_inode_info *ii = VEXFS_I(inode);

	return READ_ONCE(ii->i_names_block) ? VEXFS_SLOT_PARENT_NAMES : READ_ONCE(ii->i_parent);
}

/* chunks.c: the ioctl bodies */
long vexfs_ioc_set_chunks(struct file *file, void __user *uarg);
long vexfs_ioc_get_chunks(struct file *file, void __user *uarg);

/*
 * A search's verdicts on directories (vindex-scope.c): may the caller reach
 * files in it by path, and is it inside the search's scope. Filled outside
 * vi->lock (it reads inodes); read under it by the search filter, which
 * notes the directories it found no verdict for (misses) so the search can
 * resolve them unlocked and run again. Owned by one search (no locking).
 */
#define VEXFS_DIRV_REACH	0x1	/* search (x) permission on it and every ancestor */
#define VEXFS_DIRV_SCOPE	0x2	/* it is the scope or lies below it */
#define VEXFS_DIRV_KNOWN	0x4	/* cache entry present */
#define VEXFS_DIRV_MISSES	128u	/* misses noted per pass */
#define VEXFS_DIRV_DEPTH	1024u	/* deeper directories: treated as unreachable */

struct vexfs_dirv {
	struct super_block *sb;
	struct user_namespace *mnt_userns;
	u32 scope_ino;			/* VEXFS_ROOT_INO: the whole volume */
	bool check_perm;		/* false: caller has CAP_DAC_READ_SEARCH */
	/*
	 * Directory ino -> xa_mk_value(VEXFS_DIRV_*), and for a file with a
	 * names block, its ino -> the verdict of its best name (files and
	 * directories never share an inode number).
	 */
	struct xarray cache;
	u32 nr_miss;
	u32 miss[VEXFS_DIRV_MISSES];	/* inode numbers without a verdict */
	DECLARE_BITMAP(miss_file, VEXFS_DIRV_MISSES);	/* that miss is a file with a names block */
	u32 *names;			/* VEXFS_NAMES_MAX directories of one file */
	u32 *chain_ino;			/* walk-up stack, VEXFS_DIRV_DEPTH entries */
	u8 *chain_own;
	/*
	 * Small scopes: the regular files found by walking the scope's tree
	 * (vexfs_dirv_members), scanned exactly instead of walking the graph.
	 */
	u32 *members;
	u32 nr_members;
};
void vexfs_dirv_init(struct vexfs_dirv *dv, struct super_block *sb,
		     struct user_namespace *mnt_userns, u32 scope_ino, bool check_perm);
void vexfs_dirv_destroy(struct vexfs_dirv *dv);
void vexfs_dirv_reset(struct vexfs_dirv *dv);
bool vexfs_dirv_slot_ok(struct vexfs_dirv *dv, u32 dir_ino, u32 ino);
int vexfs_dirv_resolve_misses(struct vexfs_dirv *dv);
int vexfs_dirv_file_ok(struct vexfs_dirv *dv, struct inode *inode, bool *ok);
int vexfs_dirv_members(struct vexfs_dirv *dv, u32 cap);
int vexfs_dirv_pick_name(struct vexfs_dirv *dv, struct inode *inode, u32 *dir);

/* The chunk a search hit names, read under the index lock after the search. */
struct vexfs_hit_chunk {
	u64 offset, length;		/* the chunk's byte range (length 0: the whole file) */
	u32 chunk;			/* index in the owner's set */
	u32 generation;			/* the owner's, as its record says */
	bool live;			/* the slot still held a live chunk of the hit's file */
	bool stale;			/* VSLOT_STALE */
};

/* Search entry point for ioctl.c; hits sorted nearest first. */
struct vexfs_search_req {
	u32 kind;			/* VEXFS_SEARCH_* */
	u32 k;				/* results wanted / capacity */
	u32 ef;
	u32 flags;			/* VEXFS_SEARCH_F_*: FRESH and PER_FILE act here */
	u32 max_key;			/* range/similar: largest distance key */
	const u32 *query;		/* dim float32 bits, kernel memory */
	struct vexfs_dirv *dirv;	/* directory filter; NULL: none needed */
	struct vexfs_hit_chunk *chunks;	/* out, k entries: the chunk of each hit; NULL: not wanted */
};
int vexfs_vindex_search(struct vexfs_vindex *vi, const struct vexfs_search_req *req,
			struct vexfs_hnsw_hit *hits, u32 *count, bool *truncated);
int vexfs_vindex_force_sync(struct vexfs_vindex *vi);
int vexfs_vindex_rebuild(struct vexfs_vindex *vi);
u32 vexfs_dist_key_for_threshold(struct vexfs_vindex *vi, u32 kind, u32 t_bits, int *err);
u32 vexfs_dist_bits(u32 key);
u64 vexfs_vindex_memory_bytes(struct vexfs_vindex *vi);

/* ioctl.c: copy a size-prefixed argument struct (any size from ver0 up). */
int vexfs_copy_arg_ver(void *dst, size_t ksize, const void __user *src, u32 ver0, u32 *usize);

#endif /* _VEXFS_VECTOR_H */
