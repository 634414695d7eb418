// SPDX-License-Identifier: GPL-2.0
/*
 * seek.c - lseek(2) SEEK_DATA and SEEK_HOLE, answered from the block map.
 *
 * A file block is data when it is mapped. Blocks are allocated at
 * write_begin and page_mkwrite, never at writeback, so a dirty page always
 * has its block mapped and the map alone is the truth; blocks mapped by
 * fallocate (zeroed on disk) are data too. i_rwsem (shared) keeps i_size
 * and the map from shrinking under a query; i_map_lock guards i_data and
 * the indirect blocks during the walk, as in vexfs_get_block(); indirect
 * blocks are read through vexfs_bread_indirect(), so none is used unchecked.
 */
#include "vexfs.h"

#define ADDR_PER_BLOCK VEXFS_ADDR_PER_BLOCK

/*
 * Search the subtree rooted at blk (0: nothing mapped) of the given height
 * (0: a data block), covering file blocks from base, for the first data
 * block (want_data) or hole in [from, end). An unmapped subtree is skipped
 * (or is the hole) whole. Returns 1 with *found set, 0 when there is none,
 * or a negative error.
 */
static int vexfs_seek_tree(struct inode *inode, u32 blk, int height, u64 base, u64 from,
			   u64 end, bool want_data, u64 *found)
{
	struct super_block *sb = inode->i_sb;
	struct buffer_head *bh;
	u64 span = 1;
	u32 i;
	int err = 0;

	if (blk && !vexfs_data_block_ok(sb, blk))
		return vexfs_corrupt(sb, "inode %lu: block pointer %u outside the data area",
				     inode->i_ino, blk);
	if (!blk || height == 0) {
		if (!blk == want_data)
			return 0;
		*found = max(base, from);
		return 1;
	}
	for (i = 1; i < height; i++)
		span *= ADDR_PER_BLOCK;
	bh = vexfs_bread_indirect(inode, blk, height, &err);
	if (!bh)
		return err;
	for (i = from > base ? (from - base) / span : 0; i < ADDR_PER_BLOCK; i++) {
		u32 child = le32_to_cpu(((const __le32 *)bh->b_data)[i]);
		u64 cbase = base + i * span;

		if (cbase >= end)
			break;
		err = vexfs_seek_tree(inode, child, height - 1, cbase, from, end, want_data, found);
		if (err)
			break;
	}
	brelse(bh);
	return err;
}

/*
 * The first file block in [from, end) that is mapped (want_data) or not:
 * 1 with *found set, 0 when there is none, or a negative error.
 */
int vexfs_map_next(struct inode *inode, u64 from, u64 end, bool want_data, u64 *found)
{
	static const u64 tree_base[4] = {
		VEXFS_NDIR_BLOCKS,
		VEXFS_NDIR_BLOCKS + ADDR_PER_BLOCK,
		VEXFS_NDIR_BLOCKS + ADDR_PER_BLOCK + (u64)ADDR_PER_BLOCK * ADDR_PER_BLOCK,
		VEXFS_NDIR_BLOCKS + ADDR_PER_BLOCK + (u64)ADDR_PER_BLOCK * ADDR_PER_BLOCK +
			(u64)ADDR_PER_BLOCK * ADDR_PER_BLOCK * ADDR_PER_BLOCK,
	};
	struct vexfs_inode_info *vi = VEXFS_I(inode);
	int i, ret = 0;

	mutex_lock(&vi->i_map_lock);
	for (i = 0; i < VEXFS_N_BLOCKS && !ret; i++) {
		int height = i < VEXFS_NDIR_BLOCKS ? 0 : i - VEXFS_NDIR_BLOCKS + 1;
		u64 base = height ? tree_base[height - 1] : i;
		u64 limit = height ? tree_base[height] : i + 1;

		if (limit <= from)
			continue;
		if (base >= end)
			break;
		ret = vexfs_seek_tree(inode, vi->i_data[i], height, base, from, end, want_data,
				      found);
	}
	mutex_unlock(&vi->i_map_lock);
	/* Past what the map can address there is no data, only hole. */
	if (!ret && !want_data && end > tree_base[3]) {
		*found = max(from, tree_base[3]);
		ret = 1;
	}
	return ret;
}

/*
 * SEEK_DATA: the first data byte at or after offset; SEEK_HOLE: the first
 * hole byte (EOF counts as a hole). Blocks past EOF (fallocate
 * FALLOC_FL_KEEP_SIZE) are not looked at. Other whence values: generic.
 */
loff_t vexfs_file_llseek(struct file *file, loff_t offset, int whence)
{
	struct inode *inode = file->f_mapping->host;
	bool want_data = whence == SEEK_DATA;
	loff_t size, pos;
	u64 blk;
	int ret;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return generic_file_llseek(file, offset, whence);
	inode_lock_shared(inode);
	size = i_size_read(inode);
	if (offset < 0 || offset >= size) {
		inode_unlock_shared(inode);
		return -ENXIO;
	}
	ret = vexfs_map_next(inode, offset >> VEXFS_BLOCK_SIZE_BITS,
			     DIV_ROUND_UP_ULL(size, VEXFS_BLOCK_SIZE), want_data, &blk);
	inode_unlock_shared(inode);
	if (ret < 0)
		return ret;
	if (!ret)
		return want_data ? -ENXIO : vfs_setpos(file, size, inode->i_sb->s_maxbytes);
	pos = max_t(loff_t, offset, (loff_t)blk << VEXFS_BLOCK_SIZE_BITS);
	return vfs_setpos(file, min(pos, size), inode->i_sb->s_maxbytes);
}
