// SPDX-License-Identifier: GPL-2.0
/*
 * inode.c - reading and writing inodes (decoded and validated by the Rust
 * core), the block map (vexfs_map_blocks, behind the page cache and every
 * metadata file), truncate (crash-safe through VEXFS_INODE_FL_TRUNCATING),
 * and evict (where an unlinked inode's blocks are finally freed).
 * i_map_lock guards i_data and the indirect blocks; i_flags is changed under
 * the inode lock.
 */
#include "vexfs.h"

#include <linux/moduleparam.h>
#include <linux/mpage.h>
#include <linux/sched/signal.h>
#include <linux/writeback.h>
#include <linux/slab.h>
#include <linux/random.h>
#include <linux/pagemap.h>
#include <linux/uio.h>

#define ADDR_PER_BLOCK VEXFS_ADDR_PER_BLOCK

bool vexfs_data_block_ok(struct super_block *sb, u32 b)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	return b >= sbi->geom.data_start && b < sbi->geom.blocks_count;
}

void vexfs_set_inode_ops(struct inode *inode)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);

	if (S_ISREG(inode->i_mode)) {
		inode->i_op = &vexfs_file_inode_operations;
		inode->i_fop = &vexfs_file_operations;
		inode->i_mapping->a_ops = &vexfs_aops;
	} else if (S_ISDIR(inode->i_mode)) {
		inode->i_op = &vexfs_dir_inode_operations;
		inode->i_fop = &vexfs_dir_operations;
		inode->i_mapping->a_ops = &vexfs_aops;
	} else if (S_ISLNK(inode->i_mode)) {
		if (vi->i_flags & VEXFS_INODE_FL_INLINE_SYMLINK) {
			/* i_data holds the target; it is NUL-terminated (len < 60). */
			inode->i_link = (char *)vi->i_data;
			inode->i_op = &vexfs_fast_symlink_inode_operations;
		} else {
			inode->i_op = &vexfs_symlink_inode_operations;
			inode_nohighmem(inode);
			inode->i_mapping->a_ops = &vexfs_aops;
		}
	} else {
		inode->i_op = &vexfs_special_inode_operations;
	}
}

/*
 * Read inode ino. VEXFS_IGET_ORPHAN: the caller (orphan recovery) expects an
 * inode with no links; anywhere else an inode without links that is reached
 * is corruption. VEXFS_IGET_USER: the number came from user space (not from
 * a directory entry), so a free or unlinked inode is simply absent (-ENOENT),
 * not corruption.
 */
struct inode *__vexfs_iget(struct super_block *sb, unsigned long ino, unsigned int flags)
{
	bool orphan = flags & VEXFS_IGET_ORPHAN;
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	struct vexfs_inode_mem im;
	struct vexfs_inode_info *vi;
	struct buffer_head *bh;
	struct inode *inode;
	char msg[VEXFS_MSG_LEN];
	u32 block_nr, offset;
	int err;

