#!/usr/bin/env bash
# Issue 16 part 2: O_DIRECT, fallocate and SEEK_DATA/SEEK_HOLE against a model.
# tests/vm/lib/guest-tools/vexfs-fsx.c runs random buffered and O_DIRECT reads
# and writes, mmap reads and writes, truncates, the five supported fallocate
# modes and seeks on one file, checking each against an in-memory model, then
# again after a remount; on VexFS block allocation is checked exactly (SEEK
# answers, st_blocks). The same run on ext4 in the same VM checks the model.
# Then: every block comes back when the file is deleted; fallocate beyond the
# free space is ENOSPC and changes nothing; COLLAPSE_RANGE and INSERT_RANGE
# are EOPNOTSUPP; O_DIRECT writes whose buffer is a shared mapping of the
# file (of the very range they write, and of another) write what the mapping
# held. fsck clean afterwards. VEXFS_FSX_OPS (default 1500), VEXFS_FSX_SEED.
. "$(dirname "$0")/../lib/common.sh"
ops=${VEXFS_FSX_OPS:-1500}
seed=${VEXFS_FSX_SEED:-$RANDOM}
command -v musl-gcc >/dev/null || fail "musl-gcc not found (apt-get install musl-tools; 'make deps')"
command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 not found (apt-get install e2fsprogs)"
mkdir -p "$WORK/add"
musl-gcc -static -O2 -Wall -Werror -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
  -o "$WORK/add/vexfs-fsx" "$VM_TOP/tests/vm/lib/guest-tools/vexfs-fsx.c" || fail "building vexfs-fsx"
img=$WORK/fsx.img
new_image "$img" 64M --dim 4
ext4=$WORK/ext4.img
truncate -s 128M "$ext4"
mkfs.ext4 -q -F -b 4096 "$ext4" || fail "mkfs.ext4 $ext4"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
ops=$1 seed=$2
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
sync
free0=$(stat -f -c %f /mnt)
echo "fsx on vexfs: seed $seed, $ops operations"
vexfs-fsx run /mnt/fsx "$seed" "$ops" /tmp/model exact || fail "vexfs-fsx run on vexfs"
umount /mnt
mount -t vexfs /dev/vda /mnt
vexfs-fsx check /mnt/fsx /tmp/model exact || fail "vexfs-fsx check on vexfs after remount"
rm /mnt/fsx
sync
free1=$(stat -f -c %f /mnt)
[ "$free1" = "$free0" ] || fail "free blocks $free1 after deleting the file, $free0 before"
echo "all blocks back after the delete ($free1 free)"

# ENOSPC: nothing changes.
: > /mnt/big
want=$(( (free1 + 16) * 4096 ))
for m in alloc keep zero; do
  r=$(vexfs-fsx falloc /mnt/big $m 0 $want) || fail "vexfs-fsx falloc $m"
  [ "$r" = ENOSPC ] || fail "fallocate $m of $want bytes with $free1 blocks free: $r, want ENOSPC"
  [ "$(stat -c %s:%b /mnt/big)" = 0:0 ] || fail "fallocate $m failed but left size:blocks $(stat -c %s:%b /mnt/big)"
  [ "$(stat -f -c %f /mnt)" = "$free1" ] || fail "fallocate $m failed but free blocks changed"
done
for m in collapse insert; do
  r=$(vexfs-fsx falloc /mnt/big $m 0 4096) || fail "vexfs-fsx falloc $m"
  [ "$r" = EOPNOTSUPP ] || fail "fallocate $m: $r, want EOPNOTSUPP"
done
# A preallocation of most of the disk succeeds, reads as zeros, and is counted.
r=$(vexfs-fsx falloc /mnt/big alloc 0 $(( (free1 - 200) * 4096 ))) || fail "vexfs-fsx falloc"
[ "$r" = ok ] || fail "fallocate of $(( free1 - 200 )) blocks: $r"
[ "$(stat -c %s /mnt/big)" = $(( (free1 - 200) * 4096 )) ] || fail "size after fallocate: $(stat -c %s /mnt/big)"
[ "$(stat -c %b /mnt/big)" -ge $(( (free1 - 200) * 8 )) ] || fail "st_blocks after fallocate: $(stat -c %b /mnt/big)"
vexfs-fsx scan /mnt/big 0 || fail "preallocated blocks are not zero"
rm /mnt/big
echo "ENOSPC, EOPNOTSUPP and a near-full preallocation as expected"
vexfs-fsx alias /mnt/alias || fail "O_DIRECT writes from a mapping of the file on vexfs"
rm /mnt/alias
umount /mnt

modprobe ext4
mkdir -p /ext
mount -t ext4 /dev/vdb /ext
echo "fsx on ext4 (model check): seed $seed"
vexfs-fsx run /ext/fsx "$seed" "$ops" /tmp/model4 || fail "vexfs-fsx run on ext4"
umount /ext
mount -t ext4 /dev/vdb /ext
vexfs-fsx check /ext/fsx /tmp/model4 || fail "vexfs-fsx check on ext4 after remount"
vexfs-fsx alias /ext/alias || fail "O_DIRECT writes from a mapping of the file on ext4"
umount /ext
echo "FSX-DONE"
GUEST

rc=0
"$VM_RUN" --disk "$img" --disk "$ext4" --add "$WORK/add" "$WORK/guest.sh" "$ops" "$seed" || rc=$?
[ "$rc" -eq 0 ] || fail "guest run exited $rc (seed $seed)"
fsck_clean "$img"
echo "dio-falloc-fsx: passed (seed $seed, $ops operations per file system)"
