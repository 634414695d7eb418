/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * vexfs_format.h - the VexFS on-disk format, defined once.
 *
 * This header is the single definition of every on-disk structure. The kernel
 * module includes it directly; the Rust core gets its view through bindgen
 * (core/build.rs), so no layout is ever hand-copied. It is self-contained:
 * only the uapi <linux/types.h> fixed-width types, no kernel-internal includes.
 *
 * Rules:
 *  - every multi-byte field is little-endian (__le16/__le32/__le64);
 *  - no pointers, no host-dependent types, explicit padding everywhere so the
 *    structs have no implicit holes (the Rust side asserts this);
 *  - block numbers are 32-bit filesystem block numbers (4 KiB blocks), so a
 *    VexFS volume is at most 16 TiB;
 *  - metadata carries a CRC-32C (Castagnoli, initial ~0, final xor ~0)
 *    computed with the checksum field itself set to zero.
 *
 * Layout (docs/FORMAT.md has the diagram):
 *   block 0                       superblock
 *   [journal_start = 1,  +n)      jbd2 journal (contiguous, external to any inode;
 *                                 first, because jbd2 numbers a device journal's
 *                                 blocks absolutely and sizes transactions from
 *                                 the log's end block)
 *   [inode_bitmap_start, +n)      inode bitmap, one bit per inode (bit 0 = ino 1)
 *   [block_bitmap_start, +n)      block bitmap, one bit per block of the volume
 *   [inode_table_start,  +n)      inode table, VEXFS_INODE_SIZE bytes per inode
 *   [data_start, blocks_count)    data, directory, indirect, vector-store blocks
 */
#ifndef _VEXFS_FORMAT_H
#define _VEXFS_FORMAT_H

#include <linux/types.h>

#define VEXFS_MAGIC		0x53465856u	/* "VXFS" read as little-endian bytes */
#define VEXFS_FORMAT_VERSION	1u
#define VEXFS_BLOCK_SIZE	4096u
#define VEXFS_BLOCK_SIZE_BITS	12u
#define VEXFS_SUPER_BLOCK_NR	0u

/* Reserved inode numbers (0 is never a valid inode number). */
#define VEXFS_ROOT_INO		2u	/* root directory */
#define VEXFS_VECSTORE_INO	3u	/* hidden: vector store, chunk records by slot */
#define VEXFS_GRAPH_INO		4u	/* hidden: persisted HNSW graph, node s = slot s */
#define VEXFS_SLOTMAP_INO	5u	/* hidden: slot bitmap, bit s set = slot s allocated */
/* 6..10 are reserved for the index (docs/INDEX-V2.md): zero, unallocated. */
#define VEXFS_FIRST_INO		11u	/* first inode number handed to users */

#define VEXFS_INODE_SIZE	256u
#define VEXFS_INODES_PER_BLOCK	(VEXFS_BLOCK_SIZE / VEXFS_INODE_SIZE)

/* Limits the kernel enforces on any image before trusting it. */
#define VEXFS_MIN_BLOCKS	64u		/* smallest volume mkfs makes */
#define VEXFS_MAX_BLOCKS	0xffffffffu	/* 32-bit block numbers */
#define VEXFS_MIN_JOURNAL_BLOCKS 1024u		/* jbd2 needs at least 1024 blocks */
#define VEXFS_MAX_VECTOR_DIM	4096u
#define VEXFS_MAX_CHUNKS	16384u		/* chunks (vectors) in one file's set */
#define VEXFS_NAME_LEN		255u
#define VEXFS_MAX_SYMLINK_LEN	4095u

/*
 * Feature flags, with ext2's mount-refusal rules:
 *  - compat:    unknown bits are ignored;
 *  - ro_compat: unknown bits -> the kernel only mounts read-only;
 *  - incompat:  unknown bits -> the kernel refuses to mount.
 */
#define VEXFS_FEATURE_COMPAT_VECTORS	0x0001u	/* vector store + HNSW graph inodes present */
/*
 * Index summary (s_index_* in the superblock): the vector store's counts,
 * written at every superblock write and stamped with the s_vector_generation
 * they describe, so a mount after a clean unmount can take them instead of
 * reading every chunk record. compat: a kernel that does not know the bit
 * mounts and ignores it; the counts are only trusted when the stamp equals
 * s_vector_generation, which every vector change bumps (docs/FORMAT.md has
 * the rules, and the one case this does not cover).
 */
#define VEXFS_FEATURE_COMPAT_INDEX_SUMMARY 0x0002u
#define VEXFS_FEATURE_COMPAT_SUPP	(VEXFS_FEATURE_COMPAT_VECTORS | \
					 VEXFS_FEATURE_COMPAT_INDEX_SUMMARY)

