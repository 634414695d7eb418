#!/usr/bin/env bash
# Reads map runs of blocks in one get_block call (vexfs_get_block with a
# b_size of several blocks, as mpage readahead asks): a run must stop where
# the next block is not the next on disk, at a hole, at the end of the
# direct slots and at the end of an indirect block. Files whose blocks
# interleave on disk (two files appended to in turn, a third in runs of
# three), a sparse file with holes inside the indirect ranges and across the
# single/double indirect boundary, and a 20 MiB file are written, then read
# back after a remount (cold: through readahead) and compared with the
# checksums taken while they were in the page cache; partial reads at an
# offset too. fsck clean afterwards.
. "$(dirname "$0")/../lib/common.sh"
img=$WORK/ra.img
new_image "$img" 256M
cat > "$WORK/guest.sh" <<'GUEST'
set -eu
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
cd /mnt
# interleaved allocation: a and b alternate 4 KiB appends, c gets runs of 3
i=0
while [ $i -lt 3000 ]; do
  head -c 4096 /dev/urandom >> a
  head -c 4096 /dev/urandom >> b
  if [ $((i % 7)) -lt 3 ]; then head -c 4096 /dev/urandom >> c; fi
  i=$((i + 1))
done
# sparse with holes inside indirect ranges
dd if=/dev/urandom of=s bs=4096 count=5 seek=100 conv=notrunc 2>/dev/null
dd if=/dev/urandom of=s bs=4096 count=50 seek=2000 conv=notrunc 2>/dev/null
dd if=/dev/urandom of=s bs=4096 count=3 seek=1040 conv=notrunc 2>/dev/null
dd if=/dev/urandom of=big bs=1M count=20 2>/dev/null
sync
md5sum a b c s big > /tmp/sums
cd /; umount /mnt; mount -t vexfs /dev/vda /mnt; cd /mnt
md5sum -c /tmp/sums || fail "checksums differ after remount"
echo 3 > /proc/sys/vm/drop_caches
# partial reads at odd offsets
dd if=big bs=4096 skip=1030 count=5 2>/dev/null | md5sum > /tmp/p1
cd /; umount /mnt; mount -t vexfs /dev/vda /mnt; cd /mnt
dd if=big bs=4096 skip=1030 count=5 2>/dev/null | md5sum > /tmp/p2
cmp /tmp/p1 /tmp/p2 || fail "partial read differs"
md5sum -c /tmp/sums || fail "checksums differ after second remount"
cd /; umount /mnt
echo "readahead-runs: ok"
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh"
fsck_clean "$img"
echo "readahead-runs: passed"
