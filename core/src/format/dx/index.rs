//! Index blocks (the root and interior nodes): decoding and checking their
//! headers and entries, formatting them, and editing entries in place.
use core::fmt::Write;

use super::*;

/// One index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `key << 1 | continuation`.
    pub stored: u64,
    /// Child: file block index in the directory.
    pub block: u32,
}

impl Entry {
    pub const fn key(&self) -> u64 {
        self.stored >> 1
    }
    pub const fn cont(&self) -> bool {
        self.stored & CONT != 0
    }
}

/// Which kind of index block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Root,
    Node,
}

impl Kind {
    const fn base(self) -> usize {
        match self {
            Kind::Root => ROOT_ENTRIES,
            Kind::Node => NODE_ENTRIES,
        }
    }
    pub const fn limit(self) -> u32 {
        match self {
            Kind::Root => ROOT_LIMIT,
            Kind::Node => NODE_LIMIT,
        }
    }
    const fn count_off(self) -> usize {
        match self {
            Kind::Root => ROOT_INFO + RI_COUNT,
            Kind::Node => NODE_INFO + NI_COUNT,
        }
    }
}

/// Entry `i` of an index block (no range check against the count).
pub fn entry(block: &[u8], kind: Kind, i: u32) -> Result<Entry> {
    let off = kind.base() + i as usize * ENTRY;
    if off + ENTRY > USABLE {
        return Err(Error::Corrupt);
    }
    let lo = le32(block, off)? as u64;
    let hi = le32(block, off + 4)? as u64;
    Ok(Entry { stored: hi << 32 | lo, block: le32(block, off + 8)? })
}

pub(super) fn set_entry(block: &mut [u8], kind: Kind, i: u32, e: Entry) -> Result<()> {
    let off = kind.base() + i as usize * ENTRY;
    if off + ENTRY > USABLE {
        return Err(Error::InvalidArgument);
    }
    put32(block, off, e.stored as u32)?;
    put32(block, off + 4, (e.stored >> 32) as u32)?;
    put32(block, off + 8, e.block)
}

pub(super) fn set_count(block: &mut [u8], kind: Kind, count: u32) -> Result<()> {
    put16(block, kind.count_off(), u16::try_from(count).map_err(|_| Error::InvalidArgument)?)
}

/// The decoded root of an indexed directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootInfo {
    pub dot_ino: u32,
    pub parent_ino: u32,
    pub hash_version: u32,
    pub levels: u32,
    pub seed: [u32; 4],
    pub count: u32,
}

/// Decode and check the root's header (records "." and "..", root info).
/// Entries are checked by `check_entries`.
pub fn root_info(block: &[u8], msg: &mut impl Write) -> Result<RootInfo> {
    block_ok(block)?;
    let dot_ino = le32(block, 0)?;
    let dot_len = le16(block, 4)?;
    let dotdot_ino = le32(block, 12)?;
    let dotdot_len = le16(block, 16)? as usize;
    if dot_ino == 0
        || dot_len != 12
        || byte(block, 6)? != 1
        || byte(block, 8)? != b'.'
        || dotdot_ino == 0
        || dotdot_len != USABLE - 12
        || byte(block, 18)? != 2
        || block.get(20..22) != Some(b"..")
    {
        explain!(msg, "index root: block 0 does not start with '.' and a '..' spanning the block");
        return Err(Error::Corrupt);
    }
    let magic = le32(block, ROOT_INFO)?;
    if magic != VEXFS_DX_ROOT_MAGIC {
        explain!(msg, "index root: bad magic 0x{magic:08x}");
        return Err(Error::Corrupt);
    }
    let hash_version = byte(block, ROOT_INFO + RI_HASH)? as u32;
    let info_len = byte(block, ROOT_INFO + RI_INFO_LEN)? as u32;
    let levels = byte(block, ROOT_INFO + RI_LEVELS)? as u32;
    let flags = byte(block, ROOT_INFO + RI_FLAGS)?;
    if !hash_version_ok(hash_version) {
        explain!(msg, "index root: unknown hash version {hash_version}");
        return Err(Error::Corrupt);
    }
    if info_len != VEXFS_DX_ROOT_INFO_SIZE || flags != 0 || le32(block, ROOT_INFO + RI_RESERVED)? != 0 {
        explain!(msg, "index root: info length {info_len}, flags 0x{flags:x} or reserved field not as written");
        return Err(Error::Corrupt);
    }
    if levels == 0 || levels > VEXFS_DX_MAX_LEVELS {
        explain!(msg, "index root: {levels} levels (1..={VEXFS_DX_MAX_LEVELS})");
        return Err(Error::Corrupt);
    }
    let mut seed = [0u32; 4];
    for (i, w) in seed.iter_mut().enumerate() {
        *w = le32(block, ROOT_INFO + RI_SEED + 4 * i)?;
    }
    let limit = le16(block, ROOT_INFO + RI_LIMIT)? as u32;
    let count = le16(block, ROOT_INFO + RI_COUNT)? as u32;
    if limit != ROOT_LIMIT || count == 0 || count > limit {
        explain!(msg, "index root: {count} entries, limit {limit} (expected 1..={ROOT_LIMIT})");
        return Err(Error::Corrupt);
    }
    Ok(RootInfo { dot_ino, parent_ino: dotdot_ino, hash_version, levels, seed, count })
}

