#!/bin/sh
# Guest part of tests/debug/cases/fault-injection.sh (see there): fault-injection.sh DEV ROUNDS
set -u
dev=$1 rounds=$2
PATH=/extra:$PATH
FI=/sys/kernel/debug
for k in failslab fail_page_alloc fail_make_request; do
  [ -d $FI/$k ] || { echo "FI: $FI/$k missing (not the debug kernel?)"; exit 1; }
done
setup() { # kind probability task-filter
  d=$FI/$1
  echo 0 > $d/probability
  echo 1 > $d/interval
  echo 100000 > $d/times
  echo 0 > $d/space
  echo 0 > $d/verbose
  echo $3 > $d/task-filter
  [ ! -e $d/ignore-gfp-wait ] || echo N > $d/ignore-gfp-wait
  [ ! -e $d/ignore-gfp-highmem ] || echo N > $d/ignore-gfp-highmem
  [ ! -e $d/min-order ] || echo 0 > $d/min-order
  echo $2 > $d/probability
}
off() { echo 0 > $FI/$1/probability; echo 0 > /sys/block/$dev/make-it-fail; }
injected() { cat $FI/$1/times; }
workload() { # runs with make-it-fail set; every command may fail
  r=$1
  mkdir /mnt/w$r 2>/dev/null
  i=0
  while [ $i -lt 24 ]; do
    echo "round $r file $i" > /mnt/w$r/f$i 2>/dev/null
    dd if=/dev/urandom of=/mnt/w$r/big$i bs=4096 count=$((i % 5 + 1)) 2>/dev/null
    vexctl set /mnt/w$r/f$i --vector "$i,$r,1,0.5" >/dev/null 2>&1
    i=$((i + 1))
  done
  vexctl search /mnt --vector 1,2,1,0.5 -k 5 >/dev/null 2>&1
  vexctl range /mnt --vector 1,2,1,0.5 --max-distance 50 >/dev/null 2>&1
  mv /mnt/w$r/f1 /mnt/w$r/g1 2>/dev/null
  ln /mnt/w$r/f2 /mnt/w$r/h2 2>/dev/null
  ln -s f3 /mnt/w$r/s3 2>/dev/null
  rm -f /mnt/w$r/f4 /mnt/w$r/big5 /mnt/w$r/f1* 2>/dev/null
  vexctl rm /mnt/w$r/f7 >/dev/null 2>&1
  vexctl sync /mnt >/dev/null 2>&1
  truncate -s 1000 /mnt/w$r/big3 2>/dev/null
  sync
}
bad=0 n=0
for kind in failslab fail_page_alloc fail_make_request; do
  r=1
  while [ $r -le $rounds ]; do
    n=$((n + 1))
    prob=$(( (r * 7) % 20 + 3 ))   # 10, 17, 4, 11 ... percent
    # A write error injected in the previous round that no opener of the
    # device has seen yet is reported (errseq) to the next fsync of the
    # device: mkfs's first flush can fail with EIO for it. Once reported it is
    # seen, so a second mkfs must succeed.
    if ! mkfs.vexfs -q --dim 4 /dev/$dev; then
      echo "FI-ROUND $kind $r: mkfs failed once (an earlier round's unseen write error?), again"
      mkfs.vexfs -q --dim 4 /dev/$dev || { echo "FI-ROUND $kind $r: mkfs failed"; exit 1; }
    fi
    mount -t vexfs /dev/$dev /mnt || { echo "FI-ROUND $kind $r: mount failed"; exit 1; }
    mkdir /mnt/base && echo base > /mnt/base/keep && vexctl set /mnt/base/keep --vector 1,1,1,1 >/dev/null
    # Durable before the faults start: it must survive whatever they do.
    sync
    if [ $kind = fail_make_request ]; then
      setup $kind $prob N
      echo 1 > /sys/block/$dev/make-it-fail
      ( workload $r ) > /dev/null 2>&1
    else
      setup $kind $prob Y
      ( echo 1 > /proc/self/make-it-fail; workload $r ) > /dev/null 2>&1
    fi
    off $kind
    # times counts down from 100000 at each injected failure.
    left=$(injected $kind)
    umount /mnt; urc=$?
    mount -t vexfs /dev/$dev /mnt; mrc=$?
    if [ $mrc = 0 ]; then
      find /mnt -type f -exec cat {} + > /dev/null 2>&1
      vexctl search /mnt --vector 1,1,1,1 -k 3 > /dev/null 2>&1
      [ "$(cat /mnt/base/keep 2>/dev/null)" = base ] || { echo "FI-ROUND $kind $r: /mnt/base/keep lost"; bad=$((bad + 1)); }
      umount /mnt || { echo "FI-ROUND $kind $r: second umount failed"; bad=$((bad + 1)); }
    fi
    fsck.vexfs -n /dev/$dev > /tmp/fsck.out 2>&1; frc=$?
    echo "FI-ROUND $kind round $r probability $prob%: failures injected $(( 100000 - left )), umount $urc, remount $mrc, fsck -n $frc"
    if [ $urc != 0 ] || [ $mrc != 0 ] || [ $frc != 0 ]; then
      bad=$((bad + 1))
      sed 's/^/    fsck: /' /tmp/fsck.out | head -n 30
    fi
    r=$((r + 1))
  done
done
rmmod vexfs || { echo "FI: rmmod failed"; bad=$((bad + 1)); }
echo "FI: $n rounds, $bad failed"
[ $bad = 0 ]
