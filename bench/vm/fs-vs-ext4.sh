#!/usr/bin/env bash
# Benchmark (issue 3 item 9), not a test: VexFS vs ext4 on same-sized virtio
# disks in ONE VM run under QEMU -icount (guest time = emulated instructions,
# deterministic): sequential write of 256 MiB (1 MiB writes, fsync), drop
# caches, sequential read; O_DIRECT write of 256 MiB into a preallocated file
# (fallocate untimed; fsync) and O_DIRECT read; create + stat + unlink of 10,000 files in one
# directory (create and unlink each end with syncfs). Prints VexFS/ext4 ratios (< 1: VexFS cheaper) of elapsed and of busy
# (elapsed - guest idle, see vmbench.c) emulated time, and writes
# bench/out/vm/fs-vs-ext4.{txt,json}.
#   BENCH_MIB (256), BENCH_FILES (10000), BENCH_DISK (768M), BENCH_ROUNDS (1),
#   BENCH_OUT_VM (bench/out/vm: where the results go)
set -euo pipefail
# Idle guest time (waits for the virtual disk) passes at host speed; with
# sleep=off every such wait would leap to the next timer deadline and I/O-bound
# phases would measure timer periods (create was 1.3x-125x ext4 across runs).
export VEXFS_VM_ICOUNT_SLEEP=${VEXFS_VM_ICOUNT_SLEEP:-on}
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/vm/lib/common.sh"
mib=${BENCH_MIB:-256} nfiles=${BENCH_FILES:-10000} disk=${BENCH_DISK:-768M} rounds=${BENCH_ROUNDS:-1}
out=${BENCH_OUT_VM:-$top/bench/out/vm}
mkdir -p "$out" "$WORK/add"
. "$top/bench/vm/vmbench.sh"
build_vmbench "$WORK/add"

vimg=$WORK/vexfs.img eimg=$WORK/ext4.img
new_image "$vimg" "$disk"
rm -f "$eimg"; truncate -s "$disk" "$eimg"
# No lazy initialisation: ext4lazyinit must not run during the measurement.
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$eimg" || fail "mkfs.ext4"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
mib=$1 nfiles=$2 rounds=$3
PATH=/extra:$PATH
# Under -icount sleep=off (not the default here) guest time leaps to the next timer
# deadline while the vCPU waits for the virtual disk, so a task waiting on I/O can
# look "blocked for more than 120 seconds" after a few real seconds (measured:
# ext4's jbd2 and vmbench in a 16 MiB seqwrite+fsync, 554 s of guest time). A real
# hang still ends the run by run.sh's wall-clock timeout.
echo 0 > /proc/sys/kernel/hung_task_timeout_secs
modprobe ext4
mkdir -p /mnt/vexfs /mnt/ext4
mount -t vexfs /dev/vda /mnt/vexfs
mount -t ext4 /dev/vdb /mnt/ext4
r=1
while [ $r -le "$rounds" ]; do
  for fs in vexfs ext4; do
    d=/mnt/$fs
    sync
    vmbench seqwrite $d/big "$mib" | sed "s/^/BENCH $r $fs /"
    sync; echo 3 > /proc/sys/vm/drop_caches
    vmbench seqread $d/big | sed "s/^/BENCH $r $fs /"
    [ "$(stat -c %s $d/big)" = $((mib * 1024 * 1024)) ]
    rm $d/big; sync
    vmbench dioseqwrite $d/dio "$mib" | sed "s/^/BENCH $r $fs /"
    vmbench dioseqread $d/dio | sed "s/^/BENCH $r $fs /"
    rm $d/dio; sync
    mkdir $d/files; sync
    vmbench files $d/files "$nfiles" | sed "s/^/BENCH $r $fs /"
    rmdir $d/files; sync
  done
  r=$((r + 1))
done
umount /mnt/vexfs /mnt/ext4
GUEST
log=$out/fs-vs-ext4.log
rc=0
VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$log VEXFS_VM_TIMEOUT=${VEXFS_VM_TIMEOUT:-3600} \
  "$VM_RUN" --icount --disk "$vimg" --disk "$eimg" --add "$WORK/add" "$WORK/guest.sh" "$mib" "$nfiles" "$rounds" \
  > /dev/null || rc=$?
[ "$rc" -eq 0 ] || { tail -n 30 "$log"; fail "the benchmark VM exited $rc (log $log)"; }
fsck_clean "$vimg"

cat > "$WORK/report.py" <<'PY'
import json, sys
mib, nfiles, disk = sys.argv[1], sys.argv[2], sys.argv[3]
import re
t = {}
for line in sys.stdin:
    _, r, fs, phase, ns = line.split()[:5]
    m = re.search(r" idle (\d+) ns", line)
    if not m:
        sys.exit(f"no idle time in {line!r} (old vmbench?)")
    t.setdefault((phase, fs), []).append((int(ns), int(m.group(1))))
phases = [("seqwrite", f"sequential write {mib} MiB + fsync"), ("seqread", f"sequential read {mib} MiB (cold cache)"),
          ("dioseqwrite", f"O_DIRECT write {mib} MiB (prealloc.)"), ("dioseqread", f"O_DIRECT read {mib} MiB"),
          ("create", f"create {nfiles} files"), ("stat", f"stat {nfiles} files"), ("unlink", f"unlink {nfiles} files"),
          ("files", f"create+stat+unlink {nfiles} files")]
rows, res = [], {}
hdr = (f"VexFS vs ext4, one VM run under QEMU -icount (guest time = emulated instructions, not real time; "
       f"idle = guest idle+iowait (real waiting under sleep=on, timer leaps under sleep=off): busy = elapsed - idle); disks {disk} each")
lines = [hdr, f"{'operation':40} {'VexFS ms emul.':>15} {'(idle)':>10} {'ext4 ms emul.':>14} {'(idle)':>10} {'VexFS/ext4':>11} {'busy ratio':>11}"]
for p, name in phases:
    (v, vi), (e, ei) = min(t[(p, "vexfs")]), min(t[(p, "ext4")])
    vb, eb = v - vi, e - ei
    busy = vb / eb if vb > 0 and eb > 0 else None
    res[p] = {"vexfs_ns": v, "ext4_ns": e, "ratio": v / e, "vexfs_idle_ns": vi, "ext4_idle_ns": ei, "busy_ratio": busy}
    lines.append(f"{name:40} {v / 1e6:15.1f} {vi / 1e6:10.1f} {e / 1e6:14.1f} {ei / 1e6:10.1f} {v / e:11.2f} "
                 + (f"{busy:11.2f}" if busy is not None else f"{'n/a':>11}"))
print("\n".join(lines))
json.dump({"note": hdr, "params": {"mib": int(mib), "files": int(nfiles), "disk": disk, "rounds": int(sys.argv[5])},
           "results": res}, open(sys.argv[4], "w"), indent=1)
PY
tr -d '\r' < "$log" | grep '^BENCH ' | python3 "$WORK/report.py" "$mib" "$nfiles" "$disk" "$out/fs-vs-ext4.json" "$rounds" | tee "$out/fs-vs-ext4.txt"
