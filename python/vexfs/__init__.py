"""VexFS from Python: attach embedding vectors to files and search them.

A thin, pure-Python wrapper over the VexFS ioctls (``shim/uapi/vexfs_ioctl.h``)
using :func:`fcntl.ioctl`, :mod:`struct` and :mod:`ctypes`; numpy arrays in
and out (numpy is needed only for :func:`get_vector`; inputs may also be any
sequence of numbers)::

    import numpy as np, vexfs
    vexfs.set_vector("/mnt/docs/a.txt", np.random.rand(384).astype(np.float32))
    v = vexfs.get_vector("/mnt/docs/a.txt")            # numpy float32 array
    for path, ino, dist in vexfs.search("/mnt", v, k=5):
        print(dist, path)                              # path relative to the mount root
    vexfs.remove_vector("/mnt/docs/a.txt")

A file may carry many vectors ("chunks"), each tied to a byte range of its
data (length 0 = the whole file)::

    vexfs.set_chunks("/mnt/docs/manual.txt", [0, 900], [900, 850], matrix)  # matrix: (2, dim)
    c = vexfs.get_chunks("/mnt/docs/manual.txt")       # c.offsets, c.lengths, c.vectors, c.stale
    for hit in vexfs.search("/mnt", q, k=10, per_file=True, fresh=True):
        print(hit.distance, hit.path, hit.offset, hit.length, hit.stale)

Search results are :class:`Hit` objects: 3-tuples (path, ino, distance) with
the chunk fields as attributes (chunk, offset, length, stale).

Errors are :class:`VexfsError` (an :class:`OSError`) with the errno the
kernel returned and the file name set (``ENOTTY``: not a VexFS file or an old
module; ``ENODATA``: no vector; ``EACCES``: setting needs write permission).
A vector or query whose length is not the filesystem's dimension is refused
by the kernel with ``EINVAL`` and raised as :class:`DimensionError` (both a
``VexfsError`` and a :class:`ValueError`), whose message names both lengths.
Other bad arguments (NaN/Inf, empty vector, k out of range) raise
:class:`ValueError` before any call.

All struct layouts of the ABI live in :data:`LAYOUTS`, the request numbers in
:data:`IOCTLS`; ``tests/test_abi.py`` checks both against a C compiler, and
``tests/mounted_check.py`` checks the package against a mounted VexFS in the
test VM (``tests/vm/cases/python-api.sh``).
"""
import array
import ctypes
import errno as _errno
import fcntl
import math
import os
import stat
import struct

__all__ = [
    "search", "search_range", "search_similar", "set_vector", "get_vector",
    "remove_vector", "set_chunks", "get_chunks", "status", "sync", "Hit", "Chunks",
    "LAYOUTS", "IOCTLS", "VexfsError", "DimensionError",
]

__version__ = "0.1.0"


class _Layout:
    """A C struct of the ABI as an ordered list of (field, struct code);
    little-endian, no implicit padding (the ABI has none)."""

    def __init__(self, name, fields):
        self.name = name
        self.fields = fields
        self.fmt = "<" + "".join(code for _, code in fields)
        self.size = struct.calcsize(self.fmt)
        self.offsets = {}
        off = 0
        for fname, code in fields:
            self.offsets[fname] = off
            off += struct.calcsize("<" + code)

    def pack(self, **values):
        unknown = set(values) - set(self.offsets)
        if unknown:
            raise KeyError("%s has no field %s" % (self.name, sorted(unknown)))
        if "size" in self.offsets:
            values.setdefault("size", self.size)
        return bytearray(struct.pack(self.fmt, *(values.get(f, 0) for f, _ in self.fields)))

    def unpack(self, buf, offset=0):
        vals = struct.unpack_from(self.fmt, buf, offset)
        return dict(zip((f for f, _ in self.fields), vals))


