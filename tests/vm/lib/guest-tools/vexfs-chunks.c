/*
 * vexfs-chunks: drive VEXFS_IOC_SET_CHUNKS / GET_CHUNKS and the
 * user.vexfs.chunks attribute from the test VM. Built static with musl-gcc.
 * Sets are generated from (SEED, N): chunk i has offset SEED, length
 * N * 1000000 + i and vector element j = ((SEED * 131 + i * 17 + j * 7) % 1000) / 8
 * (exact in float32), so any set read back names the one (SEED, N) it came
 * from, and a mix of two sets cannot pass for either.
 *   vexfs-chunks set FILE SEED N          replace the set (N = 0 drops it)
 *   vexfs-chunks verify FILE [PAGE]       GET the set PAGE chunks per call (default 100);
 *                                         print "SEED N stale=S dv=V" if it is one
 *                                         generated set, else "MIX ..." and exit 1
 *   vexfs-chunks xverify FILE             the same through getxattr user.vexfs.chunks
 *   vexfs-chunks xset FILE SEED N         the same set through setxattr user.vexfs.chunks
 *   vexfs-chunks xcopy SRC DST            user.vexfs.chunks of SRC set on DST
 *   vexfs-chunks bad FILE DIR             every bad input gets its errno and changes
 *                                         nothing (FILE must carry a set of >= 2 chunks)
 *   vexfs-chunks falloc FILE MODE OFF LEN fallocate(2), MODE keep|grow|punch|zero
 * Exit 0 on success; on an ioctl failure prints "ERRNO <name>" and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "vexfs_ioctl.h"

static uint32_t dim;

static uint64_t ptr(const void *p) { return (uint64_t)(uintptr_t)p; }

static float elem(uint32_t seed, uint32_t i, uint32_t j)
{
	return (float)((seed * 131u + i * 17u + j * 7u) % 1000u) / 8.0f;
}

static int fs_dim(int fd)
{
	struct vexfs_ioc_status st = { .size = sizeof(st) };

	if (ioctl(fd, VEXFS_IOC_GET_STATUS, &st)) {
		printf("ERRNO %s (status)\n", strerror(errno));
		return -1;
	}
	dim = st.dim;
	return 0;
}

static void gen(uint32_t seed, uint32_t n, struct vexfs_ioc_chunk *ch, float *v)
{
	for (uint32_t i = 0; i < n; i++) {
		ch[i].offset = seed;
		ch[i].length = (uint64_t)n * 1000000u + i;
		for (uint32_t j = 0; j < dim; j++)
			v[(size_t)i * dim + j] = elem(seed, i, j);
	}
}

static long set_chunks(int fd, uint32_t n, const struct vexfs_ioc_chunk *ch, const float *v)
{
	struct vexfs_ioc_chunks a = {
		.size = sizeof(a), .dim = dim, .count = n, .chunks = ptr(ch), .vectors = ptr(v),
	};

	return ioctl(fd, VEXFS_IOC_SET_CHUNKS, &a);
}

/* The whole set, page chunks per call: 0, or errno. */
static int get_all(int fd, uint32_t page, struct vexfs_ioc_chunk **chp, float **vp, uint32_t *total,
		   uint32_t *flags, uint64_t *dv)
{
	struct vexfs_ioc_chunk *ch = calloc(VEXFS_IOC_MAX_CHUNKS, sizeof(*ch));
	float *v = calloc((size_t)VEXFS_IOC_MAX_CHUNKS * dim, sizeof(float));
	uint32_t first = 0;

	if (!ch || !v)
		return ENOMEM;
	do {
		struct vexfs_ioc_chunks a = {
			.size = sizeof(a), .dim = dim, .count = page, .first = first,
			.chunks = ptr(ch + first), .vectors = ptr(v + (size_t)first * dim),
		};

		if (ioctl(fd, VEXFS_IOC_GET_CHUNKS, &a)) {
			free(ch);
			free(v);
			return errno;
		}
		if (a.dim != dim || a.count > page || a.total > VEXFS_IOC_MAX_CHUNKS ||
		    (first && (a.total != *total || a.data_version != *dv))) {
			printf("MIX: GET_CHUNKS returned dim %u count %u total %u at first %u\n", a.dim,
			       a.count, a.total, first);
			exit(1);
		}
		*total = a.total;
		*flags = a.flags;
		*dv = a.data_version;
		first += a.count;
		if (!a.count)
			break;
	} while (first < *total);
	if (first != *total) {
		printf("MIX: read %u of %u chunks\n", first, *total);
		exit(1);
	}
	*chp = ch;
	*vp = v;
	return 0;
}

