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
mod store;
mod validate;

pub use store::{GraphStore, MemStore};

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

/// Longest link list (M0 = 2 M with M at most 64).
const LINKS_MAX: usize = 2 * M_MAX as usize;

/// A copy of one link list, as stored (it may hold dangling links).
pub struct Links {
    n: usize,
    w: [u32; LINKS_MAX],
}

impl Links {
    /// The links.
    #[inline(always)]
    pub fn as_slice(&self) -> &[u32] {
        self.w.get(..self.n).unwrap_or(&[])
    }

    /// How many.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are none.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// An HNSW graph over words in a [`GraphStore`] (the on-disk layout); by
/// default one caller-owned slice.
pub struct Graph<'a, S: GraphStore = MemStore<'a>> {
    w: S,
    _words: core::marker::PhantomData<&'a mut [u32]>,
    geo: Geometry,
    p: Params,
    entry: u32, // slot + 1, 0 = empty
    top: u32,
    live: u32,
    free_chunk: u32, // chunk + 1, 0 = none
    chunks_used: u32,
    rng: u64,
    generation: u64,
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
        for x in words.iter_mut() {
            *x = 0;
        }
        Graph::create_in(MemStore::new(words), p)
    }

    /// Opens a graph whose blocks were loaded with [`decode_block`]:
    /// validates the header and every record, link and chunk. O(capacity * M0).
    /// On error the words may hold validation marks; discard them.
    pub fn open(words: &'a mut [u32]) -> Result<Self> {
        Graph::open_in(MemStore::new(words), true)
    }

    /// Records every block this graph writes into `map` (bit b of word b/64
    /// for block b); the caller writes those blocks back and clears the bits.
    pub fn set_dirty_map(&mut self, map: &'a mut [u64]) {
        self.w.set_dirty_map(map);
    }

    /// Takes the dirty map back.
    pub fn take_dirty_map(&mut self) -> Option<&'a mut [u64]> {
        self.w.take_dirty_map()
    }

    /// The graph words (encode them block by block with [`encode_block`]).
    pub fn words(&self) -> &[u32] {
        self.w.words()
    }

    /// [`Graph::grow_from`] between slices: `new_words` is zeroed first.
    pub fn grow(old: &[u32], new_words: &'a mut [u32], new_capacity: u32) -> Result<Self> {
        for x in new_words.iter_mut() {
            *x = 0;
        }
        Graph::grow_from(&SliceStore(old), MemStore::new(new_words), new_capacity)
    }
}

/// Read-only words (the source of [`Graph::grow`]).
struct SliceStore<'b>(&'b [u32]);

impl GraphStore for SliceStore<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn rd(&self, i: usize) -> Result<u32> {
        self.0.get(i).copied().ok_or(HnswError::Corrupt("graph word index out of range"))
    }

    fn read(&self, i: usize, out: &mut [u32]) -> Result<()> {
        out.copy_from_slice(self.0.get(i..i + out.len()).ok_or(HnswError::Corrupt("graph words out of range"))?);
        Ok(())
    }

    fn wr(&mut self, _i: usize, _v: u32) -> Result<()> {
        Err(HnswError::InvalidParam("read-only graph words"))
    }
}

