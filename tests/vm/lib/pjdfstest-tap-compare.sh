#!/usr/bin/env bash
# tests/vm/lib/pjdfstest-tap-compare.sh: the verdict of tests/vm/lib/pjdfstest-compare.sh, on
# the TAP files the guest wrote (kept apart so the harness self-test can feed it made-up ones).
#   tests/vm/lib/pjdfstest-tap-compare.sh RESDIR T...
# RESDIR/{ext4,vexfs}/<T with / as _>.tap holds a .t file's TAP output, .rc "EXIT SECONDS".
# The rule: every TAP test (file + number) that is `ok` on ext4 (# TODO or not) is `ok` on
# VexFS, and both print the same plan, but for FS_GATED files. Prints "ext4: N ok / M; vexfs:
# N ok / M" (M: all TAP result lines; # TODO lines counted apart) and every regression; exits
# 1 on a regression, a missing result, a file that did not finish on ext4, or nothing run.
set -euo pipefail
die() { echo "FAIL: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: pjdfstest-tap-compare.sh RESDIR T..."
res=$1; shift

# misc.sh's `require rename_ctime` runs rename/22.t on EXT4/UFS/ZFS only; on any other
# filesystem it prints quick_exit's single-test plan: listed, not compared.
FS_GATED=" rename/22.t "

# tap FILE: "plan M", then one "N ok|okt|nok|nokt" line per TAP result (t: # TODO).
tap() {
  awk '/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); print "plan", $1 + 0; next }
       /^ok [0-9]+/ { print $2, (/# TODO/ ? "okt" : "ok"); next }
       /^not ok [0-9]+/ { print $3, (/# TODO/ ? "nokt" : "nok") }' "$1"
}

declare -A ok total todo
for fs in ext4 vexfs; do ok[$fs]=0 total[$fs]=0 todo[$fs]=0; done
regressions=() gated=() extra_passes=0
for f in "$@"; do
  name=${f//\//_}
  for fs in ext4 vexfs; do
    [ -f "$res/$fs/$name.tap" ] && [ -f "$res/$fs/$name.rc" ] || die "no result for $f on $fs (the guest did not run it)"
    tap "$res/$fs/$name.tap" > "$res/$fs/$name.parsed" || die "cannot parse $res/$fs/$name.tap"
    read -r n_ok n_total n_todo < <(awk '$1 != "plan" { t++; if ($2 ~ /^ok/) o++; if ($2 ~ /t$/) d++ }
      END { print o + 0, t + 0, d + 0 }' "$res/$fs/$name.parsed")
    ok[$fs]=$((ok[$fs] + n_ok)) total[$fs]=$((total[$fs] + n_total)) todo[$fs]=$((todo[$fs] + n_todo))
  done
  read -r erc esecs < "$res/ext4/$name.rc" || die "empty $res/ext4/$name.rc"
  read -r vrc vsecs < "$res/vexfs/$name.rc" || die "empty $res/vexfs/$name.rc"
  # A baseline that did not finish says nothing about VexFS.
  [ "$erc" = 0 ] || die "$f did not finish on ext4 (exit $erc after ${esecs}s)"
  eplan=$(awk '$1 == "plan" { print $2; exit }' "$res/ext4/$name.parsed")
  vplan=$(awk '$1 == "plan" { print $2; exit }' "$res/vexfs/$name.parsed")
  if [ "$eplan" != "$vplan" ]; then
    case $FS_GATED in
      *" $f "*) gated+=("$f (ext4 plan 1..${eplan:-none}, vexfs plan 1..${vplan:-none})"); continue ;;
    esac
    regressions+=("$f: plan 1..${eplan:-none} on ext4, 1..${vplan:-none} on VexFS (VexFS exit $vrc after ${vsecs}s)")
  fi
  # Numbers ok on ext4 and not ok (or absent) on VexFS; VexFS passes that ext4 fails are counted.
  while read -r n why; do
    regressions+=("$f #$n: ok on ext4, $why on VexFS (VexFS exit $vrc after ${vsecs}s)")
  done < <(awk 'NR == FNR { if ($1 != "plan" && !($1 in v)) v[$1] = $2; next }
    $1 != "plan" && $2 ~ /^ok/ && v[$1] !~ /^ok/ { print $1, (v[$1] == "" ? "missing" : "not ok") }' \
    "$res/vexfs/$name.parsed" "$res/ext4/$name.parsed")
  extra_passes=$((extra_passes + $(awk 'NR == FNR { if ($1 != "plan") v[$1] = $2; next }
    $1 != "plan" && $2 ~ /^nok/ && v[$1] ~ /^ok/ { c++ } END { print c + 0 }' \
    "$res/vexfs/$name.parsed" "$res/ext4/$name.parsed")))
done

echo "pjdfstest: $# files"
echo "ext4: ${ok[ext4]} ok / ${total[ext4]} (${todo[ext4]} of them # TODO); vexfs: ${ok[vexfs]} ok / ${total[vexfs]} (${todo[vexfs]} of them # TODO)"
[ "$extra_passes" -eq 0 ] || echo "VexFS passes $extra_passes tests that ext4 fails"
for g in "${gated[@]}"; do echo "not compared (misc.sh runs it on some filesystem types only): $g"; done
[ "${total[ext4]}" -gt 0 ] || die "pjdfstest ran no test on ext4: nothing was compared"
if [ "${#regressions[@]}" -gt 0 ]; then
  for r in "${regressions[@]}"; do echo "REGRESSION $r"; done
  die "${#regressions[@]} pjdfstest tests pass on ext4 but not on VexFS"
fi
echo "pjdfstest: no regression against ext4"
