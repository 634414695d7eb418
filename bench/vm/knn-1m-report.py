"""bench/vm/knn-1m-report.py: the table and JSON of bench/vm/knn-1m.sh.

Reads the guest's SNAP / STATUS / STATS / PASS / MOUNTMSG lines on stdin;
argv: n dim nq ef rounds mem recall_warm recall_cold out.json. Per state
(cold, warm = fastest warm pass, coldpc = cold page cache with the index
loaded, afterwarm = a pass once a new mount's background warm-up read
every group; WARMUP gives how long that took) it prints QPS and where the guest time went: busy (emulated
instructions) vs waiting for the disk, blocks read, major faults, distance
computations and kernel search time per query, and the index's pinned
memory before and after.
"""
import json
import sys

n, dim, nq, ef, rounds, mem = (int(x) for x in sys.argv[1:7])
recall_warm, recall_cold, outp = float(sys.argv[7]), float(sys.argv[8]), sys.argv[9]
snap, status, stats, passes, msg, warmup = {}, {}, {}, {}, "", None
for line in sys.stdin:
    w = line.split(None, 3)
    if w[0] == "WARMUP":
        f = line.split()   # WARMUP time N ns idle N ns
        warmup = {"ns": int(f[2]), "idle_ns": int(f[5])}
    elif w[0] == "MOUNTMSG":
        msg = line[len("MOUNTMSG "):].strip()
    elif w[0] == "SNAP":
        f = w[3].split() if len(w) > 3 else []
        snap[(w[1], w[2])] = {f[i]: int(f[i + 1]) for i in range(0, len(f) - 1, 2)}
    elif w[0] == "STATUS":
        status[(w[1], w[2])] = json.loads(w[3])
    elif w[0] == "STATS":
        stats[(w[1], w[2])] = json.loads(w[3])
    elif w[0] == "PASS":
        p = passes.setdefault(w[1], {})
        rest = w[2:]
        words = " ".join(rest).split()
        if words[0] == "search":
            p["ns"] = int(words[1])
        elif words[0] == "qps":
            p["qps"] = float(words[1])
        elif words[0] == "search-idle":
            p["idle_ns"] = int(words[1])


def state(name):
    p, b, a = passes[name], (name, "before"), (name, "after")
    d = lambda src, k: src[a][k] - src[b][k]
    busy = p["ns"] - p["idle_ns"]
    return {
        "qps": p["qps"],
        "elapsed_ns": p["ns"],
        "idle_ns": p["idle_ns"],
        "busy_ns_per_query": busy / nq,
        "idle_ns_per_query": p["idle_ns"] / nq,
        # pgpgin counts KiB read from block devices.
        "kib_read_per_query": d(snap, "pgpgin") / nq,
        "major_faults": d(snap, "pgmajfault"),
        "distances_per_query": d(stats, "distance_computations") / nq,
        "kernel_search_ns_per_query": d(stats, "search_ns_total") / nq,
        "index_memory_before": status[b]["index_memory_bytes"],
        "index_memory_after": status[a]["index_memory_bytes"],
        "vectors": status[a]["vectors"],
    }


warm_name = max((k for k in passes if k.startswith("warm")), key=lambda k: passes[k]["qps"])
res = {"params": {"n": n, "dim": dim, "nq": nq, "k": 10, "ef": ef, "rounds": rounds, "mem_mib": mem,
                  "metric": "l2", "chunks_per_file": 1000},
       "mount_message": msg, "recall_warm": recall_warm, "recall_cold": recall_cold,
       "cold": state("cold"), "warm": state(warm_name), "coldpc": state("coldpc"),
       "afterwarm": state("afterwarm"), "warmup": warmup}
if warmup is None:
    sys.exit("knn-1m: no WARMUP line (the background warm-up was not timed)")
for s in ("cold", "warm", "coldpc", "afterwarm"):
    if res[s]["vectors"] != n:
        sys.exit(f"knn-1m: {s}: the index holds {res[s]['vectors']} vectors, want {n}")
L = [f"kNN through the ioctl on {n:,} vectors of dimension {dim} (L2, files of 1,000 chunks), {nq} queries, k 10, "
     f"ef {ef}, one VM with {mem} MiB under QEMU -icount (emulated time; idle = waiting for the disk, at host speed)",
     f"mount: {msg}",
     f"recall@10: warm {recall_warm:.4f}, cold (fresh mount, page cache dropped) {recall_cold:.4f}",
     f"{'state':50} {'q/s':>8} {'busy us/q':>10} {'disk-wait us/q':>15} {'KiB read/q':>11} {'dists/q':>8} {'pinned MiB':>16}"]
names = {"cold": "cold: first pass after mount, page cache dropped",
         "warm": f"warm: fastest of {rounds} passes",
         "coldpc": "page cache dropped, index loaded",
         "afterwarm": "new mount, after the background warm-up"}
for s in ("cold", "warm", "coldpc", "afterwarm"):
    r = res[s]
    L.append(f"{names[s]:50} {r['qps']:8.1f} {r['busy_ns_per_query'] / 1e3:10.1f} {r['idle_ns_per_query'] / 1e3:15.1f} "
             f"{r['kib_read_per_query']:11.1f} {r['distances_per_query']:8.1f} "
             f"{r['index_memory_before'] / 2**20:7.1f} -> {r['index_memory_after'] / 2**20:5.1f}")
c, w, p = res["cold"], res["warm"], res["coldpc"]
L.append(f"cold vs warm: {w['qps'] / c['qps']:.1f}x slower; of the cold pass's {c['elapsed_ns'] / 1e9:.2f} s, "
         f"{c['idle_ns'] / c['elapsed_ns'] * 100:.0f} % waited for the disk; its busy time per query is "
         f"{c['busy_ns_per_query'] / w['busy_ns_per_query']:.1f}x the warm one's (loading slot groups: "
         f"+{(c['index_memory_after'] - c['index_memory_before']) / 2**20:.1f} MiB pinned; reading blocks)")
L.append(f"page cache dropped, index loaded: {w['qps'] / p['qps']:.1f}x slower than warm, "
         f"{p['kib_read_per_query']:.0f} KiB read per query")
a = res["afterwarm"]
L.append(f"background warm-up after a new mount: every group read in {warmup['ns'] / 1e9:.2f} s "
         f"(idle {warmup['idle_ns'] / 1e9:.2f} s), {a['index_memory_before'] / 2**20:.1f} MiB pinned; "
         f"then {a['qps']:.1f} q/s ({w['qps'] / a['qps']:.1f}x slower than warm: the page cache holds what the warm-up read)")
print("\n".join(L))
json.dump(res, open(outp, "w"), indent=1)
