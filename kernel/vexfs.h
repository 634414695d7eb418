/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vexfs.h - in-memory state of a mounted VexFS and the module's internal
 * interfaces. On-disk structures live in shim/vexfs_format.h; the format
 * logic (validation, encoding, directory records) is the Rust core's, called
 * through shim/vexfs_core.h.
 */
#ifndef _VEXFS_H
#define _VEXFS_H

#include <linux/fs.h>
#include <linux/buffer_head.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>
#include <linux/workqueue.h>
#include <linux/atomic.h>
#include <linux/jbd2.h>

#include "../shim/vexfs_format.h"
#include "../shim/vexfs_core.h"

#define VEXFS_MSG_LEN 160

struct vexfs_vindex;

/*
 * The vector store's counts as the superblock records them (s_index_*,
 * VEXFS_FEATURE_COMPAT_INDEX_SUMMARY): generation is the vector generation
 * the three counts describe, 0 for none. The vector index keeps it current
 * under its own lock; every superblock write copies it (vexfs_commit_super).
 * What was read at mount is in sbi->geom.index_*.
 */
struct vexfs_index_summary {
	u64 generation;			/* s_vector_generation the counts describe; 0: none */
	u64 live;			/* live slots (chunks) */
	u64 files;			/* files with a chunk set */
	u64 stale;			/* of those, stale */
};

/* Per-mount state; never written to disk as such. */
struct vexfs_sb_info {
	struct vexfs_sb_geom geom;	/* validated superblock, host order */
	/*
	 * Written to disk at every superblock write. Zero (none) from
	 * fill_super until the vector index fills it. Read by
	 * vexfs_commit_super without the index lock, field by field: a write
	 * racing an update may record fields of two updates, which nothing
	 * trusts (the volume is marked unclean while mounted); the writes that
	 * mark it clean (unmount after vexfs_vindex_unload, remount read-only
	 * after sync_filesystem) see no updater.
	 */
	struct vexfs_index_summary index_summary;
	struct buffer_head *sbh;	/* block 0, kept for superblock updates */
	/*
	 * Serialises bitmap find-then-set and the free counters, so no block
	 * or inode is ever handed out twice.
	 */
	struct mutex alloc_lock;
	u64 free_blocks;
	u32 free_inodes;
	u32 block_goal;			/* where the next block search starts */
	u32 inode_goal;			/* where the next inode search starts */
	bool was_clean;			/* the volume was cleanly unmounted before this mount */
	/*
	 * The journal had been aborted (an I/O error) before this mount:
	 * whatever was counted in memory then may never have reached the
	 * disk, so the index summary is not trusted (vexfs_vindex_load).
	 */
	bool journal_was_aborted;
	/*
	 * A truncate failed part-way (its inode keeps VEXFS_INODE_FL_TRUNCATING):
	 * unmount leaves the volume marked unclean, so the next mount's scan
	 * finishes it. Set once, read at unmount (READ_ONCE/WRITE_ONCE).
	 */
	bool truncate_left;
	journal_t *journal;		/* jbd2 journal, NULL on a journal-less volume */
	/*
	 * Blocks freed by transactions that have not committed yet: reusing
	 * one before its free commits could, after a crash, hand the new
	 * owner's data to the old owner. Block -> freeing tid (xa_mk_value).
	 */
	struct xarray freed_blocks;
	struct vexfs_vindex *vindex;	/* vector store + HNSW graph (vector.c, vindex-*.c) */
};

/* Per-inode state, embedding the VFS inode. */
struct vexfs_inode_info {
	__u32 i_data[VEXFS_N_BLOCKS];	/* block map (or inline symlink bytes) */
	__u32 i_flags;			/* VEXFS_INODE_FL_* (written under the inode lock) */
	__u32 i_dir_depth;
	__u32 i_vector_dim;
	/*
	 * The directory of a name (exact for a non-directory with one link on
	 * RO_COMPAT_LINK_DIRS volumes; a hint otherwise). Written under the
	 * inode's i_rwsem, read by searches with READ_ONCE.
	 */
	__u32 i_parent;
	__u32 i_names_block;		/* names block (links.c), 0 = none; as i_parent */
	/*
	 * Chunk set (regular files): slots [i_chunk_first, +i_chunk_count) of
	 * the vector store. Changed, with i_chunk_version, only under the
	 * inode lock and the vector index lock held for writing (vector.c);
	 * i_data_version only under the index lock (vexfs_data_changed), so
	 * searches holding it for reading see a consistent set and staleness.
	 */
	__u32 i_chunk_first;
	__u32 i_chunk_count;
	__u64 i_data_version;
	__u64 i_chunk_version;
	struct timespec64 i_crtime;
	/* Protects i_data and the indirect blocks against concurrent map/truncate. */
	struct mutex i_map_lock;
	struct jbd2_inode i_jinode;	/* ordered-data tracking for jbd2 */
	struct inode vfs_inode;
};

