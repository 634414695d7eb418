/*
 * vexfs-ioctl-fuzz SECONDS SEED PATH...: random ioctls on files and
 * directories of a mounted VexFS, as an unprivileged user, for a bounded time
 * (issue 6, item 6). Built static with musl-gcc for the test VM.
 *
 * Drops to uid/gid 65534 (nobody) first, then opens every PATH it may open
 * (read-only, and read-write where allowed). Each call picks one of the open
 * descriptors and:
 *   45%  a real VexFS command (VEXFS_IOC_*),
 *   35%  a random 'V' command: random nr (0..31), size (0..2047), direction,
 *   20%  a random command number of any type (the VFS's generic ioctls and
 *        ENOTTY paths; never one of the terminal/block commands that act on
 *        other objects, which nobody cannot reach on a VexFS file anyway).
 * The argument is, at random, a buffer filled with "interesting" 32/64-bit
 * words (sizes, counts, dims, limits, all-ones, pointers into a valid 1 MiB
 * buffer, to the last bytes before an inaccessible guard page, NULL, kernel
 * addresses, misaligned pointers) with the leading size field usually equal
 * to the command's size; or a raw random value/pointer.
 *
 * The kernel's verdict is the harness's: any warning, KASAN/lockdep report or
 * leak fails the run. This program only reports counts and exits 0, or 1 if
 * it could open nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vexfs_ioctl.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t pick(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }

static const unsigned long real_cmds[] = {
	VEXFS_IOC_SET_VECTOR, VEXFS_IOC_GET_VECTOR, VEXFS_IOC_DEL_VECTOR, VEXFS_IOC_BATCH_SET,
	VEXFS_IOC_SEARCH, VEXFS_IOC_INO_PATH, VEXFS_IOC_SYNC, VEXFS_IOC_GET_STATUS,
	VEXFS_IOC_GET_STATS, VEXFS_IOC_GET_CONFIG, VEXFS_IOC_SET_CONFIG, VEXFS_IOC_REBUILD,
};
#define NREAL (sizeof(real_cmds) / sizeof(real_cmds[0]))

static unsigned char *valid;	/* 1 MiB, readable and writable */
static unsigned char *guard;	/* one page, PROT_NONE, right after edge page */
static unsigned char *edge;	/* the page before guard */
#define VALID_SIZE (1u << 20)

static uint64_t interesting(void)
{
	switch (pick(20)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 2 + pick(15);
	case 3: { static const uint32_t d[] = {4, 8, 16, 32, 64, 100, 128, 768, 1024, 4096, 4097};
		  return d[pick(sizeof(d) / sizeof(d[0]))]; }
	case 4: return VEXFS_IOC_MAX_K + pick(3) - 1;
	case 5: return VEXFS_IOC_MAX_BATCH + pick(3) - 1;
	case 6: return VEXFS_IOC_MAX_RESULTS + pick(3) - 1;
	case 7: return 0xffffffffu;
	case 8: return ~0ULL;
	case 9: return 0x80000000u;
	case 10: return (uint64_t)(uintptr_t)(valid + pick(VALID_SIZE / 8) * 8);
	case 11: return (uint64_t)(uintptr_t)(valid + pick(VALID_SIZE));	/* misaligned */
	case 12: return (uint64_t)(uintptr_t)(edge + 4096 - 8 * (1 + pick(8)));
	case 13: return (uint64_t)(uintptr_t)guard;
	case 14: return 0xffff888000000000ULL + (rnd() & 0xffffff000ULL);	/* kernel direct map */
	case 15: return 0xffffffff81000000ULL;					/* kernel text */
	case 16: return 0x1000;
	case 17: return (uint32_t)rnd();
	case 18: return 0x7f800000u | (pick(2) << 31);	/* +-Inf as f32 bits */
	default: return 0x3f800000u;			/* 1.0f */
	}
}