/* Is (ch, v)[0..n) one generated set? Prints its seed, or why not. */
static int check_set(const struct vexfs_ioc_chunk *ch, const float *v, uint32_t n, const char *tail)
{
	uint32_t seed;

	if (!n) {
		printf("MIX: empty set\n");
		return 1;
	}
	seed = (uint32_t)ch[0].offset;
	for (uint32_t i = 0; i < n; i++) {
		if (ch[i].offset != seed || ch[i].length != (uint64_t)n * 1000000u + i) {
			printf("MIX: chunk %u is (%llu, %llu), set of seed %u has %u chunks\n", i,
			       (unsigned long long)ch[i].offset, (unsigned long long)ch[i].length, seed, n);
			return 1;
		}
		for (uint32_t j = 0; j < dim; j++) {
			if (memcmp(&v[(size_t)i * dim + j], &(float){ elem(seed, i, j) }, 4)) {
				printf("MIX: chunk %u element %u is %g, seed %u wants %g\n", i, j,
				       v[(size_t)i * dim + j], seed, elem(seed, i, j));
				return 1;
			}
		}
	}
	printf("%u %u%s\n", seed, n, tail);
	return 0;
}

static int cmd_verify(int fd, uint32_t page)
{
	struct vexfs_ioc_chunk *ch;
	uint32_t total = 0, flags = 0;
	uint64_t dv = 0;
	char tail[64];
	float *v;
	int err = get_all(fd, page, &ch, &v, &total, &flags, &dv);

	if (err) {
		printf("ERRNO %s (get chunks)\n", strerror(err));
		return 1;
	}
	snprintf(tail, sizeof(tail), " stale=%u dv=%llu", flags & VEXFS_CHUNKS_F_STALE ? 1 : 0,
		 (unsigned long long)dv);
	return check_set(ch, v, total, tail);
}

/* user.vexfs.chunks of (seed, n) into a new buffer; *len its size. */
static unsigned char *xattr_value(uint32_t seed, uint32_t n, size_t *len)
{
	struct vexfs_ioc_chunk *ch = calloc(n + 1, sizeof(*ch));
	float *v = calloc((size_t)(n + 1) * dim, sizeof(float));
	size_t rec = 16 + 4 * (size_t)dim;
	unsigned char *buf;
	struct vexfs_chunks_xattr h = {
		.magic = VEXFS_CHUNKS_XATTR_MAGIC, .version = VEXFS_CHUNKS_XATTR_VERSION,
		.dim = dim, .count = n,
	};

	*len = sizeof(h) + n * rec;
	buf = malloc(*len);
	if (!ch || !v || !buf)
		exit(2);
	gen(seed, n, ch, v);
	memcpy(buf, &h, sizeof(h));	/* x86 is little-endian */
	for (uint32_t i = 0; i < n; i++) {
		memcpy(buf + sizeof(h) + i * rec, &ch[i], 16);
		memcpy(buf + sizeof(h) + i * rec + 16, v + (size_t)i * dim, 4 * dim);
	}
	free(ch);
	free(v);
	return buf;
}

static int cmd_xverify(const char *path)
{
	static unsigned char buf[65536];
	struct vexfs_chunks_xattr h;
	struct vexfs_ioc_chunk *ch;
	size_t rec = 16 + 4 * (size_t)dim;
	ssize_t n = getxattr(path, VEXFS_XATTR_CHUNKS, buf, sizeof(buf));
	float *v;

	if (n < 0) {
		printf("ERRNO %s (getxattr)\n", strerror(errno));
		return 1;
	}
	memcpy(&h, buf, sizeof(h));
	if (n < (ssize_t)sizeof(h) || h.magic != VEXFS_CHUNKS_XATTR_MAGIC ||
	    h.version != VEXFS_CHUNKS_XATTR_VERSION || h.dim != dim ||
	    (size_t)n != sizeof(h) + h.count * rec) {
		printf("MIX: attribute of %zd bytes, header magic %x version %u dim %u count %u\n", n,
		       h.magic, h.version, h.dim, h.count);
		return 1;
	}
	ch = calloc(h.count + 1, sizeof(*ch));
	v = calloc((size_t)(h.count + 1) * dim, sizeof(float));
	if (!ch || !v)
		return 2;
	for (uint32_t i = 0; i < h.count; i++) {
		memcpy(&ch[i], buf + sizeof(h) + i * rec, 16);
		memcpy(v + (size_t)i * dim, buf + sizeof(h) + i * rec + 16, 4 * dim);
	}
	return check_set(ch, v, h.count, "");
}

static int failures;

