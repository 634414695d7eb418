#!/usr/bin/env bash
# Reproducer (found by tests/vm/cases/python-api.sh's author): on a cosine
# filesystem a vector of 1e20 components was accepted, its squared norm
# overflowed float32, and searches returned it with distance NaN ranked first
# while a query pointing the same way did not find it at all. Fixed: vector
# components must be below 2^56 in magnitude (vexfs_core::hnsw::ELEMENT_MAX_LOG2;
# below it no distance over 4096 dimensions overflows); larger ones get EINVAL
# through the ioctls and the xattr, and nothing changes.
. "$(dirname "$0")/../lib/common.sh"
img=$WORK/r.img
new_image "$img" 64M --dim 4 --metric cosine
cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
echo x > /mnt/big; echo y > /mnt/edge; echo z > /mnt/other
vexctl set /mnt/big --vector 1,1,1,1
vexctl set /mnt/other --vector 1,-1,0,0
out=$(vexctl set /mnt/big --vector 1e20,1e20,1e20,1e20 2>&1) && fail "1e20 accepted: $out"
echo "$out" | grep -q EINVAL || fail "1e20: expected EINVAL, got: $out"
[ "$(vexctl get /mnt/big)" = "1,1,1,1" ] || fail "a refused set changed the vector: $(vexctl get /mnt/big)"
out=$(vexctl search /mnt --vector 1e20,0,0,0 -k 1 2>&1) && fail "1e20 query accepted: $out"
echo "$out" | grep -q EINVAL || fail "1e20 query: expected EINVAL, got: $out"
# Just below the bound is accepted and gives finite, sensible distances.
vexctl set /mnt/edge --vector 7e16,7e16,7e16,7e16
run_ok /tmp/r vexctl search /mnt --vector 1,1,1,1 -k 3 --json
absent -i nan /tmp/r "NaN distance"
tr -d ' \n' < /tmp/r | grep -qE '"path":"(big|edge)"' || fail "no same-direction file first: $(cat /tmp/r)"
run_ok /tmp/dmesg.txt dmesg
absent -i 'vexfs.*(corrupt|error)' /tmp/dmesg.txt "kernel reported errors"
umount /mnt
echo "huge-vector-elements: ok"
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh"
fsck_clean "$img"
echo "huge-vector-elements: passed"