	if (ino > U32_MAX)
		return ERR_PTR(-EINVAL);
	inode = iget_locked(sb, ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW))
		return inode;

	err = vexfs_inode_locate(&sbi->geom, ino, &block_nr, &offset);
	if (err)
		goto bad;
	bh = vexfs_bread(sb, block_nr);
	if (!bh) {
		pr_err_ratelimited("vexfs (%s): cannot read inode table block %u\n", sb->s_id, block_nr);
		err = -EIO;
		goto bad;
	}
	err = vexfs_inode_decode(&sbi->geom, (const u8 *)bh->b_data + offset,
				 VEXFS_INODE_SIZE, ino, &im, msg, sizeof(msg));
	brelse(bh);
	if (err == -ENOENT && (ino == VEXFS_VECSTORE_INO || ino == VEXFS_GRAPH_INO ||
				 ino == VEXFS_SLOTMAP_INO)) {
		/*
		 * The hidden vector-store and graph files start out free (all
		 * zero, reserved in the bitmap): they come to life empty here
		 * and reach the disk with their first block.
		 */
		memset(&im, 0, sizeof(im));
		im.mode = S_IFREG | 0600;
		im.links_count = 1;
		err = 0;
	}
	if ((flags & VEXFS_IGET_USER) && (err == -ENOENT || (!err && !im.links_count))) {
		err = -ENOENT;
		goto bad;
	}
	if (err == -ENOENT) {
		/* A directory entry pointing at a free inode. */
		err = vexfs_corrupt(sb, "inode %lu is referenced but free", ino);
		goto bad;
	}
	if (err) {
		if (err == -EUCLEAN)
			vexfs_corrupt(sb, "%s", msg);
		goto bad;
	}
	if ((im.links_count == 0) != orphan && ino != VEXFS_ROOT_INO) {
		if (orphan) {
			err = -ESTALE;	/* not an orphan (any more) */
			goto bad;
		}
		/* Reached through a name but unlinked: only an orphan may be. */
		err = vexfs_corrupt(sb, "inode %lu has no links but is referenced", ino);
		goto bad;
	}
	if (im.xattr_block || im.orphan_next) {
		/* Reserved (no feature uses them): writing the inode back would drop them. */
		err = vexfs_corrupt(sb, "inode %lu: reserved field %s is %u, expected 0", ino,
				    im.xattr_block ? "i_xattr_block" : "i_orphan_next",
				    im.xattr_block ? im.xattr_block : im.orphan_next);
		goto bad;
	}
	if (im.names_block && !vexfs_names_enabled(sb)) {
		/* Without the feature nothing keeps the list: refuse rather than trust it. */
		err = vexfs_corrupt(sb, "inode %lu: names block %u on a volume without names blocks",
				    ino, im.names_block);
		goto bad;
	}
	if (S_ISDIR(im.mode) && im.links_count == 1) {
		/* A live directory has its name and "." (rmdir takes both at once). */
		err = vexfs_corrupt(sb, "directory %lu has 1 link, at least 2 expected", ino);
		goto bad;
	}

	vi = VEXFS_I(inode);
	inode->i_mode = im.mode;
	i_uid_write(inode, im.uid);
	i_gid_write(inode, im.gid);
	set_nlink(inode, im.links_count);
	inode->i_size = im.size;
	inode->i_blocks = im.blocks;
	inode->i_atime.tv_sec = im.atime;
	inode->i_atime.tv_nsec = im.atime_nsec;
	inode->i_mtime.tv_sec = im.mtime;
	inode->i_mtime.tv_nsec = im.mtime_nsec;
	inode->i_ctime.tv_sec = im.ctime;
	inode->i_ctime.tv_nsec = im.ctime_nsec;
	inode->i_generation = im.generation;
	vi->i_crtime.tv_sec = im.crtime;
	vi->i_crtime.tv_nsec = im.crtime_nsec;
	memcpy(vi->i_data, im.block, sizeof(vi->i_data));
	vi->i_flags = im.flags;
	vi->i_dir_depth = im.dir_depth;
	vi->i_vector_dim = im.vector_dim;
	vi->i_parent = im.parent;
	vi->i_names_block = im.names_block;
	vi->i_chunk_first = im.chunk_first;
	vi->i_chunk_count = im.chunk_count;
	vi->i_data_version = im.data_version;
	vi->i_chunk_version = im.chunk_version;
	if (vi->i_flags & VEXFS_INODE_FL_INLINE_SYMLINK)
		((char *)vi->i_data)[inode->i_size] = '\0';	/* size < 60, checked by the core */

	if (S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode) ||
	    S_ISFIFO(inode->i_mode) || S_ISSOCK(inode->i_mode))
		init_special_inode(inode, inode->i_mode, new_decode_dev(im.rdev));
	vexfs_set_inode_ops(inode);
	/* Its slots are now loaded from memory only (vector.h: vexfs_vindex_inode_read). */
	err = vexfs_vindex_inode_read(inode);
	if (err)
		goto bad;
	unlock_new_inode(inode);
	return inode;

bad:
	iget_failed(inode);
	return ERR_PTR(err);
}

struct inode *vexfs_iget(struct super_block *sb, unsigned long ino)
{
	return __vexfs_iget(sb, ino, 0);
}

static void vexfs_fill_inode_mem(struct inode *inode, struct vexfs_inode_mem *im)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);

	memset(im, 0, sizeof(*im));
	im->mode = inode->i_mode;
	im->links_count = inode->i_nlink;
	im->uid = i_uid_read(inode);
	im->gid = i_gid_read(inode);
	im->flags = vi->i_flags;
	im->generation = inode->i_generation;
	im->size = inode->i_size;
	im->blocks = inode->i_blocks;
	im->atime = inode->i_atime.tv_sec;
	im->atime_nsec = inode->i_atime.tv_nsec;
	im->mtime = inode->i_mtime.tv_sec;
	im->mtime_nsec = inode->i_mtime.tv_nsec;
	im->ctime = inode->i_ctime.tv_sec;
	im->ctime_nsec = inode->i_ctime.tv_nsec;
	im->crtime = vi->i_crtime.tv_sec;
	im->crtime_nsec = vi->i_crtime.tv_nsec;
	if (S_ISCHR(inode->i_mode) || S_ISBLK(inode->i_mode))
		im->rdev = new_encode_dev(inode->i_rdev);
	im->dir_depth = vi->i_dir_depth;	/* xattr_block, orphan_next: reserved, zero */
	im->vector_dim = vi->i_vector_dim;
	im->parent = vi->i_parent;
	im->names_block = vi->i_names_block;
	im->chunk_first = vi->i_chunk_first;
	im->chunk_count = vi->i_chunk_count;
	im->data_version = vi->i_data_version;
	im->chunk_version = vi->i_chunk_version;
	memcpy(im->block, vi->i_data, sizeof(im->block));
}

/*
 * Copy the in-memory inode into its inode table block (journaled), or zero
 * it (erase: the inode is being freed). Without a journal, wait writes the
 * block synchronously.
 */
