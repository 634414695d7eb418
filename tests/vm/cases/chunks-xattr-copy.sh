#!/usr/bin/env bash
# Issue 13 acceptance: the chunk set travels as the user.vexfs.chunks xattr.
# Two VexFS volumes in one VM; on the first, 30 files x 20 chunks (manifest),
# 5 single-vector files and a one-chunk set with a byte range. Every file is
# copied to the second volume as `cp --preserve=xattr` does (data, then each
# xattr in listxattr order: busybox cp copies no xattrs, so a static helper,
# tests/vm/lib/guest-tools/vexfs-xcopy.c, does it). On the copy: every
# file's `vexctl get --json` (chunks, ranges, vectors, not stale) equals the
# original's, and exact kNN and --per-file results (path, chunk, byte
# range, stale, distance) are identical on both volumes, also after a
# remount of the copy; HNSW results overlap the original's >= 0.9.
. "$(dirname "$0")/../lib/common.sh"
dim=16 files=30 per=20 bytes=64 nq=20
n=$((files * per)) rec=$((4 + 4 * dim))
mkdir -p "$WORK/add"
"$TESTDATA" gen --n $n --dim $dim --seed 51 --run $per --out "$WORK/base.fvecs"
"$TESTDATA" gen --n $((nq + 1)) --dim $dim --seed 51 --out "$WORK/q1.fvecs"
tail -c $((nq * rec)) "$WORK/q1.fvecs" > "$WORK/add/queries.fvecs"
"$TESTDATA" chunk-manifest --base "$WORK/base.fvecs" --per-file $per --chunk-bytes $bytes \
  --prefix /a/docs --out "$WORK/add/m.jsonl"
musl-gcc -static -O2 -Wall -Werror -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
  -o "$WORK/add/vexfs-xcopy" "$VM_TOP/tests/vm/lib/guest-tools/vexfs-xcopy.c" || fail "building vexfs-xcopy"

src=$WORK/src.img dst=$WORK/dst.img out=$WORK/out.img
new_image "$src" 64M --dim $dim --metric l2
new_image "$dst" 64M --dim $dim --metric l2
new_outdisk "$out"

cat > "$WORK/guest.sh" <<GUEST
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: \$*"; exit 1; }
mkdir -p /a /b /tmp/o/a /tmp/o/b
mount -t vexfs /dev/vda /a
mount -t vexfs /dev/vdb /b
mkdir /a/docs /b/docs
i=0
while [ \$i -lt $files ]; do
  head -c $((per * bytes)) /dev/zero > /a/docs/\$(printf %08d \$i)
  i=\$((i + 1))
done
run_ok /tmp/o/import.txt vexctl import --manifest /extra/m.jsonl
for s in 1 2 3 4 5; do
  echo "single \$s" > /a/docs/single\$s
  run_ok /tmp/o/set.txt vexctl set /a/docs/single\$s --vector \$s,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\$s
done
echo "0123456789abcdef" > /a/docs/ranged
echo '{"offset": 5, "length": 7, "vector": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}' > /tmp/ranged.jsonl
run_ok /tmp/o/set.txt vexctl set /a/docs/ranged --chunks /tmp/ranged.jsonl
# busybox cp -a carries no xattrs (printed for the record, not a check).
cp -a /a/docs/00000000 /b/cp-a
vexctl get /b/cp-a --json > /tmp/o/cp-a.txt 2>&1 || echo "busybox cp -a: the copy has no vector (\$(cat /tmp/o/cp-a.txt))"
rm /b/cp-a
cd /a/docs
for f in *; do
  run_ok /tmp/o/xcopy.txt /extra/vexfs-xcopy /a/docs/\$f /b/docs/\$f
  cat /tmp/o/xcopy.txt >> /tmp/o/copies.txt
