//! The graph's word layout, which is also its on-disk layout (docs/HNSW.md).
//!
//! The graph lives in an array of little-endian u32 words grouped in 4 KiB
//! blocks of 1024 words. Block 0 is the header; then `node_blocks` blocks of
//! fixed-size node records; then `chunk_blocks` blocks of upper-layer link
//! chunks. The last two words of every block are its tail: a CRC-32C and a
//! tag (`block index ^ GRAPH_MAGIC`); in memory the tails are kept zero and
//! are filled in by [`encode_block`].

use super::HnswError;
use crate::bytes::le32;

/// "VXHG" read as a little-endian u32.
pub const GRAPH_MAGIC: u32 = 0x4748_5856;
/// Layout version.
pub const GRAPH_VERSION: u32 = 1;
/// Bytes per block.
pub const BLOCK_BYTES: usize = 4096;
/// Words per block.
pub const BLOCK_WORDS: usize = 1024;
/// Words per block usable for records (the rest is the tail).
pub const BLOCK_PAYLOAD_WORDS: usize = BLOCK_WORDS - 2;
/// Highest layer a node may have (level fits in 4 bits).
pub const MAX_LEVEL_LIMIT: u32 = 15;
/// Smallest and largest M.
pub const M_MIN: u32 = 2;
/// Largest M (M0 = 2M must fit the 8-bit level-0 count).
pub const M_MAX: u32 = 64;
/// Most nodes a graph can hold.
pub const CAPACITY_MAX: u32 = 1 << 28;

/// Node record word offsets: low 32 bits of the key (inode number).
pub const NODE_KEY_LO: usize = 0;
/// Meta word: bits 0-15 key bits 32-47, bits 16-23 level-0 link count,
/// bits 24-27 level, bits 28-30 zero, bit 31 live.
pub const NODE_FLAGS: usize = 1;
/// First upper-layer chunk + 1 (0: none).
pub const NODE_UPPER: usize = 2;
/// First level-0 link.
pub const NODE_LINKS: usize = 3;
/// Words of a node record before its links.
pub const NODE_HEADER_WORDS: u32 = 3;
/// Live bit in the meta word.
pub const FLAG_LIVE: u32 = 1 << 31;
/// Bits of the meta word that must be zero.
pub const FLAG_RESERVED: u32 = 0x7000_0000;
/// Largest key a node can carry (48 bits).
pub const KEY_MAX: u64 = (1u64 << 48) - 1;

/// Level-0 link count from a meta word.
#[inline(always)]
pub const fn meta_count(f: u32) -> u32 {
    (f >> 16) & 0xff
}

/// Level from a meta word.
#[inline(always)]
pub const fn meta_level(f: u32) -> u32 {
    (f >> 24) & 0xf
}

/// Meta word for a live node.
#[inline(always)]
pub const fn meta(key: u64, count: u32, level: u32) -> u32 {
    FLAG_LIVE | ((level & 0xf) << 24) | ((count & 0xff) << 16) | ((key >> 32) as u32 & 0xffff)
}

/// Chunk word offsets: next chunk + 1 (0: none).
pub const CHUNK_NEXT: usize = 0;
/// Link count, or `CHUNK_FREE` for a chunk on the free list.
pub const CHUNK_COUNT: usize = 1;
/// First link in a chunk.
pub const CHUNK_LINKS: usize = 2;
/// Count value marking a free chunk.
pub const CHUNK_FREE: u32 = 0xffff_ffff;

