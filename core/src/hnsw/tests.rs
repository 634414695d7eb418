//! Host tests of the HNSW layer against brute force.
use super::heap::{MaxHeap, MinHeap};
use super::layout::*;
use super::vectors::*;
use super::*;
use std::collections::HashSet;

mod block_store;

const L2: u32 = 0;
const COS: u32 = 1;
const DOT: u32 = 2;

fn key(f: f32) -> u32 {
    key_from_f32_bits(f.to_bits())
}

fn dist(metric: u32, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        L2 => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
        DOT => -a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>(),
        _ => {
            let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            if na == 0.0 || nb == 0.0 {
                1.0
            } else {
                1.0 - d / (na * nb)
            }
        }
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn gauss(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Clustered data: `clusters` Gaussian blobs.
fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut r = Rng(seed);
    let centers: Vec<Vec<f32>> = (0..clusters).map(|_| (0..dim).map(|_| r.gauss() * 1.5).collect()).collect();
    (0..n)
        .map(|_| {
            let c = &centers[r.below(clusters)];
            c.iter().map(|x| x + r.gauss()).collect()
        })
        .collect()
}

/// Slot-indexed vectors plus an optional input query.
struct Provider {
    metric: u32,
    vecs: Vec<Vec<f32>>,
    query: Vec<f32>,
}

impl DistanceProvider for Provider {
    fn dist_batch(&mut self, q: Query, ids: &[u32], out: &mut [u32]) -> Result<(), HnswError> {
        if ids.len() != out.len() {
            return Err(HnswError::Provider(-22));
        }
        for (i, o) in ids.iter().zip(out.iter_mut()) {
            let v = self.vecs.get(*i as usize).ok_or(HnswError::Provider(-22))?;
            let a = match q {
                Query::Input => &self.query,
                Query::Node(n) => self.vecs.get(n as usize).ok_or(HnswError::Provider(-22))?,
            };
            *o = key(dist(self.metric, a, v));
        }
        Ok(())
    }
}

struct Bufs {
    u32s: Vec<u32>,
    u64s: Vec<u64>,
}

impl Bufs {
    fn new(capacity: u32, m: u32, ef_max: u32) -> Self {
        let sz = scratch_size(capacity, m, ef_max);
        Bufs { u32s: vec![0; sz.u32_words], u64s: vec![0; sz.u64_words] }
    }
}

fn params(cap: u32, m: u32, efc: u32, metric: u32, dim: u32) -> Params {
    Params::new(cap, m, efc, metric, dim)
}

fn brute(p: &Provider, live: &[bool], k: usize, q: &[f32]) -> Vec<u32> {
    let mut v: Vec<(u32, u32)> = (0..p.vecs.len())
        .filter(|&i| live[i])
        .map(|i| (key(dist(p.metric, q, &p.vecs[i])), i as u32))
        .collect();
    v.sort();
    v.into_iter().take(k).map(|x| x.1).collect()
}

fn build(words: &mut Vec<u32>, prm: &Params, p: &mut Provider, bufs: &mut Bufs, ef_max: u32, n: usize) {
    words.resize(Graph::words_needed(prm).unwrap(), 0);
    let mut g = Graph::create(words, prm).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, prm.capacity, prm.m, ef_max).unwrap();
    for i in 0..n as u32 {
        g.insert(p, &mut s, i, 1000 + i as u64).unwrap();
    }
}

fn recall_at(g: &Graph, p: &mut Provider, s: &mut Scratch, live: &[bool], queries: &[Vec<f32>], k: usize, ef: usize) -> f64 {
    let mut hit = 0usize;
    let mut tot = 0usize;
    let mut out = vec![Hit::default(); k];
    for q in queries {
        p.query = q.clone();
        let n = g.search_knn(p, s, k, ef, |_| true, &mut out).unwrap();
        let truth: HashSet<u32> = brute(p, live, k, q).into_iter().collect();
        tot += truth.len();
        hit += out[..n].iter().filter(|h| truth.contains(&h.slot)).count();
        for h in &out[..n] {
            assert!(live[h.slot as usize], "search returned a deleted slot");
            assert_eq!(h.key, 1000 + h.slot as u64);
        }
    }
    hit as f64 / tot as f64
}

#[test]
fn recall_at_10_clustered_l2() {
    let (n, dim) = (4000, 32);
    let data = clustered(n + 100, dim, 40, 1);
    let queries: Vec<Vec<f32>> = data[n..].to_vec();
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let prm = params(n as u32, 12, 100, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 12, 256);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 256, n);
    let g = Graph::open(&mut words).unwrap();
    assert_eq!(g.len(), n as u32);
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 12, 256).unwrap();
    let live = vec![true; n];
    for ef in [10, 16, 32] {
        eprintln!("recall@10 ef={ef}: {}", recall_at(&g, &mut p, &mut s, &live, &queries, 10, ef));
    }
    let r = recall_at(&g, &mut p, &mut s, &live, &queries, 10, 32);
    assert!(r >= 0.95, "recall {r}");
}

#[test]
fn recall_cosine_and_dot() {
    for metric in [COS, DOT] {
        let (n, dim) = (1500, 16);
        let data = clustered(n + 50, dim, 20, 7 + metric as u64);
        let mut p = Provider { metric, vecs: data[..n].to_vec(), query: vec![] };
        let prm = params(n as u32, 12, 100, metric, dim as u32);
        let mut bufs = Bufs::new(n as u32, 12, 256);
        let mut words = Vec::new();
        build(&mut words, &prm, &mut p, &mut bufs, 256, n);
        let g = Graph::open(&mut words).unwrap();
        let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 12, 256).unwrap();
        let r = recall_at(&g, &mut p, &mut s, &vec![true; n], &data[n..], 10, 100);
        eprintln!("metric {metric} recall@10: {r}");
        assert!(r >= 0.95, "metric {metric} recall {r}");
    }
}

