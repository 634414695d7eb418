/*
 * vexfs-abi-check FILE DIR: the versioned ioctl structs, as old and new
 * callers see them. Every struct is accepted at any size from its first
 * version up to a page (unknown trailing bytes zero, else E2BIG; smaller or
 * larger EINVAL); out-structs are written only as far as the caller's size;
 * search results go result_size bytes apart (a VER0 search struct or
 * result_size 0: 40 bytes, as before chunks), with the fields the stride has
 * room for and zeros past the kernel's struct. FILE must carry a vector;
 * DIR is the mount root and must hold at least 3 files with vectors.
 * Prints one line per case; exits 1 if any case fails. Built static.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vexfs_ioctl.h"

/* The structs as a caller built against the first version knows them. */
struct search_v0 {
	uint32_t size, kind, dim, k, ef, flags, threshold, count;
	uint64_t query, results;
	uint32_t truncated, reserved;
};
_Static_assert(sizeof(struct search_v0) == VEXFS_SEARCH_SIZE_VER0, "VER0 search layout");
_Static_assert(offsetof(struct vexfs_ioc_result, chunk) == VEXFS_RESULT_SIZE_VER0, "VER0 result layout");
_Static_assert(offsetof(struct vexfs_ioc_status, files) == VEXFS_STATUS_SIZE_VER0, "VER0 status layout");
/* Request numbers encode the first version's size. */
_Static_assert(_IOC_SIZE(VEXFS_IOC_SEARCH) == VEXFS_SEARCH_SIZE_VER0, "SEARCH number");
_Static_assert(_IOC_SIZE(VEXFS_IOC_GET_STATUS) == VEXFS_STATUS_SIZE_VER0, "GET_STATUS number");

#define K	3u
#define PAGE	4096u
#define FILL	0xa5

static int failures;

static void check(const char *name, int ok, const char *why)
{
	printf("%s %-52s%s%s\n", ok ? "ok  " : "FAIL", name, ok ? "" : " -> ", ok ? "" : why);
	if (!ok)
		failures++;
}

/* rc of an ioctl against the errno wanted (0: success). */
static void expect(const char *name, long rc, int want)
{
	int got = rc < 0 ? errno : 0;
	char why[96];

	snprintf(why, sizeof(why), "%s, want %s", rc < 0 ? strerror(got) : "success",
		 want ? strerror(want) : "success");
	check(name, rc < 0 ? got == want : want == 0, why);
}

static uint64_t ptr(const void *p) { return (uint64_t)(uintptr_t)p; }

static uint8_t arg[2 * PAGE];		/* argument structs at odd sizes */
static uint8_t res[K * 128 + 64];	/* results at odd strides */

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/*
 * Search with the struct at usize bytes (from s, then zeros, then `tail`
 * nonzero at the last byte when asked) into res prefilled with FILL.
 */
static long search_at(int dfd, const struct vexfs_ioc_search *s, uint32_t usize, int tail,
		      uint32_t *count)
{
	long rc;

	memset(arg, 0, sizeof(arg));
	memcpy(arg, s, usize < sizeof(*s) ? usize : sizeof(*s));
	memcpy(arg, &usize, 4);
	if (tail)
		arg[usize - 1] = 1;
	memset(res, FILL, sizeof(res));
	rc = ioctl(dfd, VEXFS_IOC_SEARCH, arg);
	memcpy(count, arg + offsetof(struct vexfs_ioc_search, count), 4);
	return rc;
}

