//! Hash-indexed directories: the index blocks (`vexfs_dx_*` in the format
//! header), the seeded name hash, and the walk / split / convert logic over
//! caller-provided block buffers. No I/O and no allocation: the kernel reads
//! the blocks a walk asks for and hands them in (see `shim/vexfs_core.h`).
//!
//! Invariants of a valid index (checked as blocks are passed in, and in full
//! by fsck):
//! - every index block holds 1..=limit entries sorted by stored key
//!   (`key << 1 | continuation`); equal stored keys only with the
//!   continuation bit set;
//! - entry 0 of the root has stored key 0; entry 0 of an interior node has
//!   the stored key of the parent entry pointing at it;
//! - a leaf under entry i holds names with `stored(i) >> 1 <= key` and
//!   `key <= stored(i + 1) >> 1`, the latter equal only when entry i + 1
//!   has the continuation bit (names with one key spilling into the next
//!   leaf).
use core::fmt::Write;

use super::defs::*;
use super::dir;
use crate::bytes;
use crate::error::{Error, Result};
use crate::explain;
use crate::sort::sort_by_key;
use crate::ffi::abi::{vexfs_dx_frame, vexfs_dx_path, vexfs_dx_slot, VEXFS_DX_END, VEXFS_DX_LEAF, VEXFS_DX_READ};

/// A walk from the root to a leaf (caller-owned, see the C header).
pub type Path = vexfs_dx_path;
/// One leaf record in hash order.
pub type Slot = vexfs_dx_slot;

const USABLE: usize = VEXFS_DIR_USABLE as usize;
const HDR: usize = VEXFS_DIRENT_HEADER_SIZE as usize;
const ROOT_INFO: usize = VEXFS_DX_ROOT_INFO_OFFSET as usize;
const ROOT_ENTRIES: usize = VEXFS_DX_ROOT_ENTRIES as usize;
const NODE_INFO: usize = VEXFS_DX_NODE_INFO_OFFSET as usize;
const NODE_ENTRIES: usize = VEXFS_DX_NODE_ENTRIES as usize;
const ENTRY: usize = VEXFS_DX_ENTRY_SIZE as usize;
// Field offsets inside the root info and node info.
const RI_HASH: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_hash_version);
const RI_INFO_LEN: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_info_length);
const RI_LEVELS: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_levels);
const RI_FLAGS: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_flags);
const RI_SEED: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_seed);
const RI_LIMIT: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_limit);
const RI_COUNT: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_count);
const RI_RESERVED: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_reserved);
const NI_HEIGHT: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_height);
const NI_PAD: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_pad);
const NI_LIMIT: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_limit);
const NI_COUNT: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_count);
const NI_RESERVED: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_reserved);
const _: () = assert!(core::mem::size_of::<vexfs_dx_root_info>() == VEXFS_DX_ROOT_INFO_SIZE as usize);
const _: () = assert!(core::mem::size_of::<vexfs_dx_node_info>() == VEXFS_DX_NODE_INFO_SIZE as usize);
const _: () = assert!(core::mem::size_of::<vexfs_dx_entry>() == VEXFS_DX_ENTRY_SIZE as usize);
const MAX_LEVELS: usize = VEXFS_DX_MAX_LEVELS as usize;
/// Entries in the root / in an interior node.
pub const ROOT_LIMIT: u32 = VEXFS_DX_ROOT_LIMIT;
pub const NODE_LIMIT: u32 = VEXFS_DX_NODE_LIMIT;
/// Most records a leaf can hold.
pub const LEAF_MAX: usize = VEXFS_DX_LEAF_MAX_ENTRIES as usize;
/// Largest hash key: keeps every readdir position below `VEXFS_DX_POS_EOF`.
pub const MAX_KEY: u64 = (1u64 << 62) - 2;
/// The continuation bit of a stored key.
pub const CONT: u64 = 1;

/// Return codes of the walk functions.
pub const LEAF: i32 = VEXFS_DX_LEAF as i32;
pub const READ: i32 = VEXFS_DX_READ as i32;
pub const END: i32 = VEXFS_DX_END as i32;

// What the next `descend` does with the block it is given.
const MODE_SEARCH: u32 = 0; // binary search for p.key
const MODE_FIRST: u32 = 1; // take entry 0 (entering the next subtree)
const MODE_ADVANCE: u32 = 2; // the deepest frame re-read: move to entry at + 1
const MODE_ADVANCE_CONT: u32 = 3; // same, only when it continues p.key