/// Header word offsets (block 0).
pub mod hdr {
    /// GRAPH_MAGIC
    pub const MAGIC: usize = 0;
    /// GRAPH_VERSION
    pub const VERSION: usize = 1;
    /// M
    pub const M: usize = 2;
    /// ef_construction
    pub const EF_CONSTRUCTION: usize = 3;
    /// highest level a node may get
    pub const MAX_LEVEL: usize = 4;
    /// node slots
    pub const CAPACITY: usize = 5;
    /// upper-layer chunks
    pub const UPPER_CAPACITY: usize = 6;
    /// VEXFS_METRIC_*
    pub const METRIC: usize = 7;
    /// vector dimension
    pub const DIM: usize = 8;
    /// entry point slot + 1, 0 when empty
    pub const ENTRY: usize = 9;
    /// level of the entry point
    pub const TOP_LEVEL: usize = 10;
    /// live nodes
    pub const LIVE: usize = 11;
    /// first free chunk + 1, 0 when none
    pub const FREE_CHUNK: usize = 12;
    /// chunks in use
    pub const CHUNKS_USED: usize = 13;
    /// level RNG state, low / high word
    pub const RNG_LO: usize = 14;
    /// high word of the RNG state
    pub const RNG_HI: usize = 15;
    /// generation (ties the graph to the vector store), low / high word
    pub const GEN_LO: usize = 16;
    /// high word of the generation
    pub const GEN_HI: usize = 17;
    /// words 18..1022 are zero
    pub const USED: usize = 18;
}

/// Construction parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Links per node on layers >= 1 (M0 = 2M on layer 0), 2..=64.
    pub m: u32,
    /// Beam width while inserting.
    pub ef_construction: u32,
    /// Highest layer, 0..=15.
    pub max_level: u32,
    /// Node slots (dense ids 0..capacity).
    pub capacity: u32,
    /// Upper-layer link chunks (one per node per layer above 0); see
    /// [`default_upper_capacity`]. When they run out, new nodes get lower levels.
    pub upper_capacity: u32,
    /// VEXFS_METRIC_* (recorded, used by the caller's distance provider).
    pub metric: u32,
    /// Vector dimension (recorded for validation by the caller).
    pub dim: u32,
    /// Seed of the level generator.
    pub seed: u64,
}

impl Params {
    /// Sensible defaults for `capacity` nodes.
    pub fn new(capacity: u32, m: u32, ef_construction: u32, metric: u32, dim: u32) -> Self {
        Params {
            m,
            ef_construction,
            max_level: 12,
            capacity,
            upper_capacity: default_upper_capacity(capacity, m),
            metric,
            dim,
            seed: 0x005e_ed0f_7e4f_5a11,
        }
    }
}

/// Expected upper-layer chunks for `capacity` nodes (`n / (M - 1)`) plus
/// four standard deviations and a constant margin. If a graph ever runs out,
/// new nodes simply get lower levels.
pub const fn default_upper_capacity(capacity: u32, m: u32) -> u32 {
    let m1 = if m > 2 { m - 1 } else { 1 };
    let base = capacity as u64 / m1 as u64;
    // integer square root (Newton), no floating point
    let mut r = base;
    if r > 1 {
        let mut x = base / 2 + 1;
        while x < r {
            r = x;
            x = (x + match base.checked_div(x) {
                Some(q) => q,
                None => 0,
            }) / 2;
        }
    }
    let v = base + 4 * r + 32;
    if v > CAPACITY_MAX as u64 {
        CAPACITY_MAX
    } else {
        v as u32
    }
}

/// `ceil(a / b)`, 0 when b is 0 (no panic path).
const fn ceil_div(a: u32, b: u32) -> u32 {
    match a.checked_div(b) {
        Some(q) => {
            if q * b < a {
                q + 1
            } else {
                q
            }
        }
        None => 0,
    }
}

/// Derived sizes of the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// M
    pub m: u32,
    /// 2M
    pub m0: u32,
    /// Words per node record (3 + M0).
    pub rec_words: u32,
    /// Node records per block.
    pub nodes_per_block: u32,
    /// Words per chunk (2 + M).
    pub chunk_words: u32,
    /// Chunks per block.
    pub chunks_per_block: u32,
    /// Node slots.
    pub capacity: u32,
    /// Chunks.
    pub upper_capacity: u32,
    /// Blocks of node records.
    pub node_blocks: u32,
    /// Blocks of chunks.
    pub chunk_blocks: u32,
}

