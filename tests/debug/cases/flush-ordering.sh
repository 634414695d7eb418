#!/usr/bin/env bash
# Issue 6 item 3: flush ordering. VexFS runs on dm-log-writes (data /dev/vda,
# log /dev/vdb); the workload fsyncs files one by one and puts a mark
# "fsync-N" in the log after each fsync returns. Then every prefix of the log
# that ends at a flush, FUA or mark entry is replayed (replay-log, our own
# tool) onto a copy of the freshly made image (/dev/vdc, replayed
# incrementally), copied to /dev/vdd, and checked: it mounts (journal
# recovery), every file whose fsync mark lies in the prefix has exactly its
# content, it unmounts, and `fsck.vexfs -n` is clean.
# VEXFS_FLUSH_FILES files (default 8).
. "$(dirname "$0")/../../vm/lib/common.sh"
. "$(dirname "$0")/../lib.sh"
nfiles=${VEXFS_FLUSH_FILES:-8}
build_debug_tools "$WORK/add"
img=$WORK/data.img log=$WORK/log.img rep=$WORK/replay.img snap=$WORK/snap.img
new_image "$img" 32M --dim 4
cp "$img" "$rep"
rm -f "$log" "$snap"; truncate -s 256M "$log"; truncate -s 32M "$snap"
"$VM_RUN" --disk "$img" --disk "$log" --disk "$rep" --disk "$snap" --add "$WORK/add" --mem 1024 \
  "$VM_TOP/tests/debug/guest/flush-ordering.sh" vda vdb vdc vdd "$nfiles"
fsck_clean "$img"
echo "flush-ordering: passed ($nfiles fsync'ed files)"
