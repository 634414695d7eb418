#!/usr/bin/env bash
# tests/vm/selftest.sh: self-tests of the VM harness (tests/vm/run.sh), host side.
#
# Boots the VM without VexFS (VEXFS_VM_NO_VEXFS=1) with the guest scripts in
# tests/vm/lib/selftest/, and checks run.sh's exit code and side effects for each case.
# Prints PASS/FAIL per case and a final "N passed, N failed"; exits 1 on any failure.
#
#   tests/vm/selftest.sh [CASE...]        (default: all cases)
#   env VEXFS_VM_SELFTEST_JOBS=N          VMs booted in parallel (default 2)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=$HERE/run.sh
G=$HERE/lib/selftest
JOBS=${VEXFS_VM_SELFTEST_JOBS:-2}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vexfs-vm-selftest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Self-test mode of the harness; one vCPU per VM so that parallel cases share the host fairly.
export VEXFS_VM_NO_VEXFS=1 VEXFS_VM_QUIET=1 VEXFS_VM_SMP=1

# Each case_<name> runs run.sh (its output goes to $WORK/<name>.out) and returns 0 if the
# harness behaved. expect_rc prints what went wrong.
run() { "$RUN" "$@" > "$out" 2>&1; }
expect_rc() { # expect_rc WANT GOT
	[[ $2 -eq $1 ]] && return 0
	echo "run.sh exited $2, expected $1"
	return 1
}
expect_out() { # expect_out REGEX: run.sh's report or the console log it names must match
	local log
	log=$(sed -n 's/^run\.sh: log: //p' "$out" | tail -n 1)
	grep -qE "$1" "$out" && return 0 # negcheck-ok: a match passes; anything else fails below
	[[ -n $log ]] && grep -qE "$1" "$log" && return 0 # negcheck-ok: as above
	echo "neither run.sh's output nor its log ${log:-(none)} matches /$1/"
	return 1
}

case_ok() { local rc=0; run "$G/ok.sh" "a b" "it's" '$HOME "q"' || rc=$?
	expect_rc 0 $rc && expect_out '^selftest ok: all checks passed' && expect_out '^run\.sh: log: .*\.log$'; }
case_exit3() { local rc=0; run "$G/exit3.sh" || rc=$?; expect_rc 3 $rc; }
case_calltrace() { local rc=0; run "$G/calltrace.sh" || rc=$?
	expect_rc 120 $rc && expect_out 'kernel problem' && expect_out 'script exit code: 0'; }
case_warning() { local rc=0; run "$G/warning.sh" || rc=$?; expect_rc 120 $rc && expect_out 'WARNING: CPU'; }
case_panic() { local rc=0; run "$G/panic.sh" || rc=$?; expect_rc 120 $rc && expect_out 'Kernel panic'; }
case_taint() { local rc=0; run "$G/taint.sh" || rc=$?; expect_rc 121 $rc && expect_out 'tainted=512'; }
case_timeout() { local rc=0 t0=$SECONDS
	VEXFS_VM_TIMEOUT=15 run "$G/sleep.sh" || rc=$?
	expect_rc 124 $rc && expect_out 'timeout' || return 1
	[[ $((SECONDS - t0)) -lt 60 ]] || { echo "timeout took $((SECONDS - t0))s"; return 1; }
}
case_bootstall() { local rc=0
	# A 1 s boot limit: no boot reaches /init that fast, so both attempts count as stalled.
	VEXFS_VM_BOOT_TIMEOUT=1 VEXFS_VM_BOOT_ATTEMPTS=2 run "$G/ok.sh" || rc=$?
	expect_rc 124 $rc && expect_out 'attempt 1 of 2.*booting again' &&
		expect_out '/init not reached after 1s in each of 2 boots'; }
case_disk() { local rc=0 a=$WORK/disk-a.img b=$WORK/disk-b.img tag=$RANDOM
	truncate -s 1M "$a"; truncate -s 2M "$b"
	run --disk "$a" --disk "$b" "$G/disk.sh" "$tag" || rc=$?
	expect_rc 0 $rc || return 1
	# The host reads what the guest wrote: the images stay in place after the run.
	[[ $(head -c 32 "$a" | tr -d '\0') == "selftest-vda-$tag" ]] || { echo "vda tag missing on $a"; return 1; }
	[[ $(head -c 32 "$b" | tr -d '\0') == "selftest-vdb-$tag" ]] || { echo "vdb tag missing on $b"; return 1; }
}
case_add() { local rc=0 d=$WORK/add tag=$RANDOM
	mkdir -p "$d/sub/dir"
	echo "hello $tag" > "$d/hello.txt"
	printf 'echo tool ran\n' > "$d/sub/dir/tool.sh"; chmod +x "$d/sub/dir/tool.sh"
	run --add "$d" "$G/add.sh" "$tag" || rc=$?
	expect_rc 0 $rc
}
case_kill_after() { local rc=0; run --kill-after 12 "$G/sleep.sh" || rc=$?
	expect_rc 137 $rc && expect_out 'kill-after'; }
