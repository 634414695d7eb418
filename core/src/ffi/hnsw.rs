//! C entry points for the HNSW graph (see `shim/vexfs_core.h`).
//!
//! A graph is attached to a caller-allocated handle holding the core's
//! `Graph` view (validated once at open/create, never re-validated per call).
//! Distances and the result filter come from C callbacks in the context;
//! the scratch buffers persist across calls with their visited epoch.
use core::mem::{align_of, offset_of, size_of};
use core::ptr;

use super::abi::{vexfs_hnsw_ctx, vexfs_hnsw_hit, vexfs_hnsw_params};
use super::bytes;
use crate::error::Error;
use crate::hnsw::layout::{self, Params, BLOCK_WORDS};
use crate::hnsw::{scratch_size, DistanceProvider, Graph, Hit, HnswError, Query, Scratch};

// Results are written in place into the caller's vexfs_hnsw_hit array.
const _: () = assert!(size_of::<Hit>() == size_of::<vexfs_hnsw_hit>());
const _: () = assert!(offset_of!(Hit, key) == offset_of!(vexfs_hnsw_hit, key));
const _: () = assert!(offset_of!(Hit, slot) == offset_of!(vexfs_hnsw_hit, slot));
const _: () = assert!(offset_of!(Hit, dist) == offset_of!(vexfs_hnsw_hit, dist));
const _: () = assert!(align_of::<Graph<'static>>() <= 8);

const EINVAL: i32 = Error::InvalidArgument.to_errno();

fn errno(e: HnswError) -> i32 {
    match e {
        HnswError::BadVector => Error::OutOfRange.to_errno(),
        other => other.errno(),
    }
}

/// Distances through the kernel's callback (one FPU section per call).
struct CallbackProvider<'c> {
    ctx: &'c vexfs_hnsw_ctx,
}

impl DistanceProvider for CallbackProvider<'_> {
    fn dist_batch(&mut self, q: Query, ids: &[u32], out_keys: &mut [u32]) -> Result<(), HnswError> {
        let f = self.ctx.dist_batch.ok_or(HnswError::Provider(EINVAL))?;
        if ids.len() != out_keys.len() || ids.len() > u32::MAX as usize {
            return Err(HnswError::InvalidParam("distance batch lengths"));
        }
        let qs = match q {
            Query::Input => super::abi::VEXFS_HNSW_QUERY_INPUT,
            Query::Node(s) => s,
        };
        // SAFETY: the callback contract (vexfs_core.h): it reads ids.len()
        // ids and writes as many keys, and does not retain the pointers.
        let rc = unsafe { f(self.ctx.kctx, qs, ids.as_ptr(), ids.len() as u32, out_keys.as_mut_ptr()) };
        if rc != 0 {
            return Err(HnswError::Provider(rc));
        }
        Ok(())
    }
}

fn passes(ctx: &vexfs_hnsw_ctx, slot: u32) -> bool {
    match ctx.filter {
        None => true,
        // SAFETY: the filter callback only reads kernel state for `slot`.
        Some(f) => unsafe { f(ctx.kctx, slot) != 0 },
    }
}

