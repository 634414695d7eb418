// SPDX-License-Identifier: GPL-2.0
/*
 * vindex-store.c - the vector-store file (inode 3: one chunk record per
 * slot) and the slot bitmap (inode 5: bit s set = slot s allocated):
 * writing a slot's record, switching runs in the bitmap, and the mount-time
 * scan that reads every allocated slot's record, checks it against its
 * owner inode and fills the slot arrays (with read-ahead of the records and
 * of the owners' inode-table blocks). Both note where each record's blocks
 * are on the device, for reading vectors in place (vindex-vecs.c).
 *
 * Locking: block writes to both files are serialised by vi->store_mutex
 * (taken inside a journal handle, never with vi->lock held; a write notes
 * its blocks after dropping it, under vi->lock for reading). The mount scan
 * runs before the index is published and needs no lock.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/bitops.h>

#include "vindex.h"
#include "../shim/vexfs_simd.h"

/* ---- the store file ------------------------------------------------------ */

static u32 vexfs_record_len(struct vexfs_vindex *vi)
{
	return VEXFS_CHUNK_RECORD_HEADER_SIZE + 4 * vi->dim;
}

/*
 * Read or write the record bytes at pos of the store file (several whole
 * blocks when dim > 1016). A read of a hole sets *absent; a write
 * allocates, within the caller's journal handle. pblk (may be NULL) gets
 * the device block of each of the record's blocks.
 */
