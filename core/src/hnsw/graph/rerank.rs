//! kNN search in two precisions: a cheap provider (e.g. int8 codes,
//! `vexfs_simd::quant`) steers the graph walk, and the best candidates it
//! found are re-ranked with an exact provider (float32), as Qdrant and
//! DiskANN do. Same locking as [`Graph::search_knn`]: `&self` plus the
//! caller's own scratch.
use super::*;

impl<'a, S: GraphStore> Graph<'a, S> {
    /// k nearest neighbours of the input vector: beam search with width
    /// `max(ef, k)` (clamped to the scratch's ef_max) on `steer`'s
    /// distances, then the best `max(rerank, k)` of the beam's results (those
    /// that pass `filter`; all of them if `rerank` exceeds the beam) get
    /// `exact`'s distance, and the k best by that are written to `out`,
    /// sorted, with the exact distance key. Returns the count.
    #[allow(clippy::too_many_arguments)]
    pub fn search_knn_rerank<A: DistanceProvider, E: DistanceProvider, F: FnMut(u32) -> bool>(
        &self,
        steer: &mut A,
        exact: &mut E,
        s: &mut Scratch<'_>,
        k: usize,
        ef: usize,
        rerank: usize,
        mut filter: F,
        out: &mut [Hit],
    ) -> Result<usize> {
        self.check_scratch(s, k)?;
        let k = k.min(out.len());
        if k == 0 {
            return Ok(0);
        }
        let r = rerank.max(k);
        let ef = ef.max(k).min(s.ef_max);
        let cur = match self.descend(steer, s)? {
            None => return Ok(0),
            Some(c) => c,
        };
        let n = self.search_layer(steer, s, Query::Input, cur, 0, ef, &mut filter)?.min(r);
        let Scratch { ids, keys, res, dist_count, .. } = s;
        let res = res.get_mut(..n).ok_or(HnswError::ScratchTooSmall)?;
        // exact distances, one provider batch per scratch-sized chunk
        for chunk in res.chunks_mut(ids.len().max(1)) {
            let m = chunk.len();
            let ids = ids.get_mut(..m).ok_or(HnswError::ScratchTooSmall)?;
            let keys = keys.get_mut(..m).ok_or(HnswError::ScratchTooSmall)?;
            for (d, e) in ids.iter_mut().zip(chunk.iter()) {
                *d = id_of(*e);
            }
            exact.dist_batch(Query::Input, ids, keys)?;
            *dist_count += m as u64;
            for ((e, &id), &key) in chunk.iter_mut().zip(ids.iter()).zip(keys.iter()) {
                *e = pack(key, id);
            }
        }
        // insertion sort: the steering order is already nearly the exact one
        for i in 1..res.len() {
            let Some(&x) = res.get(i) else { break };
            let mut j = i;
            while let Some(&prev) = res.get(j.wrapping_sub(1)) {
                if prev <= x {
                    break;
                }
                if let Some(slot) = res.get_mut(j) {
                    *slot = prev;
                }
                j -= 1;
            }
            if let Some(slot) = res.get_mut(j) {
                *slot = x;
            }
        }
        Ok(self.emit(s, n.min(k), out))
    }
}
