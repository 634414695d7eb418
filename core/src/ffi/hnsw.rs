//! C entry points for the HNSW graph (see `shim/vexfs_core.h`).
//!
//! A graph is attached to a caller-allocated handle holding the core's
//! `Graph` view (validated once at open/create, never re-validated per call).
//! Distances and the result filter come from C callbacks in the context;
//! the scratch buffers persist across calls with their visited epoch.
//!
//! Ownership, which the `unsafe` below relies on (kept by the kernel's
//! index, `kernel/vector.c`, the only C caller; the fuzz target
//! `fuzz_targets/hnsw_ffi_load.rs` keeps the same rules with `Vec` memory
//! on one thread):
//! - The handle (`vi->gh`, `kzalloc`ed, so 8-byte aligned) stores a
//!   `FGraph` whose word slice borrows the words array (`vi->gw`,
//!   `kvcalloc`ed). `'static` stands for "until C frees them": C allocates,
//!   swaps and frees a handle and its words only as a pair
//!   (`vexfs_arrays_free`, the rebuild's swap, a failed load, teardown in
//!   `vexfs_vindex_free`), and only under `vi->lock` held for writing or with
//!   no other user (mount, unmount after the workers are flushed). Every
//!   `&Graph` made here lives for one call, so it never outlives the words.
//!   `Graph` has no `Drop`: C frees handle memory with `kfree`.
//! - After create/open/grow, C never reads or writes the words except
//!   through the handle (it only tests `vi->gw` for NULL), so the graph's
//!   `&mut [u32]` is the words' only user.
//! - Writers (insert, delete, update, set_generation) run with `vi->lock`
//!   held for writing, or on a handle one rebuild worker owns alone;
//!   readers (search, node_key, blocks, encode_block) hold it at least for
//!   reading. So a `&mut Graph` from [`graph_mut`] is never aliased, and the
//!   `&Graph`s of concurrent searches only share reads (`Graph`'s `&self`
//!   methods do not mutate; it has no interior mutability).
//! - Each call gets its own scratch in the context (a searcher takes one
//!   from the mount's pool under `scratch_lock`, the writer uses
//!   `vi->wscratch` under the write lock, the rebuild its own), so the
//!   scratch slices built here are unaliased for the call.
use core::mem::{align_of, offset_of, size_of};
use core::ptr;
use core::sync::atomic::AtomicU8;

use super::abi::{vexfs_hnsw_ctx, vexfs_hnsw_hit, vexfs_hnsw_params, vexfs_hnsw_store};
use super::bytes;
use crate::error::Error;
use crate::hnsw::graph::{GraphStore, MemStore};
use crate::hnsw::layout::{self, Params, BLOCK_WORDS};
use crate::hnsw::{scratch_size, DistanceProvider, Graph, Hit, HnswError, Query, Scratch};

/// The graph a handle holds: over a word array, or over a block store.
type FGraph = Graph<'static, FfiStore>;

// Results are written in place into the caller's vexfs_hnsw_hit array.
const _: () = assert!(size_of::<Hit>() == size_of::<vexfs_hnsw_hit>());
const _: () = assert!(offset_of!(Hit, key) == offset_of!(vexfs_hnsw_hit, key));
const _: () = assert!(offset_of!(Hit, slot) == offset_of!(vexfs_hnsw_hit, slot));
const _: () = assert!(offset_of!(Hit, dist) == offset_of!(vexfs_hnsw_hit, dist));
const _: () = assert!(align_of::<FGraph>() <= 8);

/// A graph in the blocks of a file (`struct vexfs_hnsw_store`): blocks in
/// memory are read in place, the others through the caller's `fetch`.
struct BlockStore {
    st: vexfs_hnsw_store,
}

impl BlockStore {
    /// (block, offset) of words `[i, i + n)`, which must lie in one block.
    #[inline(always)]
    fn locate(&self, i: usize, n: usize) -> Result<(usize, usize), HnswError> {
        let b = i / BLOCK_WORDS;
        let off = i % BLOCK_WORDS;
        if b as u64 >= self.st.nblocks || off + n > BLOCK_WORDS {
            return Err(HnswError::Corrupt("graph words out of range"));
        }
        Ok((b, off))
    }

