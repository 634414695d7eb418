#!/usr/bin/env python3
"""`make bench` bookkeeping and report (bench/Makefile.inc).

  report.py --out DIR start --quick 0|1 --kver KVER ANN_N=... ANN_M=... ...
      Removes the previous run's result files under DIR, records the start time,
      the ANN knobs and the machine (CPU, RAM, kernel, QEMU, rustc, hnswlib, git
      commit) in DIR/run.json.
  report.py --out DIR mark PHASE
      Records that PHASE finished now (wall clock) in DIR/run.json.
  report.py --out DIR report --report REPORT.md --plot PLOT.png
      Writes the Markdown report and the recall-vs-QPS plot from the files the
      benchmarks wrote in this run. Every number comes from those files; a missing
      file, a file older than the run's start, a missing phase or field is an error
      (exit 1), never a default.
"""
import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "ann"))
from compare import first_at, qps_at_recall  # noqa: E402  (bench/ann/compare.py)

# In the order `make bench` runs them: the VM benchmarks (emulated time) first, then the
# host ANN benchmarks, which want an idle host (the real embeddings are made before them).
PHASES = ["bench-vm-fs", "bench-vm-knn", "bench-vm-chunks", "bench-vm-scope", "bench-vm-1m",
          "bench-ann", "bench-ann-cos", "bench-ann-real"]
VM_PHASES = [ph for ph in PHASES if ph.startswith("bench-vm-")]   # each loads build/vexfs.ko
ANN_FILES = ["ann/vexfs.json", "ann/hnswlib.json", "ann/table.txt"]
# bench-ann-cos (bench/ann/Makefile.inc): one JSON per engine, table and summary
COS_ENGINES = ["vexfs-f32", "vexfs-int8", "hnswlib", "hnswlib-thp", "usearch-bf16", "usearch-i8"]
COS_FILES = [f"ann/cos/{e}.json" for e in COS_ENGINES] + ["ann/cos/table.txt", "ann/cos/summary.json"]
# bench-ann-real: the same engines on real all-MiniLM-L6-v2 embeddings
REAL_FILES = [f"ann/real/{e}.json" for e in COS_ENGINES] + ["ann/real/table.txt", "ann/real/summary.json"]
VM_FILES = ["vm/fs-vs-ext4.json", "vm/fs-vs-ext4.txt", "vm/fs-vs-ext4.log",
            "vm/knn-and-mount.json", "vm/knn-and-mount.txt", "vm/knn-and-mount.log",
            "vm/chunks.json", "vm/chunks.txt", "vm/chunks.log",
            "vm/scoped-search.json", "vm/scoped-search.txt", "vm/scoped-search.log",
            "vm/knn-1m.json", "vm/knn-1m.txt", "vm/knn-1m.log"]
# bench/vm/scoped-search.sh: the methods measured in every scope, in table order
SCOPE_METHODS = ["scoped", "exact", "postfilt"]


class ReportError(Exception):
    pass


def die(msg):
    raise ReportError(msg)


def run(cmd):
    """stdout of a command, or an error naming it."""
    try:
        p = subprocess.run(cmd, cwd=TOP, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"cannot run {' '.join(cmd)}: {e}")
    return p.stdout.strip()


def now_utc():
    return dt.datetime.now(dt.timezone.utc)