static int vexfs_update_inode(struct inode *inode, bool wait, bool erase)
{
	struct super_block *sb = inode->i_sb;
	struct vexfs_inode_mem im;
	struct buffer_head *bh;
	u32 block_nr, offset;
	int err;

	err = vexfs_inode_locate(&VEXFS_SB(sb)->geom, inode->i_ino, &block_nr, &offset);
	if (err)
		return err;
	if (!erase) {
		mutex_lock(&VEXFS_I(inode)->i_map_lock);
		vexfs_fill_inode_mem(inode, &im);
		mutex_unlock(&VEXFS_I(inode)->i_map_lock);
	}
	bh = vexfs_bread(sb, block_nr);
	if (!bh) {
		pr_err_ratelimited("vexfs (%s): cannot read inode table block %u\n", sb->s_id, block_nr);
		return -EIO;
	}
	err = vexfs_journal_write_access(sb, bh);
	if (err)
		goto out;
	lock_buffer(bh);
	if (erase)	/* a free inode is all zero on disk */
		memset(bh->b_data + offset, 0, VEXFS_INODE_SIZE);
	else
		err = vexfs_inode_encode(&im, inode->i_ino, (u8 *)bh->b_data + offset,
					 VEXFS_INODE_SIZE);
	unlock_buffer(bh);
	if (err) {
		pr_err_ratelimited("vexfs (%s): cannot encode inode %lu: %d\n",
				   sb->s_id, inode->i_ino, err);
		goto out;
	}
	err = vexfs_journal_dirty(sb, NULL, bh);
	if (!err && wait && !VEXFS_SB(sb)->journal) {
		sync_dirty_buffer(bh);
		if (buffer_write_io_error(bh))
			err = -EIO;
	}
out:
	brelse(bh);
	return err;
}

/*
 * The VFS marked the inode dirty: with a journal, log it now (as ext4
 * does), so write_inode only has to wait for a commit.
 */
void vexfs_dirty_inode(struct inode *inode, int flags)
{
	struct super_block *sb = inode->i_sb;
	handle_t *handle;

	if (!VEXFS_SB(sb)->journal || !(flags & I_DIRTY_INODE) || sb_rdonly(sb))
		return;
	handle = vexfs_journal_begin(sb, VEXFS_CREDITS_INODE);
	if (IS_ERR(handle)) {
		pr_warn_ratelimited("vexfs (%s): cannot log inode %lu: %ld\n",
				    sb->s_id, inode->i_ino, PTR_ERR(handle));
		return;
	}
	vexfs_update_inode(inode, false, false);
	vexfs_journal_end(handle);
}

int vexfs_write_inode(struct inode *inode, struct writeback_control *wbc)
{
	if (!VEXFS_SB(inode->i_sb)->journal)
		return vexfs_update_inode(inode, wbc->sync_mode == WB_SYNC_ALL, false);
	/* Already logged by dirty_inode; sync(2) commits in sync_fs. */
	if (wbc->sync_mode != WB_SYNC_ALL || wbc->for_sync)
		return 0;
	return vexfs_journal_commit(inode->i_sb, true);
}

/*
 * Indirect block blk of inode at level (1-3), or NULL with *err set. Checked
 * (magic, owner, level, checksum: core/src/format/bmap.rs) once per read
 * from disk, before any block number in it is used to read, write or free a
 * block: a damaged pointer, or a pointer to another file's block, is
 * EUCLEAN here. Not inlined: the message buffer stays off the stack of
 * vexfs_trim_tree()'s recursion.
 */
