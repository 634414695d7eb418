//! CRC-32C (Castagnoli), the checksum of every metadata structure. Same
//! polynomial and conventions as the kernel's crc32c() with seed ~0 and a
//! final inversion, so either side can verify the other's output.
//!
//! Two implementations of the same function:
//! - default (host tools, tests, fuzzing): slice-by-16 tables in software;
//! - feature `kernel-crc32c` (vexfs.ko): the kernel's `crc32c()` through the C
//!   hook `vexfs_kcrc32c_update()` (kernel/rust_glue.c), which uses the CPU's
//!   CRC32 instruction (crc32c-intel) where there is one. Every directory
//!   operation re-seals a 4 KiB block: a byte-at-a-time table made the
//!   checksum most of the cost of a create or unlink.

/// The running state of an incremental CRC-32C: the raw register, seeded
/// with !0 and inverted at the end (the kernel's crc32c() works on it raw).
pub struct Crc32c(u32);

impl Crc32c {
    pub fn new() -> Self {
        Crc32c(!0)
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.0 = imp::update(self.0, bytes);
    }
    pub fn finish(self) -> u32 {
        !self.0
    }
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "kernel-crc32c")]
mod imp {
    extern "C" {
        /// crc32c(crc, p, len) of the kernel: the raw register, no inversion.
        fn vexfs_kcrc32c_update(crc: u32, p: *const u8, len: usize) -> u32;
    }

    pub fn update(crc: u32, bytes: &[u8]) -> u32 {
        // SAFETY: the pointer and length describe `bytes`, a live shared
        // slice; the C side only reads that range and keeps no reference.
        unsafe { vexfs_kcrc32c_update(crc, bytes.as_ptr(), bytes.len()) }
    }
}

#[cfg(not(feature = "kernel-crc32c"))]
mod imp {
    use crc::{Crc, Table, CRC_32_ISCSI};

    /// CRC-32C with init = 0 and no output inversion, so that a digest
    /// seeded with a raw register continues it exactly.
    const RAW: crc::Algorithm<u32> = crc::Algorithm { init: 0, xorout: 0, ..CRC_32_ISCSI };
    const CRC32C_RAW: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&RAW);

    pub fn update(crc: u32, bytes: &[u8]) -> u32 {
        // The crate takes an initial value in unreflected form and reflects
        // it; CRC-32C runs reflected, so hand it the raw register reflected.
        let mut d = CRC32C_RAW.digest_with_initial(crc.reverse_bits());
        d.update(bytes);
        d.finalize()
    }
}

/// CRC-32C of one byte range.
pub fn crc32c(bytes: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(bytes);
    c.finish()
}

/// CRC-32C of `bytes` as if the 4 bytes at `field_off` were zero: the
/// checksum of a structure that contains its own checksum field.
pub fn crc32c_skipping(prefix: &[u8], bytes: &[u8], field_off: usize) -> Option<u32> {
    let before = bytes.get(..field_off)?;
    let after = bytes.get(field_off.checked_add(4)?..)?;
    let mut c = Crc32c::new();
    c.update(prefix);
    c.update(before);
    c.update(&[0u8; 4]);
    c.update(after);
    Some(c.finish())
}

/// The checksum of a message after the 4 bytes at `off` changed from `old`
/// to `new`, given its checksum `sum` before, for a message of `len` bytes.
/// CRC is linear: the two messages differ by a buffer that is zero except
/// for `old ^ new` at `off`, so the checksums differ by the zero-seeded CRC
/// of that difference carried through the `len - off - 4` bytes after it
/// (multiplication by x^(8n) modulo the polynomial). Cost: a few hundred
/// shifts, instead of re-reading a 4 KiB block for a one-pointer change.
pub fn crc32c_update_word(sum: u32, len: usize, off: usize, old: [u8; 4], new: [u8; 4]) -> Option<u32> {
    let after = len.checked_sub(off.checked_add(4)?)?;
    Some(crc32c_update_word_shifted(sum, zeros_shift(after as u64), old, new))
}

/// `crc32c_update_word` with the shift for the bytes after the word given:
/// `zeros_shift(n)`, or a precomputed table of them (`zeros_shift_table`).
pub fn crc32c_update_word_shifted(sum: u32, shift: u32, old: [u8; 4], new: [u8; 4]) -> u32 {
    let delta = [old[0] ^ new[0], old[1] ^ new[1], old[2] ^ new[2], old[3] ^ new[3]];
    sum ^ multmodp(shift, imp::update(0, &delta))
}