#[test]
fn filter_hides_slots() {
    let (n, dim) = (1000, 8);
    let data = clustered(n + 20, dim, 10, 3);
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let prm = params(n as u32, 8, 64, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 8, 128);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 128, n);
    let g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 8, 128).unwrap();
    let live: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
    let mut out = [Hit::default(); 10];
    let mut hit = 0;
    for q in &data[n..] {
        p.query = q.clone();
        let k = g.search_knn(&mut p, &mut s, 10, 100, |slot| slot % 3 == 0, &mut out).unwrap();
        assert_eq!(k, 10);
        assert!(out.iter().all(|h| h.slot % 3 == 0));
        let truth: HashSet<u32> = brute(&p, &live, 10, q).into_iter().collect();
        hit += out.iter().filter(|h| truth.contains(&h.slot)).count();
    }
    let r = hit as f64 / (10.0 * 20.0);
    assert!(r >= 0.9, "filtered recall {r}");
}

#[test]
fn range_and_threshold_exact_on_small_sets() {
    for metric in [L2, COS, DOT] {
        let (n, dim) = (300, 6);
        let data = clustered(n + 10, dim, 5, 11);
        let mut p = Provider { metric, vecs: data[..n].to_vec(), query: vec![] };
        let prm = params(n as u32, 8, 64, metric, dim as u32);
        let mut bufs = Bufs::new(n as u32, 8, 512);
        let mut words = Vec::new();
        build(&mut words, &prm, &mut p, &mut bufs, 512, n);
        let g = Graph::open(&mut words).unwrap();
        let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 8, 512).unwrap();
        let mut out = vec![Hit::default(); 512];
        for q in &data[n..] {
            p.query = q.clone();
            let mut ds: Vec<f32> = p.vecs.iter().map(|v| dist(metric, q, v)).collect();
            ds.sort_by(|a, b| a.partial_cmp(b).unwrap());
            // radii at several quantiles; for cosine/dot these are thresholds
            for &qi in &[0usize, 5, 50, 150, 299] {
                let radius = ds[qi];
                let max_key = match metric {
                    // similarity T -> distance bound, as vexfs_simd::similarity_threshold_key
                    COS => key(1.0 - (1.0 - radius)),
                    DOT => key(-(-radius)),
                    _ => key(radius),
                };
                let o = g.search_range(&mut p, &mut s, max_key, 16, 1000, |_| true, &mut out).unwrap();
                assert!(o.exact && o.complete);
                let want: Vec<u32> = (0..n as u32).filter(|&i| key(dist(metric, q, &p.vecs[i as usize])) <= max_key).collect();
                let got: HashSet<u32> = out[..o.count].iter().map(|h| h.slot).collect();
                assert_eq!(got.len(), want.len(), "metric {metric} q{qi}");
                assert!(want.iter().all(|w| got.contains(w)));
                assert!(out[..o.count].windows(2).all(|w| w[0].dist <= w[1].dist));
            }
            // output too small: incomplete but the nearest ones
            let o = g.search_range(&mut p, &mut s, u32::MAX, 16, 1000, |_| true, &mut out[..7]).unwrap();
            assert_eq!(o.count, 7);
            assert!(!o.complete);
        }
    }
}

#[test]
fn range_expanding_beam() {
    let (n, dim) = (2000, 8);
    let data = clustered(n + 10, dim, 20, 12);
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let prm = params(n as u32, 10, 80, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 10, 400);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 400, n);
    let g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 10, 400).unwrap();
    let mut out = vec![Hit::default(); 400];
    let (mut found, mut want_total) = (0, 0);
    for q in &data[n..] {
        p.query = q.clone();
        let mut ds: Vec<f32> = p.vecs.iter().map(|v| dist(L2, q, v)).collect();
        ds.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let r = key(ds[40]);
        let o = g.search_range(&mut p, &mut s, r, 16, 0, |_| true, &mut out).unwrap();
        assert!(!o.exact);
        assert!(o.complete);
        assert!(out[..o.count].iter().all(|h| h.dist <= r));
        found += o.count;
        want_total += 41;
    }
    let rec = found as f64 / want_total as f64;
    assert!(rec >= 0.95, "range recall {rec}");
}

/// Checks that a graph survives an encode/decode/open round trip (which
/// runs the full validation) and returns the reopened words.
fn round_trip(words: &[u32]) -> Vec<u32> {
    let blocks = words.len() / BLOCK_WORDS;
    let mut copy = vec![0u32; words.len()];
    let mut buf = vec![0u8; BLOCK_BYTES];
    for b in 0..blocks {
        encode_block(words, b, &mut buf).unwrap();
        decode_block(&buf, b, &mut copy).unwrap();
    }
    copy
}

