//! Allocation bitmaps and the block-map path: `vexfs_bitmap_count` and
//! `vexfs_bmap_path` (C ABI) and the bitmap/indirect helpers, with their
//! invariants (set then test, find_zero returns a clear bit in range, the
//! map path is within its levels).
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::{vexfs_bitmap_count, vexfs_bmap_path};
use vexfs_core::format::bmap::{self, MAX_FILE_BLOCKS};
use vexfs_core::format::defs::*;
use vexfs_core::format::bitmap;

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let iblock = match c.u8() % 4 {
        0 => c.u64(),
        1 => MAX_FILE_BLOCKS.wrapping_sub(c.u8() as u64),
        2 => c.u32() as u64,
        _ => c.u16() as u64,
    };
    let mut off = [0u32; 4];
    let depth = unsafe { vexfs_bmap_path(iblock, off.as_mut_ptr()) };
    if iblock < MAX_FILE_BLOCKS {
        assert!((1..=4).contains(&depth), "path depth {depth} for {iblock}");
        if depth == 1 {
            assert!(off[0] < VEXFS_NDIR_BLOCKS);
        }
        for &o in &off[1..depth as usize] {
            assert!(o < VEXFS_ADDR_PER_BLOCK);
        }
    } else {
        assert!(depth < 0);
    }
    let nbits = c.u32() >> (c.u8() % 32);
    let start = c.u64() >> (c.u8() % 64);
    let idx = c.u32();
    let val = c.u32();
    let mut map = c.rest().to_vec();
    let n = unsafe { vexfs_bitmap_count(map.as_ptr(), map.len() as u32, nbits) };
    if nbits as u64 <= map.len() as u64 * 8 {
        assert!(n >= 0 && n as u64 <= nbits as u64);
    }
    if let Some(z) = bitmap::find_zero(&map, start, nbits as u64) {
        assert!(z >= start && z < nbits as u64 && bitmap::test(&map, z) == Some(false));
        assert_eq!(bitmap::set(&mut map, z), Some(false));
        assert_eq!(bitmap::test(&map, z), Some(true));
        assert_eq!(bitmap::clear(&mut map, z), Some(true));
    }
    let _ = bitmap::test(&map, start);
    let _ = bitmap::set(&mut map, start);
    let _ = bitmap::clear(&mut map, start);
    if bmap::indirect_set(&mut map, idx, val).is_some() {
        assert_eq!(bmap::indirect_get(&map, idx), Some(val));
    } else {
        assert_eq!(bmap::indirect_get(&map, idx), None);
    }
});
