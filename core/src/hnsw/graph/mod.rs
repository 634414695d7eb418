//! The HNSW graph: insert, delete with link repair, kNN / range search,
//! validation of a graph loaded from disk.
//!
//! This module holds the graph's state and word-level access (header,
//! nodes, link lists, dirty-block map); each operation is in its own file:
//! `insert`, `remove`, `search`, `rerank` (two-precision kNN), `select`
//! (neighbour selection), `validate`.
//! A `Graph` borrows the caller's words mutably for its lifetime: changes
//! take `&mut self`, searches `&self` (so concurrent searches share it).

use super::heap::{id_of, key_of, pack, MaxHeap, MinHeap};
use super::layout::*;
use super::{DistanceProvider, HnswError, Query, Scratch};

mod insert;
mod remove;
mod rerank;
mod search;
mod select;
mod validate;

type Result<T> = core::result::Result<T, HnswError>;

/// Bit set in a chunk's count word while `open` validates (never persisted).
const CHUNK_SEEN: u32 = 1 << 30;

/// Set in a node's meta word while `delete_batch` runs (never persisted:
/// a reserved bit, rejected by `open`).
const FLAG_PENDING: u32 = 1 << 30;

/// One search result.
/// `repr(C)` with the layout of `struct vexfs_hnsw_hit` (shim/vexfs_core.h),
/// so the kernel's result buffer is written in place (asserted in ffi/hnsw.rs).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hit {
    /// The slot's key (inode number).
    pub key: u64,
    /// Dense slot id.
    pub slot: u32,
    /// Ordered distance key (see `vexfs_simd::f32_from_key`).
    pub dist: u32,
}

/// Outcome of a range / threshold search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RangeOutcome {
    /// Hits written (sorted by distance).
    pub count: usize,
    /// All matches found were written (false: `out` or the scratch was too
    /// small, or the beam reached ef_max while still entirely inside the radius).
    pub complete: bool,
    /// The result came from an exact scan of every live node.
    pub exact: bool,
}

/// An HNSW graph over caller-owned words (the on-disk layout).
pub struct Graph<'a> {
    w: &'a mut [u32],
    geo: Geometry,
    p: Params,
    entry: u32, // slot + 1, 0 = empty
    top: u32,
    live: u32,
    free_chunk: u32, // chunk + 1, 0 = none
    chunks_used: u32,
    rng: u64,
    generation: u64,
    dirty: Option<&'a mut [u64]>,
    /// Some link may dangle (see [`Graph::linkable`]): set by every delete,
    /// and by `open` when it finds one. While false (a graph only ever
    /// inserted into), walks skip the liveness check of each neighbour,
    /// which costs a record read.
    may_dangle: bool,
    /// Link lists read (tests only: shows that a delete stays local).
    #[cfg(test)]
    pub(crate) link_reads: core::sync::atomic::AtomicU64,
}

impl<'a> Graph<'a> {
    /// Words needed for a graph with these parameters.
    pub fn words_needed(p: &Params) -> Result<usize> {
        Ok(Geometry::new(p)?.total_words())
    }

    /// Formats an empty graph in `words` (at least [`Graph::words_needed`]).
    pub fn create(words: &'a mut [u32], p: &Params) -> Result<Self> {
        let geo = Geometry::new(p)?;
        let need = geo.total_words();
        if words.len() < need {
            return Err(HnswError::NoSpace);
        }
        for x in words.iter_mut() {
            *x = 0;
        }
        let mut g = Graph {
            w: words,
            geo,
            p: *p,
            entry: 0,
            top: 0,
            live: 0,
            free_chunk: 0,
            chunks_used: 0,
            rng: p.seed,
            generation: 0,
            dirty: None,
            may_dangle: false,
            #[cfg(test)]
            link_reads: core::sync::atomic::AtomicU64::new(0),
        };
        // Free list: every chunk, in ascending order.
        let mut c = geo.upper_capacity;
        while c > 0 {
            c -= 1;
            let cw = geo.chunk_word(c);
            g.wr(cw + CHUNK_NEXT, g.free_chunk)?;
            g.wr(cw + CHUNK_COUNT, CHUNK_FREE)?;
            g.free_chunk = c + 1;
        }
        g.store_header()?;
        Ok(g)
    }

