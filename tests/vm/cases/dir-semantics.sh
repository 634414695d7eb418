#!/usr/bin/env bash
# Issue 3 items 2-3: telldir/seekdir continuity on linear and hash-indexed
# directories, renameat2 RENAME_NOREPLACE (EEXIST, nothing changed) and
# RENAME_EXCHANGE (not supported: EINVAL); fsck clean afterwards.
. "$(dirname "$0")/../lib/common.sh"
build_guest_tools "$WORK/add"
img=$WORK/dirsem.img
new_image "$img" 128M

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
mount -t vexfs /dev/vda /mnt
mkdir /mnt/linear /mnt/indexed
vexfs-dirbench create /mnt/linear 0 60        # one block: linear
vexfs-dirbench create /mnt/indexed 0 3000     # converted to a hash index
vexfs-dirbench seekcheck /mnt/linear
vexfs-dirbench seekcheck /mnt/indexed
echo a > /mnt/a; echo b > /mnt/b
vexfs-dirbench noreplace /mnt/a /mnt/b
[ "$(cat /mnt/b)" = b ] || { echo "FAIL: target changed"; exit 1; }
mv /mnt/a /mnt/b && [ "$(cat /mnt/b)" = a ] && [ ! -e /mnt/a ] || { echo "FAIL: plain rename over"; exit 1; }
umount /mnt
echo "dir-semantics: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "dir-semantics: passed"
