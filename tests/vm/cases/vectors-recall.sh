#!/usr/bin/env bash
# Issue 5 acceptance: import 10,000 generated vectors, batch-search 100
# queries; recall@10 against exact results computed on the host >= 0.95;
# identical results after a remount and after a reboot (second VM boot) that
# loads the persisted graph without rebuilding it.
. "$(dirname "$0")/../lib/common.sh"
dim=64 n=10000 nq=100
"$TESTDATA" gen --n $n --dim $dim --seed 7 --out "$WORK/base.fvecs"
"$TESTDATA" gen --n $nq --dim $dim --seed 8 --out "$WORK/queries.fvecs"
"$TESTDATA" gt --base "$WORK/base.fvecs" --queries "$WORK/queries.fvecs" -k 10 --out "$WORK/gt.jsonl"
mkdir -p "$WORK/add" && cp "$WORK/base.fvecs" "$WORK/queries.fvecs" "$WORK/add/"

img=$WORK/vec.img out1=$WORK/out1.img out2=$WORK/out2.img
new_image "$img" 512M --dim $dim --metric l2 --ef-construction 100
new_outdisk "$out1"; new_outdisk "$out2"

cat > "$WORK/run1.sh" <<'GUEST'
set -eu
mount -t vexfs /dev/vda /mnt
vexctl import /mnt/data --fvecs /extra/base.fvecs
vexctl status /mnt
vexctl batch-search /mnt --queries /extra/queries.fvecs -k 10 --ef 128 --out /tmp/r1.jsonl
umount /mnt
mount -t vexfs /dev/vda /mnt
dmesg | grep 'vexfs (vda)' | tail -n 2
dmesg | grep 'vexfs (vda)' | tail -n 1 | grep -q 'graph loaded' || { echo "graph not loaded after remount"; exit 1; }
vexctl batch-search /mnt --queries /extra/queries.fvecs -k 10 --ef 128 --out /tmp/r2.jsonl
vexctl stats /mnt
umount /mnt
cd /tmp && tar cf /dev/vdb r1.jsonl r2.jsonl
GUEST
cat > "$WORK/run2.sh" <<'GUEST'
set -eu
mount -t vexfs /dev/vda /mnt
dmesg | grep 'vexfs (vda)' | tail -n 1 | grep -q 'graph loaded' || { echo "graph not loaded after reboot"; dmesg | tail; exit 1; }
vexctl status /mnt | grep -q 'vectors: *10000' || { vexctl status /mnt; exit 1; }
vexctl batch-search /mnt --queries /extra/queries.fvecs -k 10 --ef 128 --out /tmp/r3.jsonl
umount /mnt
cd /tmp && tar cf /dev/vdb r3.jsonl
GUEST
"$VM_RUN" --disk "$img" --disk "$out1" --add "$WORK/add" --mem 1024 "$WORK/run1.sh"
fsck_clean "$img"
"$VM_RUN" --disk "$img" --disk "$out2" --add "$WORK/add" --mem 1024 "$WORK/run2.sh"
fsck_clean "$img"
from_outdisk "$out1" "$WORK/res"; from_outdisk "$out2" "$WORK/res"
"$TESTDATA" recall --gt "$WORK/gt.jsonl" --results "$WORK/res/r1.jsonl" -k 10 --min 0.95
"$TESTDATA" same --a "$WORK/res/r1.jsonl" --b "$WORK/res/r2.jsonl"
"$TESTDATA" same --a "$WORK/res/r1.jsonl" --b "$WORK/res/r3.jsonl"
echo "vectors-recall: passed"
