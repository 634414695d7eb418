// SPDX-License-Identifier: GPL-2.0
/*
 * links.c - names blocks (RO_COMPAT_LINK_DIRS, struct vexfs_names_block in
 * shim/vexfs_format.h): a non-directory with two or more links names, in
 * i_names_block, a block listing the directories that hold its names, so
 * that a search judges a hard-linked file by every path to it (scope and
 * permission, vindex-scope.c), not by the one directory in i_parent.
 *
 * Locking: the list changes in the same transaction as the names it
 * describes, under the inode's i_rwsem (the VFS holds it around link,
 * unlink and rename of the inode), so writers are serialised. Searches read
 * the list without i_rwsem (vexfs_names_dirs): the block's buffer lock
 * keeps them from seeing a half-rewritten block, and i_names_block is
 * written with WRITE_ONCE and read with READ_ONCE. A search that reads a
 * block the inode has just dropped still finds this inode's last list (a
 * freed block is not reused before its transaction commits) or a block
 * that fails the owner check; either way the hit is judged again on the
 * file's current state before it is returned.
 */
#include <linux/buffer_head.h>

#include "vexfs.h"

bool vexfs_names_enabled(struct super_block *sb)
{
	return VEXFS_SB(sb)->geom.feature_ro_compat & VEXFS_FEATURE_RO_COMPAT_LINK_DIRS;
}

/*
 * Read block blk as the names block of inode ino and check it (links: the
 * count its entries must sum to, 0 for any). With write, journal write
 * access is taken first (jbd2 locks the buffer itself). Returns the buffer
 * locked.
 */
static struct buffer_head *vexfs_names_bread(struct super_block *sb, u32 ino, u32 blk, u32 links,
					     bool write, int *err)
{
	char msg[VEXFS_MSG_LEN];
	struct buffer_head *bh;
	int rc;

	if (!vexfs_data_block_ok(sb, blk)) {
		*err = vexfs_corrupt(sb, "inode %u: names block %u outside the data area", ino, blk);
		return NULL;
	}
	bh = vexfs_bread(sb, blk);
	if (!bh) {
		*err = -EIO;
		return NULL;
	}
	if (write) {
		*err = vexfs_journal_write_access(sb, bh);
		if (*err) {
			brelse(bh);
			return NULL;
		}
	}
	lock_buffer(bh);
	msg[0] = '\0';
	rc = vexfs_names_check((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, ino, links,
			       VEXFS_SB(sb)->geom.inodes_count, msg, sizeof(msg));
	if (rc < 0) {
		unlock_buffer(bh);
		brelse(bh);
		*err = rc == -EUCLEAN ? vexfs_corrupt(sb, "inode %u: names block %u: %s; run fsck.vexfs",
						      ino, blk, msg) : rc;
		return NULL;
	}
	return bh;
}

/* vexfs_names_bread of inode's own names block. */
static struct buffer_head *vexfs_names_read(struct inode *inode, u32 links, bool write, int *err)
{
	return vexfs_names_bread(inode->i_sb, inode->i_ino, READ_ONCE(VEXFS_I(inode)->i_names_block),
				 links, write, err);
}

static u32 vexfs_names_entry_dir(const struct buffer_head *bh, u32 i)
{
	return le32_to_cpu(((const struct vexfs_names_block *)bh->b_data)->n_entries[i].ne_dir);
}

static u32 vexfs_names_entry_count(const struct buffer_head *bh, u32 i)
{
	return le32_to_cpu(((const struct vexfs_names_block *)bh->b_data)->n_entries[i].ne_count);
}

/* A new names block for inode, listing one name in dir_a and one in dir_b. */
static int vexfs_names_create(struct inode *inode, u32 dir_a, u32 dir_b)
{
	struct super_block *sb = inode->i_sb;
	struct buffer_head *bh;
	u32 blk;
	int err;

	err = vexfs_new_block(inode, 0, &blk);
	if (err)
		return err;
	bh = sb_getblk(sb, blk);
	if (!bh) {
		err = -ENOMEM;
		goto fail;
	}
	lock_buffer(bh);
	err = vexfs_journal_create_access(sb, bh);
	if (!err) {
		memset(bh->b_data, 0, VEXFS_BLOCK_SIZE);
		err = vexfs_names_init((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino, dir_a, dir_b);
	}
	if (!err)
		set_buffer_uptodate(bh);
	unlock_buffer(bh);
	if (!err)
		err = vexfs_journal_dirty(sb, inode, bh);
	brelse(bh);
	if (err)
		goto fail;
	WRITE_ONCE(VEXFS_I(inode)->i_names_block, blk);
	mark_inode_dirty(inode);
	return 0;
fail:
	/* Nothing names it yet: if it cannot be freed it leaks (fsck reclaims it). */
	vexfs_free_block(sb, blk, true);
	return err;
}

/*
 * inode is about to get a name in dir (i_nlink not raised yet). Called
 * before the entry is added; if adding it then fails, the caller undoes
 * this with vexfs_names_unlink (i_nlink raised by then).
 */
int vexfs_names_link(struct inode *inode, struct inode *dir)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);
	struct buffer_head *bh;
	u32 parent;
	int err;

	if (!vexfs_names_enabled(inode->i_sb) || S_ISDIR(inode->i_mode))
		return 0;
	if (!inode->i_nlink) {
		/* An O_TMPFILE file gets its first name: that is its directory. */
		WRITE_ONCE(vi->i_parent, dir->i_ino);
		return 0;
	}
	if (!vi->i_names_block) {
		parent = READ_ONCE(vi->i_parent);
		if (inode->i_nlink != 1 || !parent)
			return vexfs_corrupt(inode->i_sb, "inode %lu: %u links but no names block (parent %u); run fsck.vexfs",
					     inode->i_ino, inode->i_nlink, parent);
		return vexfs_names_create(inode, parent, dir->i_ino);
	}
	bh = vexfs_names_read(inode, inode->i_nlink, true, &err);
	if (!bh)
		return err;
	err = vexfs_names_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino, dir->i_ino);
	unlock_buffer(bh);
	if (!err)
		err = vexfs_journal_dirty(inode->i_sb, inode, bh);
	brelse(bh);
	/* A name in one directory too many: the list is full. */
	return err == -ENOSPC ? -EMLINK : err;
}

