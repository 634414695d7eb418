#!/usr/bin/env bash
# Issue 13 item 3: search over chunks. Files with several chunks (VEXFS_IOC_SET_CHUNKS,
# vexfs-chunkset): results name the chunk, its byte range and staleness; PER_FILE gives each
# file once with its nearest chunk (kNN: the k nearest files, also when one file's 200 chunks
# crowd the nearest and the graph walk (20 chunks at first for k = 5) must widen; range: every matching file once, truncated
# when they do not fit; over the graph, the exact scan and a small scope's member scan);
# FRESH leaves stale sets out and setting the chunks again clears staleness; GET_STATUS counts
# files and stale files; an unlinked file's chunks never come back; identical after a remount.
. "$(dirname "$0")/../lib/common.sh"
mkdir -p "$WORK/add"
for t in vexfs-chunkset vexfs-rawsearch; do
  musl-gcc -static -O2 -Wall -Werror -I"$VM_TOP/shim/uapi" -idirafter /usr/include \
    -idirafter /usr/include/x86_64-linux-gnu -o "$WORK/add/$t" \
    "$VM_TOP/tests/vm/lib/guest-tools/$t.c" || fail "building $t"
done
img=$WORK/chunks.img
new_image "$img" 64M --dim 4 --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
PATH=/extra:$PATH
fail() { echo "FAIL: $*"; exit 1; }
Q=0,0,0,0
# rs OUT PATH KIND K THRESHOLD FLAGS: raw search for Q; OUT keeps "ino chunk offset length
# stale" per result (distances are checked by order), then the count and truncated lines.
rs() {
  run_ok /tmp/rs.raw vexfs-rawsearch "$2" "$3" "$4" "$5" "$6" $Q
  awk '/^count|^truncated/ { print; next } { print $1, $3, $4, $5, $6 }' /tmp/rs.raw > "$1"
}
# want OUT WHAT LINE...: OUT must be exactly these lines.
want() {
  out=$1 what=$2; shift 2
  printf '%s\n' "$@" > /tmp/want
  cmp -s /tmp/want "$out" || { echo "got:"; cat "$out"; echo "want:"; cat /tmp/want; fail "$what"; }
}
ino() { stat -c %i "/mnt/d/$1"; }
status() { run_ok /tmp/status vexfs-chunkset /mnt status; cat /tmp/status; }

mount -t vexfs /dev/vda /mnt
mkdir /mnt/d
# f0..f9: 5 chunks each, chunk c of fi at x = 10 i + 4 - c (the last chunk is the nearest to
# Q), bytes [100 c, 100 c + 100). big: 200 chunks at x = 0.5 .. 0.699, nearer than every
# fi but f0's chunk 4.
for i in 0 1 2 3 4 5 6 7 8 9; do
  echo "file $i" > /mnt/d/f$i
  set --
  for c in 0 1 2 3 4; do set -- "$@" "$((100 * c)):100:$((10 * i + 4 - c)),0,0,0"; done
  run_ok /tmp/set vexfs-chunkset /mnt/d/f$i "$@"
done
echo big > /mnt/d/big
run_ok /tmp/set vexfs-chunkset /mnt/d/big line:200:0.5:0.001
status
present -x 'vectors 250 files 11 stale_files 0' /tmp/status "status after the sets"
F0=$(ino f0) F1=$(ino f1) F2=$(ino f2) F3=$(ino f3) F4=$(ino f4) BIG=$(ino big)