/// A hash version only unit tests use: SipHash keys truncated to 4 bits, so
/// that every name collides with many others.
#[cfg(test)]
pub const HASH_TEST_WEAK: u32 = 0xfe;

// ------------------------------------------------------------ bytes

// Index blocks are whole blocks (`block_ok`), so a field that does not fit
// is a corrupt block when read and a caller error when written: these map
// the shared accessors' `None` to that.

fn le16(b: &[u8], off: usize) -> Result<u16> {
    bytes::le16(b, off).ok_or(Error::Corrupt)
}

fn le32(b: &[u8], off: usize) -> Result<u32> {
    bytes::le32(b, off).ok_or(Error::Corrupt)
}

fn byte(b: &[u8], off: usize) -> Result<u8> {
    bytes::u8_at(b, off).ok_or(Error::Corrupt)
}

fn put8(b: &mut [u8], off: usize, v: u8) -> Result<()> {
    bytes::put8(b, off, v).ok_or(Error::InvalidArgument)
}

fn put16(b: &mut [u8], off: usize, v: u16) -> Result<()> {
    bytes::put16(b, off, v).ok_or(Error::InvalidArgument)
}

fn put32(b: &mut [u8], off: usize, v: u32) -> Result<()> {
    bytes::put32(b, off, v).ok_or(Error::InvalidArgument)
}

fn block_ok(b: &[u8]) -> Result<()> {
    if b.len() != BLOCK_SIZE {
        return Err(Error::InvalidArgument);
    }
    Ok(())
}

// ------------------------------------------------------------ hash

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-2-4 (Aumasson & Bernstein) of `data` under the 128-bit `key`.
pub fn siphash24(key: &[u8; 16], data: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&key[..8]);
    let k0 = u64::from_le_bytes(k);
    k.copy_from_slice(&key[8..]);
    let k1 = u64::from_le_bytes(k);
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    if let Some(dst) = last.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    last[7] = data.len() as u8;
    let b = u64::from_le_bytes(last);
    v[3] ^= b;
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn seed_bytes(seed: &[u32; 4]) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (dst, w) in k.chunks_exact_mut(4).zip(seed.iter()) {
        dst.copy_from_slice(&w.to_le_bytes());
    }
    k
}

fn hash_version_ok(v: u32) -> bool {
    #[cfg(test)]
    if v == HASH_TEST_WEAK {
        return true;
    }
    v == VEXFS_DX_HASH_SIPHASH24
}

/// The 62-bit hash key of `name` in a directory with this seed.
pub fn name_key(hash_version: u32, seed: &[u32; 4], name: &[u8]) -> u64 {
    let h = siphash24(&seed_bytes(seed), name);
    #[cfg(test)]
    if hash_version == HASH_TEST_WEAK {
        return (h >> 2) & (0xf << 40);
    }
    let _ = hash_version;
    (h >> 2).min(MAX_KEY)
}

/// The readdir position of a name with hash key `key`.
pub const fn key_pos(key: u64) -> u64 {
    VEXFS_DX_POS_BASE + key
}

// ------------------------------------------------------------ index blocks

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

fn set_entry(block: &mut [u8], kind: Kind, i: u32, e: Entry) -> Result<()> {
    let off = kind.base() + i as usize * ENTRY;
    if off + ENTRY > USABLE {
        return Err(Error::InvalidArgument);
    }
    put32(block, off, e.stored as u32)?;
    put32(block, off + 4, (e.stored >> 32) as u32)?;
    put32(block, off + 8, e.block)
}

