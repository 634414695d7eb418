#!/usr/bin/env python3
"""Walk a VexFS image and damage its metadata, for the damaged-images VM test.

    imgdamage.py map IMG
        Print the metadata map: every metadata block by kind (JSON).
    imgdamage.py damage SRC DST SEED
        Copy SRC to DST (sparse) and apply one random metadata damage chosen
        by SEED; print one line describing it ("kind: detail").
    imgdamage.py damage-many SRC DIR SEED0 N
        The same for seeds SEED0..SEED0+N-1 into DIR/d<i>.img; prints
        "<i> kind: detail" per image.
    imgdamage.py cut-file-block IMG INO N
        Point file block N of inode INO (a direct or single-indirect one) past
        the end of the device, resealing the inode or indirect block: the
        block then cannot be read, though every checksum holds. Prints
        "old -> new".
    imgdamage.py layout
        Print every format offset and constant used here, as read from
        shim/vexfs_format.h ("NAME VALUE" or "STRUCT.FIELD OFFSET SIZE");
        core/tests/imgdamage_layout.rs checks them against the core.

Metadata kinds (found from the superblock fields and by walking the inode
table and every in-use inode's block map):
  super      block 0 (fields patched with or without resealing the CRC)
  ibitmap    inode bitmap blocks
  bbitmap    block bitmap blocks
  itable     inode table blocks holding in-use inodes
  dir        directory data blocks (record blocks, dx index blocks)
  indirect   single/double/triple indirect blocks of any inode
  xattr      extended attribute blocks
  vecstore   data blocks of the vector store (inode 3: chunk records by slot)
  graph      data blocks of the persisted HNSW graph (inode 4)
  slotmap    data blocks of the slot bitmap (inode 5)
  journal    the jbd2 superblock (first journal block)
User file data blocks are never touched.

Damage is either raw (bit flips, random bytes, zeroed or random block: the
checksum no longer matches) or structured and resealed: a field set to a
hostile value and the structure's CRC-32C recomputed, so that the kernel's
validation of the value itself is what is tested.
"""
import json
import random
import re
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sbpatch  # noqa: E402  (superblock field layout from shim/vexfs_format.h)

# Every offset and constant below comes from the format header; the graph's
# block tail is defined by the core (core/src/hnsw/layout.rs). `imgdamage.py
# layout` prints them all, and the core's host test imgdamage_layout.rs
# compares that list with the bindgen view of the header and the core.
FORMAT_H = sbpatch.HEADER
_CTYPES = {"__le16": 2, "__le32": 4, "__le64": 8, "__u8": 1, "char": 1}


def _defines(text):
    """#define NAME <integer expression> of the header, evaluated."""
    text = re.sub(r"/\*.*?\*/", " ", text.replace("\\\n", " "), flags=re.S)
    raw = {n: v.strip() for n, v in re.findall(r"^#define[ \t]+(\w+)[ \t]+(.+)$", text, re.M)}
    out = {}

    def ev(name, depth=0):
        if name in out:
            return out[name]
        if depth > 16 or name not in raw:
            raise KeyError(f"{FORMAT_H}: no integer #define {name}")
        expr = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)(?:[uU]?[lL]{0,2}|[lL]{1,2}[uU]?)\b", r"\1", raw[name])
        expr = re.sub(r"\b([A-Z_][A-Z0-9_]*)\b", lambda m: str(ev(m.group(1), depth + 1)), expr)
        if not re.fullmatch(r"[0-9a-fA-Fx()+\-*/|&<>\s]*", expr):
            raise ValueError(f"{FORMAT_H}: #define {name} is not an integer expression: {raw[name]}")
        out[name] = eval(expr.replace("/", "//"), {"__builtins__": {}})  # digits and operators only
        return out[name]
    for n in raw:
        try:
            ev(n)
        except (KeyError, ValueError, SyntaxError):
            pass  # not an integer (header guard, string): never looked up
    return out


