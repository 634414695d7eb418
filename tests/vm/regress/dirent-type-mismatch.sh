#!/usr/bin/env bash
# A directory entry whose file type disagrees with its inode's mode (found by
# fsck.vexfs, unnoticed by the kernel: damaged-images.sh's undetected-damage
# list). The entry block is re-sealed with a valid checksum, so only the
# cross-check in vexfs_lookup can see it: lookup must return EUCLEAN with a
# "corruption" message naming the entry, other names must keep working, and
# nothing may oops. fsck.vexfs -n must report it (exit 4).
. "$(dirname "$0")/../lib/common.sh"
mkdir -p "$WORK/tree"
echo good > "$WORK/tree/good"
echo marked > "$WORK/tree/TYPEMARKFILE"
img=$WORK/r.img
new_image "$img" 64M -d "$WORK/tree"
# Flip the entry's file type from regular file (1) to directory (2) and
# re-seal the block: crc32c(dir ino as le32 ++ block[:USABLE]) at USABLE + 4.
python3 - "$img" <<'PY' || fail "could not damage the entry"
import struct, sys
usable, root = 4096 - 8, 2
def crc32c(data, crc=0xffffffff):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff
img = bytearray(open(sys.argv[1], "rb").read())
name = b"TYPEMARKFILE"
hits = [i for i in range(len(img)) if img.startswith(name, i) and img[i - 2] == len(name)]
assert len(hits) == 1, hits
off = hits[0] - 8
assert img[off + 7] == 1, img[off + 7]
img[off + 7] = 2
blk = off // 4096 * 4096
img[blk + usable + 4:blk + usable + 8] = struct.pack("<I", crc32c(struct.pack("<I", root) + bytes(img[blk:blk + usable])))
open(sys.argv[1], "wb").write(img)
PY
rc=0; "$FSCK" -n "$img" > "$WORK/fsck.out" 2>&1 || rc=$?
[ "$rc" -eq 4 ] || { cat "$WORK/fsck.out"; fail "fsck.vexfs -n exited $rc on a mismatched entry type (expected 4)"; }
cat > "$WORK/guest.sh" <<'GUEST'
set -eu
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
[ "$(cat /mnt/good)" = good ] || fail "an undamaged file is unreadable"
out=$(cat /mnt/TYPEMARKFILE 2>&1) && fail "the mismatched entry opened: $out"
echo "$out" | grep -qi "structure needs cleaning" || fail "expected EUCLEAN, got: $out"
dmesg | grep -q "corruption: directory 2: entry 'TYPEMARKFILE' has file type 2" || fail "no corruption message: $(dmesg | tail -5)"
[ "$(cat /mnt/good)" = good ] || fail "an undamaged file became unreadable"
umount /mnt
echo "dirent-type-mismatch: ok"
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh"
echo "dirent-type-mismatch: passed"