    /// Block b in memory, or NULL.
    #[inline(always)]
    fn mem(&self, b: usize) -> *mut u32 {
        // SAFETY: b < nblocks (locate), and blk is C's array of nblocks
        // pointers, which C changes only when no graph call runs on this
        // handle or from own() inside the writer's call (vexfs_core.h), so
        // this read does not race a write.
        unsafe { *self.st.blk.add(b) }
    }
}

impl GraphStore for BlockStore {
    fn len(&self) -> usize {
        (self.st.nblocks as usize).saturating_mul(BLOCK_WORDS)
    }

    #[inline(always)]
    fn node_cache(&self) -> Option<&[AtomicU8]> {
        if self.st.node_cache.is_null() {
            return None;
        }
        // SAFETY: node_cache is C's zeroed array of node_cache_len bytes,
        // allocated with the store and freed with it (after the handle's
        // last use), and never touched by C meanwhile (vexfs_core.h); AtomicU8
        // has u8's size and alignment, and every access here is atomic.
        Some(unsafe { core::slice::from_raw_parts(self.st.node_cache as *const AtomicU8, self.st.node_cache_len as usize) })
    }

    #[inline(always)]
    fn rd(&self, i: usize) -> Result<u32, HnswError> {
        let mut w = [0u32; 1];
        self.read(i, &mut w)?;
        Ok(w[0])
    }

    #[inline(always)]
    fn read(&self, i: usize, out: &mut [u32]) -> Result<(), HnswError> {
        let (b, off) = self.locate(i, out.len())?;
        let p = self.mem(b);
        if !p.is_null() {
            // SAFETY: a non-NULL blk[b] is a block of BLOCK_WORDS words that
            // C keeps allocated while it is in the array (see mem()); off + n
            // <= BLOCK_WORDS (locate); out is distinct from it.
            let src = unsafe { core::slice::from_raw_parts(p.add(off), out.len()) };
            out.copy_from_slice(src);
            return Ok(());
        }
        let f = self.st.fetch.ok_or(HnswError::Provider(EINVAL))?;
        // SAFETY: the callback (vexfs_gstore_fetch in kernel/vindex-gstore.c)
        // writes exactly n words into out, valid for n, and keeps no pointer.
        let rc = unsafe { f(self.st.kstore, b as u64, off as u32, out.len() as u32, out.as_mut_ptr()) };
        if rc != 0 {
            return Err(HnswError::Provider(rc));
        }
        Ok(())
    }

    #[inline(always)]
    fn wr(&mut self, i: usize, v: u32) -> Result<(), HnswError> {
        let (b, off) = self.locate(i, 1)?;
        let mut p = self.mem(b);
        if p.is_null() {
            let f = self.st.own.ok_or(HnswError::Provider(EINVAL))?;
            // SAFETY: own (vexfs_gstore_own) is called by the one writer
            // (&mut self); it installs and returns blk[b], a block of
            // BLOCK_WORDS words, or NULL.
            p = unsafe { f(self.st.kstore, b as u64) };
            if p.is_null() {
                return Err(HnswError::Provider(-12)); // ENOMEM
            }
        }
        // SAFETY: p is block b in memory (BLOCK_WORDS words), off < BLOCK_WORDS;
        // the writer is the only user of the graph during this call.
        unsafe { *p.add(off) = v };
        Ok(())
    }
}

/// The store behind an FFI handle.
enum FfiStore {
    Mem(MemStore<'static>),
    Blocks(BlockStore),
}

impl FfiStore {
    fn words(&self) -> Option<&[u32]> {
        match self {
            FfiStore::Mem(m) => Some(m.words()),
            FfiStore::Blocks(_) => None,
        }
    }
}

impl GraphStore for FfiStore {
    fn len(&self) -> usize {
        match self {
            FfiStore::Mem(m) => m.len(),
            FfiStore::Blocks(b) => b.len(),
        }
    }

