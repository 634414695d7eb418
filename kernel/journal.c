// SPDX-License-Identifier: GPL-2.0
/*
 * journal.c - metadata journaling with the kernel's jbd2.
 *
 * The journal is a contiguous region of the volume (s_journal_start,
 * s_journal_blocks) formatted by mkfs.vexfs; mount replays it. Every
 * operation that changes metadata (bitmaps, inode table, indirect blocks,
 * directory blocks, vector-store records) runs inside a jbd2 handle; the
 * functions below find it through journal_current_handle(), so nested
 * helpers need no handle argument. Regular file data is ordered: the
 * commit writes an inode's new data blocks before the metadata that points
 * at them (jbd2 inode data lists). The HNSW graph is derived data and is
 * not journaled (a crash makes it stale, and it is rebuilt).
 *
 * Lock order: VFS inode locks -> journal handle -> VexFS locks (i_map_lock,
 * alloc_lock, the vector index lock). Nothing starts a handle while holding
 * a VexFS lock.
 */
#include <linux/jbd2.h>
#include <linux/blkdev.h>

#include "vexfs.h"

static void vexfs_commit_callback(journal_t *journal, transaction_t *txn);

int vexfs_journal_load(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	journal_t *journal;
	int err;

	if (!(sbi->geom.feature_incompat & VEXFS_FEATURE_INCOMPAT_JOURNAL))
		return 0;
	/*
	 * jbd2 addresses the log of a device journal by absolute block number
	 * (no offset is applied): its superblock is at journal_start, and its
	 * length covers the device up to the region's end (s_first and
	 * s_maxlen are absolute too; see core/src/format/journal.rs).
	 */
	journal = jbd2_journal_init_dev(sb->s_bdev, sb->s_bdev, sbi->geom.journal_start,
					sbi->geom.journal_start + sbi->geom.journal_blocks,
					VEXFS_BLOCK_SIZE);
	if (!journal) {
		pr_err("vexfs (%s): refusing to mount: cannot set up the journal at block %u (%u blocks)\n",
		       sb->s_id, sbi->geom.journal_start, sbi->geom.journal_blocks);
		return -EINVAL;
	}
	journal->j_private = sb;
	journal->j_commit_callback = vexfs_commit_callback;
	journal->j_commit_interval = JBD2_DEFAULT_MAX_COMMIT_AGE * HZ;
	/* Commit blocks are written with FLUSH/FUA: a commit is durable. */
	journal->j_flags |= JBD2_BARRIER;
	/* Ordered data: the commit writes new data before metadata points at it. */
	journal->j_submit_inode_data_buffers = jbd2_journal_submit_inode_data_buffers;
	journal->j_finish_inode_data_buffers = jbd2_journal_finish_inode_data_buffers;

	if (sb_rdonly(sb) && !bdev_read_only(sb->s_bdev)) {
		/* Replaying writes to the device, as ext4 does on a read-only mount. */
		pr_info("vexfs (%s): replaying the journal of a read-only mount\n", sb->s_id);
	}
	err = jbd2_journal_load(journal);
	if (err) {
		pr_err("vexfs (%s): refusing to mount: the journal does not load (%d)\n",
		       sb->s_id, err);
		jbd2_journal_destroy(journal);
		return err;
	}
	err = jbd2_journal_errno(journal);
	if (err) {
		/*
		 * An earlier mount aborted the journal (I/O error). Recovery
		 * has replayed every committed transaction; clear the error
		 * in memory and on disk (as ext4_clear_journal_err does).
		 */
		pr_warn("vexfs (%s): the journal recorded an error (%d) before this mount; cleared after recovery\n",
			sb->s_id, err);
		/*
		 * Writes outside the journal (the graph, data) may have been
		 * lost with it though the unmount marked the volume clean:
		 * recover as after a crash (orphans, graph validated whole).
		 */
		sbi->journal_was_aborted = true;
		sbi->was_clean = false;
		jbd2_journal_clear_err(journal);
		if (!sb_rdonly(sb))
			jbd2_journal_update_sb_errno(journal);
	}
	sbi->journal = journal;
	return 0;
}

void vexfs_journal_unload(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	if (!sbi->journal)
		return;
	/* Commits and checkpoints everything: the log is empty afterwards. */
	if (jbd2_journal_destroy(sbi->journal))
		pr_err("vexfs (%s): journal error at unmount; run fsck.vexfs\n", sb->s_id);
	sbi->journal = NULL;
}

handle_t *vexfs_journal_begin(struct super_block *sb, int credits)
{
	journal_t *journal = VEXFS_SB(sb)->journal;

	if (!journal)
		return NULL;
	if (sb_rdonly(sb))
		return ERR_PTR(-EROFS);
	/* Revoke records for freed metadata blocks: as many as buffers. */
	return jbd2__journal_start(journal, credits, 0, credits, GFP_NOFS, 0, 0);
}

int vexfs_journal_end(handle_t *handle)
{
	if (!handle)
		return 0;
	return jbd2_journal_stop(handle);
}

/* A metadata buffer is about to change. */
int vexfs_journal_write_access(struct super_block *sb, struct buffer_head *bh)
{
	handle_t *handle = journal_current_handle();

	if (!VEXFS_SB(sb)->journal)
		return 0;
	if (WARN_ON_ONCE(!handle))
		return -EIO;
	return jbd2_journal_get_write_access(handle, bh);
}

/* A freshly allocated metadata block is about to be filled. */
int vexfs_journal_create_access(struct super_block *sb, struct buffer_head *bh)
{
	handle_t *handle = journal_current_handle();

	if (!VEXFS_SB(sb)->journal)
		return 0;
	if (WARN_ON_ONCE(!handle))
		return -EIO;
	return jbd2_journal_get_create_access(handle, bh);
}

