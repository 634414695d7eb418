//! Vector input formats of vexctl.
//!
//! * `--vector CSV`: comma-separated numbers (`0.1,0.2,-3e-2`), optionally in
//!   `[...]`; whitespace around elements is ignored.
//! * `--vector-file F`, chosen by extension:
//!   - `.f32`: raw little-endian float32, the whole file is one vector;
//!   - `.fvecs`: the first record (`i32 dim` then `dim` float32, little-endian);
//!   - `.npy`: NumPy float32 (`<f4`; `<f8` is converted), C order, 1-D, or
//!     2-D whose first row is used; format versions 1.0, 2.0 and 3.0;
//!   - `.json`: an array of numbers (or an object with a `"vector"` array).
//! * fvecs streams (`import --fvecs`, `batch-search --queries`) are read
//!   record by record with [`FvecsReader`], which checks that every record has
//!   the first record's dimension.
//!
//! Every element must be finite: NaN and infinities are refused with the
//! element's index.
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use vexfs_core::uapi::VEXFS_IOC_MAX_DIM;

/// Checks that a vector is non-empty, within the ABI's dimension bound and
/// finite everywhere.
pub fn validate(v: &[f32]) -> Result<(), String> {
    if v.is_empty() {
        return Err("vector is empty".into());
    }
    if v.len() > VEXFS_IOC_MAX_DIM as usize {
        return Err(format!(
            "vector has {} elements, more than the maximum dimension {}",
            v.len(),
            VEXFS_IOC_MAX_DIM
        ));
    }
    if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(format!("element {i} is not finite ({x})"));
    }
    Ok(())
}

/// Parses `--vector` text: comma-separated finite numbers.
pub fn parse_csv(text: &str) -> Result<Vec<f32>, String> {
    let mut t = text.trim();
    if let Some(inner) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        t = inner.trim();
    }
    if t.is_empty() {
        return Err("vector is empty".into());
    }
    let mut out = Vec::new();
    for (i, part) in t.split(',').enumerate() {
        let p = part.trim();
        if p.is_empty() {
            return Err(format!("element {i} is empty"));
        }
        let x: f32 = p
            .parse()
            .map_err(|_| format!("element {i} ({p:?}) is not a number"))?;
        if !x.is_finite() {
            return Err(format!("element {i} ({p}) is not finite"));
        }
        out.push(x);
    }
    validate(&out)?;
    Ok(out)
}

/// The format of a vector file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VecFormat {
    F32,
    Fvecs,
    Npy,
    Json,
}

impl VecFormat {
    pub fn from_path(path: &Path) -> Result<VecFormat, String> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "f32" | "bin" | "raw" => Ok(VecFormat::F32),
            "fvecs" => Ok(VecFormat::Fvecs),
            "npy" => Ok(VecFormat::Npy),
            "json" => Ok(VecFormat::Json),
            _ => Err("unknown vector file format (expected .f32, .fvecs, .npy or .json)".into()),
        }
    }
}

/// Reads one vector from a file; the error text does not repeat the path
/// (the caller prefixes it).
pub fn read_vector_file(path: &Path) -> Result<Vec<f32>, String> {
    let fmt = VecFormat::from_path(path)?;
    let bytes = std::fs::read(path).map_err(|e| crate::vexctl::errors::io_text(&e))?;
    parse_vector_bytes(fmt, &bytes)
}

/// Parses the bytes of a vector file of the given format.
pub fn parse_vector_bytes(fmt: VecFormat, bytes: &[u8]) -> Result<Vec<f32>, String> {
    let v = match fmt {
        VecFormat::F32 => parse_f32_raw(bytes)?,
        VecFormat::Fvecs => parse_fvecs_first(bytes)?,
        VecFormat::Npy => parse_npy(bytes)?,
        VecFormat::Json => parse_json(bytes)?,
    };
    validate(&v)?;
    Ok(v)
}

fn le_f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Raw little-endian float32: the whole file is one vector.
pub fn parse_f32_raw(bytes: &[u8]) -> Result<Vec<f32>, String> {
    if bytes.is_empty() {
        return Err("file is empty".into());
    }
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "raw float32 file size {} is not a multiple of 4 bytes",
            bytes.len()
        ));
    }
    Ok(le_f32s(bytes))
}