    #[inline(always)]
    fn rd(&self, i: usize) -> Result<u32, HnswError> {
        match self {
            FfiStore::Mem(m) => m.rd(i),
            FfiStore::Blocks(b) => b.rd(i),
        }
    }

    #[inline(always)]
    fn read(&self, i: usize, out: &mut [u32]) -> Result<(), HnswError> {
        match self {
            FfiStore::Mem(m) => m.read(i, out),
            FfiStore::Blocks(b) => b.read(i, out),
        }
    }

    #[inline(always)]
    fn wr(&mut self, i: usize, v: u32) -> Result<(), HnswError> {
        match self {
            FfiStore::Mem(m) => m.wr(i, v),
            FfiStore::Blocks(b) => b.wr(i, v),
        }
    }

    #[inline(always)]
    fn prefetch(&self, i: usize, n: usize) {
        if let FfiStore::Mem(m) = self {
            m.prefetch(i, n);
        }
    }

    #[inline(always)]
    fn node_cache(&self) -> Option<&[AtomicU8]> {
        match self {
            FfiStore::Mem(_) => None,
            FfiStore::Blocks(b) => b.node_cache(),
        }
    }

    #[inline(always)]
    fn reads_cost(&self) -> bool {
        matches!(self, FfiStore::Blocks(_))
    }
}

/// The C store description, copied (NULL or incomplete -> None).
///
/// # Safety
/// `st` is NULL or the caller's struct, read during this call.
unsafe fn block_store(st: *const vexfs_hnsw_store) -> Option<BlockStore> {
    // SAFETY: as the function requires.
    let st = unsafe { st.as_ref() }?;
    if st.blk.is_null() || st.fetch.is_none() || st.own.is_none() || st.nblocks == 0 || st.nblocks > (usize::MAX / BLOCK_WORDS) as u64 {
        return None;
    }
    if st.node_cache_len > isize::MAX as u64 {
        return None;
    }
    Some(BlockStore { st: *st })
}

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
        // SAFETY: ids and out_keys are live slices of ids.len() elements
        // for this call; the callback (vexfs_dist_cb in kernel/vector.c,
        // contract in vexfs_core.h) reads n ids, writes n keys and keeps
        // neither pointer. kctx is the caller's, valid for the whole call.
        let rc = unsafe { f(self.ctx.kctx, qs, ids.as_ptr(), ids.len() as u32, out_keys.as_mut_ptr()) };
        if rc != 0 {
            return Err(HnswError::Provider(rc));
        }
        Ok(())
    }
}

/// The callback asked for the cheap steering distances of
/// `VEXFS_HNSW_KNN_RERANK` (`VEXFS_HNSW_QUERY_CODES` for the search vector;
/// node queries do not occur in a search).
struct SteerProvider<'c> {
    inner: CallbackProvider<'c>,
}

impl DistanceProvider for SteerProvider<'_> {
    fn dist_batch(&mut self, q: Query, ids: &[u32], out_keys: &mut [u32]) -> Result<(), HnswError> {
        let f = self.inner.ctx.dist_batch.ok_or(HnswError::Provider(EINVAL))?;
        if ids.len() != out_keys.len() || ids.len() > u32::MAX as usize {
            return Err(HnswError::InvalidParam("distance batch lengths"));
        }
        let qs = match q {
            Query::Input => super::abi::VEXFS_HNSW_QUERY_CODES,
            Query::Node(s) => s,
        };
        // SAFETY: as in CallbackProvider::dist_batch.
        let rc = unsafe { f(self.inner.ctx.kctx, qs, ids.as_ptr(), ids.len() as u32, out_keys.as_mut_ptr()) };
        if rc != 0 {
            return Err(HnswError::Provider(rc));
        }
        Ok(())
    }
}

fn passes(ctx: &vexfs_hnsw_ctx, slot: u32) -> bool {
    match ctx.filter {
        None => true,
        // SAFETY: the filter (vexfs_filter_cb in kernel/vector.c) only
        // reads the index's slot arrays for `slot` through kctx, which the
        // caller keeps valid (under vi->lock) for the whole search.
        Some(f) => unsafe { f(ctx.kctx, slot) != 0 },
    }
}

