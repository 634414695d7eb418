#!/usr/bin/env bash
# Reproducer (found by tests/vm/cases/damaged-images.sh, persistence.sh and
# fs-concurrency.sh): readlink(2) of a short symlink, whose target is stored
# inline in the inode (VEXFS_INODE_FL_INLINE_SYMLINK, i_link -> vi->i_data),
# is a kernel BUG under the Debian kernel's hardened usercopy:
#   usercopy: Kernel memory exposure attempt detected from SLUB object
#   'vexfs_inode_cache' ... kernel BUG at mm/usercopy.c:101!
#   readlink_copy <- vfs_readlink <- do_readlinkat
# The inode slab is created with kmem_cache_create() and so has no usercopy
# window; ext4 uses kmem_cache_create_usercopy() with the window
# offsetof(struct ext4_inode_info, i_data), sizeof_field(..., i_data).
# The same for vexfs_inode_cachep in kernel/super.c fixes it (verified with a
# private build: all three tests pass).
# Exit 0 when fixed; 120 (kernel problem) while the bug is there.
. "$(dirname "$0")/../lib/common.sh"
img=$WORK/r.img
new_image "$img" 64M
cat > "$WORK/guest.sh" <<'GUEST'
set -eu
mount -t vexfs /dev/vda /mnt
ln -s short-target /mnt/l
readlink /mnt/l
umount /mnt
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh"
