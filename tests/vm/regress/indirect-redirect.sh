#!/usr/bin/env bash
# An indirect block whose pointer was redirected to another file's data block
# (the damage the kernel used to miss: before indirect blocks carried a
# checksum, file A silently read file B's data, and unlinking A freed B's
# block). One entry of A's single indirect block is made to point at one of
# B's data blocks, without resealing the block. Then:
#  - fsck.vexfs -n reports the indirect block (exit 4); a repaired copy
#    (fsck -y, exit 1) checks clean, keeps B whole, and keeps all of A but
#    the redirected entry (file block 12, now a hole reading zeros);
#  - the kernel: B reads back whole; reading A's indirect range fails (EIO)
#    with a message naming the indirect block; A's direct blocks still read;
#    unlinking A frees nothing the damaged block names: a new file written
#    afterwards does not land on B's blocks (B still reads whole after
#    dropping caches and after a remount).
. "$(dirname "$0")/../lib/common.sh"
mkdir -p "$WORK/tree"
python3 - "$WORK/tree" <<'PY'
import sys
for name, ch in (("A", b"A"), ("B", b"B")):
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        f.write(ch * (4096 * 100))   # 100 blocks: 12 direct, 88 through the indirect block
PY
img=$WORK/r.img
new_image "$img" 64M -d "$WORK/tree"
fsck_clean "$img"
sumB=$(md5sum < "$WORK/tree/B" | cut -d' ' -f1)
python3 - "$img" "$VM_TOP/tests/vm/lib" <<'PY' || fail "could not damage the indirect block"
import struct, sys
sys.path.insert(0, sys.argv[2])
import imgdamage
img = imgdamage.Image(sys.argv[1])
owner = {}
for ino in img.used_inodes():
    _, _, raw = img.inode(ino)
    data, ind = img.walk(ino, raw)
    if data and ind:
        owner[img.read(data[0])[:1]] = (ino, raw, data, ind)
a_ino, a_raw, _, a_ind = owner[b"A"]
b_ino, _, b_data, _ = owner[b"B"]
ind = a_ind[0]
target = b_data[20]
blk = bytearray(img.read(ind))
assert imgdamage.u32(blk, 0) != 0
struct.pack_into("<I", blk, 0, target)   # A's file block 12 -> B's file block 20, unsealed
with open(sys.argv[1], "r+b") as f:
    f.seek(ind * 4096)
    f.write(blk)
print(f"inode {a_ino} (A): indirect block {ind} entry 0 -> block {target} (B, inode {b_ino})")
PY

# --- fsck: report, then repair a copy ----------------------------------------
rc=0; "$FSCK" -n "$img" > "$WORK/fsck.out" 2>&1 || rc=$?
cat "$WORK/fsck.out"
[ "$rc" -eq 4 ] || fail "fsck.vexfs -n exited $rc on a redirected indirect block (expected 4)"
grep -q "indirect block checksum mismatch" "$WORK/fsck.out" || fail "fsck.vexfs -n did not name the indirect block"
fixed=$WORK/fixed.img
cp --sparse=always "$img" "$fixed"
rc=0; "$FSCK" -y "$fixed" > "$WORK/fsck-y.out" 2>&1 || rc=$?
cat "$WORK/fsck-y.out"
[ "$rc" -eq 1 ] || fail "fsck.vexfs -y exited $rc (expected 1: errors corrected)"
fsck_clean "$fixed"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
sumB=$1
a_direct=$(head -c $((12 * 4096)) /dev/zero | tr '\0' A | md5sum | cut -d' ' -f1)

# The repaired copy (vdb): B whole; A whole but for file block 12, a hole.
mount -t vexfs /dev/vdb /mnt
[ "$(md5sum < /mnt/B | cut -d' ' -f1)" = "$sumB" ] || fail "repaired image: B changed"
[ "$(stat -c %s /mnt/A)" = $((100 * 4096)) ] || fail "repaired image: A size $(stat -c %s /mnt/A)"
[ "$(head -c $((12 * 4096)) /mnt/A | md5sum | cut -d' ' -f1)" = "$a_direct" ] || fail "repaired image: A's direct blocks changed"
run_ok /tmp/blk12 dd if=/mnt/A bs=4096 skip=12 count=1
cmp -s -n 4096 /tmp/blk12 /dev/zero && [ "$(stat -c %s /tmp/blk12)" = 4096 ] || fail "repaired image: A's cleared block is not a hole"
run_ok /tmp/tail dd if=/mnt/A bs=4096 skip=13
[ "$(stat -c %s /tmp/tail)" = $((87 * 4096)) ] || fail "repaired image: A's tail has the wrong length"
head -c $((87 * 4096)) /dev/zero | tr '\0' A > /tmp/tail.want
cmp -s /tmp/tail /tmp/tail.want || fail "repaired image: A's other indirect-mapped blocks changed"
umount /mnt

# The damaged image (vda).
mount -t vexfs /dev/vda /mnt
[ "$(md5sum < /mnt/B | cut -d' ' -f1)" = "$sumB" ] || fail "B does not read back whole"
[ "$(head -c $((12 * 4096)) /mnt/A | md5sum | cut -d' ' -f1)" = "$a_direct" ] || fail "A's direct blocks do not read"
out=$(dd if=/mnt/A of=/dev/null bs=4096 skip=12 count=1 2>&1) && fail "A's indirect range read: $out"
# EUCLEAN from the block map; a read through the page cache reports it as EIO.
echo "$out" | grep -qiE "structure needs cleaning|input/output error" || fail "expected EUCLEAN or EIO, got: $out"
dmesg | grep -q "corruption: inode [0-9]*: block [0-9]*: indirect block checksum mismatch" \
  || fail "no corruption message: $(dmesg | tail -5)"
# Unlink A: its evict must not free what the damaged block names.
rm /mnt/A
dmesg | grep -q "leaking its subtree: run fsck.vexfs" || fail "no leak message on unlink: $(dmesg | tail -5)"
sync
head -c $((200 * 4096)) /dev/zero | tr '\0' C > /mnt/C
sync
echo 3 > /proc/sys/vm/drop_caches
[ "$(md5sum < /mnt/B | cut -d' ' -f1)" = "$sumB" ] || fail "B was overwritten after unlinking A"
umount /mnt
mount -t vexfs /dev/vda /mnt
[ "$(md5sum < /mnt/B | cut -d' ' -f1)" = "$sumB" ] || fail "B changed after remount"
head -c $((200 * 4096)) /dev/zero | tr '\0' C > /tmp/C.want
cmp -s /mnt/C /tmp/C.want || fail "C does not read back"
umount /mnt
echo "indirect-redirect: ok"
GUEST
"$VM_RUN" --disk "$img" --disk "$fixed" "$WORK/guest.sh" "$sumB"
# A's leaked subtree: fsck finds the blocks marked in use that nothing claims,
# and repairs them.
rc=0; "$FSCK" -y "$img" > "$WORK/fsck-after.out" 2>&1 || rc=$?
cat "$WORK/fsck-after.out"
[ "$rc" -eq 1 ] || fail "fsck.vexfs -y after the unlink exited $rc (expected 1: leaked blocks freed)"
fsck_clean "$img"
echo "indirect-redirect: passed"