/// The graph attached to handle `h` (NULL -> None).
///
/// # Safety
/// `h` is NULL or a handle that create/open/grow filled in and whose words
/// are still allocated, and no `&mut` to the same graph exists while the
/// returned reference lives (module doc: C's handle/words pairing and
/// `vi->lock`).
unsafe fn graph<'h>(h: *const u8) -> Option<&'h FGraph> {
    // SAFETY: a non-NULL h holds a Graph written by `install` (so aligned
    // and initialised), over words C keeps allocated with the handle; the
    // caller holds vi->lock at least for reading, which excludes writers.
    unsafe { (h as *const FGraph).as_ref() }
}

/// The graph attached to handle `h`, for a change (NULL -> None).
///
/// # Safety
/// As [`graph`], and no other reference to the graph exists while the
/// returned one lives.
unsafe fn graph_mut<'h>(h: *mut u8) -> Option<&'h mut FGraph> {
    // SAFETY: as in `graph`; exclusive because C calls every changing entry
    // point with vi->lock held for writing (or on a private rebuild handle).
    unsafe { (h as *mut FGraph).as_mut() }
}

/// Words at `w` as a 'static slice (the handle keeps using them).
///
/// # Safety
/// `w` is NULL or valid and aligned for `n` u32s, and those words are used
/// only through the handle they are attached to until C frees the pair
/// (module doc).
unsafe fn words_static(w: *mut u32, n: u64) -> Option<&'static mut [u32]> {
    if w.is_null() || n > usize::MAX as u64 / 4 {
        return None;
    }
    // SAFETY: w is the kernel's kvcalloc'ed array of n words (u32-aligned);
    // it stays allocated while its handle is in use, because C frees words
    // and handle together under the write lock, and C does not touch the
    // words itself once they are attached, so this &mut is their only user.
    Some(unsafe { core::slice::from_raw_parts_mut(w, n as usize) })
}

/// Store a graph into handle memory.
///
/// # Safety
/// `h` is NULL or points at `vexfs_hnsw_handle_size()` writable bytes that
/// no live reference uses.
unsafe fn install(h: *mut u8, g: FGraph) -> i32 {
    if h.is_null() || !(h as usize).is_multiple_of(align_of::<FGraph>()) {
        return EINVAL;
    }
    // SAFETY: h is non-NULL and aligned (checked above) and C allocated it
    // with vexfs_hnsw_handle_size() = size_of::<Graph>() bytes; create, open
    // and grow are always given a fresh handle that C has not published
    // yet, so nothing else reads it. Graph has no Drop, so overwriting the
    // zeroed bytes (or a failed earlier attempt) leaks nothing.
    unsafe { ptr::write(h as *mut FGraph, g) };
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
    // SAFETY: non-NULL (checked); the kernel allocates each scratch with
    // kvcalloc at scratch32_len / scratch64_len words (vexfs_scratch_alloc)
    // and hands one scratch to one call at a time (module doc), so the two
    // slices are valid, aligned, distinct and unaliased while `'s` lasts.
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
    size_of::<FGraph>() as u64
}

