//! Indirect blocks: `vexfs_ind_check`, `vexfs_ind_set` and `vexfs_ind_init`
//! (C ABI) on arbitrary blocks, owners and levels. Invariants: nothing
//! panics; a block sealed for (ino, level) checks for exactly that owner and
//! level; entry updates through `vexfs_ind_set` keep a checked block checked
//! and read back; a changed byte anywhere in a checked block is refused.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::{vexfs_ind_check, vexfs_ind_init, vexfs_ind_set};
use vexfs_core::format::bmap;
use vexfs_core::format::defs::*;

fn check(block: &[u8], ino: u32, level: u32) -> i32 {
    let mut msg = [0u8; 160];
    unsafe {
        vexfs_ind_check(block.as_ptr(), block.len() as u32, ino, level, msg.as_mut_ptr() as *mut _, msg.len() as u32)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let mode = c.u8();
    let ino = c.u32();
    let level = (c.u8() % 5) as u32; // 0 and 4 are invalid levels
    let nops = c.u8() % 16;
    let ops: Vec<(u32, u32)> = (0..nops).map(|_| ((c.u16() % 1100) as u32, c.u32())).collect();
    let flip = c.u16() as usize % (BLOCK_SIZE * 8);
    let rest = c.rest();
    // Odd lengths reach the FFI too: they must be refused, not read past.
    if mode & 0x80 != 0 {
        let short = &rest[..rest.len().min(BLOCK_SIZE - 1)];
        assert!(check(short, ino, level) < 0);
    }
    let mut block = vec![0u8; BLOCK_SIZE];
    let n = rest.len().min(BLOCK_SIZE);
    block[..n].copy_from_slice(&rest[..n]);
    let valid_level = (1..=bmap::MAX_LEVEL).contains(&level);
    if mode & 1 != 0 {
        let rc = unsafe { vexfs_ind_init(block.as_mut_ptr(), BLOCK_SIZE as u32, ino, level) };
        assert_eq!(rc == 0, valid_level);
        if rc == 0 {
            assert!(block[..BLOCK_SIZE - VEXFS_IND_TAIL_SIZE as usize].iter().all(|&b| b == 0));
        }
    } else if mode & 2 != 0 && valid_level {
        bmap::indirect_seal(&mut block, ino, level).expect("seal");
    }
    let ok = check(&block, ino, level) == 0;
    if ok {
        assert!(valid_level);
        // Another owner or level never passes.
        assert!(check(&block, ino.wrapping_add(1), level) < 0);
        assert!(check(&block, ino, level % bmap::MAX_LEVEL + 1) < 0);
    }
    for (idx, val) in ops {
        let rc = unsafe { vexfs_ind_set(block.as_mut_ptr(), BLOCK_SIZE as u32, idx, val) };
        assert_eq!(rc == 0, idx < VEXFS_ADDR_PER_BLOCK, "set idx {idx}");
        if rc == 0 {
            assert_eq!(bmap::indirect_get(&block, idx), Some(val));
        }
        if ok {
            assert_eq!(check(&block, ino, level), 0, "checked block refused after set of {idx}");
        }
    }
    if ok {
        block[flip / 8] ^= 1 << (flip % 8);
        assert!(check(&block, ino, level) < 0, "bit {flip} flipped and still checked");
    }
});
