//! SIMD vs scalar vs an f64 reference.
//!
//! Stated tolerance: for every kernel and dimension 1..=4096,
//! `|d_kernel - d_ref| <= 1e-5 * S + 1e-6`, where `d_ref` is the distance
//! computed in f64 and `S` is the sum of the absolute values of the terms
//! (`sum (a_i-b_i)^2` for L2, `sum |a_i b_i|` for dot). For L2 that is a
//! relative error of 1e-5; for cosine distance (in [0, 2]) it is an absolute
//! error of 1e-5 plus 1e-6.
use super::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn reference(metric: u32, a: &[f32], b: &[f32]) -> (f64, f64) {
    let mut l2 = 0f64;
    let mut dot = 0f64;
    let mut adot = 0f64;
    let mut na = 0f64;
    let mut nb = 0f64;
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x as f64, *y as f64);
        l2 += (x - y) * (x - y);
        dot += x * y;
        adot += (x * y).abs();
        na += x * x;
        nb += y * y;
    }
    match metric {
        METRIC_L2 => (l2, l2),
        METRIC_DOT => (-dot, adot),
        _ => {
            if na == 0.0 || nb == 0.0 {
                (1.0, 1.0)
            } else {
                (1.0 - dot / (na.sqrt() * nb.sqrt()), 1.0)
            }
        }
    }
}

fn caps_list() -> Vec<u32> {
    let mut v = vec![0];
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        v.push(CAP_AVX2_FMA);
        if std::is_x86_feature_detected!("avx512f") {
            v.push(CAP_AVX2_FMA | CAP_AVX512);
        }
    }
    v
}

#[test]
fn kernels_match_reference() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let dims = [1usize, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 128, 300, 768, 1023, 4096];
    for &dim in &dims {
        for _ in 0..5 {
            let a: Vec<f32> = (0..dim).map(|_| rng.f() * 3.0).collect();
            let b: Vec<f32> = (0..dim).map(|_| rng.f() * 3.0).collect();
            for metric in [METRIC_L2, METRIC_COSINE, METRIC_DOT] {
                let (r, s) = reference(metric, &a, &b);
                let tol = 1e-5 * s + 1e-6;
                let sc = scalar::distance(metric, &a, &b) as f64;
                assert!((sc - r).abs() <= tol, "scalar m{metric} dim{dim}: {sc} vs {r}");
                for &caps in &caps_list() {
                    let k = Kernel::new(metric, caps).unwrap();
                    let d = k.distance(&a, &b) as f64;
                    assert!((d - r).abs() <= tol, "caps{caps} m{metric} dim{dim}: {d} vs {r} tol {tol}");
                }
            }
        }
    }
}

#[test]
fn batch_matches_single_and_c_abi() {
    let mut rng = Rng(99);
    let dim = 37;
    let n = 50;
    let base: Vec<f32> = (0..n * 40).map(|_| rng.f()).collect();
    let q: Vec<f32> = (0..dim).map(|_| rng.f()).collect();
    let ids: Vec<u32> = (0..n as u32).rev().collect();
    for metric in [METRIC_L2, METRIC_COSINE, METRIC_DOT] {
        for &caps in &caps_list() {
            let k = Kernel::new(metric, caps).unwrap();
            let mut out = vec![0u32; n];
            k.dist_batch_strided(&q, &base, 40, &ids, &mut out).unwrap();
            let slices: Vec<&[f32]> = ids.iter().map(|&i| &base[i as usize * 40..i as usize * 40 + dim]).collect();
            let mut out2 = vec![0u32; n];
            k.dist_batch_slices(&q, &slices, &mut out2).unwrap();
            let mut out3 = vec![0u32; n];
            let rc = unsafe {
                vexfs_simd_dist_batch(metric, caps, q.as_ptr().cast(), dim as u32, base.as_ptr().cast(), 40, n as u32, ids.as_ptr(), n as u32, out3.as_mut_ptr())
            };
            assert_eq!(rc, 0);
            // n = 50 crosses the pointer entry's inner batch of 32
            let ptrs: Vec<*const core::ffi::c_void> = slices.iter().map(|v| v.as_ptr().cast()).collect();
            let mut out4 = vec![0u32; n];
            let rc = unsafe { vexfs_simd_dist_ptrs(metric, caps, q.as_ptr().cast(), dim as u32, ptrs.as_ptr(), n as u32, out4.as_mut_ptr()) };
            assert_eq!(rc, 0);
            for i in 0..n {
                let v = &slices[i];
                assert_eq!(out[i], k.key(&q, v));
                assert_eq!(out[i], out2[i]);
                assert_eq!(out[i], out3[i]);
                assert_eq!(out[i], out4[i]);
            }
        }
    }
}

