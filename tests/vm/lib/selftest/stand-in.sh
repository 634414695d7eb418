# Harness self-test (guest side): the normal (non-self-test) path with stand-ins for the
# products: crc16.ko copied as vexfs.ko, busybox copied as the three tools. Checks that the
# module was loaded from /vexfs.ko and the tools are on PATH.
set -e
[ -f /vexfs.ko ]
[ -d /sys/module/crc16 ] || { echo "/vexfs.ko (crc16 stand-in) not loaded"; exit 1; }
for t in mkfs.vexfs fsck.vexfs vexctl; do
	p=$(command -v "$t") || { echo "$t not on PATH"; exit 1; }
	echo "selftest: $t at $p"
done
