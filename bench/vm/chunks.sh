#!/usr/bin/env bash
# Benchmark (issue 13), not a test. One VM run under QEMU -icount (guest time
# = emulated instructions; only ratios inside one run mean anything): the
# same BENCH_CHUNKS_N vectors imported two ways onto two fresh volumes,
#   chunked  BENCH_CHUNKS_N / BENCH_CHUNKS_PER files x BENCH_CHUNKS_PER chunks
#            (vexctl import --manifest with chunk lines: VEXFS_IOC_SET_CHUNKS
#            per file)
#   single   BENCH_CHUNKS_N files x 1 vector (whole-file manifest lines:
#            VEXFS_IOC_BATCH_SET in batches)
# and searched with the same queries: kNN (k 10, ef BENCH_CHUNKS_EF), and on
# the chunked volume also --per-file. Import vectors/s and search queries/s
# are vexctl's own summary lines (emulated time, including path resolution);
# recall@10 of both against exact answers computed on the host. Prints the
# ratios chunked/single. The kNN ratio is end to end: vexctl resolves each
# distinct result file once per run (INO_PATH), and the chunked volume has
# BENCH_CHUNKS_PER times fewer files. Measured (20,000 vectors dim 32, 200
# queries, ef 128): import 1514 vs 1375 vectors/s (1.10), kNN 1645 vs 141
# queries/s (11.7), --per-file 1637 queries/s; recall@10 1.0 for both. Writes bench/out/vm/chunks.{txt,json,log}.
#   BENCH_CHUNKS_N (20000), BENCH_CHUNKS_PER (20), BENCH_CHUNKS_DIM (32),
#   BENCH_CHUNKS_NQ (200), BENCH_CHUNKS_EF (128), BENCH_OUT_VM (bench/out/vm)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/vm/lib/common.sh"
n=${BENCH_CHUNKS_N:-20000} per=${BENCH_CHUNKS_PER:-20} dim=${BENCH_CHUNKS_DIM:-32}
nq=${BENCH_CHUNKS_NQ:-200} ef=${BENCH_CHUNKS_EF:-128}
out=${BENCH_OUT_VM:-$top/bench/out/vm}
[ $((n % per)) -eq 0 ] || fail "BENCH_CHUNKS_N ($n) must be a multiple of BENCH_CHUNKS_PER ($per)"
files=$((n / per)) rec=$((4 + 4 * dim))
add=$WORK/add
mkdir -p "$out" "$add"
"$TESTDATA" gen --n "$n" --dim "$dim" --seed 61 --run "$per" --out "$WORK/base.fvecs"
"$TESTDATA" gen --n $((nq + 1)) --dim "$dim" --seed 61 --out "$WORK/q1.fvecs"
tail -c $((nq * rec)) "$WORK/q1.fvecs" > "$add/queries.fvecs"
"$TESTDATA" gt --base "$WORK/base.fvecs" --queries "$add/queries.fvecs" -k 10 --out "$WORK/gt.jsonl"
"$TESTDATA" chunk-manifest --base "$WORK/base.fvecs" --per-file "$per" --chunk-bytes 100 \
  --prefix /c/d --out "$add/chunked.jsonl"
# The same vectors, one per file: file i = vector i (chunk-manifest with one chunk per file,
# the range dropped so each line is a whole-file vector).
"$TESTDATA" chunk-manifest --base "$WORK/base.fvecs" --per-file 1 --chunk-bytes 0 \
  --prefix /s/d --out "$WORK/s.jsonl"
sed 's/"length":0,"offset":0,//' "$WORK/s.jsonl" > "$add/single.jsonl"
. "$top/tests/vm/lib/guest/checks.sh"
absent -F '"offset"' "$add/single.jsonl" "single.jsonl: a line with a byte range"
awk -v n=$files 'BEGIN { for (i = 0; i < n; i++) printf "%08d\n", i }' > "$add/cnames.txt"
awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf "%08d\n", i }' > "$add/snames.txt"
cimg=$WORK/c.img simg=$WORK/s.img resdisk=$WORK/res.img
new_image "$cimg" 1G --dim "$dim" --metric l2 -N $((files + 1000))
new_image "$simg" 1G --dim "$dim" --metric l2 -N $((n + 1000))
new_outdisk "$resdisk"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
files=$1 n=$2 ef=$3
echo 0 > /proc/sys/kernel/hung_task_timeout_secs
mkdir -p /c /s /tmp/o
mount -t vexfs /dev/vda /c
mount -t vexfs /dev/vdb /s
mkdir /c/d /s/d
(cd /c/d && xargs touch < /extra/cnames.txt)
(cd /s/d && xargs touch < /extra/snames.txt)
ls /c/d > /tmp/c.txt
ls /s/d > /tmp/s.txt
[ "$(wc -l < /tmp/c.txt)" -eq "$files" ] && [ "$(wc -l < /tmp/s.txt)" -eq "$n" ] || { echo "file creation failed"; exit 1; }
sync
# run TAG CMD...: the command's summary line, tagged (no progress bar off a terminal).
run() {
  t=$1; shift
  "$@" > /tmp/line 2> /tmp/err || { cat /tmp/err; exit 1; }
  sed "s/^/RUN $t /" /tmp/line
}
run import-chunked vexctl import --manifest /extra/chunked.jsonl
run import-single vexctl import --manifest /extra/single.jsonl
vexctl sync /c; vexctl sync /s
vexctl status /c | sed 's/^/STATUS chunked /'
vexctl status /s | sed 's/^/STATUS single /'
q=/extra/queries.fvecs
vexctl batch-search /c --queries $q -k 10 --ef "$ef" --out /tmp/warm.jsonl > /dev/null
vexctl batch-search /s --queries $q -k 10 --ef "$ef" --out /tmp/warm.jsonl > /dev/null
run search-chunked vexctl batch-search /c --queries $q -k 10 --ef "$ef" --out /tmp/o/chunked.jsonl
run search-single vexctl batch-search /s --queries $q -k 10 --ef "$ef" --out /tmp/o/single.jsonl
run search-perfile vexctl batch-search /c --queries $q -k 10 --ef "$ef" --per-file --out /tmp/o/perfile.jsonl
umount /c
umount /s
cd /tmp/o && tar cf /dev/vdc .
GUEST
log=$out/chunks.log
rc=0
VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$log VEXFS_VM_TIMEOUT=${VEXFS_VM_TIMEOUT:-5400} \
  "$VM_RUN" --icount --mem 2048 --disk "$cimg" --disk "$simg" --disk "$resdisk" --add "$add" \
  "$WORK/guest.sh" "$files" "$n" "$ef" > "$WORK/console.txt" || rc=$?