check_all() {
  # Chunks: the nearest three, with their ranges.
  for fl in 0 1; do
    rs /tmp/o /mnt knn 3 0 $fl
    want /tmp/o "$1: kNN chunks (flags $fl)" "$F0 4 400 100 0" "$BIG 0 0 100 0" "$BIG 1 100 100 0" \
      "count 3" "truncated 0"
  done
  # Per file: the 5 nearest files, each with its nearest chunk, over the graph (the first
  # walk of 20 chunks finds 2 files: it widens), exactly, and over a small scope's members.
  for fl in 8 9; do
    rs /tmp/o /mnt knn 5 0 $fl
    want /tmp/o "$1: per-file kNN (flags $fl)" "$F0 4 400 100 0" "$BIG 0 0 100 0" \
      "$F1 4 400 100 0" "$F2 4 400 100 0" "$F3 4 400 100 0" "count 5" "truncated 0"
  done
  rs /tmp/o /mnt/d knn 5 0 10
  want /tmp/o "$1: per-file kNN in a small scope" "$F0 4 400 100 0" "$BIG 0 0 100 0" \
    "$F1 4 400 100 0" "$F2 4 400 100 0" "$F3 4 400 100 0" "count 5" "truncated 0"
  # Range up to 150: 5 + 200 + 3 chunks of f0, big, f1 (x 10, 11, 12 -> 100, 121, 144).
  rs /tmp/o /mnt range 300 150 1
  present -x 'count 208' /tmp/o "$1: range chunks"
  for fl in 8 9 10; do
    p=/mnt; [ $fl = 10 ] && p=/mnt/d
    rs /tmp/o $p range 10 150 $fl
    want /tmp/o "$1: per-file range (flags $fl)" "$F0 4 400 100 0" "$BIG 0 0 100 0" \
      "$F1 4 400 100 0" "count 3" "truncated 0"
    rs /tmp/o $p range 2 150 $fl
    want /tmp/o "$1: per-file range over capacity (flags $fl)" "$F0 4 400 100 0" \
      "$BIG 0 0 100 0" "count 2" "truncated 1"
  done
  echo "$1: ok"
}
check_all "fresh sets"
# big's 200 chunks may still have been queued (large runs reach the graph in batches):
# again with the graph holding every chunk, so the per-file walk must widen.
run_ok /tmp/sync vexctl sync /mnt
check_all "synced"

# Stale: appending to f0 marks its set; FRESH leaves it out, PER_FILE + FRESH too.
echo more >> /mnt/d/f0
status
present -x 'vectors 250 files 11 stale_files 1' /tmp/status "status after the append"
rs /tmp/o /mnt knn 3 0 1
want /tmp/o "stale chunk flagged" "$F0 4 400 100 1" "$BIG 0 0 100 0" "$BIG 1 100 100 0" "count 3" \
  "truncated 0"
for fl in 4 5; do
  rs /tmp/o /mnt knn 3 0 $fl
  want /tmp/o "fresh kNN (flags $fl)" "$BIG 0 0 100 0" "$BIG 1 100 100 0" "$BIG 2 200 100 0" \
    "count 3" "truncated 0"
done
for fl in 12 13; do
  rs /tmp/o /mnt knn 3 0 $fl
  want /tmp/o "fresh per-file kNN (flags $fl)" "$BIG 0 0 100 0" "$F1 4 400 100 0" \
    "$F2 4 400 100 0" "count 3" "truncated 0"
done
rs /tmp/o /mnt range 10 150 13
want /tmp/o "fresh per-file range" "$BIG 0 0 100 0" "$F1 4 400 100 0" "count 2" "truncated 0"
# A second data change does not count twice; setting the chunks again clears it.
echo again >> /mnt/d/f0
status
present -x 'vectors 250 files 11 stale_files 1' /tmp/status "status after a second append"
set --
for c in 0 1 2 3 4; do set -- "$@" "$((100 * c)):100:$((4 - c)),0,0,0"; done
run_ok /tmp/set vexfs-chunkset /mnt/d/f0 "$@"
status
present -x 'vectors 250 files 11 stale_files 0' /tmp/status "status after setting again"
check_all "set again"

umount /mnt
mount -t vexfs /dev/vda /mnt
check_all "after remount"

