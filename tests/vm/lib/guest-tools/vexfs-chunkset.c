/*
 * vexfs-chunkset FILE SPEC...: replace FILE's chunk set with VEXFS_IOC_SET_CHUNKS.
 * Each SPEC is one chunk, OFFSET:LENGTH:X1,X2,...,Xdim; or the single SPEC
 * "line:N:X0:STEP" is N chunks, chunk c covering bytes [100c, 100c + 100)
 * with vector (X0 + c * STEP, 0, ..., 0) of the filesystem's dimension;
 * "rand:N:SEED" is N chunks at the same ranges with pseudo-random vectors
 * (elements in [-1, 1), an LCG seeded with SEED).
 * No SPEC: drop the set (count 0). "vexfs-chunkset PATH status" prints
 * the volume's "vectors V files F stale_files S" (GET_STATUS) instead.
 * On failure prints "error ERRNO" and exits 1. Built static.
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

int main(int argc, char **argv)
{
	struct vexfs_ioc_status st = { .size = sizeof(st) };
	struct vexfs_ioc_chunks a;
	struct vexfs_ioc_chunk *ch;
	float *vec;
	uint32_t n, c, d;
	int fd;

	if (argc < 2)
		return 2;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || ioctl(fd, VEXFS_IOC_GET_STATUS, &st)) {
		perror(argv[1]);
		return 2;
	}
	if (argc == 3 && !strcmp(argv[2], "status")) {
		printf("vectors %llu files %llu stale_files %llu\n", (unsigned long long)st.vectors,
		       (unsigned long long)st.files, (unsigned long long)st.stale_files);
		return 0;
	}
	if (argc == 3 && !strncmp(argv[2], "rand:", 5)) {
		uint64_t seed;

		if (sscanf(argv[2], "rand:%u:%llu", &n, (unsigned long long *)&seed) != 2)
			return 2;
		ch = calloc(n ? n : 1, sizeof(*ch));
		vec = calloc((size_t)(n ? n : 1) * st.dim, sizeof(float));
		if (!ch || !vec)
			return 2;
		for (c = 0; c < n; c++) {
			ch[c].offset = 100ull * c;
			ch[c].length = 100;
			for (d = 0; d < st.dim; d++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				vec[(size_t)c * st.dim + d] = (float)(seed >> 40) / (1 << 23) - 1.0f;
			}
		}
	} else if (argc == 3 && !strncmp(argv[2], "line:", 5)) {
		float x0, step;

		if (sscanf(argv[2], "line:%u:%f:%f", &n, &x0, &step) != 3)
			return 2;
		ch = calloc(n ? n : 1, sizeof(*ch));
		vec = calloc((size_t)(n ? n : 1) * st.dim, sizeof(float));
		if (!ch || !vec)
			return 2;
		for (c = 0; c < n; c++) {
			ch[c].offset = 100ull * c;
			ch[c].length = 100;
			vec[(size_t)c * st.dim] = x0 + c * step;
		}
	} else {
		n = argc - 2;
		ch = calloc(n ? n : 1, sizeof(*ch));
		vec = calloc((size_t)(n ? n : 1) * st.dim, sizeof(float));
		if (!ch || !vec)
			return 2;
		for (c = 0; c < n; c++) {
			char *p = argv[c + 2], *end;

			ch[c].offset = strtoull(p, &end, 0);
			if (*end != ':')
				return 2;
			ch[c].length = strtoull(end + 1, &end, 0);
			if (*end != ':')
				return 2;
			for (d = 0, p = end + 1; d < st.dim; d++, p = end + 1) {
				vec[(size_t)c * st.dim + d] = strtof(p, &end);
				if (end == p || (d + 1 < st.dim && *end != ','))
					return 2;
			}
		}
	}
	a = (struct vexfs_ioc_chunks){ .size = sizeof(a), .dim = st.dim, .count = n,
		.chunks = (uint64_t)(uintptr_t)ch, .vectors = (uint64_t)(uintptr_t)vec };
	close(fd);
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || ioctl(fd, VEXFS_IOC_SET_CHUNKS, &a)) {
		printf("error %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