def _struct(text, defs, name, size_define):
    """{field: (offset, bytes, element bytes)} of `struct name`, natural
    alignment as the header states; checked against its size #define."""
    body = re.search(r"struct " + name + r" \{(.*?)\n\};", text, re.S)
    if not body:
        raise KeyError(f"{FORMAT_H}: no struct {name}")
    fields, off, align = {}, 0, 1
    for line in body.group(1).split("\n"):
        code = re.sub(r"/\*.*?(\*/|$)", "", line).strip()
        if not code or code.startswith("*"):
            continue
        m = re.fullmatch(r"(\w+)\s+(\w+)(?:\[(\w+)\])?;", code)
        if not m or m.group(1) not in _CTYPES:
            raise ValueError(f"{FORMAT_H}: struct {name}: cannot lay out '{code}'")
        size = _CTYPES[m.group(1)]
        count = m.group(3)
        count = 1 if count is None else int(count) if count.isdigit() else defs[count]
        off = (off + size - 1) // size * size
        fields[m.group(2)] = (off, size * count, size)
        off += size * count
        align = max(align, size)
    total = (off + align - 1) // align * align
    if total != defs[size_define]:
        raise ValueError(f"{FORMAT_H}: struct {name} lays out to {total} bytes, {size_define} says {defs[size_define]}")
    return fields


_TEXT = FORMAT_H.read_text()
DEF = _defines(_TEXT)
INODE = _struct(_TEXT, DEF, "vexfs_inode", "VEXFS_INODE_STRUCT_SIZE")
IND = _struct(_TEXT, DEF, "vexfs_ind_tail", "VEXFS_IND_TAIL_SIZE")
DIRENT = _struct(_TEXT, DEF, "vexfs_dirent", "VEXFS_DIRENT_HEADER_SIZE")
DTAIL = _struct(_TEXT, DEF, "vexfs_dir_tail", "VEXFS_DIR_TAIL_SIZE")
CREC = _struct(_TEXT, DEF, "vexfs_chunk_record", "VEXFS_CHUNK_RECORD_HEADER_SIZE")
FIELDS = sbpatch.layout()

BS = DEF["VEXFS_BLOCK_SIZE"]
ISZ = DEF["VEXFS_INODE_SIZE"]
PER = DEF["VEXFS_ADDR_PER_BLOCK"]     # block numbers per indirect block (then the tail)
IND_TAIL = BS - DEF["VEXFS_IND_TAIL_SIZE"]  # struct vexfs_ind_tail: magic, ino, level, checksum
DIR_USABLE = DEF["VEXFS_DIR_USABLE"]  # struct vexfs_dir_tail follows
DIRENT_HDR = DEF["VEXFS_DIRENT_HEADER_SIZE"]
CREC_HDR = DEF["VEXFS_CHUNK_RECORD_HEADER_SIZE"]
VECSTORE_INO = DEF["VEXFS_VECSTORE_INO"]
GRAPH_INO = DEF["VEXFS_GRAPH_INO"]
SLOTMAP_INO = DEF["VEXFS_SLOTMAP_INO"]
FL_INLINE_SYMLINK = DEF["VEXFS_INODE_FL_INLINE_SYMLINK"]
NDIR = DEF["VEXFS_NDIR_BLOCKS"]
N_BLOCKS = DEF["VEXFS_N_BLOCKS"]
# The graph's blocks (core/src/hnsw/layout.rs): BLOCK_PAYLOAD_WORDS words,
# then the CRC-32C and the tag (block index ^ GRAPH_MAGIC).
GRAPH_MAGIC = 0x47485856
GRAPH_PAYLOAD_WORDS = BS // 4 - 2


def _off(struct_fields, name):
    return struct_fields[name][0]


