# bench/vm/vmbench.sh - sourced by the bench/vm/*.sh benchmarks (after
# tests/vm/lib/common.sh, with $top the repository root).
# build_vmbench DIR: the static guest program DIR/vmbench (bench/vm/vmbench.c).
build_vmbench() {
  musl-gcc -static -O2 -Wall -Werror -I"$top/shim/uapi" -idirafter /usr/include \
    -idirafter /usr/include/x86_64-linux-gnu -o "$1/vmbench" "$top/bench/vm/vmbench.c" || fail "building vmbench"
}
