// SPDX-License-Identifier: GPL-2.0
/*
 * orphan.c - after an unclean shutdown, free the inodes that were unlinked
 * while still open. Their last-link removal committed (links_count 0 on
 * disk), but the final close never came: they are in use in the bitmap,
 * have no name and no links. A committed state never holds any other
 * in-use inode without links, so a scan finds exactly the orphans.
 */
#include "vexfs.h"

int vexfs_reclaim_orphans(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	u32 ino, freed = 0;
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
		/* The inodes of this table block: links_count is at byte 2. */
		for (i = offset / VEXFS_INODE_SIZE; i < VEXFS_INODES_PER_BLOCK &&
		     ino <= sbi->geom.inodes_count; i++, ino++) {
			const struct vexfs_inode *raw =
				(const void *)(tbl->b_data + i * VEXFS_INODE_SIZE);
			struct inode *inode;

			if (!test_bit_le((ino - 1) % (VEXFS_BLOCK_SIZE * 8), map->b_data) ||
			    raw->i_links_count || !raw->i_mode)
				continue;
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
	return err;
}
