"""Checks the vexfs package against a real mounted VexFS (the kernel module,
not a stand-in); run inside the test VM by tests/vm/cases/python-api.sh,
whose guest has no other Python than the one it brings. Not a pytest module
(it needs a mount): each phase is a command line.

  mounted_check.py before MNT STATE   fresh l2 filesystem: set/get/search/errors/
                                      remove/unlink/rename, saves STATE (JSON)
  mounted_check.py after MNT STATE    the same filesystem after umount + mount:
                                      vectors and search results as saved
  mounted_check.py metric MNT         a fresh cosine or dot filesystem: distances
                                      and order against numpy
  mounted_check.py nobody MNT         run as an unprivileged user after `before`
  mounted_check.py chunks MNT         a fresh l2 filesystem of dimension 16: chunk
                                      sets (set/get round trips incl. a paged
                                      3000-chunk set), chunk and per-file search
                                      against numpy, staleness, errors

Every check is against numpy's own computation over the vectors this script
set (brute force, float64). Prints one line per check with its numbers and
exits 1 at the first failure ("FAIL: ...").
"""
import errno
import json
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

import vexfs  # noqa: E402

N = 200         # vectors on the l2 filesystem
DIM = 16
K = 10
SEED = 20261126


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def raises(call, exc_type, err=None, what=""):
    """call() must raise exc_type (with errno err); returns the exception."""
    try:
        call()
    except exc_type as e:
        if err is not None and getattr(e, "errno", None) != err:
            fail("%s: raised %r, expected errno %s" % (what, e, errno.errorcode[err]))
        return e
    except Exception as e:  # noqa: BLE001
        fail("%s: raised %r, expected %s" % (what, e, exc_type.__name__))
    fail("%s: no exception, expected %s%s" % (
        what, exc_type.__name__, " " + errno.errorcode[err] if err else ""))


def ref_distances(metric, X, q):
    """numpy brute force in float64: the metric as docs/UAPI.md defines it."""
    Xd = X.astype(np.float64)
    qd = np.asarray(q, dtype=np.float64)
    if metric == "l2":
        return ((Xd - qd) ** 2).sum(axis=1)
    if metric == "cosine":
        return 1.0 - (Xd @ qd) / (np.linalg.norm(Xd, axis=1) * np.linalg.norm(qd))
    if metric == "dot":
        return -(Xd @ qd)
    raise ValueError(metric)


def tolerance(metric, X, q):
    """Float32 rounding allowance per candidate: the kernel accumulates in
    float32 (SIMD), numpy here in float64."""
    Xd = X.astype(np.float64)
    qd = np.asarray(q, dtype=np.float64)
    if metric == "l2":
        scale = ((np.abs(Xd) + np.abs(qd)) ** 2).sum(axis=1)
    elif metric == "cosine":
        scale = np.ones(len(Xd))
    else:
        scale = np.abs(Xd) @ np.abs(qd)
    return 1e-5 * scale + 1e-6


class Model:
    """What the filesystem should hold: relative path -> float32 vector."""

    def __init__(self, mnt, metric):
        self.mnt = mnt
        self.metric = metric
        self.paths = []
        self.vecs = []

    def put(self, rel, v):
        v = np.asarray(v, dtype=np.float32).reshape(-1)
        if rel in self.paths:
            self.vecs[self.paths.index(rel)] = v
        else:
            self.paths.append(rel)
            self.vecs.append(v)

    def drop(self, rel):
        i = self.paths.index(rel)
        del self.paths[i]
        del self.vecs[i]

    def rename(self, old, new):
        self.paths[self.paths.index(old)] = new

    def X(self):
        return np.stack(self.vecs)


