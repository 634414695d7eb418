// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - regular files: read, write, mmap and fsync go through the page
 * cache and the block map in inode.c.
 */
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#include "vector.h"

/*
 * fsync: write the data back, then commit the journal (the inode, its block
 * map and, for files with a vector, the vector-store record were logged as
 * they changed) and flush the device cache. Without a journal: the data,
 * the buffers tied to the inode, the inode, and the vector-store blocks.
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
		err = write_inode_now(vi->store, 1);
	return err;
}

/*
 * A write fault on a shared mapping allocates the page's blocks now, inside
 * a journal handle: writeback must never have to allocate.
 */
static vm_fault_t vexfs_page_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct inode *inode = file_inode(vma->vm_file);
	handle_t *handle;
	int err;

	sb_start_pagefault(inode->i_sb);
	file_update_time(vma->vm_file);
	handle = vexfs_journal_begin(inode->i_sb, VEXFS_CREDITS_WRITE);
	if (IS_ERR(handle)) {
		err = PTR_ERR(handle);
	} else {
		err = block_page_mkwrite(vma, vmf, vexfs_get_block);
		if (!err)
			vexfs_journal_order_data(inode, page_offset(vmf->page), PAGE_SIZE);
		vexfs_journal_end(handle);
	}
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
	.llseek		= generic_file_llseek,
	.read_iter	= generic_file_read_iter,
	.write_iter	= generic_file_write_iter,
	.mmap		= vexfs_file_mmap,
	.open		= generic_file_open,
	.fsync		= vexfs_fsync,
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