static inline struct vexfs_sb_info *VEXFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline struct vexfs_inode_info *VEXFS_I(struct inode *inode)
{
	return container_of(inode, struct vexfs_inode_info, vfs_inode);
}

/*
 * Buffer state bits: set once a metadata block read from disk passed the
 * core's check, so it is checked once, not on every use. The bits from
 * BH_PrivateStart on belong to jbd2; filesystems start at BH_JBDPrivateStart
 * (as ext4 does). Separate bits per kind: a freed directory block reused as
 * an indirect block must not pass as checked.
 */
enum {
	BH_VexfsChecked = BH_JBDPrivateStart,	/* directory block (dir.c) */
	BH_VexfsIndChecked,			/* indirect block (inode.c) */
	BH_VexfsGraphChecked,			/* graph-file block (vindex-gstore.c) */
};
BUFFER_FNS(VexfsChecked, vexfs_checked)
BUFFER_FNS(VexfsIndChecked, vexfs_ind_checked)
BUFFER_FNS(VexfsGraphChecked, vexfs_graph_checked)

/*
 * A metadata buffer whose write to disk failed still holds the newest
 * contents (the block on disk is older; jbd2 aborts the journal for it, and
 * recovery at the next mount rewrites the block from the log). The failed
 * write cleared its uptodate bit: a read would replace the contents with
 * the stale disk copy, and the filesystem would go on from there (a block
 * bitmap from before an allocation hands the block out twice). Keep it
 * uptodate instead, as ext4_buffer_uptodate() does.
 */
static inline void vexfs_keep_failed_write(struct buffer_head *bh)
{
	if (buffer_write_io_error(bh))
		set_buffer_uptodate(bh);
}

/*
 * Before reading a metadata buffer: keep one whose write failed, and if the
 * contents will come from disk (again), forget what was checked of the old
 * ones.
 */
static inline void vexfs_bh_before_read(struct buffer_head *bh)
{
	vexfs_keep_failed_write(bh);
	if (!buffer_uptodate(bh)) {
		clear_buffer_vexfs_checked(bh);
		clear_buffer_vexfs_ind_checked(bh);
	}
}

/*
 * sb_bread() for metadata: a buffer whose write failed is not re-read, and
 * one that is read from disk is checked again by its user.
 */
static inline struct buffer_head *vexfs_bread(struct super_block *sb, sector_t block)
{
	struct buffer_head *bh = sb_getblk(sb, block);

	if (!bh)
		return NULL;
	vexfs_bh_before_read(bh);
	if (bh_read(bh, 0) < 0) {
		brelse(bh);
		return NULL;
	}
	return bh;
}

/* sb_breadahead() for metadata, with the same rule. */
static inline void vexfs_breadahead(struct super_block *sb, sector_t block)
{
	struct buffer_head *bh = sb_getblk(sb, block);

	if (!bh)
		return;
	vexfs_bh_before_read(bh);
	bh_readahead(bh, REQ_RAHEAD);
	brelse(bh);
}