    /// Opens a graph whose blocks were loaded with [`decode_block`]:
    /// validates the header and every record, link and chunk. O(capacity * M0).
    /// On error the words may hold validation marks; discard them.
    pub fn open(words: &'a mut [u32]) -> Result<Self> {
        let p = params_from_header(words.get(..BLOCK_WORDS).ok_or(HnswError::Corrupt("graph shorter than its header"))?)?;
        let geo = Geometry::new(&p).map_err(|_| HnswError::Corrupt("graph header parameters"))?;
        if words.len() < geo.total_words() {
            return Err(HnswError::Corrupt("graph shorter than its header says"));
        }
        let h = |i: usize| words.get(i).copied().unwrap_or(0);
        let mut p = p;
        let rng = h(hdr::RNG_LO) as u64 | (h(hdr::RNG_HI) as u64) << 32;
        p.seed = rng;
        let mut g = Graph {
            entry: h(hdr::ENTRY),
            top: h(hdr::TOP_LEVEL),
            live: h(hdr::LIVE),
            free_chunk: h(hdr::FREE_CHUNK),
            chunks_used: h(hdr::CHUNKS_USED),
            rng,
            generation: h(hdr::GEN_LO) as u64 | (h(hdr::GEN_HI) as u64) << 32,
            w: words,
            geo,
            p,
            dirty: None,
            may_dangle: false,
            #[cfg(test)]
            link_reads: core::sync::atomic::AtomicU64::new(0),
        };
        let mut i = hdr::USED;
        while i < BLOCK_PAYLOAD_WORDS {
            if g.rd(i)? != 0 {
                return Err(HnswError::Corrupt("graph header reserved words not zero"));
            }
            i += 1;
        }
        g.validate()?;
        Ok(g)
    }

    /// Copies the graph in `old` (a valid graph) into `new_words` with room
    /// for `new_capacity` slots: slots, keys, links and chunk ids are kept,
    /// the chunk area grows to the default for the new capacity (new chunks
    /// go on the free list). The result is validated like [`Graph::open`].
    pub fn grow(old: &[u32], new_words: &'a mut [u32], new_capacity: u32) -> Result<Self> {
        let op = params_from_header(old.get(..BLOCK_WORDS).ok_or(HnswError::Corrupt("graph shorter than its header"))?)?;
        let og = Geometry::new(&op)?;
        if old.len() < og.total_words() {
            return Err(HnswError::Corrupt("graph shorter than its header says"));
        }
        if new_capacity < op.capacity {
            return Err(HnswError::InvalidParam("grow: new capacity below the old one"));
        }
        let mut np = op;
        np.capacity = new_capacity;
        np.upper_capacity = default_upper_capacity(new_capacity, op.m).max(op.upper_capacity);
        let ng = Geometry::new(&np)?;
        if new_words.len() < ng.total_words() {
            return Err(HnswError::NoSpace);
        }
        for x in new_words.iter_mut() {
            *x = 0;
        }
        let copy = |dst: &mut [u32], d: usize, src: &[u32], s: usize, n: usize| -> Result<()> {
            let from = src.get(s..s + n).ok_or(HnswError::Corrupt("grow: source range"))?;
            let to = dst.get_mut(d..d + n).ok_or(HnswError::NoSpace)?;
            to.copy_from_slice(from);
            Ok(())
        };
        copy(new_words, 0, old, 0, hdr::USED)?;
        for slot in 0..op.capacity {
            copy(new_words, ng.node_word(slot), old, og.node_word(slot), og.rec_words as usize)?;
        }
        for c in 0..op.upper_capacity {
            copy(new_words, ng.chunk_word(c), old, og.chunk_word(c), og.chunk_words as usize)?;
        }
        let mut free = old.get(hdr::FREE_CHUNK).copied().unwrap_or(0);
        let mut c = np.upper_capacity;
        while c > op.upper_capacity {
            c -= 1;
            let cw = ng.chunk_word(c);
            if let Some(w) = new_words.get_mut(cw + CHUNK_NEXT) {
                *w = free;
            }
            if let Some(w) = new_words.get_mut(cw + CHUNK_COUNT) {
                *w = CHUNK_FREE;
            }
            free = c + 1;
        }
        let set = |w: &mut [u32], i: usize, v: u32| {
            if let Some(x) = w.get_mut(i) {
                *x = v;
            }
        };
        set(new_words, hdr::CAPACITY, np.capacity);
        set(new_words, hdr::UPPER_CAPACITY, np.upper_capacity);
        set(new_words, hdr::FREE_CHUNK, free);
        Graph::open(new_words)
    }

