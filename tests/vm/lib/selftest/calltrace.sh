# Harness self-test (guest side): SysRq 'l' prints the backtrace of the running CPU
# ("Call Trace:") without panicking; run.sh must fail the run although the script exits 0.
echo l > /proc/sysrq-trigger
sleep 1
exit 0
