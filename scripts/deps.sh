#!/usr/bin/env bash
# `make deps`: everything a fresh Debian 12 machine needs to build VexFS, run
# its VM tests and benchmarks. Idempotent; quick when all is present.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

# Debian packages. --no-install-recommends: with recommends qemu pulls ~1.4 GB of GUI.
# linux-image-amd64: the kernel the VM boots; linux-headers-amd64: the module build.
# libclang-dev: bindgen; musl-tools: static tools for the VM; busybox-static: VM userland;
# kmod/cpio/xz-utils/zstd: initramfs building; python3-venv: hnswlib for the ANN benchmark;
# python3-numpy: Debian's python3 + numpy, staged into the VM for tests/vm/cases/python-api.sh.
pkgs=(linux-image-amd64 linux-headers-amd64 qemu-system-x86 busybox-static
      libclang-dev clang musl-tools kmod cpio xz-utils zstd gzip
      build-essential bc python3-venv python3-pip python3-numpy e2fsprogs util-linux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The kernel the VM boots must match the headers the module is built against.
kver=$(ls /lib/modules | grep -E '^6\.1\.' | sort -V | tail -n1)
[ -n "$kver" ] || { echo "deps: no Debian 6.1 kernel modules under /lib/modules" >&2; exit 1; }
[ -f "/boot/vmlinuz-$kver" ] || { echo "deps: /boot/vmlinuz-$kver missing" >&2; exit 1; }
[ -d "/lib/modules/$kver/build" ] || { echo "deps: headers for $kver missing" >&2; exit 1; }

# Rust: rust-src for -Zbuild-std of the kernel objects, the bare-metal target
# for the core, musl for static tools.
command -v rustup >/dev/null || { echo "deps: rustup not found; install the Rust toolchain first" >&2; exit 1; }
installed_components=$(rustup component list --installed)
grep -q '^rust-src' <<<"$installed_components" || rustup component add rust-src
installed_targets=$(rustup target list --installed)
for t in x86_64-unknown-none x86_64-unknown-linux-musl; do
  grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
done
echo "deps: ready (kernel $kver)"