/// The graph attached to handle `h`.
///
/// # Safety
/// `h` was set up by create/open/grow and its words are still allocated;
/// the caller serialises writers against every other use.
unsafe fn graph<'h>(h: *const u8) -> Option<&'h Graph<'static>> {
    // SAFETY: per the function contract.
    unsafe { (h as *const Graph<'static>).as_ref() }
}

/// # Safety
/// As [`graph`], and no other reference to the graph is live.
unsafe fn graph_mut<'h>(h: *mut u8) -> Option<&'h mut Graph<'static>> {
    // SAFETY: per the function contract.
    unsafe { (h as *mut Graph<'static>).as_mut() }
}

/// Words at `w` as a 'static slice (the handle keeps using them).
///
/// # Safety
/// `w` valid, aligned and exclusively owned by the graph for `n` u32s for
/// as long as the handle is used.
unsafe fn words_static(w: *mut u32, n: u64) -> Option<&'static mut [u32]> {
    if w.is_null() || n > usize::MAX as u64 / 4 {
        return None;
    }
    // SAFETY: per the function contract.
    Some(unsafe { core::slice::from_raw_parts_mut(w, n as usize) })
}

/// Store a graph into handle memory.
///
/// # Safety
/// `h` points at `vexfs_hnsw_handle_size()` writable bytes, 8-byte aligned.
unsafe fn install(h: *mut u8, g: Graph<'static>) -> i32 {
    if h.is_null() || (h as usize) % align_of::<Graph<'static>>() != 0 {
        return EINVAL;
    }
    // SAFETY: per the function contract; Graph needs no drop.
    unsafe { ptr::write(h as *mut Graph<'static>, g) };
    0
}

/// The scratch described by a context.
///
/// # Safety
/// The context's scratch pointers are valid for their lengths and used by
/// this call alone.
unsafe fn scratch<'s>(ctx: &vexfs_hnsw_ctx, m: u32) -> Result<Scratch<'s>, HnswError> {
    if ctx.scratch32.is_null() || ctx.scratch64.is_null() {
        return Err(HnswError::ScratchTooSmall);
    }
    // SAFETY: per the function contract.
    let (b32, b64) = unsafe {
        (
            core::slice::from_raw_parts_mut(ctx.scratch32, ctx.scratch32_len as usize),
            core::slice::from_raw_parts_mut(ctx.scratch64, ctx.scratch64_len as usize),
        )
    };
    Scratch::resume(b32, b64, ctx.capacity, m, ctx.ef_max, ctx.epoch)
}

fn params_in(p: &vexfs_hnsw_params) -> Params {
    let mut q = Params::new(p.capacity, p.m, p.ef_construction, p.metric, p.dim);
    q.seed = p.seed;
    q
}

fn params_out(p: &Params) -> vexfs_hnsw_params {
    vexfs_hnsw_params {
        capacity: p.capacity,
        m: p.m,
        ef_construction: p.ef_construction,
        metric: p.metric,
        dim: p.dim,
        pad: 0,
        seed: p.seed,
    }
}

#[no_mangle]
pub extern "C" fn vexfs_hnsw_handle_size() -> u64 {
    size_of::<Graph<'static>>() as u64
}

/// # Safety
/// `p` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_words_needed(p: *const vexfs_hnsw_params) -> i64 {
    // SAFETY: NULL or a valid struct.
    let Some(p) = (unsafe { p.as_ref() }) else {
        return EINVAL as i64;
    };
    match Graph::words_needed(&params_in(p)) {
        Ok(n) => n as i64,
        Err(e) => errno(e) as i64,
    }
}

/// # Safety
/// Output pointers valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_scratch_size(capacity: u32, m: u32, ef_max: u32, u32_words: *mut u64, u64_words: *mut u64) -> i32 {
    // SAFETY: NULL or valid.
    let (Some(a), Some(b)) = (unsafe { u32_words.as_mut() }, unsafe { u64_words.as_mut() }) else {
        return EINVAL;
    };
    if !(layout::M_MIN..=layout::M_MAX).contains(&m) || ef_max == 0 {
        return EINVAL;
    }
    let s = scratch_size(capacity, m, ef_max);
    *a = s.u32_words as u64;
    *b = s.u64_words as u64;
    0
}

/// # Safety
/// `block0` valid for 1024 u32 reads; `p` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_peek_params(block0: *const u32, p: *mut vexfs_hnsw_params) -> i32 {
    if block0.is_null() {
        return EINVAL;
    }
    // SAFETY: block0 is valid for one block of words.
    let w = unsafe { core::slice::from_raw_parts(block0, BLOCK_WORDS) };
    // SAFETY: NULL or valid.
    let Some(out) = (unsafe { p.as_mut() }) else {
        return EINVAL;
    };
    match layout::params_from_header(w) {
        Ok(q) => {
            *out = params_out(&q);
            0
        }
        Err(e) => errno(e),
    }
}