#[test]
fn batch_rejects_bad_arguments() {
    let base = vec![0f32; 100];
    let q = vec![1f32; 10];
    let k = Kernel::new(METRIC_L2, 0).unwrap();
    let mut out = [0u32; 2];
    assert_eq!(k.dist_batch_strided(&q, &base, 10, &[0, 10], &mut out), Err(SimdError::BadId));
    assert_eq!(k.dist_batch_strided(&q, &base, 10, &[0, u32::MAX], &mut out), Err(SimdError::BadId));
    assert_eq!(k.dist_batch_strided(&q, &base, 5, &[0, 1], &mut out), Err(SimdError::BadDim));
    assert_eq!(k.dist_batch_strided(&q, &base, 10, &[0], &mut out), Err(SimdError::BadLength));
    assert_eq!(k.dist_batch_strided(&[], &base, 10, &[], &mut []), Err(SimdError::BadDim));
    assert!(Kernel::new(3, 0).is_err());
    let rc = unsafe { vexfs_simd_dist_batch(0, 0, core::ptr::null(), 4, base.as_ptr().cast(), 4, 25, [0u32].as_ptr(), 1, out.as_mut_ptr()) };
    assert_eq!(rc, -EINVAL);
    let rc = unsafe { vexfs_simd_dist_batch(0, 0, q.as_ptr().cast(), 4, base.as_ptr().cast(), 4, 25, [25u32].as_ptr(), 1, out.as_mut_ptr()) };
    assert_eq!(rc, -EINVAL);
    let rc = unsafe { vexfs_simd_dist_batch(7, 0, q.as_ptr().cast(), 4, base.as_ptr().cast(), 4, 25, [1u32].as_ptr(), 1, out.as_mut_ptr()) };
    assert_eq!(rc, -EINVAL);
    let p: [*const core::ffi::c_void; 2] = [base.as_ptr().cast(), core::ptr::null()];
    let rc = unsafe { vexfs_simd_dist_ptrs(0, 0, q.as_ptr().cast(), 4, p.as_ptr(), 2, out.as_mut_ptr()) };
    assert_eq!(rc, -EINVAL);
    let rc = unsafe { vexfs_simd_dist_ptrs(0, 0, q.as_ptr().cast(), 0, p.as_ptr(), 1, out.as_mut_ptr()) };
    assert_eq!(rc, -EINVAL);
    let rc = unsafe { vexfs_simd_dist_ptrs(7, 0, q.as_ptr().cast(), 4, p.as_ptr(), 1, out.as_mut_ptr()) };
    assert_eq!(rc, -EINVAL);
}

#[test]
fn keys_preserve_order() {
    let vals = [f32::NEG_INFINITY, -1e30, -2.0, -1.0, -1e-30, -0.0, 0.0, 1e-30, 0.5, 1.0, 2.0, 1e30, f32::INFINITY];
    for w in vals.windows(2) {
        assert!(key_from_f32(w[0]) <= key_from_f32(w[1]), "{} {}", w[0], w[1]);
        assert_eq!(f32_from_key(key_from_f32(w[0])).to_bits(), w[0].to_bits());
    }
    let mut rng = Rng(5);
    for _ in 0..10000 {
        let a = f32::from_bits(rng.next() as u32);
        let b = f32::from_bits(rng.next() as u32);
        if a.is_nan() || b.is_nan() {
            continue;
        }
        if a < b {
            assert!(key_from_f32(a) < key_from_f32(b));
        }
    }
}

