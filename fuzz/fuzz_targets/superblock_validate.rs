//! Superblock validation through the C ABI the kernel calls
//! (`vexfs_sb_validate`), then `vexfs_sb_update` on what it accepted.
//! Mode bit 0: reseal the checksum first (reach the field checks);
//! bit 1: start from a valid mkfs superblock and apply byte edits.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::abi::vexfs_sb_geom;
use vexfs_core::ffi::{vexfs_sb_update, vexfs_sb_validate};
use vexfs_core::format::superblock;

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let mode = c.u8();
    let dev_blocks = c.u64() >> (c.u8() % 64);
    let mut b = if mode & 2 != 0 {
        let blocks = 2048 + (c.u32() as u64 % (1 << 22));
        let Some((mut b, _)) = geom(blocks, 0) else { return };
        apply_edits(&mut c, &mut b, 16);
        b
    } else {
        block_from(c.rest())
    };
    if mode & 1 != 0 {
        let _ = superblock::seal(&mut b);
    }
    let len = if mode & 4 != 0 { (c.u16() as u32) % (b.len() as u32 + 1) } else { b.len() as u32 };
    let mut g = vexfs_sb_geom::default();
    let mut msg = [0u8; 200];
    let r = unsafe { vexfs_sb_validate(b.as_ptr(), len, dev_blocks, &mut g, msg.as_mut_ptr().cast(), msg.len() as u32) };
    assert!(msg.contains(&0), "message not NUL-terminated");
    if r == 0 {
        let (fb, fi) = (c.u64(), c.u32());
        let _ = unsafe { vexfs_sb_update(b.as_mut_ptr(), len, c.u32(), fb, fi, c.u64(), c.u32(), c.u64(), c.u64(), c.u64(), c.u64(), c.u64(), c.u64()) };
    }
    // NULL arguments are rejected, not dereferenced.
    let _ = unsafe { vexfs_sb_validate(b.as_ptr(), len, dev_blocks, core::ptr::null_mut(), core::ptr::null_mut(), 0) };
});
