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
# A file whose plan ext4 and VexFS disagree on is a regression too, except where misc.sh
# gates a file on the filesystem type (FS_GATED below): those are listed, not compared.
# VEXFS_PJDFSTEST_KEEP=DIR keeps the TAP files (DIR/ext4, DIR/vexfs) for inspection.
. "$(dirname "$0")/common.sh"

# misc.sh's `require rename_ctime` runs rename/22.t on EXT4/UFS/ZFS only; on any other
# filesystem it prints the single-test plan of quick_exit.
FS_GATED=" rename/22.t "

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

# Files run in parallel on the two filesystems; budget the VM for the slower loop running
# every file to its timeout would be hours: instead 4 minutes plus 20 s a file, raised by
# VEXFS_VM_TIMEOUT.
vm_timeout=${VEXFS_VM_TIMEOUT:-$((240 + 20 * ${#files[@]}))}
log=$WORK/vm.log
rc=0
VEXFS_VM_QUIET=1 VEXFS_VM_LOG=$log VEXFS_VM_TIMEOUT=$vm_timeout \
  "$VM_RUN" --disk "$vimg" --disk "$eimg" --disk "$outdisk" --add "$pjd" \
  "$VM_TOP/tests/vm/lib/pjdfstest-guest.sh" "$per_file_timeout" "${files[@]}" || rc=$?
tr -d '\r' < "$log" | grep -E '^(PJD|Filesystem|/dev/vd)' || :
[ "$rc" -eq 0 ] || { tail -n 40 "$log"; fail "the pjdfstest VM exited $rc (log above)"; }
from_outdisk "$outdisk" "$WORK/res"
fsck_clean "$vimg"
if [ -n "${VEXFS_PJDFSTEST_KEEP:-}" ]; then
  mkdir -p "$VEXFS_PJDFSTEST_KEEP" && cp -r "$WORK/res/." "$VEXFS_PJDFSTEST_KEEP/"
fi

# tap FILE: "plan M" and one "N ok|okt|nok|nokt" line per TAP result (t: # TODO).
tap() {
  awk '/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); print "plan", $1 + 0; next }
       /^ok [0-9]+/ { print $2, (/# TODO/ ? "okt" : "ok"); next }
       /^not ok [0-9]+/ { print $3, (/# TODO/ ? "nokt" : "nok") }' "$1"
}

declare -A ok total todo
for fs in ext4 vexfs; do ok[$fs]=0 total[$fs]=0 todo[$fs]=0; done
regressions=() gated=() extra_passes=0
for f in "${files[@]}"; do
  name=$(tr / _ <<<"$f")
  for fs in ext4 vexfs; do
    [ -f "$WORK/res/$fs/$name.tap" ] && [ -f "$WORK/res/$fs/$name.rc" ] ||
      fail "no result for $f on $fs (the guest did not run it)"
    tap "$WORK/res/$fs/$name.tap" > "$WORK/$fs.parsed"
    ok[$fs]=$((ok[$fs] + $(grep -cE ' (ok|okt)$' "$WORK/$fs.parsed" || :)))
    total[$fs]=$((total[$fs] + $(grep -cvE '^plan ' "$WORK/$fs.parsed" || :)))
    todo[$fs]=$((todo[$fs] + $(grep -cE ' (okt|nokt)$' "$WORK/$fs.parsed" || :)))
  done
  read -r erc esecs < "$WORK/res/ext4/$name.rc"
  read -r vrc vsecs < "$WORK/res/vexfs/$name.rc"
  # A baseline that did not finish says nothing about VexFS.
  [ "$erc" = 0 ] || fail "$f did not finish on ext4 (exit $erc after ${esecs}s; the timeout is ${per_file_timeout}s)"
  eplan=$(tap "$WORK/res/ext4/$name.tap" | awk '$1 == "plan" { print $2; exit }')
  vplan=$(tap "$WORK/res/vexfs/$name.tap" | awk '$1 == "plan" { print $2; exit }')
  if [ "$eplan" != "$vplan" ]; then
    case $FS_GATED in
      *" $f "*) gated+=("$f (ext4 plan ${eplan:-none}, vexfs plan ${vplan:-none})"); continue ;;
    esac
    regressions+=("$f: plan 1..${eplan:-none} on ext4, 1..${vplan:-none} on VexFS (exit $vrc after ${vsecs}s)")
  fi
  # Every number ext4 passes, VexFS must pass; a VexFS pass that ext4 fails is only counted.
  while read -r n why; do
    regressions+=("$f #$n: ok on ext4, $why on VexFS")
  done < <(tap "$WORK/res/ext4/$name.tap" | awk '$1 != "plan" && ($2 == "ok" || $2 == "okt") { print $1 }' |
    while read -r n; do
      line=$(grep -E -m1 "^(not )?ok $n( |\$)" "$WORK/res/vexfs/$name.tap" || :)
      case $line in
        "ok $n"*) ;;
        "") echo "$n missing (exit $vrc after ${vsecs}s)" ;;
        *) echo "$n ${line}" ;;
      esac
    done)
  extra_passes=$((extra_passes + $(
    tap "$WORK/res/ext4/$name.tap" | awk '$2 == "nok" || $2 == "nokt" { print $1 }' | while read -r n; do
      grep -qE "^ok $n( |\$)" "$WORK/res/vexfs/$name.tap" && echo x
    done | wc -l)))
done

echo "pjdfstest: ${#files[@]} files"
echo "ext4: ${ok[ext4]} ok / ${total[ext4]} (${todo[ext4]} of them # TODO); vexfs: ${ok[vexfs]} ok / ${total[vexfs]} (${todo[vexfs]} of them # TODO)"
[ "$extra_passes" -eq 0 ] || echo "VexFS passes $extra_passes tests that ext4 fails"
for g in "${gated[@]}"; do echo "not compared (misc.sh runs it on some filesystem types only): $g"; done
[ "${total[ext4]}" -gt 0 ] || fail "pjdfstest ran no test on ext4: nothing was compared"
if [ "${#regressions[@]}" -gt 0 ]; then
  for r in "${regressions[@]}"; do echo "REGRESSION $r"; done
  fail "${#regressions[@]} pjdfstest tests pass on ext4 but not on VexFS"
fi
echo "pjdfstest: no regression against ext4; fsck.vexfs clean"
