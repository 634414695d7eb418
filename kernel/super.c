// SPDX-License-Identifier: GPL-2.0
/*
 * super.c - mounting VexFS: superblock validation (by the Rust core), the
 * root inode, statfs, sync, unmount, and module registration.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/fs_context.h>
#include <linux/statfs.h>
#include <linux/build_bug.h>

#include "vexfs.h"

static struct kmem_cache *vexfs_inode_cachep;

static struct inode *vexfs_alloc_inode(struct super_block *sb)
{
	struct vexfs_inode_info *vi;

	vi = alloc_inode_sb(sb, vexfs_inode_cachep, GFP_KERNEL);
	if (!vi)
		return NULL;
	vexfs_journal_inode_init(&vi->vfs_inode);
	return &vi->vfs_inode;
}

static void vexfs_free_inode(struct inode *inode)
{
	kmem_cache_free(vexfs_inode_cachep, VEXFS_I(inode));
}

static void vexfs_inode_init_once(void *obj)
{
	struct vexfs_inode_info *vi = obj;

	mutex_init(&vi->i_map_lock);
	inode_init_once(&vi->vfs_inode);
}

/*
 * Write the mutable superblock fields (state, free counts, times, vector
 * and graph generations, the index summary) through the core, which
 * re-seals the checksum. The core writes the summary only on a volume with
 * VEXFS_FEATURE_COMPAT_INDEX_SUMMARY.
 */
static int vexfs_commit_super(struct super_block *sb, u32 state, u32 mount_delta, int wait)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	struct vexfs_index_summary sum;
	u64 free_blocks;
	u32 free_inodes;
	int err;

	mutex_lock(&sbi->alloc_lock);
	free_blocks = sbi->free_blocks;
	free_inodes = sbi->free_inodes;
	mutex_unlock(&sbi->alloc_lock);
	/* Unlocked: see struct vexfs_sb_info for why a torn copy is harmless. */
	sum.generation = READ_ONCE(sbi->index_summary.generation);
	sum.live = READ_ONCE(sbi->index_summary.live);
	sum.files = READ_ONCE(sbi->index_summary.files);
	sum.stale = READ_ONCE(sbi->index_summary.stale);

	lock_buffer(sbi->sbh);
	if (buffer_write_io_error(sbi->sbh) || !buffer_uptodate(sbi->sbh)) {
		/*
		 * An earlier superblock write failed (the block layer cleared
		 * uptodate on the I/O error; b_data still holds what we wrote):
		 * write it again rather than trip mark_buffer_dirty()'s warning,
		 * as ext4_commit_super() does. Found by fail_make_request in the
		 * debug lane's fault injection.
		 */
		pr_err("vexfs (%s): previous I/O error to the superblock detected\n", sb->s_id);
		clear_buffer_write_io_error(sbi->sbh);
		set_buffer_uptodate(sbi->sbh);
	}
	err = vexfs_sb_update((u8 *)sbi->sbh->b_data, VEXFS_BLOCK_SIZE, state,
			      free_blocks, free_inodes, ktime_get_real_seconds(),
			      mount_delta, sbi->geom.vector_generation,
			      sbi->geom.graph_generation, sum.generation, sum.live,
			      sum.files, sum.stale);
	unlock_buffer(sbi->sbh);
	if (err) {
		pr_err("vexfs (%s): cannot encode superblock: %d\n", sb->s_id, err);
		return err;
	}
	sbi->geom.state = state;
	mark_buffer_dirty(sbi->sbh);
	if (wait) {
		err = sync_dirty_buffer(sbi->sbh);
		if (!err && buffer_write_io_error(sbi->sbh))
			err = -EIO;
		if (err)
			pr_err("vexfs (%s): superblock write failed: %d\n", sb->s_id, err);
	}
	return err;
}

int vexfs_write_super(struct super_block *sb, int wait)
{
	return vexfs_commit_super(sb, VEXFS_SB(sb)->geom.state, 0, wait);
}

