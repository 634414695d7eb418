/*
 * vmbench: the timed parts of the in-VM benchmarks (bench/vm/ scripts), static
 * for the guest. Times are CLOCK_MONOTONIC of the guest: under QEMU -icount
 * they count emulated instructions (1 ns each), a stable cost measure -- except
 * while the vCPU idles (waiting for the virtual disk, sleeping): with
 * -icount sleep=off guest time then leaps to the next timer deadline, so idle
 * time depends on host I/O timing and timers, not on instructions. Every timed
 * phase therefore also prints the guest's idle + iowait time over the phase
 * (from /proc/stat, in clock ticks of 1/sysconf(_SC_CLK_TCK) s, 10 ms on this
 * kernel): elapsed - idle is the time the vCPU executed instructions.
 *
 *   vmbench seqwrite FILE MIB      write MIB MiB in 1 MiB write()s, fsync, close
 *   vmbench seqread FILE           read FILE to the end in 1 MiB read()s
 *   vmbench dioseqwrite FILE MIB   preallocate MIB MiB (fallocate, not timed), then
 *                                  write them with O_DIRECT in 1 MiB write()s, fsync
 *   vmbench dioseqread FILE        read FILE to the end with O_DIRECT, 1 MiB read()s
 *   vmbench files DIR N            create N empty files + syncfs, stat each,
 *                                  unlink each + syncfs
 *   vmbench search DIR Q.fvecs K EF ROUNDS
 *                                  VEXFS_IOC_SEARCH (kNN) for every query, ROUNDS times
 *   vmbench time CMD [ARGS...]     run CMD, report its elapsed time
 *
 * Output: "<phase> <nanoseconds> ns idle <nanoseconds> ns" lines (search: "search",
 *   "qps" and "search-idle" lines).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vexfs_ioctl.h"

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int die(const char *what)
{
	fprintf(stderr, "vmbench: %s: %s (errno %d)\n", what, strerror(errno), errno);
	exit(2);
}

/* idle + iowait of all CPUs since boot, ns (the "cpu" line of /proc/stat) */
static uint64_t idle(void)
{
	unsigned long long user, nice, sys, idl, iow;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");

	if (!f || hz <= 0)
		die("/proc/stat");
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idl, &iow) != 5)
		die("/proc/stat: no cpu line");
	fclose(f);
	return (idl + iow) * (1000000000ull / (unsigned long long)hz);
}

#define CHUNK (1u << 20)

static int seqwrite(const char *file, long mib)
{
	char *buf = malloc(CHUNK);
	uint64_t t0, i0;
	long i;
	int fd;

	if (!buf)
		die("malloc");
	for (i = 0; i < (long)CHUNK; i++)
		buf[i] = (char)(i * 7 + 1);
	i0 = idle();
	t0 = now();
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(file);
	for (i = 0; i < mib; i++) {
		buf[0] = (char)i;
		if (write(fd, buf, CHUNK) != CHUNK)
			die("write");
	}
	if (fsync(fd))
		die("fsync");
	if (close(fd))
		die("close");
	t0 = now() - t0;
	printf("seqwrite %llu ns idle %llu ns\n", (unsigned long long)t0,
	       (unsigned long long)(idle() - i0));
	return 0;
}

static int seqread(const char *file)
{
	char *buf = malloc(CHUNK);
	uint64_t t0, i0, total = 0;
	ssize_t n;
	int fd;

	if (!buf)
		die("malloc");
	i0 = idle();
	t0 = now();
	fd = open(file, O_RDONLY);
	if (fd < 0)
		die(file);
	while ((n = read(fd, buf, CHUNK)) > 0)
		total += n;
	if (n < 0)
		die("read");
	close(fd);
	t0 = now() - t0;
	printf("seqread %llu ns idle %llu ns (%llu bytes)\n", (unsigned long long)t0,
	       (unsigned long long)(idle() - i0), (unsigned long long)total);
	return 0;
}

/*
 * O_DIRECT sequential write into a preallocated file (how databases and VM
 * images use it: the blocks exist, the writes bypass the page cache).
 */
static int dioseqwrite(const char *file, long mib)
{
	char *buf;
	uint64_t t0, i0;
	long i;
	int fd;

	if (posix_memalign((void **)&buf, 4096, CHUNK))
		die("posix_memalign");
	for (i = 0; i < (long)CHUNK; i++)
		buf[i] = (char)(i * 7 + 1);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(file);
	if (fallocate(fd, 0, 0, (off_t)mib * CHUNK) || fsync(fd) || close(fd))
		die("fallocate");
	i0 = idle();
	t0 = now();
	fd = open(file, O_WRONLY | O_DIRECT);
	if (fd < 0)
		die(file);
	for (i = 0; i < mib; i++) {
		buf[0] = (char)i;
		if (write(fd, buf, CHUNK) != CHUNK)
			die("O_DIRECT write");
	}
	if (fsync(fd))
		die("fsync");
	if (close(fd))
		die("close");
	t0 = now() - t0;
	printf("dioseqwrite %llu ns idle %llu ns\n", (unsigned long long)t0,
	       (unsigned long long)(idle() - i0));
	return 0;
}

