// SPDX-License-Identifier: GPL-2.0
/*
 * balloc.c - block and inode allocation over the on-disk bitmaps.
 *
 * Bit n of the block bitmap is block n; bit n of the inode bitmap is inode
 * n + 1 (little-endian bit order, as ext2 and the core's bitmap module).
 * sbi->alloc_lock is held across every find-then-set, so no block or inode
 * is handed out twice, and it protects the free counters.
 */
#include <linux/bitops.h>
#include <linux/jbd2.h>

#include "vexfs.h"

#define BITS_PER_BITMAP_BLOCK (VEXFS_BLOCK_SIZE * 8)

/* Was block_nr freed by a transaction that has not committed yet? */
static bool vexfs_freed_uncommitted(struct super_block *sb, u64 block_nr)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	void *v;

	if (!sbi->journal)
		return false;
	v = xa_load(&sbi->freed_blocks, block_nr);
	if (!v)
		return false;
	if (tid_geq(READ_ONCE(sbi->journal->j_commit_sequence), (tid_t)xa_to_value(v))) {
		xa_erase(&sbi->freed_blocks, block_nr);	/* committed: reusable */
		return false;
	}
	return true;
}

/*
 * Find a clear bit in [lo, hi) of the bitmap starting at block map_start,
 * beginning the search at goal and wrapping around, set it and return it.
 * The change is journaled (or, without a journal, tied to @inode so fsync
 * of the inode writes it). Blocks freed by uncommitted transactions are
 * skipped when is_block is set.
 */
static int vexfs_bitmap_alloc(struct super_block *sb, struct inode *inode, bool is_block,
			      u32 map_start, u64 lo, u64 hi, u64 goal, u64 *out)
{
	u64 bit = (goal >= lo && goal < hi) ? goal : lo;
	u64 scanned = 0, span = hi - lo;
	int err;

	while (scanned < span) {
		u32 map_block = map_start + bit / BITS_PER_BITMAP_BLOCK;
		u64 base = bit - bit % BITS_PER_BITMAP_BLOCK;
		u64 end = min_t(u64, base + BITS_PER_BITMAP_BLOCK, hi);
		struct buffer_head *bh;
		unsigned long found = bit - base;

		bh = vexfs_bread(sb, map_block);
		if (!bh) {
			pr_err_ratelimited("vexfs (%s): cannot read bitmap block %u\n",
					   sb->s_id, map_block);
			return -EIO;
		}
		for (;;) {
			found = find_next_zero_bit_le(bh->b_data, end - base, found);
			if (base + found >= end || !is_block || !vexfs_freed_uncommitted(sb, base + found))
				break;
			found++;
		}
		if (base + found < end) {
			err = vexfs_journal_write_access(sb, bh);
			if (!err) {
				__set_bit_le(found, bh->b_data);
				err = vexfs_journal_dirty(sb, inode, bh);
			}
			brelse(bh);
			if (err)
				return err;
			*out = base + found;
			return 0;
		}
		brelse(bh);
		scanned += end - bit;
		bit = end >= hi ? lo : end;
	}
	return -ENOSPC;
}

static int vexfs_bitmap_clear(struct super_block *sb, u32 map_start, u64 bit,
			      const char *what)
{
	struct buffer_head *bh;
	u32 map_block = map_start + bit / BITS_PER_BITMAP_BLOCK;
	int err;

	bh = vexfs_bread(sb, map_block);
	if (!bh) {
		pr_err_ratelimited("vexfs (%s): cannot read bitmap block %u to free %s %llu\n",
				   sb->s_id, map_block, what, bit);
		return -EIO;
	}
	err = vexfs_journal_write_access(sb, bh);
	if (!err) {
		if (!__test_and_clear_bit_le(bit % BITS_PER_BITMAP_BLOCK, bh->b_data))
			pr_err_ratelimited("vexfs (%s): freeing %s %llu which was already free\n",
					   sb->s_id, what, bit);
		err = vexfs_journal_dirty(sb, NULL, bh);
	}
	brelse(bh);
	return err;
}

