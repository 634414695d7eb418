/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * vexfs_ioctl.h - the VexFS ioctl ABI (documented in docs/UAPI.md).
 *
 * Every argument struct starts with __u32 size = sizeof(the struct as the
 * caller knows it). Structs grow at the end; the kernel accepts any size from
 * the struct's first version (VEXFS_*_SIZE_VER0) up, as copy_struct_from_user()
 * does: fields the caller does not know read as zero, bytes the kernel does not
 * know must be zero (else -E2BIG), and out-fields are written only as far as
 * the caller's size reaches. Smaller than VER0 or larger than a page: -EINVAL. User pointers travel as
 * __u64. Vectors are little-endian IEEE-754 float32 arrays; float-valued
 * fields (thresholds, distances) are carried as their float32 bit pattern in
 * a __u32 so the kernel never needs the FPU to copy them.
 *
 * Issue the ioctls on any open file or directory of a mounted VexFS: the
 * per-file ones act on that file, the per-filesystem ones on its mount.
 */
#ifndef _UAPI_VEXFS_IOCTL_H
#define _UAPI_VEXFS_IOCTL_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VEXFS_IOCTL_VERSION	1u

/* Per-call limits: they bound the kernel memory one call can pin. */
#define VEXFS_IOC_MAX_K		4096u	/* kNN results */
#define VEXFS_IOC_MAX_EF	8192u	/* ef_search */
#define VEXFS_IOC_MAX_RESULTS	65536u	/* range / similarity results per call */
#define VEXFS_IOC_MAX_BATCH	4096u	/* vectors per batch set */
#define VEXFS_IOC_MAX_DIM	4096u	/* = VEXFS_MAX_VECTOR_DIM */
#define VEXFS_IOC_MAX_CHUNKS	16384u	/* chunks in one file's set (= VEXFS_MAX_CHUNKS) */

/*
 * The extended attribute carrying a file's vector (raw little-endian f32):
 * the one chunk of a one-chunk set (listed only for those); setting it
 * replaces the set with one chunk covering the whole file.
 */
#define VEXFS_XATTR_VECTOR	"user.vexfs.vector"

/*
 * The whole chunk set as one extended attribute (listed for every file with
 * a set, after VEXFS_XATTR_VECTOR, so a copy that sets both ends with the
 * full set): struct vexfs_chunks_xattr, then count records of
 * { __le64 offset; __le64 length; __le32 float32_bits[dim]; }, all
 * little-endian. Setting it replaces the set (count 0 drops it); removing
 * it drops the set. A set larger than the VFS limit on values (64 KiB)
 * cannot travel this way: getxattr fails with -E2BIG (VEXFS_IOC_GET_CHUNKS
 * reads any set).
 */
#define VEXFS_XATTR_CHUNKS	"user.vexfs.chunks"
#define VEXFS_CHUNKS_XATTR_MAGIC 0x4b435856u	/* "VXCK" as little-endian bytes */
#define VEXFS_CHUNKS_XATTR_VERSION 1u

struct vexfs_chunks_xattr {
	__le32	magic;		/* VEXFS_CHUNKS_XATTR_MAGIC */
	__le32	version;	/* VEXFS_CHUNKS_XATTR_VERSION */
	__le32	dim;		/* floats per vector (= the fs dimension) */
	__le32	count;		/* records that follow, 0..VEXFS_IOC_MAX_CHUNKS */
};

/* One file's vector: SET (needs write permission), GET, DEL. */
struct vexfs_ioc_vector {
	__u32	size;		/* sizeof(struct vexfs_ioc_vector) */
	__u32	dim;		/* SET: floats at data (= the fs dimension);
				 * GET: capacity of data in floats; out: dimension */
	__u64	data;		/* user pointer to float32[dim] */
	__u32	flags;		/* must be 0 */
	__u32	reserved;	/* must be 0 */
};

/* A chunk's byte range in the file's data; length 0 = the whole file. */
struct vexfs_ioc_chunk {
	__u64	offset;
	__u64	length;
};

