#!/usr/bin/env bash
# Issue 15 items 1, 2 and 5: a search issued on a directory with
# VEXFS_SEARCH_F_SUBTREE (vexctl search|range|similar|batch-search DIR)
# returns exactly the files under it at any depth, --all and the mount root
# the whole volume; `mv` of a directory or a file into or out of the scope
# changes results at once, in lazy sync mode and after a remount; bad scope
# descriptors and flags get ENOTDIR/EINVAL with nothing changed.
. "$(dirname "$0")/../lib/common.sh"
build_guest_tools "$WORK/add"
img=$WORK/scope.img
new_image "$img" 64M --dim 4 --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
fail() { echo "FAIL: $*"; exit 1; }
Q=5,5,5,5
# paths CMD...: run a vexctl search printing JSON; the sorted paths into /tmp/got.
paths() {
  "$@" --json > /tmp/out.json 2>/tmp/err || { cat /tmp/err; fail "$* failed"; }
  tr '{' '\n' < /tmp/out.json | sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | sort > /tmp/got
}
# want WHAT PATH...: /tmp/got must be exactly these paths.
want() {
  what=$1; shift
  printf '%s\n' "$@" | sed '/^$/d' | sort > /tmp/want
  cmp -s /tmp/got /tmp/want || { echo "got:"; cat /tmp/got; echo "want:"; cat /tmp/want; fail "$what"; }
  echo "$what: ok"
}
knn() { paths vexctl search "$1" --vector $Q -k 50 ${2:-}; }
mount -t vexfs /dev/vda /mnt
chmod 755 /mnt /extra
mkdir -p /mnt/proj/a/deep /mnt/proj/b /mnt/other
i=0
for f in proj/a/f0 proj/a/f1 proj/a/deep/d0 proj/b/g0 other/o0 other/o1 r0; do
  echo $f > /mnt/$f; chmod 644 /mnt/$f
  vexctl set /mnt/$f --vector 5,5,5,5.$i
  i=$((i + 1))
done
A="proj/a/f0 proj/a/f1 proj/a/deep/d0"
ALL="$A proj/b/g0 other/o0 other/o1 r0"
knn /mnt;            want "mount root: whole volume" $ALL
knn /mnt/proj;       want "scope proj" $A proj/b/g0
knn /mnt/proj/a;     want "scope proj/a" $A
knn /mnt/proj/a/deep; want "nested scope" proj/a/deep/d0
knn /mnt/proj --all; want "--all" $ALL
knn /mnt/proj/b/g0;  want "a file as PATH: whole volume" $ALL
knn /mnt/proj --exact; want "exact scan, scope proj" $A proj/b/g0
paths vexctl range /mnt/proj/a --vector $Q --max-distance 1000; want "range, scope proj/a" $A
paths vexctl similar /mnt/other --vector $Q --threshold 1000; want "similar, scope other" other/o0 other/o1
printf '\004\000\000\000\000\000\240@\000\000\240@\000\000\240@\000\000\240@' > /tmp/q.fvecs
vexctl batch-search /mnt/proj/b --queries /tmp/q.fvecs -k 50 --out /tmp/bs.jsonl > /dev/null || fail "batch-search failed"
tr '{' '\n' < /tmp/bs.jsonl | sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | sort > /tmp/got
want "batch-search, scope proj/b" proj/b/g0

# mv of a directory out of and back into the scope; of a single file.
mv /mnt/proj/a /mnt/other/a
knn /mnt/proj;  want "after mv proj/a out" proj/b/g0
knn /mnt/other; want "other after mv in" other/o0 other/o1 other/a/f0 other/a/f1 other/a/deep/d0
mv /mnt/other/a /mnt/proj/a
knn /mnt/proj;  want "after mv proj/a back" $A proj/b/g0
mv /mnt/other/o0 /mnt/proj/b/o0
knn /mnt/proj/b; want "file moved into scope" proj/b/g0 proj/b/o0
mv /mnt/proj/b/o0 /mnt/other/o0
knn /mnt/proj/b; want "file moved out of scope" proj/b/g0

# Lazy mode: a queued change and moves around it.
vexctl config /mnt --sync-mode lazy --sync-interval-ms 60000 --batch-size 1000 >/dev/null
echo q > /mnt/proj/a/deep/q; vexctl set /mnt/proj/a/deep/q --vector 5,5,5,5
p=$(vexctl status /mnt --json | sed -n 's/.*"pending": *\([0-9]*\).*/\1/p')
[ "$p" -gt 0 ] || fail "lazy: nothing pending ($p)"
knn /mnt/proj/a; want "lazy: queued file in scope" $A proj/a/deep/q
mv /mnt/proj/a/deep /mnt/deep
knn /mnt/proj/a; want "lazy: after mv deep out" proj/a/f0 proj/a/f1
knn /mnt/deep;   want "lazy: deep as its own scope" deep/d0 deep/q
vexctl config /mnt --sync-mode immediate >/dev/null

# Remount: the scope follows the tree on disk.
umount /mnt
mount -t vexfs /dev/vda /mnt
knn /mnt/proj; want "after remount" proj/a/f0 proj/a/f1 proj/b/g0
mv /mnt/deep /mnt/proj/b/deep
knn /mnt/proj/b; want "after remount and mv in" proj/b/g0 proj/b/deep/d0 proj/b/deep/q

# Scope and permission together: nobody, with proj/b closed.
chmod 700 /mnt/proj/b
su -s /bin/sh nobody -c "vexctl search /mnt/proj --vector $Q -k 50 --json" > /tmp/out.json || fail "nobody search failed"
tr '{' '\n' < /tmp/out.json | sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | sort > /tmp/got
want "nobody, scope proj, proj/b closed" proj/a/f0 proj/a/f1
chmod 755 /mnt/proj/b

# Bad input: nothing changes.
gen0=$(vexctl status /mnt --json | sed -n 's/.*"vector_generation": *\([0-9]*\).*/\1/p')
vexfs-rawsearch /mnt/proj/b/g0 knn 4 0 2 $Q > /tmp/bad && fail "subtree on a file succeeded"
grep -qx "error ENOTDIR" /tmp/bad || { cat /tmp/bad; fail "subtree on a file: want ENOTDIR"; }
vexfs-rawsearch /mnt/proj knn 4 0 16 $Q > /tmp/bad && fail "unknown flag accepted"
grep -qx "error EINVAL" /tmp/bad || { cat /tmp/bad; fail "unknown flag: want EINVAL"; }
vexfs-rawsearch /mnt/proj knn 4 0 3 $Q > /tmp/ok || fail "subtree + exact refused"
grep -q "^count 4$" /tmp/ok || { cat /tmp/ok; fail "subtree + exact on proj"; }
gen1=$(vexctl status /mnt --json | sed -n 's/.*"vector_generation": *\([0-9]*\).*/\1/p')
[ "$gen0" = "$gen1" ] || fail "a refused search changed the vector generation ($gen0 -> $gen1)"
vexctl search --help > /tmp/help || fail "search --help"
grep -q -- "--all" /tmp/help || fail "search --help does not document --all"
umount /mnt
rmmod vexfs
echo "search-scope-mv: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "search-scope-mv: passed"