# Shrink big to one chunk: it appears once, and f0's next chunk comes after it.
run_ok /tmp/set vexfs-chunkset /mnt/d/big line:1:0.5:0
rs /tmp/o /mnt knn 3 0 1
want /tmp/o "after shrinking big" "$F0 4 400 100 0" "$BIG 0 0 100 0" "$F0 3 300 100 0" "count 3" \
  "truncated 0"
# Unlinked: none of f1's chunks is returned again.
rm /mnt/d/f1
for fl in 0 1 8 9; do
  rs /tmp/o /mnt knn 20 0 $fl
  absent "^$F1 " /tmp/o "unlinked f1 returned (flags $fl)"
done
rs /tmp/o /mnt knn 4 0 9
want /tmp/o "per-file after unlink" "$F0 4 400 100 0" "$BIG 0 0 100 0" "$F2 4 400 100 0" \
  "$F3 4 400 100 0" "count 4" "truncated 0"
status
present -x 'vectors 46 files 10 stale_files 0' /tmp/status "status before the random files"
# Many files, many random chunks (the volume holds only these): per-file results are exactly
# the plain exact ranking with each file's later chunks left out, over the exact scan, a
# small scope's members and the graph (exact in practice at 2,000 chunks of dimension 4),
# for kNN and range.
rm -r /mnt/d
mkdir /mnt/r
i=0
while [ $i -lt 100 ]; do
  echo "r $i" > /mnt/r/f$i
  run_ok /tmp/set vexfs-chunkset /mnt/r/f$i rand:20:$((i * 7919 + 1))
  i=$((i + 1))
done
run_ok /tmp/sync vexctl sync /mnt
# dedup IN N OUT: the first N result lines of IN with a new inode, then IN's count of them.
dedup() {
  awk -v n="$2" '/^count|^truncated/ { next } !seen[$1]++ { if (k < n) { print; k++ } }
    END { print "count " k }' "$1" > "$3"
}
for Q in 0.1,-0.3,0.5,0.2 -0.7,0.4,0.0,-0.1 0.9,0.9,-0.9,0.3; do
  rs /tmp/all /mnt knn 4096 0 1
  present -x 'count 2000' /tmp/all "random: plain exact ranking of every chunk"
  dedup /tmp/all 10 /tmp/exp
  for fl in 8 9 11; do
    p=/mnt; [ $fl = 11 ] && p=/mnt/r
    rs /tmp/o $p knn 10 0 $fl
    grep -v '^truncated' /tmp/o > /tmp/o2
    cmp -s /tmp/exp /tmp/o2 || { cat /tmp/exp /tmp/o2; fail "random $Q: per-file kNN (flags $fl) is not the deduplicated ranking"; }
  done
  # Range up to the 60th chunk's distance: the files among them, each once.
  run_ok /tmp/all.raw vexfs-rawsearch /mnt knn 60 0 1 $Q
  thr=$(sed -n '60s/^[0-9]* \([^ ]*\) .*/\1/p' /tmp/all.raw)
  [ -n "$thr" ] || fail "random $Q: no 60th distance"
  rs /tmp/rall /mnt range 4096 $thr 1
  dedup /tmp/rall 4096 /tmp/exp
  for fl in 8 9 11; do
    p=/mnt; [ $fl = 11 ] && p=/mnt/r
    rs /tmp/o $p range 4096 $thr $fl
    grep -v '^truncated' /tmp/o > /tmp/o2
    cmp -s /tmp/exp /tmp/o2 || { cat /tmp/exp /tmp/o2; fail "random $Q: per-file range (flags $fl) is not the deduplicated ranking"; }
  done
  echo "random $Q: per-file = deduplicated ranking ($(sed -n 's/^count //p' /tmp/exp) files in range)"
done
run_ok /tmp/dmesg.txt dmesg
absent -i 'vexfs.*(corrupt|error|warn)' /tmp/dmesg.txt "kernel reported errors"
umount /mnt
rmmod vexfs
echo "search-chunks: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "search-chunks: passed"
