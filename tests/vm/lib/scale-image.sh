# tests/vm/lib/scale-image.sh - sourced after tests/vm/lib/common.sh by
# tests/vm/cases/scale-pressure.sh and bench/vm/knn-1m.sh: issue 14's scale
# image, built offline by mkfs.vexfs -d with the bulk --vectors path.
#
# scale_image N DIM PER NQ SEED DIR: N generated vectors of dimension DIM
# stored as files of PER chunks each (DIR/src/docs/<file>, "row" manifest
# lines: base row i is chunk i % PER of file i / PER, what `vexfs-testdata
# chunk-recall --per-file PER` expects), plus NQ held-out queries from the
# same distribution (the last NQ vectors of one generated set, as real
# queries are). Writes DIR/base.fvecs, DIR/queries.fvecs, DIR/gt.jsonl
# (exact top 10, computed on the host) and the image DIR/scale.img; prints
# how long the image took.
scale_image() {
  local n=$1 dim=$2 per=$3 nq=$4 seed=$5 dir=$6
  [ $((n % per)) -eq 0 ] || fail "the vector count $n must be a multiple of $per"
  mkdir -p "$dir/src/docs"
  "$TESTDATA" gen --n $((n + nq)) --dim "$dim" --seed "$seed" --out "$dir/all.fvecs"
  local rec=$((4 + 4 * dim))
  head -c $((n * rec)) "$dir/all.fvecs" > "$dir/base.fvecs"
  tail -c $((nq * rec)) "$dir/all.fvecs" > "$dir/queries.fvecs"
  rm "$dir/all.fvecs"
  "$TESTDATA" gt --base "$dir/base.fvecs" --queries "$dir/queries.fvecs" -k 10 --out "$dir/gt.jsonl"
  python3 - $((n / per)) "$per" "$dir/src/docs" "$dir/man.jsonl" <<'PY'
import json, os, sys
files, per, d, man = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(man, "w") as m:
    for f in range(files):
        open(os.path.join(d, f"{f:08d}"), "w").close()
        for c in range(per):
            m.write(json.dumps({"path": f"docs/{f:08d}", "offset": c * 100, "length": 100,
                                "row": f * per + c}) + "\n")
PY
  # Records (32 + 4 * dim bytes), graph (~150 bytes) and the rest per vector, plus room.
  local size_mb=$(( (n * (344 + 4 * dim)) / 1048576 + 256 )) t0=$SECONDS
  "$MKFS" -q --dim "$dim" --metric l2 -d "$dir/src" --manifest "$dir/man.jsonl" \
    --vectors "$dir/base.fvecs" "$dir/scale.img" "${size_mb}M" || fail "mkfs.vexfs -d with $n vectors"
  echo "scale image: $n vectors of dimension $dim built in $((SECONDS - t0)) s"
}