/*
 * Hash-indexed directories (struct vexfs_dx_root_info below). ro_compat, not
 * compat: the index hides in record blocks (in the slack of ".." in block 0
 * and in an unused record spanning each interior block), so a kernel that
 * only knows linear directories still finds every entry by scanning all
 * blocks; but it would add entries into that slack and append unindexed
 * blocks, corrupting the index, so it may only mount read-only.
 */
#define VEXFS_FEATURE_RO_COMPAT_DIR_INDEX 0x0001u
/*
 * Names blocks (struct vexfs_names_block below): every non-directory inode
 * with two or more links names, in i_names_block, a block listing the
 * directories that hold its names, so a search can judge a hard-linked file
 * by all of its paths. ro_compat: a kernel that does not know the bit would
 * link and unlink without updating the list, so it may only mount read-only.
 * Without the bit, i_names_block is zero and i_parent is only a hint.
 */
#define VEXFS_FEATURE_RO_COMPAT_LINK_DIRS 0x0002u
#define VEXFS_FEATURE_RO_COMPAT_SUPP	(VEXFS_FEATURE_RO_COMPAT_DIR_INDEX | \
					 VEXFS_FEATURE_RO_COMPAT_LINK_DIRS)

#define VEXFS_FEATURE_INCOMPAT_JOURNAL	0x0001u	/* metadata journaled with jbd2 */
/*
 * Indirect blocks end in a checksummed tail naming their owner (struct
 * vexfs_ind_tail): 1020 block numbers per indirect block instead of 1024.
 * Required: this kernel and fsck.vexfs only read that layout, and refuse an
 * image without the bit (made by a mkfs.vexfs before the tail existed).
 */
#define VEXFS_FEATURE_INCOMPAT_IND_CSUM	0x0002u
/*
 * Vector store format 2: the store (inode 3) holds struct vexfs_chunk_record
 * by slot, inode 5 is the slot bitmap, and a file's chunk set is the run of
 * slots named by i_chunk_first/i_chunk_count. Required: format 1 (one
 * struct vexfs_vec_record per inode number) is refused with a message to
 * reformat; nothing converts it.
 */
#define VEXFS_FEATURE_INCOMPAT_VINDEX2	0x0004u
#define VEXFS_FEATURE_INCOMPAT_SUPP	(VEXFS_FEATURE_INCOMPAT_JOURNAL | VEXFS_FEATURE_INCOMPAT_IND_CSUM | \
					 VEXFS_FEATURE_INCOMPAT_VINDEX2)
#define VEXFS_FEATURE_INCOMPAT_REQUIRED	(VEXFS_FEATURE_INCOMPAT_IND_CSUM | VEXFS_FEATURE_INCOMPAT_VINDEX2)

/* s_state */
#define VEXFS_STATE_CLEAN	0x0001u	/* cleanly unmounted */
#define VEXFS_STATE_ERROR	0x0002u	/* errors detected: run fsck */

/* s_vector_metric */
#define VEXFS_METRIC_L2		0u	/* squared Euclidean distance */
#define VEXFS_METRIC_COSINE	1u	/* 1 - cosine similarity */
#define VEXFS_METRIC_DOT	2u	/* negative inner product */
#define VEXFS_METRIC_MAX	VEXFS_METRIC_DOT