impl<'a, S: GraphStore> Graph<'a, S> {
    /// Formats an empty graph in `store`, whose words must all be zero
    /// (at least [`Graph::words_needed`] of them).
    pub fn create_in(store: S, p: &Params) -> Result<Self> {
        let geo = Geometry::new(p)?;
        let need = geo.total_words();
        if store.len() < need {
            return Err(HnswError::NoSpace);
        }
        let mut g = Graph {
            w: store,
            _words: core::marker::PhantomData,
            geo,
            p: *p,
            entry: 0,
            top: 0,
            live: 0,
            free_chunk: 0,
            chunks_used: 0,
            rng: p.seed,
            generation: 0,
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

    /// Opens the graph in `store`. With `validate`, checks the header and
    /// every record, link and chunk (O(capacity * M0); on error the words may
    /// hold validation marks: discard them). Without, only the header, and
    /// every later access is bounds-checked (a link count above M, an id out
    /// of range or a chunk chain longer than the node's level is `Corrupt`
    /// when met): what a store too large to read at open uses, where each
    /// block is checked when it is first read. Dangling links are then
    /// assumed possible.
    pub fn open_in(store: S, validate: bool) -> Result<Self> {
        let mut head = [0u32; hdr::USED];
        store.read(0, &mut head).map_err(|_| HnswError::Corrupt("graph shorter than its header"))?;
        let p = params_from_header(&head)?;
        let geo = Geometry::new(&p).map_err(|_| HnswError::Corrupt("graph header parameters"))?;
        if store.len() < geo.total_words() {
            return Err(HnswError::Corrupt("graph shorter than its header says"));
        }
        let h = |i: usize| head.get(i).copied().unwrap_or(0);
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
            w: store,
            _words: core::marker::PhantomData,
            geo,
            p,
            may_dangle: !validate,
            #[cfg(test)]
            link_reads: core::sync::atomic::AtomicU64::new(0),
        };
        // The reserved words, a few dozen at a time (one store read each).
        let mut rest = [0u32; 64];
        let mut i = hdr::USED;
        while i < BLOCK_PAYLOAD_WORDS {
            let n = (BLOCK_PAYLOAD_WORDS - i).min(rest.len());
            let r = rest.get_mut(..n).ok_or(HnswError::Corrupt("graph header"))?;
            g.w.read(i, r)?;
            if r.iter().any(|&x| x != 0) {
                return Err(HnswError::Corrupt("graph header reserved words not zero"));
            }
            i += n;
        }
        if validate {
            g.validate()?;
        } else {
            g.check_header()?;
        }
        Ok(g)
    }

    /// Copies the graph in `old` (a valid graph) into `new`, whose words
    /// must all be zero, with room for `new_capacity` slots: slots, keys,
    /// links and chunk ids are kept, the chunk area grows to the default for
    /// the new capacity (new chunks go on the free list). The result is
    /// validated like [`Graph::open`].
    pub fn grow_from<T: GraphStore>(old: &T, mut new: S, new_capacity: u32) -> Result<Self> {
        let mut head = [0u32; hdr::USED];
        old.read(0, &mut head).map_err(|_| HnswError::Corrupt("graph shorter than its header"))?;
        let op = params_from_header(&head)?;
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
        if new.len() < ng.total_words() {
            return Err(HnswError::NoSpace);
        }
        let copy = |new: &mut S, d: usize, s: usize, n: usize| -> Result<()> {
            let mut buf = [0u32; 32];
            let mut i = 0usize;
            while i < n {
                let k = (n - i).min(buf.len());
                let b = buf.get_mut(..k).ok_or(HnswError::Corrupt("grow: record size"))?;
                old.read(s + i, b)?;
                for (j, &x) in b.iter().enumerate() {
                    if x != 0 {
                        new.wr(d + i + j, x)?;
                    }
                }
                i += k;
            }
            Ok(())
        };
        copy(&mut new, 0, 0, hdr::USED)?;
        for slot in 0..op.capacity {
            copy(&mut new, ng.node_word(slot), og.node_word(slot), og.rec_words as usize)?;
        }
        for c in 0..op.upper_capacity {
            copy(&mut new, ng.chunk_word(c), og.chunk_word(c), og.chunk_words as usize)?;
        }
        let mut free = head.get(hdr::FREE_CHUNK).copied().unwrap_or(0);
        let mut c = np.upper_capacity;
        while c > op.upper_capacity {
            c -= 1;
            let cw = ng.chunk_word(c);
            new.wr(cw + CHUNK_NEXT, free)?;
            new.wr(cw + CHUNK_COUNT, CHUNK_FREE)?;
            free = c + 1;
        }
        new.wr(hdr::CAPACITY, np.capacity)?;
        new.wr(hdr::UPPER_CAPACITY, np.upper_capacity)?;
        new.wr(hdr::FREE_CHUNK, free)?;
        Graph::open_in(new, true)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.w
    }

    /// The store, to change what is outside the graph's words (a dirty map).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.w
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
        slot < self.geo.capacity && self.w.rd(self.geo.node_word(slot) + NODE_FLAGS).is_ok_and(|f| f & FLAG_LIVE != 0)
    }

    /// The key (inode number) of a live slot.
    pub fn node_key(&self, slot: u32) -> Option<u64> {
        if !self.is_live(slot) {
            return None;
        }
        let mut kw = [0u32; 2];
        self.w.read(self.geo.node_word(slot) + NODE_KEY_LO, &mut kw).ok()?;
        Some(kw[0] as u64 | ((kw[1] & 0xffff) as u64) << 32)
    }

    /// The level of a live slot.
    pub fn node_level(&self, slot: u32) -> Option<u32> {
        if !self.is_live(slot) {
            return None;
        }
        self.w.rd(self.geo.node_word(slot) + NODE_FLAGS).ok().map(meta_level)
    }

    /// The links of a live slot on `level`, as stored: they may include
    /// dangling links (to a free slot, or on an upper layer to a node of a
    /// lower level), which searches skip (see [`Graph::delete`]).
    pub fn neighbours(&self, slot: u32, level: u32) -> Option<Links> {
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
        self.w.rd(i)
    }

    #[inline(always)]
    fn wr(&mut self, i: usize, v: u32) -> Result<()> {
        self.w.wr(i, v)?;
        if self.w.node_cache().is_some() {
            self.uncache_meta(i);
        }
        Ok(())
    }

    /// Word i was written: if it is a node's meta word, that node's cache
    /// entry is stale.
    #[cold]
    fn uncache_meta(&self, i: usize) {
        let (b, off) = (i / BLOCK_WORDS, i % BLOCK_WORDS);
        let rec = self.geo.rec_words as usize;
        if b == 0 || b > self.geo.node_blocks as usize || rec == 0 || off % rec != NODE_FLAGS {
            return;
        }
        let slot = (b - 1) * self.geo.nodes_per_block as usize + off / rec;
        if let Some(e) = self.w.node_cache().and_then(|c| c.get(slot)) {
            e.store(0, core::sync::atomic::Ordering::Relaxed);
        }
    }

