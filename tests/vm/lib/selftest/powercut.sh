# Harness self-test (guest side): write a tag to /dev/vda, then ask the host to cut the
# power (vm-powercut). run.sh must exit 137 and the host must find the tag on the image.
set -e
printf 'powercut-%s' "$1" | dd of=/dev/vda bs=512 conv=fsync 2>/dev/null
vm-powercut
echo "selftest: vm-powercut returned"
exit 0
