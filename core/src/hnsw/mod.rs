//! The HNSW index over float32 vectors (Malkov and Yashunin), bounded-stack
//! and heapless: all large state lives in caller-provided scratch memory.
//!
//! - The graph is an array of u32 words owned by the caller ([`Graph`]),
//!   laid out in 4 KiB blocks that are also the on-disk format
//!   ([`layout`], docs/HNSW.md): loading is checksum + validation, never a
//!   rebuild.
//! - The core never touches floating point: distances come from the
//!   caller's [`DistanceProvider`] as ordered u32 keys (see
//!   `vexfs_simd::key_from_f32`), one batch per expanded node, so that the
//!   kernel pays one `kernel_fpu_begin/end` per batch.
//! - Search state (visited epochs, candidate and result heaps, id and key
//!   buffers) lives in a [`Scratch`] built from caller buffers sized by
//!   [`scratch_size`].
//! - Nothing panics: every index is checked, every decoder validates, and
//!   every failure is an [`HnswError`].

pub mod graph;
pub mod heap;
pub mod layout;
pub mod topk;
pub mod vectors;
pub mod chunks;
mod visited;

#[cfg(test)]
mod tests;

pub use graph::{Graph, GraphStore, Hit, MemStore, RangeOutcome};
pub use layout::{decode_block, encode_block, Geometry, Params, BLOCK_BYTES, BLOCK_WORDS};

/// Errors of the HNSW layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HnswError {
    /// A caller argument is out of range.
    InvalidParam(&'static str),
    /// Graph data (from disk) is inconsistent; the message names the check.
    Corrupt(&'static str),
    /// No free slot or no room in a caller buffer.
    NoSpace,
    /// The slot already holds a live node.
    SlotInUse,
    /// The slot holds no live node.
    NotFound,
    /// A vector holds NaN, +-Inf or an element >= 2^56 in magnitude, or has the wrong dimension.
    BadVector,
    /// The scratch buffers are too small for this graph or this ef.
    ScratchTooSmall,
    /// The distance provider failed (its errno-style code).
    Provider(i32),
}

impl HnswError {
    /// Negative Linux errno for the kernel side.
    pub fn errno(&self) -> i32 {
        match self {
            HnswError::InvalidParam(_) | HnswError::BadVector | HnswError::ScratchTooSmall => -22, // EINVAL
            HnswError::Corrupt(_) => -117,                                                         // EUCLEAN
            HnswError::NoSpace => -28,                                                             // ENOSPC
            HnswError::SlotInUse => -17,                                                           // EEXIST
            HnswError::NotFound => -2,                                                             // ENOENT
            HnswError::Provider(e) => {
                if *e < 0 {
                    *e
                } else {
                    -5 // EIO
                }
            }
        }
    }
}

/// Which vector distances are measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// The search vector the provider was set up with.
    Input,
    /// The stored vector of a slot (the node being inserted, or a node whose
    /// links are being re-selected).
    Node(u32),
}

/// Source of distances. Implemented by the caller: on the host over a
/// `Vec<f32>` with the `vexfs-simd` kernels, in the kernel over pinned
/// vector-store pages inside one `kernel_fpu_begin/end` section per call.
pub trait DistanceProvider {
    /// Writes into `out_keys[i]` the ordered key of the distance between
    /// `q` and slot `ids[i]`, for every i. `ids.len() == out_keys.len()`.
    /// A search may ask for a slot that holds no live node (a link left
    /// dangling by a delete, see `Graph::delete`): any key (or an error) will
    /// do for it, as the search then skips the slot.
    fn dist_batch(&mut self, q: Query, ids: &[u32], out_keys: &mut [u32]) -> Result<(), HnswError>;

    /// A hint that slot `id`'s distance will be asked for in the next batch:
    /// the layer beam search calls it for each unvisited neighbour while it
    /// gathers that batch, so a provider whose vectors sit in memory can
    /// start loading them (a CPU prefetch) before the distance loop needs
    /// them. A search whose distances wait on memory otherwise leaves the
    /// memory system idle while it does its bookkeeping between batches.
    /// Must not fail, block or sleep. The default does nothing (the kernel's
    /// callback providers: their vectors are found only through a lookup).
    #[inline(always)]
    fn prefetch(&self, id: u32) {
        let _ = id;
    }
}

/// Buffer sizes a [`Scratch`] needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScratchSize {
    /// `u32` words: visited stamps (a byte per slot) + id and key buffers.
    pub u32_words: usize,
    /// `u64` words: candidate heap, result heap, re-selection buffer.
    pub u64_words: usize,
}

/// Scratch sizes for a graph of `capacity` slots with link count `m`, for
/// searches and inserts with an ef (or k) of at most `ef_max`.
pub const fn scratch_size(capacity: u32, m: u32, ef_max: u32) -> ScratchSize {
    let m0 = 2 * m as usize;
    let ef = ef_max as usize;
    let batch = batch_len(m0);
    ScratchSize {
        u32_words: visited::words(capacity) + 2 * batch,
        u64_words: cand_len(ef, m0) + (ef + 1) + (2 * m0 + 2),
    }
}

const fn batch_len(m0: usize) -> usize {
    let b = 2 * m0 + 2;
    if b < 256 {
        256
    } else {
        b
    }
}

const fn cand_len(ef: usize, m0: usize) -> usize {
    2 * ef + m0 + 1
}

