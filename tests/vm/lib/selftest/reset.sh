# Harness self-test (guest side): an immediate reset (SysRq 'b'), as crash tests do;
# with --expect-reset run.sh must accept the missing exit marker.
echo b > /proc/sysrq-trigger
sleep 5
exit 1