noinline struct buffer_head *vexfs_bread_indirect(struct inode *inode, u32 blk, int level,
						  int *err)
{
	struct super_block *sb = inode->i_sb;
	struct buffer_head *bh;
	char msg[VEXFS_MSG_LEN];
	int e;

	if (!vexfs_data_block_ok(sb, blk)) {
		*err = vexfs_corrupt(sb, "inode %lu: block pointer %u outside the data area",
				     inode->i_ino, blk);
		return NULL;
	}
	/* Read from disk (again), the block is checked again. */
	bh = vexfs_bread(sb, blk);
	if (!bh) {
		*err = -EIO;
		return NULL;
	}
	if (buffer_vexfs_ind_checked(bh))
		return bh;
	lock_buffer(bh);
	e = vexfs_ind_check((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino, level,
			    msg, sizeof(msg));
	if (!e)
		set_buffer_vexfs_ind_checked(bh);
	unlock_buffer(bh);
	if (e) {
		brelse(bh);
		*err = e == -EUCLEAN ? vexfs_corrupt(sb, "inode %lu: block %u: %s",
						     inode->i_ino, blk, msg) : e;
		return NULL;
	}
	return bh;
}

/* Read entry idx of indirect block blk (at level), validating what it points at. */
static int vexfs_read_indirect(struct inode *inode, u32 blk, int level, u32 idx,
			       struct buffer_head **bhp, u32 *val)
{
	struct super_block *sb = inode->i_sb;
	struct buffer_head *bh;
	int err;
	u32 v;

	bh = vexfs_bread_indirect(inode, blk, level, &err);
	if (!bh)
		return err;
	v = le32_to_cpu(((__le32 *)bh->b_data)[idx]);
	if (v && !vexfs_data_block_ok(sb, v)) {
		brelse(bh);
		return vexfs_corrupt(sb, "inode %lu: indirect block %u entry %u points at %u",
				     inode->i_ino, blk, idx, v);
	}
	*bhp = bh;
	*val = v;
	return 0;
}

/*
 * The buffer of a block just allocated for metadata: locked (jbd2 wants new
 * blocks locked for create access), taken for create access and zeroed, so
 * nothing of the block's previous life shows. The caller fills it, sets it
 * uptodate, unlocks and logs it. NULL with *err on failure.
 */
static struct buffer_head *vexfs_getblk_new(struct super_block *sb, u32 block_nr, int *err)
{
	struct buffer_head *bh = sb_getblk(sb, block_nr);

	if (!bh) {
		*err = -ENOMEM;
		return NULL;
	}
	lock_buffer(bh);
	*err = vexfs_journal_create_access(sb, bh);
	if (*err) {
		unlock_buffer(bh);
		brelse(bh);
		return NULL;
	}
	memset(bh->b_data, 0, VEXFS_BLOCK_SIZE);
	return bh;
}

/*
 * Allocate a block for inode: a data block (level 0), or an indirect block
 * of that level, formatted empty, sealed and logged.
 */
static int vexfs_alloc_mapped(struct inode *inode, u32 goal, int level, u32 *out)
{
	struct super_block *sb = inode->i_sb;
	struct buffer_head *bh;
	int err;

	err = vexfs_new_block(inode, goal, out);
	if (err)
		return err;
	inode->i_blocks += VEXFS_BLOCK_SIZE >> 9;
	if (!level)
		return 0;
	bh = vexfs_getblk_new(sb, *out, &err);
	if (!bh)
		goto fail;
	err = vexfs_ind_init((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino, level);
	if (err) {
		unlock_buffer(bh);
		brelse(bh);
		goto fail;
	}
	set_buffer_uptodate(bh);
	set_buffer_vexfs_ind_checked(bh);
	unlock_buffer(bh);
	err = vexfs_journal_dirty(sb, inode, bh);
	brelse(bh);
	if (err)
		goto fail;
	return 0;
fail:
	/* Nothing points at it yet: if it cannot be freed it leaks (fsck reclaims it). */
	vexfs_free_block(sb, *out, level > 0);
	inode->i_blocks -= VEXFS_BLOCK_SIZE >> 9;
	return err;
}

/*
 * Set entry idx of checked indirect block bh (journaled); the core updates
 * the block's checksum for the one entry.
 */
static int vexfs_set_indirect(struct inode *inode, struct buffer_head *bh, u32 idx, u32 val)
{
	int err = vexfs_journal_write_access(inode->i_sb, bh);

	if (err)
		return err;
	lock_buffer(bh);
	err = vexfs_ind_set((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, idx, val);
	unlock_buffer(bh);
	if (err)
		return err;
	return vexfs_journal_dirty(inode->i_sb, inode, bh);
}

/*
 * How many of the n block numbers at slots[0..n) continue the run that ends
 * at block last (last + 1, last + 2, ...), at most max: the rest of an
 * extent-like run mapped in one get_block call.
 */
static u32 vexfs_run_length(struct super_block *sb, const __le32 *slots, u32 n, u32 last, u32 max)
{
	u32 i;

	for (i = 0; i < n && i < max; i++) {
		u32 v = le32_to_cpu(slots[i]);

		if (v != last + 1 + i || !vexfs_data_block_ok(sb, v))
			break;
	}
	return i;
}

/*
 * Map file block iblock into *map (allocating it and any indirect blocks
 * when create; a hole on lookup is map->block_nr 0). A lookup may map more
 * than one block: up to want blocks that follow on disk in the same
 * indirect block (or direct slots), so readahead builds large bios from one
 * call per run (as extent-mapped filesystems do) instead of one call per
 * block. The one block-mapping routine: the page cache (vexfs_get_block),
 * directories and the vector files all map through it.
 */
int vexfs_map_blocks(struct inode *inode, u64 iblock, u32 want, bool create,
		     struct vexfs_map *map)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);
	struct super_block *sb = inode->i_sb;
	u32 offsets[4], blk, run = 1;
	bool fresh = false, dirtied = false;
	int depth, level, err = 0;

	map->block_nr = 0;
	map->len = 0;
	map->fresh = false;
	depth = vexfs_bmap_path(iblock, offsets);
	if (depth < 0)
		return create ? -EFBIG : 0;
	if (create || !want)
		want = 1;

	mutex_lock(&vi->i_map_lock);
	blk = vi->i_data[offsets[0]];
	if (blk && !vexfs_data_block_ok(sb, blk)) {
		err = vexfs_corrupt(sb, "inode %lu: block pointer %u outside the data area",
				    inode->i_ino, blk);
		goto out;
	}
	if (!blk) {
		if (!create)
			goto out;
		err = vexfs_alloc_mapped(inode, 0, depth - 1, &blk);
		if (err)
			goto out;
		vi->i_data[offsets[0]] = blk;
		fresh = depth == 1;
		dirtied = true;
	} else if (depth == 1 && want > 1) {
		/* i_data is host-endian in memory (decoded by the core). */
		u32 i;

		for (i = offsets[0] + 1; i < VEXFS_NDIR_BLOCKS && run < want; i++, run++)
			if (vi->i_data[i] != blk + run || !vexfs_data_block_ok(sb, vi->i_data[i]))
				break;
	}
	/* blk is an indirect block of level depth - level; its child, depth - level - 1. */
	for (level = 1; level < depth; level++) {
		struct buffer_head *bh;
		int child_level = depth - level - 1;
		u32 next;

		err = vexfs_read_indirect(inode, blk, depth - level, offsets[level], &bh, &next);
		if (err)
			goto out;
		if (!next) {
			if (!create) {
				brelse(bh);
				goto out;
			}
			err = vexfs_alloc_mapped(inode, blk + 1, child_level, &next);
			if (!err) {
				err = vexfs_set_indirect(inode, bh, offsets[level], next);
				if (err) {
					vexfs_free_block(sb, next, child_level > 0);
					inode->i_blocks -= VEXFS_BLOCK_SIZE >> 9;
				}
			}
			if (err) {
				brelse(bh);
				goto out;
			}
			dirtied = true;
			fresh = level == depth - 1;
		} else if (level == depth - 1 && want > 1) {
			u32 from = offsets[level] + 1;

			run += vexfs_run_length(sb, (const __le32 *)bh->b_data + from,
						VEXFS_ADDR_PER_BLOCK - from, next, want - 1);
		}
		brelse(bh);
		blk = next;
	}
	map->block_nr = blk;
	map->len = run;
	map->fresh = fresh;
out:
	mutex_unlock(&vi->i_map_lock);
	/* i_data / i_blocks changed: log the inode (outside i_map_lock). */
	if (dirtied)
		mark_inode_dirty(inode);
	return err;
}

/* get_block_t for the page cache: vexfs_map_blocks into a buffer head. */
int vexfs_get_block(struct inode *inode, sector_t iblock,
		    struct buffer_head *bh_result, int create)
{
	struct vexfs_map map;
	u32 want = 1;
	int err;

	if (!create && bh_result->b_size > VEXFS_BLOCK_SIZE)
		want = min_t(size_t, bh_result->b_size >> VEXFS_BLOCK_SIZE_BITS, U32_MAX);
	err = vexfs_map_blocks(inode, iblock, want, create, &map);
	if (err || !map.block_nr)
		return err;
	map_bh(bh_result, inode->i_sb, map.block_nr);
	bh_result->b_size = (size_t)map.len << VEXFS_BLOCK_SIZE_BITS;
	if (map.fresh)
		set_buffer_new(bh_result);
	return 0;
}

/*
 * Metadata block iblock of a file (a directory, the vector store, the
 * HNSW graph) through the buffer cache. Mapped: read (vexfs_bread), not
 * locked, no journal access taken, *fresh false. A hole: NULL with *err 0,
 * unless create, which allocates the block and returns it as
 * vexfs_getblk_new() does (locked, zeroed, taken for create access; the
 * caller fills it, sets it uptodate, unlocks and logs it), *fresh true.
 * NULL with *err on failure.
 */
struct buffer_head *vexfs_meta_bread(struct inode *inode, u64 iblock, bool create,
				     bool *fresh, int *err)
{
	struct super_block *sb = inode->i_sb;
	struct vexfs_map map;
	struct buffer_head *bh;

	*fresh = false;
	*err = vexfs_map_blocks(inode, iblock, 1, create, &map);
	if (*err || !map.block_nr)
		return NULL;
	if (map.fresh) {
		bh = vexfs_getblk_new(sb, map.block_nr, err);
		*fresh = bh != NULL;
		return bh;
	}
	bh = vexfs_bread(sb, map.block_nr);
	if (!bh) {
		pr_err_ratelimited("vexfs (%s): cannot read block %u (file block %llu of inode %lu)\n",
				   sb->s_id, map.block_nr, iblock, inode->i_ino);
		*err = -EIO;
	}
	return bh;
}

/* Is a block of this inode journaled metadata (revoked when freed)? */
static bool vexfs_data_is_metadata(struct inode *inode)
{
	return !S_ISREG(inode->i_mode) || inode->i_ino == VEXFS_VECSTORE_INO ||
	       inode->i_ino == VEXFS_SLOTMAP_INO;
}

/*
 * Free the part of the subtree rooted at blk (height 0 = a data block) that
 * covers file blocks [start, end), and every indirect block of it left with
 * no entries; base is the first file block it covers. At most *budget
 * blocks are freed (each step of a long truncate or punch is one bounded
 * journal transaction); returns true when blk itself was freed. Depth is at
 * most 3.
 */
static bool vexfs_trim_tree(struct inode *inode, u32 blk, int height, u64 base, u64 start,
			    u64 end, int *budget, int *ferr)
{
	struct super_block *sb = inode->i_sb;
	struct buffer_head *bh;
	u64 span = 1;
	bool emptied = true;
	int i, err;

	if (!vexfs_data_block_ok(sb, blk)) {
		vexfs_corrupt(sb, "inode %lu: not freeing bad block pointer %u", inode->i_ino, blk);
		return true;	/* drop the bad pointer, never free metadata */
	}
	if (height == 0) {
		if (base < start || base >= end || *budget <= 0)
			return false;
		(*budget)--;
		goto free_self;
	}
	for (i = 1; i < height; i++)
		span *= ADDR_PER_BLOCK;
	bh = vexfs_bread_indirect(inode, blk, height, &err);
	if (!bh) {
		/* Never free what a block that failed its check names. */
		pr_err_ratelimited("vexfs (%s): cannot use indirect block %u of inode %lu (error %d), leaking its subtree: run fsck.vexfs\n",
				   sb->s_id, blk, inode->i_ino, err);
		return false;
	}
	for (i = 0; i < ADDR_PER_BLOCK; i++) {
		__le32 *slot = (__le32 *)bh->b_data + i;
		u32 child = le32_to_cpu(*slot);
		u64 cbase = base + i * span;

		if (!child)
			continue;
		if (cbase + span <= start || cbase >= end || *budget <= 0) {
			emptied = false;
			continue;
		}
		if (vexfs_trim_tree(inode, child, height - 1, cbase, start, end, budget, ferr)) {
			if (vexfs_set_indirect(inode, bh, i, 0))
				emptied = false;
		} else {
			emptied = false;
		}
	}
	brelse(bh);
	/* Entries outside the range (or left by the budget) keep it mapped. */
	if (!emptied || *budget <= 0)
		return false;
	(*budget)--;
free_self:
	*ferr = vexfs_free_block(sb, blk, height > 0 || vexfs_data_is_metadata(inode));
	if (*ferr) {
		*budget = 0;	/* end the step: the block and its pointer stay */
		return false;
	}
	inode->i_blocks -= VEXFS_BLOCK_SIZE >> 9;
	return true;
}

/*
 * Free every block mapping a file block in [start, end), and the indirect
 * blocks left empty, in bounded steps, each in the current journal handle
 * (restarted between steps when full, if may_restart: only where the caller
 * holds no VexFS lock and no nested handle). A block that cannot be freed
 * stays mapped, and its error is returned.
 */
int vexfs_free_range(struct inode *inode, u64 start, u64 end, bool may_restart)
{
	static const u64 tree_base[4] = {
		VEXFS_NDIR_BLOCKS,
		VEXFS_NDIR_BLOCKS + ADDR_PER_BLOCK,
		VEXFS_NDIR_BLOCKS + ADDR_PER_BLOCK + (u64)ADDR_PER_BLOCK * ADDR_PER_BLOCK,
		VEXFS_NDIR_BLOCKS + ADDR_PER_BLOCK + (u64)ADDR_PER_BLOCK * ADDR_PER_BLOCK +
			(u64)ADDR_PER_BLOCK * ADDR_PER_BLOCK * ADDR_PER_BLOCK,
	};
	struct vexfs_inode_info *vi = VEXFS_I(inode);
	int budget, i, err, ferr = 0;

	if (start >= end)
		return 0;
	do {
		err = may_restart ? vexfs_journal_ensure_restart(inode->i_sb, VEXFS_CREDITS_TRUNCATE)
				  : vexfs_journal_ensure(inode->i_sb, VEXFS_CREDITS_TRUNCATE);
		if (err)
			return err;
		budget = VEXFS_TRUNCATE_STEP;
		mutex_lock(&vi->i_map_lock);
		for (i = 0; i < VEXFS_N_BLOCKS && budget > 0; i++) {
			u32 blk = vi->i_data[i];
			int height = i < VEXFS_NDIR_BLOCKS ? 0 : i - VEXFS_NDIR_BLOCKS + 1;
			u64 base = height ? tree_base[height - 1] : i;
			u64 limit = height ? tree_base[height] : i + 1;

			if (!blk || limit <= start || base >= end)
				continue;
			if (vexfs_trim_tree(inode, blk, height, base, start, end, &budget, &ferr))
				vi->i_data[i] = 0;
		}
		mutex_unlock(&vi->i_map_lock);
		mark_inode_dirty(inode);
	} while (budget <= 0 && !ferr);	/* the step ran out: more may remain */
	return ferr;
}

/*
 * Test hook for tests/vm/cases/crash-truncate.sh: when set, a truncate
 * commits the transaction that shrinks i_size and then waits, before it
 * frees any block, until the knob is cleared (or the task is killed), so a
 * power cut lands deterministically in the window the TRUNCATING flag
 * protects. Off by default; costs one read of a flag per truncate.
 */
static bool debug_truncate_stall;
module_param(debug_truncate_stall, bool, 0644);
MODULE_PARM_DESC(debug_truncate_stall,
		 "testing only: stall each truncate after its size change commits, before freeing blocks");

/* Called without a journal handle. */
static int vexfs_truncate_stall(struct inode *inode, loff_t size)
{
	int err;

	err = vexfs_journal_commit(inode->i_sb, true);
	if (err)
		return err;
	pr_info("vexfs (%s): debug_truncate_stall: inode %lu is now %lld bytes, its blocks not yet freed\n",
		inode->i_sb->s_id, inode->i_ino, size);
	while (READ_ONCE(debug_truncate_stall) && !fatal_signal_pending(current))
		schedule_timeout_killable(HZ / 10);
	return 0;
}

/*
 * Free every block at or beyond file block keep (see vexfs_free_range).
 * When keep is at or below the end of the file, nothing is mapped past
 * EOF afterwards: VEXFS_INODE_FL_EOFBLOCKS is cleared, logged with the
 * last step.
 */
int vexfs_truncate_blocks(struct inode *inode, u64 keep, bool may_restart)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);
	int err;

	err = vexfs_free_range(inode, keep, U64_MAX, may_restart);
	if (err || !(vi->i_flags & VEXFS_INODE_FL_EOFBLOCKS) ||
	    keep > DIV_ROUND_UP_ULL(i_size_read(inode), VEXFS_BLOCK_SIZE))
		return err;
	mutex_lock(&vi->i_map_lock);
	vi->i_flags &= ~VEXFS_INODE_FL_EOFBLOCKS;
	mutex_unlock(&vi->i_map_lock);
	mark_inode_dirty(inode);
	return 0;
}