static int vexfs_store_io(struct vexfs_vindex *vi, const struct vexfs_vec_pos *pos, u8 *rec,
			  bool write, bool *absent, u32 *pblk)
{
	struct inode *store = vi->store;
	struct super_block *sb = vi->sb;
	u32 done = 0;
	u64 block;
	int err;

	if (absent)
		*absent = false;
	for (block = pos->block; done < pos->len; block++) {
		struct buffer_head *bh;
		u32 off = done ? 0 : pos->offset;
		u32 n = min_t(u32, pos->len - done, VEXFS_BLOCK_SIZE - off);
		bool fresh;

		/* A fresh block comes back locked, zeroed and taken for create access. */
		bh = vexfs_meta_bread(store, block, write, &fresh, &err);
		if (!bh) {
			if (err)
				return err;
			if (absent)
				*absent = true;
			return 0;	/* a hole: nothing was ever stored there */
		}
		if (pblk)
			pblk[block - pos->block] = bh->b_blocknr;
		if (write) {
			if (!fresh) {
				err = vexfs_journal_write_access(sb, bh);
				if (err) {
					brelse(bh);
					return err;
				}
				lock_buffer(bh);
			}
			memcpy(bh->b_data + off, rec + done, n);
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
	if (write) {
		loff_t end = (loff_t)(pos->block << VEXFS_BLOCK_SIZE_BITS) + pos->offset + pos->len;

		if (end > i_size_read(store)) {
			i_size_write(store, end);
			mark_inode_dirty(store);
		}
	}
	return 0;
}

/* Device blocks of one record: at most 32 + 4 * 4096 bytes. */
#define VEXFS_RECORD_MAX_BLOCKS	DIV_ROUND_UP(VEXFS_CHUNK_RECORD_HEADER_SIZE + 4 * VEXFS_SIMD_MAX_DIM, \
					     VEXFS_BLOCK_SIZE)

/*
 * Write an encoded record into slot's place (journal handle held, not
 * vi->lock), and note where its blocks are for reading it in place.
 */
int vexfs_store_write_slot(struct vexfs_vindex *vi, u64 slot, const u8 *rec)
{
	u32 pblk[VEXFS_RECORD_MAX_BLOCKS] = {};
	struct vexfs_vec_pos pos;
	int err;

	err = vexfs_chunk_record_pos(slot, vi->dim, &pos);
	if (err)
		return err;
	mutex_lock(&vi->store_mutex);
	err = vexfs_store_io(vi, &pos, (u8 *)rec, true, NULL, pblk);
	mutex_unlock(&vi->store_mutex);
	if (err)
		return err;
	down_read(&vi->lock);
	vexfs_vecs_note_blocks(vi, pos.block, pblk, DIV_ROUND_UP(pos.offset + pos.len, VEXFS_BLOCK_SIZE));
	up_read(&vi->lock);
	return 0;
}

/* ---- the slot bitmap -------------------------------------------------------- */

#define VEXFS_SLOTMAP_MAX_BH	4	/* two runs of at most VEXFS_MAX_CHUNKS bits: 2 blocks each */

struct vexfs_slotmap_bh {
	u64 block;
	struct buffer_head *bh;
};

/* Add the bitmap blocks of run [first, first + n) to the list (no duplicates). */
static void vexfs_slotmap_blocks(struct vexfs_slotmap_bh *b, int *nb, u32 first, u32 n)
{
	u64 blk;

	if (!n)
		return;
	for (blk = first / VEXFS_SLOTMAP_BITS; blk <= ((u64)first + n - 1) / VEXFS_SLOTMAP_BITS; blk++) {
		int i;

		for (i = 0; i < *nb && b[i].block != blk; i++)
			;
		if (i == *nb && *nb < VEXFS_SLOTMAP_MAX_BH)
			b[(*nb)++].block = blk;
	}
}

/*
 * In the caller's journal handle: set the bits of run [set_first, +set_n)
 * and clear those of [clr_first, +clr_n). Every block is read (or
 * allocated) and taken for write access before any bit changes, so an
 * error leaves the bitmap as it was.
 */
int vexfs_slotmap_update(struct vexfs_vindex *vi, u32 set_first, u32 set_n,
			 u32 clr_first, u32 clr_n)
{
	struct vexfs_slotmap_bh b[VEXFS_SLOTMAP_MAX_BH] = {};
	struct super_block *sb = vi->sb;
	struct inode *map = vi->slotmap;
	int nb = 0, i, err = 0;
	u64 s, end = 0;

	if (set_n > VEXFS_MAX_CHUNKS || clr_n > VEXFS_MAX_CHUNKS)
		return -EINVAL;
	vexfs_slotmap_blocks(b, &nb, set_first, set_n);
	vexfs_slotmap_blocks(b, &nb, clr_first, clr_n);
	mutex_lock(&vi->store_mutex);
	for (i = 0; i < nb; i++) {
		bool create = set_n && b[i].block >= set_first / VEXFS_SLOTMAP_BITS &&
			      b[i].block <= ((u64)set_first + set_n - 1) / VEXFS_SLOTMAP_BITS;
		bool fresh;

		b[i].bh = vexfs_meta_bread(map, b[i].block, create, &fresh, &err);
		if (!b[i].bh) {
			if (err)
				goto out;
			continue;	/* a hole holds no set bits: nothing to clear */
		}
		if (fresh) {
			set_buffer_uptodate(b[i].bh);
			unlock_buffer(b[i].bh);
		} else {
			err = vexfs_journal_write_access(sb, b[i].bh);
			if (err)
				goto out;
		}
		end = max(end, (b[i].block + 1) << VEXFS_BLOCK_SIZE_BITS);
	}
	for (i = 0; i < nb; i++) {
		u64 lo = b[i].block * VEXFS_SLOTMAP_BITS, hi = lo + VEXFS_SLOTMAP_BITS;

		if (!b[i].bh)
			continue;
		lock_buffer(b[i].bh);
		for (s = max_t(u64, clr_first, lo); s < min_t(u64, (u64)clr_first + clr_n, hi); s++)
			__clear_bit_le(s - lo, b[i].bh->b_data);
		for (s = max_t(u64, set_first, lo); s < min_t(u64, (u64)set_first + set_n, hi); s++)
			__set_bit_le(s - lo, b[i].bh->b_data);
		unlock_buffer(b[i].bh);
		err = vexfs_journal_dirty(sb, map, b[i].bh);
		if (err)
			goto out;
	}
	if (end > i_size_read(map)) {
		i_size_write(map, end);
		mark_inode_dirty(map);
	}
out:
	mutex_unlock(&vi->store_mutex);
	for (i = 0; i < nb; i++)
		brelse(b[i].bh);
	return err;
}

/* ---- read-ahead ------------------------------------------------------------ */

/*
 * Start reads of file blocks [first, first + n) of @file (mapped in runs,
 * holes skipped) without waiting: the mount-time scans read every block in
 * order, and one synchronous read at a time left the disk idle between them.
 */
void vexfs_file_readahead(struct inode *file, u64 first, u64 n)
{
	struct super_block *sb = file->i_sb;
	u64 b = first, end = first + n;

	while (b < end) {
		struct vexfs_map map;
		u64 i;

		if (vexfs_map_blocks(file, b, min_t(u64, end - b, U32_MAX), false, &map))
			return;
		if (!map.block_nr) {
			b++;
			continue;
		}
		for (i = 0; i < map.len; i++)
			vexfs_breadahead(sb, map.block_nr + i);
		b += map.len;
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

/* ---- the mount scan ------------------------------------------------------------ */

/* Working memory of the mount scan: one window of allocated slots. */
struct vexfs_load {
	u8 *map;			/* the whole slot bitmap */
	u64 nbits;
	u8 *rec;			/* one record */
	u32 *vec;			/* its vector (checked, then dropped: searches read it in place) */
	u32 *slot;			/* the window's slots */
	struct vexfs_chunk_hdr *hdr;	/* and their decoded headers */
	bool *ok;			/* record decoded */
	u32 n;
	struct vexfs_inode_mem im;	/* the last owner read */
	u32 im_ino;			/* its number, 0: none */
	int im_err;			/* why it is not a valid owner, 0: it is */
	u64 bad;
};

/* Read the slot bitmap into memory: returns the highest set bit + 1 in *used. */
static int vexfs_load_bitmap(struct vexfs_vindex *vi, struct vexfs_load *ld, u64 *used)
{
	u64 nblocks = DIV_ROUND_UP(i_size_read(vi->slotmap), VEXFS_BLOCK_SIZE), b, s;
	int err = 0;

	*used = 0;
	ld->nbits = nblocks * VEXFS_SLOTMAP_BITS;
	if (!nblocks)
		return 0;
	if (ld->nbits > (u64)U32_MAX + 1) {
		pr_err("vexfs (%s): slot bitmap of %llu blocks is larger than 2^32 slots; run fsck.vexfs\n",
		       vi->sb->s_id, nblocks);
		return -EUCLEAN;
	}
	ld->map = kvzalloc(nblocks << VEXFS_BLOCK_SIZE_BITS, GFP_KERNEL);
	if (!ld->map)
		return -ENOMEM;
	vexfs_file_readahead(vi->slotmap, 0, nblocks);
	for (b = 0; b < nblocks; b++) {
		struct buffer_head *bh;
		bool fresh;

		bh = vexfs_meta_bread(vi->slotmap, b, false, &fresh, &err);
		if (!bh) {
			if (err)
				return err;
			continue;	/* a hole: all free */
		}
		memcpy(ld->map + (b << VEXFS_BLOCK_SIZE_BITS), bh->b_data, VEXFS_BLOCK_SIZE);
		brelse(bh);
	}
	for (s = 0; s < ld->nbits; s++) {
		s = find_next_bit_le(ld->map, ld->nbits, s);
		if (s >= ld->nbits)
			break;
		*used = s + 1;
	}
	return 0;
}

/*
 * Read inode ino as its inode block holds it, not through the inode cache
 * (an owner not in memory: the mount scan, a group's loading). Returns
 * -ERANGE (no such inode number) or -EIO (block unreadable), leaving
 * *decode_err alone; else 0, *decode_err the decoder's verdict (0, or the
 * inode is free or damaged).
 */
int vexfs_owner_read(struct vexfs_vindex *vi, u64 ino, struct vexfs_inode_mem *im, int *decode_err)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vi->sb);
	struct buffer_head *bh;
	u32 block_nr, offset;

	if (ino < VEXFS_FIRST_INO || ino > U32_MAX ||
	    vexfs_inode_locate(&sbi->geom, ino, &block_nr, &offset))
		return -ERANGE;
	bh = vexfs_bread(vi->sb, block_nr);
	if (!bh)
		return -EIO;
	*decode_err = vexfs_inode_decode(&sbi->geom, (u8 *)bh->b_data + offset, VEXFS_INODE_SIZE,
					 ino, im, NULL, 0);
	brelse(bh);
	return 0;
}

/*
 * Is the slot's record owned as it says? The owner must be a live regular
 * file with a set, of this generation, whose run holds slot as chunk
 * hdr->chunk. NULL when it is; else what is wrong (for the message).
 */
static const char *vexfs_load_owner_check(struct vexfs_vindex *vi, struct vexfs_load *ld,
					  u32 slot, const struct vexfs_chunk_hdr *hdr)
{
	struct vexfs_inode_mem *im = &ld->im;

	if (ld->im_ino != hdr->ino) {
		int err;

		ld->im_ino = hdr->ino;
		ld->im_err = -EINVAL;
		err = vexfs_owner_read(vi, hdr->ino, im, &ld->im_err);
		if (err == -ERANGE)
			return "owner inode number out of range";
		if (err) {
			ld->im_ino = 0;	/* read again for the next slot */
			return "owner inode unreadable";
		}
	}
	if (ld->im_err)
		return "owner inode free or damaged";
	if (!im->links_count || (im->mode & S_IFMT) != S_IFREG)
		return "owner is not a linked regular file";
	if (im->generation != hdr->generation)
		return "owner generation differs (inode reused)";
	if (!(im->flags & VEXFS_INODE_FL_HAS_VECTOR) || !im->chunk_count)
		return "owner has no chunk set";
	if (slot < im->chunk_first || slot - im->chunk_first >= im->chunk_count)
		return "slot outside the owner's chunk set";
	if (hdr->chunk != slot - im->chunk_first)
		return "chunk index differs from the slot's place in the owner's set";
	return NULL;
}

/*
 * A file with a names block (several names): note its names' directories,
 * so searches judge it by their verdicts. Unreadable (reported): the file is
 * judged on its own. Only running out of memory is an error.
 */
static int vexfs_load_names(struct vexfs_vindex *vi, struct vexfs_load *ld, u32 ino,
			    void (*note)(struct vexfs_vindex *, u32, struct vexfs_link_dirs *))
{
	struct vexfs_link_dirs *dirs;
	int err = 0;

	if (!ld->im.names_block || !vexfs_names_enabled(vi->sb))
		return 0;
	dirs = vexfs_link_dirs_read(vi->sb, ino, ld->im.names_block, &err);
	if (dirs)
		note(vi, ino, dirs);
	return err == -ENOMEM ? err : 0;
}

/*
 * Read, decode and check the window's records and fill their slots: in the
 * index's groups, counting them (the mount scan, grp NULL), or in grp, a
 * group being loaded on first use (vexfs_sg_load: the counts came with the
 * superblock's summary, and the owners' runs are noted in ino_slot only).
 */
static int vexfs_load_window(struct vexfs_vindex *vi, struct vexfs_load *ld,
			     struct vexfs_sgroup *grp)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(vi->sb);
	u32 len = vexfs_record_len(vi), i;
	struct vexfs_vec_pos a, z;
	int err;

	if (!ld->n)
		return 0;
	if (!vexfs_chunk_record_pos(ld->slot[0], vi->dim, &a) &&
	    !vexfs_chunk_record_pos(ld->slot[ld->n - 1], vi->dim, &z))
		vexfs_file_readahead(vi->store, a.block,
				     z.block + DIV_ROUND_UP(z.offset + z.len, VEXFS_BLOCK_SIZE) - a.block);
	for (i = 0; i < ld->n; i++) {
		u32 s = ld->slot[i];
		u32 pblk[VEXFS_RECORD_MAX_BLOCKS] = {};
		struct vexfs_vec_pos pos;
		bool absent;

		err = vexfs_chunk_record_pos(s, vi->dim, &pos);
		if (!err)
			err = vexfs_store_io(vi, &pos, ld->rec, false, &absent, pblk);
		if (err)
			return err;
		ld->ok[i] = !absent && !vexfs_chunk_record_decode(ld->rec, len, vi->dim, &ld->hdr[i],
								 ld->vec);
		if (ld->ok[i])
			vexfs_vecs_note_blocks(vi, pos.block, pblk,
					       DIV_ROUND_UP(pos.offset + pos.len, VEXFS_BLOCK_SIZE));
	}
	/* The owners' inode-table blocks, then the checks that read them. */
	for (i = 0; i < ld->n; i++) {
		u32 block_nr, offset;

		if (ld->ok[i] && (!i || ld->hdr[i].ino != ld->hdr[i - 1].ino) &&
		    ld->hdr[i].ino >= VEXFS_FIRST_INO &&
		    !vexfs_inode_locate(&sbi->geom, ld->hdr[i].ino, &block_nr, &offset))
			vexfs_breadahead(vi->sb, block_nr);
	}
	for (i = 0; i < ld->n; i++) {
		const struct vexfs_chunk_hdr *h = &ld->hdr[i];
		u32 s = ld->slot[i], first, count;
		const char *why = ld->ok[i] ? vexfs_load_owner_check(vi, ld, s, h) :
				  "record missing or damaged (checksum, inode 0, range or element)";
		bool stale;

		struct vexfs_slot_attr *at = grp ? &grp->a[s & VEXFS_SG_MASK] : vexfs_slot(vi, s);

		if (why) {
			if (ld->bad++ < 16)
				pr_err("vexfs (%s): vector store slot %u (owner inode %u): %s; slot skipped, run fsck.vexfs\n",
				       vi->sb->s_id, s, ld->ok[i] ? h->ino : 0, why);
			at->state = VSLOT_BAD;
			continue;
		}
		stale = ld->im.data_version != ld->im.chunk_version;
		at->ino = h->ino;
		at->gen = h->generation;
		at->uid = ld->im.uid;
		at->gid = ld->im.gid;
		at->mode = ld->im.mode;
		at->parent = ld->im.names_block ? VEXFS_SLOT_PARENT_NAMES : ld->im.parent;
		at->state = VSLOT_LIVE | (stale ? VSLOT_STALE : 0);
		if (grp) {
			/*
			 * Counted in the summary; in the graph iff live (the
			 * graph matched the store at mount, and every change
			 * since went through a loaded group). Its run is noted
			 * for searches (another loader may have noted it).
			 */
			at->state |= VSLOT_IN_GRAPH;
			err = xa_insert(&vi->ino_slot, h->ino,
					vexfs_run_entry(ld->im.chunk_first, ld->im.chunk_count), GFP_NOFS);
			if (err == -EBUSY)
				continue;	/* noted (and its names read) already */
			if (err)
				return err;
			err = vexfs_load_names(vi, ld, h->ino, vexfs_link_dirs_add);
			if (err)
				return err;
			continue;
		}
		vi->nr_live++;
		if (vexfs_run_of(vi, h->ino, &first, &count)) {
			/* The file's first valid chunk: the file counts once. */
			err = xa_err(xa_store(&vi->ino_slot, h->ino,
					      vexfs_run_entry(ld->im.chunk_first, ld->im.chunk_count),
					      GFP_KERNEL));
			if (err)
				return err;
			vi->files++;
			vi->stale_files += stale;
			err = vexfs_load_names(vi, ld, h->ino, vexfs_link_dirs_set);
			if (err)
				return err;
		}
	}
	ld->n = 0;
	cond_resched();
	return 0;
}