def check_knn(model, q, res, k, exact, what):
    """res (from vexfs.search) against numpy: every distance equals numpy's
    distance for the returned file; exact: the k nearest in numpy's order
    (a swap only between distances equal within float32 rounding), returns
    1.0 when the order is numpy's to the letter; HNSW: returns the recall.
    Also: nearest first, inode numbers are the files'."""
    X = model.X()
    ref = ref_distances(model.metric, X, q)
    tol = tolerance(model.metric, X, q)
    order = np.argsort(ref, kind="stable")
    want = min(k, len(X))
    check(len(res) == want, "%s: %d results, expected %d" % (what, len(res), want))
    got = []
    maxerr = 0.0
    for path, ino, dist in res:
        check(path in model.paths, "%s: returned %r, which has no vector" % (what, path))
        i = model.paths.index(path)
        got.append(i)
        err = abs(dist - ref[i])
        check(err <= tol[i], "%s: %s distance %.9g, numpy %.9g" % (what, path, dist, ref[i]))
        maxerr = max(maxerr, err)
        st = os.stat(os.path.join(model.mnt, path))
        check(st.st_ino == ino, "%s: %s ino %d, stat says %d" % (what, path, ino, st.st_ino))
    dists = [r[2] for r in res]
    check(all(a <= b for a, b in zip(dists, dists[1:])), "%s: not nearest first: %s" % (what, dists))
    truth = list(order[:want])
    if exact:
        for pos, (g, t) in enumerate(zip(got, truth)):
            if g != t and abs(ref[g] - ref[t]) > tol[g] + tol[t]:
                fail("%s: rank %d is %s (numpy %.9g), numpy's rank %d is %s (%.9g)" % (
                    what, pos, model.paths[g], ref[g], pos, model.paths[t], ref[t]))
        return float(got == truth), maxerr
    kth = ref[order[want - 1]]
    hits = sum(1 for g in got if ref[g] <= kth + tol[g])
    return hits / want, maxerr


def queries(rng, X, n_random, n_members):
    Q = [rng.standard_normal(X.shape[1]).astype(np.float32) for _ in range(n_random)]
    Q += [X[i] for i in rng.choice(len(X), n_members, replace=False)]
    return Q


def knn_round(model, Q, label, ef=0, k=K):
    """Exact and HNSW kNN for every query; returns the results (for STATE)."""
    exact_all, hnsw_all, recalls, maxerr, same = [], [], [], 0.0, 0
    for j, q in enumerate(Q):
        r = vexfs.search(model.mnt, q, k=k, exact=True)
        s, e = check_knn(model, q, r, k, True, "%s exact q%d" % (label, j))
        same += int(s)
        maxerr = max(maxerr, e)
        h = vexfs.search(model.mnt, q, k=k, ef=ef)
        rec, e = check_knn(model, q, h, k, False, "%s hnsw q%d" % (label, j))
        maxerr = max(maxerr, e)
        exact_all.append(r)
        hnsw_all.append(h)
        recalls.append(rec)
    recall = float(np.mean(recalls))
    print("%s: %d queries k=%d over %d vectors: exact order = numpy's in %d/%d, "
          "HNSW recall@%d %.4f (ef %s), max |distance - numpy's| %.2e" % (
              label, len(Q), k, len(model.paths), same, len(Q), k, recall,
              ef or "default", maxerr), flush=True)
    return exact_all, hnsw_all, recall


def full_ranking(model, q, label):
    """k larger than the number of vectors: every file, in numpy's order."""
    r = vexfs.search(model.mnt, q, k=len(model.paths) + 50, exact=True)
    check_knn(model, q, r, len(model.paths) + 50, True, label + " exact, all files")
    h = vexfs.search(model.mnt, q, k=len(model.paths) + 50)
    check(sorted(p for p, _, _ in h) == sorted(model.paths),
          "%s: HNSW with k > files returned %d of %d files" % (label, len(h), len(model.paths)))
    print("%s: k=%d returns all %d files, exact in numpy's order; HNSW the same set" % (
        label, len(model.paths) + 50, len(model.paths)), flush=True)
    return r


def absent(model, rel, q, what):
    for exact in (True, False):
        r = vexfs.search(model.mnt, q, k=len(model.paths) + 50, exact=exact)
        check(all(p != rel for p, _, _ in r), "%s: %s still returned (exact=%s)" % (what, rel, exact))
        check(len(r) == len(model.paths), "%s: %d results, %d files have vectors (exact=%s)" % (
            what, len(r), len(model.paths), exact))


def to_json(results):
    return [[[p, ino, d] for p, ino, d in r] for r in results]