/* Set and clear i_flags bits (the caller holds the inode lock); log the inode. */
static void vexfs_change_flags(struct inode *inode, u32 set, u32 clear)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);

	mutex_lock(&vi->i_map_lock);
	vi->i_flags = (vi->i_flags & ~clear) | set;
	mutex_unlock(&vi->i_map_lock);
	mark_inode_dirty(inode);
}

/*
 * Free every block at or past the end of a file whose on-disk inode says
 * a truncate is in progress (VEXFS_INODE_FL_TRUNCATING), then clear the
 * flag, and with it VEXFS_INODE_FL_EOFBLOCKS: nothing is left past EOF.
 * The flag is cleared only when every block is freed; on error it stays,
 * for the next mount or fsck.vexfs.
 */
int vexfs_finish_truncate(struct inode *inode)
{
	int err;

	err = vexfs_truncate_blocks(inode, DIV_ROUND_UP_ULL(i_size_read(inode), VEXFS_BLOCK_SIZE),
				    true);
	if (err)
		return err;
	vexfs_change_flags(inode, 0, VEXFS_INODE_FL_TRUNCATING | VEXFS_INODE_FL_EOFBLOCKS);
	return 0;
}

/*
 * Change the size. The new i_size and VEXFS_INODE_FL_TRUNCATING are logged
 * in one transaction, before the first block is freed: blocks past EOF are
 * freed in steps that may each commit on their own, and a crash between two
 * steps would otherwise leave stale blocks mapped past EOF, where a later
 * extension would expose their old contents. Mount after an unclean
 * shutdown (orphan.c) finishes a flagged truncate, as ext4 does with its
 * orphan list.
 */
