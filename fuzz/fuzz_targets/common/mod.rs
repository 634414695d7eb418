//! Helpers shared by the VexFS fuzz targets (included with `#[path]`).
#![allow(dead_code)]
use vexfs_core::format::defs::*;
use vexfs_core::format::layout::{plan, MkfsParams};
use vexfs_core::format::superblock::{self, Geom};
use vexfs_core::msg::MsgBuf;

/// Reads little-endian values off the front of the fuzz input; zeros when
/// the input runs out (so every input is usable).
pub struct Cur<'a>(pub &'a [u8]);
impl<'a> Cur<'a> {
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    pub fn u64(&mut self) -> u64 {
        (self.u32() as u64) | ((self.u32() as u64) << 32)
    }
    pub fn rest(&self) -> &'a [u8] {
        self.0
    }
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

/// A block of exactly BLOCK_SIZE bytes from `src` (zero padded).
pub fn block_from(src: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK_SIZE];
    let n = src.len().min(BLOCK_SIZE);
    b[..n].copy_from_slice(&src[..n]);
    b
}

/// Apply (offset u16, xor u8) edits from the cursor to `buf`: structure-aware
/// mutation of a valid encoding, so the checks past the checksum are reached.
pub fn apply_edits(c: &mut Cur, buf: &mut [u8], max: usize) {
    if buf.is_empty() {
        return;
    }
    for _ in 0..max {
        if c.rest().len() < 3 {
            break;
        }
        let off = c.u16() as usize % buf.len();
        buf[off] ^= c.u8();
    }
}

/// Geometry of a valid volume of `dev_blocks` blocks (mkfs's own plan).
pub fn geom(dev_blocks: u64, inodes: u32) -> Option<(Vec<u8>, Geom)> {
    let p = MkfsParams {
        dev_blocks,
        inodes,
        journal_blocks: 0,
        vector_dim: 16,
        vector_metric: 0,
        hnsw_m: 16,
        hnsw_ef_construction: 100,
        now_sec: 1,
        uuid: [7; 16],
        label: [0; 16],
    };
    let sb = plan(&p).ok()?;
    let mut b = vec![0u8; BLOCK_SIZE];
    superblock::encode(&sb, &mut b).ok()?;
    let mut m = [0u8; 256];
    let g = superblock::validate(&b, dev_blocks, &mut MsgBuf::new(&mut m)).ok()?;
    Some((b, g))
}
