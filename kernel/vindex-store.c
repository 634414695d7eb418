// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-store.c - the vector-store file (inode 3): reading, writing and
 * clearing the record of an inode, and the mount-time scan that reads every
 * record into the slot arrays (with read-ahead of the records and of the
 * inodes that own them).
 *
 * Locking: record writes are serialised by vi->store_mutex (taken inside a
 * journal handle, never with vi->lock held). The mount scan runs before the
 * index is published; it takes vi->lock for writing only around slot
 * allocation, which expects it.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vindex.h"

/* ---- the store file ------------------------------------------------------ */

static u32 vexfs_record_len(struct vexfs_vindex *vi)
{
	return VEXFS_VEC_RECORD_HEADER_SIZE + 4 * vi->dim;
}

/*
 * Read (create = false) or write the record bytes of inode ino in the store
 * file. rec == NULL on write clears the record. The record may span several
 * whole blocks (dim > 1020).
 */
static int vexfs_store_io(struct vexfs_vindex *vi, u64 ino, u8 *rec, bool write, bool *absent)
{
	struct inode *store = vi->store;
	struct super_block *sb = vi->sb;
	struct vexfs_vec_pos pos;
	u32 done = 0;
	u64 block;
	int err;

	err = vexfs_vec_record_pos(ino, vi->dim, &pos);
	if (err)
		return err;
	if (absent)
		*absent = false;
	for (block = pos.block; done < pos.len; block++) {
		struct buffer_head *bh;
		u32 off = done ? 0 : pos.offset;
		u32 n = min_t(u32, pos.len - done, VEXFS_BLOCK_SIZE - off);
		bool fresh;

		/* A fresh block comes back locked, zeroed and taken for create access. */
		bh = vexfs_meta_bread(store, block, write && rec, &fresh, &err);
		if (!bh) {
			if (err)
				return err;
			/* A hole: nothing was ever stored there. */
			if (!write && absent)
				*absent = true;
			return 0;	/* reading or clearing an absent record */
		}
		if (write) {
			if (!fresh) {
				err = vexfs_journal_write_access(sb, bh);
				if (err) {
					brelse(bh);
					return err;
				}
				lock_buffer(bh);
			}
			if (rec)
				memcpy(bh->b_data + off, rec + done, n);
			else
				memset(bh->b_data + off, 0, n);
			set_buffer_uptodate(bh);
			unlock_buffer(bh);
			err = vexfs_journal_dirty(sb, store, bh);
			if (err) {
				brelse(bh);
				return err;
			}
		} else {
			memcpy(rec + done, bh->b_data + off, n);
		}
		brelse(bh);
		done += n;
	}
	if (write && rec) {
		loff_t end = (loff_t)(pos.block << VEXFS_BLOCK_SIZE_BITS) + pos.offset + pos.len;

		if (end > i_size_read(store)) {
			i_size_write(store, end);
			mark_inode_dirty(store);
		}
	}
	return 0;
}

int vexfs_store_write(struct vexfs_vindex *vi, struct inode *inode, const u32 *bits)
{
	u32 len = vexfs_record_len(vi);
	u8 *rec;
	int err;

	rec = kvmalloc(len, GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	err = vexfs_vec_record_encode(inode->i_ino, inode->i_generation, bits, vi->dim, rec, len);
	if (!err) {
		mutex_lock(&vi->store_mutex);
		err = vexfs_store_io(vi, inode->i_ino, rec, true, NULL);
		mutex_unlock(&vi->store_mutex);
	}
	kvfree(rec);
	return err;
}

int vexfs_store_clear(struct vexfs_vindex *vi, u64 ino)
{
	handle_t *handle;
	int err;

	handle = vexfs_journal_begin(vi->sb, VEXFS_CREDITS_VECTOR);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	mutex_lock(&vi->store_mutex);
	err = vexfs_store_io(vi, ino, NULL, true, NULL);
	mutex_unlock(&vi->store_mutex);
	vexfs_journal_end(handle);
	return err;
}

/*
 * Start reads of file blocks [first, first + n) of @file (mapped in runs,
 * holes skipped) without waiting: the mount-time scans read every block in
 * order, and one synchronous read at a time left the disk idle between them.
 * For the vector store (@vi set), also the inode-table blocks of the inodes
 * whose records are in the mapped runs (the scan checks each record's owner):
 * holes have no records, so a sparse store reads no inodes for them.
 */
void vexfs_file_readahead(struct inode *file, u64 first, u64 n, struct vexfs_vindex *vi)
{
	struct super_block *sb = file->i_sb;
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	u64 b = first, end = first + n;

	while (b < end) {
		struct vexfs_map map;
		u64 i, run, lo, hi;
		u32 it_first, it_last, off;

		if (vexfs_map_blocks(file, b, min_t(u64, end - b, U32_MAX), false, &map))
			return;
		if (!map.block_nr) {
			b++;
			continue;
		}
		run = map.len;
		for (i = 0; i < run; i++)
			vexfs_breadahead(sb, map.block_nr + i);
		/* The inode table is contiguous: the blocks of inodes lo..hi. */
		if (vi && vexfs_vec_block_inos(b, run, vi->dim, &lo, &hi) == 1 &&
		    !vexfs_inode_locate(&sbi->geom, max_t(u64, lo, VEXFS_FIRST_INO), &it_first, &off) &&
		    !vexfs_inode_locate(&sbi->geom, min_t(u64, hi, sbi->geom.inodes_count), &it_last, &off))
			for (i = it_first; i <= it_last; i++)
				vexfs_breadahead(sb, i);
		b += run;
	}
}

/* At position pos of a scan over [0, total): the range to start reading, if any. */
bool vexfs_scan_window(u64 pos, u64 total, u64 window, u64 *from, u64 *n)
{
	u64 start, end;

	if (pos % window)
		return false;
	start = pos ? pos + window : 0;
	end = min(total, pos + 2 * window);
	if (start >= end)
		return false;
	*from = start;
	*n = end - start;
	return true;
}

/* Read ahead the store records, and their inodes, of inodes [from, from + n). */
static void vexfs_store_readahead(struct vexfs_vindex *vi, u64 from, u64 n)
{
	struct vexfs_vec_pos a, z;
	u64 last = from + n - 1;

	if (!n || vexfs_vec_record_pos(from, vi->dim, &a) || vexfs_vec_record_pos(last, vi->dim, &z))
		return;
	vexfs_file_readahead(vi->store, a.block,
			     z.block + DIV_ROUND_UP(z.offset + z.len, VEXFS_BLOCK_SIZE) - a.block, vi);
}

/*
 * Is inode ino in use with this generation and a vector? Reads the inode
 * table; on success *im holds the owner (for the permission filter).
 */
static bool vexfs_record_owner_ok(struct vexfs_vindex *vi, u32 ino, u32 gen,
				  struct vexfs_inode_mem *im)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vi->sb);
	struct buffer_head *bh;
	u32 block_nr, offset;
	bool ok;

	if (ino < VEXFS_FIRST_INO || vexfs_inode_locate(&sbi->geom, ino, &block_nr, &offset))
		return false;
	bh = vexfs_bread(vi->sb, block_nr);
	if (!bh)
		return false;
	ok = !vexfs_inode_decode(&sbi->geom, (u8 *)bh->b_data + offset, VEXFS_INODE_SIZE, ino,
				 im, NULL, 0) &&
	     im->links_count && im->generation == gen &&
	     (im->flags & VEXFS_INODE_FL_HAS_VECTOR) && (im->mode & S_IFMT) == S_IFREG;
	brelse(bh);
	return ok;
}