case_powercut() { local rc=0 img=$WORK/powercut.img tag=$RANDOM
	truncate -s 1M "$img"
	run --disk "$img" "$G/powercut.sh" "$tag" || rc=$?
	expect_rc 137 $rc && expect_out 'vm-powercut' || return 1
	[[ $(head -c 32 "$img" | tr -d '\0') == "powercut-$tag" ]] || { echo "tag missing on $img"; return 1; }
	local grc=0
	grep -q 'vm-powercut returned' "$out" || grc=$?
	[[ $grc -eq 1 ]] || { echo "guest ran on after vm-powercut (or $out is unreadable: grep exited $grc)"; return 1; }
}
case_poweroff() { local rc=0; run "$G/poweroff.sh" || rc=$?; expect_rc 122 $rc && expect_out 'no exit marker'; }
case_reset() { local rc=0; run --expect-reset "$G/reset.sh" || rc=$?; expect_rc 0 $rc; }
case_options() { local rc=0
	VEXFS_VM_SMP=2 run --mem 512 --icount --append vexfs_selftest=1 "$G/options.sh" || rc=$?
	expect_rc 0 $rc; }
# The normal path with stand-ins (a harmless in-tree module as vexfs.ko, busybox as the
# tools), since the real products may not exist yet: the module must be loaded and the tools
# on PATH; with loop.ko as vexfs.ko (loop is already loaded) insmod fails: guest setup failure.
stand_ins() { # stand_ins MODULE: set up $WORK/<MODULE>/{vexfs.ko,tools/}
	local kver d=$WORK/$1
	kver=${VEXFS_KVER:-$(cd /lib/modules && ls -1d 6.1.0-*-amd64 | sort -V | tail -n 1)}
	mkdir -p "$d/tools"
	cp "$(modinfo -k "$kver" -n "$1")" "$d/vexfs.ko"
	for t in mkfs.vexfs fsck.vexfs vexctl; do cp /bin/busybox "$d/tools/$t"; done
}
case_stand_in() { local rc=0
	stand_ins crc16
	VEXFS_VM_NO_VEXFS=0 VEXFS_KO=$WORK/crc16/vexfs.ko VEXFS_TOOLS_DIR=$WORK/crc16/tools \
		run "$G/stand-in.sh" || rc=$?
	expect_rc 0 $rc && expect_out 'selftest: vexctl at /usr/bin/vexctl'; }
case_setup_fail() { local rc=0
	stand_ins loop
	VEXFS_VM_NO_VEXFS=0 VEXFS_KO=$WORK/loop/vexfs.ko VEXFS_TOOLS_DIR=$WORK/loop/tools \
		run "$G/stand-in.sh" || rc=$?
	expect_rc 123 $rc && expect_out 'guest setup failed: insmod /vexfs.ko failed'; }
# Host-only: without self-test mode, a missing vexfs.ko must be named, with no boot.
case_missing_ko() { local rc=0
	VEXFS_VM_NO_VEXFS=0 VEXFS_KO=$WORK/no-such-vexfs.ko run "$G/ok.sh" || rc=$?
	expect_rc 125 $rc && expect_out "no-such-vexfs\.ko"; }

