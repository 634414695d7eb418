// SPDX-License-Identifier: GPL-2.0
/*
 * orphan.c - after an unclean shutdown, finish what the crash interrupted:
 *
 * - free the inodes that were unlinked while still open. Their last-link
 *   removal committed (links_count 0 on disk), but the final close never
 *   came: they are in use in the bitmap, have no name and no links. A
 *   committed state never holds any other in-use inode without links, so a
 *   scan finds exactly the orphans;
 * - finish the truncates in progress (VEXFS_INODE_FL_TRUNCATING): free the
 *   blocks still mapped past EOF, then clear the flag.
 *
 * Runs at mount, before anything else can reach these inodes.
 */
#include "vexfs.h"

/* Free the blocks a crash left past EOF of a linked inode, and clear its flag. */
static int vexfs_recover_truncate(struct super_block *sb, u32 ino)
{
	struct inode *inode;
	handle_t *handle;
	int err;

	inode = vexfs_iget(sb, ino);
	if (IS_ERR(inode)) {
		pr_warn("vexfs (%s): inode %u with a truncate in progress is unreadable (%ld), left for fsck\n",
			sb->s_id, ino, PTR_ERR(inode));
		return 0;
	}
	if (VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_INLINE_SYMLINK) {
		/* No block map to trim (i_data holds the target): fsck's job. */
		vexfs_corrupt(sb, "inline symlink %u flagged as being truncated, left for fsck", ino);
		err = 0;
		goto out;
	}
	handle = vexfs_journal_begin(sb, VEXFS_CREDITS_TRUNCATE);
	if (IS_ERR(handle)) {
		err = PTR_ERR(handle);
		goto out;
	}
	inode_lock(inode);
	err = vexfs_finish_truncate(inode);
	inode_unlock(inode);
	vexfs_journal_end(handle);
out:
	iput(inode);
	return err;
}

int vexfs_reclaim_orphans(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	u32 ino, freed = 0, truncated = 0;
	int err = 0;

	for (ino = VEXFS_FIRST_INO; ino <= sbi->geom.inodes_count && !err; ) {
		u32 map_block = sbi->geom.inode_bitmap_start + (ino - 1) / (VEXFS_BLOCK_SIZE * 8);
		u32 table_block, offset, i;
		struct buffer_head *map, *tbl;

		err = vexfs_inode_locate(&sbi->geom, ino, &table_block, &offset);
		if (err)
			break;
		map = vexfs_bread(sb, map_block);
		tbl = vexfs_bread(sb, table_block);
		if (!map || !tbl) {
			brelse(map);
			brelse(tbl);
			err = -EIO;
			break;
		}
		/* The inodes of this table block (raw: iget checks them before use). */
		for (i = offset / VEXFS_INODE_SIZE; i < VEXFS_INODES_PER_BLOCK &&
		     ino <= sbi->geom.inodes_count && !err; i++, ino++) {
			const struct vexfs_inode *raw =
				(const void *)(tbl->b_data + i * VEXFS_INODE_SIZE);
			struct inode *inode;

			if (!test_bit_le((ino - 1) % (VEXFS_BLOCK_SIZE * 8), map->b_data) ||
			    !raw->i_mode)
				continue;
			if (raw->i_links_count) {
				if (!(le32_to_cpu(raw->i_flags) & VEXFS_INODE_FL_TRUNCATING))
					continue;
				err = vexfs_recover_truncate(sb, ino);
				if (!err)
					truncated++;
				continue;
			}
			inode = __vexfs_iget(sb, ino, VEXFS_IGET_ORPHAN);
			if (IS_ERR(inode)) {
				pr_warn("vexfs (%s): orphan inode %u unreadable (%ld), left for fsck\n",
					sb->s_id, ino, PTR_ERR(inode));
				continue;
			}
			/* Links 0: the final iput frees its blocks and the inode. */
			iput(inode);
			freed++;
		}
		brelse(map);
		brelse(tbl);
		cond_resched();
	}
	if (freed)
		pr_info("vexfs (%s): freed %u orphan inodes (unlinked while open at the crash)\n",
			sb->s_id, freed);
	if (truncated)
		pr_info("vexfs (%s): finished %u truncates interrupted by the crash\n",
			sb->s_id, truncated);
	return err;
}
