// SPDX-License-Identifier: GPL-2.0
/*
 * xattr.c - extended attributes. VexFS stores two, both views of the file's
 * chunk set (so getfattr/setfattr, cp --preserve=xattr, tar --xattrs and
 * rsync -X carry vectors):
 *   "user.vexfs.vector"  the vector of a one-chunk set, raw little-endian
 *                        float32; setting it makes the set one chunk
 *                        covering the whole file; on a set of several
 *                        chunks reading it fails with -E2BIG
 *   "user.vexfs.chunks"  the whole set: struct vexfs_chunks_xattr, then per
 *                        chunk { __le64 offset, __le64 length, __le32
 *                        float32_bits[dim] } (shim/uapi/vexfs_ioctl.h);
 *                        setting it is VEXFS_IOC_SET_CHUNKS reading from the
 *                        value instead of user memory
 * Other names are not supported. Reads hold the inode lock shared, so a set
 * is not replaced while it is copied out; writes come with it held.
 */
#include <linux/xattr.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/unaligned.h>

#include "vector.h"

#define VEXFS_VECTOR_SUFFIX "vexfs.vector"	/* after the "user." prefix */
#define VEXFS_CHUNKS_SUFFIX "vexfs.chunks"

/* Bytes of user.vexfs.chunks for count chunks of dimension dim. */
static size_t vexfs_chunks_xattr_size(u32 count, u32 dim)
{
	return sizeof(struct vexfs_chunks_xattr) + (size_t)count * (16 + 4 * (size_t)dim);
}

