#!/usr/bin/env bash
# `make test`: the host cargo tests of the workspace, then every VM test in
# tests/vm/cases/ (and the VM harness self-tests). Prints PASS/FAIL per test
# and a final "N passed, N failed"; exits non-zero on any failure.
#   tests/run-all.sh [--host-only] [--vm-only] [CASE-NAME...]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
host=1 vm=1
cases=()
for a in "$@"; do
  case "$a" in
    --host-only) vm=0 ;;
    --vm-only) host=0 ;;
    *) cases+=("$a") ;;
  esac
done
passed=0 failed=0 failures=()
logdir=$top/tests/vm/out/run-all
mkdir -p "$logdir"

record() { # record NAME RC [SECONDS]
  local t=${3:+ (${3} s)}
  if [ "$2" -eq 0 ]; then echo "PASS $1$t"; passed=$((passed + 1))
  else echo "FAIL $1 (exit $2)$t"; failed=$((failed + 1)); failures+=("$1"); fi
}

if [ "$host" = 1 ] && [ "${#cases[@]}" -eq 0 ]; then
  log=$logdir/cargo-test.log
  cargo test --workspace --release 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # Count each cargo test as one test in the summary.
  p=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/' | paste -sd+ | bc)
  f=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/' | paste -sd+ | bc)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then record "cargo test (build or harness failure)" "$rc"; fi
  echo "host: ${p:-0} cargo tests passed, ${f:-0} failed"
  # The Python package's ABI view against the C compiler's (python/tests/test_abi.py).
  log=$logdir/python-abi.log
  python3 python/tests/test_abi.py > "$log" 2>&1; rc=$?
  [ "$rc" -eq 0 ] || tail -n 20 "$log"
  record "python/tests/test_abi.py" "$rc"
  # The package's chunk-set calls over the LD_PRELOAD ioctl fake.
  log=$logdir/python-chunks-fake.log
  python3 python/tests/test_chunks_fake.py > "$log" 2>&1; rc=$?
  [ "$rc" -eq 0 ] || tail -n 20 "$log"
  record "python/tests/test_chunks_fake.py" "$rc"
fi

if [ "$vm" = 1 ]; then
  if [ "${#cases[@]}" -eq 0 ]; then
    for c in tests/vm/cases/*.sh; do cases+=("$(basename "$c" .sh)"); done
    # Reproducers of fixed kernel bugs stay in the suite.
    for c in tests/vm/regress/*.sh; do [ -e "$c" ] && cases+=("regress/$(basename "$c" .sh)"); done
    cases+=(harness-selftest)
  fi
  for name in "${cases[@]}"; do
    log=$logdir/${name//\//-}.log
    echo "=== VM test $name (log: $log)"
    st=$SECONDS
    if [ "$name" = harness-selftest ]; then
      bash tests/vm/selftest.sh > "$log" 2>&1; rc=$?
    else
      case "$name" in
        regress/*) script=tests/vm/$name.sh ;;
        *) script=tests/vm/cases/$name.sh ;;
      esac
      bash "$script" > "$log" 2>&1; rc=$?
    fi
    [ "$rc" -eq 0 ] || tail -n 40 "$log"
    record "$name" "$rc" "$((SECONDS - st))"
  done
fi

[ "$failed" -eq 0 ] || echo "failed: ${failures[*]:-see cargo output above}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
