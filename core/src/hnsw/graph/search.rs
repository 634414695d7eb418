//! Searching the graph: the per-layer beam search and greedy descent that
//! insert and repair also use, and the kNN, range and exact-scan queries.
use super::*;
use crate::hnsw::visited::visit;

impl<'a, S: GraphStore> Graph<'a, S> {
    /// Distance from `q` to one slot.
    pub(super) fn dist1<D: DistanceProvider>(&self, dp: &mut D, s: &mut Scratch<'_>, q: Query, id: u32) -> Result<u32> {
        let mut k = [0u32; 1];
        dp.dist_batch(q, &[id], &mut k)?;
        s.dist_count += 1;
        Ok(k[0])
    }

    /// Greedy walk on `level` from `cur` (packed key/id) to a local minimum.
    /// Slots stamped with the current visited epoch are not measured again:
    /// the caller starts an epoch and stamps the entry point before the first
    /// walk of a descent. A slot measured earlier in the descent (on this
    /// level or one above) was then no better than the walk's position, which
    /// only improves, so skipping it leaves the walk unchanged.
    pub(super) fn greedy<D: DistanceProvider>(&self, dp: &mut D, s: &mut Scratch<'_>, q: Query, mut cur: u64, level: u32) -> Result<u64> {
        let mut steps = 0u32;
        loop {
            let nl = self.links_into(id_of(cur), level, s.ids)?;
            let mut n = 0usize;
            for i in 0..nl {
                let x = match s.ids.get(i) {
                    Some(&x) => x,
                    None => break,
                };
                if s.visit(x) {
                    if let Some(t) = s.ids.get_mut(n) {
                        *t = x;
                        n += 1;
                    }
                }
            }
            let ids = s.ids.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
            let keys = s.keys.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
            dp.dist_batch(q, ids, keys)?;
            s.dist_count += n as u64;
            let mut best = cur;
            for (&id, &k) in ids.iter().zip(keys.iter()) {
                let e = pack(k, id);
                // A dangling link is measured (its slot is in range) but never taken.
                if e < best && self.linkable(id, level) {
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
    pub(super) fn search_layer<D: DistanceProvider, F: FnMut(u32) -> bool>(
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
        visit(visited, id_of(entry), epoch);
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
            // In place when the store has them in memory, else copied into
            // keys (whose distances are written only after this loop).
            let links: &[u32] = match self.links_in_place(id_of(c), level)? {
                Some(l) => l,
                None => {
                    let nl = self.links_into(id_of(c), level, keys)?;
                    keys.get(..nl).ok_or(HnswError::ScratchTooSmall)?
                }
            };
            let mut nb = 0usize;
            for &n in links {
                if visit(visited, n, epoch) {
                    self.prefetch_flags(n);
                    // The batch's vectors start loading now, not when the
                    // distance loop reaches them (see `DistanceProvider::prefetch`).
                    dp.prefetch(n);
                    if let Some(slot) = ids.get_mut(nb) {
                        *slot = n;
                        nb += 1;
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
                // Only now is the target's flags word read (prefetched before
                // the distance batch): a dangling link (see `linkable`) is
                // measured but neither followed nor returned.
                if !self.linkable(n, level) {
                    continue;
                }
                let e = pack(k, n);
                if cand.peek().is_none_or(|t| e < t) {
                    // The new best candidate is expanded next: start loading
                    // its links while the rest of the batch is scored.
                    self.prefetch_node(n);
                }
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

    /// Greedy descent for `q` from entry point `ep` through the layers above
    /// `to_level`: the nearest node found (packed key/id). One visited epoch
    /// covers the whole descent (see `greedy`).
    pub(super) fn descend_from<D: DistanceProvider>(&self, dp: &mut D, s: &mut Scratch<'_>, q: Query, ep: u32, to_level: u32) -> Result<u64> {
        s.next_epoch();
        s.visit(ep);
        let mut cur = pack(self.dist1(dp, s, q, ep)?, ep);
        let mut l = self.top;
        while l > to_level {
            cur = self.greedy(dp, s, q, cur, l)?;
            l -= 1;
        }
        Ok(cur)
    }

    /// Descent of the input query to layer 0 (None: the graph is empty).
    pub(super) fn descend<D: DistanceProvider>(&self, dp: &mut D, s: &mut Scratch<'_>) -> Result<Option<u64>> {
        match self.entry.checked_sub(1) {
            None => Ok(None),
            Some(ep) => self.descend_from(dp, s, Query::Input, ep, 0).map(Some),
        }
    }

    pub(super) fn emit(&self, s: &Scratch<'_>, n: usize, out: &mut [Hit]) -> usize {
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
}
