//! Allocation bitmaps: bit n of the map (byte n/8, bit n%8, LSB first) is
//! set when object n is in use. Pure functions over one block; the kernel
//! holds the allocator lock across find-and-set so no object is handed out
//! twice.

/// Count set bits among the first `nbits` bits of `map`.
pub fn count_set(map: &[u8], nbits: u64) -> u64 {
    let full = (nbits / 8) as usize;
    let mut n: u64 = map.iter().take(full).map(|b| b.count_ones() as u64).sum();
    let rem = (nbits % 8) as u32;
    if rem != 0 {
        if let Some(b) = map.get(full) {
            n += (b & ((1u8 << rem) - 1)).count_ones() as u64;
        }
    }
    n
}

/// Test bit `n`; None when it is outside the map.
pub fn test(map: &[u8], n: u64) -> Option<bool> {
    let byte = map.get(usize::try_from(n / 8).ok()?)?;
    Some(byte & (1 << (n % 8)) != 0)
}

/// Set bit `n`; returns its previous value, None when outside the map.
pub fn set(map: &mut [u8], n: u64) -> Option<bool> {
    let byte = map.get_mut(usize::try_from(n / 8).ok()?)?;
    let mask = 1u8 << (n % 8);
    let old = *byte & mask != 0;
    *byte |= mask;
    Some(old)
}

/// Clear bit `n`; returns its previous value, None when outside the map.
pub fn clear(map: &mut [u8], n: u64) -> Option<bool> {
    let byte = map.get_mut(usize::try_from(n / 8).ok()?)?;
    let mask = 1u8 << (n % 8);
    let old = *byte & mask != 0;
    *byte &= !mask;
    Some(old)
}

/// The first clear bit at or after `start` and below `nbits`, skipping
/// whole 0xff bytes quickly.
pub fn find_zero(map: &[u8], start: u64, nbits: u64) -> Option<u64> {
    let limit = nbits.min((map.len() as u64) * 8);
    let mut n = start;
    while n < limit {
        let idx = (n / 8) as usize;
        let byte = *map.get(idx)?;
        if byte == 0xff {
            n = (n / 8 + 1) * 8;
            continue;
        }
        if byte & (1 << (n % 8)) == 0 {
            return Some(n);
        }
        n += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_find_count() {
        let mut m = [0u8; 16];
        assert_eq!(find_zero(&m, 0, 128), Some(0));
        for i in 0..20 {
            assert_eq!(set(&mut m, i), Some(false));
        }
        assert_eq!(set(&mut m, 3), Some(true));
        assert_eq!(find_zero(&m, 0, 128), Some(20));
        assert_eq!(count_set(&m, 128), 20);
        assert_eq!(count_set(&m, 13), 13);
        assert_eq!(clear(&mut m, 5), Some(true));
        assert_eq!(find_zero(&m, 0, 128), Some(5));
        assert_eq!(find_zero(&m, 6, 20), None);
        assert_eq!(set(&mut m, 128), None);
        assert_eq!(test(&m, 1000), None);
    }
}
