#!/usr/bin/env bash
# Build one Rust staticlib crate into a relocatable object that links into
# vexfs.ko, then gate it. Usage:
#   build-kernel-rust.sh core|simd OUT.o
# core: kernel/rust      -> soft-float, target x86_64-unknown-none, no SIMD allowed
# simd: kernel/rust-simd -> target x86_64-unknown-linux-gnu, kernel code model;
#       the only object allowed to hold SSE/AVX instructions.
# The recipe (and why each flag is needed) is in shared/KERNEL-BUILD-NOTES.md.
set -euo pipefail

kind=${1:?usage: build-kernel-rust.sh core|simd OUT.o}
out=${2:?usage: build-kernel-rust.sh core|simd OUT.o}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
common=(-C relocation-model=static -C relro-level=off -C force-unwind-tables=no
        -Zfunction-return=thunk-extern -Zretpoline-external-thunk)
case "$kind" in
  core)
    crate=$top/kernel/rust; target=x86_64-unknown-none; lib=libvexfs_kobj.a
    flags=("${common[@]}")
    ;;
  simd)
    crate=$top/kernel/rust-simd; target=x86_64-unknown-linux-gnu; lib=libvexfs_ksimd.a
    # The kernel keeps its stack only 8-byte aligned; -stackrealign makes
    # every function that spills vector registers align its own frame
    # (otherwise movaps to an unaligned stack slot faults).
    flags=("${common[@]}" -C code-model=kernel -C no-redzone=yes -C llvm-args=-stackrealign)
    ;;
  *) echo "build-kernel-rust.sh: unknown kind '$kind' (core or simd)" >&2; exit 2 ;;
esac

export RUSTC_BOOTSTRAP=1   # -Zbuild-std on stable, as the kernel's own Rust build does
export CARGO_TARGET_DIR=$crate/target
RUSTFLAGS="${flags[*]}" cargo build --quiet --release --manifest-path "$crate/Cargo.toml" \
  --target "$target" -Zbuild-std=core,compiler_builtins
