/*
 * vexctl_fake.c - an LD_PRELOAD stand-in for the VexFS ioctls, for host
 * end-to-end tests of vexctl (tests/vexctl_e2e.rs) without the kernel module.
 *
 * Files under $VEXFS_FAKE_ROOT act as a VexFS mount of dimension
 * $VEXFS_FAKE_DIM with the L2 metric: a file's chunk set lives in the
 * user.vexfs.chunks xattr in the documented format (a single vector is a
 * one-chunk set covering the whole file), stamped with the file's size and
 * mtime in user.vexfs.fake_stamp (a different stamp = stale); searches are
 * brute-force scans of the tree over chunks, INO_PATH walks it.
 * Configuration and statistics live in the process. Anything outside the
 * root, or any other ioctl, goes to the real ioctl(). $VEXFS_FAKE_OLD=1
 * plays a module older than chunk sets: SEARCH and GET_STATUS accept only
 * their first struct size (else -EINVAL), SET/GET_CHUNKS are -ENOTTY.
 *
 * Build: gcc -shared -fPIC -I shim -I shim/uapi -o fake.so vexctl_fake.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "vexfs_ioctl.h"

#define XATTR VEXFS_XATTR_CHUNKS
#define STAMP "user.vexfs.fake_stamp"
#define MAX_SET (64 * 1024)	/* bytes of one stored set (an xattr value) */

static struct vexfs_ioc_config cfg = { .sync_mode = 0, .batch_size = 64,
	.sync_interval_ms = 100, .ef_search = 64, .auto_rebuild = 1 };
static unsigned long long n_searches;

static const char *root(void) { return getenv("VEXFS_FAKE_ROOT"); }
static unsigned dim(void) { const char *d = getenv("VEXFS_FAKE_DIM"); return d ? atoi(d) : 4; }
static int old_abi(void) { const char *o = getenv("VEXFS_FAKE_OLD"); return o && *o == '1'; }

static int finite_all(const float *v, unsigned n);

/* A stored set: the xattr value (header, then count records). */
struct set {
	struct vexfs_chunks_xattr h;
	unsigned char rec[MAX_SET];
};

static size_t rec_size(unsigned d) { return 16 + 4 * (size_t)d; }

/* The stamp of a file's data: its size and mtime. */
static void stamp_of(const struct stat *st, unsigned long long out[3])
{
	out[0] = st->st_size;
	out[1] = st->st_mtim.tv_sec;
	out[2] = st->st_mtim.tv_nsec;
}

static int load_set(int fd, const char *path, struct set *s)
{
	ssize_t n = fd >= 0 ? fgetxattr(fd, XATTR, s, sizeof(*s)) : getxattr(path, XATTR, s, sizeof(*s));
	if (n < 0)
		return errno == ENODATA ? -ENODATA : -errno;
	if (n < (ssize_t)sizeof(s->h) || s->h.count == 0)
		return -ENODATA;
	return 0;
}

static int is_stale(int fd, const char *path, const struct stat *st)
{
	unsigned long long have[3], want[3];
	ssize_t n = fd >= 0 ? fgetxattr(fd, STAMP, want, sizeof(want)) : getxattr(path, STAMP, want, sizeof(want));
	stamp_of(st, have);
	return n != sizeof(want) || memcmp(have, want, sizeof(have)) != 0;
}

/* Replaces fd's set with count chunks (ranges may be NULL: whole file). */
static int store_set(int fd, unsigned count, const struct vexfs_ioc_chunk *c, const float *v)
{
	static struct set s;
	unsigned d = dim();
	unsigned long long st3[3];
	struct stat st;

	if (count > VEXFS_IOC_MAX_CHUNKS)
		return -E2BIG;
	if (count * rec_size(d) > sizeof(s.rec))
		return -ENOSPC;	/* the fake's storage limit, not the kernel's */
	for (unsigned i = 0; i < count; i++) {
		if (!finite_all(v + (size_t)i * d, d))
			return -EINVAL;
		if (c && c[i].offset + c[i].length < c[i].offset)
			return -EINVAL;
	}
	if (!count)
		return fremovexattr(fd, XATTR) && errno != ENODATA ? -errno : 0;
	s.h.magic = VEXFS_CHUNKS_XATTR_MAGIC;
	s.h.version = VEXFS_CHUNKS_XATTR_VERSION;
	s.h.dim = d;
	s.h.count = count;
	for (unsigned i = 0; i < count; i++) {
		unsigned char *r = s.rec + i * rec_size(d);
		unsigned long long ol[2] = { c ? c[i].offset : 0, c ? c[i].length : 0 };
		memcpy(r, ol, 16);
		memcpy(r + 16, v + (size_t)i * d, 4 * d);
	}
	if (fstat(fd, &st))
		return -errno;
	stamp_of(&st, st3);
	if (fsetxattr(fd, XATTR, &s, sizeof(s.h) + count * rec_size(d), 0) ||
	    fsetxattr(fd, STAMP, st3, sizeof(st3), 0))
		return -errno;
	return 0;
}