static void expect(const char *name, long rc, int want)
{
	int got = rc < 0 ? errno : 0;

	if ((rc >= 0 && want == 0) || (rc < 0 && got == want)) {
		printf("ok   %-52s -> %s\n", name, want ? strerror(want) : "0");
		return;
	}
	printf("FAIL %-52s -> %s (rc %ld), want %s\n", name, rc < 0 ? strerror(got) : "success",
	       rc, want ? strerror(want) : "success");
	failures++;
}

/* The set and the volume's vector generation are as they were. */
static void unchanged(int fd, const char *after, const struct vexfs_ioc_chunk *ch0,
		      const float *v0, uint32_t n0, uint64_t gen0)
{
	struct vexfs_ioc_status st = { .size = sizeof(st) };
	struct vexfs_ioc_chunk *ch;
	uint32_t total = 0, flags = 0;
	uint64_t dv = 0;
	float *v;

	if (get_all(fd, 1000, &ch, &v, &total, &flags, &dv) || total != n0 ||
	    memcmp(ch, ch0, n0 * sizeof(*ch)) || memcmp(v, v0, (size_t)n0 * dim * 4)) {
		printf("FAIL the set changed after: %s\n", after);
		failures++;
		return;
	}
	if (ioctl(fd, VEXFS_IOC_GET_STATUS, &st) || st.vector_generation != gen0) {
		printf("FAIL vector generation moved after: %s\n", after);
		failures++;
	}
	free(ch);
	free(v);
}

