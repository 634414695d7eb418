#!/usr/bin/env bash
# Issue 3 item 7: damaged images. A populated image (tree with small, large,
# sparse, double-indirect files, symlinks, a hard link, a 150-entry directory,
# vectors with a persisted HNSW graph) is copied VEXFS_DAMAGE_IMAGES times
# (default 100), each copy with one random damage to a METADATA block only
# (tests/vm/lib/imgdamage.py: superblock fields resealed or not, bitmaps,
# inode table, directory, indirect, vector-store, graph blocks, the jbd2
# superblock). Batches of up to 20 disks per VM boot. For each image the
# mount is refused with "vexfs (vdX): refusing to mount: ...", or it mounts
# and a walk (find, stat, cat, ls, readlink, exact and HNSW search, a create
# and an unlink) either succeeds or fails with errors; then umount. Never an
# oops, BUG, warning or hang (the harness fails on those; a hung walk is a
# failure too). On a kernel problem the image is kept under tests/vm/out/
# and named in the failure. Prints the distribution refused /
# mounted-with-errors / mounted-clean.
#   VEXFS_DAMAGE_IMAGES (100), VEXFS_DAMAGE_SEED (1), VEXFS_DAMAGE_BATCH (20)
. "$(dirname "$0")/../lib/common.sh"
n_images=${VEXFS_DAMAGE_IMAGES:-100}
seed0=${VEXFS_DAMAGE_SEED:-1}
batch=${VEXFS_DAMAGE_BATCH:-20}
[ "$batch" -le 26 ] || fail "at most 26 disks per boot"
dmg=$VM_TOP/tests/vm/lib/imgdamage.py
keep=$VM_TOP/tests/vm/out/damaged-images
mkdir -p "$keep"

# --- the populated image -------------------------------------------------
src=$WORK/src
python3 - "$src" "$WORK/manifest.jsonl" <<'PY'
import json, os, random, sys
src, manp = sys.argv[1], sys.argv[2]
rng = random.Random(11)
man = []
for i in range(40):
    d = os.path.join(src, f"d{i % 5}", f"s{i % 3}")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, f"f{i}")
    size = [0, 100, 5000, 60000, 300000][i % 5]   # inline-free, direct, single indirect
    with open(p, "wb") as f:
        f.write(rng.randbytes(size))
    if i % 4 != 3:
        man.append({"path": os.path.relpath(p, src), "vector": [round(rng.gauss(0, 1), 4) for _ in range(8)]})
# double indirect, sparse: a little data at the start and beyond 4.2 MiB
with open(os.path.join(src, "sparse"), "wb") as f:
    f.write(rng.randbytes(8192)); f.seek(6 << 20); f.write(rng.randbytes(8192))
for i in range(150):   # a directory of several blocks
    with open(os.path.join(src, "d0", f"many-{i:03d}-" + "x" * 40), "w") as f:
        f.write("m")
os.symlink("d0/s0/f0", os.path.join(src, "short"))
os.symlink("./" * 50 + "d0/s0/f0", os.path.join(src, "long"))
os.link(os.path.join(src, "d1/s1/f1"), os.path.join(src, "hard"))
os.chmod(os.path.join(src, "d2/s2/f2"), 0o600)
with open(manp, "w") as f:
    f.writelines(json.dumps(m) + "\n" for m in man)
PY
base=$WORK/base.img
rm -f "$base"
"$MKFS" -q --dim 8 --metric l2 -d "$src" --manifest "$WORK/manifest.jsonl" "$base" 64M || fail "mkfs.vexfs -d"
# One boot persists the HNSW graph (built at the first mount), so that the
# graph blocks exist to be damaged.
cat > "$WORK/prep.sh" <<'GUEST'
set -eu
mount -t vexfs /dev/vda /mnt
vexctl sync /mnt
vexctl status /mnt
/extra/vexfs-walk /mnt | tail -n 1 | sed 's/^/undamaged /'
umount /mnt
GUEST
build_guest_tools "$WORK/add"
VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$WORK/prep.log "$VM_RUN" --disk "$base" --add "$WORK/add" "$WORK/prep.sh" > /dev/null \
  || { tail -n 30 "$WORK/prep.log"; fail "preparing the populated image"; }
