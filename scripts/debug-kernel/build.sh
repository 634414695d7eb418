#!/usr/bin/env bash
# Build (or find in the cache) the VexFS debug kernel: Debian's linux-source-6.1
# with x86_64_defconfig + kvm_guest.config + scripts/debug-kernel/config.fragment
# (KASAN, lockdep, atomic-sleep, kmemleak, stack usage, fault injection,
# dm-log-writes; virtio-blk/jbd2/crc32c/loop/dm built in; big unused subsystems off).
#
# Cache: $VEXFS_DEBUG_KERNEL_CACHE (default /var/cache/vexfs-debug-kernel)/<key>/
#   bzImage      the kernel to boot
#   kver         its release string (uname -r)
#   src/         the built tree: KDIR for building vexfs.ko against this kernel
#   modroot/     modules_install output (lib/modules/<kver>/...)
#   build-seconds, build.log
# <key> hashes the source package version, the fragment, RECIPE (bump it when a
# change to this script changes what gets built) and the gcc version, so
# editing the config rebuilds and repeated runs reuse the build.
#
# Usage: build.sh            build if needed, print the cache directory on stdout
#        build.sh --key      print the cache directory without building
#        build.sh --check    exit 0 if the cached build exists, 1 otherwise
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
frag=$here/config.fragment
tarball=/usr/src/linux-source-6.1.tar.xz
cache_root=${VEXFS_DEBUG_KERNEL_CACHE:-/var/cache/vexfs-debug-kernel}
jobs=${VEXFS_DEBUG_KERNEL_JOBS:-$(nproc)}
RECIPE="defconfig+kvm_guest+fragment; bzImage modules; modules_install stripped; v1"

[ -f "$tarball" ] || { echo "debug-kernel: $tarball missing (apt-get install linux-source-6.1; see tests/debug/deps.sh)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s "$tarball")
key=$( { echo "$srcver"; cat "$frag"; echo "$RECIPE"; gcc --version | head -n1; } | sha256sum | cut -c1-16)
dir=$cache_root/$key

case "${1:-}" in
  --key) echo "$dir"; exit 0 ;;
  --check) [ -f "$dir/done" ]; exit $? ;;
esac

if [ -f "$dir/done" ]; then echo "$dir"; exit 0; fi

mkdir -p "$cache_root"
exec 9>"$cache_root/$key.lock"
echo "debug-kernel: waiting for the build lock $cache_root/$key.lock" >&2
flock 9
if [ -f "$dir/done" ]; then echo "$dir"; exit 0; fi

rm -rf "$dir"
mkdir -p "$dir/src"
log=$dir/build.log
start=$(date +%s)
echo "debug-kernel: building into $dir (log: $log)" >&2
{
  tar -xf "$tarball" -C "$dir/src" --strip-components=1
  cd "$dir/src"
  make -s x86_64_defconfig
  make -s kvm_guest.config
  args=()
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    name=${line%%=*}; val=${line#*=}; name=${name#CONFIG_}
    case "$val" in
      y) args+=(--enable "$name") ;;
      n) args+=(--disable "$name") ;;
      m) args+=(--module "$name") ;;
      \"*) args+=(--set-str "$name" "$(eval echo "$val")") ;;
      *) args+=(--set-val "$name" "$val") ;;
    esac
  done <"$frag"
  scripts/config "${args[@]}"
  make -s olddefconfig
  # Every option the fragment asks for must have survived olddefconfig
  # (a dependency we missed would silently drop a check).
  bad=0
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    name=${line%%=*}; val=${line#*=}
    if [ "$val" = n ]; then
      if grep -q "^$name=" .config; then echo "debug-kernel: $name is still set: $(grep "^$name=" .config)"; bad=1; fi
    elif ! grep -qx "$name=$val" .config; then
      echo "debug-kernel: wanted $line, got: $(grep -E "^(# )?$name[= ]" .config || echo absent)"; bad=1
    fi
  done <"$frag"
  [ "$bad" -eq 0 ] || { echo "debug-kernel: config fragment not applied, see above"; exit 1; }
  make -j"$jobs" bzImage modules
  make -s modules_install INSTALL_MOD_PATH="$dir/modroot" INSTALL_MOD_STRIP=1
  cp arch/x86/boot/bzImage "$dir/bzImage"
  make -s kernelrelease >"$dir/kver"
} >"$log" 2>&1 || { echo "debug-kernel: build failed; tail of $log:" >&2; tail -n 40 "$log" >&2; exit 1; }
echo $(( $(date +%s) - start )) >"$dir/build-seconds"
# CPU seconds of the build (children's user + system): comparable across
# machines of the same speed even when this one was busy.
times | tail -n1 | awk '{ split($1, u, "m"); split($2, s, "m"); printf "%d\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' >"$dir/build-cpu-seconds"
touch "$dir/done"
echo "debug-kernel: built $(cat "$dir/kver") in $(cat "$dir/build-seconds") s ($(cat "$dir/build-cpu-seconds") CPU s)" >&2
echo "$dir"
