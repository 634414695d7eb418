//! Removing nodes: delete (one or a batch), update, and the repair of the
//! links that pointed at a removed node.
use super::*;

impl<'a> Graph<'a> {
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

    pub(super) fn remove_links_to<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, p: u32) -> Result<()> {
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
