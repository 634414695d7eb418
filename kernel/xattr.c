// SPDX-License-Identifier: GPL-2.0
/*
 * xattr.c - extended attributes. VexFS stores one: "user.vexfs.vector", the
 * file's vector as raw little-endian float32, the very vector the ioctls
 * set and search (so getfattr/setfattr, cp --preserve=xattr, tar --xattrs
 * and rsync -X carry vectors). Other names are not supported.
 */
#include <linux/xattr.h>
#include <linux/slab.h>

#include "vector.h"

#define VEXFS_VECTOR_SUFFIX "vexfs.vector"	/* after the "user." prefix */

static int vexfs_xattr_user_get(const struct xattr_handler *handler, struct dentry *unused,
				struct inode *inode, const char *name, void *buffer, size_t size)
{
	u32 dim = vexfs_vindex_dim(inode->i_sb);
	u32 *bits;
	int err;

	if (strcmp(name, VEXFS_VECTOR_SUFFIX))
		return -EOPNOTSUPP;
	if (!dim)
		return -EOPNOTSUPP;
	if (!(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		return -ENODATA;
	if (!buffer)
		return dim * sizeof(u32);	/* size query */
	if (size < dim * sizeof(u32))
		return -ERANGE;
	bits = kvmalloc_array(dim, sizeof(u32), GFP_KERNEL);
	if (!bits)
		return -ENOMEM;
	err = vexfs_vector_get(inode, bits, dim);
	if (err >= 0) {
		u32 i;

		/* On disk and in the attribute the floats are little-endian. */
		for (i = 0; i < dim; i++)
			((__le32 *)buffer)[i] = cpu_to_le32(bits[i]);
		err = dim * sizeof(u32);
	}
	kvfree(bits);
	return err;
}

/* Called with the inode locked and write permission checked by the VFS. */
static int vexfs_xattr_user_set(const struct xattr_handler *handler,
				struct user_namespace *mnt_userns, struct dentry *unused,
				struct inode *inode, const char *name, const void *value,
				size_t size, int flags)
{
	u32 dim = vexfs_vindex_dim(inode->i_sb);
	bool has = VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR;
	u32 *bits;
	int err;
	u32 i;

	if (strcmp(name, VEXFS_VECTOR_SUFFIX))
		return -EOPNOTSUPP;
	if (!dim || !S_ISREG(inode->i_mode))
		return -EOPNOTSUPP;
	if (!value) {	/* removexattr */
		if (flags & XATTR_CREATE)
			return -EINVAL;
		return vexfs_vector_remove(inode);
	}
	if ((flags & XATTR_CREATE) && has)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !has)
		return -ENODATA;
	if (size != dim * sizeof(u32))
		return size > VEXFS_IOC_MAX_DIM * sizeof(u32) ? -E2BIG : -EINVAL;
	bits = kvmalloc_array(dim, sizeof(u32), GFP_KERNEL);
	if (!bits)
		return -ENOMEM;
	for (i = 0; i < dim; i++)
		bits[i] = le32_to_cpu(((const __le32 *)value)[i]);
	err = vexfs_vector_set(inode, bits, dim);
	kvfree(bits);
	return err;
}

static const struct xattr_handler vexfs_xattr_user_handler = {
	.prefix	= XATTR_USER_PREFIX,
	.get	= vexfs_xattr_user_get,
	.set	= vexfs_xattr_user_set,
};

const struct xattr_handler *vexfs_xattr_handlers[] = {
	&vexfs_xattr_user_handler,
	NULL,
};

ssize_t vexfs_listxattr(struct dentry *dentry, char *buf, size_t size)
{
	static const char name[] = XATTR_USER_PREFIX VEXFS_VECTOR_SUFFIX;
	struct inode *inode = d_inode(dentry);

	if (!(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		return 0;
	if (!buf)
		return sizeof(name);
	if (size < sizeof(name))
		return -ERANGE;
	memcpy(buf, name, sizeof(name));
	return sizeof(name);
}