/* Chunk-set flags (struct vexfs_ioc_chunks.flags, out on GET). */
#define VEXFS_CHUNKS_F_STALE	0x1u	/* the data changed after the set was written */

/*
 * A file's chunk set. SET (needs write permission) replaces the whole set
 * atomically: after a crash the file has the old set or the new one. The
 * kernel copies chunks and vectors a page at a time; on any error nothing
 * changes. count 0 drops the set. Ranges may overlap, come in any order and
 * pass the end of file. GET returns chunks [first, first + count) of the
 * set (count in: capacity; out: written) and total; -ENODATA without a set.
 */
struct vexfs_ioc_chunks {
	__u32	size;		/* sizeof(struct vexfs_ioc_chunks) */
	__u32	dim;		/* SET: floats per vector (= the fs dimension);
				 * GET: out: the dimension */
	__u32	count;		/* SET: chunks, 0..VEXFS_IOC_MAX_CHUNKS;
				 * GET: in: capacity of chunks/vectors; out: written */
	__u32	flags;		/* SET: must be 0; GET: out: VEXFS_CHUNKS_F_* */
	__u64	chunks;		/* user pointer to struct vexfs_ioc_chunk[count] */
	__u64	vectors;	/* user pointer to float32[count * dim] */
	__u32	first;		/* GET: index of the first chunk to return; SET: 0 */
	__u32	total;		/* GET: out: chunks in the set; SET: ignored */
	__u64	data_version;	/* GET: out: the file's data version (i_data_version) */
};

/* Many files' vectors at once (import). Entries are applied in order. */
struct vexfs_ioc_batch_set {
	__u32	size;		/* sizeof(struct vexfs_ioc_batch_set) */
	__u32	count;		/* entries, 1..VEXFS_IOC_MAX_BATCH */
	__u32	dim;		/* floats per vector (= the fs dimension) */
	__u32	flags;		/* must be 0 */
	__u64	fds;		/* user pointer to __s32[count]: open files on this fs */
	__u64	vectors;	/* user pointer to float32[count * dim] */
	__u32	done;		/* out: entries applied before an error (count on success) */
	__u32	reserved;	/* must be 0 */
};

/* Search kinds. */
#define VEXFS_SEARCH_KNN	0u	/* the k nearest */
#define VEXFS_SEARCH_RANGE	1u	/* all with distance <= threshold */
#define VEXFS_SEARCH_SIMILAR	2u	/* all with similarity >= threshold */

/* Search flags. */
#define VEXFS_SEARCH_F_EXACT	0x1u	/* brute-force scan instead of HNSW */
/*
 * Only files under the directory the ioctl is issued on, at any depth (the
 * mount root: the whole volume). Without it a search covers the volume,
 * whatever the descriptor. On a non-directory: -ENOTDIR.
 */
#define VEXFS_SEARCH_F_SUBTREE	0x2u
#define VEXFS_SEARCH_F_FRESH	0x4u	/* leave out stale chunk sets */
/*
 * The k nearest files (RANGE/SIMILAR: every matching file once), each with
 * its nearest chunk, instead of the k nearest chunks.
 */
#define VEXFS_SEARCH_F_PER_FILE	0x8u
#define VEXFS_SEARCH_F_ALL	(VEXFS_SEARCH_F_EXACT | VEXFS_SEARCH_F_SUBTREE | \
				 VEXFS_SEARCH_F_FRESH | VEXFS_SEARCH_F_PER_FILE)

struct vexfs_ioc_search {
	__u32	size;		/* sizeof(struct vexfs_ioc_search) */
	__u32	kind;		/* VEXFS_SEARCH_* */
	__u32	dim;		/* floats at query (= the fs dimension) */
	__u32	k;		/* KNN: results wanted (1..MAX_K);
				 * RANGE/SIMILAR: capacity of results (1..MAX_RESULTS) */
	__u32	ef;		/* ef_search; 0 = the mount's default */
	__u32	flags;		/* VEXFS_SEARCH_F_* */
	__u32	threshold;	/* float32 bits: RANGE max distance, SIMILAR min similarity */
	__u32	count;		/* out: results written, nearest first */
	__u64	query;		/* user pointer to float32[dim] */
	__u64	results;	/* user pointer to k results, result_size bytes apart */
	__u32	truncated;	/* out: 1 when more files matched than fit */
	__u32	reserved;	/* must be 0 */
	/* --- VEXFS_SEARCH_SIZE_VER0 ends here --- */
	__u32	result_size;	/* bytes per result as the caller knows struct
				 * vexfs_ioc_result, from VEXFS_RESULT_SIZE_VER0 up
				 * (0 or a VER0 search struct: VER0) */
	__u32	reserved2;	/* must be 0 */
};
#define VEXFS_SEARCH_SIZE_VER0	56u

