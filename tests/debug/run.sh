#!/usr/bin/env bash
# tests/debug/run.sh [--ci] [CASE...]: the debug-kernel lane (`make test-debug`;
# `make test-debug-ci` for the CI subset, see --ci below).
#
# 1. Builds (or takes from its cache) Debian's 6.1 kernel with KASAN, lockdep,
#    atomic-sleep checks, kmemleak, stack-usage reporting, fault injection and
#    dm-log-writes (scripts/debug-kernel/build.sh).
# 2. Builds vexfs.ko against it into build/debug/vexfs.ko (build-module.sh).
# 3. Runs VM tests on it: every tests/vm/cases/*.sh ("vm:NAME") and every
#    tests/debug/cases/*.sh ("debug:NAME": fault injection, flush ordering,
#    unprivileged ioctl fuzzing), or the CASEs named ("debug:one-boot": the
#    three debug cases in a single boot, tests/debug/one-boot.sh). tests/vm/run.sh fails a
#    run on any KASAN, lockdep, "sleeping function called from invalid
#    context", WARNING/BUG/oops, and on kmemleak reports (the guest scans after
#    each script; the cases unmount and rmmod vexfs first).
# Prints PASS/FAIL per case, the deepest process stack the debug kernel saw
# (DEBUG_STACK_USAGE), timings, and "N passed, N failed"; exits 1 on failure.
#
# Environment: VEXFS_DEBUG_TIMEOUT (seconds per VM, default 2400),
# VEXFS_DEBUG_OUT (logs, default tests/debug/out), plus the cases' own knobs
# (VEXFS_FI_ROUNDS, VEXFS_FLUSH_FILES, VEXFS_IOCTL_FUZZ_SECONDS).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=${VEXFS_DEBUG_OUT:-$top/tests/debug/out}
mkdir -p "$out"
t0=$SECONDS

cases=()
ci=0
for a in "$@"; do
  case $a in
    --ci) ci=1 ;;
    *) cases+=("$a") ;;
  esac
done
if [ "$ci" = 1 ] && [ "${#cases[@]}" -eq 0 ]; then
  # CI mode (make test-debug-ci): every debug case and the VM cases that cover
  # the main paths, with smaller loop counts; each VM boot of this kernel
  # costs ~90 s under TCG. `make test-debug` (no --ci) runs everything.
  export VEXFS_CRASH_CYCLES=${VEXFS_CRASH_CYCLES:-2} VEXFS_FI_ROUNDS=${VEXFS_FI_ROUNDS:-2}
  export VEXFS_FLUSH_FILES=${VEXFS_FLUSH_FILES:-6} VEXFS_IOCTL_FUZZ_SECONDS=${VEXFS_IOCTL_FUZZ_SECONDS:-60}
  cases=(debug:one-boot vm:mount-basic vm:files-basic vm:vectors-semantics vm:crash-fsync)
fi
if [ "${#cases[@]}" -eq 0 ]; then
  for c in tests/vm/cases/*.sh; do cases+=("vm:$(basename "$c" .sh)"); done
  for c in tests/debug/cases/*.sh; do cases+=("debug:$(basename "$c" .sh)"); done
fi

echo "=== debug kernel"
kt=$SECONDS
if bash scripts/debug-kernel/build.sh --check; then kstate=cached; else kstate=built; fi
kdir=$(bash scripts/debug-kernel/build.sh) || { echo "FAIL debug kernel build"; echo "0 passed, 1 failed"; exit 1; }
kver=$(cat "$kdir/kver")
echo "debug kernel $kver: $kstate ($((SECONDS - kt)) s; a fresh build took $(cat "$kdir/build-seconds") s) in $kdir"

echo "=== vexfs.ko against $kver"
ko=$top/build/debug/vexfs.ko
if ! bash tests/debug/build-module.sh "$kdir/src" "$ko" > "$out/build-module.log" 2>&1; then
  tail -n 30 "$out/build-module.log"
  echo "FAIL vexfs.ko build against the debug kernel"; echo "0 passed, 1 failed"; exit 1
fi

export VEXFS_KERNEL=$kdir/bzImage VEXFS_KVER=$kver VEXFS_KO=$ko VEXFS_VM_MODROOT=$kdir/modroot
export VEXFS_VM_TIMEOUT=${VEXFS_DEBUG_TIMEOUT:-2400} VEXFS_VM_QUIET=1
# acpi=noirq: PCI interrupt routing from the BIOS table, not ACPI _PRT. Under
# TCG the KASAN+lockdep ACPI interpreter runs into its 30 s AML loop timeout in
# _PRT for every virtio device (measured: "AE_AML_LOOP_TIMEOUT ... can't derive
# routing for PCI INT A", 30 s per disk, no interrupt line).
# no5lvl: 4-level paging. With -cpu max the guest has LA57, and this 6.1 kernel
# identifies the boot CPU with interrupts on: identify_cpu() zeroes the feature
# words before it re-reads CPUID, an interrupt in that window sees
# pgtable_l5_enabled() false, KASAN computes its shadow bounds for 47-bit
# addresses, and reports the irq descriptor's 5-level direct-map address as
# "wild-memory-access in do_raw_spin_lock" (measured: 2 of 4 boots at 0.4-0.7 s).
export VEXFS_VM_APPEND="${VEXFS_VM_APPEND:-} acpi=noirq no5lvl"

passed=0 failed=0 failures=()
for c in "${cases[@]}"; do
  kind=${c%%:*} name=${c#*:}
  case $kind in
    vm) script=tests/vm/cases/$name.sh ;;
    debug) script=tests/debug/cases/$name.sh
           [ "$name" != one-boot ] || script=tests/debug/one-boot.sh ;;
    *) echo "run.sh: case '$c' must be vm:NAME or debug:NAME" >&2; exit 2 ;;
  esac
  [ -f "$script" ] || { echo "run.sh: no $script" >&2; exit 2; }
  log=$out/$kind-$name.log
  vmout=$out/vm-$kind-$name
  rm -rf "$vmout"; mkdir -p "$vmout"
  echo "=== $c (log: $log)"
  st=$SECONDS
  VEXFS_VM_OUT=$vmout bash "$script" > "$log" 2>&1; rc=$?
  # The harness keeps its initramfs cache under VEXFS_VM_OUT: drop it, keep the console logs.
  rm -rf "$vmout/cache"
  if [ "$rc" -eq 0 ]; then
    echo "PASS $c ($((SECONDS - st)) s)"; passed=$((passed + 1))
  else
    tail -n 40 "$log"
    echo "FAIL $c (exit $rc, $((SECONDS - st)) s)"; failed=$((failed + 1)); failures+=("$c")
  fi
  grep -h '^FI-ROUND\|^FI: \|^FLUSH: [0-9]* \|^ioctl-fuzz: [0-9]' "$vmout"/*.log 2>/dev/null | tr -d '\r' | sed 's/^/    /'
done

# DEBUG_STACK_USAGE: at exit the kernel logs each new minimum of free stack.
# THREAD_SIZE is 32 KiB under KASAN (frames are bigger there as well).
left=$(cat "$out"/vm-*/*.log 2>/dev/null | tr -d '\r' |
  sed -n 's/.*greatest stack depth: \([0-9]*\) bytes left.*/\1/p' | sort -n | head -n1)
if [ -n "$left" ]; then
  echo "DEBUG_STACK_USAGE: deepest process stack in these runs: $((32768 - left)) bytes used, $left of 32768 left"
fi
echo "debug lane: $((SECONDS - t0)) s"
[ "$failed" -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