static int vexfs_truncate(struct inode *inode, loff_t size)
{
	handle_t *handle;
	int err;

	if (!(S_ISREG(inode->i_mode) || S_ISDIR(inode->i_mode) || S_ISLNK(inode->i_mode)))
		return -EINVAL;
	if (VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_INLINE_SYMLINK)
		return -EINVAL;
	handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_TRUNCATE);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	vexfs_data_changed(inode);	/* the chunk set no longer describes the data */
	err = block_truncate_page(inode->i_mapping, size, vexfs_get_block);
	if (err)
		goto out;
	vexfs_journal_order_data(inode, size, VEXFS_BLOCK_SIZE);
	truncate_setsize(inode, size);
	inode->i_mtime = inode->i_ctime = current_time(inode);
	vexfs_change_flags(inode, VEXFS_INODE_FL_TRUNCATING, 0);
	if (unlikely(READ_ONCE(debug_truncate_stall))) {
		vexfs_journal_end(handle);	/* a commit cannot wait for our own handle */
		err = vexfs_truncate_stall(inode, size);
		handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_TRUNCATE);
		if (IS_ERR(handle))
			return PTR_ERR(handle);
		if (err)
			goto out;
	}
	err = vexfs_finish_truncate(inode);
	if (err) {
		pr_err_ratelimited("vexfs (%s): truncate of inode %lu stopped part-way (%d); the next mount finishes it\n",
				   inode->i_sb->s_id, inode->i_ino, err);
		WRITE_ONCE(VEXFS_SB(inode->i_sb)->truncate_left, true);
	}
