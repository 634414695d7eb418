#!/usr/bin/env bash
# `make demo`: format a VexFS image on the host, boot the test VM with it,
# mount it, store a few files, and list them with the filesystem's counts.
# (The semantic-search demo with a real embedding model replaces this once
# the search ioctl lands; see issue 7.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/demo
mkdir -p "$out"
img=$out/demo.img
rm -f "$img"
truncate -s 256M "$img"
"$top/target/x86_64-unknown-linux-musl/release/mkfs.vexfs" --dim 384 --metric cosine -L demo "$img"
cat > "$out/guest.sh" <<'GUEST'
set -eu
mount -t vexfs /dev/vda /mnt
mkdir -p /mnt/docs
for f in /proc/version /proc/cpuinfo /proc/meminfo; do cp "$f" "/mnt/docs/${f##*/}.txt"; done
echo "VexFS demo volume" > /mnt/README
ls -laR /mnt
stat -f /mnt
umount /mnt
GUEST
VEXFS_VM_QUIET=1 "$top/tests/vm/run.sh" --disk "$img" "$out/guest.sh"
"$top/target/x86_64-unknown-linux-musl/release/fsck.vexfs" -n "$img"
echo "demo: image kept at $img"
