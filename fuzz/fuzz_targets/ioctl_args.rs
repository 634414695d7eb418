//! The core-side checks of ioctl arguments, as kernel/ioctl.c calls them:
//! `vexfs_vec_check` (finite and below 2^ELEMENT_MAX_LOG2 in magnitude,
//! checked here against a float comparison), the distance-key conversions used for
//! range thresholds and results, `vexfs_vec_record_pos` / encode / decode
//! for the vector a SET_VECTOR stores, and the HNSW parameter checks
//! behind SET_CONFIG/rebuild (`vexfs_hnsw_words_needed`, scratch sizes).
//! The C half of the validation (size fields, flags, limits) is exercised
//! for real by the in-VM ioctl fuzzer (tests/debug/guest/ioctl-fuzz.c).
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::abi::vexfs_hnsw_params;
use vexfs_core::ffi::hnsw::{vexfs_dist_bits_from_key, vexfs_dist_key_from_bits, vexfs_hnsw_scratch_size, vexfs_hnsw_words_needed};
use vexfs_core::ffi::vector::{vexfs_vec_check, vexfs_vec_record_decode, vexfs_vec_record_encode, vexfs_vec_record_pos};
use vexfs_core::ffi::abi::vexfs_vec_pos;
use vexfs_core::hnsw::ELEMENT_MAX_LOG2;

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    // Key conversion: order-preserving and invertible on non-NaN floats.
    let (a, b) = (c.u32(), c.u32());
    let (fa, fb) = (f32::from_bits(a), f32::from_bits(b));
    let (ka, kb) = (vexfs_dist_key_from_bits(a), vexfs_dist_key_from_bits(b));
    if !fa.is_nan() && !fb.is_nan() {
        if fa < fb {
            assert!(ka < kb, "key order: {fa} < {fb} but {ka} >= {kb}");
        }
        assert_eq!(vexfs_dist_bits_from_key(ka), a, "key roundtrip");
    }
    // Vector checks and the record that would be written.
    let ino = c.u32();
    let gen = c.u32();
    let dim = (c.u16() as u32) % 4200;
    let mut bits: Vec<u32> = (0..dim).map(|_| c.u32()).collect();
    if c.u8() & 1 == 0 {
        for w in bits.iter_mut() {
            *w &= !(1 << 30); // biased exponent below 128: valid
        }
    }
    // Valid elements: |x| < 2^56 (so no f32 distance overflows); false for
    // NaN and the infinities. A float comparison, not the core's bit test.
    let bound = 2f32.powi(ELEMENT_MAX_LOG2 as i32);
    let valid = bits.iter().all(|&w| f32::from_bits(w).abs() < bound);
    let r = unsafe { vexfs_vec_check(bits.as_ptr(), dim) };
    assert_eq!(r == 0, valid, "vexfs_vec_check {r} on {bits:x?}");
    assert!(unsafe { vexfs_vec_check(core::ptr::null(), dim) } < 0);
    let mut pos = vexfs_vec_pos::default();
    if unsafe { vexfs_vec_record_pos(ino as u64, dim, &mut pos) } == 0 {
        let mut rec = vec![0u8; pos.len as usize];
        let er = unsafe { vexfs_vec_record_encode(ino, gen, bits.as_ptr(), dim, rec.as_mut_ptr(), rec.len() as u32) };
        if er == 0 {
            assert!(valid && ino != 0);
            let mut out = vec![0u32; dim as usize];
            let mut g = 0u32;
            let dr = unsafe { vexfs_vec_record_decode(rec.as_ptr(), rec.len() as u32, ino, dim, &mut g, out.as_mut_ptr()) };
            assert_eq!(dr, 1, "encoded record does not decode");
            assert_eq!(g, gen);
            assert_eq!(out, bits);
        }
    }
    // HNSW parameters as SET_CONFIG/mkfs pass them.
    let mut p = vexfs_hnsw_params::default();
    p.dim = c.u32() >> (c.u8() % 32);
    p.m = c.u32() >> (c.u8() % 32);
    p.ef_construction = c.u32() >> (c.u8() % 32);
    p.capacity = c.u32() >> (c.u8() % 32);
    let _ = unsafe { vexfs_hnsw_words_needed(&p) };
    let (mut w32, mut w64) = (0u64, 0u64);
    let _ = unsafe { vexfs_hnsw_scratch_size(c.u32() >> (c.u8() % 32), c.u32() >> (c.u8() % 32), c.u32() >> (c.u8() % 32), &mut w32, &mut w64) };
});
