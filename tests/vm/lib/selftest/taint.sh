# Harness self-test (guest side): taint bit W (512, as after a WARN); run.sh must fail.
echo 512 > /proc/sys/kernel/tainted
exit 0
