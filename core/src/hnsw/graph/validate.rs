//! Validation of a graph loaded from disk (`Graph::open`): every word of
//! the header, nodes and link chunks checked before the graph is used.
use super::*;

impl<'a, S: GraphStore> Graph<'a, S> {
    pub(super) fn validate(&mut self) -> Result<()> {
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
                self.wr(cw + CHUNK_COUNT, cc | CHUNK_SEEN)?;
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
                self.wr(cw + CHUNK_COUNT, cc & !CHUNK_SEEN)?;
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

    /// The header's own consistency, for a graph opened without validating
    /// its records: every id it holds in range.
    pub(super) fn check_header(&self) -> Result<()> {
        if self.top > self.p.max_level {
            return Err(HnswError::Corrupt("graph top level above max level"));
        }
        if self.live > self.geo.capacity {
            return Err(HnswError::Corrupt("graph live count above its capacity"));
        }
        if self.free_chunk > self.geo.upper_capacity || self.chunks_used > self.geo.upper_capacity {
            return Err(HnswError::Corrupt("graph chunk counts out of range"));
        }
        match self.entry.checked_sub(1) {
            None if self.live != 0 || self.top != 0 => Err(HnswError::Corrupt("no entry point in a non-empty graph")),
            None => Ok(()),
            Some(e) if e >= self.geo.capacity => Err(HnswError::Corrupt("entry point out of range")),
            Some(e) => match self.node_level(e) {
                Some(l) if l == self.top => Ok(()),
                _ => Err(HnswError::Corrupt("entry point is not a live node of the top level")),
            },
        }
    }

    /// A link must name another slot in range. It may dangle (to a free
    /// slot, or on an upper layer to a node of a lower level): a delete's
    /// local repair leaves one-way in-links so, and walks skip them; finding
    /// one turns on their liveness checks (`may_dangle`).
    fn check_link(&mut self, from: u32, to: u32, level: u32) -> Result<()> {
        if to >= self.geo.capacity || to == from {
            return Err(HnswError::Corrupt("link to an invalid slot"));
        }
        if !self.may_dangle {
            let f = self.rd(self.geo.node_word(to) + NODE_FLAGS)?;
            if f & FLAG_LIVE == 0 || meta_level(f) < level {
                self.may_dangle = true;
            }
        }
        Ok(())
    }
}
