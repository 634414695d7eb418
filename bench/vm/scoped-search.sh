#!/usr/bin/env bash
# Benchmark (issue 15), not a test. One VM run under QEMU -icount (guest time
# = emulated instructions; only ratios inside one run mean anything): a VexFS
# holding BENCH_SCOPE_N vectors (image built offline by mkfs.vexfs -d) in
# directories holding 1 %, 10 % and 50 % of them (each with a nested
# subdirectory), the rest elsewhere. Per scope, `vexctl batch-search`
# queries/s and recall@10 (against exact answers restricted to the subtree,
# computed on the host) of:
#   scoped    batch-search DIR (VEXFS_SEARCH_F_SUBTREE: member scan for small
#             scopes, filtered graph walk otherwise)
#   exact     batch-search DIR --exact (exact scan, restricted to the scope)
#   postfilt  batch-search of the whole volume for the BENCH_SCOPE_PF nearest,
#             then the first 10 under DIR (post-filtering)
# queries/s are vexctl's (emulated time, including path resolution).
# Writes bench/out/vm/scoped-search.{txt,json,log}.
#   BENCH_SCOPE_N (100000), BENCH_SCOPE_DIM (32), BENCH_SCOPE_NQ (100),
#   BENCH_SCOPE_EF (128), BENCH_SCOPE_PF (100), BENCH_OUT_VM (bench/out/vm)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/vm/lib/common.sh"
n=${BENCH_SCOPE_N:-100000} dim=${BENCH_SCOPE_DIM:-32} nq=${BENCH_SCOPE_NQ:-100}
ef=${BENCH_SCOPE_EF:-128} pf=${BENCH_SCOPE_PF:-100}
out=${BENCH_OUT_VM:-$top/bench/out/vm}
add=$WORK/add
mkdir -p "$out" "$add"
"$TESTDATA" gen --n "$n" --dim "$dim" --seed 21 --out "$WORK/base.fvecs"
"$TESTDATA" gen --n "$nq" --dim "$dim" --seed 22 --out "$add/queries.fvecs"