/// True when `block` carries an index node header (an unused record
/// spanning the block with the node magic in its payload).
pub fn is_node(block: &[u8]) -> bool {
    le32(block, 0) == Ok(0)
        && le16(block, 4).map(|l| l as usize) == Ok(USABLE)
        && le32(block, NODE_INFO) == Ok(VEXFS_DX_NODE_MAGIC)
}

/// Decode and check an interior node's header: (height, count).
pub fn node_info(block: &[u8], msg: &mut impl Write) -> Result<(u32, u32)> {
    block_ok(block)?;
    if !is_node(block) {
        explain!(msg, "index node: no node header (not an unused record spanning the block with magic 0x{VEXFS_DX_NODE_MAGIC:08x})");
        return Err(Error::Corrupt);
    }
    let height = byte(block, NODE_INFO + NI_HEIGHT)? as u32;
    let pad_ok = block.get(NODE_INFO + NI_PAD..NODE_INFO + NI_PAD + 3) == Some(&[0u8; 3][..])
        && le32(block, NODE_INFO + NI_RESERVED)? == 0;
    let limit = le16(block, NODE_INFO + NI_LIMIT)? as u32;
    let count = le16(block, NODE_INFO + NI_COUNT)? as u32;
    if height == 0 || height >= VEXFS_DX_MAX_LEVELS || !pad_ok {
        explain!(msg, "index node: height {height} (1..{VEXFS_DX_MAX_LEVELS}) or padding not zero");
        return Err(Error::Corrupt);
    }
    if limit != NODE_LIMIT || count == 0 || count > limit {
        explain!(msg, "index node: {count} entries, limit {limit} (expected 1..={NODE_LIMIT})");
        return Err(Error::Corrupt);
    }
    Ok((height, count))
}

/// Check the `count` entries of an index block: sorted, equal stored keys
/// only with the continuation bit, keys within range, children in
/// `1..dir_blocks`, entry 0 equal to `first` (the parent's stored key; 0
/// for the root).
pub fn check_entries(block: &[u8], kind: Kind, count: u32, first: u64, dir_blocks: u32, msg: &mut impl Write) -> Result<()> {
    let mut prev: Option<u64> = None;
    for i in 0..count {
        let e = entry(block, kind, i)?;
        if e.block == 0 || e.block >= dir_blocks {
            explain!(msg, "index entry {i}: child block {} outside 1..{dir_blocks}", e.block);
            return Err(Error::Corrupt);
        }
        if e.key() > MAX_KEY {
            explain!(msg, "index entry {i}: key {:#x} out of range", e.key());
            return Err(Error::Corrupt);
        }
        match prev {
            None if e.stored != first => {
                explain!(msg, "index entry 0: key {:#x}, expected the parent's {first:#x}", e.stored);
                return Err(Error::Corrupt);
            }
            Some(p) if e.stored < p || (e.stored == p && !e.cont()) => {
                explain!(msg, "index entry {i}: key {:#x} not above the previous {p:#x}", e.stored);
                return Err(Error::Corrupt);
            }
            _ => {}
        }
        prev = Some(e.stored);
    }
    Ok(())
}