static int vexfs_sync_fs(struct super_block *sb, int wait)
{
	int err;

	if (sb_rdonly(sb))
		return 0;
	/* The graph first: its generation goes into the superblock. */
	err = vexfs_vindex_sync(sb, wait);
	if (!err)
		err = vexfs_journal_commit(sb, wait);
	if (err)
		return err;
	return vexfs_write_super(sb, wait);
}

/*
 * The state written when the volume goes read-only or is unmounted: clean,
 * unless a truncate stopped part-way (the next mount's recovery scan, which
 * only runs after an unclean shutdown, finishes it).
 */
static u32 vexfs_unmount_state(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	if (READ_ONCE(sbi->truncate_left)) {
		pr_warn("vexfs (%s): leaving the volume marked unclean: a truncate did not finish\n",
			sb->s_id);
		return sbi->geom.state & ~VEXFS_STATE_CLEAN;
	}
	return sbi->geom.state | VEXFS_STATE_CLEAN;
}

static void vexfs_put_super(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	vexfs_vindex_unload(sb);
	/* Checkpoints every transaction: the volume is consistent without the log. */
	vexfs_journal_unload(sb);
	if (!sb_rdonly(sb))
		vexfs_commit_super(sb, vexfs_unmount_state(sb), 0, 1);
	xa_destroy(&sbi->freed_blocks);
	brelse(sbi->sbh);
	sb->s_fs_info = NULL;
	kfree(sbi);
}

static int vexfs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct super_block *sb = dentry->d_sb;
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	u64 id = huge_encode_dev(sb->s_bdev->bd_dev);

	buf->f_type = VEXFS_MAGIC;
	buf->f_bsize = VEXFS_BLOCK_SIZE;
	/* Blocks usable by files: the metadata regions are not counted. */
	buf->f_blocks = sbi->geom.blocks_count - sbi->geom.data_start;
	mutex_lock(&sbi->alloc_lock);
	buf->f_bfree = sbi->free_blocks;
	buf->f_ffree = sbi->free_inodes;
	mutex_unlock(&sbi->alloc_lock);
	buf->f_bavail = buf->f_bfree;
	buf->f_files = sbi->geom.inodes_count;	/* as ext2: reserved inodes count as used */
	buf->f_namelen = VEXFS_NAME_LEN;
	buf->f_fsid = u64_to_fsid(id);
	return 0;
}

static int vexfs_remount(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	bool want_ro = fc->sb_flags & SB_RDONLY;

	sync_filesystem(sb);
	if (want_ro == sb_rdonly(sb))
		return 0;
	if (want_ro) {
		int err = vexfs_journal_commit(sb, true);

		return err ? err : vexfs_commit_super(sb, vexfs_unmount_state(sb), 0, 1);
	}
	if (sbi->geom.read_only_only) {
		pr_err("vexfs (%s): unsupported read-only-compatible features, staying read-only\n",
		       sb->s_id);
		return -EROFS;
	}
	return vexfs_commit_super(sb, sbi->geom.state & ~VEXFS_STATE_CLEAN, 0, 1);
}

static const struct super_operations vexfs_super_ops = {
	.alloc_inode	= vexfs_alloc_inode,
	.free_inode	= vexfs_free_inode,
	.write_inode	= vexfs_write_inode,
	.dirty_inode	= vexfs_dirty_inode,
	.evict_inode	= vexfs_evict_inode,
	.put_super	= vexfs_put_super,
	.sync_fs	= vexfs_sync_fs,
	.statfs		= vexfs_statfs,
};

