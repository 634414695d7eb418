# Shared helpers for host-side VM test drivers (tests/vm/cases/*.sh).
# Source it: `. "$(dirname "$0")/../lib/common.sh"`.
set -euo pipefail
VM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VM_RUN=$VM_TOP/tests/vm/run.sh
TOOLS=${VEXFS_TOOLS_DIR:-$VM_TOP/target/x86_64-unknown-linux-musl/release}
MKFS=$TOOLS/mkfs.vexfs
FSCK=$TOOLS/fsck.vexfs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vexfs-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# new_image PATH SIZE [mkfs args...]: a fresh, formatted image.
new_image() {
  local img=$1 size=$2; shift 2
  rm -f "$img"
  truncate -s "$size" "$img"
  "$MKFS" -q "$@" "$img" || fail "mkfs.vexfs $* $img failed"
}

# fsck_clean IMG: the image must check clean (exit 0).
fsck_clean() {
  local rc=0
  "$FSCK" -n "$1" || rc=$?
  [ "$rc" -eq 0 ] || fail "fsck.vexfs -n $1 exited $rc (expected 0: clean)"
}

# le_u32/le_u64 IMG OFFSET: read a little-endian field of the image.
le_u32() { od -An -t u4 -j "$2" -N 4 --endian=little "$1" | tr -d ' '; }
le_u64() { od -An -t u8 -j "$2" -N 8 --endian=little "$1" | tr -d ' '; }

# Host-side test data tool (deterministic vectors, exact ground truth, recall).
TESTDATA=$VM_TOP/target/release/vexfs-testdata
[ -x "$TESTDATA" ] || (cd "$VM_TOP" && cargo build --quiet --release -p vexfs-tools --bin vexfs-testdata) \
  || fail "cannot build vexfs-testdata"

# new_outdisk PATH: a raw disk the guest fills with `tar cf /dev/vdX FILES`.
new_outdisk() { rm -f "$1"; truncate -s 64M "$1"; }
# from_outdisk PATH DIR: extract what the guest wrote.
from_outdisk() { mkdir -p "$2"; tar xf "$1" -C "$2" || fail "no tar archive on $1 (guest did not finish?)"; }

# build_guest_tools DIR: static helpers for the guest (xattr calls, raw ioctls).
build_guest_tools() {
  local src=$VM_TOP/tests/vm/lib/guest-tools cc=musl-gcc
  command -v $cc >/dev/null || fail "musl-gcc not found (apt-get install musl-tools; 'make deps')"
  mkdir -p "$1"
  for t in vexfs-xattr vexfs-ioctl-check vexfs-walk vexfs-mmap vexfs-dirbench vexfs-chunks vexfs-rawsearch; do
    $cc -static -O2 -Wall -Werror -I"$VM_TOP/shim/uapi" -idirafter /usr/include \
      -idirafter /usr/include/x86_64-linux-gnu -o "$1/$t" "$src/$t.c" -lm || fail "building $t"
  done
}
