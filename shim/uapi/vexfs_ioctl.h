/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * vexfs_ioctl.h - the VexFS ioctl ABI (documented in docs/UAPI.md).
 *
 * Every argument struct starts with __u32 size = sizeof(the struct as the
 * caller knows it): the kernel rejects sizes it does not know (-EINVAL), so
 * structs can grow at the end in later versions. User pointers travel as
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

/* The extended attribute carrying a file's vector (raw little-endian f32). */
#define VEXFS_XATTR_VECTOR	"user.vexfs.vector"

/* One file's vector: SET (needs write permission), GET, DEL. */
struct vexfs_ioc_vector {
	__u32	size;		/* sizeof(struct vexfs_ioc_vector) */
	__u32	dim;		/* SET: floats at data (= the fs dimension);
				 * GET: capacity of data in floats; out: dimension */
	__u64	data;		/* user pointer to float32[dim] */
	__u32	flags;		/* must be 0 */
	__u32	reserved;	/* must be 0 */
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
#define VEXFS_SEARCH_F_ALL	(VEXFS_SEARCH_F_EXACT | VEXFS_SEARCH_F_SUBTREE)

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
	__u64	results;	/* user pointer to struct vexfs_ioc_result[k] */
	__u32	truncated;	/* out: 1 when more files matched than fit */
	__u32	reserved;	/* must be 0 */
};

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
};

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

struct vexfs_ioc_status {
	__u32	size;		/* sizeof(struct vexfs_ioc_status) */
	__u32	flags;		/* VEXFS_STATUS_* */
	__u32	sync_mode;
	__u32	pending;	/* queued changes not yet in the graph */
	__u64	last_sync_ns;	/* CLOCK_REALTIME of the last applied batch, 0 = never */
	__u64	graph_generation;
	__u64	vector_generation;
	__u64	vectors;	/* files with a vector */
	__u64	graph_nodes;	/* nodes in the graph */
	__u32	dim;
	__u32	metric;		/* VEXFS_METRIC_* */
	__u32	hnsw_m;
	__u32	hnsw_ef_construction;
};

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
#define VEXFS_IOC_SEARCH	_IOWR('V', 5, struct vexfs_ioc_search)
#define VEXFS_IOC_INO_PATH	_IOWR('V', 6, struct vexfs_ioc_ino_path)
#define VEXFS_IOC_SYNC		_IO('V', 7)
#define VEXFS_IOC_GET_STATUS	_IOWR('V', 8, struct vexfs_ioc_status)
#define VEXFS_IOC_GET_STATS	_IOWR('V', 9, struct vexfs_ioc_stats)
#define VEXFS_IOC_GET_CONFIG	_IOWR('V', 10, struct vexfs_ioc_config)
#define VEXFS_IOC_SET_CONFIG	_IOWR('V', 11, struct vexfs_ioc_config)
#define VEXFS_IOC_REBUILD	_IO('V', 12)

#endif /* _UAPI_VEXFS_IOCTL_H */