/// The first record of an fvecs file.
pub fn parse_fvecs_first(bytes: &[u8]) -> Result<Vec<f32>, String> {
    let mut r = FvecsReader::new(bytes);
    match r.next_record().map_err(|e| e.to_string())? {
        Some(v) => Ok(v),
        None => Err("fvecs file is empty".into()),
    }
}

/// A `.json` vector: `[0.1, 0.2]` or `{"vector": [0.1, 0.2]}`.
pub fn parse_json(bytes: &[u8]) -> Result<Vec<f32>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let arr = match &v {
        serde_json::Value::Array(_) => &v,
        serde_json::Value::Object(m) => m
            .get("vector")
            .ok_or_else(|| "JSON object has no \"vector\" array".to_string())?,
        _ => return Err("JSON vector must be an array of numbers".into()),
    };
    json_numbers(arr)
}

/// Converts a JSON array of numbers to f32, refusing non-numbers and values
/// that do not fit a finite float32.
pub fn json_numbers(v: &serde_json::Value) -> Result<Vec<f32>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| "vector must be an array of numbers".to_string())?;
    let mut out = Vec::with_capacity(arr.len());
    for (i, x) in arr.iter().enumerate() {
        let f = x
            .as_f64()
            .ok_or_else(|| format!("element {i} ({x}) is not a number"))?;
        let g = f as f32;
        if !g.is_finite() {
            return Err(format!("element {i} ({x}) is not a finite float32"));
        }
        out.push(g);
    }
    if out.is_empty() {
        return Err("vector is empty".into());
    }
    Ok(out)
}

/// A NumPy `.npy` file: float32 (or float64, converted), C order, 1-D or
/// the first row of a 2-D array.
pub fn parse_npy(bytes: &[u8]) -> Result<Vec<f32>, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a NumPy .npy file (bad magic)".into());
    }
    let major = bytes[6];
    let (hlen, hstart) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("truncated .npy header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12usize,
            )
        }
        _ => return Err(format!("unsupported .npy format version {major}.{}", bytes[7])),
    };
    let hend = hstart
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| "truncated .npy header".to_string())?;
    let header = std::str::from_utf8(&bytes[hstart..hend])
        .map_err(|_| "the .npy header is not text".to_string())?;
    let descr = npy_field(header, "descr").ok_or("the .npy header has no 'descr'")?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let elem = match descr {
        "<f4" | "f4" | "float32" => 4,
        "<f8" | "f8" | "float64" => 8,
        other => {
            return Err(format!(
                "unsupported .npy dtype {other:?} (expected little-endian float32 '<f4')"
            ))
        }
    };
    let fortran = npy_field(header, "fortran_order").ok_or("the .npy header has no 'fortran_order'")?;
    let shape = npy_field(header, "shape").ok_or("the .npy header has no 'shape'")?;
    let shape = shape.trim();
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("bad .npy shape {shape}"))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("bad .npy shape {shape}"))?;
    let n = match dims.as_slice() {
        [n] => *n,
        [rows, n] => {
            if *rows == 0 {
                return Err("the .npy array has no rows".into());
            }
            if fortran.trim().starts_with("True") && *rows > 1 {
                return Err("Fortran-order .npy arrays are not supported (save with C order)".into());
            }
            *n
        }
        _ => {
            return Err(format!(
                "the .npy array has shape {shape}; expected 1-D or 2-D"
            ))
        }
    };
    if n == 0 {
        return Err("vector is empty".into());
    }
    let need = n
        .checked_mul(elem)
        .filter(|&b| b <= bytes.len() - hend)
        .ok_or_else(|| "truncated .npy data".to_string())?;
    let data = &bytes[hend..hend + need];
    if elem == 4 {
        Ok(le_f32s(data))
    } else {
        Ok(data
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b) as f32
            })
            .collect())
    }
}

/// The raw text of one key's value in a .npy header dict (up to the next
/// top-level comma or the closing brace).
fn npy_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pats = [format!("'{key}'"), format!("\"{key}\"")];
    let pos = pats.iter().find_map(|p| header.find(p.as_str()).map(|i| i + p.len()))?;
    let rest = header[pos..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    Some(rest)
}

