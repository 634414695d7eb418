// SPDX-License-Identifier: GPL-2.0
/*
 * namei.c - name operations: lookup, create, mknod, link, unlink, symlink,
 * mkdir, rmdir, rename. The VFS holds the directories' i_rwsem; link counts
 * follow POSIX (a directory has 2 + its subdirectories).
 */
#include <linux/namei.h>

#include "vexfs.h"

static struct dentry *vexfs_lookup(struct inode *dir, struct dentry *dentry, unsigned int flags)
{
	struct vexfs_dirent_view view;
	struct inode *inode = NULL;
	struct buffer_head *bh;
	int err;

	err = vexfs_find_entry(dir, &dentry->d_name, &bh, &view);
	if (!err) {
		u32 ino = view.ino;

		brelse(bh);
		inode = vexfs_iget(dir->i_sb, ino);
		/* The entry's type must be the inode's: else one of them is damaged. */
		if (!IS_ERR(inode) && view.file_type != fs_umode_to_ftype(inode->i_mode)) {
			err = vexfs_corrupt(dir->i_sb,
					    "directory %lu: entry '%pd' has file type %u, inode %u has mode 0%o",
					    dir->i_ino, dentry, view.file_type, ino, inode->i_mode);
			iput(inode);
			inode = ERR_PTR(err);
		}
	} else if (err != -ENOENT) {
		inode = ERR_PTR(err);
	}
	return d_splice_alias(inode, dentry);
}

/* Link a freshly made inode under dentry, or undo it. */
static int vexfs_add_nondir(struct dentry *dentry, struct inode *inode)
{
	int err = vexfs_add_link(d_inode(dentry->d_parent), &dentry->d_name, inode);

	if (err) {
		inode_dec_link_count(inode);
		discard_new_inode(inode);
		return err;
	}
	d_instantiate_new(dentry, inode);
	return 0;
}

static int __vexfs_create(struct user_namespace *mnt_userns, struct inode *dir,
			struct dentry *dentry, umode_t mode, bool excl)
{
	struct inode *inode = vexfs_new_inode(dir, mode);

	if (IS_ERR(inode))
		return PTR_ERR(inode);
	vexfs_set_inode_ops(inode);
	return vexfs_add_nondir(dentry, inode);
}

static int __vexfs_mknod(struct user_namespace *mnt_userns, struct inode *dir,
		       struct dentry *dentry, umode_t mode, dev_t rdev)
{
	struct inode *inode;

	inode = vexfs_new_inode(dir, mode);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	init_special_inode(inode, inode->i_mode, rdev);
	vexfs_set_inode_ops(inode);
	mark_inode_dirty(inode);
	return vexfs_add_nondir(dentry, inode);
}

static int __vexfs_symlink(struct user_namespace *mnt_userns, struct inode *dir,
			 struct dentry *dentry, const char *symname)
{
	size_t len = strlen(symname);
	struct inode *inode;
	int err;

	if (len > VEXFS_MAX_SYMLINK_LEN)
		return -ENAMETOOLONG;
	inode = vexfs_new_inode(dir, S_IFLNK | 0777);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	if (len < sizeof(VEXFS_I(inode)->i_data)) {
		/* Short targets live in the block map slots. */
		VEXFS_I(inode)->i_flags |= VEXFS_INODE_FL_INLINE_SYMLINK;
		memcpy(VEXFS_I(inode)->i_data, symname, len);
		inode->i_size = len;
		vexfs_set_inode_ops(inode);
	} else {
		vexfs_set_inode_ops(inode);
		err = page_symlink(inode, symname, len + 1);
		if (err) {
			inode_dec_link_count(inode);
			discard_new_inode(inode);
			return err;
		}
		/* page_symlink counted the NUL; the target is len bytes. */
		i_size_write(inode, len);
	}
	mark_inode_dirty(inode);
	return vexfs_add_nondir(dentry, inode);
}

/*
 * Drop one link of @inode. Link counts come from disk, and a count lower
 * than the names (damage fsck.vexfs repairs) runs out while a name is left:
 * drop_nlink() would WARN below zero (a panic with panic_on_warn), so the
 * damage is reported instead.
 */
static void vexfs_dec_link(struct inode *inode)
{
	if (unlikely(!inode->i_nlink)) {
		vexfs_corrupt(inode->i_sb, "inode %lu: link count already zero with a name left",
			      inode->i_ino);
		return;
	}
	inode_dec_link_count(inode);
}

/*
 * A directory loses a subdirectory's "..". It keeps its own name and ".":
 * a damaged count must not take a named directory to zero links (it would be
 * freed at evict while its entry still points at it).
 */
