#!/usr/bin/env bash
# Issue 2, point 5: insmod, mount an mkfs.vexfs image, ls, statfs with the
# true block and inode counts, umount, rmmod; the image then checks clean.
. "$(dirname "$0")/../lib/common.sh"

img=$WORK/basic.img
new_image "$img" 256M --dim 64 --metric cosine
blocks=$(le_u64 "$img" 16); free_blocks=$(le_u64 "$img" 24)
inodes=$(le_u32 "$img" 32); free_inodes=$(le_u32 "$img" 36); data_start=$(le_u32 "$img" 72)
fsck_clean "$img"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
want_total=$1 want_free=$2 want_inodes=$3 want_ifree=$4
mount -t vexfs /dev/vda /mnt
run_ok /tmp/ls.txt ls -la /mnt
cat /tmp/ls.txt
present ' \.$' /tmp/ls.txt "no . entry"
present ' \.\.$' /tmp/ls.txt "no .. entry"
stat -f /mnt
set -- $(stat -f -c '%b %f %a %c %d %S %T' /mnt)
echo "statfs: total=$1 free=$2 avail=$3 inodes=$4 ifree=$5 bsize=$6 type=$7"
[ "$1" = "$want_total" ] || { echo "total blocks $1, want $want_total"; exit 1; }
[ "$2" = "$want_free" ] || { echo "free blocks $2, want $want_free"; exit 1; }
[ "$4" = "$want_inodes" ] || { echo "inodes $4, want $want_inodes"; exit 1; }
[ "$5" = "$want_ifree" ] || { echo "free inodes $5, want $want_ifree"; exit 1; }
[ "$6" = 4096 ] || { echo "block size $6"; exit 1; }
grep -q ' /mnt vexfs ' /proc/mounts || { echo "not in /proc/mounts"; exit 1; }
umount /mnt
rmmod vexfs
absent '^vexfs ' /proc/modules "vexfs still loaded after rmmod"
run_ok /tmp/dmesg.txt dmesg
absent -i 'vexfs.*(error|corrupt|refusing)' /tmp/dmesg.txt "unexpected vexfs errors in dmesg"
echo "mount-basic: ok"
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh" "$((blocks - data_start))" "$free_blocks" "$inodes" "$free_inodes"
fsck_clean "$img"
echo "mount-basic: passed"
