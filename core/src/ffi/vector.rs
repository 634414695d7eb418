//! C entry points for vector-store records (see `shim/vexfs_core.h`).
//! Vectors cross the boundary as u32 bit patterns: C never handles floats.
//!
//! The caller is `kernel/vector.c` / `kernel/ioctl.c`: vectors are its own
//! `kvmalloc`ed u32 arrays (copied from user space or decoded from disk),
//! records its own `kvmalloc`ed buffers of the stated length, out-parameters
//! its locals; none overlap, and the core keeps no pointer after returning.
use super::abi::{vexfs_chunk_hdr, vexfs_vec_pos};
use super::{bytes, bytes_mut};
use crate::bytes::put32;
use crate::error::Error;
use crate::hnsw::{chunks, vectors, HnswError};

fn hnsw_errno(e: HnswError) -> i32 {
    match e {
        HnswError::BadVector => Error::OutOfRange.to_errno(),
        other => other.errno(),
    }
}

/// Borrow `n` u32 values at `ptr`.
///
/// # Safety
/// A non-NULL `ptr` must be valid and aligned for `n` u32 reads.
unsafe fn words<'a>(ptr: *const u32, n: u32) -> Option<&'a [u32]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: ptr is non-NULL (checked) and, per this function's callers, a
    // kernel u32 array (kvmalloc'ed, so aligned) of at least n values that
    // nothing writes during the call.
    Some(unsafe { core::slice::from_raw_parts(ptr, n as usize) })
}

/// # Safety
/// `out` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vec_record_pos(ino: u64, dim: u32, out: *mut vexfs_vec_pos) -> i32 {
    // SAFETY: out is NULL (-> EINVAL) or the caller's local position struct.
    let Some(o) = (unsafe { out.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    match vectors::record_pos(ino, dim) {
        Ok(p) => {
            *o = vexfs_vec_pos { block: p.block, offset: p.offset, len: p.len };
            0
        }
        Err(e) => hnsw_errno(e),
    }
}

/// # Safety
/// `lo` and `hi` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vec_block_inos(first: u64, n: u64, dim: u32, lo: *mut u64, hi: *mut u64) -> i32 {
    // SAFETY: each is NULL (-> EINVAL) or a distinct local u64 of the caller.
    let (Some(l), Some(h)) = (unsafe { lo.as_mut() }, unsafe { hi.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    match vectors::records_in_blocks(first, n, dim) {
        Ok(Some((a, b))) => {
            (*l, *h) = (a, b);
            1
        }
        Ok(None) => 0,
        Err(e) => hnsw_errno(e),
    }
}

/// # Safety
/// `bits` valid for `n` u32 reads.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vec_check(bits: *const u32, n: u32) -> i32 {
    // SAFETY: bits is the caller's kvmalloc'ed copy of the vector (n values),
    // not written during the check.
    match unsafe { words(bits, n) } {
        None => Error::InvalidArgument.to_errno(),
        Some(w) if w.iter().all(|&b| crate::hnsw::element_bits_ok(b)) => 0,
        Some(_) => Error::OutOfRange.to_errno(),
    }
}

/// # Safety
/// `bits` valid for `dim` u32 reads, `out` for `len` byte writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vec_record_encode(
    ino: u32,
    gen: u32,
    bits: *const u32,
    dim: u32,
    out: *mut u8,
    len: u32,
) -> i32 {
    // SAFETY: bits is the caller's vector of dim values (kvmalloc'ed, checked
    // by vexfs_vec_check before), not written during the call.
    let Some(w) = (unsafe { words(bits, dim) }) else {
        return Error::InvalidArgument.to_errno();
    };
    if dim as usize > vectors::MAX_DIM as usize {
        return Error::InvalidArgument.to_errno();
    }
    // SAFETY: out is the caller's fresh kvmalloc'ed record buffer of len
    // bytes (vexfs_store_write), distinct from bits.
    let o = match unsafe { bytes_mut(out, len) } {
        Ok(o) => o,
        Err(e) => return e.to_errno(),
    };
    match encode_bits(ino, gen, w, o) {
        Ok(()) => 0,
        Err(e) => hnsw_errno(e),
    }
}

/// Encode from bit patterns without materialising an f32 array.
fn encode_bits(ino: u32, gen: u32, w: &[u32], out: &mut [u8]) -> Result<(), HnswError> {
    let dim = w.len() as u32;
    let rs = vectors::record_size(dim)? as usize;
    if out.len() != rs || ino == 0 {
        return Err(HnswError::InvalidParam("record buffer length or inode 0"));
    }
    if w.iter().any(|&b| !crate::hnsw::element_bits_ok(b)) {
        return Err(HnswError::BadVector);
    }
    let (h, data) = out.split_at_mut(vectors::VEC_HEADER);
    for (b, o) in w.iter().zip(data.chunks_exact_mut(4)) {
        o.copy_from_slice(&b.to_le_bytes());
    }
    h.fill(0);
    put32(h, 0, ino).ok_or(HnswError::NoSpace)?;
    put32(h, 4, gen).ok_or(HnswError::NoSpace)?;
    put32(h, 8, dim).ok_or(HnswError::NoSpace)?;
    let sum = vectors::record_checksum(out);
    put32(out, 12, sum).ok_or(HnswError::NoSpace)?;
    Ok(())
}

