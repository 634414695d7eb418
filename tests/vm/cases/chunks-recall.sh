#!/usr/bin/env bash
# Issue 13 acceptance: 300 files x 20 chunks (generated clustered vectors, the
# chunks of one file drawn from one cluster, like the passages of one
# document) imported with `vexctl import --manifest`; 50 queries: chunk
# recall@10 >= 0.95 against exact answers computed on the host; `--per-file`
# returns 10 distinct files, each with that file's exact nearest chunk (file
# recall printed and held >= 0.9); the results (path, chunk, byte range,
# stale, distance) identical after a remount and after a reboot (second VM
# boot).
. "$(dirname "$0")/../lib/common.sh"
dim=32 files=300 per=20 nq=50 bytes=100
n=$((files * per)) rec=$((4 + 4 * dim))
"$TESTDATA" gen --n $n --dim $dim --seed 31 --run $per --out "$WORK/base.fvecs"
# Queries from the same model (same seed); the first vector would equal base 0.
"$TESTDATA" gen --n $((nq + 1)) --dim $dim --seed 31 --out "$WORK/q1.fvecs"
mkdir -p "$WORK/add"
tail -c $((nq * rec)) "$WORK/q1.fvecs" > "$WORK/add/queries.fvecs"
"$TESTDATA" gt --base "$WORK/base.fvecs" --queries "$WORK/add/queries.fvecs" -k 10 --out "$WORK/gt.jsonl"
"$TESTDATA" chunk-manifest --base "$WORK/base.fvecs" --per-file $per --chunk-bytes $bytes \
  --prefix /mnt/docs --out "$WORK/add/m.jsonl"

img=$WORK/chunks.img out1=$WORK/out1.img out2=$WORK/out2.img
new_image "$img" 256M --dim $dim --metric l2 --ef-construction 100
new_outdisk "$out1"; new_outdisk "$out2"

cat > "$WORK/run1.sh" <<GUEST
set -eu
. /usr/lib/vexfs-checks.sh
mount -t vexfs /dev/vda /mnt
mkdir /mnt/docs
i=0
while [ \$i -lt $files ]; do
  head -c $((per * bytes)) /dev/zero > /mnt/docs/\$(printf %08d \$i)
  i=\$((i + 1))
done
run_ok /tmp/import.txt vexctl import --manifest /extra/m.jsonl
cat /tmp/import.txt
present -F "attached $n vectors ($files chunk sets) to $files files" /tmp/import.txt "import summary"
run_ok /tmp/status.json vexctl status /mnt --json
cat /tmp/status.json; echo
present '"vectors":$n[,}]' /tmp/status.json "status vectors"
present '"files":$files[,}]' /tmp/status.json "status files"
present '"stale_files":0[,}]' /tmp/status.json "status stale_files"
q=/extra/queries.fvecs
run_ok /tmp/b.txt vexctl batch-search /mnt --queries \$q -k 10 --ef 128 --out /tmp/r1.jsonl
run_ok /tmp/b.txt vexctl batch-search /mnt --queries \$q -k 10 --ef 128 --per-file --out /tmp/p1.jsonl
umount /mnt
mount -t vexfs /dev/vda /mnt
run_ok /tmp/b.txt vexctl batch-search /mnt --queries \$q -k 10 --ef 128 --out /tmp/r2.jsonl
run_ok /tmp/b.txt vexctl batch-search /mnt --queries \$q -k 10 --ef 128 --per-file --out /tmp/p2.jsonl
umount /mnt
cd /tmp && tar cf /dev/vdb r1.jsonl p1.jsonl r2.jsonl p2.jsonl
GUEST
cat > "$WORK/run2.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
mount -t vexfs /dev/vda /mnt
q=/extra/queries.fvecs
run_ok /tmp/b.txt vexctl batch-search /mnt --queries $q -k 10 --ef 128 --out /tmp/r3.jsonl
run_ok /tmp/b.txt vexctl batch-search /mnt --queries $q -k 10 --ef 128 --per-file --out /tmp/p3.jsonl
umount /mnt
cd /tmp && tar cf /dev/vdb r3.jsonl p3.jsonl
GUEST
"$VM_RUN" --disk "$img" --disk "$out1" --add "$WORK/add" --mem 1024 "$WORK/run1.sh"
fsck_clean "$img"
"$VM_RUN" --disk "$img" --disk "$out2" --add "$WORK/add" --mem 1024 "$WORK/run2.sh"
fsck_clean "$img"
from_outdisk "$out1" "$WORK/res"; from_outdisk "$out2" "$WORK/res"
"$TESTDATA" chunk-recall --gt "$WORK/gt.jsonl" --results "$WORK/res/r1.jsonl" --per-file $per -k 10 --min 0.95
"$TESTDATA" per-file --base "$WORK/base.fvecs" --queries "$WORK/add/queries.fvecs" \
  --results "$WORK/res/p1.jsonl" --per-file $per -k 10 --min 0.9
fields=path,chunk,offset,length,stale,distance
for r in r p; do
  "$TESTDATA" same --a "$WORK/res/${r}1.jsonl" --b "$WORK/res/${r}2.jsonl" --fields $fields
  "$TESTDATA" same --a "$WORK/res/${r}1.jsonl" --b "$WORK/res/${r}3.jsonl" --fields $fields
done
echo "chunks-recall: passed"
