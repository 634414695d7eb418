# Harness self-test (guest side): a clean run. Checks argument passing and the guest
# environment the harness promises, and taints the kernel with the two allowed bits
# (O=4096, E=8192), which must not fail the run.
set -e
echo "selftest ok: $# arguments"
[ "$#" -eq 3 ] && [ "$1" = "a b" ] && [ "$2" = "it's" ] && [ "$3" = '$HOME "q"' ]
[ -c /dev/console ] && [ -c /dev/null ] && [ -d /proc/self ] && [ -d /sys/block ] && [ -d /mnt ]
grep -q ' /sys/kernel/debug debugfs ' /proc/mounts
for m in virtio virtio_ring virtio_pci virtio_blk crc32c_generic jbd2 loop; do
	[ -d "/sys/module/$m" ] || { echo "module $m not loaded"; exit 1; }
done
# Modules that are only in the image must load with busybox modprobe.
modprobe ext4
[ -d /sys/module/ext4 ]
[ "$VEXFS_VM" = 1 ]
echo 12288 > /proc/sys/kernel/tainted
echo "selftest ok: all checks passed"