archive=$crate/target/$target/release/$lib
[ -f "$archive" ] || { echo "build-kernel-rust.sh: $archive was not produced" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/members"
dups=$(ar t "$archive" | sort | uniq -d)
if [ -n "$dups" ]; then
  # ar x would keep only the last of same-named members and drop code.
  echo "build-kernel-rust.sh: $archive has duplicate member names: $dups" >&2; exit 1
fi
(cd "$work/members" && ar x "$archive")

objs=()
for m in "$work/members"/*; do
  case "$m" in *.o) ;; *) rm -f "$m"; continue ;; esac
  # Strip embedded LLVM bitcode: the host's LLVMgold plugin would otherwise
  # hide every symbol from binutils.
  objcopy --remove-section .llvmbc --remove-section .llvmcmd "$m"
  # compiler_builtins carries weak mem*/str* helpers; rename its definitions
  # so calls bind to the kernel's own implementations.
  if nm --defined-only "$m" 2>/dev/null | grep -qE ' [TWtw] (memcpy|memset|memmove|memcmp|bcmp|strlen)$'; then
    objcopy --redefine-sym memcpy=__vexfs_cb_memcpy --redefine-sym memset=__vexfs_cb_memset \
            --redefine-sym memmove=__vexfs_cb_memmove --redefine-sym memcmp=__vexfs_cb_memcmp \
            --redefine-sym bcmp=__vexfs_cb_bcmp --redefine-sym strlen=__vexfs_cb_strlen "$m"
  fi
  objs+=("$m")
done

# Entry points: every global vexfs_* function the crate defines.
nm --defined-only -g "${objs[@]}" 2>/dev/null | awk '$2 ~ /^[TW]$/ && $3 ~ /^vexfs_/ {print $3}' | sort -u > "$work/exports"
[ -s "$work/exports" ] || { echo "build-kernel-rust.sh: $kind object exports no vexfs_* symbol" >&2; exit 1; }
undef=()
while read -r s; do undef+=(-u "$s"); done < "$work/exports"

ld -r --gc-sections "${undef[@]}" -o "$work/linked.o" "${objs[@]}"
# objtool treats an object with several STT_FILE symbols as an already
# linked one (and then checks it differently): drop the FILE symbols.
strip_files=()
while read -r f; do strip_files+=(--strip-symbol="$f"); done < <(
  readelf -sW "$work/linked.o" | awk '$4 == "FILE" && $8 != "" {print $8}' | sort -u)
objcopy --keep-global-symbols="$work/exports" --remove-section .eh_frame \
        --remove-section '.note.*' --remove-section .comment \
        "${strip_files[@]}" "$work/linked.o" "$out"

# ---- gates --------------------------------------------------------------
fail=0
# Only relocations the module loader handles.
bad_rel=$(readelf -rW "$out" | awk '/^[0-9a-f]+ +[0-9a-f]+ +R_X86_64/ {print $3}' \
          | awk '!/^R_X86_64_(PLT32|PC32|32S|64)$/' | sort | uniq -c)
if [ -n "$bad_rel" ]; then
  echo "build-kernel-rust.sh: $out has relocations the kernel cannot load:" >&2
  echo "$bad_rel" >&2; fail=1
fi
# Undefined symbols must be kernel functions we know about (plus the
# retpoline/return thunks and the panic hook).
undef_syms=$(nm -u "$out" | awk '{print $2}' | sort -u)
unexpected=$(echo "$undef_syms" | awk 'NF && !/^(memcpy|memset|memmove|memcmp|bcmp|strlen|__x86_return_thunk|__x86_indirect_thunk_r[a-z0-9]+|vexfs_rust_panic|vexfs_k[a-z_0-9]+)$/')
if [ -n "$unexpected" ]; then
  echo "build-kernel-rust.sh: $out references unexpected symbols:" >&2
  echo "$unexpected" >&2; fail=1
fi
if [ "$kind" = core ]; then
  # No FPU/SIMD state may be touched outside the designated SIMD object.
  fpu=$(objdump -d --no-show-raw-insn "$out" | awk '/%[xyz]mm[0-9]|%st(\(|$|,)|[ \t](f[a-z]*(ld|st|add|sub|mul|div|xch|com|init|save|rstor)[a-z]*|ldmxcsr|stmxcsr|emms|fxsave|fxrstor|xsave|xrstor)[ \t]/')
  if [ -n "$fpu" ]; then
    echo "build-kernel-rust.sh: $out contains FPU/SIMD instructions (not allowed outside the SIMD object):" >&2
    echo "$fpu" | head -20 >&2; fail=1
  fi
fi
if [ "$kind" = simd ]; then
  # The kernel stack is only 8-byte aligned: an aligned vector access to the
  # stack is allowed only in a function that realigns its own frame.
  unaligned=$(objdump -d --no-show-raw-insn "$out" | awk '
    /^[0-9a-f]+ <.*>:$/ {fn=$2}
    /(movaps|movdqa|movapd|vmovaps|vmovdqa|vmovapd)[^(]*\(%rsp\)/ || /(movaps|movdqa|movapd|vmovaps|vmovdqa|vmovapd) .*\(%rsp\)/ {a[fn]=1}
    /and +\$0xf+[0-9a-f]0,%rsp/ {r[fn]=1}
    END {for (f in a) if (!(f in r)) print f}')
  if [ -n "$unaligned" ]; then
    echo "build-kernel-rust.sh: aligned vector stack accesses without stack realignment in: $unaligned" >&2; fail=1
  fi
fi
[ "$fail" = 0 ] || { rm -f "$out"; exit 1; }
# No panic path may survive optimisation: the core returns errors instead.
# (A reachable panic keeps the handler, rust_begin_unwind, and its call to
# vexfs_rust_panic in the object.)
panic_syms=$(nm "$out" | awk '$NF ~ /rust_begin_unwind|vexfs_rust_panic|panicking/ {print $NF}' | sort -u)
if [ -n "$panic_syms" ]; then
  callers=$(objdump -dr --no-show-raw-insn "$out" | awk '
    /^[0-9a-f]+ <.*>:$/ {fn=$2}
    /R_X86_64_(PLT32|PC32).*(panicking|panic_|rust_begin_unwind)/ {print fn}' | sort -u | head -20)
  echo "build-kernel-rust.sh: $out can panic (symbols: $(echo $panic_syms)); callers:" >&2
  echo "$callers" >&2
  rm -f "$out"; exit 1
fi
echo "  RUST    $(basename "$out"): $(wc -l < "$work/exports") entry points, $(stat -c %s "$out") bytes, no panic path"
