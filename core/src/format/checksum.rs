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

#[cfg(test)]
mod tests {
    use super::*;

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
