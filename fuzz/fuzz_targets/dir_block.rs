//! Directory blocks through the C ABI the kernel calls: check, next, find,
//! is_empty, then add/remove/retarget on an accepted block. Mode bit 0:
//! build a block with init + adds from the input and apply byte edits;
//! bit 1: reseal the tail checksum (reach the record checks). Property: an
//! operation that succeeds on a checked block leaves a block that checks.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::abi::vexfs_dirent_view;
use vexfs_core::ffi::*;
use vexfs_core::format::defs::*;
use vexfs_core::format::dir;

const INODES: u32 = 5000;

fn check(b: &[u8], dino: u32) -> i32 {
    let mut msg = [0u8; 128];
    unsafe { vexfs_dir_block_check(b.as_ptr(), b.len() as u32, dino, INODES, msg.as_mut_ptr().cast(), msg.len() as u32) }
}

fn entries(b: &[u8]) -> Vec<vexfs_dirent_view> {
    let mut v = Vec::new();
    let mut pos = 0u32;
    // Each step advances by at least one record header: bounded.
    for _ in 0..=BLOCK_SIZE {
        let mut e = vexfs_dirent_view::default();
        match unsafe { vexfs_dir_next(b.as_ptr(), b.len() as u32, pos, &mut e) } {
            1 => {
                assert!(e.next_offset > pos, "dir_next does not advance");
                assert!((e.name_offset + e.name_len) as usize <= BLOCK_SIZE);
                pos = e.next_offset;
                v.push(e);
            }
            _ => return v,
        }
    }
    panic!("dir_next loops");
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let mode = c.u8();
    let dino = (c.u8() as u32 % 64) + 1;
    let mut b = vec![0u8; BLOCK_SIZE];
    if mode & 1 != 0 {
        dir::init(&mut b, dino).unwrap();
        for _ in 0..(c.u8() % 32) {
            let nl = (c.u8() as usize % 40) + 1;
            let name = c.take(nl).to_vec();
            let _ = dir::add(&mut b, dino, &name, c.u16() as u32 % INODES + 1, (c.u8() as u32 % 8) + 1);
        }
        apply_edits(&mut c, &mut b, 4);
    } else {
        let src = c.take(BLOCK_SIZE);
        b[..src.len()].copy_from_slice(src);
    }
    if mode & 2 != 0 {
        let _ = dir::seal(&mut b, dino);
    }
    // Unchecked blocks must not crash the walkers either (the kernel only
    // walks checked blocks, but fsck walks what it finds).
    let _ = entries(&b);
    let ok = check(&b, dino) == 0;
    let mut e = vexfs_dirent_view::default();
    let name = c.take(c.0.len().min(8)).to_vec();
    let _ = unsafe { vexfs_dir_find(b.as_ptr(), b.len() as u32, name.as_ptr(), name.len() as u32, &mut e) };
    let _ = unsafe { vexfs_dir_block_is_empty(b.as_ptr(), b.len() as u32) };
    if !ok {
        return;
    }
    for _ in 0..16 {
        let op = c.u8();
        let list = entries(&b);
        let r = match op % 3 {
            0 => {
                let nl = (c.u8() as usize % 300) + 1;
                let name = c.take(nl).to_vec();
                unsafe { vexfs_dir_add(b.as_mut_ptr(), b.len() as u32, dino, name.as_ptr(), name.len() as u32, c.u16() as u32 % INODES + 1, c.u8() as u32 % 10) }
            }
            1 if !list.is_empty() => {
                let e = list[c.u8() as usize % list.len()];
                unsafe { vexfs_dir_remove(b.as_mut_ptr(), b.len() as u32, dino, e.rec_offset) }
            }
            2 if !list.is_empty() => {
                let e = list[c.u8() as usize % list.len()];
                unsafe { vexfs_dir_retarget(b.as_mut_ptr(), b.len() as u32, dino, e.rec_offset, c.u16() as u32 % INODES + 1, c.u8() as u32 % 10) }
            }
            _ => continue,
        };
        if r >= 0 {
            assert_eq!(check(&b, dino), 0, "a successful dir op (op {}) left a block that does not check", op % 3);
        }
        if c.rest().is_empty() {
            break;
        }
    }
});
