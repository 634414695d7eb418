/*
 * vexfs-fsx: randomized file operations checked against an in-memory model
 * (in the spirit of fsx): buffered and O_DIRECT reads and writes, mmap reads
 * and writes, truncate, fallocate (mode 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE
 * with and without KEEP_SIZE) and SEEK_DATA/SEEK_HOLE. Built static for the
 * guest.
 *
 *   vexfs-fsx run FILE SEED NOPS MODEL [exact]  NOPS random operations on a new
 *       FILE, each checked (the range it touched, the size, seek answers; the
 *       whole file every 64 operations); the model is saved to MODEL
 *   vexfs-fsx check FILE MODEL [exact]          FILE matches a saved model (after
 *       a remount)
 *   vexfs-fsx falloc FILE MODE OFF LEN          one fallocate(2); MODE is alloc,
 *       keep, punch, zero, zerokeep, collapse or insert; prints "ok" or the errno
 *       name, exit 0 either way (2 if FILE cannot be opened)
 *       (unaligned O_DIRECT must fail with EINVAL only in exact mode: 6.1 ext4
 *       serves it through the page cache)
 *   vexfs-fsx fill FILE OFF LEN BYTE            pwrite LEN bytes of BYTE at OFF, fsync
 *   vexfs-fsx scan FILE BYTE                    every byte of FILE is 0 or BYTE
 *   vexfs-fsx alias FILE                        O_DIRECT writes whose buffer is a
 *       shared mapping of the file (the range they write, and another one),
 *       then every byte is checked, buffered and O_DIRECT
 *
 * exact: the file system maps a block exactly when the model says it should
 * (VexFS: write, mmap write and fallocate map every block they touch, punch
 * hole frees the whole blocks of its range, truncate frees the blocks past
 * the new end), so SEEK_DATA/SEEK_HOLE and st_blocks (data blocks plus the
 * indirect blocks over them) are compared exactly. Without it (ext4, which
 * may report unwritten extents as holes) the answers are only checked to be
 * valid: SEEK_DATA skips zeros only, SEEK_HOLE lands on zeros or EOF.
 *
 * Exit 0 when everything matched, 1 on a mismatch (the operation and the
 * first difference are printed), 2 on a usage or unexpected system-call error.
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
#include <unistd.h>
#include <linux/falloc.h>

#define BS 4096ull
#define MAXSZ (6ull << 20)		/* crosses into the double-indirect range at 4 MiB + 48 KiB */
#define NBLK (MAXSZ / BS)
#define NDIR 12ull			/* VexFS direct slots */
#define APB 1020ull			/* VexFS entries per indirect block */

static uint8_t *model;			/* MAXSZ bytes: file content, zero past size */
static uint8_t alloc_map[NBLK];		/* exact mode: block mapped */
static uint64_t size;
static int exact;
static char opdesc[160];
static unsigned long opno;
static uint8_t *buf, *dbuf;		/* scratch; dbuf is 4096-aligned for O_DIRECT */
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static int sysfail(const char *what)
{
	fprintf(stderr, "vexfs-fsx: op %lu (%s): %s: %s (errno %d)\n", opno, opdesc, what,
		strerror(errno), errno);
	exit(2);
}

static int mismatch(const char *fmt, unsigned long long a, unsigned long long b)
{
	printf("MISMATCH after op %lu (%s): ", opno, opdesc);
	printf(fmt, a, b);
	printf("\n");
	exit(1);
}

static void mark(uint64_t off, uint64_t len, int mapped)
{
	uint64_t b;

	for (b = off / BS; len && b <= (off + len - 1) / BS && b < NBLK; b++)
		alloc_map[b] = mapped;
}

/* pread [off, off+len) and compare with the model. */
static void check_range(int fd, uint64_t off, uint64_t len)
{
	uint64_t want, i;
	ssize_t got;

	if (off >= size)
		return;
	if (off + len > size)
		len = size - off;
	while (len) {
		uint64_t n = len > (1 << 20) ? (1 << 20) : len;

		got = pread(fd, buf, n, off);
		if (got < 0)
			sysfail("pread");
		want = n;
		if ((uint64_t)got != want)
			mismatch("pread returned %llu bytes, want %llu", got, want);
		for (i = 0; i < n; i++)
			if (buf[i] != model[off + i])
				mismatch("byte at %llu differs (got 0x%02llx)", off + i, buf[i]);
		off += n;
		len -= n;
	}
}

