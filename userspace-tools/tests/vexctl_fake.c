/*
 * vexctl_fake.c - an LD_PRELOAD stand-in for the VexFS ioctls, for host
 * end-to-end tests of vexctl (tests/vexctl_e2e.rs) without the kernel module.
 *
 * Files under $VEXFS_FAKE_ROOT act as a VexFS mount of dimension
 * $VEXFS_FAKE_DIM with the L2 metric: vectors live in the user.vexfs.vector
 * xattr, searches are brute-force scans of the tree, INO_PATH walks it.
 * Configuration and statistics live in the process. Anything outside the
 * root, or any other ioctl, goes to the real ioctl().
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

#define XATTR "user.vexfs.vector"

static struct vexfs_ioc_config cfg = { .sync_mode = 0, .batch_size = 64,
	.sync_interval_ms = 100, .ef_search = 64, .auto_rebuild = 1 };
static unsigned long long n_searches;

static const char *root(void) { return getenv("VEXFS_FAKE_ROOT"); }
static unsigned dim(void) { const char *d = getenv("VEXFS_FAKE_DIM"); return d ? atoi(d) : 4; }

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
	for (unsigned i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

/* Scan state (nftw has no closure). */
static const float *g_query;
static struct vexfs_ioc_result *g_hits;
static size_t g_n, g_cap;
static unsigned long long g_find_ino;
static char g_found[PATH_MAX];

static int scan_cb(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	unsigned d = dim();
	float v[VEXFS_IOC_MAX_DIM];
	double s = 0;

	(void)ftw;
	if (type != FTW_F || getxattr(p, XATTR, v, sizeof(v)) != (ssize_t)(d * 4))
		return 0;
	for (unsigned i = 0; i < d; i++)
		s += (double)(v[i] - g_query[i]) * (v[i] - g_query[i]);
	if (g_n == g_cap) {
		g_cap = g_cap ? 2 * g_cap : 64;
		g_hits = realloc(g_hits, g_cap * sizeof(*g_hits));
	}
	float f = (float)s;
	struct vexfs_ioc_result r = { .ino = st->st_ino, .generation = 0,
		.file_size = st->st_size, .mtime_sec = st->st_mtim.tv_sec,
		.mtime_nsec = st->st_mtim.tv_nsec, .dim = d };
	memcpy(&r.distance, &f, 4);
	g_hits[g_n++] = r;
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
		memset(s, 0, sizeof(*s));
		s->size = sizeof(*s);
		s->dim = d;
		s->sync_mode = cfg.sync_mode;
		s->flags = VEXFS_STATUS_GRAPH_VALID;
		s->hnsw_m = 16;
		s->hnsw_ef_construction = 200;
		s->graph_generation = 1;
		s->last_sync_ns = 1700000000123456789ull;
		return 0;
	}
	case VEXFS_IOC_SET_VECTOR: {
		struct vexfs_ioc_vector *a = arg;
		if (a->dim != d || !finite_all((float *)(uintptr_t)a->data, d))
			return -EINVAL;
		return fsetxattr(fd, XATTR, (void *)(uintptr_t)a->data, d * 4, 0) ? -errno : 0;
	}
	case VEXFS_IOC_GET_VECTOR: {
		struct vexfs_ioc_vector *a = arg;
		if (a->dim < d) {
			a->dim = d;
			return -ERANGE;
		}
		if (fgetxattr(fd, XATTR, (void *)(uintptr_t)a->data, d * 4) < 0)
			return -errno;
		a->dim = d;
		return 0;
	}
	case VEXFS_IOC_DEL_VECTOR:
		return fremovexattr(fd, XATTR) ? -errno : 0;
	case VEXFS_IOC_BATCH_SET: {
		struct vexfs_ioc_batch_set *a = arg;
		const int *fds = (const int *)(uintptr_t)a->fds;
		const float *v = (const float *)(uintptr_t)a->vectors;
		if (a->dim != d || !a->count)
			return -EINVAL;
		if (a->count > VEXFS_IOC_MAX_BATCH)
			return -E2BIG;
		for (a->done = 0; a->done < a->count; a->done++) {
			if (!in_root(fds[a->done]))
				return -EXDEV;
			if (!finite_all(v + (size_t)a->done * d, d))
				return -EINVAL;
			if (fsetxattr(fds[a->done], XATTR, v + (size_t)a->done * d, d * 4, 0))
				return -errno;
		}
		return 0;
	}
	case VEXFS_IOC_SEARCH: {
		struct vexfs_ioc_search *a = arg;
		float thr;
		size_t out = 0;
		if (a->dim != d || !a->k)
			return -EINVAL;
		g_query = (const float *)(uintptr_t)a->query;
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
			((struct vexfs_ioc_result *)(uintptr_t)a->results)[out++] = g_hits[i];
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
