#!/usr/bin/env bash
# Issue 3 item 5: crash consistency. A workload writes files (with vectors;
# every other one rewritten with O_DIRECT), fsyncs each and then prints it;
# meanwhile it renames, unlinks and keeps unlinked files open. The host
# kills QEMU at a random moment. The next boot mounts (replaying the
# journal, freeing orphans), every fsync'ed file has its content and its
# vector, and fsck.vexfs finds the volume clean.
# VEXFS_CRASH_CYCLES (default 10) cycles on one image; VEXFS_CRASH_SEED.
. "$(dirname "$0")/../lib/common.sh"
cycles=${VEXFS_CRASH_CYCLES:-10}
RANDOM=${VEXFS_CRASH_SEED:-$$}
img=$WORK/crash.img
new_image "$img" 256M --dim 8

cat > "$WORK/work.sh" <<'GUEST'
set -eu
c=$1 cut_after=$2
mount -t vexfs /dev/vda /mnt
# The power cut: the host kills QEMU when the guest asks (vm-powercut), at a
# moment the host chose at random, while the workload below runs.
( sleep "$cut_after"; vm-powercut ) &
d=/mnt/c$c
mkdir -p $d/churn
echo "WORKLOAD-START $c"
i=0
while [ $i -lt 100000 ]; do
  f=$d/f$i
  dd if=/dev/urandom of=$f bs=1024 count=$((1 + i % 40)) 2>/dev/null
  # Every other file is then rewritten with O_DIRECT (iomap over the mapped
  # blocks, the block holding EOF through the page cache) before its fsync.
  [ $((i % 2)) -eq 1 ] || dd if=/dev/urandom of=$f bs=1024 count=$((1 + i % 40)) oflag=direct conv=notrunc 2>/dev/null
  v="$i,1,2,3,4,5,6,$c"
  vexctl set $f --vector "$v"
  sync $f
  echo "FSYNCED $f $(md5sum < $f | cut -d' ' -f1) $v"
  # Churn that is never fsync'ed: renames, overwrites, unlinks, open orphans.
  echo "$i" > $d/churn/t$i
  mv $d/churn/t$i $d/churn/cur
  [ $((i % 4)) -ne 0 ] || rm -f $d/churn/cur
  if [ $((i % 5)) -eq 0 ]; then
    echo orphan > $d/churn/o$i
    exec 3< $d/churn/o$i
    rm $d/churn/o$i
  fi
  i=$((i + 1))
done
GUEST

cat > "$WORK/verify.sh" <<'GUEST'
set -eu
mount -t vexfs /dev/vda /mnt
n=0 bad=0
while read -r path md5 vec; do
  got=$(md5sum < "$path" | cut -d' ' -f1) || got=missing
  if [ "$got" != "$md5" ]; then echo "LOST $path: content $got, fsync'ed $md5"; bad=$((bad + 1)); fi
  gv=$(vexctl get "$path") || gv=missing
  if [ "$gv" != "$vec" ]; then echo "LOST $path: vector $gv, fsync'ed $vec"; bad=$((bad + 1)); fi
  n=$((n + 1))
done < /extra/fsynced.txt
echo "verified $n fsync'ed files, $bad losses"
# The index answers with live files only.
vexctl search /mnt --vector 1,1,2,3,4,5,6,1 -k 20 --exact --json > /tmp/r.json
for p in $(tr ',' '\n' < /tmp/r.json | sed -n 's/.*"path":"\([^"]*\)".*/\1/p'); do
  [ -e "/mnt/$p" ] || { echo "search returned missing file $p"; bad=$((bad + 1)); }
done
umount /mnt
[ $bad -eq 0 ]
GUEST

mkdir -p "$WORK/add"
: > "$WORK/add/fsynced.txt"
for c in $(seq 1 "$cycles"); do
  kill_at=$((1 + RANDOM % 12))
  log=$WORK/work-$c.log
  rc=0
  VEXFS_VM_LOG=$log "$VM_RUN" --disk "$img" --kill-after 600 "$WORK/work.sh" "$c" "$kill_at" > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { tail -n 30 "$log"; fail "cycle $c: workload run exited $rc, expected the power cut (137)"; }
  grep -q "WORKLOAD-START $c" "$log" || { tail -n 30 "$log"; fail "cycle $c: the workload never started"; }
  # Complete lines only: the cut may land mid-line.
  tr -d '\r' < "$log" | awk -v dir="/mnt/c$c/" '
    $1 == "FSYNCED" && NF == 4 && index($2, dir) == 1 && $3 ~ /^[0-9a-f]+$/ && length($3) == 32 &&
    $4 ~ /^[0-9,]+$/ { print $2, $3, $4 }' >> "$WORK/add/fsynced.txt"
  n=$(wc -l < "$WORK/add/fsynced.txt")
  rc=0
  VEXFS_VM_LOG=$WORK/verify-$c.log "$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/verify.sh" > /dev/null 2>&1 || rc=$?
  grep -E "verified|LOST|search returned|orphan|replay|recover" "$WORK/verify-$c.log" | tr -d '\r' | sed "s/^/cycle $c: /"
  [ "$rc" -eq 0 ] || { tail -n 30 "$WORK/verify-$c.log"; fail "cycle $c: verification boot exited $rc"; }
  fsck_clean "$img"
  echo "cycle $c: power cut ${kill_at}s into the workload, $n fsync'ed files so far intact, fsck clean"
done
[ "$(wc -l < "$WORK/add/fsynced.txt")" -gt 0 ] || fail "no file was ever fsync'ed: the test measured nothing"
echo "crash-fsync: passed ($cycles cycles)"
