//! Inode decode (`vexfs_inode_decode`, the C ABI the kernel calls) against a
//! valid volume geometry. Mode bit 0: start from a valid encoded inode
//! (from the fuzz bytes via encode) and apply byte edits, resealing the
//! checksum when bit 1 is set. Whatever decodes must re-encode and decode
//! to the same inode.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::abi::vexfs_inode_mem;
use vexfs_core::ffi::{vexfs_inode_decode, vexfs_inode_encode, vexfs_inode_locate};
use vexfs_core::format::checksum::crc32c_skipping;
use vexfs_core::format::defs::*;
use vexfs_core::format::inode;
use vexfs_core::msg::NoMsg;

const ISIZE: usize = VEXFS_INODE_SIZE as usize;
const CSUM_OFF: usize = core::mem::offset_of!(vexfs_inode, i_checksum);

fn reseal(raw: &mut [u8], ino: u32) {
    if let Some(s) = crc32c_skipping(&ino.to_le_bytes(), raw, CSUM_OFF) {
        raw[CSUM_OFF..CSUM_OFF + 4].copy_from_slice(&s.to_le_bytes());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let mode = c.u8();
    let Some((_, g)) = geom(4096 + (c.u16() as u64) * 64, 0) else { return };
    let ino = match c.u8() {
        0 => c.u32(),
        n => (n as u32 % g.inodes_count.max(1)) + 1,
    };
    let mut raw = vec![0u8; ISIZE];
    if mode & 1 != 0 {
        let mut m = vexfs_inode_mem::default();
        m.mode = (c.u16() as u32) & 0o177777;
        m.links_count = c.u16() as u32;
        m.size = c.u64() >> (c.u8() % 64);
        m.blocks = c.u64() >> (c.u8() % 64);
        for b in m.block.iter_mut() {
            *b = if c.u8() & 1 != 0 { g.data_start + c.u16() as u32 } else { 0 };
        }
        m.vector_dim = c.u16() as u32;
        m.parent = c.u8() as u32;
        let _ = inode::encode(&m, ino.max(1), &mut raw);
        apply_edits(&mut c, &mut raw, 8);
        if mode & 2 != 0 {
            reseal(&mut raw, ino);
        }
    } else {
        let src = c.rest();
        let n = src.len().min(ISIZE);
        raw[..n].copy_from_slice(&src[..n]);
        if mode & 2 != 0 {
            reseal(&mut raw, ino);
        }
    }
    let mut out = vexfs_inode_mem::default();
    let mut msg = [0u8; 160];
    let r = unsafe { vexfs_inode_decode(&g, raw.as_ptr(), raw.len() as u32, ino, &mut out, msg.as_mut_ptr().cast(), msg.len() as u32) };
    if r == 0 {
        let mut raw2 = vec![0u8; ISIZE];
        assert_eq!(unsafe { vexfs_inode_encode(&out, ino, raw2.as_mut_ptr(), raw2.len() as u32) }, 0, "decoded inode does not encode");
        let again = inode::decode(&g, &raw2, ino, &mut NoMsg).expect("re-encoded inode does not decode");
        assert_eq!(format!("{again:?}"), format!("{out:?}"), "decode(encode(decode(x))) differs");
    }
    let (mut blk, mut off) = (0u32, 0u32);
    if unsafe { vexfs_inode_locate(&g, ino, &mut blk, &mut off) } == 0 {
        assert!(blk >= g.inode_table_start && (off as usize) + ISIZE <= BLOCK_SIZE);
    }
    let _ = unsafe { vexfs_inode_decode(&g, raw.as_ptr(), (ISIZE - 1) as u32, ino, &mut out, core::ptr::null_mut(), 0) };
});
