// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-scope.c - which files a search may return, judged as path
 * resolution would: the caller reads the file, may search (x) every
 * directory from the mount root down to it, and (subtree searches) the file
 * lies under the scope directory. Directory verdicts are cached per search
 * in struct vexfs_dirv (vector.h), which one search owns (no locking).
 *
 * Locking: verdicts are computed only with vi->lock NOT held, because they
 * read (iget) and release (iput) directory inodes, and dropping the last
 * reference of a removed directory may start a journal handle, which must
 * never wait behind a writer of the index. Under vi->lock the search filter
 * only reads the cache (vexfs_dirv_slot_ok) and notes misses.
 *
 * Small scopes (few files) are searched exactly over their members, found by
 * walking the scope's directories (vexfs_dirv_members), never the volume.
 *
 * Files with several names pass if any of their names does. On volumes with
 * names blocks (links.c) that is exact: such a file's slots are marked
 * VEXFS_SLOT_PARENT_NAMES, and the index keeps the directories its names
 * block lists (vi->link_dirs), whose verdicts decide; a file missing there
 * gets a verdict of its own, read from the block. On older volumes a
 * slot is judged by its i_parent hint (the directory that last linked it),
 * and the recheck of each hit also accepts any name the dcache holds.
 */
#include <linux/slab.h>
#include <linux/fs.h>
#include <linux/dcache.h>
#include <linux/sched/signal.h>
#include <linux/sort.h>

#include "vector.h"

#define VEXFS_DIRV_OWN_DEAD	0x8	/* chain entry: not a live directory */
#define VEXFS_FILE_MAX_PARENTS	8u	/* cached names checked (volumes without names blocks) */
#define VEXFS_DIRV_PASS		(VEXFS_DIRV_REACH | VEXFS_DIRV_SCOPE)

void vexfs_dirv_init(struct vexfs_dirv *dv, struct super_block *sb,
		     struct user_namespace *mnt_userns, u32 scope_ino, bool check_perm)
{
	memset(dv, 0, sizeof(*dv));
	dv->sb = sb;
	dv->mnt_userns = mnt_userns;
	dv->scope_ino = scope_ino;
	dv->check_perm = check_perm;
	xa_init(&dv->cache);
}

void vexfs_dirv_destroy(struct vexfs_dirv *dv)
{
	xa_destroy(&dv->cache);
	kfree(dv->chain_ino);
	kfree(dv->chain_own);
	kvfree(dv->members);
	kfree(dv->names);
	dv->names = NULL;
	dv->chain_ino = NULL;
	dv->chain_own = NULL;
	dv->members = NULL;
}

/* Forget every verdict (the tree may have changed since they were made). */
void vexfs_dirv_reset(struct vexfs_dirv *dv)
{
	xa_destroy(&dv->cache);
	xa_init(&dv->cache);
	dv->nr_miss = 0;
}

/* ---- the index's copy of hard-linked files' directories (vi->link_dirs) ---- */

/* The directories names block blk lists for inode ino, allocated; NULL and *err on failure. */
struct vexfs_link_dirs *vexfs_link_dirs_read(struct super_block *sb, u32 ino, u32 blk, int *err)
{
	struct vexfs_link_dirs *ld;
	int n;

	ld = kmalloc(struct_size(ld, dir, VEXFS_NAMES_MAX), GFP_KERNEL);
	if (!ld) {
		*err = -ENOMEM;
		return NULL;
	}
	n = vexfs_names_read_dirs(sb, ino, blk, ld->dir, VEXFS_NAMES_MAX);
	if (n <= 0) {
		kfree(ld);
		*err = n ? n : -EUCLEAN;
		return NULL;
	}
	ld->n = n;
	/* Keep only what is used: most files have names in two or three directories. */
	return krealloc(ld, struct_size(ld, dir, n), GFP_KERNEL) ?: ld;
}

