/*
 * vexfs-xcopy: copy a regular file with its extended attributes, as
 * `cp --preserve=xattr` does (busybox cp copies no xattrs): the data first,
 * then every xattr of SRC in listxattr() order. For VexFS that is
 * user.vexfs.vector (listed only for one-chunk sets) and then
 * user.vexfs.chunks, so the copy ends with the whole chunk set.
 *   vexfs-xcopy SRC DST
 * Exit 0 on success; on failure prints what failed with the errno, exit 1.
 * Built static with musl-gcc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

static int fail(const char *what, const char *arg)
{
	printf("vexfs-xcopy: %s %s: %s\n", what, arg, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	static char names[65536];
	static unsigned char val[65536];
	char buf[65536];
	ssize_t n, len, vn;
	int in, out;

	if (argc != 3) {
		fprintf(stderr, "usage: vexfs-xcopy SRC DST\n");
		return 2;
	}
	in = open(argv[1], O_RDONLY);
	if (in < 0)
		return fail("open", argv[1]);
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		return fail("create", argv[2]);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			return fail("write", argv[2]);
	if (n < 0)
		return fail("read", argv[1]);
	if (fsync(out))
		return fail("fsync", argv[2]);
	len = flistxattr(in, names, sizeof(names));
	if (len < 0)
		return fail("listxattr", argv[1]);
	for (char *p = names; p < names + len; p += strlen(p) + 1) {
		vn = fgetxattr(in, p, val, sizeof(val));
		if (vn < 0)
			return fail("getxattr", p);
		if (fsetxattr(out, p, val, vn, 0))
			return fail("setxattr", p);
		printf("%s %s %zd bytes\n", argv[2], p, vn);
	}
	if (close(out))
		return fail("close", argv[2]);
	close(in);
	return 0;
}
