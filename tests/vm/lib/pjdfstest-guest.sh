# tests/vm/lib/pjdfstest-guest.sh: guest side of tests/vm/lib/pjdfstest-compare.sh (busybox sh).
# Runs the same pjdfstest .t files on ext4 (/dev/vdb) and VexFS (/dev/vda), the two
# filesystems side by side (one loop each, in parallel: they share nothing), and tars every
# file's TAP output to /dev/vdc for the host to compare.
#   sh pjdfstest-guest.sh TIMEOUT_SECONDS T...      (T relative to tests/, e.g. chmod/00.t)
# /extra holds pjdfstest-build.sh's output: pjdfstest/{pjdfstest,tests/} and bin/openssl.
# Each .t runs as root in an empty directory of its own (cwd), started from / under
# `timeout`, so a hung test neither holds the mount busy nor outlives its budget; the
# directory is removed afterwards (a failed removal is reported, and fails the run).
set -u
tmo=$1; shift
PATH=/extra/bin:$PATH
export PATH
suite=/extra/pjdfstest/tests
res=/tmp/pjd-results
mkdir -p $res/ext4 $res/vexfs /mnt/ext4 /mnt/vexfs
modprobe ext4 || { echo "PJD-ERROR modprobe ext4 failed"; exit 1; }
mount -t ext4 /dev/vdb /mnt/ext4 || { echo "PJD-ERROR mount ext4 /dev/vdb failed"; exit 1; }
mount -t vexfs /dev/vda /mnt/vexfs || { echo "PJD-ERROR mount vexfs /dev/vda failed"; exit 1; }
df -PT /mnt/ext4 /mnt/vexfs

# run_fs FS T...: every T on /mnt/FS; TAP to $res/FS/<dir>_<file>.tap, "rc seconds" to .rc.
run_fs() {
  fs=$1; shift
  w=/mnt/$fs/pjd
  for t in "$@"; do
    out=$res/$fs/$(echo "$t" | tr / _)
    if ! mkdir $w; then echo "PJD-ERROR $fs $t: cannot create $w"; return 1; fi
    start=$(date +%s)
    timeout -k 10 "$tmo" sh -c 'cd "$1" && exec sh "$2"' sh "$w" "$suite/$t" > "$out.tap" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    echo "$rc $secs" > "$out.rc"
    echo "PJD $fs $t: rc $rc, ${secs}s, $(grep -c '^ok ' "$out.tap") ok, $(grep -c '^not ok ' "$out.tap") not ok"
    # Leftovers (a test that stopped early, a removal the test expected to fail) go
    # before the next file, which must start on an empty directory.
    if ! rm -rf $w; then echo "PJD-ERROR $fs $t: cannot remove the leftovers in $w"; return 1; fi
  done
}

run_fs ext4 "$@" &
pe=$!
run_fs vexfs "$@" &
pv=$!
wait $pe; re=$?
wait $pv; rv=$?
umount /mnt/ext4 || { echo "PJD-ERROR umount ext4 failed"; exit 1; }
umount /mnt/vexfs || { echo "PJD-ERROR umount vexfs failed"; exit 1; }
[ $re -eq 0 ] && [ $rv -eq 0 ] || { echo "PJD-ERROR a run loop failed (ext4 $re, vexfs $rv)"; exit 1; }
cd $res && tar cf /dev/vdc ext4 vexfs || { echo "PJD-ERROR writing the results to /dev/vdc failed"; exit 1; }
echo "PJD-DONE"
