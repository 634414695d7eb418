#!/usr/bin/env bash
# Benchmark (issue 3 item 9), not a test: VexFS vs ext4 on same-sized virtio
# disks in ONE VM run under QEMU -icount (guest time = emulated instructions,
# deterministic): sequential write of 256 MiB (1 MiB writes, fsync), drop
# caches, sequential read; create + stat + unlink of 10,000 files in one
# directory. Prints VexFS/ext4 ratios (< 1: VexFS cheaper) and writes
# bench/out/vm/fs-vs-ext4.{txt,json}.
#   BENCH_MIB (256), BENCH_FILES (10000), BENCH_DISK (768M), BENCH_ROUNDS (1)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/vm/lib/common.sh"
mib=${BENCH_MIB:-256} nfiles=${BENCH_FILES:-10000} disk=${BENCH_DISK:-768M} rounds=${BENCH_ROUNDS:-1}
out=$top/bench/out/vm
mkdir -p "$out" "$WORK/add"
musl-gcc -static -O2 -Wall -Werror -I"$top/shim/uapi" -idirafter /usr/include \
  -idirafter /usr/include/x86_64-linux-gnu -o "$WORK/add/vmbench" "$top/bench/vm/vmbench.c" || fail "building vmbench"

vimg=$WORK/vexfs.img eimg=$WORK/ext4.img
new_image "$vimg" "$disk"
rm -f "$eimg"; truncate -s "$disk" "$eimg"
# No lazy initialisation: ext4lazyinit must not run during the measurement.
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$eimg" || fail "mkfs.ext4"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
mib=$1 nfiles=$2 rounds=$3
PATH=/extra:$PATH
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
t = {}
for line in sys.stdin:
    _, r, fs, phase, ns = line.split()[:5]
    t.setdefault((phase, fs), []).append(int(ns))
phases = [("seqwrite", f"sequential write {mib} MiB + fsync"), ("seqread", f"sequential read {mib} MiB (cold cache)"),
          ("create", f"create {nfiles} files"), ("stat", f"stat {nfiles} files"), ("unlink", f"unlink {nfiles} files"),
          ("files", f"create+stat+unlink {nfiles} files")]
rows, res = [], {}
hdr = f"VexFS vs ext4, one VM run under QEMU -icount (guest time = emulated instructions, not real time); disks {disk} each"
lines = [hdr, f"{'operation':40} {'VexFS (ms emul.)':>17} {'ext4 (ms emul.)':>16} {'VexFS/ext4':>11}"]
for p, name in phases:
    v, e = min(t[(p, "vexfs")]), min(t[(p, "ext4")])
    res[p] = {"vexfs_ns": v, "ext4_ns": e, "ratio": v / e}
    lines.append(f"{name:40} {v / 1e6:17.1f} {e / 1e6:16.1f} {v / e:11.2f}")
print("\n".join(lines))
json.dump({"note": hdr, "results": res}, open(sys.argv[4], "w"), indent=1)
PY
tr -d '\r' < "$log" | grep '^BENCH ' | python3 "$WORK/report.py" "$mib" "$nfiles" "$disk" "$out/fs-vs-ext4.json" | tee "$out/fs-vs-ext4.txt"