static void vexfs_dec_dir_link(struct inode *dir)
{
	if (unlikely(dir->i_nlink <= 2)) {
		vexfs_corrupt(dir->i_sb, "directory %lu: link count %u, too low to drop a subdirectory's '..'",
			      dir->i_ino, dir->i_nlink);
		return;
	}
	inode_dec_link_count(dir);
}

/*
 * Drop one link; when the last goes, the file's vector leaves the index at
 * once (an open unlinked file keeps its data until evict, not its vector).
 */
static void vexfs_drop_link(struct inode *inode)
{
	vexfs_dec_link(inode);
	if (!inode->i_nlink && (VEXFS_I(inode)->i_flags & VEXFS_INODE_FL_HAS_VECTOR))
		vexfs_vector_remove(inode);
}

/*
 * The directory of a name of @inode that the dcache holds (other than @skip),
 * or 0 if none is cached.
 */
u32 vexfs_cached_parent_ino(struct inode *inode, struct dentry *skip)
{
	struct dentry *d;
	u32 pino = 0;

	/* Lock order of the dcache: inode->i_lock, then dentry->d_lock. */
	spin_lock(&inode->i_lock);
	hlist_for_each_entry(d, &inode->i_dentry, d_u.d_alias) {
		if (d == skip)
			continue;
		spin_lock(&d->d_lock);
		if (!d_unhashed(d) && d->d_parent != d && d_inode(d->d_parent))
			pino = d_inode(d->d_parent)->i_ino;
		spin_unlock(&d->d_lock);
		if (pino)
			break;
	}
	spin_unlock(&inode->i_lock);
	return pino;
}

/*
 * @inode lost its name @gone in @dir and keeps other links. i_parent is where
 * INO_PATH looks for a name of the inode (search results report paths): if it
 * was @dir, point it at the parent of another cached name, or at 0 ("unknown",
 * which INO_PATH resolves by searching the directories). A hint only: written
 * with the inode, never trusted without finding the name.
 */
static void vexfs_parent_after_unlink(struct inode *inode, struct inode *dir,
				      struct dentry *gone)
{
	if (vexfs_names_enabled(inode->i_sb)) {
		/* vexfs_names_unlink kept i_parent exact; searches copy the change. */
		if (inode->i_nlink && !S_ISDIR(inode->i_mode))
			vexfs_vector_parent_changed(inode);
		return;
	}
	if (!inode->i_nlink || S_ISDIR(inode->i_mode) ||
	    READ_ONCE(VEXFS_I(inode)->i_parent) != dir->i_ino)
		return;
	WRITE_ONCE(VEXFS_I(inode)->i_parent, vexfs_cached_parent_ino(inode, gone));
	mark_inode_dirty(inode);
	vexfs_vector_parent_changed(inode);
}

static int __vexfs_link(struct dentry *old_dentry, struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(old_dentry);
	int err;

	if (inode->i_nlink >= U16_MAX)
		return -EMLINK;
	err = vexfs_names_link(inode, dir);
	if (err)
		return err;
	inode->i_ctime = current_time(inode);
	inode_inc_link_count(inode);
	/* Keep the parent of the existing name: paths in results stay put. */
	if (!READ_ONCE(VEXFS_I(inode)->i_parent)) {
		WRITE_ONCE(VEXFS_I(inode)->i_parent, dir->i_ino);
		vexfs_vector_parent_changed(inode);
	}
	ihold(inode);
	err = vexfs_add_link(dir, &dentry->d_name, inode);
	if (err) {
		vexfs_names_unlink(inode, dir);
		inode_dec_link_count(inode);
		iput(inode);
		return err;
	}
	if (vexfs_names_enabled(inode->i_sb))
		vexfs_vector_parent_changed(inode);	/* searches now read the names block */
	d_instantiate(dentry, inode);
	return 0;
}

static int __vexfs_unlink(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);
	struct vexfs_dirent_view view;
	struct buffer_head *bh;
	int err;

	err = vexfs_find_entry(dir, &dentry->d_name, &bh, &view);
	if (err)
		return err;
	if (view.ino != inode->i_ino) {
		brelse(bh);
		return vexfs_corrupt(dir->i_sb, "directory %lu: entry for inode %lu names %u",
				     dir->i_ino, inode->i_ino, view.ino);
	}
	err = vexfs_names_unlink(inode, dir);
	if (err < 0) {
		brelse(bh);
		return err;
	}
	err = vexfs_delete_entry(dir, bh, &view);
	brelse(bh);
	if (err)
		return err;
	inode->i_ctime = dir->i_ctime;
	vexfs_drop_link(inode);
	vexfs_parent_after_unlink(inode, dir, dentry);
	return 0;
}

static int __vexfs_mkdir(struct user_namespace *mnt_userns, struct inode *dir,
		       struct dentry *dentry, umode_t mode)
{
	struct inode *inode;
	int err;

