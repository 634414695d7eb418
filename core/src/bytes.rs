//! Fixed-width fields in byte buffers (on-disk blocks, records crossing the
//! C boundary): the core's one set of accessors, little-endian as the format
//! header defines, plus big-endian for the jbd2 journal superblock.
//! Each returns `None` when the field does not fit in the buffer (offset
//! overflow included), so no caller slices by hand and none can panic;
//! callers choose what a short buffer means (corrupt block, caller error).

/// The byte at `off`.
#[inline]
pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// The little-endian u16 at `off`.
#[inline]
pub fn le16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

/// The little-endian u32 at `off`.
#[inline]
pub fn le32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(array4(b, off)?))
}

/// The big-endian u32 at `off` (jbd2 structures).
#[inline]
pub fn be32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(array4(b, off)?))
}

/// Writes the byte `v` at `off`.
#[inline]
pub fn put8(b: &mut [u8], off: usize, v: u8) -> Option<()> {
    *b.get_mut(off)? = v;
    Some(())
}

/// Writes `v` little-endian at `off`.
#[inline]
pub fn put16(b: &mut [u8], off: usize, v: u16) -> Option<()> {
    b.get_mut(off..off.checked_add(2)?)?.copy_from_slice(&v.to_le_bytes());
    Some(())
}

/// Writes `v` little-endian at `off`.
#[inline]
pub fn put32(b: &mut [u8], off: usize, v: u32) -> Option<()> {
    b.get_mut(off..off.checked_add(4)?)?.copy_from_slice(&v.to_le_bytes());
    Some(())
}

/// Writes `v` big-endian at `off` (jbd2 structures).
#[inline]
pub fn put_be32(b: &mut [u8], off: usize, v: u32) -> Option<()> {
    b.get_mut(off..off.checked_add(4)?)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

#[inline]
fn array4(b: &[u8], off: usize) -> Option<[u8; 4]> {
    let s = b.get(off..off.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let mut b = [0u8; 8];
        assert_eq!(put32(&mut b, 4, 0x0403_0201), Some(()));
        assert_eq!(b[4..], [1, 2, 3, 4]);
        assert_eq!(le32(&b, 4), Some(0x0403_0201));
        assert_eq!(be32(&b, 4), Some(0x0102_0304));
        assert_eq!(put16(&mut b, 0, 0xbeef), Some(()));
        assert_eq!(le16(&b, 0), Some(0xbeef));
        assert_eq!(put_be32(&mut b, 0, 0x0a0b_0c0d), Some(()));
        assert_eq!(b[..4], [0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(put8(&mut b, 7, 9), Some(()));
        assert_eq!(u8_at(&b, 7), Some(9));
        // Fields that do not fit: refused, buffer unchanged.
        let before = b;
        assert_eq!(le32(&b, 5), None);
        assert_eq!(le16(&b, 7), None);
        assert_eq!(u8_at(&b, 8), None);
        assert_eq!(le32(&b, usize::MAX - 1), None);
        assert_eq!(put32(&mut b, 5, 0), None);
        assert_eq!(put16(&mut b, usize::MAX, 0), None);
        assert_eq!(put8(&mut b, 8, 0), None);
        assert_eq!(put_be32(&mut b, 6, 0), None);
        assert_eq!(b, before);
    }
}