grep -a '^undamaged walk:' "$WORK/prep.log" | tr -d '\r' | grep -q ' 0 errors, 0 cycles' \
  || { tail -n 30 "$WORK/prep.log"; fail "the undamaged image does not walk cleanly"; }
echo "$(grep -a '^undamaged walk:' "$WORK/prep.log" | tr -d '\r')"
fsck_clean "$base"
map=$(python3 "$dmg" map "$base")
echo "metadata blocks of the populated image: $map"
echo "$map" | grep -q '"graph": [1-9]' || fail "no persisted graph blocks to damage"

# --- damaged copies ---------------------------------------------------------
declare -a desc
python3 "$dmg" damage-many "$base" "$WORK" $((seed0 * 100000)) "$n_images" > "$WORK/desc.txt" || fail "damaging the copies"
while read -r i d; do desc[$i]=$d; done < "$WORK/desc.txt"
[ "${#desc[@]}" -eq "$n_images" ] || fail "made ${#desc[@]} damaged images, wanted $n_images"

# --- the guest walk ---------------------------------------------------------
cat > "$WORK/walk.sh" <<'GUEST'
set -u
PATH=/extra:$PATH
echo 20 > /proc/sys/kernel/hung_task_timeout_secs
bad=0
for name in "$@"; do
  dev=/dev/$name
  echo "BEGIN $name"
  dmesg -c > /dev/null
  : > /tmp/e
  if ! timeout 60 mount -t vexfs "$dev" /mnt 2> /tmp/err; then
    m=$(dmesg | grep -E "vexfs \\($name\\): refusing (to|read-write) mount" | head -n 1)
    if [ -n "$m" ]; then
      echo "RESULT $name refused ${m#*] }"
    else
      echo "RESULT $name unclear-refusal mount: $(cat /tmp/err); dmesg: $(dmesg | tail -n 4 | tr '\n' '|')"
      bad=1
    fi
    continue
  fi
  # The walk: every operation may fail on a damaged object, none may hang.
  # vexfs-walk reports errors busybox find/ls would swallow (readdir).
  timeout 120 sh -c '
    e=0
    vexfs-walk /mnt > /tmp/walk 2>&1 || e=$((e + 1))
    vexctl search /mnt --vector 1,0,0,0,0,0,0,1 -k 10 --exact > /dev/null 2>> /tmp/e || e=$((e + 1))
    vexctl search /mnt --vector 1,0,0,0,0,0,0,1 -k 10 > /dev/null 2>> /tmp/e || e=$((e + 1))
    vexctl status /mnt > /dev/null 2>> /tmp/e || e=$((e + 1))
    echo new > /mnt/d1/new-file 2>> /tmp/e || e=$((e + 1))
    mkdir /mnt/newdir 2>> /tmp/e || e=$((e + 1))
    rm -f /mnt/d3/s0/f18 2>> /tmp/e || e=$((e + 1))
    sync 2>> /tmp/e || e=$((e + 1))
    echo "$e" > /tmp/nerr
  ' > /dev/null 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "RESULT $name walk-hung (timeout exit $rc)"; bad=1
    break
  fi
  e=$(cat /tmp/nerr)
  w=$(grep '^walk:' /tmp/walk)
  we=$(echo "$w" | awk '{print $4}')
  k=$(dmesg | grep -c "vexfs ($name)")
  if ! timeout 60 umount /mnt 2>> /tmp/e; then
    echo "RESULT $name umount-failed $(tail -n 2 /tmp/e | tr '\n' '|')"; bad=1; break
  fi
  first=$( (grep -E '^(ERR|CYCLE)' /tmp/walk; cat /tmp/e) | head -n 2 | tr '\n' '|')
  if [ $((e + we)) -gt 0 ]; then
    echo "RESULT $name mounted-with-errors ${w#walk: }, $e failed other ops, $k kernel lines; first: $first"
  else
    echo "RESULT $name mounted-clean ${w#walk: }, $k kernel lines; $first$(dmesg | grep "vexfs ($name)" | grep -v 'mounted\|unmounted\|graph loaded' | head -n 1)"
  fi
done
rmmod vexfs || bad=1
exit $bad
GUEST

