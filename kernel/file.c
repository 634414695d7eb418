// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - regular files: read, write, mmap and fsync go through the page
 * cache and the block map in inode.c; O_DIRECT goes to the blocks already
 * mapped (through iomap) and leaves allocation to the page cache. i_rwsem
 * serialises writes, truncate, fallocate and the block lookups of direct
 * reads; mapping->invalidate_lock keeps page faults out of a range being
 * punched.
 */
#include <linux/backing-dev.h>
#include <linux/blkdev.h>
#include <linux/iomap.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#include "vector.h"

/*
 * fsync: write the data back, then commit the journal (the inode, its block
 * map and, for files with a chunk set, the vector-store records and slot
 * bitmap were logged as they changed) and flush the device cache. Without a
 * journal: the data, the buffers tied to the inode, the inode, and the
 * vector-store and slot-bitmap blocks.
 */
int vexfs_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;
	struct vexfs_vindex *vi = VEXFS_VI(sb);
	int err;

	if (VEXFS_SB(sb)->journal) {
		err = file_write_and_wait_range(file, start, end);
		if (!err)
			err = vexfs_journal_commit(sb, true);
		if (!err)
			err = blkdev_issue_flush(sb->s_bdev);
		return err;
	}
	err = generic_file_fsync(file, start, end, datasync);
	if (err || !vi || !(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		return err;
	err = sync_mapping_buffers(vi->store->i_mapping);
	if (!err)
		err = sync_mapping_buffers(vi->slotmap->i_mapping);
	if (!err)
		err = write_inode_now(vi->store, 1);
	if (!err)
		err = write_inode_now(vi->slotmap, 1);
	return err;
}

/*
 * O_DIRECT through iomap: one mapping call per run of blocks that follow
 * on disk (vexfs_map_blocks maps up to a whole indirect block's run), not
 * direct-io.c's per-page work. Lookups only, never allocation: a direct
 * write that reaches a hole, or the block holding EOF, stops there
 * (-ENOTBLK: iomap_dio_rw returns what it wrote) and the rest is written
 * through the page cache, which allocates under the journal and orders the
 * data before the commit that maps it. So a direct write exposes no stale
 * block, and overwriting mapped blocks below EOF changes no metadata.
 */
static int vexfs_iomap_begin(struct inode *inode, loff_t pos, loff_t length, unsigned int flags,
			     struct iomap *iomap, struct iomap *srcmap)
{
	u64 first = pos >> VEXFS_BLOCK_SIZE_BITS, last, next;
	struct vexfs_map map;
	u32 want;
	int err;

	if (WARN_ON_ONCE(flags & IOMAP_ZERO))
		return -EIO;
	if (flags & IOMAP_WRITE) {
		/* Whole blocks below EOF only: i_size never changes here. */
		loff_t below_eof = round_down(i_size_read(inode), VEXFS_BLOCK_SIZE);

		if (pos >= below_eof)
			return -ENOTBLK;
		length = min(length, below_eof - pos);
	}
	last = (pos + length - 1) >> VEXFS_BLOCK_SIZE_BITS;
	want = min_t(u64, last - first + 1, U32_MAX);
	err = vexfs_map_blocks(inode, first, want, false, &map);
	if (err)
		return err;
	iomap->bdev = inode->i_sb->s_bdev;
	iomap->offset = (loff_t)first << VEXFS_BLOCK_SIZE_BITS;
	/*
	 * The blocks' mapping may not be committed yet (a buffered write's
	 * allocation in the running transaction): an O_DSYNC write must then
	 * commit the journal too, never settle for FUA alone.
	 */
	iomap->flags = (flags & IOMAP_WRITE) ? IOMAP_F_DIRTY : 0;
	if (map.block_nr) {
		iomap->type = IOMAP_MAPPED;
		iomap->addr = (u64)map.block_nr << VEXFS_BLOCK_SIZE_BITS;
		iomap->length = (u64)map.len << VEXFS_BLOCK_SIZE_BITS;
		return 0;
	}
	if (flags & IOMAP_WRITE)
		return -ENOTBLK;
	/* A hole reads as zeros: it runs to the next mapped block (SEEK_DATA's walk). */
	err = vexfs_map_next(inode, first + 1, first + want, true, &next);
	if (err < 0)
		return err;
	iomap->type = IOMAP_HOLE;
	iomap->addr = IOMAP_NULL_ADDR;
	iomap->length = ((err ? next : first + want) - first) << VEXFS_BLOCK_SIZE_BITS;
	return 0;
}

static const struct iomap_ops vexfs_iomap_ops = {
	.iomap_begin	= vexfs_iomap_begin,
};

/* As direct-io.c: position, buffer addresses and lengths aligned to the device's logical block. */
static bool vexfs_dio_aligned(struct kiocb *iocb, struct iov_iter *iter)
{
	struct inode *inode = file_inode(iocb->ki_filp);

	return !((iocb->ki_pos | iov_iter_alignment(iter)) &
		 (bdev_logical_block_size(inode->i_sb->s_bdev) - 1));
}

static bool vexfs_dio_lock(struct kiocb *iocb, struct inode *inode, bool shared)
{
	if (iocb->ki_flags & IOCB_NOWAIT)
		return shared ? inode_trylock_shared(inode) : inode_trylock(inode);
	if (shared)
		inode_lock_shared(inode);
	else
		inode_lock(inode);
	return true;
}

/*
 * i_rwsem shared keeps truncate and fallocate (which take it exclusive,
 * then wait for i_dio_count) from changing the block map under the
 * lookups; iomap_dio_rw writes back dirty page-cache pages of the range
 * first and counts the request in i_dio_count until it completes. At or
 * past EOF a read returns 0 before any alignment check, as direct-io.c
 * does (iomap alone would zero-fill holes without checking alignment).
 */
static ssize_t vexfs_file_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t ret;

	if (!(iocb->ki_flags & IOCB_DIRECT))
		return generic_file_read_iter(iocb, to);
	if (inode->i_ino < VEXFS_FIRST_INO)
		return -EINVAL;
	if (!iov_iter_count(to) || iocb->ki_pos >= i_size_read(inode))
		return 0;
	if (!vexfs_dio_aligned(iocb, to))
		return -EINVAL;
	if (!vexfs_dio_lock(iocb, inode, true))
		return -EAGAIN;
	ret = iomap_dio_rw(iocb, to, &vexfs_iomap_ops, NULL, 0, NULL, 0);
	inode_unlock_shared(inode);
	file_accessed(iocb->ki_filp);
	return ret;
}