/* Install (or, ld NULL, drop) ino's entry; vi->lock held for writing. */
void vexfs_link_dirs_set(struct vexfs_vindex *vi, u32 ino, struct vexfs_link_dirs *ld)
{
	struct vexfs_link_dirs *old;

	old = ld ? xa_store(&vi->link_dirs, ino, ld, GFP_NOFS) : xa_erase(&vi->link_dirs, ino);
	if (xa_is_err(old)) {
		/* No room for the entry: the file is judged on its own (slower, as correct). */
		kfree(ld);
		old = xa_erase(&vi->link_dirs, ino);
		ld = NULL;
	}
	if (old)
		atomic64_sub(ksize(old), &vi->link_dirs_bytes);
	if (ld)
		atomic64_add(ksize(ld), &vi->link_dirs_bytes);
	kfree(old);
}

/*
 * Add ino's entry unless it has one (a slot group's loader, vi->lock held
 * for reading): it never replaces an entry, which searches may be reading.
 */
void vexfs_link_dirs_add(struct vexfs_vindex *vi, u32 ino, struct vexfs_link_dirs *ld)
{
	size_t bytes = ksize(ld);

	if (xa_insert(&vi->link_dirs, ino, ld, GFP_NOFS)) {
		kfree(ld);	/* there already, or no room: judged on its own */
		return;
	}
	atomic64_add(bytes, &vi->link_dirs_bytes);
}

void vexfs_link_dirs_destroy(struct vexfs_vindex *vi)
{
	struct vexfs_link_dirs *ld;
	unsigned long ino;

	xa_for_each(&vi->link_dirs, ino, ld)
		kfree(ld);
	xa_destroy(&vi->link_dirs);
	atomic64_set(&vi->link_dirs_bytes, 0);
}

/* Note key as met without a verdict (file: a file judged on its own). */
static void vexfs_dirv_note_miss(struct vexfs_dirv *dv, u32 key, bool file)
{
	u32 i;

	for (i = 0; i < dv->nr_miss; i++)
		if (dv->miss[i] == key)
			return;
	if (dv->nr_miss < VEXFS_DIRV_MISSES) {
		if (file)
			__set_bit(dv->nr_miss, dv->miss_file);
		else
			__clear_bit(dv->nr_miss, dv->miss_file);
		dv->miss[dv->nr_miss++] = key;
	}
}

/*
 * Under vi->lock, no sleeping: may file ino, whose slot records dir_ino
 * (slot_parent), be returned? A file with several names passes if one of
 * its directories does. Unknown directories (and files whose directories
 * the index does not hold) are noted for the next pass and fail for this one.
 */
bool vexfs_dirv_slot_ok(struct vexfs_dirv *dv, u32 dir_ino, u32 ino)
{
	const struct vexfs_link_dirs *ld;
	void *v;
	u32 i;

	if (dir_ino == VEXFS_SLOT_PARENT_NAMES) {
		ld = xa_load(&VEXFS_VI(dv->sb)->link_dirs, ino);
		if (!ld) {
			v = xa_load(&dv->cache, ino);
			if (v)
				return (xa_to_value(v) & VEXFS_DIRV_PASS) == VEXFS_DIRV_PASS;
			vexfs_dirv_note_miss(dv, ino, true);
			return false;
		}
		for (i = 0; i < ld->n; i++) {
			v = xa_load(&dv->cache, ld->dir[i]);
			if (!v)
				vexfs_dirv_note_miss(dv, ld->dir[i], false);
			else if ((xa_to_value(v) & VEXFS_DIRV_PASS) == VEXFS_DIRV_PASS)
				return true;
		}
		return false;
	}
	if (!dir_ino)
		return false;	/* no parent known: not reachable by any path we know */
	v = xa_load(&dv->cache, dir_ino);
	if (v)
		return (xa_to_value(v) & VEXFS_DIRV_PASS) == VEXFS_DIRV_PASS;
	vexfs_dirv_note_miss(dv, dir_ino, false);
	return false;
}

