#!/usr/bin/env bash
# fuzz/make-seeds.sh: regenerate the seed corpus files named "mkfs-*" from a
# real mkfs.vexfs image (block 0, the jbd2 superblock, the root inode and the
# root directory block), each behind the header bytes its target reads first.
# Field offsets come from the format header via a compiled offsetof dump.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
mkfs=${MKFS:-$top/target/x86_64-unknown-linux-musl/release/mkfs.vexfs}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/off.c" <<'C'
#include <stdio.h>
#include <stddef.h>
#include "vexfs_format.h"
int main(void) {
	printf("%zu %zu %zu %u\n", offsetof(struct vexfs_super_block, s_inode_table_start),
	       offsetof(struct vexfs_super_block, s_journal_start),
	       offsetof(struct vexfs_super_block, s_journal_blocks), VEXFS_INODE_SIZE);
	return 0;
}
C
gcc -I"$top/shim" -I"$top/shim/uapi" -o "$tmp/off" "$tmp/off.c"
read -r o_it o_js o_jb isize < <("$tmp/off")
img=$tmp/img
truncate -s 64M "$img"
"$mkfs" -q "$img"
u32() { od -An -t u4 -j "$1" -N 4 --endian=little "$img" | tr -d ' '; }
it=$(u32 "$o_it"); js=$(u32 "$o_js"); jb=$(u32 "$o_jb")
blk() { dd if="$img" bs=4096 skip="$1" count=1 status=none; }
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
c=$here/corpus
mkdir -p "$c"/{superblock_validate,journal_superblock,inode_decode,dir_block}
# superblock_validate: mode, dev_blocks (u64), shift, block
{ printf '\x00'; le32 16384; le32 0; printf '\x00'; blk 0; } > "$c/superblock_validate/mkfs-block0"
{ printf '\x01'; le32 16384; le32 0; printf '\x00'; blk 0; } > "$c/superblock_validate/mkfs-block0-reseal"
# journal_superblock: mode, jstart (u32), shift, jblocks (u32), shift, uuid byte, block
{ printf '\x00'; le32 "$js"; printf '\x00'; le32 "$jb"; printf '\x00\x00'; blk "$js"; } > "$c/journal_superblock/mkfs-jsb"
# root directory block: the first data block referenced by inode 2
root_off=$((it * 4096 + isize))   # inode 2 = second slot of the first table block
dd if="$img" bs=1 skip="$root_off" count="$isize" status=none > "$tmp/rootino"
# inode_decode: mode 0, blocks (u16), ino selector 0 then ino (u32), raw inode
{ printf '\x00\x00\x00\x00'; le32 2; cat "$tmp/rootino"; } > "$c/inode_decode/mkfs-root"
{ printf '\x02\x00\x00\x00'; le32 2; cat "$tmp/rootino"; } > "$c/inode_decode/mkfs-root-reseal"
# dir_block: mode 0, dir ino selector (ino = n % 64 + 1), raw block: every
# data block that checks as a directory block of inode 2 is a seed.
first_data=$(( js + jb ))
for b in $(seq "$first_data" $((first_data + 8))); do
  blk "$b" > "$tmp/b"
  [ "$(tr -d '\0' < "$tmp/b" | wc -c)" -gt 0 ] || continue   # skip empty blocks
  { printf '\x00\x01'; cat "$tmp/b"; } > "$c/dir_block/mkfs-block-$b"
done
# Small fixed seeds for the value-driven targets.
mkdir -p "$c/bitmap_bmap" "$c/ioctl_args"
for i in 1 2 3; do head -c $((64 * i)) /dev/urandom > "$c/bitmap_bmap/random-$i"; done
for i in 1 2 3; do head -c $((96 * i)) /dev/urandom > "$c/ioctl_args/random-$i"; done
echo "seeds written under $c"