#[test]
fn cosine_zero_vector_and_threshold() {
    let z = [0f32; 8];
    let a = [1f32; 8];
    assert_eq!(Kernel::new(METRIC_COSINE, 0).unwrap().distance(&z, &a), 1.0);
    assert_eq!(similarity_threshold_key(METRIC_COSINE, 0.75).unwrap(), key_from_f32(0.25));
    assert_eq!(similarity_threshold_key(METRIC_DOT, 2.0).unwrap(), key_from_f32(-2.0));
    assert!(similarity_threshold_key(METRIC_DOT, f32::NAN).is_err());
    assert!(!all_finite(&[1.0, f32::INFINITY]));
    assert!(all_finite(&[1.0, -3.0]));
}

/// The core accepts vector elements below 2^56 in magnitude
/// (vexfs_core::hnsw::ELEMENT_MAX_LOG2): at the bound and the largest dimension
/// every kernel's distance must stay finite and ordered. 1e20 made cosine NaN
/// (Inf/Inf) before the bound existed.
#[test]
fn largest_accepted_elements_give_finite_distances() {
    let max = f32::from_bits(((127 + 56) << 23) - 1); // just below 2^56
    for dim in [4usize, 4096] {
        let a: Vec<f32> = (0..dim).map(|i| if i % 2 == 0 { max } else { -max }).collect();
        let b: Vec<f32> = a.iter().map(|x| -x).collect();
        let ones: Vec<f32> = (0..dim).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        for metric in [METRIC_L2, METRIC_COSINE, METRIC_DOT] {
            for &caps in &caps_list() {
                let k = Kernel::new(metric, caps).unwrap();
                for (x, y) in [(&a, &b), (&a, &a), (&a, &ones), (&b, &ones)] {
                    let d = k.distance(x, y);
                    assert!(d.is_finite(), "caps{caps} m{metric} dim{dim}: {d}");
                }
                if metric == METRIC_COSINE {
                    // Same direction as `ones`: distance ~0, opposite: ~2.
                    assert!(k.distance(&a, &ones) < 1e-3, "caps{caps} dim{dim}");
                    assert!(k.distance(&b, &ones) > 2.0 - 1e-3, "caps{caps} dim{dim}");
                }
            }
        }
    }
}

#[test]
fn unit_cosine_matches_cosine() {
    let mut r = Rng(77);
    for &caps in &caps_list() {
        let k = Kernel::new(METRIC_COSINE, caps).unwrap();
        for dim in [1usize, 3, 7, 8, 15, 16, 17, 33, 128, 384, 385, 4096] {
            let n = 9;
            let mut base: Vec<f32> = (0..n * dim).map(|_| r.f() * 3.0).collect();
            // row 4 is the zero vector: distance 1 both ways
            for x in &mut base[4 * dim..5 * dim] {
                *x = 0.0;
            }
            let q: Vec<f32> = (0..dim).map(|_| r.f()).collect();
            let ids: Vec<u32> = (0..n as u32).rev().collect();
            let mut want = vec![0u32; n];
            k.dist_batch_strided(&q, &base, dim, &ids, &mut want).unwrap();
            let mut unit = base.clone();
            for row in unit.chunks_exact_mut(dim) {
                normalize(row);
            }
            let mut qu = q.clone();
            assert!(normalize(&mut qu));
            let mut got = vec![0u32; n];
            k.dist_batch_strided_unit(&qu, &unit, dim, &ids, &mut got).unwrap();
            for (i, (&w, &g)) in want.iter().zip(&got).enumerate() {
                let (w, g) = (f32_from_key(w), f32_from_key(g));
                assert!((w - g).abs() <= 1e-5, "caps {caps} dim {dim} id {}: {w} vs {g}", ids[i]);
                let (d, _) = reference(METRIC_COSINE, &q, &base[ids[i] as usize * dim..][..dim]);
                assert!((g as f64 - d).abs() <= 2e-5, "caps {caps} dim {dim}: {g} vs {d}");
            }
            assert_eq!(f32_from_key(got[n - 1 - 4]), 1.0);
        }
        // only for a cosine kernel; bad ids and lengths are errors
        let l2 = Kernel::new(METRIC_L2, caps).unwrap();
        let v = [1.0f32, 0.0];
        assert_eq!(l2.dist_batch_strided_unit(&v, &v, 2, &[0], &mut [0]), Err(SimdError::BadMetric));
        assert_eq!(k.dist_batch_strided_unit(&v, &v, 2, &[1], &mut [0]), Err(SimdError::BadId));
        assert_eq!(k.dist_batch_strided_unit(&v, &v, 2, &[0], &mut []), Err(SimdError::BadLength));
    }
    let mut z = [0.0f32; 5];
    assert!(!normalize(&mut z));
    assert!(z.iter().all(|&x| x == 0.0));
}