/*
 * The verdict on directory ino: walk i_parent up to the root or to the first
 * directory with a verdict, then fill in verdicts top-down. Directories have
 * one parent, kept exact by rename.
 */
static int vexfs_dirv_resolve(struct vexfs_dirv *dv, u32 ino, u32 *out)
{
	u32 depth = 0, base, b;
	void *v;
	int err;

	if (!dv->chain_ino) {
		dv->chain_ino = kmalloc_array(VEXFS_DIRV_DEPTH, sizeof(u32), GFP_KERNEL);
		dv->chain_own = kmalloc(VEXFS_DIRV_DEPTH, GFP_KERNEL);
		if (!dv->chain_ino || !dv->chain_own)
			return -ENOMEM;
	}
	for (;;) {
		struct inode *dir;
		u32 pino = 0;
		u8 own = VEXFS_DIRV_OWN_DEAD;

		v = xa_load(&dv->cache, ino);
		if (v) {
			base = xa_to_value(v);
			break;
		}
		if (depth == VEXFS_DIRV_DEPTH) {
			base = 0;	/* too deep (or a loop in damaged metadata) */
			break;
		}
		if (fatal_signal_pending(current))
			return -EINTR;
		dir = __vexfs_iget(dv->sb, ino, VEXFS_IGET_USER);
		if (IS_ERR(dir)) {
			/* Gone or unreadable: no path leads through it. */
			if (PTR_ERR(dir) == -ENOMEM)
				return -ENOMEM;
		} else {
			if (S_ISDIR(dir->i_mode) && dir->i_nlink) {
				own = 0;
				if (!dv->check_perm ||
				    !inode_permission(dv->mnt_userns, dir, MAY_EXEC))
					own |= VEXFS_DIRV_REACH;
				if (ino == dv->scope_ino)
					own |= VEXFS_DIRV_SCOPE;
				if (ino != VEXFS_ROOT_INO)
					pino = READ_ONCE(VEXFS_I(dir)->i_parent);
			}
			iput(dir);
		}
		dv->chain_ino[depth] = ino;
		dv->chain_own[depth] = own;
		depth++;
		if (own & VEXFS_DIRV_OWN_DEAD) {
			base = 0;
			break;
		}
		if (ino == VEXFS_ROOT_INO) {
			base = VEXFS_DIRV_REACH;	/* the mount root is where paths start */
			break;
		}
		if (!pino) {
			base = 0;	/* detached: no path from the root */
			break;
		}
		ino = pino;
	}
	b = base;
	while (depth--) {
		u8 own = dv->chain_own[depth];

		if (own & VEXFS_DIRV_OWN_DEAD)
			b = 0;
		else
			b = ((own & VEXFS_DIRV_REACH) ? (b & VEXFS_DIRV_REACH) : 0) |
			    ((own & VEXFS_DIRV_SCOPE) ? VEXFS_DIRV_SCOPE : (b & VEXFS_DIRV_SCOPE));
		b |= VEXFS_DIRV_KNOWN;
		err = xa_err(xa_store(&dv->cache, dv->chain_ino[depth], xa_mk_value(b), GFP_KERNEL));
		if (err)
			return err;
	}
	*out = b;
	return 0;
}

/*
 * Does one of inode's names lie in a directory that passes? Volumes with
 * names blocks: the directories listed; others: i_parent and the names the
 * dcache holds. vi->lock is not held.
 */
