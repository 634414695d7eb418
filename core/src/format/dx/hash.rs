//! The directory-index name hash: SipHash-2-4 under the directory's seed,
//! truncated to the 62-bit key that orders leaves and readdir positions.
use super::*;

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-2-4 (Aumasson & Bernstein) of `data` under the 128-bit `key`.
pub fn siphash24(key: &[u8; 16], data: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&key[..8]);
    let k0 = u64::from_le_bytes(k);
    k.copy_from_slice(&key[8..]);
    let k1 = u64::from_le_bytes(k);
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    if let Some(dst) = last.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    last[7] = data.len() as u8;
    let b = u64::from_le_bytes(last);
    v[3] ^= b;
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn seed_bytes(seed: &[u32; 4]) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (dst, w) in k.chunks_exact_mut(4).zip(seed.iter()) {
        dst.copy_from_slice(&w.to_le_bytes());
    }
    k
}

pub(super) fn hash_version_ok(v: u32) -> bool {
    #[cfg(test)]
    if v == HASH_TEST_WEAK {
        return true;
    }
    v == VEXFS_DX_HASH_SIPHASH24
}

/// The 62-bit hash key of `name` in a directory with this seed.
pub fn name_key(hash_version: u32, seed: &[u32; 4], name: &[u8]) -> u64 {
    let h = siphash24(&seed_bytes(seed), name);
    #[cfg(test)]
    if hash_version == HASH_TEST_WEAK {
        return (h >> 2) & (0xf << 40);
    }
    let _ = hash_version;
    (h >> 2).min(MAX_KEY)
}

/// The readdir position of a name with hash key `key`.
pub const fn key_pos(key: u64) -> u64 {
    VEXFS_DX_POS_BASE + key
}