int main(int argc, char **argv)
{
	struct vexfs_ioc_result ref[K];
	struct vexfs_ioc_search s;
	struct search_v0 s0;
	struct vexfs_ioc_status st;
	struct vexfs_ioc_vector v;
	float q[VEXFS_IOC_MAX_DIM], vec[VEXFS_IOC_MAX_DIM], got[VEXFS_IOC_MAX_DIM];
	uint32_t dim, count, i, n;
	int fd, dfd;

	if (argc != 3)
		return 2;
	fd = open(argv[1], O_RDONLY);
	dfd = open(argv[2], O_RDONLY);
	if (fd < 0 || dfd < 0) {
		perror("open");
		return 2;
	}

	/* GET_STATUS at its first version: 72 bytes written, nothing past them. */
	memset(arg, FILL, sizeof(arg));
	memset(arg, 0, VEXFS_STATUS_SIZE_VER0);
	*(uint32_t *)arg = VEXFS_STATUS_SIZE_VER0;
	expect("status: VER0 size", ioctl(dfd, VEXFS_IOC_GET_STATUS, arg), 0);
	memcpy(&st, arg, VEXFS_STATUS_SIZE_VER0);
	dim = st.dim;
	if (!dim || dim > VEXFS_IOC_MAX_DIM) {
		printf("FAIL status: dimension %u\n", dim);
		return 1;
	}
	check("status: VER0 size reported back", st.size == VEXFS_STATUS_SIZE_VER0, "size field");
	check("status: VER0 caller's bytes past 72 untouched",
	      all_bytes(arg + VEXFS_STATUS_SIZE_VER0, 64, FILL), "written past the caller's size");

	/* Today's size: the chunk counters and the index memory. */
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	expect("status: current size", ioctl(dfd, VEXFS_IOC_GET_STATUS, &st), 0);
	check("status: files >= 1, stale_files <= files <= vectors",
	      st.files >= 1 && st.stale_files <= st.files && st.files <= st.vectors, "counters");
	check("status: index_memory_bytes covers the vectors",
	      st.index_memory_bytes >= st.vectors * dim * 4, "too small");
	printf("     status: vectors %llu files %llu stale %llu index_memory_bytes %llu\n",
	       (unsigned long long)st.vectors, (unsigned long long)st.files,
	       (unsigned long long)st.stale_files, (unsigned long long)st.index_memory_bytes);

	/* Larger than ours: trailing zeros accepted and left alone; else E2BIG. */
	memset(arg, 0, sizeof(arg));
	*(uint32_t *)arg = sizeof(st) + 8;
	expect("status: larger, zero tail", ioctl(dfd, VEXFS_IOC_GET_STATUS, arg), 0);
	memcpy(&n, arg, 4);
	check("status: larger caller told the kernel's size", n == sizeof(st), "size field");
	check("status: larger caller's tail untouched", all_bytes(arg + sizeof(st), 8, 0), "tail written");
	memset(arg, 0, sizeof(arg));
	*(uint32_t *)arg = sizeof(st) + 8;
	arg[sizeof(st) + 5] = 1;
	expect("status: larger, nonzero tail", ioctl(dfd, VEXFS_IOC_GET_STATUS, arg), E2BIG);
	*(uint32_t *)arg = VEXFS_STATUS_SIZE_VER0 - 4;
	expect("status: below VER0", ioctl(dfd, VEXFS_IOC_GET_STATUS, arg), EINVAL);
	memset(arg, 0, sizeof(arg));
	*(uint32_t *)arg = PAGE;
	expect("status: a page, zero tail", ioctl(dfd, VEXFS_IOC_GET_STATUS, arg), 0);
	*(uint32_t *)arg = PAGE + 4;
	expect("status: above a page", ioctl(dfd, VEXFS_IOC_GET_STATUS, arg), EINVAL);
	expect("status: new-size request number",
	       ioctl(dfd, _IOWR('V', 8, struct vexfs_ioc_status), arg), ENOTTY);

	/* The query: FILE's own vector. */
	v = (struct vexfs_ioc_vector){ .size = sizeof(v), .dim = dim, .data = ptr(vec) };
	expect("get_vector: current size", ioctl(fd, VEXFS_IOC_GET_VECTOR, &v), 0);
	memcpy(q, vec, dim * 4);

	/* Reference: today's structs, 64-byte results. */
	s = (struct vexfs_ioc_search){ .size = sizeof(s), .kind = VEXFS_SEARCH_KNN, .dim = dim,
		.k = K, .flags = VEXFS_SEARCH_F_EXACT, .query = ptr(q), .results = ptr(res),
		.result_size = sizeof(struct vexfs_ioc_result) };
	expect("search: result_size 64", search_at(dfd, &s, sizeof(s), 0, &count), 0);
	memcpy(ref, res, sizeof(ref));
	check("search: 3 results", count == K, "count");
	if (count != K) {
		printf("FAIL the volume needs %u files with vectors\n", K);
		return 1;
	}
	for (i = 0; i < K; i++)
		check("search: result dim and stride 64", ref[i].dim == dim && ref[i].ino >= 11,
		      "garbage at stride 64");
	check("search: stride 64 leaves the bytes after the last result",
	      all_bytes(res + K * 64, 64, FILL), "written past count");

	/* A VER0 caller: 56-byte struct, 40-byte results, exactly as before chunks. */
	memset(res, FILL, sizeof(res));
	s0 = (struct search_v0){ .size = sizeof(s0), .kind = VEXFS_SEARCH_KNN, .dim = dim, .k = K,
		.flags = VEXFS_SEARCH_F_EXACT, .query = ptr(q), .results = ptr(res) };
	expect("search: VER0 struct", ioctl(dfd, VEXFS_IOC_SEARCH, &s0), 0);
	check("search: VER0 count", s0.count == K, "count");
	for (i = 0; i < K; i++)
		check("search: VER0 result i at 40 * i", !memcmp(res + 40 * i, &ref[i], 40),
		      "differs from the reference's first 40 bytes");
	check("search: VER0 results end at 40 * count", all_bytes(res + 40 * K, 64, FILL),
	      "written past 40 * count");

	/* Today's struct, result_size 0: VER0 results. */
	s.result_size = 0;
	expect("search: result_size 0", search_at(dfd, &s, sizeof(s), 0, &count), 0);
	for (i = 0; i < K; i++)
		check("search: result_size 0 is 40 apart", !memcmp(res + 40 * i, &ref[i], 40), "layout");
	check("search: result_size 0 ends at 40 * count", all_bytes(res + 40 * K, 64, FILL), "tail");

	/* Between versions: 48 bytes hold chunk and flags, not offset. */
	s.result_size = 48;
	expect("search: result_size 48", search_at(dfd, &s, sizeof(s), 0, &count), 0);
	for (i = 0; i < K; i++)
		check("search: result_size 48 is 48 apart, chunk + flags",
		      !memcmp(res + 48 * i, &ref[i], 48), "layout");
	check("search: result_size 48 ends at 48 * count", all_bytes(res + 48 * K, 64, FILL), "tail");

	/* Larger than ours: our 64 bytes, then zeros. */
	s.result_size = 80;
	expect("search: result_size 80", search_at(dfd, &s, sizeof(s), 0, &count), 0);
	for (i = 0; i < K; i++) {
		check("search: result_size 80 holds the 64-byte result",
		      !memcmp(res + 80 * i, &ref[i], 64), "layout");
		check("search: result_size 80 zeroes bytes 64..80", all_bytes(res + 80 * i + 64, 16, 0),
		      "not zeroed");
	}
	s.result_size = VEXFS_RESULT_SIZE_VER0 - 1;
	expect("search: result_size below VER0", search_at(dfd, &s, sizeof(s), 0, &count), EINVAL);
	s.result_size = PAGE + 1;
	expect("search: result_size above a page", search_at(dfd, &s, sizeof(s), 0, &count), EINVAL);
	s.result_size = 64;
	s.reserved2 = 1;
	expect("search: reserved2 nonzero", search_at(dfd, &s, sizeof(s), 0, &count), EINVAL);
	s.reserved2 = 0;

	/* Struct sizes between and above the versions. */
	expect("search: size 60 (result_size, no reserved2)", search_at(dfd, &s, 60, 0, &count), 0);
	for (i = 0; i < K; i++)
		check("search: size 60 honours result_size 64", !memcmp(res + 64 * i, &ref[i], 64), "layout");
	expect("search: size 72, zero tail", search_at(dfd, &s, sizeof(s) + 8, 0, &count), 0);
	check("search: size 72 count", count == K, "count");
	expect("search: size 72, nonzero tail", search_at(dfd, &s, sizeof(s) + 8, 1, &count), E2BIG);
	expect("search: a page, zero tail", search_at(dfd, &s, PAGE, 0, &count), 0);
	expect("search: a page, nonzero tail", search_at(dfd, &s, PAGE, 1, &count), E2BIG);
	expect("search: above a page", search_at(dfd, &s, PAGE + 8, 0, &count), EINVAL);
	expect("search: below VER0", search_at(dfd, &s, VEXFS_SEARCH_SIZE_VER0 - 4, 0, &count), EINVAL);
	memset(arg, 0, sizeof(arg));
	memcpy(arg, &s, sizeof(s));
	expect("search: new-size request number", ioctl(dfd, _IOWR('V', 5, struct vexfs_ioc_search), arg),
	       ENOTTY);

	/* The other structs: any size from today's up, zero tails. */
	memset(arg, 0, sizeof(arg));
	v = (struct vexfs_ioc_vector){ .size = sizeof(v) + 8, .dim = dim, .data = ptr(got) };
	memcpy(arg, &v, sizeof(v));
	expect("get_vector: larger, zero tail", ioctl(fd, VEXFS_IOC_GET_VECTOR, arg), 0);
	check("get_vector: larger gives the vector", !memcmp(got, vec, dim * 4), "differs");
	arg[sizeof(v) + 3] = 1;
	expect("get_vector: larger, nonzero tail", ioctl(fd, VEXFS_IOC_GET_VECTOR, arg), E2BIG);
	*(uint32_t *)arg = sizeof(v) - 4;
	expect("get_vector: smaller", ioctl(fd, VEXFS_IOC_GET_VECTOR, arg), EINVAL);
	for (i = 0; i < dim; i++)
		got[i] = 7.0f;
	memset(arg, 0, sizeof(arg));
	v = (struct vexfs_ioc_vector){ .size = sizeof(v) + 8, .dim = dim, .data = ptr(got) };
	memcpy(arg, &v, sizeof(v));
	arg[sizeof(v) + 7] = 1;
	expect("set_vector: larger, nonzero tail", ioctl(fd, VEXFS_IOC_SET_VECTOR, arg), E2BIG);
	*(uint32_t *)arg = sizeof(v) - 8;
	expect("set_vector: smaller", ioctl(fd, VEXFS_IOC_SET_VECTOR, arg), EINVAL);
	memset(arg, 0, sizeof(arg));
	*(uint32_t *)arg = sizeof(struct vexfs_ioc_stats) + 16;
	expect("stats: larger, zero tail", ioctl(dfd, VEXFS_IOC_GET_STATS, arg), 0);
	*(uint32_t *)arg = sizeof(struct vexfs_ioc_stats) + 16;	/* the call wrote back its own */
	arg[sizeof(struct vexfs_ioc_stats) + 15] = 1;
	expect("stats: larger, nonzero tail", ioctl(dfd, VEXFS_IOC_GET_STATS, arg), E2BIG);
	memset(arg, 0, sizeof(arg));
	*(uint32_t *)arg = sizeof(struct vexfs_ioc_config) + 4;
	expect("config: larger, zero tail", ioctl(dfd, VEXFS_IOC_GET_CONFIG, arg), 0);
	*(uint32_t *)arg = sizeof(struct vexfs_ioc_config) + 4;
	arg[sizeof(struct vexfs_ioc_config)] = 1;
	expect("config: larger, nonzero tail", ioctl(dfd, VEXFS_IOC_GET_CONFIG, arg), E2BIG);
	*(uint32_t *)arg = sizeof(struct vexfs_ioc_config) - 4;
	expect("config: smaller", ioctl(dfd, VEXFS_IOC_GET_CONFIG, arg), EINVAL);

	/* Nothing above changed the vector. */
	v = (struct vexfs_ioc_vector){ .size = sizeof(v), .dim = dim, .data = ptr(got) };
	expect("get_vector: after", ioctl(fd, VEXFS_IOC_GET_VECTOR, &v), 0);
	check("vector unchanged by the rejected calls", !memcmp(got, vec, dim * 4), "changed");

	printf("%s: %d failure(s)\n", failures ? "FAIL" : "ok", failures);
	return failures ? 1 : 0;
}
