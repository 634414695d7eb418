#!/usr/bin/env bash
# mkfs.vexfs -d DIR --manifest M.jsonl --vectors V.fvecs (issue 13's mkfs
# contract, issue 14's offline bulk path): chunk lines naming rows of an fvecs
# file, chunk lines carrying their vector and a whole-file line make chunk
# sets offline. The kernel loads them with the host-built graph; `vexctl get
# --json` returns every chunk (offset, length, vector) in manifest line
# order; exact search equals host ground truth over chunks (file, chunk,
# range); HNSW agrees (recall); --per-file gives distinct files with their
# nearest chunk; fsck is clean after each umount and the graph loads again at
# the next mount.
. "$(dirname "$0")/../lib/common.sh"
src=$WORK/src add=$WORK/add
mkdir -p "$src" "$add"

python3 - "$src" "$add" "$WORK" <<'PY'
import json, os, random, struct, sys
src, add, work = sys.argv[1], sys.argv[2], sys.argv[3]
rng = random.Random(13)
dim, nfiles, per = 16, 60, 20
f32 = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]
centres = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(12)]
rows, lines, chunks = [], [], []
per_file = {}
for i in range(nfiles):
    rel = f"t{i % 4}/doc-{i:03d}.txt"
    os.makedirs(os.path.join(src, f"t{i % 4}"), exist_ok=True)
    with open(os.path.join(src, rel), "w") as f:
        f.write(f"document {i}\n" + "lorem ipsum " * 200)
    per_file[rel] = []
    for c in range(per):
        v = [round(x + rng.gauss(0, 0.3), 4) for x in centres[(i * 7 + c) % 12]]
        off, ln = c * 100, 150  # overlapping ranges
        if c % 7 == 3:
            line = {"path": rel, "offset": off, "length": ln, "vector": v}
        else:
            rows.append(v)
            line = {"path": rel, "offset": off, "length": ln, "row": len(rows) - 1}
        per_file[rel].append(line)
        chunks.append((rel, c, off, ln, [f32(x) for x in v]))
# Lines of different files interleaved; each file's own lines in chunk order.
for c in range(per):
    for rel in per_file:
        lines.append(per_file[rel][c])
whole = [round(rng.gauss(0, 1), 4) for _ in range(dim)]
with open(os.path.join(src, "whole.txt"), "w") as f:
    f.write("one vector for the whole file\n")
with open(os.path.join(src, "novec.txt"), "w") as f:
    f.write("no vector\n")
lines.append({"path": "whole.txt", "vector": whole})
chunks.append(("whole.txt", 0, 0, 0, [f32(x) for x in whole]))
with open(os.path.join(work, "manifest.jsonl"), "w") as f:
    f.writelines(json.dumps(l) + "\n" for l in lines)
with open(os.path.join(work, "v.fvecs"), "wb") as f:
    for r in rows:
        f.write(struct.pack("<i", dim) + struct.pack(f"<{dim}f", *r))
gt, pf = [], []
for qi in range(10):
    q = [round(x + rng.gauss(0, 0.5), 4) for x in centres[qi % 12]]
    with open(os.path.join(add, f"q{qi}.json"), "w") as f:
        json.dump(q, f)
    d = sorted((sum((a - b) ** 2 for a, b in zip(q, ch[4])), ch[0], ch[1], ch[2], ch[3]) for ch in chunks)
    gt.append([list(x[1:]) for x in d[:10]])
    best = {}
    for x in d:
        best.setdefault(x[1], list(x[1:]))
    pf.append(list(best.values())[:10])
sets = {}
for rel, c, off, ln, v in chunks:
    sets.setdefault(rel, []).append([off, ln, v])
json.dump({"gt": gt, "pf": pf, "sets": sets}, open(os.path.join(work, "expect.json"), "w"))
print(f"{len(chunks)} chunks in {len(sets)} files, {len(rows)} rows in v.fvecs")
PY

img=$WORK/chunks.img out1=$WORK/out1.img out2=$WORK/out2.img
rm -f "$img"
"$MKFS" --dim 16 --metric l2 -d "$src" --manifest "$WORK/manifest.jsonl" --vectors "$WORK/v.fvecs" "$img" 64M \
  > "$WORK/mkfs.txt" || { cat "$WORK/mkfs.txt"; fail "mkfs.vexfs -d --vectors failed"; }
grep -q '1201 vectors in 61 files, HNSW graph of 1201 nodes' "$WORK/mkfs.txt" || fail "mkfs summary: $(cat "$WORK/mkfs.txt")"
fsck_clean "$img"
new_outdisk "$out1"; new_outdisk "$out2"

cat > "$WORK/run1.sh" <<'GUEST'
set -eu
mkdir -p /tmp/o
mount -t vexfs /dev/vda /mnt
dmesg | grep 'vexfs (vda)' | tail -n 1 > /tmp/o/mount1.txt
vexctl status /mnt --json > /tmp/o/status.json
for f in t0/doc-000.txt t3/doc-059.txt whole.txt; do
  vexctl get "/mnt/$f" --json > "/tmp/o/get-$(echo "$f" | tr / _).json"
