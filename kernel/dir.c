// SPDX-License-Identifier: GPL-2.0
/*
 * dir.c - directory blocks: readdir, lookup by name, adding and removing
 * entries. The record layout is the Rust core's (vexfs_dir_*); this file
 * maps directory blocks, checks each one once, and ties dirty blocks to the
 * directory inode so fsync writes them.
 */
#include "vexfs.h"

#include <linux/fs_types.h>
#include <linux/jbd2.h>

/*
 * Set on a buffer once its directory block passed the core's check. The
 * state bits from BH_PrivateStart on belong to jbd2; filesystems start at
 * BH_JBDPrivateStart (as ext4 does).
 */
enum { BH_VexfsChecked = BH_JBDPrivateStart };
BUFFER_FNS(VexfsChecked, vexfs_checked)

static u32 vexfs_dir_blocks(struct inode *dir)
{
	return i_size_read(dir) >> VEXFS_BLOCK_SIZE_BITS;
}

/* Map directory block index (allocating when create) to a device block. */
static int vexfs_dir_map(struct inode *dir, u32 index, int create, u32 *block_nr, bool *fresh)
{
	struct buffer_head tmp = { .b_size = VEXFS_BLOCK_SIZE };
	int err;

	err = vexfs_get_block(dir, index, &tmp, create);
	if (err)
		return err;
	if (!buffer_mapped(&tmp))
		return vexfs_corrupt(dir->i_sb, "directory %lu: hole at block %u", dir->i_ino, index);
	*block_nr = tmp.b_blocknr;
	*fresh = buffer_new(&tmp);
	return 0;
}

/* Read and check directory block index of dir. */
struct buffer_head *vexfs_dir_bread(struct inode *dir, u32 index, int *err)
{
	struct super_block *sb = dir->i_sb;
	struct buffer_head *bh;
	char msg[VEXFS_MSG_LEN];
	u32 block_nr;
	bool fresh;

	*err = vexfs_dir_map(dir, index, 0, &block_nr, &fresh);
	if (*err)
		return NULL;
	bh = sb_bread(sb, block_nr);
	if (!bh) {
		*err = -EIO;
		return NULL;
	}
	if (!buffer_vexfs_checked(bh)) {
		lock_buffer(bh);
		*err = vexfs_dir_block_check((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE,
					     dir->i_ino, VEXFS_SB(sb)->geom.inodes_count,
					     msg, sizeof(msg));
		if (!*err)
			set_buffer_vexfs_checked(bh);
		unlock_buffer(bh);
		if (*err) {
			if (*err == -EUCLEAN)
				vexfs_corrupt(sb, "%s (block %u)", msg, block_nr);
			brelse(bh);
			return NULL;
		}
	}
	return bh;
}

static int vexfs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	u32 nblocks = vexfs_dir_blocks(dir);
	u32 index = ctx->pos >> VEXFS_BLOCK_SIZE_BITS;
	u32 start = ctx->pos & (VEXFS_BLOCK_SIZE - 1);

	for (; index < nblocks; index++, start = 0) {
		struct vexfs_dirent_view e;
		struct buffer_head *bh;
		u32 pos = 0;
		int err, rc;

		bh = vexfs_dir_bread(dir, index, &err);
		if (!bh)
			return err;
		/*
		 * Walk from the block start: a seekdir() offset may point into
		 * a record merged away since telldir(); resume at the first
		 * record at or after it.
		 */
		while ((rc = vexfs_dir_next((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, pos, &e)) == 1) {
			pos = e.next_offset;
			if (e.rec_offset < start)
				continue;
			ctx->pos = ((loff_t)index << VEXFS_BLOCK_SIZE_BITS) + e.rec_offset;
			if (!dir_emit(ctx, bh->b_data + e.name_offset, e.name_len, e.ino,
				      fs_ftype_to_dtype(e.file_type))) {
				brelse(bh);
				return 0;
			}
		}
		brelse(bh);
		if (rc < 0)
			return vexfs_corrupt(dir->i_sb, "directory %lu: bad record in block %u",
					     dir->i_ino, index);
		ctx->pos = (loff_t)(index + 1) << VEXFS_BLOCK_SIZE_BITS;
	}
	return 0;
}

/*
 * Find name in dir. On success returns 0 with *bhp holding the block (the
 * caller releases it) and *view describing the record; -ENOENT if absent.
 */
int vexfs_find_entry(struct inode *dir, const struct qstr *name,
		     struct buffer_head **bhp, struct vexfs_dirent_view *view)
{
	u32 nblocks = vexfs_dir_blocks(dir), index;
	int err;

