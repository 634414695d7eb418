//! vexfs-bench: the VexFS core HNSW (the same no_std code the kernel runs)
//! with the vexfs-simd kernels, on TEXMEX-format data (.fvecs / .ivecs).
//!
//! vexfs-bench --base B.fvecs --queries Q.fvecs [--gt GT.ivecs] [--metric l2]
//!   [-M 16] [--ef-construction 200] [--ef 10,20,40,80,160] [--threads 1]
//!   [--quant f32|int8] [--rerank N] [--json]
//!
//! Prints build time, bytes per vector (graph words + float32 vectors,
//! divided by the number of vectors; per-searcher scratch not included) and,
//! for each ef, recall@10 and queries per second. Without --gt the exact
//! ground truth is computed by brute force with the same kernels.
//! Cosine searches unit-length copies of the vectors (normalised once).
//! `--quant int8` is the compressed mode: the graph is built on float32,
//! then int8 codes (`vexfs_simd::quant`) steer the search and the best
//! `--rerank` candidates are re-ranked in float32
//! (`Graph::search_knn_rerank`); bytes per vector then counts the graph and
//! the codes, and the float32 vectors are reported apart.
//! The float vectors and the graph live in memory advised for transparent
//! huge pages (`--no-huge-pages`: 4 KiB pages), as the kernel reads them from
//! the page cache through the direct map's large pages; `huge_page_bytes` is
//! how much of the process the kernel backed with them.
//! Both providers take the search's prefetch hint (`DistanceProvider::prefetch`,
//! the first two cache lines of each neighbour's vector or code record while
//! a batch is gathered); the kernel's callback providers do not.
//! With --json: exactly one JSON object
//! {"mode": "f32"|"int8", "kernels": "avx512"|"avx2+fma"|"sse2", "build_s": F, "quant_s": F, "bytes_per_vector": F,
//!  "float_bytes_per_vector": F, "huge_pages": B, "huge_page_bytes": N, "results": [{"ef": N, "recall": F, "qps": F, "dists_per_query": F}, ...]}.

use clap::Parser;
use std::process::ExitCode;
use std::time::Instant;
use vexfs_core::hnsw::{scratch_size, DistanceProvider, Graph, Hit, HnswError, Params, Query, Scratch};
use vexfs_simd::{Kernel, CAP_AVX512, METRIC_COSINE, METRIC_DOT, METRIC_L2};

#[path = "../bench/texmex.rs"]
mod texmex;

#[derive(Parser, Debug)]
#[command(name = "vexfs-bench", about = "Benchmark the VexFS core HNSW on .fvecs data")]
struct Args {
    /// Base vectors (.fvecs)
    #[arg(long)]
    base: String,
    /// Query vectors (.fvecs)
    #[arg(long)]
    queries: String,
    /// Ground truth (.ivecs); computed exactly when absent
    #[arg(long)]
    gt: Option<String>,
    /// l2 | cosine | ip (dot)
    #[arg(long, default_value = "l2")]
    metric: String,
    /// HNSW M (M0 = 2M)
    #[arg(short = 'M', long = "M", default_value_t = 16)]
    m: u32,
    /// ef_construction
    #[arg(long = "ef-construction", default_value_t = 200)]
    ef_construction: u32,
    /// Comma-separated ef_search values
    #[arg(long, default_value = "10,20,40,80,160", value_delimiter = ',')]
    ef: Vec<u32>,
    /// Query threads (the build is single-threaded)
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Recall@k
    #[arg(short = 'k', long, default_value_t = 10)]
    k: usize,
    /// Print exactly one JSON object
    #[arg(long)]
    json: bool,
    /// Run each ef pass this many times and report the fastest (the
    /// machine may be shared; recall is identical across runs)
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Measure CPU time of the process (all threads) instead of wall time:
    /// fairer on a machine shared with other work. QPS is then per CPU second.
    #[arg(long)]
    cpu_time: bool,
    /// Use only the SSE2 kernels even if the CPU has AVX2+FMA
    #[arg(long)]
    no_avx2: bool,
    /// Use at most the AVX2+FMA kernels even if the CPU has AVX-512F
    #[arg(long)]
    no_avx512: bool,
    /// Cosine: recompute the stored vector's norm at every distance instead
    /// of searching unit-length copies (for comparison)
    #[arg(long)]
    cosine_norm_each: bool,
    /// Start the base vectors 16 bytes past a cache line (where malloc put
    /// them) instead of on one (for comparison)
    #[arg(long)]
    unaligned_vectors: bool,
    /// Keep the float vectors and the graph in 4 KiB pages instead of
    /// asking for transparent huge pages (for comparison)
    #[arg(long)]
    no_huge_pages: bool,
    /// Compressed search mode: `int8` (scalar-quantised codes steer the walk,
    /// float32 re-ranks); `f32` (default) searches the float vectors only.
    /// The graph is built on float32 either way.
    #[arg(long, default_value = "f32")]
    quant: String,
    /// With --quant int8: how many of the beam's best candidates are
    /// re-ranked in float32 (at least k; 0 = the whole beam of ef)
    #[arg(long, default_value_t = 0)]
    rerank: usize,
}

