#!/usr/bin/env bash
# Issue 13 acceptance, bad input through vexctl: `vexctl set --chunks` with a
# wrong dimension, NaN, Inf, a value the kernel refuses (|x| >= 2^56:
# EINVAL from the kernel), an offset + length overflow, too many chunks
# (16,385), malformed JSON lines, a missing file, a directory; `vexctl import
# --manifest` with a bad line. Each exits 1 with a message naming the file
# and the cause, and the file's set (`vexctl get --json`, status counts) is
# unchanged, also after a remount. The harness fails the run on any kernel
# warning (panic_on_warn).
. "$(dirname "$0")/../lib/common.sh"
dim=8
mkdir -p "$WORK/add"
v8='[1, 2, 3, 4, 5, 6, 7, 8]'
a=$WORK/add
printf '{"offset": 0, "length": 10, "vector": %s}\n{"offset": 10, "length": 0, "vector": [0, 0, 0, 0, 0, 0, 0, 1]}\n' "$v8" > "$a/good.jsonl"
printf '{"offset": 0, "length": 1, "vector": %s}\n{"offset": 1, "length": 1, "vector": [1, 2, 3]}\n' "$v8" > "$a/dim.jsonl"
printf '{"offset": 0, "length": 1, "vector": [1, NaN, 3, 4, 5, 6, 7, 8]}\n' > "$a/nan.jsonl"
printf '{"offset": 0, "length": 1, "vector": [1, 2, 1e39, 4, 5, 6, 7, 8]}\n' > "$a/inf.jsonl"
printf '{"offset": 0, "length": 1, "vector": %s}\n{"offset": 5, "length": 1, "vector": [1, 2, 3, 1e20, 5, 6, 7, 8]}\n' "$v8" > "$a/huge.jsonl"
printf '{"offset": 18446744073709551615, "length": 1, "vector": %s}\n' "$v8" > "$a/overflow.jsonl"
printf '{"offset": 0, "length": 1, "vector": %s}\n{"offset": 0, "length": 1, "vector": [1, 2\n' "$v8" > "$a/malformed.jsonl"
printf '{"offset": 0, "vector": %s}\n' "$v8" > "$a/nolength.jsonl"
printf '[1, 2, 3]\n' > "$a/notobject.jsonl"
awk -v v="$v8" 'BEGIN { for (i = 0; i < 16385; i++) printf "{\"offset\": %d, \"length\": 1, \"vector\": %s}\n", i, v }' > "$a/many.jsonl"
# Manifests: a bad line after good ones (nothing set), a chunk the kernel refuses.
printf '{"path": "/mnt/b", "offset": 0, "length": 1, "vector": [9, 9, 9, 9, 9, 9, 9, 9]}\n{"path": "/mnt/a", "offset": 0, "length": 1, "vector": [1, 2]}\n' > "$a/m-dim.jsonl"
printf '{"path": "/mnt/a", "offset": 0, "length": 1, "vector": %s}\n{"path": "/mnt/a", "offset": 1, "length": 1, "vector": [1e20, 0, 0, 0, 0, 0, 0, 0]}\n' "$v8" > "$a/m-huge.jsonl"
printf '{"path": "/mnt/nonexistent", "vector": %s}\n' "$v8" > "$a/m-missing.jsonl"

img=$WORK/bad.img
new_image "$img" 32M --dim $dim --metric l2

