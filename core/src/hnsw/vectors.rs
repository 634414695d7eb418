//! Vector-store records (`struct vexfs_vec_record` in shim/vexfs_format.h):
//! placement in the vector-store file and a validating codec.
//!
//! The store is a sparse file of fixed-size records indexed by inode
//! number: `record_size = 16 + 4 * dim`; when a record fits in a block,
//! `4096 / record_size` records share a block (no record straddles two);
//! larger records (dim > 1020) take `ceil(record_size / 4096)` whole blocks.

use crate::bytes::{le32, put32};
use super::HnswError;

/// Bytes of the record header.
pub const VEC_HEADER: usize = 16;
/// Largest dimension.
pub const MAX_DIM: u32 = 4096;
const BLOCK: u64 = 4096;

/// Where a record lives in the vector-store file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordPos {
    /// File block of the record's first byte.
    pub block: u64,
    /// Byte offset in that block.
    pub offset: u32,
    /// Record length in bytes (may span several whole blocks when > 4096).
    pub len: u32,
}

/// Record size for dimension `dim` (1..=4096).
pub fn record_size(dim: u32) -> Result<u32, HnswError> {
    if dim == 0 || dim > MAX_DIM {
        return Err(HnswError::InvalidParam("vector dimension out of range 1..=4096"));
    }
    Ok(VEC_HEADER as u32 + 4 * dim)
}

/// Position of inode `ino`'s record.
pub fn record_pos(ino: u64, dim: u32) -> Result<RecordPos, HnswError> {
    let rs = record_size(dim)? as u64;
    if rs <= BLOCK {
        let per = BLOCK / rs;
        Ok(RecordPos { block: ino / per, offset: ((ino % per) * rs) as u32, len: rs as u32 })
    } else {
        let blocks = rs.div_ceil(BLOCK);
        let block = ino.checked_mul(blocks).ok_or(HnswError::InvalidParam("inode number too large"))?;
        Ok(RecordPos { block, offset: 0, len: rs as u32 })
    }
}

/// The inode numbers whose records start in store file blocks
/// `[first, first + n)`: `(lo, hi)` inclusive, None when no record starts
/// there (the inverse of `record_pos`, for reading ahead the inodes of the
/// store blocks being read).
pub fn records_in_blocks(first: u64, n: u64, dim: u32) -> Result<Option<(u64, u64)>, HnswError> {
    let rs = record_size(dim)? as u64;
    let end = first.checked_add(n).ok_or(HnswError::InvalidParam("block range overflows"))?;
    if n == 0 {
        return Ok(None);
    }
    let (lo, hi) = if rs <= BLOCK {
        let per = BLOCK / rs;
        (first.saturating_mul(per), end.saturating_mul(per).saturating_sub(1))
    } else {
        let blocks = rs.div_ceil(BLOCK);
        (first.div_ceil(blocks), (end - 1) / blocks)
    };
    Ok(if lo <= hi { Some((lo, hi)) } else { None })
}

fn crc_record(rec: &[u8]) -> u32 {
    let mut d = super::layout::CRC32C.digest();
    d.update(rec.get(..12).unwrap_or(&[]));
    d.update(&[0u8; 4]);
    d.update(rec.get(VEC_HEADER..).unwrap_or(&[]));
    d.finalize()
}

/// Encodes a record for inode `ino` (generation `gen`) into `out`
/// (exactly `record_size(v.len())` bytes). Rejects NaN, Inf and elements >= 2^56 (vector_in_range).
pub fn encode_record(ino: u32, gen: u32, v: &[f32], out: &mut [u8]) -> Result<(), HnswError> {
    let dim = v.len() as u32;
    let rs = record_size(dim)? as usize;
    if out.len() != rs {
        return Err(HnswError::InvalidParam("record buffer length"));
    }
    if ino == 0 {
        return Err(HnswError::InvalidParam("inode number 0"));
    }
    if !super::vector_in_range(v) {
        return Err(HnswError::BadVector);
    }
    let (h, data) = out.split_at_mut(VEC_HEADER);
    h.copy_from_slice(&[0u8; VEC_HEADER]);
    // The header is VEC_HEADER (16) bytes: these fields always fit.
    let _ = put32(h, 0, ino);
    let _ = put32(h, 4, gen);
    let _ = put32(h, 8, dim);
    for (f, o) in v.iter().zip(data.chunks_exact_mut(4)) {
        o.copy_from_slice(&f.to_bits().to_le_bytes());
    }
    let sum = crc_record(out);
    let _ = put32(out, 12, sum);
    Ok(())
}

/// A validated record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    /// Owning inode (0: empty slot).
    pub ino: u32,
    /// Owner's generation when written.
    pub generation: u32,
    /// Dimension.
    pub dim: u32,
}

/// Decodes and validates a record read from disk. `expect_ino` is the inode
/// the record position belongs to; an all-zero record decodes as empty
/// (`ino == 0`, nothing written to `out`). Otherwise checks ino, dim, the
/// checksum and finiteness, and writes the vector to `out` (len == dim).
pub fn decode_record(rec: &[u8], expect_ino: u32, dim: u32, out: &mut [f32]) -> Result<RecordInfo, HnswError> {
    let rs = record_size(dim).map_err(|_| HnswError::InvalidParam("dimension"))? as usize;
    if rec.len() != rs || out.len() != dim as usize {
        return Err(HnswError::InvalidParam("record or output length"));
    }
    let ino = le32(rec, 0).unwrap_or(0);
    let generation = le32(rec, 4).unwrap_or(0);
    let rdim = le32(rec, 8).unwrap_or(0);
    let sum = le32(rec, 12).unwrap_or(0);
    if ino == 0 {
        if rec.iter().any(|&b| b != 0) {
            return Err(HnswError::Corrupt("empty vector record not zero"));
        }
        return Ok(RecordInfo { ino: 0, generation: 0, dim: 0 });
    }
    if ino != expect_ino {
        return Err(HnswError::Corrupt("vector record belongs to another inode"));
    }
    if rdim != dim {
        return Err(HnswError::Corrupt("vector record dimension mismatch"));
    }
    if crc_record(rec) != sum {
        return Err(HnswError::Corrupt("vector record checksum mismatch"));
    }
    let data = rec.get(VEC_HEADER..).ok_or(HnswError::Corrupt("vector record short"))?;
    for (c, o) in data.chunks_exact(4).zip(out.iter_mut()) {
        let bits = le32(c, 0).unwrap_or(0);
        if !super::element_bits_ok(bits) {
            return Err(HnswError::Corrupt("vector record holds NaN, Inf or an element >= 2^56"));
        }
        *o = f32::from_bits(bits);
    }
    Ok(RecordInfo { ino, generation, dim })
}

/// The checksum a record should carry (its header's checksum field is
/// treated as zero), for encoders working from raw bit patterns.
pub fn record_checksum(rec: &[u8]) -> u32 {
    crc_record(rec)
}
