"""The chunk-set calls of the vexfs package (set_chunks, get_chunks, search
with per_file/fresh and the Hit fields) on the host, over
userspace-tools/tests/vexctl_fake.c: an LD_PRELOAD stand-in for the VexFS
ioctls (chunk sets in the user.vexfs.chunks xattr, brute-force L2 search).
It checks the package's packing, paging and result decoding; the real kernel
is tested in the VM (tests/vm/cases/python-api.sh, chunks-*.sh).

Needs gcc, numpy (in this interpreter or /usr/bin/python3) and user xattrs
on the temporary directory; skipped with a message otherwise.

Run: python3 -m pytest python/tests   or   python3 python/tests/test_chunks_fake.py
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def _skip(msg):
    try:
        import pytest
        pytest.skip(msg)
    except ImportError:
        print("SKIP: " + msg)


def _python_with_numpy():
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import numpy"], stderr=subprocess.DEVNULL).returncode == 0:
            return exe
    return None


def _child():
    """Runs inside the LD_PRELOAD'ed interpreter, cwd = the fake mount."""
    import errno
    import numpy as np
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import vexfs

    root = os.getcwd()
    for n in ("a.txt", "b.txt", "c.txt"):
        with open(n, "wb") as f:
            f.write(b"x" * 1000)
    # 7 chunks: more than the fake's GET page of 3.
    m = np.zeros((7, 4), dtype=np.float64)
    m[:, 0] = 10 + np.arange(7)
    vexfs.set_chunks("a.txt", [i * 100 for i in range(7)], [150] * 7, m)
    vexfs.set_vector("b.txt", [10.4, 0, 0, 0])
    vexfs.set_chunks("c.txt", [0], [0], [[50, 0, 0, 0]])

    c = vexfs.get_chunks("a.txt")
    assert c.offsets.dtype == np.uint64 and list(c.offsets) == [i * 100 for i in range(7)]
    assert list(c.lengths) == [150] * 7
    assert c.vectors.dtype == np.float32 and c.vectors.shape == (7, 4)
    assert np.array_equal(c.vectors, m.astype(np.float32))
    assert c.stale is False
    offs, lens, vecs, stale, ver = vexfs.get_chunks("b.txt")
    assert list(offs) == [0] and list(lens) == [0] and vecs.shape == (1, 4) and not stale
    # GET_VECTOR on a file with several chunks: E2BIG.
    try:
        vexfs.get_vector("a.txt")
    except vexfs.VexfsError as e:
        assert e.errno == errno.E2BIG, e
    else:
        raise AssertionError("get_vector on 7 chunks succeeded")

    hits = vexfs.search(root, [10, 0, 0, 0], k=4)
    got = [(h.path, h.chunk, h.offset) for h in hits]
    assert got == [("a.txt", 0, 0), ("b.txt", 0, 0), ("a.txt", 1, 100), ("a.txt", 2, 200)], got
    p, ino, d = hits[0]  # still a 3-tuple
    assert p == "a.txt" and d == 0.0 and ino == os.stat("a.txt").st_ino
    assert hits[0].length == 150 and hits[0].stale is False
    hits = vexfs.search(root, [12.9, 0, 0, 0], k=10, per_file=True)
    assert [(h.path, h.chunk) for h in hits] == [("a.txt", 3), ("b.txt", 0), ("c.txt", 0)], hits
    hits = vexfs.search_range(root, [10, 0, 0, 0], 1.1)
    assert len(hits) == 3, hits
    assert len(vexfs.search_range(root, [10, 0, 0, 0], 1.1, per_file=True)) == 2

    # Append: a's hits are stale, fresh drops them; setting again clears it.
    with open("a.txt", "ab") as f:
        f.write(b"more")
    hits = vexfs.search(root, [10, 0, 0, 0], k=2)
    assert (hits[0].path, hits[0].stale, hits[1].path, hits[1].stale) == ("a.txt", True, "b.txt", False)
    assert vexfs.get_chunks("a.txt").stale is True
    assert [h.path for h in vexfs.search(root, [10, 0, 0, 0], k=3, fresh=True)] == ["b.txt", "c.txt"]
    vexfs.set_chunks("a.txt", c.offsets, c.lengths, c.vectors)
    assert vexfs.search(root, [10, 0, 0, 0], k=1, fresh=True)[0].path == "a.txt"

    # Bad input: ValueError before the call or the kernel's errno; the set unchanged.
    before = vexfs.get_chunks("a.txt")
    bad = [
        ([0, 1], [1], np.ones((2, 4))),                 # lengths short
        ([0], [1], np.ones((2, 4))),                    # vectors long
        ([0, 0], [1, 1], [[1, 2, 3, 4], [1, 2, 3]]),    # ragged
        ([0], [1], [[1, float("nan"), 3, 4]]),          # NaN
        ([0], [1], [[1, float("inf"), 3, 4]]),          # Inf
        ([-1], [1], np.ones((1, 4))),                   # negative offset
        ([2 ** 64 - 1], [2], np.ones((1, 4))),          # overflow
        ([0], [1.5], np.ones((1, 4))),                  # not an integer
        ([0] * 16385, [1] * 16385, np.ones((16385, 4))),  # too many
        ([0], [1], np.ones((1, 4, 1))),                 # 3-D
    ]
    for offs, lens, mat in bad:
        try:
            vexfs.set_chunks("a.txt", offs, lens, mat)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted %r %r" % (offs[:3], lens[:3]))
    try:
        vexfs.set_chunks("a.txt", [0], [1], [[1, 2, 3]])
    except vexfs.DimensionError as e:
        assert e.errno == errno.EINVAL and "3 elements" in str(e) and "stores 4" in str(e), e
    else:
        raise AssertionError("wrong dimension accepted")
    after = vexfs.get_chunks("a.txt")
    assert list(after.offsets) == list(before.offsets)
    assert np.array_equal(after.vectors, before.vectors)

    # An empty set drops the vectors.
    vexfs.set_chunks("c.txt", [], [], np.zeros((0, 4)))
    try:
        vexfs.get_chunks("c.txt")
    except vexfs.VexfsError as e:
        assert e.errno == errno.ENODATA and e.filename == "c.txt", e
    else:
        raise AssertionError("c.txt still has chunks")
    s = vexfs.status(root)
    assert s["index_memory_bytes"] == 4096 and "stale_files" in s and "files" in s
    print("child ok")


