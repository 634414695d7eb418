#!/usr/bin/env bash
# Issue 5 acceptance: in immediate and lazy sync modes a vector set is found
# by the very next search and an unlinked file never is, through the ioctls
# and through the user.vexfs.vector xattr alike; users never see files they
# cannot read; every bad input returns its errno with nothing changed.
. "$(dirname "$0")/../lib/common.sh"
build_guest_tools "$WORK/add"
img=$WORK/sem.img
new_image "$img" 128M --dim 4 --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
PATH=/extra:$PATH
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
top() { vexctl search /mnt --vector "$1" -k "${2:-1}" --json; }
mount -t vexfs /dev/vda /mnt
chmod 755 /mnt
for mode in immediate lazy; do
  echo "== $mode"
  # In lazy mode the worker waits a minute: searches must see queued changes.
  vexctl config /mnt --sync-mode $mode --sync-interval-ms 60000 --batch-size 1000 >/dev/null
  d=/mnt/$mode; mkdir $d
  echo x > $d/a; echo y > $d/b
  vexctl set $d/a --vector 1,0,0,0
  top 1,0,0,0 | grep -q "\"$mode/a\"" || fail "$mode: set vector not found at once"
  vexfs-xattr set $d/b user.vexfs.vector 0,0,9,0
  top 0,0,9,0 | grep -q "\"$mode/b\"" || fail "$mode: xattr-set vector not found at once"
  [ "$(vexctl get $d/b)" = "0,0,9,0" ] || fail "$mode: xattr vector differs through the ioctl"
  [ "$(vexfs-xattr get $d/a user.vexfs.vector)" = "1,0,0,0" ] || fail "$mode: ioctl vector differs through the xattr"
  vexfs-xattr list $d/a | grep -qx user.vexfs.vector || fail "$mode: listxattr"
  vexctl set $d/a --vector 0,5,0,0
  top 0,5,0,0 | grep -q "\"$mode/a\"" || fail "$mode: updated vector not found"
  if [ $mode = lazy ]; then
    p=$(vexctl status /mnt --json | sed -n 's/.*"pending": *\([0-9]*\).*/\1/p')
    [ "$p" -gt 0 ] || fail "lazy: nothing pending ($p)"
  fi
  rm $d/a
  run_ok /tmp/top.json top 0,5,0,0 4
  absent -F "\"$mode/a\"" /tmp/top.json "$mode: unlinked file returned"
  vexfs-xattr rm $d/b user.vexfs.vector
  run_ok /tmp/top.json top 0,0,9,0 4
  absent -F "\"$mode/b\"" /tmp/top.json "$mode: removed vector returned"
  vexctl get $d/b 2>&1 | grep -q ENODATA || fail "$mode: get after xattr removal"
  # An unlinked file that is still open is gone from results too.
  echo z > $d/c; vexctl set $d/c --vector 0,0,0,7
  exec 3< $d/c; rm $d/c
  run_ok /tmp/top.json top 0,0,0,7 4
  absent -F "\"$mode/c\"" /tmp/top.json "$mode: open unlinked file returned"
  exec 3<&-
  vexctl sync /mnt
  [ "$(vexctl status /mnt --json | sed -n 's/.*"pending": *\([0-9]*\).*/\1/p')" = 0 ] || fail "$mode: sync left work pending"
  echo "$mode: ok"
done
vexctl config /mnt --sync-mode immediate >/dev/null

echo "== permissions"
mkdir /mnt/perm; chmod 755 /mnt/perm
echo s > /mnt/perm/secret; chmod 600 /mnt/perm/secret
echo p > /mnt/perm/public; chmod 644 /mnt/perm/public
vexctl set /mnt/perm/secret --vector 3,3,3,3
vexctl set /mnt/perm/public --vector 3,3,3,3.5
top 3,3,3,3 2 | grep -q perm/secret || fail "root does not see the secret file"
run_ok /tmp/nobody.json su -s /bin/sh nobody -c 'vexctl search /mnt --vector 3,3,3,3 -k 10 --json'
cat /tmp/nobody.json
present -F perm/public /tmp/nobody.json "nobody does not see the public file"
absent -F perm/secret /tmp/nobody.json "nobody sees a file it cannot read"
chmod 644 /mnt/perm/secret
su -s /bin/sh nobody -c 'vexctl search /mnt --vector 3,3,3,3 -k 10 --json' | grep -q perm/secret || fail "chmod not seen by the search filter"
chmod 600 /mnt/perm/secret
# A readable file in a directory nobody cannot enter is not named either.
mkdir /mnt/perm/closed; echo h > /mnt/perm/closed/hidden; chmod 644 /mnt/perm/closed/hidden
vexctl set /mnt/perm/closed/hidden --vector 3,3,3,3.25
top 3,3,3,3.25 1 | grep -q perm/closed/hidden || fail "root does not see the file in the closed directory"
chmod 700 /mnt/perm/closed
run_ok /tmp/nobody.json su -s /bin/sh nobody -c 'vexctl search /mnt --vector 3,3,3,3.25 -k 10 --json'
absent -F closed/hidden /tmp/nobody.json "nobody got a name inside a directory it cannot search"
chmod 711 /mnt/perm/closed
su -s /bin/sh nobody -c 'vexctl search /mnt --vector 3,3,3,3.25 -k 10 --json' | grep -q closed/hidden || fail "search permission on the directory is enough to name the file"
su -s /bin/sh nobody -c 'vexctl set /mnt/perm/public --vector 1,1,1,1' 2>&1 | grep -qE 'EACCES|Permission denied' || fail "nobody set a vector without write permission"
[ "$(vexctl get /mnt/perm/public)" = "3,3,3,3.5" ] || fail "a refused set changed the vector"
su -s /bin/sh nobody -c 'vexctl config /mnt --ef-search 10' 2>&1 | grep -qE 'EPERM|not permitted' || fail "nobody changed the configuration"
su -s /bin/sh nobody -c 'vexctl rebuild /mnt' 2>&1 | grep -qE 'EPERM|not permitted' || fail "nobody started a rebuild"

echo "== bad inputs"
vexfs-ioctl-check /mnt/perm/public /mnt
run_ok /tmp/dmesg.txt dmesg
absent -i 'vexfs.*(corrupt|error)' /tmp/dmesg.txt "kernel reported errors"
umount /mnt
rmmod vexfs
echo "vectors-semantics: ok"
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "vectors-semantics: passed"