    /// Records every block this graph writes into `map` (bit b of word b/64
    /// for block b); the caller writes those blocks back and clears the bits.
    pub fn set_dirty_map(&mut self, map: &'a mut [u64]) {
        self.dirty = Some(map);
    }

    /// Takes the dirty map back.
    pub fn take_dirty_map(&mut self) -> Option<&'a mut [u64]> {
        self.dirty.take()
    }

    /// The graph words (encode them block by block with [`encode_block`]).
    pub fn words(&self) -> &[u32] {
        self.w
    }

    /// Layout sizes.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// Parameters (seed = current RNG state).
    pub fn params(&self) -> Params {
        let mut p = self.p;
        p.seed = self.rng;
        p
    }

    /// Live nodes.
    pub fn len(&self) -> u32 {
        self.live
    }

    /// True when no node is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Node slots.
    pub fn capacity(&self) -> u32 {
        self.geo.capacity
    }

    /// The entry point slot.
    pub fn entry_point(&self) -> Option<u32> {
        self.entry.checked_sub(1)
    }

    /// The highest layer in use.
    pub fn top_level(&self) -> u32 {
        self.top
    }

    /// Upper-layer chunks in use.
    pub fn chunks_used(&self) -> u32 {
        self.chunks_used
    }

    /// Generation number recorded in the header.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Sets the generation number (ties the graph to the vector store).
    pub fn set_generation(&mut self, g: u64) -> Result<()> {
        self.generation = g;
        self.store_header()
    }

    /// True if `slot` holds a live node.
    #[inline]
    pub fn is_live(&self, slot: u32) -> bool {
        slot < self.geo.capacity
            && self.w.get(self.geo.node_word(slot) + NODE_FLAGS).is_some_and(|f| f & FLAG_LIVE != 0)
    }

    /// The key (inode number) of a live slot.
    pub fn node_key(&self, slot: u32) -> Option<u64> {
        if !self.is_live(slot) {
            return None;
        }
        let b = self.geo.node_word(slot);
        let lo = *self.w.get(b + NODE_KEY_LO)?;
        let hi = *self.w.get(b + NODE_FLAGS)? & 0xffff;
        Some(lo as u64 | (hi as u64) << 32)
    }

    /// The level of a live slot.
    pub fn node_level(&self, slot: u32) -> Option<u32> {
        if !self.is_live(slot) {
            return None;
        }
        self.w.get(self.geo.node_word(slot) + NODE_FLAGS).map(|&f| meta_level(f))
    }

    /// The links of a live slot on `level`, as stored: they may include
    /// dangling links (to a free slot, or on an upper layer to a node of a
    /// lower level), which searches skip (see [`Graph::delete`]).
    pub fn neighbours(&self, slot: u32, level: u32) -> Option<&[u32]> {
        if !self.is_live(slot) {
            return None;
        }
        self.links(slot, level).ok()
    }

    /// First slot at or after `start` (wrapping) that holds no live node.
    pub fn find_free_slot(&self, start: u32) -> Option<u32> {
        if self.live >= self.geo.capacity {
            return None;
        }
        let cap = self.geo.capacity;
        let mut i = 0u32;
        while i < cap {
            let s = (start.checked_rem(cap).unwrap_or(0) + i).checked_rem(cap).unwrap_or(0);
            if !self.is_live(s) {
                return Some(s);
            }
            i += 1;
        }
        None
    }

    // ---- word access -------------------------------------------------------

    #[inline(always)]
    fn rd(&self, i: usize) -> Result<u32> {
        self.w.get(i).copied().ok_or(HnswError::Corrupt("graph word index out of range"))
    }

    #[inline(always)]
    fn wr(&mut self, i: usize, v: u32) -> Result<()> {
        match self.w.get_mut(i) {
            Some(x) => *x = v,
            None => return Err(HnswError::Corrupt("graph word index out of range")),
        }
        if let Some(d) = self.dirty.as_deref_mut() {
            let b = i / BLOCK_WORDS;
            if let Some(x) = d.get_mut(b / 64) {
                *x |= 1u64 << (b % 64);
            }
        }
        Ok(())
    }

    fn store_header(&mut self) -> Result<()> {
        // Field by field (no table on the stack): write only what changed,
        // so an unchanged header does not dirty block 0.
        self.put_hdr(hdr::MAGIC, GRAPH_MAGIC)?;
        self.put_hdr(hdr::VERSION, GRAPH_VERSION)?;
        self.put_hdr(hdr::M, self.p.m)?;
        self.put_hdr(hdr::EF_CONSTRUCTION, self.p.ef_construction)?;
        self.put_hdr(hdr::MAX_LEVEL, self.p.max_level)?;
        self.put_hdr(hdr::CAPACITY, self.p.capacity)?;
        self.put_hdr(hdr::UPPER_CAPACITY, self.p.upper_capacity)?;
        self.put_hdr(hdr::METRIC, self.p.metric)?;
        self.put_hdr(hdr::DIM, self.p.dim)?;
        self.put_hdr(hdr::ENTRY, self.entry)?;
        self.put_hdr(hdr::TOP_LEVEL, self.top)?;
        self.put_hdr(hdr::LIVE, self.live)?;
        self.put_hdr(hdr::FREE_CHUNK, self.free_chunk)?;
        self.put_hdr(hdr::CHUNKS_USED, self.chunks_used)?;
        self.put_hdr(hdr::RNG_LO, self.rng as u32)?;
        self.put_hdr(hdr::RNG_HI, (self.rng >> 32) as u32)?;
        self.put_hdr(hdr::GEN_LO, self.generation as u32)?;
        self.put_hdr(hdr::GEN_HI, (self.generation >> 32) as u32)
    }

    #[inline]
    fn put_hdr(&mut self, i: usize, v: u32) -> Result<()> {
        if self.rd(i)? != v {
            self.wr(i, v)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn node_base(&self, slot: u32) -> Result<usize> {
        if slot >= self.geo.capacity {
            return Err(HnswError::Corrupt("slot id out of range"));
        }
        Ok(self.geo.node_word(slot))
    }

    /// (first link word, count word, count, count shift) of `slot` on `level`.
    /// Level 0: count in the low 8 bits of the flags word; above: chunk count.
    #[inline(always)]
    fn link_pos(&self, slot: u32, level: u32) -> Result<(usize, usize, u32)> {
        #[cfg(test)]
        self.link_reads.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        let b = self.node_base(slot)?;
        let flags = self.rd(b + NODE_FLAGS)?;
        if level == 0 {
            return Ok((b + NODE_LINKS, b + NODE_FLAGS, meta_count(flags)));
        }
        if level > meta_level(flags) {
            return Err(HnswError::Corrupt("link level above node level"));
        }
        let mut c = self.rd(b + NODE_UPPER)?;
        let mut l = 1;
        loop {
            let ci = c.checked_sub(1).ok_or(HnswError::Corrupt("missing upper-layer chunk"))?;
            if ci >= self.geo.upper_capacity {
                return Err(HnswError::Corrupt("chunk id out of range"));
            }
            let cw = self.geo.chunk_word(ci);
            if l == level {
                let cnt = self.rd(cw + CHUNK_COUNT)? & !CHUNK_SEEN;
                return Ok((cw + CHUNK_LINKS, cw + CHUNK_COUNT, cnt));
            }
            c = self.rd(cw + CHUNK_NEXT)?;
            l += 1;
        }
    }

    /// True if a link to `slot` on `level` leads somewhere: a live node, not
    /// being removed, of at least that level. Links are left dangling by a
    /// delete (one-way in-links to the removed node, which a local repair
    /// does not find): to a free slot, or, once the slot is reused, to a node
    /// of a lower level. Every walk skips them; the next rewrite of the
    /// owner's list drops them.
    #[inline(always)]
    fn linkable(&self, slot: u32, level: u32) -> bool {
        if !self.may_dangle {
            return slot < self.geo.capacity;
        }
        if slot >= self.geo.capacity {
            return false;
        }
        match self.w.get(self.geo.node_word(slot) + NODE_FLAGS) {
            Some(&f) => f & (FLAG_LIVE | FLAG_PENDING) == FLAG_LIVE && meta_level(f) >= level,
            None => false,
        }
    }

    /// Hints the CPU to load `slot`'s flags word (the [`Graph::linkable`]
    /// check), so that the load overlaps the distance batch that precedes it.
    #[inline(always)]
    fn prefetch_flags(&self, slot: u32) {
        #[cfg(target_arch = "x86_64")]
        if self.may_dangle && slot < self.geo.capacity {
            if let Some(w) = self.w.get(self.geo.node_word(slot) + NODE_FLAGS) {
                // SAFETY: as in prefetch_node: a hint inside self.w, no fault,
                // no architectural effect, no SSE/FPU state.
                unsafe {
                    core::arch::asm!("prefetcht0 [{0}]", in(reg) w as *const u32, options(nostack, preserves_flags, readonly));
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// Hints the CPU to load `slot`'s record (up to three cache lines): the
    /// next candidate's links are then in cache when it is expanded.
    #[inline(always)]
    fn prefetch_node(&self, slot: u32) {
        #[cfg(target_arch = "x86_64")]
        if slot < self.geo.capacity {
            let i = self.geo.node_word(slot);
            let mut off = 0usize;
            while off < self.geo.rec_words as usize {
                if let Some(w) = self.w.get(i + off) {
                    // SAFETY: prefetcht0 is a hint: it never faults and has no
                    // architectural effect; the address is inside self.w. No
                    // SSE/FPU state is touched (valid in the soft-float kernel build).
                    unsafe {
                        core::arch::asm!("prefetcht0 [{0}]", in(reg) w as *const u32, options(nostack, preserves_flags, readonly));
                    }
                }
                off += 16;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    #[inline(always)]
    fn links(&self, slot: u32, level: u32) -> Result<&[u32]> {
        let (start, _, cnt) = self.link_pos(slot, level)?;
        let max = if level == 0 { self.geo.m0 } else { self.geo.m };
        if cnt > max {
            return Err(HnswError::Corrupt("link count above M"));
        }
        self.w.get(start..start + cnt as usize).ok_or(HnswError::Corrupt("links beyond the graph"))
    }

    fn set_links(&mut self, slot: u32, level: u32, entries: &[u64]) -> Result<()> {
        let (start, cw, _) = self.link_pos(slot, level)?;
        let max = if level == 0 { self.geo.m0 } else { self.geo.m } as usize;
        let n = entries.len().min(max);
        for (i, e) in entries.iter().take(n).enumerate() {
            self.wr(start + i, id_of(*e))?;
        }
        // Keep unused link words zero so images are deterministic.
        for i in n..max {
            if self.rd(start + i)? != 0 {
                self.wr(start + i, 0)?;
            }
        }
        self.set_count(cw, level, n as u32)
    }

    fn set_count(&mut self, cw: usize, level: u32, n: u32) -> Result<()> {
        if level == 0 {
            let f = self.rd(cw)?;
            self.wr(cw, (f & !(0xff << 16)) | ((n & 0xff) << 16))
        } else {
            self.wr(cw, n)
        }
    }

    fn next_rand(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Level with P(level >= l) = M^-l (i.e. mL = 1/ln M), integers only.
    fn random_level(&mut self) -> u32 {
        let thr = u32::MAX.checked_div(self.geo.m).unwrap_or(0);
        let mut l = 0;
        while l < self.p.max_level {
            if (self.next_rand() >> 32) as u32 >= thr {
                break;
            }
            l += 1;
        }
        l
    }

    fn check_scratch(&self, s: &Scratch<'_>, ef: usize) -> Result<()> {
        if s.visited.len() < self.geo.capacity as usize || ef > s.ef_max || s.ids.len() < (2 * self.geo.m0 as usize + 2) {
            return Err(HnswError::ScratchTooSmall);
        }
        if s.tmp.len() < 2 * self.geo.m0 as usize + 2 {
            return Err(HnswError::ScratchTooSmall);
        }
        Ok(())
    }
}