/// An error while streaming an fvecs file, with the record index.
#[derive(Debug)]
pub enum FvecsError {
    Io(io::Error),
    Format { record: u64, msg: String },
}

impl std::fmt::Display for FvecsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FvecsError::Io(e) => write!(f, "{}", crate::vexctl::errors::io_text(e)),
            FvecsError::Format { record, msg } => write!(f, "record {record}: {msg}"),
        }
    }
}

/// Reads fvecs records one at a time, checking each one: dimension in
/// 1..=VEXFS_IOC_MAX_DIM and equal to the first record's, complete, finite.
pub struct FvecsReader<R: Read> {
    r: R,
    dim: Option<usize>,
    record: u64,
}

impl FvecsReader<BufReader<File>> {
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(FvecsReader::new(BufReader::with_capacity(1 << 20, File::open(path)?)))
    }
}

impl<R: Read> FvecsReader<R> {
    pub fn new(r: R) -> Self {
        FvecsReader { r, dim: None, record: 0 }
    }

    /// The dimension of the records read so far (None before the first).
    pub fn dim(&self) -> Option<usize> {
        self.dim
    }

    /// Records returned so far.
    pub fn records(&self) -> u64 {
        self.record
    }

    fn fmt_err(&self, msg: impl Into<String>) -> FvecsError {
        FvecsError::Format { record: self.record, msg: msg.into() }
    }

    /// Reads exactly buf.len() bytes; Ok(false) on a clean EOF before any.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, FvecsError> {
        let mut got = 0;
        while got < buf.len() {
            match self.r.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FvecsError::Io(e)),
            }
        }
        Ok(got)
    }

    /// The next record, None at a clean end of file.
    pub fn next_record(&mut self) -> Result<Option<Vec<f32>>, FvecsError> {
        let mut out = Vec::new();
        if self.next_into(&mut out)? {
            Ok(Some(out))
        } else {
            Ok(None)
        }
    }

    /// Appends the next record to `out`; false at a clean end of file.
    pub fn next_into(&mut self, out: &mut Vec<f32>) -> Result<bool, FvecsError> {
        let mut hdr = [0u8; 4];
        let got = self.read_full(&mut hdr)?;
        if got == 0 {
            return Ok(false);
        }
        if got < 4 {
            return Err(self.fmt_err("truncated dimension header"));
        }
        let d = i32::from_le_bytes(hdr);
        if d <= 0 || d as u32 > VEXFS_IOC_MAX_DIM {
            return Err(self.fmt_err(format!(
                "bad dimension {d} (expected 1..={VEXFS_IOC_MAX_DIM}); is this an fvecs file?"
            )));
        }
        let d = d as usize;
        if let Some(first) = self.dim {
            if first != d {
                return Err(self.fmt_err(format!(
                    "dimension {d} differs from the first record's {first}"
                )));
            }
        }
        let mut buf = vec![0u8; d * 4];
        if self.read_full(&mut buf)? != buf.len() {
            return Err(self.fmt_err(format!("truncated record (dimension {d})")));
        }
        let start = out.len();
        out.extend(le_f32s(&buf));
        if let Some((i, x)) = out[start..].iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(self.fmt_err(format!("element {i} is not finite ({x})")));
        }
        self.dim = Some(d);
        self.record += 1;
        Ok(true)
    }
}

/// Number of records an fvecs file of `len` bytes holds, given the first
/// record's dimension (for progress bars); None when the size does not fit.
pub fn fvecs_count(len: u64, dim: usize) -> Option<u64> {
    let rec = 4 + 4 * dim as u64;
    len.is_multiple_of(rec).then_some(len / rec)
}

/// Peeks the first record's dimension of an fvecs file.
pub fn fvecs_peek_dim(path: &Path) -> io::Result<Option<usize>> {
    let mut f = File::open(path)?;
    let mut hdr = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = f.read(&mut hdr[got..])?;
        if n == 0 {
            return Ok(None);
        }
        got += n;
    }
    let d = i32::from_le_bytes(hdr);
    Ok((d > 0).then_some(d as usize))
}

