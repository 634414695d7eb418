// SPDX-License-Identifier: GPL-2.0
/*
 * fallocate.c - fallocate(2): preallocation (mode 0, FALLOC_FL_KEEP_SIZE),
 * FALLOC_FL_PUNCH_HOLE and FALLOC_FL_ZERO_RANGE; every other mode is
 * EOPNOTSUPP.
 *
 * The format has no "unwritten" flag: a block fallocate maps is zeroed on
 * disk (WRITE_ZEROES where the device offloads it) while the journal handle
 * that maps it is still open, so the commit that maps it cannot be written
 * before the zeros are on disk, and no crash exposes old data. Blocks mapped
 * past EOF set VEXFS_INODE_FL_EOFBLOCKS in the same transaction (truncate
 * clears it).
 *
 * Locks, in order: i_rwsem (writes, truncate, direct-read lookups),
 * mapping->invalidate_lock (page faults and reads bringing pages back into
 * the range), a journal handle per bounded step, then i_map_lock inside the
 * block-map helpers.
 */
#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/pagemap.h>

#include "vexfs.h"

#define VEXFS_BLOCK_MASK ((loff_t)VEXFS_BLOCK_SIZE - 1)

/*
 * Zero [pos, pos + len) inside one block through the page cache (the page
 * goes to disk with ordinary writeback). A hole already reads as zeros.
 */
static int vexfs_zero_partial(struct inode *inode, loff_t pos, loff_t len)
{
	struct address_space *mapping = inode->i_mapping;
	struct vexfs_map map;
	struct folio *folio;
	int err;

	if (len <= 0)
		return 0;
	err = vexfs_map_blocks(inode, pos >> VEXFS_BLOCK_SIZE_BITS, 1, false, &map);
	if (err || !map.block_nr)
		return err;
	folio = read_mapping_folio(mapping, pos >> PAGE_SHIFT, NULL);
	if (IS_ERR(folio))
		return PTR_ERR(folio);
	folio_lock(folio);
	/* i_rwsem and invalidate_lock are held: nothing truncates it meanwhile. */
	folio_zero_range(folio, offset_in_folio(folio, pos), len);
	folio_mark_dirty(folio);
	folio_unlock(folio);
	folio_put(folio);
	return 0;
}

/* Zero the parts of partial blocks at the edges of [start, end) below EOF. */
static int vexfs_zero_edges(struct inode *inode, loff_t start, loff_t end)
{
	loff_t size = i_size_read(inode);
	loff_t head_end = min(round_up(start, VEXFS_BLOCK_SIZE), end);
	loff_t tail = round_down(end, VEXFS_BLOCK_SIZE);
	int err = 0;

	if (start & VEXFS_BLOCK_MASK)
		err = vexfs_zero_partial(inode, start, min(head_end, size) - start);
	if (!err && (end & VEXFS_BLOCK_MASK) && tail >= head_end && tail > start)
		err = vexfs_zero_partial(inode, tail, min(end, size) - tail);
	return err;
}

/*
 * Write back and drop the page cache over file blocks [first, last): the
 * blocks are about to be freed or zeroed on disk.
 */
static int vexfs_drop_cache(struct inode *inode, u64 first, u64 last)
{
	loff_t start = (loff_t)first << VEXFS_BLOCK_SIZE_BITS;
	loff_t end = ((loff_t)last << VEXFS_BLOCK_SIZE_BITS) - 1;
	int err;

	if (first >= last)
		return 0;
	err = filemap_write_and_wait_range(inode->i_mapping, start, end);
	if (!err)
		truncate_pagecache_range(inode, start, end);
	return err;
}

/*
 * Enough free blocks for the holes of [first, last) and their indirect
 * blocks? Checked before anything changes; a concurrent allocation can
 * still run out midway (the blocks mapped so far stay, as in ext4).
 */
static int vexfs_falloc_space_ok(struct inode *inode, u64 first, u64 last)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(inode->i_sb);
	u64 pos = first, holes = 0, hole, data;
	int ret = 0;

	while (pos < last) {
		ret = vexfs_map_next(inode, pos, last, false, &hole);
		if (ret <= 0)
			break;
		ret = vexfs_map_next(inode, hole, last, true, &data);
		if (ret < 0)
			return ret;
		if (!ret)
			data = last;
		holes += data - hole;
		pos = data;
		cond_resched();
	}
	if (ret < 0)
		return ret;
	/* An indirect block per ADDR_PER_BLOCK blocks, and one per level above. */
	holes += DIV_ROUND_UP_ULL(holes, VEXFS_ADDR_PER_BLOCK) + 3;
	return holes > READ_ONCE(sbi->free_blocks) ? -ENOSPC : 0;
}

