#!/usr/bin/env bash
# Issue 14 item 3: after a crash the persisted graph is repaired, not rebuilt.
# Boot 1 imports 3,000 vectors and syncs (the graph goes to disk), then
# removes 20 of the files and imports 20 new ones, makes that durable with an
# fsync (a journal commit: the graph on disk stays the synced one), and cuts
# the power. Boot 2: the mount loads the graph and repairs it, 20 nodes
# removed and 20 vectors queued, never "rebuilding"; each new file's vector
# finds that file first, no removed file is ever returned, recall@10 of 100
# queries against exact answers over the final set (computed on the host)
# is >= 0.95; then fsck is clean.
. "$(dirname "$0")/../lib/common.sh"
dim=32 n=3000 nnew=20 nq=100
rec=$((4 + 4 * dim))
"$TESTDATA" gen --n $n --dim $dim --seed 21 --out "$WORK/base.fvecs"
"$TESTDATA" gen --n $nnew --dim $dim --seed 22 --out "$WORK/new.fvecs"
"$TESTDATA" gen --n $nq --dim $dim --seed 23 --out "$WORK/queries.fvecs"
# The final set: new/0000000i replaces data/0000000i for i < 20 (same index in results).
{ cat "$WORK/new.fvecs"; dd if="$WORK/base.fvecs" bs=$rec skip=$nnew status=none; } > "$WORK/final.fvecs"
"$TESTDATA" gt --base "$WORK/final.fvecs" --queries "$WORK/queries.fvecs" -k 10 --out "$WORK/gt.jsonl"
# Probes: the removed files' vectors, then the new files'.
{ dd if="$WORK/base.fvecs" bs=$rec count=$nnew status=none; cat "$WORK/new.fvecs"; } > "$WORK/probe.fvecs"
mkdir -p "$WORK/add"
cp "$WORK/base.fvecs" "$WORK/new.fvecs" "$WORK/queries.fvecs" "$WORK/probe.fvecs" "$WORK/add/"

img=$WORK/repair.img out=$WORK/out.img
new_image "$img" 256M --dim $dim --metric l2
new_outdisk "$out"

cat > "$WORK/boot1.sh" <<GUEST
set -eu
. /usr/lib/vexfs-checks.sh
mount -t vexfs /dev/vda /mnt
run_ok /tmp/imp.txt vexctl import /mnt/data --fvecs /extra/base.fvecs
run_ok /tmp/sync.txt vexctl sync /mnt
sync
i=0
while [ \$i -lt $nnew ]; do rm /mnt/data/\$(printf %08d \$i); i=\$((i + 1)); done
run_ok /tmp/imp2.txt vexctl import /mnt/new --fvecs /extra/new.fvecs
# fsync: one journal commit makes the removals and the new sets durable
sync /mnt/new/00000000
echo "BOOT1-CHANGES-DURABLE"
vm-powercut
sleep 600
GUEST

cat > "$WORK/boot2.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
mount -t vexfs /dev/vda /mnt
dmesg > /tmp/dm-all.txt
grep 'vexfs (vda)' /tmp/dm-all.txt > /tmp/dm.txt
cat /tmp/dm.txt
present "persisted HNSW graph repaired: 20 nodes removed, 20 vectors queued for insertion" /tmp/dm.txt "the graph repaired"
absent "rebuilding" /tmp/dm.txt "the graph rebuilt after the crash"
tail -n 1 /tmp/dm.txt > /tmp/last.txt
present "3000 vectors of dimension 32, graph loaded" /tmp/last.txt "mount summary"
run_ok /tmp/sync.txt vexctl sync /mnt
run_ok /tmp/st.txt vexctl status /mnt
cat /tmp/st.txt
run_ok /tmp/b.txt vexctl batch-search /mnt --queries /extra/queries.fvecs -k 10 --out /tmp/r.jsonl
run_ok /tmp/p.txt vexctl batch-search /mnt --queries /extra/probe.fvecs -k 5 --out /tmp/p.jsonl
umount /mnt
cd /tmp && tar cf /dev/vdb r.jsonl p.jsonl st.txt
GUEST

rc=0
VEXFS_VM_LOG=$WORK/boot1.log "$VM_RUN" --disk "$img" --add "$WORK/add" --kill-after 900 "$WORK/boot1.sh" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { tail -n 40 "$WORK/boot1.log"; fail "boot 1 exited $rc, expected the power cut (137)"; }
grep -q "BOOT1-CHANGES-DURABLE" "$WORK/boot1.log" || { tail -n 40 "$WORK/boot1.log"; fail "boot 1 did not reach the power cut"; }
"$VM_RUN" --disk "$img" --disk "$out" --add "$WORK/add" "$WORK/boot2.sh"
fsck_clean "$img"
from_outdisk "$out" "$WORK/res"
grep -Eq 'vectors: *3000' "$WORK/res/st.txt" || fail "status after the repair: $(cat "$WORK/res/st.txt")"
"$TESTDATA" recall --gt "$WORK/gt.jsonl" --results "$WORK/res/r.jsonl" -k 10 --min 0.95
python3 - "$WORK/res/p.jsonl" $nnew <<'PY' || fail "probe results"
import json, sys
path, nnew = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(path)]
assert len(rows) == 2 * nnew, f"{len(rows)} probe rows, want {2 * nnew}"
removed = {f"data/{i:08d}" for i in range(nnew)}
bad = []
for i, hits in enumerate(rows):
    paths = [h["path"] for h in hits]
    if removed & set(paths):
        bad.append(f"probe {i}: a removed file returned: {paths}")
    if i >= nnew and (not paths or paths[0] != f"new/{i - nnew:08d}"):
        bad.append(f"probe {i}: new/{i - nnew:08d} not first: {paths}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"probes: {nnew} removed files absent, {nnew} new files found first")
PY
echo "graph-crash-repair: passed"