def iso(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def cpuinfo():
    model, procs, cores_per_pkg, pkgs = None, 0, None, set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k == "processor":
                procs += 1
            elif k == "model name" and model is None:
                model = v
            elif k == "cpu cores" and cores_per_pkg is None:
                cores_per_pkg = int(v)
            elif k == "physical id":
                pkgs.add(v)
    if not model or not procs:
        die("no CPU model or processor count in /proc/cpuinfo")
    return {"model": model, "logical_cpus": procs, "usable_cpus": len(os.sched_getaffinity(0)),
            "cores_per_package": cores_per_pkg, "packages": len(pkgs) or None}


def meminfo_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    die("no MemTotal in /proc/meminfo")


def os_release():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def tree_state():
    """HEAD, uncommitted tracked files and the module the VM benchmarks load, now."""
    import hashlib
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"])   # "XY path" lines
    ko = os.path.join(TOP, "build", "vexfs.ko")
    h = None
    if os.path.exists(ko):
        with open(ko, "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()
    return {"git_commit": run(["git", "rev-parse", "HEAD"]),
            "git_dirty": [l.split(None, 1)[1] for l in dirty.splitlines() if l.strip()],
            "vexfs_ko_sha256": h}


def machine(kver):
    from importlib.metadata import version
    u = os.uname()
    dirty = run(["git", "status", "--porcelain", "--untracked-files=no"])   # "XY path" lines
    return {
        "cpu": cpuinfo(),
        "mem_total_kib": meminfo_kib(),
        "host_kernel": f"{u.sysname} {u.release} {u.version} {u.machine}",
        "os": os_release(),
        "qemu": run(["qemu-system-x86_64", "--version"]).splitlines()[0],
        "rustc": run(["rustc", "--version"]),
        "python": sys.version.split()[0],
        "hnswlib": version("hnswlib"),
        "usearch": version("usearch"),
        "numpy": version("numpy"),
        "guest_kernel_pkg": kver,
        "git_commit": run(["git", "rev-parse", "HEAD"]),
        "git_subject": run(["git", "log", "-1", "--format=%s"]),
        "git_dirty": [l.split(None, 1)[1] for l in dirty.splitlines() if l.strip()],
    }


def load_run(out):
    p = os.path.join(out, "run.json")
    if not os.path.exists(p):
        die(f"{p} is missing: run `make bench` (it starts with `report.py start`)")
    with open(p) as f:
        return json.load(f)


def save_run(out, r):
    p = os.path.join(out, "run.json")
    with open(p + ".tmp", "w") as f:
        json.dump(r, f, indent=1)
    os.replace(p + ".tmp", p)


def cmd_start(a):
    os.makedirs(a.out, exist_ok=True)
    for rel in ANN_FILES + COS_FILES + REAL_FILES + VM_FILES + ["run.json"]:
        p = os.path.join(a.out, rel)
        if os.path.exists(p):
            os.remove(p)
    ann = {}
    for kv in a.vars:
        k, sep, v = kv.partition("=")
        if not sep or not k.startswith("ANN_"):
            die(f"start: expected ANN_NAME=VALUE, got {kv!r}")
        ann[k] = v
    need = ["ANN_N", "ANN_NQ", "ANN_DIM", "ANN_M", "ANN_EFC", "ANN_EF", "ANN_REPEAT", "ANN_ROUNDS", "ANN_CLOCK",
            "ANN_COS_N", "ANN_COS_NQ", "ANN_COS_EF", "ANN_RERANK", "ANN_REAL_N", "ANN_REAL_NQ", "ANN_REAL_DATA"]
    missing = [k for k in need if k not in ann]
    if missing:
        die(f"start: ANN knobs not given: {missing}")
    # tests/vm/run.sh runs QEMU with -icount shift=0,sleep=${VEXFS_VM_ICOUNT_SLEEP:-off}
    sleep = os.environ.get("VEXFS_VM_ICOUNT_SLEEP") or "off"
    if sleep not in ("on", "off"):
        die(f"VEXFS_VM_ICOUNT_SLEEP={sleep!r}: expected on or off")
    r = {"start": time.time(), "start_loadavg": loadavg(), "quick": a.quick == "1", "icount_sleep": sleep,
         "ann": ann, "machine": machine(a.kver), "phases": {}}
    save_run(a.out, r)
    print(f"bench: run started {iso(r['start'])}, results under {a.out}/")


def cmd_mark(a):
    r = load_run(a.out)
    if a.phase not in PHASES:
        die(f"mark: unknown phase {a.phase!r}")
    r["phases"][a.phase] = {"end": time.time(), "loadavg": loadavg(), "tree": tree_state()}
    save_run(a.out, r)


# ---------------------------------------------------------------- report

def read_input(out, rel, start):
    p = os.path.join(out, rel)
    if not os.path.exists(p):
        die(f"input {p} is missing (the benchmark that writes it did not run or failed)")
    if os.path.getmtime(p) < start:
        die(f"input {p} is older than this run's start ({iso(start)}): stale, not from this run")
    with open(p, errors="replace") as f:
        text = f.read()
    if rel.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            die(f"input {p} is not valid JSON: {e}")
    return text


def read_vm_bench(out, name, start):
    """A VM benchmark's vm/NAME.json (returned), .txt (checked only) and .log (returned)."""
    data = read_input(out, f"vm/{name}.json", start)
    read_input(out, f"vm/{name}.txt", start)
    return data, read_input(out, f"vm/{name}.log", start)


def field(d, *path, src=None):
    """d[path[0]][path[1]]...; src names the input (and row) in the error."""
    cur = d
    for k in path:
        if not isinstance(cur, dict) or k not in cur:
            die(f"{src + ': ' if src else ''}field {'.'.join(path)} missing")
        cur = cur[k]
    return cur


def fmt_dur(s):
    s = int(round(s))
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


def ms(ns):
    return f"{ns / 1e6:,.1f}"


def plot(path, v, h, title, footer):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=120)
    # VexFS's ef labels above the points, hnswlib's below: they stay apart where the curves meet
    for res, name, style, off in ((v, "VexFS core HNSW (vexfs-bench)", "o-", (-6, 7)),
                                  (h, "hnswlib", "s--", (4, -12))):
        pts = sorted(res["results"], key=lambda r: r["ef"])
        ax.plot([r["recall"] for r in pts], [r["qps"] for r in pts], style, label=name)
        for r in pts:
            ax.annotate(f"ef {r['ef']}", (r["recall"], r["qps"]), textcoords="offset points",
                        xytext=off, fontsize=7, ha="right" if off[0] < 0 else "left")
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (log scale)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.text(0.01, 0.01, footer, fontsize=7, alpha=0.8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path + ".tmp.png", metadata={"Software": None})
    plt.close(fig)
    os.replace(path + ".tmp.png", path)


def qps_ratio(q, e, o, t):
    """Engine e's QPS at recall t over engine o's, as text."""
    x, y = q[e][t], q[o][t]
    return f"{x / y:.2f}x" if x and y else "n/a (recall not reached)"


def engine_ratios(q):
    """The summary's ratios of a 384-d run: every engine against hnswlib,
    and the f32 mode also against hnswlib given huge pages."""
    def r(e, o):
        return f"{qps_ratio(q, e, o, 0.95)} / {qps_ratio(q, e, o, 0.99)}"
    return (f"QPS at recall@10 0.95 / 0.99 relative to hnswlib: VexFS f32 {r('vexfs-f32', 'hnswlib')} (against "
            f"hnswlib given huge pages too: {r('vexfs-f32', 'hnswlib-thp')}), VexFS int8 {r('vexfs-int8', 'hnswlib')}, "
            f"usearch bf16 {r('usearch-bf16', 'hnswlib')}, usearch i8 {r('usearch-i8', 'hnswlib')}")


def read_cos_run(out, sub, tag, start, efs):
    """The engines' JSON of one 384-d cosine run (`ann/SUB/`), checked against
    the knobs (title tag, ef list, modes) and the run's summary, and each
    engine's QPS at recall 0.95 / 0.99."""
    runs = {e: read_input(out, f"ann/{sub}/{e}.json", start) for e in COS_ENGINES}
    table = read_input(out, f"ann/{sub}/table.txt", start)
    summary = read_input(out, f"ann/{sub}/summary.json", start)
    if tag not in table or field(summary, "title") != tag:
        die(f"ann/{sub}/table.txt or summary.json does not describe this run's knobs ({tag!r})")
    for e, res in runs.items():
        got = [x["ef"] for x in field(res, "results")]
        if got != efs:
            die(f"ann/{sub}/{e}.json has results for ef {got}, the run asked for {efs}")
        field(res, "build_s")
        field(res, "bytes_per_vector")
        if field(summary, "engines", e, "results") != res["results"]:
            die(f"ann/{sub}/summary.json does not hold this run's {e} results")
    if field(runs["vexfs-int8"], "mode") != "int8" or field(runs["vexfs-f32"], "mode") != "f32":
        die(f"ann/{sub}/vexfs-*.json: the f32 / int8 runs are not in the modes their names say")
    return runs, {e: {t: qps_at_recall(runs[e]["results"], t) for t in (0.95, 0.99)} for e in COS_ENGINES}


def cos_tables(w, runs, q, efs, clock):
    """Section 1b's / 1c's two tables: recall and QPS per ef of every engine,
    then QPS at recall 0.95 / 0.99 with ratios, build time and memory."""
    def ratio(e, o, t):
        return qps_ratio(q, e, o, t)
    w("| ef | " + " | ".join(f"{e} recall@10 | {e} QPS" for e in COS_ENGINES) + " |")
    w("|---:|" + "---:|---:|" * len(COS_ENGINES))
    for i, ef in enumerate(efs):
        w(f"| {ef} | " + " | ".join(f"{runs[e]['results'][i]['recall']:.4f} | {runs[e]['results'][i]['qps']:,.0f}"
                                  for e in COS_ENGINES) + " |")
    w("")
    others = ["hnswlib", "hnswlib-thp", "usearch-bf16", "usearch-i8"]
    w("| engine | QPS at recall@10 0.95 | QPS at 0.99 | 0.95 / 0.99 vs " + " | 0.95 / 0.99 vs ".join(others)
      + f" | build ({clock}) | resident bytes per vector |")
    w("|---|---:|---:|" + "---:|" * len(others) + "---:|---:|")
    for e in COS_ENGINES:
        qq = [f"{q[e][t]:,.0f}" if q[e][t] else "not reached" for t in (0.95, 0.99)]
        rs = [("" if o == e else f"{ratio(e, o, 0.95)} / {ratio(e, o, 0.99)}") for o in others]
        mem = f"{runs[e]['bytes_per_vector']:.1f}"
        if e == "vexfs-int8":
            mem += f" (+ {runs[e]['float_bytes_per_vector']:.0f} float32, not resident)"
        w(f"| {e} | {qq[0]} | {qq[1]} | " + " | ".join(rs) + f" | {runs[e]['build_s']:.2f} s | {mem} |")
    w("")


def cmd_report(a):
    r = load_run(a.out)
    start = r["start"]
    for ph in PHASES:
        if ph not in r["phases"]:
            die(f"phase {ph} has no end mark in {a.out}/run.json: the run did not finish it")
    m, ann = r["machine"], r["ann"]
    sleep = field(r, "icount_sleep")
    v = read_input(a.out, "ann/vexfs.json", start)
    h = read_input(a.out, "ann/hnswlib.json", start)
    table = read_input(a.out, "ann/table.txt", start)
    fs, fslog = read_vm_bench(a.out, "fs-vs-ext4", start)
    kn, knlog = read_vm_bench(a.out, "knn-and-mount", start)
    ch, chlog = read_vm_bench(a.out, "chunks", start)
    sc, sclog = read_vm_bench(a.out, "scoped-search", start)
    big, biglog = read_vm_bench(a.out, "knn-1m", start)
    bigp = field(big, "params", src="knn-1m.json")
    big_states = {s_: field(big, s_, src="knn-1m.json") for s_ in ("cold", "warm", "coldpc", "afterwarm")}
    big_warmup = field(big, "warmup", src="knn-1m.json")
    field(big_warmup, "ns", src="knn-1m.json warmup")
    for s_, x in big_states.items():
        for k_ in ("qps", "busy_ns_per_query", "idle_ns_per_query", "kib_read_per_query", "distances_per_query",
                   "kernel_search_ns_per_query", "index_memory_before", "index_memory_after", "elapsed_ns", "idle_ns"):
            field(x, k_, src=f"knn-1m.json {s_}")

    # ANN: the JSON must be the run the knobs describe
    n, dim, nq = int(ann["ANN_N"]), int(ann["ANN_DIM"]), int(ann["ANN_NQ"])
    efs = [int(x) for x in ann["ANN_EF"].split(",")]
    cpu_time = ann["ANN_CLOCK"] == "--cpu-time"
    tag = f"n={n} dim={dim} M={ann['ANN_M']} ef_construction={ann['ANN_EFC']} {'CPU time' if cpu_time else 'wall time'}"
    if tag not in table:
        die(f"ann/table.txt does not describe this run's knobs ({tag!r})")
    for name, res in (("vexfs", v), ("hnswlib", h)):
        got = [x["ef"] for x in field(res, "results")]
        if got != efs:
            die(f"ann/{name}.json has results for ef {got}, the run asked for {efs}")
        for x in res["results"]:
            for k in ("recall", "qps"):
                field(x, k)
        field(res, "build_s")
        field(res, "bytes_per_vector")
    clock = "process CPU time" if cpu_time else "wall-clock time"

    # ANN, 384-d cosine, generated and real: every engine's JSON must be the run the knobs describe
    cn, cnq = int(ann["ANN_COS_N"]), int(ann["ANN_COS_NQ"])
    cefs = [int(x) for x in ann["ANN_COS_EF"].split(",")]
    knobs = f"M={ann['ANN_M']} ef_construction={ann['ANN_EFC']} {'CPU time' if cpu_time else 'wall time'}"
    cos, cq = read_cos_run(a.out, "cos", f"n={cn} dim=384 cosine {knobs}", start, cefs)
    real, rq = read_cos_run(a.out, "real", f"kernel Documentation chunks all-MiniLM-L6-v2 dim=384 cosine {knobs}",
                            start, cefs)
    rinfo_path = os.path.join(ann["ANN_REAL_DATA"], "info.json")
    try:
        with open(rinfo_path) as f:
            rinfo = json.load(f)
    except (OSError, ValueError) as e:
        die(f"{rinfo_path}: {e}")
    if field(rinfo, "nq") != int(ann["ANN_REAL_NQ"]):
        die(f"{rinfo_path}: {rinfo['nq']} queries, the run asked for {ann['ANN_REAL_NQ']}")

    # VM: guest kernel as the VM logs printed it
    guest = {}
    for name, log in (("fs", fslog), ("knn", knlog), ("chunks", chlog), ("scope", sclog)):
        mm = re.search(r"Linux version (\S+)", log)
        if not mm:
            die(f"no 'Linux version' line in the {name} VM log")
        guest[name] = mm.group(1)
        if "run.sh: script exit code: 0" not in log:
            die(f"the {name} VM log does not end with script exit code 0")
    fsp = field(fs, "params")
    fsr = field(fs, "results")
    knp = field(kn, "params")
    knk = field(kn, "knn")
    rec = re.search(r"recall@10 = ([0-9.]+) over (\d+) queries", str(field(knk, "kernel_recall")))
    if not rec:
        die(f"knn-and-mount.json: kernel recall not measured ({knk['kernel_recall']!r})")
    k_recall = float(rec.group(1))
    user = field(knk, "user")
    if len(user["results"]) != 1:
        die("knn-and-mount.json: expected one userspace result (one ef)")
    u_recall = field(user["results"][0], "recall")
    mount = field(kn, "mount_ns")

    # chunk sets (bench/vm/chunks.sh): every number the section and the summary quote
    cj = "vm/chunks.json"
    for k in ("n", "per_file", "dim", "queries", "k", "ef"):
        field(ch, k, src=cj)
    ch_imp = {k: field(ch, "import_vectors_per_s", k, src=cj) for k in ("chunked", "single")}
    ch_qps = {k: field(ch, "knn_qps", k, src=cj) for k in ("chunked", "single", "chunked_per_file")}
    ch_rec = {k: field(ch, "recall_at_10", k, src=cj) for k in ("chunked", "single", "per_file_files")}
    for what, d in (("import_vectors_per_s", ch_imp), ("knn_qps", ch_qps)):
        for k, x in d.items():
            if not x > 0:   # a rate of 0 is no measurement, and it would divide below
                die(f"{cj}: {what}.{k} is {x!r}, not a measurement")

    # scoped kNN (bench/vm/scoped-search.sh): one row per scope and method, scopes in the
    # script's order (smallest share first)
    sj = "vm/scoped-search.json"
    for k in ("n", "dim", "queries", "k", "ef", "postfilter_k"):
        field(sc, k, src=sj)
    scopes, share, srow = [], {}, {}
    for i, x in enumerate(field(sc, "results", src=sj)):
        row = f"{sj} results[{i}]"
        s_, m_ = field(x, "scope", src=row), field(x, "method", src=row)
        if m_ not in SCOPE_METHODS:
            die(f"{sj}: unknown method {m_!r} for scope {s_}")
        if (s_, m_) in srow:
            die(f"{sj}: two results for scope {s_} method {m_}")
        if s_ not in share:
            scopes.append(s_)
            share[s_] = field(x, "share", src=row)
        srow[(s_, m_)] = {"qps": field(x, "qps", src=row), "recall": field(x, "recall_at_10", src=row)}
        if not srow[(s_, m_)]["qps"] > 0:
            die(f"{sj}: scope {s_} method {m_} has qps {x['qps']!r}, not a measurement")
    if not scopes:
        die(f"{sj}: no results")
    for s_ in scopes:
        for m_ in SCOPE_METHODS:
            if (s_, m_) not in srow:
                die(f"{sj}: no result for scope {s_} method {m_}")

    def pct(s_):
        """The share as the script wrote it ("10%"), spaced as the report writes percentages."""
        return share[s_].replace("%", " %")

    # derived numbers (all from the inputs above)
    q95 = (qps_at_recall(v["results"], 0.95), qps_at_recall(h["results"], 0.95))
    q99 = (qps_at_recall(v["results"], 0.99), qps_at_recall(h["results"], 0.99))
    hm = {x["ef"]: x for x in h["results"]}
    end = max(p["end"] for p in r["phases"].values())
    wall = end - start
    cpu = m["cpu"]
    date = iso(start)
    commit = m["git_commit"][:12]
    dirty = (f"with uncommitted changes to {', '.join(m['git_dirty'])}" if m["git_dirty"]
             else "clean tree")

    L = []
    w = L.append
    w("# VexFS benchmark report")
    w("")
    w(f"Generated by `make bench` ({'BENCH_QUICK=1: small sizes, a pipeline check, not the reference numbers' if r['quick'] else 'default sizes'}). "
      f"Run started {date}, measured at commit `{commit}` ({m['git_subject']}; {dirty}). "
      "Every number below was read from the files the benchmarks wrote in this run "
      f"(`{a.out}/`, listed at the end) by `bench/report.py`; rerun `make bench` to regenerate.")
    w("")
    w(f"**Times measured inside the VM are emulated**: QEMU TCG with `-icount shift=0,sleep={sleep}`, one "
      "vCPU, so guest time counts emulated instructions (1 instruction = 1 ns) while the vCPU runs, "
      + ("and leaps to the next timer deadline while it idles (e.g. waiting for the virtual disk); "
         if sleep == "off" else
         "and passes at the host's real-time speed while it idles (`VEXFS_VM_ICOUNT_SLEEP=on`: e.g. "
         "waiting for the virtual disk, on a shared host); ")
      + "it says nothing about real hardware speed. Only ratios between measurements of the same VM run "
      "are meaningful, and for operations that wait for the disk the *busy* ratio (idle time "
      "removed) is the one to read. Host ANN numbers are real measurements on the machine below "
      f"({clock}, single thread), on a machine shared with other work.")
    w("")
    w("## Summary")
    w("")
    if q95[0] and q95[1]:
        w(f"- ANN (host, {n:,} x {dim}): at recall@10 0.95 the VexFS core answers {q95[0]:,.0f} queries/s, "
          f"hnswlib {q95[1]:,.0f} (VexFS/hnswlib {q95[0] / q95[1]:.2f}); index build "
          f"{v['build_s']:.2f} s vs {h['build_s']:.2f} s (VexFS/hnswlib {v['build_s'] / h['build_s']:.2f}).")
    else:
        w(f"- ANN (host, {n:,} x {dim}): recall@10 0.95 not reached by "
          f"{'VexFS' if not q95[0] else 'hnswlib'} at any ef of this run; build "
          f"{v['build_s']:.2f} s vs {h['build_s']:.2f} s.")
    def cos_ratio(e, o, t):
        return qps_ratio(cq, e, o, t)
    w(f"- ANN (host, {cn:,} x 384, cosine): {engine_ratios(cq)}; resident bytes per "
      f"vector: VexFS int8 {cos['vexfs-int8']['bytes_per_vector']:.0f} (+ {cos['vexfs-int8']['float_bytes_per_vector']:.0f} "
      f"float32 read to re-rank), hnswlib {cos['hnswlib']['bytes_per_vector']:.0f}, usearch bf16 "
      f"{cos['usearch-bf16']['bytes_per_vector']:.0f}, i8 {cos['usearch-i8']['bytes_per_vector']:.0f} (section 1b).")
    w(f"- ANN (host, real all-MiniLM-L6-v2 embeddings of {rinfo['n']:,} kernel documentation chunks): "
      f"{engine_ratios(rq)} (section 1c).")
    def both(x):
        b = f", busy {x['busy_ratio']:.2f}x" if x["busy_ratio"] is not None else ""
        return f"{x['ratio']:.2f}x ext4's elapsed time{b}"
    w("- VexFS vs ext4 (VM, emulated; elapsed ratios of operations that waited for the disk are "
      f"dominated by idle time{' leaps' if sleep == 'off' else ''}, the busy ratio counts executed instructions only, see section 2): "
      f"sequential write {fsp['mib']} MiB + fsync {both(fsr['seqwrite'])}; "
      f"cold sequential read {both(fsr['seqread'])}; O_DIRECT write into a preallocated file "
      f"{both(fsr['dioseqwrite'])}, O_DIRECT read {both(fsr['dioseqread'])}; create+stat+unlink of {fsp['files']:,} files "
      f"{both(fsr['files'])} (create alone {both(fsr['create'])}).")
    w(f"- kNN through the ioctl vs the same core in a userspace process (VM, emulated): "
      f"{knk['ratio']:.2f}x the userspace QPS, recall@10 {k_recall:.4f} vs {u_recall:.4f}.")
    sec = mount["second"]
    w(f"- Mount with {knp['mount_big']:,} vectors (graph loaded, second mount) takes "
      f"{sec['big'] / sec['small']:.0f}x the elapsed emulated time of {knp['mount_small']:,} vectors "
      f"({ms(sec['big'])} ms vs {ms(sec['small'])} ms, of which idle {ms(sec['big_idle'])} and {ms(sec['small_idle'])}).")
    w(f"- Chunk sets (VM, emulated, {ch['n']:,} vectors x {ch['dim']}): {ch['n'] // ch['per_file']:,} files x "
      f"{ch['per_file']} chunks vs {ch['n']:,} files x 1 vector import {ch_imp['chunked'] / ch_imp['single']:.2f}x "
      f"the vectors/s; kNN {ch_qps['chunked'] / ch_qps['single']:.2f}x the queries/s end to end (vexctl names "
      f"fewer files), `--per-file` {ch_qps['chunked_per_file'] / ch_qps['single']:.2f}x; recall@10 "
      f"{ch_rec['chunked']:.4f} vs {ch_rec['single']:.4f} (section 3b).")
    w(f"- Scoped kNN (VM, emulated, {sc['n']:,} vectors x {sc['dim']}): scoped search queries/s, its ratio to "
      "an exact scan of the subtree and to post-filtering a whole-volume search, recall@10 (post-filtering's): "
      + "; ".join(f"{pct(s_)} of the vectors {srow[(s_, 'scoped')]['qps']:,.1f} q/s, "
                  f"{srow[(s_, 'scoped')]['qps'] / srow[(s_, 'exact')]['qps']:.2f}x exact, "
                  f"{srow[(s_, 'scoped')]['qps'] / srow[(s_, 'postfilt')]['qps']:.2f}x post-filter, "
                  f"recall {srow[(s_, 'scoped')]['recall']:.4f} ({srow[(s_, 'postfilt')]['recall']:.4f})"
                  for s_ in scopes)
      + " (section 3c).")
    bc, bw, bp = big_states["cold"], big_states["warm"], big_states["coldpc"]
    w(f"- kNN at {bigp['n']:,} vectors x {bigp['dim']} in a {bigp['mem_mib']} MiB VM (emulated, ef {bigp['ef']}): "
      f"warm {bw['qps']:,.1f} q/s, first pass after a lazy mount with the page cache dropped {bc['qps']:,.1f} q/s "
      f"({bw['qps'] / bc['qps']:.1f}x slower), page cache dropped with the index loaded {bp['qps']:,.1f} q/s; "
      f"recall@10 {field(big, 'recall_warm'):.4f} warm, {field(big, 'recall_cold'):.4f} cold; "
      f"{bw['index_memory_after'] / bigp['n']:.1f} bytes per vector pinned after the passes (section 3d).")
    w(f"- Wall time of this `make bench`: {fmt_dur(wall)}.")
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| CPU | {cpu['model']} |")
    cores = f"{cpu['logical_cpus']} logical CPUs ({cpu['usable_cpus']} usable by this process)"
    if cpu["cores_per_package"]:
        cores += f", {cpu['cores_per_package']} cores per package"
    w(f"| cores | {cores} |")
    w(f"| RAM | {m['mem_total_kib'] / 1024 / 1024:.1f} GiB (MemTotal) |")
    w(f"| host kernel | {m['host_kernel']} |")
    if m["os"]:
        w(f"| OS | {m['os']} |")
    w(f"| QEMU | {m['qemu']} (TCG, `-icount shift=0,sleep={sleep}`, 1 vCPU, `-cpu max`) |")
    gk = sorted(set(guest.values()))
    w(f"| guest kernel | {', '.join(gk)} (from the VM logs) |")
    w(f"| rustc | {m['rustc']} |")
    w(f"| Python, hnswlib, usearch, numpy | {m['python']}, hnswlib {m['hnswlib']}, usearch {m.get('usearch', 'not recorded')}, numpy {m['numpy']} |")
    w(f"| date | {date} |")
    w(f"| git commit | `{m['git_commit']}` ({dirty}) at the start |")
    # the tree is shared: say if HEAD, the uncommitted files or the module changed during the run
    moved = []
    for ph in PHASES:
        t = field(r["phases"][ph], "tree")
        if t["git_commit"] != m["git_commit"] or t["git_dirty"] != m["git_dirty"]:
            moved.append(f"after {ph}: `{t['git_commit'][:12]}`"
                         + (f" with uncommitted changes to {', '.join(t['git_dirty'])}" if t["git_dirty"] else ""))
    w(f"| tree during the run | " + ("unchanged (same HEAD, no other uncommitted files) at the end of every benchmark"
                                     if not moved else "changed by other work: " + "; ".join(moved)) + " |")
    kos = [field(r["phases"][ph], "tree")["vexfs_ko_sha256"] for ph in VM_PHASES]
    if None in kos:
        die("build/vexfs.ko missing at the end of a VM benchmark")
    w("| `build/vexfs.ko` (sha256) | " + (f"`{kos[0][:16]}` after every VM benchmark" if len(set(kos)) == 1
          else ", ".join(f"`{ko[:16]}` after {ph}" for ph, ko in zip(VM_PHASES, kos)) + ": rebuilt during the run")
      + " |")
    w(f"| load average (1/5/15 min) | start {r['start_loadavg']}; after "
      + "; after ".join(f"{ph} {r['phases'][ph]['loadavg']}" for ph in PHASES) + " |")
    prev = start
    spans = []
    for ph in PHASES:
        spans.append(f"{ph} {fmt_dur(r['phases'][ph]['end'] - prev)}")
        prev = r["phases"][ph]["end"]
    w(f"| wall time | {fmt_dur(wall)} from the start to the end of the last benchmark: {', '.join(spans)} "
      "(bench-vm-fs includes `make all`; bench-ann includes making the real embeddings' dataset of "
      "bench-ann-real, which the first run on a machine spends long embedding) |")
    w("")

    w("## 1. ANN: VexFS core HNSW vs hnswlib (host)")
    w("")
    w(f"`make bench-ann`: {n:,} base vectors x {dim} dimensions (seeded clustered data, "
      f"`bench/ann/gen_dataset.py`), {nq:,} queries, exact top-10 ground truth, L2. Both "
      f"libraries build with M {ann['ANN_M']}, ef_construction {ann['ANN_EFC']} on one thread; "
      f"QPS is the best of {ann['ANN_REPEAT']} pass(es) over all queries in each of {ann['ANN_ROUNDS']} "
      f"round(s), the two libraries alternating, and per ef the faster round counts; measured as {clock}. "
      "VexFS is `vexfs-bench`: the kernel's `no_std` core HNSW and SIMD distance kernels in a "
      f"host process, its vectors and graph in memory advised for transparent huge pages "
      f"({v.get('huge_page_bytes', 0) / 2**20:,.0f} MiB of the process in huge pages), as the kernel reads its "
      "index through the direct map's large pages; hnswlib runs as installed (4 KiB pages; section 1b "
      "also measures it with huge pages). QPS ratios > 1: VexFS answers more queries per second; build-time ratio < 1: "
      "VexFS builds faster. This is one run on a shared machine: process CPU time leaves out waiting "
      "for a CPU but not cache and memory-bandwidth contention from other work, so the ratios move "
      "between runs; compare several runs before reading much into a few percent.")
    w("")
    w(f"![recall@10 vs QPS]({os.path.relpath(a.plot, os.path.dirname(a.report) or '.')})")
    w("")
    w("| ef | VexFS recall@10 | VexFS QPS | hnswlib recall@10 | hnswlib QPS | QPS VexFS/hnswlib |")
    w("|---:|---:|---:|---:|---:|---:|")
    for x in v["results"]:
        o = hm[x["ef"]]
        w(f"| {x['ef']} | {x['recall']:.4f} | {x['qps']:,.0f} | {o['recall']:.4f} | {o['qps']:,.0f} | {x['qps'] / o['qps']:.2f} |")
    w("")
    w("| at equal recall | VexFS | hnswlib | VexFS/hnswlib |")
    w("|---|---:|---:|---:|")
    for tgt, (qa, qb) in ((0.95, q95), (0.99, q99)):
        if qa and qb:
            w(f"| QPS at recall@10 {tgt} (interpolated between ef points) | {qa:,.0f} | {qb:,.0f} | {qa / qb:.2f} |")
        else:
            w(f"| QPS at recall@10 {tgt} | {'%.0f' % qa if qa else 'not reached'} | {'%.0f' % qb if qb else 'not reached'} | |")
    fa, fb = first_at(v["results"], 0.95), first_at(h["results"], 0.95)
    if fa and fb:
        w(f"| first ef with recall >= 0.95 | ef {fa['ef']}: {fa['qps']:,.0f} QPS | ef {fb['ef']}: {fb['qps']:,.0f} QPS | {fa['qps'] / fb['qps']:.2f} |")
    w("")
    w("| build and size | VexFS | hnswlib | VexFS/hnswlib |")
    w("|---|---:|---:|---:|")
    w(f"| index build ({clock}) | {v['build_s']:.2f} s | {h['build_s']:.2f} s | {v['build_s'] / h['build_s']:.2f} |")
    w(f"| bytes per vector (VexFS: graph words + vectors; hnswlib: saved index) | {v['bytes_per_vector']:.1f} | {h['bytes_per_vector']:.1f} | {v['bytes_per_vector'] / h['bytes_per_vector']:.2f} |")
    if "bytes_per_vector_rss" in h:
        w(f"| hnswlib process RSS growth per vector during the build | | {h['bytes_per_vector_rss']:.1f} | |")
    w("")

    w("## 1b. ANN: 384-d cosine, f32 and int8 modes vs hnswlib and usearch (host)")
    w("")
    w(f"`make bench-ann-cos`: {cn:,} unit vectors x 384 dimensions (seeded, power-law variance spectrum "
      f"under a random rotation, clustered: shaped like all-MiniLM-L6-v2 sentence embeddings, "
      f"`bench/ann/gen_cos_dataset.py`), {cnq:,} queries, exact top-10 cosine ground truth. Every engine "
      f"builds with M {ann['ANN_M']} (usearch: connectivity), ef_construction {ann['ANN_EFC']} on one "
      f"thread; QPS is the best of {ann['ANN_REPEAT']} pass(es) in each of {ann['ANN_ROUNDS']} round(s) "
      f"(the engines alternating, per ef the faster round), measured as {clock}. VexFS f32 searches "
      "unit-length copies of the vectors (one dot product per distance). VexFS int8 builds the same "
      "graph on float32, then int8 codes (per-dimension min/scale, `vexfs_simd::quant`) steer the search "
      + ("and the whole beam is re-ranked in float32" if ann["ANN_RERANK"] == "0" else
         f"and the best {ann['ANN_RERANK']} candidates are re-ranked in float32")
      + "; its bytes per vector count what stays resident (graph + codes + quantiser), the float32 "
      "vectors it reads to re-rank are listed apart (in the kernel they live in the page cache). "
      "hnswlib: saved index size; usearch: its saved index size (vectors in its dtype + graph). "
      "vexfs-bench keeps the float vectors and the graph in memory advised for transparent huge pages, "
      "because the kernel reads them from the page cache through the direct map's large pages; its int8 "
      "codes stay in 4 KiB pages, as the kernel's vmalloc'ed codes do (`--no-huge-pages` measures "
      "without huge pages). hnswlib and usearch run as installed, with 4 KiB pages on this host; hnswlib-thp "
      "is hnswlib run with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, so that malloc advises huge pages for "
      "its arrays too. Memory in huge pages after the searches: "
      + ", ".join(f"{e} {cos[e].get('huge_page_bytes', 0) / 2**20:,.0f} MiB" for e in COS_ENGINES
                  if "huge_page_bytes" in cos[e]) + ".")
    w("")
    cos_tables(w, cos, cq, cefs, clock)
    w(f"Compressed vs f32 mode (QPS at recall@10 0.95 / 0.99): {cos_ratio('vexfs-int8', 'vexfs-f32', 0.95)} / "
      f"{cos_ratio('vexfs-int8', 'vexfs-f32', 0.99)}. Ratios are QPS at the same interpolated recall, > 1: the "
      "row's engine answers more queries per second. The table of the run is `ann/cos/table.txt`.")
    w("")

    w("## 1c. ANN: real sentence embeddings (all-MiniLM-L6-v2, 384-d cosine, host)")
    w("")
    w(f"`make bench-ann-real`: every `.rst`/`.txt` file of the Linux kernel's `Documentation/` (Debian's "
      f"linux-source-6.1) split as `vexctl index` splits files (200-token chunks, 32 tokens of overlap) and "
      f"embedded by `vexctl embed` with all-MiniLM-L6-v2 (`bench/ann/embed_docs.sh`): {rinfo['chunks']:,} "
      f"chunks, {rinfo['distinct']:,} distinct vectors, of which {rinfo['nq']:,} held out as queries and "
      f"{rinfo['n']:,} are the base (`bench/ann/gen_real_dataset.py`, seed {rinfo['seed']}); exact top-10 "
      "cosine ground truth. Engines, knobs and memory as in section 1b.")
    w("")
    cos_tables(w, real, rq, cefs, clock)
    w(f"The table of the run is `ann/real/table.txt`.")
    w("")

    w("## 2. VexFS vs ext4 in the VM (emulated time)")
    w("")
    w(f"`make bench-vm-fs` (`bench/vm/fs-vs-ext4.sh`): both filesystems on same-sized virtio disks "
      f"({fsp['disk']} each) in one VM run; best of {fsp['rounds']} round(s). "
      "**Times are emulated (QEMU -icount)**, not real-hardware times; compare the ratio column. "
      "Ratio > 1: VexFS takes longer than ext4.")
    w("")
    w("| operation | VexFS (ms, emulated) | of which idle | ext4 (ms, emulated) | of which idle | VexFS/ext4 elapsed | VexFS/ext4 busy |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    names = [("seqwrite", f"sequential write {fsp['mib']} MiB (1 MiB writes) + fsync"),
             ("seqread", f"sequential read {fsp['mib']} MiB, cold cache"),
             ("dioseqwrite", f"O_DIRECT write {fsp['mib']} MiB (1 MiB writes) into a preallocated file + fsync"),
             ("dioseqread", f"O_DIRECT read {fsp['mib']} MiB"),
             ("create", f"create {fsp['files']:,} files in one directory"),
             ("stat", f"stat {fsp['files']:,} files"),
             ("unlink", f"unlink {fsp['files']:,} files"),
             ("files", f"create + stat + unlink {fsp['files']:,} files")]
    for key, label in names:
        x = field(fsr, key)
        for k in ("vexfs_ns", "ext4_ns", "ratio", "vexfs_idle_ns", "ext4_idle_ns", "busy_ratio"):
            field(x, k)
        busy = f"{x['busy_ratio']:.2f}" if x["busy_ratio"] is not None else "n/a (no busy time)"
        w(f"| {label} | {ms(x['vexfs_ns'])} | {ms(x['vexfs_idle_ns'])} | {ms(x['ext4_ns'])} | "
          f"{ms(x['ext4_idle_ns'])} | {x['ratio']:.2f} | {busy} |")
    w("")
    w("*Idle* is the guest's idle + iowait time during the operation (`/proc/stat`, counted in 10 ms "
      "ticks). "
      + ("Under `-icount sleep=off` an idle vCPU's clock leaps to the next timer deadline, so "
         "idle time > 0 shows that the operation waited (for the virtual disk or a timer), but its size "
         "reflects host disk timing and guest timers, not work, and is not reproducible between runs: "
         "where a row has idle time, its elapsed ratio is dominated by those leaps. "
         if sleep == "off" else
         "Under `-icount sleep=on` idle time is real time the guest waited (for the virtual disk on a "
         "shared host, or a timer): it is not emulated work and varies between runs. ")
      + "*Busy* = elapsed - "
      "idle is the emulated time the vCPU spent executing instructions (VexFS, ext4 and everything "
      "else the guest ran meanwhile, e.g. writeback and journal threads), the comparable cost measure.")
    w("")

    w("## 3. kNN through the ioctl vs userspace, and mount time (VM, emulated time)")
    w("")
    w(f"`make bench-vm-knn` (`bench/vm/knn-and-mount.sh`), one VM run. kNN: {knp['n']:,} vectors of "
      f"dimension {knp['dim']} (L2) on a VexFS image, {knp['nq']} queries, k {knp['k']}, ef {knp['ef']}, "
      f"M {knp['M']}, ef_construction {knp['ef_construction']}, best of {knp['rounds']} pass(es). "
      "The ioctl path is `VEXFS_IOC_SEARCH` from a guest process; the userspace path is "
      "`vexfs-bench` (the same core, static build) in the same guest. **Emulated time**: "
      "compare the ratio.")
    w("")
    w("| search path | QPS (emulated) | recall@10 |")
    w("|---|---:|---:|")
    w(f"| ioctl `VEXFS_IOC_SEARCH` (kernel) | {knk['kernel_qps']:,.1f} | {k_recall:.4f} |")
    w(f"| `vexfs-bench` in userspace (same core) | {knk['user_qps']:,.1f} | {u_recall:.4f} |")
    w(f"| kernel/userspace QPS ratio | {knk['ratio']:.2f} | |")
    w("")
    w(f"Mount time, images of {knp['mount_small']:,} and {knp['mount_big']:,} vectors (dimension "
      f"{knp['mount_dim']}, M {knp['mount_M']}, ef_construction {knp['mount_ef_construction']}), built "
      "offline by `mkfs.vexfs -d`, each mounted three times. After the first mount `vexctl sync` waits "
      "for any background graph build, and umount persists the graph. The last two columns quote what "
      "the kernel logged at each mount (whether it loaded the graph or started rebuilding it). "
      "Ratio > 1: the big image takes longer.")
    w("")
    msgs = field(kn, "mount_msgs")

    def said(dev, ph):
        if ph == "graph-build":
            return ""
        msg = msgs.get(f"{dev} {ph}")
        if msg is None:
            die(f"knn-and-mount.json: no kernel mount message for {dev} {ph}")
        mm = re.search(r"vexfs \(\w+\): (.*)$", msg)
        return mm.group(1) if mm else msg

    w(f"| phase | {knp['mount_small']:,} vectors (ms, emulated) | of which idle | {knp['mount_big']:,} vectors (ms, emulated) | of which idle | big/small elapsed | big/small busy | kernel: small | kernel: big |")
    w("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for key, label in (("first", "first mount after mkfs"),
                       ("graph-build", "wait for the background graph build (`vexctl sync`)"),
                       ("second", "second mount (graph loaded)"),
                       ("third", "third mount (graph loaded)")):
        x = field(mount, key)
        for k in ("small", "big", "small_idle", "big_idle"):
            field(x, k)
        sb, bb = x["small"] - x["small_idle"], x["big"] - x["big_idle"]
        busy = f"{bb / sb:.1f}" if sb > 0 and bb > 0 else "n/a (no busy time)"
        w(f"| {label} | {ms(x['small'])} | {ms(x['small_idle'])} | {ms(x['big'])} | {ms(x['big_idle'])} | "
          f"{x['big'] / x['small']:.1f} | {busy} | {said('vdb', key)} | {said('vdc', key)} |")
    w("")

    w("## 3b. Chunk sets vs one vector per file (VM, emulated time)")
    w("")
    w(f"`make bench-vm-chunks` (`bench/vm/chunks.sh`), one VM run. The same {ch['n']:,} vectors of dimension "
      f"{ch['dim']} (L2) imported onto two fresh volumes: *chunked*, {ch['n'] // ch['per_file']:,} files x "
      f"{ch['per_file']} chunks (`vexctl import --manifest` with chunk lines, `VEXFS_IOC_SET_CHUNKS` per file), and "
      f"*single*, {ch['n']:,} files x 1 vector (`VEXFS_IOC_BATCH_SET` in batches); then {ch['queries']:,} queries, "
      f"k {ch['k']}, ef {ch['ef']} on both, and on the chunked volume also `--per-file` (the {ch['k']} nearest "
      "files, each with its nearest chunk). Rates are `vexctl`'s own summary lines in **emulated time**, path "
      "resolution included: `vexctl batch-search` names each distinct result file once per run (`INO_PATH`), "
      f"and the chunked volume has {ch['per_file']}x fewer files, so the kNN ratio is end to end, not the "
      "kernel's search alone. Recall@10 is against exact answers computed on the host: of the chunks (chunked) "
      "or files (single) returned, and for `--per-file` of the files against the exact "
      f"{ch['k']} nearest files. Ratio > 1: the chunked volume is faster.")
    w("")
    w("| | chunked | single | chunked/single |")
    w("|---|---:|---:|---:|")
    w(f"| import, vectors/s (emulated) | {ch_imp['chunked']:,.0f} | {ch_imp['single']:,.0f} | "
      f"{ch_imp['chunked'] / ch_imp['single']:.2f} |")
    w(f"| kNN, queries/s (emulated) | {ch_qps['chunked']:,.1f} | {ch_qps['single']:,.1f} | "
      f"{ch_qps['chunked'] / ch_qps['single']:.2f} |")
    w(f"| kNN `--per-file`, queries/s (emulated) | {ch_qps['chunked_per_file']:,.1f} | | "
      f"{ch_qps['chunked_per_file'] / ch_qps['single']:.2f} |")
    w(f"| kNN recall@10 | {ch_rec['chunked']:.4f} | {ch_rec['single']:.4f} | |")
    w(f"| `--per-file` recall@10 (files) | {ch_rec['per_file_files']:.4f} | | |")
    w("")

    w("## 3c. Scoped kNN vs post-filtering and exact scan (VM, emulated time)")
    w("")
    w(f"`make bench-vm-scope` (`bench/vm/scoped-search.sh`), one VM run: one VexFS volume (built offline by "
      f"`mkfs.vexfs -d`) holding {sc['n']:,} vectors of dimension {sc['dim']} (L2), in directories that hold "
      + ", ".join(f"{pct(s_)} (`{s_}/`)" for s_ in scopes)
      + " of them (each with a nested subdirectory), the rest elsewhere. Per scope, "
      f"{sc['queries']:,} queries, k {sc['k']}, by three methods: *scoped*, `vexctl batch-search DIR` with ef "
      f"{sc['ef']} (`VEXFS_SEARCH_F_SUBTREE`: a scan of the scope's members for small scopes, a filtered graph "
      "walk otherwise); *exact scan*, `batch-search DIR --exact` (every vector of the scope); *post-filter*, "
      f"a whole-volume search for the {sc['postfilter_k']} nearest (ef {sc['ef']}) of which the first "
      f"{sc['k']} under the scope are kept. Recall@10 is against exact answers restricted to the subtree, "
      "computed on the host. Queries/s are `vexctl`'s in **emulated time**, path resolution included: compare "
      "the ratios (> 1: the scoped search answers more queries per second).")
    w("")
    w("| share of the vectors | scoped q/s | exact scan q/s | post-filter q/s | scoped/exact scan | "
      "scoped/post-filter | scoped recall@10 | exact scan recall@10 | post-filter recall@10 |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s_ in scopes:
        q = {m_: srow[(s_, m_)]["qps"] for m_ in SCOPE_METHODS}
        rc = {m_: srow[(s_, m_)]["recall"] for m_ in SCOPE_METHODS}
        w(f"| {pct(s_)} (`{s_}/`) | {q['scoped']:,.1f} | {q['exact']:,.1f} | {q['postfilt']:,.1f} | "
          f"{q['scoped'] / q['exact']:.2f} | {q['scoped'] / q['postfilt']:.2f} | {rc['scoped']:.4f} | "
          f"{rc['exact']:.4f} | {rc['postfilt']:.4f} |")
    w("")

    w("## 3d. kNN at scale: cold and warm page cache, and where the time goes (VM, emulated time)")
    w("")
    w(f"`make bench-vm-1m` (`bench/vm/knn-1m.sh`), one VM run with {bigp['mem_mib']} MiB: issue 14's scale image "
      f"({bigp['n']:,} vectors of dimension {bigp['dim']}, L2, files of {bigp['chunks_per_file']:,} chunks, built offline "
      f"by `mkfs.vexfs -d --vectors`), {bigp['nq']} held-out queries through `VEXFS_IOC_SEARCH` (k {bigp['k']}, "
      f"ef {bigp['ef']}, int8 codes steer the walk, float32 re-ranks). Mount: {field(big, 'mount_message')}. "
      "States: *cold*, the first pass after the mount with the page cache dropped (slot groups are read on first "
      "use, every vector and graph block comes from the disk); *warm*, the fastest of "
      f"{bigp['rounds']} further passes; *page cache dropped, index loaded*, the page cache dropped again (the "
      "groups' codes and attributes stay pinned, vectors and graph blocks are read again); these three run with "
      "the background warm-up off (`warm_after_mount=0`), so each group is read by its first use. Then a new "
      "mount with the warm-up on (the default): it read every group in the background in "
      f"{big_warmup['ns'] / 1e9:,.2f} s of emulated time, after which one pass ran (*after the background "
      "warm-up*). Per query: guest time "
      "busy (emulated instructions) and waiting for the disk (idle + iowait), KiB read from the disk (`pgpgin`), "
      "distance computations and kernel search time (`vexctl stats`), and the index's pinned memory "
      "(`index_memory_bytes`) before and after the pass. Recall@10 against exact answers computed on the host: "
      f"{field(big, 'recall_warm'):.4f} warm, {field(big, 'recall_cold'):.4f} on a fresh mount with the page cache dropped.")
    w("")
    w("| state | q/s | busy us/query | disk wait us/query | KiB read/query | distances/query | kernel search us/query | pinned MiB before -> after |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s_, name in (("cold", "cold: first pass after mount"), ("warm", "warm"),
                     ("coldpc", "page cache dropped, index loaded"),
                     ("afterwarm", "new mount, after the background warm-up")):
        x = big_states[s_]
        w(f"| {name} | {x['qps']:,.1f} | {x['busy_ns_per_query'] / 1e3:,.1f} | {x['idle_ns_per_query'] / 1e3:,.1f} | "
          f"{x['kib_read_per_query']:,.1f} | {x['distances_per_query']:,.1f} | {x['kernel_search_ns_per_query'] / 1e3:,.1f} | "
          f"{x['index_memory_before'] / 2**20:,.1f} -> {x['index_memory_after'] / 2**20:,.1f} |")
    w("")
    w(f"Where the time goes: the distance computations per query are the same in every state "
      f"({bw['distances_per_query']:,.0f}), so the difference is reading. Warm, nothing is read and a query costs "
      f"{bw['busy_ns_per_query'] / 1e3:,.0f} us of emulated time. With the index loaded but the page cache dropped a "
      f"query reads {bp['kib_read_per_query']:,.0f} KiB (vector records and graph blocks) and costs "
      f"{bp['busy_ns_per_query'] / 1e3:,.0f} us busy + {bp['idle_ns_per_query'] / 1e3:,.0f} us waiting for the disk. "
      f"The first pass after a lazy mount also loads the slot groups its walks touch ("
      f"{(bc['index_memory_after'] - bc['index_memory_before']) / 2**20:,.1f} MiB pinned over the pass: records checked "
      f"against their owners' inodes, codes encoded) and costs {bc['busy_ns_per_query'] / 1e3:,.0f} us busy + "
      f"{bc['idle_ns_per_query'] / 1e3:,.0f} us waiting per query. Under QEMU TCG the virtual disk's reads are "
      "mostly served while the vCPU is busy, so disk time shows up as busy time here. One searcher: the index's "
      "read lock is never contended in this run (1 vs 2 searchers is `make bench-vm-searchers`).")
    w("")

    w("## Inputs of this report")
    w("")
    w("| file | written |")
    w("|---|---|")
    for rel in ["run.json"] + ANN_FILES + COS_FILES + REAL_FILES + VM_FILES:
        p = os.path.join(a.out, rel)
        w(f"| `{p}` | {iso(os.path.getmtime(p))} |")
    w("")

    # every input checked and every line built: only now write the outputs
    plot(a.plot, v, h,
         f"Recall@10 vs QPS (host, 1 thread, {clock}, higher is better)\n"
         f"{n:,} x {dim} vectors, {nq} queries, L2, M {ann['ANN_M']}, ef_construction {ann['ANN_EFC']}",
         f"{cpu['model']}, {cpu['logical_cpus']} CPUs | {date} | commit {commit}"
         f"{' + uncommitted changes' if m['git_dirty'] else ''} | make bench")
    os.makedirs(os.path.dirname(os.path.abspath(a.report)), exist_ok=True)
    with open(a.report + ".tmp", "w") as f:
        f.write("\n".join(L) + "\n")
    os.replace(a.report + ".tmp", a.report)
    print(f"bench: wrote {a.report} and {a.plot} (run wall time {fmt_dur(wall)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="the run's result directory (bench/out)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--quick", default="0")
    s.add_argument("--kver", default="")
    s.add_argument("vars", nargs="*")
    s = sub.add_parser("mark")
    s.add_argument("phase")
    s = sub.add_parser("report")
    s.add_argument("--report", required=True)
    s.add_argument("--plot", required=True)
    a = ap.parse_args()
    try:
        {"start": cmd_start, "mark": cmd_mark, "report": cmd_report}[a.cmd](a)
    except ReportError as e:
        print(f"bench/report.py {a.cmd}: ERROR: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