cat > "$WORK/guest.sh" <<'GUEST'
set -eu
. /usr/lib/vexfs-checks.sh
fail() { echo "FAIL: $*"; exit 1; }
mount -t vexfs /dev/vda /mnt
head -c 100 /dev/zero > /mnt/a
head -c 100 /dev/zero > /mnt/b
mkdir /mnt/dir
run_ok /tmp/o vexctl set /mnt/a --chunks /extra/good.jsonl
run_ok /tmp/o vexctl set /mnt/b --vector 1,1,1,1,1,1,1,1
run_ok /tmp/a0.json vexctl get /mnt/a --json
run_ok /tmp/b0.json vexctl get /mnt/b --json
run_ok /tmp/st0.json vexctl status /mnt --json
present -F '"length":10' /tmp/a0.json "the good set's first chunk"
present -F '"offset":10' /tmp/a0.json "the good set's second chunk"
# bad FILE SOURCE CAUSE [vexctl args...]: exit 1, the message names SOURCE
# and CAUSE, /mnt/a and /mnt/b unchanged.
bad() {
  src=$1 cause=$2; shift 2
  rc=0
  vexctl "$@" > /tmp/out 2> /tmp/err || rc=$?
  [ "$rc" -eq 1 ] || { cat /tmp/err; fail "vexctl $* exited $rc, want 1"; }
  cat /tmp/err
  present -F "vexctl: $src" /tmp/err "the message names $src"
  present -F "$cause" /tmp/err "the message names the cause ($cause)"
  run_ok /tmp/a1.json vexctl get /mnt/a --json
  run_ok /tmp/b1.json vexctl get /mnt/b --json
  cmp /tmp/a0.json /tmp/a1.json || fail "vexctl $* changed /mnt/a"
  cmp /tmp/b0.json /tmp/b1.json || fail "vexctl $* changed /mnt/b"
}
for c in dim:"/extra/dim.jsonl:2: vector has 3 elements, this filesystem stores 8" \
         nan:"/extra/nan.jsonl:1: invalid JSON: NaN and Infinity are not JSON numbers" \
         inf:"/extra/inf.jsonl:1: element 2 (1e+39) is not a finite float32" \
         overflow:"/extra/overflow.jsonl:1: offset 18446744073709551615 + length 1 overflows 64 bits" \
         malformed:"/extra/malformed.jsonl:2: invalid JSON" \
         nolength:"/extra/nolength.jsonl:1: \"offset\" without \"length\"" \
         notobject:"/extra/notobject.jsonl:1: expected an object" \
         many:"/extra/many.jsonl: more than 16384 chunks"; do
  name=${c%%:*} msg=${c#*:}
  bad "${msg%%: *}" "${msg#*: }" set /mnt/a --chunks /extra/$name.jsonl
done
# The kernel's own check (|x| >= 2^56): EINVAL, nothing changed.
bad /mnt/a "Invalid argument (EINVAL): the kernel refused the chunks" set /mnt/a --chunks /extra/huge.jsonl
bad /extra/missing.jsonl "No such file or directory (ENOENT)" set /mnt/a --chunks /extra/missing.jsonl
bad /mnt/dir "is a directory" set /mnt/dir --chunks /extra/good.jsonl
bad /mnt/nonexistent "No such file or directory (ENOENT)" set /mnt/nonexistent --chunks /extra/good.jsonl
bad /mnt/a "vector has 3 elements, this filesystem stores 8" set /mnt/a --vector 1,2,3
bad "/extra/m-dim.jsonl:2: /mnt/a" "vector has 2 elements, this filesystem stores 8" import --manifest /extra/m-dim.jsonl
bad "/extra/m-huge.jsonl:1: /mnt/a" "Invalid argument (EINVAL)" import --manifest /extra/m-huge.jsonl
bad "/extra/m-missing.jsonl:1: /mnt/nonexistent" "No such file or directory (ENOENT)" import --manifest /extra/m-missing.jsonl
run_ok /tmp/st1.json vexctl status /mnt --json
present '"files":2[,}]' /tmp/st1.json "two files with sets"
present '"vectors":3[,}]' /tmp/st1.json "three chunks"
present '"stale_files":0[,}]' /tmp/st1.json "no stale set"
umount /mnt
mount -t vexfs /dev/vda /mnt
run_ok /tmp/a2.json vexctl get /mnt/a --json
cmp /tmp/a0.json /tmp/a2.json || fail "/mnt/a changed across the remount"
umount /mnt
GUEST
"$VM_RUN" --disk "$img" --add "$WORK/add" "$WORK/guest.sh"
fsck_clean "$img"
echo "chunks-badinput: passed"
