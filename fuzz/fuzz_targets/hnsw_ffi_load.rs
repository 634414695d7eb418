//! The graph-load paths through the C ABI. Words: decode block 0, peek the
//! parameters, size the word array, decode every block, open. Blocks (the
//! kernel's, kernel/vindex-gstore.c): open through a `vexfs_hnsw_store`
//! whose fetch checks each block as read, lazily (header only) and
//! validated, then read every node's key. Mode bit 0: start from a valid
//! graph (create + encode) and apply byte edits to its blocks. Whatever opens
//! from words must encode back to blocks that decode to the same words; a
//! validated block-store open must agree with the words open, node by node;
//! a lazy one must never fault whatever the blocks hold.
#![no_main]
#[path = "common/mod.rs"]
mod common;
use common::*;
use libfuzzer_sys::fuzz_target;
use vexfs_core::ffi::abi::{vexfs_hnsw_params, vexfs_hnsw_store};
use vexfs_core::ffi::hnsw::*;
use vexfs_core::hnsw::{BLOCK_BYTES, BLOCK_WORDS};

fn handle() -> Vec<u64> {
    vec![0u64; (vexfs_hnsw_handle_size() as usize).div_ceil(8)]
}

/// The fuzz input's blocks as a graph file, as the kernel's store reads it.
struct File {
    blocks: Vec<u8>,
    mem: Vec<*mut u32>,
    owned: Vec<Box<[u32; BLOCK_WORDS]>>,
}

unsafe extern "C" fn fetch(k: *mut core::ffi::c_void, b: u64, off: u32, n: u32, out: *mut u32) -> i32 {
    let f = unsafe { &*(k as *const File) };
    let Some(blk) = f.blocks.get(b as usize * BLOCK_BYTES..(b as usize + 1) * BLOCK_BYTES) else { return -117 };
    if off as usize + n as usize > BLOCK_WORDS {
        return -117;
    }
    if unsafe { vexfs_hnsw_check_block(blk.as_ptr(), b) } != 0 {
        return -117;
    }
    for i in 0..n as usize {
        let o = (off as usize + i) * 4;
        unsafe { *out.add(i) = u32::from_le_bytes(blk[o..o + 4].try_into().unwrap()) };
    }
    0
}

unsafe extern "C" fn own(k: *mut core::ffi::c_void, b: u64) -> *mut u32 {
    let f = unsafe { &mut *(k as *mut File) };
    let mut w = Box::new([0u32; BLOCK_WORDS]);
    if unsafe { fetch(k, b, 0, BLOCK_WORDS as u32, w.as_mut_ptr()) } != 0 {
        return core::ptr::null_mut();
    }
    let p = w.as_mut_ptr();
    f.owned.push(w);
    f.mem[b as usize] = p;
    p
}

/// Opens `blocks` through a block store (`validate`: every node checked);
/// Some(keys of the first 64 slots, live, capacity) when it opens.
fn open_blocks(blocks: &[u8], nb: usize, capacity: u32, validate: bool) -> Option<(Vec<Option<u64>>, u32)> {
    let mut f = Box::new(File { blocks: blocks.to_vec(), mem: vec![core::ptr::null_mut(); nb], owned: Vec::new() });
    let mut cache = vec![0u8; capacity as usize];
    let st = vexfs_hnsw_store {
        blk: f.mem.as_mut_ptr(),
        nblocks: nb as u64,
        kstore: (&mut *f as *mut File).cast(),
        fetch: Some(fetch),
        own: Some(own),
        node_cache: cache.as_mut_ptr(),
        node_cache_len: capacity as u64,
    };
    let mut h = handle();
    let (mut q, mut live, mut gen) = (vexfs_hnsw_params::default(), 0u32, 0u64);
    if unsafe { vexfs_hnsw_open_store(h.as_mut_ptr().cast(), &st, validate as u32, &mut q, &mut live, &mut gen) } != 0 {
        return None;
    }
    assert!(live <= q.capacity);
    let mut keys = Vec::new();
    for s in 0..q.capacity.min(64) {
        let mut key = 0u64;
        let r = unsafe { vexfs_hnsw_node_key(h.as_ptr().cast(), s, &mut key) };
        keys.push((r == 1).then_some(key));
    }
    Some((keys, live))
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
    let nb = (n as usize).div_ceil(BLOCK_WORDS);
    let lazy = if blocks.len() >= nb * BLOCK_BYTES { open_blocks(&blocks, nb, p.capacity, false) } else { None };
    let checked = if blocks.len() >= nb * BLOCK_BYTES { open_blocks(&blocks, nb, p.capacity, true) } else { None };
    if let (Some(l), Some(c)) = (&lazy, &checked) {
        assert!(l == c, "a validated graph reads differently when opened lazily");
    }
    let mut words = vec![0u32; n as usize];
    for i in 0..nb {
        let Some(b) = blocks.get(i * BLOCK_BYTES..(i + 1) * BLOCK_BYTES) else { return };
        if unsafe { vexfs_hnsw_decode_block(b.as_ptr(), i as u64, words.as_mut_ptr(), n as u64) } != 0 {
            return;
        }
    }
    let mut h = handle();
    let (mut q, mut live, mut gen) = (vexfs_hnsw_params::default(), 0u32, 0u64);
    if unsafe { vexfs_hnsw_open(h.as_mut_ptr().cast(), words.as_mut_ptr(), n as u64, &mut q, &mut live, &mut gen) } != 0 {
        assert!(checked.is_none(), "a block store validated a graph the words refuse");
        return;
    }
    let checked = checked.expect("the words validate a graph the block store refuses");
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
    assert_eq!(checked.1, live);
    for s in 0..q.capacity.min(64) {
        let mut key = 0u64;
        let r = unsafe { vexfs_hnsw_node_key(h.as_ptr().cast(), s, &mut key) };
        assert_eq!(checked.0[s as usize], (r == 1).then_some(key), "slot {s}: the stores disagree");
    }
});
