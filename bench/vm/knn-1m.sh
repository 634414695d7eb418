#!/usr/bin/env bash
# Benchmark (issue 14), not a test: kNN through the ioctl on issue 14's scale
# image (BENCH_1M_N vectors of dimension 64, default 1,000,000, built offline
# by mkfs.vexfs -d as tests/vm/cases/scale-pressure.sh builds it), in one VM
# with BENCH_1M_MEM MiB (512) under QEMU -icount, three states:
#   cold   right after a (lazy) mount with the page cache dropped: the slot
#          groups are read on first use and every vector and graph block
#          comes from the disk;
#   warm   the same queries again (fastest of BENCH_1M_ROUNDS passes);
#   cold page cache, index loaded   the page cache dropped again: the groups
#          (codes, attributes) stay pinned, vectors and graph blocks are
#          read from the disk again;
#   after the warm-up   a new mount with the background warm-up on
#          (warm_after_mount=1; the states above run with it off, so their
#          groups are read by first use): how long reading every group takes
#          in the background, then a pass.
# Per state it records where the time goes: guest time busy vs waiting for
# the disk (idle + iowait), blocks read (pgpgin) and major faults, distance
# computations and kernel search time (vexctl stats), and the index's pinned
# memory (vexctl status). Recall@10 of the warm and of a cold run (a fresh
# mount, page cache dropped) against exact answers computed on the host.
# Writes bench/out/vm/knn-1m.{txt,json,log}.
#   BENCH_1M_N (1000000), BENCH_1M_NQ (200), BENCH_1M_EF (128),
#   BENCH_1M_ROUNDS (3), BENCH_1M_MEM (512), BENCH_OUT_VM (bench/out/vm)
set -euo pipefail
export VEXFS_VM_ICOUNT_SLEEP=${VEXFS_VM_ICOUNT_SLEEP:-on}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/vm/lib/common.sh"
. "$top/tests/vm/lib/scale-image.sh"
n=${BENCH_1M_N:-1000000} nq=${BENCH_1M_NQ:-200} ef=${BENCH_1M_EF:-128}
rounds=${BENCH_1M_ROUNDS:-3} mem=${BENCH_1M_MEM:-512}
dim=64 per=1000
out=${BENCH_OUT_VM:-$top/bench/out/vm}
add=$WORK/add
mkdir -p "$out" "$add"
. "$top/bench/vm/vmbench.sh"
build_vmbench "$add"
scale_image "$n" "$dim" "$per" "$nq" 51 "$WORK"
cp "$WORK/queries.fvecs" "$add/"
resdisk=$WORK/res.img
new_outdisk "$resdisk"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
ef=$1 rounds=$2
echo 0 > /proc/sys/kernel/hung_task_timeout_secs
echo 0 > /sys/module/vexfs/parameters/warm_after_mount
mkdir -p /tmp/o
# snap STATE EDGE: the counters one state's report subtracts.
snap() {
  echo "SNAP $1 $2 $(awk '$1 == "pgpgin" || $1 == "pgmajfault" { printf "%s %s ", $1, $2 }' /proc/vmstat)"
  echo "STATUS $1 $2 $(vexctl status /mnt --json | tr -d '\n')"
  echo "STATS $1 $2 $(vexctl stats /mnt --json | tr -d '\n')"
}
# pass STATE: one timed pass over the queries.
pass() {
  snap "$1" before
  vmbench search /mnt /extra/queries.fvecs 10 "$ef" 1 | sed "s/^/PASS $1 /"
  snap "$1" after
}
dropcache() { sync; echo 3 > /proc/sys/vm/drop_caches; }
mount -t vexfs /dev/vda /mnt
dmesg | grep 'vexfs (vda)' | tail -n 1 | sed 's/^/MOUNTMSG /'
dropcache
pass cold
r=0
while [ "$r" -lt "$rounds" ]; do
  pass "warm$r"
  r=$((r + 1))
done
vexctl batch-search /mnt --queries /extra/queries.fvecs -k 10 --ef "$ef" --out /tmp/o/warm.jsonl
dropcache
pass coldpc
umount /mnt
mount -t vexfs /dev/vda /mnt
dropcache
vexctl batch-search /mnt --queries /extra/queries.fvecs -k 10 --ef "$ef" --out /tmp/o/cold.jsonl
umount /mnt
echo 1 > /sys/module/vexfs/parameters/warm_after_mount
dropcache
mount -t vexfs /dev/vda /mnt
cat > /tmp/warmwait.sh <<'WAIT'
while :; do
  s=$(vexctl status /mnt --json) || exit 1
  case "$(echo "$s" | tr -d ' \n')" in
    *'"slots_loading":false'*) break ;;
    *'"slots_loading":true'*) sleep 0.05 ;;
    *) echo "no slots_loading in: $s" >&2; exit 1 ;;
  esac
done
WAIT
vmbench time sh /tmp/warmwait.sh | sed 's/^/WARMUP /'
pass afterwarm
umount /mnt
cd /tmp/o && tar cf /dev/vdb .
GUEST
log=$out/knn-1m.log
rc=0
VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$log VEXFS_VM_TIMEOUT=${VEXFS_VM_TIMEOUT:-5400} \
  "$VM_RUN" --icount --mem "$mem" --disk "$WORK/scale.img" --disk "$resdisk" \
  --add "$add" "$WORK/guest.sh" "$ef" "$rounds" > /dev/null || rc=$?
[ "$rc" -eq 0 ] || { tail -n 30 "$log"; fail "the benchmark VM exited $rc (log $log)"; }
fsck_clean "$WORK/scale.img"
from_outdisk "$resdisk" "$WORK/res"
recall() {
  "$TESTDATA" chunk-recall --gt "$WORK/gt.jsonl" --results "$WORK/res/$1.jsonl" --per-file $per -k 10 --min 0 2>&1 \
    | grep -oE 'recall@10 = [0-9.]+' | tail -n 1 | cut -d' ' -f3
}
rwarm=$(recall warm) rcold=$(recall cold)
[ -n "$rwarm" ] && [ -n "$rcold" ] || fail "no recall for the warm or cold results"

tr -d '\r' < "$log" | grep -E '^(SNAP|STATUS|STATS|PASS|MOUNTMSG|WARMUP) ' | python3 "$top/bench/vm/knn-1m-report.py" \
  "$n" "$dim" "$nq" "$ef" "$rounds" "$mem" "$rwarm" "$rcold" "$out/knn-1m.json" | tee "$out/knn-1m.txt"