/*
 * One search result. Only files the caller could reach by path and open
 * for reading are returned: read permission on the file and search (x)
 * permission on every directory from the mount root down to it, unless the
 * caller has CAP_DAC_READ_SEARCH. The path is resolved with
 * VEXFS_IOC_INO_PATH.
 */
struct vexfs_ioc_result {
	__u64	ino;		/* inode number */
	__u32	distance;	/* float32 bits of the distance (metric's) */
	__u32	generation;	/* inode generation (tells reused numbers apart) */
	__u64	file_size;	/* bytes */
	__s64	mtime_sec;
	__u32	mtime_nsec;
	__u32	dim;		/* the vector's dimension */
	/* --- VEXFS_RESULT_SIZE_VER0 ends here --- */
	__u32	chunk;		/* index of the chunk in the file's set */
	__u32	flags;		/* VEXFS_RESULT_F_* */
	__u64	offset;		/* the chunk's byte range in the file */
	__u64	length;		/* 0 = the whole file */
};
#define VEXFS_RESULT_SIZE_VER0	40u
#define VEXFS_RESULT_F_STALE	0x1u	/* the file's chunk set is stale */

/*
 * Path of an inode relative to the mount root, for search results.
 * -ENAMETOOLONG when path_len is too small (path_len then holds the bytes
 * needed); -ESTALE when generation is non-zero and the inode number now
 * belongs to another file (reused since the search).
 */
struct vexfs_ioc_ino_path {
	__u32	size;		/* sizeof(struct vexfs_ioc_ino_path) */
	__u32	path_len;	/* in: capacity of path; out: bytes written (no NUL) */
	__u64	ino;		/* inode number from a result */
	__u64	path;		/* user pointer to char[path_len] */
	__u32	generation;	/* the result's generation; 0 = any */
	__u32	reserved;	/* must be 0 */
};

/* Sync modes. */
#define VEXFS_SYNC_IMMEDIATE	0u	/* the call returns after the graph holds the change */
#define VEXFS_SYNC_LAZY		1u	/* changes queue; a worker applies them in batches */

/* Fields of struct vexfs_ioc_config to apply on SET_CONFIG. */
#define VEXFS_CONFIG_SYNC_MODE		0x01u
#define VEXFS_CONFIG_BATCH_SIZE		0x02u
#define VEXFS_CONFIG_SYNC_INTERVAL	0x04u
#define VEXFS_CONFIG_EF_SEARCH		0x08u
#define VEXFS_CONFIG_AUTO_REBUILD	0x10u
#define VEXFS_CONFIG_ALL		0x1fu

#define VEXFS_MAX_PENDING	65536u	/* pending queue bound (lazy mode) */

struct vexfs_ioc_config {
	__u32	size;		/* sizeof(struct vexfs_ioc_config) */
	__u32	set_mask;	/* SET: VEXFS_CONFIG_* fields to change; GET: ignored */
	__u32	sync_mode;	/* VEXFS_SYNC_* */
	__u32	batch_size;	/* lazy: changes applied per batch, 1..VEXFS_MAX_PENDING */
	__u32	sync_interval_ms; /* lazy: worker period, 1..3600000 */
	__u32	ef_search;	/* default ef for searches, 1..VEXFS_IOC_MAX_EF */
	__u32	auto_rebuild;	/* 1: rebuild a stale or damaged graph automatically */
	__u32	reserved;	/* must be 0 */
};

