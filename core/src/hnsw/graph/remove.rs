//! Removing nodes: delete (one or a batch) and update, with a local repair
//! of the neighbourhood of the removed nodes (as hnswlib's), never a scan of
//! the whole graph (except, rarely, to find a new entry point).
use super::*;

impl<'a, S: GraphStore> Graph<'a, S> {
    /// Removes `slot`: each neighbour q of it (on each layer) that links
    /// back re-selects its links among its remaining neighbours and the
    /// removed node's neighbours (heuristic, topped up to the layer's
    /// maximum). Cost O(M0 re-selections), independent of the graph's size.
    /// One-way in-links to `slot` (from nodes it does not link to) are left
    /// dangling: every walk skips them and the next rewrite of the owner's
    /// list drops them (docs/HNSW.md). The entry point moves if needed.
    pub fn delete<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slot: u32) -> Result<()> {
        self.delete_batch(dp, s, &[slot]).map(|_| ())
    }

    /// Removes every slot in `slots` with one local repair around them:
    /// each surviving neighbour of a removed node whose list holds a removed
    /// node re-selects once, among its surviving neighbours and the removed
    /// neighbours' surviving neighbours (heuristic, topped up to the
    /// layer's maximum). Duplicates are ignored; if any slot is not live
    /// nothing changes and `NotFound` is returned. Returns the nodes removed.
    pub fn delete_batch<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slots: &[u32]) -> Result<usize> {
        self.check_scratch(s, 1)?;
        if slots.iter().any(|&p| !self.is_live(p)) {
            return Err(HnswError::NotFound);
        }
        let r = self.remove_nodes(dp, s, slots);
        self.store_header()?;
        r
    }

    /// Replaces the vector of `slot`: delete + insert into the same slot at
    /// the same level (so upper-layer links left pointing at it stay valid).
    /// The provider must already return the new vector for `Query::Node(slot)`.
    pub fn update<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slot: u32) -> Result<()> {
        let key = self.node_key(slot).ok_or(HnswError::NotFound)?;
        let level = self.node_level(slot).unwrap_or(0);
        self.delete(dp, s, slot)?;
        self.insert_at_level(dp, s, slot, key, Some(level))
    }

    /// Marks `slots` (live, checked by the caller), repairs their
    /// neighbourhoods, moves the entry point off them and frees them. On a
    /// failure (the provider's) the marks are cleared and nothing is freed:
    /// the lists already repaired hold only live nodes, so the graph stays valid.
    pub(super) fn remove_nodes<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slots: &[u32]) -> Result<usize> {
        // In-links to the removed nodes that the repair does not find stay.
        self.may_dangle = true;
        // Mark (bit 30 of the meta word, never persisted: cleared below).
        for &p in slots {
            let b = self.node_base(p)?;
            let f = self.rd(b + NODE_FLAGS)?;
            self.wr(b + NODE_FLAGS, f | FLAG_PENDING)?;
        }
        let mut r = Ok(());
        for &p in slots {
            r = self.repair_around(dp, s, p);
            if r.is_err() {
                break;
            }
        }
        if r.is_ok() && self.entry.checked_sub(1).is_some_and(|e| self.is_pending(e)) {
            r = self.move_entry();
        }
        let mut removed = 0usize;
        for &p in slots {
            let b = self.node_base(p)?;
            let f = self.rd(b + NODE_FLAGS)?;
            if f & FLAG_PENDING != 0 {
                if r.is_ok() {
                    self.free_node(p)?;
                    removed += 1;
                } else {
                    self.wr(b + NODE_FLAGS, f & !FLAG_PENDING)?;
                }
            }
        }
        r.map(|_| removed)
    }

    #[inline]
    fn is_pending(&self, slot: u32) -> bool {
        slot < self.geo.capacity && self.w.rd(self.geo.node_word(slot) + NODE_FLAGS).is_ok_and(|f| f & FLAG_PENDING != 0)
    }

    /// Repairs every surviving neighbour of the marked node `p` (on each of
    /// its layers) whose list still holds a marked node. p's own lists are
    /// not changed meanwhile (marked nodes are never repaired), and a
    /// repaired list holds no marked node, so each (node, layer) is
    /// re-selected at most once per batch.
    fn repair_around<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, p: u32) -> Result<()> {
        let lp = self.node_level(p).unwrap_or(0);
        for l in 0..=lp {
            // p's lists do not change while it is marked (see above), so
            // they are read a word at a time (no copy on the stack).
            let (pstart, _, pcnt) = self.link_list(p, l)?;
            for i in 0..pcnt as usize {
                let q = self.rd(pstart + i)?;
                if q == p || !self.linkable(q, l) {
                    continue;
                }
                let (qstart, _, qcnt) = self.link_list(q, l)?;
                let mut hit = false;
                for j in 0..qcnt as usize {
                    if self.is_pending(self.rd(qstart + j)?) {
                        hit = true;
                        break;
                    }
                }
                if hit {
                    self.repair_multi(dp, s, q, l)?;
                }
            }
        }
        Ok(())
    }

    /// The entry point is being removed: its surviving neighbour on the top
    /// layer takes over (it is of the top level). When it has none (it was
    /// alone up there), the highest-level surviving node, found by a pass
    /// over the node records (flags only): a node of a higher level than any
    /// neighbour could exist without a link to the old entry point. Once per
    /// deleted entry point, so O(1) per delete on average.
    fn move_entry(&mut self) -> Result<()> {
        let e = match self.entry.checked_sub(1) {
            Some(e) => e,
            None => return Ok(()),
        };
        let top = self.top;
        if let Ok((start, _, cnt)) = self.link_list(e, top) {
            for i in 0..cnt as usize {
                let x = self.rd(start + i)?;
                if x != e && self.linkable(x, top) {
                    self.entry = x + 1;
                    return Ok(());
                }
            }
        }
        let mut best: u64 = 0; // (level + 1) << 32 | slot of the highest survivor
        for q in 0..self.geo.capacity {
            let f = self.rd(self.geo.node_word(q) + NODE_FLAGS)?;
            if f & (FLAG_LIVE | FLAG_PENDING) != FLAG_LIVE {
                continue;
            }
            let cand = ((meta_level(f) as u64 + 1) << 32) | q as u64;
            if (cand >> 32) > (best >> 32) {
                best = cand;
                if meta_level(f) >= top {
                    break;
                }
            }
        }
        if best == 0 {
            self.entry = 0;
            self.top = 0;
        } else {
            self.entry = (best as u32) + 1;
            self.top = ((best >> 32) as u32).saturating_sub(1);
        }
        Ok(())
    }

    /// Re-selects `q`'s links on `level` without its marked neighbours (nor
    /// dangling links), from its surviving neighbours plus the marked
    /// neighbours' surviving ones.
    fn repair_multi<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, q: u32, level: u32) -> Result<()> {
        let max = if level == 0 { self.geo.m0 } else { self.geo.m } as usize;
        let cap = s.ids.len().min(s.res.len());
        let mut n = 0usize;
        {
            let (qstart, _, qcnt) = self.link_list(q, level)?;
            // Survivors first, then the neighbours of the removed ones.
            for pass in 0..2 {
                for i in 0..qcnt as usize {
                    let x = self.rd(qstart + i)?;
                    let pending = self.is_pending(x);
                    if pass == 0 && !pending {
                        if n < cap && x != q && self.linkable(x, level) {
                            if let Some(d) = s.ids.get_mut(n) {
                                *d = x;
                                n += 1;
                            }
                        }
                    } else if pass == 1 && pending {
                        let (xstart, _, xcnt) = match self.link_list(x, level) {
                            Ok(xl) => xl,
                            Err(_) => continue,
                        };
                        for j in 0..xcnt as usize {
                            let y = self.rd(xstart + j)?;
                            if y != q && n < cap && self.linkable(y, level) {
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
        let n = Self::sort_dedup(s.ids.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?);
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

    /// Sorts `ids` and moves the distinct values to the front; returns how many.
    pub(super) fn sort_dedup(ids: &mut [u32]) -> usize {
        crate::sort::sort(ids);
        let mut u = 0usize;
        for i in 0..ids.len() {
            let x = ids.get(i).copied().unwrap_or(0);
            if u == 0 || ids.get(u - 1).copied() != Some(x) {
                if let Some(d) = ids.get_mut(u) {
                    *d = x;
                }
                u += 1;
            }
        }
        u
    }

    pub(super) fn free_node(&mut self, slot: u32) -> Result<()> {
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
}