/* Print a corruption message naming the volume, and return -EUCLEAN. */
#define vexfs_corrupt(sb, fmt, ...)					\
	({								\
		pr_err_ratelimited("vexfs (%s): corruption: " fmt "\n",	\
				   (sb)->s_id, ##__VA_ARGS__);		\
		-EUCLEAN;						\
	})

/* super.c */
int vexfs_write_super(struct super_block *sb, int wait);

/* journal.c - jbd2 metadata journaling (handles found via journal_current_handle()) */
int vexfs_journal_load(struct super_block *sb);
void vexfs_journal_unload(struct super_block *sb);
handle_t *vexfs_journal_begin(struct super_block *sb, int credits);
int vexfs_journal_end(handle_t *handle);
int vexfs_journal_write_access(struct super_block *sb, struct buffer_head *bh);
int vexfs_journal_create_access(struct super_block *sb, struct buffer_head *bh);
int vexfs_journal_dirty(struct super_block *sb, struct inode *owner, struct buffer_head *bh);
void vexfs_journal_forget_meta(struct super_block *sb, u32 block_nr);
int vexfs_journal_ensure(struct super_block *sb, int credits);
int vexfs_journal_ensure_restart(struct super_block *sb, int credits);
int vexfs_journal_ensure_reserved(struct super_block *sb, int credits, const char *what);
int vexfs_journal_commit(struct super_block *sb, bool wait);
int vexfs_journal_order_data(struct inode *inode, loff_t start, loff_t len);
void vexfs_journal_inode_init(struct inode *inode);
void vexfs_journal_inode_release(struct inode *inode);

/*
 * Journal credits (buffers one operation may log). A block allocation
 * touches a bitmap block, up to three indirect blocks and the inode.
 */
#define VEXFS_CREDITS_ALLOC	6
#define VEXFS_CREDITS_INODE	2	/* inode table block + inode bitmap */
/* Removing or rewriting a name in place: dir block, dir inode, and margin. */
#define VEXFS_CREDITS_DIRENT_DEL (2 + VEXFS_CREDITS_ALLOC)
/*
 * Adding a name, reserved whole when the handle starts: a hash-indexed
 * directory's worst insertion splits a leaf and every index level above it
 * (leaf, dir inode, the index path, and per level a fresh block with its
 * allocation). It cannot rely on extending the handle: jbd2 refuses an
 * extension while the running transaction is full or committing, and the
 * caller would see -ENOSPC on a volume with free space. This bound also
 * covers a linear directory's growth and its conversion to an index.
 */
#define VEXFS_CREDITS_DIRENT	(2 + VEXFS_DX_MAX_LEVELS + VEXFS_DX_MAX_LEVELS * (1 + VEXFS_CREDITS_ALLOC))
#define VEXFS_CREDITS_CREATE	(VEXFS_CREDITS_INODE + VEXFS_CREDITS_DIRENT + VEXFS_CREDITS_ALLOC + 2)
/* A names block (links.c) created, changed or freed: block, bitmap, revoke. */
#define VEXFS_CREDITS_NAMES	(VEXFS_CREDITS_ALLOC + 2)
#define VEXFS_CREDITS_LINK	(VEXFS_CREDITS_DIRENT + VEXFS_CREDITS_INODE + VEXFS_CREDITS_NAMES)
#define VEXFS_CREDITS_UNLINK	(VEXFS_CREDITS_DIRENT_DEL + VEXFS_CREDITS_INODE + 6 + VEXFS_CREDITS_NAMES)
/* The new name, the old name's removal, and the moved directory's "..". */
#define VEXFS_CREDITS_RENAME	(VEXFS_CREDITS_DIRENT + 2 * VEXFS_CREDITS_DIRENT_DEL + \
				 4 * VEXFS_CREDITS_INODE + 6 + \
				 2 * VEXFS_CREDITS_NAMES)
#define VEXFS_CREDITS_WRITE	(VEXFS_CREDITS_ALLOC + 4)
#define VEXFS_CREDITS_VECTOR	(5 * VEXFS_CREDITS_ALLOC + 4)	/* record up to 5 blocks */
/*
 * Switching a file's chunk set: up to 4 slot-bitmap blocks (a run of at
 * most VEXFS_MAX_CHUNKS bits spans 2; old and new run), each possibly
 * allocated, the file's inode and the bitmap file's inode.
 */
#define VEXFS_CREDITS_CHUNK_SWITCH (4 * (VEXFS_CREDITS_ALLOC + 1) + 2 * VEXFS_CREDITS_INODE + 2)
#define VEXFS_TRUNCATE_STEP	64	/* blocks freed per truncate step */
#define VEXFS_CREDITS_TRUNCATE	(VEXFS_TRUNCATE_STEP + 8)	/* per step; restarts between */

/* balloc.c - block and inode bitmaps */
int vexfs_new_block(struct inode *inode, u32 goal, u32 *out);
int vexfs_free_block(struct super_block *sb, u32 block_nr, bool metadata);
int vexfs_new_ino(struct super_block *sb, u32 *out);
void vexfs_free_ino(struct super_block *sb, u32 ino);
int vexfs_count_free(struct super_block *sb);
int vexfs_reclaim_orphans(struct super_block *sb);

/* inode.c */
extern const struct address_space_operations vexfs_aops;
struct inode *vexfs_iget(struct super_block *sb, unsigned long ino);
#define VEXFS_IGET_ORPHAN	0x1	/* orphan recovery: expect no links */
#define VEXFS_IGET_USER		0x2	/* number from user space: absent, not corrupt */
struct inode *__vexfs_iget(struct super_block *sb, unsigned long ino, unsigned int flags);
int vexfs_write_inode(struct inode *inode, struct writeback_control *wbc);
void vexfs_dirty_inode(struct inode *inode, int flags);
void vexfs_evict_inode(struct inode *inode);
/* Where a file block is on disk (vexfs_map_blocks). */
struct vexfs_map {
	u32 block_nr;	/* 0: a hole (lookups only) */
	u32 len;	/* blocks mapped from block_nr on */
	bool fresh;	/* allocated by this call */
};
int vexfs_map_blocks(struct inode *inode, u64 iblock, u32 want, bool create,
		     struct vexfs_map *map);
