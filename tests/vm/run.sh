#!/usr/bin/env bash
# tests/vm/run.sh: run a shell script inside a QEMU VM booting Debian's 6.1 kernel with
# vexfs.ko loaded, and turn everything that goes wrong in the kernel into a failure.
#
#   tests/vm/run.sh [--disk IMG]... [--add DIR]... [--mem MB] [--append ARGS] [--icount]
#                   [--kill-after SECONDS] [--expect-reset] [--no-load] SCRIPT [ARGS...]
#
# See tests/vm/README.md for the options, environment variables and exit codes.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB=$HERE/lib
OUT=${VEXFS_VM_OUT:-$HERE/out}

# Exit codes of the harness itself (the script's own code is passed through when all is clean).
readonly RC_USAGE=2 RC_KERNEL=120 RC_TAINT=121 RC_NO_MARKER=122 RC_SETUP=123 \
	RC_TIMEOUT=124 RC_HOST=125 RC_KILLED=137

die() {
	echo "run.sh: error: $*" >&2
	exit "$RC_HOST"
}

usage() {
	sed -n '4,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	echo "See tests/vm/README.md." >&2
	exit "$RC_USAGE"
}

# ---------------------------------------------------------------- command line
DISKS=() ADD_DIRS=() MEM=1024 APPEND=${VEXFS_VM_APPEND:-} ICOUNT=0 KILL_AFTER="" EXPECT_RESET=0
NO_LOAD=0
need_arg() { [[ $# -ge 2 ]] || { echo "run.sh: $1 needs an argument" >&2; usage; }; }
while [[ $# -gt 0 ]]; do
	case $1 in
	--disk) need_arg "$@"; DISKS+=("$2"); shift 2 ;;
	--add) need_arg "$@"; ADD_DIRS+=("$2"); shift 2 ;;
	--mem) need_arg "$@"; MEM=$2; shift 2 ;;
	--append) need_arg "$@"; APPEND="$APPEND $2"; shift 2 ;;
	--icount) ICOUNT=1; shift ;;
	--kill-after) need_arg "$@"; KILL_AFTER=$2; shift 2 ;;
	--expect-reset) EXPECT_RESET=1; shift ;;
	--no-load) NO_LOAD=1; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[[ $# -ge 1 ]] || { echo "run.sh: missing SCRIPT" >&2; usage; }
SCRIPT=$1; shift
SCRIPT_ARGS=("$@")

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$MEM" && [[ $MEM -ge 128 ]] || { echo "run.sh: --mem wants megabytes >= 128, got '$MEM'" >&2; usage; }
[[ -z $KILL_AFTER ]] || is_uint "$KILL_AFTER" ||
	{ echo "run.sh: --kill-after wants whole seconds, got '$KILL_AFTER'" >&2; usage; }
TIMEOUT=${VEXFS_VM_TIMEOUT:-600}
is_uint "$TIMEOUT" && [[ $TIMEOUT -gt 0 ]] || die "VEXFS_VM_TIMEOUT must be a positive number of seconds, got '$TIMEOUT'"
SMP=${VEXFS_VM_SMP:-2}
is_uint "$SMP" && [[ $SMP -gt 0 ]] || die "VEXFS_VM_SMP must be a positive integer, got '$SMP'"

[[ -f $SCRIPT && -r $SCRIPT ]] || die "SCRIPT '$SCRIPT' is not a readable file"
for d in "${DISKS[@]}"; do
	[[ -f $d || -b $d ]] || die "--disk $d: no such image file"
	[[ -r $d && -w $d ]] || die "--disk $d: image must be readable and writable"
done
for d in "${ADD_DIRS[@]}"; do
	[[ -d $d ]] || die "--add $d: not a directory"
done

# ---------------------------------------------------------------- host prerequisites
[[ $(id -u) -eq 0 ]] || die "must run as root (the initramfs needs a /dev/console device node)"
for cmd in qemu-system-x86_64 modprobe modinfo depmod readelf sha256sum tail; do
	command -v "$cmd" >/dev/null || die "'$cmd' not found on the host (see tests/vm/README.md, 'make deps')"
done
# The initramfs has no libc: dynamically linked programs would not start in it.
is_dynamic() {
	local headers
	headers=$(readelf -l "$1") || die "readelf -l $1 failed: not an ELF executable?"
	grep -q 'program interpreter' <<<"$headers"
}
BUSYBOX=${VEXFS_VM_BUSYBOX:-/bin/busybox}
[[ -x $BUSYBOX ]] || die "busybox not found at $BUSYBOX (apt-get install busybox-static)"
! is_dynamic "$BUSYBOX" || die "$BUSYBOX is dynamically linked; install busybox-static"

# The kernel: VEXFS_KERNEL/VEXFS_KVER, else the newest installed Debian 6.1 kernel.
if [[ -n ${VEXFS_KVER:-} ]]; then
	KVER=$VEXFS_KVER
else
	KVER=$(cd /lib/modules && ls -1d 6.1.0-*-amd64 2>/dev/null | sort -V | tail -n 1)
	[[ -n $KVER ]] || die "no Debian 6.1 kernel modules in /lib/modules (apt-get install linux-image-amd64), or set VEXFS_KVER"
fi
KERNEL=${VEXFS_KERNEL:-/boot/vmlinuz-$KVER}
# VEXFS_VM_MODROOT: a root holding lib/modules/$KVER for a self-built kernel
# (e.g. the debug kernel's modules_install output); default: the host's /.
MODROOT=${VEXFS_VM_MODROOT:-}
MODDIR=$MODROOT/lib/modules/$KVER
[[ -r $KERNEL ]] || die "kernel image $KERNEL not readable (apt-get install linux-image-$KVER, or set VEXFS_KERNEL)"
[[ -d $MODDIR/kernel ]] || die "kernel modules $MODDIR missing (apt-get install linux-image-$KVER, or set VEXFS_KVER)"

# vexfs.ko and the tools; VEXFS_VM_NO_VEXFS=1 boots without them (harness self-test mode).
KO="" TOOLS=()
if [[ ${VEXFS_VM_NO_VEXFS:-0} == 1 ]]; then
	LOAD_VEXFS=0
else
	if [[ -n ${VEXFS_KO:-} ]]; then
		KO=$VEXFS_KO
		[[ -f $KO ]] || die "VEXFS_KO=$KO: no such file"
	elif [[ -f $ROOT/build/vexfs.ko ]]; then
		KO=$ROOT/build/vexfs.ko
	elif [[ -f $ROOT/kernel/vexfs.ko ]]; then
		KO=$ROOT/kernel/vexfs.ko
	else
		die "vexfs.ko not found (looked at $ROOT/build/vexfs.ko and $ROOT/kernel/vexfs.ko): build it with 'make' or set VEXFS_KO; VEXFS_VM_NO_VEXFS=1 boots without VexFS (harness self-test)"
	fi
	vermagic=$(modinfo -F vermagic "$KO") || die "modinfo cannot read $KO"
	[[ ${vermagic%% *} == "$KVER" ]] ||
		die "$KO was built for kernel '${vermagic%% *}' but the VM boots $KVER (set VEXFS_KVER or rebuild)"
	TOOLS_DIR=${VEXFS_TOOLS_DIR:-$ROOT/target/x86_64-unknown-linux-musl/release}
	for t in mkfs.vexfs fsck.vexfs vexctl; do
		f=$TOOLS_DIR/$t
		[[ -f $f && -x $f ]] || die "tool $f not found or not executable: build the static tools with 'make' or set VEXFS_TOOLS_DIR; VEXFS_VM_NO_VEXFS=1 boots without VexFS (harness self-test)"
		! is_dynamic "$f" ||
			die "$f is dynamically linked; the VM has no libc: build it for x86_64-unknown-linux-musl"
		TOOLS+=("$f")
	done
	LOAD_VEXFS=1
fi
[[ $NO_LOAD -eq 0 ]] || LOAD_VEXFS=0

# ---------------------------------------------------------------- initramfs
# shellcheck source=lib/initramfs.sh
. "$LIB/initramfs.sh"

name=$(basename "$SCRIPT"); name=${name%.sh}
stamp=$(date +%Y%m%d-%H%M%S)-$$
LOG=${VEXFS_VM_LOG:-$OUT/$name-$stamp.log}
RUNDIR=$OUT/runs/$name-$stamp
mkdir -p "$OUT" "$RUNDIR" "$(dirname "$LOG")"
QPID="" TAILPID="" WATCHDOG_DONE=0
cleanup() {
	# Only our own children, by pid.
	[[ -z $QPID ]] || kill -KILL "$QPID" 2>/dev/null || :
	[[ -z $TAILPID ]] || kill "$TAILPID" 2>/dev/null || :
	rm -rf "$RUNDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NONCE=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
BASE=$(build_base)
build_run "$RUNDIR/stage" "$RUNDIR/run.cpio"
cat "$BASE" "$RUNDIR/run.cpio" > "$RUNDIR/initrd.cpio"

# ---------------------------------------------------------------- QEMU
# panic_on_warn/oops=panic turn the first WARN or oops into a panic, panic=-1 into an immediate
# reset, and -no-reboot into a QEMU exit: a broken kernel ends the run at once. printk.time
# makes kernel lines easy to tell apart from the script's output in the log.
CMDLINE="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 printk.time=1 ${APPEND# }"
ACCEL=${VEXFS_VM_ACCEL:-tcg}
# -cpu max: every feature TCG emulates (SSE4.2, AVX2, FMA), so the SIMD distance code and
# crc32c-intel run in the VM as on real hardware.
QEMU=(qemu-system-x86_64 -accel "$ACCEL" -cpu "${VEXFS_VM_CPU:-max}" -m "$MEM"
	-nographic -no-reboot -nic none
	-kernel "$KERNEL" -initrd "$RUNDIR/initrd.cpio" -append "$CMDLINE")
if [[ $ICOUNT -eq 1 ]]; then
	# Measured: with -icount and 2+ vCPUs this kernel hangs early in boot (QEMU 7.2), and
	# icount runs vCPUs round-robin on one thread anyway: always one vCPU.
	[[ $SMP -eq 1 ]] || echo "run.sh: --icount: using -smp 1 instead of $SMP" >&2
	# sleep=off (default): an idle vCPU warps the clock to the next timer deadline, so the guest
	# clock counts instructions only (deterministic). VEXFS_VM_ICOUNT_SLEEP=on lets idle time (I/O
	# waits) pass at host speed instead: benchmarks need it, or every I/O wait becomes a jump to
	# the next timer (seconds of guest time).
	QEMU+=(-icount "shift=0,sleep=${VEXFS_VM_ICOUNT_SLEEP:-off}")
	SMP=1
fi
QEMU+=(-smp "$SMP")
for d in "${DISKS[@]}"; do
	QEMU+=(-drive "file=${d//,/,,},format=raw,if=virtio")   # ',,' is QEMU's literal comma
done

# A boot that never reaches /init (it prints VEXFS-VM-INIT[<nonce>] first) is a hang of the
# emulated machine before any VexFS code ran: seen once in ~250 TCG boots, at "Switched to
# clocksource hpet" with two busy VMs on two host cores. Such a run is killed after
# VEXFS_VM_BOOT_TIMEOUT seconds and booted again, up to VEXFS_VM_BOOT_ATTEMPTS times in all;
# the disks are untouched before /init, and the stalled console is kept beside the log.
BOOT_TIMEOUT=${VEXFS_VM_BOOT_TIMEOUT:-240}
BOOT_ATTEMPTS=${VEXFS_VM_BOOT_ATTEMPTS:-3}
is_uint "$BOOT_TIMEOUT" && [[ $BOOT_TIMEOUT -gt 0 ]] ||
	die "VEXFS_VM_BOOT_TIMEOUT must be a positive number of seconds, got '$BOOT_TIMEOUT'"
is_uint "$BOOT_ATTEMPTS" && [[ $BOOT_ATTEMPTS -gt 0 ]] ||
	die "VEXFS_VM_BOOT_ATTEMPTS must be a positive integer, got '$BOOT_ATTEMPTS'"

# boot_and_watch: start QEMU, stream its console, and watch it until it exits or is killed;
# sets KILLED_BY (empty, kill-after, powercut, timeout or boot-stall).
boot_and_watch() {
	# QEMU writes the console straight into the log (complete even if we are killed); tail
	# streams it. stdin is /dev/null so -nographic does not put a terminal into raw mode.
	: > "$LOG"   # exists before the watcher and tail look at it
	"${QEMU[@]}" < /dev/null > "$LOG" 2>&1 &
	QPID=$!
	if [[ ${VEXFS_VM_QUIET:-0} != 1 ]]; then
		tail -n +1 -s 0.1 -f --pid="$QPID" "$LOG" &
		TAILPID=$!
	fi
	# Watch QEMU: boot stall, wall-clock timeout, --kill-after, and power-cut requests.
	KILLED_BY=""
	local start=$SECONDS elapsed booted=0
	while kill -0 "$QPID" 2>/dev/null; do
		elapsed=$((SECONDS - start))
		if [[ $booted -eq 0 ]] && grep -qF "VEXFS-VM-INIT[$NONCE]" "$LOG"; then # negcheck-ok: a marker's detection; LOG is ours
			booted=1
		fi
		if [[ $booted -eq 0 && $elapsed -ge $BOOT_TIMEOUT ]]; then
			KILLED_BY=boot-stall
		elif [[ -n $KILL_AFTER && $elapsed -ge $KILL_AFTER ]]; then
			KILLED_BY=kill-after
		elif grep -qF "VEXFS-VM-POWERCUT[$NONCE]" "$LOG"; then # negcheck-ok: a request's detection; LOG is ours
			KILLED_BY=powercut
		elif [[ $elapsed -ge $TIMEOUT ]]; then
			KILLED_BY=timeout
		fi
		if [[ -n $KILLED_BY ]]; then
			kill -KILL "$QPID" 2>/dev/null || :
			break
		fi
		sleep 0.2
	done
}

echo "run.sh: booting $KVER with $(basename "$SCRIPT") (log: $LOG)"
attempt=1
while :; do
	boot_and_watch
	[[ $KILLED_BY == boot-stall && $attempt -lt $BOOT_ATTEMPTS ]] || break
	{ wait "$QPID"; } 2>/dev/null || :
	if [[ -n $TAILPID ]]; then
		wait "$TAILPID" || :
		TAILPID=""
	fi
	cp "$LOG" "$LOG.boot-stall-$attempt"
	echo "run.sh: boot stalled: /init not reached after ${BOOT_TIMEOUT}s (attempt $attempt of $BOOT_ATTEMPTS; console kept in $LOG.boot-stall-$attempt); booting again" | tee -a "$LOG.boot-stall-$attempt"
	attempt=$((attempt + 1))
done
set +e
{ wait "$QPID"; } 2>/dev/null   # no "Killed" job notice from bash: the verdict says why
qrc=$?
set -e
QPID=""
if [[ -n $TAILPID ]]; then
	wait "$TAILPID" || :
	TAILPID=""
fi

# ---------------------------------------------------------------- verdict
# Console lines are CRLF; compare without the CR.
clean_log=$RUNDIR/console.txt
tr -d '\r' < "$LOG" > "$clean_log"

# Kernel trouble. Matched on every console line (kernel and script output alike), so a
# script must not print these words itself. 'BUG:' is anchored so that 'DEBUG:' is harmless.
BAD_RE='Oops|(^|[^A-Za-z])BUG:|WARNING:|Call Trace|Kernel panic|general protection|RIP:|'
BAD_RE+='Unknown rela relocation|double fault|stack-protector|kernel BUG|UBSAN|KASAN|'
BAD_RE+='refcount_t|list_add corruption|list_del corruption|'
BAD_RE+='sleeping function called from invalid context|blocked for more than|'
BAD_RE+='detected stalls|self-detected stall|stack guard page|Attempted to kill init|'
# Debug kernels (tests/debug): lockdep reports (also printed under WARNING:), kmemleak.
BAD_RE+='possible circular locking|possible recursive locking|inconsistent lock state|'
BAD_RE+='unreferenced object|suspected memory leak'
# grep exits 1 when nothing matches (the good case), 2 on a real error.
bad_lines=$(grep -E -m 20 "$BAD_RE" "$clean_log") || [[ $? -eq 1 ]] || die "grep on $clean_log failed"

marker() { # the number after "<TAG>[<nonce>]: " on the last such line, or empty
	sed -n "s/.*$1\[$NONCE\]: *\([0-9][0-9]*\).*/\1/p" "$clean_log" | tail -n 1
}
exit_rc=$(marker VEXFS-VM-EXIT)
taint=$(marker VEXFS-VM-TAINT)
setup_err=$(sed -n "/VEXFS-VM-SETUP-FAILED\[$NONCE\]: /{s/.*VEXFS-VM-SETUP-FAILED\[$NONCE\]: //p;q}" "$clean_log")

reasons=() rc=""
fail() { # fail CODE REASON: the first failure decides the exit code
	reasons+=("$2")
	[[ -n $rc ]] || rc=$1
}
[[ -z $bad_lines ]] || fail "$RC_KERNEL" "kernel problem on the console:"$'\n'"$bad_lines"
[[ -z $setup_err ]] || fail "$RC_SETUP" "guest setup failed: $setup_err"
[[ $KILLED_BY != timeout ]] || fail "$RC_TIMEOUT" "timeout: VM still running after ${TIMEOUT}s (VEXFS_VM_TIMEOUT)"
[[ $KILLED_BY != boot-stall ]] ||
	fail "$RC_TIMEOUT" "boot stalled: /init not reached after ${BOOT_TIMEOUT}s in each of $BOOT_ATTEMPTS boots (VEXFS_VM_BOOT_TIMEOUT, VEXFS_VM_BOOT_ATTEMPTS)"
if [[ -n $taint ]]; then
	# O (4096, out-of-tree) and E (8192, unsigned) are expected for vexfs.ko.
	if ! is_uint "$taint" || (((taint & ~(4096 | 8192)) != 0)); then
		fail "$RC_TAINT" "kernel tainted: /proc/sys/kernel/tainted=$taint (only O=4096 and E=8192 are allowed)"
	fi
fi
if [[ -z $KILLED_BY && -z $setup_err && -z $exit_rc ]]; then
	if [[ $qrc -ne 0 ]]; then
		fail "$RC_HOST" "QEMU exited with status $qrc before the guest reported (see the log)"
	elif [[ $EXPECT_RESET -eq 0 ]]; then
		fail "$RC_NO_MARKER" "no exit marker: the guest stopped before the script finished (panic, reset or poweroff)"
	fi
fi
if [[ -z $rc ]]; then
	case $KILLED_BY in
	kill-after) rc=$RC_KILLED; reasons+=("killed by --kill-after $KILL_AFTER (power cut), as requested") ;;
	powercut) rc=$RC_KILLED; reasons+=("killed on the guest's vm-powercut request (power cut)") ;;
	*)
		if [[ -n $exit_rc ]]; then
			rc=$exit_rc
		else
			rc=0; reasons+=("guest reset without an exit marker, as --expect-reset allows")
		fi ;;
	esac
fi

{
	echo
	echo "==== run.sh: $(basename "$SCRIPT") ${SCRIPT_ARGS[*]:-}"
	for r in "${reasons[@]}"; do echo "run.sh: $r"; done
	echo "run.sh: script exit code: ${exit_rc:-none}, taint: ${taint:-unknown}, run.sh exit code: $rc"
	echo "run.sh: log: $LOG"
} | tee -a "$LOG"
exit "$rc"