/*
 * The superblock: block 0, offset 0. The rest of block 0 is zero.
 */
struct vexfs_super_block {
	__le32	s_magic;		/* VEXFS_MAGIC */
	__le32	s_version;		/* VEXFS_FORMAT_VERSION */
	__le32	s_block_size;		/* bytes per block; only 4096 */
	__le32	s_inode_size;		/* bytes per on-disk inode; only 256 */
	__le64	s_blocks_count;		/* blocks in the volume, <= VEXFS_MAX_BLOCKS */
	__le64	s_free_blocks_count;	/* hint; the kernel recounts the bitmap at mount */
	__le32	s_inodes_count;		/* inodes in the table (inode numbers 1..count) */
	__le32	s_free_inodes_count;	/* hint; recounted at mount */
	__le32	s_inode_bitmap_start;	/* first block of the inode bitmap */
	__le32	s_inode_bitmap_blocks;	/* = ceil(inodes_count / 32768) */
	__le32	s_block_bitmap_start;	/* first block of the block bitmap */
	__le32	s_block_bitmap_blocks;	/* = ceil(blocks_count / 32768) */
	__le32	s_inode_table_start;	/* first block of the inode table */
	__le32	s_inode_table_blocks;	/* = ceil(inodes_count / 16) */
	__le32	s_journal_start;	/* first block of the jbd2 journal */
	__le32	s_journal_blocks;	/* journal length in blocks (0: no journal) */
	__le32	s_data_start;		/* first block available to files */
	__le32	s_root_ino;		/* VEXFS_ROOT_INO */
	__le32	s_first_ino;		/* VEXFS_FIRST_INO */
	__le32	s_state;		/* VEXFS_STATE_* */
	__le32	s_feature_compat;	/* VEXFS_FEATURE_COMPAT_* */
	__le32	s_feature_incompat;	/* VEXFS_FEATURE_INCOMPAT_* */
	__le32	s_feature_ro_compat;	/* VEXFS_FEATURE_RO_COMPAT_* */
	__le32	s_vector_dim;		/* dimension of every vector, 1..4096 */
	__le32	s_vector_metric;	/* VEXFS_METRIC_* */
	__le32	s_hnsw_m;		/* HNSW M (links per node above layer 0) */
	__le32	s_hnsw_ef_construction;	/* HNSW ef_construction */
	__le32	s_mount_count;		/* mounts since mkfs */
	__le64	s_mkfs_time;		/* seconds since the epoch */
	__le64	s_mount_time;		/* last mount, seconds since the epoch */
	__le64	s_write_time;		/* last superblock write */
	__le64	s_graph_generation;	/* bumps when the persisted HNSW graph is rewritten */
	__le64	s_vector_generation;	/* bumps on every vector store change */
	__u8	s_uuid[16];		/* volume UUID */
	char	s_volume_name[16];	/* NUL-padded label */
	/*
	 * Index summary (COMPAT_INDEX_SUMMARY; zero without the bit). The
	 * counts are the kernel's mount-scan counts of the vector store; they
	 * are trusted only after a clean unmount (CLEAN, no ERROR) and when
	 * s_index_generation equals s_vector_generation (and is not 0).
	 */
	__le64	s_index_generation;	/* the s_vector_generation the counts describe; 0: none */
	__le64	s_index_live;		/* live slots: allocated, record valid and owned */
	__le64	s_index_files;		/* files with a chunk set (at least one live slot) */
	__le64	s_index_stale;		/* of those, files whose set is stale
					 * (i_data_version != i_chunk_version) */
	__le32	s_reserved[24];		/* zero */
	__le32	s_checksum;		/* crc32c of this struct with s_checksum = 0 */
	__le32	s_pad;			/* zero; keeps the struct 8-byte aligned */
};
#define VEXFS_SUPER_BLOCK_SIZE	328u

