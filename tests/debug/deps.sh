#!/usr/bin/env bash
# Packages the debug lane needs on top of `make deps` (scripts/deps.sh):
# the kernel source and its build tools, musl for the static guest tools,
# cargo-fuzz for fuzz/run.sh. Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
pkgs=(linux-source-6.1 flex bison bc libelf-dev libssl-dev dwarves build-essential
      musl-tools python3 binutils xz-utils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "debug deps: installing ${missing[*]}"
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "${1:-}" = --fuzz ] && ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