static int vexfs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct vexfs_sb_info *sbi;
	struct inode *root;
	char *msg;
	u64 dev_blocks;
	int err;

	/* The on-disk sizes the core and this module agree on. */
	BUILD_BUG_ON(sizeof(struct vexfs_super_block) != VEXFS_SUPER_BLOCK_SIZE);
	/* The index summary was carved from s_reserved: nothing after it moved. */
	BUILD_BUG_ON(offsetof(struct vexfs_super_block, s_index_generation) != 192);
	BUILD_BUG_ON(offsetof(struct vexfs_super_block, s_checksum) != 320);
	BUILD_BUG_ON(sizeof(struct vexfs_inode) != VEXFS_INODE_SIZE);
	BUILD_BUG_ON(sizeof(struct vexfs_dirent) != VEXFS_DIRENT_HEADER_SIZE);
	BUILD_BUG_ON(sizeof(struct vexfs_dir_tail) != VEXFS_DIR_TAIL_SIZE);
	BUILD_BUG_ON(sizeof(struct vexfs_vec_record) != VEXFS_VEC_RECORD_HEADER_SIZE);
	BUILD_BUG_ON(sizeof(struct vexfs_ind_tail) != VEXFS_IND_TAIL_SIZE);
	BUILD_BUG_ON(VEXFS_ADDR_PER_BLOCK * 4 + VEXFS_IND_TAIL_SIZE != VEXFS_BLOCK_SIZE);

	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	msg = kzalloc(VEXFS_MSG_LEN, GFP_KERNEL);
	if (!sbi || !msg) {
		err = -ENOMEM;
		goto out_free;
	}
	mutex_init(&sbi->alloc_lock);
	xa_init(&sbi->freed_blocks);
	/*
	 * No summary until the vector index fills one (kzalloc zeroed it;
	 * said here because every superblock write records it): the mount's
	 * own write, which marks the volume unclean, records none.
	 */
	sbi->index_summary = (struct vexfs_index_summary){};
	sb->s_fs_info = sbi;

	if (!sb_set_blocksize(sb, VEXFS_BLOCK_SIZE)) {
		pr_err("vexfs (%s): refusing to mount: device cannot use %u-byte blocks\n",
		       sb->s_id, VEXFS_BLOCK_SIZE);
		err = -EINVAL;
		goto out_free;
	}
	dev_blocks = bdev_nr_bytes(sb->s_bdev) >> VEXFS_BLOCK_SIZE_BITS;

	sbi->sbh = vexfs_bread(sb, VEXFS_SUPER_BLOCK_NR);
	if (!sbi->sbh) {
		pr_err("vexfs (%s): refusing to mount: cannot read the superblock\n", sb->s_id);
		err = -EIO;
		goto out_free;
	}
	err = vexfs_sb_validate((const u8 *)sbi->sbh->b_data, VEXFS_BLOCK_SIZE,
				dev_blocks, &sbi->geom, msg, VEXFS_MSG_LEN);
	if (err) {
		pr_err("vexfs (%s): refusing to mount: %s\n", sb->s_id, msg);
		if (err == -EUCLEAN)
			err = -EINVAL;
		goto out_brelse;
	}
	if (sbi->geom.read_only_only && !sb_rdonly(sb)) {
		pr_err("vexfs (%s): refusing read-write mount: unsupported read-only-compatible features 0x%x\n",
		       sb->s_id, sbi->geom.feature_ro_compat);
		err = -EROFS;
		goto out_brelse;
	}
	if (sbi->geom.state & VEXFS_STATE_ERROR)
		pr_warn("vexfs (%s): volume has errors recorded, run fsck.vexfs\n", sb->s_id);
	else if (!(sbi->geom.state & VEXFS_STATE_CLEAN))
		pr_warn("vexfs (%s): volume was not cleanly unmounted, run fsck.vexfs\n", sb->s_id);

	sb->s_magic = VEXFS_MAGIC;
	sb->s_op = &vexfs_super_ops;
	sb->s_xattr = vexfs_xattr_handlers;
	sbi->was_clean = sbi->geom.state & VEXFS_STATE_CLEAN;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_time_min = S64_MIN;
	sb->s_time_max = S64_MAX;
	sb->s_time_gran = 1;
	memcpy(&sb->s_uuid, ((struct vexfs_super_block *)sbi->sbh->b_data)->s_uuid,
	       sizeof(sb->s_uuid));

	/* Replay the journal before anything reads the metadata it covers. */
	err = vexfs_journal_load(sb);
	if (err)
		goto out_brelse;

	/* Free counts in the superblock are hints; the bitmaps are the truth. */
	err = vexfs_count_free(sb);
	if (err)
		goto out_journal;

	root = vexfs_iget(sb, VEXFS_ROOT_INO);
	if (IS_ERR(root)) {
		err = PTR_ERR(root);
		pr_err("vexfs (%s): refusing to mount: cannot read the root inode: %d\n",
		       sb->s_id, err);
		goto out_journal;
	}
	if (!S_ISDIR(root->i_mode) || !root->i_size || !root->i_nlink) {
		pr_err("vexfs (%s): refusing to mount: root inode is not a live directory (mode 0%o, size %lld, links %u)\n",
		       sb->s_id, root->i_mode, root->i_size, root->i_nlink);
		iput(root);
		err = -EINVAL;
		goto out_journal;
	}
	sb->s_root = d_make_root(root);
	if (!sb->s_root) {
		err = -ENOMEM;
		goto out_journal;
	}

	if (!sb_rdonly(sb)) {
		err = vexfs_commit_super(sb, sbi->geom.state & ~VEXFS_STATE_CLEAN, 1, 1);
		if (err)
			goto out_root;
		/* After a crash: files unlinked while open still hold space. */
		if (!sbi->was_clean) {
			err = vexfs_reclaim_orphans(sb);
			if (err) {
				pr_err("vexfs (%s): refusing to mount: orphan recovery failed: %d\n",
				       sb->s_id, err);
				goto out_root;
			}
		}
	}
	err = vexfs_vindex_load(sb);
	if (err) {
		pr_err("vexfs (%s): refusing to mount: cannot load the vector index: %d\n",
		       sb->s_id, err);
		goto out_root;
	}
	kfree(msg);
	return 0;

