//! The kernel's graph-load path through the C ABI (kernel/vector.c
//! vexfs_graph_load): decode block 0, peek the parameters, size the word
//! array, decode every block, open. Mode bit 0: start from a valid graph
//! (create + encode) and apply byte edits to its blocks. Whatever opens must
//! encode back to blocks that decode to the same words.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::abi::vexfs_hnsw_params;
use vexfs_core::ffi::hnsw::*;
use vexfs_core::hnsw::{BLOCK_BYTES, BLOCK_WORDS};

fn handle() -> Vec<u64> {
    vec![0u64; (vexfs_hnsw_handle_size() as usize).div_ceil(8)]
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cur(data);
    let mode = c.u8();
    let mut blocks: Vec<u8>;
    if mode & 1 != 0 {
        let mut p = vexfs_hnsw_params::default();
        p.capacity = (c.u8() as u32) + 1;
        p.m = (c.u8() as u32 % 20) + 2;
        p.ef_construction = (c.u8() as u32) + 1;
        p.metric = c.u8() as u32 % 3;
        p.dim = (c.u8() as u32 % 16) + 1;
        p.seed = c.u64();
        let n = unsafe { vexfs_hnsw_words_needed(&p) };
        if n <= 0 || n > 1 << 20 {
            return;
        }
        let mut words = vec![0u32; n as usize];
        let mut h = handle();
        if unsafe { vexfs_hnsw_create(h.as_mut_ptr().cast(), words.as_mut_ptr(), n as u64, &p) } != 0 {
            return;
        }
        let nb = unsafe { vexfs_hnsw_blocks(h.as_ptr().cast()) };
        assert!(nb > 0);
        blocks = vec![0u8; nb as usize * BLOCK_BYTES];
        for (i, b) in blocks.chunks_exact_mut(BLOCK_BYTES).enumerate() {
            assert_eq!(unsafe { vexfs_hnsw_encode_block(h.as_ptr().cast(), i as u64, b.as_mut_ptr()) }, 0);
        }
        apply_edits(&mut c, &mut blocks, 6);
    } else {
        blocks = c.rest().to_vec();
        blocks.resize(blocks.len().div_ceil(BLOCK_BYTES).max(1) * BLOCK_BYTES, 0);
    }
    // Block 0 alone gives the parameters.
    let mut w0 = vec![0u32; BLOCK_WORDS];
    if unsafe { vexfs_hnsw_decode_block(blocks.as_ptr(), 0, w0.as_mut_ptr(), BLOCK_WORDS as u64) } != 0 {
        return;
    }
    let mut p = vexfs_hnsw_params::default();
    if unsafe { vexfs_hnsw_peek_params(w0.as_ptr(), &mut p) } != 0 {
        return;
    }
    let n = unsafe { vexfs_hnsw_words_needed(&p) };
    if n <= 0 || n > 1 << 18 {
        return;
    }
    let mut words = vec![0u32; n as usize];
    let nb = (n as usize).div_ceil(BLOCK_WORDS);
    for i in 0..nb {
        let Some(b) = blocks.get(i * BLOCK_BYTES..(i + 1) * BLOCK_BYTES) else { return };
        if unsafe { vexfs_hnsw_decode_block(b.as_ptr(), i as u64, words.as_mut_ptr(), n as u64) } != 0 {
            return;
        }
    }
    let mut h = handle();
    let (mut q, mut live, mut gen) = (vexfs_hnsw_params::default(), 0u32, 0u64);
    if unsafe { vexfs_hnsw_open(h.as_mut_ptr().cast(), words.as_mut_ptr(), n as u64, &mut q, &mut live, &mut gen) } != 0 {
        return;
    }
    assert!(live <= q.capacity);
    let nb2 = unsafe { vexfs_hnsw_blocks(h.as_ptr().cast()) };
    assert_eq!(nb2 as usize, nb, "opened graph's block count differs from its size");
    let mut out = vec![0u8; BLOCK_BYTES];
    let mut back = vec![0u32; n as usize];
    for i in 0..nb {
        assert_eq!(unsafe { vexfs_hnsw_encode_block(h.as_ptr().cast(), i as u64, out.as_mut_ptr()) }, 0);
        assert_eq!(unsafe { vexfs_hnsw_decode_block(out.as_ptr(), i as u64, back.as_mut_ptr(), n as u64) }, 0);
    }
    assert!(back == words, "encode/decode of an opened graph changed its words");
    let mut key = 0u64;
    for s in 0..q.capacity.min(64) {
        let _ = unsafe { vexfs_hnsw_node_key(h.as_ptr().cast(), s, &mut key) };
    }
});
