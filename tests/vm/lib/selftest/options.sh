# Harness self-test (guest side): run with --mem 512 --icount --append vexfs_selftest=1.
set -e
grep -q 'vexfs_selftest=1' /proc/cmdline
mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
echo "selftest: MemTotal $mem kB, $(nproc) CPU(s)"
[ "$mem" -gt 300000 ] && [ "$mem" -lt 524288 ]
[ "$(nproc)" -eq 1 ]   # --icount implies one vCPU
