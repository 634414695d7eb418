#!/usr/bin/env bash
# Link counts are trusted from disk. Damaged ones (inodes resealed with a
# valid checksum, so only the counts are wrong) must give corruption reports,
# never a WARN from drop_nlink() (a panic under panic_on_warn), and never free
# a directory that still has a name:
#  - a file with two names and a count of 1: open it, unlink both names; the
#    second unlink finds the count at zero (reported, the name goes);
#  - a directory holding two subdirectories with a count of 2: removing both
#    would take it to 0 links while named; the second rmdir is reported and
#    the directory stays (listable after a remount);
#  - an empty directory with a count of 3: rmdir reports it and still frees it;
#  - a directory with a count of 1: lookup refuses it (EUCLEAN).
# fsck.vexfs -n reports the counts beforehand (exit 4); after the guest's
# removals, fsck -y repairs what is left and a last -n is clean.
. "$(dirname "$0")/../lib/common.sh"
t=$WORK/tree
mkdir -p "$t/P/S1" "$t/P/S2" "$t/E" "$t/D"
echo data > "$t/F"
ln "$t/F" "$t/G"
echo keep > "$t/keep"
img=$WORK/r.img
new_image "$img" 64M -d "$t"
fsck_clean "$img"
python3 - "$img" "$VM_TOP/tests/vm/lib" <<'PY' || fail "could not damage the link counts"
import struct, sys
sys.path.insert(0, sys.argv[2])
import imgdamage as d
img = d.Image(sys.argv[1])
_, _, root = img.inode(2)
names = {}
for b in img.walk(2, root)[0]:
    blk = img.read(b)
    for o in d.dir_entries(blk):
        ino, nl = d.u32(blk, o), blk[o + 6]
        if ino:
            names[bytes(blk[o + 8:o + 8 + nl]).decode()] = ino
want = {"F": 1, "P": 2, "E": 3, "D": 1}
with open(sys.argv[1], "r+b") as f:
    for name, links in want.items():
        ino = names[name]
        blk, off, raw = img.inode(ino)
        raw = bytearray(raw)
        was = struct.unpack_from("<H", raw, 2)[0]
        struct.pack_into("<H", raw, 2, links)
        d.seal_inode(raw, ino)
        f.seek(blk * 4096 + off)
        f.write(raw)
        print(f"{name}: inode {ino} links {was} -> {links}")
PY
rc=0; "$FSCK" -n "$img" > "$WORK/fsck.out" 2>&1 || rc=$?
cat "$WORK/fsck.out"
[ "$rc" -eq 4 ] || fail "fsck.vexfs -n exited $rc on damaged link counts (expected 4)"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
cd /mnt
[ "$(cat keep)" = keep ] || fail "an undamaged file is unreadable"
# D: a directory with one link is refused at lookup.
out=$(ls D 2>&1) && fail "a directory with 1 link was listed: $out"
echo "$out" | grep -qi "structure needs cleaning" || fail "expected EUCLEAN for D, got: $out"
dmesg | grep -q "corruption: directory [0-9]* has 1 link" || fail "no message for D"
# F/G: two names, a count of 1.
exec 3< F
ls -l F G > /dev/null
rm F
rm G
dmesg | grep -q "link count already zero with a name left" || fail "no message for the second unlink"
[ "$(cat <&3)" = data ] || fail "the open unlinked file does not read"
exec 3<&-
[ ! -e G ] || fail "G is still there"
# P: two subdirectories, a count of 2.
rmdir P/S1
rmdir P/S2
dmesg | grep -q "too low to drop a subdirectory's '..'" || fail "no message for P"
# E: empty, a count of 3.
rmdir E
dmesg | grep -q "links after removing its name from an empty directory" || fail "no message for E"
[ ! -e E ] || fail "E is still there"
cd /
umount /mnt
mount -t vexfs /dev/vda /mnt
[ -d /mnt/P ] || fail "P is gone after a remount"
run_ok /tmp/ls.txt ls -A /mnt/P
[ ! -s /tmp/ls.txt ] || fail "P is not empty after a remount: $(cat /tmp/ls.txt)"
touch /mnt/P/new || fail "P is not usable after a remount"
[ "$(cat /mnt/keep)" = keep ] || fail "keep changed"
umount /mnt
run_ok /tmp/dmesg.txt dmesg
absent "WARNING|BUG" /tmp/dmesg.txt "kernel warning"
echo "link-count-damage: ok"
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh"
rc=0; "$FSCK" -y "$img" > "$WORK/fsck-y.out" 2>&1 || rc=$?
cat "$WORK/fsck-y.out"
[ "$rc" -le 1 ] || fail "fsck.vexfs -y exited $rc after the guest (expected 0 or 1)"
fsck_clean "$img"
echo "link-count-damage: passed"
