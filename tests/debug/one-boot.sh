#!/usr/bin/env bash
# The three debug cases (fault-injection, ioctl-fuzz, flush-ordering) in ONE
# boot of the debug kernel (a boot costs ~90 s under TCG with KASAN and
# lockdep): the same guest scripts (tests/debug/guest/*.sh) on their own
# disks, one after the other, vexfs.ko reloaded between them; kmemleak is
# scanned once at the end, after the last rmmod. The same knobs as the cases.
. "$(dirname "$0")/../vm/lib/common.sh"
. "$(dirname "$0")/lib.sh"
rounds=${VEXFS_FI_ROUNDS:-3}
secs=${VEXFS_IOCTL_FUZZ_SECONDS:-60}
seed=${VEXFS_IOCTL_FUZZ_SEED:-$RANDOM}
nfiles=${VEXFS_FLUSH_FILES:-8}
build_debug_tools "$WORK/add"
mkdir -p "$WORK/add/g" && cp "$VM_TOP"/tests/debug/guest/*.sh "$WORK/add/g/"
fi=$WORK/fi.img fz=$WORK/fuzz.img data=$WORK/data.img log=$WORK/log.img rep=$WORK/replay.img snap=$WORK/snap.img
new_image "$fi" 64M --dim 4
new_image "$fz" 64M --dim 4
new_image "$data" 32M --dim 4
cp "$data" "$rep"
rm -f "$log" "$snap"; truncate -s 256M "$log"; truncate -s 32M "$snap"
cat > "$WORK/guest.sh" <<'GUEST'
set -u
rounds=$1 secs=$2 seed=$3 nfiles=$4
rc=0
load() { [ -d /sys/module/vexfs ] || insmod /vexfs.ko || { echo "ONE-BOOT: insmod failed"; exit 1; }; }
echo "ONE-BOOT: fault injection"
sh /extra/g/fault-injection.sh vda "$rounds" || { echo "ONE-BOOT: fault injection FAILED"; rc=1; }
load
echo "ONE-BOOT: ioctl fuzzing"
sh /extra/g/ioctl-fuzz.sh vdb "$secs" "$seed" || { echo "ONE-BOOT: ioctl fuzzing FAILED"; rc=1; }
load
echo "ONE-BOOT: flush ordering"
sh /extra/g/flush-ordering.sh vdc vdd vde vdf "$nfiles" || { echo "ONE-BOOT: flush ordering FAILED"; rc=1; }
[ ! -d /sys/module/vexfs ] || rmmod vexfs || { echo "ONE-BOOT: rmmod failed"; rc=1; }
exit $rc
GUEST
"$VM_RUN" --disk "$fi" --disk "$fz" --disk "$data" --disk "$log" --disk "$rep" --disk "$snap" \
  --add "$WORK/add" --mem 1024 "$WORK/guest.sh" "$rounds" "$secs" "$seed" "$nfiles"
fsck_clean "$fi"
fsck_clean "$fz"
fsck_clean "$data"
echo "one-boot: passed (fault injection $rounds rounds per type, ioctl fuzzing ${secs} s seed $seed, flush ordering $nfiles files)"