/// Encodes vectors as fvecs (tests and tools).
pub fn encode_fvecs(vectors: &[Vec<f32>]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in vectors {
        out.extend_from_slice(&(v.len() as i32).to_le_bytes());
        for x in v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// Encodes a float32 .npy v1.0 file of the given shape (tests and tools).
pub fn encode_npy(data: &[f32], shape: &[usize]) -> Vec<u8> {
    let shape_txt = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // Pad so that magic(6)+version(2)+len(2)+header is a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_parses() {
        assert_eq!(parse_csv("0.1,0.2,-3").unwrap(), vec![0.1, 0.2, -3.0]);
        assert_eq!(parse_csv(" 1 , 2e-1 ,3 ").unwrap(), vec![1.0, 0.2, 3.0]);
        assert_eq!(parse_csv("[1,2]").unwrap(), vec![1.0, 2.0]);
        assert_eq!(parse_csv("5").unwrap(), vec![5.0]);
    }

    #[test]
    fn csv_rejects() {
        assert!(parse_csv("").unwrap_err().contains("empty"));
        assert!(parse_csv("  ").unwrap_err().contains("empty"));
        assert!(parse_csv("1,,2").unwrap_err().contains("element 1 is empty"));
        assert!(parse_csv("1,2,").unwrap_err().contains("element 2 is empty"));
        assert!(parse_csv("1,abc").unwrap_err().contains("not a number"));
        assert!(parse_csv("1,NaN").unwrap_err().contains("not finite"));
        assert!(parse_csv("nan").unwrap_err().contains("not finite"));
        assert!(parse_csv("inf,1").unwrap_err().contains("not finite"));
        assert!(parse_csv("1,-inf").unwrap_err().contains("not finite"));
        assert!(parse_csv("1e39").unwrap_err().contains("not finite"));
        let big = vec!["1"; 4097].join(",");
        assert!(parse_csv(&big).unwrap_err().contains("maximum dimension"));
    }

    #[test]
    fn raw_f32() {
        let b: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(parse_vector_bytes(VecFormat::F32, &b).unwrap(), vec![1.5, -2.0]);
        assert!(parse_vector_bytes(VecFormat::F32, &b[..7]).unwrap_err().contains("multiple of 4"));
        assert!(parse_vector_bytes(VecFormat::F32, &[]).unwrap_err().contains("empty"));
        let nan: Vec<u8> = f32::NAN.to_le_bytes().to_vec();
        assert!(parse_vector_bytes(VecFormat::F32, &nan).unwrap_err().contains("not finite"));
    }

    #[test]
    fn fvecs_first_and_stream() {
        let b = encode_fvecs(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
        assert_eq!(parse_vector_bytes(VecFormat::Fvecs, &b).unwrap(), vec![1.0, 2.0, 3.0]);
        let mut r = FvecsReader::new(&b[..]);
        assert_eq!(r.next_record().unwrap().unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(r.next_record().unwrap().unwrap(), vec![4.0, 5.0, 6.0]);
        assert!(r.next_record().unwrap().is_none());
        assert_eq!(r.records(), 2);
        assert_eq!(fvecs_count(b.len() as u64, 3), Some(2));
        assert_eq!(fvecs_count(b.len() as u64 + 1, 3), None);
    }

    #[test]
    fn fvecs_stream_rejects() {
        // Second record of another dimension.
        let b = encode_fvecs(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0]]);
        let mut r = FvecsReader::new(&b[..]);
        r.next_record().unwrap();
        let e = r.next_record().unwrap_err().to_string();
        assert!(e.contains("record 1") && e.contains("differs"), "{e}");
        // Truncated record.
        let b = encode_fvecs(&[vec![1.0, 2.0, 3.0]]);
        let e = FvecsReader::new(&b[..b.len() - 2]).next_record().unwrap_err().to_string();
        assert!(e.contains("record 0") && e.contains("truncated"), "{e}");
        // Truncated header.
        let e = FvecsReader::new(&[1u8, 0][..]).next_record().unwrap_err().to_string();
        assert!(e.contains("truncated dimension"), "{e}");
        // Bad dimension.
        let mut b = (-4i32).to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 16]);
        assert!(FvecsReader::new(&b[..]).next_record().unwrap_err().to_string().contains("bad dimension"));
        let b = 5000i32.to_le_bytes().to_vec();
        assert!(FvecsReader::new(&b[..]).next_record().unwrap_err().to_string().contains("bad dimension"));
        // NaN inside a record.
        let b = encode_fvecs(&[vec![1.0, 2.0], vec![1.0, f32::INFINITY]]);
        let mut r = FvecsReader::new(&b[..]);
        r.next_record().unwrap();
        let e = r.next_record().unwrap_err().to_string();
        assert!(e.contains("record 1") && e.contains("element 1"), "{e}");
        // Empty file.
        assert!(parse_vector_bytes(VecFormat::Fvecs, &[]).unwrap_err().contains("empty"));
    }

    #[test]
    fn npy_1d_2d() {
        let b = encode_npy(&[1.0, 2.0, 3.0], &[3]);
        assert_eq!((10 + u16::from_le_bytes([b[8], b[9]]) as usize) % 64, 0);
        assert_eq!(parse_vector_bytes(VecFormat::Npy, &b).unwrap(), vec![1.0, 2.0, 3.0]);
        let b = encode_npy(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(parse_vector_bytes(VecFormat::Npy, &b).unwrap(), vec![1.0, 2.0, 3.0]);
        let b = encode_npy(&[7.0, 8.0], &[1, 2]);
        assert_eq!(parse_vector_bytes(VecFormat::Npy, &b).unwrap(), vec![7.0, 8.0]);
    }

    #[test]
    fn npy_numpy_written_header() {
        // A header exactly as numpy 1.x writes it for np.zeros(4, '<f4').
        let hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
        let mut h = hdr.to_string();
        h.push_str(&" ".repeat(128 - 10 - hdr.len() - 1));
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        for x in [0.5f32, 1.5, 2.5, 3.5] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        assert_eq!(parse_npy(&b).unwrap(), vec![0.5, 1.5, 2.5, 3.5]);
    }

    #[test]
    fn npy_rejects() {
        assert!(parse_npy(b"hello world!").unwrap_err().contains("magic"));
        let b = encode_npy(&[1.0, 2.0, 3.0], &[3]);
        assert!(parse_npy(&b[..b.len() - 1]).unwrap_err().contains("truncated"));
        let bad = String::from_utf8_lossy(&b).replace("<f4", ">f4");
        let mut bb = b[..10].to_vec();
        bb.extend_from_slice(&bad.as_bytes()[10..10 + u16::from_le_bytes([b[8], b[9]]) as usize]);
        bb.extend_from_slice(&b[b.len() - 12..]);
        assert!(parse_npy(&bb).unwrap_err().contains("dtype"));
        let b3 = encode_npy(&[1.0; 8], &[2, 2, 2]);
        assert!(parse_npy(&b3).unwrap_err().contains("1-D or 2-D"));
        let b0 = encode_npy(&[], &[0]);
        assert!(parse_npy(&b0).unwrap_err().contains("empty"));
    }

    #[test]
    fn json_vectors() {
        assert_eq!(parse_vector_bytes(VecFormat::Json, b"[1, 2.5, -3]").unwrap(), vec![1.0, 2.5, -3.0]);
        assert_eq!(parse_vector_bytes(VecFormat::Json, b"{\"vector\": [1]}").unwrap(), vec![1.0]);
        assert!(parse_vector_bytes(VecFormat::Json, b"[1, \"a\"]").unwrap_err().contains("element 1"));
        assert!(parse_vector_bytes(VecFormat::Json, b"[]").unwrap_err().contains("empty"));
        assert!(parse_vector_bytes(VecFormat::Json, b"[1e300]").unwrap_err().contains("finite"));
        assert!(parse_vector_bytes(VecFormat::Json, b"[1,").unwrap_err().contains("invalid JSON"));
        assert!(parse_vector_bytes(VecFormat::Json, b"3").unwrap_err().contains("array"));
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(VecFormat::from_path(Path::new("a.f32")).unwrap(), VecFormat::F32);
        assert_eq!(VecFormat::from_path(Path::new("a.FVECS")).unwrap(), VecFormat::Fvecs);
        assert_eq!(VecFormat::from_path(Path::new("x/a.npy")).unwrap(), VecFormat::Npy);
        assert_eq!(VecFormat::from_path(Path::new("a.json")).unwrap(), VecFormat::Json);
        assert!(VecFormat::from_path(Path::new("a.txt")).unwrap_err().contains("unknown"));
        assert!(VecFormat::from_path(Path::new("noext")).is_err());
    }
}
