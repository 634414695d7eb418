//! vexfs-testdata: deterministic test vectors and exact answers for the VM
//! tests (host side), so that recall in the VM is measured against ground
//! truth computed outside the system under test.
//!
//!   vexfs-testdata gen --n N --dim D [--clusters C] [--seed S] --out F.fvecs
//!   vexfs-testdata gt --base B.fvecs --queries Q.fvecs [-k K] [--metric l2|cosine|dot] --out GT.jsonl
//!   vexfs-testdata recall --gt GT.jsonl --results R.jsonl [-k K]
//!   vexfs-testdata same --a R1.jsonl --b R2.jsonl [--fields path,chunk,...]
//!   vexfs-testdata chunk-manifest --base B.fvecs --per-file P --chunk-bytes C --prefix DIR --out M.jsonl
//!   vexfs-testdata chunk-recall --gt GT.jsonl --results R.jsonl --per-file P [-k K] [--min X]
//!   vexfs-testdata per-file --base B.fvecs --queries Q.fvecs --results R.jsonl --per-file P [-k K]
//!
//! Chunk sets: base vector i is chunk i % P of file i / P (bytes
//! [c*C, (c+1)*C)), so a result's (path index, "chunk") names its base
//! vector: `chunk-recall` measures recall@k of chunk results against `gt`,
//! `per-file` checks `--per-file` results (k distinct files, each with the
//! file's nearest chunk; recall of the files against the exact k nearest).
//!
//! `gt` writes one JSON array of base indices per query (nearest first).
//! `recall` reads vexctl batch-search output, whose paths end in the
//! 8-digit index `vexctl import` gave each file, and prints the mean
//! recall@k; it exits 1 when that is below --min.
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "vexfs-testdata", about = "Deterministic vectors and exact answers for VexFS tests")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Clustered vectors in .fvecs format: each cluster spreads along its
    /// own random low-dimensional subspace plus small full-dimensional noise,
    /// the shape of real embeddings (low intrinsic dimension).
    Gen {
        #[arg(long)]
        n: usize,
        #[arg(long)]
        dim: usize,
        #[arg(long, default_value_t = 32)]
        clusters: usize,
        /// Dimension of each cluster's subspace.
        #[arg(long, default_value_t = 8)]
        intrinsic: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Consecutive vectors drawn from one cluster (e.g. the chunks of one
        /// document: set to the chunks per file); 1 = a new cluster each.
        #[arg(long, default_value_t = 1)]
        run: usize,
        #[arg(long)]
        out: String,
    },
    /// Exact k nearest base vectors of every query (brute force).
    Gt {
        #[arg(long)]
        base: String,
        #[arg(long)]
        queries: String,
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[arg(long, default_value = "l2")]
        metric: String,
        #[arg(long)]
        out: String,
    },
    /// Mean recall@k of vexctl batch-search results against ground truth.
    Recall {
        #[arg(long)]
        gt: String,
        #[arg(long)]
        results: String,
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[arg(long, default_value_t = 0.0)]
        min: f64,
    },
    /// Mean overlap@k of approximate results with exact ones (both vexctl
    /// batch-search output, matched by path).
    Overlap {
        #[arg(long)]
        approx: String,
        #[arg(long)]
        exact: String,
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[arg(long, default_value_t = 0.0)]
        min: f64,
    },
    /// Do two result files name the same files in the same order?
    Same {
        #[arg(long)]
        a: String,
        #[arg(long)]
        b: String,
        /// Comma-separated result fields compared (e.g. path,chunk,offset,length,stale,distance)
        #[arg(long, default_value = "path")]
        fields: String,
    },
    /// A vexctl import manifest of chunk lines: base vector i is chunk
    /// i % per_file of PREFIX/NNNNNNNN (N = i / per_file).
    ChunkManifest {
        #[arg(long)]
        base: String,
        #[arg(long)]
        per_file: usize,
        #[arg(long)]
        chunk_bytes: u64,
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        out: String,
    },
    /// Mean recall@k of chunk results (path index * per_file + chunk) against ground truth.
    ChunkRecall {
        #[arg(long)]
        gt: String,
        #[arg(long)]
        results: String,
        #[arg(long)]
        per_file: usize,
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[arg(long, default_value_t = 0.0)]
        min: f64,
    },
    /// Checks per-file results: k distinct files per query, each with the
    /// file's exact nearest chunk; prints (and with --min enforces) the recall
    /// of the files against the exact k nearest files.
    PerFile {
        #[arg(long)]
        base: String,
        #[arg(long)]
        queries: String,
        #[arg(long)]
        results: String,
        #[arg(long)]
        per_file: usize,
        #[arg(short, default_value_t = 10)]
        k: usize,
        #[arg(long, default_value = "l2")]
        metric: String,
        #[arg(long, default_value_t = 0.0)]
        min: f64,
    },
}