#[test]
fn insert_delete_search_mix_vs_model() {
    let (cap, dim) = (600u32, 8);
    let data = clustered(2000, dim, 10, 21);
    let mut p = Provider { metric: L2, vecs: vec![vec![0.0; dim]; cap as usize], query: vec![] };
    let prm = params(cap, 8, 64, L2, dim as u32);
    let mut words = vec![0u32; Graph::words_needed(&prm).unwrap()];
    let mut bufs = Bufs::new(cap, 8, 128);
    let mut dirty = vec![0u64; 64];
    let mut g = Graph::create(&mut words, &prm).unwrap();
    g.set_dirty_map(&mut dirty);
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, cap, 8, 128).unwrap();
    let mut live = vec![false; cap as usize];
    let mut r = Rng(5);
    let mut next = 0usize;
    let mut out = [Hit::default(); 10];
    let (mut hits, mut tot) = (0usize, 0usize);
    for step in 0..3000 {
        let op = r.below(10);
        let slot = r.below(cap as usize) as u32;
        if op < 5 {
            if live[slot as usize] {
                assert_eq!(g.insert(&mut p, &mut s, slot, 1000 + slot as u64), Err(HnswError::SlotInUse));
            } else {
                p.vecs[slot as usize] = data[next % data.len()].clone();
                next += 1;
                g.insert(&mut p, &mut s, slot, 1000 + slot as u64).unwrap();
                live[slot as usize] = true;
            }
        } else if op < 8 {
            if live[slot as usize] {
                g.delete(&mut p, &mut s, slot).unwrap();
                live[slot as usize] = false;
            } else {
                assert_eq!(g.delete(&mut p, &mut s, slot), Err(HnswError::NotFound));
            }
        } else if op < 9 && live[slot as usize] {
            p.vecs[slot as usize] = data[next % data.len()].clone();
            next += 1;
            g.update(&mut p, &mut s, slot).unwrap();
        } else {
            p.query = data[r.below(data.len())].clone();
            let n = g.search_knn(&mut p, &mut s, 10, 64, |_| true, &mut out).unwrap();
            let truth = brute(&p, &live, 10, &p.query.clone());
            assert_eq!(n, truth.len());
            for h in &out[..n] {
                assert!(live[h.slot as usize], "step {step}: deleted slot {} returned", h.slot);
            }
            let t: HashSet<u32> = truth.into_iter().collect();
            hits += out[..n].iter().filter(|h| t.contains(&h.slot)).count();
            tot += n;
        }
        assert_eq!(g.len() as usize, live.iter().filter(|&&x| x).count());
        for i in 0..cap {
            assert_eq!(g.is_live(i), live[i as usize]);
        }
    }
    let rec = hits as f64 / tot.max(1) as f64;
    eprintln!("mixed workload recall {rec}");
    assert!(rec >= 0.95, "mixed recall {rec}");
    assert!(dirty.iter().any(|&d| d != 0));
    let mut copy = round_trip(&words);
    let g2 = Graph::open(&mut copy).unwrap();
    assert_eq!(g2.len() as usize, live.iter().filter(|&&x| x).count());
}

#[test]
fn delete_30_percent_keeps_recall() {
    let (n, dim) = (3000usize, 24);
    let data = clustered(n + 100, dim, 30, 31);
    let queries = data[n..].to_vec();
    let m = 12;
    let prm = params(n as u32, m, 100, L2, dim as u32);
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let mut bufs = Bufs::new(n as u32, m, 256);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 256, n);
    let mut g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, m, 256).unwrap();
    let mut r = Rng(77);
    let mut live = vec![true; n];
    let mut deleted = 0;
    while deleted < n * 3 / 10 {
        let i = r.below(n);
        if live[i] {
            g.delete(&mut p, &mut s, i as u32).unwrap();
            live[i] = false;
            deleted += 1;
        }
    }
    let ef = 12;
    let after = recall_at(&g, &mut p, &mut s, &live, &queries, 10, ef);
    // Fresh index over the remaining points (same slots, same vectors).
    let mut words2 = vec![0u32; words_len(&prm)];
    let mut g2 = Graph::create(&mut words2, &prm).unwrap();
    let mut bufs2 = Bufs::new(n as u32, m, 256);
    let mut s2 = Scratch::new(&mut bufs2.u32s, &mut bufs2.u64s, n as u32, m, 256).unwrap();
    for i in 0..n {
        if live[i] {
            g2.insert(&mut p, &mut s2, i as u32, 1000 + i as u64).unwrap();
        }
    }
    let fresh = recall_at(&g2, &mut p, &mut s2, &live, &queries, 10, ef);
    eprintln!("after deleting 30%: recall {after}, fresh index {fresh}");
    assert!(after >= fresh - 0.02, "after {after} fresh {fresh}");
    drop(g);
    let mut copy = round_trip(&words);
    Graph::open(&mut copy).unwrap();
}

fn words_len(p: &Params) -> usize {
    Graph::words_needed(p).unwrap()
}

#[test]
fn delete_everything_then_reinsert() {
    let (n, dim) = (200usize, 4);
    let data = clustered(n, dim, 4, 41);
    let mut p = Provider { metric: L2, vecs: data.clone(), query: vec![] };
    let prm = params(n as u32, 4, 32, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 4, 64);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 64, n);
    let mut g = Graph::open(&mut words).unwrap();
    let used = g.chunks_used();
    assert!(used > 0);
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 4, 64).unwrap();
    for i in (0..n as u32).rev() {
        g.delete(&mut p, &mut s, i).unwrap();
    }
    assert!(g.is_empty());
    assert_eq!(g.chunks_used(), 0);
    assert_eq!(g.entry_point(), None);
    let mut out = [Hit::default(); 5];
    p.query = data[0].clone();
    assert_eq!(g.search_knn(&mut p, &mut s, 5, 10, |_| true, &mut out).unwrap(), 0);
    for i in 0..n as u32 {
        g.insert(&mut p, &mut s, i, 1000 + i as u64).unwrap();
    }
    assert_eq!(g.search_knn(&mut p, &mut s, 5, 10, |_| true, &mut out).unwrap(), 5);
    assert_eq!(out[0].slot, 0);
}

#[test]
fn persistence_round_trip_same_results() {
    let (n, dim) = (800usize, 12);
    let data = clustered(n + 20, dim, 8, 51);
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let prm = params(n as u32, 8, 64, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 8, 128);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 128, n);
    {
        let mut g = Graph::open(&mut words).unwrap();
        g.set_generation(42).unwrap();
    }
    let mut copy = round_trip(&words);
    assert_eq!(copy, words);
    let g1 = Graph::open(&mut words).unwrap();
    let g2 = Graph::open(&mut copy).unwrap();
    assert_eq!(g2.generation(), 42);
    assert_eq!(g1.params(), g2.params());
    let mut b2 = Bufs::new(n as u32, 8, 128);
    let mut s1 = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 8, 128).unwrap();
    let mut s2 = Scratch::new(&mut b2.u32s, &mut b2.u64s, n as u32, 8, 128).unwrap();
    let (mut o1, mut o2) = ([Hit::default(); 10], [Hit::default(); 10]);
    for q in &data[n..] {
        p.query = q.clone();
        let a = g1.search_knn(&mut p, &mut s1, 10, 40, |_| true, &mut o1).unwrap();
        let b = g2.search_knn(&mut p, &mut s2, 10, 40, |_| true, &mut o2).unwrap();
        assert_eq!(a, b);
        assert_eq!(o1, o2);
    }
}

