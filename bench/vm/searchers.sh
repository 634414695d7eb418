#!/usr/bin/env bash
# Benchmark (issue 14 item 6), not a test: do searches from several processes
# proceed in parallel? One VM with 2 vCPUs (QEMU TCG, one host thread per
# vCPU; no -icount, which runs one vCPU), BENCH_SEARCHERS_N vectors of
# BENCH_SEARCHERS_DIM dimensions (image built offline with mkfs.vexfs -d):
# the same queries through VEXFS_IOC_SEARCH from 1 process, then from 2 at
# once (each all the queries), wall time of the whole phase in the guest,
# fastest of BENCH_SEARCHERS_ROUNDS. Prints the QPS of each and the ratio
# (2.0 = perfect scaling). Wall-clock: run it on an otherwise idle host with
# at least 2 free cores, or the ratio measures the host, not VexFS.
# Writes bench/out/vm/searchers.{txt,log}.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/vm/lib/common.sh"
n=${BENCH_SEARCHERS_N:-20000} dim=${BENCH_SEARCHERS_DIM:-64} nq=${BENCH_SEARCHERS_NQ:-500}
ef=${BENCH_SEARCHERS_EF:-64} rounds=${BENCH_SEARCHERS_ROUNDS:-3}
out=${BENCH_OUT_VM:-$top/bench/out/vm}
add=$WORK/add
mkdir -p "$out" "$add"
. "$top/bench/vm/vmbench.sh"
build_vmbench "$add"
"$TESTDATA" gen --n "$n" --dim "$dim" --seed 31 --out "$WORK/base.fvecs"
"$TESTDATA" gen --n "$nq" --dim "$dim" --seed 32 --out "$add/queries.fvecs"
. "$top/bench/vm/populate.sh"
img=$WORK/searchers.img
populate "$img" "$WORK/base.fvecs" "$n" 512M --dim "$dim" --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
ef=$1 rounds=$2
mount -t vexfs /dev/vda /mnt
vexctl sync /mnt
vexctl status /mnt | sed 's/^/STATUS /'
vmbench search /mnt /extra/queries.fvecs 10 "$ef" 1 > /dev/null   # warm
r=0
while [ $r -lt "$rounds" ]; do
  vmbench time vmbench search /mnt /extra/queries.fvecs 10 "$ef" 1 | sed 's/^/ONE /'
  vmbench time sh -c "vmbench search /mnt /extra/queries.fvecs 10 $ef 1 > /dev/null &
    vmbench search /mnt /extra/queries.fvecs 10 $ef 1 > /dev/null; wait" | sed 's/^/TWO /'
  r=$((r + 1))
done
umount /mnt
GUEST
log=$out/searchers.log
rc=0
VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$log VEXFS_VM_SMP=2 "$VM_RUN" --mem 1024 --disk "$img" --add "$add" \
  "$WORK/guest.sh" "$ef" "$rounds" > /dev/null || rc=$?
[ "$rc" -eq 0 ] || { tail -n 30 "$log"; fail "the benchmark VM exited $rc (log $log)"; }
tr -d '\r' < "$log" | python3 -c '
import sys
n, dim, nq, ef, rounds = sys.argv[1:6]
best = {}
for line in sys.stdin:
    w = line.split()
    if len(w) >= 3 and w[0] in ("ONE", "TWO") and w[1] == "time":
        ns = int(w[2])
        best[w[0]] = min(best.get(w[0], ns), ns)
if set(best) != {"ONE", "TWO"}:
    sys.exit("searchers.sh: no timings in the log")
q1 = int(nq) / (best["ONE"] / 1e9)
q2 = 2 * int(nq) / (best["TWO"] / 1e9)
print("kNN through VEXFS_IOC_SEARCH from 1 vs 2 processes, one VM with 2 vCPUs (QEMU TCG, wall clock)")
print(f"{n} vectors dim {dim} (L2), {nq} queries per process, k 10, ef {ef}, fastest of {rounds}")
print(f"  1 process    {q1:10.1f} q/s")
print(f"  2 processes  {q2:10.1f} q/s (together)")
print(f"  ratio        {q2 / q1:10.2f}  (2.00 = perfect scaling)")
' "$n" "$dim" "$nq" "$ef" "$rounds" | tee "$out/searchers.txt"
