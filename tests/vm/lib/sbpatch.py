#!/usr/bin/env python3
"""Patch superblock fields of a VexFS image, for damaged-image tests.

    sbpatch.py IMG FIELD=VALUE... [--no-reseal]

FIELD is a field name of struct vexfs_super_block (shim/vexfs_format.h), or
`@OFFSET:SIZE` for raw bytes. By default the CRC-32C is recomputed so that the
damage is in the value, not the checksum (use --no-reseal to test checksum
rejection)."""
import re
import struct
import sys
from pathlib import Path

HEADER = Path(__file__).resolve().parents[3] / "shim" / "vexfs_format.h"
SIZES = {"__le16": 2, "__le32": 4, "__le64": 8, "__u8": 1, "char": 1}


def layout():
    """Field offsets of struct vexfs_super_block, read from the format header."""
    text = HEADER.read_text()
    body = re.search(r"struct vexfs_super_block \{(.*?)\n\};", text, re.S).group(1)
    fields, off = {}, 0
    for m in re.finditer(r"^\s*(__le16|__le32|__le64|__u8|char)\s+(\w+)(?:\[(\d+)\])?;", body, re.M):
        typ, name, count = m.group(1), m.group(2), int(m.group(3) or 1)
        size = SIZES[typ]
        off = (off + size - 1) // size * size  # natural alignment
        fields[name] = (off, size * count, size)
        off += size * count
    return fields


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def main():
    args = [a for a in sys.argv[1:] if a != "--no-reseal"]
    reseal = "--no-reseal" not in sys.argv
    if len(args) < 2:
        sys.exit(__doc__)
    img, patches = args[0], args[1:]
    fields = layout()
    with open(img, "r+b") as f:
        sb = bytearray(f.read(4096))
        for p in patches:
            name, value = p.split("=", 1)
            if name.startswith("@"):
                off, size = (int(x, 0) for x in name[1:].split(":"))
            else:
                off, size, _ = fields[name]
            sb[off:off + size] = int(value, 0).to_bytes(size, "little")
        if reseal:
            coff = fields["s_checksum"][0]
            end = fields["s_pad"][0] + 4
            sb[coff:coff + 4] = b"\0\0\0\0"
            sb[coff:coff + 4] = struct.pack("<I", crc32c(bytes(sb[:end])))
        f.seek(0)
        f.write(sb)


if __name__ == "__main__":
    main()
