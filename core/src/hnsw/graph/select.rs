//! Choosing a node's neighbours: the selection heuristic and adding a
//! back-link to a neighbour whose list may be full (insert and repair).
use super::*;

/// Pruning slack (alpha = 1.15, 16.16 fixed point) for the links a new node
/// picks for itself on level 0. Keeping the few candidates that are only
/// slightly closer to a kept neighbour than to the new node gives level 0
/// more long-range links. Distances per query at recall@10 0.95 / 0.99
/// (vexfs-bench; 384-d cosine 50k, 128-d L2 100k): against no slack (graph
/// seeds 42 and 7) cosine -18 % / -24 %; against alpha 1.1 (seeds 42, 7,
/// 1234, 99) cosine -4 % / -7 % and L2 +1 % / 0 % (seed 42 alone +3 % / +6 %),
/// where alpha 1.2 gave cosine -2 % / -12 % but L2 +4 % / +5 %. The build
/// computes fewer distances too. Only there: the same slack when a full list
/// of an existing node is re-pruned, or on the upper levels, measured worse.
const NEW_LINK_ALPHA: u32 = 75_366;

impl<'a, S: GraphStore> Graph<'a, S> {
    /// Neighbour-selection heuristic (Malkov & Yashunin, alg. 4, as in
    /// hnswlib): from candidates sorted ascending in `buf[..n]`, keep a
    /// candidate only if it is closer to the query than to every candidate
    /// already kept; at most `m`. Compacts the kept ones into `buf[..k]`.
    /// With `alpha` (16.16 fixed point in (1, 2); 0 = off) the rule is
    /// Vamana's: candidate c is dropped only if alpha * d(c, s) < d(c, q)
    /// for a kept s (applied to non-negative distances only, see `scale_key`).
    pub(super) fn heuristic<D: DistanceProvider>(
        dp: &mut D,
        buf: &mut [u64],
        n: usize,
        m: usize,
        alpha: u32,
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
                good = if alpha == 0 {
                    out.iter().all(|&d| d >= kc)
                } else {
                    out.iter().all(|&d| scale_key(d, alpha) >= kc)
                };
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

    /// Pruning slack for a new node's own links on `level` (see
    /// `NEW_LINK_ALPHA`; 0 = none): level 0 only, and not for the dot
    /// metric, whose distances may be negative.
    pub(super) fn new_link_alpha(&self, level: u32) -> u32 {
        if level == 0 && self.p.metric != crate::format::VEXFS_METRIC_DOT {
            NEW_LINK_ALPHA
        } else {
            0
        }
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
        let k = Self::heuristic(dp, buf, n, m, 0, ids, keys, dist_count)?;
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
        // No pruning slack here (see `NEW_LINK_ALPHA`).
        let k = Self::heuristic(dp, tmp, n + 1, max as usize, 0, s.ids, s.keys, &mut s.dist_count)?;
        let sel = s.tmp.get(..k).ok_or(HnswError::ScratchTooSmall)?;
        self.set_links(nb, level, sel)
    }
}

/// The distance key (see `vexfs_simd::key_from_f32`) of `alpha` (16.16
/// fixed point, in [1, 2)) times the distance of key `k`, computed on the
/// float's exponent and mantissa (the core has no float arithmetic;
/// truncating). Keys of negative distances, zero, subnormals, infinity and
/// NaN are returned unchanged; an overflow gives the key of infinity.
#[inline(always)]
fn scale_key(k: u32, alpha: u32) -> u32 {
    if k < 0x8000_0000 {
        return k;
    }
    let bits = k & 0x7fff_ffff;
    let mut exp = bits >> 23;
    if exp == 0 || exp >= 0xff {
        return k;
    }
    let mut mant = (u64::from((bits & 0x7f_ffff) | 0x80_0000) * u64::from(alpha)) >> 16;
    // alpha < 2: the product of the 24-bit mantissa is below 2^25.
    if mant >= 1 << 24 {
        mant >>= 1;
        exp += 1;
    }
    if exp >= 0xff {
        return 0xff80_0000;
    }
    0x8000_0000 | (exp << 23) | (mant as u32 & 0x7f_ffff)
}

#[cfg(test)]
mod tests {
    use super::scale_key;

    fn key(f: f32) -> u32 {
        f.to_bits() | 0x8000_0000
    }

    fn val(k: u32) -> f32 {
        f32::from_bits(k & 0x7fff_ffff)
    }

    #[test]
    fn scale_key_multiplies() {
        for &f in &[1e-6f32, 0.013, 0.5, 0.99, 1.0, 1.7, 2.0, 3.9, 1234.5] {
            for &a in &[1.1f64, 1.15, 1.5, 1.999] {
                let q = (a * 65536.0) as u32;
                let got = val(scale_key(key(f), q)) as f64;
                let want = f as f64 * q as f64 / 65536.0;
                assert!((got - want).abs() <= want * 1e-6, "{f} * {a}: {got} vs {want}");
            }
        }
        // Monotone, and the order against unscaled keys holds.
        assert!(scale_key(key(0.5), 72_090) > key(0.5));
        assert!(scale_key(key(0.5), 72_090) < key(0.56));
        assert!(scale_key(key(0.5), 72_090) > key(0.54));
        // Left alone: negative distances (dot), zero, infinity; overflow saturates.
        assert_eq!(scale_key(!(-0.5f32).to_bits(), 72_090), !(-0.5f32).to_bits());
        assert_eq!(scale_key(key(0.0), 72_090), key(0.0));
        assert_eq!(scale_key(key(f32::INFINITY), 72_090), key(f32::INFINITY));
        assert_eq!(scale_key(key(f32::MAX), 72_090), key(f32::INFINITY));
    }
}