/* Block-map slots in an inode: 12 direct, then single, double, triple indirect. */
#define VEXFS_NDIR_BLOCKS	12u
#define VEXFS_IND_BLOCK		12u
#define VEXFS_DIND_BLOCK	13u
#define VEXFS_TIND_BLOCK	14u
#define VEXFS_N_BLOCKS		15u

/*
 * Indirect blocks: VEXFS_ADDR_PER_BLOCK __le32 block numbers (0 = hole), then
 * struct vexfs_ind_tail in the last VEXFS_IND_TAIL_SIZE bytes. A level-1 block
 * points at data blocks, a level-n block at level n-1 blocks. The checksum is
 * seeded with the owner's inode number, so a damaged pointer inside the block,
 * or a pointer to it from another file (or from the wrong level), is caught
 * before any block number in it is used to read, write or free a block.
 */
struct vexfs_ind_tail {
	__le32	it_magic;		/* VEXFS_IND_MAGIC */
	__le32	it_ino;			/* inode whose block map holds this block */
	__le32	it_level;		/* 1 (points at data) to 3 (triple indirect) */
	__le32	it_checksum;		/* crc32c(it_ino as __le32 ++ block with it_checksum = 0) */
};
#define VEXFS_IND_MAGIC		0x444e4956u	/* "VIND" */
#define VEXFS_IND_TAIL_SIZE	16u
#define VEXFS_ADDR_PER_BLOCK	((VEXFS_BLOCK_SIZE - VEXFS_IND_TAIL_SIZE) / 4u)	/* 1020 */

/* i_flags */
#define VEXFS_INODE_FL_HAS_VECTOR 0x0001u	/* the file has a chunk set: i_chunk_count > 0 */
#define VEXFS_INODE_FL_INLINE_SYMLINK 0x0002u	/* symlink target stored in i_block */
/*
 * A truncate is in progress: i_size is already the new size, but blocks at
 * or past DIV_ROUND_UP(i_size, VEXFS_BLOCK_SIZE) may still be mapped. Set in
 * the transaction that shrinks i_size, cleared in the one that frees the
 * last such block; mount after an unclean shutdown finishes the job.
 */
#define VEXFS_INODE_FL_TRUNCATING 0x0004u
/*
 * fallocate(FALLOC_FL_KEEP_SIZE) mapped blocks past EOF. They hold zeros
 * (written before the mapping committed), so they are not stale data;
 * cleared by the next truncate, which frees them.
 */
#define VEXFS_INODE_FL_EOFBLOCKS 0x0008u
/* Every defined flag: an inode with any other bit set is corrupt (refused). */
#define VEXFS_INODE_FL_KNOWN (VEXFS_INODE_FL_HAS_VECTOR | VEXFS_INODE_FL_INLINE_SYMLINK | \
			      VEXFS_INODE_FL_TRUNCATING | VEXFS_INODE_FL_EOFBLOCKS)

/*
 * On-disk inode, VEXFS_INODE_SIZE bytes. Inode number n lives in the inode
 * table at byte offset (n - 1) * VEXFS_INODE_SIZE. A free inode (bitmap bit
 * clear) is all zero.
 */