/*
 * Unmap the blocks this step allocated but could not zero (the handle is
 * still open: the mapping never commits).
 */
static void vexfs_falloc_undo(struct inode *inode, u64 first, u32 fresh_mask)
{
	u32 i;

	for (i = 0; i < VEXFS_FALLOC_STEP; i++)
		if (fresh_mask & (1u << i))
			vexfs_free_range(inode, first + i, first + i + 1, false);
}

/*
 * Map file blocks [first, first + n) (n <= VEXFS_FALLOC_STEP), allocating
 * holes, in the current handle; zero the fresh blocks on disk (every block
 * when zero_all) before returning. *mapped: how many blocks from first are
 * mapped afterwards. On error nothing fresh stays mapped unzeroed.
 */
static int vexfs_falloc_step(struct inode *inode, u64 first, u32 n, bool zero_all, u32 *mapped)
{
	struct super_block *sb = inode->i_sb;
	u32 phys[VEXFS_FALLOC_STEP];
	u32 fresh_mask = 0, i, run;
	int err = 0;

	BUILD_BUG_ON(VEXFS_FALLOC_STEP > 32);
	for (i = 0; i < n; i++) {
		struct vexfs_map map;

		err = vexfs_map_blocks(inode, first + i, 1, true, &map);
		if (err)
			break;
		phys[i] = map.block_nr;
		if (map.fresh) {
			fresh_mask |= 1u << i;
			/* A freed metadata block may still sit in the device's cache. */
			clean_bdev_aliases(sb->s_bdev, map.block_nr, 1);
		}
	}
	/*
	 * -ENOSPC after some blocks may be jbd2 refusing to extend this handle
	 * (its transaction full or committing), not a full volume: end the
	 * step here; the next step, in a new handle, meets a real ENOSPC again.
	 */
	if (err == -ENOSPC && i > 0)
		err = 0;
	*mapped = i;
	/* Zero runs of consecutive disk blocks with one request each. */
	for (i = 0; i < *mapped; i += run) {
		int zerr;

		run = 1;
		if (!zero_all && !(fresh_mask & (1u << i)))
			continue;
		while (i + run < *mapped && phys[i + run] == phys[i] + run &&
		       (zero_all || (fresh_mask & (1u << (i + run)))))
			run++;
		zerr = sb_issue_zeroout(sb, phys[i], run, GFP_NOFS);
		if (zerr) {
			pr_err_ratelimited("vexfs (%s): inode %lu: cannot zero blocks %u-%u: %d\n",
					   sb->s_id, inode->i_ino, phys[i], phys[i] + run - 1, zerr);
			vexfs_falloc_undo(inode, first, fresh_mask);
			*mapped = 0;
			return zerr;
		}
	}
	return err;
}

/*
 * Map and zero file blocks [first, last) in bounded steps (one journal
 * handle each): fresh blocks only (preallocation), or every block
 * (zero_all, zero range). Without keep_size, i_size grows with each step
 * up to new_size, in the step's transaction; blocks left past EOF set
 * VEXFS_INODE_FL_EOFBLOCKS in it.
 */
static int vexfs_falloc_range(struct inode *inode, u64 first, u64 last, bool zero_all,
			      bool keep_size, loff_t new_size)
{
	struct vexfs_inode_info *vi = VEXFS_I(inode);
	u64 blk = first;
	int err = 0;

	while (blk < last && !err) {
		u32 n = min_t(u64, last - blk, VEXFS_FALLOC_STEP), mapped = 0;
		loff_t mapped_end;
		handle_t *handle;
		int end_err;

		handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_FALLOC);
		if (IS_ERR(handle))
			return PTR_ERR(handle);
		err = vexfs_falloc_step(inode, blk, n, zero_all, &mapped);
		mapped_end = (loff_t)(blk + mapped) << VEXFS_BLOCK_SIZE_BITS;
		if (!keep_size && mapped && i_size_read(inode) < min(mapped_end, new_size))
			i_size_write(inode, min(mapped_end, new_size));
		if (mapped && blk + mapped >
		    DIV_ROUND_UP_ULL(i_size_read(inode), VEXFS_BLOCK_SIZE)) {
			mutex_lock(&vi->i_map_lock);
			vi->i_flags |= VEXFS_INODE_FL_EOFBLOCKS;
			mutex_unlock(&vi->i_map_lock);
		}
		mark_inode_dirty(inode);
		end_err = vexfs_journal_end(handle);
		if (!err)
			err = end_err;
		blk += mapped;
		cond_resched();
	}
	return err;
}