done
if vexctl get /mnt/novec.txt 2> /tmp/o/novec.err; then echo "novec.txt has a vector" > /tmp/o/novec.err; fi
i=0
while [ $i -lt 10 ]; do
  vexctl search /mnt --vector-file /extra/q$i.json -k 10 --exact --json > /tmp/o/exact$i.json
  vexctl search /mnt --vector-file /extra/q$i.json -k 10 --ef 64 --json > /tmp/o/hnsw$i.json
  vexctl search /mnt --vector-file /extra/q$i.json -k 10 --exact --per-file --json > /tmp/o/pf$i.json
  i=$((i + 1))
done
umount /mnt
cd /tmp/o && tar cf /dev/vdb .
GUEST
cat > "$WORK/run2.sh" <<'GUEST'
set -eu
mkdir -p /tmp/o
mount -t vexfs /dev/vda /mnt
dmesg | grep 'vexfs (vda)' | tail -n 1 > /tmp/o/mount2.txt
vexctl search /mnt --vector-file /extra/q0.json -k 10 --exact --json > /tmp/o/exact0b.json
umount /mnt
cd /tmp/o && tar cf /dev/vdb .
GUEST
"$VM_RUN" --disk "$img" --disk "$out1" --add "$add" "$WORK/run1.sh"
fsck_clean "$img"
"$VM_RUN" --disk "$img" --disk "$out2" --add "$add" "$WORK/run2.sh"
fsck_clean "$img"
from_outdisk "$out1" "$WORK/res"; from_outdisk "$out2" "$WORK/res"
r=$WORK/res

grep -q 'graph loaded' "$r/mount1.txt" || fail "first mount did not load the host-built graph: $(cat "$r/mount1.txt")"
grep -q 'graph loaded' "$r/mount2.txt" || fail "second mount did not load the graph: $(cat "$r/mount2.txt")"
grep -q 'ENODATA' "$r/novec.err" || fail "novec.txt (not in the manifest): $(cat "$r/novec.err")"
python3 - "$WORK/expect.json" "$r" <<'PY' || fail "chunk sets or search results differ from the manifest's ground truth"
import json, sys
exp = json.load(open(sys.argv[1])); r = sys.argv[2]
ok = True
def bad(msg):
    global ok
    print(msg); ok = False
st = json.load(open(f"{r}/status.json"))
if (st["vectors"], st["files"], st["stale_files"], st["graph_nodes"], st["graph_valid"]) != (1201, 61, 0, 1201, True):
    bad(f"status: {st}")
for path in ("t0/doc-000.txt", "t3/doc-059.txt", "whole.txt"):
    got = json.load(open(f"{r}/get-{path.replace('/', '_')}.json"))
    want = exp["sets"][path]
    if got.get("stale") is not False:
        bad(f"{path}: stale {got.get('stale')}")
    gc = got.get("chunks", [])
    if len(gc) != len(want):
        bad(f"{path}: {len(gc)} chunks, manifest {len(want)}"); continue
    for c, (g, (off, ln, v)) in enumerate(zip(gc, want)):
        if (g["offset"], g["length"]) != (off, ln) or any(abs(a - b) > 1e-6 for a, b in zip(g["vector"], v)):
            bad(f"{path} chunk {c}: {g} != {(off, ln, v)}")
hits = 0
key = lambda h: [h["path"], h["chunk"], h["offset"], h["length"]]
for i, gt in enumerate(exp["gt"]):
    exact = [key(h) for h in json.load(open(f"{r}/exact{i}.json"))]
    if exact != gt:
        bad(f"query {i}: exact {exact} != ground truth {gt}")
    if any(h["stale"] for h in json.load(open(f"{r}/exact{i}.json"))):
        bad(f"query {i}: a fresh set reported stale")
    hnsw = [tuple(key(h)) for h in json.load(open(f"{r}/hnsw{i}.json"))]
    hits += len(set(hnsw) & {tuple(g) for g in gt})
    pf = [key(h) for h in json.load(open(f"{r}/pf{i}.json"))]
    if pf != exp["pf"][i]:
        bad(f"query {i}: per-file {pf} != {exp['pf'][i]}")
b = [key(h) for h in json.load(open(f"{r}/exact0b.json"))]
if b != exp["gt"][0]:
    bad(f"after remount: {b} != {exp['gt'][0]}")
print(f"mkfs-chunks: 1201 chunks in 61 files; exact and per-file = ground truth for 10 queries; HNSW recall@10 {hits}/100")
if hits < 90:
    bad("HNSW recall below 0.9")
sys.exit(0 if ok else 1)
PY
echo "mkfs-chunks: passed"