/// Format `block` as an index root with no entries.
pub fn init_root(block: &mut [u8], dot_ino: u32, parent_ino: u32, hash_version: u32, seed: &[u32; 4], levels: u32) -> Result<()> {
    block_ok(block)?;
    if dot_ino == 0 || parent_ino == 0 || levels == 0 || levels > VEXFS_DX_MAX_LEVELS || !hash_version_ok(hash_version) {
        return Err(Error::InvalidArgument);
    }
    block.fill(0);
    put32(block, 0, dot_ino)?;
    put16(block, 4, 12)?;
    put8(block, 6, 1)?;
    put8(block, 7, VEXFS_FT_DIR as u8)?;
    put8(block, 8, b'.')?;
    put32(block, 12, parent_ino)?;
    put16(block, 16, (USABLE - 12) as u16)?;
    put8(block, 18, 2)?;
    put8(block, 19, VEXFS_FT_DIR as u8)?;
    put8(block, 20, b'.')?;
    put8(block, 21, b'.')?;
    put32(block, ROOT_INFO, VEXFS_DX_ROOT_MAGIC)?;
    put8(block, ROOT_INFO + RI_HASH, hash_version as u8)?;
    put8(block, ROOT_INFO + RI_INFO_LEN, VEXFS_DX_ROOT_INFO_SIZE as u8)?;
    put8(block, ROOT_INFO + RI_LEVELS, levels as u8)?;
    for (i, w) in seed.iter().enumerate() {
        put32(block, ROOT_INFO + RI_SEED + 4 * i, *w)?;
    }
    put16(block, ROOT_INFO + RI_LIMIT, ROOT_LIMIT as u16)
}

/// Format `block` as an interior node of `height` with no entries.
pub fn init_node(block: &mut [u8], height: u32) -> Result<()> {
    block_ok(block)?;
    if height == 0 || height >= VEXFS_DX_MAX_LEVELS {
        return Err(Error::InvalidArgument);
    }
    block.fill(0);
    put16(block, 4, USABLE as u16)?;
    put32(block, NODE_INFO, VEXFS_DX_NODE_MAGIC)?;
    put8(block, NODE_INFO + NI_HEIGHT, height as u8)?;
    put16(block, NODE_INFO + NI_LIMIT, NODE_LIMIT as u16)
}

pub(super) fn count_of(block: &[u8], kind: Kind) -> Result<u32> {
    Ok(le16(block, kind.count_off())? as u32)
}

/// Append an entry to an index block (bulk building).
pub fn push_entry(block: &mut [u8], kind: Kind, e: Entry) -> Result<()> {
    let n = count_of(block, kind)?;
    if n >= kind.limit() {
        return Err(Error::NoSpace);
    }
    set_entry(block, kind, n, e)?;
    set_count(block, kind, n + 1)
}

/// Set the root's level count (after building).
pub fn set_root_levels(block: &mut [u8], levels: u32) -> Result<()> {
    if levels == 0 || levels > VEXFS_DX_MAX_LEVELS {
        return Err(Error::InvalidArgument);
    }
    *block.get_mut(ROOT_INFO + RI_LEVELS).ok_or(Error::InvalidArgument)? = levels as u8;
    Ok(())
}

/// Last entry whose stored key is <= `target` (entry 0 when none is: the
/// caller has checked entry 0 against its parent).
pub(super) fn search(block: &[u8], kind: Kind, count: u32, target: u64) -> Result<u32> {
    let (mut lo, mut hi) = (1u32, count);
    // Invariant: entries [1, lo) are <= target, entries [hi, count) are > target.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if entry(block, kind, mid)?.stored <= target {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo - 1)
}