/*
 * Direct writes hold i_rwsem exclusive, as buffered ones do. A misaligned
 * request is -EINVAL before anything (mtime included) changes.
 */
static ssize_t vexfs_file_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	bool buffered = false;
	ssize_t ret;

	if (!(iocb->ki_flags & IOCB_DIRECT))
		return generic_file_write_iter(iocb, from);
	if (inode->i_ino < VEXFS_FIRST_INO)
		return -EINVAL;
	if (!vexfs_dio_lock(iocb, inode, false))
		return -EAGAIN;
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	if (!vexfs_dio_aligned(iocb, from)) {
		ret = -EINVAL;
		goto out;
	}
	ret = file_remove_privs(file);
	if (!ret)
		ret = file_update_time(file);
	if (ret)
		goto out;
	vexfs_data_changed(inode);	/* the chunk set no longer describes the data */
	current->backing_dev_info = inode_to_bdi(inode);
	ret = iomap_dio_rw(iocb, from, &vexfs_iomap_ops, NULL, 0, NULL, 0);
	/* Page-cache pages of the range it could not drop (mmap): all buffered. */
	if (ret == -ENOTBLK)
		ret = 0;
	/* Stopped at a hole or EOF: the rest through the page cache. */
	if (ret >= 0 && iov_iter_count(from)) {
		buffered = true;
		ret = direct_write_fallback(iocb, from, ret, generic_perform_write(iocb, from));
	}
	current->backing_dev_info = NULL;
out:
	inode_unlock(inode);
	/* O_SYNC / O_DSYNC: iomap syncs what it wrote itself (AIO included), this the rest. */
	if (ret > 0 && buffered)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

/*
 * A write fault on a shared mapping allocates the page's blocks now, inside
 * a journal handle: writeback must never have to allocate. invalidate_lock
 * (shared) keeps punch hole and zero range from freeing or zeroing the
 * blocks under it meanwhile.
 */
static vm_fault_t vexfs_page_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);
	handle_t *handle;
	int err;

	sb_start_pagefault(inode->i_sb);
	file_update_time(vma->vm_file);
	filemap_invalidate_lock_shared(inode->i_mapping);
	handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_WRITE);
	if (IS_ERR(handle)) {
		err = PTR_ERR(handle);
	} else {
		vexfs_data_changed(inode);	/* the chunk set no longer describes the data */
		err = block_page_mkwrite(vma, vmf, vexfs_get_block);
		if (!err)
			vexfs_journal_order_data(inode, page_offset(vmf->page), PAGE_SIZE);
		vexfs_journal_end(handle);
	}
	filemap_invalidate_unlock_shared(inode->i_mapping);
	sb_end_pagefault(inode->i_sb);
	return block_page_mkwrite_return(err);
}

static const struct vm_operations_struct vexfs_file_vm_ops = {
	.fault		= filemap_fault,
	.map_pages	= filemap_map_pages,
	.page_mkwrite	= vexfs_page_mkwrite,
};

static int vexfs_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	file_accessed(file);
	vma->vm_ops = &vexfs_file_vm_ops;
	return 0;
}

const struct file_operations vexfs_file_operations = {
	.llseek		= vexfs_file_llseek,
	.read_iter	= vexfs_file_read_iter,
	.write_iter	= vexfs_file_write_iter,
	.mmap		= vexfs_file_mmap,
	.open		= generic_file_open,
	.fsync		= vexfs_fsync,
	.fallocate	= vexfs_fallocate,
	.unlocked_ioctl	= vexfs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.splice_read	= generic_file_splice_read,
	.splice_write	= iter_file_splice_write,
};

const struct inode_operations vexfs_file_inode_operations = {
	.setattr	= vexfs_setattr,
	.getattr	= vexfs_getattr,
	.listxattr	= vexfs_listxattr,
};
