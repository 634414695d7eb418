#!/usr/bin/env bash
# Files and directories on a mounted VexFS: write/read, sparse files,
# truncate, links, symlinks, rename, rmdir ENOTEMPTY, unlink-while-open;
# contents identical after umount/mount; the image checks clean afterwards.
. "$(dirname "$0")/../lib/common.sh"

img=$WORK/files.img
new_image "$img" 512M

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
cd /mnt
mkdir -p d1/d2/d3 big
dd if=/dev/urandom of=d1/rand bs=4096 count=300 2>/dev/null        # direct + indirect blocks
dd if=/dev/urandom of=big/f bs=1M count=8 2>/dev/null               # double indirect
echo hello > d1/d2/d3/hello.txt
printf 'x' | dd of=sparse bs=1 seek=$((3 * 1024 * 1024 * 1024)) conv=notrunc 2>/dev/null
# The 3 GiB hole is checked by samples (first block, the middle, around 2 GiB,
# the block before the last) and the final byte: md5sum read all of it twice,
# minutes under the debug kernel, for the same answer.
check_sparse() {
  [ "$(stat -c %s sparse)" = $((3 * 1024 * 1024 * 1024 + 1)) ] || fail "sparse size $(stat -c %s sparse) ($1)"
  for blk in 0 1000 393216 524287 524288 786431; do
    run_ok /tmp/blk dd if=sparse bs=4096 skip=$blk count=1
    cmp -s -n 4096 /tmp/blk /dev/zero || fail "hole block $blk not 4096 zero bytes ($1)"
  done
  [ "$(dd if=sparse bs=1 skip=$((3 * 1024 * 1024 * 1024)) count=1 2>/dev/null)" = x ] || fail "last byte of the sparse file ($1)"
}
check_sparse written
[ "$(stat -c %b sparse)" -le 64 ] || fail "sparse file allocated $(stat -c %b sparse) sectors"
ln -s d1/d2/d3/hello.txt short-link
long=$(printf 'd1/%.0s' $(seq 1 40))../d1/d2/d3/hello.txt
ln -s "$long" long-link
[ "$(cat short-link)" = hello ] || fail "short symlink"
[ "$(readlink long-link)" = "$long" ] || fail "long symlink target"
ln d1/rand d1/rand-hard
[ "$(stat -c %h d1/rand)" = 2 ] || fail "hard link count $(stat -c %h d1/rand)"
[ "$(stat -c %h d1)" = 3 ] || fail "dir link count $(stat -c %h d1)"
mv d1/d2 d2moved && [ -f d2moved/d3/hello.txt ] || fail "rename dir across"
[ "$(stat -c %h d1)" = 2 ] || fail "dir link count after move $(stat -c %h d1)"
echo two > other && mv other d1/rand-hard && [ "$(stat -c %h d1/rand)" = 1 ] || fail "rename over link"
if rmdir d2moved 2> /tmp/rmdir.err; then fail "rmdir of a non-empty dir succeeded"; fi
present -i 'not empty' /tmp/rmdir.err "rmdir of a non-empty dir: not ENOTEMPTY"
truncate -s 5000 big/f && [ "$(stat -c %s big/f)" = 5000 ] || fail "truncate down"
truncate -s 100000 big/f || fail "truncate up"
run_ok /tmp/grown dd if=big/f bs=1 skip=6000 count=10
cmp -s -n 10 /tmp/grown /dev/zero || fail "truncate up not zero"
for i in $(seq 1 600); do echo "$i" > "d1/many-$i"; done          # directory grows past one block
run_ok /tmp/ls.txt ls d1
[ "$(wc -l < /tmp/ls.txt)" = 602 ] || fail "readdir count $(wc -l < /tmp/ls.txt)"
exec 3< d1/rand
rm d1/rand
md5a=$(md5sum <&3 | cut -d' ' -f1)
exec 3<&-
sync   # the HNSW graph file is written at sync: count after it
free1=$(stat -f -c %f /mnt)
md5sum d1/rand-hard big/f d2moved/d3/hello.txt > /tmp/sums
cd /
umount /mnt
mount -t vexfs /dev/vda /mnt
cd /mnt
md5sum -c /tmp/sums || fail "contents changed across remount"
check_sparse "after remount"
[ "$(stat -f -c %f /mnt)" = "$free1" ] || fail "free blocks changed across remount"
[ ! -e d1/rand ] || fail "unlinked file came back"
for i in $(seq 1 600); do rm "d1/many-$i"; done
rm -r d2moved big sparse short-link long-link
cd /
umount /mnt
rmmod vexfs
echo "files-basic: ok (unlinked-open md5 $md5a)"
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh"
fsck_clean "$img"
echo "files-basic: passed"
