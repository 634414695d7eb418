//! Chunk records of the vector store, format 2 (`struct vexfs_chunk_record`
//! in shim/vexfs_format.h): placement by slot and a validating codec. One
//! definition for the kernel (through `ffi::chunk`), mkfs and fsck.
//!
//! The store is a file of fixed-size records indexed by slot:
//! `record_size = 32 + 4 * dim`; when a record fits in a block,
//! `4096 / record_size` records share a block (none straddles two); larger
//! records (dim > 1016) take `ceil(record_size / 4096)` whole blocks.
//! Vectors are carried as u32 bit patterns: the kernel never touches floats.

use super::vectors::{RecordPos, MAX_DIM};
use super::HnswError;
use crate::bytes::{le32, put32};

/// Bytes of the chunk record header.
pub const CHUNK_HEADER: usize = 32;
/// Most chunks in one file's set (`VEXFS_MAX_CHUNKS`).
pub const MAX_CHUNKS: u32 = 16384;
const BLOCK: u64 = 4096;

/// Record size for dimension `dim` (1..=4096).
pub fn chunk_record_size(dim: u32) -> Result<u32, HnswError> {
    if dim == 0 || dim > MAX_DIM {
        return Err(HnswError::InvalidParam("vector dimension out of range 1..=4096"));
    }
    Ok(CHUNK_HEADER as u32 + 4 * dim)
}

/// Position of slot `slot`'s record in the store file.
pub fn chunk_record_pos(slot: u64, dim: u32) -> Result<RecordPos, HnswError> {
    let rs = u64::from(chunk_record_size(dim)?);
    if rs <= BLOCK {
        let per = BLOCK / rs;
        Ok(RecordPos { block: slot / per, offset: ((slot % per) * rs) as u32, len: rs as u32 })
    } else {
        let blocks = rs.div_ceil(BLOCK);
        let block = slot.checked_mul(blocks).ok_or(HnswError::InvalidParam("slot number too large"))?;
        Ok(RecordPos { block, offset: 0, len: rs as u32 })
    }
}

/// Slots whose records start in store blocks `[first, first + n)`:
/// `(lo, hi)` inclusive, None when no record starts there.
pub fn slots_in_blocks(first: u64, n: u64, dim: u32) -> Result<Option<(u64, u64)>, HnswError> {
    let rs = u64::from(chunk_record_size(dim)?);
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

/// The header fields of a chunk record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ChunkHeader {
    /// Owning inode (never 0 in a valid record).
    pub ino: u32,
    /// Owner's generation when written.
    pub generation: u32,
    /// Index of the chunk in the owner's set.
    pub chunk: u32,
    /// First byte of the chunk in the file.
    pub offset: u64,
    /// Bytes; 0 = the whole file.
    pub length: u64,
}

fn crc_chunk_record(rec: &[u8]) -> u32 {
    let mut d = super::layout::CRC32C.digest();
    d.update(rec.get(..12).unwrap_or(&[]));
    d.update(&[0u8; 4]);
    d.update(rec.get(16..).unwrap_or(&[]));
    d.finalize()
}

fn put64(b: &mut [u8], off: usize, v: u64) -> Option<()> {
    for (d, s) in b.get_mut(off..off.checked_add(8)?)?.iter_mut().zip(v.to_le_bytes()) {
        *d = s;
    }
    Some(())
}

fn le64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// True when `offset + length` does not overflow (the only range rule:
/// ranges may overlap, come in any order and pass the end of file).
pub fn range_ok(offset: u64, length: u64) -> bool {
    offset.checked_add(length).is_some()
}

/// Encodes a record into `out` (exactly `chunk_record_size(bits.len())`
/// bytes). Rejects inode 0, NaN, Inf, elements >= 2^56 and overflowing ranges.
pub fn encode_chunk_record(h: &ChunkHeader, bits: &[u32], out: &mut [u8]) -> Result<(), HnswError> {
    let dim = bits.len() as u32;
    let rs = chunk_record_size(dim)? as usize;
    if out.len() != rs {
        return Err(HnswError::InvalidParam("record buffer length"));
    }
    if h.ino == 0 {
        return Err(HnswError::InvalidParam("inode number 0"));
    }
    if !range_ok(h.offset, h.length) {
        return Err(HnswError::InvalidParam("chunk range overflows"));
    }
    if bits.iter().any(|&b| !super::element_bits_ok(b)) {
        return Err(HnswError::BadVector);
    }
    // Indexing through get_mut only: the kernel build refuses code that can panic.
    out.get_mut(..CHUNK_HEADER).ok_or(HnswError::NoSpace)?.fill(0);
    put32(out, 0, h.ino).ok_or(HnswError::NoSpace)?;
    put32(out, 4, h.generation).ok_or(HnswError::NoSpace)?;
    put32(out, 8, h.chunk).ok_or(HnswError::NoSpace)?;
    put64(out, 16, h.offset).ok_or(HnswError::NoSpace)?;
    put64(out, 24, h.length).ok_or(HnswError::NoSpace)?;
    let data = out.get_mut(CHUNK_HEADER..).ok_or(HnswError::NoSpace)?;
    for (b, o) in bits.iter().zip(data.chunks_exact_mut(4)) {
        for (d, v) in o.iter_mut().zip(b.to_le_bytes()) {
            *d = v;
        }
    }
    let sum = crc_chunk_record(out);
    put32(out, 12, sum).ok_or(HnswError::NoSpace)?;
    Ok(())
}