static uint64_t expect_seek(uint64_t off, int data)
{
	uint64_t end = (size + BS - 1) / BS, b;

	for (b = off / BS; b < end; b++)
		if (alloc_map[b] == data)
			return b * BS > off ? b * BS : off;
	return data ? UINT64_MAX : size;
}

static void check_seek(int fd, uint64_t off)
{
	off_t d, h;
	uint64_t i, lim;

	errno = 0;
	d = lseek(fd, off, SEEK_DATA);
	if (d < 0 && errno != ENXIO)
		sysfail("lseek SEEK_DATA");
	h = lseek(fd, off, SEEK_HOLE);
	if (h < 0 && errno != ENXIO)
		sysfail("lseek SEEK_HOLE");
	if (off >= size) {
		if (d >= 0 || h >= 0)
			mismatch("seek at or past EOF %llu answered %llu, want ENXIO", off, d >= 0 ? d : h);
		return;
	}
	if (exact) {
		uint64_t wd = expect_seek(off, 1), wh = expect_seek(off, 0);

		if ((d < 0 ? UINT64_MAX : (uint64_t)d) != wd)
			mismatch("SEEK_DATA from %llu answered %lld", off, (long long)d);
		if ((uint64_t)h != wh)
			mismatch("SEEK_HOLE from %llu answered %lld", off, (long long)h);
		if (wd != UINT64_MAX && wd < size)
			return;
	}
	/* Valid in any case: no data is skipped, a hole reads as zeros. */
	lim = d < 0 ? size : (uint64_t)d;
	if (d >= 0 && ((uint64_t)d < off || (uint64_t)d >= size))
		mismatch("SEEK_DATA from %llu answered %llu", off, d);
	for (i = off; i < lim; i++)
		if (model[i])
			mismatch("SEEK_DATA from %llu skipped data at %llu", off, i);
	if (h < 0 || (uint64_t)h < off || (uint64_t)h > size)
		mismatch("SEEK_HOLE from %llu answered %lld", off, h);
	lim = ((uint64_t)h / BS + 1) * BS;
	for (i = h; i < lim && i < size; i++)
		if (model[i])
			mismatch("SEEK_HOLE from %llu answered %llu, which holds data", off, h);
}

static uint64_t expect_blocks(void)
{
	uint64_t n = 0, b, k, any1 = 0, any2 = 0;

	for (b = 0; b < NBLK; b++)
		n += alloc_map[b];
	for (b = NDIR; b < NDIR + APB && b < NBLK; b++)
		any1 |= alloc_map[b];
	for (k = 0; NDIR + APB + k * APB < NBLK; k++) {
		uint64_t anyk = 0;

		for (b = NDIR + APB + k * APB; b < NDIR + APB + (k + 1) * APB && b < NBLK; b++)
			anyk |= alloc_map[b];
		n += anyk;
		any2 |= anyk;
	}
	return (n + any1 + any2) * (BS / 512);
}

static void check_meta(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		sysfail("fstat");
	if ((uint64_t)st.st_size != size)
		mismatch("size %llu, want %llu", st.st_size, size);
	if (exact && (uint64_t)st.st_blocks != expect_blocks())
		mismatch("st_blocks %llu, want %llu", st.st_blocks, expect_blocks());
}

static void check_all(int fd)
{
	uint64_t off = 0;
	off_t d, h;

	check_meta(fd);
	check_range(fd, 0, size);
	if (!exact)
		return;
	/* Walk the whole data/hole map. */
	while (off < size) {
		check_seek(fd, off);
		d = lseek(fd, off, SEEK_DATA);
		if (d < 0)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		if (h <= d)
			mismatch("SEEK_HOLE from data at %llu answered %llu", d, h);
		off = h;
	}
}

static void model_write(uint64_t off, uint64_t len, const uint8_t *src)
{
	memcpy(model + off, src, len);
	mark(off, len, 1);
	if (off + len > size)
		size = off + len;
}

static void model_truncate(uint64_t sz)
{
	if (sz == size)
		return;	/* no size change: VexFS (like most) does not truncate */
	if (sz < size)
		memset(model + sz, 0, size - sz);
	size = sz;
	for (uint64_t b = (sz + BS - 1) / BS; b < NBLK; b++)
		alloc_map[b] = 0;
}

