#!/usr/bin/env bash
# tests/vm/lib/pjdfstest-build.sh: builds pjdfstest (POSIX syscall conformance suite, BSD
# licence) statically for the VM and prints the path of a directory to pass to run.sh --add:
#   pjdfstest/pjdfstest    the static binary (glibc, gcc -static)
#   pjdfstest/tests/*/*.t  the TAP test scripts and their misc.sh/conf
#   bin/openssl            a busybox-sh stand-in answering `openssl md5` (misc.sh's namegen)
# The sources are pjdfstest-85a8aea.tar.gz and pjdfstest-config.h (a hand-written config.h)
# from ../shared/peers/ beside the repository (VEXFS_PJDFSTEST_SRC overrides the directory).
# The result is cached as build/pjdfstest/<key>/, the key hashing the tarball, the config and
# this script, so a rerun is a hash of three small files. Older keys are deleted.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
SRC=${VEXFS_PJDFSTEST_SRC:-$TOP/../shared/peers}
CACHE=${VEXFS_PJDFSTEST_CACHE:-$TOP/build/pjdfstest}
TARBALL=$SRC/pjdfstest-85a8aea.tar.gz
CONFIG=$SRC/pjdfstest-config.h

die() { echo "pjdfstest-build.sh: $*" >&2; exit 1; }
for f in "$TARBALL" "$CONFIG"; do
  [ -f "$f" ] && [ -r "$f" ] ||
    die "$f is missing: the pjdfstest sources are expected in ../shared/peers/ beside the repository ($SRC), or set VEXFS_PJDFSTEST_SRC"
done
command -v gcc >/dev/null || die "gcc not found (apt-get install build-essential; 'make deps')"
command -v readelf >/dev/null || die "readelf not found (apt-get install binutils; 'make deps')"

key=$(cat "$TARBALL" "$CONFIG" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
out=$CACHE/$key
if [ -x "$out/pjdfstest/pjdfstest" ] && [ -x "$out/bin/openssl" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$CACHE"
stage=$(mktemp -d "$CACHE/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
tar xzf "$TARBALL" -C "$stage" || die "cannot unpack $TARBALL"
[ -f "$stage/pjdfstest/pjdfstest.c" ] || die "$TARBALL has no pjdfstest/pjdfstest.c"
cp "$CONFIG" "$stage/pjdfstest/config.h"
# The guest has no libc: a static glibc binary (libc6-dev's libc.a).
(cd "$stage/pjdfstest" && gcc -static -O2 -Wall -D_GNU_SOURCE -I. -o pjdfstest pjdfstest.c) \
  > "$stage/build.log" 2>&1 || { cat "$stage/build.log" >&2; die "building pjdfstest failed (gcc output above)"; }
[ ! -s "$stage/build.log" ] || { cat "$stage/build.log" >&2; die "building pjdfstest printed warnings (above)"; }
headers=$(readelf -l "$stage/pjdfstest/pjdfstest") || die "readelf cannot read the built pjdfstest"
case $headers in
  *'program interpreter'*) die "pjdfstest came out dynamically linked (is libc6-dev's static libc.a installed?)" ;;
esac

mkdir -p "$stage/bin"
cat > "$stage/bin/openssl" <<'EOF'
#!/bin/sh
# `openssl md5` for pjdfstest's namegen in the busybox VM: md5 of stdin as "(stdin)= HEX".
[ $# -eq 1 ] && [ "$1" = md5 ] || { echo "openssl (pjdfstest stand-in): only 'openssl md5' is supported, got: $*" >&2; exit 1; }
sum=$(md5sum) || exit 1
echo "(stdin)= ${sum%% *}"
EOF
chmod 755 "$stage/bin/openssl"
rm -f "$stage/build.log"

final=$(mktemp -d "$CACHE/$key.tmp.XXXXXX")
mv "$stage/pjdfstest" "$stage/bin" "$final/"
rm -rf "$out"
mv "$final" "$out" || die "cannot move the build to $out"
find "$CACHE" -mindepth 1 -maxdepth 1 ! -name "$key" ! -name 'stage.*' ! -name '*.tmp.*' -exec rm -rf {} +
echo "$out"