# The ABI: struct layouts of shim/uapi/vexfs_ioctl.h (I = __u32, Q = __u64,
# q = __s64). Keep in step with the header; tests/test_abi.py checks them.
LAYOUTS = {
    "vexfs_ioc_vector": _Layout("vexfs_ioc_vector", [
        ("size", "I"), ("dim", "I"), ("data", "Q"), ("flags", "I"), ("reserved", "I")]),
    "vexfs_ioc_batch_set": _Layout("vexfs_ioc_batch_set", [
        ("size", "I"), ("count", "I"), ("dim", "I"), ("flags", "I"), ("fds", "Q"),
        ("vectors", "Q"), ("done", "I"), ("reserved", "I")]),
    "vexfs_ioc_search": _Layout("vexfs_ioc_search", [
        ("size", "I"), ("kind", "I"), ("dim", "I"), ("k", "I"), ("ef", "I"), ("flags", "I"),
        ("threshold", "I"), ("count", "I"), ("query", "Q"), ("results", "Q"),
        ("truncated", "I"), ("reserved", "I"), ("result_size", "I"), ("reserved2", "I")]),
    "vexfs_ioc_result": _Layout("vexfs_ioc_result", [
        ("ino", "Q"), ("distance", "I"), ("generation", "I"), ("file_size", "Q"),
        ("mtime_sec", "q"), ("mtime_nsec", "I"), ("dim", "I"), ("chunk", "I"), ("flags", "I"),
        ("offset", "Q"), ("length", "Q")]),
    "vexfs_ioc_chunk": _Layout("vexfs_ioc_chunk", [("offset", "Q"), ("length", "Q")]),
    "vexfs_ioc_chunks": _Layout("vexfs_ioc_chunks", [
        ("size", "I"), ("dim", "I"), ("count", "I"), ("flags", "I"), ("chunks", "Q"),
        ("vectors", "Q"), ("first", "I"), ("total", "I"), ("data_version", "Q")]),
    "vexfs_chunks_xattr": _Layout("vexfs_chunks_xattr", [
        ("magic", "I"), ("version", "I"), ("dim", "I"), ("count", "I")]),
    "vexfs_ioc_ino_path": _Layout("vexfs_ioc_ino_path", [
        ("size", "I"), ("path_len", "I"), ("ino", "Q"), ("path", "Q"),
        ("generation", "I"), ("reserved", "I")]),
    "vexfs_ioc_config": _Layout("vexfs_ioc_config", [
        ("size", "I"), ("set_mask", "I"), ("sync_mode", "I"), ("batch_size", "I"),
        ("sync_interval_ms", "I"), ("ef_search", "I"), ("auto_rebuild", "I"),
        ("reserved", "I")]),
    "vexfs_ioc_status": _Layout("vexfs_ioc_status", [
        ("size", "I"), ("flags", "I"), ("sync_mode", "I"), ("pending", "I"),
        ("last_sync_ns", "Q"), ("graph_generation", "Q"), ("vector_generation", "Q"),
        ("vectors", "Q"), ("graph_nodes", "Q"), ("dim", "I"), ("metric", "I"),
        ("hnsw_m", "I"), ("hnsw_ef_construction", "I"), ("files", "Q"), ("stale_files", "Q"),
        ("index_memory_bytes", "Q")]),
    "vexfs_ioc_stats": _Layout("vexfs_ioc_stats", [
        ("size", "I"), ("reserved", "I"), ("inserts", "Q"), ("updates", "Q"),
        ("deletes", "Q"), ("searches", "Q"), ("exact_searches", "Q"),
        ("distance_computations", "Q"), ("search_ns_total", "Q"), ("search_ns_max", "Q"),
        ("insert_ns_total", "Q"), ("syncs", "Q"), ("rebuilds", "Q"), ("errors", "Q")]),
}

