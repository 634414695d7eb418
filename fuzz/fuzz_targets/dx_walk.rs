//! Indexed directories: the walks the kernel makes through the C ABI
//! (vexfs_dx_probe_name / probe_pos, descend, next_leaf, leaf_sort) over a
//! directory of fuzzed blocks. Mode bit 0: build a valid one-level index
//! (init_root + push_entry over leaves made with dir::init/add) and apply
//! byte edits. Every walk must end within a bound (a loop would hang the
//! kernel) and every block number it asks for must be inside the directory.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::abi::{vexfs_dx_path, vexfs_dx_slot, VEXFS_DX_END, VEXFS_DX_LEAF, VEXFS_DX_READ};
use vexfs_core::ffi::dx::*;
use vexfs_core::format::defs::*;
use vexfs_core::format::{dir, dx};

const DINO: u32 = 2;

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let mode = c.u8();
    let nblocks = (c.u8() as usize % 8) + 2;
    let depth = (c.u8() as u32 % 3) + 1;
    let mut blocks = vec![0u8; nblocks * BLOCK_SIZE];
    if mode & 1 != 0 {
        let seed = [c.u32(), c.u32(), c.u32(), c.u32()];
        let (root, rest) = blocks.split_at_mut(BLOCK_SIZE);
        if dx::init_root(root, DINO, 1, VEXFS_DX_HASH_SIPHASH24, &seed, 1).is_err() {
            return;
        }
        let mut key = 0u64;
        for (i, leaf) in rest.chunks_exact_mut(BLOCK_SIZE).enumerate() {
            let _ = dx::push_entry(root, dx::Kind::Root, dx::Entry { stored: key << 1, block: i as u32 + 1 });
            key += 1 + (c.u32() as u64);
            dir::init(leaf, DINO).unwrap();
            for _ in 0..(c.u8() % 8) {
                let nl = (c.u8() as usize % 12) + 1;
                let name = c.take(nl).to_vec();
                let _ = dir::add(leaf, DINO, &name, c.u16() as u32 % 1000 + 1, 1);
            }
        }
        apply_edits(&mut c, &mut blocks, 6);
    } else {
        let src = c.take(blocks.len());
        blocks[..src.len()].copy_from_slice(src);
    }
    let name = c.take((c.0.len() % 16).max(1)).to_vec();
    let pos = c.u64();
    let all = c.u8() as u32 & 1;
    let by_name = mode & 2 == 0;
    let mut p = vexfs_dx_path::default();
    let mut r = unsafe {
        if by_name {
            vexfs_dx_probe_name(&mut p, blocks.as_ptr(), BLOCK_SIZE as u32, DINO, nblocks as u32, depth, name.as_ptr(), name.len() as u32)
        } else {
            vexfs_dx_probe_pos(&mut p, blocks.as_ptr(), BLOCK_SIZE as u32, DINO, nblocks as u32, depth, pos)
        }
    };
    let mut slots = vec![vexfs_dx_slot::default(); VEXFS_DX_LEAF_MAX_ENTRIES as usize + 1];
    let bound = 64 * (nblocks + 4);
    for _ in 0..bound {
        if r < 0 || r == VEXFS_DX_END as i32 {
            return;
        }
        let b = p.next_block as usize;
        assert!(b < nblocks, "walk asks for block {b} of a {nblocks}-block directory");
        let blk = &blocks[b * BLOCK_SIZE..(b + 1) * BLOCK_SIZE];
        r = unsafe {
            if r == VEXFS_DX_READ as i32 {
                vexfs_dx_descend(&mut p, blk.as_ptr(), BLOCK_SIZE as u32)
            } else {
                assert_eq!(r, VEXFS_DX_LEAF as i32, "unknown walk result {r}");
                let n = vexfs_dx_leaf_sort(&p, blk.as_ptr(), BLOCK_SIZE as u32, slots.as_mut_ptr(), slots.len() as u32);
                if n > 0 {
                    assert!(n as usize <= slots.len());
                    for w in slots[..n as usize].windows(2) {
                        assert!(w[0].pos <= w[1].pos, "leaf_sort not sorted");
                    }
                }
                vexfs_dx_next_leaf(&mut p, all)
            }
        };
    }
    panic!("dx walk did not end within {bound} steps");
});
