// SPDX-License-Identifier: GPL-2.0
/*
 * rust_glue.c - what the Rust objects need from the kernel. The core is
 * written never to panic (the build reports how many panic call sites
 * survive optimisation); if one is ever reached it is a VexFS bug, and
 * stopping is safer than continuing with corrupted state.
 */
#include <linux/bug.h>
#include <linux/printk.h>

void vexfs_rust_panic(void);

__noreturn void vexfs_rust_panic(void)
{
	pr_emerg("vexfs: internal error in the Rust core\n");
	BUG();
}