/// xorshift64*: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    }
}

fn read_fvecs(path: &str) -> Result<(usize, Vec<f32>), String> {
    let b = fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let mut dim = 0usize;
    let mut out = Vec::new();
    let mut off = 0;
    while off < b.len() {
        let d = u32::from_le_bytes(b.get(off..off + 4).ok_or(format!("{path}: truncated"))?.try_into().unwrap_or([0; 4])) as usize;
        if d == 0 || (dim != 0 && d != dim) {
            return Err(format!("{path}: record at byte {off} has dimension {d}"));
        }
        dim = d;
        let rec = b.get(off + 4..off + 4 + 4 * d).ok_or(format!("{path}: truncated record at byte {off}"))?;
        out.extend(rec.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        off += 4 + 4 * d;
    }
    Ok((dim, out))
}

fn distance(metric: &str, a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    match metric {
        "dot" => -dot,
        "cosine" => {
            let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            if na == 0.0 || nb == 0.0 {
                1.0
            } else {
                1.0 - dot / (na * nb)
            }
        }
        _ => a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum(),
    }
}

/// The index `vexctl import` encoded in a result path ("dir/00000123").
fn index_of(path: &str) -> Option<usize> {
    path.rsplit('/').next()?.parse().ok()
}

fn result_lines(path: &str) -> Result<Vec<Vec<String>>, String> {
    let f = fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{path}: {e}"))?;
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| format!("{path}:{}: {e}", n + 1))?;
        let arr = v.as_array().ok_or(format!("{path}:{}: not a JSON array", n + 1))?;
        out.push(arr.iter().filter_map(|r| r.get("path").and_then(|p| p.as_str()).map(String::from)).collect());
    }
    Ok(out)
}

/// Every result object of every line (query) of a vexctl JSON-lines file.
fn result_objects(path: &str) -> Result<Vec<Vec<serde_json::Value>>, String> {
    let f = fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{path}: {e}"))?;
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| format!("{path}:{}: {e}", n + 1))?;
        let arr = v.as_array().ok_or(format!("{path}:{}: not a JSON array", n + 1))?;
        out.push(arr.clone());
    }
    Ok(out)
}