[ "$rc" -eq 0 ] || { tail -n 30 "$log"; fail "the benchmark VM exited $rc (log $log)"; }
from_outdisk "$resdisk" "$WORK/res"
rc_chunked=$("$TESTDATA" chunk-recall --gt "$WORK/gt.jsonl" --results "$WORK/res/chunked.jsonl" --per-file "$per" -k 10 | sed -n 's/.*= \([0-9.]*\).*/\1/p')
rc_single=$("$TESTDATA" recall --gt "$WORK/gt.jsonl" --results "$WORK/res/single.jsonl" -k 10 | sed -n 's/.*= \([0-9.]*\).*/\1/p')
rc_pf=$("$TESTDATA" per-file --base "$WORK/base.fvecs" --queries "$add/queries.fvecs" --results "$WORK/res/perfile.jsonl" --per-file "$per" -k 10 | sed -n 's/.*recall@10 = \([0-9.]*\).*/\1/p')
grep -ao 'RUN .*' "$log" > "$WORK/runs.txt" || fail "no RUN lines in $log"
python3 - "$n" "$per" "$dim" "$nq" "$ef" "$out" "$WORK/runs.txt" "$rc_chunked" "$rc_single" "$rc_pf" <<'PY'
import json, re, sys
n, per, dim, nq, ef, outd, runs, r_c, r_s, r_pf = sys.argv[1:11]
n, per = int(n), int(per)
imp, qps = {}, {}
for line in open(runs):
    w = line.split()
    m = re.search(r"attached (\d+) vectors.* in ([0-9.]+)s", line)
    if m:
        imp[w[1]] = int(m.group(1)) / max(float(m.group(2)), 1e-9)
    m = re.search(r"\(([0-9.]+) queries/s\)", line)
    if m:
        qps[w[1]] = float(m.group(1))
need = ["import-chunked", "import-single", "search-chunked", "search-single", "search-perfile"]
missing = [k for k in need if k not in imp and k not in qps]
if missing:
    sys.exit(f"chunks bench: no result for {missing}")
# a recall the host tools did not print is an error, not 0: bench/report.py reads this JSON
for name, r in (("chunked", r_c), ("single", r_s), ("per-file", r_pf)):
    if not r:
        sys.exit(f"chunks bench: no {name} recall@10")
ratio = lambda a, b: a / b if b else 0.0
L = [f"Chunk sets vs one vector per file, one VM run under QEMU -icount (emulated time): {n} vectors dim {dim} (L2)",
     f"chunked = {n // per} files x {per} chunks, single = {n} files x 1 vector; {nq} queries, k 10, ef {ef}",
     f"{'':24} {'chunked':>10} {'single':>10} {'ratio':>7}",
     f"{'import vectors/s':24} {imp['import-chunked']:10.0f} {imp['import-single']:10.0f} {ratio(imp['import-chunked'], imp['import-single']):7.2f}",
     f"{'kNN queries/s':24} {qps['search-chunked']:10.1f} {qps['search-single']:10.1f} {ratio(qps['search-chunked'], qps['search-single']):7.2f}",
     f"{'kNN --per-file q/s':24} {qps['search-perfile']:10.1f} {'':>10} {ratio(qps['search-perfile'], qps['search-single']):7.2f}",
     f"{'recall@10 (chunks/files)':24} {float(r_c or 0):10.4f} {float(r_s or 0):10.4f}",
     f"{'per-file file recall@10':24} {float(r_pf or 0):10.4f}",
     "queries/s are vexctl batch-search's, path resolution included: vexctl names each hit's file",
     "with INO_PATH once per file per run, so the volume with 20x fewer files resolves far fewer;",
     "the kNN ratio is end to end, not the kernel's search alone."]
open(f"{outd}/chunks.txt", "w").write("\n".join(L) + "\n")
json.dump({"n": n, "per_file": per, "dim": int(dim), "queries": int(nq), "k": 10, "ef": int(ef),
           "import_vectors_per_s": {"chunked": imp["import-chunked"], "single": imp["import-single"]},
           "knn_qps": {"chunked": qps["search-chunked"], "single": qps["search-single"],
                       "chunked_per_file": qps["search-perfile"]},
           "recall_at_10": {"chunked": float(r_c or 0), "single": float(r_s or 0),
                            "per_file_files": float(r_pf or 0)}},
          open(f"{outd}/chunks.json", "w"), indent=1)
print("\n".join(L))
PY
