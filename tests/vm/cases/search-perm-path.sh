#!/usr/bin/env bash
# Issue 15 item 4: search results follow path resolution. As user nobody, the
# 0644 files of a root-owned 0700 directory (and of directories below it) are
# never returned -- no inode number, no distance -- by kNN, range and
# similarity searches, on the graph and by exact scan, including changes
# still queued in lazy mode and after a remount (cold caches); chmod 755 of
# the directory shows them at once, chmod 700 hides them again at once, and
# a file moved out of the closed directory is found. Results are read raw
# from the ioctl (vexfs-rawsearch), not through vexctl's path resolution.
. "$(dirname "$0")/../lib/common.sh"
build_guest_tools "$WORK/add"
img=$WORK/perm.img
new_image "$img" 64M --dim 4 --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
PATH=/extra:$PATH
fail() { echo "FAIL: $*"; exit 1; }
Q=5,5,5,5
# rs USER KIND FLAGS: raw search of /mnt for Q into /tmp/rs.out (fails the test if the ioctl fails).
rs() {
  # l2: a similarity threshold is a distance too.
  case $2 in knn) thr=0 ;; range) thr=1000 ;; similar) thr=1000 ;; esac
  if [ "$1" = root ]; then
    vexfs-rawsearch /mnt "$2" 64 $thr "$3" $Q > /tmp/rs.out 2>&1 || { cat /tmp/rs.out; fail "root $2 flags $3: search failed"; }
  else
    su -s /bin/sh nobody -c "/extra/vexfs-rawsearch /mnt $2 64 $thr $3 $Q" > /tmp/rs.out 2>&1 ||
      { cat /tmp/rs.out; fail "nobody $2 flags $3: search failed"; }
  fi
  grep -q '^count ' /tmp/rs.out || fail "$1 $2: no count line"
}
count() { sed -n 's/^count //p' /tmp/rs.out; }
# check WHAT WANT_COUNT: every kind and flag as nobody returns WANT_COUNT results, none hidden.
check() {
  for kind in knn range similar; do
    for flags in 0 1; do
      rs nobody $kind $flags
      for ino in $(cat /tmp/hidden); do
        absent "^$ino " /tmp/rs.out "$1: nobody got hidden inode $ino ($kind flags $flags)"
      done
      [ "$(count)" = "$2" ] || { cat /tmp/rs.out; fail "$1: nobody got $(count) results, want $2 ($kind flags $flags)"; }
    done
  done
  echo "$1: ok ($2 results for nobody)"
}
mount -t vexfs /dev/vda /mnt
chmod 755 /mnt /extra
mkdir /mnt/pub /mnt/priv /mnt/priv/sub
chmod 755 /mnt/pub /mnt/priv/sub
chmod 700 /mnt/priv
: > /tmp/hidden
for i in 0 1 2 3 4; do
  echo p$i > /mnt/pub/p$i; chmod 644 /mnt/pub/p$i; vexctl set /mnt/pub/p$i --vector 5,5,5,5.$i
  echo s$i > /mnt/priv/s$i; chmod 644 /mnt/priv/s$i; vexctl set /mnt/priv/s$i --vector 5,5,5.$i,5
  ls -i /mnt/priv/s$i | awk '{print $1}' >> /tmp/hidden
done
echo d > /mnt/priv/sub/d0; chmod 644 /mnt/priv/sub/d0; vexctl set /mnt/priv/sub/d0 --vector 5,5.1,5,5
ls -i /mnt/priv/sub/d0 | awk '{print $1}' >> /tmp/hidden
[ "$(wc -l < /tmp/hidden)" = 6 ] || fail "hidden inode list"
for kind in knn range similar; do
  for flags in 0 1; do
    rs root $kind $flags
    [ "$(count)" = 11 ] || { cat /tmp/rs.out; fail "root got $(count) results, want 11 ($kind flags $flags)"; }
  done
done
check "closed 0700 directory" 5

# Lazy mode: a change still queued (scanned exactly) is filtered the same way.
vexctl config /mnt --sync-mode lazy --sync-interval-ms 60000 --batch-size 1000 >/dev/null
echo l > /mnt/priv/lz; chmod 644 /mnt/priv/lz; vexctl set /mnt/priv/lz --vector 5,5,5,5
ls -i /mnt/priv/lz | awk '{print $1}' >> /tmp/hidden
p=$(vexctl status /mnt --json | sed -n 's/.*"pending": *\([0-9]*\).*/\1/p')
[ "$p" -gt 0 ] || fail "lazy: nothing pending ($p)"
check "lazy, queued change" 5

# chmod takes effect at once, both ways; a closed directory deeper down too.
chmod 755 /mnt/priv
: > /tmp/none; cp /tmp/hidden /tmp/hidden.all; cp /tmp/none /tmp/hidden
check "after chmod 755" 12
cp /tmp/hidden.all /tmp/hidden
chmod 700 /mnt/priv
check "after chmod 700 again" 5
chmod 755 /mnt/priv; chmod 700 /mnt/priv/sub
ls -i /mnt/priv/sub/d0 | awk '{print $1}' > /tmp/hidden
check "closed subdirectory" 11
chmod 755 /mnt/priv/sub; chmod 700 /mnt/priv
cp /tmp/hidden.all /tmp/hidden

# A file moved out of the closed directory is found by its new path.
mv /mnt/priv/s0 /mnt/pub/s0
grep -v "^$(ls -i /mnt/pub/s0 | awk '{print $1}')\$" /tmp/hidden.all > /tmp/hidden
check "file moved out" 6
vexctl config /mnt --sync-mode immediate >/dev/null

# Remount: verdicts are rebuilt from the inodes on disk.
umount /mnt
mount -t vexfs /dev/vda /mnt
check "after remount" 6
chmod 755 /mnt/priv
: > /tmp/hidden
check "after remount, chmod 755" 12
umount /mnt
rmmod vexfs
echo "search-perm-path: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "search-perm-path: passed"
