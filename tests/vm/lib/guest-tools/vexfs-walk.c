/*
 * vexfs-walk ROOT: visit every object under ROOT and report every error the
 * kernel returns, which busybox find/ls swallow (a failing readdir just ends
 * the listing there). For each entry: lstat; directories are opened and read
 * with readdir checking errno, then recursed into; regular files are read to
 * the end; symlinks are read with readlink and followed with stat.
 * Prints "ERR <path>: <op>: <strerror>" per error and a final line
 * "walk: N paths, E errors, C cycles" (a directory reached twice is not
 * entered again: "CYCLE <path>"); exits 0 (errors are the point, not a failure)
 * unless ROOT itself cannot be opened (2). Built static.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long paths, errors, cycles;
static ino_t seen[65536];
static int nseen;
static char buf[1 << 16];

/* musl's strerror has no text for some errnos the kernel uses (EUCLEAN). */
static const char *ename(int e)
{
	switch (e) {
	case EUCLEAN: return "EUCLEAN";
	case EIO: return "EIO";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	default: return strerror(e);
	}
}

static void err(const char *path, const char *op)
{
	int e = errno;

	printf("ERR %s: %s: %s (errno %d)\n", path, op, ename(e), e);
	errors++;
}

static void walk(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char *child;
	ssize_t n;
	int fd;

	paths++;
	if (lstat(path, &st)) {
		err(path, "lstat");
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, buf, sizeof(buf));
		if (n < 0)
			err(path, "readlink");
		if (stat(path, &st) && errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
			err(path, "stat (follow)");
		return;
	}
	if (S_ISREG(st.st_mode)) {
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			err(path, "open");
			return;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			err(path, "read");
		close(fd);
		return;
	}
	if (!S_ISDIR(st.st_mode))
		return;
	for (int i = 0; i < nseen; i++) {
		if (seen[i] == st.st_ino) {
			/* A directory reached twice: the tree has a cycle. */
			printf("CYCLE %s: directory inode %lu seen before\n", path,
			       (unsigned long)st.st_ino);
			cycles++;
			return;
		}
	}
	if (nseen < 65536)
		seen[nseen++] = st.st_ino;
	d = opendir(path);
	if (!d) {
		err(path, "opendir");
		return;
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno)
				err(path, "readdir");
			break;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (asprintf(&child, "%s/%s", path, e->d_name) < 0)
			exit(3);
		walk(child);
		free(child);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	struct stat st;

	if (argc != 2) {
		fprintf(stderr, "usage: vexfs-walk ROOT\n");
		return 2;
	}
	if (stat(argv[1], &st)) {
		perror(argv[1]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	walk(argv[1]);
	printf("walk: %ld paths, %ld errors, %ld cycles\n", paths, errors, cycles);
	return 0;
}