    /// What [`Graph::linkable`] needs of `slot`'s meta word, cached when the
    /// store offers a cache: bit 7 known, bit 4 live and not being removed,
    /// bits 0-3 level.
    #[inline(always)]
    fn meta_summary(&self, slot: u32) -> u8 {
        let summarise = |f: u32| 0x80 | (((f & (FLAG_LIVE | FLAG_PENDING) == FLAG_LIVE) as u8) << 4) | meta_level(f) as u8;
        let entry = self.w.node_cache().and_then(|c| c.get(slot as usize));
        if let Some(e) = entry {
            let v = e.load(core::sync::atomic::Ordering::Relaxed);
            if v != 0 {
                return v;
            }
        }
        let v = match self.w.rd(self.geo.node_word(slot) + NODE_FLAGS) {
            Ok(f) => summarise(f),
            Err(_) => return 0x80, // unreadable: not linkable (not cached)
        };
        if let Some(e) = entry {
            e.store(v, core::sync::atomic::Ordering::Relaxed);
        }
        v
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
        let v = self.meta_summary(slot);
        v & 0x10 != 0 && (v & 0xf) as u32 >= level
    }

    /// Hints the CPU to load `slot`'s flags word (the [`Graph::linkable`]
    /// check), so that the load overlaps the distance batch that precedes it.
    #[inline(always)]
    fn prefetch_flags(&self, slot: u32) {
        if self.may_dangle && slot < self.geo.capacity {
            self.w.prefetch(self.geo.node_word(slot) + NODE_FLAGS, 1);
        }
    }

    /// Hints the CPU to load `slot`'s record (up to three cache lines): the
    /// next candidate's links are then in cache when it is expanded.
    #[inline(always)]
    fn prefetch_node(&self, slot: u32) {
        if slot < self.geo.capacity {
            self.w.prefetch(self.geo.node_word(slot), self.geo.rec_words as usize);
        }
    }

    /// (first link word, count word, count) of `slot`'s list on `level`,
    /// with the count checked against M.
    #[inline(always)]
    fn link_list(&self, slot: u32, level: u32) -> Result<(usize, usize, u32)> {
        let (start, cw, cnt) = self.link_pos(slot, level)?;
        let max = if level == 0 { self.geo.m0 } else { self.geo.m };
        if cnt > max {
            return Err(HnswError::Corrupt("link count above M"));
        }
        Ok((start, cw, cnt))
    }

    /// `slot`'s links on `level` where they are, when the store holds its
    /// words in memory (None: copy them, [`Graph::links_into`]).
    #[inline(always)]
    fn links_in_place(&self, slot: u32, level: u32) -> Result<Option<&[u32]>> {
        if self.w.reads_cost() {
            return Ok(None);
        }
        let (start, _, cnt) = self.link_list(slot, level)?;
        Ok(self.w.words_at(start, cnt as usize))
    }

    /// A copy of `slot`'s links on `level`.
    #[inline(always)]
    fn links(&self, slot: u32, level: u32) -> Result<Links> {
        let mut l = Links { n: 0, w: [0; LINKS_MAX] };
        l.n = self.links_into(slot, level, &mut l.w)?;
        Ok(l)
    }

    /// Copies `slot`'s links on `level` into `out` (room for M0); returns how many.
    #[inline(always)]
    fn links_into(&self, slot: u32, level: u32, out: &mut [u32]) -> Result<usize> {
        let rw = self.geo.rec_words as usize;
        if level == 0 && out.len() >= rw && self.w.reads_cost() {
            // The whole record in one store read (a walk's common case: on
            // the kernel's store one block lookup, not two), then the links
            // moved to the front.
            #[cfg(test)]
            self.link_reads.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            let rec = out.get_mut(..rw).ok_or(HnswError::ScratchTooSmall)?;
            self.w.read(self.node_base(slot)?, rec)?;
            let n = meta_count(rec.get(NODE_FLAGS).copied().unwrap_or(0)) as usize;
            if n > self.geo.m0 as usize || NODE_LINKS + n > rw {
                return Err(HnswError::Corrupt("link count above M"));
            }
            rec.copy_within(NODE_LINKS..NODE_LINKS + n, 0);
            return Ok(n);
        }
        let (start, _, cnt) = self.link_list(slot, level)?;
        let n = cnt as usize;
        self.w.read(start, out.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?)?;
        Ok(n)
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
        if s.visited.len() < crate::hnsw::visited::words(self.geo.capacity) || ef > s.ef_max || s.ids.len() < (2 * self.geo.m0 as usize + 2) {
            return Err(HnswError::ScratchTooSmall);
        }
        if s.tmp.len() < 2 * self.geo.m0 as usize + 2 {
            return Err(HnswError::ScratchTooSmall);
        }
        Ok(())
    }
}
