# tests/vm/lib/guest/checks.sh: checks for guest test scripts that a failing command cannot
# pass. In the VM as /usr/lib/vexfs-checks.sh (every run, including the self-test mode):
#   . /usr/lib/vexfs-checks.sh
# busybox sh has no pipefail and grep exits 2 on an unreadable file, so `cmd | grep -q X &&
# fail` and `grep -q X FILE && fail` pass when cmd fails or FILE was never written. Instead:
#   run_ok OUT CMD [ARG...]        CMD's stdout to OUT, stderr to OUT.err; CMD must exit 0
#   absent [-i|-v|-F|-x]... ERE FILE WHAT   no line of FILE may match (FILE must be readable)
#   present [-i|-v|-F|-x]... ERE FILE WHAT  some line of FILE must match (FILE must be readable)
# (-v: "absent -v ERE" = every line matches ERE.) On failure each prints "FAIL: ..." naming
# the command or the check and exits 1: call them from the script's own shell, not inside
# $(...) or a pipeline, where exit would end only a subshell. tests/vm/lint-negative-checks.py
# (in the harness self-test) rejects the fragile forms in tests/.

run_ok() {
	_chk_out=$1
	shift
	_chk_rc=0
	"$@" > "$_chk_out" 2> "$_chk_out.err" || _chk_rc=$?
	[ "$_chk_rc" -eq 0 ] && return 0
	echo "FAIL: '$*' exited $_chk_rc; stderr: $(head -c 400 "$_chk_out.err")"
	exit 1
}

# _chk_grep WANT OPTION... ERE FILE WHAT: grep's status must be WANT (0 found, 1 not found).
_chk_grep() {
	_chk_want=$1
	shift
	_chk_opts="" _chk_matcher=-E
	while [ $# -gt 3 ]; do
		case $1 in
		-i | -v | -x) _chk_opts="$_chk_opts $1" ;;
		-F) _chk_matcher=-F ;;   # fixed string instead of an ERE (GNU grep refuses -E -F)
		*) echo "FAIL: checks.sh: unknown grep option '$1'"; exit 1 ;;
		esac
		shift
	done
	[ $# -eq 3 ] || { echo "FAIL: checks.sh: usage: absent|present [-i|-v|-F|-x]... ERE FILE WHAT"; exit 1; }
	_chk_rc=0
	# $_chk_opts: only the fixed option words above, split on purpose.
	# shellcheck disable=SC2086
	grep -q $_chk_matcher $_chk_opts -e "$1" -- "$2" || _chk_rc=$?
	[ "$_chk_rc" -eq "$_chk_want" ] && return 0
	case $_chk_rc in
	0) case $_chk_opts in
		*-v*) echo "FAIL: $3: $2 has lines not matching /$1/:" ;;
		*) echo "FAIL: $3: $2 has lines matching /$1/:" ;;
		esac
		# shellcheck disable=SC2086
		grep $_chk_matcher $_chk_opts -m 5 -e "$1" -- "$2" ;;
	1) echo "FAIL: $3: no line of $2 is what /$1/ ($_chk_matcher$_chk_opts) asks for" ;;
	*) echo "FAIL: $3: cannot read $2 (grep exited $_chk_rc)" ;;
	esac
	exit 1
}
absent() { _chk_grep 1 "$@"; }
present() { _chk_grep 0 "$@"; }
