# Shared by tests/debug/cases/*.sh (sourced after tests/vm/lib/common.sh).
# build_debug_tools DIR: the static guest tools of the debug lane into DIR
# (they appear in the VM under /extra).
build_debug_tools() {
  local src=$VM_TOP/tests/debug/guest t
  command -v musl-gcc >/dev/null || fail "musl-gcc not found (apt-get install musl-tools)"
  mkdir -p "$1"
  for t in ioctl-fuzz vexfs-dm replay-log; do
    musl-gcc -static -O2 -Wall -Werror -I"$VM_TOP/shim/uapi" -idirafter /usr/include \
      -idirafter /usr/include/x86_64-linux-gnu -o "$1/$t" "$src/$t.c" || fail "building $t"
  done
}
# The debug lane exports these; a case run by hand on the stock kernel still
# works, but fault injection and dm-log-writes need the debug kernel.
debug_kernel_required() {
  [ -n "${VEXFS_KERNEL:-}" ] || fail "run through tests/debug/run.sh (needs the debug kernel: VEXFS_KERNEL/VEXFS_KVER/VEXFS_KO)"
}