out:
	vexfs_journal_end(handle);
	return err;
}

int vexfs_setattr(struct user_namespace *mnt_userns, struct dentry *dentry,
		  struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	handle_t *handle;
	int err;

	err = setattr_prepare(mnt_userns, dentry, attr);
	if (err)
		return err;
	if ((attr->ia_valid & ATTR_SIZE) && attr->ia_size != i_size_read(inode)) {
		if (attr->ia_size > inode->i_sb->s_maxbytes)
			return -EFBIG;
		inode_dio_wait(inode);
		err = vexfs_truncate(inode, attr->ia_size);
		if (err)
			return err;
	}
	handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_INODE);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	setattr_copy(mnt_userns, inode, attr);
	mark_inode_dirty(inode);
	vexfs_journal_end(handle);
	if (attr->ia_valid & (ATTR_MODE | ATTR_UID | ATTR_GID))
		vexfs_vector_attr_changed(inode);	/* search permission filter */
	return 0;
}

int vexfs_getattr(struct user_namespace *mnt_userns, const struct path *path,
		  struct kstat *stat, u32 request_mask, unsigned int query_flags)
{
	struct inode *inode = d_inode(path->dentry);

	generic_fillattr(mnt_userns, inode, stat);
	if (request_mask & STATX_BTIME) {
		stat->btime = VEXFS_I(inode)->i_crtime;
		stat->result_mask |= STATX_BTIME;
	}
	return 0;
}

/*
 * An inode whose last link is gone is freed here, when the last opener
 * has let go, never at unlink: open-but-unlinked files stay readable.
 */
void vexfs_evict_inode(struct inode *inode)
{
	bool drop = !inode->i_nlink && !is_bad_inode(inode) && inode->i_ino >= VEXFS_FIRST_INO;
	handle_t *handle = NULL;

	if (drop) {
		handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_TRUNCATE);
		if (IS_ERR(handle)) {
			pr_err_ratelimited("vexfs (%s): cannot free inode %lu: %ld; run fsck.vexfs\n",
					   inode->i_sb->s_id, inode->i_ino, PTR_ERR(handle));
			drop = false;
			handle = NULL;
		}
	}
	truncate_inode_pages_final(&inode->i_data);
	if (drop) {
		/* Normally gone with the last link already (vexfs_drop_link). */
		if (VEXFS_I(inode)->i_chunk_count)
			vexfs_vector_remove(inode);
		vexfs_names_evict(inode);
		inode->i_size = 0;
		if (!(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_INLINE_SYMLINK))
			vexfs_truncate_blocks(inode, 0, true);
		vexfs_update_inode(inode, inode_needs_sync(inode), true);
	}
	invalidate_inode_buffers(inode);
	vexfs_journal_inode_release(inode);
	clear_inode(inode);
	if (drop)
		vexfs_free_ino(inode->i_sb, inode->i_ino);
	vexfs_journal_end(handle);
}

