# Harness self-test (guest side): a kernel log line that looks like a WARN() report.
# (Debian's kernel has no lkdtm to raise a real WARN from user space.) run.sh must fail.
echo "<4>WARNING: CPU: 0 PID: 1 at selftest.c:1 injected by the tests/vm harness self-test" > /dev/kmsg
sleep 0.5
exit 0