static int in_root(int fd)
{
	char link[64], path[PATH_MAX], rp[PATH_MAX];
	ssize_t n;
	const char *r = root();

	if (!r || !realpath(r, rp))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = 0;
	return strncmp(path, rp, strlen(rp)) == 0;
}

static int finite_all(const float *v, unsigned n)
{
	/* As the kernel: NaN, Inf and |x| >= 2^56 are refused. */
	for (unsigned i = 0; i < n; i++)
		if (!isfinite(v[i]) || fabsf(v[i]) >= 0x1p56f)
			return 0;
	return 1;
}

/* Scan state (nftw has no closure). */
static const float *g_query;
static struct vexfs_ioc_result *g_hits;
static size_t g_n, g_cap;
static unsigned g_flags;
static unsigned long long g_find_ino;
static char g_found[PATH_MAX];

static void add_hit(const struct vexfs_ioc_result *r)
{
	if (g_n == g_cap) {
		g_cap = g_cap ? 2 * g_cap : 64;
		g_hits = realloc(g_hits, g_cap * sizeof(*g_hits));
	}
	g_hits[g_n++] = *r;
}

static int scan_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	static struct set s;
	unsigned d = dim();
	float best = INFINITY;
	struct vexfs_ioc_result best_r;
	int stale;

	(void)ftw;
	if (type != FTW_F || load_set(-1, p, &s) || s.h.dim != d)
		return 0;
	stale = is_stale(-1, p, st);
	if (stale && (g_flags & VEXFS_SEARCH_F_FRESH))
		return 0;
	for (unsigned c = 0; c < s.h.count; c++) {
		const unsigned char *rec = s.rec + c * rec_size(d);
		unsigned long long ol[2];
		float v[VEXFS_IOC_MAX_DIM];
		double sum = 0;
		memcpy(ol, rec, 16);
		memcpy(v, rec + 16, 4 * d);
		for (unsigned i = 0; i < d; i++)
			sum += (double)(v[i] - g_query[i]) * (v[i] - g_query[i]);
		float f = (float)sum;
		struct vexfs_ioc_result r = { .ino = st->st_ino, .generation = 0,
			.file_size = st->st_size, .mtime_sec = st->st_mtim.tv_sec,
			.mtime_nsec = st->st_mtim.tv_nsec, .dim = d, .chunk = c,
			.flags = stale ? VEXFS_RESULT_F_STALE : 0, .offset = ol[0], .length = ol[1] };
		memcpy(&r.distance, &f, 4);
		if (!(g_flags & VEXFS_SEARCH_F_PER_FILE))
			add_hit(&r);
		else if (f < best) {
			best = f;
			best_r = r;
		}
	}
	if ((g_flags & VEXFS_SEARCH_F_PER_FILE) && best < INFINITY)
		add_hit(&best_r);
	return 0;
}

/* Status counters: files with a set, stale ones, chunks. */
static unsigned long long g_files, g_stale, g_chunks;

static int count_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	static struct set s;

	(void)ftw;
	if (type != FTW_F || load_set(-1, p, &s))
		return 0;
	g_files++;
	g_stale += is_stale(-1, p, st);
	g_chunks += s.h.count;
	return 0;
}

static int by_dist(const void *a, const void *b)
{
	float x, y;
	memcpy(&x, &((const struct vexfs_ioc_result *)a)->distance, 4);
	memcpy(&y, &((const struct vexfs_ioc_result *)b)->distance, 4);
	return x < y ? -1 : x > y;
}

static int find_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)type; (void)ftw;
	if (st->st_ino == g_find_ino) {
		snprintf(g_found, sizeof(g_found), "%s", p);
		return 1;
	}
	return 0;
}

