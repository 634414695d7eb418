#!/usr/bin/env bash
# Issue 16 regressions of the vector index, made deterministic with the
# module's test knobs (/sys/module/vexfs/parameters/debug_*):
#  A. unmount with a graph failure in the final drain: the failure asks for a
#     rebuild, which must not be queued (it ran on freed arrays after
#     vexfs_vindex_free(): a use-after-free, seen as a rebuild message after
#     the unmount, or a crash);
#  B. a rebuild during which the full pending queue drops removals must not
#     validate its graph (removed files kept graph nodes, their slots leaked):
#     afterwards graph nodes == vectors, and the persisted graph loads;
#  C. a slot-array growth that races a rebuild's swap must grow the new graph
#     too (before: the arrays outgrew the graph and the next insert failed).
. "$(dirname "$0")/../lib/common.sh"
dim=8
"$TESTDATA" gen --n 743 --dim $dim --seed 31 --out "$WORK/c.fvecs"
"$TESTDATA" gen --n 300 --dim $dim --seed 32 --out "$WORK/b.fvecs"
"$TESTDATA" gen --n 20 --dim $dim --seed 33 --out "$WORK/a.fvecs"
mkdir -p "$WORK/add" && cp "$WORK"/*.fvecs "$WORK/add/"
img=$WORK/races.img
new_image "$img" 128M --dim $dim

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
P=/sys/module/vexfs/parameters
knob() { echo "$2" > $P/debug_$1; }
# status field NAME: from vexctl status --json (fails if status fails)
field() {
  vexctl status /mnt --json > /tmp/st.json || fail "vexctl status failed"
  v=$(tr -d ' \n' < /tmp/st.json | sed -n "s/.*\"$1\":\([a-z0-9]*\).*/\1/p")
  [ -n "$v" ] || fail "no $1 in status: $(cat /tmp/st.json)"
  echo "$v"
}
stat_field() {
  vexctl stats /mnt --json > /tmp/stats.json || fail "vexctl stats failed"
  v=$(tr -d ' \n' < /tmp/stats.json | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p")
  [ -n "$v" ] || fail "no $1 in stats: $(cat /tmp/stats.json)"
  echo "$v"
}
# wait_log PATTERN: until the kernel log has it (60 s at most)
wait_log() {
  i=0
  while [ $i -lt 600 ]; do
    dmesg > /tmp/dm.txt || fail "dmesg failed"
    grep -q "$1" /tmp/dm.txt && return 0  # negcheck-ok: a positive check in a retry loop (dmesg's status is checked); never found ends in fail
    sleep 0.1; i=$((i + 1))
  done
  fail "no '$1' in the kernel log"
}
for k in fail_graph max_pending rebuild_delay_ms alloc_delay_ms; do
  [ -w $P/debug_$k ] || fail "no test knob $P/debug_$k"
done

echo "== A: unmount with a graph failure in the final drain"
mount -t vexfs /dev/vda /mnt
vexctl config /mnt --sync-mode lazy --sync-interval-ms 3600000 --batch-size 4096 >/dev/null
vexctl import /mnt/a --fvecs /extra/a.fvecs >/dev/null
[ "$(field pending)" = 20 ] || fail "A: 20 changes should be queued, status: $(cat /tmp/st.json)"
knob fail_graph 1
dmesg -c > /dev/null
umount /mnt
knob fail_graph 0
dmesg > /tmp/dm.txt || fail "dmesg failed"
grep -q "graph error" /tmp/dm.txt || fail "A: the injected graph failure did not happen at unmount"
absent "HNSW graph rebuilt|HNSW rebuild failed" /tmp/dm.txt "A: a rebuild ran after the unmount began"
mount -t vexfs /dev/vda /mnt
[ "$(field vectors)" = 20 ] || fail "A: 20 vectors expected after remount"
wait_log "HNSW graph rebuilt over 20 vectors"
echo "A: passed"

echo "== B: removals dropped by the full queue during a rebuild"
vexctl import /mnt/b --fvecs /extra/b.fvecs >/dev/null
vexctl sync /mnt
knob max_pending 16
knob rebuild_delay_ms 3000
dmesg -c > /dev/null
vexctl rebuild /mnt & rb=$!
wait_log "debug_rebuild_delay_ms: graph built"
# The graph holds every file now; 40 removals overflow the 16-slot queue.
for f in $(ls /mnt/b | head -40); do rm /mnt/b/$f; done
kill -0 $rb 2>/dev/null || fail "B: the rebuild ended before the removals (knob not honoured)"
wait $rb || fail "B: vexctl rebuild failed"
knob max_pending 0
knob rebuild_delay_ms 0
vexctl sync /mnt
vec=$(field vectors) nodes=$(field graph_nodes) valid=$(field graph_valid)
echo "B: vectors $vec, graph nodes $nodes, graph valid $valid"
[ "$vec" = 280 ] || fail "B: 280 vectors expected"
[ "$valid" = true ] || fail "B: graph not valid after the rebuild"
[ "$nodes" = "$vec" ] || fail "B: graph has $nodes nodes for $vec vectors (removed files kept theirs)"
umount /mnt
dmesg -c > /dev/null
mount -t vexfs /dev/vda /mnt
dmesg > /tmp/dm.txt || fail "dmesg failed"
absent "disagrees" /tmp/dm.txt "B: the persisted graph disagrees with the store"
grep -q "280 vectors of dimension 8, graph loaded" /tmp/dm.txt || { cat /tmp/dm.txt; fail "B: graph not loaded at remount"; }
echo "B: passed"

echo "== C: slot arrays grow while a rebuild swaps its graph in"
# 1024 vectors (the arrays' first capacity) and no usable persisted graph:
# the next mount rebuilds with the arrays full. The 1024th vector is set on a
# new file with the graph failing (a set on a file with a vector would move
# it to a new slot, copy-on-write, and grow the arrays now).
vexctl import /mnt/c --fvecs /extra/c.fvecs >/dev/null
[ "$(field vectors)" = 1023 ] || fail "C: 1023 vectors expected"
vexctl config /mnt --auto-rebuild off >/dev/null
echo last > /mnt/c/last
knob fail_graph 1
vexctl set /mnt/c/last --vector 1,2,3,4,5,6,7,8
knob fail_graph 0
[ "$(field vectors)" = 1024 ] || fail "C: 1024 vectors expected"
[ "$(field graph_valid)" = false ] || fail "C: the injected failure left the graph valid"
umount /mnt
knob rebuild_delay_ms 3000
dmesg -c > /dev/null
mount -t vexfs /dev/vda /mnt
wait_log "debug_rebuild_delay_ms: graph built"
knob alloc_delay_ms 8000
echo new > /mnt/new
vexctl set /mnt/new --vector 8,7,6,5,4,3,2,1
knob alloc_delay_ms 0
knob rebuild_delay_ms 0
dmesg > /tmp/dm.txt || fail "dmesg failed"
# The race: the growth started without a graph, the rebuild swapped one in
# while it waited unlocked.
sed -n 's/.*\(growing the slot arrays to 2048 ([a-z]* graph)\|HNSW graph rebuilt over [0-9]* vectors\).*/\1/p' /tmp/dm.txt > /tmp/order.txt
echo "C: kernel log: $(tr '\n' ';' < /tmp/order.txt)"
[ "$(sed -n 1p /tmp/order.txt)" = "growing the slot arrays to 2048 (without graph)" ] &&
  [ "$(sed -n 2p /tmp/order.txt)" = "HNSW graph rebuilt over 1024 vectors" ] ||
  fail "C: the growth did not overlap the rebuild's swap"
absent "graph error" /tmp/dm.txt "C: a graph insert failed after the arrays grew"
vec=$(field vectors) nodes=$(field graph_nodes) valid=$(field graph_valid)
echo "C: vectors $vec, graph nodes $nodes, graph valid $valid, errors $(stat_field errors)"
[ "$vec" = 1025 ] && [ "$nodes" = 1025 ] && [ "$valid" = true ] || fail "C: index not whole"
[ "$(stat_field errors)" = 0 ] || fail "C: index errors"
umount /mnt
echo "C: passed"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "vectors-races: passed"
