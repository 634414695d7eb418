#!/usr/bin/env bash
# Issue 16 item 1: a truncate is crash-safe. Two large files (one reaching
# the double-indirect tree) are shrunk; the module parameter
# debug_truncate_stall holds each truncate after the transaction with the
# new size committed and before any block is freed, and the guest cuts the
# power there (deterministic: the cut always lands in that window). The next
# boot's mount finishes both truncates (the TRUNCATING flag), so extending
# the files again reads zeros, not the old contents, and fsck.vexfs finds
# the volume clean. Before that mount, a read-only mount replays the journal
# (and finishes nothing), and fsck.vexfs -n must then report the blocks
# still mapped past EOF: the cut did land in the window.
. "$(dirname "$0")/../lib/common.sh"
img=$WORK/trunc.img
new_image "$img" 128M

cat > "$WORK/cut.sh" <<'GUEST'
set -eu
mount -t vexfs /dev/vda /mnt
dd if=/dev/urandom of=/mnt/a bs=1M count=8 2>/dev/null
dd if=/dev/urandom of=/mnt/b bs=1M count=20 2>/dev/null
echo "HEAD-A $(head -c 5000 /mnt/a | md5sum | cut -d' ' -f1)"
sync
param=/sys/module/vexfs/parameters/debug_truncate_stall
echo 1 > $param
# wait_stalls N: until N truncates have logged their stall.
wait_stalls() {
  n=0
  while :; do
    dmesg > /tmp/dmesg.txt
    [ "$(grep -c "debug_truncate_stall: inode" /tmp/dmesg.txt)" -lt "$1" ] || return 0
    n=$((n + 1))
    [ $n -lt 600 ] || { echo "only $(grep -c "debug_truncate_stall: inode" /tmp/dmesg.txt) of $1 truncates stalled"; exit 1; }
    sleep 0.1
  done
}
truncate -s 5000 /mnt/a &
wait_stalls 1
truncate -s 0 /mnt/b &
wait_stalls 2
echo "BOTH-STALLED"
vm-powercut
sleep 60
echo "the power cut did not happen"
exit 1
GUEST

cat > "$WORK/verify.sh" <<'GUEST'
set -eu
head_a=$1
# Replay the journal only (a read-only mount finishes no truncate), then
# check that the blocks past EOF are there for the rw mount to free.
mount -t vexfs -o ro /dev/vda /mnt
umount /mnt
rc=0
fsck.vexfs -n /dev/vda > /tmp/fsck-cut.txt 2>&1 || rc=$?
sed 's/^/fsck after the cut: /' /tmp/fsck-cut.txt
[ $rc -eq 4 ] || { echo "fsck.vexfs -n after the cut exited $rc, expected 4 (blocks past EOF)"; exit 1; }
grep -q "mapped past EOF" /tmp/fsck-cut.txt || { echo "fsck.vexfs -n did not report blocks mapped past EOF"; exit 1; }
mount -t vexfs /dev/vda /mnt
# Every check runs (bad counts the failures), so a failure shows all symptoms.
bad=0
dmesg | grep "truncates interrupted" || { echo "mount did not report finishing the truncates"; bad=1; }
[ "$(stat -c %s /mnt/a)" = 5000 ] || { echo "a: size $(stat -c %s /mnt/a), expected 5000"; bad=1; }
[ "$(stat -c %s /mnt/b)" = 0 ] || { echo "b: size $(stat -c %s /mnt/b), expected 0"; bad=1; }
got=$(head -c 5000 /mnt/a | md5sum | cut -d' ' -f1)
[ "$got" = "$head_a" ] || { echo "a: first 5000 bytes changed ($got, expected $head_a)"; bad=1; }
# What is left: a's two blocks (bytes 0..4999), nothing of b.
echo "blocks after mount: a $(stat -c %b /mnt/a), b $(stat -c %b /mnt/b) sectors"
[ "$(stat -c %b /mnt/a)" -le 16 ] && [ "$(stat -c %b /mnt/b)" = 0 ] || { echo "blocks still mapped past EOF"; bad=1; }
truncate -s 8M /mnt/a
truncate -s 20M /mnt/b
zeros_a=$(head -c $((8388608 - 5000)) /dev/zero | md5sum | cut -d' ' -f1)
zeros_b=$(head -c 20971520 /dev/zero | md5sum | cut -d' ' -f1)
ta=$(tail -c +5001 /mnt/a | md5sum | cut -d' ' -f1)
tb=$(md5sum < /mnt/b | cut -d' ' -f1)
[ "$ta" = "$zeros_a" ] || { echo "a: the re-extended range does not read zeros (old contents exposed)"; bad=1; }
[ "$tb" = "$zeros_b" ] || { echo "b: the re-extended range does not read zeros (old contents exposed)"; bad=1; }
umount /mnt
[ $bad -eq 0 ]
echo "VERIFIED"
GUEST

log=$WORK/cut.log
rc=0
VEXFS_VM_LOG=$log "$VM_RUN" --disk "$img" "$WORK/cut.sh" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { tail -n 30 "$log"; fail "cut run exited $rc, expected the power cut (137)"; }
grep -q "BOTH-STALLED" "$log" || { tail -n 30 "$log"; fail "the truncates never reached the stall"; }
head_a=$(tr -d '\r' < "$log" | awk '$1 == "HEAD-A" { print $2 }')
[ -n "$head_a" ] || fail "no HEAD-A line in the cut run's log"

rc=0
VEXFS_VM_LOG=$WORK/verify.log "$VM_RUN" --disk "$img" "$WORK/verify.sh" "$head_a" > /dev/null 2>&1 || rc=$?
grep -E "fsck after the cut|truncates interrupted|blocks after|re-extended|expected|VERIFIED" "$WORK/verify.log" | tr -d '\r'
[ "$rc" -eq 0 ] || { tail -n 30 "$WORK/verify.log"; fail "verification boot exited $rc"; }
fsck_clean "$img"
echo "crash-truncate: passed"