letters=(a b c d e f g h i j k l m n o p q r s t u v w x y z)
refused=0 errs=0 clean=0 failed=0
kinds_summary=$WORK/kinds.txt
: > "$kinds_summary"
i=0
while [ $i -lt "$n_images" ]; do
  disks=() names=() idx=()
  j=0
  while [ $j -lt "$batch" ] && [ $i -lt "$n_images" ]; do
    disks+=(--disk "$WORK/d$i.img"); names+=("vd${letters[$j]}"); idx+=("$i")
    i=$((i + 1)); j=$((j + 1))
  done
  for attempt in 1 2; do
    log=$WORK/batch-$i.log rc=0
    VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$log VEXFS_VM_TIMEOUT=${VEXFS_VM_TIMEOUT:-480} \
      "$VM_RUN" "${disks[@]}" --add "$WORK/add" "$WORK/walk.sh" "${names[@]}" > /dev/null 2>&1 || rc=$?
    tr -d '\r' < "$log" > "$log.txt"
    # A guest that stalled during boot, before vexfs.ko was even loaded (seen
    # under heavy host load: TCG soft lockup in keyring init), touched no
    # image: boot once more. Anything after the script started counts.
    # negcheck-ok: an unreadable log only means one more boot, whose results are then checked
    if [ "$rc" -ne 0 ] && ! grep -q '^vexfs-vm: running' "$log.txt"; then
      cp "$log.txt" "$keep/boot-failure-$i-$attempt.log"
      echo "batch ending at image $i: the guest failed before the script started (exit $rc, log $keep/boot-failure-$i-$attempt.log)"
      [ "$attempt" -eq 1 ] && continue
    fi
    break
  done
  cp "$log.txt" "$keep/batch-$i.log"
  for j in "${!names[@]}"; do
    n=${names[$j]} k=${idx[$j]}
    line=$(grep -E "^RESULT $n " "$log.txt" | head -n 1) || line=""
    cls=$(echo "$line" | awk '{print $3}')
    kind=${desc[$k]%%:*}
    case "$cls" in
      refused) refused=$((refused + 1)) ;;
      mounted-with-errors) errs=$((errs + 1)) ;;
      mounted-clean) clean=$((clean + 1)) ;;
      *) cls=${cls:-none}; failed=$((failed + 1)) ;;
    esac
    echo "$kind $cls" >> "$kinds_summary"
    printf 'image %3d %-5s %-20s %s\n      -> %s\n' "$k" "$n" "$cls" "${desc[$k]}" "${line#RESULT $n $cls }"
    if [ "$cls" != refused ] && [ "$cls" != mounted-with-errors ] && [ "$cls" != mounted-clean ]; then
      cp --sparse=always "$WORK/d$k.img" "$keep/damaged-$k.img"
      echo "      !! kept the image as $keep/damaged-$k.img"
    fi
  done
  if [ "$rc" -ne 0 ]; then
    last=$(grep -E '^BEGIN ' "$log.txt" | tail -n 1 | awk '{print $2}')
    for j in "${!names[@]}"; do
      if [ "${names[$j]}" = "$last" ]; then
        k=${idx[$j]}
        cp --sparse=always "$WORK/d$k.img" "$keep/damaged-$k.img"
        echo "!! the VM failed (exit $rc) while on image $k ($last): ${desc[$k]}"
        echo "!! reproducer: $keep/damaged-$k.img (tests/vm/run.sh --disk IMG, mount -t vexfs /dev/vda /mnt, walk)"
      fi
    done
    grep -E -A 40 'BUG|Oops|WARNING|Call Trace|RIP:|blocked for more|soft lockup|Kernel panic' "$log.txt" | head -n 80
    fail "VM batch ending at image $i exited $rc (log $keep/batch-$i.log)"
  fi
done
echo
echo "by damaged structure (kind: refused / mounted-with-errors / mounted-clean / other):"
awk '{t[$1]++; c[$1 " " $2]++} END {for (k in t) printf "  %-9s %3d: %3d / %3d / %3d / %3d\n", k, t[k], c[k " refused"], c[k " mounted-with-errors"], c[k " mounted-clean"], t[k] - c[k " refused"] - c[k " mounted-with-errors"] - c[k " mounted-clean"]}' "$kinds_summary" | sort
echo "damaged-images: $n_images images: $refused refused, $errs mounted with errors, $clean mounted clean, $failed failed"
[ "$failed" -eq 0 ] || fail "$failed images neither refused cleanly nor walked (see above)"
[ $((refused + errs + clean)) -eq "$n_images" ] || fail "results missing"
echo "damaged-images: passed"
