#!/bin/sh
# Guest part of tests/debug/cases/flush-ordering.sh (see there):
# flush-ordering.sh DATA LOG REPLAY SNAPSHOT NFILES (device names without /dev)
set -u
data=$1 log=$2 rep=$3 snap=$4 nfiles=$5
PATH=/extra:$PATH
# Built into the debug kernel; a module on Debian's stock kernel.
[ -e /dev/mapper/control ] || modprobe dm-log-writes || { echo "FLUSH: no device-mapper"; exit 1; }
modprobe dm-log-writes 2>/dev/null || echo "FLUSH: dm-log-writes not loaded as a module (built in)"
sectors=$(( $(blockdev --getsize64 /dev/$data) / 512 ))
dm=$(vexfs-dm create lw log-writes $sectors "/dev/$data /dev/$log") || { echo "FLUSH: dm-log-writes setup failed"; exit 1; }
vexfs-dm message lw "mark mkfs" || exit 1
mount -t vexfs $dm /mnt || { echo "FLUSH: mount on $dm failed"; exit 1; }
mkdir /mnt/d
i=1
while [ $i -le $nfiles ]; do
  yes "vexfs flush-ordering file $i" | head -c $((i * 5000 + 123)) > /mnt/d/f$i
  vexctl set /mnt/d/f$i --vector "$i,0,1,0" > /dev/null
  # Unsynced noise between the fsyncs: new files, renames, unlinks.
  echo "noise $i" > /mnt/n$i; [ $i -gt 1 ] && mv /mnt/n$((i - 1)) /mnt/m$i
  [ $i -gt 2 ] && rm -f /mnt/m$((i - 1))
  sync /mnt/d/f$i /mnt/d || { echo "FLUSH: fsync f$i failed"; exit 1; }
  md5sum /mnt/d/f$i | cut -d' ' -f1 > /tmp/sum$i
  vexfs-dm message lw "mark fsync-$i" || exit 1
  i=$((i + 1))
done
umount /mnt
vexfs-dm remove lw || exit 1
replay-log /dev/$log list > /tmp/entries || exit 1
echo "FLUSH: $(wc -l < /tmp/entries) log entries, $(grep -c ' [^ ]*[FU][^ ]* ' /tmp/entries) with flush/FUA, $(grep -c ' [^ ]*M[^ ]* ' /tmp/entries) marks"
# Checkpoints: every entry that is a flush, FUA or mark.
awk '$2 ~ /[FUM]/ {print $1, $2, $5}' /tmp/entries > /tmp/points
prev=0 bad=0 n=0
while read -r idx flags mark; do
  end=$((idx + 1))
  replay-log /dev/$log replay /dev/$rep $prev $end || { echo "FLUSH: replay to $end failed"; exit 1; }
  prev=$end
  # Files whose fsync mark is in the prefix must be intact.
  synced=$(awk -v e=$end '$1 < e && $5 ~ /^fsync-/ {sub("fsync-", "", $5); print $5}' /tmp/entries)
  dd if=/dev/$rep of=/dev/$snap bs=1M 2>/dev/null || exit 1
  n=$((n + 1))
  what="point $n (entry $idx $flags${mark:+ $mark})"
  if ! mount -t vexfs /dev/$snap /mnt 2>/tmp/mnt.err; then
    echo "FLUSH: $what: mount failed: $(cat /tmp/mnt.err)"; bad=$((bad + 1)); continue
  fi
  for f in $synced; do
    got=$(md5sum /mnt/d/f$f 2>/dev/null | cut -d' ' -f1)
    [ "$got" = "$(cat /tmp/sum$f)" ] || { echo "FLUSH: $what: fsync'ed file f$f ${got:+has wrong content}${got:-missing}"; bad=$((bad + 1)); }
  done
  umount /mnt || { echo "FLUSH: $what: umount failed"; bad=$((bad + 1)); }
  if ! fsck.vexfs -n /dev/$snap > /tmp/fsck.out 2>&1; then
    echo "FLUSH: $what: fsck.vexfs -n not clean:"; sed 's/^/    /' /tmp/fsck.out | head -n 20
    bad=$((bad + 1))
  fi
done < /tmp/points
rmmod vexfs || { echo "FLUSH: rmmod failed"; bad=$((bad + 1)); }
echo "FLUSH: $n replay points checked, $bad problems"
[ $n -gt 0 ] && [ $bad = 0 ]
