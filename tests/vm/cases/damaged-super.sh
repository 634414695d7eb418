#!/usr/bin/env bash
# Issue 2 acceptance: images with a damaged superblock are refused with a
# kernel message naming the problem; no oops (the harness fails on any).
. "$(dirname "$0")/../lib/common.sh"
patch=$VM_TOP/tests/vm/lib/sbpatch.py

# name | sbpatch arguments | message the kernel must print
cases=(
  "bad-magic|s_magic=0x12345678|bad magic 0x12345678"
  "bad-checksum|s_mount_count=7 --no-reseal|superblock checksum mismatch"
  "blocks-beyond-device|s_blocks_count=0x100000000|absurd block count"
  "blocks-exceed-device|s_blocks_count=200000|exceeds the device"
  "absurd-inodes|s_inodes_count=0xffffffff|absurd inode count"
  "free-exceeds-total|s_free_blocks_count=0x7fffffffffff|free block count"
  "overlapping-regions|s_block_bitmap_start=1|lies outside its allowed area"
  "bad-dim|s_vector_dim=0|vector dimension 0"
  "unknown-incompat|s_feature_incompat=0x80000001|unsupported incompatible features"
  "bad-block-size|s_block_size=1024|unsupported block size"
)
disks=() expect=()
for c in "${cases[@]}"; do
  IFS='|' read -r name args msg <<<"$c"
  img=$WORK/$name.img
  new_image "$img" 64M
  # shellcheck disable=SC2086
  python3 "$patch" "$img" $args
  disks+=(--disk "$img")
  expect+=("$msg")
done
[ "${#cases[@]}" -le 26 ] || fail "too many disks"

cat > "$WORK/guest.sh" <<'GUEST'
set -u
i=0 bad=0
for msg in "$@"; do
  dev=/dev/vd$(printf "\\$(printf '%03o' $((97 + i)))")
  i=$((i + 1))
  dmesg -c > /dev/null
  if mount -t vexfs "$dev" /mnt 2>/tmp/err; then
    echo "FAIL: $dev mounted although damaged ($msg)"; umount /mnt; bad=1; continue
  fi
  # negcheck-ok: a match is the pass; no match (a failed dmesg too) takes the FAIL branch
  if dmesg | grep -F "refusing to mount" | grep -qF "$msg"; then
    echo "ok: $dev refused: $(dmesg | grep -F 'refusing to mount' | tail -n1)"
  else
    echo "FAIL: $dev: kernel did not name the problem '$msg'; dmesg:"; dmesg | tail -n 5; bad=1
  fi
done
rmmod vexfs || bad=1
exit $bad
GUEST
"$VM_RUN" "${disks[@]}" "$WORK/guest.sh" "${expect[@]}"
echo "damaged-super: passed (${#cases[@]} images refused)"