/// x^(8n) modulo the polynomial: carries a CRC register through n zero bytes.
pub const fn zeros_shift(n: u64) -> u32 {
    x2nmodp(n, 3)
}

/// `T[i] = zeros_shift(last + 4 * (N - 1 - i))`: the shifts for the words
/// of a message that ends `last` bytes after its last word (word i of N is
/// followed by the words after it and then `last` bytes). One
/// multiplication per entry, so it can be built at compile time.
pub const fn zeros_shift_table<const N: usize>(last: u64) -> [u32; N] {
    let mut t = [0u32; N];
    if N == 0 {
        return t;
    }
    let x32 = X2N[5]; // x^32: one more word
    let mut i = N - 1;
    t[i] = zeros_shift(last);
    while i > 0 {
        t[i - 1] = multmodp(t[i], x32);
        i -= 1;
    }
    t
}

/// CRC-32C's polynomial, bit-reflected (as the register runs).
const POLY_REFLECTED: u32 = 0x82f6_3b78;

/// a * b modulo the polynomial, both in reflected form (bit 31 = x^0).
/// Bounded: one step per bit of `a` (zlib's multmodp, without its early exit).
const fn multmodp(a: u32, mut b: u32) -> u32 {
    let mut p = 0u32;
    let mut m = 1u32 << 31;
    while m != 0 {
        if a & m != 0 {
            p ^= b;
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY_REFLECTED } else { b >> 1 };
    }
    p
}

/// X2N[k] = x^(2^k) modulo the polynomial.
const X2N: [u32; 64] = {
    let mut t = [0u32; 64];
    let mut p = 1u32 << 30; // x^1
    t[0] = p;
    let mut k = 1;
    while k < 64 {
        p = multmodp(p, p);
        t[k] = p;
        k += 1;
    }
    t
};

/// x^(n * 2^k) modulo the polynomial (k = 3: n bytes of zeros).
const fn x2nmodp(mut n: u64, mut k: usize) -> u32 {
    let mut p = 1u32 << 31; // x^0
    while n != 0 {
        if n & 1 != 0 {
            p = multmodp(X2N[k & 63], p);
        }
        n >>= 1;
        k += 1;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_update_equals_recompute() {
        let mut data: [u8; 4096] = core::array::from_fn(|i| (i * 31 + i / 7) as u8);
        let mut sum = crc32c_skipping(&[9, 0, 0, 0], &data, 4092).unwrap();
        let mut seed = 0x1234_5678u32;
        for step in 0..2000usize {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            // Every word before the checksum field, including the first and last.
            let off = match step {
                0 => 0,
                1 => 4088,
                _ => (seed as usize % 1023) * 4,
            };
            let old: [u8; 4] = data[off..off + 4].try_into().unwrap();
            let new = seed.rotate_left(7).to_le_bytes();
            data[off..off + 4].copy_from_slice(&new);
            // The message is the 4-byte prefix plus the block: the word sits at 4 + off.
            sum = crc32c_update_word(sum, 4 + 4096, 4 + off, old, new).unwrap();
            assert_eq!(sum, crc32c_skipping(&[9, 0, 0, 0], &data, 4092).unwrap(), "step {step}");
        }
        assert_eq!(crc32c_update_word(0, 8, 5, [0; 4], [1; 4]), None);
    }

    #[test]
    fn shift_table_matches_direct_shifts() {
        const T: [u32; 1020] = zeros_shift_table::<1020>(16);
        for (i, &v) in T.iter().enumerate() {
            assert_eq!(v, zeros_shift(16 + 4 * (1019 - i as u64)), "entry {i}");
        }
        assert_eq!(zeros_shift(0), 1 << 31);
    }

    #[test]
    fn known_vector() {
        // RFC 3720 B.4: 32 bytes of zero.
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: [u8; 4096] = core::array::from_fn(|i| (i * 7 + i / 13) as u8);
        for split in [0, 1, 5, 64, 1000, 4095, 4096] {
            let mut c = Crc32c::new();
            c.update(&data[..split]);
            c.update(&data[split..]);
            assert_eq!(c.finish(), crc32c(&data));
        }
        // The reference: the catalogue's CRC-32C, byte at a time.
        let reference = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
        assert_eq!(crc32c(&data), reference.checksum(&data));
    }

    #[test]
    fn skipping_equals_zeroed_field() {
        let mut data = [7u8; 64];
        data[8..12].copy_from_slice(&[1, 2, 3, 4]);
        let skip = crc32c_skipping(&[], &data, 8).unwrap();
        data[8..12].copy_from_slice(&[0; 4]);
        assert_eq!(skip, crc32c(&data));
    }
}