# Layout by index: s1 = i%100==3, s10 = i%10==1, s50 = i even, each split over
# the scope and a nested subdirectory; the rest in rest/dNNN. Ground truth per
# scope (volume indices; files are named by index).
python3 - "$WORK" "$dim" <<'PY' || fail "building the layout"
import json, os, struct, sys
work, dim = sys.argv[1], int(sys.argv[2])
rec = 4 + 4 * dim
data = open(f"{work}/base.fvecs", "rb").read()
n = len(data) // rec
def place(i):
    if i % 100 == 3: return "s1" if (i // 100) % 2 else "s1/n"
    if i % 10 == 1: return "s10/a" if (i // 10) % 2 else "s10/a/b"
    if i % 2 == 0: return "s50/x" if (i // 2) % 2 else "s50/y/z"
    return f"rest/d{i // 1000:03d}"
src = f"{work}/src"
subsets = {"s1": [], "s10": [], "s50": []}
with open(f"{work}/man.jsonl", "w") as man:
    for i in range(n):
        d = place(i)
        os.makedirs(f"{src}/{d}", exist_ok=True)
        open(f"{src}/{d}/{i:08d}", "w").close()
        v = struct.unpack(f"<{dim}f", data[i * rec + 4:(i + 1) * rec])
        man.write(json.dumps({"path": f"{d}/{i:08d}", "vector": list(v)}) + "\n")
        top = d.split("/")[0]
        if top in subsets:
            subsets[top].append(i)
for s, idx in subsets.items():
    open(f"{work}/{s}.fvecs", "wb").write(b"".join(data[i * rec:(i + 1) * rec] for i in idx))
    open(f"{work}/{s}.idx", "w").write(" ".join(map(str, idx)))
PY
for s in s1 s10 s50; do
  "$TESTDATA" gt --base "$WORK/$s.fvecs" --queries "$add/queries.fvecs" -k 10 --out "$WORK/$s.sub.jsonl"
  python3 -c '
import json, sys
idx = open(sys.argv[1]).read().split()
for line in open(sys.argv[2]):
    print(json.dumps([int(idx[i]) for i in json.loads(line)]))' "$WORK/$s.idx" "$WORK/$s.sub.jsonl" > "$WORK/$s.gt.jsonl"
done
img=$WORK/scope.img
rm -f "$img"
"$MKFS" -q --dim "$dim" --metric l2 -N $((n + 10000)) -d "$WORK/src" --manifest "$WORK/man.jsonl" "$img" 4G \
  || fail "mkfs.vexfs -d"
rm -rf "$WORK/src"
resdisk=$WORK/res.img
new_outdisk "$resdisk"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
ef=$1 pf=$2
echo 0 > /proc/sys/kernel/hung_task_timeout_secs
mkdir -p /tmp/o
mount -t vexfs /dev/vda /mnt
vexctl sync /mnt
vexctl status /mnt | sed 's/^/STATUS /'
q=/extra/queries.fvecs
vexctl batch-search /mnt --queries $q -k 10 --ef "$ef" --out /tmp/warm.jsonl > /dev/null 2>&1
# run SCOPE METHOD ARGS...: one batch-search, its summary line tagged (no progress bar).
run() {
  s=$1 m=$2; shift 2
  vexctl batch-search "$@" > /tmp/line 2> /tmp/err || { cat /tmp/err; exit 1; }
  sed "s/^/RUN $s $m /" /tmp/line
}
for s in s1 s10 s50; do
  run $s scoped /mnt/$s --queries $q -k 10 --ef "$ef" --out /tmp/o/$s.scoped.jsonl
  run $s exact /mnt/$s --queries $q -k 10 --exact --out /tmp/o/$s.exact.jsonl
  run $s postfilt /mnt/$s --all --queries $q -k "$pf" --ef "$ef" --out /tmp/o/$s.all.jsonl
done
umount /mnt
cd /tmp/o && tar cf /dev/vdb .
GUEST
log=$out/scoped-search.log
rc=0
VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$log VEXFS_VM_TIMEOUT=${VEXFS_VM_TIMEOUT:-5400} \
  "$VM_RUN" --icount --mem 2048 --disk "$img" --disk "$resdisk" --add "$add" "$WORK/guest.sh" "$ef" "$pf" \
  > "$WORK/console.txt" || rc=$?
[ "$rc" -eq 0 ] || { tail -n 30 "$log"; fail "the benchmark VM exited $rc (log $log)"; }
from_outdisk "$resdisk" "$WORK/res"
for s in s1 s10 s50; do
  # Post-filtering: the first 10 results under the scope.
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = [x for x in json.loads(line) if x["path"].startswith(sys.argv[2] + "/")][:10]
    print(json.dumps(r))' "$WORK/res/$s.all.jsonl" $s > "$WORK/res/$s.postfilt.jsonl"
  for m in scoped exact postfilt; do
    r=$("$TESTDATA" recall --gt "$WORK/$s.gt.jsonl" --results "$WORK/res/$s.$m.jsonl" -k 10 --min 0 | sed -n 's/recall@10 = \([0-9.]*\).*/\1/p')
    echo "RECALL $s $m $r"
  done
done > "$WORK/recall.txt"
grep -ao 'RUN .*' "$log" > "$WORK/runs.txt" || fail "no RUN lines in $log"
python3 - "$n" "$dim" "$nq" "$ef" "$pf" "$out" "$WORK/runs.txt" "$WORK/recall.txt" <<'PY'
import json, re, sys
n, dim, nq, ef, pf, outd, runs, recs = sys.argv[1:9]
qps, rec = {}, {}
for line in open(runs):
    w = line.split()
    m = re.search(r"\(([0-9.]+) queries/s\)", line)
    if m: qps[(w[1], w[2])] = float(m.group(1))
for line in open(recs):
    w = line.split()
    rec[(w[1], w[2])] = float(w[3])
# every (scope, method) must have been measured: bench/report.py reads this JSON, a 0 would be invented
missing = [f"{s} {m}" for s in ("s1", "s10", "s50") for m in ("scoped", "exact", "postfilt")
           if (s, m) not in qps or (s, m) not in rec]
if missing:
    sys.exit(f"scoped-search bench: no queries/s or recall for {missing}")
L = [f"Scoped kNN, one VM run under QEMU -icount (emulated time): {n} vectors dim {dim} (L2), {nq} queries, k 10, ef {ef}",
     f"postfilt = whole-volume kNN for the {pf} nearest, then the first 10 under the scope",
     f"{'scope':6} {'share':>6} {'method':9} {'queries/s':>10} {'recall@10':>10}"]
share = {"s1": "1%", "s10": "10%", "s50": "50%"}
res = []
for s in ("s1", "s10", "s50"):
    for m in ("scoped", "exact", "postfilt"):
        q, r = qps[(s, m)], rec[(s, m)]
        L.append(f"{s:6} {share[s]:>6} {m:9} {q:10.1f} {r:10.4f}")
        res.append({"scope": s, "share": share[s], "method": m, "qps": q, "recall_at_10": r})
open(f"{outd}/scoped-search.txt", "w").write("\n".join(L) + "\n")
json.dump({"n": int(n), "dim": int(dim), "queries": int(nq), "k": 10, "ef": int(ef), "postfilter_k": int(pf),
           "results": res}, open(f"{outd}/scoped-search.json", "w"), indent=1)
print("\n".join(L))
PY
