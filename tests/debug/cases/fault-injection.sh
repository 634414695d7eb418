#!/usr/bin/env bash
# Issue 6 item 2: VexFS workloads (create/write/rename/link/unlink, vectors
# set/search/sync via vexctl) while allocations or block I/O fail at random:
#   failslab, fail_page_alloc  scoped to the workload's processes
#                              (/proc/self/make-it-fail + task-filter), GFP_KERNEL
#                              allocations included (ignore-gfp-wait N, min-order 0);
#   fail_make_request          every bio to /dev/vda (/sys/block/vda/make-it-fail).
# Each round: mkfs, mount, workload under faults, faults off, umount, mount
# again (journal recovery), read everything, umount, `fsck.vexfs -n` must be
# clean. Calls may fail; the kernel must not report anything (oops, KASAN,
# lockdep, warnings) and nothing may leak (kmemleak after rmmod).
# VEXFS_FI_ROUNDS rounds per fault type (default 3), probabilities vary.
. "$(dirname "$0")/../../vm/lib/common.sh"
. "$(dirname "$0")/../lib.sh"
rounds=${VEXFS_FI_ROUNDS:-3}
img=$WORK/fi.img
new_image "$img" 64M --dim 4
build_debug_tools "$WORK/add"
"$VM_RUN" --disk "$img" --add "$WORK/add" "$VM_TOP/tests/debug/guest/fault-injection.sh" vda "$rounds"
fsck_clean "$img"
echo "fault-injection: passed ($rounds rounds per fault type)"