struct vexfs_inode {
	__le16	i_mode;			/* file type and permission bits (S_IF*) */
	__le16	i_links_count;		/* hard links; 0 while an orphan awaits evict */
	__le32	i_uid;			/* owner */
	__le32	i_gid;			/* group */
	__le32	i_flags;		/* VEXFS_INODE_FL_* */
	__le64	i_size;			/* bytes */
	__le64	i_blocks;		/* 512-byte sectors allocated, incl. indirect blocks */
	__le64	i_atime;		/* seconds since the epoch */
	__le64	i_mtime;
	__le64	i_ctime;
	__le64	i_crtime;		/* creation time */
	__le32	i_atime_nsec;
	__le32	i_mtime_nsec;
	__le32	i_ctime_nsec;
	__le32	i_crtime_nsec;
	__le32	i_generation;		/* NFS-style generation, bumps on reuse */
	__le32	i_rdev;			/* device number for device special files */
	__le32	i_block[VEXFS_N_BLOCKS];/* block map; inline symlink target when flagged */
	__le32	i_xattr_block;		/* block holding extended attributes, 0 if none */
	__le32	i_dir_depth;		/* directories: hash index depth (0 = linear) */
	__le32	i_orphan_next;		/* next inode on the orphan list, 0 = end */
	__le32	i_vector_dim;		/* dimension of this inode's vector, 0 = none */
	__le32	i_parent;		/* directory that last linked this inode: lets
					 * search results name a path (hint, not authority) */
	/*
	 * Chunk set (format 2; regular files only, zero otherwise): slots
	 * [i_chunk_first, i_chunk_first + i_chunk_count) of the vector store,
	 * slot i_chunk_first + c holding chunk c. Replaced as a whole: a new
	 * run is written while unreferenced, then one transaction switches
	 * these fields and the slot bitmap.
	 */
	__le32	i_chunk_first;		/* first slot; 0 when i_chunk_count = 0 */
	__le32	i_chunk_count;		/* chunks, 0..VEXFS_MAX_CHUNKS; > 0 iff HAS_VECTOR */
	/*
	 * Staleness: the set is stale iff i_data_version != i_chunk_version.
	 * The first data change (write, truncate, fallocate, mmap write)
	 * after a set was stamped bumps i_data_version; later ones do not.
	 */
	__le64	i_data_version;		/* data changes counted as above */
	__le64	i_chunk_version;	/* i_data_version when the set was written */
	__le32	i_names_block;		/* RO_COMPAT_LINK_DIRS: names block of a
					 * non-directory with >= 2 links, else 0 */
	__le32	i_reserved[14];		/* zero */
	__le32	i_checksum;		/* crc32c(ino as __le32 ++ inode with i_checksum = 0) */
};
#define VEXFS_INODE_STRUCT_SIZE	256u

/*
 * Names block (RO_COMPAT_LINK_DIRS): the directories that hold the names of
 * one non-directory inode with i_links_count >= 2. Rules (fsck checks them;
 * the kernel refuses a block that breaks the first three):
 *  - n_magic, n_ino (the owner) and n_checksum match;
 *  - 1 <= n_count <= VEXFS_NAMES_MAX; entries [0, n_count) have dir != 0,
 *    count >= 1 and strictly ascending dir; the other entries are zero;
 *  - the counts sum to the owner's i_links_count;
 *  - directory dir holds exactly count entries naming the owner, and the
 *    owner's i_parent is one of the dirs.
 * A non-directory with one link has no names block and i_parent is the
 * directory holding its name (exact, not a hint, on volumes with the bit).
 * A file cannot have names in more than VEXFS_NAMES_MAX directories: link()
 * into one more fails with EMLINK.
 * Changed in the same transaction as the directory entries it describes.
 */
struct vexfs_names_entry {
	__le32	ne_dir;			/* directory inode number */
	__le32	ne_count;		/* names of the owner in that directory */
};
struct vexfs_names_block {
	__le32	n_magic;		/* VEXFS_NAMES_MAGIC */
	__le32	n_ino;			/* owner inode */
	__le32	n_count;		/* entries in use */
	__le32	n_checksum;		/* crc32c(n_ino as __le32 ++ block with n_checksum = 0) */
	struct vexfs_names_entry n_entries[510];
};
#define VEXFS_NAMES_MAGIC	0x4e4c5856u	/* "VXLN" */
#define VEXFS_NAMES_MAX		510u

/* Directory entry file types (as ext2: DT_* values). */
#define VEXFS_FT_UNKNOWN	0u
#define VEXFS_FT_REG_FILE	1u
#define VEXFS_FT_DIR		2u
#define VEXFS_FT_CHRDEV		3u
#define VEXFS_FT_BLKDEV		4u
#define VEXFS_FT_FIFO		5u
#define VEXFS_FT_SOCK		6u
#define VEXFS_FT_SYMLINK	7u
#define VEXFS_FT_MAX		VEXFS_FT_SYMLINK

