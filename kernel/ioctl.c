// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl.c - the VexFS ioctls (shim/uapi/vexfs_ioctl.h, docs/UAPI.md): set,
 * get and remove a file's vector, batch set, kNN/range/similarity search,
 * inode-to-path, sync, status, statistics, configuration and rebuild.
 *
 * Every argument struct is copied as copy_struct_from_user() does (any
 * size from the struct's first version up, unknown trailing bytes zero) and
 * copied back only as far as the caller's size reaches; every bound is
 * enforced before memory is allocated for it, and nothing changes when an
 * argument is rejected.
 */
#include <linux/uaccess.h>
#include <linux/file.h>
#include <linux/mount.h>
#include <linux/slab.h>
#include <linux/capability.h>
#include <linux/namei.h>

#include "vector.h"

/*
 * Copy a size-prefixed argument struct as copy_struct_from_user() does: the
 * caller's size (returned in *usize when asked) may be anything from the
 * struct's first version (ver0) up to a page; fields the caller does not know
 * read as zero, and bytes past the kernel's struct must be zero (-E2BIG).
 * The size is fetched once: a size field changed meanwhile is not reread.
 */
int vexfs_copy_arg_ver(void *dst, size_t ksize, const void __user *src, u32 ver0, u32 *usize)
{
	u32 user_size;
	int err;

	if (get_user(user_size, (const u32 __user *)src))
		return -EFAULT;
	if (user_size < ver0 || user_size > PAGE_SIZE)
		return -EINVAL;
	err = copy_struct_from_user(dst, ksize, src, user_size);
	if (err)
		return err;
	if (usize)
		*usize = user_size;
	return 0;
}

/*
 * A struct whose first version is today's: any size from sizeof up. Out
 * copies of such structs (sizeof bytes) stay within the caller's size.
 */
static int vexfs_copy_arg(void *dst, const void __user *src, u32 size)
{
	return vexfs_copy_arg_ver(dst, size, src, size, NULL);
}

/* Copy and check a vector from user space (dim floats, finite). */
static u32 *vexfs_copy_vector(u64 uptr, u32 dim, int *err)
{
	u32 *bits = kvmalloc_array(dim, sizeof(u32), GFP_KERNEL);

	*err = 0;
	if (!bits) {
		*err = -ENOMEM;
		return NULL;
	}
	if (copy_from_user(bits, u64_to_user_ptr(uptr), (size_t)dim * sizeof(u32))) {
		*err = -EFAULT;
	} else if (vexfs_vec_check(bits, dim)) {
		*err = -EINVAL;	/* NaN or Inf */
	}
	if (*err) {
		kvfree(bits);
		return NULL;
	}
	return bits;
}

static int vexfs_check_dim(struct vexfs_vindex *vi, u32 dim)
{
	if (dim > VEXFS_IOC_MAX_DIM)
		return -E2BIG;
	return dim == vi->dim ? 0 : -EINVAL;
}

/*
 * Set (bits) or remove (bits == NULL) inode's vector: the caller needs
 * write permission on the file, as for its data.
 */
static int vexfs_set_vector_checked(struct file *file, struct inode *inode, const u32 *bits, u32 dim)
{
	int err;

	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	err = inode_permission(file_mnt_user_ns(file), inode, MAY_WRITE);
	if (err)
		return err;
	err = mnt_want_write_file(file);
	if (err)
		return err;
	inode_lock(inode);
	if (!bits)
		err = vexfs_vector_remove(inode);
	else
		err = inode->i_nlink ? vexfs_vector_set(inode, bits, dim) : -ENOENT;
	inode_unlock(inode);
	mnt_drop_write_file(file);
	return err;
}

static long vexfs_ioc_vector(struct file *file, unsigned int cmd, void __user *uarg)
{
	struct inode *inode = file_inode(file);
	struct vexfs_vindex *vi = VEXFS_VI(inode->i_sb);
	struct vexfs_ioc_vector a;
	u32 *bits;
	int err;

	err = vexfs_copy_arg(&a, uarg, sizeof(a));
	if (err)
		return err;
	if (a.flags || a.reserved)
		return -EINVAL;
	switch (cmd) {
	case VEXFS_IOC_SET_VECTOR:
		err = vexfs_check_dim(vi, a.dim);
		if (err)
			return err;
		bits = vexfs_copy_vector(a.data, a.dim, &err);
		if (!bits)
			return err;
		err = vexfs_set_vector_checked(file, inode, bits, a.dim);
		kvfree(bits);
		return err;
	case VEXFS_IOC_GET_VECTOR:
		if (a.dim < vi->dim) {
			/* Tell the caller the size it needs. */
			a.dim = vi->dim;
			if (copy_to_user(uarg, &a, sizeof(a)))
				return -EFAULT;
			return -ERANGE;
		}
		bits = kvmalloc_array(vi->dim, sizeof(u32), GFP_KERNEL);
		if (!bits)
			return -ENOMEM;
		err = vexfs_vector_get(inode, bits, vi->dim);
		if (err >= 0) {
			a.dim = vi->dim;
			err = 0;
			if (copy_to_user(u64_to_user_ptr(a.data), bits, (size_t)vi->dim * sizeof(u32)) ||
			    copy_to_user(uarg, &a, sizeof(a)))
				err = -EFAULT;
		}
		kvfree(bits);
		return err;
	case VEXFS_IOC_DEL_VECTOR:
		return vexfs_set_vector_checked(file, inode, NULL, 0);
	}
	return -ENOTTY;
}

static long vexfs_ioc_batch_set(struct file *file, void __user *uarg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct vexfs_vindex *vi = VEXFS_VI(sb);
	struct vexfs_ioc_batch_set a;
	s32 __user *ufds;
	u32 *bits = NULL;
	int err;

	err = vexfs_copy_arg(&a, uarg, sizeof(a));
	if (err)
		return err;
	if (a.flags || a.reserved || !a.count)
		return -EINVAL;
	if (a.count > VEXFS_IOC_MAX_BATCH)
		return -E2BIG;
	err = vexfs_check_dim(vi, a.dim);
	if (err)
		return err;
	ufds = u64_to_user_ptr(a.fds);
	for (a.done = 0; a.done < a.count; a.done++) {
		struct fd f;
		s32 fd;

		if (get_user(fd, ufds + a.done)) {
			err = -EFAULT;
			break;
		}
		bits = vexfs_copy_vector(a.vectors + (u64)a.done * a.dim * sizeof(u32), a.dim, &err);
		if (!bits)
			break;
		f = fdget(fd);
		if (!f.file) {
			err = -EBADF;
		} else if (file_inode(f.file)->i_sb != sb) {
			err = -EXDEV;	/* not on this filesystem */
		} else {
			err = vexfs_set_vector_checked(f.file, file_inode(f.file), bits, a.dim);
		}
		fdput(f);
		kvfree(bits);
		bits = NULL;
		if (err)
			break;
		cond_resched();
	}
	if (put_user(a.done, (u32 __user *)(uarg + offsetof(struct vexfs_ioc_batch_set, done))))
		return -EFAULT;
	return err;
}

/*
 * Fill r for hit h (chunk c), or return 1 when the hit is not to be
 * reported: its file is gone, or its set no longer holds the chunk (the
 * file was replaced, or the set: a vanished hit), the caller may not reach
 * it, or (FRESH) the set went stale after the search. <0 on error.
 */
static int vexfs_search_result(struct super_block *sb, const struct vexfs_hnsw_hit *h,
			       const struct vexfs_hit_chunk *c, struct vexfs_dirv *dirv,
			       u32 flags, struct vexfs_ioc_result *r)
{
	struct vexfs_inode_info *ei;
	struct inode *inode;
	u32 first, count;
	bool stale;
	int err = 0;

	inode = ilookup(sb, h->key);
	if (!inode) {
		inode = __vexfs_iget(sb, h->key, VEXFS_IGET_USER);
		if (IS_ERR(inode))
			return 1;
	}
	ei = VEXFS_I(inode);
	first = READ_ONCE(ei->i_chunk_first);
	count = READ_ONCE(ei->i_chunk_count);
	stale = c->stale || READ_ONCE(ei->i_data_version) != READ_ONCE(ei->i_chunk_version);
	if (!inode->i_nlink || !c->live || c->generation != inode->i_generation ||
	    h->slot < first || h->slot - first >= count || c->chunk != h->slot - first ||
	    ((flags & VEXFS_SEARCH_F_FRESH) && stale)) {
		err = 1;
		goto out;
	}
	if (dirv) {
		bool ok;

		err = vexfs_dirv_file_ok(dirv, inode, &ok);
		if (err || !ok) {
			err = err ? err : 1;
			goto out;
		}
	}
	memset(r, 0, sizeof(*r));
	r->ino = inode->i_ino;
	r->distance = vexfs_dist_bits(h->dist);
	r->generation = inode->i_generation;
	r->file_size = i_size_read(inode);
	r->mtime_sec = inode->i_mtime.tv_sec;
	r->mtime_nsec = inode->i_mtime.tv_nsec;
	r->dim = ei->i_vector_dim;
	r->chunk = c->chunk;
	r->flags = stale ? VEXFS_RESULT_F_STALE : 0;
	r->offset = c->offset;
	r->length = c->length;
out:
	iput(inode);
	return err;
}

static long vexfs_ioc_search(struct file *file, void __user *uarg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct vexfs_vindex *vi = VEXFS_VI(sb);
	u8 __user *ures;
	struct vexfs_search_req req = {};
	struct vexfs_ioc_search a;
	struct vexfs_hnsw_hit *hits = NULL;
	struct vexfs_hit_chunk *chunks = NULL;
	struct vexfs_dirv *dirv = NULL;
	u32 *query = NULL, count = 0, i, out = 0, scope_ino = VEXFS_ROOT_INO;
	u32 result_size, copy_size;
	bool truncated, check_perm;
	int err;

	BUILD_BUG_ON(offsetof(struct vexfs_ioc_search, result_size) != VEXFS_SEARCH_SIZE_VER0);
	BUILD_BUG_ON(offsetof(struct vexfs_ioc_result, chunk) != VEXFS_RESULT_SIZE_VER0);
	/* A VER0 caller's struct ends before result_size: it reads as 0 = VER0 results. */
	err = vexfs_copy_arg_ver(&a, sizeof(a), uarg, VEXFS_SEARCH_SIZE_VER0, NULL);
	if (err)
		return err;
	if (a.reserved || a.reserved2 || (a.flags & ~VEXFS_SEARCH_F_ALL) ||
	    a.kind > VEXFS_SEARCH_SIMILAR || !a.k)
		return -EINVAL;
	result_size = a.result_size ? a.result_size : VEXFS_RESULT_SIZE_VER0;
	if (result_size < VEXFS_RESULT_SIZE_VER0 || result_size > PAGE_SIZE)
		return -EINVAL;
	copy_size = min_t(u32, result_size, sizeof(struct vexfs_ioc_result));
	if (a.kind == VEXFS_SEARCH_KNN ? a.k > VEXFS_IOC_MAX_K : a.k > VEXFS_IOC_MAX_RESULTS)
		return -E2BIG;
	if (a.ef > VEXFS_IOC_MAX_EF)
		return -E2BIG;
	if (a.flags & VEXFS_SEARCH_F_SUBTREE) {
		if (!S_ISDIR(file_inode(file)->i_mode))
			return -ENOTDIR;
		scope_ino = file_inode(file)->i_ino;
	}
	err = vexfs_check_dim(vi, a.dim);
	if (err)
		return err;
	req.kind = a.kind;
	req.k = a.k;
	req.ef = a.ef;
	req.flags = a.flags;
	if (a.kind != VEXFS_SEARCH_KNN) {
		req.max_key = vexfs_dist_key_for_threshold(vi, a.kind, a.threshold, &err);
		if (err)
			return -EINVAL;
	}
	query = vexfs_copy_vector(a.query, a.dim, &err);
	if (!query)
		return err;
	req.query = query;
	hits = kvmalloc_array(a.k, sizeof(*hits), GFP_KERNEL);
	chunks = kvmalloc_array(a.k, sizeof(*chunks), GFP_KERNEL);
	if (!hits || !chunks) {
		err = -ENOMEM;
		goto out;
	}
	req.chunks = chunks;
	/*
	 * Results are what path resolution would reach: search permission on
	 * every directory from the root down (CAP_DAC_READ_SEARCH skips it),
	 * and, for a subtree search, a path through the scope directory.
	 */
	check_perm = !ns_capable_noaudit(&init_user_ns, CAP_DAC_READ_SEARCH);
	if (check_perm || scope_ino != VEXFS_ROOT_INO) {
		dirv = kmalloc(sizeof(*dirv), GFP_KERNEL);
		if (!dirv) {
			err = -ENOMEM;
			goto out;
		}
		vexfs_dirv_init(dirv, sb, file_mnt_user_ns(file), scope_ino, check_perm);
		req.dirv = dirv;
	}
	err = vexfs_vindex_search(vi, &req, hits, &count, &truncated);
	if (err)
		goto out;
	/* Hits are checked again on their files' state now: they may have moved. */
	if (dirv)
		vexfs_dirv_reset(dirv);

	/*
	 * Report each hit with its file's current attributes, result_size
	 * bytes apart: the fields the caller's result struct has room for,
	 * and zeros in the bytes it has past ours. Files gone meanwhile are
	 * skipped.
	 */
	ures = u64_to_user_ptr(a.results);
	for (i = 0; i < count; i++) {
		struct vexfs_ioc_result r;
		u8 __user *dst = ures + (size_t)out * result_size;

		err = vexfs_search_result(sb, &hits[i], &chunks[i], dirv, a.flags, &r);
		if (err < 0)
			goto out;
		if (err) {
			err = 0;
			continue;
		}
		if (copy_to_user(dst, &r, copy_size) ||
		    (result_size > copy_size && clear_user(dst + copy_size, result_size - copy_size))) {
			err = -EFAULT;
			goto out;
		}
		out++;
	}
	if (put_user(out, (u32 __user *)(uarg + offsetof(struct vexfs_ioc_search, count))) ||
	    put_user((u32)truncated, (u32 __user *)(uarg + offsetof(struct vexfs_ioc_search, truncated))))
		err = -EFAULT;
out:
	if (dirv) {
		vexfs_dirv_destroy(dirv);
		kfree(dirv);
	}
	kvfree(chunks);
	kvfree(hits);
	kvfree(query);
	return err;
}

/* Find the name under which dir lists ino; returns its length or <0. */
static int vexfs_name_in_dir(struct inode *dir, u32 ino, char *name)
{
	u32 nblocks = i_size_read(dir) >> VEXFS_BLOCK_SIZE_BITS, index;
	int err;

	for (index = 0; index < nblocks; index++) {
		struct buffer_head *bh = vexfs_dir_bread(dir, index, &err);
		struct vexfs_dirent_view e;
		u32 pos = 0;
		int rc;

		if (!bh)
			return err;
		while ((rc = vexfs_dir_next((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, pos, &e)) == 1) {
			pos = e.next_offset;
			if (e.ino != ino || (e.name_len <= 2 && bh->b_data[e.name_offset] == '.' &&
					     (e.name_len == 1 || bh->b_data[e.name_offset + 1] == '.')))
				continue;
			memcpy(name, bh->b_data + e.name_offset, e.name_len);
			brelse(bh);
			return e.name_len;
		}
		brelse(bh);
		if (rc < 0)
			return rc;
	}
	return -ENOENT;
}

/*
 * A directory listing @inode (a non-directory whose i_parent hint is 0 or
 * stale: its first parent's name was unlinked while another link stayed and
 * no other name was cached). A cached alias first; else every directory is
 * searched, the slow path of a rare case (interruptible). 0 if none.
 */
static u32 vexfs_find_parent(struct super_block *sb, struct inode *inode, char *name)
{
	u32 count = VEXFS_SB(sb)->geom.inodes_count, ino;
	u32 pino = vexfs_cached_parent_ino(inode, NULL);

	for (ino = VEXFS_ROOT_INO; ino <= count && !pino; ino++) {
		struct inode *dir;

		if (fatal_signal_pending(current))
			break;
		cond_resched();
		if (ino != VEXFS_ROOT_INO && ino < VEXFS_FIRST_INO)
			continue;
		dir = __vexfs_iget(sb, ino, VEXFS_IGET_USER);
		if (IS_ERR(dir))
			continue;
		if (S_ISDIR(dir->i_mode) && dir->i_nlink) {
			inode_lock_shared(dir);
			if (vexfs_name_in_dir(dir, inode->i_ino, name) > 0)
				pino = ino;
			inode_unlock_shared(dir);
		}
		iput(dir);
	}
	return pino;
}

/*
 * The directory of the name INO_PATH reports for a file with a names block:
 * one the caller can reach, under the descriptor's directory if it is one
 * (the scope of the search whose results are being named). 0: none, use
 * i_parent.
 */
static u32 vexfs_ino_path_dir(struct file *file, struct inode *inode, int *err)
{
	struct inode *from = file_inode(file);
	struct vexfs_dirv *dv;
	u32 dir = 0;

	*err = 0;
	if (!vexfs_names_enabled(inode->i_sb) || S_ISDIR(inode->i_mode) ||
	    !READ_ONCE(VEXFS_I(inode)->i_names_block))
		return 0;
	dv = kmalloc(sizeof(*dv), GFP_KERNEL);
	if (!dv) {
		*err = -ENOMEM;
		return 0;
	}
	vexfs_dirv_init(dv, inode->i_sb, file_mnt_user_ns(file),
			S_ISDIR(from->i_mode) ? from->i_ino : VEXFS_ROOT_INO,
			!ns_capable_noaudit(&init_user_ns, CAP_DAC_READ_SEARCH));
	*err = vexfs_dirv_pick_name(dv, inode, &dir);
	vexfs_dirv_destroy(dv);
	kfree(dv);
	/* A damaged names block (reported) leaves the i_parent path. */
	if (*err == -EUCLEAN)
		*err = 0;
	return dir;
}

/* The path of inode ino relative to the mount root, built right to left. */
static long vexfs_ioc_ino_path(struct file *file, void __user *uarg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct vexfs_ioc_ino_path a;
	struct inode *cur, *parent;
	char *buf, *name;
	u32 pos, depth = 0, first_dir;
	int err, len;

	err = vexfs_copy_arg(&a, uarg, sizeof(a));
	if (err)
		return err;
	if (!a.path_len || a.reserved)
		return -EINVAL;
	if (a.ino < VEXFS_FIRST_INO || a.ino > VEXFS_SB(sb)->geom.inodes_count)
		return -EINVAL;
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	name = kmalloc(VEXFS_NAME_LEN + 1, GFP_KERNEL);
	if (!buf || !name) {
		err = -ENOMEM;
		goto out_free;
	}
	cur = __vexfs_iget(sb, a.ino, VEXFS_IGET_USER);
	if (IS_ERR(cur)) {
		err = PTR_ERR(cur);
		goto out_free;
	}
	if (a.generation && cur->i_generation != a.generation) {
		iput(cur);
		err = -ESTALE;	/* the number was reused since the search */
		goto out_free;
	}
	/* Only files the caller may read are named (as in search results). */
	err = inode_permission(file_mnt_user_ns(file), cur, MAY_READ);
	if (err || !cur->i_nlink) {
		err = err ? err : -ENOENT;
		iput(cur);
		goto out_free;
	}
	first_dir = vexfs_ino_path_dir(file, cur, &err);
	if (err) {
		iput(cur);
		goto out_free;
	}
	pos = PATH_MAX;
	while (cur->i_ino != VEXFS_ROOT_INO) {
		u32 pino = first_dir ? first_dir : READ_ONCE(VEXFS_I(cur)->i_parent);
		bool searched = false;

		first_dir = 0;
		if (++depth > PATH_MAX / 2) {
			err = -ENOENT;
			break;
		}
retry:
		/*
		 * A file's hint goes stale when the name in its parent is unlinked
		 * while another link stays; search for a name then, once.
		 * Directories have one name and an exact hint.
		 */
		if (!pino && !S_ISDIR(cur->i_mode) && !searched) {
			searched = true;
			pino = vexfs_find_parent(sb, cur, name);
			if (pino) {
				WRITE_ONCE(VEXFS_I(cur)->i_parent, pino);
				vexfs_vector_parent_changed(cur);
			}
		}
		if (!pino) {
			err = -ENOENT;
			break;
		}
		/* A hint may name a directory removed since: absent, not corrupt. */
		parent = __vexfs_iget(sb, pino, VEXFS_IGET_USER);
		if (IS_ERR(parent)) {
			len = -ENOENT;
			parent = NULL;
		} else if (!S_ISDIR(parent->i_mode)) {
			len = -ENOENT;
		} else {
			inode_lock_shared(parent);
			len = vexfs_name_in_dir(parent, cur->i_ino, name);
			inode_unlock_shared(parent);
		}
		if (len == -ENOENT && !S_ISDIR(cur->i_mode) && !searched) {
			iput(parent);
			pino = 0;
			goto retry;
		}
		if (!parent) {
			err = -ENOENT;
			break;
		}
		/*
		 * Naming the entry needs what resolving the path would: search
		 * permission on every directory on the way (a readable file in a
		 * directory the caller cannot enter is not named).
		 */
		err = inode_permission(file_mnt_user_ns(file), parent, MAY_EXEC);
		if (err) {
			iput(parent);
			break;
		}
		if (len < 0 || len + 1 > pos) {
			iput(parent);
			err = len < 0 ? -ENOENT : -ENAMETOOLONG;
			break;
		}
		if (pos != PATH_MAX)
			buf[--pos] = '/';
		pos -= len;
		memcpy(buf + pos, name, len);
		iput(cur);
		cur = parent;
	}
	iput(cur);
	if (!err) {
		u32 n = PATH_MAX - pos;

		if (n > a.path_len) {
			err = -ENAMETOOLONG;
			/* Tell the caller the capacity it needs. */
			if (put_user(n, (u32 __user *)(uarg + offsetof(struct vexfs_ioc_ino_path, path_len))))
				err = -EFAULT;
		}
		else if (copy_to_user(u64_to_user_ptr(a.path), buf + pos, n) ||
			 put_user(n, (u32 __user *)(uarg + offsetof(struct vexfs_ioc_ino_path, path_len))))
			err = -EFAULT;
	}
out_free:
	kfree(buf);
	kfree(name);
	return err;
}

/*
 * A lazy mount's slot groups: still to be read while any is unloaded and the
 * warm-up has not finished its pass (or is off); unreadable once it has and
 * some still are (it skips a group it cannot read). Caller holds vi->lock.
 */
static u32 vexfs_status_slot_flags(struct vexfs_vindex *vi)
{
	if (!atomic_read(&vi->sg_unloaded))
		return 0;
	if (READ_ONCE(vi->warm_done))
		return VEXFS_STATUS_SLOTS_UNREADABLE;
	return VEXFS_STATUS_SLOTS_LOADING;
}

static long vexfs_ioc_status(struct super_block *sb, void __user *uarg)
{
	struct vexfs_vindex *vi = VEXFS_VI(sb);
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	struct vexfs_ioc_status a;
	u32 usize, copy_size;
	int err;

	BUILD_BUG_ON(offsetof(struct vexfs_ioc_status, files) != VEXFS_STATUS_SIZE_VER0);
	err = vexfs_copy_arg_ver(&a, sizeof(a), uarg, VEXFS_STATUS_SIZE_VER0, &usize);
	if (err)
		return err;
	copy_size = min_t(u32, usize, sizeof(a));
	memset(&a, 0, sizeof(a));
	/* The bytes written: the caller's size, or ours when the caller knows more. */
	a.size = copy_size;
	down_read(&vi->lock);
	a.flags = (vi->graph_valid ? VEXFS_STATUS_GRAPH_VALID : 0) |
		  (vi->rebuilding ? VEXFS_STATUS_REBUILDING : 0) |
		  vexfs_status_slot_flags(vi);
	a.sync_mode = vi->sync_mode;
	a.pending = vi->pq_count;
	a.last_sync_ns = vi->last_sync_ns;
	a.graph_generation = sbi->geom.graph_generation;
	a.vector_generation = sbi->geom.vector_generation;
	a.vectors = vi->nr_live;
	/* Counted in the loaded groups; the others' nodes are counted apart. */
	a.graph_nodes = atomic_read(&vi->graph_unloaded);
	for (u32 i = 0; i < vi->capacity; i++) {
		if (!vexfs_slot_loaded(vi, i))
			i |= VEXFS_SG_MASK;
		else
			a.graph_nodes += !!(vexfs_slot(vi, i)->state & VSLOT_IN_GRAPH);
	}
	a.files = vi->files;
	a.stale_files = vi->stale_files;
	a.index_memory_bytes = vexfs_vindex_memory_bytes(vi);
	up_read(&vi->lock);
	a.dim = vi->dim;
	a.metric = vi->metric;
	a.hnsw_m = vi->m;
	a.hnsw_ef_construction = vi->efc;
	return copy_to_user(uarg, &a, copy_size) ? -EFAULT : 0;
}

static long vexfs_ioc_stats(struct super_block *sb, void __user *uarg)
{
	struct vexfs_vindex *vi = VEXFS_VI(sb);
	struct vexfs_ioc_stats a;
	int err;

	err = vexfs_copy_arg(&a, uarg, sizeof(a));
	if (err)
		return err;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.inserts = atomic64_read(&vi->st.inserts);
	a.updates = atomic64_read(&vi->st.updates);
	a.deletes = atomic64_read(&vi->st.deletes);
	a.searches = atomic64_read(&vi->st.searches);
	a.exact_searches = atomic64_read(&vi->st.exact_searches);
	a.distance_computations = atomic64_read(&vi->st.dists);
	a.search_ns_total = atomic64_read(&vi->st.search_ns);
	a.search_ns_max = atomic64_read(&vi->st.search_ns_max);
	a.insert_ns_total = atomic64_read(&vi->st.insert_ns);
	a.syncs = atomic64_read(&vi->st.syncs);
	a.rebuilds = atomic64_read(&vi->st.rebuilds);
	a.errors = atomic64_read(&vi->st.errors);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static long vexfs_ioc_config(struct super_block *sb, unsigned int cmd, void __user *uarg)
{
	struct vexfs_vindex *vi = VEXFS_VI(sb);
	struct vexfs_ioc_config a;
	bool was_lazy;
	int err;

	err = vexfs_copy_arg(&a, uarg, sizeof(a));
	if (err)
		return err;
	if (cmd == VEXFS_IOC_SET_CONFIG) {
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (a.reserved || (a.set_mask & ~VEXFS_CONFIG_ALL))
			return -EINVAL;
		if ((a.set_mask & VEXFS_CONFIG_SYNC_MODE) && a.sync_mode > VEXFS_SYNC_LAZY)
			return -EINVAL;
		if ((a.set_mask & VEXFS_CONFIG_BATCH_SIZE) &&
		    (!a.batch_size || a.batch_size > VEXFS_MAX_PENDING))
			return a.batch_size ? -E2BIG : -EINVAL;
		if ((a.set_mask & VEXFS_CONFIG_SYNC_INTERVAL) &&
		    (!a.sync_interval_ms || a.sync_interval_ms > 3600000))
			return -EINVAL;
		if ((a.set_mask & VEXFS_CONFIG_EF_SEARCH) &&
		    (!a.ef_search || a.ef_search > VEXFS_IOC_MAX_EF))
			return a.ef_search ? -E2BIG : -EINVAL;
		if ((a.set_mask & VEXFS_CONFIG_AUTO_REBUILD) && a.auto_rebuild > 1)
			return -EINVAL;
		down_write(&vi->lock);
		was_lazy = vi->sync_mode == VEXFS_SYNC_LAZY;
		if (a.set_mask & VEXFS_CONFIG_SYNC_MODE)
			vi->sync_mode = a.sync_mode;
		if (a.set_mask & VEXFS_CONFIG_BATCH_SIZE)
			vi->batch_size = a.batch_size;
		if (a.set_mask & VEXFS_CONFIG_SYNC_INTERVAL)
			vi->sync_interval_ms = a.sync_interval_ms;
		if (a.set_mask & VEXFS_CONFIG_EF_SEARCH)
			vi->ef_search = a.ef_search;
		if (a.set_mask & VEXFS_CONFIG_AUTO_REBUILD)
			vi->auto_rebuild = a.auto_rebuild;
		up_write(&vi->lock);
		/* Leaving lazy mode: what was queued reaches the graph now. */
		if (was_lazy && vi->sync_mode == VEXFS_SYNC_IMMEDIATE)
			vexfs_vindex_force_sync(vi);
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	down_read(&vi->lock);
	a.sync_mode = vi->sync_mode;
	a.batch_size = vi->batch_size;
	a.sync_interval_ms = vi->sync_interval_ms;
	a.ef_search = vi->ef_search;
	a.auto_rebuild = vi->auto_rebuild;
	up_read(&vi->lock);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

long vexfs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	void __user *uarg = (void __user *)arg;

	if (!VEXFS_VI(sb))
		return -ENOTTY;
	switch (cmd) {
	case VEXFS_IOC_SET_VECTOR:
	case VEXFS_IOC_GET_VECTOR:
	case VEXFS_IOC_DEL_VECTOR:
		return vexfs_ioc_vector(file, cmd, uarg);
	case VEXFS_IOC_BATCH_SET:
		return vexfs_ioc_batch_set(file, uarg);
	case VEXFS_IOC_SEARCH:
		return vexfs_ioc_search(file, uarg);
	case VEXFS_IOC_INO_PATH:
		return vexfs_ioc_ino_path(file, uarg);
	case VEXFS_IOC_SYNC:
		return vexfs_vindex_force_sync(VEXFS_VI(sb));
	case VEXFS_IOC_GET_STATUS:
		return vexfs_ioc_status(sb, uarg);
	case VEXFS_IOC_GET_STATS:
		return vexfs_ioc_stats(sb, uarg);
	case VEXFS_IOC_GET_CONFIG:
	case VEXFS_IOC_SET_CONFIG:
		return vexfs_ioc_config(sb, cmd, uarg);
	case VEXFS_IOC_SET_CHUNKS:
		return vexfs_ioc_set_chunks(file, uarg);
	case VEXFS_IOC_GET_CHUNKS:
		return vexfs_ioc_get_chunks(file, uarg);
	case VEXFS_IOC_REBUILD:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return vexfs_vindex_rebuild(VEXFS_VI(sb));
	}
	return -ENOTTY;
}
