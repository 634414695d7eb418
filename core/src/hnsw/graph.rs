//! The HNSW graph: insert, delete with link repair, kNN / range search,
//! validation of a graph loaded from disk.

use super::heap::{id_of, key_of, pack, MaxHeap, MinHeap};
use super::layout::*;
use super::{DistanceProvider, HnswError, Query, Scratch};

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

    /// The links of a live slot on `level`.
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

    // ---- search primitives -------------------------------------------------

    /// Distance from `q` to one slot.
    fn dist1<D: DistanceProvider>(&self, dp: &mut D, s: &mut Scratch<'_>, q: Query, id: u32) -> Result<u32> {
        let mut k = [0u32; 1];
        dp.dist_batch(q, &[id], &mut k)?;
        s.dist_count += 1;
        Ok(k[0])
    }

    /// Greedy walk on `level` from `cur` (packed key/id) to a local minimum.
    fn greedy<D: DistanceProvider>(&self, dp: &mut D, s: &mut Scratch<'_>, q: Query, mut cur: u64, level: u32) -> Result<u64> {
        let mut steps = 0u32;
        loop {
            let links = self.links(id_of(cur), level)?;
            let n = links.len();
            let ids = s.ids.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
            ids.copy_from_slice(links);
            let keys = s.keys.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
            dp.dist_batch(q, ids, keys)?;
            s.dist_count += n as u64;
            let mut best = cur;
            for (&id, &k) in ids.iter().zip(keys.iter()) {
                let e = pack(k, id);
                if e < best {
                    best = e;
                }
            }
            if best == cur {
                return Ok(cur);
            }
            cur = best;
            steps += 1;
            if steps > self.geo.capacity {
                return Err(HnswError::Corrupt("greedy search did not converge"));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    /// Beam search on `level` from `entry`; leaves up to `ef` admitted
    /// results sorted ascending in `s.res[..n]` and returns n.
    fn search_layer<D: DistanceProvider, F: FnMut(u32) -> bool>(
        &self,
        dp: &mut D,
        s: &mut Scratch<'_>,
        q: Query,
        entry: u64,
        level: u32,
        ef: usize,
        filter: &mut F,
    ) -> Result<usize> {
        s.next_epoch();
        let epoch = s.epoch;
        let Scratch { visited, ids, keys, cand, res, dist_count, .. } = s;
        let ef = ef.max(1).min(res.len());
        let mut cand = MinHeap::new(cand);
        let mut res = MaxHeap::new(res.get_mut(..ef).ok_or(HnswError::ScratchTooSmall)?);
        if let Some(v) = visited.get_mut(id_of(entry) as usize) {
            *v = epoch;
        }
        cand.push(entry);
        if filter(id_of(entry)) {
            res.push(entry);
        }
        while let Some(c) = cand.pop() {
            if let Some(nx) = cand.peek() {
                self.prefetch_node(id_of(nx));
            }
            if res.len() >= ef {
                if let Some(top) = res.peek() {
                    if key_of(c) > key_of(top) {
                        break;
                    }
                }
            }
            let links = self.links(id_of(c), level)?;
            let mut nb = 0usize;
            for &n in links {
                if let Some(v) = visited.get_mut(n as usize) {
                    if *v != epoch {
                        *v = epoch;
                        if let Some(slot) = ids.get_mut(nb) {
                            *slot = n;
                            nb += 1;
                        }
                    }
                }
            }
            if nb == 0 {
                continue;
            }
            let idb = ids.get(..nb).ok_or(HnswError::ScratchTooSmall)?;
            let kb = keys.get_mut(..nb).ok_or(HnswError::ScratchTooSmall)?;
            dp.dist_batch(q, idb, kb)?;
            *dist_count += nb as u64;
            for (&n, &k) in idb.iter().zip(kb.iter()) {
                let full = res.len() >= ef;
                let bound = res.peek().map(key_of).unwrap_or(u32::MAX);
                if full && k >= bound {
                    continue;
                }
                let e = pack(k, n);
                if cand.is_full() {
                    if full {
                        cand.retain(|x| key_of(x) < bound);
                    }
                    cand.push_evicting_worst(e);
                } else {
                    cand.push(e);
                }
                if filter(n) {
                    if full {
                        res.replace_top(e);
                    } else {
                        res.push(e);
                    }
                }
            }
        }
        let n = res.len();
        res.into_sorted();
        Ok(n)
    }

    /// Neighbour-selection heuristic (Malkov & Yashunin, alg. 4, as in
    /// hnswlib): from candidates sorted ascending in `buf[..n]`, keep a
    /// candidate only if it is closer to the query than to every candidate
    /// already kept; at most `m`. Compacts the kept ones into `buf[..k]`.
    fn heuristic<D: DistanceProvider>(
        dp: &mut D,
        buf: &mut [u64],
        n: usize,
        m: usize,
        ids: &mut [u32],
        keys: &mut [u32],
        dist_count: &mut u64,
    ) -> Result<usize> {
        if n <= m {
            // Fewer candidates than slots: keep them all (as hnswlib does).
            return Ok(n.min(buf.len()));
        }
        let mut k = 0usize;
        let mut i = 0usize;
        while i < n && k < m {
            let c = match buf.get(i) {
                Some(&c) => c,
                None => break,
            };
            i += 1;
            let mut good = true;
            if k > 0 {
                let sel = ids.get(..k).ok_or(HnswError::ScratchTooSmall)?;
                let out = keys.get_mut(..k).ok_or(HnswError::ScratchTooSmall)?;
                dp.dist_batch(Query::Node(id_of(c)), sel, out)?;
                *dist_count += k as u64;
                let kc = key_of(c);
                good = out.iter().all(|&d| d >= kc);
            }
            if good {
                // Swap (not overwrite) so the rejected candidates stay in buf[k..n].
                crate::sort::swap(buf, k, i - 1);
                if let Some(x) = ids.get_mut(k) {
                    *x = id_of(c);
                }
                k += 1;
            }
        }
        Ok(k)
    }

    /// [`Self::heuristic`], then tops the selection up to `fill` entries with
    /// the nearest rejected candidates (used when repairing after a delete,
    /// where keeping the degree up preserves connectivity).
    #[allow(clippy::too_many_arguments)]
    fn heuristic_fill<D: DistanceProvider>(
        dp: &mut D,
        buf: &mut [u64],
        n: usize,
        m: usize,
        fill: usize,
        ids: &mut [u32],
        keys: &mut [u32],
        dist_count: &mut u64,
    ) -> Result<usize> {
        let k = Self::heuristic(dp, buf, n, m, ids, keys, dist_count)?;
        if k >= fill || k >= n {
            return Ok(k);
        }
        if let Some(rest) = buf.get_mut(k..n) {
            crate::sort::sort(rest);
        }
        Ok(fill.min(n))
    }

    /// Adds link `new` (at distance key `d`) to `nb`'s list on `level`,
    /// re-selecting with the heuristic when the list is full.
    fn add_link<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, nb: u32, new: u32, d: u32, level: u32) -> Result<()> {
        let max = if level == 0 { self.geo.m0 } else { self.geo.m };
        let (start, cw, cnt) = self.link_pos(nb, level)?;
        if cnt > max {
            return Err(HnswError::Corrupt("link count above M"));
        }
        if cnt < max {
            self.wr(start + cnt as usize, new)?;
            return self.set_count(cw, level, cnt + 1);
        }
        let n = cnt as usize;
        {
            let links = self.w.get(start..start + n).ok_or(HnswError::Corrupt("links beyond the graph"))?;
            let ids = s.ids.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
            ids.copy_from_slice(links);
            let keys = s.keys.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
            dp.dist_batch(Query::Node(nb), ids, keys)?;
            s.dist_count += n as u64;
            for i in 0..n {
                let (id, k) = (s.ids.get(i).copied().unwrap_or(0), s.keys.get(i).copied().unwrap_or(u32::MAX));
                if let Some(t) = s.tmp.get_mut(i) {
                    *t = pack(k, id);
                }
            }
            if let Some(t) = s.tmp.get_mut(n) {
                *t = pack(d, new);
            }
        }
        let tmp = s.tmp.get_mut(..n + 1).ok_or(HnswError::ScratchTooSmall)?;
        crate::sort::sort(tmp);
        let k = Self::heuristic(dp, tmp, n + 1, max as usize, s.ids, s.keys, &mut s.dist_count)?;
        let sel = s.tmp.get(..k).ok_or(HnswError::ScratchTooSmall)?;
        self.set_links(nb, level, sel)
    }

    // ---- insert ------------------------------------------------------------

    /// Inserts slot `slot` with key `key`. The provider must already return
    /// distances for `Query::Node(slot)` (the caller stores the vector first).
    pub fn insert<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slot: u32, key: u64) -> Result<()> {
        self.check_scratch(s, self.p.ef_construction as usize)?;
        if slot >= self.geo.capacity {
            return Err(HnswError::InvalidParam("slot beyond capacity"));
        }
        if self.is_live(slot) {
            return Err(HnswError::SlotInUse);
        }
        if key > KEY_MAX {
            return Err(HnswError::InvalidParam("key above 2^48 - 1"));
        }
        let free = self.geo.upper_capacity.saturating_sub(self.chunks_used);
        let level = self.random_level().min(free);
        // Allocate the upper-layer chunks first, so no failure leaves a half node.
        let mut head = 0u32;
        for _ in 0..level {
            let c = self.free_chunk.checked_sub(1).ok_or(HnswError::Corrupt("chunk free list shorter than its count"))?;
            if c >= self.geo.upper_capacity {
                return Err(HnswError::Corrupt("chunk id out of range"));
            }
            let cw = self.geo.chunk_word(c);
            if self.rd(cw + CHUNK_COUNT)? != CHUNK_FREE {
                return Err(HnswError::Corrupt("chunk on the free list is in use"));
            }
            self.free_chunk = self.rd(cw + CHUNK_NEXT)?;
            self.wr(cw + CHUNK_NEXT, head)?;
            self.wr(cw + CHUNK_COUNT, 0)?;
            head = c + 1;
            self.chunks_used += 1;
        }
        let b = self.node_base(slot)?;
        self.wr(b + NODE_KEY_LO, key as u32)?;
        self.wr(b + NODE_FLAGS, meta(key, 0, level))?;
        self.wr(b + NODE_UPPER, head)?;
        self.live += 1;
        let r = self.link_new(dp, s, slot, level);
        if r.is_err() {
            // Leave no half-linked node: undo through the regular delete.
            let _ = self.remove_links_to(dp, s, slot);
            let _ = self.free_node(slot);
            let _ = self.store_header();
            return r;
        }
        self.store_header()
    }

    fn link_new<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slot: u32, level: u32) -> Result<()> {
        let ep = match self.entry.checked_sub(1) {
            None => {
                self.entry = slot + 1;
                self.top = level;
                return Ok(());
            }
            Some(e) => e,
        };
        let q = Query::Node(slot);
        let mut cur = pack(self.dist1(dp, s, q, ep)?, ep);
        let mut l = self.top;
        while l > level {
            cur = self.greedy(dp, s, q, cur, l)?;
            l -= 1;
        }
        let mut l = level.min(self.top) as i32;
        let ef = self.p.ef_construction as usize;
        let m = self.geo.m as usize;
        while l >= 0 {
            let lv = l as u32;
            let n = self.search_layer(dp, s, q, cur, lv, ef, &mut |id| id != slot)?;
            if n == 0 {
                l -= 1;
                continue;
            }
            if let Some(&c) = s.res.first() {
                cur = c;
            }
            let res = s.res.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
            let k = Self::heuristic(dp, res, n, m, s.ids, s.keys, &mut s.dist_count)?;
            let sel = s.res.get(..k).ok_or(HnswError::ScratchTooSmall)?;
            self.set_links(slot, lv, sel)?;
            for i in 0..k {
                let e = match s.res.get(i) {
                    Some(&e) => e,
                    None => break,
                };
                self.add_link(dp, s, id_of(e), slot, key_of(e), lv)?;
            }
            l -= 1;
        }
        if level > self.top {
            self.entry = slot + 1;
            self.top = level;
        }
        Ok(())
    }

    // ---- delete ------------------------------------------------------------

    /// Removes `slot`: every link to it is dropped and each node that
    /// linked to it re-selects its links among its remaining neighbours and
    /// the removed node's neighbours (heuristic). O(capacity * M0) scan plus
    /// O(in-degree) re-selections. The entry point moves if needed.
    pub fn delete<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slot: u32) -> Result<()> {
        self.check_scratch(s, 1)?;
        if !self.is_live(slot) {
            return Err(HnswError::NotFound);
        }
        self.remove_links_to(dp, s, slot)?;
        self.free_node(slot)?;
        self.store_header()
    }

    /// Removes every slot in `slots` with one scan of the graph (instead of
    /// one per node, as [`Graph::delete`] would): each surviving node that
    /// linked to a removed one re-selects its links among its surviving
    /// neighbours and the removed neighbours' surviving neighbours
    /// (heuristic, topped up to the layer's maximum). Duplicates are
    /// ignored; if any slot is not live nothing changes and `NotFound` is
    /// returned. For the bridge's lazy mode and mass unlinks.
    pub fn delete_batch<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slots: &[u32]) -> Result<usize> {
        self.check_scratch(s, 1)?;
        if slots.iter().any(|&p| !self.is_live(p)) {
            return Err(HnswError::NotFound);
        }
        // Mark (bit 30 of the meta word, never persisted: cleared below).
        for &p in slots {
            let b = self.node_base(p)?;
            let f = self.rd(b + NODE_FLAGS)?;
            if let Some(w) = self.w.get_mut(b + NODE_FLAGS) {
                *w = f | FLAG_PENDING;
            }
        }
        let r = self.repair_pending(dp, s);
        let mut removed = 0usize;
        for &p in slots {
            let b = self.node_base(p)?;
            let f = self.rd(b + NODE_FLAGS)?;
            if f & FLAG_PENDING != 0 {
                if r.is_ok() {
                    self.free_node(p)?;
                    removed += 1;
                } else if let Some(w) = self.w.get_mut(b + NODE_FLAGS) {
                    *w = f & !FLAG_PENDING;
                }
            }
        }
        r?;
        self.store_header()?;
        Ok(removed)
    }

    #[inline]
    fn is_pending(&self, slot: u32) -> bool {
        slot < self.geo.capacity
            && self.w.get(self.geo.node_word(slot) + NODE_FLAGS).is_some_and(|f| f & FLAG_PENDING != 0)
    }

    fn repair_pending<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>) -> Result<()> {
        let mut best: u64 = 0; // (level + 1) << 32 | slot of the highest survivor
        for q in 0..self.geo.capacity {
            if !self.is_live(q) || self.is_pending(q) {
                continue;
            }
            let lq = self.node_level(q).unwrap_or(0);
            let cand = ((lq as u64 + 1) << 32) | q as u64;
            if best == 0 || (cand >> 32) > (best >> 32) {
                best = cand;
            }
            for l in 0..=lq {
                let hit = self.links(q, l)?.iter().any(|&x| self.is_pending(x));
                if hit {
                    self.repair_multi(dp, s, q, l)?;
                }
            }
        }
        if self.entry.checked_sub(1).is_some_and(|e| self.is_pending(e)) {
            if best == 0 {
                self.entry = 0;
                self.top = 0;
            } else {
                self.entry = (best as u32) + 1;
                self.top = ((best >> 32) as u32).saturating_sub(1);
            }
        }
        Ok(())
    }

    /// Re-selects `q`'s links on `level` without its pending neighbours, from
    /// its surviving neighbours plus the pending neighbours' surviving ones.
    fn repair_multi<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, q: u32, level: u32) -> Result<()> {
        let max = if level == 0 { self.geo.m0 } else { self.geo.m } as usize;
        let cap = s.ids.len().min(s.res.len());
        let mut n = 0usize;
        {
            let ql = self.links(q, level)?;
            // Survivors first, then the neighbours of the removed ones.
            for pass in 0..2 {
                for &x in ql {
                    let pending = self.is_pending(x);
                    if pass == 0 && !pending {
                        if n < cap {
                            if let Some(d) = s.ids.get_mut(n) {
                                *d = x;
                                n += 1;
                            }
                        }
                    } else if pass == 1 && pending {
                        for &y in self.links(x, level).unwrap_or(&[]) {
                            if y != q && n < cap && self.is_live(y) && !self.is_pending(y) {
                                if let Some(d) = s.ids.get_mut(n) {
                                    *d = y;
                                    n += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        let ids = s.ids.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
        crate::sort::sort(ids);
        let mut u = 0usize;
        for i in 0..n {
            let x = ids.get(i).copied().unwrap_or(0);
            if u == 0 || ids.get(u - 1).copied() != Some(x) {
                if let Some(d) = ids.get_mut(u) {
                    *d = x;
                }
                u += 1;
            }
        }
        let n = u;
        let ids = s.ids.get(..n).ok_or(HnswError::ScratchTooSmall)?;
        let keys = s.keys.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
        if n > 0 {
            dp.dist_batch(Query::Node(q), ids, keys)?;
            s.dist_count += n as u64;
        }
        for i in 0..n {
            let e = pack(s.keys.get(i).copied().unwrap_or(u32::MAX), s.ids.get(i).copied().unwrap_or(0));
            match s.res.get_mut(i) {
                Some(t) => *t = e,
                None => return Err(HnswError::ScratchTooSmall),
            }
        }
        let buf = s.res.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
        crate::sort::sort(buf);
        let k = Self::heuristic_fill(dp, buf, n, max, max, s.ids, s.keys, &mut s.dist_count)?;
        let sel = s.res.get(..k).ok_or(HnswError::ScratchTooSmall)?;
        self.set_links(q, level, sel)
    }

    /// Replaces the vector of `slot`: delete + insert with the same key. The
    /// provider must already return the new vector for `Query::Node(slot)`.
    pub fn update<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slot: u32) -> Result<()> {
        let key = self.node_key(slot).ok_or(HnswError::NotFound)?;
        self.delete(dp, s, slot)?;
        self.insert(dp, s, slot, key)
    }

    fn remove_links_to<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, p: u32) -> Result<()> {
        let lp = self.node_level(p).unwrap_or(0);
        let mut best: u64 = 0; // (level + 1) << 32 | slot of the highest other node
        for q in 0..self.geo.capacity {
            if q == p || !self.is_live(q) {
                continue;
            }
            let lq = self.node_level(q).unwrap_or(0);
            let cand = ((lq as u64 + 1) << 32) | q as u64;
            if best == 0 || (cand >> 32) > (best >> 32) {
                best = cand;
            }
            let mut l = 0;
            while l <= lq.min(lp) {
                if self.links(q, l)?.contains(&p) {
                    self.repair(dp, s, q, l, p)?;
                }
                l += 1;
            }
        }
        if self.entry == p + 1 {
            if best == 0 {
                self.entry = 0;
                self.top = 0;
            } else {
                self.entry = (best as u32) + 1;
                self.top = ((best >> 32) as u32).saturating_sub(1);
            }
        }
        Ok(())
    }

    fn repair<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, q: u32, level: u32, p: u32) -> Result<()> {
        let max = if level == 0 { self.geo.m0 } else { self.geo.m } as usize;
        let mut n = 0usize;
        {
            let ql = self.links(q, level)?;
            let pl = self.links(p, level).unwrap_or(&[]);
            for &x in ql.iter().chain(pl.iter()) {
                if x != p && x != q && self.is_live(x) && self.node_level(x).unwrap_or(0) >= level {
                    if let Some(slot) = s.ids.get_mut(n) {
                        *slot = x;
                        n += 1;
                    }
                }
            }
        }
        let ids = s.ids.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
        crate::sort::sort(ids);
        // dedup in place
        let mut u = 0usize;
        for i in 0..n {
            let x = ids.get(i).copied().unwrap_or(0);
            if u == 0 || ids.get(u - 1).copied() != Some(x) {
                if let Some(d) = ids.get_mut(u) {
                    *d = x;
                }
                u += 1;
            }
        }
        let n = u;
        let ids = s.ids.get(..n).ok_or(HnswError::ScratchTooSmall)?;
        let keys = s.keys.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
        if n > 0 {
            dp.dist_batch(Query::Node(q), ids, keys)?;
            s.dist_count += n as u64;
        }
        for i in 0..n {
            let e = pack(s.keys.get(i).copied().unwrap_or(u32::MAX), s.ids.get(i).copied().unwrap_or(0));
            match s.tmp.get_mut(i) {
                Some(t) => *t = e,
                None => return Err(HnswError::ScratchTooSmall),
            }
        }
        let tmp = s.tmp.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
        crate::sort::sort(tmp);
        let k = Self::heuristic_fill(dp, tmp, n, max, max, s.ids, s.keys, &mut s.dist_count)?;
        let sel = s.tmp.get(..k).ok_or(HnswError::ScratchTooSmall)?;
        self.set_links(q, level, sel)
    }

    fn free_node(&mut self, slot: u32) -> Result<()> {
        let b = self.node_base(slot)?;
        let was_live = self.rd(b + NODE_FLAGS)? & FLAG_LIVE != 0;
        let level = meta_level(self.rd(b + NODE_FLAGS)?);
        let mut c = self.rd(b + NODE_UPPER)?;
        let mut i = 0;
        while c != 0 && i < level {
            let ci = c - 1;
            if ci >= self.geo.upper_capacity {
                return Err(HnswError::Corrupt("chunk id out of range"));
            }
            let cw = self.geo.chunk_word(ci);
            let next = self.rd(cw + CHUNK_NEXT)?;
            for j in 0..self.geo.m as usize {
                if self.rd(cw + CHUNK_LINKS + j)? != 0 {
                    self.wr(cw + CHUNK_LINKS + j, 0)?;
                }
            }
            self.wr(cw + CHUNK_NEXT, self.free_chunk)?;
            self.wr(cw + CHUNK_COUNT, CHUNK_FREE)?;
            self.free_chunk = c;
            self.chunks_used = self.chunks_used.saturating_sub(1);
            c = next;
            i += 1;
        }
        for j in 0..self.geo.rec_words as usize {
            if self.rd(b + j)? != 0 {
                self.wr(b + j, 0)?;
            }
        }
        if was_live {
            self.live = self.live.saturating_sub(1);
        }
        if self.entry == slot + 1 {
            self.entry = 0;
            self.top = 0;
        }
        Ok(())
    }

    // ---- search ------------------------------------------------------------

    fn descend<D: DistanceProvider>(&self, dp: &mut D, s: &mut Scratch<'_>) -> Result<Option<u64>> {
        let ep = match self.entry.checked_sub(1) {
            None => return Ok(None),
            Some(e) => e,
        };
        let mut cur = pack(self.dist1(dp, s, Query::Input, ep)?, ep);
        let mut l = self.top;
        while l > 0 {
            cur = self.greedy(dp, s, Query::Input, cur, l)?;
            l -= 1;
        }
        Ok(Some(cur))
    }

    fn emit(&self, s: &Scratch<'_>, n: usize, out: &mut [Hit]) -> usize {
        let mut w = 0;
        for (e, o) in s.res.iter().take(n).zip(out.iter_mut()) {
            let slot = id_of(*e);
            *o = Hit { slot, key: self.node_key(slot).unwrap_or(0), dist: key_of(*e) };
            w += 1;
        }
        w
    }

    /// k nearest neighbours of the provider's input vector, searching with
    /// beam width `max(ef, k)` (clamped to the scratch's ef_max, and k must
    /// fit it). Only slots for which `filter(slot)` holds are returned (the
    /// others are still traversed). Hits sorted by distance; returns the count.
    pub fn search_knn<D: DistanceProvider, F: FnMut(u32) -> bool>(
        &self,
        dp: &mut D,
        s: &mut Scratch<'_>,
        k: usize,
        ef: usize,
        mut filter: F,
        out: &mut [Hit],
    ) -> Result<usize> {
        self.check_scratch(s, k)?;
        let k = k.min(out.len());
        if k == 0 {
            return Ok(0);
        }
        let ef = ef.max(k).min(s.ef_max);
        let cur = match self.descend(dp, s)? {
            None => return Ok(0),
            Some(c) => c,
        };
        let n = self.search_layer(dp, s, Query::Input, cur, 0, ef, &mut filter)?;
        Ok(self.emit(s, n.min(k), out))
    }

    /// Exact scan of every live slot: the up-to-`out.len()` nearest with a
    /// distance key <= `max_key` that pass `filter`, sorted. Returns
    /// (written, total matches).
    pub fn scan_exact<D: DistanceProvider, F: FnMut(u32) -> bool>(
        &self,
        dp: &mut D,
        s: &mut Scratch<'_>,
        max_key: u32,
        mut filter: F,
        out: &mut [Hit],
    ) -> Result<(usize, usize)> {
        self.check_scratch(s, 1)?;
        let limit = out.len().min(s.ef_max);
        let Scratch { ids, keys, res, dist_count, .. } = s;
        let mut heap = MaxHeap::new(res.get_mut(..limit).ok_or(HnswError::ScratchTooSmall)?);
        let batch = ids.len();
        let mut total = 0usize;
        let mut slot = 0u32;
        let cap = self.geo.capacity;
        while slot < cap {
            let mut nb = 0usize;
            while slot < cap && nb < batch {
                if self.is_live(slot) && filter(slot) {
                    if let Some(x) = ids.get_mut(nb) {
                        *x = slot;
                    }
                    nb += 1;
                }
                slot += 1;
            }
            if nb == 0 {
                continue;
            }
            let idb = ids.get(..nb).ok_or(HnswError::ScratchTooSmall)?;
            let kb = keys.get_mut(..nb).ok_or(HnswError::ScratchTooSmall)?;
            dp.dist_batch(Query::Input, idb, kb)?;
            *dist_count += nb as u64;
            for (&id, &k) in idb.iter().zip(kb.iter()) {
                if k > max_key {
                    continue;
                }
                total += 1;
                let e = pack(k, id);
                if !heap.is_full() {
                    heap.push(e);
                } else if heap.peek().is_some_and(|t| e < t) {
                    heap.replace_top(e);
                }
            }
        }
        let n = heap.len();
        heap.into_sorted();
        Ok((self.emit(s, n, out), total))
    }

    /// All live slots within distance key `max_key` of the input vector
    /// (range search; a similarity threshold T becomes a key with
    /// `vexfs_simd::similarity_threshold_key`). When the graph holds at most
    /// `exact_limit` nodes (or at most the scratch's ef_max) the result is an
    /// exact scan. Otherwise an expanding beam: kNN searches with ef = ef0,
    /// 2 ef0, ... until some result of the beam lies outside the radius (the
    /// beam has crossed the ball's boundary) or ef reaches ef_max; the hits are
    /// the beam results inside the radius, with the recall of a kNN search at
    /// that ef.
    #[allow(clippy::too_many_arguments)]
    pub fn search_range<D: DistanceProvider, F: FnMut(u32) -> bool>(
        &self,
        dp: &mut D,
        s: &mut Scratch<'_>,
        max_key: u32,
        ef0: usize,
        exact_limit: u32,
        mut filter: F,
        out: &mut [Hit],
    ) -> Result<RangeOutcome> {
        self.check_scratch(s, 1)?;
        if out.is_empty() {
            return Ok(RangeOutcome { count: 0, complete: false, exact: false });
        }
        if self.live <= exact_limit || self.live as usize <= s.ef_max {
            let (n, total) = self.scan_exact(dp, s, max_key, &mut filter, out)?;
            return Ok(RangeOutcome { count: n, complete: n == total, exact: true });
        }
        let cur = match self.descend(dp, s)? {
            None => return Ok(RangeOutcome { count: 0, complete: true, exact: false }),
            Some(c) => c,
        };
        let mut ef = ef0.max(16).min(s.ef_max);
        loop {
            let n = self.search_layer(dp, s, Query::Input, cur, 0, ef, &mut filter)?;
            let within = s.res.iter().take(n).filter(|e| key_of(**e) <= max_key).count();
            let crossed = within < n || n < ef;
            if crossed || ef >= s.ef_max {
                let w = self.emit(s, within, out);
                return Ok(RangeOutcome { count: w, complete: crossed && w == within, exact: false });
            }
            ef = (ef * 2).min(s.ef_max);
        }
    }

    // ---- validation --------------------------------------------------------

    fn validate(&mut self) -> Result<()> {
        let cap = self.geo.capacity;
        let m0 = self.geo.m0;
        let m = self.geo.m;
        let mut live = 0u32;
        let mut level_sum = 0u64;
        if self.top > self.p.max_level {
            return Err(HnswError::Corrupt("graph top level above max level"));
        }
        for slot in 0..cap {
            let b = self.geo.node_word(slot);
            let flags = self.rd(b + NODE_FLAGS)?;
            if flags & FLAG_LIVE == 0 {
                for j in 0..self.geo.rec_words as usize {
                    if self.rd(b + j)? != 0 {
                        return Err(HnswError::Corrupt("free node record not zero"));
                    }
                }
                continue;
            }
            if flags & FLAG_RESERVED != 0 {
                return Err(HnswError::Corrupt("node flags reserved bits set"));
            }
            let cnt = meta_count(flags);
            let level = meta_level(flags);
            if cnt > m0 {
                return Err(HnswError::Corrupt("level-0 link count above M0"));
            }
            if level > self.top {
                return Err(HnswError::Corrupt("node level above the graph's top level"));
            }
            for j in 0..m0 as usize {
                let x = self.rd(b + NODE_LINKS + j)?;
                if (j as u32) < cnt {
                    self.check_link(slot, x, 0)?;
                } else if x != 0 {
                    return Err(HnswError::Corrupt("unused link word not zero"));
                }
            }
            let mut c = self.rd(b + NODE_UPPER)?;
            for l in 1..=level {
                let ci = c.checked_sub(1).ok_or(HnswError::Corrupt("node has fewer upper chunks than its level"))?;
                if ci >= self.geo.upper_capacity {
                    return Err(HnswError::Corrupt("chunk id out of range"));
                }
                let cw = self.geo.chunk_word(ci);
                let cc = self.rd(cw + CHUNK_COUNT)?;
                if cc == CHUNK_FREE {
                    return Err(HnswError::Corrupt("node uses a free chunk"));
                }
                if cc & CHUNK_SEEN != 0 {
                    return Err(HnswError::Corrupt("chunk used twice"));
                }
                if cc > m {
                    return Err(HnswError::Corrupt("chunk link count above M"));
                }
                for j in 0..m as usize {
                    let x = self.rd(cw + CHUNK_LINKS + j)?;
                    if (j as u32) < cc {
                        self.check_link(slot, x, l)?;
                    } else if x != 0 {
                        return Err(HnswError::Corrupt("unused link word not zero"));
                    }
                }
                if let Some(wd) = self.w.get_mut(cw + CHUNK_COUNT) {
                    *wd = cc | CHUNK_SEEN;
                }
                c = self.rd(cw + CHUNK_NEXT)?;
            }
            if c != 0 {
                return Err(HnswError::Corrupt("node has more upper chunks than its level"));
            }
            live += 1;
            level_sum += level as u64;
        }
        // Chunks: clear the marks, count free ones, reject orphans.
        let mut free_marked = 0u32;
        for ci in 0..self.geo.upper_capacity {
            let cw = self.geo.chunk_word(ci);
            let cc = self.rd(cw + CHUNK_COUNT)?;
            if cc == CHUNK_FREE {
                free_marked += 1;
                for j in 0..m as usize {
                    if self.rd(cw + CHUNK_LINKS + j)? != 0 {
                        return Err(HnswError::Corrupt("free chunk not zero"));
                    }
                }
            } else if cc & CHUNK_SEEN != 0 {
                if let Some(wd) = self.w.get_mut(cw + CHUNK_COUNT) {
                    *wd = cc & !CHUNK_SEEN;
                }
            } else {
                return Err(HnswError::Corrupt("chunk neither free nor used by a node"));
            }
        }
        let mut c = self.free_chunk;
        let mut steps = 0u32;
        while c != 0 {
            let ci = c - 1;
            if ci >= self.geo.upper_capacity {
                return Err(HnswError::Corrupt("free chunk id out of range"));
            }
            let cw = self.geo.chunk_word(ci);
            if self.rd(cw + CHUNK_COUNT)? != CHUNK_FREE {
                return Err(HnswError::Corrupt("used chunk on the free list"));
            }
            steps += 1;
            if steps > free_marked {
                return Err(HnswError::Corrupt("chunk free list has a cycle"));
            }
            c = self.rd(cw + CHUNK_NEXT)?;
        }
        if steps != free_marked {
            return Err(HnswError::Corrupt("free chunks missing from the free list"));
        }
        if level_sum != self.chunks_used as u64 || self.chunks_used as u64 + free_marked as u64 != self.geo.upper_capacity as u64 {
            return Err(HnswError::Corrupt("chunk counts do not add up"));
        }
        if live != self.live {
            return Err(HnswError::Corrupt("live node count mismatch"));
        }
        match self.entry.checked_sub(1) {
            None => {
                if live != 0 || self.top != 0 {
                    return Err(HnswError::Corrupt("no entry point in a non-empty graph"));
                }
            }
            Some(e) => {
                if self.node_level(e) != Some(self.top) {
                    return Err(HnswError::Corrupt("entry point is not a live node of the top level"));
                }
            }
        }
        Ok(())
    }

    fn check_link(&self, from: u32, to: u32, level: u32) -> Result<()> {
        if to >= self.geo.capacity || to == from {
            return Err(HnswError::Corrupt("link to an invalid slot"));
        }
        let b = self.geo.node_word(to);
        let f = self.rd(b + NODE_FLAGS)?;
        if f & FLAG_LIVE == 0 {
            return Err(HnswError::Corrupt("link to a free slot"));
        }
        if meta_level(f) < level {
            return Err(HnswError::Corrupt("upper link to a node of a lower level"));
        }
        Ok(())
    }
}
