/*
 * vexfs-rawsearch PATH KIND K THRESHOLD FLAGS CSV: one VEXFS_IOC_SEARCH on
 * PATH (a file or directory of a VexFS mount), printing every result the
 * kernel returned as "ino DISTANCE CHUNK OFFSET LENGTH STALE", unresolved
 * (so a test sees inode numbers a path lookup would hide), then "count N"
 * and "truncated 0|1". KIND is knn, range or
 * similar; FLAGS the numeric VEXFS_SEARCH_F_* mask. On failure prints
 * "error ERRNO-NAME" and exits 1. Built static.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vexfs_ioctl.h"

static const char *errname(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case ENOTDIR: return "ENOTDIR";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case E2BIG: return "E2BIG";
	case EFAULT: return "EFAULT";
	case ENOTTY: return "ENOTTY";
	case EXDEV: return "EXDEV";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	struct vexfs_ioc_search s;
	struct vexfs_ioc_result *res;
	float q[VEXFS_IOC_MAX_DIM], t;
	uint32_t kind, dim = 0, i, tbits;
	char *p, *end;
	int fd;

	if (argc != 7) {
		fprintf(stderr, "usage: vexfs-rawsearch PATH knn|range|similar K THRESHOLD FLAGS CSV\n");
		return 2;
	}
	if (!strcmp(argv[2], "knn"))
		kind = VEXFS_SEARCH_KNN;
	else if (!strcmp(argv[2], "range"))
		kind = VEXFS_SEARCH_RANGE;
	else if (!strcmp(argv[2], "similar"))
		kind = VEXFS_SEARCH_SIMILAR;
	else
		return 2;
	for (p = argv[6]; *p && dim < VEXFS_IOC_MAX_DIM; p = *end ? end + 1 : end) {
		q[dim++] = strtof(p, &end);
		if (end == p)
			return 2;
	}
	t = strtof(argv[4], NULL);
	memcpy(&tbits, &t, 4);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	s = (struct vexfs_ioc_search){ .size = sizeof(s), .kind = kind, .dim = dim,
		.k = (uint32_t)strtoul(argv[3], NULL, 0), .threshold = tbits,
		.flags = (uint32_t)strtoul(argv[5], NULL, 0), .query = (uint64_t)(uintptr_t)q,
		.result_size = sizeof(*res) };
	res = calloc(s.k ? s.k : 1, sizeof(*res));
	if (!res)
		return 2;
	s.results = (uint64_t)(uintptr_t)res;
	if (ioctl(fd, VEXFS_IOC_SEARCH, &s)) {
		printf("error %s\n", errname(errno));
		return 1;
	}
	for (i = 0; i < s.count; i++) {
		memcpy(&t, &res[i].distance, 4);
		printf("%llu %g %u %llu %llu %u\n", (unsigned long long)res[i].ino, t, res[i].chunk,
		       (unsigned long long)res[i].offset, (unsigned long long)res[i].length,
		       !!(res[i].flags & VEXFS_RESULT_F_STALE));
	}
	printf("count %u\ntruncated %u\n", s.count, s.truncated);
	return 0;
}
