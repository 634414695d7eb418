#!/usr/bin/env python3
"""Build the `make demo` corpus: passages of the Linux kernel's own documentation.

Source: Debian's linux-source-6.1 package (/usr/src/linux-source-6.1.tar.xz), the
reStructuredText under Documentation/. A few distinct subject areas are picked (power
management, cgroups, filesystems, networking, sound, USB, scheduler, memory, security,
development process, input devices, virtualisation, tracing, BPF, crypto, block devices),
every document is split at its section headings, sections are cleaned of reST markup and
cut into passages of about 40-220 words at paragraph boundaries, and each passage becomes
one text file:

    OUT/<area>/<document>-<NNN>.txt
        Title: <document title> / <section title>
        Source: Documentation/<path>.rst
        <blank line>
        <passage text>

Areas with more passages than their share keep an evenly spaced subset, so each area is
covered across its documents. The result is deterministic for a given tarball and
--passages. Standard library only.

usage: demo-corpus.py [--tar PATH] [--passages N] OUT
"""
import argparse
import fnmatch
import os
import re
import shutil
import sys
import tarfile

AREAS = [
    ("power", ["admin-guide/pm/*.rst", "power/*.rst", "admin-guide/laptops/laptop-mode.rst"]),
    ("cgroups", ["admin-guide/cgroup-v2.rst", "admin-guide/cgroup-v1/*.rst"]),
    ("filesystems", ["filesystems/ext4/*.rst", "admin-guide/ext4.rst", "filesystems/btrfs.rst",
                     "filesystems/fscrypt.rst", "filesystems/overlayfs.rst", "filesystems/tmpfs.rst",
                     "filesystems/quota.rst", "filesystems/fsverity.rst", "filesystems/journalling.rst",
                     "filesystems/path-lookup.rst", "filesystems/vfs.rst", "filesystems/nfs/*.rst"]),
    ("networking", ["networking/bonding.rst", "networking/tls.rst", "networking/tuntap.rst",
                    "networking/vxlan.rst", "networking/bridge.rst", "networking/scaling.rst",
                    "networking/ipvlan.rst", "networking/napi.rst", "networking/packet_mmap.rst",
                    "networking/timestamping.rst", "networking/msg_zerocopy.rst", "networking/tcp-thin.rst",
                    "networking/nf_conntrack-sysctl.rst", "networking/xfrm_*.rst"]),
    ("sound", ["sound/*.rst", "sound/designs/*.rst", "sound/soc/*.rst", "sound/hd-audio/*.rst"]),
    ("usb", ["usb/*.rst", "driver-api/usb/*.rst"]),
    ("scheduler", ["scheduler/*.rst"]),
    ("memory", ["admin-guide/mm/*.rst", "mm/*.rst"]),
    ("security", ["admin-guide/LSM/*.rst", "security/*.rst", "security/keys/*.rst",
                  "userspace-api/landlock.rst", "userspace-api/seccomp_filter.rst"]),
    ("process", ["process/*.rst"]),
    ("input", ["input/*.rst", "input/devices/*.rst", "input/joydev/*.rst"]),
    ("virtualization", ["virt/kvm/*.rst", "virt/kvm/x86/*.rst", "virt/*.rst"]),
    ("tracing", ["trace/*.rst"]),
    ("bpf", ["bpf/*.rst"]),
    ("crypto", ["crypto/*.rst"]),
    ("block", ["block/*.rst", "admin-guide/blockdev/*.rst", "admin-guide/md.rst"]),
]

HEADING_CHARS = set("=-~^\"'`#*+:._")
MIN_WORDS, MAX_WORDS = 40, 220


def is_underline(line, prev):
    s = line.rstrip()
    return (len(s) >= 3 and len(set(s)) == 1 and s[0] in HEADING_CHARS
            and prev.strip() != "" and len(s) >= len(prev.rstrip()) - 2)


def clean_inline(text):
    text = re.sub(r":[a-zA-Z:]+:`([^`<]*?)\s*<[^`>]*>`", r"\1", text)   # :ref:`title <target>`
    text = re.sub(r":[a-zA-Z:]+:`~?([^`]*)`", r"\1", text)             # :c:func:`foo`
    text = re.sub(r"`([^`<]*?)\s*<[^`>]*>`_+", r"\1", text)             # `link <url>`_
    text = text.replace("``", "")
    text = re.sub(r"`([^`]*)`_*", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<!\w)\*([^*\s][^*]*)\*(?!\w)", r"\1", text)
    text = re.sub(r"\[#?\w*\]_", "", text)
    text = text.replace("\\", "")
    return text


