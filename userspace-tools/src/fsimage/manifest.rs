//! The vector manifest of `mkfs.vexfs -d DIR --manifest M.jsonl
//! [--vectors V.fvecs|V.npy]`, read line by line into compact chunk entries
//! and one array of vectors (no per-line JSON object is kept: a bulk load of
//! a million chunks costs ~24 bytes per chunk beyond its vector).
//!
//! Lines (blank ones and those starting with '#' are skipped):
//! - `{"path": P, "vector": [...]}`: P's whole-file vector, a one-chunk set
//!   (offset 0, length 0); it must be P's only line.
//! - `{"path": P, "offset": O, "length": L, "vector": [...]}`: one chunk of
//!   P; all such lines of P form its set, chunk c = its c-th line.
//! - either form with `"row": N` instead of `"vector"`: row N (from 0) of
//!   the `--vectors` file (fvecs: per row an i32 dimension then that many
//!   f32; npy: a 2-D little-endian float32 C-order array).
//!
//! Every vector has the filesystem's dimension and finite components below
//! 2^56 in magnitude; offset + length must not overflow; a set holds at
//! most VEXFS_MAX_CHUNKS chunks. Paths are relative to DIR (a leading "./"
//! or "/" is ignored, ".." refused).
use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, Read};
use std::path::Path;

use vexfs_core::format::VEXFS_MAX_CHUNKS;
use vexfs_core::hnsw::chunks::range_ok;
use vexfs_core::hnsw::vector_in_range;

/// One chunk line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManifestChunk {
    /// Index into `Manifest::paths`.
    pub file: u32,
    /// Manifest line (from 1).
    pub line: u32,
    pub offset: u64,
    pub length: u64,
    /// Row of `Manifest::vectors`.
    pub src: u32,
}

/// A parsed manifest.
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    pub dim: u32,
    /// Distinct normalised paths, in order of first appearance.
    pub paths: Vec<String>,
    /// Every chunk, in line order.
    pub chunks: Vec<ManifestChunk>,
    /// Vectors, `dim` floats per row: the `--vectors` file's rows, then the
    /// vectors carried by the lines.
    pub vectors: Vec<f32>,
}

impl Manifest {
    /// Row `src` of the vectors.
    pub fn vector(&self, src: u32) -> &[f32] {
        let d = self.dim as usize;
        &self.vectors[src as usize * d..(src as usize + 1) * d]
    }
}

/// Normalise a manifest path: relative to DIR, no "." components.
pub fn norm_path(p: &str) -> Option<String> {
    let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if parts.is_empty() || parts.iter().any(|c| *c == "..") {
        return None;
    }
    Some(parts.join("/"))
}

/// What is known of a path while reading.
struct PathState {
    first_line: u32,
    whole: bool,
    chunks: u32,
}

