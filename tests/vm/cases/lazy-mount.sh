#!/usr/bin/env bash
# Issue 14 item 3: after mkfs and after a clean unmount the index mounts lazily (the
# superblock's summary stands for the store; slot groups are read on first
# use) and behaves exactly as a whole load: the same graph answers, and
# changes to files whose slots were never loaded (chmod, mv, a write, rm, a
# new set, an unlink of an open file) take effect at once and survive the
# next lazy remount; the counts (vectors, files, stale, graph nodes) carry
# over; fsck is clean. These run with the background warm-up off
# (warm_after_mount=0), so every group is read by its first use; the last
# mount has it on: the groups are read in the background, status reports
# slots_loading until they are, and the answers stay the same. A copy of the
# image whose vector-store block of group 3 cannot be read: the warm-up ends
# (slots_loading false) with slots_unreadable and a warning, an exact search
# fails instead of answering without the group, and fsck reports the damage.
# 2,000 vectors (100 files x 20 chunks, 8 groups of 256 slots), built offline
# by mkfs.vexfs -d.
. "$(dirname "$0")/../lib/common.sh"
dim=8 per=20 files=100
n=$((files * per))
"$TESTDATA" gen --n $n --dim $dim --seed 77 --out "$WORK/base.fvecs"
mkdir -p "$WORK/src/docs" "$WORK/add"
python3 - "$files" "$per" "$WORK/src/docs" "$WORK/man.jsonl" <<'PY'
import json, os, sys
files, per, d, man = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(man, "w") as m:
    for f in range(files):
        with open(os.path.join(d, f"{f:04d}"), "w") as fh:
            fh.write("x" * per * 10)
        for c in range(per):
            m.write(json.dumps({"path": f"docs/{f:04d}", "offset": c * 10, "length": 10,
                                "row": f * per + c}) + "\n")
PY
img=$WORK/lazy.img out=$WORK/out.img
"$MKFS" -q --dim $dim --metric l2 -d "$WORK/src" --manifest "$WORK/man.jsonl" \
  --vectors "$WORK/base.fvecs" "$img" 64M || fail "mkfs.vexfs -d"
new_outdisk "$out"
# dim 8: 64-byte chunk records, 64 per store block; block 13 of the store
# (inode 3) holds slots 832..895, in group 3 (slots 768..1023). Its block
# pointer is set past the end of the device (resealed): the group cannot be
# read. (A damaged record alone costs only its slot: the group loads.)
dmg=$WORK/damaged.img
cp --sparse=always "$img" "$dmg" || fail "copying $img"
cut=$(python3 "$VM_TOP/tests/vm/lib/imgdamage.py" cut-file-block "$dmg" 3 13) || fail "cutting store block 13 of $dmg"
echo "damaged copy: store block 13 moved from device block $cut"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p /tmp/o
echo 0 > /sys/module/vexfs/parameters/warm_after_mount
Q1=0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5
Q2=0.1,0.9,0.2,0.8,0.3,0.7,0.4,0.6
st() { # st FIELD: a number from vexctl status --json
  vexctl status /mnt --json > /tmp/st.json || fail "vexctl status failed"
  tr -d ' \n' < /tmp/st.json | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}
lazy_mount() { # mount and check the kernel said "lazily"
  mount -t vexfs /dev/vda /mnt
  dmesg | grep 'vexfs (vda)' | grep 'index loaded' | tail -n 1 > /tmp/m.txt
  present 'loaded lazily' /tmp/m.txt "$1: mount did not load lazily: $(cat /tmp/m.txt)"
}
# wait_warm_up WHAT: poll status until slots_loading is false (at most 60 s);
# the polls in $w, the last status without blanks in /tmp/st1.json.
wait_warm_up() {
  w=0
  while :; do
    run_ok /tmp/st.json vexctl status /mnt --json
    tr -d ' \n' < /tmp/st.json > /tmp/st1.json
    case "$(cat /tmp/st1.json)" in
      *'"slots_loading":false'*) break ;;
      *'"slots_loading":true'*) ;;
      *) fail "$1: no slots_loading in: $(cat /tmp/st.json)" ;;
    esac
    w=$((w + 1))
    [ "$w" -lt 600 ] || fail "$1: the warm-up did not end in 60 s"
    sleep 0.1
  done
}
# vectors files stale_files graph_nodes, once queued graph changes are applied
counts() {
  vexctl sync /mnt > /dev/null || fail "vexctl sync"
  echo "$(st vectors) $(st files) $(st stale_files) $(st graph_nodes)"
}

# mkfs.vexfs -d wrote the summary, the graph and its quantiser: the first mount is lazy too.
lazy_mount "first mount after mkfs"
cat /tmp/m.txt > /tmp/o/mount1.txt
umount /mnt

echo "== lazy mount: nothing read, same answers as after everything is loaded"
lazy_mount "second mount"
cat /tmp/m.txt > /tmp/o/mount2.txt
m0=$(st index_memory_bytes)
[ "$(counts)" = "2000 100 0 2000" ] || fail "counts after lazy mount: $(counts)"
for q in $Q1 $Q2; do
  run_ok /tmp/o/a.$q.json vexctl search /mnt --vector $q -k 10 --json
done
m1=$(st index_memory_bytes)
# An exact search reads every slot: every group is loaded after it.
run_ok /tmp/o/exact.json vexctl search /mnt --vector $Q1 -k 10 --exact --json
m2=$(st index_memory_bytes)
[ "$m0" -lt "$m2" ] || fail "memory after mount $m0 not below memory with every group loaded $m2"
echo "index_memory_bytes: after mount $m0, after two searches $m1, all loaded $m2" > /tmp/o/mem.txt
for q in $Q1 $Q2; do
  run_ok /tmp/o/b.$q.json vexctl search /mnt --vector $q -k 10 --json
  cmp /tmp/o/a.$q.json /tmp/o/b.$q.json || fail "query $q: answers differ once every group is loaded"
