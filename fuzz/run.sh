#!/usr/bin/env bash
# fuzz/run.sh SECONDS [TARGET...]: build every cargo-fuzz target (or the named
# ones) and run each for SECONDS (libFuzzer -max_total_time) starting from the
# seed corpus in fuzz/corpus/<target>/. New inputs go to a scratch corpus
# (not the repo). Prints PASS/FAIL per target with its executions and, last,
# "N passed, N failed" (one test per target); exits 1 if any target crashed,
# leaked, timed out or failed to build (the crashing input is in
# fuzz/artifacts/<target>/), or if the target list does not match
# fuzz_targets/*.rs.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Works on a stable toolchain:
# libFuzzer's sanitizer flags are unstable, so RUSTC_BOOTSTRAP=1 is set (as
# the kernel build does for its Rust).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
[[ $secs =~ ^[0-9]+$ ]] || { echo "fuzz/run.sh: SECONDS must be a number" >&2; exit 2; }
cd "$here"
export RUSTC_BOOTSTRAP=1
# Every fuzz_targets/*.rs is a target. Before any target runs, a failure
# (no cargo-fuzz, `cargo fuzz list` failing or naming another set than the
# files, e.g. a target missing from Cargo.toml) fails every target: the summary
# never reports fewer targets than exist.
files=$(for f in fuzz_targets/*.rs; do basename "$f" .rs; done | sort)
nfiles=$(grep -c . <<<"$files" || :)
setup_fail() { echo "FAIL fuzz: $*"; echo "0 passed, $((nfiles > 0 ? nfiles : 1)) failed"; exit 1; }
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing cargo-fuzz from crates.io" >&2
  cargo install --locked cargo-fuzz || setup_fail "cargo install cargo-fuzz failed"
fi
listed=$(cargo fuzz list) || setup_fail "\`cargo fuzz list\` failed"
listed=$(sort <<<"$listed")
if [[ $nfiles -eq 0 || $listed != "$files" ]]; then
  diff <(echo "$listed") <(echo "$files") | sed 's/^/    /' || :
  setup_fail "\`cargo fuzz list\` (<) does not match fuzz_targets/*.rs (>)"
fi
mapfile -t all <<<"$listed"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
work=$(mktemp -d "${TMPDIR:-/tmp}/vexfs-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0 total=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "corpus/$t" "artifacts/$t"
  log=$work/$t.log
  rc=0
  if ! cargo fuzz build -O "$t" >"$log" 2>&1; then
    echo "FAIL fuzz $t: does not build; log tail:"; tail -n 30 "$log" | sed 's/^/    /'
    failed=$((failed + 1)); continue
  fi
  cargo fuzz run -O "$t" "$work/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -n1)
  total=$((total + ${runs:-0}))
  if [[ $rc -eq 0 && -n $runs ]]; then
    echo "PASS fuzz $t: ${runs} executions in ${secs} s (coverage ${cov:-?} edges)"
    passed=$((passed + 1))
  else
    echo "FAIL fuzz $t: exit $rc after ${runs:-?} executions; the failure, then the log tail:"
    # The panic message or sanitizer report comes before a long backtrace.
    grep -a -E -A3 'panicked at|ERROR: (AddressSanitizer|LeakSanitizer)|^SUMMARY: ' "$log" |
      grep -a -v -E '^ *#[0-9]+ ' | head -n 24 | sed 's/^/    /' || :
    echo "    ..."
    tail -n 30 "$log" | sed 's/^/    /'
    ls -1 "artifacts/$t" | sed 's/^/    artifact: /'
    failed=$((failed + 1))
  fi
done
echo "fuzz: ${#targets[@]} targets, $total executions, $failed failed"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
