#!/usr/bin/env bash
# Reproducer (found by tests/vm/cases/python-api.sh's author): a file with a
# vector dropped out of every search result after `ln d1/a d2/b; rm d2/b`.
# __vexfs_link pointed the inode's parent hint (i_parent) at d2; unlinking d2/b
# left it there, INO_PATH found no name in d2 and returned ENOENT, and vexctl
# skips results it cannot name. Fixed: link keeps the existing parent, unlink
# re-points a stale hint at another cached name's parent or at 0 (unknown),
# and INO_PATH searches the directories when the hint is 0 or stale. Checked
# with the dcache warm, and after a remount (cold: the directory search).
. "$(dirname "$0")/../lib/common.sh"
img=$WORK/r.img
new_image "$img" 64M --dim 4 --metric l2
cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
first() { vexctl search /mnt --vector 1,0,0,0 -k 1 --json | tr -d ' \n'; }
mount -t vexfs /dev/vda /mnt
mkdir /mnt/d1 /mnt/d2 /mnt/d3
echo a > /mnt/d1/a
vexctl set /mnt/d1/a --vector 1,0,0,0
ln /mnt/d1/a /mnt/d2/b
first | grep -q '"d1/a"' || fail "after ln: $(first)"
rm /mnt/d2/b
first | grep -q '"d1/a"' || fail "after ln + rm of the new name: $(first)"
# The first name goes, the second stays: results name the survivor.
ln /mnt/d1/a /mnt/d3/c
rm /mnt/d1/a
first | grep -q '"d3/c"' || fail "after rm of the first name: $(first)"
# Cold cache: the other name is not in the dcache when the first goes, so the
# hint becomes 0 on disk; after a remount only a directory search finds it.
ln /mnt/d3/c /mnt/d2/e
umount /mnt
mount -t vexfs /dev/vda /mnt
rm /mnt/d3/c
umount /mnt
mount -t vexfs /dev/vda /mnt
first | grep -q '"d2/e"' || fail "after remount: $(first)"
# The hint was repaired: a second search finds it directly.
first | grep -q '"d2/e"' || fail "second search after remount: $(first)"
run_ok /tmp/dmesg.txt dmesg
absent -i 'vexfs.*(corrupt|error)' /tmp/dmesg.txt "kernel reported errors"
umount /mnt
echo "hardlink-search-path: ok"
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh"
fsck_clean "$img"
echo "hardlink-search-path: passed"