/* status flags */
#define VEXFS_STATUS_GRAPH_VALID	0x1u	/* searches use the HNSW graph */
#define VEXFS_STATUS_REBUILDING		0x2u	/* a rebuild is in progress (exact search serves) */
#define VEXFS_STATUS_SLOTS_LOADING	0x4u	/* a lazy mount's slot groups are still to be read (by the warm-up, or on first use) */
#define VEXFS_STATUS_SLOTS_UNREADABLE	0x8u	/* the warm-up ended with slot groups it could not read (a search that needs one fails; run fsck) */

struct vexfs_ioc_status {
	__u32	size;		/* sizeof(struct vexfs_ioc_status) */
	__u32	flags;		/* VEXFS_STATUS_* */
	__u32	sync_mode;
	__u32	pending;	/* queued changes not yet in the graph */
	__u64	last_sync_ns;	/* CLOCK_REALTIME of the last applied batch, 0 = never */
	__u64	graph_generation;
	__u64	vector_generation;
	__u64	vectors;	/* vectors (chunks) in the index */
	__u64	graph_nodes;	/* nodes in the graph */
	__u32	dim;
	__u32	metric;		/* VEXFS_METRIC_* */
	__u32	hnsw_m;
	__u32	hnsw_ef_construction;
	/* --- VEXFS_STATUS_SIZE_VER0 ends here --- */
	__u64	files;		/* files with a chunk set */
	__u64	stale_files;	/* of which stale */
	__u64	index_memory_bytes; /* kernel memory the index pins now */
};
#define VEXFS_STATUS_SIZE_VER0	72u

struct vexfs_ioc_stats {
	__u32	size;		/* sizeof(struct vexfs_ioc_stats) */
	__u32	reserved;
	__u64	inserts;	/* vectors added to the graph */
	__u64	updates;	/* vectors replaced */
	__u64	deletes;	/* vectors removed (incl. by unlink) */
	__u64	searches;	/* searches served */
	__u64	exact_searches;	/* of which by exact scan */
	__u64	distance_computations;
	__u64	search_ns_total;
	__u64	search_ns_max;
	__u64	insert_ns_total;
	__u64	syncs;		/* batches applied */
	__u64	rebuilds;
	__u64	errors;		/* failed operations, all categories */
};

#define VEXFS_IOC_SET_VECTOR	_IOWR('V', 1, struct vexfs_ioc_vector)
#define VEXFS_IOC_GET_VECTOR	_IOWR('V', 2, struct vexfs_ioc_vector)
#define VEXFS_IOC_DEL_VECTOR	_IOWR('V', 3, struct vexfs_ioc_vector)
#define VEXFS_IOC_BATCH_SET	_IOWR('V', 4, struct vexfs_ioc_batch_set)
/*
 * Request numbers encode the first version's size, so they stay the same as
 * a struct grows (the size field says which version the caller knows).
 */
#define VEXFS_IOC_SEARCH	_IOC(_IOC_READ | _IOC_WRITE, 'V', 5, VEXFS_SEARCH_SIZE_VER0)
#define VEXFS_IOC_INO_PATH	_IOWR('V', 6, struct vexfs_ioc_ino_path)
#define VEXFS_IOC_SYNC		_IO('V', 7)
#define VEXFS_IOC_GET_STATUS	_IOC(_IOC_READ | _IOC_WRITE, 'V', 8, VEXFS_STATUS_SIZE_VER0)
#define VEXFS_IOC_GET_STATS	_IOWR('V', 9, struct vexfs_ioc_stats)
#define VEXFS_IOC_GET_CONFIG	_IOWR('V', 10, struct vexfs_ioc_config)
#define VEXFS_IOC_SET_CONFIG	_IOWR('V', 11, struct vexfs_ioc_config)
#define VEXFS_IOC_REBUILD	_IO('V', 12)
#define VEXFS_IOC_SET_CHUNKS	_IOWR('V', 13, struct vexfs_ioc_chunks)
#define VEXFS_IOC_GET_CHUNKS	_IOWR('V', 14, struct vexfs_ioc_chunks)

#endif /* _UAPI_VEXFS_IOCTL_H */
