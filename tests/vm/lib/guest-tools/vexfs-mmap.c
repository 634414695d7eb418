/*
 * vexfs-mmap: file I/O checks busybox cannot do (mmap, pwrite at 64-bit
 * offsets with a checked pattern, fdatasync). Built static for the guest.
 *
 *   vexfs-mmap mwrite FILE OFF LEN SEED   write the pattern through a MAP_SHARED
 *                                         mapping (msync MS_SYNC); the file must
 *                                         already extend past OFF+LEN
 *   vexfs-mmap mcheck FILE OFF LEN SEED   compare a mapping with the pattern
 *   vexfs-mmap mzero  FILE OFF LEN        a mapping reads as zeros
 *   vexfs-mmap pwrite FILE OFF LEN SEED   pwrite the pattern, then fdatasync
 *   vexfs-mmap pcheck FILE OFF LEN SEED   pread and compare with the pattern
 *   vexfs-mmap pzero  FILE OFF LEN        pread reads zeros
 *   vexfs-mmap utimens PATH SEC NSEC      set atime and mtime (nanoseconds; a
 *                                         symlink itself, not its target)
 *
 * The pattern is a function of (SEED, absolute file offset), so any
 * sub-range can be checked. OFF may be unaligned; mappings are page-aligned
 * internally. Exit 0 on success, 1 on a mismatch (the first one is printed),
 * 2 on a usage or system-call error (named with its errno).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint8_t pat(uint64_t seed, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ull ^ seed * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (off & 7)));
}

static int die(const char *what)
{
	fprintf(stderr, "vexfs-mmap: %s: %s (errno %d)\n", what, strerror(errno), errno);
	return 2;
}

static int mismatch(uint64_t off, int got, int want)
{
	printf("MISMATCH at offset %llu: got 0x%02x, want 0x%02x\n", (unsigned long long)off, got, want);
	return 1;
}

int main(int argc, char **argv)
{
	const char *cmd, *file;
	uint64_t off, len, seed = 0, i, base, shift;
	long page = sysconf(_SC_PAGESIZE);
	int zero, fd, rc = 0;
	uint8_t *m, *buf;

	if (argc == 5 && !strcmp(argv[1], "utimens")) {
		struct timespec ts[2];

		ts[0].tv_sec = ts[1].tv_sec = strtoll(argv[3], NULL, 0);
		ts[0].tv_nsec = ts[1].tv_nsec = strtol(argv[4], NULL, 0);
		if (utimensat(AT_FDCWD, argv[2], ts, AT_SYMLINK_NOFOLLOW))
			return die(argv[2]);
		return 0;
	}
	if (argc < 5)
		goto usage;
	cmd = argv[1];
	file = argv[2];
	off = strtoull(argv[3], NULL, 0);
	len = strtoull(argv[4], NULL, 0);
	zero = !strcmp(cmd, "mzero") || !strcmp(cmd, "pzero");
	if (!zero) {
		if (argc != 6)
			goto usage;
		seed = strtoull(argv[5], NULL, 0);
	}
	fd = open(file, (!strcmp(cmd, "mwrite") || !strcmp(cmd, "pwrite")) ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return die(file);

	if (cmd[0] == 'm') {
		int w = !strcmp(cmd, "mwrite");

		base = off & ~(uint64_t)(page - 1);
		shift = off - base;
		m = mmap(NULL, len + shift, w ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, base);
		if (m == MAP_FAILED)
			return die("mmap");
		for (i = 0; i < len; i++) {
			if (w)
				m[shift + i] = pat(seed, off + i);
			else if (zero ? m[shift + i] != 0 : m[shift + i] != pat(seed, off + i)) {
				rc = mismatch(off + i, m[shift + i], zero ? 0 : pat(seed, off + i));
				break;
			}
		}
		if (w && msync(m, len + shift, MS_SYNC))
			return die("msync");
		if (munmap(m, len + shift))
			return die("munmap");
	} else if (!strcmp(cmd, "pwrite")) {
		buf = malloc(len);
		if (!buf)
			return die("malloc");
		for (i = 0; i < len; i++)
			buf[i] = pat(seed, off + i);
		for (i = 0; i < len;) {
			ssize_t n = pwrite(fd, buf + i, len - i, off + i);

			if (n <= 0)
				return die("pwrite");
			i += n;
		}
		if (fdatasync(fd))
			return die("fdatasync");
	} else if (!strcmp(cmd, "pcheck") || zero) {
		buf = malloc(len);
		if (!buf)
			return die("malloc");
		for (i = 0; i < len;) {
			ssize_t n = pread(fd, buf + i, len - i, off + i);

			if (n < 0)
				return die("pread");
			if (n == 0) {
				printf("SHORT read: EOF at offset %llu\n", (unsigned long long)(off + i));
				return 1;
			}
			i += n;
		}
		for (i = 0; i < len; i++) {
			int want = zero ? 0 : pat(seed, off + i);

			if (buf[i] != want) {
				rc = mismatch(off + i, buf[i], want);
				break;
			}
		}
	} else {
		goto usage;
	}
	if (close(fd))
		return die("close");
	return rc;
usage:
	fprintf(stderr, "usage: vexfs-mmap mwrite|mcheck|pwrite|pcheck FILE OFF LEN SEED | mzero|pzero FILE OFF LEN"
			" | utimens PATH SEC NSEC\n");
	return 2;
}
