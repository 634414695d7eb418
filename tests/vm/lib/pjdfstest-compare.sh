#!/usr/bin/env bash
# tests/vm/lib/pjdfstest-compare.sh: pjdfstest on ext4 and on VexFS in one VM run, and the
# rule that VexFS passes every TAP test (file + test number) that ext4 passes.
#   tests/vm/lib/pjdfstest-compare.sh [--timeout SECONDS_PER_FILE] (--all | T...)
# T is a .t file relative to pjdfstest's tests/ (chmod/00.t); --all runs every one of them.
# Used by tests/vm/cases/pjdfstest.sh (a subset, in `make test`) and `make test-posix` (--all).
#
# Both filesystems are fresh host-made images on their own virtio disks (VexFS /dev/vda, ext4
# /dev/vdb; the guest tars the TAP output to /dev/vdc). Prints, per filesystem, the ok count
# over all TAP result lines ("ext4: N ok / M; vexfs: N ok / M", `# TODO` lines counted apart),
# every regression (test number, and what VexFS printed), and fails if there is any, if ext4
# did not finish a file, or if nothing ran. fsck.vexfs must find the VexFS image clean after.
# A file whose plan ext4 and VexFS disagree on is a regression too, except where misc.sh gates
# a file on the filesystem type: those are listed, not compared (lib/pjdfstest-tap-compare.sh).
# VEXFS_PJDFSTEST_KEEP=DIR keeps the TAP files (DIR/ext4, DIR/vexfs) for inspection.
. "$(dirname "$0")/common.sh"

per_file_timeout=300 files=()
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) per_file_timeout=$2; shift 2 ;;
    --all) all=1; shift ;;
    -*) fail "pjdfstest-compare.sh: unknown option $1" ;;
    *) files+=("$1"); shift ;;
  esac
done

pjd=$(bash "$VM_TOP/tests/vm/lib/pjdfstest-build.sh") || fail "building pjdfstest failed (above)"
suite=$pjd/pjdfstest/tests
if [ "${all:-0}" = 1 ]; then
  [ "${#files[@]}" -eq 0 ] || fail "pjdfstest-compare.sh: --all and a file list"
  while read -r f; do files+=("${f#"$suite"/}"); done < <(find "$suite" -name '*.t' | LC_ALL=C sort)
fi
[ "${#files[@]}" -gt 0 ] || fail "pjdfstest-compare.sh: no .t file to run"
for f in "${files[@]}"; do
  [ -f "$suite/$f" ] || fail "pjdfstest has no tests/$f"
done
echo "pjdfstest: ${#files[@]} .t files, at most ${per_file_timeout}s each"

vimg=$WORK/vexfs.img eimg=$WORK/ext4.img outdisk=$WORK/out.img
new_image "$vimg" 512M
rm -f "$eimg"; truncate -s 512M "$eimg"
command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 not found (apt-get install e2fsprogs; 'make deps')"
mkfs.ext4 -q -F "$eimg" || fail "mkfs.ext4 $eimg failed"
new_outdisk "$outdisk"

# The VM's budget: 4 minutes plus 20 s a file (a file takes 0-30 s under TCG, the two
# filesystems' loops run in parallel); VEXFS_VM_TIMEOUT overrides it. The console log stays in
# VEXFS_VM_OUT (tests/vm/out) like any run.sh log.
vm_timeout=${VEXFS_VM_TIMEOUT:-$((240 + 20 * ${#files[@]}))}
logdir=${VEXFS_VM_OUT:-$VM_TOP/tests/vm/out}
mkdir -p "$logdir"
log=$logdir/pjdfstest-$(date +%Y%m%d-%H%M%S)-$$.log
rc=0
VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$log VEXFS_VM_TIMEOUT=$vm_timeout \
  "$VM_RUN" --disk "$vimg" --disk "$eimg" --disk "$outdisk" --add "$pjd" \
  "$VM_TOP/tests/vm/lib/pjdfstest-guest.sh" "$per_file_timeout" "${files[@]}" || rc=$?
tr -d '\r' < "$log" | grep -E '^(PJD|Filesystem|/dev/vd)' || :
[ "$rc" -eq 0 ] || { tail -n 40 "$log"; fail "the pjdfstest VM exited $rc (log: $log)"; }
from_outdisk "$outdisk" "$WORK/res"
fsck_clean "$vimg"
if [ -n "${VEXFS_PJDFSTEST_KEEP:-}" ]; then
  mkdir -p "$VEXFS_PJDFSTEST_KEEP" && cp -r "$WORK/res/." "$VEXFS_PJDFSTEST_KEEP/"
fi

bash "$VM_TOP/tests/vm/lib/pjdfstest-tap-compare.sh" "$WORK/res" "${files[@]}" ||
  fail "pjdfstest: VexFS does not pass what ext4 passes, or the run was incomplete (above)"
echo "pjdfstest: fsck.vexfs clean"
