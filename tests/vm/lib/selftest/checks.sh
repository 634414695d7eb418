# Harness self-test (guest side): /usr/lib/vexfs-checks.sh is in the image, and its checks fail
# where the `cmd | grep -q X && fail` form is fooled. Each check first runs in a subshell
# (its exit 1 ends only that); the script then ends through a failing run_ok: exit code 1.
set -u
. /usr/lib/vexfs-checks.sh
bad=0
expect() { # expect RC WHAT: the subshell just run exited RC
	[ "$rc" -eq "$1" ] || { echo "checks-selftest: $2: exit $rc, expected $1"; bad=1; }
}
printf 'alpha\nbeta\n' > /tmp/f
# The fragile form is fooled by a failing command (this is what the helpers are for).
fooled=yes
false | grep -q alpha && fooled=no # negcheck-ok: shows the form being fooled
[ $fooled = yes ] || { echo "checks-selftest: the fragile form was not fooled?"; bad=1; }
rc=0; (run_ok /tmp/o false; echo "checks-selftest: run_ok returned after a failure") || rc=$?; expect 1 "run_ok false"
rc=0; (run_ok /tmp/o echo hello; [ "$(cat /tmp/o)" = hello ]) || rc=$?; expect 0 "run_ok echo"
rc=0; (absent gamma /tmp/f "gamma absent") || rc=$?; expect 0 "absent, no match"
rc=0; (absent beta /tmp/f "beta absent") || rc=$?; expect 1 "absent, a match"
rc=0; (absent gamma /tmp/no-such-file "unreadable file") || rc=$?; expect 1 "absent on a missing file"
rc=0; (present -i ALPHA /tmp/f "alpha present") || rc=$?; expect 0 "present -i, a match"
rc=0; (present gamma /tmp/f "gamma present") || rc=$?; expect 1 "present, no match"
rc=0; (present alpha /tmp/no-such-file "unreadable file") || rc=$?; expect 1 "present on a missing file"
rc=0; (absent -v '^(alpha|beta)$' /tmp/f "only alpha and beta") || rc=$?; expect 0 "absent -v, all lines match"
rc=0; (absent -v '^alpha$' /tmp/f "only alpha") || rc=$?; expect 1 "absent -v, a line does not match"
[ $bad -eq 0 ] || exit 2
echo "checks-selftest: helpers behave"
run_ok /tmp/o sh -c 'echo partial; echo oops >&2; exit 3'
echo "checks-selftest: not reached"
