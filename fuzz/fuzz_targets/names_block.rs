//! Names blocks: `vexfs_names_check`, `vexfs_names_init`, `vexfs_names_add`
//! and `vexfs_names_remove` (C ABI) on arbitrary blocks, owners and
//! directories. Invariants: nothing panics; a block that checks stays
//! checked through adds and removes, with its counts summing to the names
//! added minus removed; a checked block never checks for another owner; a
//! changed bit anywhere in a checked block is refused.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::{vexfs_names_add, vexfs_names_check, vexfs_names_init, vexfs_names_remove};
use vexfs_core::format::defs::*;

const MAX_DIR: u32 = 1 << 20;

fn check(block: &[u8], ino: u32, links: u32) -> i32 {
    let mut msg = [0u8; 160];
    unsafe {
        vexfs_names_check(block.as_ptr(), block.len() as u32, ino, links, MAX_DIR, msg.as_mut_ptr() as *mut _,
                          msg.len() as u32)
    }
}

fn sum(block: &[u8]) -> u32 {
    let n = (u32::from_le_bytes(block[8..12].try_into().unwrap()) as usize).min(VEXFS_NAMES_MAX as usize);
    (0..n).map(|i| u32::from_le_bytes(block[16 + 8 * i + 4..16 + 8 * i + 8].try_into().unwrap())).fold(0u32, u32::wrapping_add)
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let mode = c.u8();
    let ino = c.u32() | 1;
    let (a, b) = (c.u32() % (MAX_DIR + 2), c.u32() % (MAX_DIR + 2));
    let nops = c.u8() % 32;
    // Few distinct directories, so adds and removes meet the same entries.
    let ops: Vec<(bool, u32)> = (0..nops).map(|_| (c.u8() & 1 == 0, (c.u16() % 64) as u32 + 1)).collect();
    let flip = c.u16() as usize % (BLOCK_SIZE * 8);
    let rest = c.rest();
    if mode & 0x80 != 0 {
        let short = &rest[..rest.len().min(BLOCK_SIZE - 1)];
        assert!(check(short, ino, 0) < 0);
    }
    let mut block = vec![0u8; BLOCK_SIZE];
    let n = rest.len().min(BLOCK_SIZE);
    block[..n].copy_from_slice(&rest[..n]);
    if mode & 1 != 0 {
        let rc = unsafe { vexfs_names_init(block.as_mut_ptr(), BLOCK_SIZE as u32, ino, a, b) };
        assert_eq!(rc == 0, a != 0 && b != 0, "init with directories {a}, {b}");
        if rc == 0 {
            assert_eq!(check(&block, ino, 2) >= 0, a <= MAX_DIR && b <= MAX_DIR);
        }
    }
    let ok = check(&block, ino, 0) >= 0;
    if ok {
        assert!(check(&block, ino ^ 2, 0) < 0, "checked for another owner");
        assert_eq!(check(&block, ino, sum(&block)), check(&block, ino, 0));
    }
    for (add, dir) in ops {
        let before = sum(&block);
        let rc = unsafe {
            if add {
                vexfs_names_add(block.as_mut_ptr(), BLOCK_SIZE as u32, ino, dir)
            } else {
                vexfs_names_remove(block.as_mut_ptr(), BLOCK_SIZE as u32, ino, dir)
            }
        };
        if ok && rc == 0 {
            assert_eq!(sum(&block), if add { before.wrapping_add(1) } else { before.wrapping_sub(1) });
            // Removing the last name leaves an empty list, which no file has.
            if sum(&block) > 0 {
                assert!(check(&block, ino, sum(&block)) >= 0, "checked block refused after an update");
            }
        }
    }
    if check(&block, ino, 0) >= 0 {
        block[flip / 8] ^= 1 << (flip % 8);
        assert!(check(&block, ino, 0) < 0, "bit {flip} flipped and still checked");
    }
});
