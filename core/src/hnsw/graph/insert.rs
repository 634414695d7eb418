//! Inserting a node: its level, the descent to it, and its links.
use super::*;

impl<'a, S: GraphStore> Graph<'a, S> {
    /// Inserts slot `slot` with key `key`. The provider must already return
    /// distances for `Query::Node(slot)` (the caller stores the vector first).
    pub fn insert<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slot: u32, key: u64) -> Result<()> {
        self.insert_at_level(dp, s, slot, key, None)
    }

    /// [`Graph::insert`] at `level` (`None`: a random one; either way at
    /// most what the free chunks allow).
    pub(super) fn insert_at_level<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, slot: u32, key: u64, level: Option<u32>) -> Result<()> {
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
        let level = match level {
            Some(l) => l.min(self.p.max_level),
            None => self.random_level(),
        }
        .min(free);
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
            // Leave no half-linked node: undo through the regular delete
            // (if its repair fails too, links to the slot stay dangling).
            if self.remove_nodes(dp, s, &[slot]).is_err() {
                let _ = self.free_node(slot);
            }
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
        let mut cur = self.descend_from(dp, s, q, ep, level)?;
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
            let alpha = self.new_link_alpha(lv);
            let k = Self::heuristic(dp, res, n, m, alpha, s.ids, s.keys, &mut s.dist_count)?;
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
}