static void vexfs_load_free(struct vexfs_load *ld);

/* Working memory for scanning windows of up to nslots slots, or NULL. */
static struct vexfs_load *vexfs_load_alloc(struct vexfs_vindex *vi, u32 nslots)
{
	struct vexfs_load *ld = kzalloc(sizeof(*ld), GFP_KERNEL);

	if (!ld)
		return NULL;
	ld->rec = kvmalloc(vexfs_record_len(vi), GFP_KERNEL);
	ld->vec = kvmalloc_array(vi->dim, sizeof(u32), GFP_KERNEL);
	ld->slot = kvmalloc_array(nslots, sizeof(*ld->slot), GFP_KERNEL);
	ld->hdr = kvmalloc_array(nslots, sizeof(*ld->hdr), GFP_KERNEL);
	ld->ok = kvmalloc_array(nslots, sizeof(*ld->ok), GFP_KERNEL);
	if (!ld->rec || !ld->vec || !ld->slot || !ld->hdr || !ld->ok) {
		vexfs_load_free(ld);
		return NULL;
	}
	return ld;
}

static void vexfs_load_free(struct vexfs_load *ld)
{
	kvfree(ld->map);
	kvfree(ld->rec);
	kvfree(ld->vec);
	kvfree(ld->slot);
	kvfree(ld->hdr);
	kvfree(ld->ok);
	kfree(ld);
}