done
cd /
present -F '/b/docs/00000000 user.vexfs.chunks $((16 + per * (16 + 4 * dim))) bytes' /tmp/o/copies.txt "the chunks xattr of a 20-chunk set"
absent -F '/b/docs/00000000 user.vexfs.vector' /tmp/o/copies.txt "user.vexfs.vector listed for a 20-chunk set"
present -F '/b/docs/single1 user.vexfs.vector' /tmp/o/copies.txt "user.vexfs.vector of a one-chunk set"
present -F '/b/docs/ranged user.vexfs.chunks' /tmp/o/copies.txt "the chunks xattr of the ranged set"
for f in \$(ls /a/docs); do
  run_ok /tmp/o/a/\$f.json vexctl get /a/docs/\$f --json
  run_ok /tmp/o/b/\$f.json vexctl get /b/docs/\$f --json
done
q=/extra/queries.fvecs
for m in a b; do
  run_ok /tmp/o/x.txt vexctl batch-search /\$m --queries \$q -k 10 --exact --out /tmp/o/\$m-exact.jsonl
  run_ok /tmp/o/x.txt vexctl batch-search /\$m --queries \$q -k 10 --exact --per-file --out /tmp/o/\$m-pf.jsonl
  run_ok /tmp/o/x.txt vexctl batch-search /\$m --queries \$q -k 10 --ef 128 --out /tmp/o/\$m-hnsw.jsonl
  run_ok /tmp/o/\$m-status.json vexctl status /\$m --json
done
umount /b
mount -t vexfs /dev/vdb /b
run_ok /tmp/o/x.txt vexctl batch-search /b --queries \$q -k 10 --exact --out /tmp/o/b2-exact.jsonl
umount /b
umount /a
cd /tmp/o && tar cf /dev/vdc .
GUEST
"$VM_RUN" --disk "$src" --disk "$dst" --disk "$out" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$src"
fsck_clean "$dst"
from_outdisk "$out" "$WORK/res"
python3 - "$WORK/res" $((files + 6)) <<'PY' || fail "the copy differs"
import json, os, sys
res, want = sys.argv[1], int(sys.argv[2])
def gets(m):  # the `vexctl get --json` outputs (run_ok also leaves NAME.json.err)
    return sorted(n for n in os.listdir(f"{res}/{m}") if n.endswith(".json"))
names = gets("a")
if len(names) != want or names != gets("b"):
    print(f"FAIL: {len(names)} files on a, {len(gets('b'))} on b, want {want}")
    sys.exit(1)
for n in names:
    a, b = (json.load(open(f"{res}/{m}/{n}")) for m in "ab")
    a.pop("path"); b.pop("path")
    if a != b:
        print(f"FAIL: {n}: {a} != {b}")
        sys.exit(1)
    if b["stale"]:
        print(f"FAIL: {n}: the copy is stale")
        sys.exit(1)
r = json.load(open(f"{res}/a/ranged.json"))
if [(c["offset"], c["length"]) for c in r["chunks"]] != [(5, 7)]:
    print(f"FAIL: ranged: {r['chunks']}")
    sys.exit(1)
sa, sb = (json.load(open(f"{res}/{m}-status.json")) for m in "ab")
for k in ("files", "vectors", "stale_files"):
    if sa[k] != sb[k]:
        print(f"FAIL: status {k}: {sa[k]} != {sb[k]}")
        sys.exit(1)
print(f"{len(names)} files: identical chunk sets; status files={sb['files']} vectors={sb['vectors']}")
PY
fields=path,chunk,offset,length,stale,distance
"$TESTDATA" same --a "$WORK/res/a-exact.jsonl" --b "$WORK/res/b-exact.jsonl" --fields $fields
"$TESTDATA" same --a "$WORK/res/a-pf.jsonl" --b "$WORK/res/b-pf.jsonl" --fields $fields
"$TESTDATA" same --a "$WORK/res/a-exact.jsonl" --b "$WORK/res/b2-exact.jsonl" --fields $fields
"$TESTDATA" overlap --approx "$WORK/res/b-hnsw.jsonl" --exact "$WORK/res/a-hnsw.jsonl" -k 10 --min 0.9
echo "chunks-xattr-copy: passed"