/// Per-search working memory, carved from caller buffers. One per
/// concurrent searcher; reusable across searches (epoch-stamped visited set).
pub struct Scratch<'s> {
    /// Visited stamps, see `visited.rs`.
    pub(crate) visited: &'s mut [u32],
    pub(crate) epoch: u32,
    pub(crate) ids: &'s mut [u32],
    pub(crate) keys: &'s mut [u32],
    pub(crate) cand: &'s mut [u64],
    pub(crate) res: &'s mut [u64],
    pub(crate) tmp: &'s mut [u64],
    pub(crate) ef_max: usize,
    /// Distances computed through this scratch (statistics).
    pub dist_count: u64,
}

impl<'s> Scratch<'s> {
    /// Splits caller buffers (at least [`scratch_size`]) into a scratch for
    /// graphs of at most `capacity` slots, link count `m`, ef up to `ef_max`.
    pub fn new(u32buf: &'s mut [u32], u64buf: &'s mut [u64], capacity: u32, m: u32, ef_max: u32) -> Result<Self, HnswError> {
        let s = Self::carve(u32buf, u64buf, capacity, m, ef_max, 0)?;
        visited::clear(s.visited);
        Ok(s)
    }

    /// Like [`Scratch::new`] but keeps the visited array as it is and
    /// continues from `epoch` (from [`Scratch::epoch`] of an earlier scratch
    /// over the same buffers), so that a per-call scratch costs nothing.
    /// `epoch == 0` (or one no scratch hands out) clears the array. Stale or
    /// foreign contents can only make a search skip nodes, never fault.
    pub fn resume(u32buf: &'s mut [u32], u64buf: &'s mut [u64], capacity: u32, m: u32, ef_max: u32, epoch: u32) -> Result<Self, HnswError> {
        if epoch == 0 || epoch > visited::EPOCH_MAX {
            return Self::new(u32buf, u64buf, capacity, m, ef_max);
        }
        Self::carve(u32buf, u64buf, capacity, m, ef_max, epoch)
    }

    /// Check the buffer sizes and split them into the scratch's parts.
    fn carve(u32buf: &'s mut [u32], u64buf: &'s mut [u64], capacity: u32, m: u32, ef_max: u32, epoch: u32) -> Result<Self, HnswError> {
        if !(layout::M_MIN..=layout::M_MAX).contains(&m) || ef_max == 0 {
            return Err(HnswError::InvalidParam("scratch: m or ef_max out of range"));
        }
        let need = scratch_size(capacity, m, ef_max);
        if u32buf.len() < need.u32_words || u64buf.len() < need.u64_words {
            return Err(HnswError::ScratchTooSmall);
        }
        let m0 = 2 * m as usize;
        let batch = batch_len(m0);
        let ef = ef_max as usize;
        let small = HnswError::ScratchTooSmall;
        let (visited, rest) = u32buf.split_at_mut_checked(visited::words(capacity)).ok_or(small)?;
        let (ids, rest) = rest.split_at_mut_checked(batch).ok_or(small)?;
        let (keys, _) = rest.split_at_mut_checked(batch).ok_or(small)?;
        let (cand, rest) = u64buf.split_at_mut_checked(cand_len(ef, m0)).ok_or(small)?;
        let (res, rest) = rest.split_at_mut_checked(ef + 1).ok_or(small)?;
        let (tmp, _) = rest.split_at_mut_checked(2 * m0 + 2).ok_or(small)?;
        Ok(Scratch { visited, epoch, ids, keys, cand, res, tmp, ef_max: ef, dist_count: 0 })
    }

    /// The current visited epoch (store it to [`Scratch::resume`] later).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Largest ef this scratch supports.
    pub fn ef_max(&self) -> usize {
        self.ef_max
    }

    /// Starts a new visited epoch (clears the stamps on wrap-around).
    pub(crate) fn next_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 || self.epoch > visited::EPOCH_MAX {
            visited::clear(self.visited);
            self.epoch = 1;
        }
    }

    /// Marks `slot` visited in the current epoch; true if it was not yet.
    #[inline(always)]
    pub(crate) fn visit(&mut self, slot: u32) -> bool {
        visited::visit(self.visited, slot, self.epoch)
    }
}

/// Vector elements must be smaller than 2^56 in magnitude (about 7.2e16), NaN
/// and +-Inf excluded. Distances are computed in f32: with |x|, |q| < 2^56 and
/// at most 4096 = 2^12 dimensions, a squared L2 distance stays below
/// 2^12 * (2^57)^2 = 2^126, and dot products and squared norms below that,
/// so no distance overflows to Inf or turns into NaN (Inf/Inf in cosine).
pub const ELEMENT_MAX_LOG2: u32 = 56;

/// True if the f32 with these bits is a valid vector element (bit test, no FPU):
/// its biased exponent is below 127 + ELEMENT_MAX_LOG2.
pub const fn element_bits_ok(bits: u32) -> bool {
    (bits >> 23) & 0xff < 127 + ELEMENT_MAX_LOG2
}

/// True if every element is valid (element_bits_ok).
pub fn vector_in_range(v: &[f32]) -> bool {
    v.iter().all(|x| element_bits_ok(x.to_bits()))
}

/// Same check on raw little-endian bytes (e.g. an xattr or ioctl buffer).
pub fn vector_bytes_in_range(b: &[u8]) -> bool {
    b.len().is_multiple_of(4) && b.chunks_exact(4).all(|c| element_bits_ok(crate::bytes::le32(c, 0).unwrap_or(0)))
}

/// Maps an f32 to its ordered u32 key (integer operations only).
pub const fn key_from_f32_bits(bits: u32) -> u32 {
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 0x8000_0000
    }
}