/* A damaged or unowned slot was met: say so once per load, and ask for fsck. */
static void vexfs_load_report_bad(struct vexfs_vindex *vi, struct vexfs_load *ld)
{
	if (!ld->bad)
		return;
	pr_err("vexfs (%s): %llu allocated vector store slots are damaged or unowned; marking the volume for fsck.vexfs\n",
	       vi->sb->s_id, ld->bad);
	VEXFS_SB(vi->sb)->geom.state |= VEXFS_STATE_ERROR;
}

/*
 * Fill grp, a new group for slots [g * VEXFS_SG_SLOTS, +VEXFS_SG_SLOTS),
 * from the slot bitmap and the store (vi->lock held; allocations must not
 * reclaim into the filesystem: the caller's memalloc_nofs scope). *in_graph:
 * the slots marked in the graph.
 */
int vexfs_store_load_group(struct vexfs_vindex *vi, u32 g, struct vexfs_sgroup *grp, u32 *in_graph)
{
	u64 first = (u64)g << VEXFS_SG_SHIFT;
	u64 block = first / VEXFS_SLOTMAP_BITS;
	struct buffer_head *bh;
	struct vexfs_load *ld;
	bool fresh;
	u32 i;
	int err = 0;

	*in_graph = 0;
	bh = vexfs_meta_bread(vi->slotmap, block, false, &fresh, &err);
	if (!bh)
		return err;	/* 0: a hole, every slot free */
	ld = vexfs_load_alloc(vi, VEXFS_SG_SLOTS);
	if (!ld) {
		brelse(bh);
		return -ENOMEM;
	}
	for (i = 0; i < VEXFS_SG_SLOTS; i++)
		if (test_bit_le((first + i) % VEXFS_SLOTMAP_BITS, bh->b_data))
			ld->slot[ld->n++] = first + i;
	brelse(bh);
	err = vexfs_load_window(vi, ld, grp);
	vexfs_load_report_bad(vi, ld);
	vexfs_load_free(ld);
	for (i = 0; i < VEXFS_SG_SLOTS && !err; i++)
		*in_graph += !!(grp->a[i].state & VSLOT_IN_GRAPH);
	return err;
}

