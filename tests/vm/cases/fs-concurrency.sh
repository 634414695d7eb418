#!/usr/bin/env bash
# Issue 3 item 8: concurrency. Parallel writers, creators, renamers,
# unlinkers, linkers and readers work in two shared directories for
# VEXFS_CONC_SECONDS (default 35) on 2 vCPUs: overwrites, appends,
# truncates, creates, mkdir/rmdir, renames of files and directories within
# and across the directories and onto existing targets, hard links,
# symlinks, unlinks of open files, readdir and reads. Operations racing
# with each other may fail with ENOENT/EEXIST/ENOTEMPTY/ENOTDIR/EISDIR;
# an I/O error, EUCLEAN or a read-only remount fails the test, as does any
# kernel warning (the harness) or vexfs error message. Afterwards every
# file reads back, the volume unmounts and fsck.vexfs finds it clean.
. "$(dirname "$0")/../lib/common.sh"
secs=${VEXFS_CONC_SECONDS:-35}
img=$WORK/conc.img
new_image "$img" 256M --dim 4

cat > "$WORK/guest.sh" <<'GUEST'
set -u
. /usr/lib/vexfs-checks.sh
secs=$1
mount -t vexfs /dev/vda /mnt || exit 1
mkdir -p /mnt/s0 /mnt/s1 /tmp/err
end=$(( $(date +%s) + secs ))
pick() { echo "/mnt/s$((RANDOM % 2))/$1$((RANDOM % 40))"; }

writer() {
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    f=$(pick f)
    case $((RANDOM % 4)) in
      0) dd if=/dev/urandom of="$f" bs=4096 count=$((RANDOM % 20 + 1)) 2>/dev/null ;;
      1) dd if=/dev/urandom of="$f" bs=1k count=$((RANDOM % 64 + 1)) seek=$((RANDOM % 100)) conv=notrunc 2>/dev/null ;;
      2) echo "append $n" >> "$f" ;;
      3) [ -f "$f" ] && truncate -s $((RANDOM * 7)) "$f" ;;
    esac
    n=$((n + 1))
  done
  echo "writer $1: $n ops"
}
creator() {
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    case $((RANDOM % 3)) in
      0) echo "c$1 $n" > "$(pick f)" ;;
      1) mkdir "$(pick d)" ;;
      2) d=$(pick d); [ -d "$d" ] && echo "in dir $n" > "$d/x$((RANDOM % 5))" ;;
    esac
    n=$((n + 1))
  done
  echo "creator $1: $n ops"
}
renamer() {
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    case $((RANDOM % 3)) in
      0) mv -f "$(pick f)" "$(pick f)" ;;                 # files, onto existing targets
      1) mv -f "$(pick d)" "$(pick d)" ;;                 # directories (into or onto)
      2) mv -f "$(pick f)" "$(pick d)" ;;
    esac
    n=$((n + 1))
  done
  echo "renamer $1: $n ops"
}
unlinker() {
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    case $((RANDOM % 4)) in
      0|1) rm -f "$(pick f)" ;;
      2) rmdir "$(pick d)" ;;
      3) f=$(pick f); ( rm -f "$f"; cat > /dev/null ) < "$f" ;;  # unlink while open
    esac
    n=$((n + 1))
  done
  echo "unlinker $1: $n ops"
}
linker() {
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    case $((RANDOM % 2)) in
      0) ln -f "$(pick f)" "$(pick f)" ;;
      1) ln -sf "../s$((RANDOM % 2))/f$((RANDOM % 40))" "$(pick l)" ;;
    esac
    n=$((n + 1))
  done
  echo "linker $1: $n ops"
}
reader() {
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    ls -laR /mnt > /dev/null
    cat "$(pick f)" > /dev/null
    find /mnt -type f | head -n 20 | while read -r f; do cat "$f" > /dev/null; done
    n=$((n + 1))
  done
  echo "reader $1: $n rounds"
}
pids=""
for w in "writer 1" "writer 2" "creator 1" "creator 2" "renamer 1" "renamer 2" "unlinker 1" "linker 1" "reader 1"; do
  set -- $w
  $1 $2 2> /tmp/err/$1-$2 &
  pids="$pids $!"
done
for p in $pids; do wait $p; done
bad=0
# Races may fail with these; anything else (EIO, EUCLEAN, EROFS, ...) is a bug.
run_ok /tmp/allerr cat /tmp/err/*
absent -v 'No such file or directory|File exists|Directory not empty|Not a directory|Is a directory|are the same file|Invalid argument|: no such file$|: nonexistent directory$|^$' \
  /tmp/allerr "unexpected errors"
echo "expected race errors: $(wc -l < /tmp/allerr)"
sync
run_ok /tmp/files find /mnt -type f
run_ok /tmp/dirs find /mnt -type d
while read -r f; do cat "$f" > /dev/null || echo "unreadable $f"; done < /tmp/files > /tmp/unreadable
[ -s /tmp/unreadable ] && { echo "FAIL: files do not read back:"; head /tmp/unreadable; bad=1; }
echo "after the run: $(wc -l < /tmp/files) files, $(wc -l < /tmp/dirs) directories, $(df -k /mnt | tail -n 1)"
run_ok /tmp/dmesg.txt dmesg
absent -i 'vexfs.*(error|corrupt|damage|mismatch)' /tmp/dmesg.txt "vexfs reported errors"
umount /mnt || bad=1
exit $bad
GUEST
"$VM_RUN" --disk "$img" "$WORK/guest.sh" "$secs"
fsck_clean "$img"
echo "fs-concurrency: passed (${secs}s, 9 workers, 2 vCPUs)"
