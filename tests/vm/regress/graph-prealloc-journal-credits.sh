#!/usr/bin/env bash
# Reproducer (found by bench/vm/knn-and-mount.sh): on a volume with many
# inodes (mkfs -N 110000 on 512M: a 2048-block journal) holding only 1,000
# vectors, the umount after the first mount's background graph build runs
# vexfs_sync_fs -> vexfs_vindex_sync -> vexfs_graph_prealloc ->
# vexfs_journal_begin, which asks jbd2 for more credits than a transaction
# can ever have:
#   __jbd2_log_wait_for_space: needed 2233 blocks and only had 2015 space available
#   __jbd2_log_wait_for_space: no way to get more journal space in vda
#   WARNING: CPU: 0 PID: 172 at fs/jbd2/checkpoint.c:127 __jbd2_log_wait_for_space.cold+0x34/0x48 [jbd2]
#   add_transaction_credits <- start_this_handle <- jbd2__journal_start <-
#   vexfs_journal_begin <- vexfs_graph_prealloc <- vexfs_vindex_sync <- vexfs_sync_fs <- umount
# (the graph preallocation's handle seems sized by the graph capacity, i.e.
# the inode count, not bounded by the journal's maximum transaction size).
# Exit 0 when fixed; 120 (kernel warning) while the bug is there.
. "$(dirname "$0")/../lib/common.sh"
src=$WORK/src
python3 - "$src" "$WORK/m.jsonl" <<'PY'
import json, os, random, sys
src, manp = sys.argv[1], sys.argv[2]
rng = random.Random(1)
os.makedirs(src)
with open(manp, "w") as man:
    for i in range(1000):
        open(os.path.join(src, f"{i:08d}"), "w").close()
        man.write(json.dumps({"path": f"{i:08d}", "vector": [rng.gauss(0, 1) for _ in range(16)]}) + "\n")
PY
img=$WORK/r.img
rm -f "$img"
"$MKFS" -q --dim 16 -M 8 --ef-construction 40 -N 110000 -d "$src" --manifest "$WORK/m.jsonl" "$img" 512M || fail mkfs
cat > "$WORK/guest.sh" <<'GUEST'
set -eu
mount -t vexfs /dev/vda /mnt
vexctl sync /mnt
umount /mnt
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh"