/*
 * Directory blocks: a sequence of variable-length records that exactly tile
 * the block up to the tail. Each record is 4-byte aligned; rec_len covers the
 * header, the name and any slack. An unused record has d_ino = 0. The last
 * VEXFS_DIR_TAIL_SIZE bytes of each block hold struct vexfs_dir_tail.
 */
struct vexfs_dirent {
	__le32	d_ino;			/* inode number, 0 = unused record */
	__le16	d_rec_len;		/* bytes to the next record, multiple of 4 */
	__u8	d_name_len;		/* bytes of name, 1..255 */
	__u8	d_file_type;		/* VEXFS_FT_* */
	/* followed by d_name_len bytes of name (no NUL) */
};
#define VEXFS_DIRENT_HEADER_SIZE 8u

struct vexfs_dir_tail {
	__le32	dt_magic;		/* VEXFS_DIR_TAIL_MAGIC */
	__le32	dt_checksum;		/* crc32c(dir ino as __le32 ++ block bytes before the tail) */
};
#define VEXFS_DIR_TAIL_MAGIC	0x4c494154u	/* "TAIL" */
#define VEXFS_DIR_TAIL_SIZE	8u
#define VEXFS_DIR_USABLE	(VEXFS_BLOCK_SIZE - VEXFS_DIR_TAIL_SIZE)

/*
 * Hash-indexed directories (i_dir_depth = index levels, 1..VEXFS_DX_MAX_LEVELS;
 * 0 = linear). docs/FORMAT.md has the diagram. Every block of an indexed
 * directory is still a valid record block with a checksummed tail, so the
 * tail checksum also covers the index:
 *  - block 0, the root: "." (rec_len 12) then ".." whose rec_len spans the
 *    rest of the block; in its slack, at byte 24, struct vexfs_dx_root_info,
 *    then ri_count struct vexfs_dx_entry;
 *  - interior nodes: one unused record (d_ino 0, d_rec_len 4088) whose
 *    payload, at byte 8, is struct vexfs_dx_node_info then ni_count entries;
 *  - leaves: ordinary record blocks, holding the names whose hash key falls
 *    in the leaf's range.
 * Hash key of a name: h = SipHash-2-4(ri_seed as 16 little-endian bytes,
 * name); key = min(h >> 2, 2^62 - 2), a 62-bit value. An index entry holds
 * the lowest key of its child's range, shifted left by one; bit 0 set marks
 * a child continuing the previous child's last key (names with equal keys
 * split over several leaves). Entries are sorted; entry 0's key is the
 * lower bound of the node's range (0 in the root).
 * readdir position of a name: VEXFS_DX_POS_BASE + key; 0 and 1 are "." and
 * ".."; VEXFS_DX_POS_EOF is the end.
 */
#define VEXFS_DX_MAX_LEVELS	3u
#define VEXFS_DX_HASH_SIPHASH24	1u
#define VEXFS_DX_ROOT_MAGIC	0x54525844u	/* "DXRT" */
#define VEXFS_DX_NODE_MAGIC	0x444e5844u	/* "DXND" */
#define VEXFS_DX_POS_BASE	0x4000000000000000ull	/* 2^62 */
#define VEXFS_DX_POS_EOF	0x7fffffffffffffffull	/* LLONG_MAX */

