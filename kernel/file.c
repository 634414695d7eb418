// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - regular files: read, write, mmap and fsync go through the page
 * cache and the block map in inode.c.
 */
#include "vector.h"

/*
 * fsync: the file's data, inode and indirect blocks, and, when it carries a
 * vector, the vector-store blocks holding its record.
 */
static int vexfs_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct inode *inode = file_inode(file);
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	int err;

	err = generic_file_fsync(file, start, end, datasync);
	if (err || !vi || !(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		return err;
	err = sync_mapping_buffers(vi->store->i_mapping);
	if (!err)
		err = write_inode_now(vi->store, 1);
	return err;
}

const struct file_operations vexfs_file_operations = {
	.llseek		= generic_file_llseek,
	.read_iter	= generic_file_read_iter,
	.write_iter	= generic_file_write_iter,
	.mmap		= generic_file_mmap,
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