#[test]
fn decoders_reject_corruption() {
    let (n, dim) = (300usize, 4);
    let data = clustered(n, dim, 4, 61);
    let mut p = Provider { metric: L2, vecs: data.clone(), query: vec![] };
    let prm = params(n as u32, 4, 32, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 4, 64);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 64, n);
    let blocks = words.len() / BLOCK_WORDS;
    let mut buf = vec![0u8; BLOCK_BYTES];
    // bit flips are caught by the checksum
    for b in 0..blocks {
        encode_block(&words, b, &mut buf).unwrap();
        for &bit in &[0usize, 77, 4000 * 8, 4095 * 8 + 7] {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let mut dst = vec![0u32; words.len()];
            assert!(decode_block(&bad, b, &mut dst).is_err());
        }
        // block at the wrong position
        let mut dst = vec![0u32; words.len()];
        assert!(decode_block(&buf, (b + 1) % blocks, &mut dst).is_err() || blocks == 1);
    }
    // semantic corruption with a valid checksum is caught by open()
    let mut r = Rng(9);
    let mut rejected = 0;
    for _ in 0..300 {
        let mut w = words.clone();
        let i = r.below(w.len());
        let v = match r.below(4) {
            0 => w[i] ^ (1 << r.below(32)),
            1 => r.next() as u32,
            2 => n as u32 + r.below(10) as u32,
            _ => 0xffff_ffff,
        };
        if v == w[i] {
            continue;
        }
        w[i] = v;
        if Graph::open(&mut w).is_err() {
            rejected += 1;
        } else {
            // if accepted it must still be searchable without panicking
            let mut g = Graph::open(&mut w).unwrap();
            let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 4, 64).unwrap();
            p.query = data[0].clone();
            let mut out = [Hit::default(); 5];
            let _ = g.search_knn(&mut p, &mut s, 5, 10, |_| true, &mut out);
            let _ = g.delete(&mut p, &mut s, 3);
            let _ = g.insert(&mut p, &mut s, 3, 5);
        }
    }
    assert!(rejected > 0);
    // wrong header
    let mut w = words.clone();
    w[hdr::MAGIC] = 0;
    assert!(Graph::open(&mut w).is_err());
    let mut w = words.clone();
    w[hdr::M] = 1000;
    assert!(Graph::open(&mut w).is_err());
    let mut short = words[..words.len() - 1].to_vec();
    assert!(Graph::open(&mut short).is_err());
    assert!(Graph::open(&mut []).is_err());
}

#[test]
fn parameter_and_scratch_checks() {
    let prm = params(100, 1, 10, L2, 4);
    assert!(Graph::words_needed(&prm).is_err());
    let prm = params(100, 8, 10, L2, 4);
    let mut words = vec![0u32; 10];
    assert!(matches!(Graph::create(&mut words, &prm), Err(HnswError::NoSpace)));
    let mut words = vec![0u32; Graph::words_needed(&prm).unwrap()];
    let mut g = Graph::create(&mut words, &prm).unwrap();
    let mut p = Provider { metric: L2, vecs: vec![vec![1.0; 4]; 100], query: vec![1.0; 4] };
    // scratch for a smaller graph
    let mut b = Bufs::new(50, 8, 64);
    let mut s = Scratch::new(&mut b.u32s, &mut b.u64s, 50, 8, 64).unwrap();
    assert_eq!(g.insert(&mut p, &mut s, 0, 1), Err(HnswError::ScratchTooSmall));
    let mut b = Bufs::new(100, 8, 64);
    let mut s = Scratch::new(&mut b.u32s, &mut b.u64s, 100, 8, 64).unwrap();
    assert!(matches!(g.insert(&mut p, &mut s, 100, 1), Err(HnswError::InvalidParam(_))));
    g.insert(&mut p, &mut s, 0, 1).unwrap();
    // duplicate vectors are fine; keys use 48 bits
    assert!(matches!(g.insert(&mut p, &mut s, 1, 1 << 48), Err(HnswError::InvalidParam(_))));
    g.insert(&mut p, &mut s, 1, (1 << 47) + 5).unwrap();
    assert_eq!(g.node_key(1), Some((1 << 47) + 5));
    assert_eq!(default_upper_capacity(100_000, 16), 6666 + 4 * 81 + 32);
    let mut out = [Hit::default(); 3];
    assert_eq!(g.search_knn(&mut p, &mut s, 3, 10, |_| true, &mut out).unwrap(), 2);
    assert_eq!(g.find_free_slot(0), Some(2));
    let mut small = vec![0u32; 3];
    let mut small64 = vec![0u64; 3];
    assert!(Scratch::new(&mut small, &mut small64, 100, 8, 64).is_err());
    // a provider error surfaces and leaves no half node
    struct Failing;
    impl DistanceProvider for Failing {
        fn dist_batch(&mut self, _: Query, _: &[u32], _: &mut [u32]) -> Result<(), HnswError> {
            Err(HnswError::Provider(-5))
        }
    }
    assert_eq!(g.insert(&mut Failing, &mut s, 5, 9), Err(HnswError::Provider(-5)));
    assert!(!g.is_live(5));
    assert_eq!(g.len(), 2);
    drop(g);
    let mut copy = round_trip(&words);
    Graph::open(&mut copy).unwrap();
}