# Constants of the header.
VEXFS_IOCTL_VERSION = 1
VEXFS_IOC_MAX_K = 4096
VEXFS_IOC_MAX_EF = 8192
VEXFS_IOC_MAX_RESULTS = 65536
VEXFS_IOC_MAX_BATCH = 4096
VEXFS_IOC_MAX_DIM = 4096
VEXFS_SEARCH_KNN = 0
VEXFS_SEARCH_RANGE = 1
VEXFS_SEARCH_SIMILAR = 2
VEXFS_SEARCH_F_EXACT = 1
VEXFS_SEARCH_F_SUBTREE = 2
VEXFS_SEARCH_F_FRESH = 4
VEXFS_SEARCH_F_PER_FILE = 8
VEXFS_SEARCH_SIZE_VER0 = 56
VEXFS_RESULT_SIZE_VER0 = 40
VEXFS_STATUS_SIZE_VER0 = 72
VEXFS_RESULT_F_STALE = 1
VEXFS_CHUNKS_F_STALE = 1
VEXFS_IOC_MAX_CHUNKS = 16384
VEXFS_CHUNKS_XATTR_MAGIC = 0x4b435856
VEXFS_CHUNKS_XATTR_VERSION = 1
VEXFS_SYNC_IMMEDIATE = 0
VEXFS_SYNC_LAZY = 1
VEXFS_CONFIG_SYNC_MODE = 0x01
VEXFS_CONFIG_BATCH_SIZE = 0x02
VEXFS_CONFIG_SYNC_INTERVAL = 0x04
VEXFS_CONFIG_EF_SEARCH = 0x08
VEXFS_CONFIG_AUTO_REBUILD = 0x10
VEXFS_MAX_PENDING = 65536
VEXFS_STATUS_GRAPH_VALID = 0x1
VEXFS_STATUS_REBUILDING = 0x2
VEXFS_STATUS_SLOTS_LOADING = 0x4
VEXFS_STATUS_SLOTS_UNREADABLE = 0x8
VEXFS_METRIC_L2 = 0
VEXFS_METRIC_COSINE = 1
VEXFS_METRIC_DOT = 2
CONSTANTS = {n: globals()[n] for n in (
    "VEXFS_IOCTL_VERSION",
    "VEXFS_IOC_MAX_K",
    "VEXFS_IOC_MAX_EF",
    "VEXFS_IOC_MAX_RESULTS",
    "VEXFS_IOC_MAX_BATCH",
    "VEXFS_IOC_MAX_DIM",
    "VEXFS_SEARCH_KNN",
    "VEXFS_SEARCH_RANGE",
    "VEXFS_SEARCH_SIMILAR",
    "VEXFS_SEARCH_F_EXACT",
    "VEXFS_SEARCH_F_SUBTREE",
    "VEXFS_SEARCH_F_FRESH",
    "VEXFS_SEARCH_F_PER_FILE",
    "VEXFS_SEARCH_SIZE_VER0",
    "VEXFS_RESULT_SIZE_VER0",
    "VEXFS_STATUS_SIZE_VER0",
    "VEXFS_RESULT_F_STALE",
    "VEXFS_CHUNKS_F_STALE",
    "VEXFS_IOC_MAX_CHUNKS",
    "VEXFS_CHUNKS_XATTR_MAGIC",
    "VEXFS_CHUNKS_XATTR_VERSION",
    "VEXFS_SYNC_IMMEDIATE",
    "VEXFS_SYNC_LAZY",
    "VEXFS_CONFIG_SYNC_MODE",
    "VEXFS_CONFIG_BATCH_SIZE",
    "VEXFS_CONFIG_SYNC_INTERVAL",
    "VEXFS_CONFIG_EF_SEARCH",
    "VEXFS_CONFIG_AUTO_REBUILD",
    "VEXFS_MAX_PENDING",
    "VEXFS_STATUS_GRAPH_VALID",
    "VEXFS_STATUS_REBUILDING",
    "VEXFS_STATUS_SLOTS_LOADING",
    "VEXFS_STATUS_SLOTS_UNREADABLE",
    "VEXFS_METRIC_L2",
    "VEXFS_METRIC_COSINE",
    "VEXFS_METRIC_DOT",
)}
VEXFS_XATTR_VECTOR = "user.vexfs.vector"
VEXFS_XATTR_CHUNKS = "user.vexfs.chunks"


def _ioc(direction, nr, size):
    # Linux _IOC() on x86: 2 direction bits, 14 size bits, type 'V'.
    return (direction << 30) | (size << 16) | (ord("V") << 8) | nr


def _iowr(nr, layout):
    return _ioc(3, nr, LAYOUTS[layout].size)


IOCTLS = {
    "VEXFS_IOC_SET_VECTOR": _iowr(1, "vexfs_ioc_vector"),
    "VEXFS_IOC_GET_VECTOR": _iowr(2, "vexfs_ioc_vector"),
    "VEXFS_IOC_DEL_VECTOR": _iowr(3, "vexfs_ioc_vector"),
    "VEXFS_IOC_BATCH_SET": _iowr(4, "vexfs_ioc_batch_set"),
    # SEARCH and GET_STATUS encode their first version's size: the number
    # stays as the structs grow (their size field says which version).
    "VEXFS_IOC_SEARCH": _ioc(3, 5, VEXFS_SEARCH_SIZE_VER0),
    "VEXFS_IOC_INO_PATH": _iowr(6, "vexfs_ioc_ino_path"),
    "VEXFS_IOC_SYNC": _ioc(0, 7, 0),
    "VEXFS_IOC_GET_STATUS": _ioc(3, 8, VEXFS_STATUS_SIZE_VER0),
    "VEXFS_IOC_GET_STATS": _iowr(9, "vexfs_ioc_stats"),
    "VEXFS_IOC_GET_CONFIG": _iowr(10, "vexfs_ioc_config"),
    "VEXFS_IOC_SET_CONFIG": _iowr(11, "vexfs_ioc_config"),
    "VEXFS_IOC_REBUILD": _ioc(0, 12, 0),
    "VEXFS_IOC_SET_CHUNKS": _iowr(13, "vexfs_ioc_chunks"),
    "VEXFS_IOC_GET_CHUNKS": _iowr(14, "vexfs_ioc_chunks"),
}
globals().update(IOCTLS)

