#!/usr/bin/env bash
# Issue 3 item 1: a file larger than 4 GiB and the regular-file paths busybox
# alone cannot reach (tests/vm/lib/guest-tools/vexfs-mmap.c). A 5 GiB sparse
# file with data at 0, at 1 GiB, straddling 4 GiB (the triple-indirect
# boundary is at about 4 GiB), and at an unaligned offset past 5 GiB, written
# with pwrite + fdatasync; holes read as zeros (pread and mmap); size and
# data intact after a remount; mmap writes into existing data and into a far
# hole (page_mkwrite allocation), checked after a remount; truncate down
# (cutting data), up again (the cut range reads as zeros) and down to a few
# blocks; st_blocks follows; all free space returns after the unlink; fsck
# clean.
. "$(dirname "$0")/../lib/common.sh"
build_guest_tools "$WORK/add"
img=$WORK/big.img
new_image "$img" 512M --dim 4

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
fail() { echo "FAIL: $*"; exit 1; }
G=$((1024 * 1024 * 1024))
remount() { cd /; umount /mnt; mount -t vexfs /dev/vda /mnt; cd /mnt; }
mount -t vexfs /dev/vda /mnt
cd /mnt
sync
free0=$(stat -f -c %f /mnt)
: > big
# data regions: OFF LEN SEED
regions="0 1048576 1
$G 65536 2
$((4 * G - 8192)) 16384 3
$((4 * G + 4096 * 1030)) 8192 4
$((5 * G + 123)) 100000 5"
echo "$regions" | while read -r off len seed; do vexfs-mmap pwrite big $off $len $seed || fail "pwrite at $off"; done
size=$((5 * G + 123 + 100000))
[ "$(stat -c %s big)" = $size ] || fail "size $(stat -c %s big), want $size"
blocks=$(stat -c %b big)
echo "5 GiB sparse file: size $size, $blocks sectors allocated"
[ "$blocks" -lt 4096 ] || fail "sparse file allocated $blocks sectors"
check_all() {
  echo "$regions" | while read -r off len seed; do
    [ "${1:-}" = "$off" ] && continue
    vexfs-mmap pcheck big $off $len $seed || fail "$2: data at $off (pread)"
    vexfs-mmap mcheck big $off $len $seed || fail "$2: data at $off (mmap)"
  done
  for h in 1048576 $((2 * G)) $((4 * G - 1048576)) $((4 * G + 8192)) $((5 * G - 131072)); do
    vexfs-mmap pzero big $h 65536 || fail "$2: hole at $h (pread)"
    vexfs-mmap mzero big $h 65536 || fail "$2: hole at $h (mmap)"
  done
}
check_all "" "written"
remount
[ "$(stat -c %s big)" = $size ] || fail "size after remount $(stat -c %s big)"
check_all "" "after remount"
echo "data and holes intact after remount"

# mmap writes: over existing data (at 4 GiB) and into a far hole
vexfs-mmap mwrite big $((4 * G - 4096)) 8192 6 || fail "mmap write over data"
vexfs-mmap mwrite big $((3 * G + 12345)) 20000 7 || fail "mmap write into a hole"
b2=$(stat -c %b big)
[ "$b2" -gt "$blocks" ] || fail "mmap write into a hole allocated nothing ($b2 <= $blocks sectors)"
remount
vexfs-mmap pcheck big $((4 * G - 4096)) 8192 6 || fail "mmap-written data at 4 GiB after remount"
vexfs-mmap pcheck big $((4 * G - 8192)) 4096 3 || fail "data before the mmap write at 4 GiB"
vexfs-mmap pcheck big $((4 * G + 4096)) 4096 3 || fail "data after the mmap write at 4 GiB"
vexfs-mmap pcheck big $((3 * G + 12345)) 20000 7 || fail "mmap-written hole after remount"
vexfs-mmap pzero big $((3 * G)) 12345 || fail "hole before the mmap write"
echo "mmap writes intact after remount"

# truncate down through the 5 GiB data, up again: the cut range reads zeros
truncate -s $((5 * G + 1000)) big
[ "$(stat -c %s big)" = $((5 * G + 1000)) ] || fail "truncate down: size $(stat -c %s big)"
vexfs-mmap pcheck big $((5 * G + 123)) 877 5 || fail "data kept below the truncation point"
truncate -s $((6 * G)) big
vexfs-mmap pzero big $((5 * G + 1000)) 99123 || fail "cut range not zero after truncate up"
remount
vexfs-mmap pzero big $((5 * G + 1000)) 99123 || fail "cut range not zero after truncate up and remount"
[ "$(stat -c %s big)" = $((6 * G)) ] || fail "truncate up: size $(stat -c %s big)"
# below 4 GiB: the triple-indirect data goes
truncate -s $((4 * G - 4096)) big
vexfs-mmap pcheck big $((4 * G - 8192)) 4096 3 || fail "data below 4 GiB after truncate"
b3=$(stat -c %b big)
[ "$b3" -lt "$b2" ] || fail "truncate below 4 GiB freed nothing ($b3 >= $b2 sectors)"
truncate -s 5000 big
[ "$(stat -c %s big)" = 5000 ] || fail "truncate to 5000"
vexfs-mmap pcheck big 0 5000 1 || fail "head of the file after truncate to 5000"
[ "$(stat -c %b big)" -le 16 ] || fail "after truncate to 5000: $(stat -c %b big) sectors"
remount
vexfs-mmap pcheck big 0 5000 1 || fail "head after the last remount"
echo "truncate down/up ok: $b2 -> $b3 -> $(stat -c %b big) sectors"
rm big
sync
free1=$(stat -f -c %f /mnt)
[ "$free1" = "$free0" ] || fail "free blocks $free1 after unlink, $free0 before"
cd /
umount /mnt
echo "bigfile: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "bigfile: passed"