/// # Safety
/// `p` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_words_needed(p: *const vexfs_hnsw_params) -> i64 {
    // SAFETY: p is NULL (-> EINVAL) or the caller's params struct (a local
    // in kernel/vector.c), read only during this call.
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
    // SAFETY: each is NULL (-> EINVAL) or a distinct u64 out-parameter of
    // the caller (locals of vexfs_scratch_alloc), written only during this call.
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
    // SAFETY: block0 is non-NULL (checked) and, per vexfs_core.h, a decoded
    // header block of BLOCK_WORDS words (the kernel's kvmalloc'ed `head` of
    // VEXFS_BLOCK_SIZE bytes in vexfs_graph_load), only read here.
    let w = unsafe { core::slice::from_raw_parts(block0, BLOCK_WORDS) };
    // SAFETY: p is NULL (-> EINVAL) or the caller's params struct, which
    // does not overlap block0.
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
    // SAFETY: input is NULL (-> EINVAL) or one graph block as read from disk
    // (the kernel passes a buffer_head's b_data, held across the call).
    let Ok(b) = (unsafe { bytes(input, 4096) }) else {
        return EINVAL;
    };
    if words.is_null() {
        return EINVAL;
    }
    // SAFETY: words is non-NULL (checked) and the caller's array of nwords
    // u32s (vi->gw / `head`, kvcalloc'ed); decoding happens before the graph
    // is opened, so no handle uses the words yet and this is their only user.
    let w = unsafe { core::slice::from_raw_parts_mut(words, nwords as usize) };
    match layout::decode_block(b, idx as usize, w) {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h: `h` fresh handle memory, `words` used only through `h`
/// from now on, until C frees the pair (module doc).
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_create(h: *mut u8, words: *mut u32, nwords: u64, p: *const vexfs_hnsw_params) -> i32 {
    // SAFETY: words/nwords is the array C pairs with h (words_static's
    // requirement, kept by kernel/vector.c); p is NULL or the caller's params.
    let (Some(w), Some(p)) = (unsafe { words_static(words, nwords) }, unsafe { p.as_ref() }) else {
        return EINVAL;
    };
    for x in w.iter_mut() {
        *x = 0;
    }
    match Graph::create_in(FfiStore::Mem(MemStore::new(w)), &params_in(p)) {
        // SAFETY: h is NULL or fresh, unpublished handle memory of
        // vexfs_hnsw_handle_size() bytes (install's requirement).
        Ok(g) => unsafe { install(h, g) },
        Err(e) => errno(e),
    }
}

/// # Safety
/// As for [`vexfs_hnsw_create`]; the output pointers valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_open(
    h: *mut u8,
    words: *mut u32,
    nwords: u64,
    p: *mut vexfs_hnsw_params,
    live: *mut u32,
    generation: *mut u64,
) -> i32 {
    // SAFETY: words/nwords is the decoded array C pairs with h (vi->gw,
    // freed with vi->gh), kept as words_static requires by kernel/vector.c.
    let Some(w) = (unsafe { words_static(words, nwords) }) else {
        return EINVAL;
    };
    // SAFETY: each is NULL (-> EINVAL) or a distinct out-parameter of the
    // caller (locals of vexfs_graph_load), written only during this call.
    let (Some(p), Some(live), Some(gen)) = (unsafe { p.as_mut() }, unsafe { live.as_mut() }, unsafe { generation.as_mut() }) else {
        return EINVAL;
    };
    match Graph::open_in(FfiStore::Mem(MemStore::new(w)), true) {
        Ok(g) => {
            *p = params_out(&g.params());
            *live = g.len();
            *gen = g.generation();
            // SAFETY: h is NULL or fresh, unpublished handle memory (vi->gh
            // just kzalloc'ed by vexfs_graph_load).
            unsafe { install(h, g) }
        }
        Err(e) => errno(e),
    }
}

