//! The int8 quantiser's copy in the graph file (`struct vexfs_sq8_disk`,
//! shim/vexfs_format.h): a 64-byte header, then `min[dim]` and
//! `scale[dim]` (little-endian float32), in [`blocks`]`(dim)` blocks right
//! after the graph's own blocks. The kernel writes it with the graph
//! (kernel/vindex-codes.c), mkfs.vexfs with the graph it builds, fsck.vexfs
//! checks it; all three through this one codec on the Rust side.
//!
//! The floats are handled as their bit patterns (`u32`): the core runs in
//! the kernel without the FPU, and the copy only moves and checks them.
use core::fmt::Write;

use zerocopy::{FromBytes, IntoBytes};

use super::checksum::Crc32c;
use super::defs::*;
use crate::error::{Error, Result};
use crate::explain;

/// Bytes of the header before `min[dim]`.
pub const HEADER_SIZE: usize = VEXFS_SQ8_HEADER_SIZE as usize;

/// The training sample's divisor: every `max(1, live / SAMPLE)`-th live
/// vector in slot order (shim/vexfs_format.h).
pub const SAMPLE: u64 = VEXFS_SQ8_SAMPLE as u64;

/// Live vectors below which the kernel trains no quantiser and writes an
/// all-zero copy: `VEXFS_SQ8_MIN` of kernel/vindex.h (a kernel-private
/// header, so mirrored here; a host test reads the kernel's value).
pub const MIN_LIVE: u64 = 256;

/// Bytes the copy occupies (header, min, scale), before padding.
pub const fn bytes(dim: u32) -> usize {
    HEADER_SIZE + 8 * dim as usize
}

/// Blocks of the copy: `ceil((64 + 8 dim) / 4096)`, the kernel's
/// `vexfs_sq8_blocks`.
pub const fn blocks(dim: u32) -> usize {
    bytes(dim).div_ceil(BLOCK_SIZE)
}

/// The sample step over `live` live slots (the kernel's
/// `max(1u, vi->nr_live / VEXFS_SQ8_SAMPLE)`): slot order, the first live
/// slot included.
pub const fn sample_step(live: u64) -> u64 {
    let s = live / SAMPLE;
    if s == 0 {
        1
    } else {
        s
    }
}

/// `sq_crc` of `min ++ scale` (as bytes): the kernel's
/// `crc32c(crc32c(~0, min), scale)`, seeded with ~0 and, unlike the other
/// checksums of the format, not inverted at the end (the kernel's
/// `crc32c()` returns the raw register).
pub fn checksum(min_scale: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(min_scale);
    !c.finish()
}

/// A float32 bit pattern the quantiser can use: finite.
const fn finite(bits: u32) -> bool {
    bits & 0x7f80_0000 != 0x7f80_0000
}

/// A step the quantiser can use: finite and not below zero (`-0.0` is
/// zero), what `vexfs_simd::quant::Quantizer::new` accepts.
const fn step_ok(bits: u32) -> bool {
    finite(bits) && (bits & 0x8000_0000 == 0 || bits == 0x8000_0000)
}

/// Writes the copy of the quantiser (`min`, `scale`: `dim` float32 bit
/// patterns each) for a graph of `generation` into `out`, exactly
/// [`blocks`]`(dim)` blocks; the bytes after `scale` are zero.
pub fn encode(dim: u32, metric: u32, generation: u64, min: &[u32], scale: &[u32], out: &mut [u8]) -> Result<()> {
    let d = dim as usize;
    if dim == 0 || dim > VEXFS_MAX_VECTOR_DIM || min.len() != d || scale.len() != d || out.len() != blocks(dim) * BLOCK_SIZE {
        return Err(Error::InvalidArgument);
    }
    out.fill(0);
    let body = out.get_mut(HEADER_SIZE..bytes(dim)).ok_or(Error::InvalidArgument)?;
    for (dst, &v) in body.chunks_exact_mut(4).zip(min.iter().chain(scale.iter())) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
    let h = vexfs_sq8_disk {
        sq_magic: VEXFS_SQ8_MAGIC.to_le(),
        sq_version: VEXFS_SQ8_VERSION.to_le(),
        sq_dim: dim.to_le(),
        sq_metric: metric.to_le(),
        sq_generation: generation.to_le(),
        sq_crc: checksum(body).to_le(),
        sq_reserved: [0; 9],
    };
    h.write_to_prefix(out).map_err(|_| Error::InvalidArgument)
}

