// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - regular files: read, write, mmap and fsync go through the page
 * cache and the block map in inode.c.
 */
#include "vexfs.h"

const struct file_operations vexfs_file_operations = {
	.llseek		= generic_file_llseek,
	.read_iter	= generic_file_read_iter,
	.write_iter	= generic_file_write_iter,
	.mmap		= generic_file_mmap,
	.open		= generic_file_open,
	/* Writes back data, then the inode and its indirect blocks (tied to it). */
	.fsync		= generic_file_fsync,
	.splice_read	= generic_file_splice_read,
	.splice_write	= iter_file_splice_write,
};

const struct inode_operations vexfs_file_inode_operations = {
	.setattr	= vexfs_setattr,
	.getattr	= vexfs_getattr,
};