/// Zeroed memory for the float vectors and the graph words: an anonymous
/// mapping, 2 MiB aligned, advised for transparent huge pages unless `huge`
/// is false. The kernel reads both from page-cache pages through the direct
/// map, which x86-64 maps with 2 MiB / 1 GiB pages; with 4 KiB pages a random
/// 384-d vector costs this process a TLB miss the kernel does not pay. (The
/// int8 codes stay in ordinary memory: the kernel keeps them in vmalloc'ed
/// slot groups, mapped with 4 KiB pages.) Elements must be plain numbers
/// (all-zero is valid).
struct IndexBuf<T: Copy> {
    base: *mut libc::c_void,
    map_len: usize,
    ptr: *mut T,
    len: usize,
}

// SAFETY: IndexBuf owns its mapping exclusively, like a Vec<T> of plain numbers.
unsafe impl<T: Copy + Send> Send for IndexBuf<T> {}
// SAFETY: shared access only reads through `as_slice`.
unsafe impl<T: Copy + Sync> Sync for IndexBuf<T> {}

const HUGE_PAGE: usize = 2 << 20;

impl<T: Copy> IndexBuf<T> {
    /// `len` zeroed elements, the first `skip` bytes past a 2 MiB boundary
    /// (`skip` a multiple of T's alignment).
    fn zeroed(len: usize, huge: bool, skip: usize) -> Result<Self, String> {
        let bytes = len.checked_mul(std::mem::size_of::<T>()).and_then(|b| b.checked_add(skip)).ok_or("buffer size overflows")?;
        let map_len = bytes.div_ceil(HUGE_PAGE).max(1) * HUGE_PAGE + HUGE_PAGE;
        // SAFETY: a new private anonymous mapping (no file, no fixed
        // address); the result is checked before use.
        let base = unsafe {
            libc::mmap(std::ptr::null_mut(), map_len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if base == libc::MAP_FAILED {
            return Err(format!("mmap of {map_len} bytes: {}", std::io::Error::last_os_error()));
        }
        let lead = (base as usize).next_multiple_of(HUGE_PAGE) - base as usize;
        if huge {
            // SAFETY: the range lies inside the mapping made above.
            // Advice only: without THP the buffer is still correct memory.
            unsafe { libc::madvise((base as *mut u8).add(lead) as *mut libc::c_void, map_len - lead, libc::MADV_HUGEPAGE) };
        }
        // SAFETY: lead + skip + len * size_of::<T>() <= map_len by the
        // rounding above, and the address is T-aligned (2 MiB + skip).
        let ptr = unsafe { (base as *mut u8).add(lead + skip) } as *mut T;
        Ok(IndexBuf { base, map_len, ptr, len })
    }

    fn copied(v: &[T], huge: bool, skip: usize) -> Result<Self, String> {
        let mut b = Self::zeroed(v.len(), huge, skip)?;
        b.as_mut_slice().copy_from_slice(v);
        Ok(b)
    }

    fn as_slice(&self) -> &[T] {
        // SAFETY: ptr..ptr+len lies in the live mapping, zero-initialised or
        // written since, and T is a plain number type.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as in as_slice; &mut self makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T: Copy> Drop for IndexBuf<T> {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `zeroed`; no slice of it
        // outlives self (they borrow it).
        unsafe { libc::munmap(self.base, self.map_len) };
    }
}

/// Bytes of this process's anonymous memory backed by transparent huge
/// pages (AnonHugePages of /proc/self/smaps_rollup; 0 when unknown).
fn anon_huge_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("AnonHugePages:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Distances for the compressed mode: the input query against int8 code
/// records (`vexfs_simd::quant`); stored-node queries (not used by kNN
/// search) go to the float32 provider.
struct QuantProvider<'a> {
    caps: u32,
    /// Bytes per code record.
    rec: usize,
    pq: vexfs_simd::quant::PreparedQuery,
    w: &'a [i16],
    codes: &'a [u8],
    exact: Provider<'a>,
}

impl DistanceProvider for QuantProvider<'_> {
    #[inline]
    fn dist_batch(&mut self, q: Query, ids: &[u32], out: &mut [u32]) -> Result<(), HnswError> {
        match q {
            Query::Input => vexfs_simd::quant::dist_batch(self.caps, &self.pq, self.w, self.codes, ids, out).map_err(|_| HnswError::Provider(-22)),
            Query::Node(_) => self.exact.dist_batch(q, ids, out),
        }
    }

    #[inline(always)]
    fn prefetch(&self, id: u32) {
        let start = id as usize * self.rec;
        if let Some(c) = self.codes.get(start..start + self.rec) {
            vexfs_simd::prefetch_head(c, HINT_LINES);
        }
    }
}

/// Cache lines of a vector (or code record) the search's `prefetch` hint
/// loads: the first two (the pair the CPU's adjacent-line prefetcher fetches
/// together). The distance loop's own prefetches and the hardware's stream
/// detection fetch the rest. Measured on the 384-d real embeddings, one
/// process alternating settings (2026-12-07, best of 6 each, ef 20 / 80):
/// no hint 22,299 / 8,302 q/s, 1 line 24,241 / 7,987, 2 lines 25,073 /
/// 9,028, 3 lines 23,405 / 7,998.
const HINT_LINES: usize = 2;

/// The int8 codes of every base vector and the quantiser they were made with.
struct Codes {
    min: Vec<f32>,
    scale: Vec<f32>,
    records: Vec<u8>,
}

/// Trains per-dimension min / scale on `base` (unit rows for cosine) and
/// encodes every row.
fn quantize(base: &[f32], dim: usize) -> Result<Codes, String> {
    let (mut min, mut scale) = (vec![0f32; dim], vec![0f32; dim]);
    vexfs_simd::quant::train(base, &mut min, &mut scale).map_err(|e| format!("quantiser training: {e:?}"))?;
    let rec = vexfs_simd::quant::code_bytes(dim);
    let mut records = vec![0u8; base.len() / dim * rec];
    {
        let qz = vexfs_simd::quant::Quantizer::new(&min, &scale).map_err(|e| format!("quantiser: {e:?}"))?;
        for (v, c) in base.chunks_exact(dim).zip(records.chunks_exact_mut(rec)) {
            qz.encode(v, c).map_err(|e| format!("encode: {e:?}"))?;
        }
    }
    Ok(Codes { min, scale, records })
}

/// Distances over a slot-indexed float32 array. With `unit` (cosine only)
/// `base` and `query` hold unit-length copies and the kernel skips the
/// per-distance norm.
#[derive(Clone, Copy)]
struct Provider<'a> {
    kernel: Kernel,
    unit: bool,
    base: &'a [f32],
    dim: usize,
    query: &'a [f32],
}

