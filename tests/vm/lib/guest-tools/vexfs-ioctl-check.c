/*
 * vexfs-ioctl-check FILE DIR: every bad argument to the VexFS ioctls gets
 * its documented errno and changes nothing (the vector of FILE and the
 * volume's vector generation stay as they were). FILE must carry a vector.
 * Prints one line per case; exits 1 if any case fails. Built static.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vexfs_ioctl.h"

static int failures;

static void expect(const char *name, long rc, int want)
{
	int got = rc < 0 ? errno : 0;

	if (rc >= 0 && want == 0) {
		printf("ok   %-44s -> 0\n", name);
		return;
	}
	if (rc < 0 && got == want) {
		printf("ok   %-44s -> %s\n", name, strerror(got));
		return;
	}
	printf("FAIL %-44s -> %s (rc %ld), want %s\n", name, rc < 0 ? strerror(got) : "success",
	       rc, want ? strerror(want) : "success");
	failures++;
}

static uint64_t ptr(const void *p) { return (uint64_t)(uintptr_t)p; }

int main(int argc, char **argv)
{
	struct vexfs_ioc_status st0 = { .size = sizeof(st0) }, st1 = { .size = sizeof(st1) };
	struct vexfs_ioc_vector v;
	struct vexfs_ioc_search s;
	struct vexfs_ioc_batch_set b;
	struct vexfs_ioc_config c;
	struct vexfs_ioc_ino_path ip;
	static struct vexfs_ioc_result res[8];
	float *orig, *vec, *got;
	uint32_t dim;
	int fd, dfd, i, badfd = 9999;

	if (argc != 3)
		return 2;
	fd = open(argv[1], O_RDWR);
	dfd = open(argv[2], O_RDONLY);
	if (fd < 0 || dfd < 0) {
		perror("open");
		return 2;
	}
	if (ioctl(dfd, VEXFS_IOC_GET_STATUS, &st0)) {
		perror("status");
		return 2;
	}
	dim = st0.dim;
	orig = calloc(dim + 8, 4);
	vec = calloc(VEXFS_IOC_MAX_DIM + 8, 4);
	got = calloc(dim + 8, 4);
	v = (struct vexfs_ioc_vector){ .size = sizeof(v), .dim = dim, .data = ptr(orig) };
	if (ioctl(fd, VEXFS_IOC_GET_VECTOR, &v)) {
		perror("get vector (FILE must carry a vector)");
		return 2;
	}
	for (i = 0; i < (int)dim; i++)
		vec[i] = 0.5f;

	/* Unknown commands. */
	expect("unknown VexFS command", ioctl(fd, _IOWR('V', 99, uint32_t), &dim), ENOTTY);
	expect("foreign ioctl", ioctl(fd, _IO('X', 1)), ENOTTY);

	/* SET_VECTOR */
	v = (struct vexfs_ioc_vector){ .size = sizeof(v) - 4, .dim = dim, .data = ptr(vec) };
	expect("set: struct size below its first version", ioctl(fd, VEXFS_IOC_SET_VECTOR, &v), EINVAL);
	v.size = sizeof(v);
	v.dim = dim + 1;
	expect("set: wrong dimension", ioctl(fd, VEXFS_IOC_SET_VECTOR, &v), EINVAL);
	v.dim = VEXFS_IOC_MAX_DIM + 1;
	expect("set: dimension above the limit", ioctl(fd, VEXFS_IOC_SET_VECTOR, &v), E2BIG);
	v.dim = dim;
	v.flags = 1;
	expect("set: unknown flags", ioctl(fd, VEXFS_IOC_SET_VECTOR, &v), EINVAL);
	v.flags = 0;
	vec[1] = NAN;
	expect("set: NaN element", ioctl(fd, VEXFS_IOC_SET_VECTOR, &v), EINVAL);
	vec[1] = INFINITY;
	expect("set: Inf element", ioctl(fd, VEXFS_IOC_SET_VECTOR, &v), EINVAL);
	vec[1] = 0.5f;
	v.data = 8;
	expect("set: bad data pointer", ioctl(fd, VEXFS_IOC_SET_VECTOR, &v), EFAULT);
	expect("set: bad argument pointer", ioctl(fd, VEXFS_IOC_SET_VECTOR, (void *)8), EFAULT);
	v.data = ptr(vec);
	expect("set: on a directory", ioctl(dfd, VEXFS_IOC_SET_VECTOR, &v), EINVAL);

	/* GET_VECTOR */
	v = (struct vexfs_ioc_vector){ .size = sizeof(v), .dim = dim - 1, .data = ptr(got) };
	expect("get: buffer too small", ioctl(fd, VEXFS_IOC_GET_VECTOR, &v), ERANGE);
	v.dim = dim;
	v.data = 8;
	expect("get: bad data pointer", ioctl(fd, VEXFS_IOC_GET_VECTOR, &v), EFAULT);

	/* SEARCH */
	s = (struct vexfs_ioc_search){ .size = sizeof(s), .kind = VEXFS_SEARCH_KNN, .dim = dim,
		.k = 4, .query = ptr(vec), .results = ptr(res) };
	expect("search: valid (control)", ioctl(dfd, VEXFS_IOC_SEARCH, &s), 0);
	s.k = 0;
	expect("search: k = 0", ioctl(dfd, VEXFS_IOC_SEARCH, &s), EINVAL);
	s.k = VEXFS_IOC_MAX_K + 1;
	expect("search: k above the limit", ioctl(dfd, VEXFS_IOC_SEARCH, &s), E2BIG);
	s.k = 4;
	s.ef = VEXFS_IOC_MAX_EF + 1;
	expect("search: ef above the limit", ioctl(dfd, VEXFS_IOC_SEARCH, &s), E2BIG);
	s.ef = 0;
	s.dim = dim + 1;
	expect("search: wrong dimension", ioctl(dfd, VEXFS_IOC_SEARCH, &s), EINVAL);
	s.dim = dim;
	s.kind = 7;
	expect("search: unknown kind", ioctl(dfd, VEXFS_IOC_SEARCH, &s), EINVAL);
	s.kind = VEXFS_SEARCH_KNN;
	s.flags = 0x80;
	expect("search: unknown flags", ioctl(dfd, VEXFS_IOC_SEARCH, &s), EINVAL);
	s.flags = 0;
	vec[0] = NAN;
	expect("search: NaN in query", ioctl(dfd, VEXFS_IOC_SEARCH, &s), EINVAL);
	vec[0] = 0.5f;
	s.query = 8;
	expect("search: bad query pointer", ioctl(dfd, VEXFS_IOC_SEARCH, &s), EFAULT);
	s.query = ptr(vec);
	s.results = 8;
	expect("search: bad results pointer", ioctl(dfd, VEXFS_IOC_SEARCH, &s), EFAULT);
	s.results = ptr(res);
	s.kind = VEXFS_SEARCH_RANGE;
	{ float t = NAN; memcpy(&s.threshold, &t, 4); }
	expect("range: NaN threshold", ioctl(dfd, VEXFS_IOC_SEARCH, &s), EINVAL);
	s.kind = VEXFS_SEARCH_RANGE;
	s.k = VEXFS_IOC_MAX_RESULTS + 1;
	{ float t = 1.0f; memcpy(&s.threshold, &t, 4); }
	expect("range: capacity above the limit", ioctl(dfd, VEXFS_IOC_SEARCH, &s), E2BIG);

	/* BATCH_SET */
	b = (struct vexfs_ioc_batch_set){ .size = sizeof(b), .count = 0, .dim = dim,
		.fds = ptr(&fd), .vectors = ptr(vec) };
	expect("batch: count 0", ioctl(dfd, VEXFS_IOC_BATCH_SET, &b), EINVAL);
	b.count = VEXFS_IOC_MAX_BATCH + 1;
	expect("batch: count above the limit", ioctl(dfd, VEXFS_IOC_BATCH_SET, &b), E2BIG);
	b.count = 1;
	b.fds = 8;
	expect("batch: bad fds pointer", ioctl(dfd, VEXFS_IOC_BATCH_SET, &b), EFAULT);
	b.fds = ptr(&badfd);
	expect("batch: closed fd", ioctl(dfd, VEXFS_IOC_BATCH_SET, &b), EBADF);
	b.fds = ptr(&fd);
	b.vectors = 8;
	expect("batch: bad vectors pointer", ioctl(dfd, VEXFS_IOC_BATCH_SET, &b), EFAULT);
	b.vectors = ptr(vec);
	b.dim = dim + 1;
	expect("batch: wrong dimension", ioctl(dfd, VEXFS_IOC_BATCH_SET, &b), EINVAL);

	/* CONFIG */
	c = (struct vexfs_ioc_config){ .size = sizeof(c), .set_mask = 0x100 };
	expect("config: unknown field mask", ioctl(dfd, VEXFS_IOC_SET_CONFIG, &c), EINVAL);
	c = (struct vexfs_ioc_config){ .size = sizeof(c), .set_mask = VEXFS_CONFIG_SYNC_MODE, .sync_mode = 9 };
	expect("config: unknown sync mode", ioctl(dfd, VEXFS_IOC_SET_CONFIG, &c), EINVAL);
	c = (struct vexfs_ioc_config){ .size = sizeof(c), .set_mask = VEXFS_CONFIG_EF_SEARCH, .ef_search = VEXFS_IOC_MAX_EF + 1 };
	expect("config: ef_search above the limit", ioctl(dfd, VEXFS_IOC_SET_CONFIG, &c), E2BIG);
	c = (struct vexfs_ioc_config){ .size = sizeof(c), .set_mask = VEXFS_CONFIG_BATCH_SIZE, .batch_size = 0 };
	expect("config: batch size 0", ioctl(dfd, VEXFS_IOC_SET_CONFIG, &c), EINVAL);

	/* INO_PATH */
	ip = (struct vexfs_ioc_ino_path){ .size = sizeof(ip), .path_len = 64, .ino = 0, .path = ptr(got) };
	expect("ino_path: inode 0", ioctl(dfd, VEXFS_IOC_INO_PATH, &ip), EINVAL);
	ip.ino = 1ULL << 40;
	expect("ino_path: inode beyond the table", ioctl(dfd, VEXFS_IOC_INO_PATH, &ip), EINVAL);

	/* Nothing changed. */
	v = (struct vexfs_ioc_vector){ .size = sizeof(v), .dim = dim, .data = ptr(got) };
	if (ioctl(fd, VEXFS_IOC_GET_VECTOR, &v) || memcmp(orig, got, dim * 4)) {
		printf("FAIL the file's vector changed\n");
		failures++;
	}
	if (ioctl(dfd, VEXFS_IOC_GET_STATUS, &st1) || st1.vector_generation != st0.vector_generation ||
	    st1.vectors != st0.vectors) {
		printf("FAIL vector generation %llu -> %llu, vectors %llu -> %llu\n",
		       (unsigned long long)st0.vector_generation, (unsigned long long)st1.vector_generation,
		       (unsigned long long)st0.vectors, (unsigned long long)st1.vectors);
		failures++;
	}
	printf("%d failures\n", failures);
	return failures ? 1 : 0;
}
