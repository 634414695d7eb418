/*
 * replay-log: read a dm-log-writes log (drivers/md/dm-log-writes.c,
 * Documentation/admin-guide/device-mapper/log-writes.rst) and replay it.
 * A small replacement for xfstests' replay-log, which Debian does not ship.
 * Built static with musl-gcc for the VM; builds on the host as well.
 *
 *   replay-log LOG list
 *       one line per entry: INDEX FLAGS SECTOR NR_SECTORS MARK
 *       FLAGS: F flush, U FUA, D discard, M mark, m metadata, - none;
 *       SECTOR/NR_SECTORS in the log's sector size; MARK the mark text or "-".
 *   replay-log LOG replay DEV FROM TO
 *       write the data of entries FROM..TO-1 to DEV at their sectors
 *       (discards write zeros, as a device that zeroes discarded blocks).
 *
 * Log layout: the super (magic, version, nr_entries, sectorsize) at byte 0;
 * entries start at byte `sectorsize`; each is one sectorsize block holding
 * struct log_write_entry (+ mark text), then nr_sectors * sectorsize bytes of
 * data (none for a discard).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/fs.h>

#define WRITE_LOG_MAGIC 0x6a736677736872ULL
#define WRITE_LOG_VERSION 1ULL
#define LOG_FLUSH_FLAG (1 << 0)
#define LOG_FUA_FLAG (1 << 1)
#define LOG_DISCARD_FLAG (1 << 2)
#define LOG_MARK_FLAG (1 << 3)
#define LOG_METADATA_FLAG (1 << 4)

struct log_write_super {
	uint64_t magic, version, nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct log_write_entry {
	uint64_t sector, nr_sectors, flags, data_len;
};

static int logfd;
static uint64_t logsize;
static uint32_t ssize;

static void die(const char *m)
{
	fprintf(stderr, "replay-log: %s\n", m);
	exit(1);
}

static uint64_t dev_size(int fd)
{
	struct stat st;
	uint64_t sz = 0;

	if (fstat(fd, &st))
		die("fstat");
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &sz))
			die("BLKGETSIZE64");
		return sz;
	}
	return (uint64_t)st.st_size;
}

static void rd(void *p, size_t n, uint64_t off)
{
	ssize_t r;

	if (off > logsize || n > logsize - off)
		die("entry runs past the end of the log");
	r = pread(logfd, p, n, (off_t)off);
	if (r != (ssize_t)n)
		die("short read of the log");
}

int main(int argc, char **argv)
{
	struct log_write_super sup;
	uint64_t pos, i, from = 0, to = 0;
	int list, devfd = -1;
	unsigned char *blk, *data = NULL;
	size_t datacap = 0;
	uint64_t devsize = 0;

	if (argc == 3 && !strcmp(argv[2], "list")) {
		list = 1;
	} else if (argc == 6 && !strcmp(argv[2], "replay")) {
		list = 0;
		from = strtoull(argv[4], NULL, 0);
		to = strtoull(argv[5], NULL, 0);
	} else {
		fprintf(stderr, "usage: replay-log LOG list | replay-log LOG replay DEV FROM TO\n");
		return 2;
	}
	logfd = open(argv[1], O_RDONLY);
	if (logfd < 0)
		die("cannot open the log");
	logsize = dev_size(logfd);
	if (logsize < sizeof(sup))
		die("log too small");
	rd(&sup, sizeof(sup), 0);
	if (sup.magic != WRITE_LOG_MAGIC)
		die("bad log magic (not a dm-log-writes log, or never finalised)");
	if (sup.version != WRITE_LOG_VERSION)
		die("unknown log version");
	ssize = sup.sectorsize;
	if (ssize < 512 || ssize > 65536 || (ssize & (ssize - 1)))
		die("bad sector size in the log super");
	if (sup.nr_entries > logsize / ssize)
		die("entry count larger than the log");
	if (!list) {
		devfd = open(argv[3], O_WRONLY);
		if (devfd < 0)
			die("cannot open the replay device");
		devsize = dev_size(devfd);
		if (to > sup.nr_entries || from > to)
			die("FROM/TO outside the log");
	}
	blk = malloc(ssize);
	if (!blk)
		die("out of memory");
	pos = ssize;
	for (i = 0; i < sup.nr_entries && (list || i < to); i++) {
		struct log_write_entry e;
		uint64_t bytes;
		int discard;

		rd(blk, ssize, pos);
		memcpy(&e, blk, sizeof(e));
		discard = !!(e.flags & LOG_DISCARD_FLAG);
		if (e.data_len > ssize - sizeof(e))
			die("mark text longer than its sector");
		if (e.nr_sectors > logsize / ssize)
			die("entry longer than the log");
		bytes = e.nr_sectors * ssize;
		if (list) {
			char flags[8], *f = flags;

			if (e.flags & LOG_FLUSH_FLAG) *f++ = 'F';
			if (e.flags & LOG_FUA_FLAG) *f++ = 'U';
			if (discard) *f++ = 'D';
			if (e.flags & LOG_MARK_FLAG) *f++ = 'M';
			if (e.flags & LOG_METADATA_FLAG) *f++ = 'm';
			if (f == flags) *f++ = '-';
			*f = 0;
			printf("%llu %s %llu %llu ", (unsigned long long)i, flags,
			       (unsigned long long)e.sector, (unsigned long long)e.nr_sectors);
			if (e.data_len)
				printf("%.*s\n", (int)e.data_len, (char *)blk + sizeof(e));
			else
				printf("-\n");
		} else if (i >= from && e.nr_sectors) {
			uint64_t off = e.sector * ssize;

			if (off > devsize || bytes > devsize - off)
				die("entry writes past the end of the replay device");
			if (bytes > datacap) {
				free(data);
				data = malloc(bytes);
				if (!data)
					die("out of memory");
				datacap = bytes;
			}
			if (discard)
				memset(data, 0, bytes);
			else
				rd(data, bytes, pos + ssize);
			if (pwrite(devfd, data, bytes, (off_t)off) != (ssize_t)bytes)
				die("short write to the replay device");
		}
		pos += ssize + (discard ? 0 : bytes);
	}
	if (devfd >= 0 && fsync(devfd))
		die("fsync of the replay device");
	return 0;
}