def test_chunks_over_fake():
    if shutil.which("gcc") is None:
        return _skip("gcc not found")
    py = _python_with_numpy()
    if py is None:
        return _skip("numpy not found (python3-numpy)")
    with tempfile.TemporaryDirectory() as d:
        so = os.path.join(d, "fake.so")
        subprocess.run(["gcc", "-Wall", "-Werror", "-shared", "-fPIC",
                        "-I", os.path.join(ROOT, "shim"), "-I", os.path.join(ROOT, "shim", "uapi"),
                        "-o", so, os.path.join(ROOT, "userspace-tools", "tests", "vexctl_fake.c"),
                        "-ldl", "-lm"], check=True)
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        try:
            os.setxattr(mnt, "user.t", b"1")
        except OSError:
            return _skip("no user xattrs on " + d)
        env = dict(os.environ, LD_PRELOAD=so, VEXFS_FAKE_ROOT=mnt, VEXFS_FAKE_DIM="4")
        r = subprocess.run([py, os.path.abspath(__file__), "--child"], cwd=mnt, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = r.stdout.decode(errors="replace")
        assert r.returncode == 0 and "child ok" in out, out


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        _child()
        sys.exit(0)
    try:
        test_chunks_over_fake()
        print("ok   test_chunks_over_fake")
    except Exception as e:  # noqa: BLE001
        print("FAIL test_chunks_over_fake: %r" % (e,))
        sys.exit(1)
    print("1 passed, 0 failed")
