"""Checks vexfs.LAYOUTS / IOCTLS / CONSTANTS against the C compiler's view of
shim/uapi/vexfs_ioctl.h (the same userspace-tools/tests/uapi_dump.c that the
Rust ABI test uses), and the error behaviour off a VexFS mount.

Run: python3 -m pytest python/tests   or   python3 python/tests/test_abi.py
"""
import errno
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import vexfs  # noqa: E402

_DUMP = None


def c_dump():
    """{"kind name": value} from the gcc-compiled dump, or None without gcc."""
    global _DUMP
    if _DUMP is not None:
        return _DUMP
    if shutil.which("gcc") is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "uapi_dump")
        subprocess.run(
            ["gcc", "-Wall", "-Werror", "-I", os.path.join(ROOT, "shim"),
             "-I", os.path.join(ROOT, "shim", "uapi"), "-o", exe,
             os.path.join(ROOT, "userspace-tools", "tests", "uapi_dump.c")],
            check=True)
        out = subprocess.run([exe], check=True, stdout=subprocess.PIPE).stdout.decode()
    m = {}
    for line in out.splitlines():
        kind, name, val = line.split(" ", 2)
        m[kind + " " + name] = val
    _DUMP = m
    return m


def _need_c():
    m = c_dump()
    if m is None:
        msg = "gcc not found: cannot compare the Python ABI view with C"
        try:
            import pytest
            pytest.skip(msg)
        except ImportError:
            print("SKIP: " + msg)
    return m


def test_struct_sizes_and_offsets():
    m = _need_c()
    if m is None:
        return
    for name, layout in vexfs.LAYOUTS.items():
        assert int(m["sizeof " + name]) == layout.size, name
        for field, off in layout.offsets.items():
            assert int(m["offsetof %s.%s" % (name, field)]) == off, (name, field)
    # Every field the C dump knows is in the Python layouts.
    for key in m:
        if key.startswith("offsetof "):
            s, f = key.split(" ", 1)[1].split(".")
            assert f in vexfs.LAYOUTS[s].offsets, key
        if key.startswith("sizeof "):
            assert key.split(" ", 1)[1] in vexfs.LAYOUTS, key


def test_ioctl_numbers_and_constants():
    m = _need_c()
    if m is None:
        return
    c_ioctls = {k.split(" ", 1)[1]: int(v) for k, v in m.items() if k.startswith("ioctl ")}
    assert c_ioctls == vexfs.IOCTLS
    for k, v in m.items():
        if k.startswith("const "):
            name = k.split(" ", 1)[1]
            assert vexfs.CONSTANTS[name] == int(v), name
    assert m["xattr VEXFS_XATTR_VECTOR"] == vexfs.VEXFS_XATTR_VECTOR


def test_pack_unpack_roundtrip():
    L = vexfs.LAYOUTS["vexfs_ioc_search"]
    b = L.pack(kind=1, dim=3, k=7, query=0x1122334455667788)
    d = L.unpack(b)
    assert d["size"] == L.size and d["kind"] == 1 and d["k"] == 7
    assert d["query"] == 0x1122334455667788 and d["results"] == 0


def test_errors_off_vexfs():
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "a.txt")
        with open(f, "w") as fh:
            fh.write("x")
        for call in (lambda: vexfs.set_vector(f, [1.0, 2.0]),
                     lambda: vexfs.get_vector(f) if _has_numpy() else vexfs.status(f),
                     lambda: vexfs.remove_vector(f),
                     lambda: vexfs.search(d, [1.0, 2.0]),
                     lambda: vexfs.status(d),
                     lambda: vexfs.sync(d)):
            try:
                call()
            except OSError as e:
                assert e.errno == errno.ENOTTY, e
                assert e.filename in (f, d)
                assert "VexFS" in str(e)
            else:
                raise AssertionError("no error off VexFS")
        try:
            vexfs.set_vector(d, [1.0])
        except OSError as e:
            assert e.errno == errno.EISDIR and e.filename == d
        else:
            raise AssertionError("set_vector on a directory did not fail")


def test_special_files_refused():
    """A FIFO would block the open and a device node would get VexFS's
    request numbers: both are refused (EINVAL) before any open or ioctl."""
    import signal
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        calls = [lambda p=p: vexfs.set_vector(p, [1.0]) for p in (fifo, "/dev/null")]
        calls += [lambda p=p: vexfs.remove_vector(p) for p in (fifo, "/dev/null")]
        calls += [lambda p=p: vexfs.status(p) for p in (fifo, "/dev/null")]
        calls += [lambda: vexfs.search(fifo, [1.0])]
        if _has_numpy():
            calls += [lambda: vexfs.get_vector(fifo)]
        old = signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(
            AssertionError("a call on a FIFO blocked")))
        try:
            for call in calls:
                signal.alarm(5)
                try:
                    call()
                except OSError as e:
                    assert e.errno == errno.EINVAL, e
                    assert "not a regular file" in str(e), e
                else:
                    raise AssertionError("no error on a special file")
                finally:
                    signal.alarm(0)
        finally:
            signal.signal(signal.SIGALRM, old)


def _has_numpy():
    try:
        import numpy  # noqa: F401
        return True
    except ImportError:
        return False


def test_bad_arguments():
    for bad in ([], [1.0, float("nan")], [float("inf")], ["a"], [1e39]):
        try:
            vexfs.set_vector("/nonexistent", bad)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted %r" % (bad,))
    for k in (0, 5000):
        try:
            vexfs.search("/nonexistent", [1.0], k=k)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted k=%d" % k)


if __name__ == "__main__":
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    failed = 0
    for t in tests:
        try:
            t()
            print("ok   " + t.__name__)
        except Exception as e:  # noqa: BLE001
            failed += 1
            print("FAIL %s: %r" % (t.__name__, e))
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