static int fake(int fd, unsigned long req, void *arg)
{
	unsigned d = dim();

	switch (req) {
	case VEXFS_IOC_GET_STATUS: {
		struct vexfs_ioc_status *s = arg;
		size_t size = s->size;
		if (size < VEXFS_STATUS_SIZE_VER0 || size > sizeof(*s) ||
		    (old_abi() && size != VEXFS_STATUS_SIZE_VER0))
			return -EINVAL;
		memset(s, 0, size);
		s->size = size;
		s->dim = d;
		s->sync_mode = cfg.sync_mode;
		s->flags = VEXFS_STATUS_GRAPH_VALID;
		s->hnsw_m = 16;
		s->hnsw_ef_construction = 200;
		s->graph_generation = 1;
		s->last_sync_ns = 1700000000123456789ull;
		g_files = g_stale = g_chunks = 0;
		nftw(root(), count_cb, 16, FTW_PHYS);
		s->vectors = g_chunks;
		s->graph_nodes = g_chunks;
		if (size >= sizeof(*s)) {
			s->files = g_files;
			s->stale_files = g_stale;
			s->index_memory_bytes = 4096;
		}
		return 0;
	}
	case VEXFS_IOC_SET_VECTOR: {
		struct vexfs_ioc_vector *a = arg;
		if (a->dim != d)
			return -EINVAL;
		return store_set(fd, 1, NULL, (float *)(uintptr_t)a->data);
	}
	case VEXFS_IOC_GET_VECTOR: {
		struct vexfs_ioc_vector *a = arg;
		static struct set s;
		int r;
		if (a->dim < d) {
			a->dim = d;
			return -ERANGE;
		}
		if ((r = load_set(fd, NULL, &s)))
			return r;
		if (s.h.count > 1)
			return -E2BIG;
		memcpy((void *)(uintptr_t)a->data, s.rec + 16, d * 4);
		a->dim = d;
		return 0;
	}
	case VEXFS_IOC_DEL_VECTOR:
		return fremovexattr(fd, XATTR) ? -errno : 0;
	case VEXFS_IOC_SET_CHUNKS: {
		struct vexfs_ioc_chunks *a = arg;
		if (old_abi())
			return -ENOTTY;
		if (a->dim != d || a->flags || a->first)
			return -EINVAL;
		return store_set(fd, a->count, (const struct vexfs_ioc_chunk *)(uintptr_t)a->chunks,
				 (const float *)(uintptr_t)a->vectors);
	}
	case VEXFS_IOC_GET_CHUNKS: {
		struct vexfs_ioc_chunks *a = arg;
		static struct set s;
		struct vexfs_ioc_chunk *c = (struct vexfs_ioc_chunk *)(uintptr_t)a->chunks;
		float *v = (float *)(uintptr_t)a->vectors;
		struct stat st;
		unsigned n = 0;
		int r;
		if (old_abi())
			return -ENOTTY;
		if (a->dim < d)
			return -EINVAL;
		if ((r = load_set(fd, NULL, &s)))
			return r;
		if (fstat(fd, &st))
			return -errno;
		/* A page of at most 3 chunks per call, to exercise the caller's paging. */
		for (unsigned i = a->first; i < s.h.count && n < a->count && n < 3; i++, n++) {
			const unsigned char *rec = s.rec + i * rec_size(d);
			memcpy(&c[n], rec, 16);
			memcpy(v + (size_t)n * d, rec + 16, 4 * d);
		}
		a->count = n;
		a->total = s.h.count;
		a->dim = d;
		a->flags = is_stale(fd, NULL, &st) ? VEXFS_CHUNKS_F_STALE : 0;
		a->data_version = 1;
		return 0;
	}
	case VEXFS_IOC_BATCH_SET: {
		struct vexfs_ioc_batch_set *a = arg;
		const int *fds = (const int *)(uintptr_t)a->fds;
		const float *v = (const float *)(uintptr_t)a->vectors;
		if (a->dim != d || !a->count)
			return -EINVAL;
		if (a->count > VEXFS_IOC_MAX_BATCH)
			return -E2BIG;
		for (a->done = 0; a->done < a->count; a->done++) {
			int r;
			if (!in_root(fds[a->done]))
				return -EXDEV;
			if ((r = store_set(fds[a->done], 1, NULL, v + (size_t)a->done * d)))
				return r;
		}
		return 0;
	}
	case VEXFS_IOC_SEARCH: {
		struct vexfs_ioc_search *a = arg;
		size_t rsize = VEXFS_RESULT_SIZE_VER0;
		float thr;
		size_t out = 0;
		if (a->size < VEXFS_SEARCH_SIZE_VER0 || a->size > sizeof(*a) ||
		    (old_abi() && a->size != VEXFS_SEARCH_SIZE_VER0))
			return -EINVAL;
		if (a->size >= sizeof(*a) && a->result_size) {
			if (a->result_size < VEXFS_RESULT_SIZE_VER0)
				return -EINVAL;
			rsize = a->result_size;
		}
		if (a->dim != d || !a->k || (a->flags & ~VEXFS_SEARCH_F_ALL))
			return -EINVAL;
		g_query = (const float *)(uintptr_t)a->query;
		g_flags = a->flags;
		g_n = 0;
		nftw(root(), scan_cb, 16, FTW_PHYS);
		qsort(g_hits, g_n, sizeof(*g_hits), by_dist);
		memcpy(&thr, &a->threshold, 4);
		a->truncated = 0;
		for (size_t i = 0; i < g_n; i++) {
			float x;
			memcpy(&x, &g_hits[i].distance, 4);
			if (a->kind == VEXFS_SEARCH_RANGE && x > thr)
				break;
			if (a->kind == VEXFS_SEARCH_SIMILAR && 1.0f / (1.0f + x) < thr)
				break;
			if (out == a->k) {
				a->truncated = a->kind != VEXFS_SEARCH_KNN;
				break;
			}
			memcpy((char *)(uintptr_t)a->results + out * rsize, &g_hits[i],
			       rsize < sizeof(g_hits[i]) ? rsize : sizeof(g_hits[i]));
			out++;
		}
		a->count = out;
		n_searches++;
		return 0;
	}
	case VEXFS_IOC_INO_PATH: {
		struct vexfs_ioc_ino_path *a = arg;
		const char *r = root();
		size_t rl = strlen(r), n;
		g_find_ino = a->ino;
		g_found[0] = 0;
		if (nftw(r, find_cb, 16, FTW_PHYS) != 1)
			return -ENOENT;
		const char *rel = g_found + rl;
		while (*rel == '/')
			rel++;
		n = strlen(rel);
		if (n > a->path_len)
			return -ENAMETOOLONG;
		memcpy((void *)(uintptr_t)a->path, rel, n);
		a->path_len = n;
		return 0;
	}
	case VEXFS_IOC_GET_CONFIG:
		*(struct vexfs_ioc_config *)arg = cfg;
		((struct vexfs_ioc_config *)arg)->size = sizeof(cfg);
		return 0;
	case VEXFS_IOC_SET_CONFIG: {
		struct vexfs_ioc_config *a = arg;
		if (a->set_mask & ~VEXFS_CONFIG_ALL)
			return -EINVAL;
		if (a->set_mask & VEXFS_CONFIG_SYNC_MODE) cfg.sync_mode = a->sync_mode;
		if (a->set_mask & VEXFS_CONFIG_BATCH_SIZE) cfg.batch_size = a->batch_size;
		if (a->set_mask & VEXFS_CONFIG_SYNC_INTERVAL) cfg.sync_interval_ms = a->sync_interval_ms;
		if (a->set_mask & VEXFS_CONFIG_EF_SEARCH) cfg.ef_search = a->ef_search;
		if (a->set_mask & VEXFS_CONFIG_AUTO_REBUILD) cfg.auto_rebuild = a->auto_rebuild;
		return 0;
	}
	case VEXFS_IOC_GET_STATS: {
		struct vexfs_ioc_stats *s = arg;
		memset(s, 0, sizeof(*s));
		s->size = sizeof(*s);
		s->searches = n_searches;
		return 0;
	}
	case VEXFS_IOC_SYNC:
	case VEXFS_IOC_REBUILD:
		return 0;
	}
	return -ENOTTY;
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (((req >> 8) & 0xff) == 'V' && in_root(fd)) {
		int r = fake(fd, req, arg);
		if (r < 0) {
			errno = -r;
			return -1;
		}
		return 0;
	}
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return real(fd, req, arg);
}