/// Read and check a manifest (and its vectors file).
pub fn read_manifest(path: &Path, dim: u32, vectors: Option<&Path>) -> Result<Manifest, String> {
    let mut m = Manifest { dim, ..Default::default() };
    let rows = match vectors {
        Some(v) => {
            m.vectors = read_vectors(v, dim)?;
            m.vectors.len() / dim as usize
        }
        None => 0,
    };
    let vname = vectors.map(|v| v.display().to_string()).unwrap_or_default();
    let f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut state: Vec<PathState> = Vec::new();
    let mut reader = io::BufReader::with_capacity(1 << 20, f);
    let mut line = String::new();
    let mut n: u32 = 0;
    loop {
        line.clear();
        let got = reader.read_line(&mut line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        if got == 0 {
            break;
        }
        n = n.checked_add(1).ok_or_else(|| format!("{}: more than {} lines", path.display(), u32::MAX))?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let at = |msg: String| format!("{}:{n}: {msg}", path.display());
        let v: serde_json::Value = serde_json::from_str(t).map_err(|e| at(format!("not JSON: {e}")))?;
        let p = v.get("path").and_then(|p| p.as_str()).ok_or_else(|| at("no \"path\" string".into()))?;
        let np = norm_path(p).ok_or_else(|| at(format!("bad path {p:?} (must name a file under the directory)")))?;
        let num = |k: &str| -> Result<Option<u64>, String> {
            match v.get(k) {
                None => Ok(None),
                Some(x) => x.as_u64().map(Some).ok_or_else(|| at(format!("\"{k}\" is not a non-negative integer"))),
            }
        };
        let (offset, length) = match (num("offset")?, num("length")?) {
            (Some(o), Some(l)) => {
                if !range_ok(o, l) {
                    return Err(at(format!("offset {o} + length {l} overflows")));
                }
                (Some(o), l)
            }
            (None, None) => (None, 0),
            _ => return Err(at("\"offset\" and \"length\" go together (a chunk needs both)".into())),
        };
        let src = match (v.get("vector"), num("row")?) {
            (Some(_), Some(_)) => return Err(at("both \"vector\" and \"row\": give one".into())),
            (None, None) => return Err(at("no \"vector\" array (or \"row\" with --vectors)".into())),
            (None, Some(r)) => {
                if vectors.is_none() {
                    return Err(at("\"row\" needs --vectors V.fvecs or V.npy".into()));
                }
                if r >= rows as u64 {
                    return Err(at(format!("row {r} but {vname} has {rows} rows")));
                }
                let r = r as usize;
                if !vector_in_range(&m.vectors[r * dim as usize..(r + 1) * dim as usize]) {
                    return Err(at(format!("row {r} of {vname} holds NaN, Inf or a value of magnitude >= 2^56")));
                }
                r as u32
            }
            (Some(a), None) => {
                let arr = a.as_array().ok_or_else(|| at("\"vector\" is not an array".into()))?;
                if arr.len() != dim as usize {
                    return Err(at(format!("vector of {} components, the filesystem's dimension is {dim}", arr.len())));
                }
                let src = m.vectors.len() / dim as usize;
                if src >= u32::MAX as usize {
                    return Err(at("too many vectors".into()));
                }
                for x in arr {
                    let f = x.as_f64().ok_or_else(|| at("vector holds a non-number".into()))? as f32;
                    if !vector_in_range(&[f]) {
                        return Err(at("vector holds a value that is not a finite float32 below 2^56".into()));
                    }
                    m.vectors.push(f);
                }
                src as u32
            }
        };
        let file = match index.get(&np) {
            Some(&i) => i,
            None => {
                let i = m.paths.len() as u32;
                index.insert(np.clone(), i);
                m.paths.push(np.clone());
                state.push(PathState { first_line: n, whole: offset.is_none(), chunks: 0 });
                i
            }
        };
        let st = &mut state[file as usize];
        if st.chunks > 0 && (st.whole || offset.is_none()) {
            return Err(at(format!(
                "{np:?} already has a vector (line {}): a file has one whole-file line or chunk lines \
                 with \"offset\" and \"length\"",
                st.first_line
            )));
        }
        if st.chunks >= VEXFS_MAX_CHUNKS {
            return Err(at(format!("{np:?} has more than {VEXFS_MAX_CHUNKS} chunks")));
        }
        st.chunks += 1;
        m.chunks.push(ManifestChunk { file, line: n, offset: offset.unwrap_or(0), length, src });
    }
    Ok(m)
}

/// Read every row of a `.fvecs` or `.npy` float32 file of dimension `dim`.
pub fn read_vectors(path: &Path, dim: u32) -> Result<Vec<f32>, String> {
    let name = path.display().to_string();
    let f = fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let len = f.metadata().map_err(|e| format!("{name}: {e}"))?.len();
    let mut r = io::BufReader::with_capacity(1 << 20, f);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let d = dim as u64;
    let mut out: Vec<f32>;
    let read_floats = |r: &mut io::BufReader<fs::File>, out: &mut Vec<f32>, n: usize| -> io::Result<()> {
        let mut buf = vec![0u8; 4 * n];
        r.read_exact(&mut buf)?;
        out.extend(buf.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        Ok(())
    };
    match ext.as_str() {
        "fvecs" => {
            let row = 4 + 4 * d;
            if len % row != 0 {
                return Err(format!("{name}: {len} bytes is not a whole number of {row}-byte fvecs rows of dimension {dim}"));
            }
            let rows = len / row;
            if rows > u32::MAX as u64 {
                return Err(format!("{name}: more than {} rows", u32::MAX));
            }
            out = Vec::with_capacity((rows * d) as usize);
            let mut hdr = [0u8; 4];
            for i in 0..rows {
                r.read_exact(&mut hdr).map_err(|e| format!("{name}: row {i}: {e}"))?;
                let rd = i32::from_le_bytes(hdr);
                if rd != dim as i32 {
                    return Err(format!("{name}: row {i} has dimension {rd}, the filesystem's is {dim}"));
                }
                // Rows of 1..=4096 floats: one read each.
                read_floats(&mut r, &mut out, dim as usize).map_err(|e| format!("{name}: row {i}: {e}"))?;
            }
        }
        "npy" => {
            let mut magic = [0u8; 8];
            r.read_exact(&mut magic).map_err(|e| format!("{name}: {e}"))?;
            if &magic[..6] != b"\x93NUMPY" {
                return Err(format!("{name}: not a .npy file (bad magic)"));
            }
            let hlen = match magic[6] {
                1 => {
                    let mut b = [0u8; 2];
                    r.read_exact(&mut b).map_err(|e| format!("{name}: {e}"))?;
                    u16::from_le_bytes(b) as u64
                }
                2 | 3 => {
                    let mut b = [0u8; 4];
                    r.read_exact(&mut b).map_err(|e| format!("{name}: {e}"))?;
                    u32::from_le_bytes(b) as u64
                }
                v => return Err(format!("{name}: .npy format version {v} unknown")),
            };
            let pre = if magic[6] == 1 { 10 } else { 12 };
            let mut h = vec![0u8; hlen as usize];
            r.read_exact(&mut h).map_err(|e| format!("{name}: header: {e}"))?;
            let h = String::from_utf8_lossy(&h).into_owned();
            let rows = npy_rows(&h, dim).map_err(|e| format!("{name}: {e}"))?;
            if len != pre + hlen + rows * d * 4 {
                return Err(format!("{name}: {len} bytes, but its header says {rows} x {dim} float32"));
            }
            if rows > u32::MAX as u64 {
                return Err(format!("{name}: more than {} rows", u32::MAX));
            }
            out = Vec::with_capacity((rows * d) as usize);
            let per = (1 << 20) / (4 * d as usize) + 1;
            let mut left = rows as usize;
            while left > 0 {
                let k = left.min(per);
                read_floats(&mut r, &mut out, k * dim as usize).map_err(|e| format!("{name}: {e}"))?;
                left -= k;
            }
        }
        _ => return Err(format!("{name}: unknown vectors file type (use .fvecs or .npy)")),
    }
    Ok(out)
}

/// The row count from a .npy header dict: `'descr': '<f4'`, not Fortran
/// order, shape `(rows, dim)`.
fn npy_rows(h: &str, dim: u32) -> Result<u64, String> {
    let squash: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    let val = |key: &str| -> Option<&str> {
        let k = format!("'{key}':");
        let i = squash.find(&k)? + k.len();
        Some(&squash[i..])
    };
    let descr = val("descr").ok_or("header has no 'descr'")?;
    if !(descr.starts_with("'<f4'") || descr.starts_with("'=f4'")) {
        return Err(format!("dtype {} is not little-endian float32 ('<f4')", descr.split(',').next().unwrap_or("")));
    }
    let fo = val("fortran_order").ok_or("header has no 'fortran_order'")?;
    if !fo.starts_with("False") {
        return Err("Fortran-order array: save it in C order (numpy.ascontiguousarray)".into());
    }
    let shape = val("shape").ok_or("header has no 'shape'")?;
    let inner = shape.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or("bad 'shape'")?;
    let dims: Vec<&str> = inner.split(',').filter(|s| !s.is_empty()).collect();
    let dims: Vec<u64> = dims.iter().map(|s| s.parse::<u64>()).collect::<Result<_, _>>().map_err(|_| "bad 'shape'")?;
    match dims.as_slice() {
        [rows, d] if *d == dim as u64 => Ok(*rows),
        [_, d] => Err(format!("rows of dimension {d}, the filesystem's is {dim}")),
        _ => Err(format!("shape {dims:?} is not 2-D (rows, {dim})")),
    }
}
