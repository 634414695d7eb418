#!/usr/bin/env bash
# Issue 13 acceptance: staleness and unlink through vexctl. 40 files x 5
# chunks imported by manifest. Appending to one file makes its hits
# "stale": true (HNSW and exact), --fresh drops them, every other hit is
# unchanged; `vexctl get --json` and `status --json` say so; setting its
# chunks again clears it (exact results identical to before the append).
# Staleness survives a remount. An unlinked file's chunks are never returned
# again: kNN, exact, --per-file, range over everything, after creating new
# files (inode numbers may be reused) and after a remount. Checks of the
# JSON on the host (python3).
. "$(dirname "$0")/../lib/common.sh"
dim=16 files=40 per=5 bytes=100
n=$((files * per)) rec=$((4 + 4 * dim))
"$TESTDATA" gen --n $n --dim $dim --seed 41 --run $per --out "$WORK/base.fvecs"
mkdir -p "$WORK/add"
"$TESTDATA" chunk-manifest --base "$WORK/base.fvecs" --per-file $per --chunk-bytes $bytes \
  --prefix docs --out "$WORK/add/m.jsonl"
# Queries: chunk 2 of file 7, chunk 0 of file 9; file 7's chunks as a set --chunks file.
# (dd, not tail | head: head closing the pipe early fails tail with SIGPIPE under pipefail)
dd if="$WORK/base.fvecs" of="$WORK/add/q7.fvecs" bs=$rec skip=37 count=1 status=none
dd if="$WORK/base.fvecs" of="$WORK/add/q9.fvecs" bs=$rec skip=45 count=1 status=none
grep -F '"path":"docs/00000007"' "$WORK/add/m.jsonl" > "$WORK/add/f7.jsonl"
[ "$(wc -l < "$WORK/add/f7.jsonl")" -eq $per ] || fail "f7.jsonl: want $per lines"

img=$WORK/stale.img out=$WORK/out.img
new_image "$img" 64M --dim $dim --metric l2
new_outdisk "$out"

cat > "$WORK/guest.sh" <<GUEST
set -eu
. /usr/lib/vexfs-checks.sh
mount -t vexfs /dev/vda /mnt
mkdir /mnt/docs /tmp/o
i=0
while [ \$i -lt $files ]; do
  head -c $((per * bytes)) /dev/zero > /mnt/docs/\$(printf %08d \$i)
  i=\$((i + 1))
done
cd /mnt
run_ok /tmp/o/import.txt vexctl import --manifest /extra/m.jsonl
cd /
S() { o=\$1; shift; run_ok /tmp/o/\$o.json vexctl search /mnt "\$@" --json; }
q7="--vector-file /extra/q7.fvecs" q9="--vector-file /extra/q9.fvecs"
S s0 \$q7 -k 10
S s0x \$q7 -k 10 --exact
run_ok /tmp/o/st0.json vexctl status /mnt --json
# Rename, chmod and a hard link do not make a set stale.
mv /mnt/docs/00000003 /mnt/docs/x3 && mv /mnt/docs/x3 /mnt/docs/00000003
chmod 600 /mnt/docs/00000003 && ln /mnt/docs/00000003 /mnt/l3 && rm /mnt/l3
run_ok /tmp/o/g3.json vexctl get /mnt/docs/00000003 --json
echo more >> /mnt/docs/00000007
S s1 \$q7 -k 10
S s1x \$q7 -k 10 --exact
S s2 \$q7 -k 10 --fresh
S s2x \$q7 -k 10 --fresh --exact
S s2p \$q7 -k 10 --fresh --per-file
run_ok /tmp/o/t1.txt vexctl search /mnt \$q7 -k 3
run_ok /tmp/o/g1.json vexctl get /mnt/docs/00000007 --json
run_ok /tmp/o/st1.json vexctl status /mnt --json
run_ok /tmp/o/set.txt vexctl set /mnt/docs/00000007 --chunks /extra/f7.jsonl
S s3 \$q7 -k 10
S s3x \$q7 -k 10 --exact
run_ok /tmp/o/g3b.json vexctl get /mnt/docs/00000007 --json
run_ok /tmp/o/st2.json vexctl status /mnt --json
# Unlink file 9.
S u0 \$q9 -k 20 --exact
ls -i /mnt/docs/00000009 > /tmp/o/ino9.txt
rm /mnt/docs/00000009
S u1 \$q9 -k 20
S u1x \$q9 -k 20 --exact
S u1p \$q9 -k 20 --per-file
run_ok /tmp/o/u1r.json vexctl range /mnt \$q9 --max-distance 1e30 --exact --json
# New files (may reuse the inode number); one carries chunks of its own.
for f in n1 n2 n3 n4; do echo new > /mnt/docs/\$f; done
printf '{"offset": 0, "length": 4, "vector": [%s]}\n' "\$(sed -n 1p /extra/m.jsonl | sed 's/.*"vector":\[\(.*\)\].*/\1/')" > /tmp/n1.jsonl
run_ok /tmp/o/setn.txt vexctl set /mnt/docs/n1 --chunks /tmp/n1.jsonl
ls -i /mnt/docs/n1 /mnt/docs/n2 /mnt/docs/n3 /mnt/docs/n4 > /tmp/o/inon.txt
S u2 \$q9 -k 20
run_ok /tmp/o/u2r.json vexctl range /mnt \$q9 --max-distance 1e30 --exact --json
# Append to file 11 and remount: its set stays stale, file 7's fresh.
echo more >> /mnt/docs/00000011
umount /mnt
mount -t vexfs /dev/vda /mnt
S u3 \$q9 -k 20
S u3x \$q9 -k 20 --exact
run_ok /tmp/o/u3r.json vexctl range /mnt \$q9 --max-distance 1e30 --exact --json
S s4x \$q7 -k 10 --exact
run_ok /tmp/o/g11.json vexctl get /mnt/docs/00000011 --json
run_ok /tmp/o/st3.json vexctl status /mnt --json
umount /mnt
cd /tmp/o && tar cf /dev/vdb .
GUEST
"$VM_RUN" --disk "$img" --disk "$out" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
from_outdisk "$out" "$WORK/res"
python3 - "$WORK/res" $files $per <<'PY' || fail "checks on the results"
import json, sys
res, files, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def j(name):
    with open(f"{res}/{name}.json") as f:
        return json.load(f)
