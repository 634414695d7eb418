//! TEXMEX vector files: .fvecs / .ivecs (each row: little-endian i32
//! dimension, then that many f32 / i32), and exact brute-force ground truth.

use vexfs_simd::Kernel;

fn read_vecs(path: &str) -> Result<(Vec<u32>, usize, usize), String> {
    let b = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if b.len() < 4 {
        return Err(format!("{path}: empty or truncated file"));
    }
    let dim = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if dim == 0 || dim > 65536 {
        return Err(format!("{path}: bad dimension {dim}"));
    }
    let row = 4 + 4 * dim;
    if b.len() % row != 0 {
        return Err(format!("{path}: size {} is not a multiple of the row size {row}", b.len()));
    }
    let n = b.len() / row;
    let mut out = Vec::with_capacity(n * dim);
    for r in 0..n {
        let o = r * row;
        let d = u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as usize;
        if d != dim {
            return Err(format!("{path}: row {r} has dimension {d}, expected {dim}"));
        }
        for c in b[o + 4..o + row].chunks_exact(4) {
            out.push(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
    }
    Ok((out, dim, n))
}

/// Reads an .fvecs file: (row-major data, dim, rows).
pub fn read_fvecs(path: &str) -> Result<(Vec<f32>, usize, usize), String> {
    let (w, d, n) = read_vecs(path)?;
    Ok((w.into_iter().map(f32::from_bits).collect(), d, n))
}

/// Reads an .ivecs file: (row-major data, dim, rows).
pub fn read_ivecs(path: &str) -> Result<(Vec<i32>, usize, usize), String> {
    let (w, d, n) = read_vecs(path)?;
    Ok((w.into_iter().map(|x| x as i32).collect(), d, n))
}

/// Exact k nearest base rows for every query (ties by lower id).
pub fn brute_force(kernel: &Kernel, base: &[f32], queries: &[f32], dim: usize, k: usize, threads: usize) -> Vec<Vec<u32>> {
    let n = base.len() / dim;
    let nq = queries.len() / dim;
    let ids: Vec<u32> = (0..n as u32).collect();
    let per = nq.div_ceil(threads.max(1)).max(1);
    let mut all: Vec<Vec<u32>> = Vec::with_capacity(nq);
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..nq)
            .step_by(per)
            .map(|lo| {
                let ids = &ids;
                sc.spawn(move || {
                    let mut keys = vec![0u32; n];
                    let mut res = Vec::new();
                    for qi in lo..(lo + per).min(nq) {
                        let q = &queries[qi * dim..(qi + 1) * dim];
                        if kernel.dist_batch_strided(q, base, dim, ids, &mut keys).is_err() {
                            res.push(Vec::new());
                            continue;
                        }
                        let mut v: Vec<u64> = keys.iter().enumerate().map(|(i, &kk)| ((kk as u64) << 32) | i as u64).collect();
                        let kk = k.min(v.len());
                        if kk > 0 {
                            v.select_nth_unstable(kk - 1);
                        }
                        let mut top: Vec<u64> = v[..kk].to_vec();
                        top.sort_unstable();
                        res.push(top.into_iter().map(|x| x as u32).collect());
                    }
                    res
                })
            })
            .collect();
        for h in hs {
            all.extend(h.join().unwrap_or_default());
        }
    });
    all
}