/* Read every record of the store file into slots. */
int vexfs_store_load(struct vexfs_vindex *vi, bool graph_slots)
{
	u32 len = vexfs_record_len(vi), *bits;
	struct vexfs_inode_mem *im;
	u64 nrec, ino, stale = 0, ra_from, ra_n;
	u8 *rec;
	int err = 0;

	rec = kvmalloc(len, GFP_KERNEL);
	bits = kvmalloc_array(vi->dim, sizeof(u32), GFP_KERNEL);
	im = kmalloc(sizeof(*im), GFP_KERNEL);
	if (!rec || !bits || !im) {
		err = -ENOMEM;
		goto out;
	}
	/* Records are indexed by inode number; scan every possible one. */
	nrec = VEXFS_SB(vi->sb)->geom.inodes_count + 1ULL;
	for (ino = VEXFS_FIRST_INO; ino < nrec; ino++) {
		bool absent;
		int slot, rc;
		u32 gen;

		if (vexfs_scan_window(ino - VEXFS_FIRST_INO, nrec - VEXFS_FIRST_INO,
				      VEXFS_SCAN_READAHEAD, &ra_from, &ra_n))
			vexfs_store_readahead(vi, VEXFS_FIRST_INO + ra_from, ra_n);

		err = vexfs_store_io(vi, ino, rec, false, &absent);
		if (err)
			goto out;
		if (absent)
			continue;
		rc = vexfs_vec_record_decode(rec, len, ino, vi->dim, &gen, bits);
		if (rc == 0)
			continue;
		if (rc < 0 || !vexfs_record_owner_ok(vi, ino, gen, im)) {
			stale++;
			if (!sb_rdonly(vi->sb))
				vexfs_store_clear(vi, ino);
			continue;
		}
		slot = vexfs_slot_of(vi, ino);
		if (slot < 0) {
			u32 s;

			if (graph_slots) {
				/* A vector the graph does not know: the graph is stale. */
				err = -ESTALE;
				goto out;
			}
			down_write(&vi->lock);
			err = vexfs_slot_alloc(vi, &s);
			if (!err)
				err = xa_err(xa_store(&vi->ino_slot, ino, xa_mk_value(s + 1), GFP_KERNEL));
			up_write(&vi->lock);
			if (err)
				goto out;
			slot = s;
			vi->slot_ino[slot] = ino;
		}
		memcpy(vi->vecs + (size_t)slot * vi->dim, bits, vi->dim * sizeof(u32));
		vi->slot_gen[slot] = gen;
		vi->slot_uid[slot] = im->uid;
		vi->slot_gid[slot] = im->gid;
		vi->slot_mode[slot] = im->mode;
		vi->slot_parent[slot] = im->parent;
		vi->slot_state[slot] |= VSLOT_LIVE;
		vi->nr_live++;
		if ((ino & 1023) == 0)
			cond_resched();
	}
	if (stale)
		pr_warn("vexfs (%s): dropped %llu vector records whose file is gone or damaged\n",
			vi->sb->s_id, stale);
out:
	kvfree(rec);
	kvfree(bits);
	kfree(im);
	return err;
}