/// (file index, chunk index) of a chunk result.
fn chunk_of(path: &str, n: usize, r: &serde_json::Value) -> Result<(usize, usize), String> {
    let p = r.get("path").and_then(|p| p.as_str()).ok_or(format!("{path}:{n}: result without \"path\""))?;
    let f = index_of(p).ok_or(format!("{path}:{n}: path {p} does not end in a file index"))?;
    let c = r.get("chunk").and_then(|c| c.as_u64()).ok_or(format!("{path}:{n}: result without \"chunk\""))?;
    Ok((f, c as usize))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Gen { n, dim, clusters, intrinsic, seed, run, out } => {
            // Model and parameters are fixed by the seed: the same bytes on every run.
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let centres: Vec<f32> = (0..clusters * dim).map(|_| rng.gauss() * 0.5).collect();
            let bases: Vec<f32> = (0..clusters * intrinsic * dim).map(|_| rng.gauss() / (dim as f32).sqrt()).collect();
            let mut buf = Vec::with_capacity(n * (dim + 1) * 4);
            let mut z = vec![0f32; intrinsic];
            let mut c = 0;
            for i in 0..n {
                if i % run.max(1) == 0 {
                    c = (rng.next() % clusters as u64) as usize;
                }
                for x in z.iter_mut() {
                    *x = rng.gauss() * 1.5;
                }
                buf.extend_from_slice(&(dim as u32).to_le_bytes());
                for j in 0..dim {
                    let along: f32 = (0..intrinsic).map(|t| bases[(c * intrinsic + t) * dim + j] * z[t]).sum();
                    let x = centres[c * dim + j] + along + rng.gauss() * 0.05;
                    buf.extend_from_slice(&x.to_le_bytes());
                }
            }
            fs::write(&out, buf).map_err(|e| format!("{out}: {e}"))
        }
        Cmd::Gt { base, queries, k, metric, out } => {
            let (bd, b) = read_fvecs(&base)?;
            let (qd, q) = read_fvecs(&queries)?;
            if bd != qd {
                return Err(format!("{base} has dimension {bd}, {queries} has {qd}"));
            }
            let mut f = fs::File::create(&out).map_err(|e| format!("{out}: {e}"))?;
            for qv in q.chunks_exact(qd) {
                let mut d: Vec<(f64, usize)> = b.chunks_exact(bd).enumerate().map(|(i, v)| (distance(&metric, qv, v), i)).collect();
                d.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                let ids: Vec<usize> = d.iter().take(k).map(|x| x.1).collect();
                writeln!(f, "{}", serde_json::to_string(&ids).unwrap_or_default()).map_err(|e| format!("{out}: {e}"))?;
            }
            Ok(())
        }
        Cmd::Recall { gt, results, k, min } => {
            let gt_text = fs::read_to_string(&gt).map_err(|e| format!("{gt}: {e}"))?;
            let truth: Vec<Vec<usize>> = gt_text
                .lines()
                .map(|l| serde_json::from_str(l).map_err(|e| format!("{gt}: {e}")))
                .collect::<Result<_, _>>()?;
            let res = result_lines(&results)?;
            if res.len() != truth.len() {
                return Err(format!("{results} has {} queries, {gt} has {}", res.len(), truth.len()));
            }
            let mut hit = 0usize;
            for (r, t) in res.iter().zip(&truth) {
                let want: Vec<usize> = t.iter().take(k).copied().collect();
                hit += r.iter().take(k).filter_map(|p| index_of(p)).filter(|i| want.contains(i)).count();
            }
            let recall = hit as f64 / (truth.len() * k) as f64;
            println!("recall@{k} = {recall:.4} over {} queries", truth.len());
            if recall < min {
                return Err(format!("recall@{k} {recall:.4} is below {min}"));
            }
            Ok(())
        }
        Cmd::Overlap { approx, exact, k, min } => {
            let (ra, re) = (result_lines(&approx)?, result_lines(&exact)?);
            if ra.len() != re.len() || ra.is_empty() {
                return Err(format!("{approx} has {} queries, {exact} has {}", ra.len(), re.len()));
            }
            let (mut hit, mut total) = (0usize, 0usize);
            for (a, e) in ra.iter().zip(&re) {
                let want: Vec<&String> = e.iter().take(k).collect();
                total += want.len();
                hit += a.iter().take(k).filter(|p| want.contains(p)).count();
            }
            let r = if total == 0 { 1.0 } else { hit as f64 / total as f64 };
            println!("overlap@{k} with exact results = {r:.4} over {} queries", ra.len());
            if r < min {
                return Err(format!("overlap@{k} {r:.4} is below {min}"));
            }
            Ok(())
        }
        Cmd::Same { a, b, fields } => {
            let fields: Vec<&str> = fields.split(',').collect();
            let pick = |rs: Vec<Vec<serde_json::Value>>| -> Vec<Vec<Vec<serde_json::Value>>> {
                rs.into_iter()
                    .map(|line| {
                        line.iter()
                            .map(|r| fields.iter().map(|f| r.get(*f).cloned().unwrap_or(serde_json::Value::Null)).collect())
                            .collect()
                    })
                    .collect()
            };
            let (ra, rb) = (pick(result_objects(&a)?), pick(result_objects(&b)?));
            if ra.iter().flatten().flatten().any(|v| v.is_null()) {
                return Err(format!("{a}: a result lacks one of the fields {fields:?}"));
            }
            if ra != rb {
                let diff = ra.iter().zip(&rb).filter(|(x, y)| x != y).count();
                return Err(format!("{a} and {b} differ in {diff} of {} queries", ra.len()));
            }
            println!("identical: {} queries ({})", ra.len(), fields.join(","));
            Ok(())
        }
        Cmd::ChunkManifest { base, per_file, chunk_bytes, prefix, out } => {
            let (dim, b) = read_fvecs(&base)?;
            if per_file == 0 {
                return Err("--per-file must be at least 1".into());
            }
            let mut f = std::io::BufWriter::new(fs::File::create(&out).map_err(|e| format!("{out}: {e}"))?);
            for (i, v) in b.chunks_exact(dim).enumerate() {
                let (file, c) = (i / per_file, (i % per_file) as u64);
                let line = serde_json::json!({
                    "path": format!("{prefix}/{file:08}"),
                    "offset": c * chunk_bytes,
                    "length": chunk_bytes,
                    "vector": v,
                });
                writeln!(f, "{line}").map_err(|e| format!("{out}: {e}"))?;
            }
            f.flush().map_err(|e| format!("{out}: {e}"))
        }
        Cmd::ChunkRecall { gt, results, per_file, k, min } => {
            let gt_text = fs::read_to_string(&gt).map_err(|e| format!("{gt}: {e}"))?;
            let truth: Vec<Vec<usize>> = gt_text
                .lines()
                .map(|l| serde_json::from_str(l).map_err(|e| format!("{gt}: {e}")))
                .collect::<Result<_, _>>()?;
            let res = result_objects(&results)?;
            if res.len() != truth.len() {
                return Err(format!("{results} has {} queries, {gt} has {}", res.len(), truth.len()));
            }
            let mut hit = 0usize;
            for (n, (r, t)) in res.iter().zip(&truth).enumerate() {
                let want: Vec<usize> = t.iter().take(k).copied().collect();
                for x in r.iter().take(k) {
                    let (f, c) = chunk_of(&results, n + 1, x)?;
                    hit += want.contains(&(f * per_file + c)) as usize;
                }
            }
            let recall = hit as f64 / (truth.len() * k) as f64;
            println!("chunk recall@{k} = {recall:.4} over {} queries", truth.len());
            if recall < min {
                return Err(format!("chunk recall@{k} {recall:.4} is below {min}"));
            }
            Ok(())
        }
        Cmd::PerFile { base, queries, results, per_file, k, metric, min } => {
            let (bd, b) = read_fvecs(&base)?;
            let (qd, q) = read_fvecs(&queries)?;
            if bd != qd {
                return Err(format!("{base} has dimension {bd}, {queries} has {qd}"));
            }
            let nfiles = b.len() / bd / per_file;
            let res = result_objects(&results)?;
            if res.len() != q.len() / qd {
                return Err(format!("{results} has {} queries, {queries} has {}", res.len(), q.len() / qd));
            }
            let (mut hit, mut total) = (0usize, 0usize);
            for (n, (r, qv)) in res.iter().zip(q.chunks_exact(qd)).enumerate() {
                let line = n + 1;
                // Each file's nearest chunk and its distance.
                let best: Vec<(f64, usize)> = (0..nfiles)
                    .map(|f| {
                        (0..per_file)
                            .map(|c| (distance(&metric, qv, &b[(f * per_file + c) * bd..][..bd]), c))
                            .min_by(|x, y| x.0.total_cmp(&y.0))
                            .unwrap_or((f64::INFINITY, 0))
                    })
                    .collect();
                let want = k.min(nfiles);
                if r.len() != want {
                    return Err(format!("{results}:{line}: {} results, want {want}", r.len()));
                }
                let mut seen = std::collections::HashSet::new();
                for x in r {
                    let (f, c) = chunk_of(&results, line, x)?;
                    if f >= nfiles {
                        return Err(format!("{results}:{line}: file index {f} out of range"));
                    }
                    if !seen.insert(f) {
                        return Err(format!("{results}:{line}: file {f} returned twice"));
                    }
                    let d = distance(&metric, qv, &b[(f * per_file + c) * bd..][..bd]);
                    // The returned chunk must be the file's nearest (ties: equal distance).
                    if d > best[f].0 * (1.0 + 1e-6) + 1e-9 {
                        return Err(format!(
                            "{results}:{line}: file {f} came with chunk {c} at {d}, its nearest is chunk {} at {}",
                            best[f].1, best[f].0
                        ));
                    }
                }
                let mut order: Vec<(f64, usize)> = best.iter().enumerate().map(|(f, x)| (x.0, f)).collect();
                order.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                let exact: Vec<usize> = order.iter().take(want).map(|x| x.1).collect();
                hit += exact.iter().filter(|f| seen.contains(f)).count();
                total += want;
            }
            let recall = if total == 0 { 1.0 } else { hit as f64 / total as f64 };
            println!(
                "per-file: {} queries, distinct files with their nearest chunks; file recall@{k} = {recall:.4}",
                res.len()
            );
            if recall < min {
                return Err(format!("per-file recall@{k} {recall:.4} is below {min}"));
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vexfs-testdata: {e}");
            ExitCode::FAILURE
        }
    }
}