impl DistanceProvider for Provider<'_> {
    #[inline]
    fn dist_batch(&mut self, q: Query, ids: &[u32], out: &mut [u32]) -> Result<(), HnswError> {
        let qv = match q {
            Query::Input => self.query,
            Query::Node(n) => {
                let s = (n as usize).checked_mul(self.dim).ok_or(HnswError::Provider(-22))?;
                self.base.get(s..s + self.dim).ok_or(HnswError::Provider(-22))?
            }
        };
        let r = if self.unit {
            self.kernel.dist_batch_strided_unit(qv, self.base, self.dim, ids, out)
        } else {
            self.kernel.dist_batch_strided(qv, self.base, self.dim, ids, out)
        };
        r.map_err(|_| HnswError::Provider(-22))
    }

    #[inline(always)]
    fn prefetch(&self, id: u32) {
        let start = id as usize * self.dim;
        if let Some(v) = self.base.get(start..start + self.dim) {
            vexfs_simd::prefetch_head(v, HINT_LINES);
        }
    }
}

fn caps(no_avx2: bool, no_avx512: bool) -> u32 {
    let c = vexfs_tools::host_simd_caps();
    if no_avx2 {
        0
    } else if no_avx512 {
        c & !CAP_AVX512
    } else {
        c
    }
}