/*
 * A metadata buffer changed: log it. Without a journal it is tied to the
 * owning inode (when there is one) so that fsync of that inode writes it.
 */
int vexfs_journal_dirty(struct super_block *sb, struct inode *owner, struct buffer_head *bh)
{
	handle_t *handle = journal_current_handle();

	if (!VEXFS_SB(sb)->journal) {
		if (owner)
			mark_buffer_dirty_inode(bh, owner);
		else
			mark_buffer_dirty(bh);
		return 0;
	}
	if (WARN_ON_ONCE(!handle))
		return -EIO;
	return jbd2_journal_dirty_metadata(handle, bh);
}

/*
 * A metadata block (indirect, directory or vector-store block) is being
 * freed: revoke it so that replaying an older transaction cannot write
 * stale metadata over whatever reuses the block.
 */
void vexfs_journal_forget_meta(struct super_block *sb, u32 block_nr)
{
	handle_t *handle = journal_current_handle();
	struct buffer_head *bh;
	int err;

	if (!VEXFS_SB(sb)->journal || WARN_ON_ONCE(!handle))
		return;
	if (handle->h_revoke_credits <= 0) {
		err = jbd2_journal_extend(handle, 0, VEXFS_TRUNCATE_STEP);
		if (err) {
			/* No room: skip the revoke rather than abort (fsck repairs). */
			pr_warn_ratelimited("vexfs (%s): no journal room to revoke block %u\n",
					    sb->s_id, block_nr);
			return;
		}
	}
	bh = sb_find_get_block(sb, block_nr);
	err = jbd2_journal_revoke(handle, block_nr, bh);
	if (err)
		pr_err_ratelimited("vexfs (%s): cannot revoke block %u: %d\n", sb->s_id, block_nr, err);
}

/*
 * Make sure the current handle can log `credits` more buffers by extending
 * it. Safe anywhere: it never waits for a commit.
 */
int vexfs_journal_ensure(struct super_block *sb, int credits)
{
	handle_t *handle = journal_current_handle();
	int err;

	if (!VEXFS_SB(sb)->journal || !handle)
		return 0;
	if (jbd2_handle_buffer_credits(handle) >= credits)
		return 0;
	err = jbd2_journal_extend(handle, credits, credits);
	return err > 0 ? -ENOSPC : err;
}

/*
 * vexfs_journal_ensure for a step whose credits the operation reserved when
 * it started its handle (a directory entry's insertion). Needing an extension
 * there is a credit-accounting bug, reported by name: the extension is
 * refused whenever the running transaction is full or committing.
 */
int vexfs_journal_ensure_reserved(struct super_block *sb, int credits, const char *what)
{
	handle_t *handle = journal_current_handle();

	if (VEXFS_SB(sb)->journal && handle && jbd2_handle_buffer_credits(handle) < credits)
		pr_warn_ratelimited("vexfs (%s): %s needs %d journal credits, its handle has %d left\n",
				    sb->s_id, what, credits, jbd2_handle_buffer_credits(handle));
	return vexfs_journal_ensure(sb, credits);
}

/*
 * Like vexfs_journal_ensure, but when the transaction is full commit what
 * the handle holds and continue in a new one. Only where the caller holds
 * no VexFS lock (a restart waits for the commit, which waits for every
 * other handle): between the steps of a long truncate or graph write-out.
 */
int vexfs_journal_ensure_restart(struct super_block *sb, int credits)
{
	handle_t *handle = journal_current_handle();
	int err;

	if (!VEXFS_SB(sb)->journal || !handle)
		return 0;
	if (jbd2_handle_buffer_credits(handle) >= credits && handle->h_revoke_credits >= credits)
		return 0;
	err = jbd2_journal_extend(handle, credits, credits);
	if (err <= 0)
		return err;
	/* A nested handle belongs to an outer operation: never restart it. */
	if (handle->h_ref > 1)
		return -ENOSPC;
	return jbd2__journal_restart(handle, credits, credits, GFP_NOFS);
}

/* A transaction committed: blocks it freed may be reused. */
static void vexfs_commit_callback(journal_t *journal, transaction_t *txn)
{
	struct super_block *sb = journal->j_private;
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	unsigned long block_nr;
	void *v;

	xa_for_each(&sbi->freed_blocks, block_nr, v) {
		if (tid_geq(txn->t_tid, (tid_t)xa_to_value(v)))
			xa_erase(&sbi->freed_blocks, block_nr);
	}
}

/* Commit what is logged and, when wait, wait until it is on disk. */
int vexfs_journal_commit(struct super_block *sb, bool wait)
{
	journal_t *journal = VEXFS_SB(sb)->journal;
	tid_t tid;

	if (!journal)
		return 0;
	if (!wait) {
		jbd2_journal_start_commit(journal, &tid);
		return 0;
	}
	return jbd2_journal_force_commit(journal);
}

/* Ordered data: written before the transaction that maps it commits. */
int vexfs_journal_order_data(struct inode *inode, loff_t start, loff_t len)
{
	handle_t *handle = journal_current_handle();

	if (!VEXFS_SB(inode->i_sb)->journal || !handle || !S_ISREG(inode->i_mode))
		return 0;
	return jbd2_journal_inode_ranged_write(handle, &VEXFS_I(inode)->i_jinode, start, len);
}

void vexfs_journal_inode_init(struct inode *inode)
{
	jbd2_journal_init_jbd_inode(&VEXFS_I(inode)->i_jinode, inode);
}

void vexfs_journal_inode_release(struct inode *inode)
{
	journal_t *journal = VEXFS_SB(inode->i_sb)->journal;

	if (journal)
		jbd2_journal_release_jbd_inode(journal, &VEXFS_I(inode)->i_jinode);
}
