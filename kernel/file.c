// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - regular files: read, write, mmap and fsync go through the page
 * cache and the block map in inode.c; O_DIRECT goes to the blocks already
 * mapped and leaves allocation to the page cache. i_rwsem serialises
 * writes, truncate, fallocate and the block lookups of direct reads;
 * mapping->invalidate_lock keeps page faults out of a range being punched.
 */
#include <linux/blkdev.h>
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
 * O_DIRECT block lookup: never allocates. A direct write that reaches a
 * hole or EOF stops there (direct-io.c turns the unmapped block into a
 * short write) and __generic_file_write_iter() writes the rest through the
 * page cache, which allocates under the journal and orders the data before
 * the commit that maps it: a direct write can expose no stale block, and
 * an overwrite of mapped blocks changes no metadata.
 */
static int vexfs_get_block_dio(struct inode *inode, sector_t iblock,
			       struct buffer_head *bh_result, int create)
{
	return vexfs_get_block(inode, iblock, bh_result, 0);
}

/*
 * Writes come in under i_rwsem; DIO_LOCKING takes it for the lookups of a
 * read. Both are counted in i_dio_count, which truncate and fallocate wait
 * for. Alignment: the logical block size of the device, else -EINVAL.
 */
ssize_t vexfs_direct_IO(struct kiocb *iocb, struct iov_iter *iter)
{
	struct inode *inode = file_inode(iocb->ki_filp);

	if (!S_ISREG(inode->i_mode) || inode->i_ino < VEXFS_FIRST_INO)
		return -EINVAL;
	if (iov_iter_rw(iter) == WRITE)
		vexfs_data_changed(inode);	/* the chunk set no longer describes the data */
	return blockdev_direct_IO(iocb, inode, iter, vexfs_get_block_dio);
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
	.read_iter	= generic_file_read_iter,
	.write_iter	= generic_file_write_iter,
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