struct inode *vexfs_new_inode(struct inode *dir, umode_t mode)
{
	struct super_block *sb = dir->i_sb;
	struct vexfs_inode_info *vi;
	struct inode *inode;
	u32 ino;
	int err;

	inode = new_inode(sb);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	err = vexfs_new_ino(sb, &ino);
	if (err) {
		make_bad_inode(inode);
		iput(inode);
		return ERR_PTR(err);
	}
	inode_init_owner(&init_user_ns, inode, dir, mode);
	inode->i_ino = ino;
	inode->i_blocks = 0;
	inode->i_mtime = inode->i_atime = inode->i_ctime = current_time(inode);
	inode->i_generation = get_random_u32();
	vi = VEXFS_I(inode);
	memset(vi->i_data, 0, sizeof(vi->i_data));
	vi->i_flags = 0;
	vi->i_dir_depth = 0;
	vi->i_vector_dim = 0;
	vi->i_parent = dir->i_ino;
	vi->i_names_block = 0;
	vi->i_chunk_first = 0;
	vi->i_chunk_count = 0;
	vi->i_data_version = 0;
	vi->i_chunk_version = 0;
	vi->i_crtime = inode->i_mtime;
	if (insert_inode_locked(inode) < 0) {
		/* The bitmap said free but the inode is live: refuse, keep both. */
		err = vexfs_corrupt(sb, "inode %u allocated twice", ino);
		make_bad_inode(inode);
		iput(inode);
		return ERR_PTR(err);
	}
	mark_inode_dirty(inode);
	return inode;
}

static int vexfs_read_folio(struct file *file, struct folio *folio)
{
	return block_read_full_folio(folio, vexfs_get_block);
}

static void vexfs_readahead(struct readahead_control *rac)
{
	mpage_readahead(rac, vexfs_get_block);
}

static int vexfs_writepage(struct page *page, struct writeback_control *wbc)
{
	return block_write_full_page(page, vexfs_get_block, wbc);
}

static int vexfs_writepages(struct address_space *mapping, struct writeback_control *wbc)
{
	return mpage_writepages(mapping, wbc, vexfs_get_block);
}

static void vexfs_write_failed(struct address_space *mapping, loff_t to)
{
	struct inode *inode = mapping->host;

	if (to > inode->i_size) {
		truncate_pagecache(inode, inode->i_size);
		vexfs_truncate_blocks(inode, DIV_ROUND_UP_ULL(inode->i_size, VEXFS_BLOCK_SIZE), false);
	}
}

/*
 * A write allocates its blocks here, inside a journal handle that lives
 * until write_end (jbd2 keeps it in current->journal_info).
 */
static int vexfs_write_begin(struct file *file, struct address_space *mapping,
			     loff_t pos, unsigned int len, struct page **pagep, void **fsdata)
{
	handle_t *handle;
	int err;

	handle = vexfs_journal_begin(mapping->host->i_sb, VEXFS_CREDITS_WRITE);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	vexfs_data_changed(mapping->host);	/* the chunk set no longer describes the data */
	err = block_write_begin(mapping, pos, len, pagep, vexfs_get_block);
	if (err < 0) {
		vexfs_write_failed(mapping, pos + len);
		vexfs_journal_end(handle);
	}
	return err;
}

static int vexfs_write_end(struct file *file, struct address_space *mapping,
			   loff_t pos, unsigned int len, unsigned int copied,
			   struct page *page, void *fsdata)
{
	struct inode *inode = mapping->host;
	handle_t *handle = journal_current_handle();
	int ret, err;

	/* Ordered: the data reaches disk before the commit that maps it. */
	vexfs_journal_order_data(inode, pos, len);
	ret = generic_write_end(file, mapping, pos, len, copied, page, fsdata);
	if (ret < len)
		vexfs_write_failed(mapping, pos + len);
	err = VEXFS_SB(inode->i_sb)->journal ? vexfs_journal_end(handle) : 0;
	return err ? err : ret;
}

static sector_t vexfs_bmap(struct address_space *mapping, sector_t block)
{
	return generic_block_bmap(mapping, block, vexfs_get_block);
}

const struct address_space_operations vexfs_aops = {
	.dirty_folio		= block_dirty_folio,
	.invalidate_folio	= block_invalidate_folio,
	.read_folio		= vexfs_read_folio,
	.readahead		= vexfs_readahead,
	.writepage		= vexfs_writepage,
	.writepages		= vexfs_writepages,
	.write_begin		= vexfs_write_begin,
	.write_end		= vexfs_write_end,
	.bmap			= vexfs_bmap,
	.direct_IO		= noop_direct_IO,	/* O_DIRECT: file.c's read_iter/write_iter */
	.migrate_folio		= buffer_migrate_folio,
	.is_partially_uptodate	= block_is_partially_uptodate,
	.error_remove_page	= generic_error_remove_page,
};