static int dioseqread(const char *file)
{
	char *buf;
	uint64_t t0, i0, total = 0;
	ssize_t n;
	int fd;

	if (posix_memalign((void **)&buf, 4096, CHUNK))
		die("posix_memalign");
	i0 = idle();
	t0 = now();
	fd = open(file, O_RDONLY | O_DIRECT);
	if (fd < 0)
		die(file);
	while ((n = read(fd, buf, CHUNK)) > 0)
		total += n;
	if (n < 0)
		die("O_DIRECT read");
	close(fd);
	t0 = now() - t0;
	printf("dioseqread %llu ns idle %llu ns (%llu bytes)\n", (unsigned long long)t0,
	       (unsigned long long)(idle() - i0), (unsigned long long)total);
	return 0;
}

/* syncfs() of the filesystem holding dir. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || syncfs(fd))
		die(dir);
	close(fd);
}

static int files(const char *dir, long n)
{
	char path[4096];
	struct stat st;
	uint64_t t0, t1, t2, t3, i0, i1, i2, i3;
	long i;
	int fd;

	i0 = idle();
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/file-%06ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			die(path);
		close(fd);
	}
	/* Deferred metadata writes count: a filesystem that merely postpones
	 * work must not look faster for it. */
	sync_dir(dir);
	t1 = now();
	i1 = idle();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/file-%06ld", dir, i);
		if (stat(path, &st))
			die(path);
	}
	t2 = now();
	i2 = idle();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/file-%06ld", dir, i);
		if (unlink(path))
			die(path);
	}
	sync_dir(dir);
	t3 = now();
	i3 = idle();
	printf("create %llu ns idle %llu ns\nstat %llu ns idle %llu ns\n"
	       "unlink %llu ns idle %llu ns\nfiles %llu ns idle %llu ns\n",
	       (unsigned long long)(t1 - t0), (unsigned long long)(i1 - i0),
	       (unsigned long long)(t2 - t1), (unsigned long long)(i2 - i1),
	       (unsigned long long)(t3 - t2), (unsigned long long)(i3 - i2),
	       (unsigned long long)(t3 - t0), (unsigned long long)(i3 - i0));
	return 0;
}

static int search(const char *dir, const char *qfile, unsigned k, unsigned ef, long rounds)
{
	struct vexfs_ioc_search s;
	struct vexfs_ioc_result *res = calloc(k, sizeof(*res));
	float *q = NULL;
	uint32_t dim = 0, d;
	long nq = 0, r, i;
	uint64_t t0, dt, i0;
	FILE *f = fopen(qfile, "rb");
	int fd = open(dir, O_RDONLY);

	if (!f || fd < 0 || !res)
		die("open");
	while (fread(&d, 4, 1, f) == 1) {
		if (dim && d != dim)
			die("fvecs: mixed dimensions");
		dim = d;
		q = realloc(q, (nq + 1) * dim * sizeof(float));
		if (!q || fread(q + nq * dim, sizeof(float), dim, f) != dim)
			die("fvecs: short record");
		nq++;
	}
	fclose(f);
	if (!nq)
		die("no queries");
	i0 = idle();
	t0 = now();
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < nq; i++) {
			memset(&s, 0, sizeof(s));
			s.size = sizeof(s);
			s.kind = VEXFS_SEARCH_KNN;
			s.dim = dim;
			s.k = k;
			s.ef = ef;
			s.query = (uint64_t)(uintptr_t)(q + i * dim);
			s.results = (uint64_t)(uintptr_t)res;
			if (ioctl(fd, VEXFS_IOC_SEARCH, &s))
				die("VEXFS_IOC_SEARCH");
			if (s.count != k)
				fprintf(stderr, "vmbench: query %ld: %u results\n", i, s.count);
		}
	}
	dt = now() - t0;
	printf("search %llu ns for %ld queries (k %u, ef %u)\nqps %.1f\nsearch-idle %llu ns\n",
	       (unsigned long long)dt, nq * rounds, k, ef, (double)(nq * rounds) * 1e9 / (double)dt,
	       (unsigned long long)(idle() - i0));
	return 0;
}

static int timecmd(char **argv)
{
	uint64_t i0 = idle(), t0 = now();
	int status;
	pid_t p = fork();

	if (p < 0)
		die("fork");
	if (!p) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(p, &status, 0) < 0)
		die("waitpid");
	t0 = now() - t0;
	printf("time %llu ns idle %llu ns\n", (unsigned long long)t0, (unsigned long long)(idle() - i0));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "seqwrite"))
		return seqwrite(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "seqread"))
		return seqread(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "dioseqwrite"))
		return dioseqwrite(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "dioseqread"))
		return dioseqread(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "files"))
		return files(argv[2], atol(argv[3]));
	if (argc == 7 && !strcmp(argv[1], "search"))
		return search(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atol(argv[6]));
	if (argc >= 3 && !strcmp(argv[1], "time"))
		return timecmd(argv + 2);
	fprintf(stderr, "usage: vmbench seqwrite FILE MIB | seqread FILE | dioseqwrite FILE MIB | dioseqread FILE | files DIR N | "
			"search DIR Q.fvecs K EF ROUNDS | time CMD [ARGS...]\n");
	return 2;
}