def key(h):
    return (h["path"], h["chunk"], h["offset"], h["length"], h["distance"])
def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)
F7, F9 = "docs/00000007", "docs/00000009"
s0, s0x = j("s0"), j("s0x")
check(key(s0[0]) == (F7, 2, 200, 100, 0.0) and not s0[0]["stale"], f"s0[0] = {s0[0]}")
check(not any(h["stale"] for h in s0 + s0x), "stale hits before any write")
st0 = j("st0")
check((st0["files"], st0["stale_files"], st0["vectors"]) == (files, 0, files * per), f"status {st0}")
check(j("g3")["stale"] is False, "rename/chmod/link made file 3 stale")
# After the append: file 7's hits stale, everything else as before.
for a, b in (("s0", "s1"), ("s0x", "s1x")):
    A, B = j(a), j(b)
    check([key(h) for h in A] == [key(h) for h in B], f"{b}: hits changed by the append")
    for h in B:
        check(h["stale"] == (h["path"] == F7), f"{b}: stale flag wrong on {h}")
    check(any(h["path"] == F7 for h in B), f"{b}: no hit of file 7")
for name in ("s2", "s2x", "s2p"):
    check(all(h["path"] != F7 for h in j(name)), f"{name}: --fresh returned file 7")
    check(len(j(name)) == 10, f"{name}: {len(j(name))} hits, want 10")
others = [key(h) for h in j("s1x") if h["path"] != F7]
check([key(h) for h in j("s2x")][:len(others)] == others, "s2x: --fresh changed the other hits")
check(len({h["path"] for h in j("s2p")}) == 10, "s2p: --per-file repeated a file")
with open(f"{res}/t1.txt") as f:
    t1 = f.read()
check(F7 + " (stale)" in t1 and "200-300" in t1, f"table output: {t1!r}")
g1 = j("g1")
check(g1["stale"] is True and len(g1["chunks"]) == per, f"get after append: stale {g1['stale']}")
check([(c["offset"], c["length"]) for c in g1["chunks"]] == [(i * 100, 100) for i in range(per)], "g1 ranges")
st1 = j("st1")
check((st1["files"], st1["stale_files"]) == (files, 1), f"status after append {st1}")
# Set again: fresh, identical exact results.
check(j("g3b")["stale"] is False, "get after set: still stale")
check(j("s3x") == j("s0x"), "s3x differs from s0x")
check(key(j("s3")[0]) == (F7, 2, 200, 100, 0.0) and not any(h["stale"] for h in j("s3")), "s3")
check(j("st2")["stale_files"] == 0, f"status after set {j('st2')}")
# Unlink.
with open(f"{res}/ino9.txt") as f:
    ino9 = int(f.read().split()[0])
with open(f"{res}/inon.txt") as f:
    new_inos = {int(l.split()[0]): l.split()[1] for l in f if l.strip()}
check(any(h["path"] == F9 for h in j("u0")), "u0: file 9 not found before the unlink")
for name in ("u1", "u1x", "u1p", "u1r", "u2", "u2r", "u3", "u3x", "u3r"):
    for h in j(name):
        check(h["path"] != F9, f"{name}: unlinked file 9 returned: {h}")
        check(h["ino"] != ino9 or new_inos.get(h["ino"]) == "/mnt/" + h["path"],
              f"{name}: inode {ino9} of the unlinked file returned as {h}")
check(len(j("u1r")) == files * per - per, f"u1r: {len(j('u1r'))} chunks, want {files * per - per}")
check(len(j("u3r")) == files * per - per + 1, f"u3r: {len(j('u3r'))} chunks, want {files * per - per + 1}")
check(any(h["path"] == "docs/n1" for h in j("u2r")), "u2r: new file n1 missing")
# After the remount.
check(j("s4x") == j("s0x"), "s4x after remount differs from s0x")
check(j("g11")["stale"] is True, "file 11 not stale after remount")
st3 = j("st3")
check((st3["files"], st3["stale_files"], st3["vectors"]) == (files, 1, files * per - per + 1), f"status {st3}")
print("chunks-stale host checks: passed")
PY
echo "chunks-stale: passed"
