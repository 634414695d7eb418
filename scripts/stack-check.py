#!/usr/bin/env python3
"""Static stack budget of the VexFS module (issue 6, item 5).

Reads `objdump -dr` of the linked module (vexfs.ko: the C objects and the Rust
core/SIMD objects exactly as loaded), computes every function's frame from its
instructions, builds the call graph from direct calls and tail jumps (plus the
indirect calls the core makes through the HNSW callbacks, mapped to the C
callbacks the kernel registers), and reports the deepest chain of VexFS frames.

Frame of a function: 8 bytes of return address plus the deepest stack depth
reached by a linear scan of its instructions (push/pop, sub/add of an
immediate to %rsp, `and $-N,%rsp` realignment counted as N-8 bytes). The scan
over-approximates, never under-approximates, for code that only adjusts %rsp
by immediates; a function that adjusts %rsp by a register (alloca/VLA) is
reported as an error, since its frame cannot be bounded statically.

Checked against gcc's -fstack-usage on the module's C objects (121 functions):
never below gcc's figure, 8 bytes above it for one function.

Only VexFS frames are counted: kernel functions called from VexFS (allocator,
block layer, VFS helpers) run on the same stack but are not ours; the 6 KiB
budget leaves the rest of the 16 KiB kernel stack to the VFS above us and the
kernel below. Calls through kernel code back into VexFS (e.g. sort() calling a
comparator, the VFS calling an address_space op) start new chains at the
callee.

Exit 1 if any frame exceeds --frame-limit, any chain exceeds --path-limit, any
recursion (cycle) exists, or any frame is unbounded.
"""
import argparse
import re
import subprocess
import sys
from collections import defaultdict

FUNC_RE = re.compile(r'^([0-9a-f]+) <(.+)>:$')
INSN_RE = re.compile(r'^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$')
RELOC_RE = re.compile(r'^\s+([0-9a-f]+): (R_X86_64_\w+)\s+(\S+?)(?:[-+]0x[0-9a-f]+)?$')
TARGET_RE = re.compile(r'<([^>+]+)(\+0x[0-9a-f]+)?>')
IMM_RE = re.compile(r'^\$(-?0x[0-9a-f]+|-?\d+),%rsp$')

# Helpers that are not real calls (ftrace hook, retpoline/rethunk thunks).
IGNORED = {'__fentry__', '__x86_return_thunk'}
INDIRECT_THUNK = re.compile(r'^__x86_indirect_thunk_\w+$')

# Indirect calls the core makes into the kernel module, by calling function
# pattern -> the C functions that can be the target (shim/vexfs_core.h's
# callbacks: ctx->dist_batch = vexfs_dist_cb, ctx->filter = vexfs_filter_cb).
CALLBACKS = ['vexfs_dist_cb', 'vexfs_filter_cb']

# Rust's core::fmt (the messages the core formats) calls fmt trait impls
# through vtables, never the HNSW callbacks: core::fmt::write calls the
# argument formatters (Display::fmt ...) and the sink (Write::write_str);
# everything else in core::fmt and the formatters call only the sink.
# Mapping them to the callbacks would make a false cycle of every path from
# a callback to a message the core formats.
FMT_CODE = re.compile(r'^_R(Nv)+(M[^_]*_)?(Nt)+Cs[0-9A-Za-z]+_4core3fmt')
FMT_WRITE = re.compile(r'^_RNvNtCs[0-9A-Za-z]+_4core3fmt5write$')
FMT_IMPL = re.compile(r'^_RNvX.*4core3fmt')
FMT_SINK = re.compile(r'^_RNvX.*4core3fmt5Write9write_str$')


def imm(s):
    v = int(s, 0)
    return v - (1 << 64) if v >= (1 << 63) else v  # objdump prints 64-bit immediates unsigned