bool vexfs_data_block_ok(struct super_block *sb, u32 b);
struct buffer_head *vexfs_bread_indirect(struct inode *inode, u32 blk, int level, int *err);
int vexfs_get_block(struct inode *inode, sector_t iblock,
		    struct buffer_head *bh_result, int create);
struct buffer_head *vexfs_meta_bread(struct inode *inode, u64 iblock, bool create,
				     bool *fresh, int *err);
int vexfs_truncate_blocks(struct inode *inode, u64 keep, bool may_restart);
int vexfs_finish_truncate(struct inode *inode);
int vexfs_free_range(struct inode *inode, u64 start, u64 end, bool may_restart);
void vexfs_set_inode_ops(struct inode *inode);
int vexfs_setattr(struct user_namespace *mnt_userns, struct dentry *dentry,
		  struct iattr *attr);
int vexfs_getattr(struct user_namespace *mnt_userns, const struct path *path,
		  struct kstat *stat, u32 request_mask, unsigned int query_flags);
struct inode *vexfs_new_inode(struct inode *dir, umode_t mode);

/* dir.c */
extern const struct file_operations vexfs_dir_operations;
int vexfs_find_entry(struct inode *dir, const struct qstr *name,
		     struct buffer_head **bhp, struct vexfs_dirent_view *view);
int vexfs_add_link(struct inode *dir, const struct qstr *name, struct inode *inode);
int vexfs_delete_entry(struct inode *dir, struct buffer_head *bh,
		       const struct vexfs_dirent_view *view);
int vexfs_set_link(struct inode *dir, struct buffer_head *bh,
		   const struct vexfs_dirent_view *view, struct inode *inode);
int vexfs_make_empty(struct inode *inode, struct inode *parent);
int vexfs_empty_dir(struct inode *inode);
struct buffer_head *vexfs_dir_bread(struct inode *dir, u32 index, int *err);

/* vector.c - the vector store and its HNSW index */
int vexfs_vindex_load(struct super_block *sb);
void vexfs_vindex_unload(struct super_block *sb);
int vexfs_vindex_inode_read(struct inode *inode);
int vexfs_vindex_sync(struct super_block *sb, bool wait);
int vexfs_vector_set(struct inode *inode, const u32 *bits, u32 dim);
int vexfs_vector_get(struct inode *inode, u32 *bits, u32 dim);
int vexfs_vector_remove(struct inode *inode);
void vexfs_data_changed(struct inode *inode);
void vexfs_vector_attr_changed(struct inode *inode);
void vexfs_vector_parent_changed(struct inode *inode);
u32 vexfs_vindex_dim(struct super_block *sb);

/* ioctl.c */
long vexfs_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* xattr.c */
extern const struct xattr_handler *vexfs_xattr_handlers[];
ssize_t vexfs_listxattr(struct dentry *dentry, char *buf, size_t size);

/* links.c - names blocks of hard-linked files */
bool vexfs_names_enabled(struct super_block *sb);
int vexfs_names_link(struct inode *inode, struct inode *dir);
int vexfs_names_unlink(struct inode *inode, struct inode *dir);
int vexfs_names_move(struct inode *inode, struct inode *old_dir, struct inode *new_dir);
void vexfs_names_evict(struct inode *inode);
int vexfs_names_dirs(struct inode *inode, u32 *dirs, u32 max);
int vexfs_names_read_dirs(struct super_block *sb, u32 ino, u32 blk, u32 *dirs, u32 max);

/* namei.c */
extern const struct inode_operations vexfs_dir_inode_operations;
u32 vexfs_cached_parent_ino(struct inode *inode, struct dentry *skip);
extern const struct inode_operations vexfs_symlink_inode_operations;
extern const struct inode_operations vexfs_fast_symlink_inode_operations;
extern const struct inode_operations vexfs_special_inode_operations;

/* file.c */
int vexfs_fsync(struct file *file, loff_t start, loff_t end, int datasync);
extern const struct file_operations vexfs_file_operations;
extern const struct inode_operations vexfs_file_inode_operations;

/* seek.c - SEEK_DATA / SEEK_HOLE over the block map */
int vexfs_map_next(struct inode *inode, u64 from, u64 end, bool want_data, u64 *found);
loff_t vexfs_file_llseek(struct file *file, loff_t offset, int whence);

/* fallocate.c */
#define VEXFS_FALLOC_STEP	32	/* file blocks mapped per journal handle */
#define VEXFS_CREDITS_FALLOC	(2 * VEXFS_CREDITS_ALLOC + 8)	/* per step; extended as needed */
long vexfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len);

#endif /* _VEXFS_H */
