# bench/vm/populate.sh - sourced by bench/vm/knn-and-mount.sh and searchers.sh (after
# tests/vm/lib/common.sh):
# images holding one vector per file, built offline with mkfs.vexfs -d.
# populated image: DIR/<i> files, one vector each, in directories of 1000
populate() { # populate IMG FVECS COUNT SIZE [mkfs args]
  local img=$1 fv=$2 cnt=$3 size=$4; shift 4
  local src=$WORK/src-$cnt
  rm -rf "$src"
  python3 - "$fv" "$cnt" "$src" "$WORK/man-$cnt.jsonl" <<'PY'
import json, os, struct, sys
fv, cnt, src, manp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(fv, "rb") as f, open(manp, "w") as man:
    for i in range(cnt):
        d = struct.unpack("<i", f.read(4))[0]
        v = struct.unpack(f"<{d}f", f.read(4 * d))
        rel = f"d{i // 1000:03d}/{i:08d}"
        if i % 1000 == 0:
            os.makedirs(os.path.join(src, f"d{i // 1000:03d}"))
        open(os.path.join(src, rel), "w").close()
        man.write(json.dumps({"path": rel, "vector": [float(x) for x in v]}) + "\n")
PY
  rm -f "$img"
  "$MKFS" -q "$@" -d "$src" --manifest "$WORK/man-$cnt.jsonl" "$img" "$size" || fail "mkfs.vexfs -d ($cnt files)"
  rm -rf "$src"
}
