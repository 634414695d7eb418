#!/usr/bin/env bash
# Issue 3 item 2: one directory of 100,000 entries (hash indexed), lookups
# that do not slow down linearly with the entry count, readdir returning
# every name once, survival of a remount, and a clean fsck. The journal is
# the smallest mkfs allows, so transactions fill all along the growth: each
# insertion (leaf split, node split, root push-down) must fit the credits its
# handle reserved at start, as jbd2 refuses to extend a handle while the
# transaction is full or committing (that refusal once surfaced as ENOSPC).
. "$(dirname "$0")/../lib/common.sh"
n=${VEXFS_BIGDIR_ENTRIES:-100000}
build_guest_tools "$WORK/add"
img=$WORK/bigdir.img
new_image "$img" 1G -N 200000 -J 1024

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
n=$1
mount -t vexfs /dev/vda /mnt
mkdir /mnt/big
vexfs-dirbench create /mnt/big 0 1000
small=$(vexfs-dirbench lookup /mnt/big 1000 2000 | tee /dev/stderr | sed -n 's/lookup: \([0-9]*\) ns.*/\1/p')
vexfs-dirbench create /mnt/big 1000 "$n"
big=$(vexfs-dirbench lookup /mnt/big "$n" 2000 | tee /dev/stderr | sed -n 's/lookup: \([0-9]*\) ns.*/\1/p')
echo "lookup cost: $small ns at 1000 entries, $big ns at $n entries"
dmesg > /tmp/dmesg.txt || { echo "FAIL: dmesg"; exit 1; }
[ "$(grep -c "journal credits" /tmp/dmesg.txt)" = 0 ] || {
  grep "journal credits" /tmp/dmesg.txt
  echo "FAIL: a directory insertion needed more journal credits than its handle reserved"; exit 1
}
# A linear directory would be ~100x slower; allow 4x for cache effects.
[ "$big" -le $((small * 4)) ] || { echo "FAIL: lookups slow down with the entry count"; exit 1; }
[ "$(vexfs-dirbench count /mnt/big)" = "$n" ] || { echo "FAIL: readdir count $(vexfs-dirbench count /mnt/big), want $n"; exit 1; }
umount /mnt
mount -t vexfs /dev/vda /mnt
[ "$(vexfs-dirbench count /mnt/big)" = "$n" ] || { echo "FAIL: readdir count after remount"; exit 1; }
vexfs-dirbench lookup /mnt/big "$n" 500
vexfs-dirbench unlink /mnt/big 0 $((n / 2))
[ "$(vexfs-dirbench count /mnt/big)" = $((n - n / 2)) ] || { echo "FAIL: count after unlinking half"; exit 1; }
rmdir /mnt/big 2>/dev/null && { echo "FAIL: rmdir of a non-empty indexed directory"; exit 1; }
umount /mnt
echo "bigdir: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh" "$n"
fsck_clean "$img"
echo "bigdir: passed ($n entries)"
