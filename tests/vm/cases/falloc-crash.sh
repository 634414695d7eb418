#!/usr/bin/env bash
# Issue 16 part 2: power cuts during fallocate. Each cycle fills part of the
# disk with a marker byte (0xee) and deletes it, so the free blocks hold old
# data; then a workload preallocates (mode 0, KEEP_SIZE past EOF), punches
# holes and zeroes ranges in files holding their own byte, and deletes old
# files so their blocks are reused, until the host cuts the power at a random
# moment. The next boot replays the journal; every file must hold only zeros
# and its own byte, also after a truncate up exposes the blocks preallocated
# past EOF; fsck.vexfs finds the volume clean. VEXFS_CRASH_CYCLES (default 2),
# VEXFS_CRASH_SEED.
. "$(dirname "$0")/../lib/common.sh"
cycles=${VEXFS_CRASH_CYCLES:-2}
RANDOM=${VEXFS_CRASH_SEED:-$$}
command -v musl-gcc >/dev/null || fail "musl-gcc not found (apt-get install musl-tools; 'make deps')"
mkdir -p "$WORK/add"
musl-gcc -static -O2 -Wall -Werror -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
  -o "$WORK/add/vexfs-fsx" "$VM_TOP/tests/vm/lib/guest-tools/vexfs-fsx.c" || fail "building vexfs-fsx"
img=$WORK/falloc-crash.img
# Small: the allocator wraps around often, so freed blocks (the marker's and
# other files' own bytes) are reused all the time.
new_image "$img" 64M --dim 4

cat > "$WORK/work.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
c=$1 cut_after=$2
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
rm -rf /mnt/c*
i=0
while [ $i -lt 3 ]; do vexfs-fsx fill /mnt/stale$i 0 12582912 0xee; i=$((i + 1)); done
rm /mnt/stale*
sync
# A fresh mount allocates from the start of the data area again: the
# workload reuses the marker blocks at once.
umount /mnt
mount -t vexfs /dev/vda /mnt
mkdir /mnt/c$c
d=/mnt/c$c
echo "WORKLOAD-START $c"
( sleep "$cut_after"; vm-powercut ) &
n=0
while [ $n -lt 100000 ]; do
  f=$d/p$n b=$((n % 200 + 1))
  case $((n % 4)) in
  0) r=$(vexfs-fsx falloc $f alloc 0 1048576); [ "$r" = ok ] || fail "alloc $f: $r"
     vexfs-fsx fill $f 262144 65536 $b ;;
  1) vexfs-fsx fill $f 0 65536 $b
     r=$(vexfs-fsx falloc $f keep 65536 2031616); [ "$r" = ok ] || fail "keep $f: $r" ;;
  2) vexfs-fsx fill $f 0 1048576 $b
     r=$(vexfs-fsx falloc $f punch 132072 600000); [ "$r" = ok ] || fail "punch $f: $r" ;;
  3) vexfs-fsx fill $f 0 1048576 $b
     r=$(vexfs-fsx falloc $f zero 100000 800000); [ "$r" = ok ] || fail "zero $f: $r"
     r=$(vexfs-fsx falloc $f zerokeep 1048576 524288); [ "$r" = ok ] || fail "zerokeep $f: $r" ;;
  esac
  [ $n -lt 16 ] || rm $d/p$((n - 16))
  n=$((n + 1))
done
GUEST

cat > "$WORK/verify.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
c=$1
mount -t vexfs /dev/vda /mnt
n=0 bad=0
for f in /mnt/c$c/p*; do
  [ -e "$f" ] || continue
  i=${f##*/p} b=$((${f##*/p} % 200 + 1))
  vexfs-fsx scan "$f" $b || bad=$((bad + 1))
  # Blocks preallocated past EOF become file data when the file grows.
  [ "$(stat -c %s "$f")" -ge 3145728 ] || truncate -s 3145728 "$f"
  vexfs-fsx scan "$f" $b || bad=$((bad + 1))
  n=$((n + 1))
done
echo "checked $n files, $bad with foreign data"
umount /mnt
[ $n -gt 0 ] && [ $bad -eq 0 ]
GUEST

for c in $(seq 1 "$cycles"); do
  kill_at=$((2 + RANDOM % 8))
  log=$WORK/work-$c.log
  rc=0
  VEXFS_VM_LOG=$log "$VM_RUN" --disk "$img" --add "$WORK/add" --kill-after 600 "$WORK/work.sh" "$c" "$kill_at" > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { tail -n 30 "$log"; fail "cycle $c: workload run exited $rc, expected the power cut (137)"; }
  grep -q "WORKLOAD-START $c" "$log" || { tail -n 30 "$log"; fail "cycle $c: the workload never started"; }
  rc=0
  VEXFS_VM_LOG=$WORK/verify-$c.log "$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/verify.sh" "$c" > /dev/null 2>&1 || rc=$?
  grep -E "checked|STALE|FAIL|replay|recover" "$WORK/verify-$c.log" | tr -d '\r' | sed "s/^/cycle $c: /"
  [ "$rc" -eq 0 ] || { tail -n 30 "$WORK/verify-$c.log"; fail "cycle $c: verification boot exited $rc"; }
  fsck_clean "$img"
  echo "cycle $c: power cut ${kill_at}s into the workload, no stale data, fsck clean"
done
echo "falloc-crash: passed ($cycles cycles)"