static int vexfs_dirv_names_pass(struct vexfs_dirv *dv, struct inode *inode, bool *ok)
{
	u32 parents[VEXFS_FILE_MAX_PARENTS], *dirs = parents, n = 0, i, b;
	int err;

	*ok = false;
	if (vexfs_names_enabled(dv->sb) && READ_ONCE(VEXFS_I(inode)->i_names_block)) {
		if (!dv->names) {
			dv->names = kmalloc_array(VEXFS_NAMES_MAX, sizeof(u32), GFP_KERNEL);
			if (!dv->names)
				return -ENOMEM;
		}
		err = vexfs_names_dirs(inode, dv->names, VEXFS_NAMES_MAX);
		if (err < 0 && err != -EUCLEAN)
			return err;
		if (err > 0) {
			dirs = dv->names;
			n = err;
		}
		/* Damaged (reported) or just dropped: judged by i_parent below. */
	}
	if (!n)
		parents[n++] = READ_ONCE(VEXFS_I(inode)->i_parent);
	if (dirs == parents && !vexfs_names_enabled(dv->sb) && inode->i_nlink > 1) {
		struct dentry *d;

		/* Lock order of the dcache: inode->i_lock, then dentry->d_lock. */
		spin_lock(&inode->i_lock);
		hlist_for_each_entry(d, &inode->i_dentry, d_u.d_alias) {
			if (n == ARRAY_SIZE(parents))
				break;
			spin_lock(&d->d_lock);
			if (!d_unhashed(d) && d->d_parent != d && d_inode(d->d_parent))
				parents[n++] = d_inode(d->d_parent)->i_ino;
			spin_unlock(&d->d_lock);
		}
		spin_unlock(&inode->i_lock);
	}
	for (i = 0; i < n; i++) {
		if (!dirs[i])
			continue;
		err = vexfs_dirv_resolve(dv, dirs[i], &b);
		if (err)
			return err;
		if ((b & VEXFS_DIRV_PASS) == VEXFS_DIRV_PASS) {
			*ok = true;
			return 0;
		}
	}
	return 0;
}

/* The verdict on file ino, whose slots are judged by its names block. */
static int vexfs_dirv_resolve_file(struct vexfs_dirv *dv, u32 ino)
{
	struct inode *inode;
	bool ok = false;
	int err = 0;

	inode = __vexfs_iget(dv->sb, ino, VEXFS_IGET_USER);
	if (IS_ERR(inode)) {
		if (PTR_ERR(inode) == -ENOMEM)
			return -ENOMEM;
	} else {
		if (inode->i_nlink)
			err = vexfs_dirv_names_pass(dv, inode, &ok);
		iput(inode);
		if (err)
			return err;
	}
	return xa_err(xa_store(&dv->cache, ino,
			       xa_mk_value(VEXFS_DIRV_KNOWN | (ok ? VEXFS_DIRV_PASS : 0)), GFP_KERNEL));
}

/*
 * Of inode's names, the directory of one the caller reaches, under the
 * scope if there is one (else any reachable one, else 0): where INO_PATH
 * names a file with a names block. vi->lock is not held.
 */
int vexfs_dirv_pick_name(struct vexfs_dirv *dv, struct inode *inode, u32 *dir)
{
	u32 i, b, reach = 0;
	int n, err;

	*dir = 0;
	if (!dv->names) {
		dv->names = kmalloc_array(VEXFS_NAMES_MAX, sizeof(u32), GFP_KERNEL);
		if (!dv->names)
			return -ENOMEM;
	}
	n = vexfs_names_dirs(inode, dv->names, VEXFS_NAMES_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		err = vexfs_dirv_resolve(dv, dv->names[i], &b);
		if (err)
			return err;
		if ((b & VEXFS_DIRV_PASS) == VEXFS_DIRV_PASS) {
			*dir = dv->names[i];
			return 0;
		}
		if ((b & VEXFS_DIRV_REACH) && !reach)
			reach = dv->names[i];
	}
	*dir = reach;
	return 0;
}

/* Resolve the directories and files the last pass found no verdict for. */
int vexfs_dirv_resolve_misses(struct vexfs_dirv *dv)
{
	u32 i, b;
	int err;

	for (i = 0; i < dv->nr_miss; i++) {
		if (test_bit(i, dv->miss_file))
			err = vexfs_dirv_resolve_file(dv, dv->miss[i]);
		else
			err = vexfs_dirv_resolve(dv, dv->miss[i], &b);
		if (err)
			return err;
	}
	dv->nr_miss = 0;
	return 0;
}