/*
 * Read every allocated slot's record into the slot groups (at least
 * min_capacity slots; more when the bitmap reaches further). A damaged
 * record, or one its owner does not claim, is skipped and reported, and the
 * volume is marked as needing fsck; the slot stays allocated (VSLOT_BAD).
 */
int vexfs_store_load(struct vexfs_vindex *vi, u32 min_capacity)
{
	struct vexfs_load *ld;
	u64 used, cap, s;
	int err;

	ld = vexfs_load_alloc(vi, VEXFS_SCAN_READAHEAD);
	if (!ld)
		return -ENOMEM;
	err = vexfs_load_bitmap(vi, ld, &used);
	if (err)
		goto out;
	cap = max_t(u64, max(min_capacity, VEXFS_HNSW_MIN_CAPACITY), vi->capacity);
	while (cap < used)
		cap *= 2;
	if (cap > U32_MAX) {
		err = -EFBIG;
		goto out;
	}
	if (cap > vi->capacity) {
		err = vexfs_arrays_grow(vi, cap, false);
		if (err)
			goto out;
	}
	for (s = 0; s < used; s++) {
		s = find_next_bit_le(ld->map, used, s);
		if (s >= used)
			break;
		ld->slot[ld->n++] = s;
		if (ld->n == VEXFS_SCAN_READAHEAD) {
			err = vexfs_load_window(vi, ld, NULL);
			if (err)
				goto out;
		}
	}
	err = vexfs_load_window(vi, ld, NULL);
	if (!err)
		vexfs_load_report_bad(vi, ld);
out:
	vexfs_load_free(ld);
	return err;
}