out_root:
	dput(sb->s_root);
	sb->s_root = NULL;
	/* Inodes read so far must go before the journal they may log to. */
	evict_inodes(sb);
out_journal:
	vexfs_journal_unload(sb);
out_brelse:
	brelse(sbi->sbh);
out_free:
	kfree(msg);
	kfree(sbi);
	sb->s_fs_info = NULL;
	return err;
}

static int vexfs_get_tree(struct fs_context *fc)
{
	return get_tree_bdev(fc, vexfs_fill_super);
}

static const struct fs_context_operations vexfs_context_ops = {
	.get_tree	= vexfs_get_tree,
	.reconfigure	= vexfs_remount,
};

static int vexfs_init_fs_context(struct fs_context *fc)
{
	fc->ops = &vexfs_context_ops;
	return 0;
}

static struct file_system_type vexfs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "vexfs",
	.init_fs_context	= vexfs_init_fs_context,
	.kill_sb		= kill_block_super,
	.fs_flags		= FS_REQUIRES_DEV,
};
MODULE_ALIAS_FS("vexfs");

static int __init vexfs_init(void)
{
	int err;

	/*
	 * Short symlink targets live in i_data and readlink copies them to
	 * user space straight from this cache: whitelist that field for
	 * hardened usercopy (as ext4 does).
	 */
	vexfs_inode_cachep = kmem_cache_create_usercopy("vexfs_inode_cache",
					       sizeof(struct vexfs_inode_info), 0,
					       SLAB_RECLAIM_ACCOUNT | SLAB_MEM_SPREAD | SLAB_ACCOUNT,
					       offsetof(struct vexfs_inode_info, i_data),
					       sizeof_field(struct vexfs_inode_info, i_data),
					       vexfs_inode_init_once);
	if (!vexfs_inode_cachep)
		return -ENOMEM;
	err = register_filesystem(&vexfs_fs_type);
	if (err) {
		kmem_cache_destroy(vexfs_inode_cachep);
		return err;
	}
	pr_info("vexfs: registered (format version %u)\n", VEXFS_FORMAT_VERSION);
	return 0;
}

static void __exit vexfs_exit(void)
{
	unregister_filesystem(&vexfs_fs_type);
	/* Inodes are freed through RCU; wait before destroying their cache. */
	rcu_barrier();
	kmem_cache_destroy(vexfs_inode_cachep);
}

module_init(vexfs_init);
module_exit(vexfs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("VexFS developers");
MODULE_DESCRIPTION("VexFS: a disk filesystem with a built-in vector index");
/* The metadata checksums go through crc32c(): load the CPU-accelerated one first. */
MODULE_SOFTDEP("pre: crc32c");
