//! Choosing a node's neighbours: the selection heuristic and adding a
//! back-link to a neighbour whose list may be full (insert and repair).
use super::*;

impl<'a, S: GraphStore> Graph<'a, S> {
    /// Neighbour-selection heuristic (Malkov & Yashunin, alg. 4, as in
    /// hnswlib): from candidates sorted ascending in `buf[..n]`, keep a
    /// candidate only if it is closer to the query than to every candidate
    /// already kept; at most `m`. Compacts the kept ones into `buf[..k]`.
    pub(super) fn heuristic<D: DistanceProvider>(
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
    pub(super) fn heuristic_fill<D: DistanceProvider>(
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
    /// appended while there is room, else re-selecting with the heuristic.
    /// A rewrite of the list first drops its dangling links (see `linkable`)
    /// and an old copy of `new` (a dangling link to its slot from before the
    /// slot was reused), which also forces a rewrite.
    pub(super) fn add_link<D: DistanceProvider>(&mut self, dp: &mut D, s: &mut Scratch<'_>, nb: u32, new: u32, d: u32, level: u32) -> Result<()> {
        let max = if level == 0 { self.geo.m0 } else { self.geo.m };
        let (start, cw, cnt) = self.link_pos(nb, level)?;
        if cnt > max {
            return Err(HnswError::Corrupt("link count above M"));
        }
        // The list lands in s.ids; the links kept are compacted to its front.
        let links = s.ids.get_mut(..cnt as usize).ok_or(HnswError::ScratchTooSmall)?;
        self.w.read(start, links)?;
        if cnt < max && !links.contains(&new) {
            self.wr(start + cnt as usize, new)?;
            return self.set_count(cw, level, cnt + 1);
        }
        let mut n = 0usize;
        for i in 0..cnt as usize {
            let x = s.ids.get(i).copied().unwrap_or(nb);
            if x != new && x != nb && self.linkable(x, level) {
                if let Some(t) = s.ids.get_mut(n) {
                    *t = x;
                    n += 1;
                }
            }
        }
        if n < max as usize {
            // Some links were dropped: rewrite the compacted list plus `new`.
            for i in 0..n {
                let x = s.ids.get(i).copied().unwrap_or(0);
                if self.rd(start + i)? != x {
                    self.wr(start + i, x)?;
                }
            }
            self.wr(start + n, new)?;
            for i in n + 1..cnt as usize {
                if self.rd(start + i)? != 0 {
                    self.wr(start + i, 0)?;
                }
            }
            return self.set_count(cw, level, n as u32 + 1);
        }
        {
            let ids = s.ids.get(..n).ok_or(HnswError::ScratchTooSmall)?;
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
}