struct vexfs_dx_root_info {
	__le32	ri_magic;		/* VEXFS_DX_ROOT_MAGIC */
	__u8	ri_hash_version;	/* VEXFS_DX_HASH_SIPHASH24 */
	__u8	ri_info_length;		/* sizeof(struct vexfs_dx_root_info) */
	__u8	ri_levels;		/* index levels incl. the root; = i_dir_depth */
	__u8	ri_flags;		/* zero */
	__le32	ri_seed[4];		/* per-directory hash key, random at creation */
	__le16	ri_limit;		/* entries that fit: VEXFS_DX_ROOT_LIMIT */
	__le16	ri_count;		/* entries in use, 1..ri_limit */
	__le32	ri_reserved;		/* zero */
};
#define VEXFS_DX_ROOT_INFO_SIZE	32u
#define VEXFS_DX_ROOT_INFO_OFFSET 24u	/* after "." (12 bytes) and ".." header+name (12) */

struct vexfs_dx_node_info {
	__le32	ni_magic;		/* VEXFS_DX_NODE_MAGIC */
	__u8	ni_height;		/* levels below it: 1 = its children are leaves */
	__u8	ni_pad[3];		/* zero */
	__le16	ni_limit;		/* VEXFS_DX_NODE_LIMIT */
	__le16	ni_count;		/* entries in use, 1..ni_limit */
	__le32	ni_reserved;		/* zero */
};
#define VEXFS_DX_NODE_INFO_SIZE	16u
#define VEXFS_DX_NODE_INFO_OFFSET 8u	/* after the unused record's header */

struct vexfs_dx_entry {
	__le32	de_key_lo;		/* (lowest key of the child << 1) | continuation */
	__le32	de_key_hi;
	__le32	de_block;		/* child: file block index in the directory (>= 1) */
};
#define VEXFS_DX_ENTRY_SIZE	12u
#define VEXFS_DX_ROOT_ENTRIES	(VEXFS_DX_ROOT_INFO_OFFSET + VEXFS_DX_ROOT_INFO_SIZE)
#define VEXFS_DX_NODE_ENTRIES	(VEXFS_DX_NODE_INFO_OFFSET + VEXFS_DX_NODE_INFO_SIZE)
#define VEXFS_DX_ROOT_LIMIT	((VEXFS_DIR_USABLE - VEXFS_DX_ROOT_ENTRIES) / VEXFS_DX_ENTRY_SIZE)	/* 336 */
#define VEXFS_DX_NODE_LIMIT	((VEXFS_DIR_USABLE - VEXFS_DX_NODE_ENTRIES) / VEXFS_DX_ENTRY_SIZE)	/* 338 */
/* Most names one leaf can hold (12-byte records): sizes readdir/split scratch. */
#define VEXFS_DX_LEAF_MAX_ENTRIES (VEXFS_DIR_USABLE / 12u)	/* 340 */

/*
 * Vector store (inode VEXFS_VECSTORE_INO): a sparse file of fixed-size
 * records indexed by inode number. A record never straddles a block when it
 * fits in one: records_per_block = 4096 / record_size, the rest of the block
 * is slack. Larger records (dim > 1020) take whole blocks each.
 * record_size = VEXFS_VEC_RECORD_HEADER_SIZE + 4 * s_vector_dim.
 */
struct vexfs_vec_record {
	__le32	vr_ino;			/* owning inode number, 0 = empty slot */
	__le32	vr_generation;		/* owner's i_generation when written */
	__le32	vr_dim;			/* = s_vector_dim */
	__le32	vr_checksum;		/* crc32c(header with vr_checksum = 0 ++ data) */
	/* followed by vr_dim little-endian IEEE-754 float32 values */
};
#define VEXFS_VEC_RECORD_HEADER_SIZE 16u

/*
 * Vector store, format 2 (inode VEXFS_VECSTORE_INO): fixed-size chunk
 * records indexed by slot. record_size = VEXFS_CHUNK_RECORD_HEADER_SIZE +
 * 4 * s_vector_dim; slot s lives at block s / per, byte (s % per) * size
 * with per = 4096 / size when a record fits a block (no record straddles
 * two blocks), else at block s * ceil(size / 4096) (whole blocks).
 * A slot is allocated iff its bit is set in the slot bitmap (inode
 * VEXFS_SLOTMAP_INO: bit s = byte s / 8, bit s % 8, least significant
 * first; past its end = free). An allocated slot's record is valid and its
 * owner's chunk set covers it with cr_chunk = s - i_chunk_first. A free
 * slot's bytes mean nothing (a hole, zeros or an old record).
 * Records and the bitmap are written through the journal.
 */