static void fill_random(uint8_t *p, uint64_t len)
{
	uint64_t i, v = 0;

	for (i = 0; i < len; i++) {
		if (!(i & 7))
			v = rnd();
		p[i] = (uint8_t)(v >> (8 * (i & 7))) | 1;	/* never 0: zeros mean "hole" */
	}
}

/* A random range inside [0, MAXSZ): often block-aligned, often small. */
static void pick_range(uint64_t *off, uint64_t *len, uint64_t maxlen)
{
	uint64_t hint = size && below(3) == 0 ? size : below(MAXSZ);

	*off = below(4) ? hint - below(hint < 2 * BS ? hint + 1 : 2 * BS) : below(MAXSZ);
	if (*off >= MAXSZ)
		*off = MAXSZ - 1;
	*len = 1 + below(maxlen);
	if (below(2)) {
		*off &= ~(BS - 1);
		*len = (*len + BS - 1) & ~(BS - 1);
	}
	if (*off + *len > MAXSZ)
		*len = MAXSZ - *off;
}

static const int fmodes[] = {
	0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	FALLOC_FL_ZERO_RANGE, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
};
static const char *const fnames[] = { "alloc", "keep", "punch", "zero", "zerokeep" };

static void do_falloc(int fd, int which, uint64_t off, uint64_t len)
{
	int mode = fmodes[which];
	uint64_t end = off + len, first, last, b;

	if (fallocate(fd, mode, off, len))
		sysfail("fallocate");
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		if (off < size)
			memset(model + off, 0, (end < size ? end : size) - off);
		first = (off + BS - 1) / BS;
		last = end / BS;
		for (b = first; b < last; b++)
			alloc_map[b] = 0;
		return;
	}
	if (mode & FALLOC_FL_ZERO_RANGE) {
		if (off < size)
			memset(model + off, 0, (end < size ? end : size) - off);
		first = (off + BS - 1) / BS;
		last = end / BS;
	} else {
		first = off / BS;
		last = (end + BS - 1) / BS;
	}
	for (b = first; b < last && b < NBLK; b++)
		alloc_map[b] = 1;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > size)
		size = end;
}

static void do_mmap(int fd, int write, uint64_t off, uint64_t len)
{
	uint64_t base = off & ~(BS - 1), i;
	uint8_t *p;

	p = mmap(NULL, off + len - base, write ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
		 fd, base);
	if (p == MAP_FAILED)
		sysfail("mmap");
	if (write) {
		fill_random(buf, len);
		memcpy(p + (off - base), buf, len);
		model_write(off, len, buf);
		if (below(2) && msync(p, off + len - base, MS_SYNC))
			sysfail("msync");
	} else {
		for (i = 0; i < len; i++)
			if (p[off - base + i] != model[off + i])
				mismatch("mmap byte at %llu differs (got 0x%02llx)", off + i, p[off - base + i]);
	}
	munmap(p, off + len - base);
}

static void do_direct(int dfd, int write, uint64_t off, uint64_t len)
{
	ssize_t got;
	uint64_t want, i;

	if (write) {
		fill_random(dbuf, len);
		got = pwrite(dfd, dbuf, len, off);
		if (got < 0)
			sysfail("O_DIRECT pwrite");
		if ((uint64_t)got != len)
			mismatch("O_DIRECT pwrite wrote %llu of %llu bytes", got, len);
		model_write(off, len, dbuf);
		return;
	}
	got = pread(dfd, dbuf, len, off);
	if (got < 0)
		sysfail("O_DIRECT pread");
	want = off >= size ? 0 : (size - off < len ? size - off : len);
	if ((uint64_t)got != want)
		mismatch("O_DIRECT pread returned %llu bytes, want %llu", got, want);
	for (i = 0; i < want; i++)
		if (dbuf[i] != model[off + i])
			mismatch("O_DIRECT byte at %llu differs (got 0x%02llx)", off + i, dbuf[i]);
}