fn run(a: &Args) -> Result<(), String> {
    let metric = match a.metric.as_str() {
        "l2" | "L2" | "euclidean" => METRIC_L2,
        "cosine" | "angular" => METRIC_COSINE,
        "ip" | "dot" | "inner_product" => METRIC_DOT,
        m => return Err(format!("unknown metric {m:?} (l2, cosine, ip)")),
    };
    if a.k == 0 || a.threads == 0 || a.ef.is_empty() {
        return Err("k, threads and the ef list must be non-zero".into());
    }
    let int8 = match a.quant.as_str() {
        "f32" | "none" => false,
        "int8" | "i8" | "sq8" => true,
        q => return Err(format!("unknown --quant {q:?} (f32, int8)")),
    };
    if int8 && metric == METRIC_COSINE && a.cosine_norm_each {
        return Err("--quant int8 with cosine encodes unit-length vectors: drop --cosine-norm-each".into());
    }
    let (mut base, dim, n) = texmex::read_fvecs(&a.base)?;
    let (mut queries, qdim, nq) = texmex::read_fvecs(&a.queries)?;
    if qdim != dim {
        return Err(format!("query dimension {qdim} differs from base dimension {dim}"));
    }
    if !vexfs_core::hnsw::vector_in_range(&base) || !vexfs_core::hnsw::vector_in_range(&queries) {
        return Err("input holds NaN, Inf or an element >= 2^56 in magnitude".into());
    }
    let caps = caps(a.no_avx2, a.no_avx512);
    let kernel = Kernel::new(metric, caps).map_err(|e| format!("{e:?}"))?;
    let k = a.k;
    let gt: Vec<Vec<u32>> = match &a.gt {
        Some(p) => {
            let (g, gdim, gn) = texmex::read_ivecs(p)?;
            if gn < nq || gdim < k {
                return Err(format!("ground truth has {gn} rows of {gdim}, need {nq} of >= {k}"));
            }
            (0..nq).map(|i| g[i * gdim..i * gdim + k].iter().map(|&x| x as u32).collect()).collect()
        }
        None => texmex::brute_force(&kernel, &base, &queries, dim, k, a.threads),
    };
    // Cosine as hnswlib does it: normalise once, then one dot product per
    // distance (the distance stays 1 - cos). The copies replace the input.
    let unit = metric == METRIC_COSINE && !a.cosine_norm_each;
    if unit {
        for row in base.chunks_exact_mut(dim).chain(queries.chunks_exact_mut(dim)) {
            vexfs_simd::normalize(row);
        }
    }

    // The base vectors start on a cache line (a 2 MiB boundary): a 384-d
    // float32 vector then spans 24 lines instead of the 25 it spans at
    // malloc's 16-byte alignment, and a search reads that many fewer.
    let huge = !a.no_huge_pages;
    let store = IndexBuf::copied(&base, huge, if a.unaligned_vectors { 16 } else { 0 })?;
    drop(base);
    let base = store.as_slice();

    let n32 = u32::try_from(n).map_err(|_| "too many base vectors")?;
    let mut prm = Params::new(n32, a.m, a.ef_construction, metric, dim as u32);
    prm.seed = 42;
    let ef_max = a.ef.iter().copied().max().unwrap_or(10).max(a.ef_construction).max(k as u32);
    let mut words = IndexBuf::<u32>::zeroed(Graph::words_needed(&prm).map_err(|e| format!("{e:?}"))?, huge, 0)?;
    let sz = scratch_size(n32, a.m, ef_max);
    let mut s32 = vec![0u32; sz.u32_words];
    let mut s64 = vec![0u64; sz.u64_words];

    let t0 = now(a.cpu_time);
    let mut g = Graph::create(words.as_mut_slice(), &prm).map_err(|e| format!("{e:?}"))?;
    // Distances computed by the build (deterministic, unlike its time).
    let build_dists;
    {
        let mut s = Scratch::new(&mut s32, &mut s64, n32, a.m, ef_max).map_err(|e| format!("{e:?}"))?;
        let mut p = Provider { kernel, unit, base, dim, query: &[] };
        for i in 0..n32 {
            g.insert(&mut p, &mut s, i, i as u64).map_err(|e| format!("insert {i}: {e:?}"))?;
        }
        build_dists = s.dist_count;
    }
    let graph_s = now(a.cpu_time) - t0;
    let t1 = now(a.cpu_time);
    let codes = if int8 { Some(quantize(base, dim)?) } else { None };
    let quant_s = now(a.cpu_time) - t1;
    let build_s = graph_s + quant_s;
    let graph_bytes = g.words().len() * 4;
    // Resident per vector: the graph plus, in f32 mode, the float vectors;
    // in int8 mode the code records and the quantiser, with the float
    // vectors (read only to re-rank; the page cache in the kernel) apart.
    let float_bytes = base.len() * 4;
    let code_bytes = codes.as_ref().map_or(0, |c| c.records.len() + (c.min.len() + c.scale.len()) * 4);
    let bytes_per_vector = (graph_bytes + if int8 { code_bytes } else { float_bytes }) as f64 / n as f64;

    let mut results = Vec::new();
    for &ef in &a.ef {
        let mut secs = f64::INFINITY;
        let mut found = Vec::new();
        let mut dists = 0u64;
        for _ in 0..a.repeat.max(1) {
            let t = now(a.cpu_time);
            let p = Provider { kernel, unit, base, dim, query: &[] };
            let steer = codes.as_ref().map(|c| (c, caps, if a.rerank == 0 { usize::MAX } else { a.rerank }));
            (found, dists) = search_all(&g, p, steer, &queries, nq, k, ef as usize, a.m, ef_max, a.threads)?;
            secs = secs.min(now(a.cpu_time) - t);
        }
        let mut hits = 0usize;
        for (f, t) in found.iter().zip(gt.iter()) {
            hits += f.iter().filter(|x| t.contains(x)).count();
        }
        let recall = hits as f64 / (nq * k) as f64;
        results.push((ef, recall, nq as f64 / secs, dists as f64 / nq as f64));
    }

    // Measured after the searches: how much of the process's memory the
    // kernel actually backed with huge pages (the advice can go unheeded).
    let huge_bytes = anon_huge_bytes();
    if a.json {
        // Keys in the documented order (serde_json's default map would sort them).
        let res: Vec<String> = results
            .iter()
            .map(|(ef, r, q, d)| format!("{{\"ef\": {ef}, \"recall\": {}, \"qps\": {}, \"dists_per_query\": {}}}", num(*r), num(*q), num(*d)))
            .collect();
        let out = format!(
            "{{\"mode\": \"{}\", \"kernels\": \"{}\", \"build_s\": {}, \"quant_s\": {}, \"bytes_per_vector\": {}, \"float_bytes_per_vector\": {}, \"huge_pages\": {}, \"huge_page_bytes\": {}, \"results\": [{}]}}",
            if int8 { "int8" } else { "f32" },
            kernel.isa_name(),
            num(build_s),
            num(quant_s),
            num(bytes_per_vector),
            num(float_bytes as f64 / n as f64),
            huge,
            huge_bytes,
            res.join(", ")
        );
        // Self-check: the line must be valid JSON.
        serde_json::from_str::<serde_json::Value>(&out).map_err(|e| format!("internal JSON error: {e}"))?;
        println!("{out}");
    } else {
        println!(
            "vexfs-bench: n={n} dim={dim} queries={nq} metric={} M={} ef_construction={} kernels={} threads={}",
            a.metric,
            a.m,
            a.ef_construction,
            kernel.isa_name(),
            a.threads
        );
        println!(
            "build: {build_s:.2} s ({:.0} inserts/s, {:.0} dists/insert), top level {}",
            n as f64 / build_s,
            build_dists as f64 / n as f64,
            g.top_level()
        );
        if int8 {
            println!("int8 codes: trained and encoded in {quant_s:.2} s (included in build), re-rank {}", if a.rerank == 0 { "whole beam".to_string() } else { a.rerank.to_string() });
            println!(
                "bytes per vector: {bytes_per_vector:.1} resident (graph {:.1} + codes and quantiser {:.1}); float32 vectors for re-ranking {} more (page cache in the kernel)",
                graph_bytes as f64 / n as f64,
                code_bytes as f64 / n as f64,
                dim * 4
            );
        } else {
            println!("bytes per vector: {bytes_per_vector:.1} (graph {:.1} + vector {})", graph_bytes as f64 / n as f64, dim * 4);
        }
        println!(
            "memory: {} ({:.1} MiB of the process in huge pages)",
            if huge { "transparent huge pages advised" } else { "4 KiB pages (--no-huge-pages)" },
            huge_bytes as f64 / (1 << 20) as f64
        );
        println!("{:>6} {:>10} {:>12} {:>14}", "ef", "recall@10", "qps", "dists/query");
        for (ef, r, q, d) in &results {
            println!("{ef:>6} {r:>10.4} {q:>12.0} {d:>14.1}");
        }
    }
    Ok(())
}