#[test]
fn finite_checks_and_vector_records() {
    assert!(vector_in_range(&[0.0, -1.0, 7.0e16, -7.0e16, 1.0e-40]));
    assert!(!vector_in_range(&[0.0, f32::NAN]));
    assert!(!vector_in_range(&[f32::NEG_INFINITY]));
    assert!(!vector_in_range(&[3.0e38]));
    // The bound is exactly 2^56: the largest f32 below it passes, 2^56 does not.
    let edge = f32::from_bits((127 + 56) << 23);
    assert!(!vector_in_range(&[edge]) && !vector_in_range(&[-edge]));
    assert!(vector_in_range(&[f32::from_bits(((127 + 56) << 23) - 1)]));
    assert!(vector_bytes_in_range(&1.0f32.to_le_bytes()));
    assert!(!vector_bytes_in_range(&f32::NAN.to_le_bytes()));
    assert!(!vector_bytes_in_range(&1.0e20f32.to_le_bytes()));
    assert!(!vector_bytes_in_range(&[0, 0, 0]));
    for dim in [1u32, 3, 128, 1020, 1021, 4096] {
        let v: Vec<f32> = (0..dim).map(|i| i as f32 * 0.5 - 3.0).collect();
        let rs = record_size(dim).unwrap() as usize;
        let mut rec = vec![0u8; rs];
        encode_record(77, 3, &v, &mut rec).unwrap();
        let mut out = vec![0f32; dim as usize];
        let info = decode_record(&rec, 77, dim, &mut out).unwrap();
        assert_eq!(info, RecordInfo { ino: 77, generation: 3, dim });
        assert_eq!(out, v);
        assert!(decode_record(&rec, 78, dim, &mut out).is_err());
        let mut bad = rec.clone();
        bad[rs - 1] ^= 0x10;
        assert!(decode_record(&bad, 77, dim, &mut out).is_err());
        let pos = record_pos(77, dim).unwrap();
        assert_eq!(pos.len as usize, rs);
        if rs <= 4096 {
            assert!(pos.offset as usize + rs <= 4096);
        } else {
            assert_eq!(pos.offset, 0);
        }
    }
    let mut rec = vec![0u8; record_size(2).unwrap() as usize];
    assert_eq!(encode_record(1, 0, &[1.0, f32::INFINITY], &mut rec), Err(HnswError::BadVector));
    let mut out = [0f32; 2];
    assert_eq!(decode_record(&vec![0u8; 24], 5, 2, &mut out).unwrap().ino, 0);
    assert!(record_size(0).is_err() && record_size(4097).is_err());
    assert!(record_pos(u64::MAX, 4096).is_err());
}

#[test]
fn records_in_blocks_inverts_record_pos() {
    for dim in [1u32, 16, 64, 1000, 1020, 1021, 2048, 4096] {
        for (first, n) in [(0u64, 1u64), (0, 5), (3, 1), (7, 4), (100, 9)] {
            // A record is at least 20 bytes: at most 204 start in one block.
            let want: Vec<u64> = (0..(first + n) * 205)
                .filter(|&ino| {
                    let b = record_pos(ino, dim).unwrap().block;
                    b >= first && b < first + n
                })
                .collect();
            let got = records_in_blocks(first, n, dim).unwrap();
            match got {
                None => assert!(want.is_empty(), "dim {dim} blocks {first}+{n}: {want:?}"),
                Some((lo, hi)) => assert_eq!((lo, hi), (want[0], *want.last().unwrap()), "dim {dim} blocks {first}+{n}"),
            }
        }
    }
    assert_eq!(records_in_blocks(0, 0, 16).unwrap(), None);
    assert!(records_in_blocks(u64::MAX, 2, 16).is_err());
}

#[test]
fn heaps_order_and_bounds() {
    let mut b = [0u64; 8];
    let mut h = MinHeap::new(&mut b);
    for x in [5u64, 3, 9, 1, 7, 2, 8, 6] {
        assert!(h.push(x));
    }
    assert!(!h.push(0));
    assert!(h.push_evicting_worst(4));
    assert!(!h.push_evicting_worst(100));
    let mut v = vec![];
    while let Some(x) = h.pop() {
        v.push(x);
    }
    assert_eq!(v, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    let mut b = [0u64; 5];
    let mut h = MaxHeap::new(&mut b);
    for x in [5u64, 3, 9, 1, 7] {
        h.push(x);
    }
    h.replace_top(4);
    h.retain(|x| x != 3);
    assert_eq!(h.into_sorted(), &[1, 4, 5, 7]);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
        #[test]
        fn open_never_panics_on_random_words(
            edits in proptest::collection::vec((0usize..4096, any::<u32>()), 1..20),
        ) {
            let prm = Params::new(64, 4, 16, 0, 4);
            let mut words = vec![0u32; Graph::words_needed(&prm).unwrap()];
            {
                let mut g = Graph::create(&mut words, &prm).unwrap();
                let mut p = Provider { metric: 0, vecs: clustered(64, 4, 3, 1), query: vec![0.0; 4] };
                let mut b = Bufs::new(64, 4, 32);
                let mut s = Scratch::new(&mut b.u32s, &mut b.u64s, 64, 4, 32).unwrap();
                for i in 0..40 { g.insert(&mut p, &mut s, i, i as u64).unwrap(); }
            }
            let len = words.len();
            for (i, v) in edits { words[i % len] = v; }
            if let Ok(g) = Graph::open(&mut words) {
                let mut p = Provider { metric: 0, vecs: clustered(64, 4, 3, 1), query: vec![0.0; 4] };
                let mut b = Bufs::new(64, 4, 32);
                let mut s = Scratch::new(&mut b.u32s, &mut b.u64s, 64, 4, 32).unwrap();
                let mut out = [Hit::default(); 4];
                let _ = g.search_knn(&mut p, &mut s, 4, 8, |_| true, &mut out);
            }
        }

        #[test]
        fn decode_block_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..5000), idx in 0usize..8) {
            let mut w = vec![0u32; 4 * BLOCK_WORDS];
            let _ = decode_block(&bytes, idx, &mut w);
            let _ = params_from_header(&w);
        }

        #[test]
        fn decode_record_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), dim in 0u32..50) {
            let mut out = vec![0f32; dim as usize];
            let _ = decode_record(&bytes, 1, dim, &mut out);
        }
    }
}

