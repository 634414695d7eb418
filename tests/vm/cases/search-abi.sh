#!/usr/bin/env bash
# Issue 13 item 3, the ABI part: every ioctl struct at any size from its first version up
# (vexfs-abi-check: a VER0 search struct and 40-byte results work exactly as before chunks;
# sizes between and above the versions; nonzero trailing bytes E2BIG; out-structs written only
# up to the caller's size; result_size strides), and the VEXFS_SEARCH_F_PER_FILE /
# VEXFS_SEARCH_F_FRESH plumbing on files with one vector each: per-file results are the
# plain ones (one chunk per file), over the graph, the exact scan and range; FRESH changes
# nothing while no set is stale. Chunked files: tests/vm/cases/search-chunks.sh.
. "$(dirname "$0")/../lib/common.sh"
mkdir -p "$WORK/add"
for t in vexfs-abi-check vexfs-rawsearch; do
  musl-gcc -static -O2 -Wall -Werror -I"$VM_TOP/shim/uapi" -idirafter /usr/include \
    -idirafter /usr/include/x86_64-linux-gnu -o "$WORK/add/$t" \
    "$VM_TOP/tests/vm/lib/guest-tools/$t.c" || fail "building $t"
done
dim=8
"$TESTDATA" gen --n 400 --dim $dim --seed 31 --out "$WORK/add/base.fvecs"
img=$WORK/abi.img
new_image "$img" 64M --dim $dim --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
PATH=/extra:$PATH
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
vexctl import /mnt/data --fvecs /extra/base.fvecs
run_ok /tmp/st vexctl status /mnt
present 'graph valid: *(yes|true)' /tmp/st "graph not valid after import"
vexfs-abi-check /mnt/data/00000000 /mnt

# rs OUT KIND K THRESHOLD FLAGS QUERY: a raw search that must succeed.
rs() { run_ok "$1" vexfs-rawsearch /mnt "$2" "$3" "$4" "$5" "$6"; }
n=0
for q in 1,0,0,0,0,0,0,0 0.3,-0.2,0.5,0.1,0,0.7,-0.4,0.2 -0.5,0.5,-0.5,0.5,-0.5,0.5,-0.5,0.5; do
  n=$((n + 1))
  # kNN, exact: PER_FILE keeps one hit per file (here: all of them), FRESH hides nothing.
  for k in 10 50 400; do
    rs /tmp/plain knn $k 0 1 $q
    rs /tmp/pf knn $k 0 9 $q
    rs /tmp/fresh knn $k 0 5 $q
    cmp /tmp/plain /tmp/pf || fail "q$n k $k: exact per-file differs from exact"
    cmp /tmp/plain /tmp/fresh || fail "q$n k $k: exact fresh differs from exact"
    present -x "count $k" /tmp/plain "q$n k $k: exact count"
  done
  # kNN over the graph (400 vectors: exact in practice) against the exact answer.
  rs /tmp/plain knn 10 0 1 $q
  rs /tmp/pf knn 10 0 8 $q
  rs /tmp/pff knn 10 0 12 $q
  cmp /tmp/plain /tmp/pf || fail "q$n: graph per-file differs from exact"
  cmp /tmp/plain /tmp/pff || fail "q$n: graph per-file fresh differs from exact"
  # Range up to the 20th nearest distance, exact and graph, with room for all and with too
  # little room (truncated).
  rs /tmp/k50 knn 50 0 1 $q
  thr=$(sed -n '20s/^[0-9]* \([^ ]*\) .*/\1/p' /tmp/k50)
  [ -n "$thr" ] || fail "q$n: no 20th distance"
  rs /tmp/plain range 400 $thr 1 $q
  rs /tmp/pf range 400 $thr 9 $q
  rs /tmp/pfg range 400 $thr 8 $q
  cmp /tmp/plain /tmp/pf || fail "q$n: exact range per-file differs"
  cmp /tmp/plain /tmp/pfg || fail "q$n: graph range per-file differs from exact"
  present -x "truncated 0" /tmp/plain "q$n: range with room for all truncated"
  m=$(sed -n 's/^count //p' /tmp/plain)
  [ "$m" -ge 15 ] || fail "q$n: range up to the 20th distance (printed, rounded) matched only $m files"
  rs /tmp/plain range 3 $thr 1 $q
  rs /tmp/pf range 3 $thr 9 $q
  cmp /tmp/plain /tmp/pf || fail "q$n: truncated exact range per-file differs"
  present -x "truncated 1" /tmp/pf "q$n: per-file range over capacity not truncated"
  echo "q$n: per-file and fresh agree with plain search ($m in range)"
done
run_ok /tmp/dmesg.txt dmesg
absent -i 'vexfs.*(corrupt|error|warn)' /tmp/dmesg.txt "kernel reported errors"
umount /mnt
rmmod vexfs
echo "search-abi: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "search-abi: passed"
