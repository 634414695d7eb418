//! Graph decoder: arbitrary bytes as graph blocks. Mode byte 0: through the
//! checksummed block decoder; otherwise the bytes become the word array
//! directly (past the checksum) so `Graph::open`'s validation is exercised.
//! Whatever `open` accepts must then survive search, insert and delete.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vexfs_core::hnsw::{decode_block, scratch_size, DistanceProvider, Graph, Hit, HnswError, Query, Scratch, BLOCK_BYTES, BLOCK_WORDS};

struct Fake;
impl DistanceProvider for Fake {
    fn dist_batch(&mut self, q: Query, ids: &[u32], out: &mut [u32]) -> Result<(), HnswError> {
        let base = match q {
            Query::Input => 7u32,
            Query::Node(n) => n,
        };
        for (i, o) in ids.iter().zip(out.iter_mut()) {
            *o = i.wrapping_mul(2654435761) ^ base;
        }
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let nblocks = (rest.len() / BLOCK_BYTES).clamp(1, 64);
    let mut words = vec![0u32; nblocks * BLOCK_WORDS];
    if mode == 0 {
        for b in 0..nblocks {
            if let Some(chunk) = rest.get(b * BLOCK_BYTES..(b + 1) * BLOCK_BYTES) {
                if decode_block(chunk, b, &mut words).is_err() {
                    return;
                }
            }
        }
    } else {
        for (w, c) in words.iter_mut().zip(rest.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
    }
    let Ok(mut g) = Graph::open(&mut words) else { return };
    let cap = g.capacity();
    if cap > 1 << 16 {
        return;
    }
    let m = g.geometry().m;
    let sz = scratch_size(cap, m, 32);
    let mut a = vec![0u32; sz.u32_words];
    let mut b = vec![0u64; sz.u64_words];
    let Ok(mut s) = Scratch::new(&mut a, &mut b, cap, m, 32) else { return };
    let mut out = [Hit::default(); 8];
    let _ = g.search_knn(&mut Fake, &mut s, 8, 16, |_| true, &mut out);
    let _ = g.search_range(&mut Fake, &mut s, u32::MAX / 2, 8, 0, |_| true, &mut out);
    if let Some(e) = g.entry_point() {
        let _ = g.delete(&mut Fake, &mut s, e);
    }
    if let Some(f) = g.find_free_slot(0) {
        let _ = g.insert(&mut Fake, &mut s, f, 1);
    }
});