/// # Safety
/// `input` valid for 4096 bytes; `words` for `nwords` u32 writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_decode_block(input: *const u8, idx: u64, words: *mut u32, nwords: u64) -> i32 {
    // SAFETY: input is one block.
    let Ok(b) = (unsafe { bytes(input, 4096) }) else {
        return EINVAL;
    };
    if words.is_null() {
        return EINVAL;
    }
    // SAFETY: words is valid for nwords values and not aliased during the call.
    let w = unsafe { core::slice::from_raw_parts_mut(words, nwords as usize) };
    match layout::decode_block(b, idx as usize, w) {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h: `h` handle memory, `words` owned by the graph from now on.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_create(h: *mut u8, words: *mut u32, nwords: u64, p: *const vexfs_hnsw_params) -> i32 {
    // SAFETY: per the contract.
    let (Some(w), Some(p)) = (unsafe { words_static(words, nwords) }, unsafe { p.as_ref() }) else {
        return EINVAL;
    };
    match Graph::create(w, &params_in(p)) {
        // SAFETY: h is handle memory.
        Ok(g) => unsafe { install(h, g) },
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_open(
    h: *mut u8,
    words: *mut u32,
    nwords: u64,
    p: *mut vexfs_hnsw_params,
    live: *mut u32,
    generation: *mut u64,
) -> i32 {
    // SAFETY: per the contract.
    let Some(w) = (unsafe { words_static(words, nwords) }) else {
        return EINVAL;
    };
    // SAFETY: NULL or valid.
    let (Some(p), Some(live), Some(gen)) = (unsafe { p.as_mut() }, unsafe { live.as_mut() }, unsafe { generation.as_mut() }) else {
        return EINVAL;
    };
    match Graph::open(w) {
        Ok(g) => {
            *p = params_out(&g.params());
            *live = g.len();
            *gen = g.generation();
            // SAFETY: h is handle memory.
            unsafe { install(h, g) }
        }
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_grow(new_h: *mut u8, old_h: *const u8, new_words: *mut u32, new_nwords: u64, new_capacity: u32) -> i32 {
    // SAFETY: per the contract.
    let (Some(old), Some(w)) = (unsafe { graph(old_h) }, unsafe { words_static(new_words, new_nwords) }) else {
        return EINVAL;
    };
    match Graph::grow(old.words(), w, new_capacity) {
        // SAFETY: new_h is handle memory.
        Ok(g) => unsafe { install(new_h, g) },
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_node_key(h: *const u8, slot: u32, key: *mut u64) -> i32 {
    // SAFETY: per the contract.
    let (Some(g), Some(k)) = (unsafe { graph(h) }, unsafe { key.as_mut() }) else {
        return EINVAL;
    };
    match g.node_key(slot) {
        Some(v) if g.is_live(slot) => {
            *k = v;
            1
        }
        _ => 0,
    }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_set_generation(h: *mut u8, generation: u64) -> i32 {
    // SAFETY: per the contract.
    let Some(g) = (unsafe { graph_mut(h) }) else {
        return EINVAL;
    };
    match g.set_generation(generation) {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// Run a graph change with the context's scratch and callbacks.
///
/// # Safety
/// See vexfs_core.h.
unsafe fn change(
    h: *mut u8,
    ctx: *mut vexfs_hnsw_ctx,
    op: impl FnOnce(&mut Graph<'static>, &mut CallbackProvider<'_>, &mut Scratch<'_>) -> Result<(), HnswError>,
) -> i32 {
    // SAFETY: per the contract.
    let (Some(g), Some(c)) = (unsafe { graph_mut(h) }, unsafe { ctx.as_mut() }) else {
        return EINVAL;
    };
    let m = g.params().m;
    // SAFETY: the context's scratch belongs to this call.
    let mut s = match unsafe { scratch(c, m) } {
        Ok(s) => s,
        Err(e) => return errno(e),
    };
    let r = {
        let mut dp = CallbackProvider { ctx: c };
        op(g, &mut dp, &mut s)
    };
    c.epoch = s.epoch();
    c.dist_count = c.dist_count.wrapping_add(s.dist_count);
    match r {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_insert(h: *mut u8, ctx: *mut vexfs_hnsw_ctx, slot: u32, key: u64) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { change(h, ctx, |g, dp, s| g.insert(dp, s, slot, key)) }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_delete(h: *mut u8, ctx: *mut vexfs_hnsw_ctx, slot: u32) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { change(h, ctx, |g, dp, s| g.delete(dp, s, slot)) }
}

/// # Safety
/// See vexfs_core.h; `slots` valid for `n` u32 reads.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_delete_batch(h: *mut u8, ctx: *mut vexfs_hnsw_ctx, slots: *const u32, n: u32) -> i32 {
    if slots.is_null() || n == 0 {
        return EINVAL;
    }
    // SAFETY: the caller passes n readable u32s at slots, unchanged during the call.
    let slots = unsafe { core::slice::from_raw_parts(slots, n as usize) };
    // SAFETY: forwarded contract.
    unsafe { change(h, ctx, |g, dp, s| g.delete_batch(dp, s, slots).map(|_| ())) }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_update(h: *mut u8, ctx: *mut vexfs_hnsw_ctx, slot: u32) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { change(h, ctx, |g, dp, s| g.update(dp, s, slot)) }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_search(
    h: *const u8,
    ctx: *mut vexfs_hnsw_ctx,
    kind: u32,
    ef: u32,
    max_key: u32,
    hits: *mut vexfs_hnsw_hit,
    nhits: u32,
    complete: *mut u32,
) -> i32 {
    // SAFETY: per the contract.
    let (Some(g), Some(c), Some(done)) = (unsafe { graph(h) }, unsafe { ctx.as_mut() }, unsafe { complete.as_mut() }) else {
        return EINVAL;
    };
    if hits.is_null() || nhits == 0 {
        return EINVAL;
    }
    // SAFETY: hits is valid for nhits writes; Hit has vexfs_hnsw_hit's
    // layout (asserted above).
    let out = unsafe { core::slice::from_raw_parts_mut(hits as *mut Hit, nhits as usize) };
    // SAFETY: the context's scratch belongs to this call.
    let mut s = match unsafe { scratch(c, g.params().m) } {
        Ok(s) => s,
        Err(e) => return errno(e),
    };
    let r = {
        let cref: &vexfs_hnsw_ctx = c;
        let mut dp = CallbackProvider { ctx: cref };
        let filter = |slot: u32| passes(cref, slot);
        match kind {
            super::abi::VEXFS_HNSW_KNN => {
                let k = (nhits as usize).min(s.ef_max());
                g.search_knn(&mut dp, &mut s, k, ef as usize, filter, out).map(|n| {
                    *done = 1;
                    n
                })
            }
            super::abi::VEXFS_HNSW_RANGE => g.search_range(&mut dp, &mut s, max_key, ef as usize, 0, filter, out).map(|o| {
                *done = o.complete as u32;
                o.count
            }),
            _ => Err(HnswError::InvalidParam("search kind")),
        }
    };
    c.epoch = s.epoch();
    c.dist_count = c.dist_count.wrapping_add(s.dist_count);
    match r {
        Ok(n) => n as i32,
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_blocks(h: *const u8) -> i64 {
    // SAFETY: per the contract.
    match unsafe { graph(h) } {
        Some(g) => g.geometry().total_blocks() as i64,
        None => EINVAL as i64,
    }
}

/// # Safety
/// See vexfs_core.h; `out` valid for 4096 byte writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_encode_block(h: *const u8, idx: u64, out: *mut u8) -> i32 {
    // SAFETY: per the contract.
    let Some(g) = (unsafe { graph(h) }) else {
        return EINVAL;
    };
    // SAFETY: out is one writable block.
    let Ok(o) = (unsafe { super::bytes_mut(out, 4096) }) else {
        return EINVAL;
    };
    match layout::encode_block(g.words(), idx as usize, o) {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// Ordered key of a float32 given as bits (integer operations only).
#[no_mangle]
pub extern "C" fn vexfs_dist_key_from_bits(f32_bits: u32) -> u32 {
    crate::hnsw::key_from_f32_bits(f32_bits)
}

/// Float32 bits of an ordered key (the inverse of the above).
#[no_mangle]
pub extern "C" fn vexfs_dist_bits_from_key(key: u32) -> u32 {
    if key >> 31 == 1 {
        key & 0x7fff_ffff
    } else {
        !key
    }
}
