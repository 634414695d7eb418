#!/usr/bin/env bash
# Lazy sync mode with the int8 quantiser trained (after a remount): vectors
# queued for the graph -- a replaced vector and a new file -- are found by a
# graph kNN search at once, with the same results as the exact scan. (The
# re-rank count of an int8-steered walk once leaked into the queued-change
# scan as a distance threshold and hid every queued vector.)
. "$(dirname "$0")/../lib/common.sh"
build_guest_tools "$WORK/add"
img=$WORK/lazy.img
new_image "$img" 64M --dim 4 --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
PATH=/extra:$PATH
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
i=0
while [ $i -lt 40 ]; do
  echo f$i > /mnt/f$i; vexctl set /mnt/f$i --vector "$i,1,2,3"; i=$((i + 1))
done
umount /mnt
mount -t vexfs /dev/vda /mnt
vexctl config /mnt --sync-mode lazy --sync-interval-ms 60000 --batch-size 1000 >/dev/null
vexctl set /mnt/f7 --vector 20.5,1,2,3
echo new > /mnt/new; vexctl set /mnt/new --vector 20.25,1,2,3
p=$(vexctl status /mnt --json | sed -n 's/.*"pending": *\([0-9]*\).*/\1/p')
[ "$p" -gt 0 ] || fail "nothing pending ($p)"
F7=$(ls -i /mnt/f7 | awk '{print $1}') NEW=$(ls -i /mnt/new | awk '{print $1}')
for k in 3 10 41; do
  run_ok /tmp/g vexfs-rawsearch /mnt knn $k 0 0 20,1,2,3
  run_ok /tmp/e vexfs-rawsearch /mnt knn $k 0 1 20,1,2,3
  cmp -s /tmp/g /tmp/e || { cat /tmp/g /tmp/e; fail "k=$k: graph and exact results differ"; }
  present "^$F7 " /tmp/g "k=$k: the replaced vector (queued)"
  present "^$NEW " /tmp/g "k=$k: the new file's vector (queued)"
done
umount /mnt
rmmod vexfs
echo "vectors-lazy-pending: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "vectors-lazy-pending: passed"