impl Geometry {
    /// Validates the parameters and derives the layout.
    pub fn new(p: &Params) -> Result<Self, HnswError> {
        if p.m < M_MIN || p.m > M_MAX {
            return Err(HnswError::InvalidParam("M out of range 2..=64"));
        }
        if p.capacity == 0 || p.capacity > CAPACITY_MAX {
            return Err(HnswError::InvalidParam("capacity out of range"));
        }
        if p.upper_capacity > CAPACITY_MAX {
            return Err(HnswError::InvalidParam("upper capacity out of range"));
        }
        if p.max_level > MAX_LEVEL_LIMIT {
            return Err(HnswError::InvalidParam("max level above 15"));
        }
        if p.ef_construction == 0 || p.ef_construction > 4096 {
            return Err(HnswError::InvalidParam("ef_construction out of range 1..=4096"));
        }
        if p.dim == 0 || p.dim > 4096 || p.metric > 2 {
            return Err(HnswError::InvalidParam("dim or metric out of range"));
        }
        let m0 = 2 * p.m;
        let rec_words = NODE_HEADER_WORDS + m0;
        let chunk_words = 2 + p.m;
        let nodes_per_block = BLOCK_PAYLOAD_WORDS as u32 / rec_words;
        let chunks_per_block = BLOCK_PAYLOAD_WORDS as u32 / chunk_words;
        Ok(Geometry {
            m: p.m,
            m0,
            rec_words,
            nodes_per_block,
            chunk_words,
            chunks_per_block,
            capacity: p.capacity,
            upper_capacity: p.upper_capacity,
            node_blocks: ceil_div(p.capacity, nodes_per_block),
            chunk_blocks: ceil_div(p.upper_capacity, chunks_per_block),
        })
    }

    /// Blocks in the whole graph (header + nodes + chunks).
    pub fn total_blocks(&self) -> usize {
        1 + self.node_blocks as usize + self.chunk_blocks as usize
    }

    /// Words the caller must provide.
    pub fn total_words(&self) -> usize {
        self.total_blocks() * BLOCK_WORDS
    }

    /// Word index of node `slot`'s record (caller checks `slot < capacity`).
    #[inline(always)]
    pub fn node_word(&self, slot: u32) -> usize {
        // checked_div/rem: never zero after `Geometry::new`, but no panic path either
        let b = 1 + slot.checked_div(self.nodes_per_block).unwrap_or(u32::MAX) as usize;
        b * BLOCK_WORDS + (slot.checked_rem(self.nodes_per_block).unwrap_or(0) * self.rec_words) as usize
    }

    /// Word index of chunk `c` (caller checks `c < upper_capacity`).
    #[inline(always)]
    pub fn chunk_word(&self, c: u32) -> usize {
        let b = 1 + self.node_blocks as usize + c.checked_div(self.chunks_per_block).unwrap_or(u32::MAX) as usize;
        b * BLOCK_WORDS + (c.checked_rem(self.chunks_per_block).unwrap_or(0) * self.chunk_words) as usize
    }

    /// Block holding node `slot`.
    pub fn node_block(&self, slot: u32) -> u32 {
        1 + slot.checked_div(self.nodes_per_block).unwrap_or(0)
    }

    /// Block holding chunk `c`.
    pub fn chunk_block(&self, c: u32) -> u32 {
        1 + self.node_blocks + c.checked_div(self.chunks_per_block).unwrap_or(0)
    }
}

/// CRC-32C with its table built at compile time (a runtime `Crc::new` would
/// build the 1 KiB table on the stack).
pub(crate) static CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// Serialises block `idx` of `words` into `out` (4096 bytes), filling in the
/// tail (CRC-32C over bytes 0..4088 followed by the tag at 4092..4096).
pub fn encode_block(words: &[u32], idx: usize, out: &mut [u8]) -> Result<(), HnswError> {
    let start = idx.checked_mul(BLOCK_WORDS).ok_or(HnswError::InvalidParam("block index"))?;
    let src = words
        .get(start..start + BLOCK_PAYLOAD_WORDS)
        .ok_or(HnswError::InvalidParam("block index beyond the graph"))?;
    encode_block_words(src, idx, out)
}