/// True when `buf` holds no copy: all zero (the kernel writes zeros while
/// it has no trained quantiser).
pub fn is_empty(buf: &[u8]) -> bool {
    buf.iter().all(|&b| b == 0)
}

/// Check `buf` ([`bytes`]`(dim)` or more) as the quantiser's copy for a
/// volume of `dim` and `metric` and a graph of `generation`: magic,
/// version, dimension, metric, generation, checksum, reserved words zero,
/// every min finite and every step finite and not negative (the kernel
/// drops a copy failing any of these and trains again). With `out`, the
/// min and scale bit patterns are copied there.
pub fn check(
    buf: &[u8],
    dim: u32,
    metric: u32,
    generation: u64,
    out: Option<(&mut [u32], &mut [u32])>,
    msg: &mut impl Write,
) -> Result<()> {
    let d = dim as usize;
    let Some(body) = buf.get(HEADER_SIZE..bytes(dim)) else {
        explain!(msg, "quantiser copy buffer of {} bytes, {} needed", buf.len(), bytes(dim));
        return Err(Error::InvalidArgument);
    };
    let (h, _) = vexfs_sq8_disk::read_from_prefix(buf).map_err(|_| Error::InvalidArgument)?;
    let magic = u32::from_le(h.sq_magic);
    if magic != VEXFS_SQ8_MAGIC {
        explain!(msg, "quantiser magic 0x{magic:08x} (expected 0x{VEXFS_SQ8_MAGIC:08x})");
        return Err(Error::Corrupt);
    }
    let version = u32::from_le(h.sq_version);
    if version != VEXFS_SQ8_VERSION {
        explain!(msg, "quantiser version {version} (expected {VEXFS_SQ8_VERSION})");
        return Err(Error::Corrupt);
    }
    let (qdim, qmetric) = (u32::from_le(h.sq_dim), u32::from_le(h.sq_metric));
    if qdim != dim || qmetric != metric {
        explain!(msg, "quantiser of dimension {qdim} and metric {qmetric}, the filesystem's are {dim} and {metric}");
        return Err(Error::Corrupt);
    }
    let qgen = u64::from_le(h.sq_generation);
    if qgen != generation {
        explain!(msg, "quantiser of generation {qgen}, the graph's is {generation}");
        return Err(Error::Corrupt);
    }
    let (stored, computed) = (u32::from_le(h.sq_crc), checksum(body));
    if stored != computed {
        explain!(msg, "quantiser checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})");
        return Err(Error::Corrupt);
    }
    if h.sq_reserved.iter().any(|&w| w != 0) {
        explain!(msg, "quantiser reserved words are not zero");
        return Err(Error::Corrupt);
    }
    let word = |i: usize| -> u32 {
        let mut a = [0u8; 4];
        if let Some(s) = body.get(4 * i..4 * i + 4) {
            a.copy_from_slice(s);
        }
        u32::from_le_bytes(a)
    };
    for i in 0..d {
        if !finite(word(i)) {
            explain!(msg, "quantiser min of dimension {i} is not finite (0x{:08x})", word(i));
            return Err(Error::Corrupt);
        }
        if !step_ok(word(d + i)) {
            explain!(msg, "quantiser step of dimension {i} is negative or not finite (0x{:08x})", word(d + i));
            return Err(Error::Corrupt);
        }
    }
    if let Some((min, scale)) = out {
        if min.len() != d || scale.len() != d {
            return Err(Error::InvalidArgument);
        }
        for i in 0..d {
            if let (Some(m), Some(s)) = (min.get_mut(i), scale.get_mut(i)) {
                *m = word(i);
                *s = word(d + i);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::MsgBuf;

    fn copy(dim: u32) -> (std::vec::Vec<u32>, std::vec::Vec<u32>, std::vec::Vec<u8>) {
        let min: std::vec::Vec<u32> = (0..dim).map(|i| (-(i as f32) * 0.25).to_bits()).collect();
        let scale: std::vec::Vec<u32> = (0..dim).map(|i| (i as f32 / 255.0).to_bits()).collect();
        let mut out = std::vec![0u8; blocks(dim) * BLOCK_SIZE];
        encode(dim, VEXFS_METRIC_COSINE, 7, &min, &scale, &mut out).unwrap();
        (min, scale, out)
    }

    #[test]
    fn sizes_and_sample_step() {
        assert_eq!(core::mem::size_of::<vexfs_sq8_disk>(), 64);
        assert_eq!(blocks(1), 1);
        assert_eq!(blocks(504), 1); // 64 + 4032 = 4096
        assert_eq!(blocks(505), 2);
        assert_eq!(blocks(4096), 9);
        assert_eq!(sample_step(0), 1);
        assert_eq!(sample_step(16383), 1);
        assert_eq!(sample_step(16384), 1);
        assert_eq!(sample_step(32768), 2);
        assert_eq!(sample_step(50000), 3);
    }

    #[test]
    fn checksum_is_the_kernels_raw_register() {
        // The kernel's crc32c(~0, "123456789", 9) is the raw register: the
        // CRC-32C check value 0xe3069283 not inverted.
        assert_eq!(checksum(b"123456789"), !0xe306_9283);
        // Over two calls (min, then scale) it continues the same register.
        let mut c = Crc32c::new();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(!c.finish(), checksum(b"123456789"));
    }

    #[test]
    fn encode_check_round_trip_and_damage() {
        for dim in [1u32, 3, 504, 505, 4096] {
            let (min, scale, buf) = copy(dim);
            let mut m = [0u8; 200];
            let (mut a, mut b) = (std::vec![0u32; dim as usize], std::vec![0u32; dim as usize]);
            check(&buf, dim, VEXFS_METRIC_COSINE, 7, Some((&mut a, &mut b)), &mut MsgBuf::new(&mut m)).unwrap();
            assert_eq!((a, b), (min, scale));
            assert!(!is_empty(&buf));
            assert!(buf[bytes(dim)..].iter().all(|&x| x == 0));
        }
        let (_, _, buf) = copy(8);
        let why = |b: &[u8], dim: u32, metric: u32, gen: u64| {
            let mut m = [0u8; 200];
            let mut mb = MsgBuf::new(&mut m);
            assert_eq!(check(b, dim, metric, gen, None, &mut mb), Err(Error::Corrupt));
            std::string::String::from(mb.as_str())
        };
        assert!(why(&buf, 9, VEXFS_METRIC_COSINE, 7).contains("dimension 8"));
        assert!(why(&buf, 8, VEXFS_METRIC_L2, 7).contains("metric 1"));
        assert!(why(&buf, 8, VEXFS_METRIC_COSINE, 8).contains("generation 7, the graph's is 8"));
        let mut bad = buf.clone();
        bad[HEADER_SIZE + 5] ^= 1;
        assert!(why(&bad, 8, VEXFS_METRIC_COSINE, 7).contains("checksum mismatch"));
        let mut bad = buf.clone();
        bad[0] ^= 1;
        assert!(why(&bad, 8, VEXFS_METRIC_COSINE, 7).contains("magic"));
        let mut bad = buf.clone();
        bad[4] = 2;
        assert!(why(&bad, 8, VEXFS_METRIC_COSINE, 7).contains("version 2"));
        let mut bad = buf.clone();
        bad[40] = 1;
        assert!(why(&bad, 8, VEXFS_METRIC_COSINE, 7).contains("reserved"));
        // A negative step with a matching checksum: unusable, not a CRC error.
        let mut min = std::vec![0u32; 8];
        let mut scale = std::vec![1.0f32.to_bits(); 8];
        scale[3] = (-1.0f32).to_bits();
        let mut bad = std::vec![0u8; BLOCK_SIZE];
        encode(8, 0, 1, &min, &scale, &mut bad).unwrap();
        assert!(why(&bad, 8, 0, 1).contains("step of dimension 3"));
        scale[3] = 0x8000_0000; // -0.0 is a zero step
        min[2] = f32::NAN.to_bits();
        encode(8, 0, 1, &min, &scale, &mut bad).unwrap();
        assert!(why(&bad, 8, 0, 1).contains("min of dimension 2"));
        assert!(is_empty(&std::vec![0u8; BLOCK_SIZE]));
        // Arguments outside the contract.
        assert_eq!(encode(8, 0, 1, &min, &scale, &mut std::vec![0u8; 100]), Err(Error::InvalidArgument));
        assert_eq!(encode(0, 0, 1, &[], &[], &mut bad), Err(Error::InvalidArgument));
        assert_eq!(check(&bad[..60], 8, 0, 1, None, &mut crate::msg::NoMsg), Err(Error::InvalidArgument));
    }
}