static int cmd_bad(int fd, const char *file, const char *dir)
{
	struct vexfs_ioc_status st = { .size = sizeof(st) };
	struct vexfs_ioc_chunk *ch0, *ch;
	uint32_t n0 = 0, flags = 0, n = 40;
	uint64_t dv = 0;
	float *v0, *v;
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *guard, *xv;
	size_t xlen;
	int dfd = open(dir, O_RDONLY);

	if (dfd < 0 || get_all(fd, 1000, &ch0, &v0, &n0, &flags, &dv) || n0 < 2 ||
	    ioctl(fd, VEXFS_IOC_GET_STATUS, &st)) {
		printf("FAIL setup: FILE needs a set of >= 2 chunks, DIR a directory\n");
		return 1;
	}
	ch = calloc(VEXFS_IOC_MAX_CHUNKS + 2, sizeof(*ch));
	v = calloc((size_t)(VEXFS_IOC_MAX_CHUNKS + 2) * (VEXFS_IOC_MAX_DIM + 1), sizeof(float));
	if (!ch || !v)
		return 2;
	gen(777, VEXFS_IOC_MAX_CHUNKS + 1, ch, v);

	/* A valid SET of n chunks (seed 777), with one field made bad by `bad`. */
#define BAD(name, bad, want) do { \
		struct vexfs_ioc_chunks a = { .size = sizeof(a), .dim = dim, .count = n, \
					      .chunks = ptr(ch), .vectors = ptr(v) }; \
		bad; \
		expect(name, ioctl(fd, VEXFS_IOC_SET_CHUNKS, &a), want); \
		unchanged(fd, name, ch0, v0, n0, st.vector_generation); } while (0)

	BAD("SET count 16385", { a.count = VEXFS_IOC_MAX_CHUNKS + 1; }, E2BIG);
	BAD("SET dim + 1", { a.dim = dim + 1; }, EINVAL);
	BAD("SET dim 4097", { a.dim = VEXFS_IOC_MAX_DIM + 1; }, E2BIG);
	BAD("SET flags 1", { a.flags = 1; }, EINVAL);
	BAD("SET first 1", { a.first = 1; }, EINVAL);
	BAD("SET size - 1", { a.size = sizeof(struct vexfs_ioc_chunks) - 1; }, EINVAL);
	BAD("SET size 8192", { a.size = 8192; }, EINVAL);
	BAD("SET chunks NULL", { a.chunks = 0; }, EFAULT);
	BAD("SET vectors NULL", { a.vectors = 0; }, EFAULT);
	v[(size_t)(n - 1) * dim] = NAN;
	BAD("SET NaN in the last chunk", (void)0, EINVAL);
	v[(size_t)(n - 1) * dim] = INFINITY;
	BAD("SET Inf in the last chunk", (void)0, EINVAL);
	v[(size_t)(n - 1) * dim] = -0x1p56f;
	BAD("SET |x| = 2^56 in the last chunk", (void)0, EINVAL);
	v[(size_t)(n - 1) * dim] = 1.0f;
	ch[n - 1].offset = UINT64_MAX;
	ch[n - 1].length = 2;
	BAD("SET offset + length overflows", (void)0, EINVAL);
	ch[n - 1].offset = 777;
	ch[n - 1].length = (uint64_t)n * 1000000u + n - 1;
	/* Vectors that end in an unmapped page after the first chunks (partly written). */
	guard = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || mprotect(guard + pg, pg, PROT_NONE))
		return 2;
	memcpy(guard, v, pg);
	BAD("SET vectors run into an unmapped page", { a.count = pg / (4 * dim) + 3; a.vectors = ptr(guard); }, EFAULT);
	memcpy(guard, ch, pg);
	BAD("SET chunks run into an unmapped page", { a.count = pg / 16 + 3; a.chunks = ptr(guard); }, EFAULT);
	/* A larger struct with a nonzero byte the kernel does not know. */
	{
		unsigned char big[sizeof(struct vexfs_ioc_chunks) + 8] = { 0 };
		struct vexfs_ioc_chunks a = { .size = sizeof(big), .dim = dim, .count = n,
					      .chunks = ptr(ch), .vectors = ptr(v) };

		memcpy(big, &a, sizeof(a));
		big[sizeof(a) + 3] = 1;
		expect("SET larger struct, unknown byte set", ioctl(fd, VEXFS_IOC_SET_CHUNKS, big), E2BIG);
		unchanged(fd, "SET larger struct", ch0, v0, n0, st.vector_generation);
	}
	expect("SET arg pointer bad", ioctl(fd, VEXFS_IOC_SET_CHUNKS, (void *)16), EFAULT);
	{
		struct vexfs_ioc_chunks a = { .size = sizeof(a), .dim = dim, .count = n,
					      .chunks = ptr(ch), .vectors = ptr(v) };

		expect("SET on a directory", ioctl(dfd, VEXFS_IOC_SET_CHUNKS, &a), EINVAL);
	}
	unchanged(fd, "SET arg pointer / directory", ch0, v0, n0, st.vector_generation);

	/* GET */
	{
		struct vexfs_ioc_chunks a = { .size = sizeof(a), .dim = dim, .count = 4,
					      .chunks = ptr(ch), .vectors = ptr(v), .flags = 1 };

		expect("GET flags 1", ioctl(fd, VEXFS_IOC_GET_CHUNKS, &a), EINVAL);
		a.flags = 0;
		a.dim = dim - 1;
		expect("GET dim too small", ioctl(fd, VEXFS_IOC_GET_CHUNKS, &a), ERANGE);
		if (a.dim != dim) {
			printf("FAIL GET dim too small: dim %u told, want %u\n", a.dim, dim);
			failures++;
		}
		a.vectors = 8;
		expect("GET vectors bad pointer", ioctl(fd, VEXFS_IOC_GET_CHUNKS, &a), EFAULT);
		a.vectors = ptr(v);
		a.chunks = 8;
		expect("GET chunks bad pointer", ioctl(fd, VEXFS_IOC_GET_CHUNKS, &a), EFAULT);
		a.chunks = ptr(ch);
		a.size = 4;
		expect("GET size 4", ioctl(fd, VEXFS_IOC_GET_CHUNKS, &a), EINVAL);
		a.size = sizeof(a);
		a.count = 0;
		expect("GET capacity 0 (size query)", ioctl(fd, VEXFS_IOC_GET_CHUNKS, &a), 0);
		if (a.total != n0 || a.count != 0) {
			printf("FAIL GET capacity 0: total %u count %u, want %u 0\n", a.total, a.count, n0);
			failures++;
		}
		a.count = 4;
		a.first = n0 + 5;
		expect("GET first past the set", ioctl(fd, VEXFS_IOC_GET_CHUNKS, &a), 0);
		if (a.count != 0 || a.total != n0) {
			printf("FAIL GET first past the set: count %u total %u\n", a.count, a.total);
			failures++;
		}
	}
	/* The single-vector calls on a set of several chunks. */
	{
		struct vexfs_ioc_vector a = { .size = sizeof(a), .dim = dim, .data = ptr(v) };
		char one[65536];

		expect("GET_VECTOR on a multi-chunk set", ioctl(fd, VEXFS_IOC_GET_VECTOR, &a), E2BIG);
		expect("getxattr user.vexfs.vector on a multi-chunk set",
		       getxattr(file, VEXFS_XATTR_VECTOR, one, sizeof(one)), E2BIG);
		expect("getxattr user.vexfs.vector size query, multi-chunk",
		       getxattr(file, VEXFS_XATTR_VECTOR, NULL, 0), E2BIG);
	}
	/* user.vexfs.chunks values */
	xv = xattr_value(777, 3, &xlen);
	xv[0] ^= 1;
	expect("setxattr chunks: bad magic", setxattr(file, VEXFS_XATTR_CHUNKS, xv, xlen, 0), EINVAL);
	xv[0] ^= 1;
	xv[4] = 2;
	expect("setxattr chunks: version 2", setxattr(file, VEXFS_XATTR_CHUNKS, xv, xlen, 0), EINVAL);
	xv[4] = 1;
	xv[8]++;
	expect("setxattr chunks: dim + 1", setxattr(file, VEXFS_XATTR_CHUNKS, xv, xlen, 0), EINVAL);
	xv[8]--;
	expect("setxattr chunks: one byte short", setxattr(file, VEXFS_XATTR_CHUNKS, xv, xlen - 1, 0), EINVAL);
	expect("setxattr chunks: header only, count 3", setxattr(file, VEXFS_XATTR_CHUNKS, xv, 16, 0), EINVAL);
	memcpy(xv + 12, &(uint32_t){ VEXFS_IOC_MAX_CHUNKS + 1 }, 4);
	expect("setxattr chunks: count 16385", setxattr(file, VEXFS_XATTR_CHUNKS, xv, xlen, 0), E2BIG);
	memcpy(xv + 12, &(uint32_t){ 3 }, 4);
	memcpy(xv + 16 + 2 * (16 + 4 * dim) + 16, &(float){ NAN }, 4);
	expect("setxattr chunks: NaN", setxattr(file, VEXFS_XATTR_CHUNKS, xv, xlen, 0), EINVAL);
	memcpy(xv + 16 + 2 * (16 + 4 * dim), &(uint64_t){ UINT64_MAX }, 8);
	expect("setxattr chunks: XATTR_CREATE over a set", setxattr(file, VEXFS_XATTR_CHUNKS, xv, xlen, XATTR_CREATE), EEXIST);
	unchanged(fd, "bad user.vexfs.chunks values", ch0, v0, n0, st.vector_generation);
	printf("%s: %d failures\n", failures ? "FAIL" : "ok", failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 3)
		return 2;
	if (!strcmp(argv[1], "xcopy") && argc == 4) {
		static unsigned char buf[65536];
		ssize_t n = getxattr(argv[2], VEXFS_XATTR_CHUNKS, buf, sizeof(buf));

		if (n < 0 || setxattr(argv[3], VEXFS_XATTR_CHUNKS, buf, n, 0)) {
			printf("ERRNO %s (xcopy)\n", strerror(errno));
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[1], "falloc") && argc == 6) {
		int mode = !strcmp(argv[3], "keep") ? FALLOC_FL_KEEP_SIZE :
			   !strcmp(argv[3], "punch") ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
			   !strcmp(argv[3], "zero") ? FALLOC_FL_ZERO_RANGE : 0;

		fd = open(argv[2], O_RDWR);
		if (fd < 0 || fallocate(fd, mode, strtoll(argv[4], NULL, 0), strtoll(argv[5], NULL, 0))) {
			printf("ERRNO %s (fallocate)\n", strerror(errno));
			return 1;
		}
		return 0;
	}
	fd = open(argv[2], O_RDWR);
	if (fd < 0) {
		printf("ERRNO %s (open %s)\n", strerror(errno), argv[2]);
		return 1;
	}
	if (fs_dim(fd))
		return 1;
	if ((!strcmp(argv[1], "set") || !strcmp(argv[1], "xset")) && argc == 5) {
		uint32_t seed = strtoul(argv[3], NULL, 0), n = strtoul(argv[4], NULL, 0);
		struct vexfs_ioc_chunk *ch = calloc(n + 1, sizeof(*ch));
		float *v = calloc((size_t)(n + 1) * dim, sizeof(float));

		if (!ch || !v)
			return 2;
		gen(seed, n, ch, v);
		if (argv[1][0] == 'x') {
			size_t len;
			unsigned char *xv = xattr_value(seed, n, &len);

			if (setxattr(argv[2], VEXFS_XATTR_CHUNKS, xv, len, 0)) {
				printf("ERRNO %s (setxattr)\n", strerror(errno));
				return 1;
			}
			return 0;
		}
		if (set_chunks(fd, n, ch, v)) {
			printf("ERRNO %s (set chunks)\n", strerror(errno));
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[1], "verify") && (argc == 3 || argc == 4))
		return cmd_verify(fd, argc == 4 ? strtoul(argv[3], NULL, 0) : 100);
	if (!strcmp(argv[1], "xverify") && argc == 3)
		return cmd_xverify(argv[2]);
	if (!strcmp(argv[1], "bad") && argc == 4)
		return cmd_bad(fd, argv[2], argv[3]);
	return 2;
}