/* Unaligned O_DIRECT is EINVAL and changes nothing. */
static void do_direct_unaligned(int dfd, uint64_t off)
{
	ssize_t got;

	fill_random(dbuf, 4096);
	got = pwrite(dfd, dbuf + 1, 4096, off);
	if (got >= 0 || errno != EINVAL)
		mismatch("unaligned O_DIRECT pwrite at %llu returned %lld, want EINVAL", off, got);
	got = pwrite(dfd, dbuf, 4096, off | 1);
	if (got >= 0 || errno != EINVAL)
		mismatch("unaligned O_DIRECT pwrite at %llu returned %lld, want EINVAL", off | 1, got);
	/* A read at or past EOF is 0 before any alignment check (direct-io.c). */
	got = pread(dfd, dbuf, 4096 + 7, off & ~511ull);
	if ((off & ~511ull) >= size ? got != 0 : got >= 0 || errno != EINVAL)
		mismatch("O_DIRECT pread of odd length at %llu returned %lld, want EINVAL", off, got);
}

static void save_model(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(&size, sizeof(size), 1, f) != 1 || fwrite(model, 1, MAXSZ, f) != MAXSZ ||
	    fwrite(alloc_map, 1, NBLK, f) != NBLK || fclose(f))
		sysfail("saving the model");
}

static void load_model(const char *path)
{
	FILE *f = fopen(path, "r");

	if (!f || fread(&size, sizeof(size), 1, f) != 1 || fread(model, 1, MAXSZ, f) != MAXSZ ||
	    fread(alloc_map, 1, NBLK, f) != NBLK)
		sysfail("loading the model");
	fclose(f);
}

static int run(const char *file, uint64_t seed, unsigned long nops, const char *mpath)
{
	int fd, dfd;
	unsigned long counts[13] = { 0 };

	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		sysfail("open");
	dfd = open(file, O_RDWR | O_DIRECT);
	if (dfd < 0)
		sysfail("open O_DIRECT");
	for (opno = 1; opno <= nops; opno++) {
		uint64_t off, len, op = below(13);

		counts[op]++;
		switch (op) {
		case 0:	/* buffered write */
		case 1:
			pick_range(&off, &len, 65536);
			snprintf(opdesc, sizeof(opdesc), "write %llu+%llu", (unsigned long long)off,
				 (unsigned long long)len);
			fill_random(buf, len);
			if (pwrite(fd, buf, len, off) != (ssize_t)len)
				sysfail("pwrite");
			model_write(off, len, buf);
			break;
		case 2:	/* buffered read */
			pick_range(&off, &len, 262144);
			snprintf(opdesc, sizeof(opdesc), "read %llu+%llu", (unsigned long long)off,
				 (unsigned long long)len);
			break;
		case 3:	/* mmap read or write inside the file */
		case 4:
			if (!size) {
				counts[op]--;
				continue;
			}
			off = below(size);
			len = 1 + below(size - off < 65536 ? size - off : 65536);
			snprintf(opdesc, sizeof(opdesc), "mmap %s %llu+%llu", op == 4 ? "write" : "read",
				 (unsigned long long)off, (unsigned long long)len);
			do_mmap(fd, op == 4, off, len);
			break;
		case 5:	/* truncate */
			off = below(4) ? below(MAXSZ) : (size ? below(size) : 0);
			if (below(2))
				off &= ~(BS - 1);
			snprintf(opdesc, sizeof(opdesc), "truncate %llu", (unsigned long long)off);
			if (ftruncate(fd, off))
				sysfail("ftruncate");
			model_truncate(off);
			len = 0;
			break;
		case 6:	/* fallocate, one of the five modes */
		case 7:
		case 8: {
			int which = below(5);

			pick_range(&off, &len, 262144);
			snprintf(opdesc, sizeof(opdesc), "fallocate %s %llu+%llu", fnames[which],
				 (unsigned long long)off, (unsigned long long)len);
			do_falloc(fd, which, off, len);
			break;
		}
		case 9:	/* O_DIRECT write or read: 512-byte or block aligned */
		case 10: {
			uint64_t align = below(2) ? 512 : BS;

			pick_range(&off, &len, 131072);
			off &= ~(align - 1);
			len = (len + align - 1) & ~(align - 1);
			if (off + len > MAXSZ)
				len = MAXSZ - off;
			snprintf(opdesc, sizeof(opdesc), "O_DIRECT %s %llu+%llu", op == 9 ? "write" : "read",
				 (unsigned long long)off, (unsigned long long)len);
			do_direct(dfd, op == 9, off, len);
			break;
		}
		case 11:	/* unaligned O_DIRECT (ext4 falls back to buffered I/O instead) */
			if (!exact) {
				counts[op]--;
				continue;
			}
			off = below(MAXSZ - 8192);
			snprintf(opdesc, sizeof(opdesc), "unaligned O_DIRECT at %llu", (unsigned long long)off);
			do_direct_unaligned(dfd, off);
			len = 4096;
			break;
		default:	/* fsync */
			snprintf(opdesc, sizeof(opdesc), "fsync");
			if (fsync(fd))
				sysfail("fsync");
			off = below(MAXSZ);
			len = 4096;
			break;
		}
		/* What the operation touched (and a little around), size, seeks. */
		check_range(fd, off > BS ? off - BS : 0, len + 2 * BS);
		check_meta(fd);
		check_seek(fd, off);
		check_seek(fd, below(size + 1));
		if (opno % 64 == 0)
			check_all(fd);
	}
	opno = nops;
	snprintf(opdesc, sizeof(opdesc), "final check");
	check_all(fd);
	if (close(dfd) || fsync(fd) || close(fd))
		sysfail("close");
	save_model(mpath);
	printf("vexfs-fsx: %lu operations matched the model (write %lu, read %lu, mmap read %lu, mmap write %lu, truncate %lu, fallocate %lu, O_DIRECT write %lu, read %lu, unaligned %lu, fsync %lu); size %llu\n",
	       nops, counts[0] + counts[1], counts[2], counts[3], counts[4], counts[5],
	       counts[6] + counts[7] + counts[8], counts[9], counts[10], counts[11], counts[12],
	       (unsigned long long)size);
	return 0;
}

