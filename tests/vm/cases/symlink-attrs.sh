#!/usr/bin/env bash
# Issue 16 item 3: symlinks, short (target inline in the inode) and long
# (target in a block), have VexFS's inode operations: statx reports their
# creation time (btime, VexFS's getattr), and chown -h / touch -h persist
# across a remount with btime unchanged. fsck.vexfs clean after.
. "$(dirname "$0")/../lib/common.sh"
img=$WORK/symlink.img
new_image "$img" 64M

# statx(2) of a path without following symlinks: uid gid mtime and the
# btime (or "none" when the filesystem does not report it). Busybox stat
# has no birth time.
command -v musl-gcc > /dev/null || fail "musl-gcc not found (apt-get install musl-tools; 'make deps')"
mkdir -p "$WORK/add"
cat > "$WORK/lstatx.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/stat.h>

int main(int argc, char **argv)
{
	struct statx st;

	if (argc != 2) {
		fprintf(stderr, "usage: lstatx PATH\n");
		return 2;
	}
	if (syscall(SYS_statx, AT_FDCWD, argv[1], AT_SYMLINK_NOFOLLOW,
		    STATX_BASIC_STATS | STATX_BTIME, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	printf("%u %u %lld ", st.stx_uid, st.stx_gid, (long long)st.stx_mtime.tv_sec);
	if (st.stx_mask & STATX_BTIME)
		printf("%lld.%09u\n", (long long)st.stx_btime.tv_sec, st.stx_btime.tv_nsec);
	else
		printf("none\n");
	return 0;
}
C
musl-gcc -static -O2 -Wall -Werror -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
  -o "$WORK/add/lstatx" "$WORK/lstatx.c" || fail "building lstatx"

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
long=$(printf 'x%.0s' $(seq 1 100))
mount -t vexfs /dev/vda /mnt
ln -s short-target /mnt/short
ln -s "$long" /mnt/long
for l in short long; do
  out=$(/extra/lstatx /mnt/$l)
  set -- $out
  [ "$4" != none ] || { echo "$l: statx reports no btime"; exit 1; }
  echo "$4" > /tmp/btime-$l
  chown -h 1234:5678 /mnt/$l
  touch -h -d "2001-02-03 04:05:06" /mnt/$l
done
echo "before: $(/extra/lstatx /mnt/short) / $(/extra/lstatx /mnt/long)"
umount /mnt
mount -t vexfs /dev/vda /mnt
echo "after remount: $(/extra/lstatx /mnt/short) / $(/extra/lstatx /mnt/long)"
bad=0
want_mtime=$(date -d '2001-02-03 04:05:06' +%s)
for l in short long; do
  out=$(/extra/lstatx /mnt/$l)
  set -- $out
  [ "$1 $2" = "1234 5678" ] || { echo "$l: owner $1:$2 after remount, expected 1234:5678"; bad=1; }
  [ "$3" = "$want_mtime" ] || { echo "$l: mtime $3 after remount, expected $want_mtime"; bad=1; }
  [ "$4" = "$(cat /tmp/btime-$l)" ] || { echo "$l: btime $4 after remount, expected $(cat /tmp/btime-$l)"; bad=1; }
done
[ "$(readlink /mnt/short)" = short-target ] || { echo "short: target $(readlink /mnt/short)"; bad=1; }
[ "$(readlink /mnt/long)" = "$long" ] || { echo "long: target changed"; bad=1; }
umount /mnt
[ $bad -eq 0 ]
echo "SYMLINK-ATTRS-OK"
GUEST

rc=0
VEXFS_VM_LOG=$WORK/vm.log "$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh" > /dev/null 2>&1 || rc=$?
grep -E "before:|after remount:|expected|target|btime|SYMLINK-ATTRS-OK" "$WORK/vm.log" | tr -d '\r'
[ "$rc" -eq 0 ] || { tail -n 30 "$WORK/vm.log"; fail "guest exited $rc"; }
grep -q SYMLINK-ATTRS-OK "$WORK/vm.log" || fail "the guest script did not finish"
fsck_clean "$img"
echo "symlink-attrs: passed"