/*
 * inode is losing a name in dir (i_nlink not dropped yet). With two names
 * left the list shrinks; with one, the block goes and i_parent becomes the
 * directory of the last name. i_parent always stays a directory holding a
 * name. Returns 1 when i_parent changed, 0, or a negative errno.
 */
int vexfs_names_unlink(struct inode *inode, struct inode *dir)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);
	u32 blk = vi->i_names_block, n, i, last = 0, parent = READ_ONCE(vi->i_parent);
	struct buffer_head *bh;
	bool parent_left = false;
	int err;

	if (!vexfs_names_enabled(inode->i_sb) || S_ISDIR(inode->i_mode) || !blk)
		return 0;
	if (inode->i_nlink <= 2) {
		/* One name stays (or none, on a damaged count): the block goes. */
		bh = vexfs_names_read(inode, 0, false, &err);
		if (!bh)
			return err;
		n = le32_to_cpu(((const struct vexfs_names_block *)bh->b_data)->n_count);
		for (i = 0; i < n; i++) {
			u32 d = vexfs_names_entry_dir(bh, i), c = vexfs_names_entry_count(bh, i);

			if (d != dir->i_ino || c > 1)
				last = d;
		}
		unlock_buffer(bh);
		brelse(bh);
		err = vexfs_free_block(inode->i_sb, blk, true);
		if (err)
			return err;
		WRITE_ONCE(vi->i_names_block, 0);
		if (inode->i_nlink == 2)
			WRITE_ONCE(vi->i_parent, last);
		mark_inode_dirty(inode);
		return READ_ONCE(vi->i_parent) != parent;
	}
	bh = vexfs_names_read(inode, inode->i_nlink, true, &err);
	if (!bh)
		return err;
	err = vexfs_names_remove((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino, dir->i_ino);
	if (err == -ENOENT)
		err = vexfs_corrupt(inode->i_sb, "inode %lu: names block lists no name in directory %lu; run fsck.vexfs",
				    inode->i_ino, dir->i_ino);
	n = le32_to_cpu(((const struct vexfs_names_block *)bh->b_data)->n_count);
	for (i = 0; i < n; i++)
		parent_left |= vexfs_names_entry_dir(bh, i) == parent;
	if (!parent_left)
		last = vexfs_names_entry_dir(bh, 0);
	unlock_buffer(bh);
	if (!err)
		err = vexfs_journal_dirty(inode->i_sb, inode, bh);
	brelse(bh);
	if (err)
		return err;
	if (parent_left)
		return 0;
	WRITE_ONCE(vi->i_parent, last);
	mark_inode_dirty(inode);
	return 1;
}

