// SPDX-License-Identifier: GPL-2.0
/*
 * chunks.c - VEXFS_IOC_SET_CHUNKS and VEXFS_IOC_GET_CHUNKS: a file's whole
 * chunk set through user memory, a page of chunks and vectors at a time
 * (vector.c replaces and reads the set; docs/UAPI.md has the protocol).
 *
 * Locking: SET holds the inode lock (as a write does), GET holds it shared
 * so that a set is not replaced between the pages of one call; the index
 * lock is taken by vector.c only around copies between kernel buffers and
 * the index, never across a copy to or from user memory.
 */
#include <linux/uaccess.h>
#include <linux/mount.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vector.h"

/* The argument struct, any size from the first version up (ioctl.c). */
static int vexfs_chunks_arg(struct vexfs_ioc_chunks *a, void __user *uarg, u32 *usize)
{
	return vexfs_copy_arg_ver(a, sizeof(*a), uarg, sizeof(*a), usize);
}

/* The chunks of a SET_CHUNKS call, read from user memory a step at a time. */
struct vexfs_user_src {
	struct vexfs_chunk_src src;
	const struct vexfs_ioc_chunk __user *chunks;
	const u32 __user *vectors;
	u32 dim;
};

static int vexfs_user_read(struct vexfs_chunk_src *src, u32 first, u32 n,
			   struct vexfs_ioc_chunk *ch, u32 *bits)
{
	struct vexfs_user_src *u = container_of(src, struct vexfs_user_src, src);

	if (copy_from_user(ch, u->chunks + first, (size_t)n * sizeof(*ch)) ||
	    copy_from_user(bits, u->vectors + (size_t)first * u->dim,
			   (size_t)n * u->dim * sizeof(u32)))
		return -EFAULT;
	return 0;
}

long vexfs_ioc_set_chunks(struct file *file, void __user *uarg)
{
	struct inode *inode = file_inode(file);
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_ioc_chunks a;
	struct vexfs_user_src u = { .src = { .read = vexfs_user_read } };
	u32 usize;
	int err;

	err = vexfs_chunks_arg(&a, uarg, &usize);
	if (err)
		return err;
	if (a.flags || a.first)
		return -EINVAL;
	if (a.count > VEXFS_IOC_MAX_CHUNKS)
		return -E2BIG;
	if (a.count) {
		if (a.dim > VEXFS_IOC_MAX_DIM)
			return -E2BIG;
		if (a.dim != vi->dim)
			return -EINVAL;
	}
	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	err = inode_permission(file_mnt_user_ns(file), inode, MAY_WRITE);
	if (err)
		return err;
	u.src.count = a.count;
	u.chunks = u64_to_user_ptr(a.chunks);
	u.vectors = u64_to_user_ptr(a.vectors);
	u.dim = vi->dim;
	err = mnt_want_write_file(file);
	if (err)
		return err;
	inode_lock(inode);
	err = vexfs_chunks_replace(inode, &u.src);
	inode_unlock(inode);
	mnt_drop_write_file(file);
	/* Dropping a set that is not there leaves what was asked for. */
	return !a.count && err == -ENODATA ? 0 : err;
}

long vexfs_ioc_get_chunks(struct file *file, void __user *uarg)
{
	struct inode *inode = file_inode(file);
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_ioc_chunk __user *uch;
	struct vexfs_ioc_chunk *ch = NULL;
	struct vexfs_ioc_chunks a;
	u32 __user *uvec;
	u32 usize, per, done = 0, cap, total = 0;
	u64 data_version = 0;
	bool stale = false;
	u32 *bits = NULL;
	int err;

	err = vexfs_chunks_arg(&a, uarg, &usize);
	if (err)
		return err;
	if (a.flags)
		return -EINVAL;
	if (a.count && a.dim < vi->dim) {
		/* The vectors buffer is too small: tell the caller the dimension. */
		a.dim = vi->dim;
		if (copy_to_user(uarg, &a, min_t(u32, usize, sizeof(a))))
			return -EFAULT;
		return -ERANGE;
	}
	per = vexfs_chunks_per_step(vi->dim);
	ch = kmalloc_array(per, sizeof(*ch), GFP_KERNEL);
	bits = kvmalloc_array((size_t)per * vi->dim, sizeof(u32), GFP_KERNEL);
	if (!ch || !bits) {
		err = -ENOMEM;
		goto out;
	}
	uch = u64_to_user_ptr(a.chunks);
	uvec = u64_to_user_ptr(a.vectors);
	cap = a.count;
	inode_lock_shared(inode);
	do {
		u32 k = min(per, cap - done);

		err = vexfs_chunks_get(inode, a.first + done, &k, ch, bits, &total, &stale,
				       &data_version);
		if (err)
			break;
		if (k && (copy_to_user(uch + done, ch, (size_t)k * sizeof(*ch)) ||
			  copy_to_user(uvec + (size_t)done * vi->dim, bits,
				       (size_t)k * vi->dim * sizeof(u32)))) {
			err = -EFAULT;
			break;
		}
		done += k;
		if (!k)
			break;
		cond_resched();
	} while (done < cap);
	inode_unlock_shared(inode);
	if (err)
		goto out;
	a.dim = vi->dim;
	a.count = done;
	a.flags = stale ? VEXFS_CHUNKS_F_STALE : 0;
	a.total = total;
	a.data_version = data_version;
	if (copy_to_user(uarg, &a, min_t(u32, usize, sizeof(a))))
		err = -EFAULT;
out:
	kfree(ch);
	kvfree(bits);
	return err;
}