	if (name->len > VEXFS_NAME_LEN)
		return -ENAMETOOLONG;
	for (index = 0; index < nblocks; index++) {
		struct buffer_head *bh = vexfs_dir_bread(dir, index, &err);

		if (!bh)
			return err;
		err = vexfs_dir_find((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE,
				     name->name, name->len, view);
		if (err == 1) {
			*bhp = bh;
			return 0;
		}
		brelse(bh);
		if (err < 0)
			return vexfs_corrupt(dir->i_sb, "directory %lu: bad record in block %u",
					     dir->i_ino, index);
	}
	return -ENOENT;
}

static void vexfs_dir_touch(struct inode *dir)
{
	dir->i_mtime = dir->i_ctime = current_time(dir);
	mark_inode_dirty(dir);
}

/* Add name -> inode to dir, growing it by a block when every block is full. */
int vexfs_add_link(struct inode *dir, const struct qstr *name, struct inode *inode)
{
	u32 ftype = fs_umode_to_ftype(inode->i_mode);
	u32 nblocks = vexfs_dir_blocks(dir), index, block_nr;
	struct buffer_head *bh;
	bool fresh;
	int err;

	for (index = 0; index < nblocks; index++) {
		bh = vexfs_dir_bread(dir, index, &err);
		if (!bh)
			return err;
		err = vexfs_journal_write_access(dir->i_sb, bh);
		if (err) {
			brelse(bh);
			return err;
		}
		lock_buffer(bh);
		err = vexfs_dir_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino,
				    name->name, name->len, inode->i_ino, ftype);
		unlock_buffer(bh);
		if (err >= 0) {
			err = vexfs_journal_dirty(dir->i_sb, dir, bh);
			brelse(bh);
			if (err)
				return err;
			vexfs_dir_touch(dir);
			return 0;
		}
		brelse(bh);
		if (err != -ENOSPC)
			return err;
	}

	/* Every block is full: append one. */
	err = vexfs_dir_map(dir, nblocks, 1, &block_nr, &fresh);
	if (err)
		return err;
	bh = sb_getblk(dir->i_sb, block_nr);
	if (!bh)
		return -ENOMEM;
	lock_buffer(bh);	/* jbd2 wants new blocks locked for create access */
	err = vexfs_journal_create_access(dir->i_sb, bh);
	if (!err)
		err = vexfs_dir_block_init((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino);
	if (!err)
		err = vexfs_dir_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino,
				    name->name, name->len, inode->i_ino, ftype);
	if (err >= 0) {
		set_buffer_uptodate(bh);
		set_buffer_vexfs_checked(bh);
	}
	unlock_buffer(bh);
	if (err >= 0)
		err = vexfs_journal_dirty(dir->i_sb, dir, bh);
	brelse(bh);
	if (err < 0)
		return err;
	i_size_write(dir, (loff_t)(nblocks + 1) << VEXFS_BLOCK_SIZE_BITS);
	vexfs_dir_touch(dir);
	return 0;
}

int vexfs_delete_entry(struct inode *dir, struct buffer_head *bh,
		       const struct vexfs_dirent_view *view)
{
	int err;

	err = vexfs_journal_write_access(dir->i_sb, bh);
	if (err)
		return err;
	lock_buffer(bh);
	err = vexfs_dir_remove((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino, view->rec_offset);
	unlock_buffer(bh);
	if (!err)
		err = vexfs_journal_dirty(dir->i_sb, dir, bh);
	if (err)
		return err;
	vexfs_dir_touch(dir);
	return 0;
}

int vexfs_set_link(struct inode *dir, struct buffer_head *bh,
		   const struct vexfs_dirent_view *view, struct inode *inode)
{
	int err;

	err = vexfs_journal_write_access(dir->i_sb, bh);
	if (err)
		return err;
	lock_buffer(bh);
	err = vexfs_dir_retarget((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino,
				 view->rec_offset, inode->i_ino,
				 fs_umode_to_ftype(inode->i_mode));
	unlock_buffer(bh);
	if (!err)
		err = vexfs_journal_dirty(dir->i_sb, dir, bh);
	if (err)
		return err;
	vexfs_dir_touch(dir);
	return 0;
}

/* Give a new directory its first block with "." and "..". */
int vexfs_make_empty(struct inode *inode, struct inode *parent)
{
	struct buffer_head *bh;
	u32 block_nr;
	bool fresh;
	int err;

	err = vexfs_dir_map(inode, 0, 1, &block_nr, &fresh);
	if (err)
		return err;
	bh = sb_getblk(inode->i_sb, block_nr);
	if (!bh)
		return -ENOMEM;
	lock_buffer(bh);	/* jbd2 wants new blocks locked for create access */
	err = vexfs_journal_create_access(inode->i_sb, bh);
	if (!err)
		err = vexfs_dir_block_init((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino);
	if (!err)
		err = vexfs_dir_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino,
				    ".", 1, inode->i_ino, VEXFS_FT_DIR);
	if (err >= 0)
		err = vexfs_dir_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino,
				    "..", 2, parent->i_ino, VEXFS_FT_DIR);
	if (err >= 0) {
		set_buffer_uptodate(bh);
		set_buffer_vexfs_checked(bh);
	}
	unlock_buffer(bh);
	if (err >= 0)
		err = vexfs_journal_dirty(inode->i_sb, inode, bh);
	brelse(bh);
	if (err < 0)
		return err;
	i_size_write(inode, VEXFS_BLOCK_SIZE);
	mark_inode_dirty(inode);
	return 0;
}

/* 1 when dir holds only "." and "..", 0 when not, negative on error. */
int vexfs_empty_dir(struct inode *dir)
{
	u32 nblocks = vexfs_dir_blocks(dir), index;
	int err;

	for (index = 0; index < nblocks; index++) {
		struct buffer_head *bh = vexfs_dir_bread(dir, index, &err);

		if (!bh)
			return err;
		err = vexfs_dir_block_is_empty((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE);
		brelse(bh);
		if (err <= 0)
			return err;
	}
	return 1;
}

const struct file_operations vexfs_dir_operations = {
	.llseek		= generic_file_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= vexfs_readdir,
	.fsync		= vexfs_fsync,
	.unlocked_ioctl	= vexfs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