/*
 * A name of inode moves from old_dir to new_dir (rename; i_nlink stays).
 * Called before any directory changes, so EMLINK (new_dir would be one
 * directory too many) leaves everything as it was.
 */
int vexfs_names_move(struct inode *inode, struct inode *old_dir, struct inode *new_dir)
{
	struct buffer_head *bh;
	int err;

	if (!vexfs_names_enabled(inode->i_sb) || S_ISDIR(inode->i_mode) ||
	    !VEXFS_I(inode)->i_names_block || old_dir == new_dir)
		return 0;
	bh = vexfs_names_read(inode, inode->i_nlink, true, &err);
	if (!bh)
		return err;
	err = vexfs_names_remove((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino, old_dir->i_ino);
	if (err == -ENOENT)
		err = vexfs_corrupt(inode->i_sb, "inode %lu: names block lists no name in directory %lu; run fsck.vexfs",
				    inode->i_ino, old_dir->i_ino);
	if (!err) {
		err = vexfs_names_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino, new_dir->i_ino);
		if (err) {
			/* Put the old name back: the entry or count just freed has room. */
			WARN_ON_ONCE(vexfs_names_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino,
						     old_dir->i_ino));
			err = err == -ENOSPC ? -EMLINK : err;
		}
	}
	unlock_buffer(bh);
	if (!err)
		err = vexfs_journal_dirty(inode->i_sb, inode, bh);
	brelse(bh);
	return err;
}

/* The inode is being freed: its names block goes with it (normally gone already). */
void vexfs_names_evict(struct inode *inode)
{
	u32 blk = VEXFS_I(inode)->i_names_block;

	if (!blk)
		return;
	if (vexfs_data_block_ok(inode->i_sb, blk) && !vexfs_free_block(inode->i_sb, blk, true))
		WRITE_ONCE(VEXFS_I(inode)->i_names_block, 0);
}

/*
 * The directories block blk lists as inode ino's names, at most max into
 * dirs (no i_rwsem: searches, and the mount scan before any inode is read).
 * Returns how many, or a negative errno.
 */
int vexfs_names_read_dirs(struct super_block *sb, u32 ino, u32 blk, u32 *dirs, u32 max)
{
	struct buffer_head *bh;
	u32 n, i;
	int err;

	bh = vexfs_names_bread(sb, ino, blk, 0, false, &err);
	if (!bh)
		return err;
	n = min(le32_to_cpu(((const struct vexfs_names_block *)bh->b_data)->n_count), max);
	for (i = 0; i < n; i++)
		dirs[i] = vexfs_names_entry_dir(bh, i);
	unlock_buffer(bh);
	brelse(bh);
	return n;
}

/*
 * For searches (no i_rwsem): the directories holding inode's names, at most
 * max into dirs. Returns how many, 0 when the inode has no names block (one
 * name, in i_parent), or a negative errno.
 */
int vexfs_names_dirs(struct inode *inode, u32 *dirs, u32 max)
{
	u32 blk = READ_ONCE(VEXFS_I(inode)->i_names_block);

	if (!vexfs_names_enabled(inode->i_sb) || !blk)
		return 0;
	return vexfs_names_read_dirs(inode->i_sb, inode->i_ino, blk, dirs, max);
}