_T = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ (0x82F63B78 if _c & 1 else 0)
    _T.append(_c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ _T[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def u64(b, o):
    return struct.unpack_from("<Q", b, o)[0]


def u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


I_MODE = _off(INODE, "i_mode")
I_FLAGS = _off(INODE, "i_flags")
I_BLOCK = _off(INODE, "i_block")
I_XATTR = _off(INODE, "i_xattr_block")
I_CSUM = _off(INODE, "i_checksum")
D_REC_LEN = _off(DIRENT, "d_rec_len")
D_NAME_LEN = _off(DIRENT, "d_name_len")
D_FILE_TYPE = _off(DIRENT, "d_file_type")


class Image:
    def __init__(self, path):
        self.f = open(path, "rb")
        self.sb = self.read(0)
        self.s = {n: int.from_bytes(self.sb[o:o + sz], "little")
                  for n, (o, sz, _) in FIELDS.items() if sz <= 8}

    def read(self, blk):
        self.f.seek(blk * BS)
        return self.f.read(BS)

    def inode(self, ino):
        off = (ino - 1) * ISZ
        blk = self.s["s_inode_table_start"] + off // BS
        return blk, (off % BS), self.read(blk)[off % BS:off % BS + ISZ]

    def used_inodes(self):
        n = self.s["s_inodes_count"]
        start = self.s["s_inode_bitmap_start"]
        out = []
        for bi in range(self.s["s_inode_bitmap_blocks"]):
            bm = self.read(start + bi)
            for byte in range(BS):
                v = bm[byte]
                if not v:
                    continue
                for bit in range(8):
                    ino = (bi * BS * 8 + byte * 8 + bit) + 1
                    if v >> bit & 1 and ino <= n:
                        out.append(ino)
        return out

    def valid_block(self, b):
        return self.s["s_data_start"] <= b < self.s["s_blocks_count"]

    def walk(self, ino, raw):
        """(data blocks, indirect blocks) of an inode's block map."""
        mode = u16(raw, I_MODE)
        flags = u32(raw, I_FLAGS)
        if flags & FL_INLINE_SYMLINK or (mode & 0o170000) not in (0o100000, 0o040000, 0o120000):
            return [], []
        ptrs = [u32(raw, I_BLOCK + 4 * i) for i in range(N_BLOCKS)]
        data, ind = [p for p in ptrs[:NDIR] if p], []

        def rec(b, level):
            if not b or not self.valid_block(b):
                return
            ind.append(b)
            blk = self.read(b)
            for i in range(PER):
                p = u32(blk, 4 * i)
                if not p:
                    continue
                if level == 1:
                    data.append(p)
                else:
                    rec(p, level - 1)
        for lvl, p in ((1, ptrs[DEF["VEXFS_IND_BLOCK"]]), (2, ptrs[DEF["VEXFS_DIND_BLOCK"]]),
                       (3, ptrs[DEF["VEXFS_TIND_BLOCK"]])):
            rec(p, lvl)
        return data, ind

    def cut_file_block(self, path, ino, n):
        """See cut-file-block in the module docstring; (old, new) block."""
        bad = self.s["s_blocks_count"] + 7
        iblk, ioff, raw = self.inode(ino)
        raw = bytearray(raw)
        if n < NDIR:
            at, old = iblk * BS + ioff, u32(raw, I_BLOCK + 4 * n)
            struct.pack_into("<I", raw, I_BLOCK + 4 * n, bad)
            seal_inode(raw, ino)
            data = raw
        elif n - NDIR < PER:
            ind = u32(raw, I_BLOCK + 4 * DEF["VEXFS_IND_BLOCK"])
            if not self.valid_block(ind):
                return None
            blk = bytearray(self.read(ind))
            at, old = ind * BS, u32(blk, 4 * (n - NDIR))
            struct.pack_into("<I", blk, 4 * (n - NDIR), bad)
            seal_ind(blk, ino)
            data = blk
        else:
            return None
        if not old:
            return None
        with open(path, "r+b") as f:
            f.seek(at)
            f.write(data)
        return old, bad

    def map(self):
        s = self.s
        m = {k: [] for k in ("super", "ibitmap", "bbitmap", "itable", "dir", "indirect",
                             "xattr", "vecstore", "graph", "slotmap", "journal", "data")}
        m["super"] = [0]
        m["ibitmap"] = list(range(s["s_inode_bitmap_start"], s["s_inode_bitmap_start"] + s["s_inode_bitmap_blocks"]))
        m["bbitmap"] = list(range(s["s_block_bitmap_start"], s["s_block_bitmap_start"] + s["s_block_bitmap_blocks"]))
        if s["s_journal_blocks"]:
            m["journal"] = [s["s_journal_start"]]
        inodes, itable = {}, set()
        for ino in self.used_inodes():
            blk, off, raw = self.inode(ino)
            if raw == bytes(ISZ):
                continue
            itable.add(blk)
            mode = u16(raw, I_MODE)
            data, ind = self.walk(ino, raw)
            data = [b for b in data if self.valid_block(b)]
            m["indirect"] += [(b, ino) for b in ind]
            x = u32(raw, I_XATTR)
            if x and self.valid_block(x):
                m["xattr"].append((x, ino))
            if ino == VECSTORE_INO:
                m["vecstore"] += [(b, ino) for b in data]
            elif ino == GRAPH_INO:
                m["graph"] += [(b, ino, i) for i, b in enumerate(data)]
            elif ino == SLOTMAP_INO:
                m["slotmap"] += [(b, ino) for b in data]
            elif mode & 0o170000 == 0o040000:
                m["dir"] += [(b, ino) for b in data]
            else:
                m["data"] += [(b, ino) for b in data]  # never damaged; a redirect target
            inodes[ino] = mode
        m["itable"] = sorted(itable)
        m["inodes"] = inodes
        return m


# --- damage -------------------------------------------------------------

NASTY32 = [0, 1, 2, 3, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe]


def nasty(rng, orig, size=4, img=None):
    c = rng.random()
    top = (1 << (8 * size)) - 1
    if c < 0.25:
        return rng.choice([v & top for v in NASTY32] + [top])
    if c < 0.45:
        return (orig + rng.choice([-1, 1, 2, -2, 16, 4096])) & top
    if c < 0.6 and img is not None:
        # a block number somewhere interesting
        s = img.s
        return rng.choice([0, 1, s["s_inode_table_start"], s["s_journal_start"], s["s_data_start"] - 1,
                           s["s_data_start"], s["s_blocks_count"] - 1, s["s_blocks_count"],
                           s["s_blocks_count"] + 1]) & top
    if c < 0.75:
        return orig ^ (1 << rng.randrange(8 * size))
    return rng.getrandbits(8 * size)


def raw_damage(rng, blk):
    """Damage without resealing: checksums (where there are some) break."""
    b = bytearray(blk)
    c = rng.random()
    if c < 0.35:
        n = rng.randint(1, 8)
        for _ in range(n):
            o = rng.randrange(len(b))
            b[o] ^= 1 << rng.randrange(8)
        return b, f"{n} bit flips"
    if c < 0.7:
        o = rng.randrange(len(b) - 16)
        n = rng.randint(1, 16)
        b[o:o + n] = rng.randbytes(n)
        return b, f"{n} random bytes at {o}"
    if c < 0.85:
        return bytearray(len(b)), "zeroed"
    return bytearray(rng.randbytes(len(b))), "random block"


# The inode fields resealed damage picks from (name, offset, size); of an
# array, its first element.
INODE_FIELDS = [(n, INODE[n][0], INODE[n][2]) for n in (
    "i_mode", "i_links_count", "i_uid", "i_flags", "i_size", "i_blocks", "i_mtime_nsec", "i_generation",
    "i_rdev", "i_xattr_block", "i_dir_depth", "i_orphan_next", "i_vector_dim", "i_parent", "i_names_block", "i_chunk_first",
    "i_chunk_count", "i_data_version", "i_chunk_version", "i_reserved")
] + [(f"i_block[{i}]", I_BLOCK + 4 * i, 4) for i in range(N_BLOCKS)]


def seal_inode(raw, ino):
    raw[I_CSUM:I_CSUM + 4] = b"\0\0\0\0"
    struct.pack_into("<I", raw, I_CSUM, crc32c(struct.pack("<I", ino) + bytes(raw)))


def seal_ind(blk, ino):
    """Recompute an indirect block's checksum: crc32c(ino as le32 ++ block, checksum 0)."""
    o = IND_TAIL + _off(IND, "it_checksum")
    struct.pack_into("<I", blk, o, 0)
    struct.pack_into("<I", blk, o, crc32c(struct.pack("<I", ino) + bytes(blk)))


def seal_dir(blk, ino):
    struct.pack_into("<I", blk, DIR_USABLE + _off(DTAIL, "dt_magic"), DEF["VEXFS_DIR_TAIL_MAGIC"])
    struct.pack_into("<I", blk, DIR_USABLE + _off(DTAIL, "dt_checksum"),
                     crc32c(struct.pack("<I", ino) + bytes(blk[:DIR_USABLE])))


def seal_graph(blk, idx):
    tag, csum = 4 * (GRAPH_PAYLOAD_WORDS + 1), 4 * GRAPH_PAYLOAD_WORDS
    struct.pack_into("<I", blk, tag, idx ^ GRAPH_MAGIC)
    struct.pack_into("<I", blk, csum, crc32c(bytes(blk[:csum]) + bytes(blk[tag:tag + 4])))


def dir_entries(blk):
    out, o = [], 0
    while o + DIRENT_HDR <= DIR_USABLE:
        rl = u16(blk, o + D_REC_LEN)
        out.append(o)
        if rl < DIRENT_HDR or rl % 4:
            break
        o += rl
    return out


def damage(src, dst, seed, img=None, m=None):
    rng = random.Random(seed)
    img = img or Image(src)
    m = m or img.map()
    s = img.s
    # weights per kind (only kinds present in the image)
    weights = {"super": 14, "ibitmap": 8, "bbitmap": 8, "itable": 20, "dir": 16, "indirect": 10,
               "xattr": 2, "vecstore": 8, "graph": 8, "slotmap": 4, "journal": 4}
    kinds = [k for k in weights if m[k]]
    kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
    subprocess_copy(src, dst)
    f = open(dst, "r+b")

    def put(blkno, data, off=0):
        f.seek(blkno * BS + off)
        f.write(bytes(data))

    reseal = rng.random() < 0.6
    if kind == "super":
        sb = bytearray(img.sb)
        if reseal:
            names = [n for n, (o, sz, el) in FIELDS.items() if n not in ("s_checksum",) and sz == el]
            n = rng.randint(1, 2)
            desc = []
            for _ in range(n):
                name = rng.choice(names)
                o, sz, _ = FIELDS[name]
                orig = int.from_bytes(sb[o:o + sz], "little")
                v = nasty(rng, orig, sz, img)
                sb[o:o + sz] = v.to_bytes(sz, "little")
                desc.append(f"{name}={v:#x} (was {orig:#x})")
            co = FIELDS["s_checksum"][0]
            end = FIELDS["s_pad"][0] + 4
            sb[co:co + 4] = b"\0\0\0\0"
            struct.pack_into("<I", sb, co, crc32c(bytes(sb[:end])))
            d = "resealed " + ", ".join(desc)
        else:
            o = rng.randrange(FIELDS["s_pad"][0] + 4)
            sb[o] ^= 1 << rng.randrange(8)
            d = f"unsealed bit flip at byte {o}"
        put(0, sb)
        return f"super: {d}"
    if kind in ("ibitmap", "bbitmap"):
        blkno = rng.choice(m[kind])
        blk = bytearray(img.read(blkno))
        c = rng.random()
        if kind == "ibitmap" and c < 0.4:
            # clear the bit of an in-use inode (a reserved one or a user one)
            ino = rng.choice(list(m["inodes"]))
            bit = ino - 1 - (blkno - s["s_inode_bitmap_start"]) * BS * 8
            if 0 <= bit < BS * 8:
                blk[bit // 8] &= ~(1 << bit % 8) & 0xFF
            put(blkno, blk)
            return f"{kind}: block {blkno}: in-use inode {ino} marked free"
        if kind == "bbitmap" and c < 0.4:
            used = [b for b, *_ in m["dir"] + m["indirect"] + m["vecstore"] + m["graph"] + m["slotmap"]] + [0, s["s_inode_table_start"]]
            b = rng.choice(used)
            bit = b - (blkno - s["s_block_bitmap_start"]) * BS * 8
            if 0 <= bit < BS * 8:
                blk[bit // 8] &= ~(1 << bit % 8) & 0xFF
            put(blkno, blk)
            return f"{kind}: block {blkno}: in-use block {b} marked free"
        if c < 0.6:
            o = rng.randrange(BS)
            blk[o] = 0xFF
            put(blkno, blk)
            return f"{kind}: block {blkno}: byte {o} all set"
        blk, d = raw_damage(rng, blk)
        put(blkno, blk)
        return f"{kind}: block {blkno}: {d}"
    if kind == "itable":
        ino = rng.choice([i for i in m["inodes"]])
        blkno, off, raw = img.inode(ino)
        raw = bytearray(raw)
        if reseal:
            name, o, sz = rng.choice(INODE_FIELDS)
            orig = int.from_bytes(raw[o:o + sz], "little")
            if name == "i_mode" and rng.random() < 0.5:
                v = (orig & 0o7777) | rng.choice([0, 0o010000, 0o020000, 0o040000, 0o100000, 0o120000, 0o170000, 0o050000])
            else:
                v = nasty(rng, orig, sz, img)
            raw[o:o + sz] = v.to_bytes(sz, "little")
            seal_inode(raw, ino)
            put(blkno, raw, off)
            return f"itable: inode {ino} (mode {m['inodes'][ino]:o}) resealed {name}={v:#x} (was {orig:#x})"
        if rng.random() < 0.2:
            blk, d = raw_damage(rng, img.read(blkno))
            put(blkno, blk)
            return f"itable: block {blkno} (inode {ino} among others): {d}"
        raw, d = raw_damage(rng, raw)
        put(blkno, raw, off)
        return f"itable: inode {ino} (mode {m['inodes'][ino]:o}) unsealed: {d}"
    if kind == "dir":
        blkno, ino = rng.choice(m["dir"])
        blk = bytearray(img.read(blkno))
        if reseal:
            ents = dir_entries(blk)
            o = rng.choice(ents)
            which = rng.choice(["d_ino", "d_rec_len", "d_name_len", "d_file_type", "name", "dx"])
            if which == "d_ino":
                orig = u32(blk, o)
                v = rng.choice([0, 1, 2, 3, 4, 5, 10, s["s_inodes_count"], s["s_inodes_count"] + 1,
                                0xffffffff, rng.choice(list(m["inodes"])), rng.randrange(1, s["s_inodes_count"])])
                struct.pack_into("<I", blk, o, v)
            elif which == "d_rec_len":
                orig = u16(blk, o + D_REC_LEN)
                v = nasty(rng, orig, 2) & 0xffff
                struct.pack_into("<H", blk, o + D_REC_LEN, v)
            elif which == "d_name_len":
                orig = blk[o + D_NAME_LEN]
                v = rng.choice([0, 255, orig + 1, orig + 4, rng.randrange(256)]) & 0xff
                blk[o + D_NAME_LEN] = v
            elif which == "d_file_type":
                orig = blk[o + D_FILE_TYPE]
                v = rng.choice([0, 1, 2, 7, 8, 255])
                blk[o + D_FILE_TYPE] = v
            elif which == "name":
                orig = 0
                nl = blk[o + D_NAME_LEN]
                v = rng.choice([ord("/"), 0, ord(".")])
                if nl:
                    blk[o + DIRENT_HDR + rng.randrange(nl)] = v
            else:
                # anywhere in the block (dx root/node info lives in record slack)
                p = rng.randrange(DIR_USABLE // 4) * 4
                orig = u32(blk, p)
                v = nasty(rng, orig, 4, img)
                struct.pack_into("<I", blk, p, v)
                which = f"word at {p}"
            seal_dir(blk, ino)
            put(blkno, blk)
            return f"dir: inode {ino} block {blkno}: resealed {which}={v:#x} (was {orig:#x}) in record at {o}"
        blk, d = raw_damage(rng, blk)
        put(blkno, blk)
        return f"dir: inode {ino} block {blkno}: {d}"
    if kind == "indirect":
        blkno, ino = rng.choice(m["indirect"])
        blk = bytearray(img.read(blkno))
        if rng.random() < 0.5:
            # Hostile pointers: out of range, another file's data or
            # metadata block, the block itself. Resealed, the kernel's
            # range checks are tested; unsealed (a redirect that looks
            # plausible), the checksum must catch it.
            used = [i for i in range(PER) if u32(blk, 4 * i)] or [0]
            n = rng.randint(1, 3)
            desc = []
            for _ in range(n):
                i = rng.choice(used) if rng.random() < 0.7 else rng.randrange(PER)
                other = [b for b, *_ in m["dir"] + m["indirect"] + m["data"]]
                v = rng.choice([nasty(rng, u32(blk, 4 * i), 4, img), rng.choice(other), blkno])
                struct.pack_into("<I", blk, 4 * i, v)
                desc.append(f"ptr[{i}]={v:#x}")
            if reseal:
                seal_ind(blk, ino)
            put(blkno, blk)
            return f"indirect: inode {ino} block {blkno}: {'resealed' if reseal else 'unsealed'} " + ", ".join(desc)
        if reseal:
            # A sealed tail naming the wrong owner or level.
            field = rng.choice(["it_ino", "it_level"])
            fo = _off(IND, field)
            orig = u32(blk, IND_TAIL + fo)
            v = nasty(rng, orig, 4, img) if rng.random() < 0.5 else (orig + 1 if field == "it_level" else rng.choice(list(m["inodes"])))
            struct.pack_into("<I", blk, IND_TAIL + fo, v)
            seal_ind(blk, ino)
            put(blkno, blk)
            return f"indirect: inode {ino} block {blkno}: resealed {field}={v:#x} (was {orig:#x})"
        blk, d = raw_damage(rng, blk)
        put(blkno, blk)
        return f"indirect: inode {ino} block {blkno}: {d}"
    if kind == "vecstore":
        blkno, _ = rng.choice(m["vecstore"])
        blk = bytearray(img.read(blkno))
        rs = CREC_HDR + 4 * s["s_vector_dim"]
        # Records fit a block whole (none straddles two); larger ones
        # (dim > 1016) take whole blocks and get raw damage only.
        recs = [o for o in range(0, BS - rs + 1, rs) if u32(blk, o)]
        if reseal and recs:
            o = rng.choice(recs)
            which = rng.choice(["cr_ino", "cr_generation", "cr_chunk", "cr_offset", "cr_length", "data"])
            if which == "data":
                fo, sz = CREC_HDR + 4 * rng.randrange(s["s_vector_dim"]), 4
                v = rng.choice([0x7fc00000, 0x7f800000, 0xff800000, 0x7f7fffff])  # NaN, Inf, -Inf, FLT_MAX
            else:
                fo, sz = _off(CREC, which), CREC[which][1]
                v = nasty(rng, int.from_bytes(blk[o + fo:o + fo + sz], "little"), sz, img)
            orig = int.from_bytes(blk[o + fo:o + fo + sz], "little")
            blk[o + fo:o + fo + sz] = v.to_bytes(sz, "little")
            co = o + _off(CREC, "cr_checksum")
            struct.pack_into("<I", blk, co, 0)
            struct.pack_into("<I", blk, co, crc32c(bytes(blk[o:o + rs])))
            put(blkno, blk)
            return f"vecstore: block {blkno} record at {o}: resealed {which}={v:#x} (was {orig:#x})"
        blk, d = raw_damage(rng, blk)
        put(blkno, blk)
        return f"vecstore: block {blkno}: {d}"
    if kind == "slotmap":
        blkno, _ = rng.choice(m["slotmap"])
        blk = bytearray(img.read(blkno))
        if reseal:
            # One slot's bit flipped: an allocated slot freed (its set
            # loses a chunk) or a free one allocated (a stray).
            used = [i * 8 + b for i, x in enumerate(blk) if x for b in range(8) if x >> b & 1]
            bit = rng.choice(used) if used and rng.random() < 0.5 else rng.randrange(8 * (max(used) // 8 + 2) if used else 64)
            blk[bit // 8] ^= 1 << (bit % 8)
            put(blkno, blk)
            return f"slotmap: block {blkno}: bit {bit} flipped to {blk[bit // 8] >> (bit % 8) & 1}"
        blk, d = raw_damage(rng, blk)
        put(blkno, blk)
        return f"slotmap: block {blkno}: {d}"
    if kind == "graph":
        blkno, _, idx = rng.choice(m["graph"])
        blk = bytearray(img.read(blkno))
        if reseal:
            n = rng.randint(1, 3)
            desc = []
            for _ in range(n):
                w = rng.randrange(32) if idx == 0 and rng.random() < 0.7 else rng.randrange(GRAPH_PAYLOAD_WORDS)
                orig = u32(blk, 4 * w)
                v = nasty(rng, orig, 4)
                struct.pack_into("<I", blk, 4 * w, v)
                desc.append(f"word {w}={v:#x} (was {orig:#x})")
            seal_graph(blk, idx)
            put(blkno, blk)
            return f"graph: block {idx} ({blkno}): resealed " + ", ".join(desc)
        blk, d = raw_damage(rng, blk)
        put(blkno, blk)
        return f"graph: block {idx} ({blkno}): {d}"
    if kind == "xattr":
        blkno, ino = rng.choice(m["xattr"])
        blk, d = raw_damage(rng, img.read(blkno))
        put(blkno, blk)
        return f"xattr: inode {ino} block {blkno}: {d}"
    # journal superblock (big-endian jbd2 fields)
    blkno = m["journal"][0]
    blk = bytearray(img.read(blkno))
    if reseal:
        o = rng.choice([0x00, 0x04, 0x0c, 0x10, 0x14, 0x18, 0x1c, 0x24, 0x28, 0x2c, 0x40])
        orig = struct.unpack_from(">I", blk, o)[0]
        v = nasty(rng, orig, 4)
        struct.pack_into(">I", blk, o, v)
        put(blkno, blk)
        return f"journal: jbd2 superblock word at {o:#x}={v:#x} (was {orig:#x})"
    blk, d = raw_damage(rng, blk[:1024])
    put(blkno, blk)
    return f"journal: jbd2 superblock {d}"


def subprocess_copy(src, dst):
    # sparse copy: only the allocated extents of the source
    import subprocess
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)


def layout_lines():
    out = [f"{n} {v}" for n, v in (
        ("BS", BS), ("ISZ", ISZ), ("PER", PER), ("IND_TAIL", IND_TAIL), ("DIR_USABLE", DIR_USABLE),
        ("DIRENT_HDR", DIRENT_HDR), ("CREC_HDR", CREC_HDR), ("VECSTORE_INO", VECSTORE_INO),
        ("GRAPH_INO", GRAPH_INO), ("SLOTMAP_INO", SLOTMAP_INO), ("FL_INLINE_SYMLINK", FL_INLINE_SYMLINK), ("NDIR", NDIR),
        ("N_BLOCKS", N_BLOCKS), ("IND_BLOCK", DEF["VEXFS_IND_BLOCK"]), ("DIND_BLOCK", DEF["VEXFS_DIND_BLOCK"]),
        ("TIND_BLOCK", DEF["VEXFS_TIND_BLOCK"]), ("DIR_TAIL_MAGIC", DEF["VEXFS_DIR_TAIL_MAGIC"]),
        ("GRAPH_MAGIC", GRAPH_MAGIC), ("GRAPH_PAYLOAD_WORDS", GRAPH_PAYLOAD_WORDS))]
    for sname, fields in (("vexfs_super_block", FIELDS), ("vexfs_inode", INODE), ("vexfs_ind_tail", IND),
                          ("vexfs_dirent", DIRENT), ("vexfs_dir_tail", DTAIL), ("vexfs_chunk_record", CREC)):
        out += [f"{sname}.{n} {o} {sz}" for n, (o, sz, _) in fields.items()]
    return out


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "layout":
        print("\n".join(layout_lines()))
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "map":
        m = Image(sys.argv[2]).map()
        m["inodes"] = list(m["inodes"])
        print(json.dumps({k: len(v) for k, v in m.items()}))
        return
    if len(sys.argv) == 5 and sys.argv[1] == "cut-file-block":
        r = Image(sys.argv[2]).cut_file_block(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        if r is None:
            sys.exit(f"imgdamage.py: inode {sys.argv[3]} has no direct or single-indirect block {sys.argv[4]}")
        print(f"{r[0]} -> {r[1]}")
        return
    if len(sys.argv) == 6 and sys.argv[1] == "damage-many":
        src, out, seed0, n = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        img = Image(src)
        m = img.map()
        for i in range(n):
            print(i, damage(src, f"{out}/d{i}.img", seed0 + i, img, m), flush=True)
        return
    if len(sys.argv) == 5 and sys.argv[1] == "damage":
        print(damage(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