struct vexfs_chunk_record {
	__le32	cr_ino;			/* owning inode number (never 0 when allocated) */
	__le32	cr_generation;		/* owner's i_generation when written */
	__le32	cr_chunk;		/* index of the chunk in the owner's set */
	__le32	cr_checksum;		/* crc32c(header with cr_checksum = 0 ++ data) */
	__le64	cr_offset;		/* first byte of the chunk in the file's data */
	__le64	cr_length;		/* bytes; 0 = the whole file. The range may
					 * pass the end of file (nothing checks) */
	/* followed by s_vector_dim little-endian IEEE-754 float32 values */
};
#define VEXFS_CHUNK_RECORD_HEADER_SIZE 32u

/*
 * The int8 quantiser's copy (graph file, inode VEXFS_GRAPH_INO). kNN walks
 * are steered by int8 codes of the vectors (docs/HNSW.md); the quantiser
 * that makes them (per dimension a minimum and a step) is kept with the
 * graph, so a mount can encode codes without first reading every vector to
 * train one.
 *
 * Placement: right after the graph's own blocks, i.e. at file block
 * 1 + NB + CB (the graph's block count, from its header), in
 * ceil((VEXFS_SQ8_HEADER_SIZE + 8 * dim) / 4096) blocks (vexfs_sq8_blocks
 * in the kernel, sq8::blocks in the core): this header, then min[dim],
 * then scale[dim] (little-endian IEEE-754 float32), then zeros to the end
 * of the last block. The graph
 * file is at least that long whenever a copy is written (the kernel
 * preallocates the graph's blocks plus these). All zero: no quantiser (the
 * index had fewer than the kernel's VEXFS_SQ8_MIN, 256, live vectors when
 * the graph was written). Not journaled: derived data like the graph.
 *
 * Valid only with the graph it was written with: sq_generation equals the
 * graph header's generation (words 16, 17), which ties both to
 * s_vector_generation. A copy that is missing, damaged or of another
 * generation is ignored and the kernel trains a new quantiser at mount;
 * nothing is lost.
 *
 * Training (kernel vexfs_codes_train, and mkfs.vexfs the same way, so that
 * its copy is what the kernel would have trained): an even sample of the
 * live slots in slot order, every max(1, live / VEXFS_SQ8_SAMPLE)-th one
 * starting with the first; min_i and max_i over the sample (for cosine over
 * the unit-length vectors), scale_i = (max_i - min_i) / 255.
 */
struct vexfs_sq8_disk {
	__le32	sq_magic;		/* VEXFS_SQ8_MAGIC */
	__le32	sq_version;		/* VEXFS_SQ8_VERSION */
	__le32	sq_dim;			/* = s_vector_dim */
	__le32	sq_metric;		/* = s_vector_metric */
	__le64	sq_generation;		/* the generation of the graph it was written with */
	__le32	sq_crc;			/* CRC-32C of min[dim] then scale[dim] as the kernel's
					 * crc32c(crc32c(~0, min, 4 dim), scale, 4 dim): seed ~0
					 * and, unlike the other checksums, no final inversion */
	__le32	sq_reserved[9];		/* zero */
	/* followed by min[dim] and scale[dim], little-endian float32 */
};
#define VEXFS_SQ8_MAGIC		0x51535856u	/* "VXSQ" */
#define VEXFS_SQ8_VERSION	1u
#define VEXFS_SQ8_HEADER_SIZE	64u
/* Training sample step: every max(1, live / VEXFS_SQ8_SAMPLE)-th live vector (see above). */
#define VEXFS_SQ8_SAMPLE	16384u

#endif /* _VEXFS_FORMAT_H */