	if (dir->i_nlink >= U16_MAX)
		return -EMLINK;
	inode_inc_link_count(dir);
	inode = vexfs_new_inode(dir, S_IFDIR | mode);
	err = PTR_ERR(inode);
	if (IS_ERR(inode))
		goto out_dir;
	vexfs_set_inode_ops(inode);
	inode_inc_link_count(inode);	/* "." */
	err = vexfs_make_empty(inode, dir);
	if (err)
		goto out_fail;
	err = vexfs_add_link(dir, &dentry->d_name, inode);
	if (err)
		goto out_fail;
	d_instantiate_new(dentry, inode);
	return 0;

out_fail:
	inode_dec_link_count(inode);
	inode_dec_link_count(inode);
	discard_new_inode(inode);
out_dir:
	inode_dec_link_count(dir);
	return err;
}

static int __vexfs_rmdir(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);
	int err;

	err = vexfs_empty_dir(inode);
	if (err < 0)
		return err;
	if (!err)
		return -ENOTEMPTY;
	err = __vexfs_unlink(dir, dentry);
	if (err)
		return err;
	inode->i_size = 0;
	/* Its name is gone; "." is the one link left, or the count was damaged. */
	if (inode->i_nlink != 1)
		vexfs_corrupt(dir->i_sb, "directory %lu: %u links after removing its name from an empty directory",
			      inode->i_ino, inode->i_nlink);
	clear_nlink(inode);
	mark_inode_dirty(inode);
	vexfs_dec_dir_link(dir);	/* ".." */
	return 0;
}

static int __vexfs_rename(struct user_namespace *mnt_userns, struct inode *old_dir,
			struct dentry *old_dentry, struct inode *new_dir,
			struct dentry *new_dentry, unsigned int flags)
{
	struct inode *old_inode = d_inode(old_dentry);
	struct inode *new_inode = d_inode(new_dentry);
	struct vexfs_dirent_view old_view, dotdot_view, new_view;
	struct buffer_head *old_bh = NULL, *dotdot_bh = NULL, *new_bh;
	static const struct qstr dotdot = QSTR_INIT("..", 2);
	bool is_dir = S_ISDIR(old_inode->i_mode);
	int err;

	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL;

	err = vexfs_find_entry(old_dir, &old_dentry->d_name, &old_bh, &old_view);
	if (err)
		return err;
	if (is_dir && old_dir != new_dir) {
		err = vexfs_find_entry(old_inode, &dotdot, &dotdot_bh, &dotdot_view);
		if (err)
			goto out;
	}

	if (new_inode && is_dir) {
		err = vexfs_empty_dir(new_inode);
		if (err <= 0) {
			err = err ? err : -ENOTEMPTY;
			goto out;
		}
	}
	/*
	 * Names blocks first, before any entry changes: moving a name can fail
	 * (EMLINK), and then nothing has changed.
	 */
	err = vexfs_names_move(old_inode, old_dir, new_dir);
	if (err)
		goto out;
	if (new_inode) {
		err = vexfs_names_unlink(new_inode, new_dir);
		if (err < 0) {
			vexfs_names_move(old_inode, new_dir, old_dir);
			goto out;
		}
		err = vexfs_find_entry(new_dir, &new_dentry->d_name, &new_bh, &new_view);
		if (err)
			goto out;
		err = vexfs_set_link(new_dir, new_bh, &new_view, old_inode);
		brelse(new_bh);
		if (err)
			goto out;
		new_inode->i_ctime = current_time(new_inode);
		if (is_dir) {
			/* An empty directory: its name and "." go together. */
			if (new_inode->i_nlink != 2)
				vexfs_corrupt(new_dir->i_sb, "directory %lu: %u links, 2 expected of an empty directory",
					      new_inode->i_ino, new_inode->i_nlink);
			set_nlink(new_inode, 1);
		}
		vexfs_drop_link(new_inode);
		vexfs_parent_after_unlink(new_inode, new_dir, new_dentry);
	} else {
		if (is_dir && new_dir != old_dir && new_dir->i_nlink >= U16_MAX) {
			err = -EMLINK;
			goto out;
		}
		err = vexfs_add_link(new_dir, &new_dentry->d_name, old_inode);
		if (err)
			goto out;
		if (is_dir && new_dir != old_dir)
			inode_inc_link_count(new_dir);
	}

	/* The entry may have moved if the same block was rewritten: find it again. */
	brelse(old_bh);
	old_bh = NULL;
	err = vexfs_find_entry(old_dir, &old_dentry->d_name, &old_bh, &old_view);
	if (err)
		goto out;
	if (old_view.ino != old_inode->i_ino) {
		err = vexfs_corrupt(old_dir->i_sb, "rename: entry moved under us in directory %lu",
				    old_dir->i_ino);
		goto out;
	}
	err = vexfs_delete_entry(old_dir, old_bh, &old_view);
	if (err)
		goto out;
	old_inode->i_ctime = current_time(old_inode);
	WRITE_ONCE(VEXFS_I(old_inode)->i_parent, new_dir->i_ino);
	mark_inode_dirty(old_inode);
	vexfs_vector_parent_changed(old_inode);

