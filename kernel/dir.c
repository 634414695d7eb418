// SPDX-License-Identifier: GPL-2.0
/*
 * dir.c - directory blocks: readdir, lookup by name, adding and removing
 * entries. The record layout is the Rust core's (vexfs_dir_*); this file
 * maps directory blocks, checks each one once, and ties dirty blocks to the
 * directory inode so fsync writes them.
 */
#include "vexfs.h"

#include <linux/fs_types.h>
#include <linux/jbd2.h>
#include <linux/random.h>
#include <linux/slab.h>

static u32 vexfs_dir_blocks(struct inode *dir)
{
	return i_size_read(dir) >> VEXFS_BLOCK_SIZE_BITS;
}

/* Read and check directory block index of dir. */
struct buffer_head *vexfs_dir_bread(struct inode *dir, u32 index, int *err)
{
	struct super_block *sb = dir->i_sb;
	struct buffer_head *bh;
	char msg[VEXFS_MSG_LEN];
	bool fresh;

	bh = vexfs_meta_bread(dir, index, false, &fresh, err);
	if (!bh) {
		if (!*err)
			*err = vexfs_corrupt(sb, "directory %lu: hole at block %u", dir->i_ino, index);
		return NULL;
	}
	if (!buffer_vexfs_checked(bh)) {
		lock_buffer(bh);
		*err = vexfs_dir_block_check((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE,
					     dir->i_ino, VEXFS_SB(sb)->geom.inodes_count,
					     msg, sizeof(msg));
		if (!*err)
			set_buffer_vexfs_checked(bh);
		unlock_buffer(bh);
		if (*err) {
			if (*err == -EUCLEAN)
				vexfs_corrupt(sb, "%s (block %llu)", msg, (u64)bh->b_blocknr);
			brelse(bh);
			return NULL;
		}
	}
	return bh;
}

/* ---- hash-indexed directories (format and walk logic: core/src/format/dx/) ---- */

static bool vexfs_dir_indexed(struct inode *dir)
{
	return VEXFS_I(dir)->i_dir_depth > 0;
}

/* Read index blocks until the walk reaches a leaf or the end. */
static int vexfs_dx_walk(struct inode *dir, struct vexfs_dx_path *p, int rc)
{
	while (rc == VEXFS_DX_READ) {
		struct buffer_head *bh;
		int err;

		bh = vexfs_dir_bread(dir, p->next_block, &err);
		if (!bh)
			return err;
		rc = vexfs_dx_descend(p, (const u8 *)bh->b_data, VEXFS_BLOCK_SIZE);
		brelse(bh);
	}
	if (rc < 0 && rc == -EUCLEAN)
		vexfs_corrupt(dir->i_sb, "directory %lu: damaged hash index", dir->i_ino);
	return rc;
}

/* Start a walk by name (the root is block 0). */
static int vexfs_dx_start_name(struct inode *dir, struct vexfs_dx_path *p, const struct qstr *name)
{
	struct buffer_head *bh;
	int err, rc;

	bh = vexfs_dir_bread(dir, 0, &err);
	if (!bh)
		return err;
	rc = vexfs_dx_probe_name(p, (const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino,
				 vexfs_dir_blocks(dir), VEXFS_I(dir)->i_dir_depth,
				 name->name, name->len);
	brelse(bh);
	return vexfs_dx_walk(dir, p, rc);
}

static bool vexfs_is_dot_or_dotdot(const struct qstr *name)
{
	return name->name[0] == '.' && (name->len == 1 || (name->len == 2 && name->name[1] == '.'));
}

/* Find name in an indexed directory: its leaf (and collision spill-overs). */
static int vexfs_dx_find_entry(struct inode *dir, const struct qstr *name,
			       struct buffer_head **bhp, struct vexfs_dirent_view *view)
{
	struct vexfs_dx_path p;
	int rc, err;

	if (vexfs_is_dot_or_dotdot(name)) {
		struct buffer_head *bh = vexfs_dir_bread(dir, 0, &err);

		if (!bh)
			return err;
		rc = vexfs_dir_find((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, name->name,
				    name->len, view);
		if (rc == 1) {
			*bhp = bh;
			return 0;
		}
		brelse(bh);
		return rc < 0 ? rc : -ENOENT;
	}
	for (rc = vexfs_dx_start_name(dir, &p, name); rc == VEXFS_DX_LEAF;
	     rc = vexfs_dx_walk(dir, &p, vexfs_dx_next_leaf(&p, 0))) {
		struct buffer_head *bh = vexfs_dir_bread(dir, p.next_block, &err);

		if (!bh)
			return err;
		err = vexfs_dir_find((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, name->name,
				     name->len, view);
		if (err == 1) {
			*bhp = bh;
			return 0;
		}
		brelse(bh);
		if (err < 0)
			return vexfs_corrupt(dir->i_sb, "directory %lu: bad record in block %u",
					     dir->i_ino, p.next_block);
	}
	return rc == VEXFS_DX_END ? -ENOENT : rc;
}

/* readdir of an indexed directory: ".", "..", then names in hash order. */
static int vexfs_dx_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct vexfs_dirent_view e;
	struct vexfs_dx_slot *slots;
	struct vexfs_dx_path p;
	struct buffer_head *bh;
	int rc, err, n, i;

	if (ctx->pos == 0) {
		if (!dir_emit_dot(file, ctx))
			return 0;
		ctx->pos = 1;
	}
	if (ctx->pos == 1) {
		static const struct qstr dotdot = QSTR_INIT("..", 2);

		err = vexfs_dx_find_entry(dir, &dotdot, &bh, &e);
		if (err)
			return err;
		brelse(bh);
		if (!dir_emit(ctx, "..", 2, e.ino, DT_DIR))
			return 0;
		ctx->pos = 2;
	}
	if (ctx->pos >= VEXFS_DX_POS_EOF)
		return 0;
	slots = kmalloc_array(VEXFS_DX_LEAF_MAX_ENTRIES, sizeof(*slots), GFP_KERNEL);
	if (!slots)
		return -ENOMEM;
	bh = vexfs_dir_bread(dir, 0, &err);
	if (!bh) {
		kfree(slots);
		return err;
	}
	rc = vexfs_dx_probe_pos(&p, (const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino,
				vexfs_dir_blocks(dir), VEXFS_I(dir)->i_dir_depth, ctx->pos);
	brelse(bh);
	for (rc = vexfs_dx_walk(dir, &p, rc); rc == VEXFS_DX_LEAF;
	     rc = vexfs_dx_walk(dir, &p, vexfs_dx_next_leaf(&p, 1))) {
		bh = vexfs_dir_bread(dir, p.next_block, &err);
		if (!bh) {
			rc = err;
			break;
		}
		n = vexfs_dx_leaf_sort(&p, (const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, slots,
				       VEXFS_DX_LEAF_MAX_ENTRIES);
		for (i = 0; i < n; i++) {
			if (slots[i].pos < ctx->pos)
				continue;
			if (vexfs_dir_next((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE,
					   slots[i].rec_offset, &e) != 1 ||
			    e.rec_offset != slots[i].rec_offset) {
				n = -EUCLEAN;
				break;
			}
			ctx->pos = slots[i].pos;
			if (!dir_emit(ctx, bh->b_data + e.name_offset, e.name_len, e.ino,
				      fs_ftype_to_dtype(e.file_type))) {
				brelse(bh);
				kfree(slots);
				return 0;
			}
			ctx->pos = slots[i].pos + 1;
		}
		brelse(bh);
		if (n < 0) {
			rc = vexfs_corrupt(dir->i_sb, "directory %lu: bad leaf block %u",
					   dir->i_ino, p.next_block);
			break;
		}
	}
	kfree(slots);
	if (rc == VEXFS_DX_END) {
		ctx->pos = VEXFS_DX_POS_EOF;
		return 0;
	}
	return rc;
}

/* Index positions go up to 2^63 - 1 (ext4_dir_llseek does the same). */
static loff_t vexfs_dir_llseek(struct file *file, loff_t offset, int whence)
{
	return generic_file_llseek_size(file, offset, whence, VEXFS_DX_POS_EOF,
					VEXFS_DX_POS_EOF);
}

static int vexfs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	u32 nblocks = vexfs_dir_blocks(dir);
	u32 index = ctx->pos >> VEXFS_BLOCK_SIZE_BITS;
	u32 start = ctx->pos & (VEXFS_BLOCK_SIZE - 1);

	if (vexfs_dir_indexed(dir))
		return vexfs_dx_readdir(file, ctx);
	if (ctx->pos >= VEXFS_DX_POS_BASE)
		return 0;	/* an index-era position; the directory has none now */

	for (; index < nblocks; index++, start = 0) {
		struct vexfs_dirent_view e;
		struct buffer_head *bh;
		u32 pos = 0;
		int err, rc;

		bh = vexfs_dir_bread(dir, index, &err);
		if (!bh)
			return err;
		/*
		 * Walk from the block start: a seekdir() offset may point into
		 * a record merged away since telldir(); resume at the first
		 * record at or after it.
		 */
		while ((rc = vexfs_dir_next((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE, pos, &e)) == 1) {
			pos = e.next_offset;
			if (e.rec_offset < start)
				continue;
			ctx->pos = ((loff_t)index << VEXFS_BLOCK_SIZE_BITS) + e.rec_offset;
			if (!dir_emit(ctx, bh->b_data + e.name_offset, e.name_len, e.ino,
				      fs_ftype_to_dtype(e.file_type))) {
				brelse(bh);
				return 0;
			}
		}
		brelse(bh);
		if (rc < 0)
			return vexfs_corrupt(dir->i_sb, "directory %lu: bad record in block %u",
					     dir->i_ino, index);
		ctx->pos = (loff_t)(index + 1) << VEXFS_BLOCK_SIZE_BITS;
	}
	return 0;
}

/*
 * Find name in dir. On success returns 0 with *bhp holding the block (the
 * caller releases it) and *view describing the record; -ENOENT if absent.
 */
int vexfs_find_entry(struct inode *dir, const struct qstr *name,
		     struct buffer_head **bhp, struct vexfs_dirent_view *view)
{
	u32 nblocks = vexfs_dir_blocks(dir), index;
	int err;

	if (name->len > VEXFS_NAME_LEN)
		return -ENAMETOOLONG;
	if (vexfs_dir_indexed(dir))
		return vexfs_dx_find_entry(dir, name, bhp, view);
	for (index = 0; index < nblocks; index++) {
		struct buffer_head *bh = vexfs_dir_bread(dir, index, &err);

		if (!bh)
			return err;
		err = vexfs_dir_find((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE,
				     name->name, name->len, view);
		if (err == 1) {
			*bhp = bh;
			return 0;
		}
		brelse(bh);
		if (err < 0)
			return vexfs_corrupt(dir->i_sb, "directory %lu: bad record in block %u",
					     dir->i_ino, index);
	}
	return -ENOENT;
}

static void vexfs_dir_touch(struct inode *dir)
{
	dir->i_mtime = dir->i_ctime = current_time(dir);
	mark_inode_dirty(dir);
}

/*
 * Map n new directory blocks [first, first + n) (past i_size) and take them
 * for journal access; they come back locked, for the core to fill whole. On
 * error nothing is held (blocks already mapped beyond i_size are freed by
 * the caller).
 */
static int vexfs_dir_fresh_blocks(struct inode *dir, u32 first, u32 n, struct buffer_head **bhs)
{
	bool fresh;
	int err = 0;
	u32 i;

	for (i = 0; i < n; i++) {
		bhs[i] = vexfs_meta_bread(dir, first + i, true, &fresh, &err);
		if (!bhs[i])
			break;
		if (!fresh) {
			/* Left mapped past i_size by a failed growth: reuse it. */
			err = vexfs_journal_write_access(dir->i_sb, bhs[i]);
			if (err) {
				brelse(bhs[i]);
				break;
			}
			lock_buffer(bhs[i]);
		}
	}
	if (err) {
		while (i--) {
			unlock_buffer(bhs[i]);
			brelse(bhs[i]);
		}
	}
	return err;
}

/* Release fresh blocks after the core filled them (ok) or not. */
static int vexfs_dir_fresh_done(struct inode *dir, struct buffer_head **bhs, u32 n, bool ok)
{
	int err = 0;
	u32 i;

	for (i = 0; i < n; i++) {
		if (ok) {
			set_buffer_uptodate(bhs[i]);
			set_buffer_vexfs_checked(bhs[i]);
		}
		unlock_buffer(bhs[i]);
		if (ok && !err)
			err = vexfs_journal_dirty(dir->i_sb, dir, bhs[i]);
		brelse(bhs[i]);
	}
	return err;
}

/*
 * The one block of a linear directory is full: turn it into a hash index
 * root with two leaves (like ext4's htree conversion), then add name.
 */
static int vexfs_dx_convert(struct inode *dir, const struct qstr *name, struct inode *inode,
			    u32 ftype)
{
	struct buffer_head *bh0, *fresh[2];
	struct vexfs_dx_slot *slots;
	u8 seed[16];
	int err, rc;

	slots = kmalloc_array(VEXFS_DX_LEAF_MAX_ENTRIES + 1, sizeof(*slots), GFP_NOFS);
	if (!slots)
		return -ENOMEM;
	err = vexfs_journal_ensure_reserved(dir->i_sb, 3 + 2 * VEXFS_CREDITS_ALLOC,
					     "indexing a full directory block");
	bh0 = err ? NULL : vexfs_dir_bread(dir, 0, &err);
	if (!bh0)
		goto out;
	err = vexfs_journal_write_access(dir->i_sb, bh0);
	if (!err)
		err = vexfs_dir_fresh_blocks(dir, 1, 2, fresh);
	if (err) {
		brelse(bh0);
		vexfs_truncate_blocks(dir, 1, false);
		goto out;
	}
	get_random_bytes(seed, sizeof(seed));
	lock_buffer(bh0);
	rc = vexfs_dx_convert_add((u8 *)bh0->b_data, (u8 *)fresh[0]->b_data, (u8 *)fresh[1]->b_data,
				  VEXFS_BLOCK_SIZE, dir->i_ino, seed, name->name, name->len,
				  inode->i_ino, ftype, slots, VEXFS_DX_LEAF_MAX_ENTRIES + 1);
	unlock_buffer(bh0);
	err = vexfs_dir_fresh_done(dir, fresh, 2, rc >= 0);
	if (rc < 0) {
		brelse(bh0);
		vexfs_truncate_blocks(dir, 1, false);
		err = rc;
		goto out;
	}
	if (!err)
		err = vexfs_journal_dirty(dir->i_sb, dir, bh0);
	brelse(bh0);
	if (!err) {
		i_size_write(dir, 3 << VEXFS_BLOCK_SIZE_BITS);
		VEXFS_I(dir)->i_dir_depth = 1;
	}
out:
	kfree(slots);
	return err;
}

/* Add name to an indexed directory: into its leaf, splitting when full. */
static int vexfs_dx_add(struct inode *dir, const struct qstr *name, struct inode *inode, u32 ftype)
{
	struct buffer_head *leaf, *frames[VEXFS_DX_MAX_LEVELS], *fresh[VEXFS_DX_MAX_LEVELS + 1];
	struct vexfs_dx_split_ctx *ctx = NULL;
	u32 nblocks = vexfs_dir_blocks(dir), i, nframes = 0;
	struct vexfs_dx_path p;
	int need, rc, err;

	rc = vexfs_dx_start_name(dir, &p, name);
	if (rc != VEXFS_DX_LEAF)
		return rc < 0 ? rc : vexfs_corrupt(dir->i_sb, "directory %lu: index has no leaf for a name",
						   dir->i_ino);
	leaf = vexfs_dir_bread(dir, p.next_block, &err);
	if (!leaf)
		return err;
	err = vexfs_journal_write_access(dir->i_sb, leaf);
	if (err)
		goto out_leaf;
	lock_buffer(leaf);
	rc = vexfs_dx_leaf_add(&p, (u8 *)leaf->b_data, VEXFS_BLOCK_SIZE, name->name, name->len,
			       inode->i_ino, ftype);
	unlock_buffer(leaf);
	if (rc >= 0) {
		err = vexfs_journal_dirty(dir->i_sb, dir, leaf);
		goto out_leaf;
	}
	if (rc != -ENOSPC) {
		err = rc;
		goto out_leaf;
	}

	/* The leaf is full: split it (and full index blocks above it). */
	need = vexfs_dx_split_need(&p);
	if (need < 0) {
		pr_warn_ratelimited("vexfs (%s): directory %lu: hash index is full\n",
				    dir->i_sb->s_id, dir->i_ino);
		err = need;
		goto out_leaf;
	}
	err = vexfs_journal_ensure_reserved(dir->i_sb, 2 + p.nframes + need * (1 + VEXFS_CREDITS_ALLOC),
					     "a directory index split");
	if (err)
		goto out_leaf;
	ctx = kzalloc(sizeof(*ctx), GFP_NOFS);
	if (ctx)
		ctx->slots = kmalloc_array(VEXFS_DX_LEAF_MAX_ENTRIES + 1, sizeof(*ctx->slots), GFP_NOFS);
	if (!ctx || !ctx->slots) {
		err = -ENOMEM;
		goto out_ctx;
	}
	for (nframes = 0; nframes < p.nframes && nframes < VEXFS_DX_MAX_LEVELS; nframes++) {
		frames[nframes] = vexfs_dir_bread(dir, p.frames[nframes].block, &err);
		if (!frames[nframes])
			goto out_frames;
		err = vexfs_journal_write_access(dir->i_sb, frames[nframes]);
		if (err) {
			brelse(frames[nframes]);
			goto out_frames;
		}
	}
	err = vexfs_dir_fresh_blocks(dir, nblocks, need, fresh);
	if (err) {
		vexfs_truncate_blocks(dir, nblocks, false);
		goto out_frames;
	}
	for (i = 0; i < nframes; i++) {
		lock_buffer(frames[i]);
		ctx->frames[i] = (u8 *)frames[i]->b_data;
	}
	lock_buffer(leaf);
	ctx->leaf = (u8 *)leaf->b_data;
	for (i = 0; i < need; i++)
		ctx->fresh[i] = (u8 *)fresh[i]->b_data;
	ctx->fresh_first = nblocks;
	ctx->nfresh = need;
	ctx->nslots = VEXFS_DX_LEAF_MAX_ENTRIES + 1;
	rc = vexfs_dx_split_add(&p, ctx, name->name, name->len, inode->i_ino, ftype);
	unlock_buffer(leaf);
	for (i = 0; i < nframes; i++)
		unlock_buffer(frames[i]);
	err = vexfs_dir_fresh_done(dir, fresh, need, rc >= 0);
	if (rc < 0) {
		vexfs_truncate_blocks(dir, nblocks, false);
		err = rc;
		goto out_frames;
	}
	for (i = 0; i < nframes && !err; i++)
		err = vexfs_journal_dirty(dir->i_sb, dir, frames[i]);
	if (!err)
		err = vexfs_journal_dirty(dir->i_sb, dir, leaf);
	if (!err) {
		i_size_write(dir, (loff_t)(nblocks + need) << VEXFS_BLOCK_SIZE_BITS);
		VEXFS_I(dir)->i_dir_depth = p.levels;
	}
out_frames:
	while (nframes--)
		brelse(frames[nframes]);
out_ctx:
	if (ctx)
		kfree(ctx->slots);
	kfree(ctx);
out_leaf:
	brelse(leaf);
	return err;
}

/* Add name -> inode to dir, growing it by a block when every block is full. */
int vexfs_add_link(struct inode *dir, const struct qstr *name, struct inode *inode)
{
	u32 ftype = fs_umode_to_ftype(inode->i_mode);
	u32 nblocks = vexfs_dir_blocks(dir), index;
	struct buffer_head *bh;
	bool ok;
	int err;

	/* Whatever an insertion logs is reserved in VEXFS_CREDITS_DIRENT. */
	BUILD_BUG_ON(VEXFS_CREDITS_DIRENT < 3 + 2 * VEXFS_CREDITS_ALLOC);
	BUILD_BUG_ON(VEXFS_CREDITS_DIRENT < 2 + VEXFS_CREDITS_ALLOC);
	if (vexfs_dir_indexed(dir)) {
		err = vexfs_dx_add(dir, name, inode, ftype);
		if (!err)
			vexfs_dir_touch(dir);
		return err;
	}
	for (index = 0; index < nblocks; index++) {
		bh = vexfs_dir_bread(dir, index, &err);
		if (!bh)
			return err;
		err = vexfs_journal_write_access(dir->i_sb, bh);
		if (err) {
			brelse(bh);
			return err;
		}
		lock_buffer(bh);
		err = vexfs_dir_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino,
				    name->name, name->len, inode->i_ino, ftype);
		unlock_buffer(bh);
		if (err >= 0) {
			err = vexfs_journal_dirty(dir->i_sb, dir, bh);
			brelse(bh);
			if (err)
				return err;
			vexfs_dir_touch(dir);
			return 0;
		}
		brelse(bh);
		if (err != -ENOSPC)
			return err;
	}

	/* A full one-block directory becomes hash indexed (when the volume allows). */
	if (nblocks == 1 && (VEXFS_SB(dir->i_sb)->geom.feature_ro_compat &
			     VEXFS_FEATURE_RO_COMPAT_DIR_INDEX)) {
		err = vexfs_dx_convert(dir, name, inode, ftype);
		if (!err)
			vexfs_dir_touch(dir);
		return err;
	}

	/* Every block is full: append one. */
	err = vexfs_dir_fresh_blocks(dir, nblocks, 1, &bh);
	if (err)
		return err;
	err = vexfs_dir_block_init((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino);
	if (!err)
		err = vexfs_dir_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino,
				    name->name, name->len, inode->i_ino, ftype);
	ok = err >= 0;
	err = vexfs_dir_fresh_done(dir, &bh, 1, ok) ?: (ok ? 0 : err);
	if (err < 0)
		return err;
	i_size_write(dir, (loff_t)(nblocks + 1) << VEXFS_BLOCK_SIZE_BITS);
	vexfs_dir_touch(dir);
	return 0;
}

int vexfs_delete_entry(struct inode *dir, struct buffer_head *bh,
		       const struct vexfs_dirent_view *view)
{
	int err;

	err = vexfs_journal_write_access(dir->i_sb, bh);
	if (err)
		return err;
	lock_buffer(bh);
	err = vexfs_dir_remove((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino, view->rec_offset);
	unlock_buffer(bh);
	if (!err)
		err = vexfs_journal_dirty(dir->i_sb, dir, bh);
	if (err)
		return err;
	vexfs_dir_touch(dir);
	return 0;
}

int vexfs_set_link(struct inode *dir, struct buffer_head *bh,
		   const struct vexfs_dirent_view *view, struct inode *inode)
{
	int err;

	err = vexfs_journal_write_access(dir->i_sb, bh);
	if (err)
		return err;
	lock_buffer(bh);
	err = vexfs_dir_retarget((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, dir->i_ino,
				 view->rec_offset, inode->i_ino,
				 fs_umode_to_ftype(inode->i_mode));
	unlock_buffer(bh);
	if (!err)
		err = vexfs_journal_dirty(dir->i_sb, dir, bh);
	if (err)
		return err;
	vexfs_dir_touch(dir);
	return 0;
}

/* Give a new directory its first block with "." and "..". */
int vexfs_make_empty(struct inode *inode, struct inode *parent)
{
	struct buffer_head *bh;
	bool ok;
	int err;

	err = vexfs_dir_fresh_blocks(inode, 0, 1, &bh);
	if (err)
		return err;
	err = vexfs_dir_block_init((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino);
	if (!err)
		err = vexfs_dir_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino,
				    ".", 1, inode->i_ino, VEXFS_FT_DIR);
	if (err >= 0)
		err = vexfs_dir_add((u8 *)bh->b_data, VEXFS_BLOCK_SIZE, inode->i_ino,
				    "..", 2, parent->i_ino, VEXFS_FT_DIR);
	ok = err >= 0;
	err = vexfs_dir_fresh_done(inode, &bh, 1, ok) ?: (ok ? 0 : err);
	if (err < 0)
		return err;
	i_size_write(inode, VEXFS_BLOCK_SIZE);
	mark_inode_dirty(inode);
	return 0;
}

/* 1 when dir holds only "." and "..", 0 when not, negative on error. */
int vexfs_empty_dir(struct inode *dir)
{
	u32 nblocks = vexfs_dir_blocks(dir), index;
	int err;

	for (index = 0; index < nblocks; index++) {
		struct buffer_head *bh = vexfs_dir_bread(dir, index, &err);

		if (!bh)
			return err;
		err = vexfs_dir_block_is_empty((const u8 *)bh->b_data, VEXFS_BLOCK_SIZE);
		brelse(bh);
		if (err <= 0)
			return err;
	}
	return 1;
}

const struct file_operations vexfs_dir_operations = {
	.llseek		= vexfs_dir_llseek,
	.read		= generic_read_dir,
	.iterate_shared	= vexfs_readdir,
	.fsync		= vexfs_fsync,
	.unlocked_ioctl	= vexfs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