#[test]
fn grow_keeps_graph_and_resume_keeps_epoch() {
    let (n, dim) = (300usize, 6);
    let data = clustered(n + 10, dim, 5, 71);
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let prm = params(200, 6, 40, L2, dim as u32);
    let mut words = vec![0u32; Graph::words_needed(&prm).unwrap()];
    let mut bufs = Bufs::new(n as u32, 6, 64);
    let epoch;
    {
        let mut g = Graph::create(&mut words, &prm).unwrap();
        let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 6, 64).unwrap();
        for i in 0..200u32 {
            g.insert(&mut p, &mut s, i, 1000 + i as u64).unwrap();
        }
        assert_eq!(g.insert(&mut p, &mut s, 200, 1200), Err(HnswError::InvalidParam("slot beyond capacity")));
        epoch = s.epoch();
    }
    let mut bigger = vec![0u32; words_len(&Params { capacity: n as u32, upper_capacity: default_upper_capacity(n as u32, 6), ..prm })];
    let mut g = Graph::grow(&words, &mut bigger, n as u32).unwrap();
    assert_eq!(g.capacity(), n as u32);
    assert_eq!(g.len(), 200);
    let mut s = Scratch::resume(&mut bufs.u32s, &mut bufs.u64s, n as u32, 6, 64, epoch).unwrap();
    assert_eq!(s.epoch(), epoch);
    for i in 200..n as u32 {
        g.insert(&mut p, &mut s, i, 1000 + i as u64).unwrap();
    }
    let live = vec![true; n];
    let r = recall_at(&g, &mut p, &mut s, &live, &data[n..], 10, 40);
    assert!(r >= 0.95, "recall after grow {r}");
    let mut small = vec![0u32; 10];
    assert!(Graph::grow(&words, &mut small, n as u32).is_err());
    assert!(Graph::grow(&words, &mut bigger, 100).is_err());
}

#[test]
fn delete_batch_matches_single_deletes() {
    let (n, dim) = (3000usize, 24);
    let data = clustered(n + 100, dim, 30, 31);
    let queries = data[n..].to_vec();
    let m = 12;
    let prm = params(n as u32, m, 100, L2, dim as u32);
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let mut bufs = Bufs::new(n as u32, m, 256);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 256, n);
    let mut g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, m, 256).unwrap();
    let mut r = Rng(77);
    let mut live = vec![true; n];
    let mut batch = Vec::new();
    let mut deleted = 0;
    // include the entry point in the first batch
    batch.push(g.entry_point().unwrap());
    live[batch[0] as usize] = false;
    deleted += 1;
    while deleted < n * 3 / 10 {
        let i = r.below(n);
        if live[i] {
            live[i] = false;
            batch.push(i as u32);
            deleted += 1;
        }
        if batch.len() == 150 {
            assert_eq!(g.delete_batch(&mut p, &mut s, &batch).unwrap(), 150);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        g.delete_batch(&mut p, &mut s, &batch).unwrap();
    }
    assert_eq!(g.len() as usize, live.iter().filter(|&&x| x).count());
    for i in 0..n {
        assert_eq!(g.is_live(i as u32), live[i]);
    }
    assert_eq!(g.delete_batch(&mut p, &mut s, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].iter().copied().filter(|&i| !live[i as usize]).chain([u32::MAX]).collect::<Vec<_>>()), Err(HnswError::NotFound));
    let after = recall_at(&g, &mut p, &mut s, &live, &queries, 10, 12);
    eprintln!("after batch-deleting 30%: recall {after}");
    assert!(after >= 0.955, "after {after}");
    drop(g);
    let mut copy = round_trip(&words);
    Graph::open(&mut copy).unwrap();
}

/// The test provider over a coarse copy of the vectors (elements rounded to
/// multiples of `step`): a stand-in for int8 codes steering the walk.
fn coarse(p: &Provider, step: f32) -> Provider {
    let r = |v: &Vec<f32>| v.iter().map(|x| (x / step).round() * step).collect::<Vec<f32>>();
    Provider { metric: p.metric, vecs: p.vecs.iter().map(r).collect(), query: r(&p.query) }
}

#[test]
fn rerank_search_orders_by_exact_distance() {
    let (n, dim, k) = (3000, 24, 10);
    let data = clustered(n + 60, dim, 30, 7);
    let queries: Vec<Vec<f32>> = data[n..].to_vec();
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let prm = params(n as u32, 12, 100, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 12, 256);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 256, n);
    let g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 12, 256).unwrap();
    let live = vec![true; n];
    let (mut hit_steer, mut hit_rerank, mut tot) = (0usize, 0usize, 0usize);
    for q in &queries {
        p.query = q.clone();
        // steering with the exact provider itself: identical to search_knn
        let mut a = vec![Hit::default(); k];
        let mut b = vec![Hit::default(); k];
        let na = g.search_knn(&mut p, &mut s, k, 40, |_| true, &mut a).unwrap();
        let mut p2 = Provider { metric: L2, vecs: p.vecs.clone(), query: q.clone() };
        let nb = g.search_knn_rerank(&mut p2, &mut p, &mut s, k, 40, 0, |_| true, &mut b).unwrap();
        assert_eq!(&a[..na], &b[..nb]);

        let mut c = coarse(&p, 1.5);
        let truth: HashSet<u32> = brute(&p, &live, k, q).into_iter().collect();
        let n1 = g.search_knn(&mut c, &mut s, k, 64, |_| true, &mut a).unwrap();
        hit_steer += a[..n1].iter().filter(|h| truth.contains(&h.slot)).count();
        let n2 = g.search_knn_rerank(&mut c, &mut p, &mut s, k, 64, usize::MAX, |_| true, &mut b).unwrap();
        assert_eq!(n2, k);
        hit_rerank += b[..n2].iter().filter(|h| truth.contains(&h.slot)).count();
        tot += truth.len();
        for w in b[..n2].windows(2) {
            assert!((w[0].dist, w[0].slot) < (w[1].dist, w[1].slot), "not sorted by exact distance");
        }
        for h in &b[..n2] {
            assert_eq!(h.dist, key(dist(L2, q, &p.vecs[h.slot as usize])), "not the exact distance");
            assert_eq!(h.key, 1000 + h.slot as u64);
        }
        // the filter holds; rerank below k still returns k
        let n3 = g.search_knn_rerank(&mut c, &mut p, &mut s, k, 64, 1, |x| x % 2 == 0, &mut b).unwrap();
        assert_eq!(n3, k);
        assert!(b[..n3].iter().all(|h| h.slot % 2 == 0));
        assert_eq!(g.search_knn_rerank(&mut c, &mut p, &mut s, 0, 64, 8, |_| true, &mut b).unwrap(), 0);
    }
    let (rs, rr) = (hit_steer as f64 / tot as f64, hit_rerank as f64 / tot as f64);
    eprintln!("recall@10 coarse steering alone {rs:.3}, with exact re-rank {rr:.3}");
    assert!(rr > rs && rr >= 0.95, "re-rank recall {rr} vs steering {rs}");
}