def parse(objfile):
    out = subprocess.run(['objdump', '-dr', '--no-show-raw-insn', objfile],
                         check=True, capture_output=True, text=True).stdout
    funcs = {}   # name -> dict(frame, calls=set, indirect=int, unbounded=bool)
    section_targets = set()
    cur = None
    depth = maxd = 0
    pending_call = None  # (mnemonic, resolved target) awaiting a reloc line

    def end_of_path():
        # A return or tail call ends a path after its epilogue popped the
        # frame; code after it (shrink-wrapped early returns) runs with the
        # body frame again: resume from the deepest depth seen so far, an
        # over-approximation.
        nonlocal depth
        depth = maxd

    def flush_pending():
        nonlocal pending_call
        if pending_call and cur is not None:
            mn, tgt = pending_call
            add_edge(mn, tgt)
            if mn.startswith('jmp') and tgt != cur:
                end_of_path()
        pending_call = None

    def add_edge(mn, tgt):
        if tgt is None or tgt in IGNORED:
            return
        # Function-section objects (the Rust core) relocate against the
        # section symbol ".text.<function>".
        if tgt.startswith('.text.'):
            tgt = tgt[len('.text.'):]
        elif tgt.startswith('.'):
            if mn.startswith('call'):
                section_targets.add(tgt)
            return  # a cold part jumping back into its function's body
        if INDIRECT_THUNK.match(tgt):
            funcs[cur]['indirect'] += 1
            return
        if tgt == cur and mn.startswith('j'):
            return  # a jump inside the function
        funcs[cur]['calls'].add(tgt)

    for line in out.splitlines():
        m = FUNC_RE.match(line)
        if m:
            flush_pending()
            if cur is not None:
                funcs[cur]['frame'] = 8 + maxd
            cur = m.group(2)
            funcs[cur] = {'frame': 8, 'calls': set(), 'indirect': 0, 'unbounded': False}
            depth = maxd = 0
            continue
        if cur is None:
            continue
        r = RELOC_RE.match(line)
        if r:
            if pending_call:
                mn, _ = pending_call
                pending_call = None
                add_edge(mn, r.group(3))
                if mn.startswith('jmp'):
                    end_of_path()  # return thunk or tail call
            continue
        m = INSN_RE.match(line)
        if not m:
            continue
        flush_pending()
        mn, ops = m.group(2), m.group(3).strip()
        if mn.startswith('push'):
            depth += 8
        elif mn.startswith('pop'):
            depth = max(0, depth - 8)
        elif mn in ('sub', 'add', 'and', 'lea') and ops.endswith(',%rsp'):
            i = IMM_RE.match(ops)
            if mn == 'sub' and i:
                depth = max(0, depth + imm(i.group(1)))
            elif mn == 'add' and i:
                depth = max(0, depth - imm(i.group(1)))
            elif mn == 'and' and i:
                depth += (-imm(i.group(1))) - 8 if imm(i.group(1)) < 0 else 0
            elif mn == 'lea':
                pass  # lea -N(%rbp),%rsp restores a frame: never deeper
            else:
                funcs[cur]['unbounded'] = True
        maxd = max(maxd, depth)
        if mn.startswith('ret'):
            end_of_path()
        if mn.startswith('call') or (mn.startswith('jmp') and '<' in ops):
            t = TARGET_RE.search(ops)
            tgt = t.group(1) if t else None
            if mn.startswith('call') and '*' in ops:
                funcs[cur]['indirect'] += 1
                continue
            # A following relocation line names the real target (unresolved call).
            pending_call = (mn, tgt)
    flush_pending()
    if cur is not None:
        funcs[cur]['frame'] = 8 + maxd
    if section_targets:
        # A call relocated against a bare section + addend cannot be mapped
        # to a function here: refuse to give a number that could be too low.
        sys.exit(f'stack-check: calls through section symbols not resolved: {sorted(section_targets)}')
    return funcs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('object', help='vexfs.ko (or any relocatable object)')
    ap.add_argument('--frame-limit', type=int, default=1024)
    ap.add_argument('--path-limit', type=int, default=6144)
    ap.add_argument('--top', type=int, default=10)
    ap.add_argument('--recursion', action='append', default=[], metavar='FUNC=DEPTH',
                    help='FUNC calls itself at most DEPTH-1 times (a stated, checked-in-code bound)')
    ap.add_argument('--demangle', action='store_true', default=True)
    a = ap.parse_args()

    funcs = parse(a.object)
    ours = set(funcs)
    # Indirect calls from the Rust core go to the registered callbacks.
    cbs = [c for c in CALLBACKS if c in ours]
    fmt_impls = [n for n in ours if FMT_IMPL.search(n)]
    fmt_sinks = [n for n in ours if FMT_SINK.search(n)]
    for name, f in funcs.items():
        if not (f['indirect'] and name.startswith('_R')):
            continue
        if FMT_WRITE.search(name):
            f['calls'].update(fmt_impls)
        elif FMT_CODE.search(name) or FMT_IMPL.search(name):
            f['calls'].update(fmt_sinks)
        else:
            f['calls'].update(cbs)
    calls = {n: {c for c in f['calls'] if c in ours} for n, f in funcs.items()}
    # Self-recursion with a stated bound: DEPTH activations of the frame.
    rec_bound = {}
    for spec in a.recursion:
        fn, _, d = spec.partition('=')
        rec_bound[fn] = int(d)
    for fn, d in rec_bound.items():
        if fn in calls and fn in calls[fn]:
            calls[fn].discard(fn)
            funcs[fn]['frame_one'] = funcs[fn]['frame']
            funcs[fn]['frame'] *= d

    # Deepest chain from each function (memoised DFS with cycle detection).
    best = {}
    state = {}
    cycles = []
    sys.setrecursionlimit(100000)

    def deep(n, stack):
        if state.get(n) == 2:
            return best[n]
        if state.get(n) == 1:
            cyc = stack[stack.index(n):] + [n]
            cycles.append(cyc)
            return (0, [])
        state[n] = 1
        stack.append(n)
        sub = (0, [])
        for c in sorted(calls[n]):
            d = deep(c, stack)
            if d[0] > sub[0]:
                sub = d
        stack.pop()
        state[n] = 2
        best[n] = (funcs[n]['frame'] + sub[0], [n] + sub[1])
        return best[n]

    for n in sorted(funcs):
        deep(n, [])

    names = sorted(funcs)
    dem = dict(zip(names, names))
    try:
        out = subprocess.run(['c++filt', '-r' if False else '--'], input='\n'.join(names),
                             capture_output=True, text=True, check=True).stdout.split('\n')
        dem = {n: (d if d else n) for n, d in zip(names, out)}
    except (OSError, subprocess.CalledProcessError):
        pass

    def short(n):
        d = dem.get(n, n)
        d = re.sub(r'::h[0-9a-f]{16}$', '', d)
        return d if len(d) <= 90 else d[:87] + '...'

    errors = []
    for n, f in funcs.items():
        if f['frame'] > a.frame_limit:
            errors.append(f'frame of {short(n)} is {f["frame"]} bytes (limit {a.frame_limit})')
        if f['unbounded']:
            errors.append(f'{short(n)} adjusts %rsp by a register (unbounded frame)')
    seen = set()
    for c in cycles:
        key = frozenset(c)
        if key not in seen:
            seen.add(key)
            errors.append('recursion: ' + ' -> '.join(short(x) for x in c))

    frames = sorted(funcs.items(), key=lambda kv: -kv[1]['frame'])
    print(f'stack-check: {len(funcs)} functions in {a.object}; '
          f'limits: frame {a.frame_limit} B, path {a.path_limit} B')
    print(f'largest frames:')
    for n, f in frames[:a.top]:
        print(f'  {f["frame"]:6d}  {short(n)}')
    roots = sorted(best.items(), key=lambda kv: -kv[1][0])
    deepest = roots[0] if roots else (None, (0, []))
    total, path = deepest[1]
    print(f'deepest VexFS chain: {total} bytes, {len(path)} frames:')
    for n in path:
        rec = f' (x{rec_bound[n]} recursion)' if n in rec_bound else ''
        print(f'  {funcs[n]["frame"]:6d}  {short(n)}{rec}')
    ind = [(n, f['indirect']) for n, f in funcs.items() if f['indirect'] and not n.startswith('_R')]
    print(f'indirect calls not followed (into the kernel or VFS ops): '
          f'{sum(k for _, k in ind)} sites in {len(ind)} C functions; '
          f'core indirect calls mapped to {", ".join(cbs) or "none"}')
    if total > a.path_limit:
        errors.append(f'deepest chain is {total} bytes (limit {a.path_limit})')
    for e in errors:
        print(f'stack-check: ERROR: {e}')
    print(f'STACK-MAX-FRAME {frames[0][1]["frame"] if frames else 0}')
    print(f'STACK-MAX-PATH {total}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