# The guest check helpers (lib/guest/checks.sh as /usr/lib/vexfs-checks.sh): a failing command
# inside run_ok fails the script (exit 1), naming the command.
case_checks() { local rc=0; run "$G/checks.sh" || rc=$?
	expect_rc 1 $rc && expect_out '^checks-selftest: helpers behave' &&
		expect_out "FAIL: 'sh -c echo partial; echo oops >&2; exit 3' exited 3; stderr: oops" || return 1
	local grc=0
	grep -q 'checks-selftest: not reached' "$out" || grc=$?
	[[ $grc -eq 1 ]] || { echo "the script ran on after a failed run_ok (or $out unreadable: grep exited $grc)"; return 1; }
}
# Host-only: no test script in tests/ has a check that a failing command passes ...
case_lint() { python3 "$HERE/lint-negative-checks.py" > "$out" 2>&1 || { cat "$out"; return 1; }; }
# ... and the lint finds each such form (and accepts an explained exception).
case_lint_catches() { local rc=0 f=$G/fragile-checks.txt
	python3 "$HERE/lint-negative-checks.py" "$f" > "$out" 2>&1 || rc=$?
	expect_rc 1 $rc || return 1
	local n
	for n in 3:and-after-grep 4:and-after-grep 5:if-grep 6:not-grep-or 7:count-compare 8:subst-negative 9:subst-negative; do
		grep -qF "fragile-checks.txt:${n%%:*}: ${n#*:}:" "$out" || { echo "lint missed line ${n%%:*} (${n#*:})"; cat "$out"; return 1; }
	done
	[[ $(grep -c 'fragile-checks\.txt:' "$out") -eq 7 ]] || { echo "lint flagged the explained exception"; cat "$out"; return 1; }
}
# Host-only: the pjdfstest verdict (lib/pjdfstest-tap-compare.sh) on made-up TAP files.
case_pjdfstest_verdict() { local r=$WORK/pjd fs cmp=$HERE/lib/pjdfstest-tap-compare.sh
	tapset() { # tapset FS FILE TAP-LINES...
		local fs=$1 f=$2; shift 2
		mkdir -p "$r/$fs"; printf '%s\n' "$@" > "$r/$fs/${f//\//_}.tap"; echo "0 1" > "$r/$fs/${f//\//_}.rc"
	}
	same() { rm -rf "$r"; for fs in ext4 vexfs; do
		tapset $fs chmod/00.t 1..3 'ok 1' 'ok 2' 'not ok 3 # TODO linux'
		tapset $fs rename/22.t 1..1 'ok 1'; done; }
	local rc
	same; rc=0; bash "$cmp" "$r" chmod/00.t rename/22.t > "$out" 2>&1 || rc=$?
	expect_rc 0 $rc && grep -q '^ext4: 3 ok / 4 (1 of them # TODO); vexfs: 3 ok / 4' "$out" ||
		{ echo "identical results:"; cat "$out"; return 1; }
	same; tapset vexfs chmod/00.t 1..3 'ok 1' 'not ok 2 - tried' 'not ok 3 # TODO linux'
	rc=0; bash "$cmp" "$r" chmod/00.t > "$out" 2>&1 || rc=$?
	expect_rc 1 $rc && grep -q '^REGRESSION chmod/00.t #2: ok on ext4, not ok on VexFS' "$out" ||
		{ echo "a failed test:"; cat "$out"; return 1; }
	same; tapset vexfs chmod/00.t 1..3 'ok 1'
	rc=0; bash "$cmp" "$r" chmod/00.t > "$out" 2>&1 || rc=$?
	expect_rc 1 $rc && grep -q '^REGRESSION chmod/00.t #2: ok on ext4, missing on VexFS' "$out" ||
		{ echo "a missing test:"; cat "$out"; return 1; }
	same; tapset ext4 rename/22.t 1..2 'ok 1' 'ok 2'
	rc=0; bash "$cmp" "$r" rename/22.t > "$out" 2>&1 || rc=$?
	expect_rc 0 $rc && grep -q '^not compared .*rename/22.t' "$out" || { echo "the fs-gated file:"; cat "$out"; return 1; }
	same; tapset ext4 chmod/00.t 'not ok - could not find pjdfstest app'; tapset vexfs chmod/00.t
	rc=0; bash "$cmp" "$r" chmod/00.t > "$out" 2>&1 || rc=$?
	expect_rc 1 $rc && grep -q 'ran no test on ext4' "$out" || { echo "nothing run:"; cat "$out"; return 1; }
	same; rm "$r/vexfs/chmod_00.t.tap"
	rc=0; bash "$cmp" "$r" chmod/00.t > "$out" 2>&1 || rc=$?
	expect_rc 1 $rc && grep -q 'no result for chmod/00.t on vexfs' "$out" || { echo "no result file:"; cat "$out"; return 1; }
}

ALL=(ok exit3 calltrace warning panic taint timeout bootstall disk add kill_after powercut poweroff reset options stand_in setup_fail missing_ko
	checks lint lint_catches pjdfstest_verdict)
CASES=("$@")
[[ ${#CASES[@]} -gt 0 ]] || CASES=("${ALL[@]}")
for c in "${CASES[@]}"; do
	declare -F "case_$c" >/dev/null || { echo "selftest.sh: unknown case '$c' (cases: ${ALL[*]})" >&2; exit 2; }
done

# One case in a background job; its verdict goes to $WORK/<case>.result.
run_case() {
	local c=$1 t0=$SECONDS why
	out=$WORK/$c.out
	if why=$("case_$c" 2>&1); then
		echo "PASS $c ($((SECONDS - t0))s)" > "$WORK/$c.result"
	else
		{ echo "FAIL $c ($((SECONDS - t0))s): $why"
		  echo "     run.sh output (tail):"; tail -n 15 "$out" | sed 's/^/     | /'; } > "$WORK/$c.result"
	fi
}

# The first case alone builds the cached base initramfs; the others then only add their part.
t0=$SECONDS
run_case "${CASES[0]}"; cat "$WORK/${CASES[0]}.result"
running=0
for c in "${CASES[@]:1}"; do
	if [[ $running -ge $JOBS ]]; then wait -n; running=$((running - 1)); fi
	run_case "$c" &
	running=$((running + 1))
done
wait

passed=0 failed=0
for c in "${CASES[@]}"; do
	[[ $c == "${CASES[0]}" ]] || cat "$WORK/$c.result"
	# negcheck-ok: only a PASS line counts as passed; anything else (no result file too) failed
	if grep -q '^PASS' "$WORK/$c.result"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed ($((SECONDS - t0))s)"
[[ $failed -eq 0 ]]