static int vexfs_xattr_vector_get(struct inode *inode, u32 dim, void *buffer, size_t size)
{
	u32 *bits;
	int err;
	u32 i;

	if (!(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		return -ENODATA;
	if (vexfs_chunk_count(inode) > 1)
		return -E2BIG;	/* no single vector: user.vexfs.chunks holds the set */
	if (!buffer)
		return dim * sizeof(u32);	/* size query */
	if (size < dim * sizeof(u32))
		return -ERANGE;
	bits = kvmalloc_array(dim, sizeof(u32), GFP_KERNEL);
	if (!bits)
		return -ENOMEM;
	err = vexfs_vector_get(inode, bits, dim);
	if (err >= 0) {
		/* On disk and in the attribute the floats are little-endian. */
		for (i = 0; i < dim; i++)
			((__le32 *)buffer)[i] = cpu_to_le32(bits[i]);
		err = dim * sizeof(u32);
	}
	kvfree(bits);
	return err;
}

/* Copy the whole set into buffer (size bytes), a page of chunks at a time. */
static int vexfs_xattr_chunks_fill(struct inode *inode, u32 dim, u8 *buffer, size_t size)
{
	struct vexfs_chunks_xattr *h = (struct vexfs_chunks_xattr *)buffer;
	u32 per = vexfs_chunks_per_step(dim), done = 0, total = 0, i, j;
	struct vexfs_ioc_chunk *ch;
	u8 *p = buffer + sizeof(*h);
	u64 data_version;
	bool stale;
	u32 *bits;
	int err = 0;

	ch = kmalloc_array(per, sizeof(*ch), GFP_KERNEL);
	bits = kvmalloc_array((size_t)per * dim, sizeof(u32), GFP_KERNEL);
	if (!ch || !bits) {
		err = -ENOMEM;
		goto out;
	}
	do {
		u32 k = per;

		err = vexfs_chunks_get(inode, done, &k, ch, bits, &total, &stale, &data_version);
		if (err)
			goto out;
		if (!done && vexfs_chunks_xattr_size(total, dim) > size) {
			err = vexfs_chunks_xattr_size(total, dim) > XATTR_SIZE_MAX ? -E2BIG : -ERANGE;
			goto out;
		}
		for (i = 0; i < k; i++) {
			put_unaligned_le64(ch[i].offset, p);
			put_unaligned_le64(ch[i].length, p + 8);
			p += 16;
			for (j = 0; j < dim; j++, p += 4)
				put_unaligned_le32(bits[(size_t)i * dim + j], p);
		}
		done += k;
		if (!k)
			break;
	} while (done < total);
	h->magic = cpu_to_le32(VEXFS_CHUNKS_XATTR_MAGIC);
	h->version = cpu_to_le32(VEXFS_CHUNKS_XATTR_VERSION);
	h->dim = cpu_to_le32(dim);
	h->count = cpu_to_le32(done);
	err = vexfs_chunks_xattr_size(done, dim);
out:
	kfree(ch);
	kvfree(bits);
	return err;
}

static int vexfs_xattr_chunks_get(struct inode *inode, u32 dim, void *buffer, size_t size)
{
	u32 count = vexfs_chunk_count(inode);
	size_t need = vexfs_chunks_xattr_size(count, dim);

	if (!count)
		return -ENODATA;
	if (need > XATTR_SIZE_MAX)
		return -E2BIG;	/* too large for an attribute: VEXFS_IOC_GET_CHUNKS reads it */
	if (!buffer)
		return need;	/* size query */
	if (size < need)
		return -ERANGE;
	return vexfs_xattr_chunks_fill(inode, dim, buffer, size);
}

static int vexfs_xattr_user_get(const struct xattr_handler *handler, struct dentry *unused,
				struct inode *inode, const char *name, void *buffer, size_t size)
{
	u32 dim = vexfs_vindex_dim(inode->i_sb);
	int err;

	if (!dim)
		return -EOPNOTSUPP;
	if (!strcmp(name, VEXFS_VECTOR_SUFFIX))
		return vexfs_xattr_vector_get(inode, dim, buffer, size);
	if (strcmp(name, VEXFS_CHUNKS_SUFFIX))
		return -EOPNOTSUPP;
	inode_lock_shared(inode);
	err = vexfs_xattr_chunks_get(inode, dim, buffer, size);
	inode_unlock_shared(inode);
	return err;
}

/* The chunks of a user.vexfs.chunks value (kernel memory, checked in size). */
struct vexfs_xattr_src {
	struct vexfs_chunk_src src;
	const u8 *recs;		/* the records after the header */
	u32 dim;
};

static int vexfs_xattr_read(struct vexfs_chunk_src *src, u32 first, u32 n,
			    struct vexfs_ioc_chunk *ch, u32 *bits)
{
	struct vexfs_xattr_src *x = container_of(src, struct vexfs_xattr_src, src);
	size_t rec = 16 + 4 * (size_t)x->dim;
	u32 i, j;

	for (i = 0; i < n; i++) {
		const u8 *p = x->recs + (size_t)(first + i) * rec;

		ch[i].offset = get_unaligned_le64(p);
		ch[i].length = get_unaligned_le64(p + 8);
		for (j = 0; j < x->dim; j++)
			bits[(size_t)i * x->dim + j] = get_unaligned_le32(p + 16 + 4 * j);
	}
	return 0;
}

static int vexfs_xattr_chunks_set(struct inode *inode, u32 dim, const void *value, size_t size)
{
	const struct vexfs_chunks_xattr *h = value;
	struct vexfs_xattr_src x = { .src = { .read = vexfs_xattr_read } };
	u32 count;
	int err;

	if (size < sizeof(*h) || le32_to_cpu(h->magic) != VEXFS_CHUNKS_XATTR_MAGIC ||
	    le32_to_cpu(h->version) != VEXFS_CHUNKS_XATTR_VERSION)
		return -EINVAL;
	count = le32_to_cpu(h->count);
	if (count > VEXFS_IOC_MAX_CHUNKS)
		return -E2BIG;
	if (le32_to_cpu(h->dim) != dim)
		return le32_to_cpu(h->dim) > VEXFS_IOC_MAX_DIM ? -E2BIG : -EINVAL;
	if (size != vexfs_chunks_xattr_size(count, dim))
		return -EINVAL;
	x.src.count = count;
	x.recs = (const u8 *)value + sizeof(*h);
	x.dim = dim;
	err = vexfs_chunks_replace(inode, &x.src);
	/* An empty set over no set: what was asked for. */
	return !count && err == -ENODATA ? 0 : err;
}

/* Called with the inode locked and write permission checked by the VFS. */
static int vexfs_xattr_user_set(const struct xattr_handler *handler,
				struct user_namespace *mnt_userns, struct dentry *unused,
				struct inode *inode, const char *name, const void *value,
				size_t size, int flags)
{
	u32 dim = vexfs_vindex_dim(inode->i_sb);
	bool vector = !strcmp(name, VEXFS_VECTOR_SUFFIX);
	bool has = VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR;
	u32 *bits;
	int err;
	u32 i;

	if (!vector && strcmp(name, VEXFS_CHUNKS_SUFFIX))
		return -EOPNOTSUPP;
	if (!dim || !S_ISREG(inode->i_mode))
		return -EOPNOTSUPP;
	if (!value) {	/* removexattr: either name drops the set */
		if (flags & XATTR_CREATE)
			return -EINVAL;
		return vexfs_vector_remove(inode);
	}
	if ((flags & XATTR_CREATE) && has)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !has)
		return -ENODATA;
	if (!vector)
		return vexfs_xattr_chunks_set(inode, dim, value, size);
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

/*
 * user.vexfs.vector for a one-chunk set, then user.vexfs.chunks for every
 * set: a copy that sets the names in this order ends with the whole set.
 */
ssize_t vexfs_listxattr(struct dentry *dentry, char *buf, size_t size)
{
	static const char vname[] = XATTR_USER_PREFIX VEXFS_VECTOR_SUFFIX;
	static const char cname[] = XATTR_USER_PREFIX VEXFS_CHUNKS_SUFFIX;
	struct inode *inode = d_inode(dentry);
	u32 count = vexfs_chunk_count(inode);
	size_t need;

	if (!count || !(VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		return 0;
	need = (count == 1 ? sizeof(vname) : 0) + sizeof(cname);
	if (!buf)
		return need;
	if (size < need)
		return -ERANGE;
	if (count == 1) {
		memcpy(buf, vname, sizeof(vname));
		buf += sizeof(vname);
	}
	memcpy(buf, cname, sizeof(cname));
	return need;
}