	if (dotdot_bh) {
		err = vexfs_set_link(old_inode, dotdot_bh, &dotdot_view, new_dir);
		if (err)
			goto out;
		vexfs_dec_dir_link(old_dir);
	}
out:
	brelse(dotdot_bh);
	brelse(old_bh);
	return err;
}


/* ---- each name operation is one journal transaction ---- */

static int vexfs_create(struct user_namespace *mnt_userns, struct inode *dir,
			struct dentry *dentry, umode_t mode, bool excl)
{
	handle_t *handle = vexfs_journal_begin(dir->i_sb, VEXFS_CREDITS_CREATE);
	int err, err2;

	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_create(mnt_userns, dir, dentry, mode, excl);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

static int vexfs_mknod(struct user_namespace *mnt_userns, struct inode *dir,
		       struct dentry *dentry, umode_t mode, dev_t rdev)
{
	handle_t *handle = vexfs_journal_begin(dir->i_sb, VEXFS_CREDITS_CREATE);
	int err, err2;

	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_mknod(mnt_userns, dir, dentry, mode, rdev);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

static int vexfs_symlink(struct user_namespace *mnt_userns, struct inode *dir,
			 struct dentry *dentry, const char *symname)
{
	handle_t *handle = vexfs_journal_begin(dir->i_sb, VEXFS_CREDITS_CREATE);
	int err, err2;

	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_symlink(mnt_userns, dir, dentry, symname);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

static int vexfs_link(struct dentry *old_dentry, struct inode *dir, struct dentry *dentry)
{
	handle_t *handle = vexfs_journal_begin(dir->i_sb, VEXFS_CREDITS_LINK);
	int err, err2;

	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_link(old_dentry, dir, dentry);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

static int vexfs_unlink(struct inode *dir, struct dentry *dentry)
{
	handle_t *handle = vexfs_journal_begin(dir->i_sb, VEXFS_CREDITS_UNLINK);
	int err, err2;

	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_unlink(dir, dentry);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

static int vexfs_mkdir(struct user_namespace *mnt_userns, struct inode *dir,
		       struct dentry *dentry, umode_t mode)
{
	handle_t *handle = vexfs_journal_begin(dir->i_sb, VEXFS_CREDITS_CREATE + VEXFS_CREDITS_ALLOC);
	int err, err2;

	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_mkdir(mnt_userns, dir, dentry, mode);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

static int vexfs_rmdir(struct inode *dir, struct dentry *dentry)
{
	handle_t *handle = vexfs_journal_begin(dir->i_sb, VEXFS_CREDITS_UNLINK);
	int err, err2;

	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_rmdir(dir, dentry);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

static int vexfs_rename(struct user_namespace *mnt_userns, struct inode *old_dir,
			struct dentry *old_dentry, struct inode *new_dir,
			struct dentry *new_dentry, unsigned int flags)
{
	handle_t *handle = vexfs_journal_begin(old_dir->i_sb, VEXFS_CREDITS_RENAME);
	int err, err2;

	if (IS_ERR(handle))
		return PTR_ERR(handle);
	err = __vexfs_rename(mnt_userns, old_dir, old_dentry, new_dir, new_dentry, flags);
	err2 = vexfs_journal_end(handle);
	return err ? err : err2;
}

const struct inode_operations vexfs_dir_inode_operations = {
	.create		= vexfs_create,
	.lookup		= vexfs_lookup,
	.link		= vexfs_link,
	.unlink		= vexfs_unlink,
	.symlink	= vexfs_symlink,
	.mkdir		= vexfs_mkdir,
	.rmdir		= vexfs_rmdir,
	.mknod		= vexfs_mknod,
	.rename		= vexfs_rename,
	.setattr	= vexfs_setattr,
	.getattr	= vexfs_getattr,
	.listxattr	= vexfs_listxattr,
};

const struct inode_operations vexfs_symlink_inode_operations = {
	.get_link	= page_get_link,
	.setattr	= vexfs_setattr,
	.getattr	= vexfs_getattr,
};

/*
 * Short symlinks: the target is in i_data (inode->i_link), so no page to
 * read; the attribute operations are VexFS's as for every other inode.
 */
const struct inode_operations vexfs_fast_symlink_inode_operations = {
	.get_link	= simple_get_link,
	.setattr	= vexfs_setattr,
	.getattr	= vexfs_getattr,
};

const struct inode_operations vexfs_special_inode_operations = {
	.setattr	= vexfs_setattr,
	.getattr	= vexfs_getattr,
};