/// Seconds on the wall clock, or of process CPU time.
fn now(cpu: bool) -> f64 {
    if cpu {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec into a valid local.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// A JSON number (finite; non-finite values become 0).
fn num(f: f64) -> String {
    if f.is_finite() {
        let v = serde_json::Value::from(f);
        v.to_string()
    } else {
        "0".into()
    }
}

#[allow(clippy::too_many_arguments)]
fn search_all(
    g: &Graph,
    p0: Provider<'_>,
    steer: Option<(&Codes, u32, usize)>,
    queries: &[f32],
    nq: usize,
    k: usize,
    ef: usize,
    m: u32,
    ef_max: u32,
    threads: usize,
) -> Result<(Vec<Vec<u32>>, u64), String> {
    let cap = g.capacity();
    let dim = p0.dim;
    let per = nq.div_ceil(threads);
    let chunks: Vec<(usize, usize)> = (0..threads).map(|t| (t * per, ((t + 1) * per).min(nq))).filter(|(a, b)| a < b).collect();
    let parts: Vec<Result<(Vec<Vec<u32>>, u64), String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = chunks
            .iter()
            .map(|&(lo, hi)| {
                sc.spawn(move || {
                    let sz = scratch_size(cap, m, ef_max);
                    let mut s32 = vec![0u32; sz.u32_words];
                    let mut s64 = vec![0u64; sz.u64_words];
                    let mut s = Scratch::new(&mut s32, &mut s64, cap, m, ef_max).map_err(|e| format!("{e:?}"))?;
                    let mut out = vec![Hit::default(); k];
                    let mut res = Vec::with_capacity(hi - lo);
                    let mut w = vec![0i16; dim];
                    for qi in lo..hi {
                        let query = &queries[qi * dim..(qi + 1) * dim];
                        let mut p = Provider { query, ..p0 };
                        let c = match steer {
                            None => g.search_knn(&mut p, &mut s, k, ef, |_| true, &mut out),
                            Some((codes, caps, rerank)) => {
                                let qz = vexfs_simd::quant::Quantizer::new(&codes.min, &codes.scale).map_err(|e| format!("{e:?}"))?;
                                let pq = qz.prepare(p0.kernel.metric(), query, &mut w).map_err(|e| format!("{e:?}"))?;
                                let mut qp = QuantProvider { caps, rec: vexfs_simd::quant::code_bytes(dim), pq, w: &w, codes: &codes.records, exact: p };
                                g.search_knn_rerank(&mut qp, &mut p, &mut s, k, ef, rerank, |_| true, &mut out)
                            }
                        }
                        .map_err(|e| format!("{e:?}"))?;
                        res.push(out[..c].iter().map(|h| h.slot).collect());
                    }
                    Ok((res, s.dist_count))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("search thread panicked".into()))).collect()
    });
    let mut all = Vec::with_capacity(nq);
    let mut dists = 0u64;
    for p in parts {
        let (r, d) = p?;
        all.extend(r);
        dists += d;
    }
    Ok((all, dists))
}

fn main() -> ExitCode {
    let a = Args::parse();
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vexfs-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_vecs(path: &std::path::Path, rows: &[Vec<u32>]) {
        let mut b = Vec::new();
        for r in rows {
            b.extend_from_slice(&(r.len() as u32).to_le_bytes());
            for x in r {
                b.extend_from_slice(&x.to_le_bytes());
            }
        }
        std::fs::write(path, b).unwrap();
    }

    #[test]
    fn texmex_round_trip_and_run() {
        let dir = std::env::temp_dir().join(format!("vexfs-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut x = 12345u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let base: Vec<Vec<f32>> = (0..500).map(|_| (0..16).map(|_| rnd()).collect()).collect();
        let queries: Vec<Vec<f32>> = (0..20).map(|_| (0..16).map(|_| rnd()).collect()).collect();
        let bits = |v: &Vec<Vec<f32>>| v.iter().map(|r| r.iter().map(|f| f.to_bits()).collect()).collect::<Vec<Vec<u32>>>();
        write_vecs(&dir.join("b.fvecs"), &bits(&base));
        write_vecs(&dir.join("q.fvecs"), &bits(&queries));
        let (flat, dim, n) = texmex::read_fvecs(dir.join("b.fvecs").to_str().unwrap()).unwrap();
        assert_eq!((dim, n), (16, 500));
        assert_eq!(flat[17], base[1][1]);
        // exact ground truth, written as ivecs and read back
        let qflat: Vec<f32> = queries.concat();
        let k = Kernel::new(METRIC_L2, 0).unwrap();
        let gt = texmex::brute_force(&k, &flat, &qflat, 16, 10, 2);
        for (qi, row) in gt.iter().enumerate() {
            let mut d: Vec<(f32, u32)> = base.iter().enumerate().map(|(i, b)| (vexfs_simd::scalar::l2(&queries[qi], b), i as u32)).collect();
            d.sort_by(|a, b| a.partial_cmp(b).unwrap());
            assert_eq!(row[0], d[0].1);
        }
        write_vecs(&dir.join("gt.ivecs"), &gt);
        let (g2, gdim, gn) = texmex::read_ivecs(dir.join("gt.ivecs").to_str().unwrap()).unwrap();
        assert_eq!((gdim, gn), (10, 20));
        assert_eq!(g2[0] as u32, gt[0][0]);
        let args = Args::parse_from([
            "vexfs-bench",
            "--base",
            dir.join("b.fvecs").to_str().unwrap(),
            "--queries",
            dir.join("q.fvecs").to_str().unwrap(),
            "--gt",
            dir.join("gt.ivecs").to_str().unwrap(),
            "-M",
            "8",
            "--ef-construction",
            "64",
            "--ef",
            "10,200",
            "--json",
        ]);
        run(&args).unwrap();
        // compressed mode, both metrics that quantise differently
        for metric in ["l2", "cosine"] {
            let args = Args::parse_from([
                "vexfs-bench",
                "--base",
                dir.join("b.fvecs").to_str().unwrap(),
                "--queries",
                dir.join("q.fvecs").to_str().unwrap(),
                "--metric",
                metric,
                "-M",
                "8",
                "--ef-construction",
                "64",
                "--ef",
                "10,200",
                "--quant",
                "int8",
                "--rerank",
                "20",
                "--json",
            ]);
            run(&args).unwrap();
        }
        let args = Args::parse_from(["vexfs-bench", "--base", dir.join("b.fvecs").to_str().unwrap(), "--queries", dir.join("q.fvecs").to_str().unwrap(), "--quant", "pq"]);
        assert!(run(&args).is_err());
        // bad inputs are errors, not panics
        std::fs::write(dir.join("bad.fvecs"), [1u8, 2, 3]).unwrap();
        assert!(texmex::read_fvecs(dir.join("bad.fvecs").to_str().unwrap()).is_err());
        let args = Args::parse_from(["vexfs-bench", "--base", dir.join("b.fvecs").to_str().unwrap(), "--queries", dir.join("q.fvecs").to_str().unwrap(), "--metric", "hamming"]);
        assert!(run(&args).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
