#!/usr/bin/env bash
# Issue 15 item 2 (hard links) and item 4 for files with several names: a
# file is under a scope, and reachable by a caller, if ANY of its names is,
# judged from the names block (RO_COMPAT_LINK_DIRS) the kernel keeps with
# link, unlink and rename -- with cold caches too (after a remount and after
# dropping the dentry cache), so no name has to be in the dcache. Also: two
# names in one directory, rename of one name, the last extra name removed,
# lazy mode, EMLINK past VEXFS_NAMES_MAX (510) directories, and fsck clean
# (fsck compares every names block with the directories).
. "$(dirname "$0")/../lib/common.sh"
build_guest_tools "$WORK/add"
img=$WORK/links.img
new_image "$img" 64M --dim 4 --metric l2
# Many hard-linked files: more than a search resolves one by one (1,024).
"$TESTDATA" gen --n 1500 --dim 4 --seed 5 --out "$WORK/add/many.fvecs" > /dev/null || fail "generating vectors"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
PATH=/extra:$PATH
fail() { echo "FAIL: $*"; exit 1; }
Q=5,5,5,5
ino() { ls -id "$1" | awk '{print $1}'; }
# rs WHO DIR FLAGS: raw kNN from DIR (FLAGS: 1 exact, 2 subtree) into /tmp/rs.out; the
# sorted inode numbers into /tmp/got.
rs() {
  if [ "$1" = root ]; then
    run_ok /tmp/rs.out vexfs-rawsearch "$2" knn 64 0 "$3" $Q
  else
    su -s /bin/sh nobody -c "/extra/vexfs-rawsearch $2 knn 64 0 $3 $Q" > /tmp/rs.out 2>&1 ||
      { cat /tmp/rs.out; fail "nobody search of $2 flags $3 failed"; }
  fi
  present '^count ' /tmp/rs.out "search of $2: count line"
  grep -E '^[0-9]+ ' /tmp/rs.out | awk '{print $1}' | sort -n > /tmp/got
}
# want WHAT INO...: /tmp/got must be exactly these inode numbers.
want() {
  w=$1; shift
  printf '%s\n' "$@" | sed '/^$/d' | sort -n > /tmp/want
  cmp -s /tmp/got /tmp/want || { cat /tmp/rs.out; echo "want:"; cat /tmp/want; fail "$w"; }
}
# both WHO DIR WHAT INO...: graph and exact scan (subtree when DIR is not /mnt) agree on INO...
both() {
  who=$1 dir=$2 what=$3; shift 3
  sub=0; [ "$dir" = /mnt ] || sub=2
  rs "$who" "$dir" $sub; want "$what (graph)" "$@"
  rs "$who" "$dir" $((sub + 1)); want "$what (exact)" "$@"
  echo "$what: ok"
}
mount -t vexfs /dev/vda /mnt
chmod 755 /mnt /extra
mkdir /mnt/pub /mnt/priv /mnt/a /mnt/b /mnt/c
chmod 755 /mnt/pub /mnt/a /mnt/b /mnt/c
chmod 700 /mnt/priv
mk() { echo "$1" > "/mnt/$1"; chmod 644 "/mnt/$1"; vexctl set "/mnt/$1" --vector "$2"; }
mk pub/p0 5,5,5,5.1
mk priv/s0 5,5,5.2,5
mk priv/s1 5,5.3,5,5
mk a/g 5.4,5,5,5
P0=$(ino /mnt/pub/p0) S0=$(ino /mnt/priv/s0) S1=$(ino /mnt/priv/s1) G=$(ino /mnt/a/g)

# A file of the closed directory with a second name in an open one: nobody finds it.
ln /mnt/priv/s0 /mnt/pub/s0-link
both nobody /mnt "nobody, s0 linked into pub" $P0 $S0 $G
both root /mnt/b "scope b before any link" 
# A file with names in a and b is under both scopes, and under neither's sibling.
ln /mnt/a/g /mnt/b/g2
both root /mnt/b "scope b holds g through its second name" $G
both root /mnt/a "scope a holds g" $G
both root /mnt/c "scope c holds nothing" 
# vexctl names each result by a name the caller reaches, under the scope.
# paths WHO DIR: the sorted paths of a vexctl kNN search of DIR into /tmp/paths.
paths() {
  if [ "$1" = root ]; then
    run_ok /tmp/vs.json vexctl search "$2" --vector $Q -k 50 --json
  else
    su -s /bin/sh nobody -c "vexctl search $2 --vector $Q -k 50 --json" > /tmp/vs.json 2>&1 ||
      { cat /tmp/vs.json; fail "nobody: vexctl search $2 failed"; }
  fi
  tr '{' '\n' < /tmp/vs.json | sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | sort > /tmp/paths
}
paths root /mnt/b
[ "$(cat /tmp/paths)" = "b/g2" ] || { cat /tmp/vs.json; fail "scope b: g named $(cat /tmp/paths), want b/g2"; }
paths nobody /mnt
present -x 'pub/s0-link' /tmp/paths "nobody: s0 named by its open name"
absent 'priv/' /tmp/paths "nobody: no path through priv"
echo "vexctl paths: ok"

# Cold caches: remount, then drop the dentries: no name of s0 or g is cached.
umount /mnt
mount -t vexfs /dev/vda /mnt
both nobody /mnt "after remount, nobody" $P0 $S0 $G
echo 2 > /proc/sys/vm/drop_caches
both root /mnt/b "after drop_caches, scope b" $G
both nobody /mnt "after drop_caches, nobody" $P0 $S0 $G