/*
 * The final check of a hit, on the file's current state (it may have moved
 * or changed mode during the search): read permission, and one name in a
 * directory that passes. vi->lock is not held.
 */
int vexfs_dirv_file_ok(struct vexfs_dirv *dv, struct inode *inode, bool *ok)
{
	*ok = false;
	if (dv->check_perm && inode_permission(dv->mnt_userns, inode, MAY_READ))
		return 0;
	return vexfs_dirv_names_pass(dv, inode, ok);
}

static int vexfs_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* Add the entries of directory dir: files to members, directories to dirs. */
static int vexfs_members_of_dir(struct vexfs_dirv *dv, struct inode *dir, u32 cap,
				u32 *dirs, u32 *nr_dirs)
{
	u32 nblocks = i_size_read(dir) >> VEXFS_BLOCK_SIZE_BITS, index;
	int err = 0;

	for (index = 0; index < nblocks && !err; index++) {
		struct buffer_head *bh = vexfs_dir_bread(dir, index, &err);
		struct vexfs_dirent_view e;
		u32 pos = 0;
		int rc;

		if (!bh)
			return err;
		while ((rc = vexfs_dir_next((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, pos, &e)) == 1) {
			pos = e.next_offset;
			if (e.name_len <= 2 && bh->b_data[e.name_offset] == '.' &&
			    (e.name_len == 1 || bh->b_data[e.name_offset + 1] == '.'))
				continue;
			if (e.file_type == VEXFS_FT_DIR) {
				if (*nr_dirs == cap) {
					err = -E2BIG;
					break;
				}
				dirs[(*nr_dirs)++] = e.ino;
			} else if (e.file_type == VEXFS_FT_REG_FILE) {
				if (dv->nr_members == cap) {
					err = -E2BIG;
					break;
				}
				dv->members[dv->nr_members++] = e.ino;
			}
		}
		brelse(bh);
		if (!err && rc < 0)
			err = rc;
	}
	return err;
}

/*
 * Collect the regular files under the scope (at any depth) into members, by
 * walking the scope's directories only. Returns 0 when they are at most cap
 * (members set), -E2BIG when there are more (the scope is too large for an
 * exact scan; members dropped), or another error. vi->lock is not held.
 */
int vexfs_dirv_members(struct vexfs_dirv *dv, u32 cap)
{
	u32 *dirs, nr_dirs = 0, next = 0;
	int err = 0;

	dv->members = kvmalloc_array(cap, sizeof(u32), GFP_KERNEL);
	dirs = kvmalloc_array(cap, sizeof(u32), GFP_KERNEL);
	if (!dv->members || !dirs) {
		err = -ENOMEM;
		goto out;
	}
	dv->nr_members = 0;
	dirs[nr_dirs++] = dv->scope_ino;
	while (next < nr_dirs && !err) {
		struct inode *dir;

		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
		dir = __vexfs_iget(dv->sb, dirs[next++], VEXFS_IGET_USER);
		if (IS_ERR(dir)) {
			if (PTR_ERR(dir) == -ENOMEM)
				err = -ENOMEM;
			continue;	/* removed meanwhile: nothing below it */
		}
		if (S_ISDIR(dir->i_mode) && dir->i_nlink) {
			inode_lock_shared(dir);
			err = vexfs_members_of_dir(dv, dir, cap, dirs, &nr_dirs);
			inode_unlock_shared(dir);
		}
		iput(dir);
	}
	if (!err && dv->nr_members) {
		/* A file with several names under the scope is one member. */
		u32 i, n = 1;

		sort(dv->members, dv->nr_members, sizeof(u32), vexfs_cmp_u32, NULL);
		for (i = 1; i < dv->nr_members; i++)
			if (dv->members[i] != dv->members[n - 1])
				dv->members[n++] = dv->members[i];
		dv->nr_members = n;
	}
out:
	kvfree(dirs);
	if (err) {
		kvfree(dv->members);
		dv->members = NULL;
		dv->nr_members = 0;
	}
	return err;
}