/// # Safety
/// `old_h` an attached handle (as for [`graph`]); `new_h` and `new_words` as
/// for [`vexfs_hnsw_create`], distinct from the old pair.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_grow(new_h: *mut u8, old_h: *const u8, new_words: *mut u32, new_nwords: u64, new_capacity: u32) -> i32 {
    // SAFETY: the kernel grows under vi->lock held for writing
    // (vexfs_arrays_adopt), so the old graph is only read here; the new
    // words are a fresh kvcalloc'ed array paired with new_h, distinct from
    // the old words, so the shared and the exclusive borrow do not overlap.
    let (Some(old), Some(w)) = (unsafe { graph(old_h) }, unsafe { words_static(new_words, new_nwords) }) else {
        return EINVAL;
    };
    for x in w.iter_mut() {
        *x = 0;
    }
    match Graph::grow_from(old.store(), FfiStore::Mem(MemStore::new(w)), new_capacity) {
        // SAFETY: new_h is NULL or fresh handle memory (a->gh), published
        // only when C swaps it in after this returns.
        Ok(g) => unsafe { install(new_h, g) },
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h: `h` fresh handle memory; `st` NULL or the caller's
/// store description, whose arrays and callbacks stay valid while the
/// handle is in use (C frees them together, as the word arrays).
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_create_store(h: *mut u8, st: *const vexfs_hnsw_store, p: *const vexfs_hnsw_params) -> i32 {
    // SAFETY: st and p are NULL or the caller's structs, read during this call.
    let (Some(bs), Some(p)) = (unsafe { block_store(st) }, unsafe { p.as_ref() }) else {
        return EINVAL;
    };
    match Graph::create_in(FfiStore::Blocks(bs), &params_in(p)) {
        // SAFETY: h is NULL or fresh, unpublished handle memory.
        Ok(g) => unsafe { install(h, g) },
        Err(e) => errno(e),
    }
}

/// # Safety
/// As for [`vexfs_hnsw_create_store`]; the output pointers valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_open_store(
    h: *mut u8,
    st: *const vexfs_hnsw_store,
    validate: u32,
    p: *mut vexfs_hnsw_params,
    live: *mut u32,
    generation: *mut u64,
) -> i32 {
    // SAFETY: st is NULL or the caller's struct, read during this call.
    let Some(bs) = (unsafe { block_store(st) }) else {
        return EINVAL;
    };
    // SAFETY: each is NULL (-> EINVAL) or a distinct out-parameter of the
    // caller (locals of vexfs_graph_load), written only during this call.
    let (Some(p), Some(live), Some(gen)) = (unsafe { p.as_mut() }, unsafe { live.as_mut() }, unsafe { generation.as_mut() }) else {
        return EINVAL;
    };
    match Graph::open_in(FfiStore::Blocks(bs), validate != 0) {
        Ok(g) => {
            *p = params_out(&g.params());
            *live = g.len();
            *gen = g.generation();
            // SAFETY: h is NULL or fresh, unpublished handle memory.
            unsafe { install(h, g) }
        }
        Err(e) => errno(e),
    }
}

/// # Safety
/// `old_h` an attached handle (as for [`graph`]); `new_h` and `st` as for
/// [`vexfs_hnsw_create_store`], distinct from the old graph's.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_grow_store(new_h: *mut u8, old_h: *const u8, st: *const vexfs_hnsw_store, new_capacity: u32) -> i32 {
    // SAFETY: the kernel grows under vi->lock held for writing
    // (vexfs_arrays_adopt), so the old graph is only read here; the new
    // store is fresh memory, distinct from the old one.
    let (Some(old), Some(bs)) = (unsafe { graph(old_h) }, unsafe { block_store(st) }) else {
        return EINVAL;
    };
    match Graph::grow_from(old.store(), FfiStore::Blocks(bs), new_capacity) {
        // SAFETY: new_h is NULL or fresh handle memory, published only when
        // C swaps it in after this returns.
        Ok(g) => unsafe { install(new_h, g) },
        Err(e) => errno(e),
    }
}

