/*
 * uapi_dump.c - prints the layout of the VexFS ioctl ABI as a C compiler
 * sees it (shim/uapi/vexfs_ioctl.h), one "KIND NAME VALUE" per line:
 *   sizeof STRUCT N | offsetof STRUCT.FIELD N | ioctl NAME N | const NAME N
 * The Rust (tests/vexctl_abi.rs) and Python (python/tests/test_abi.py)
 * views are compared against it to catch ABI drift.
 *
 * Build: gcc -I shim -I shim/uapi -o uapi_dump uapi_dump.c
 */
#include <stdio.h>
#include <stddef.h>
#include "vexfs_ioctl.h"
#include "vexfs_format.h"

#define SZ(s) printf("sizeof %s %zu\n", #s, sizeof(struct s))
#define OFF(s, f) printf("offsetof %s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define IOC(n) printf("ioctl %s %lu\n", #n, (unsigned long)(n))
#define CONST(n) printf("const %s %lu\n", #n, (unsigned long)(n))

int main(void)
{
	SZ(vexfs_ioc_vector);
	OFF(vexfs_ioc_vector, size); OFF(vexfs_ioc_vector, dim); OFF(vexfs_ioc_vector, data);
	OFF(vexfs_ioc_vector, flags); OFF(vexfs_ioc_vector, reserved);

	SZ(vexfs_ioc_batch_set);
	OFF(vexfs_ioc_batch_set, size); OFF(vexfs_ioc_batch_set, count);
	OFF(vexfs_ioc_batch_set, dim); OFF(vexfs_ioc_batch_set, flags);
	OFF(vexfs_ioc_batch_set, fds); OFF(vexfs_ioc_batch_set, vectors);
	OFF(vexfs_ioc_batch_set, done); OFF(vexfs_ioc_batch_set, reserved);

	SZ(vexfs_ioc_search);
	OFF(vexfs_ioc_search, size); OFF(vexfs_ioc_search, kind); OFF(vexfs_ioc_search, dim);
	OFF(vexfs_ioc_search, k); OFF(vexfs_ioc_search, ef); OFF(vexfs_ioc_search, flags);
	OFF(vexfs_ioc_search, threshold); OFF(vexfs_ioc_search, count);
	OFF(vexfs_ioc_search, query); OFF(vexfs_ioc_search, results);
	OFF(vexfs_ioc_search, truncated); OFF(vexfs_ioc_search, reserved);
	OFF(vexfs_ioc_search, result_size); OFF(vexfs_ioc_search, reserved2);

	SZ(vexfs_ioc_result);
	OFF(vexfs_ioc_result, ino); OFF(vexfs_ioc_result, distance);
	OFF(vexfs_ioc_result, generation); OFF(vexfs_ioc_result, file_size);
	OFF(vexfs_ioc_result, mtime_sec); OFF(vexfs_ioc_result, mtime_nsec);
	OFF(vexfs_ioc_result, dim); OFF(vexfs_ioc_result, chunk);
	OFF(vexfs_ioc_result, flags); OFF(vexfs_ioc_result, offset);
	OFF(vexfs_ioc_result, length);
	SZ(vexfs_ioc_chunk);
	OFF(vexfs_ioc_chunk, offset); OFF(vexfs_ioc_chunk, length);
	SZ(vexfs_ioc_chunks);
	OFF(vexfs_ioc_chunks, size); OFF(vexfs_ioc_chunks, dim); OFF(vexfs_ioc_chunks, count);
	OFF(vexfs_ioc_chunks, flags); OFF(vexfs_ioc_chunks, chunks); OFF(vexfs_ioc_chunks, vectors);
	OFF(vexfs_ioc_chunks, first); OFF(vexfs_ioc_chunks, total);
	OFF(vexfs_ioc_chunks, data_version);
	SZ(vexfs_chunks_xattr);
	OFF(vexfs_chunks_xattr, magic); OFF(vexfs_chunks_xattr, version);
	OFF(vexfs_chunks_xattr, dim); OFF(vexfs_chunks_xattr, count);

	SZ(vexfs_ioc_ino_path);
	OFF(vexfs_ioc_ino_path, size); OFF(vexfs_ioc_ino_path, path_len);
	OFF(vexfs_ioc_ino_path, ino); OFF(vexfs_ioc_ino_path, path);
	OFF(vexfs_ioc_ino_path, generation); OFF(vexfs_ioc_ino_path, reserved);

	SZ(vexfs_ioc_config);
	OFF(vexfs_ioc_config, size); OFF(vexfs_ioc_config, set_mask);
	OFF(vexfs_ioc_config, sync_mode); OFF(vexfs_ioc_config, batch_size);
	OFF(vexfs_ioc_config, sync_interval_ms); OFF(vexfs_ioc_config, ef_search);
	OFF(vexfs_ioc_config, auto_rebuild); OFF(vexfs_ioc_config, reserved);

	SZ(vexfs_ioc_status);
	OFF(vexfs_ioc_status, size); OFF(vexfs_ioc_status, flags);
	OFF(vexfs_ioc_status, sync_mode); OFF(vexfs_ioc_status, pending);
	OFF(vexfs_ioc_status, last_sync_ns); OFF(vexfs_ioc_status, graph_generation);
	OFF(vexfs_ioc_status, vector_generation); OFF(vexfs_ioc_status, vectors);
	OFF(vexfs_ioc_status, graph_nodes); OFF(vexfs_ioc_status, dim);
	OFF(vexfs_ioc_status, metric); OFF(vexfs_ioc_status, hnsw_m);
	OFF(vexfs_ioc_status, hnsw_ef_construction); OFF(vexfs_ioc_status, files);
	OFF(vexfs_ioc_status, stale_files); OFF(vexfs_ioc_status, index_memory_bytes);

	SZ(vexfs_ioc_stats);
	OFF(vexfs_ioc_stats, size); OFF(vexfs_ioc_stats, reserved);
	OFF(vexfs_ioc_stats, inserts); OFF(vexfs_ioc_stats, updates);
	OFF(vexfs_ioc_stats, deletes); OFF(vexfs_ioc_stats, searches);
	OFF(vexfs_ioc_stats, exact_searches); OFF(vexfs_ioc_stats, distance_computations);
	OFF(vexfs_ioc_stats, search_ns_total); OFF(vexfs_ioc_stats, search_ns_max);
	OFF(vexfs_ioc_stats, insert_ns_total); OFF(vexfs_ioc_stats, syncs);
	OFF(vexfs_ioc_stats, rebuilds); OFF(vexfs_ioc_stats, errors);

	IOC(VEXFS_IOC_SET_VECTOR);
	IOC(VEXFS_IOC_GET_VECTOR);
	IOC(VEXFS_IOC_DEL_VECTOR);
	IOC(VEXFS_IOC_BATCH_SET);
	IOC(VEXFS_IOC_SEARCH);
	IOC(VEXFS_IOC_INO_PATH);
	IOC(VEXFS_IOC_SYNC);
	IOC(VEXFS_IOC_GET_STATUS);
	IOC(VEXFS_IOC_GET_STATS);
	IOC(VEXFS_IOC_GET_CONFIG);
	IOC(VEXFS_IOC_SET_CONFIG);
	IOC(VEXFS_IOC_REBUILD);
	IOC(VEXFS_IOC_SET_CHUNKS);
	IOC(VEXFS_IOC_GET_CHUNKS);

	CONST(VEXFS_IOCTL_VERSION);
	CONST(VEXFS_IOC_MAX_K);
	CONST(VEXFS_IOC_MAX_EF);
	CONST(VEXFS_IOC_MAX_RESULTS);
	CONST(VEXFS_IOC_MAX_BATCH);
	CONST(VEXFS_IOC_MAX_DIM);
	CONST(VEXFS_SEARCH_KNN);
	CONST(VEXFS_SEARCH_RANGE);
	CONST(VEXFS_SEARCH_SIMILAR);
	CONST(VEXFS_SEARCH_F_EXACT);
	CONST(VEXFS_SEARCH_F_SUBTREE);
	CONST(VEXFS_SEARCH_F_FRESH);
	CONST(VEXFS_SEARCH_F_PER_FILE);
	CONST(VEXFS_SEARCH_SIZE_VER0);
	CONST(VEXFS_RESULT_SIZE_VER0);
	CONST(VEXFS_STATUS_SIZE_VER0);
	CONST(VEXFS_RESULT_F_STALE);
	CONST(VEXFS_CHUNKS_F_STALE);
	CONST(VEXFS_IOC_MAX_CHUNKS);
	CONST(VEXFS_CHUNKS_XATTR_MAGIC);
	CONST(VEXFS_CHUNKS_XATTR_VERSION);
	CONST(VEXFS_SYNC_IMMEDIATE);
	CONST(VEXFS_SYNC_LAZY);
	CONST(VEXFS_CONFIG_SYNC_MODE);
	CONST(VEXFS_CONFIG_BATCH_SIZE);
	CONST(VEXFS_CONFIG_SYNC_INTERVAL);
	CONST(VEXFS_CONFIG_EF_SEARCH);
	CONST(VEXFS_CONFIG_AUTO_REBUILD);
	CONST(VEXFS_MAX_PENDING);
	CONST(VEXFS_STATUS_GRAPH_VALID);
	CONST(VEXFS_STATUS_REBUILDING);
	CONST(VEXFS_STATUS_SLOTS_LOADING);
	CONST(VEXFS_STATUS_SLOTS_UNREADABLE);
	CONST(VEXFS_METRIC_L2);
	CONST(VEXFS_METRIC_COSINE);
	CONST(VEXFS_METRIC_DOT);
	printf("xattr VEXFS_XATTR_VECTOR %s\n", VEXFS_XATTR_VECTOR);
	return 0;
}
