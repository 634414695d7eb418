#!/usr/bin/env bash
# bench/ann/embed_docs.sh WORK: real all-MiniLM-L6-v2 embeddings for `make bench-ann-real`.
# Extracts every .rst and .txt file of the Linux kernel's Documentation/ (Debian's
# linux-source-6.1, installed by scripts/demo-deps.sh with the model's files), splits each
# as `vexctl index` does (200-token chunks, 32 tokens of overlap) and embeds the chunks
# with `vexctl embed` (cargo feature embed, built into target/embed/ as `make demo` does).
# Writes WORK/chunks.jsonl (one line per chunk, with its vector); embeddings are cached
# in WORK/embed-cache keyed by model and chunk text, so a rerun embeds nothing.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: embed_docs.sh WORK" >&2; exit 2; }
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$1
mkdir -p "$work"
# One embedding run per work directory at a time (a second waits, then finds the cache full).
exec 9> "$work/lock"
flock 9
model=$(bash "$top/scripts/demo-deps.sh" | tail -n 1)
(cd "$top" && CARGO_TARGET_DIR=$top/target/embed cargo build --release --quiet \
  -p vexfs-tools --features embed --bin vexctl)
if [ ! -f "$work/corpus.done" ]; then
  rm -rf "$work/corpus"
  mkdir -p "$work/corpus"
  tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$work/corpus" --strip-components=1 --wildcards \
    'linux-source-6.1/Documentation/*.rst' 'linux-source-6.1/Documentation/*.txt'
  touch "$work/corpus.done"
fi
"$top/target/embed/release/vexctl" embed --model "$model" --dir "$work/corpus/Documentation" --chunks \
  --manifest "$work/chunks.jsonl.tmp" --cache "$work/embed-cache"
mv "$work/chunks.jsonl.tmp" "$work/chunks.jsonl"
