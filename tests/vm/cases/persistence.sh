#!/usr/bin/env bash
# Issue 3 item 4: persistence. The guest builds a tree (files from 0 bytes to
# 3 MiB around the direct/indirect boundaries, sparse files, short and long
# symlinks, hard links, nested and multi-block directories, FIFOs and device
# nodes, modes incl. setuid/sticky, owners, fixed mtimes with nanoseconds, before 1970 and after 2038,
# vectors), records for every path its checksum (or link target) and stat
# metadata (type+mode, uid, gid, size, nlink, blocks, inode, mtime, ctime),
# then compares after umount/mount in the same boot and after a second VM
# boot on the same disk (a reboot). fsck.vexfs clean after each boot.
. "$(dirname "$0")/../lib/common.sh"
img=$WORK/persist.img out=$WORK/out.img
new_image "$img" 256M --dim 4
new_outdisk "$out"

cat > "$WORK/record.sh" <<'GUEST'
# record ROOT > MANIFEST: one line per path, sorted.
record() {
  cd "$1"
  find . | sort | while read -r p; do
    m=$(stat -c '%f %u %g %s %h %b %i %y %z' "$p")
    if [ -L "$p" ]; then x="-> $(readlink "$p")"
    elif [ -f "$p" ]; then x="md5 $(md5sum < "$p" | cut -d' ' -f1) vec $(vexctl get "$p" 2>/dev/null || echo none)"
    else x=-; fi
    echo "$p | $m | $x"
  done
  cd /
}
GUEST

cat > "$WORK/run1.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
. /extra/record.sh
mount -t vexfs /dev/vda /mnt
cd /mnt
mkdir -p a/b/c/d empty many sticky
i=0
for s in 0 1 100 4095 4096 4097 8192 49151 49152 49153 65536 1000000 3145728; do
  if [ "$s" = 0 ]; then : > a/f-0; else dd if=/dev/urandom of=a/f-$s bs=$s count=1 2>/dev/null; fi
  [ "$(stat -c %s a/f-$s)" = "$s" ] || { echo "FAIL: a/f-$s has size $(stat -c %s a/f-$s)"; exit 1; }
done
dd if=/dev/urandom of=a/b/c/d/deep bs=1k count=300 2>/dev/null
for i in $(seq 1 300); do echo "entry $i" > many/entry-with-a-longish-name-$i; done
# sparse: data at the start, in the middle, at the end; a pure hole file
printf head > sparse1; printf mid | dd of=sparse1 bs=1 seek=$((7 * 1024 * 1024 + 13)) conv=notrunc 2>/dev/null
printf tail | dd of=sparse1 bs=1 seek=$((20 * 1024 * 1024 - 4)) conv=notrunc 2>/dev/null
truncate -s 16M sparse-hole
dd if=/dev/urandom of=sparse2 bs=4096 count=3 seek=5000 2>/dev/null
ln -s a/f-100 short-link
ln -s "$(printf 'a/../%.0s' $(seq 1 30))a/f-4097" long-link
ln -s /nonexistent/target dangling
ln a/f-8192 hard1; ln a/f-8192 a/b/hard2
mkfifo fifo
mknod chardev c 1 3
mknod blockdev b 7 0
chmod 4755 a/f-1; chmod 2711 a/f-0; chmod 600 a/f-100; chmod 1777 sticky; chmod 700 a/b
chown 1000:100 a/f-4096; chown 65534:65534 a/b/c; chown 12345:54321 fifo short-link
vexctl set a/f-4096 --vector 1,2,3,4
vexctl set a/b/c/d/deep --vector -1.5,0.25,1e-3,7
vexctl set hard1 --vector 0,0,0,1
vexfs-mmap utimens a/f-49152 981173106 123456789    # 2001-02-03 04:05:06.123456789
vexfs-mmap utimens many 981173106 999999999
vexfs-mmap utimens short-link 946684799 5            # the link itself
vexfs-mmap utimens a/f-1000000 2147483648 0          # past 2038
vexfs-mmap utimens a/f-65536 -14182940 0             # 1969-07-20 20:17:40
cd /
record /mnt > /tmp/m1
n=$(wc -l < /tmp/m1)
umount /mnt
mount -t vexfs /dev/vda /mnt
record /mnt > /tmp/m2
if ! diff /tmp/m1 /tmp/m2; then echo "FAIL: tree differs after umount/mount"; exit 1; fi
umount /mnt
echo "persistence: $n paths identical after umount/mount"
cp /tmp/m1 /tmp/manifest
cd /tmp && tar cf /dev/vdb manifest
GUEST

cat > "$WORK/run2.sh" <<'GUEST'
set -eu
. /extra/record.sh
mount -t vexfs /dev/vda /mnt
record /mnt > /tmp/m3
umount /mnt
if ! diff /extra/manifest /tmp/m3; then echo "FAIL: tree differs after a reboot"; exit 1; fi
echo "persistence: $(wc -l < /tmp/m3) paths identical after a reboot"
GUEST

build_guest_tools "$WORK/add"
cp "$WORK/record.sh" "$WORK/add/"
"$VM_RUN" --disk "$img" --disk "$out" --add "$WORK/add" "$WORK/run1.sh"
fsck_clean "$img"
from_outdisk "$out" "$WORK/add"
n=$(wc -l < "$WORK/add/manifest")
[ "$n" -ge 330 ] || fail "manifest has only $n paths"
# The manifest must really hold what was built (guards against a silently empty record).
grep -q '^./a/f-4096 | 81a4 1000 100 4096 1 ' "$WORK/add/manifest" || fail "a/f-4096 metadata: $(grep '^./a/f-4096 ' "$WORK/add/manifest")"
grep -q '^./a/f-4096 .* vec 1,2,3,4$' "$WORK/add/manifest" || fail "a/f-4096 vector"
grep -q '^./a/f-49152 .* 2001-02-03 04:05:06.123456789' "$WORK/add/manifest" || fail "nanosecond mtime: $(grep '^./a/f-49152 ' "$WORK/add/manifest")"
grep -q '^./a/f-65536 .* 1969-07-20 20:17:40' "$WORK/add/manifest" || fail "pre-1970 mtime: $(grep '^./a/f-65536 ' "$WORK/add/manifest")"
grep -q '^./hard1 | 81a4 0 0 8192 3 ' "$WORK/add/manifest" || fail "hard link count: $(grep '^./hard1 ' "$WORK/add/manifest")"
grep -q '^./sparse-hole | 81a4 0 0 16777216 1 0 ' "$WORK/add/manifest" || fail "hole-only file: $(grep '^./sparse-hole ' "$WORK/add/manifest")"
grep -q '^./chardev | 21a4 ' "$WORK/add/manifest" || fail "char device: $(grep '^./chardev ' "$WORK/add/manifest")"
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/run2.sh"
fsck_clean "$img"
echo "persistence: passed ($n paths, checksums and metadata identical after remount and reboot)"