METRICS = {0: "l2", 1: "cosine", 2: "dot"}
SYNC_MODES = {0: "immediate", 1: "lazy"}

_HINTS = {
    _errno.ENOTTY: "VexFS ioctl not supported (ENOTTY): not a file on a VexFS mount, "
                   "or the vexfs module is too old",
    _errno.ENODATA: "no vector attached to this file (ENODATA)",
    _errno.EUCLEAN: "the filesystem or its index is damaged; run fsck.vexfs (EUCLEAN)",
}


class VexfsError(OSError):
    """An errno from a VexFS ioctl, with the file name."""


class DimensionError(VexfsError, ValueError):
    """A vector or query whose length is not the filesystem's dimension:
    errno EINVAL from the kernel (also a ValueError)."""


def _error(err, path):
    code = err.errno if isinstance(err, OSError) else int(err)
    msg = _HINTS.get(code) or "%s (%s)" % (os.strerror(code), _errno.errorcode.get(code, code))
    return VexfsError(code, msg, os.fspath(path))


def _numpy():
    try:
        import numpy
    except ImportError as e:  # pragma: no cover - depends on the host
        raise ImportError("vexfs: numpy is required for this call (pip install numpy)") from e
    return numpy


def _as_f32(vector):
    """A contiguous little-endian float32 copy of vector, checked, as a
    ctypes buffer (kept alive by the caller) and its length."""
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None and isinstance(vector, np.ndarray):
        if vector.ndim > 2 or (vector.ndim == 2 and vector.shape[0] != 1):
            raise ValueError("vector must be 1-D (or a single row), not shape %s" % (vector.shape,))
        a = np.ascontiguousarray(vector, dtype="<f4").reshape(-1)
        if not np.all(np.isfinite(a)):
            raise ValueError("vector contains NaN or infinity")
        raw = a.tobytes()
        n = a.size
    else:
        try:
            a = array.array("f", [float(x) for x in vector])
        except (TypeError, ValueError) as e:
            raise ValueError("vector must be a sequence of numbers: %s" % e) from None
        if any(not math.isfinite(x) for x in a):
            raise ValueError("vector contains NaN or infinity or a value too large for float32")
        if struct.pack("=I", 1) != struct.pack("<I", 1):  # pragma: no cover
            a.byteswap()
        raw = a.tobytes()
        n = len(a)
    if n == 0:
        raise ValueError("vector is empty")
    if n > VEXFS_IOC_MAX_DIM:
        raise ValueError("vector has %d elements, more than %d" % (n, VEXFS_IOC_MAX_DIM))
    buf = ctypes.create_string_buffer(raw, len(raw))
    return buf, n


def _ioctl(fd, name, arg, path):
    try:
        if arg is None:
            fcntl.ioctl(fd, IOCTLS[name], 0)
        else:
            fcntl.ioctl(fd, IOCTLS[name], arg, True)
    except OSError as e:
        raise _error(e, path) from None


def _not_file(path, mode):
    return VexfsError(_errno.EINVAL, "not a regular file or directory (%s): VexFS ioctls go only "
                      "to files and directories (EINVAL)" % _KINDS.get(stat.S_IFMT(mode), "special file"),
                      os.fspath(path))


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