def sections(rst):
    """(section title, [paragraphs]) in order; reST markup mostly removed."""
    lines = rst.splitlines()
    out, title, paras, cur = [], "", [], []
    in_directive = False
    directive_indent = 0
    i = 0

    def flush_para():
        if cur:
            p = " ".join(x.strip() for x in cur)
            p = re.sub(r"\s+", " ", clean_inline(p)).strip()
            if p:
                paras.append(p)
            cur.clear()

    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        # Overlined or underlined heading.
        if is_underline(nxt, line) and not line.startswith(" ") and not is_underline(line, "x"):
            flush_para()
            if paras or title:
                out.append((title, paras))
            title, paras = clean_inline(line.strip()), []
            in_directive = False
            i += 2
            continue
        if is_underline(line, "x") and not line.startswith(" "):
            i += 1
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if in_directive:
            if stripped and indent <= directive_indent:
                in_directive = False
            else:
                i += 1
                continue
        if stripped.startswith(".. ") or stripped.endswith("::") and stripped == "::":
            flush_para()
            in_directive, directive_indent = True, indent
            i += 1
            continue
        if stripped.endswith("::"):
            # "Text::" introduces a literal block: keep the text, skip the block.
            cur.append(stripped[:-1] if not stripped.endswith(" ::") else stripped[:-3])
            flush_para()
            in_directive, directive_indent = True, indent
            i += 1
            continue
        if stripped.startswith(("+-", "+=", "|")) or re.match(r"^=+(\s+=+)+$", stripped):
            flush_para()          # tables
            i += 1
            continue
        if not stripped:
            flush_para()
        else:
            if re.match(r"^([-*+]|\d+\.|#\.)\s", stripped):
                flush_para()      # list items as their own paragraphs
            cur.append(stripped)
        i += 1
    flush_para()
    if paras or title:
        out.append((title, paras))
    return out


def passages(doc_title, sects):
    """Cut sections into passages of MIN..MAX words at paragraph boundaries."""
    res = []
    for stitle, paras in sects:
        chunk, words = [], 0
        for p in paras:
            n = len(p.split())
            if words and words + n > MAX_WORDS:
                res.append((stitle, chunk))
                chunk, words = [], 0
            if n > MAX_WORDS:
                p = " ".join(p.split()[:MAX_WORDS]) + " ..."
                n = MAX_WORDS
            chunk.append(p)
            words += n
        if chunk:
            res.append((stitle, chunk))
    good = []
    for stitle, chunk in res:
        text = "\n\n".join(chunk)
        ws = text.split()
        alpha = sum(1 for w in ws if re.match(r"^[A-Za-z][a-z'-]*[.,;:]?$", w))
        if len(ws) >= MIN_WORDS and alpha >= 0.6 * len(ws):
            good.append((stitle, text))
    return good


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tar", default="/usr/src/linux-source-6.1.tar.xz")
    ap.add_argument("--passages", type=int, default=2000)
    ap.add_argument("out")
    a = ap.parse_args()
    if not os.path.isfile(a.tar):
        sys.exit(f"demo-corpus: {a.tar} not found (apt-get install linux-source-6.1; scripts/demo-deps.sh does)")

    patterns = [(area, pat) for area, pats in AREAS for pat in pats]
    docs = {}  # area -> [(relpath, text)]
    with tarfile.open(a.tar, "r:xz") as tf:
        for m in tf:
            if not m.isfile() or "/Documentation/" not in m.name:
                continue
            rel = m.name.split("/Documentation/", 1)[1]
            area = next((ar for ar, pat in patterns if fnmatch.fnmatch(rel, pat) and rel.count("/") == pat.count("/")), None)
            if area is None or rel.endswith("index.rst"):
                continue
            f = tf.extractfile(m)
            if f is not None:
                docs.setdefault(area, []).append((rel, f.read().decode("utf-8", "replace")))

    per_area = {}
    for area, _ in AREAS:
        items = []
        for rel, text in sorted(docs.get(area, [])):
            sects = sections(text)
            doc_title = next((t for t, _ in sects if t), os.path.basename(rel))
            for stitle, body in passages(doc_title, sects):
                items.append((rel, doc_title, stitle, body))
        per_area[area] = items

    # Share the budget evenly; areas with fewer passages give the rest away.
    budget, left = {}, a.passages
    pending = sorted(per_area, key=lambda k: len(per_area[k]))
    while pending:
        share = left // len(pending)
        area = pending.pop(0)
        budget[area] = min(len(per_area[area]), share)
        left -= budget[area]

    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    total = 0
    for area, _ in AREAS:
        items, n = per_area[area], budget[area]
        if n == 0:
            continue
        picked = [items[(i * len(items)) // n] for i in range(n)]
        os.makedirs(os.path.join(a.out, area), exist_ok=True)
        counters = {}
        for rel, doc_title, stitle, body in picked:
            stem = re.sub(r"[^A-Za-z0-9]+", "-", rel[:-4] if rel.endswith(".rst") else rel).strip("-").lower()
            counters[stem] = counters.get(stem, 0) + 1
            name = f"{stem}-{counters[stem]:03d}.txt"
            title = doc_title if not stitle or stitle == doc_title else f"{doc_title} / {stitle}"
            with open(os.path.join(a.out, area, name), "w", encoding="utf-8") as f:
                f.write(f"Title: {title}\nSource: Documentation/{rel}\n\n{body}\n")
            total += 1
        print(f"  {area:15s} {n:5d} passages (of {len(items)}) from {len(docs.get(area, []))} documents")
    print(f"demo-corpus: {total} passages in {a.out}")


if __name__ == "__main__":
    main()