/* Fill an argument struct of `size` bytes at p. */
static void fill(unsigned char *p, uint32_t size)
{
	uint32_t i;

	for (i = 0; i + 8 <= size; i += 8) {
		uint64_t v = interesting();

		if (pick(2)) {	/* a 32-bit field next to another one */
			uint32_t lo = (uint32_t)v, hi = (uint32_t)interesting();

			memcpy(p + i, &lo, 4);
			memcpy(p + i + 4, &hi, 4);
		} else {
			memcpy(p + i, &v, 8);
		}
	}
	for (; i < size; i++)
		p[i] = (unsigned char)rnd();
	/* Every VexFS argument struct starts with its own size. */
	if (size >= 4 && pick(10) < 7)
		memcpy(p, &size, 4);
	if (size >= 8 && pick(3) == 0) {	/* version/flags word: often 0 */
		uint32_t z = 0;

		memcpy(p + 4, &z, 4);
	}
}

int main(int argc, char **argv)
{
	int fds[256], nfd = 0;
	unsigned long calls = 0, ok = 0, errs[134] = {0};
	time_t end;
	int i;

	if (argc < 4) {
		fprintf(stderr, "usage: %s SECONDS SEED PATH...\n", argv[0]);
		return 2;
	}
	end = time(NULL) + atoi(argv[1]);
	rng_state = strtoull(argv[2], NULL, 0) * 2654435761u + 88172645463325252ULL;

	if (setgid(65534) || setuid(65534)) {
		perror("setuid nobody");
		return 1;
	}
	for (i = 3; i < argc && nfd < 250; i++) {
		int fd = open(argv[i], O_RDONLY);

		if (fd >= 0)
			fds[nfd++] = fd;
		fd = open(argv[i], O_RDWR);
		if (fd >= 0)
			fds[nfd++] = fd;
	}
	if (!nfd) {
		fprintf(stderr, "ioctl-fuzz: could not open any path as nobody\n");
		return 1;
	}

	valid = mmap(NULL, VALID_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (valid == MAP_FAILED || edge == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	guard = edge + 4096;
	if (mprotect(guard, 4096, PROT_NONE)) {
		perror("mprotect");
		return 1;
	}
	for (i = 0; i < (int)VALID_SIZE; i += 8) {
		uint64_t v = interesting();

		memcpy(valid + i, &v, 8);
	}

	while (time(NULL) < end) {
		int k;

		for (k = 0; k < 64; k++) {
			int fd = fds[pick(nfd)];
			unsigned long cmd;
			uint32_t size;
			unsigned long arg;
			long rc;
			unsigned int r = pick(100);

			if (r < 45) {
				cmd = real_cmds[pick(NREAL)];
			} else if (r < 80) {
				cmd = _IOC(pick(4), 'V', pick(32), pick(2048));
			} else {
				cmd = (uint32_t)rnd();
				/* Keep away from the terminal/console/block-device space,
				 * which a VexFS file never implements but whose generic
				 * handlers could act on the controlling terminal. */
				if (((cmd >> 8) & 0xff) == 'T' || ((cmd >> 8) & 0xff) == 0x12 ||
				    ((cmd >> 8) & 0xff) == 'K' || ((cmd >> 8) & 0xff) == 'V')
					cmd = _IOC(pick(4), 'f', pick(256), pick(64));
			}
			size = _IOC_SIZE(cmd);
			switch (pick(10)) {
			case 0:
				arg = (unsigned long)interesting();
				break;
			case 1: {	/* struct ends right at the guard page */
				uint32_t s = size > 4096 ? 4096 : size;

				fill(guard - s, s);
				arg = (unsigned long)(guard - s);
				break;
			}
			default: {
				/* _IOC_SIZE is at most 16383: stay inside the buffer. */
				unsigned char *p = valid + pick(VALID_SIZE - 16384) / 8 * 8;

				fill(p, size ? size : 64);
				arg = (unsigned long)p;
			}
			}
			rc = ioctl(fd, cmd, arg);
			calls++;
			if (rc >= 0)
				ok++;
			else if (errno > 0 && errno < 134)
				errs[errno]++;
		}
	}
	printf("ioctl-fuzz: %lu calls on %d descriptors as uid %d, %lu succeeded\n", calls, nfd,
	       (int)getuid(), ok);
	for (i = 1; i < 134; i++)
		if (errs[i])
			printf("ioctl-fuzz:   %-10lu %s\n", errs[i], strerror(i));
	return 0;
}
