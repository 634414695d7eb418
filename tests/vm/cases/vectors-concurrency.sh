#!/usr/bin/env bash
# Issue 5 acceptance: two searching processes and one inserting/unlinking
# process run together for 30 seconds: no kernel warning, no result ever
# names a file unlinked before the search began, and afterwards the index's
# answers match a fresh exact search at high recall. A third searcher runs
# exact scans, made to drop the index lock between all their batches
# (debug_scan_yield), so the writer changes vectors mid-scan and the scan
# re-checks its hits: neither may its results name an unlinked file.
. "$(dirname "$0")/../lib/common.sh"
dim=16
"$TESTDATA" gen --n 3000 --dim $dim --seed 21 --out "$WORK/base.fvecs"
"$TESTDATA" gen --n 40 --dim $dim --seed 22 --out "$WORK/queries.fvecs"
mkdir -p "$WORK/add" && cp "$WORK"/*.fvecs "$WORK/add/"
img=$WORK/conc.img out=$WORK/out.img
new_image "$img" 256M --dim $dim
new_outdisk "$out"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
SECONDS_TO_RUN=${1:-30}
mount -t vexfs /dev/vda /mnt
echo 1 > /sys/module/vexfs/parameters/debug_scan_yield
vexctl import /mnt/base --fvecs /extra/base.fvecs >/dev/null
mkdir /mnt/w
echo 0 > /tmp/frontier
end=$(( $(date +%s) + SECONDS_TO_RUN ))

writer() {
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    echo "$n" > /mnt/w/w-$n
    v=$(( n % 97 ))
    vexctl set /mnt/w/w-$n --vector "$v,1,$v,2,0,0,0,0,0,0,0,0,0,0,0,$n" >/dev/null
    if [ $n -ge 5 ]; then
      rm /mnt/w/w-$((n - 5))
      echo $((n - 4)) > /tmp/frontier   # every w-J with J < frontier is gone
    fi
    n=$((n + 1))
  done
  echo "writer: $n files created"
}

searcher() {
  bad=0 runs=0
  while [ "$(date +%s)" -lt "$end" ]; do
    f=$(cat /tmp/frontier)
    v=$(( runs % 97 ))
    vexctl search /mnt --vector "$v,1,$v,2,0,0,0,0,0,0,0,0,0,0,0,$runs" -k 20 --json $2 > /tmp/s$1.json
    for k in $(tr ',' '\n' < /tmp/s$1.json | sed -n 's/.*"path":"w\/w-\([0-9]*\)".*/\1/p'); do
      if [ "$k" -lt "$f" ]; then echo "searcher $1: w-$k returned after its unlink (frontier $f)"; bad=$((bad + 1)); fi
    done
    runs=$((runs + 1))
  done
  echo "searcher $1: $runs searches, $bad stale results"
  [ $bad -eq 0 ]
}

writer & w=$!
searcher 1 "" & s1=$!
searcher 2 "" & s2=$!
searcher 3 --exact & s3=$!
rc=0
wait $w || rc=1
wait $s1 || rc=1
wait $s2 || rc=1
wait $s3 || rc=1
[ $rc -eq 0 ] || { echo "FAIL: a concurrent worker failed"; exit 1; }
vexctl sync /mnt
vexctl stats /mnt
vexctl batch-search /mnt --queries /extra/queries.fvecs -k 10 --out /tmp/approx.jsonl
vexctl batch-search /mnt --queries /extra/queries.fvecs -k 10 --exact --out /tmp/exact.jsonl
umount /mnt
cd /tmp && tar cf /dev/vdb approx.jsonl exact.jsonl
GUEST
"$VM_RUN" --disk "$img" --disk "$out" --add "$WORK/add" "$WORK/guest.sh" 30
fsck_clean "$img"
from_outdisk "$out" "$WORK/res"
"$TESTDATA" overlap --approx "$WORK/res/approx.jsonl" --exact "$WORK/res/exact.jsonl" -k 10 --min 0.95
echo "vectors-concurrency: passed"
