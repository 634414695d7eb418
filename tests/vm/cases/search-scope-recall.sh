#!/usr/bin/env bash
# Issue 15 item 3 (CI size): 20,000 vectors spread over directories holding
# 1 %, 10 % and 50 % of them, each with a nested subdirectory. Scoped kNN
# (batch-search DIR) must reach recall@10 >= 0.95 against the exact answer
# restricted to the subtree (computed on the host), and every result must lie
# under its scope. Prints queries/s of the scoped search and of the exact
# (--exact) scoped search per selectivity; speed is not asserted here (TCG
# timing), see bench/vm for the measured comparison.
. "$(dirname "$0")/../lib/common.sh"
dim=32 n=20000 nq=50
"$TESTDATA" gen --n $n --dim $dim --seed 11 --out "$WORK/base.fvecs"
"$TESTDATA" gen --n $nq --dim $dim --seed 12 --out "$WORK/queries.fvecs"
# The layout, by index (vexctl import names file i "%08d"): see the guest's globs.
python3 - "$WORK" $dim <<'PY' || fail "splitting the base per scope"
import struct, sys
work, dim = sys.argv[1], int(sys.argv[2])
rec = 4 + 4 * dim
data = open(f"{work}/base.fvecs", "rb").read()
n = len(data) // rec
scopes = {"s1": lambda i: i % 100 == 3, "s10": lambda i: i % 10 == 1, "s50": lambda i: i % 2 == 0}
for name, member in scopes.items():
    idx = [i for i in range(n) if member(i)]
    open(f"{work}/{name}.fvecs", "wb").write(b"".join(data[i * rec:(i + 1) * rec] for i in idx))
    open(f"{work}/{name}.idx", "w").write(" ".join(map(str, idx)))
PY
for s in s1 s10 s50; do
  "$TESTDATA" gt --base "$WORK/$s.fvecs" --queries "$WORK/queries.fvecs" -k 10 --out "$WORK/$s.sub.jsonl"
  # Subset positions back to volume indices.
  python3 -c '
import json, sys
idx = open(sys.argv[1]).read().split()
for line in open(sys.argv[2]):
    print(json.dumps([int(idx[i]) for i in json.loads(line)]))' "$WORK/$s.idx" "$WORK/$s.sub.jsonl" > "$WORK/$s.gt.jsonl"
done
mkdir -p "$WORK/add" && cp "$WORK/base.fvecs" "$WORK/queries.fvecs" "$WORK/add/"
img=$WORK/recall.img out=$WORK/out.img
new_image "$img" 512M --dim $dim --metric l2 --ef-construction 100
new_outdisk "$out"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
vexctl import /mnt/data --fvecs /extra/base.fvecs
mkdir -p /mnt/s1/n /mnt/s10/a/b /mnt/s50/x /mnt/s50/y/z
cd /mnt/data
mv *[0-4]03 /mnt/s1/; mv *[5-9]03 /mnt/s1/n/
mv *[0-4]1 /mnt/s10/a/; mv *[5-9]1 /mnt/s10/a/b/
mv *[024] /mnt/s50/x/; mv *[68] /mnt/s50/y/z/
cd /
for s in s1 s10 s50; do
  echo "$s: $(find /mnt/$s -type f | wc -l) files"
  vexctl batch-search /mnt/$s --queries /extra/queries.fvecs -k 10 --ef 128 --out /tmp/$s.jsonl
  vexctl batch-search /mnt/$s --queries /extra/queries.fvecs -k 10 --exact --out /tmp/$s.exact.jsonl
done
vexctl stats /mnt
umount /mnt
cd /tmp && tar cf /dev/vdb s1.jsonl s10.jsonl s50.jsonl s1.exact.jsonl s10.exact.jsonl s50.exact.jsonl
GUEST
"$VM_RUN" --disk "$img" --disk "$out" --add "$WORK/add" --mem 1024 "$WORK/guest.sh"
fsck_clean "$img"
from_outdisk "$out" "$WORK/res"
for s in s1 s10 s50; do
  # Every result lies under its scope, and each query got k results.
  python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    r = json.loads(line)
    if len(r) != 10:
        sys.exit(f"{sys.argv[1]}:{n}: {len(r)} results, want 10")
    for x in r:
        if not x["path"].startswith(sys.argv[2] + "/"):
            sys.exit("%s:%d: %s is outside %s" % (sys.argv[1], n, x["path"], sys.argv[2]))' "$WORK/res/$s.jsonl" $s || fail "$s: results"
  echo "$s (scoped graph or member scan):"
  "$TESTDATA" recall --gt "$WORK/$s.gt.jsonl" --results "$WORK/res/$s.jsonl" -k 10 --min 0.95 || fail "$s: recall"
  echo "$s (exact):"
  "$TESTDATA" recall --gt "$WORK/$s.gt.jsonl" --results "$WORK/res/$s.exact.jsonl" -k 10 --min 0.99 || fail "$s: exact recall"
done
echo "search-scope-recall: passed"
