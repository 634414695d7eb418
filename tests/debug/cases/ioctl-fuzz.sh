#!/usr/bin/env bash
# Issue 6 item 6: random ioctls (mostly 'V' commands with random nr/size/
# direction and random argument bytes and pointers) from user nobody on files
# and directories of a mounted VexFS for VEXFS_IOCTL_FUZZ_SECONDS (default
# 60); no kernel report (KASAN, lockdep, warnings, leaks after rmmod), and the
# filesystem checks clean afterwards (in the guest and on the host).
. "$(dirname "$0")/../../vm/lib/common.sh"
. "$(dirname "$0")/../lib.sh"
secs=${VEXFS_IOCTL_FUZZ_SECONDS:-60}
seed=${VEXFS_IOCTL_FUZZ_SEED:-$RANDOM}
build_debug_tools "$WORK/add"
img=$WORK/fuzz.img
new_image "$img" 64M --dim 4
"$VM_RUN" --disk "$img" --add "$WORK/add" "$VM_TOP/tests/debug/guest/ioctl-fuzz.sh" vda "$secs" "$seed"
fsck_clean "$img"
echo "ioctl-fuzz: passed (seed $seed, $secs s)"
