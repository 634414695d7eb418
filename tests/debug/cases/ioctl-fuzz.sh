#!/usr/bin/env bash
# Issue 6 item 6: random ioctls (mostly 'V' commands with random nr/size/
# direction and random argument bytes and pointers) from user nobody on files
# and directories of a mounted VexFS for VEXFS_IOCTL_FUZZ_SECONDS (default
# 60); no kernel report (KASAN, lockdep, warnings, leaks after rmmod), and the
# filesystem checks clean afterwards (in the guest and on the host).
. "$(dirname "$0")/../../vm/lib/common.sh"
. "$(dirname "$0")/../lib.sh"
secs=${VEXFS_IOCTL_FUZZ_SECONDS:-60}
seed=${VEXFS_IOCTL_FUZZ_SEED:-$RANDOM}
build_debug_tools "$WORK/add"
img=$WORK/fuzz.img
new_image "$img" 64M --dim 4
cat > "$WORK/guest.sh" <<'GUEST'
set -eu
secs=$1 seed=$2
mount -t vexfs /dev/vda /mnt
mkdir -p /mnt/pub/sub /mnt/nob /mnt/empty
i=0
while [ $i -lt 12 ]; do
  echo "pub $i" > /mnt/pub/f$i
  echo "nob $i" > /mnt/nob/f$i
  vexctl set /mnt/pub/f$i --vector "$i,1,0,2" >/dev/null
  [ $((i % 2)) = 0 ] && vexctl set /mnt/nob/f$i --vector "0,$i,1,1" >/dev/null
  i=$((i + 1))
done
echo shared > /mnt/pub/w666 && chmod 666 /mnt/pub/w666
chmod 600 /mnt/pub/f0   # one file nobody cannot open
chown -R 65534:65534 /mnt/nob
echo "ioctl-fuzz guest: seed $seed, $secs s"
/extra/ioctl-fuzz "$secs" "$seed" /mnt /mnt/pub /mnt/pub/sub /mnt/empty /mnt/nob /mnt/pub/w666 \
  /mnt/pub/f0 /mnt/pub/f1 /mnt/pub/f2 /mnt/nob/f0 /mnt/nob/f1 /mnt/nob/f2 /mnt/nob/f3
# Still a working filesystem: search, read back, unlink.
vexctl search /mnt --vector 1,1,0,2 -k 3 >/dev/null
cat /mnt/pub/f5 /mnt/nob/f5 >/dev/null
rm -r /mnt/nob
umount /mnt
fsck.vexfs -n /dev/vda
rmmod vexfs
echo "ioctl-fuzz guest: done"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh" "$secs" "$seed"
fsck_clean "$img"
echo "ioctl-fuzz: passed (seed $seed, $secs s)"