class _Open:
    """The descriptor the ioctls go to: only regular files and directories.
    A FIFO would block the open until a writer comes, and a device node
    would send VexFS's request numbers to its driver; O_NONBLOCK and the
    fstat after the open cover a path replaced between stat and open."""

    def __init__(self, path, flags):
        self.path = path
        self.flags = flags

    def __enter__(self):
        st = os.stat(self.path)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise _not_file(self.path, st.st_mode)
        try:
            self.fd = os.open(self.path, self.flags | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
        except IsADirectoryError:
            raise VexfsError(_errno.EISDIR, "directories carry no vector", os.fspath(self.path)) from None
        mode = os.fstat(self.fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            os.close(self.fd)
            raise _not_file(self.path, mode)
        return self.fd

    def __exit__(self, *exc):
        os.close(self.fd)


# Set once a module answered EINVAL to the grown search/status structs and
# accepted their first versions (a module older than chunk sets).
_old_abi = False


def _status(fd, path):
    global _old_abi
    L = LAYOUTS["vexfs_ioc_status"]
    if not _old_abi:
        buf = L.pack()
        try:
            _ioctl(fd, "VEXFS_IOC_GET_STATUS", buf, path)
            return L.unpack(buf)
        except VexfsError as e:
            if e.errno != _errno.EINVAL:
                raise
    buf = L.pack(size=VEXFS_STATUS_SIZE_VER0)
    _ioctl(fd, "VEXFS_IOC_GET_STATUS", buf, path)
    _old_abi = True
    s = L.unpack(buf)
    s.update(files=0, stale_files=0, index_memory_bytes=0)
    return s


def status(path):
    """The index status of the filesystem holding path, as a dict (the
    fields of struct vexfs_ioc_status, plus metric/sync_mode names):
    "vectors" counts chunks, "files" files with a chunk set, "stale_files"
    those of them that are stale (0 from a module older than chunk sets)."""
    with _Open(path, os.O_RDONLY) as fd:
        s = _status(fd, path)
    s["metric_name"] = METRICS.get(s["metric"], str(s["metric"]))
    s["sync_mode_name"] = SYNC_MODES.get(s["sync_mode"], str(s["sync_mode"]))
    s["graph_valid"] = bool(s["flags"] & VEXFS_STATUS_GRAPH_VALID)
    s["rebuilding"] = bool(s["flags"] & VEXFS_STATUS_REBUILDING)
    s["slots_loading"] = bool(s["flags"] & VEXFS_STATUS_SLOTS_LOADING)
    s["slots_unreadable"] = bool(s["flags"] & VEXFS_STATUS_SLOTS_UNREADABLE)
    return s


def sync(path):
    """Apply every pending change of the filesystem holding path now."""
    with _Open(path, os.O_RDONLY) as fd:
        _ioctl(fd, "VEXFS_IOC_SYNC", None, path)


def _vector_ioctl(fd, path, name, arg, n, what):
    """Issue a request that carries an n-float vector; the kernel checks n
    against the filesystem's dimension, and an EINVAL caused by a wrong
    dimension becomes a DimensionError that names both."""
    try:
        _ioctl(fd, name, arg, path)
    except VexfsError as e:
        if e.errno == _errno.EINVAL:
            try:
                dim = _status(fd, path)["dim"]
            except OSError:
                dim = None
            if dim is not None and dim != n:
                raise DimensionError(
                    _errno.EINVAL, "%s has %d elements, this filesystem stores %d (EINVAL)"
                    % (what, n, dim), os.fspath(path)) from None
        raise


def set_vector(path, vector):
    """Attach vector (numpy array or sequence of numbers) to the file at path;
    needs write permission on it."""
    buf, n = _as_f32(vector)
    with _Open(path, os.O_WRONLY) as fd:
        arg = LAYOUTS["vexfs_ioc_vector"].pack(dim=n, data=ctypes.addressof(buf))
        _vector_ioctl(fd, path, "VEXFS_IOC_SET_VECTOR", arg, n, "vector")


def get_vector(path):
    """The vector of the file at path as a numpy float32 array (OSError
    ENODATA if it has none)."""
    np = _numpy()
    L = LAYOUTS["vexfs_ioc_vector"]
    with _Open(path, os.O_RDONLY) as fd:
        cap = _status(fd, path)["dim"] or VEXFS_IOC_MAX_DIM
        for _ in range(2):
            out = ctypes.create_string_buffer(cap * 4)
            arg = L.pack(dim=cap, data=ctypes.addressof(out))
            try:
                _ioctl(fd, "VEXFS_IOC_GET_VECTOR", arg, path)
            except OSError as e:
                if e.errno == _errno.ERANGE and cap < VEXFS_IOC_MAX_DIM:
                    cap = max(L.unpack(arg)["dim"], cap)
                    continue
                raise
            dim = min(L.unpack(arg)["dim"], cap)
            return np.frombuffer(out.raw[:dim * 4], dtype="<f4").astype(np.float32)
    raise _error(_errno.ERANGE, path)


def remove_vector(path):
    """Remove the vector of the file at path (needs write permission)."""
    with _Open(path, os.O_WRONLY) as fd:
        arg = LAYOUTS["vexfs_ioc_vector"].pack()
        _ioctl(fd, "VEXFS_IOC_DEL_VECTOR", arg, path)


def _ino_path(fd, path, ino, generation=0):
    L = LAYOUTS["vexfs_ioc_ino_path"]
    out = ctypes.create_string_buffer(4096)
    arg = L.pack(path_len=4096, ino=ino, path=ctypes.addressof(out), generation=generation)
    try:
        _ioctl(fd, "VEXFS_IOC_INO_PATH", arg, path)
    except OSError as e:
        if e.errno in (_errno.ENOENT, _errno.ESTALE, _errno.EACCES, _errno.EPERM):
            return None  # unlinked or unreadable since the search
        raise
    n = min(L.unpack(arg)["path_len"], 4096)
    return out.raw[:n].rstrip(b"\0").decode("utf-8", "surrogateescape").lstrip("/")


class Hit(tuple):
    """A search result: the 3-tuple (path, ino, distance), so ``for path,
    ino, dist in search(...)`` works, with the chunk's fields as attributes:
    chunk (index in the file's set), offset and length (its byte range,
    length 0 = the whole file), stale (the file's data changed after the set
    was written), and generation, file_size, mtime_sec, mtime_nsec, dim."""

    def __new__(cls, path, ino, distance, **fields):
        t = super().__new__(cls, (path, ino, distance))
        t.__dict__.update(fields)
        return t

    path = property(lambda self: self[0])
    ino = property(lambda self: self[1])
    distance = property(lambda self: self[2])

    def __repr__(self):
        return "Hit(path=%r, ino=%d, distance=%r, chunk=%d, offset=%d, length=%d, stale=%r)" % (
            self.path, self.ino, self.distance, self.chunk, self.offset, self.length, self.stale)


def _search_call(fd, path, SL, RL, n, kw):
    """One SEARCH with the current structs, or the first versions after a
    module answered EINVAL to them; returns (arg, results, result stride)."""
    global _old_abi
    for old in ((True,) if _old_abi else (False, True)):
        rsize = VEXFS_RESULT_SIZE_VER0 if old else RL.size
        results = ctypes.create_string_buffer(rsize * kw["k"])
        if old:
            arg = SL.pack(size=VEXFS_SEARCH_SIZE_VER0, results=ctypes.addressof(results), **kw)
        else:
            arg = SL.pack(result_size=RL.size, results=ctypes.addressof(results), **kw)
        try:
            _vector_ioctl(fd, path, "VEXFS_IOC_SEARCH", arg, n, "query")
        except DimensionError:
            raise
        except VexfsError as e:
            if e.errno == _errno.EINVAL and not old:
                continue
            raise
        if old and not _old_abi:
            _old_abi = True
        return arg, results, rsize
    raise AssertionError("unreachable")  # pragma: no cover


def _search(path, vector, kind, k, ef, threshold, exact, subtree, per_file, fresh):
    buf, n = _as_f32(vector)
    RL = LAYOUTS["vexfs_ioc_result"]
    SL = LAYOUTS["vexfs_ioc_search"]
    flags = VEXFS_SEARCH_F_EXACT if exact else 0
    flags |= VEXFS_SEARCH_F_PER_FILE if per_file else 0
    flags |= VEXFS_SEARCH_F_FRESH if fresh else 0
    thr = struct.unpack("<I", struct.pack("<f", threshold))[0]
    with _Open(path, os.O_RDONLY) as fd:
        # A directory scopes the search to its subtree (as vexctl without --all).
        if subtree and stat.S_ISDIR(os.fstat(fd).st_mode):
            flags |= VEXFS_SEARCH_F_SUBTREE
        while True:
            kw = dict(kind=kind, dim=n, k=k, ef=ef, flags=flags, threshold=thr,
                      query=ctypes.addressof(buf))
            arg, results, rsize = _search_call(fd, path, SL, RL, n, kw)
            a = SL.unpack(arg)
            grow = kind != VEXFS_SEARCH_KNN and a["truncated"] and k < VEXFS_IOC_MAX_RESULTS
            if not grow:
                break
            k = min(k * 8, VEXFS_IOC_MAX_RESULTS)
        out = []
        for i in range(min(a["count"], k)):
            raw = results.raw[i * rsize:(i + 1) * rsize].ljust(RL.size, b"\0")
            r = RL.unpack(raw)
            p = _ino_path(fd, path, r["ino"], r["generation"])
            if p is None:
                continue
            dist = struct.unpack("<f", struct.pack("<I", r["distance"]))[0]
            out.append(Hit(p, r["ino"], dist, chunk=r["chunk"], offset=r["offset"],
                           length=r["length"], stale=bool(r["flags"] & VEXFS_RESULT_F_STALE),
                           generation=r["generation"], file_size=r["file_size"],
                           mtime_sec=r["mtime_sec"], mtime_nsec=r["mtime_nsec"], dim=r["dim"]))
        return out


def search(path, vector, k=10, ef=0, exact=False, subtree=True, per_file=False, fresh=False):
    """The k chunks nearest to vector, as a list of :class:`Hit` (a tuple
    (path relative to the mount root, inode number, distance) with the
    chunk fields as attributes), nearest first. per_file: the k nearest
    files instead, each once with its nearest chunk; fresh: leave out files
    whose chunk set is stale. When path is a directory and subtree is true,
    only files under it (at any depth) are searched; otherwise (or at the
    mount root) the whole volume. Only files the caller could open by path
    are returned. ef=0 uses the mount's default ef_search."""
    if not 1 <= int(k) <= VEXFS_IOC_MAX_K:
        raise ValueError("k must be in 1..%d" % VEXFS_IOC_MAX_K)
    if not 0 <= int(ef) <= VEXFS_IOC_MAX_EF:
        raise ValueError("ef must be in 0..%d" % VEXFS_IOC_MAX_EF)
    return _search(path, vector, VEXFS_SEARCH_KNN, int(k), int(ef), 0.0, exact, subtree,
                   per_file, fresh)


def search_range(path, vector, max_distance, exact=False, subtree=True, per_file=False,
                 fresh=False):
    """Every chunk (per_file: file) within max_distance of vector: [Hit].
    subtree, per_file, fresh: as for search()."""
    return _search(path, vector, VEXFS_SEARCH_RANGE, 1024, 0, float(max_distance), exact,
                   subtree, per_file, fresh)


def search_similar(path, vector, threshold, exact=False, subtree=True, per_file=False,
                   fresh=False):
    """Every chunk (per_file: file) with similarity >= threshold to vector:
    [Hit]. subtree, per_file, fresh: as for search()."""
    return _search(path, vector, VEXFS_SEARCH_SIMILAR, 1024, 0, float(threshold), exact,
                   subtree, per_file, fresh)


class Chunks(tuple):
    """A file's chunk set from :func:`get_chunks`: offsets and lengths
    (numpy uint64 arrays of n), vectors (numpy float32 of shape (n, dim)),
    stale (bool) and data_version (the file's data version)."""

    def __new__(cls, offsets, lengths, vectors, stale, data_version):
        return super().__new__(cls, (offsets, lengths, vectors, stale, data_version))

    offsets = property(lambda self: self[0])
    lengths = property(lambda self: self[1])
    vectors = property(lambda self: self[2])
    stale = property(lambda self: self[3])
    data_version = property(lambda self: self[4])


def _range_array(values, what, n=None):
    out = []
    for x in values:
        try:
            i = int(x)
        except (TypeError, ValueError):
            raise ValueError("%s must be non-negative integers, not %r" % (what, x)) from None
        if i != x or not 0 <= i < 1 << 64:
            raise ValueError("%s must be integers in 0..2^64-1, not %r" % (what, x))
        out.append(i)
    return out


def set_chunks(path, offsets, lengths, matrix):
    """Replace the file's chunk set (needs write permission): chunk i covers
    bytes [offsets[i], offsets[i] + lengths[i]) of the file (length 0 = the
    whole file) and has vector matrix[i]. matrix is (n, dim) (numpy array or
    sequence of rows); n = 0 drops the set. Ranges may overlap, come in any
    order and pass the end of file. On any error nothing changes: bad
    arguments raise ValueError before the call, the kernel's refusal a
    VexfsError (E2BIG: more than 16384 chunks; EINVAL: wrong dimension,
    also raised as DimensionError)."""
    offs = _range_array(offsets, "offsets")
    lens = _range_array(lengths, "lengths")
    if len(offs) != len(lens):
        raise ValueError("%d offsets but %d lengths" % (len(offs), len(lens)))
    for o, l in zip(offs, lens):
        if o + l >= 1 << 64:
            raise ValueError("offset %d + length %d overflows 64 bits" % (o, l))
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None and isinstance(matrix, np.ndarray):
        if matrix.ndim != 2 and not (matrix.ndim == 1 and matrix.size == 0):
            raise ValueError("matrix must be 2-D (chunks x dim), not shape %s" % (matrix.shape,))
        rows = [matrix[i] for i in range(matrix.shape[0])] if matrix.ndim == 2 else []
    else:
        rows = list(matrix)
    if len(rows) != len(offs):
        raise ValueError("%d offsets but %d vectors" % (len(offs), len(rows)))
    if len(rows) > VEXFS_IOC_MAX_CHUNKS:
        raise ValueError("%d chunks, more than %d" % (len(rows), VEXFS_IOC_MAX_CHUNKS))
    raw = bytearray()
    dim = None
    for i, row in enumerate(rows):
        try:
            b, n = _as_f32(row)
        except ValueError as e:
            raise ValueError("chunk %d: %s" % (i, e)) from None
        if dim is None:
            dim = n
        elif n != dim:
            raise ValueError("chunk %d has %d elements, chunk 0 has %d" % (i, n, dim))
        raw += b.raw
    recs = b"".join(struct.pack("<QQ", o, l) for o, l in zip(offs, lens))
    cbuf = ctypes.create_string_buffer(recs, max(len(recs), 1))
    vbuf = ctypes.create_string_buffer(bytes(raw), max(len(raw), 1))
    with _Open(path, os.O_WRONLY) as fd:
        if dim is None:
            dim = _status(fd, path)["dim"]
        arg = LAYOUTS["vexfs_ioc_chunks"].pack(dim=dim, count=len(rows),
                                               chunks=ctypes.addressof(cbuf),
                                               vectors=ctypes.addressof(vbuf))
        _vector_ioctl(fd, path, "VEXFS_IOC_SET_CHUNKS", arg, dim, "the chunks' vectors")


def get_chunks(path):
    """The file's whole chunk set as :class:`Chunks` (offsets, lengths,
    vectors (n, dim) float32, stale, data_version); VexfsError ENODATA if it
    has none. Read a page of chunks per call; a set replaced between two
    pages is read again."""
    np = _numpy()
    L = LAYOUTS["vexfs_ioc_chunks"]
    page = 1024
    with _Open(path, os.O_RDONLY) as fd:
        dim = _status(fd, path)["dim"]
        for _ in range(8):
            offs, lens, vecs = [], [], []
            first, total, version, stale = 0, None, None, False
            while True:
                cbuf = ctypes.create_string_buffer(16 * page)
                vbuf = ctypes.create_string_buffer(4 * dim * page)
                arg = L.pack(dim=dim, count=page, chunks=ctypes.addressof(cbuf),
                             vectors=ctypes.addressof(vbuf), first=first)
                _ioctl(fd, "VEXFS_IOC_GET_CHUNKS", arg, path)
                a = L.unpack(arg)
                if a["dim"] != dim or a["count"] > page:
                    raise _error(_errno.EIO, path)
                if total is None:
                    total, version = a["total"], a["data_version"]
                    stale = bool(a["flags"] & VEXFS_CHUNKS_F_STALE)
                elif (a["total"], a["data_version"]) != (total, version):
                    break  # replaced meanwhile: read again
                n = a["count"]
                for i in range(n):
                    o, l = struct.unpack_from("<QQ", cbuf.raw, 16 * i)
                    offs.append(o)
                    lens.append(l)
                vecs.append(np.frombuffer(vbuf.raw[:4 * dim * n], dtype="<f4"))
                first += n
                if first >= total or n == 0:
                    if len(offs) != total:
                        break
                    m = (np.concatenate(vecs) if vecs else np.zeros(0, "<f4"))
                    return Chunks(np.array(offs, dtype=np.uint64), np.array(lens, dtype=np.uint64),
                                  m.astype(np.float32).reshape(total, dim), stale, version)
    raise _error(_errno.EAGAIN, path)