#[test]
fn quant_kernels_match_scalar_and_approximate_float() {
    use crate::quant::*;
    let mut r = Rng(4242);
    for dim in [1usize, 5, 15, 16, 17, 31, 32, 33, 100, 384, 4096] {
        let n = 40;
        let data: Vec<f32> = (0..n * dim).map(|_| r.f() * 2.0).collect();
        let (mut min, mut scale) = (vec![0f32; dim], vec![0f32; dim]);
        train(&data, &mut min, &mut scale).unwrap();
        let qz = Quantizer::new(&min, &scale).unwrap();
        let rec = code_bytes(dim);
        assert_eq!(rec % 4, 0);
        let mut codes = vec![0u8; n * rec];
        for (v, c) in data.chunks_exact(dim).zip(codes.chunks_exact_mut(rec)) {
            qz.encode(v, c).unwrap();
            // reconstruction within half a step per element
            for i in 0..dim {
                let x = min[i] + scale[i] * c[i] as f32;
                assert!((x - v[i]).abs() <= scale[i] * 0.5 + 1e-6, "dim {dim} elem {i}");
            }
        }
        let q: Vec<f32> = (0..dim).map(|_| r.f()).collect();
        let ids: Vec<u32> = (0..n as u32).rev().collect();
        for metric in [METRIC_L2, METRIC_COSINE, METRIC_DOT] {
            let mut qq = q.clone();
            let mut vd = data.clone();
            let mut cd = codes.clone();
            let (mut mn, mut sc) = (min.clone(), scale.clone());
            if metric == METRIC_COSINE {
                normalize(&mut qq);
                for row in vd.chunks_exact_mut(dim) {
                    normalize(row);
                }
                train(&vd, &mut mn, &mut sc).unwrap();
                let qz = Quantizer::new(&mn, &sc).unwrap();
                for (v, c) in vd.chunks_exact(dim).zip(cd.chunks_exact_mut(rec)) {
                    qz.encode(v, c).unwrap();
                }
            }
            let qz = Quantizer::new(&mn, &sc).unwrap();
            let mut w = vec![0i16; dim];
            let pq = qz.prepare(metric, &qq, &mut w).unwrap();
            assert!(w.iter().all(|&x| (x as i32).abs() <= W_MAX));
            let mut want = vec![0u32; n];
            dist_batch_scalar(&pq, &w, &cd, &ids, &mut want).unwrap();
            for &caps in &caps_list() {
                let mut got = vec![0u32; n];
                dist_batch(caps, &pq, &w, &cd, &ids, &mut got).unwrap();
                assert_eq!(got, want, "caps {caps} dim {dim} metric {metric}");
                // the same records found through pointers (the kernel's slot groups)
                let recs: Vec<&[u8]> = ids.iter().map(|&id| &cd[id as usize * rec..][..rec]).collect();
                let mut got = vec![0u32; n];
                crate::quant::dist_records(caps, &pq, &w, &recs, &mut got).unwrap();
                assert_eq!(got, want, "records: caps {caps} dim {dim} metric {metric}");
                let ptrs: Vec<*const u8> = recs.iter().map(|r| r.as_ptr()).collect();
                let cq = crate::quant::Sq8QueryC {
                    metric: pq.metric,
                    qnorm: pq.qnorm.to_bits(),
                    qmin: pq.qmin.to_bits(),
                    step: pq.step.to_bits(),
                };
                let mut got = vec![0u32; n];
                // SAFETY: every pointer is a record of `rec` bytes in `cd`; sizes match.
                let rc = unsafe {
                    crate::quant::vexfs_simd_sq8_dist_recs(caps, &cq, w.as_ptr(), dim as u32, ptrs.as_ptr(), n as u32, got.as_mut_ptr())
                };
                assert_eq!((rc, &got), (0, &want), "C records: caps {caps} dim {dim} metric {metric}");
                let mut bad = ptrs.clone();
                bad[0] = core::ptr::null();
                // SAFETY: as above; a null record must be refused, not read.
                let rc = unsafe {
                    crate::quant::vexfs_simd_sq8_dist_recs(caps, &cq, w.as_ptr(), dim as u32, bad.as_ptr(), n as u32, got.as_mut_ptr())
                };
                assert!(rc < 0, "a null record is an error");
            }
            // close to the float distance: error bounded by the quantisation
            // steps (half a step per element, both sides) times the magnitudes
            let k = Kernel::new(metric, 0).unwrap();
            for (i, &id) in ids.iter().enumerate() {
                let v = &vd[id as usize * dim..][..dim];
                let exact = k.distance(&qq, v);
                let approx = f32_from_key(want[i]);
                let qabs: f32 = qq.iter().zip(&sc).map(|(a, s)| a.abs() * s).sum();
                let vabs: f32 = v.iter().map(|a| a.abs()).sum::<f32>() * sc.iter().cloned().fold(0.0, f32::max);
                let bound = match metric {
                    METRIC_L2 => 2.0 * qabs + 2.0 * vabs + 1e-3,
                    _ => qabs + 1e-3,
                } + 1e-3 * exact.abs();
                assert!((approx - exact).abs() <= bound, "dim {dim} metric {metric}: {approx} vs {exact} (bound {bound})");
            }
        }
        // bad arguments are errors
        let mut w = vec![0i16; dim];
        let pq = qz.prepare(METRIC_L2, &q, &mut w).unwrap();
        let mut o = [0u32; 1];
        assert_eq!(dist_batch(0, &pq, &w, &codes, &[n as u32], &mut o), Err(SimdError::BadId));
        assert_eq!(dist_batch(0, &pq, &w, &codes, &[0, 1], &mut o), Err(SimdError::BadLength));
        assert_eq!(qz.prepare(7, &q, &mut w).err(), Some(SimdError::BadMetric));
        assert_eq!(qz.encode(&q, &mut vec![0u8; rec + 1]), Err(SimdError::BadDim));
    }
    let mut m = [0f32; 2];
    let mut s = [0f32; 2];
    assert_eq!(train(&[1.0, 2.0, 3.0], &mut m, &mut s), Err(SimdError::BadDim));
    assert_eq!(train(&[1.0, f32::NAN], &mut m, &mut s), Err(SimdError::BadDim));
    assert!(crate::quant::Quantizer::new(&[0.0], &[-1.0]).is_err());
    // a constant dimension: scale 0, every code 0, distances still finite
    train(&[1.0, 2.0, 1.0, 3.0], &mut m, &mut s).unwrap();
    assert_eq!(s[0], 0.0);
    // tiny scales (subnormal weight step): weights stay in range, zeros stay zero
    let (tm, ts) = ([0.0f32; 3], [1e-39f32, 0.0, 1e-39]);
    let qz = crate::quant::Quantizer::new(&tm, &ts).unwrap();
    let mut w = [0i16; 3];
    qz.prepare(METRIC_DOT, &[1e-3, 5.0, -1e-3], &mut w).unwrap();
    assert_eq!(w, [2047, 0, -2047]);
}