done
[ "$(counts)" = "2000 100 0 2000" ] || fail "counts after loading: $(counts)"
umount /mnt

echo "== changes to files never loaded since the mount"
lazy_mount "third mount"
chmod 755 /mnt /mnt/docs
for f in 0010 0020 0030 0040 0050 0060; do chmod 644 /mnt/docs/$f; done
umount /mnt
lazy_mount "fourth mount"
# Each file below has 20 chunks of its own; none of its groups is loaded yet.
chmod 600 /mnt/docs/0010                       # hidden from nobody
mkdir /mnt/sub && chmod 755 /mnt/sub
mv /mnt/docs/0020 /mnt/sub/moved               # the only file in the scope /mnt/sub
echo more >> /mnt/docs/0030                     # stale
rm /mnt/docs/0040                              # gone
exec 3< /mnt/docs/0050; rm /mnt/docs/0050      # gone, though still open
echo new > /mnt/new; vexctl set /mnt/new --vector 9,9,9,9,9,9,9,9
check_changes() { # check_changes WHEN COUNTS
  [ "$(counts)" = "$2" ] || fail "$1: counts $(counts), want $2"
  run_ok /tmp/s.json vexctl search /mnt --vector 9,9,9,9,9,9,9,9 -k 1 --json
  present -F '"new"' /tmp/s.json "$1: the new set"
  run_ok /tmp/s.json vexctl search /mnt/sub --vector $Q1 -k 50 --json
  present -F 'moved' /tmp/s.json "$1: the moved file in its new directory's scope"
  absent -F 'docs/' /tmp/s.json "$1: a file outside the scope /mnt/sub"
  run_ok /tmp/s.json vexctl search /mnt --vector $Q1 -k 2000 --exact --json
  absent -F '"docs/0040"' /tmp/s.json "$1: the removed file"
  absent -F '"docs/0050"' /tmp/s.json "$1: the removed open file"
  present -F '"docs/0030"' /tmp/s.json "$1: the stale file without --fresh"
  run_ok /tmp/s.json vexctl search /mnt --vector $Q1 -k 2000 --exact --fresh --json
  absent -F '"docs/0030"' /tmp/s.json "$1: the stale file with --fresh"
  su -s /bin/sh nobody -c "vexctl search /mnt --vector $Q1 -k 2000 --exact --json" > /tmp/s.json 2>&1 ||
    { cat /tmp/s.json; fail "$1: search as nobody"; }
  absent -F '"docs/0010"' /tmp/s.json "$1: a 0600 file, as nobody"
  present -F '"docs/0060"' /tmp/s.json "$1: a 0644 file, as nobody"
  echo "$1: ok"
}
# The last name's unlink drops the set, even with the file still open.
check_changes "after the changes" "1961 99 1 1961"
exec 3<&-
check_changes "after closing the removed file" "1961 99 1 1961"
umount /mnt
lazy_mount "fifth mount"
check_changes "after a lazy remount" "1961 99 1 1961"
umount /mnt

echo "== the background warm-up reads every group"
echo 1 > /sys/module/vexfs/parameters/warm_after_mount
lazy_mount "sixth mount"
present 'in the background' /tmp/m.txt "the mount did not start the warm-up: $(cat /tmp/m.txt)"
wait_warm_up "sixth mount"
echo "warm-up done after $w polls; index_memory_bytes $(st index_memory_bytes)" > /tmp/o/warm.txt
check_changes "after the warm-up" "1961 99 1 1961"
umount /mnt

echo "== a slot group the warm-up cannot read"
mount -t vexfs /dev/vdc /mnt
dmesg | grep 'vexfs (vdc)' | grep 'index loaded' | tail -n 1 > /tmp/m.txt
present 'loaded lazily' /tmp/m.txt "damaged copy: mount did not load lazily: $(cat /tmp/m.txt)"
wait_warm_up "damaged copy"
present -F '"slots_unreadable":true' /tmp/st1.json "damaged copy: status once the warm-up ended"
dmesg > /tmp/dmesg.txt
present 'vexfs \(vdc\): background warm-up ended with 1 slot group\(s\) unreadable' /tmp/dmesg.txt \
  "damaged copy: the warm-up's warning"
# An exact search reads every slot: it fails rather than answer without group 3.
rc=0
vexctl search /mnt --vector $Q1 -k 10 --exact --json > /tmp/s.json 2> /tmp/s.err || rc=$?
[ "$rc" -ne 0 ] || fail "damaged copy: an exact search over the unreadable group succeeded: $(cat /tmp/s.json)"
echo "damaged copy: warm-up ended after $w polls; exact search exited $rc: $(cat /tmp/s.err)" > /tmp/o/damaged.txt
umount /mnt
cd /tmp/o && tar cf /dev/vdb .
GUEST
"$VM_RUN" --disk "$img" --disk "$out" --disk "$dmg" "$WORK/guest.sh" || fail "guest"
fsck_clean "$img"
rc=0
"$FSCK" -n "$dmg" > "$WORK/fsck-damaged.txt" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "fsck.vexfs -n passed the copy with a store block past the device's end"
echo "fsck.vexfs -n on the damaged copy exited $rc: $(head -n 3 "$WORK/fsck-damaged.txt")"
from_outdisk "$out" "$WORK/res"
cat "$WORK/res/mount1.txt" "$WORK/res/mount2.txt" "$WORK/res/mem.txt" "$WORK/res/warm.txt" "$WORK/res/damaged.txt"
