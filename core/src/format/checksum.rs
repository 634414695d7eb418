//! CRC-32C (Castagnoli), the checksum of every metadata structure. Same
//! polynomial and conventions as the kernel's crc32c() with seed ~0 and a
//! final inversion, so either side can verify the other's output.
use crc::{Crc, Digest, CRC_32_ISCSI};

const CRC32C: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// An incremental CRC-32C over several byte ranges.
pub struct Crc32c(Digest<'static, u32>);

impl Crc32c {
    pub fn new() -> Self {
        Crc32c(CRC32C.digest())
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finish(self) -> u32 {
        self.0.finalize()
    }
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

/// CRC-32C of one byte range.
pub fn crc32c(bytes: &[u8]) -> u32 {
    CRC32C.checksum(bytes)
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
    fn skipping_equals_zeroed_field() {
        let mut data = [7u8; 64];
        data[8..12].copy_from_slice(&[1, 2, 3, 4]);
        let skip = crc32c_skipping(&[], &data, 8).unwrap();
        data[8..12].copy_from_slice(&[0; 4]);
        assert_eq!(skip, crc32c(&data));
    }
}