#[test]
fn sq8_c_abi_matches_the_rust_api() {
    use crate::quant::*;
    let mut rng = Rng(7);
    let (dim, n) = (37usize, 40usize);
    let data: Vec<f32> = (0..n * dim).map(|_| rng.f() * 3.0).collect();
    let q: Vec<f32> = (0..dim).map(|_| rng.f()).collect();
    let cb = code_bytes(dim);
    for metric in [METRIC_L2, METRIC_COSINE, METRIC_DOT] {
        // Rust side: cosine trains, encodes and prepares unit vectors.
        let unit = |v: &[f32]| -> Vec<f32> {
            let mut u = v.to_vec();
            if metric == METRIC_COSINE {
                normalize(&mut u);
            }
            u
        };
        let seen: Vec<f32> = data.chunks(dim).flat_map(|r| unit(r)).collect();
        let (mut lo, mut sc) = (vec![0f32; dim], vec![0f32; dim]);
        train(&seen, &mut lo, &mut sc).unwrap();
        let qz = Quantizer::new(&lo, &sc).unwrap();
        let mut codes = vec![0u8; n * cb];
        for (r, c) in seen.chunks(dim).zip(codes.chunks_mut(cb)) {
            qz.encode(r, c).unwrap();
        }
        let mut w = vec![0i16; dim];
        let pq = qz.prepare(metric, &unit(&q), &mut w).unwrap();
        let ids: Vec<u32> = (0..n as u32).rev().collect();
        let mut want = vec![0u32; n];
        dist_batch(0, &pq, &w, &codes, &ids, &mut want).unwrap();
        // C side
        let (mut cmin, mut cmax, mut tmp) = (vec![0f32; dim], vec![0f32; dim], vec![0f32; dim]);
        for (i, r) in data.chunks(dim).enumerate() {
            let rc = unsafe {
                vexfs_simd_sq8_observe(metric, dim as u32, r.as_ptr().cast(), tmp.as_mut_ptr().cast(), cmin.as_mut_ptr().cast(), cmax.as_mut_ptr().cast(), (i == 0) as u32)
            };
            assert_eq!(rc, 0);
        }
        assert_eq!(unsafe { vexfs_simd_sq8_finish(dim as u32, cmin.as_ptr().cast(), cmax.as_mut_ptr().cast()) }, 0);
        assert_eq!((&cmin, &cmax), (&lo, &sc));
        // The safe entry points the C ones wrap (mkfs.vexfs trains with them).
        let (mut smin, mut smax) = (vec![0f32; dim], vec![0f32; dim]);
        for (i, r) in data.chunks(dim).enumerate() {
            observe(metric, r, &mut tmp, &mut smin, &mut smax, i == 0).unwrap();
        }
        finish(&smin, &mut smax).unwrap();
        assert_eq!((&smin, &smax), (&lo, &sc));
        assert!(observe(metric, &data[..dim], &mut tmp[..dim - 1], &mut smin, &mut smax, false).is_err());
        assert!(finish(&smin, &mut smax[..dim - 1]).is_err());
        let mut ccodes = vec![0u8; n * cb];
        for (r, c) in data.chunks(dim).zip(ccodes.chunks_mut(cb)) {
            let rc = unsafe {
                vexfs_simd_sq8_encode(metric, dim as u32, cmin.as_ptr().cast(), cmax.as_ptr().cast(), r.as_ptr().cast(), tmp.as_mut_ptr().cast(), c.as_mut_ptr(), cb as u32)
            };
            assert_eq!(rc, 0);
        }
        assert_eq!(ccodes, codes);
        let (mut cw, mut cpq) = (vec![0i16; dim], Sq8QueryC::default());
        let rc = unsafe {
            vexfs_simd_sq8_prepare(metric, dim as u32, cmin.as_ptr().cast(), cmax.as_ptr().cast(), q.as_ptr().cast(), tmp.as_mut_ptr().cast(), cw.as_mut_ptr(), &mut cpq)
        };
        assert_eq!(rc, 0);
        assert_eq!(cw, w);
        for &caps in &caps_list() {
            let mut got = vec![0u32; n];
            let rc = unsafe { vexfs_simd_sq8_dist(caps, &cpq, cw.as_ptr(), dim as u32, ccodes.as_ptr(), n as u32, ids.as_ptr(), n as u32, got.as_mut_ptr()) };
            assert_eq!(rc, 0);
            assert_eq!(got, want);
        }
        // bad input: an id past the codes, a NaN vector, a wrong record size
        let mut one = [0u32; 1];
        assert!(unsafe { vexfs_simd_sq8_dist(0, &cpq, cw.as_ptr(), dim as u32, ccodes.as_ptr(), n as u32, [n as u32].as_ptr(), 1, one.as_mut_ptr()) } < 0);
        let mut bad = q.clone();
        bad[3] = f32::NAN;
        assert!(unsafe { vexfs_simd_sq8_observe(metric, dim as u32, bad.as_ptr().cast(), tmp.as_mut_ptr().cast(), cmin.as_mut_ptr().cast(), cmax.as_mut_ptr().cast(), 0) } < 0);
        assert!(unsafe { vexfs_simd_sq8_encode(metric, dim as u32, cmin.as_ptr().cast(), cmax.as_ptr().cast(), q.as_ptr().cast(), tmp.as_mut_ptr().cast(), ccodes.as_mut_ptr(), cb as u32 - 4) } < 0);
    }
}
