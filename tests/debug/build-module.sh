#!/usr/bin/env bash
# tests/debug/build-module.sh KDIR OUT.ko: build vexfs.ko against another
# kernel tree (the debug kernel) in a private copy of the module sources
# (build/debug/src), so the normal in-tree build products are not touched.
# Uses the Rust objects of the normal build (build/vexfs_*_rust.o; they do not
# depend on the kernel configuration). Fails on any compiler/objtool/modpost
# warning, like scripts/kbuild-strict.sh.
set -euo pipefail
kdir=${1:?usage: build-module.sh KDIR OUT.ko}
out=${2:?usage: build-module.sh KDIR OUT.ko}
top=$(cd "$(dirname "$0")/../.." && pwd)
src=$top/build/debug/src
for o in vexfs_core_rust.o vexfs_simd_rust.o; do
  [ -f "$top/build/$o" ] || { echo "build-module: $top/build/$o missing: run 'make' first" >&2; exit 1; }
done
mkdir -p "$src/build" "$src/kernel" "$src/shim"
# Mirror the sources (rsync-free: cp -u keeps unchanged files' timestamps).
cp -u "$top/Kbuild" "$src/"
cp -u "$top"/kernel/*.c "$top"/kernel/*.h "$src/kernel/"
cp -ru "$top"/shim/. "$src/shim/"
cp -u "$top"/build/vexfs_core_rust.o "$top"/build/vexfs_simd_rust.o "$src/build/"
# Sources deleted upstream must not linger in the copy.
for f in "$src"/kernel/*.c "$src"/kernel/*.h; do
  [ -e "$top/kernel/$(basename "$f")" ] || rm -f "$f" "${f%.c}.o"
done
log=$(mktemp); trap 'rm -f "$log"' EXIT
if ! make -C "$kdir" M="$src" modules 2>&1 | tee "$log" >&2; then
  echo "build-module: module build against $kdir failed" >&2; exit 1
fi
rc=0
grep -nE '(warning|WARNING|error|ERROR)[: ]' "$log" >&2 || rc=$?
case $rc in
  0) echo "build-module: the module build printed warnings (above); they are errors here" >&2; exit 1 ;;
  1) ;;
  *) echo "build-module: cannot read the build log $log (grep exited $rc)" >&2; exit 1 ;;
esac
mkdir -p "$(dirname "$out")"
cp "$src/vexfs.ko" "$out"
echo "build-module: $out ($(modinfo -F vermagic "$out"))" >&2
