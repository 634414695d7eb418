#!/usr/bin/env bash
# tests/vm/lib/python-image.sh: prints the path of an ext4 image holding the host's Debian
# CPython 3.11 and numpy (python3-numpy), for VM tests of the Python package (python/vexfs).
#
# The VM's initramfs is static busybox with no libc, so the image carries everything the
# interpreter needs: /usr/bin/python3.11, the standard library (/usr/lib/python3.11, minus
# tests, IDLE, tkinter, lib2to3 and the static libpython), numpy (minus its test suites),
# every shared library that the interpreter, the stdlib extension modules and numpy's
# extension modules link (found with ldd, copied dereferenced into /lib) and the dynamic
# loader. In the guest, mount it read-only at /py and run /py/bin/python3 (a busybox sh
# wrapper: the loader with --library-path /py/lib and PYTHONHOME=/py/usr).
#
# The image is cached as build/vm-python/<key>.img; the key hashes this script and the path,
# size and mtime of every staged input file, so an upgrade of any input builds a new image
# (and deletes the older ones). A build takes a few seconds; a cache hit is a `stat` of the
# ~2000 input files, under a second.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
CACHE=${VEXFS_VM_PYTHON_CACHE:-$TOP/build/vm-python}
PY=/usr/bin/python3.11
STDLIB=/usr/lib/python3.11
DIST=/usr/lib/python3/dist-packages

die() { echo "python-image.sh: $*" >&2; exit 1; }
[ -x "$PY" ] || die "$PY not found (apt-get install python3; 'make deps')"
NUMPY=$("$PY" -c 'import numpy, os; print(os.path.dirname(numpy.__file__))' 2>/dev/null) ||
  die "$PY cannot import numpy (apt-get install --no-install-recommends python3-numpy; 'make deps')"
[ "$NUMPY" = "$DIST/numpy" ] || die "numpy for $PY is $NUMPY, expected Debian's $DIST/numpy (python3-numpy)"
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 not found (apt-get install e2fsprogs)"
command -v ldd >/dev/null || die "ldd not found (libc-bin)"

# The stdlib and numpy files to stage, relative to / (no leading slash).
list_py_files() {
  (cd / && find "${STDLIB#/}" \
      \( -path "${STDLIB#/}/test" -o -path "${STDLIB#/}/idlelib" -o -path "${STDLIB#/}/tkinter" \
         -o -path "${STDLIB#/}/turtledemo" -o -path "${STDLIB#/}/lib2to3" \
         -o -path "${STDLIB#/}/ensurepip" -o -path "${STDLIB#/}/dist-packages" \
         -o -path "${STDLIB#/}/site-packages" -o -path "${STDLIB#/}/config-3.11-*" \) -prune \
      -o \( -type f -o -type l \) -print
   cd / && find "${NUMPY#/}" \( -name tests -type d \) -prune -o \( -type f -o -type l \) -print)
}
# The shared libraries (resolved paths) that PY and every extension module need.
list_libs() {
  { echo "$PY"; list_py_files | sed -n 's|^|/|; /\.so$/p'; } |
    xargs ldd 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' |
    sort -u
}

files=$(list_py_files)
libs=$(list_libs)
grep -q 'libc\.so\.6$' <<<"$libs" || die "ldd found no libc for $PY"
key=$( { cat "${BASH_SOURCE[0]}"
         cd / && { echo "${PY#/}"; echo "$files"; echo "$libs" | sed 's|^/||'; } |
           sort -u | xargs -d '\n' stat -L -c '%n %s %Y'; } | sha256sum | cut -c1-16)
img=$CACHE/py311-$key.img
if [ -f "$img" ]; then
  echo "$img"
  exit 0
fi

mkdir -p "$CACHE"
stage=$(mktemp -d "$CACHE/stage.XXXXXX")
chmod 755 "$stage"   # the image root: unprivileged guest users run Python too
trap 'rm -rf "$stage" "$img.tmp.$$"' EXIT
mkdir -p "$stage/usr/bin" "$stage/lib" "$stage/lib64" "$stage/bin"
cp -p "$PY" "$stage/usr/bin/python3.11"
# Keep paths (and mtimes: the .pyc files are checked against their sources' mtime and size).
(cd / && echo "$files" | cpio -pdm --quiet "$stage") || die "copying the stdlib and numpy failed"
while read -r lib; do
  [ -n "$lib" ] || continue
  case $lib in
    */ld-linux-x86-64.so.2) cp -L "$lib" "$stage/lib64/ld-linux-x86-64.so.2" ;;
    *) cp -L "$lib" "$stage/lib/$(basename "$lib")" ;;
  esac
done <<<"$libs"
[ -f "$stage/lib64/ld-linux-x86-64.so.2" ] || die "the dynamic loader was not found by ldd"
# Compile whatever has no valid .pyc yet, so the read-only guest never compiles at import.
"$PY" -m compileall -q -j 0 "$stage/usr/lib" >/dev/null || die "compileall failed"
cat > "$stage/bin/python3" <<'EOF'
#!/bin/sh
# Debian's python3.11 from this image, run by the image's own loader and libraries.
r=$(cd "$(dirname "$0")/.." && pwd)
PYTHONHOME=$r/usr PYTHONDONTWRITEBYTECODE=1 LC_ALL=C.UTF-8 \
  exec "$r/lib64/ld-linux-x86-64.so.2" --library-path "$r/lib" "$r/usr/bin/python3.11" "$@"
EOF
chmod 755 "$stage/bin/python3"
size_kb=$(du -sk "$stage" | cut -f1)
rm -f "$img.tmp.$$"
truncate -s $(( (size_kb * 13 / 10 + 16384) * 1024 )) "$img.tmp.$$"
mkfs.ext4 -q -F -O ^has_journal -E root_owner=0:0 -d "$stage" "$img.tmp.$$" ||
  die "mkfs.ext4 -d failed"
mv "$img.tmp.$$" "$img"
# Images of older inputs are not used again (a VM still running with one keeps it open).
find "$CACHE" -maxdepth 1 -name 'py311-*.img' ! -name "$(basename "$img")" -delete
echo "$img"