/// [`encode_block`] from the words of block `idx` alone (at least its
/// payload; the tail words are ignored).
pub fn encode_block_words(block: &[u32], idx: usize, out: &mut [u8]) -> Result<(), HnswError> {
    let src = block.get(..BLOCK_PAYLOAD_WORDS).ok_or(HnswError::InvalidParam("not one block of words"))?;
    if out.len() != BLOCK_BYTES {
        return Err(HnswError::InvalidParam("output is not one 4096-byte block"));
    }
    for (w, o) in src.iter().zip(out.chunks_exact_mut(4)) {
        o.copy_from_slice(&w.to_le_bytes());
    }
    let tag = (idx as u32) ^ GRAPH_MAGIC;
    let mut d = CRC32C.digest();
    d.update(out.get(..BLOCK_BYTES - 8).unwrap_or(&[]));
    d.update(&tag.to_le_bytes());
    let sum = d.finalize();
    if let Some(t) = out.get_mut(BLOCK_BYTES - 8..BLOCK_BYTES - 4) {
        t.copy_from_slice(&sum.to_le_bytes());
    }
    if let Some(t) = out.get_mut(BLOCK_BYTES - 4..) {
        t.copy_from_slice(&tag.to_le_bytes());
    }
    Ok(())
}

/// Verifies block `idx` read from disk (checksum and tag) and loads it into
/// `words` (tail words cleared). The graph is not usable until
/// [`super::Graph::open`] has validated the whole array.
pub fn decode_block(bytes: &[u8], idx: usize, words: &mut [u32]) -> Result<(), HnswError> {
    if bytes.len() != BLOCK_BYTES {
        return Err(HnswError::InvalidParam("input is not one 4096-byte block"));
    }
    let start = idx.checked_mul(BLOCK_WORDS).ok_or(HnswError::InvalidParam("block index"))?;
    let dst = words
        .get_mut(start..start + BLOCK_WORDS)
        .ok_or(HnswError::InvalidParam("block index beyond the graph"))?;
    check_block(bytes, idx)?;
    for (i, w) in dst.iter_mut().enumerate() {
        *w = if i < BLOCK_PAYLOAD_WORDS { le32(bytes, i * 4).unwrap_or(0) } else { 0 };
    }
    Ok(())
}

/// Verifies block `idx` as read from disk: its tag names its position and
/// its checksum matches.
pub fn check_block(bytes: &[u8], idx: usize) -> Result<(), HnswError> {
    if bytes.len() != BLOCK_BYTES {
        return Err(HnswError::InvalidParam("input is not one 4096-byte block"));
    }
    let tag = (idx as u32) ^ GRAPH_MAGIC;
    let stored_sum = le32(bytes, BLOCK_BYTES - 8).unwrap_or(0);
    let stored_tag = le32(bytes, BLOCK_BYTES - 4).unwrap_or(0);
    if stored_tag != tag {
        return Err(HnswError::Corrupt("graph block tag does not match its position"));
    }
    let mut d = CRC32C.digest();
    d.update(bytes.get(..BLOCK_BYTES - 8).unwrap_or(&[]));
    d.update(&tag.to_le_bytes());
    if d.finalize() != stored_sum {
        return Err(HnswError::Corrupt("graph block checksum mismatch"));
    }
    Ok(())
}

/// Reads the parameters recorded in a header block that was loaded with
/// [`decode_block`] (word array view of block 0).
pub fn params_from_header(h: &[u32]) -> Result<Params, HnswError> {
    let g = |i: usize| h.get(i).copied().unwrap_or(0);
    if g(hdr::MAGIC) != GRAPH_MAGIC {
        return Err(HnswError::Corrupt("graph header magic"));
    }
    if g(hdr::VERSION) != GRAPH_VERSION {
        return Err(HnswError::Corrupt("graph header version"));
    }
    let p = Params {
        m: g(hdr::M),
        ef_construction: g(hdr::EF_CONSTRUCTION),
        max_level: g(hdr::MAX_LEVEL),
        capacity: g(hdr::CAPACITY),
        upper_capacity: g(hdr::UPPER_CAPACITY),
        metric: g(hdr::METRIC),
        dim: g(hdr::DIM),
        seed: 0,
    };
    Geometry::new(&p).map_err(|_| HnswError::Corrupt("graph header parameters out of range"))?;
    Ok(p)
}