/// # Safety
/// `input` valid for 4096 bytes or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_check_block(input: *const u8, idx: u64) -> i32 {
    // SAFETY: input is NULL (-> EINVAL) or a buffer_head's b_data the
    // caller holds across the call.
    let Ok(b) = (unsafe { bytes(input, 4096) }) else {
        return EINVAL;
    };
    match layout::check_block(b, idx as usize) {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// # Safety
/// `words` valid for 1024 u32 reads, `out` for 4096 byte writes, or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_encode_words(words: *const u32, idx: u64, out: *mut u8) -> i32 {
    if words.is_null() {
        return EINVAL;
    }
    // SAFETY: words is non-NULL (checked) and one block of a store
    // (BLOCK_WORDS words) that no writer changes during the call.
    let w = unsafe { core::slice::from_raw_parts(words, BLOCK_WORDS) };
    // SAFETY: out is NULL (-> EINVAL) or a locked buffer_head's b_data,
    // distinct from the words.
    let Ok(o) = (unsafe { super::bytes_mut(out, 4096) }) else {
        return EINVAL;
    };
    match layout::encode_block_words(w, idx as usize, o) {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_node_key(h: *const u8, slot: u32, key: *mut u64) -> i32 {
    // SAFETY: h is an attached handle read while no writer runs (the kernel
    // calls this at mount, before the index is published); key is NULL or
    // the caller's u64.
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
    // SAFETY: h is an attached handle and the kernel holds vi->lock for
    // writing (vexfs_vindex_sync), so this is the graph's only reference.
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
/// `h` as for [`graph_mut`] (writers hold `vi->lock` for writing, or own a
/// private rebuild handle); `ctx` NULL or the caller's context, whose
/// scratch serves this call alone and whose callbacks stay valid for it.
unsafe fn change(
    h: *mut u8,
    ctx: *mut vexfs_hnsw_ctx,
    op: impl FnOnce(&mut FGraph, &mut CallbackProvider<'_>, &mut Scratch<'_>) -> Result<(), HnswError>,
) -> i32 {
    // SAFETY: exclusive graph access and the context as this function
    // requires; the graph and the context are distinct C objects.
    let (Some(g), Some(c)) = (unsafe { graph_mut(h) }, unsafe { ctx.as_mut() }) else {
        return EINVAL;
    };
    let m = g.params().m;
    // SAFETY: the scratch in ctx serves this call alone (the writer's
    // vi->wscratch under the write lock, or the rebuild worker's own).
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
    // SAFETY: this function's contract is `change`'s (see vexfs_core.h and
    // the module doc: the kernel calls it with vi->lock held for writing).
    unsafe { change(h, ctx, |g, dp, s| g.insert(dp, s, slot, key)) }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_delete(h: *mut u8, ctx: *mut vexfs_hnsw_ctx, slot: u32) -> i32 {
    // SAFETY: this function's contract is `change`'s (see vexfs_core.h and
    // the module doc: the kernel calls it with vi->lock held for writing).
    unsafe { change(h, ctx, |g, dp, s| g.delete(dp, s, slot)) }
}

/// # Safety
/// See vexfs_core.h; `slots` valid for `n` u32 reads.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_delete_batch(h: *mut u8, ctx: *mut vexfs_hnsw_ctx, slots: *const u32, n: u32) -> i32 {
    if slots.is_null() || n == 0 {
        return EINVAL;
    }
    // SAFETY: slots is non-NULL (checked) and the kernel's vi->del_batch
    // array of at least n u32s, which only the writer (holding vi->lock for
    // writing) fills and nothing changes during the call.
    let slots = unsafe { core::slice::from_raw_parts(slots, n as usize) };
    // SAFETY: this function's contract is `change`'s (see vexfs_core.h and
    // the module doc: the kernel calls it with vi->lock held for writing).
    unsafe { change(h, ctx, |g, dp, s| g.delete_batch(dp, s, slots).map(|_| ())) }
}

/// # Safety
/// See vexfs_core.h.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_update(h: *mut u8, ctx: *mut vexfs_hnsw_ctx, slot: u32) -> i32 {
    // SAFETY: this function's contract is `change`'s (see vexfs_core.h and
    // the module doc: the kernel calls it with vi->lock held for writing).
    unsafe { change(h, ctx, |g, dp, s| g.update(dp, s, slot)) }
}

/// # Safety
/// `h` as for [`graph`] (searchers hold `vi->lock` for reading); `ctx` the
/// caller's context with its own scratch; `hits` valid for `nhits` writes;
/// `complete` valid or NULL.
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
    // SAFETY: shared graph access under the read lock; ctx and complete are
    // NULL or the searcher's own context and u32 (locals and a pool scratch
    // in vexfs_vindex_search), distinct from the graph and each other.
    let (Some(g), Some(c), Some(done)) = (unsafe { graph(h) }, unsafe { ctx.as_mut() }, unsafe { complete.as_mut() }) else {
        return EINVAL;
    };
    if hits.is_null() || nhits == 0 {
        return EINVAL;
    }
    // SAFETY: hits is non-NULL (checked) and the kernel's result array of
    // nhits entries (kvmalloc'ed by the ioctl, owned by this searcher); Hit
    // has vexfs_hnsw_hit's size, field offsets and alignment (asserted above).
    let out = unsafe { core::slice::from_raw_parts_mut(hits as *mut Hit, nhits as usize) };
    // SAFETY: the searcher took this scratch from the pool under
    // scratch_lock and is its only user until it gives it back.
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
                g.search_knn(&mut dp, &mut s, k, ef as usize, filter, out).inspect(|_| *done = 1)
            }
            super::abi::VEXFS_HNSW_KNN_RERANK => {
                let k = (nhits as usize).min(s.ef_max());
                let mut steer = SteerProvider { inner: CallbackProvider { ctx: cref } };
                g.search_knn_rerank(&mut steer, &mut dp, &mut s, k, ef as usize, max_key as usize, filter, out).inspect(|_| *done = 1)
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
/// `h` as for [`graph`].
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_blocks(h: *const u8) -> i64 {
    // SAFETY: h is an attached handle; the kernel holds vi->lock for writing
    // (vexfs_vindex_sync), so no writer changes it meanwhile.
    match unsafe { graph(h) } {
        Some(g) => g.geometry().total_blocks() as i64,
        None => EINVAL as i64,
    }
}

/// # Safety
/// `h` as for [`graph`]; `out` valid for 4096 byte writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_hnsw_encode_block(h: *const u8, idx: u64, out: *mut u8) -> i32 {
    // SAFETY: h is an attached handle; the kernel encodes with vi->lock held
    // for reading (vexfs_vindex_sync downgrades its write lock), so no
    // writer changes the graph meanwhile.
    let Some(g) = (unsafe { graph(h) }) else {
        return EINVAL;
    };
    // SAFETY: out is NULL (-> EINVAL) or a locked buffer_head's b_data (one
    // 4096-byte block, vexfs_graph_persist), distinct from the graph words.
    let Ok(o) = (unsafe { super::bytes_mut(out, 4096) }) else {
        return EINVAL;
    };
    let Some(words) = g.store().words() else {
        return EINVAL; // a block store's blocks are encoded by vexfs_hnsw_encode_words
    };
    match layout::encode_block(words, idx as usize, o) {
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

/// # Safety
/// `hits` valid for `n` entries (or NULL with `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn vexfs_topk_heapify(hits: *mut vexfs_hnsw_hit, n: u32) -> i32 {
    if n == 0 {
        return 0;
    }
    if hits.is_null() {
        return EINVAL;
    }
    // SAFETY: hits is non-NULL (checked) and the searcher's own result array
    // of at least n entries (vexfs_scan in kernel/vindex-search.c); Hit has
    // vexfs_hnsw_hit's size, field offsets and alignment (asserted above).
    let h = unsafe { core::slice::from_raw_parts_mut(hits as *mut Hit, n as usize) };
    crate::hnsw::topk::heapify(h);
    0
}

/// # Safety
/// `hits` valid for `cap` entries, `n` and `h` for one each, all distinct.
#[no_mangle]
pub unsafe extern "C" fn vexfs_topk_offer(hits: *mut vexfs_hnsw_hit, cap: u32, n: *mut u32, h: *const vexfs_hnsw_hit) -> i32 {
    if cap == 0 {
        return 0;
    }
    // SAFETY: n and h are NULL (-> EINVAL) or the caller's count and
    // candidate hit (locals of vexfs_scan_batch), distinct from hits.
    let (Some(count), Some(cand)) = (unsafe { n.as_mut() }, unsafe { (h as *const Hit).as_ref() }) else {
        return EINVAL;
    };
    if hits.is_null() || *count > cap {
        return EINVAL;
    }
    // SAFETY: hits is non-NULL (checked) and the searcher's own result array
    // of cap entries (the ioctl's kvmalloc'ed hits); layout asserted above.
    let heap = unsafe { core::slice::from_raw_parts_mut(hits as *mut Hit, cap as usize) };
    let mut len = *count as usize;
    let kept = crate::hnsw::topk::offer(heap, &mut len, *cand);
    *count = len as u32;
    kept as i32
}