static int check(const char *file, const char *mpath)
{
	int fd = open(file, O_RDONLY);

	snprintf(opdesc, sizeof(opdesc), "check against %s", mpath);
	if (fd < 0)
		sysfail("open");
	load_model(mpath);
	check_all(fd);
	close(fd);
	printf("vexfs-fsx: %s matches the saved model (size %llu)\n", file, (unsigned long long)size);
	return 0;
}

static int falloc_once(const char *file, const char *mode, uint64_t off, uint64_t len)
{
	static const struct { const char *name; int mode; } modes[] = {
		{ "alloc", 0 }, { "keep", FALLOC_FL_KEEP_SIZE },
		{ "punch", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE },
		{ "zero", FALLOC_FL_ZERO_RANGE }, { "zerokeep", FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE },
		{ "collapse", FALLOC_FL_COLLAPSE_RANGE }, { "insert", FALLOC_FL_INSERT_RANGE },
	};
	unsigned int i;
	int fd = open(file, O_RDWR | O_CREAT, 0644);

	if (fd < 0) {
		fprintf(stderr, "vexfs-fsx: %s: %s\n", file, strerror(errno));
		return 2;
	}
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(modes[i].name, mode))
			break;
	if (i == sizeof(modes) / sizeof(modes[0])) {
		fprintf(stderr, "vexfs-fsx: unknown fallocate mode %s\n", mode);
		return 2;
	}
	if (fallocate(fd, modes[i].mode, off, len))
		printf("%s\n", errno == EOPNOTSUPP ? "EOPNOTSUPP" : errno == ENOSPC ? "ENOSPC" :
		       errno == EINVAL ? "EINVAL" : errno == EFBIG ? "EFBIG" : strerror(errno));
	else
		printf("ok\n");
	close(fd);
	return 0;
}

static int fill(const char *file, uint64_t off, uint64_t len, int byte)
{
	int fd = open(file, O_WRONLY | O_CREAT, 0644);
	uint64_t done = 0;

	snprintf(opdesc, sizeof(opdesc), "fill %s", file);
	if (fd < 0)
		sysfail("open");
	memset(buf, byte, 1 << 20);
	while (done < len) {
		uint64_t n = len - done > (1 << 20) ? (1 << 20) : len - done;

		if (pwrite(fd, buf, n, off + done) != (ssize_t)n)
			sysfail("pwrite");
		done += n;
	}
	if (fsync(fd) || close(fd))
		sysfail("fsync");
	return 0;
}

/*
 * A 64 KiB file; its first 32 KiB mapped MAP_SHARED and changed through the
 * mapping; then an O_DIRECT pwrite of 16 KiB from the mapping of [0, 16K)
 * onto [0, 16K) (source pages = destination pages) and one from [16K, 32K)
 * onto [32K, 48K). Both must write everything; the file then reads back,
 * buffered and O_DIRECT, as the model says.
 */