fn set_count(block: &mut [u8], kind: Kind, count: u32) -> Result<()> {
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

fn count_of(block: &[u8], kind: Kind) -> Result<u32> {
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
fn search(block: &[u8], kind: Kind, count: u32, target: u64) -> Result<u32> {
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

// ------------------------------------------------------------ walks

fn frame(p: &Path, i: usize) -> Result<&vexfs_dx_frame> {
    p.frames.get(i).ok_or(Error::InvalidArgument)
}

/// Follow entry `at` of the index block just decoded (already pushed as
/// frame `p.nframes - 1`).
fn follow(p: &mut Path, block: &[u8], kind: Kind, at: u32, count: u32) -> Result<i32> {
    let e = entry(block, kind, at)?;
    let next_cont = if at + 1 < count {
        let n = entry(block, kind, at + 1)?;
        (n.cont() && n.key() == p.key) as u32
    } else {
        0
    };
    let i = p.nframes.checked_sub(1).ok_or(Error::InvalidArgument)? as usize;
    let f = p.frames.get_mut(i).ok_or(Error::InvalidArgument)?;
    f.at = at;
    f.count = count;
    f.next_cont = next_cont;
    p.child_key = e.stored;
    p.next_block = e.block;
    if p.nframes == p.levels {
        Ok(LEAF)
    } else {
        Ok(READ)
    }
}

fn probe_root(p: &mut Path, root: &[u8], dir_ino: u32, dir_blocks: u32, dir_depth: u32, msg: &mut impl Write) -> Result<RootInfo> {
    let ri = root_info(root, msg)?;
    if ri.levels != dir_depth {
        explain!(msg, "index root: {} levels but the inode says depth {dir_depth}", ri.levels);
        return Err(Error::Corrupt);
    }
    check_entries(root, Kind::Root, ri.count, 0, dir_blocks, msg)?;
    *p = Path::default();
    p.seed = ri.seed;
    p.hash_version = ri.hash_version;
    p.dir_ino = dir_ino;
    p.dir_blocks = dir_blocks;
    p.levels = ri.levels;
    Ok(ri)
}

fn start(p: &mut Path, root: &[u8], count: u32) -> Result<i32> {
    let at = search(root, Kind::Root, count, p.key << 1)?;
    p.nframes = 1;
    p.frames[0] = vexfs_dx_frame { block: 0, ..Default::default() };
    p.mode = MODE_SEARCH;
    follow(p, root, Kind::Root, at, count)
}

/// Start a walk for `name`: `LEAF` or `READ` (see the C header).
pub fn probe_name(
    p: &mut Path,
    root: &[u8],
    dir_ino: u32,
    dir_blocks: u32,
    dir_depth: u32,
    name: &[u8],
    msg: &mut impl Write,
) -> Result<i32> {
    dir::valid_name(name)?;
    let ri = probe_root(p, root, dir_ino, dir_blocks, dir_depth, msg)?;
    p.key = name_key(ri.hash_version, &ri.seed, name);
    start(p, root, ri.count)
}

/// Start a walk at readdir position `pos`: `LEAF`, `READ` or `END`.
pub fn probe_pos(
    p: &mut Path,
    root: &[u8],
    dir_ino: u32,
    dir_blocks: u32,
    dir_depth: u32,
    pos: u64,
    msg: &mut impl Write,
) -> Result<i32> {
    let ri = probe_root(p, root, dir_ino, dir_blocks, dir_depth, msg)?;
    p.key = if pos < BLOCK_SIZE as u64 {
        0
    } else if !(VEXFS_DX_POS_BASE..VEXFS_DX_POS_EOF).contains(&pos) {
        return Ok(END);
    } else {
        (pos - VEXFS_DX_POS_BASE).min(MAX_KEY)
    };
    start(p, root, ri.count)
}

/// Consume the index block `p.next_block`.
pub fn descend(p: &mut Path, node: &[u8], msg: &mut impl Write) -> Result<i32> {
    block_ok(node)?;
    match p.mode {
        MODE_SEARCH | MODE_FIRST => {
            let depth = p.nframes as usize;
            if depth == 0 || depth >= p.levels as usize || depth >= MAX_LEVELS {
                return Err(Error::InvalidArgument);
            }
            let (height, count) = node_info(node, msg)?;
            if height != p.levels - p.nframes {
                explain!(msg, "index node {}: height {height}, expected {}", p.next_block, p.levels - p.nframes);
                return Err(Error::Corrupt);
            }
            check_entries(node, Kind::Node, count, p.child_key, p.dir_blocks, msg).inspect_err(|_| {
                explain!(msg, " (index node {})", p.next_block);
            })?;
            let at = if p.mode == MODE_SEARCH { search(node, Kind::Node, count, p.key << 1)? } else { 0 };
            let f = p.frames.get_mut(depth).ok_or(Error::InvalidArgument)?;
            *f = vexfs_dx_frame { block: p.next_block, ..Default::default() };
            p.nframes += 1;
            follow(p, node, Kind::Node, at, count)
        }
        MODE_ADVANCE | MODE_ADVANCE_CONT => {
            let i = p.nframes.checked_sub(1).ok_or(Error::InvalidArgument)? as usize;
            let f = *frame(p, i)?;
            if f.block != p.next_block {
                return Err(Error::InvalidArgument);
            }
            let (kind, count) = if i == 0 {
                let ri = root_info(node, msg)?;
                check_entries(node, Kind::Root, ri.count, 0, p.dir_blocks, msg)?;
                (Kind::Root, ri.count)
            } else {
                let (height, count) = node_info(node, msg)?;
                if height != p.levels - i as u32 {
                    explain!(msg, "index node {}: height {height}, expected {}", f.block, p.levels - i as u32);
                    return Err(Error::Corrupt);
                }
                let first = entry(node, Kind::Node, 0)?.stored;
                check_entries(node, Kind::Node, count, first, p.dir_blocks, msg)?;
                (Kind::Node, count)
            };
            let at = f.at + 1;
            if at >= count {
                return Ok(END);
            }
            if p.mode == MODE_ADVANCE_CONT {
                let e = entry(node, kind, at)?;
                if !(e.cont() && e.key() == p.key) {
                    return Ok(END);
                }
            }
            p.mode = MODE_FIRST;
            follow(p, node, kind, at, count)
        }
        _ => Err(Error::InvalidArgument),
    }
}

/// Move to the leaf after the current one (see the C header).
pub fn next_leaf(p: &mut Path, all: bool) -> Result<i32> {
    if p.nframes == 0 || p.nframes > p.levels || p.levels as usize > MAX_LEVELS {
        return Err(Error::InvalidArgument);
    }
    loop {
        let i = (p.nframes - 1) as usize;
        let f = *frame(p, i)?;
        if f.at + 1 < f.count {
            if !all && f.next_cont == 0 {
                return Ok(END);
            }
            p.mode = if all { MODE_ADVANCE } else { MODE_ADVANCE_CONT };
            p.next_block = f.block;
            return Ok(READ);
        }
        if i == 0 {
            return Ok(END);
        }
        p.nframes -= 1;
    }
}

/// The used records of `leaf`, hashed: fills `slots` (pos = readdir
/// position) and sorts them. Returns how many.
pub fn leaf_sort(p: &Path, leaf: &[u8], slots: &mut [Slot]) -> Result<usize> {
    let n = collect(p.hash_version, &p.seed, leaf, slots, false)?;
    let used = slots.get_mut(..n).ok_or(Error::InvalidArgument)?;
    for s in used.iter_mut() {
        s.pos = key_pos(s.pos);
    }
    sort_by_key(used, |s| (s.pos, s.rec_offset));
    Ok(n)
}

/// Hash every used record of `block` into `slots` (pos = key), skipping
/// "." and ".." when `skip_dots`. Unsorted.
fn collect(hash_version: u32, seed: &[u32; 4], block: &[u8], slots: &mut [Slot], skip_dots: bool) -> Result<usize> {
    block_ok(block)?;
    let mut n = 0usize;
    let mut pos = 0usize;
    while let Some(e) = dir::next(block, pos)? {
        pos = e.next_offset as usize;
        let name = block
            .get(e.name_offset as usize..(e.name_offset + e.name_len) as usize)
            .ok_or(Error::Corrupt)?;
        if skip_dots && (name == b"." || name == b"..") {
            continue;
        }
        let s = slots.get_mut(n).ok_or(Error::ResourceExhausted)?;
        *s = Slot { pos: name_key(hash_version, seed, name), rec_offset: e.rec_offset, flags: 0 };
        n += 1;
    }
    Ok(n)
}

/// Add `name` to the leaf a walk for it arrived at.
pub fn leaf_add(p: &Path, leaf: &mut [u8], name: &[u8], ino: u32, file_type: u32) -> Result<u32> {
    block_ok(leaf)?;
    if p.nframes != p.levels || p.nframes == 0 || p.next_block == 0 {
        return Err(Error::InvalidArgument);
    }
    if is_node(leaf) {
        return Err(Error::Corrupt);
    }
    if name_key(p.hash_version, &p.seed, name) != p.key {
        return Err(Error::InvalidArgument);
    }
    dir::add(leaf, p.dir_ino, name, ino, file_type)
}

/// New blocks a split of the leaf `p.next_block` needs.
pub fn split_need(p: &Path) -> Result<u32> {
    if p.nframes == 0 || p.nframes != p.levels || p.levels as usize > MAX_LEVELS {
        return Err(Error::InvalidArgument);
    }
    let mut need = 1u32;
    for i in (0..p.nframes as usize).rev() {
        let f = frame(p, i)?;
        let limit = if i == 0 { ROOT_LIMIT } else { NODE_LIMIT };
        if f.count < limit {
            break;
        }
        if i == 0 && p.levels >= VEXFS_DX_MAX_LEVELS {
            return Err(Error::NoSpace);
        }
        need += 1;
    }
    Ok(need)
}

// ------------------------------------------------------------ splitting

/// A record being moved: header fields and name location in its block.
fn rec_at(block: &[u8], off: usize) -> Result<(u32, usize, usize, u8)> {
    // (ino, rec_len, name_len, file_type)
    Ok((le32(block, off)?, le16(block, off + 4)? as usize, byte(block, off + 6)? as usize, byte(block, off + 7)?))
}

/// Append-only writer of a fresh record block.
struct Packer {
    at: usize,
    last: Option<usize>,
}

impl Packer {
    fn new(block: &mut [u8]) -> Result<Packer> {
        block_ok(block)?;
        block.fill(0);
        Ok(Packer { at: 0, last: None })
    }

    fn push(&mut self, block: &mut [u8], ino: u32, file_type: u8, name: &[u8]) -> Result<()> {
        let need = dir::rec_len_for(name.len());
        if self.at + need > USABLE {
            return Err(Error::NoSpace);
        }
        put32(block, self.at, ino)?;
        put16(block, self.at + 4, need as u16)?;
        *block.get_mut(self.at + 6).ok_or(Error::InvalidArgument)? = name.len() as u8;
        *block.get_mut(self.at + 7).ok_or(Error::InvalidArgument)? = file_type;
        block.get_mut(self.at + HDR..self.at + HDR + name.len()).ok_or(Error::InvalidArgument)?.copy_from_slice(name);
        self.last = Some(self.at);
        self.at += need;
        Ok(())
    }

    /// Stretch the last record to the tail (or write one unused record).
    fn finish(self, block: &mut [u8], dir_ino: u32) -> Result<()> {
        match self.last {
            Some(l) => put16(block, l + 4, (USABLE - l) as u16)?,
            None => put16(block, 4, USABLE as u16)?,
        }
        dir::seal(block, dir_ino)
    }
}

/// Copy the record at `off` of `src` to the packer.
fn move_rec(src: &[u8], off: usize, pk: &mut Packer, dst: &mut [u8]) -> Result<()> {
    let (ino, _, name_len, ft) = rec_at(src, off)?;
    let name = src.get(off + HDR..off + HDR + name_len).ok_or(Error::Corrupt)?;
    pk.push(dst, ino, ft, name)
}

/// Compact `block` in place keeping the records whose slot (sorted by
/// rec_offset) has flags == 0.
fn compact(block: &mut [u8], dir_ino: u32, by_off: &[Slot]) -> Result<()> {
    let mut dst = 0usize;
    let mut last: Option<usize> = None;
    for s in by_off {
        if s.flags != 0 {
            continue;
        }
        let off = s.rec_offset as usize;
        let (_, _, name_len, _) = rec_at(block, off)?;
        let need = dir::rec_len_for(name_len);
        if off < dst || off + HDR + name_len > USABLE {
            return Err(Error::Corrupt);
        }
        // Moving down (dst <= off), front to back: later records are not
        // overwritten. Byte by byte with checked access (no panic path).
        for i in 0..HDR + name_len {
            let b = byte(block, off + i)?;
            put8(block, dst + i, b)?;
        }
        put16(block, dst + 4, need as u16)?;
        if let Some(tail) = block.get_mut(dst + HDR + name_len..dst + need) {
            tail.fill(0);
        }
        last = Some(dst);
        dst += need;
    }
    if let Some(z) = block.get_mut(dst..USABLE) {
        z.fill(0);
    }
    match last {
        Some(l) => put16(block, l + 4, (USABLE - l) as u16)?,
        None => {
            put32(block, 0, 0)?;
            put16(block, 4, USABLE as u16)?;
        }
    }
    dir::seal(block, dir_ino)
}

/// Where to split `slots` (sorted by key, the new name included as a slot
/// with flags = NEW): `(m, key, cont)`; slots[..m] stay, slots[m..] move.
/// Splits at half the bytes; `cont` when the key at the cut continues.
fn choose_split(slots: &[Slot], lens: impl Fn(&Slot) -> usize) -> Result<(usize, u64, bool)> {
    let n = slots.len();
    if n < 2 {
        return Err(Error::Corrupt);
    }
    let total: usize = slots.iter().map(&lens).sum();
    let mut acc = 0usize;
    let mut m = n - 1;
    for (i, s) in slots.iter().enumerate() {
        if acc * 2 >= total && i > 0 {
            m = i;
            break;
        }
        acc += lens(s);
    }
    let m = m.max(1).min(n - 1);
    let s = slots.get(m).ok_or(Error::Corrupt)?.pos;
    let below = slots.get(m - 1).ok_or(Error::Corrupt)?.pos;
    Ok((m, s, below == s))
}

const NEW: u32 = 2;
const MOVES: u32 = 1;

/// Buffers for `split_add` (see `struct vexfs_dx_split_ctx`).
pub struct SplitBufs<'a, 'b> {
    /// The walk's index blocks, root first (`p.nframes` of them).
    pub frames: &'a mut [&'b mut [u8]],
    /// The full leaf `p.next_block`.
    pub leaf: &'a mut [u8],
    /// `split_need` new blocks; `fresh[i]` becomes file block `fresh_first + i`.
    pub fresh: &'a mut [&'b mut [u8]],
    pub fresh_first: u32,
    /// Scratch, at least `LEAF_MAX + 1` slots.
    pub slots: &'a mut [Slot],
}

fn rec_need(block: &[u8], s: &Slot, new_len: usize) -> usize {
    if s.flags & NEW != 0 {
        return dir::rec_len_for(new_len);
    }
    let name_len = byte(block, s.rec_offset as usize + 6).unwrap_or(0) as usize;
    dir::rec_len_for(name_len)
}

/// Split the full leaf of a walk for `name`, grow the index above it as
/// needed, and add `name`. Returns the leaf's file block index.
pub fn split_add(p: &mut Path, b: &mut SplitBufs<'_, '_>, name: &[u8], ino: u32, file_type: u32) -> Result<u32> {
    dir::valid_name(name)?;
    if ino == 0 || file_type == VEXFS_FT_UNKNOWN || file_type > VEXFS_FT_MAX {
        return Err(Error::InvalidArgument);
    }
    let need = split_need(p)?;
    let nframes = p.nframes as usize;
    if b.fresh.len() != need as usize || b.frames.len() != nframes || b.fresh_first != p.dir_blocks {
        return Err(Error::InvalidArgument);
    }
    block_ok(b.leaf)?;
    for f in b.fresh.iter() {
        block_ok(f)?;
    }
    let key = name_key(p.hash_version, &p.seed, name);
    if key != p.key {
        return Err(Error::InvalidArgument);
    }
    // The frame blocks must still be what the walk saw.
    let mut no_msg = crate::msg::NoMsg;
    for i in 0..nframes {
        let f = *frame(p, i)?;
        let blk = b.frames.get(i).ok_or(Error::InvalidArgument)?;
        block_ok(blk)?;
        let (kind, count) = if i == 0 {
            (Kind::Root, root_info(blk, &mut no_msg)?.count)
        } else {
            (Kind::Node, node_info(blk, &mut no_msg)?.1)
        };
        let child = if i + 1 < nframes { frame(p, i + 1)?.block } else { p.next_block };
        if count != f.count || f.at >= count || entry(blk, kind, f.at)?.block != child {
            return Err(Error::InvalidArgument);
        }
    }
    if is_node(b.leaf) {
        return Err(Error::Corrupt);
    }
    let new_block_nr = b.fresh_first;
    let leaf_nr = p.next_block;

    // 1. Split the leaf by key (the new name counted as a slot).
    let n = collect(p.hash_version, &p.seed, b.leaf, b.slots, false)?;
    let slot = b.slots.get_mut(n).ok_or(Error::ResourceExhausted)?;
    *slot = Slot { pos: key, rec_offset: u32::MAX, flags: NEW };
    let all = b.slots.get_mut(..n + 1).ok_or(Error::ResourceExhausted)?;
    sort_by_key(all, |s| (s.pos, s.rec_offset));
    let leaf_ro: &[u8] = b.leaf;
    let (m, split_key, cont) = choose_split(all, |s| rec_need(leaf_ro, s, name.len()))?;
    let (lower, upper) = all.split_at_mut_checked(m).ok_or(Error::InvalidArgument)?;
    let new_in_upper = upper.iter().any(|s| s.flags & NEW != 0);
    {
        let fresh_leaf = b.fresh.get_mut(0).ok_or(Error::InvalidArgument)?;
        let mut pk = Packer::new(fresh_leaf)?;
        for s in upper.iter_mut() {
            if s.flags & NEW != 0 {
                pk.push(fresh_leaf, ino, file_type as u8, name)?;
            } else {
                move_rec(b.leaf, s.rec_offset as usize, &mut pk, fresh_leaf)?;
            }
            s.flags |= MOVES;
        }
        pk.finish(fresh_leaf, p.dir_ino)?;
    }
    let _ = lower;
    // Index changes next (they cannot fail on a validated path), then the
    // old leaf is compacted, so an error above leaves the leaf untouched.
    let mut pending = Entry { stored: split_key << 1 | cont as u64, block: new_block_nr };
    let mut fresh_i = 1usize;
    let mut level = nframes;
    let mut done = false;
    while level > 0 && !done {
        level -= 1;
        let f = *frame(p, level)?;
        let kind = if level == 0 { Kind::Root } else { Kind::Node };
        let blk: &mut [u8] = b.frames.get_mut(level).ok_or(Error::InvalidArgument)?;
        if f.count < kind.limit() {
            insert_entry(blk, kind, f.count, f.at + 1, pending)?;
            done = true;
        } else if level > 0 {
            // Split the node: upper half to a fresh node.
            let nr = b.fresh_first + fresh_i as u32;
            let fresh_blk: &mut [u8] = b.fresh.get_mut(fresh_i).ok_or(Error::InvalidArgument)?;
            fresh_i += 1;
            let height = p.levels - level as u32;
            pending = split_node(blk, fresh_blk, height, f.count, f.at + 1, pending, nr)?;
        } else {
            // Root full: its entries move to a fresh node one level down.
            let nr = b.fresh_first + fresh_i as u32;
            let fresh_blk: &mut [u8] = b.fresh.get_mut(fresh_i).ok_or(Error::InvalidArgument)?;
            fresh_i += 1;
            init_node(fresh_blk, p.levels)?;
            for j in 0..f.count {
                push_entry(fresh_blk, Kind::Node, entry(blk, Kind::Root, j)?)?;
            }
            insert_entry(fresh_blk, Kind::Node, f.count, f.at + 1, pending)?;
            set_entry(blk, Kind::Root, 0, Entry { stored: 0, block: nr })?;
            set_count(blk, Kind::Root, 1)?;
            p.levels += 1;
            set_root_levels(blk, p.levels)?;
            done = true;
        }
    }
    if !done || fresh_i != need as usize {
        return Err(Error::InvalidArgument);
    }
    // 2. Compact the old leaf to the lower half, add the name there if it
    // belongs there.
    let all = b.slots.get_mut(..n + 1).ok_or(Error::InvalidArgument)?;
    sort_by_key(all, |s| s.rec_offset);
    let old = all.get(..n).ok_or(Error::InvalidArgument)?; // the NEW slot sorts last (u32::MAX)
    compact(b.leaf, p.dir_ino, old)?;
    let target = if new_in_upper {
        new_block_nr
    } else {
        dir::add(b.leaf, p.dir_ino, name, ino, file_type)?;
        leaf_nr
    };
    for f in b.frames.iter_mut() {
        dir::seal(f, p.dir_ino)?;
    }
    for f in b.fresh.iter_mut().skip(1) {
        dir::seal(f, p.dir_ino)?;
    }
    p.dir_blocks += need;
    p.nframes = 0; // the walk is stale
    Ok(target)
}

/// Insert `e` at position `at` of an index block holding `count` entries
/// (room checked by the caller).
fn insert_entry(blk: &mut [u8], kind: Kind, count: u32, at: u32, e: Entry) -> Result<()> {
    if count >= kind.limit() || at > count {
        return Err(Error::InvalidArgument);
    }
    let mut j = count;
    while j > at {
        let moved = entry(blk, kind, j - 1)?;
        set_entry(blk, kind, j, moved)?;
        j -= 1;
    }
    set_entry(blk, kind, at, e)?;
    set_count(blk, kind, count + 1)
}

/// Split a full node (`count` entries) while inserting `e` at `at`: the
/// upper half goes to `fresh` (file block `fresh_nr`). Returns the entry
/// for the parent.
fn split_node(blk: &mut [u8], fresh: &mut [u8], height: u32, count: u32, at: u32, e: Entry, fresh_nr: u32) -> Result<Entry> {
    let total = count + 1;
    let keep = total / 2;
    // Virtual entry j of the combined sequence.
    let virt = |blk: &[u8], j: u32| -> Result<Entry> {
        if j < at {
            entry(blk, Kind::Node, j)
        } else if j == at {
            Ok(e)
        } else {
            entry(blk, Kind::Node, j - 1)
        }
    };
    init_node(fresh, height)?;
    for j in keep..total {
        push_entry(fresh, Kind::Node, virt(blk, j)?)?;
    }
    if at < keep {
        // Shift entries at..keep-1 up by one, then place e.
        let mut j = keep - 1;
        while j > at {
            let moved = entry(blk, Kind::Node, j - 1)?;
            set_entry(blk, Kind::Node, j, moved)?;
            j -= 1;
        }
        set_entry(blk, Kind::Node, at, e)?;
    }
    set_count(blk, Kind::Node, keep)?;
    Ok(Entry { stored: entry(fresh, Kind::Node, 0)?.stored, block: fresh_nr })
}

/// Convert a full one-block linear directory to an indexed one and add
/// `name` (see the C header). Returns 1 or 2, the leaf holding `name`.
#[allow(clippy::too_many_arguments)]
pub fn convert_add(
    block0: &mut [u8],
    leaf1: &mut [u8],
    leaf2: &mut [u8],
    dir_ino: u32,
    hash_version: u32,
    seed: &[u32; 4],
    name: &[u8],
    ino: u32,
    file_type: u32,
    slots: &mut [Slot],
) -> Result<u32> {
    dir::valid_name(name)?;
    block_ok(block0)?;
    if ino == 0 || file_type == VEXFS_FT_UNKNOWN || file_type > VEXFS_FT_MAX || !hash_version_ok(hash_version) {
        return Err(Error::InvalidArgument);
    }
    if dir::find(block0, name)?.is_some() {
        return Err(Error::Exists);
    }
    let dot = dir::find(block0, b".")?.ok_or(Error::Corrupt)?;
    let dotdot = dir::find(block0, b"..")?.ok_or(Error::Corrupt)?;
    let key = name_key(hash_version, seed, name);
    let n = collect(hash_version, seed, block0, slots, true)?;
    let slot = slots.get_mut(n).ok_or(Error::ResourceExhausted)?;
    *slot = Slot { pos: key, rec_offset: u32::MAX, flags: NEW };
    let all = slots.get_mut(..n + 1).ok_or(Error::ResourceExhausted)?;
    sort_by_key(all, |s| (s.pos, s.rec_offset));
    let b0: &[u8] = block0;
    let (m, split_key, cont) = choose_split(all, |s| rec_need(b0, s, name.len()))?;
    let mut target = 0u32;
    for (half, leaf) in [(0usize, &mut *leaf1), (1, &mut *leaf2)] {
        let part = if half == 0 { all.get(..m) } else { all.get(m..) }.ok_or(Error::InvalidArgument)?;
        let mut pk = Packer::new(leaf)?;
        for s in part {
            if s.flags & NEW != 0 {
                pk.push(leaf, ino, file_type as u8, name)?;
                target = half as u32 + 1;
            } else {
                move_rec(block0, s.rec_offset as usize, &mut pk, leaf)?;
            }
        }
        pk.finish(leaf, dir_ino)?;
    }
    init_root(block0, dot.ino, dotdot.ino, hash_version, seed, 1)?;
    push_entry(block0, Kind::Root, Entry { stored: 0, block: 1 })?;
    push_entry(block0, Kind::Root, Entry { stored: split_key << 1 | cont as u64, block: 2 })?;
    dir::seal(block0, dir_ino)?;
    Ok(target)
}

#[cfg(test)]
mod tests;