/// # Safety
/// `rec` valid for `len` bytes; `gen` valid; `bits` valid for `dim` writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vec_record_decode(
    rec: *const u8,
    len: u32,
    expect_ino: u32,
    dim: u32,
    gen: *mut u32,
    bits: *mut u32,
) -> i32 {
    // SAFETY: rec is the caller's kvmalloc'ed copy of one record (len bytes,
    // read from the store file), not written during the call.
    let r = match unsafe { bytes(rec, len) } {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    if bits.is_null() || dim as usize > vectors::MAX_DIM as usize {
        return Error::InvalidArgument.to_errno();
    }
    // SAFETY: bits is non-NULL (checked) and the caller's kvmalloc'ed array
    // of dim u32s, distinct from rec and gen and used by no one else during
    // the call; f32 and u32 have the same size and alignment, and any bit
    // pattern is a valid f32, so the view is sound.
    let out = unsafe { core::slice::from_raw_parts_mut(bits as *mut f32, dim as usize) };
    // SAFETY: gen is NULL (-> EINVAL) or the caller's local u32.
    let Some(g) = (unsafe { gen.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    match vectors::decode_record(r, expect_ino, dim, out) {
        Ok(info) if info.ino == 0 => 0,
        Ok(info) => {
            *g = info.generation;
            1
        }
        Err(HnswError::Corrupt(_)) => Error::Corrupt.to_errno(),
        Err(e) => hnsw_errno(e),
    }
}

/* ---- format 2: chunk records by slot (hnsw::chunks) ------------------- */

/// # Safety
/// `out` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_chunk_record_pos(slot: u64, dim: u32, out: *mut vexfs_vec_pos) -> i32 {
    // SAFETY: out is NULL (-> EINVAL) or the caller's local position struct.
    let Some(o) = (unsafe { out.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    match chunks::chunk_record_pos(slot, dim) {
        Ok(p) => {
            *o = vexfs_vec_pos { block: p.block, offset: p.offset, len: p.len };
            0
        }
        Err(e) => hnsw_errno(e),
    }
}

/// # Safety
/// `lo` and `hi` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_chunk_block_slots(first: u64, n: u64, dim: u32, lo: *mut u64, hi: *mut u64) -> i32 {
    // SAFETY: each is NULL (-> EINVAL) or a distinct local u64 of the caller.
    let (Some(l), Some(h)) = (unsafe { lo.as_mut() }, unsafe { hi.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    match chunks::slots_in_blocks(first, n, dim) {
        Ok(Some((a, b))) => {
            (*l, *h) = (a, b);
            1
        }
        Ok(None) => 0,
        Err(e) => hnsw_errno(e),
    }
}

/// # Safety
/// `hdr` valid; `bits` valid for `dim` u32 reads; `out` for `len` byte writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_chunk_record_encode(
    hdr: *const vexfs_chunk_hdr,
    bits: *const u32,
    dim: u32,
    out: *mut u8,
    len: u32,
) -> i32 {
    // SAFETY: hdr is NULL (-> EINVAL) or the caller's local header struct.
    let Some(h) = (unsafe { hdr.as_ref() }) else {
        return Error::InvalidArgument.to_errno();
    };
    if dim > vectors::MAX_DIM {
        return Error::InvalidArgument.to_errno();
    }
    // SAFETY: bits is the caller's array of dim vector bit patterns (copied
    // from user space or decoded), not written during the call.
    let Some(w) = (unsafe { words(bits, dim) }) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: out is the caller's record buffer of len bytes, distinct from
    // bits and hdr.
    let o = match unsafe { bytes_mut(out, len) } {
        Ok(o) => o,
        Err(e) => return e.to_errno(),
    };
    let ch = chunks::ChunkHeader { ino: h.ino, generation: h.generation, chunk: h.chunk, offset: h.offset, length: h.length };
    match chunks::encode_chunk_record(&ch, w, o) {
        Ok(()) => 0,
        Err(e) => hnsw_errno(e),
    }
}

/// # Safety
/// `rec` valid for `len` bytes; `hdr` valid; `bits` NULL or valid for `dim` writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_chunk_record_decode(
    rec: *const u8,
    len: u32,
    dim: u32,
    hdr: *mut vexfs_chunk_hdr,
    bits: *mut u32,
) -> i32 {
    // SAFETY: rec is the caller's copy of one record (or a held buffer's
    // bytes) of len bytes, not written during the call.
    let r = match unsafe { bytes(rec, len) } {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: hdr is NULL (-> EINVAL) or the caller's local header struct.
    let Some(h) = (unsafe { hdr.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    if dim > vectors::MAX_DIM {
        return Error::InvalidArgument.to_errno();
    }
    let out = if bits.is_null() {
        None
    } else {
        // SAFETY: bits is non-NULL (checked) and the caller's array of dim
        // u32s, distinct from rec and hdr, used by no one else meanwhile.
        Some(unsafe { core::slice::from_raw_parts_mut(bits, dim as usize) })
    };
    match chunks::decode_chunk_record(r, dim, out) {
        Ok(c) => {
            *h = vexfs_chunk_hdr { offset: c.offset, length: c.length, ino: c.ino, generation: c.generation, chunk: c.chunk, pad: 0 };
            0
        }
        Err(HnswError::Corrupt(_)) => Error::Corrupt.to_errno(),
        Err(e) => hnsw_errno(e),
    }
}
