# Harness self-test (guest side): a real kernel crash (SysRq 'c'). With panic=-1 and
# -no-reboot QEMU exits at once; run.sh must report the panic and fail.
echo c > /proc/sysrq-trigger
sleep 5
echo "selftest: still alive after sysrq-c"
exit 0