# ---------------------------------------------------------------- phases

def phase_before(mnt, state):
    print("vexfs package: %s, numpy %s" % (vexfs.__file__, np.__version__), flush=True)
    st = vexfs.status(mnt)
    check(st["dim"] == DIM and st["metric_name"] == "l2" and st["vectors"] == 0,
          "status of the fresh filesystem: %r" % st)
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((N, DIM)).astype(np.float32)
    model = Model(mnt, "l2")
    for i in range(N):
        d = os.path.join(mnt, "py", "d%d" % (i // 50))
        os.makedirs(d, exist_ok=True)
        rel = "py/d%d/f%03d" % (i // 50, i)
        with open(os.path.join(mnt, rel), "w") as f:
            f.write("file %d\n" % i)
        # Every input form the package accepts: float32, float64 (converted
        # exactly), a list of Python floats, a single row of a 2-D array.
        form = (X[i], X[i].astype(np.float64), [float(x) for x in X[i]], X[i].reshape(1, -1))[i % 4]
        vexfs.set_vector(os.path.join(mnt, rel), form)
        model.put(rel, X[i])
    for rel, v in zip(model.paths, model.vecs):
        g = vexfs.get_vector(os.path.join(mnt, rel))
        check(isinstance(g, np.ndarray) and g.dtype == np.float32 and g.shape == (DIM,),
              "get_vector %s: %r %s %s" % (rel, type(g), getattr(g, "dtype", ""), getattr(g, "shape", "")))
        check(g.tobytes() == v.tobytes(), "get_vector %s differs from what was set: %s vs %s" % (rel, g, v))
        check(g.flags.writeable, "get_vector returned a read-only array")
    st = vexfs.status(mnt)
    check(st["vectors"] == N, "status: %d vectors after %d set_vector calls" % (st["vectors"], N))
    print("set_vector/get_vector: %d files (float32, float64, list, 1xD row), all round-trip "
          "bit-exactly; status says %d vectors, dim %d" % (N, st["vectors"], st["dim"]), flush=True)

    Q = queries(rng, X, 20, 4)
    knn_round(model, Q, "kNN")
    _, _, rec_ef = knn_round(model, Q, "kNN ef=256", ef=256)
    check(rec_ef == 1.0, "HNSW with ef=256 > %d vectors: recall %.4f, expected 1.0" % (N, rec_ef))
    full_ranking(model, Q[0], "full ranking")

    # Range search against numpy: the files within the median distance.
    q = Q[1]
    ref = ref_distances("l2", model.X(), q)
    tol = tolerance("l2", model.X(), q)
    thr = float(np.median(ref))
    sure = {model.paths[i] for i in range(len(ref)) if ref[i] <= thr - tol[i]}
    maybe = {model.paths[i] for i in range(len(ref)) if ref[i] <= thr + tol[i]}
    for exact in (True, False):
        got = {p for p, _, _ in vexfs.search_range(mnt, q, thr, exact=exact)}
        check(sure <= got <= maybe, "search_range(exact=%s): %d files, numpy says %d" % (
            exact, len(got), len(sure)))
    print("search_range: %d files within the median distance, as numpy (exact and HNSW)" % len(sure),
          flush=True)

    # Errors.
    f = os.path.join(mnt, model.paths[5])
    before = vexfs.get_vector(f)
    for n in (DIM - 1, DIM + 1, 3):
        e = raises(lambda: vexfs.set_vector(f, np.ones(n, dtype=np.float32)), vexfs.DimensionError,
                   errno.EINVAL, "set_vector with %d elements" % n)
        check(isinstance(e, ValueError) and isinstance(e, OSError) and e.filename == f,
              "DimensionError is not a ValueError/OSError naming the file: %r" % e)
        check(("%d elements" % n) in str(e) and ("stores %d" % DIM) in str(e),
              "wrong-dimension message does not name both dimensions: %s" % e)
    msg = str(e)
    e = raises(lambda: vexfs.search(mnt, np.ones(DIM + 1, dtype=np.float32)), vexfs.DimensionError,
               errno.EINVAL, "search with %d elements" % (DIM + 1))
    raises(lambda: vexfs.set_vector(f, np.full(DIM, np.nan, dtype=np.float32)), ValueError, None,
           "set_vector with NaN")
    check(vexfs.get_vector(f).tobytes() == before.tobytes(), "a refused set_vector changed the vector")
    print("wrong dimension: DimensionError (ValueError, OSError errno EINVAL from the kernel): %s"
          % msg, flush=True)

    with open("/tmp/not-vexfs", "w") as fh:
        fh.write("x")
    off = [("set_vector", lambda: vexfs.set_vector("/tmp/not-vexfs", np.ones(DIM))),
           ("get_vector", lambda: vexfs.get_vector("/tmp/not-vexfs")),
           ("remove_vector", lambda: vexfs.remove_vector("/tmp/not-vexfs")),
           ("search", lambda: vexfs.search("/tmp", np.ones(DIM))),
           ("status", lambda: vexfs.status("/tmp"))]
    if os.path.isfile("/py/usr/bin/python3.11"):   # the read-only ext4 image that holds this Python
        off.append(("search on ext4", lambda: vexfs.search("/py/usr", np.ones(DIM))))
        off.append(("get_vector on ext4", lambda: vexfs.get_vector("/py/usr/bin/python3.11")))
    for name, call in off:
        e = raises(call, vexfs.VexfsError, errno.ENOTTY, name + " off VexFS")
        check("VexFS" in str(e), "%s off VexFS: unclear message %s" % (name, e))
    print("off VexFS: %d calls raise VexfsError ENOTTY: %s" % (len(off), e), flush=True)
    raises(lambda: vexfs.get_vector(os.path.join(mnt, "py/nonexistent")), FileNotFoundError,
           errno.ENOENT, "get_vector on a missing file")
    with open(os.path.join(mnt, "py/novector"), "w") as fh:
        fh.write("none")
    e = raises(lambda: vexfs.get_vector(os.path.join(mnt, "py/novector")), vexfs.VexfsError,
               errno.ENODATA, "get_vector without a vector")
    raises(lambda: vexfs.remove_vector(os.path.join(mnt, "py/novector")), vexfs.VexfsError,
           errno.ENODATA, "remove_vector without a vector")
    raises(lambda: vexfs.set_vector(os.path.join(mnt, "py/d0"), np.ones(DIM)), vexfs.VexfsError,
           errno.EISDIR, "set_vector on a directory")
    e2 = raises(lambda: vexfs.get_vector(os.path.join(mnt, "py/d0")), vexfs.VexfsError, None,
                "get_vector on a directory")
    print("no vector: %s; directory: %s" % (e, e2), flush=True)
    # A FIFO on VexFS: refused at once (opening it would wait for a writer).
    fifo = os.path.join(mnt, "py/fifo")
    os.mkfifo(fifo)
    signal.signal(signal.SIGALRM, lambda *a: fail("a vexfs call on a FIFO blocked"))
    for name, call in (("get_vector", lambda: vexfs.get_vector(fifo)),
                       ("set_vector", lambda: vexfs.set_vector(fifo, np.ones(DIM))),
                       ("search", lambda: vexfs.search(fifo, np.ones(DIM)))):
        signal.alarm(10)
        e = raises(call, vexfs.VexfsError, errno.EINVAL, name + " on a FIFO")
        signal.alarm(0)
    os.unlink(fifo)
    print("FIFO: %s" % e, flush=True)

    # Changes: update, remove, unlink, unlink while open, rename.
    rel = model.paths[7]
    newv = (model.vecs[7] + 5).astype(np.float32)
    oldv = model.vecs[7].copy()
    vexfs.set_vector(os.path.join(mnt, rel), newv)
    model.put(rel, newv)
    check(vexfs.get_vector(os.path.join(mnt, rel)).tobytes() == newv.tobytes(), "updated vector")
    for exact in (True, False):
        r = vexfs.search(mnt, newv, k=1, exact=exact)
        check(r and r[0][0] == rel and r[0][2] == 0.0, "updated vector not found first: %r" % r)
        r = vexfs.search(mnt, oldv, k=1, exact=exact)
        check(r and not (r[0][0] == rel and r[0][2] == 0.0), "old vector still found: %r" % r)

    removed = model.paths[11]
    q_removed = model.vecs[11]
    vexfs.remove_vector(os.path.join(mnt, removed))
    model.drop(removed)
    raises(lambda: vexfs.get_vector(os.path.join(mnt, removed)), vexfs.VexfsError, errno.ENODATA,
           "get_vector after remove_vector")
    absent(model, removed, q_removed, "after remove_vector")

    unlinked = model.paths[22]
    q_unlinked = model.vecs[22]
    os.unlink(os.path.join(mnt, unlinked))
    model.drop(unlinked)
    absent(model, unlinked, q_unlinked, "after unlink")

    held = model.paths[30]
    q_held = model.vecs[30]
    fd = os.open(os.path.join(mnt, held), os.O_RDONLY)
    os.unlink(os.path.join(mnt, held))
    model.drop(held)
    absent(model, held, q_held, "unlinked while open")
    os.close(fd)
    absent(model, held, q_held, "unlinked, then closed")

    moved = model.paths[40]
    os.makedirs(os.path.join(mnt, "py/renamed"))
    new_rel = "py/renamed/" + os.path.basename(moved) + "-moved"
    os.rename(os.path.join(mnt, moved), os.path.join(mnt, new_rel))
    model.rename(moved, new_rel)
    r = vexfs.search(mnt, model.vecs[model.paths.index(new_rel)], k=1, exact=True)
    check(r and r[0][0] == new_rel, "renamed file reported as %r, expected %s" % (r, new_rel))
    print("changes: update found at once (old vector gone), remove_vector %s, unlink %s, "
          "unlink while open %s: absent from exact and HNSW results (%d files left); "
          "rename reported as %s" % (removed, unlinked, held, len(model.paths), new_rel), flush=True)

    exact_all, hnsw_all, _ = knn_round(model, Q, "kNN after changes")
    full = full_ranking(model, Q[2], "full ranking after changes")
    vexfs.sync(mnt)
    st = vexfs.status(mnt)
    check(st["pending"] == 0 and st["vectors"] == len(model.paths),
          "after sync: pending %d, vectors %d (expected 0, %d)" % (st["pending"], st["vectors"], len(model.paths)))
    with open(state, "w") as fh:
        json.dump({"paths": model.paths, "vecs": [v.tolist() for v in model.vecs],
                   "queries": [q.tolist() for q in Q], "exact": to_json(exact_all),
                   "hnsw": to_json(hnsw_all), "full": to_json([full]),
                   "gone": [removed, unlinked, held, moved], "removed": removed}, fh)
    print("before: ok (%d files with vectors, state saved)" % len(model.paths), flush=True)


def phase_after(mnt, state):
    with open(state) as fh:
        s = json.load(fh)
    model = Model(mnt, "l2")
    for rel, v in zip(s["paths"], s["vecs"]):
        model.put(rel, np.array(v, dtype=np.float32))
    st = vexfs.status(mnt)
    check(st["vectors"] == len(model.paths) and st["dim"] == DIM and st["metric_name"] == "l2",
          "status after remount: %r (expected %d vectors)" % (st, len(model.paths)))
    for rel, v in zip(model.paths, model.vecs):
        g = vexfs.get_vector(os.path.join(mnt, rel))
        check(g.tobytes() == v.tobytes(), "after remount get_vector %s differs" % rel)
    raises(lambda: vexfs.get_vector(os.path.join(mnt, s["removed"])), vexfs.VexfsError,
           errno.ENODATA, "after remount: get_vector of the removed vector")
    for rel in s["gone"]:
        if rel != s["removed"]:
            check(not os.path.exists(os.path.join(mnt, rel)), "after remount %s exists" % rel)
    print("after remount: %d vectors read back bit-exactly; status %d vectors, graph valid %s" % (
        len(model.paths), st["vectors"], st["graph_valid"]), flush=True)
    Q = [np.array(q, dtype=np.float32) for q in s["queries"]]
    exact_all, hnsw_all, _ = knn_round(model, Q, "kNN after remount")
    check(to_json(exact_all) == s["exact"], "exact results differ from before the remount")
    same_hnsw = sum(1 for a, b in zip(to_json(hnsw_all), s["hnsw"]) if a == b)
    check(same_hnsw == len(Q), "HNSW results differ from before the remount for %d of %d queries" % (
        len(Q) - same_hnsw, len(Q)))
    full = full_ranking(model, Q[2], "full ranking after remount")
    check(to_json([full]) == s["full"], "full ranking differs from before the remount")
    print("after remount: exact and HNSW results identical to before (paths, inodes, distances) "
          "for %d/%d queries and the full ranking" % (len(Q), len(Q)), flush=True)
    # The reloaded index takes new vectors.
    v = np.full(DIM, 7.5, dtype=np.float32)
    with open(os.path.join(mnt, "py/late"), "w") as fh:
        fh.write("late")
    vexfs.set_vector(os.path.join(mnt, "py/late"), v)
    for exact in (True, False):
        r = vexfs.search(mnt, v, k=1, exact=exact)
        check(r and r[0][0] == "py/late" and r[0][2] == 0.0, "new vector after remount: %r" % r)
    print("after: ok", flush=True)


def phase_metric(mnt):
    st = vexfs.status(mnt)
    metric = st["metric_name"]
    check(metric in ("cosine", "dot"), "metric phase on a %s filesystem" % metric)
    dim = st["dim"]
    rng = np.random.default_rng(SEED + st["metric"])
    X = rng.standard_normal((60, dim)).astype(np.float32)
    X[:20] *= 3  # various norms: cosine ignores them, dot does not
    model = Model(mnt, metric)
    os.makedirs(os.path.join(mnt, "m"))
    for i, v in enumerate(X):
        rel = "m/v%02d" % i
        open(os.path.join(mnt, rel), "w").close()
        vexfs.set_vector(os.path.join(mnt, rel), v)
        model.put(rel, v)
    Q = queries(rng, X, 8, 2)
    knn_round(model, Q, "%s kNN" % metric, ef=128)
    full_ranking(model, Q[0], "%s full ranking" % metric)
    if metric == "cosine":
        # SIMILAR: cosine similarity >= T.
        T = 0.3
        q = Q[1]
        sim = 1.0 - ref_distances("cosine", model.X(), q)
        sure = {model.paths[i] for i in range(len(sim)) if sim[i] >= T + 1e-5}
        maybe = {model.paths[i] for i in range(len(sim)) if sim[i] >= T - 1e-5}
        got = {p for p, _, _ in vexfs.search_similar(mnt, q, T, exact=True)}
        check(sure <= got <= maybe, "search_similar: %d files, numpy says %d" % (len(got), len(sure)))
        print("cosine search_similar(0.3): %d files, as numpy" % len(got), flush=True)
    print("metric %s: ok" % metric, flush=True)


def phase_nobody(mnt):
    """As an unprivileged user after `before`: a 0600 root file is never
    returned, a 0644 one is; set_vector without write permission is EACCES."""
    check(os.geteuid() != 0, "the nobody phase must not run as root")
    pub, sec = os.path.join(mnt, "py/public"), os.path.join(mnt, "py/secret")
    q = vexfs.get_vector(pub)
    r = vexfs.search(mnt, q, k=300, exact=True)
    paths = {p for p, _, _ in r}
    check("py/public" in paths, "nobody does not see the public file")
    check("py/secret" not in paths, "nobody sees a 0600 file in search results")
    raises(lambda: vexfs.get_vector(sec), PermissionError, errno.EACCES, "nobody get_vector 0600")
    raises(lambda: vexfs.set_vector(pub, np.zeros(DIM)), PermissionError, errno.EACCES,
           "nobody set_vector without write permission")
    print("nobody: %d results, the 0600 file is not among them; get/set without permission: EACCES"
          % len(r), flush=True)


def phase_chunks(mnt):
    """Chunk sets against numpy: every chunk is a candidate of its own."""
    rng = np.random.default_rng(SEED + 3)
    st = vexfs.status(mnt)
    check(st["dim"] == DIM and st["metric"] == 0, "chunks phase wants a fresh l2 dim %d fs" % DIM)
    d = os.path.join(mnt, "chunks")
    os.mkdir(d)
    sets = {}
    for i in range(30):
        rel = "chunks/f%02d" % i
        with open(os.path.join(mnt, rel), "wb") as f:
            f.write(b"x" * 4000)
        n = int(rng.integers(1, 40))
        offs = rng.integers(0, 5000, n).astype(np.uint64)  # past EOF allowed
        lens = rng.integers(0, 800, n).astype(np.uint64)
        M = rng.standard_normal((n, DIM))                   # float64 in
        vexfs.set_chunks(os.path.join(mnt, rel), offs, lens, M)
        sets[rel] = (offs, lens, M.astype(np.float32))
    for rel, (offs, lens, M) in sets.items():
        c = vexfs.get_chunks(os.path.join(mnt, rel))
        check(c.offsets.dtype == np.uint64 and c.vectors.dtype == np.float32, rel + ": dtypes")
        check(np.array_equal(c.offsets, offs) and np.array_equal(c.lengths, lens), rel + ": ranges")
        check(np.array_equal(c.vectors, M), rel + ": vectors differ from what was set")
        check(c.stale is False, rel + ": stale right after set_chunks")
    big = os.path.join(mnt, "chunks/big")
    with open(big, "wb") as f:
        f.write(b"y" * 100)
    Mb = rng.standard_normal((3000, DIM)).astype(np.float32)
    vexfs.set_chunks(big, np.arange(3000) * 10, np.full(3000, 10), Mb)
    c = vexfs.get_chunks(big)
    check(c.vectors.shape == (3000, DIM) and np.array_equal(c.vectors, Mb), "3000-chunk set round trip")
    check(list(c.offsets[:3]) == [0, 10, 20], "3000-chunk set offsets")
    raises(lambda: vexfs.get_vector(big), vexfs.VexfsError, errno.E2BIG, "get_vector on 3000 chunks")
    print("chunks: 30 sets of 1..39 chunks and one of 3000 read back exactly (paged), "
          "get_vector on a multi-chunk file E2BIG", flush=True)
    sets["chunks/big"] = (c.offsets, c.lengths, Mb)
    # Every chunk a row: (path, chunk index) -> vector.
    keys = [(rel, j) for rel, (o, _, _) in sorted(sets.items()) for j in range(len(o))]
    X = np.concatenate([sets[rel][2] for rel in sorted(sets)])
    st = vexfs.status(mnt)
    check((st["files"], st["vectors"], st["stale_files"]) == (len(sets), len(keys), 0),
          "status files/vectors/stale_files %s" % ((st["files"], st["vectors"], st["stale_files"]),))
    recalls = []
    for qi in range(10):
        q = rng.standard_normal(DIM).astype(np.float32) if qi < 5 else X[int(rng.integers(len(X)))]
        ref = ref_distances("l2", X, q)
        order = np.argsort(ref, kind="stable")
        r = vexfs.search(mnt, q, k=K, exact=True)
        check(len(r) == K, "exact chunk kNN: %d results" % len(r))
        for h, t in zip(r, order[:K]):
            i = keys.index((h.path, h.chunk))
            check(abs(h.distance - ref[i]) <= 1e-4 * max(1.0, ref[i]), "chunk distance %s" % (h,))
            check(i == t or abs(ref[i] - ref[t]) <= 1e-4 * max(1.0, ref[t]), "exact chunk order %s" % (h,))
            o, l, _ = sets[h.path]
            check((h.offset, h.length) == (int(o[h.chunk]), int(l[h.chunk])), "range of %s" % (h,))
            check(h.stale is False, "stale hit %s" % (h,))
        hn = vexfs.search(mnt, q, k=K)
        want = {keys[t] for t in order[:K]}
        recalls.append(len(want & {(h.path, h.chunk) for h in hn}) / K)
        # Per file: each file once, with its nearest chunk, the files in numpy's order.
        pf = vexfs.search(mnt, q, k=K, exact=True, per_file=True)
        best = {}
        for i, (rel, j) in enumerate(keys):
            if rel not in best or ref[i] < best[rel][0]:
                best[rel] = (ref[i], j)
        files = sorted(best, key=lambda rel: best[rel][0])[:K]
        check([h.path for h in pf] == files or
              all(abs(best[h.path][0] - best[f][0]) <= 1e-4 for h, f in zip(pf, files)),
              "per-file files %s, numpy %s" % ([h.path for h in pf], files))
        for h in pf:
            check(h.chunk == best[h.path][1] or abs(h.distance - best[h.path][0]) <= 1e-4,
                  "per-file %s: chunk %d, nearest is %d" % (h.path, h.chunk, best[h.path][1]))
    print("chunks: exact chunk kNN = numpy (distances, order, ranges) on 10 queries over %d chunks; "
          "HNSW chunk recall@%d %.3f; per_file = numpy's nearest files with their nearest chunks"
          % (len(keys), K, float(np.mean(recalls))), flush=True)
    check(np.mean(recalls) >= 0.9, "HNSW chunk recall %.3f" % np.mean(recalls))
    # Staleness: append to f03; its hits stale, fresh drops them; set again clears.
    f3 = os.path.join(mnt, "chunks/f03")
    q = sets["chunks/f03"][2][0]
    with open(f3, "ab") as f:
        f.write(b"more")
    r = vexfs.search(mnt, q, k=K, exact=True)
    check(r[0].path == "chunks/f03" and r[0].stale, "after append: %r" % (r[0],))
    check(all(h.stale == (h.path == "chunks/f03") for h in r), "stale flags after append")
    check(vexfs.get_chunks(f3).stale is True, "get_chunks after append: not stale")
    check(vexfs.status(mnt)["stale_files"] == 1, "status stale_files after append")
    fr = vexfs.search(mnt, q, k=K, exact=True, fresh=True)
    check(all(h.path != "chunks/f03" for h in fr), "fresh returned the stale file")
    others = [(h.path, h.chunk) for h in r if h.path != "chunks/f03"]
    check([(h.path, h.chunk) for h in fr][:len(others)] == others, "fresh changed the other hits")
    o, l, M = sets["chunks/f03"]
    vexfs.set_chunks(f3, o, l, M)
    check(vexfs.search(mnt, q, k=1, exact=True, fresh=True)[0].path == "chunks/f03", "set again: not fresh")
    # Errors: nothing changes.
    before = vexfs.get_chunks(f3)
    raises(lambda: vexfs.set_chunks(f3, [0], [1], np.ones((1, DIM - 1))), vexfs.DimensionError,
           errno.EINVAL, "set_chunks with dimension %d" % (DIM - 1))
    raises(lambda: vexfs.set_chunks(f3, [0], [1], [[float("nan")] * DIM]), ValueError, None, "NaN")
    raises(lambda: vexfs.set_chunks(f3, [0], [1], np.full((1, DIM), 1e20)), vexfs.VexfsError,
           errno.EINVAL, "|x| >= 2^56")
    after = vexfs.get_chunks(f3)
    check(np.array_equal(before.vectors, after.vectors) and np.array_equal(before.offsets, after.offsets),
          "a refused set_chunks changed the set")
    # Single-vector calls on a chunked file: one chunk covering the whole file.
    vexfs.set_vector(f3, np.ones(DIM))
    c = vexfs.get_chunks(f3)
    check(list(c.offsets) == [0] and list(c.lengths) == [0] and c.vectors.shape == (1, DIM),
          "set_vector on a chunked file: %s" % (c,))
    vexfs.set_chunks(f3, [], [], np.zeros((0, DIM)))
    raises(lambda: vexfs.get_chunks(f3), vexfs.VexfsError, errno.ENODATA, "get_chunks after dropping")
    print("chunks: append -> stale hits, fresh drops them, set_chunks clears; bad input refused "
          "(DimensionError, ValueError, EINVAL) with the set unchanged; set_vector = one whole-file "
          "chunk; an empty set drops it", flush=True)


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    phase, mnt = argv[1], argv[2]
    if phase == "before":
        phase_before(mnt, argv[3])
    elif phase == "after":
        phase_after(mnt, argv[3])
    elif phase == "metric":
        phase_metric(mnt)
    elif phase == "nobody":
        phase_nobody(mnt)
    elif phase == "chunks":
        phase_chunks(mnt)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
