#!/usr/bin/env bash
# Issue 7 item 3: the Python package (python/vexfs) against the real kernel module. The VM
# gets Debian's CPython 3.11 and numpy on a read-only ext4 disk (tests/vm/lib/python-image.sh,
# cached under build/vm-python) and the package straight from python/; the checks are
# python/tests/mounted_check.py: set_vector/get_vector round trips, kNN (exact and HNSW) and
# range results against numpy's brute force, errors (wrong dimension EINVAL, off VexFS ENOTTY,
# ENODATA, EISDIR, EACCES), remove/unlink/rename, identical results after umount + mount, and
# the cosine and dot metrics; chunk sets (issue 13: set_chunks/get_chunks round trips, chunk
# and per-file search against numpy, staleness, errors) on a fourth image. fsck of every VexFS
# image at the end.
. "$(dirname "$0")/../lib/common.sh"
pyimg=$(bash "$VM_TOP/tests/vm/lib/python-image.sh") || fail "cannot stage Python for the VM"
mkdir -p "$WORK/add"
cp -r "$VM_TOP/python" "$WORK/add/python"
find "$WORK/add/python" -name __pycache__ -prune -exec rm -rf {} +
l2=$WORK/l2.img cos=$WORK/cos.img dot=$WORK/dot.img
new_image "$l2" 64M --dim 16 --metric l2
new_image "$cos" 32M --dim 8 --metric cosine
new_image "$dot" 32M --dim 8 --metric dot
chk=$WORK/chunks.img
new_image "$chk" 64M --dim 16 --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
modprobe ext4
mkdir -p /py && mount -t ext4 -o ro /dev/vdd /py
chmod -R a+rX /extra
check() { /py/bin/python3 /extra/python/tests/mounted_check.py "$@"; }
mount -t vexfs /dev/vda /mnt
chmod 755 /mnt
check before /mnt /tmp/state.json
umount /mnt
mount -t vexfs /dev/vda /mnt
check after /mnt /tmp/state.json
# Permission filtering, seen from Python as an unprivileged user.
echo p > /mnt/py/public; chmod 644 /mnt/py/public
echo s > /mnt/py/secret; chmod 600 /mnt/py/secret
chmod 755 /mnt/py
vexctl set /mnt/py/public --vector 9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9
vexctl set /mnt/py/secret --vector 9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9.5
su -s /bin/sh nobody -c '/py/bin/python3 /extra/python/tests/mounted_check.py nobody /mnt' ||
  fail "nobody phase"
umount /mnt
for dev in vdb vdc; do
  mkdir -p /m-$dev && mount -t vexfs /dev/$dev /m-$dev
  check metric /m-$dev
  umount /m-$dev
done
mkdir -p /m-chunks && mount -t vexfs /dev/vde /m-chunks
check chunks /m-chunks
umount /m-chunks
umount /py
run_ok /tmp/dmesg.txt dmesg
absent -i 'vexfs.*(corrupt|error)' /tmp/dmesg.txt "kernel reported errors"
rmmod vexfs
echo "python-api: ok"
GUEST
"$VM_RUN" --disk "$l2" --disk "$cos" --disk "$dot" --disk "$pyimg" --disk "$chk" --add "$WORK/add" "$WORK/guest.sh"
for img in "$l2" "$cos" "$dot" "$chk"; do fsck_clean "$img"; done
echo "python-api: passed"
