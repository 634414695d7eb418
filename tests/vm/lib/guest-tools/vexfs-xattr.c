/*
 * vexfs-xattr: set, get and remove extended attributes from the test VM
 * (busybox has no setfattr/getfattr). Built static with musl-gcc.
 *   vexfs-xattr set FILE NAME CSV     value = the floats as little-endian f32
 *   vexfs-xattr setraw FILE NAME HEX  value = the given bytes
 *   vexfs-xattr get FILE NAME         prints the floats as CSV
 *   vexfs-xattr rm FILE NAME
 *   vexfs-xattr list FILE
 * Exit 0 on success; on failure prints "ERRNO <name>" and exits 1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

static int fail(const char *what)
{
	printf("ERRNO %s (%s)\n", strerror(errno), what);
	return 1;
}

int main(int argc, char **argv)
{
	static unsigned char buf[65536];
	if (argc < 3)
		return 2;
	if (!strcmp(argv[1], "set") && argc == 5) {
		size_t n = 0;
		for (char *tok = strtok(argv[4], ","); tok && n + 4 <= sizeof(buf); tok = strtok(NULL, ",")) {
			float f = strtof(tok, NULL);
			memcpy(buf + n, &f, 4);	/* x86 is little-endian */
			n += 4;
		}
		return setxattr(argv[2], argv[3], buf, n, 0) ? fail("setxattr") : 0;
	}
	if (!strcmp(argv[1], "setraw") && argc == 5) {
		size_t n = strlen(argv[4]) / 2;
		for (size_t i = 0; i < n && i < sizeof(buf); i++)
			sscanf(argv[4] + 2 * i, "%2hhx", &buf[i]);
		return setxattr(argv[2], argv[3], buf, n, 0) ? fail("setxattr") : 0;
	}
	if (!strcmp(argv[1], "get") && argc == 4) {
		ssize_t n = getxattr(argv[2], argv[3], buf, sizeof(buf));
		if (n < 0)
			return fail("getxattr");
		for (ssize_t i = 0; i + 4 <= n; i += 4) {
			float f;
			memcpy(&f, buf + i, 4);
			printf(i ? ",%g" : "%g", f);
		}
		printf("\n");
		return 0;
	}
	if (!strcmp(argv[1], "rm") && argc == 4)
		return removexattr(argv[2], argv[3]) ? fail("removexattr") : 0;
	if (!strcmp(argv[1], "list") && argc == 3) {
		ssize_t n = listxattr(argv[2], (char *)buf, sizeof(buf));
		if (n < 0)
			return fail("listxattr");
		for (ssize_t i = 0; i < n; i += strlen((char *)buf + i) + 1)
			printf("%s\n", buf + i);
		return 0;
	}
	return 2;
}