# Two names in one directory; remove one: still under b. Remove both: gone from b.
ln /mnt/b/g2 /mnt/b/g3
rm /mnt/b/g2
both root /mnt/b "one of two names in b removed" $G
mv /mnt/b/g3 /mnt/c/g3
both root /mnt/b "name renamed from b to c" 
both root /mnt/c "name renamed into c" $G
rm /mnt/c/g3
both root /mnt/c "last extra name removed" 
both root /mnt/a "the first name stays" $G
[ "$(stat -c %h /mnt/a/g)" = 1 ] || fail "a/g: $(stat -c %h /mnt/a/g) links, want 1"

# The open name of s0 renamed into the closed directory: hidden; back: found.
mv /mnt/pub/s0-link /mnt/priv/s0-link
both nobody /mnt "s0's open name moved into priv" $P0 $G
mv /mnt/priv/s0-link /mnt/pub/s0-link
both nobody /mnt "and back" $P0 $S0 $G

# Lazy mode: a queued vector of a hard-linked file is judged the same way.
vexctl config /mnt --sync-mode lazy --sync-interval-ms 60000 --batch-size 1000 >/dev/null
ln /mnt/priv/s1 /mnt/pub/s1-link
vexctl set /mnt/priv/s1 --vector 5,5.31,5,5
p=$(vexctl status /mnt --json | sed -n 's/.*"pending": *\([0-9]*\).*/\1/p')
[ "$p" -gt 0 ] || fail "lazy: nothing pending ($p)"
both nobody /mnt "lazy: s1 linked into pub" $P0 $S0 $S1 $G
rm /mnt/pub/s1-link
both nobody /mnt "lazy: s1's open name removed" $P0 $S0 $G
vexctl config /mnt --sync-mode immediate >/dev/null

# Names in at most 510 directories: the 511th is refused with EMLINK, a
# second name in a listed directory is not; unlink all, the file is as before.
mkdir /mnt/many
i=0
while [ $i -lt 510 ]; do mkdir /mnt/many/d$i; i=$((i + 1)); done
i=1
while [ $i -lt 510 ]; do ln /mnt/a/g /mnt/many/d$i/g; i=$((i + 1)); done
ln /mnt/a/g /mnt/many/d0/g 2> /tmp/ln.err && fail "a name in a 511th directory was accepted"
present -i 'too many links' /tmp/ln.err "EMLINK for the 511th directory"
run_ok /tmp/ln.out ln /mnt/a/g /mnt/many/d1/g-again
[ "$(stat -c %h /mnt/a/g)" = 511 ] || fail "a/g: $(stat -c %h /mnt/a/g) links, want 511"
both root /mnt/many/d300 "scope: one of 510 directories" $G
rm -r /mnt/many
[ "$(stat -c %h /mnt/a/g)" = 1 ] || fail "a/g: $(stat -c %h /mnt/a/g) links after rm -r, want 1"
both root /mnt/a "a/g after rm -r of its other names" $G

# 1,500 files of a closed directory, each with a second name in an open one:
# nobody finds every one (range), graph kNN agrees with the exact scan, and
# a subtree search of the open directory holds them all; again after a remount.
run_ok /tmp/imp.out vexctl import /mnt/closed --fvecs /extra/many.fvecs
mkdir /mnt/open2; chmod 755 /mnt/open2
for f in /mnt/closed/*; do chmod 644 "$f"; ln "$f" /mnt/open2/; done
chmod 700 /mnt/closed
ls -i /mnt/open2 | awk '{print $1}' | sort -n > /tmp/many
[ "$(wc -l < /tmp/many)" = 1500 ] || fail "open2 holds $(wc -l < /tmp/many) names, want 1500"
many() {
  su -s /bin/sh nobody -c "/extra/vexfs-rawsearch /mnt range 65536 1e30 0 $Q" > /tmp/rs.out 2>&1 ||
    { cat /tmp/rs.out; fail "$1: nobody range search failed"; }
  grep -E '^[0-9]+ ' /tmp/rs.out | awk '{print $1}' | sort -n > /tmp/got
  awk 'NR == FNR { got[$1] = 1; next } !($1 in got)' /tmp/got /tmp/many > /tmp/missing ||
    fail "$1: comparing results"
  [ ! -s /tmp/missing ] || fail "$1: nobody misses $(wc -l < /tmp/missing) of the 1500 hard-linked files"
  for k in 10 200; do
    su -s /bin/sh nobody -c "/extra/vexfs-rawsearch /mnt knn $k 0 0 $Q" > /tmp/g.out 2>&1 || fail "$1: knn"
    su -s /bin/sh nobody -c "/extra/vexfs-rawsearch /mnt knn $k 0 1 $Q" > /tmp/e.out 2>&1 || fail "$1: exact"
    present "^count $k\$" /tmp/g.out "$1: graph kNN k=$k returns $k results"
    # Recall of the graph walk against the exact scan, both as nobody: at least 0.95.
    same=$(awk '/^[0-9]+ / { if (NR == FNR) e[$1] = 1; else if ($1 in e) n++ } END { print n + 0 }' \
      /tmp/e.out /tmp/g.out) || fail "$1: comparing kNN results"
    [ $((same * 100)) -ge $((k * 95)) ] || fail "$1: graph kNN k=$k shares $same results with the exact scan"
  done
  run_ok /tmp/rs.out vexfs-rawsearch /mnt/open2 range 65536 1e30 2 $Q
  grep -E '^[0-9]+ ' /tmp/rs.out | awk '{print $1}' | sort -n > /tmp/got
  cmp -s /tmp/got /tmp/many || fail "$1: subtree open2 does not hold exactly the 1500 files"
  echo "$1: ok"
}
many "1500 hard-linked files"
umount /mnt
mount -t vexfs /dev/vda /mnt
many "1500 hard-linked files after remount"
umount /mnt
rmmod vexfs
echo "search-hardlinks: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "search-hardlinks: passed"
