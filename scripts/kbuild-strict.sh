#!/usr/bin/env bash
# Run the kernel module build and fail on any compiler, objtool or modpost
# warning, then check that no C object uses FPU/SIMD registers (only the
# designated SIMD object may; it is called inside kernel_fpu_begin/end).
set -euo pipefail
kdir=${1:?usage: kbuild-strict.sh KDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! make -C "$kdir" M="$top" modules 2>&1 | tee "$log"; then
  echo "kbuild-strict: module build failed" >&2; exit 1
fi
if grep -nE '(warning|WARNING|error|ERROR)[: ]' "$log" >&2; then
  echo "kbuild-strict: the module build printed warnings (above); they are errors here" >&2
  exit 1
fi
bad=0
for o in "$top"/kernel/*.o; do
  case "$(basename "$o")" in vexfs_simd_rust.o) continue ;; esac
  if objdump -d --no-show-raw-insn "$o" | grep -qE '%[xyz]mm[0-9]|ldmxcsr|stmxcsr|fxsave|xsave'; then
    echo "kbuild-strict: $o uses FPU/SIMD registers outside the SIMD object" >&2; bad=1
  fi
done
[ "$bad" = 0 ]
