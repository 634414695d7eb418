#!/usr/bin/env bash
# Issue 13 items 1, 2, 4, 5 (kernel side): chunk sets through
# VEXFS_IOC_SET_CHUNKS / GET_CHUNKS (the static guest tool vexfs-chunks) and
# the user.vexfs.chunks attribute: sets of 1, 20 and 16384 chunks read back
# exactly (paged), a set shrinking from 1000 chunks to 1, dropping, every bad
# input with its errno and nothing changed, the single-vector calls on a set
# of several chunks, staleness after write, direct write, truncate,
# fallocate, punch, zero range and mmap write (and not after rename, chmod,
# chown, link or preallocation within the size), a set copied through the
# attribute to a second volume, and everything again after a remount.
. "$(dirname "$0")/../lib/common.sh"
build_guest_tools "$WORK/add"
img=$WORK/chunks.img
img2=$WORK/chunks2.img
new_image "$img" 256M --dim 8
new_image "$img2" 64M --dim 8

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
# want FILE SEED N [PAGE]: the file's set is exactly the generated (SEED, N)
want() {
  run_ok /tmp/v.txt vexfs-chunks verify "$1" "${4:-100}"
  present -x "$2 $3 stale=[01] dv=[0-9]+" /tmp/v.txt "$1: set ($2, $3) read back"
}
# stale FILE 0|1 [DV]: the set's stale flag (and data version)
stale() {
  run_ok /tmp/v.txt vexfs-chunks verify "$1"
  present " stale=$2 dv=${3:-[0-9]+}\$" /tmp/v.txt "$1: stale=$2 ${3:+dv=$3}"
}
nodata() {
  vexfs-chunks verify "$1" > /tmp/e.txt 2>&1 && fail "$1: GET_CHUNKS succeeded without a set"
  present "ERRNO No data available" /tmp/e.txt "$1: ENODATA without a set"
}
status_vectors() {
  vexctl status /mnt --json > /tmp/st.json || fail "vexctl status failed"
  tr -d ' \n' < /tmp/st.json | sed -n 's/.*"vectors":\([0-9]*\).*/\1/p'
}
mount -t vexfs /dev/vda /mnt
d=/mnt/d; mkdir $d

echo "== sets of 1, 20 and 16384 chunks"
echo one > $d/one
run_ok /tmp/o.txt vexfs-chunks set $d/one 1 1
want $d/one 1 1
# chunk 0 of seed 1: ((131 + 7 j) % 1000) / 8
run_ok /tmp/x.txt vexfs-xattr get $d/one user.vexfs.vector
present -x "16.375,17.25,18.125,19,19.875,20.75,21.625,22.5" /tmp/x.txt "one: user.vexfs.vector"
run_ok /tmp/l.txt vexfs-xattr list $d/one
[ "$(tr '\n' ' ' < /tmp/l.txt)" = "user.vexfs.vector user.vexfs.chunks " ] || fail "one: listxattr: $(cat /tmp/l.txt)"
run_ok /tmp/x.txt vexfs-chunks xverify $d/one
present -x "1 1" /tmp/x.txt "one: user.vexfs.chunks"
seq 1 2000 > $d/twenty
run_ok /tmp/o.txt vexfs-chunks set $d/twenty 2 20
want $d/twenty 2 20 7
want $d/twenty 2 20 1
run_ok /tmp/x.txt vexfs-chunks xverify $d/twenty
present -x "2 20" /tmp/x.txt "twenty: user.vexfs.chunks"
run_ok /tmp/l.txt vexfs-xattr list $d/twenty
[ "$(tr '\n' ' ' < /tmp/l.txt)" = "user.vexfs.chunks " ] || fail "twenty: listxattr: $(cat /tmp/l.txt)"
vexfs-xattr get $d/twenty user.vexfs.vector > /tmp/e.txt 2>&1 && fail "twenty: user.vexfs.vector read on 20 chunks"
present "ERRNO Argument list too long" /tmp/e.txt "twenty: user.vexfs.vector -E2BIG"
echo big > $d/big
t0=$(date +%s)
run_ok /tmp/o.txt vexfs-chunks set $d/big 3 16384
t1=$(date +%s)
want $d/big 3 16384 1000
want $d/big 3 16384 100
echo "16384 chunks set in $((t1 - t0)) s"
vexfs-xattr get $d/big user.vexfs.chunks > /tmp/e.txt 2>&1 && fail "big: a 16384-chunk attribute fit in 64 KiB"
present "ERRNO Argument list too long" /tmp/e.txt "big: user.vexfs.chunks -E2BIG"
[ "$(status_vectors)" = $((1 + 20 + 16384)) ] || fail "status vectors $(status_vectors), want 16405"
vexfs-chunks set $d/big 3 16385 > /tmp/e.txt 2>&1 && fail "16385 chunks accepted"
present "ERRNO Argument list too long" /tmp/e.txt "16385 chunks: E2BIG"
want $d/big 3 16384 1000

echo "== search finds a chunk of a multi-chunk set"
# chunk 7 of seed 2: ((262 + 119 + 7 j) % 1000) / 8
q=47.625,48.5,49.375,50.25,51.125,52,52.875,53.75
run_ok /tmp/s.json vexctl search /mnt --vector $q -k 100 --exact --json
present -F '"d/twenty"' /tmp/s.json "exact search: twenty's chunk 7"
run_ok /tmp/s.json vexctl search /mnt --vector $q -k 100 --json
present -F '"d/twenty"' /tmp/s.json "graph search: twenty's chunk 7"

