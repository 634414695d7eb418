/*
 * vexfs-dm: the few device-mapper operations the debug lane needs, for a
 * busybox VM without dmsetup (built static with musl-gcc).
 *
 *   vexfs-dm create NAME TARGET SECTORS PARAMS   create + load one target + resume;
 *                                                prints the dm device node (/dev/dm-N)
 *   vexfs-dm message NAME TEXT                   DM_TARGET_MSG at sector 0 (e.g. "mark x")
 *   vexfs-dm remove NAME                         suspend-free remove
 *
 * Example: vexfs-dm create lw log-writes 131072 "/dev/vda /dev/vdb"
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>

#define BUFSZ 16384
static union {
	struct dm_ioctl io;
	unsigned char b[BUFSZ];
} buf;

static int ctl;

static void init(const char *name)
{
	memset(&buf, 0, sizeof(buf));
	buf.io.version[0] = DM_VERSION_MAJOR;
	buf.io.version[1] = 0;
	buf.io.version[2] = 0;
	buf.io.data_size = BUFSZ;
	buf.io.data_start = sizeof(struct dm_ioctl);
	snprintf(buf.io.name, sizeof(buf.io.name), "%s", name);
}

static void run(unsigned long cmd, const char *what)
{
	if (ioctl(ctl, cmd, &buf) < 0) {
		fprintf(stderr, "vexfs-dm: %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: vexfs-dm create NAME TARGET SECTORS PARAMS | message NAME TEXT | remove NAME\n");
		return 2;
	}
	ctl = open("/dev/mapper/control", O_RDWR);
	if (ctl < 0) {
		perror("vexfs-dm: /dev/mapper/control");
		return 1;
	}
	if (!strcmp(argv[1], "create") && argc == 6) {
		struct dm_target_spec *t;
		size_t plen = strlen(argv[5]) + 1;

		init(argv[2]);
		run(DM_DEV_CREATE, "create");
		init(argv[2]);
		buf.io.target_count = 1;
		t = (struct dm_target_spec *)(buf.b + sizeof(struct dm_ioctl));
		t->sector_start = 0;
		t->length = strtoull(argv[4], NULL, 0);
		snprintf(t->target_type, sizeof(t->target_type), "%s", argv[3]);
		if (sizeof(*t) + plen + 8 > BUFSZ - sizeof(struct dm_ioctl)) {
			fprintf(stderr, "vexfs-dm: parameters too long\n");
			return 1;
		}
		memcpy(t + 1, argv[5], plen);
		t->next = (sizeof(*t) + plen + 7) & ~7u;
		buf.io.data_size = sizeof(struct dm_ioctl) + t->next;
		run(DM_TABLE_LOAD, "table load");
		init(argv[2]);
		run(DM_DEV_SUSPEND, "resume");	/* no DM_SUSPEND_FLAG: resume */
		printf("/dev/dm-%u\n", minor(buf.io.dev));
		return 0;
	}
	if (!strcmp(argv[1], "message") && argc == 4) {
		struct dm_target_msg *m;
		size_t len = strlen(argv[3]) + 1;

		init(argv[2]);
		m = (struct dm_target_msg *)(buf.b + sizeof(struct dm_ioctl));
		m->sector = 0;
		if (sizeof(*m) + len > BUFSZ - sizeof(struct dm_ioctl))
			return 1;
		memcpy(m->message, argv[3], len);
		buf.io.data_size = sizeof(struct dm_ioctl) + sizeof(*m) + len;
		run(DM_TARGET_MSG, "message");
		return 0;
	}
	if (!strcmp(argv[1], "remove") && argc == 3) {
		init(argv[2]);
		run(DM_DEV_REMOVE, "remove");
		return 0;
	}
	fprintf(stderr, "vexfs-dm: bad arguments\n");
	return 2;
}