/* FALLOC_FL_PUNCH_HOLE: the range reads as zeros; whole blocks are freed. */
static int vexfs_punch_hole(struct inode *inode, loff_t start, loff_t end)
{
	u64 first = DIV_ROUND_UP_ULL(start, VEXFS_BLOCK_SIZE);
	u64 last = end >> VEXFS_BLOCK_SIZE_BITS;
	handle_t *handle;
	int err, end_err;

	err = vexfs_zero_edges(inode, start, end);
	if (err || first >= last)
		return err;
	err = vexfs_drop_cache(inode, first, last);
	if (err)
		return err;
	handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_TRUNCATE);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = vexfs_free_range(inode, first, last, true);
	end_err = vexfs_journal_end(handle);
	return err ? err : end_err;
}

/*
 * FALLOC_FL_ZERO_RANGE: edges as punch hole, whole blocks zeroed on disk in
 * place, holes preallocated (zeroed).
 */
static int vexfs_zero_range(struct inode *inode, loff_t start, loff_t end, bool keep_size)
{
	u64 first = DIV_ROUND_UP_ULL(start, VEXFS_BLOCK_SIZE);
	u64 last = end >> VEXFS_BLOCK_SIZE_BITS;
	int err;

	err = vexfs_zero_edges(inode, start, end);
	if (!err)
		err = vexfs_drop_cache(inode, first, last);
	if (!err && first < last)
		err = vexfs_falloc_range(inode, first, last, true, keep_size, end);
	return err;
}

/* The new size: i_size grows to the end of the range (no-op with keep_size). */
static int vexfs_falloc_set_size(struct inode *inode, loff_t end, bool keep_size)
{
	handle_t *handle;

	if (keep_size || end <= i_size_read(inode))
		return 0;
	handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_INODE);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	i_size_write(inode, end);
	mark_inode_dirty(inode);
	return vexfs_journal_end(handle);
}

long vexfs_fallocate(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	bool keep_size = mode & FALLOC_FL_KEEP_SIZE;
	loff_t end = offset + len;	/* vfs_fallocate() checked it against s_maxbytes */
	int err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (!S_ISREG(inode->i_mode) || inode->i_ino < VEXFS_FIRST_INO)
		return -EOPNOTSUPP;

	inode_lock(inode);
	if (!keep_size) {
		err = inode_newsize_ok(inode, end);
		if (err)
			goto out;
	}
	/* AIO direct writes finish without i_rwsem; wait for them. */
	inode_dio_wait(inode);
	/* ENOSPC before anything (mtime included) changes. */
	if (mode & FALLOC_FL_ZERO_RANGE)
		err = vexfs_falloc_space_ok(inode, DIV_ROUND_UP_ULL(offset, VEXFS_BLOCK_SIZE),
					    end >> VEXFS_BLOCK_SIZE_BITS);
	else if (!(mode & FALLOC_FL_PUNCH_HOLE))
		err = vexfs_falloc_space_ok(inode, offset >> VEXFS_BLOCK_SIZE_BITS,
					    DIV_ROUND_UP_ULL(end, VEXFS_BLOCK_SIZE));
	if (!err)
		err = file_modified(file);
	if (err)
		goto out;
	/*
	 * Punch and zero change what the file reads; growing it changes its
	 * size. Only preallocation within the size (KEEP_SIZE) leaves the
	 * data as it was, and the chunk set fresh.
	 */
	if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) ||
	    (!keep_size && end > i_size_read(inode)))
		vexfs_data_changed(inode);
	filemap_invalidate_lock(mapping);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		err = vexfs_punch_hole(inode, offset, end);
	} else if (mode & FALLOC_FL_ZERO_RANGE) {
		err = vexfs_zero_range(inode, offset, end, keep_size);
		if (!err)
			err = vexfs_falloc_set_size(inode, end, keep_size);
	} else {
		err = vexfs_falloc_range(inode, offset >> VEXFS_BLOCK_SIZE_BITS,
					 DIV_ROUND_UP_ULL(end, VEXFS_BLOCK_SIZE), false, keep_size, end);
		if (!err)
			err = vexfs_falloc_set_size(inode, end, keep_size);
	}
	filemap_invalidate_unlock(mapping);
out:
	inode_unlock(inode);
	return err;
}