echo "== replace 1000 chunks by 1, drop"
echo r > $d/shrink
run_ok /tmp/o.txt vexfs-chunks set $d/shrink 5 1000
want $d/shrink 5 1000
run_ok /tmp/o.txt vexfs-chunks set $d/shrink 6 1
want $d/shrink 6 1
[ "$(status_vectors)" = $((1 + 20 + 16384 + 1)) ] || fail "after shrink: status vectors $(status_vectors)"
run_ok /tmp/o.txt vexfs-chunks set $d/shrink 0 0
nodata $d/shrink
run_ok /tmp/l.txt vexfs-xattr list $d/shrink
[ ! -s /tmp/l.txt ] || fail "dropped set still listed: $(cat /tmp/l.txt)"
run_ok /tmp/o.txt vexfs-chunks set $d/shrink 0 0
[ "$(status_vectors)" = $((1 + 20 + 16384)) ] || fail "after drop: status vectors $(status_vectors)"
# Through the attribute: set, replace, remove.
run_ok /tmp/o.txt vexfs-chunks xset $d/shrink 7 30
want $d/shrink 7 30
run_ok /tmp/o.txt vexfs-xattr set $d/shrink user.vexfs.vector 1,2,3,4,5,6,7,8
run_ok /tmp/x.txt vexfs-xattr get $d/shrink user.vexfs.vector
present -x "1,2,3,4,5,6,7,8" /tmp/x.txt "shrink: one vector replaced 30 chunks"
run_ok /tmp/o.txt vexfs-chunks xset $d/shrink 8 2
run_ok /tmp/o.txt vexfs-xattr rm $d/shrink user.vexfs.chunks
nodata $d/shrink

echo "== bad input"
run_ok /tmp/bad.txt vexfs-chunks bad $d/twenty $d
cat /tmp/bad.txt
absent "^FAIL" /tmp/bad.txt "bad input"
want $d/twenty 2 20

echo "== staleness"
s=$d/s
seq 1 3000 > $s
run_ok /tmp/o.txt vexfs-chunks set $s 9 4
stale $s 0 0
mv $s $d/s2; mv $d/s2 $s
chmod 600 $s; chown 65534 $s; ln $s $d/s-link; rm $d/s-link
vexfs-chunks falloc $s keep 0 4096 > /tmp/o.txt || fail "preallocation in size: $(cat /tmp/o.txt)"
stale $s 0 0
echo more >> $s
stale $s 1 1
echo again >> $s
stale $s 1 1
run_ok /tmp/o.txt vexfs-chunks set $s 9 4
stale $s 0 1
check_stale() { # WHAT: the last step made the set stale; stamp it again
  stale $s 1 "" || fail "$1"
  run_ok /tmp/o.txt vexfs-chunks set $s 9 4
  stale $s 0
}
truncate -s 100 $s; check_stale "truncate"
truncate -s 20000 $s; check_stale "truncate up"
dd if=/dev/zero of=$s bs=4096 count=1 seek=1 oflag=direct conv=notrunc 2>/dev/null; check_stale "direct write"
vexfs-chunks falloc $s grow 0 65536 > /tmp/o.txt || fail "fallocate: $(cat /tmp/o.txt)"; check_stale "fallocate growing the file"
vexfs-chunks falloc $s punch 4096 4096 > /tmp/o.txt || fail "punch: $(cat /tmp/o.txt)"; check_stale "punch hole"
vexfs-chunks falloc $s zero 0 4096 > /tmp/o.txt || fail "zero range: $(cat /tmp/o.txt)"; check_stale "zero range"
run_ok /tmp/o.txt vexfs-mmap mwrite $s 100 200 5; check_stale "mmap write"
echo tail >> $s
stale $s 1

echo "== a set copied through user.vexfs.chunks to a second volume"
mkdir -p /mnt2
mount -t vexfs /dev/vdb /mnt2
echo c > /mnt2/twenty
run_ok /tmp/o.txt vexfs-chunks xcopy $d/twenty /mnt2/twenty
want /mnt2/twenty 2 20
run_ok /tmp/s1.json vexctl search /mnt2 --vector $q -k 1 --json
present -F '"twenty"' /tmp/s1.json "second volume: search finds the copied set"
umount /mnt2

echo "== after a remount"
umount /mnt
mount -t vexfs /dev/vda /mnt
dmesg > /tmp/dm.txt || fail "dmesg failed"
absent "slot .* skipped|disagrees" /tmp/dm.txt "remount: damaged slots"
want $d/one 1 1
want $d/twenty 2 20 7
want $d/big 3 16384 1000
nodata $d/shrink
stale $s 1
[ "$(status_vectors)" = $((1 + 20 + 16384 + 4)) ] || fail "after remount: status vectors $(status_vectors)"
run_ok /tmp/s.json vexctl search /mnt --vector $q -k 100 --json
present -F '"d/twenty"' /tmp/s.json "graph search after remount: twenty's chunk 7"
rm $d/big
[ "$(status_vectors)" = $((1 + 20 + 4)) ] || fail "after unlink: status vectors $(status_vectors)"
umount /mnt
echo "chunks-api: guest passed"
GUEST
"$VM_RUN" --disk "$img" --disk "$img2" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
fsck_clean "$img2"
echo "chunks-api: passed"