/// Builds a graph of `n` clustered points (dim 16, M 12) and deletes 1,000
/// random ones one at a time: prints the time per delete and the link-list
/// reads per delete. Run with `--ignored --nocapture` at n = 10k and 100k:
/// a local repair costs the same at both sizes.
fn delete_cost(n: usize) -> (f64, f64) {
    let dim = 16;
    let data = clustered(n, dim, 50, 91);
    let m = 12;
    let prm = params(n as u32, m, 64, L2, dim as u32);
    let mut p = Provider { metric: L2, vecs: data, query: vec![] };
    let mut bufs = Bufs::new(n as u32, m, 128);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 128, n);
    let mut g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, m, 128).unwrap();
    let mut r = Rng(5);
    let mut done = 0;
    let t0 = std::time::Instant::now();
    while done < 1000 {
        let i = r.below(n) as u32;
        if g.is_live(i) {
            g.delete(&mut p, &mut s, i).unwrap();
            done += 1;
        }
    }
    let us = t0.elapsed().as_secs_f64() * 1e6 / done as f64;
    (us, s.dist_count as f64 / done as f64)
}

#[test]
#[ignore]
fn delete_cost_vs_n() {
    for n in [10_000usize, 100_000] {
        let (us, dists) = delete_cost(n);
        eprintln!("N={n}: {us:.1} us and {dists:.0} distances per delete");
    }
}

/// Recall@10 at ef 10 and 16 after deleting 30% of 5,000 clustered points,
/// one at a time (`batch == 0`) or in batches of `batch`.
fn recall_after_deleting_30_percent(batch: usize, seed: u64) -> (f64, f64) {
    let (n, dim) = (5000usize, 32);
    let data = clustered(n + 500, dim, 40, seed);
    let queries = data[n..].to_vec();
    let m = 12;
    let prm = params(n as u32, m, 100, L2, dim as u32);
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let mut bufs = Bufs::new(n as u32, m, 256);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 256, n);
    let mut g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, m, 256).unwrap();
    let mut r = Rng(99);
    let mut live = vec![true; n];
    let mut pend = Vec::new();
    let mut deleted = 0;
    while deleted < n * 3 / 10 {
        let i = r.below(n);
        if live[i] {
            live[i] = false;
            deleted += 1;
            if batch == 0 {
                g.delete(&mut p, &mut s, i as u32).unwrap();
            } else {
                pend.push(i as u32);
                if pend.len() == batch {
                    g.delete_batch(&mut p, &mut s, &pend).unwrap();
                    pend.clear();
                }
            }
        }
    }
    if !pend.is_empty() {
        g.delete_batch(&mut p, &mut s, &pend).unwrap();
    }
    let r10 = recall_at(&g, &mut p, &mut s, &live, &queries, 10, 10);
    let r16 = recall_at(&g, &mut p, &mut s, &live, &queries, 10, 16);
    drop(g);
    let mut copy = round_trip(&words);
    Graph::open(&mut copy).unwrap();
    (r10, r16)
}

/// Recall after deleting 30 %, averaged over 4 data sets, single deletes and
/// batches of 64. Reference, the same test with the former repair (a scan of
/// every record for in-links to the deleted node, so no link ever dangled):
/// mean recall@10 0.9863 at ef = 10 and 0.9965 at ef = 16 (local repair:
/// 0.9867 and 0.9964). Allowed: 0.002 below the reference (noise: 1 result
/// in 500 per data set).
#[test]
fn recall_after_deleting_30_percent_as_with_full_scan_repair() {
    let (mut s10, mut s16, mut runs) = (0.0, 0.0, 0.0);
    for seed in [1u64, 2, 3, 4] {
        for batch in [0usize, 64] {
            let (r10, r16) = recall_after_deleting_30_percent(batch, seed);
            eprintln!("seed {seed} batch {batch}: recall@10 ef=10 {r10} ef=16 {r16}");
            s10 += r10;
            s16 += r16;
            runs += 1.0;
        }
    }
    let (m10, m16) = (s10 / runs, s16 / runs);
    eprintln!("mean recall@10 after deleting 30%: ef=10 {m10:.4}, ef=16 {m16:.4}");
    assert!(m10 >= 0.9863 - 0.002 && m16 >= 0.9965 - 0.002, "recall fell: {m10} {m16}");
}

