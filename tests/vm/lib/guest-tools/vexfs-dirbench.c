/*
 * vexfs-dirbench: directory scaling checks for the test VM.
 *   vexfs-dirbench create DIR FROM TO   create DIR/n<FROM>..n<TO-1> (empty files)
 *   vexfs-dirbench lookup DIR N COUNT   stat COUNT pseudo-random names among
 *                                       n0..n<N-1> plus COUNT absent names;
 *                                       prints ns per lookup (CLOCK_MONOTONIC)
 *   vexfs-dirbench count DIR            names readdir returns (each once?)
 *   vexfs-dirbench unlink DIR FROM TO
 * Exits 1 on any unexpected result. Built static with musl-gcc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	return 2;
}
