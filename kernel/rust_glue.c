// SPDX-License-Identifier: GPL-2.0
/*
 * rust_glue.c - what the Rust objects need from the kernel. The core is
 * written never to panic (the build reports how many panic call sites
 * survive optimisation); if one is ever reached it is a VexFS bug, and
 * stopping is safer than continuing with corrupted state.
 */
#include <linux/bug.h>
#include <linux/crc32c.h>
#include <linux/kernel.h>
#include <linux/printk.h>

void vexfs_rust_panic(void);
u32 vexfs_kcrc32c_update(u32 crc, const u8 *p, size_t len);

__noreturn void vexfs_rust_panic(void)
{
	pr_emerg("vexfs: internal error in the Rust core\n");
	BUG();
}

/*
 * The core's checksums (core/src/format/checksum.rs, feature kernel-crc32c):
 * the raw CRC-32C register continued over p[0..len), as the kernel's crc32c()
 * computes it (crc32c-intel's CRC32 instruction when loaded; libcrc32c soft-
 * depends on it). Never sleeps, any context.
 */
u32 vexfs_kcrc32c_update(u32 crc, const u8 *p, size_t len)
{
	while (len > UINT_MAX) {
		crc = crc32c(crc, p, UINT_MAX);
		p += UINT_MAX;
		len -= UINT_MAX;
	}
	return crc32c(crc, p, len);
}