/// Largest (link lists read, blocks dirtied, distances) of a single delete
/// among 200 random non-entry nodes of an n-node graph (M = 8).
fn delete_footprint(n: usize) -> (u64, u32, u64) {
    let dim = 8;
    let m = 8;
    let data = clustered(n, dim, 20, 17);
    let prm = params(n as u32, m, 48, L2, dim as u32);
    let mut p = Provider { metric: L2, vecs: data, query: vec![] };
    let mut bufs = Bufs::new(n as u32, m, 64);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 64, n);
    let mut dirty = vec![0u64; words.len() / BLOCK_WORDS / 64 + 1];
    let mut g = Graph::open(&mut words).unwrap();
    g.set_dirty_map(&mut dirty);
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, m, 64).unwrap();
    let mut r = Rng(3);
    let (mut reads, mut blocks, mut dists) = (0u64, 0u32, 0u64);
    let mut done = 0;
    while done < 200 {
        let i = r.below(n) as u32;
        if !g.is_live(i) || g.entry_point() == Some(i) {
            continue;
        }
        if let Some(d) = g.take_dirty_map() {
            d.iter_mut().for_each(|w| *w = 0);
            g.set_dirty_map(d);
        }
        g.link_reads.store(0, std::sync::atomic::Ordering::Relaxed);
        let d0 = s.dist_count;
        g.delete(&mut p, &mut s, i).unwrap();
        reads = reads.max(g.link_reads.load(std::sync::atomic::Ordering::Relaxed));
        dists = dists.max(s.dist_count - d0);
        let d = g.take_dirty_map().unwrap();
        blocks = blocks.max(d.iter().map(|w| w.count_ones()).sum());
        g.set_dirty_map(d);
        done += 1;
    }
    (reads, blocks, dists)
}

#[test]
fn delete_touches_only_the_neighbourhood() {
    let small = delete_footprint(2_000);
    let large = delete_footprint(20_000);
    eprintln!("per delete, max (link lists read, blocks dirtied, distances): N=2000 {small:?}, N=20000 {large:?}");
    // M0 = 16: the removed node's lists (M0 + M per upper layer), each
    // neighbour's list and its neighbours' ones: O(M0 * M0), not O(N).
    let m0 = 16u64;
    for (reads, blocks, _) in [small, large] {
        assert!(reads <= 4 * m0 * m0, "{reads} link lists read by one delete");
        assert!(blocks as u64 <= 2 * m0 + 2, "{blocks} blocks dirtied by one delete");
    }
    assert!(large.0 <= 2 * small.0 && large.2 <= 2 * small.2, "delete cost grows with N: {small:?} -> {large:?}");
}

#[test]
fn dangling_links_are_valid_and_skipped() {
    let (n, dim) = (400usize, 4);
    let data = clustered(n, dim, 4, 71);
    let mut p = Provider { metric: L2, vecs: data.clone(), query: vec![] };
    let prm = params(n as u32, 4, 32, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 4, 64);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 64, n);
    let geo = Geometry::new(&prm).unwrap();
    // Point node 0's first layer-0 link at slot 9, then free slot 9 behind
    // the graph's back: a one-way in-link a local repair would leave.
    let mut live = vec![true; n];
    {
        let mut g = Graph::open(&mut words).unwrap();
        let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 4, 64).unwrap();
        g.delete(&mut p, &mut s, 9).unwrap();
        live[9] = false;
    }
    words[geo.node_word(0) + NODE_LINKS] = 9;
    let mut copy = round_trip(&words);
    let g = Graph::open(&mut copy).expect("a link to a free slot is valid");
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 4, 64).unwrap();
    let mut out = [Hit::default(); 10];
    for q in data.iter().take(50) {
        p.query = q.clone();
        let k = g.search_knn(&mut p, &mut s, 10, 32, |_| true, &mut out).unwrap();
        assert!(out[..k].iter().all(|h| live[h.slot as usize]), "a dangling link was followed into results");
    }
    drop(g);
    // A link to itself or out of range is still corrupt.
    for bad in [0u32, n as u32] {
        let mut w = words.clone();
        w[geo.node_word(0) + NODE_LINKS] = bad;
        assert!(matches!(Graph::open(&mut w), Err(HnswError::Corrupt(_))), "link {bad} accepted");
    }
    // Reusing the slot: the dangling link now leads to the new node.
    let mut g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 4, 64).unwrap();
    g.insert(&mut p, &mut s, 9, 1009).unwrap();
    drop(g);
    let mut copy = round_trip(&words);
    Graph::open(&mut copy).unwrap();
}

/// Records the search's prefetch hints and checks them against the batches
/// that follow: every hinted slot is asked for in the next batch.
struct HintChecker {
    inner: Provider,
    hinted: std::cell::RefCell<Vec<u32>>,
    hints: usize,
    unhinted_batches: usize,
}

impl DistanceProvider for HintChecker {
    fn dist_batch(&mut self, q: Query, ids: &[u32], out: &mut [u32]) -> Result<(), HnswError> {
        let hinted = std::mem::take(&mut *self.hinted.borrow_mut());
        if hinted.is_empty() {
            self.unhinted_batches += 1;
        } else {
            assert_eq!(hinted, ids, "hints differ from the batch that follows them");
            self.hints += hinted.len();
        }
        self.inner.dist_batch(q, ids, out)
    }

    fn prefetch(&self, id: u32) {
        self.hinted.borrow_mut().push(id);
    }
}

#[test]
fn prefetch_hints_name_the_next_batch() {
    let (n, dim) = (2000, 16);
    let data = clustered(n + 20, dim, 20, 5);
    let mut p = Provider { metric: L2, vecs: data[..n].to_vec(), query: vec![] };
    let prm = params(n as u32, 8, 64, L2, dim as u32);
    let mut bufs = Bufs::new(n as u32, 8, 64);
    let mut words = Vec::new();
    build(&mut words, &prm, &mut p, &mut bufs, 64, n);
    let g = Graph::open(&mut words).unwrap();
    let mut s = Scratch::new(&mut bufs.u32s, &mut bufs.u64s, n as u32, 8, 64).unwrap();
    let mut hc = HintChecker { inner: p, hinted: Default::default(), hints: 0, unhinted_batches: 0 };
    let mut out = [Hit::default(); 10];
    for q in &data[n..] {
        hc.inner.query = q.clone();
        let before = s.dist_count;
        g.search_knn(&mut hc, &mut s, 10, 40, |_| true, &mut out).unwrap();
        assert!(s.dist_count > before);
    }
    // Layer 0 hints every batch it asks for; the descent's (few) batches
    // go unhinted.
    let total = s.dist_count as usize;
    assert!(hc.hints * 10 >= total * 7, "{} of {total} distances hinted", hc.hints);
    assert!(hc.unhinted_batches > 0);
}