int vexfs_new_block(struct inode *inode, u32 goal, u32 *out)
{
	struct super_block *sb = inode->i_sb;
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	u64 bit;
	int err;

	mutex_lock(&sbi->alloc_lock);
	if (!sbi->free_blocks) {
		mutex_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	if (!goal)
		goal = sbi->block_goal;
	/* Room for the bitmap block and what the caller logs with it. */
	err = vexfs_journal_ensure(sb, VEXFS_CREDITS_ALLOC);
	if (!err)
		err = vexfs_bitmap_alloc(sb, inode, true, sbi->geom.block_bitmap_start,
					 sbi->geom.data_start, sbi->geom.blocks_count, goal, &bit);
	if (!err) {
		sbi->free_blocks--;
		sbi->block_goal = bit + 1;
		*out = bit;
	}
	mutex_unlock(&sbi->alloc_lock);
	return err;
}

/*
 * Free a block. metadata: it held journaled metadata (indirect, directory,
 * vector-store block), so it is revoked from the journal. On error the block
 * stays in use (nothing changed): the caller keeps its pointer, so the block
 * stays owned instead of leaking.
 */
int vexfs_free_block(struct super_block *sb, u32 block_nr, bool metadata)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	handle_t *handle = journal_current_handle();
	int err;

	/* Never free metadata (block 0 above all) on a bad pointer. */
	if (block_nr < sbi->geom.data_start || block_nr >= sbi->geom.blocks_count)
		return vexfs_corrupt(sb, "attempt to free block %u outside the data area", block_nr);
	/* The bitmap block and the revoke record. */
	err = vexfs_journal_ensure(sb, 3);
	if (err) {
		pr_err_ratelimited("vexfs (%s): cannot free block %u: no journal credits (%d)\n",
				   sb->s_id, block_nr, err);
		return err;
	}
	if (metadata)
		vexfs_journal_forget_meta(sb, block_nr);
	mutex_lock(&sbi->alloc_lock);
	err = vexfs_bitmap_clear(sb, sbi->geom.block_bitmap_start, block_nr, "block");
	if (!err) {
		sbi->free_blocks++;
		/* Not reusable until this transaction commits. */
		if (handle && sbi->journal)
			xa_store(&sbi->freed_blocks, block_nr,
				 xa_mk_value(handle->h_transaction->t_tid), GFP_NOFS);
	}
	mutex_unlock(&sbi->alloc_lock);
	return err;
}

int vexfs_new_ino(struct super_block *sb, u32 *out)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	u64 bit;
	int err;

	mutex_lock(&sbi->alloc_lock);
	if (!sbi->free_inodes) {
		mutex_unlock(&sbi->alloc_lock);
		return -ENOSPC;
	}
	err = vexfs_bitmap_alloc(sb, NULL, false, sbi->geom.inode_bitmap_start,
				 VEXFS_FIRST_INO - 1, sbi->geom.inodes_count,
				 sbi->inode_goal, &bit);
	if (!err) {
		sbi->free_inodes--;
		sbi->inode_goal = bit + 1;
		*out = bit + 1;
	}
	mutex_unlock(&sbi->alloc_lock);
	return err;
}

void vexfs_free_ino(struct super_block *sb, u32 ino)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	if (ino < VEXFS_FIRST_INO || ino > sbi->geom.inodes_count) {
		vexfs_corrupt(sb, "attempt to free reserved or invalid inode %u", ino);
		return;
	}
	mutex_lock(&sbi->alloc_lock);
	if (!vexfs_bitmap_clear(sb, sbi->geom.inode_bitmap_start, ino - 1, "inode"))
		sbi->free_inodes++;
	mutex_unlock(&sbi->alloc_lock);
}

/* Count the set bits of a bitmap region covering nbits bits. */
static s64 vexfs_bitmap_used(struct super_block *sb, u32 start, u32 nblocks, u64 nbits)
{
	s64 used = 0;
	u32 i;

	for (i = 0; i < nblocks; i++) {
		u64 first = (u64)i * BITS_PER_BITMAP_BLOCK;
		u32 bits = min_t(u64, BITS_PER_BITMAP_BLOCK, nbits - first);
		struct buffer_head *bh = vexfs_bread(sb, start + i);
		s64 n;

		if (!bh) {
			pr_err("vexfs (%s): cannot read bitmap block %u\n", sb->s_id, start + i);
			return -EIO;
		}
		n = vexfs_bitmap_count((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, bits);
		brelse(bh);
		if (n < 0)
			return n;
		used += n;
	}
	return used;
}

int vexfs_count_free(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	s64 used_blocks, used_inodes;

	used_blocks = vexfs_bitmap_used(sb, sbi->geom.block_bitmap_start,
					sbi->geom.block_bitmap_blocks, sbi->geom.blocks_count);
	if (used_blocks < 0)
		return used_blocks;
	used_inodes = vexfs_bitmap_used(sb, sbi->geom.inode_bitmap_start,
					sbi->geom.inode_bitmap_blocks, sbi->geom.inodes_count);
	if (used_inodes < 0)
		return used_inodes;
	if (used_blocks < sbi->geom.data_start) {
		pr_err("vexfs (%s): refusing to mount: block bitmap marks only %lld blocks used, metadata alone takes %u\n",
		       sb->s_id, used_blocks, sbi->geom.data_start);
		return -EINVAL;
	}
	if (used_inodes < VEXFS_FIRST_INO - 1) {
		pr_err("vexfs (%s): refusing to mount: inode bitmap does not reserve the first %u inodes\n",
		       sb->s_id, VEXFS_FIRST_INO - 1);
		return -EINVAL;
	}
	sbi->free_blocks = sbi->geom.blocks_count - used_blocks;
	sbi->free_inodes = sbi->geom.inodes_count - used_inodes;
	sbi->block_goal = sbi->geom.data_start;
	sbi->inode_goal = VEXFS_FIRST_INO - 1;
	return 0;
}
