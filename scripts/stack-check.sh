#!/usr/bin/env bash
# scripts/stack-check.sh [MODULE]: static stack budget of vexfs.ko (default
# build/vexfs.ko, as loaded: C and Rust objects linked). Fails when a single
# VexFS frame exceeds VEXFS_STACK_FRAME_LIMIT (default 1024 bytes) or the
# deepest chain of VexFS frames exceeds VEXFS_STACK_PATH_LIMIT (default 6144
# bytes, the project's 6 KiB budget on a 16 KiB kernel stack), on unbounded
# frames and on recursion without a stated bound. See scripts/stack-check.py.
#
# Stated recursion bounds (each checked where the function recurses):
#   vexfs_trim_tree (kernel/inode.c): recurses once per indirect level, from
#   height 3 (triple indirect) down to 0: at most 4 activations.
#   vexfs_seek_tree (kernel/seek.c): the same walk for SEEK_DATA/SEEK_HOLE,
#   at most 4 activations.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ko=${1:-$top/build/vexfs.ko}
[ -f "$ko" ] || { echo "stack-check: $ko not found (build it first)" >&2; exit 1; }
command -v objdump >/dev/null || { echo "stack-check: objdump (binutils) missing" >&2; exit 1; }
exec python3 "$top/scripts/stack-check.py" \
  --frame-limit "${VEXFS_STACK_FRAME_LIMIT:-1024}" \
  --path-limit "${VEXFS_STACK_PATH_LIMIT:-6144}" \
  --recursion vexfs_trim_tree=4 \
  --recursion vexfs_seek_tree=4 \
  "$ko"