/// Decodes and validates the record of an allocated slot: checksum, inode
/// not 0, range, every element valid. Writes the vector's bit patterns to
/// `out` (len == dim) when given. A damaged record is `Corrupt` naming why.
pub fn decode_chunk_record(rec: &[u8], dim: u32, out: Option<&mut [u32]>) -> Result<ChunkHeader, HnswError> {
    let rs = chunk_record_size(dim).map_err(|_| HnswError::InvalidParam("dimension"))? as usize;
    if rec.len() != rs || out.as_ref().is_some_and(|o| o.len() != dim as usize) {
        return Err(HnswError::InvalidParam("record or output length"));
    }
    let h = ChunkHeader {
        ino: le32(rec, 0).unwrap_or(0),
        generation: le32(rec, 4).unwrap_or(0),
        chunk: le32(rec, 8).unwrap_or(0),
        offset: le64(rec, 16).unwrap_or(0),
        length: le64(rec, 24).unwrap_or(0),
    };
    if crc_chunk_record(rec) != le32(rec, 12).unwrap_or(0) {
        return Err(HnswError::Corrupt("chunk record checksum mismatch"));
    }
    if h.ino == 0 {
        return Err(HnswError::Corrupt("chunk record names inode 0"));
    }
    if !range_ok(h.offset, h.length) {
        return Err(HnswError::Corrupt("chunk record range overflows"));
    }
    let data = rec.get(CHUNK_HEADER..).ok_or(HnswError::Corrupt("chunk record short"))?;
    let mut sink = out;
    for (i, c) in data.chunks_exact(4).enumerate() {
        let bits = le32(c, 0).unwrap_or(0);
        if !super::element_bits_ok(bits) {
            return Err(HnswError::Corrupt("chunk record holds NaN, Inf or an element >= 2^56"));
        }
        if let Some(o) = sink.as_deref_mut() {
            if let Some(slot) = o.get_mut(i) {
                *slot = bits;
            }
        }
    }
    Ok(h)
}

/// Bit `slot` of a slot-bitmap block image covering slots from `base`.
pub fn slot_bit(bitmap: &[u8], slot: u64) -> bool {
    let byte = (slot / 8) as usize;
    bitmap.get(byte).is_some_and(|b| b & (1 << (slot % 8)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn positions() {
        // dim 4: 48-byte records, 85 per block.
        assert_eq!(chunk_record_size(4).unwrap(), 48);
        let p = chunk_record_pos(85, 4).unwrap();
        assert_eq!((p.block, p.offset, p.len), (1, 0, 48));
        let p = chunk_record_pos(86, 4).unwrap();
        assert_eq!((p.block, p.offset), (1, 48));
        // dim 1017: 4100 bytes, two whole blocks each.
        let p = chunk_record_pos(3, 1017).unwrap();
        assert_eq!((p.block, p.offset, p.len), (6, 0, 4100));
        assert_eq!(slots_in_blocks(1, 1, 4).unwrap(), Some((85, 169)));
        assert_eq!(slots_in_blocks(5, 1, 1017).unwrap(), None);
        assert_eq!(slots_in_blocks(6, 2, 1017).unwrap(), Some((3, 3)));
        assert!(chunk_record_size(0).is_err() && chunk_record_size(4097).is_err());
    }

    #[test]
    fn round_trip_and_damage() {
        let h = ChunkHeader { ino: 12, generation: 7, chunk: 3, offset: 100, length: 50 };
        let bits: vec::Vec<u32> = [1.0f32, -2.5, 0.0, 3.25].iter().map(|f| f.to_bits()).collect();
        let mut rec = vec![0u8; 48];
        encode_chunk_record(&h, &bits, &mut rec).unwrap();
        let mut out = [0u32; 4];
        assert_eq!(decode_chunk_record(&rec, 4, Some(&mut out)).unwrap(), h);
        assert_eq!(&out[..], &bits[..]);
        for i in 0..48 {
            let mut bad = rec.clone();
            bad[i] ^= 0x10;
            assert!(decode_chunk_record(&bad, 4, None).is_err(), "flip at {i} undetected");
        }
        assert!(decode_chunk_record(&[0u8; 48], 4, None).is_err());
        let nan = [f32::NAN.to_bits(), 0, 0, 0];
        assert_eq!(encode_chunk_record(&h, &nan, &mut rec), Err(HnswError::BadVector));
        let wrap = ChunkHeader { offset: u64::MAX, length: 1, ..h };
        assert!(encode_chunk_record(&wrap, &bits, &mut rec).is_err());
        assert!(encode_chunk_record(&ChunkHeader { ino: 0, ..h }, &bits, &mut rec).is_err());
    }

    #[test]
    fn bitmap_bits() {
        let b = [0b0000_0101u8, 0x80];
        assert!(slot_bit(&b, 0) && !slot_bit(&b, 1) && slot_bit(&b, 2) && slot_bit(&b, 15));
        assert!(!slot_bit(&b, 16));
    }
}
