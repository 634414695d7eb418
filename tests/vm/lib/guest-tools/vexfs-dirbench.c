/*
 * vexfs-dirbench: directory scaling checks for the test VM.
 *   vexfs-dirbench create DIR FROM TO   create DIR/n<FROM>..n<TO-1> (empty files)
 *   vexfs-dirbench lookup DIR N COUNT   stat COUNT pseudo-random names among
 *                                       n0..n<N-1> plus COUNT absent names;
 *                                       prints ns per lookup (CLOCK_MONOTONIC)
 *   vexfs-dirbench count DIR            names readdir returns (each once?)
 *   vexfs-dirbench unlink DIR FROM TO
 *   vexfs-dirbench seekcheck DIR        telldir/seekdir continuity: the names read
 *                                       after seekdir(telldir()) are the ones the
 *                                       first pass read after that point
 *   vexfs-dirbench noreplace A B        renameat2(RENAME_NOREPLACE) onto an existing
 *                                       B fails with EEXIST and changes nothing;
 *                                       RENAME_EXCHANGE is refused (EINVAL)
 * Exits 1 on any unexpected result. Built static with musl-gcc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	char path[4096];

	if (argc >= 5 && !strcmp(argv[1], "create")) {
		long from = atol(argv[3]), to = atol(argv[4]);
		double t0 = now();

		for (long i = from; i < to; i++) {
			snprintf(path, sizeof(path), "%s/n%ld", argv[2], i);
			int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0) {
				printf("create %s: %s\n", path, strerror(errno));
				return 1;
			}
			close(fd);
		}
		printf("created %ld files in %.0f ms\n", to - from, (now() - t0) / 1e6);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "unlink")) {
		long from = atol(argv[3]), to = atol(argv[4]);

		for (long i = from; i < to; i++) {
			snprintf(path, sizeof(path), "%s/n%ld", argv[2], i);
			if (unlink(path)) {
				printf("unlink %s: %s\n", path, strerror(errno));
				return 1;
			}
		}
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "lookup")) {
		long n = atol(argv[3]), count = atol(argv[4]);
		unsigned long x = 88172645463325252UL;
		struct stat st;
		double t0 = now();

		for (long i = 0; i < count; i++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			snprintf(path, sizeof(path), "%s/n%lu", argv[2], x % n);
			if (stat(path, &st)) {
				printf("stat %s: %s\n", path, strerror(errno));
				return 1;
			}
			snprintf(path, sizeof(path), "%s/absent%lu", argv[2], x);
			if (!stat(path, &st) || errno != ENOENT) {
				printf("absent name %s found or errno %d\n", path, errno);
				return 1;
			}
		}
		printf("lookup: %.0f ns per lookup at %ld entries\n", (now() - t0) / (2.0 * count), n);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "count")) {
		DIR *d = opendir(argv[2]);
		struct dirent *e;
		long names = 0;

		if (!d)
			return 1;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				names++;
		closedir(d);
		printf("%ld\n", names);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "seekcheck")) {
		static char first[1 << 20], second[1 << 20];
		size_t a = 0, b = 0;
		long half = 0, total = 0, mark;
		DIR *d = opendir(argv[2]);
		struct dirent *e;

		if (!d)
			return 1;
		while ((e = readdir(d)))
			total++;
		rewinddir(d);
		for (half = 0; half < total / 2 && (e = readdir(d)); half++)
			;
		mark = telldir(d);
		while ((e = readdir(d)) && a + 300 < sizeof(first))
			a += sprintf(first + a, "%s\n", e->d_name);
		seekdir(d, mark);
		while ((e = readdir(d)) && b + 300 < sizeof(second))
			b += sprintf(second + b, "%s\n", e->d_name);
		closedir(d);
		if (a != b || memcmp(first, second, a)) {
			printf("seekdir(telldir()) after %ld of %ld entries: %zu vs %zu bytes of names differ\n",
			       half, total, a, b);
			return 1;
		}
		printf("seekdir continuity: %ld of %ld entries resumed identically\n", total - half, total);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "noreplace")) {
		struct stat before, after;

		if (stat(argv[3], &before))
			return 1;
		if (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], 1 /* RENAME_NOREPLACE */) == 0 ||
		    errno != EEXIST) {
			printf("RENAME_NOREPLACE onto an existing name: %s\n", strerror(errno));
			return 1;
		}
		if (stat(argv[3], &after) || after.st_ino != before.st_ino || access(argv[2], F_OK)) {
			printf("a refused RENAME_NOREPLACE changed something\n");
			return 1;
		}
		if (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], 2 /* RENAME_EXCHANGE */) == 0 ||
		    errno != EINVAL) {
			printf("RENAME_EXCHANGE: %s (want EINVAL)\n", strerror(errno));
			return 1;
		}
		printf("renameat2: NOREPLACE refused with EEXIST, EXCHANGE with EINVAL, nothing changed\n");
		return 0;
	}
	return 2;
}
