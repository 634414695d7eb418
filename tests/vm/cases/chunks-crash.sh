#!/usr/bin/env bash
# Issue 13 item 1: a chunk set is replaced atomically across power cuts.
# Each cycle makes 8 files with sets, syncs, then replaces their sets in
# turn (1, 20, 300, 1000, 5 and 700 chunks: every size change, runs moving
# through the store) with a sync every 5 replacements, until the host cuts
# the power at a random moment. The next boot reads every set back (the
# static guest tool vexfs-chunks: a set names the one (seed, count) it was
# made from, so a mix of two sets cannot pass): each file holds exactly one
# set it was given, no older than the last sync, no newer than the one in
# flight; the files of earlier cycles hold what the previous check saw;
# fsck.vexfs finds the volume clean. VEXFS_CRASH_CYCLES (default 3),
# VEXFS_CRASH_SEED.
. "$(dirname "$0")/../lib/common.sh"
# absent/present, as in the guest.
. "$VM_TOP/tests/vm/lib/guest/checks.sh"
cycles=${VEXFS_CRASH_CYCLES:-3}
RANDOM=${VEXFS_CRASH_SEED:-$$}
build_guest_tools "$WORK/add"
img=$WORK/chunks-crash.img
new_image "$img" 256M --dim 8

# Chunks of the set made at step n (guest and host agree).
cnt() { case $(($1 % 6)) in 0) echo 1 ;; 1) echo 20 ;; 2) echo 300 ;; 3) echo 1000 ;; 4) echo 5 ;; 5) echo 700 ;; esac; }

cat > "$WORK/work.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
c=$1 cut_after=$2
cnt() { case $(($1 % 6)) in 0) echo 1 ;; 1) echo 20 ;; 2) echo 300 ;; 3) echo 1000 ;; 4) echo 5 ;; 5) echo 700 ;; esac; }
mount -t vexfs /dev/vda /mnt
d=/mnt/cr$c
mkdir $d
k=0
while [ $k -lt 8 ]; do
  echo $k > $d/f$k
  vexfs-chunks set $d/f$k $((c * 1000000 + k)) "$(cnt $k)" > /tmp/o.txt || { cat /tmp/o.txt; exit 1; }
  k=$((k + 1))
done
sync
echo "SYNCED $c 7"
echo "WORKLOAD-START $c"
( sleep "$cut_after"; vm-powercut ) &
n=8
while [ $n -lt 100000 ]; do
  vexfs-chunks set $d/f$((n % 8)) $((c * 1000000 + n)) "$(cnt $n)" > /tmp/o.txt || { cat /tmp/o.txt; exit 1; }
  echo "SET $c $n"
  if [ $((n % 5)) -eq 0 ]; then
    sync
    echo "SYNCED $c $n"
  fi
  n=$((n + 1))
done
GUEST

cat > "$WORK/verify.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
mount -t vexfs /dev/vda /mnt
for f in /mnt/cr*/f*; do
  if vexfs-chunks verify "$f" > /tmp/v.txt 2>&1; then
    echo "VERIFY $f $(cut -d' ' -f1,2 < /tmp/v.txt)"
  else
    echo "BADSET $f $(cat /tmp/v.txt)"
  fi
done
# The index takes new sets after the crash.
echo s > /mnt/scratch
vexfs-chunks set /mnt/scratch 42 300 > /tmp/o.txt || { cat /tmp/o.txt; exit 1; }
vexfs-chunks verify /mnt/scratch > /tmp/o.txt || { cat /tmp/o.txt; exit 1; }
vexfs-chunks set /mnt/scratch 0 0 > /tmp/o.txt || { cat /tmp/o.txt; exit 1; }
umount /mnt
echo "VERIFY-DONE"
GUEST

prev=$WORK/prev.txt
: > "$prev"
total=0
for c in $(seq 1 "$cycles"); do
  kill_at=$((2 + RANDOM % 10))
  log=$WORK/work-$c.log
  rc=0
  VEXFS_VM_LOG=$log "$VM_RUN" --disk "$img" --add "$WORK/add" --kill-after 600 "$WORK/work.sh" "$c" "$kill_at" > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { tail -n 30 "$log"; fail "cycle $c: workload run exited $rc, expected the power cut (137)"; }
  grep -q "WORKLOAD-START $c" "$log" || { tail -n 30 "$log"; fail "cycle $c: the workload never started"; }
  # Complete lines only: the cut may land mid-line.
  synced=$(tr -d '\r' < "$log" | awk -v c="$c" '$1 == "SYNCED" && $2 == c && NF == 3 && $3 ~ /^[0-9]+$/ { s = $3 } END { print s + 0 }')
  last=$(tr -d '\r' < "$log" | awk -v c="$c" '$1 == "SET" && $2 == c && NF == 3 && $3 ~ /^[0-9]+$/ { s = $3 } END { print s + 0 }')
  [ "$last" -ge 7 ] || last=7
  vlog=$WORK/verify-$c.log
  rc=0
  VEXFS_VM_LOG=$vlog "$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/verify.sh" > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 30 "$vlog"; fail "cycle $c: verification boot exited $rc"; }
  grep -q "VERIFY-DONE" "$vlog" || fail "cycle $c: verification did not finish"
  absent "BADSET" "$vlog" "cycle $c: a set is not one set that was given"
  tr -d '\r' < "$vlog" | awk '$1 == "VERIFY" && NF == 4 { print $2, $3, $4 }' > "$WORK/now.txt"
  [ "$(wc -l < "$WORK/now.txt")" -eq $((8 * c)) ] || fail "cycle $c: $(wc -l < "$WORK/now.txt") sets read, want $((8 * c))"
  bad=0
  while read -r path seed n; do
    fc=${path#/mnt/cr}; fc=${fc%%/*}
    k=${path##*/f}
    step=$((seed % 1000000))
    if [ $((seed / 1000000)) -ne "$fc" ] || [ $((step % 8)) -ne "$k" ] || [ "$n" -ne "$(cnt $step)" ]; then
      echo "cycle $c: $path holds set (seed $seed, $n chunks), never given to it"; bad=$((bad + 1)); continue
    fi
    if [ "$fc" -eq "$c" ]; then
      # No older than its last set before the last sync, no newer than the one in flight.
      low=$((synced - (synced - k + 8) % 8))
      if [ "$step" -lt "$low" ] || [ "$step" -gt $((last + 8)) ]; then
        echo "cycle $c: $path holds step $step, want $low..$((last + 8)) (synced $synced, last set $last)"; bad=$((bad + 1))
      fi
    else
      want=$(awk -v p="$path" '$1 == p { print $2, $3 }' "$prev")
      [ "$want" = "$seed $n" ] || { echo "cycle $c: $path changed from ($want) to ($seed $n) untouched"; bad=$((bad + 1)); }
    fi
  done < "$WORK/now.txt"
  [ "$bad" -eq 0 ] || fail "cycle $c: $bad sets wrong"
  cp "$WORK/now.txt" "$prev"
  fsck_clean "$img"
  total=$((total + last - 7))
  echo "cycle $c: power cut ${kill_at}s in, $((last - 7)) sets replaced (synced up to step $synced), every set whole, fsck clean"
done
[ "$total" -gt 0 ] || fail "no set was ever replaced before a cut: the test measured nothing"
echo "chunks-crash: passed ($cycles cycles, $total replacements)"
