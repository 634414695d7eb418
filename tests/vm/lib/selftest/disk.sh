# Harness self-test (guest side): two --disk images appear as /dev/vda and /dev/vdb in order
# (1 MiB and 2 MiB); write a tag to each for the host to read back after the VM stopped.
set -e
[ "$(cat /sys/block/vda/size)" -eq 2048 ]
[ "$(cat /sys/block/vdb/size)" -eq 4096 ]
printf 'selftest-vda-%s' "$1" | dd of=/dev/vda bs=512 conv=fsync 2>/dev/null
printf 'selftest-vdb-%s' "$1" | dd of=/dev/vdb bs=512 conv=fsync 2>/dev/null
echo "selftest: wrote tags to vda and vdb"