static int alias(const char *file)
{
	const size_t len = 65536, half = 32768, q = 16384;
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644), dfd;
	unsigned char *p;
	ssize_t got;
	size_t i;

	snprintf(opdesc, sizeof(opdesc), "alias %s", file);
	if (fd < 0)
		sysfail("open");
	for (i = 0; i < len; i++)
		model[i] = (unsigned char)(i * 7 + 1);
	if (pwrite(fd, model, len, 0) != (ssize_t)len || fsync(fd))
		sysfail("writing the file");
	p = mmap(NULL, half, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		sysfail("mmap");
	for (i = 0; i < half; i++)
		p[i] = model[i] = (unsigned char)(i * 13 + 5);
	dfd = open(file, O_RDWR | O_DIRECT);
	if (dfd < 0)
		sysfail("open O_DIRECT");
	got = pwrite(dfd, p, q, 0);
	if (got != (ssize_t)q)
		mismatch("O_DIRECT pwrite of 16 KiB from a mapping of the same range returned %lld (errno %llu)",
			 (unsigned long long)got, got < 0 ? (unsigned long long)errno : 0);
	got = pwrite(dfd, p + q, q, half);
	if (got != (ssize_t)q)
		mismatch("O_DIRECT pwrite of 16 KiB from a mapping of [16K, 32K) to 32K returned %lld (errno %llu)",
			 (unsigned long long)got, got < 0 ? (unsigned long long)errno : 0);
	memcpy(model + half, model + q, q);
	if (munmap(p, half))
		sysfail("munmap");
	if (pread(fd, buf, len, 0) != (ssize_t)len)
		sysfail("pread");
	for (i = 0; i < len; i++)
		if (buf[i] != model[i])
			mismatch("buffered read: byte %llu is 0x%02llx, not the model's", i, buf[i]);
	if (pread(dfd, dbuf, len, 0) != (ssize_t)len)
		sysfail("O_DIRECT pread");
	for (i = 0; i < len; i++)
		if (dbuf[i] != model[i])
			mismatch("O_DIRECT read: byte %llu is 0x%02llx, not the model's", i, dbuf[i]);
	close(dfd);
	close(fd);
	printf("alias: ok\n");
	return 0;
}

static int scan(const char *file, int byte)
{
	int fd = open(file, O_RDONLY);
	uint64_t off = 0;
	ssize_t got, i;

	snprintf(opdesc, sizeof(opdesc), "scan %s", file);
	if (fd < 0)
		sysfail("open");
	while ((got = read(fd, buf, 1 << 20)) > 0) {
		for (i = 0; i < got; i++)
			if (buf[i] && buf[i] != byte) {
				printf("STALE %s: byte 0x%02x at offset %llu (only 0 and 0x%02x belong)\n",
				       file, buf[i], (unsigned long long)(off + i), byte);
				return 1;
			}
		off += got;
	}
	if (got < 0)
		sysfail("read");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	model = calloc(1, MAXSZ);
	buf = malloc(MAXSZ);
	if (!model || !buf || posix_memalign((void **)&dbuf, 4096, 262144))
		return 2;
	if (argc >= 6 && !strcmp(argv[1], "run")) {
		exact = argc > 6 && !strcmp(argv[6], "exact");
		return run(argv[2], strtoull(argv[3], NULL, 0), strtoul(argv[4], NULL, 0), argv[5]);
	}
	if (argc >= 4 && !strcmp(argv[1], "check")) {
		exact = argc > 4 && !strcmp(argv[4], "exact");
		return check(argv[2], argv[3]);
	}
	if (argc == 6 && !strcmp(argv[1], "falloc"))
		return falloc_once(argv[2], argv[3], strtoull(argv[4], NULL, 0),
				   strtoull(argv[5], NULL, 0));
	if (argc == 6 && !strcmp(argv[1], "fill"))
		return fill(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
			    (int)strtol(argv[5], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "alias"))
		return alias(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "scan"))
		return scan(argv[2], (int)strtol(argv[3], NULL, 0));
	fprintf(stderr, "usage: see the comment at the top of vexfs-fsx.c\n");
	return 2;
}
