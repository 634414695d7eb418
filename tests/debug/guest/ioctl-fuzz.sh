#!/bin/sh
# Guest part of tests/debug/cases/ioctl-fuzz.sh (see there): ioctl-fuzz.sh DEV SECONDS SEED
set -eu
dev=$1 secs=$2 seed=$3
PATH=/extra:$PATH
mount -t vexfs /dev/$dev /mnt
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
ioctl-fuzz "$secs" "$seed" /mnt /mnt/pub /mnt/pub/sub /mnt/empty /mnt/nob /mnt/pub/w666 \
  /mnt/pub/f0 /mnt/pub/f1 /mnt/pub/f2 /mnt/nob/f0 /mnt/nob/f1 /mnt/nob/f2 /mnt/nob/f3
# Still a working filesystem: search, read back, unlink.
vexctl search /mnt --vector 1,1,0,2 -k 3 >/dev/null
cat /mnt/pub/f5 /mnt/nob/f5 >/dev/null
rm -r /mnt/nob
umount /mnt
fsck.vexfs -n /dev/$dev
rmmod vexfs
echo "ioctl-fuzz guest: done"
