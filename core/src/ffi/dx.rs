//! C entry points for hash-indexed directories (`vexfs_dx_*` in
//! `shim/vexfs_core.h`): raw pointers become bounded slices, results become
//! the documented return codes or negative errno values.
//!
//! The caller is `kernel/dir.c`, holding the directory's `i_rwsem` (shared
//! for lookups and readdir, exclusive for changes). It keeps what the
//! pointer contracts below rely on (see also `super`'s module doc): the walk
//! state (`struct vexfs_dx_path`) is a local of the calling function; block
//! pointers are held buffer_heads' `b_data` (locked while a call writes
//! them); slot arrays are its own `kmalloc`ed arrays of the stated length;
//! names are the dentry's `qstr` bytes. None of these overlap.
use crate::error::{Error, Result};
use crate::format::dx;
use crate::msg::NoMsg;

use super::abi::{vexfs_dx_path, vexfs_dx_slot, vexfs_dx_split_ctx};
use crate::format::VEXFS_DX_MAX_LEVELS;
use super::{bytes, bytes_mut};

fn code(r: Result<i32>) -> i32 {
    match r {
        Ok(v) => v,
        Err(e) => e.to_errno(),
    }
}

fn index(r: Result<u32>) -> i32 {
    code(r.and_then(|v| i32::try_from(v).map_err(|_| Error::OutOfRange)))
}

/// # Safety
/// `slots` NULL or valid for `n` elements of writes, not aliased.
unsafe fn slots_mut<'a>(slots: *mut vexfs_dx_slot, n: u32) -> Result<&'a mut [vexfs_dx_slot]> {
    if slots.is_null() {
        return Err(Error::InvalidArgument);
    }
    // SAFETY: slots is non-NULL (checked) and, per this function's callers,
    // the kernel's kmalloc'ed slot array of n entries, used by no one else
    // during the call.
    Ok(unsafe { core::slice::from_raw_parts_mut(slots, n as usize) })
}

/// # Safety
/// `p` NULL or a valid, writable path no one else uses during `'a`.
unsafe fn path_mut<'a>(p: *mut vexfs_dx_path) -> Result<&'a mut vexfs_dx_path> {
    // SAFETY: p is NULL (-> InvalidArgument) or the calling kernel
    // function's local walk state, which only this call touches meanwhile.
    unsafe { p.as_mut() }.ok_or(Error::InvalidArgument)
}

/// The first `n` of `ptrs` as block buffers (at most N; more is InvalidArgument).
///
/// # Safety
/// Each of those pointers is NULL or a distinct block buffer, valid and
/// unaliased for the returned lifetime.
unsafe fn block_bufs<'a, const N: usize>(ptrs: &[*mut u8], n: usize) -> Result<heapless::Vec<&'a mut [u8], N>> {
    let mut v = heapless::Vec::new();
    for &f in ptrs.iter().take(n) {
        // SAFETY: f is NULL (-> InvalidArgument) or, as this function
        // requires, a block buffer distinct from every other pointer given,
        // valid and unaliased for 'a (split_add's caller locks each one).
        let b = unsafe { bytes_mut(f, crate::format::BLOCK_SIZE as u32) }?;
        v.push(b).map_err(|_| Error::InvalidArgument)?;
    }
    Ok(v)
}

/// # Safety
/// Pointers valid for their stated lengths, as in `shim/vexfs_core.h`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_probe_name(
    p: *mut vexfs_dx_path,
    root: *const u8,
    len: u32,
    dir_ino: u32,
    dir_blocks: u32,
    dir_depth: u32,
    name: *const u8,
    name_len: u32,
) -> i32 {
    // SAFETY: p is the caller's local path; root is the directory's block 0
    // (a held buffer_head, len bytes) and name the dentry's qstr bytes:
    // three distinct objects, none written during the call.
    let r = unsafe { (path_mut(p), bytes(root, len), bytes(name, name_len)) };
    code(match r {
        (Ok(p), Ok(root), Ok(name)) => dx::probe_name(p, root, dir_ino, dir_blocks, dir_depth, name, &mut NoMsg),
        _ => Err(Error::InvalidArgument),
    })
}

/// # Safety
/// Pointers valid for their stated lengths.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_probe_pos(
    p: *mut vexfs_dx_path,
    root: *const u8,
    len: u32,
    dir_ino: u32,
    dir_blocks: u32,
    dir_depth: u32,
    pos: u64,
) -> i32 {
    // SAFETY: p is the caller's local path; root is the directory's block 0,
    // a held buffer_head of len bytes, not written during readdir.
    let r = unsafe { (path_mut(p), bytes(root, len)) };
    code(match r {
        (Ok(p), Ok(root)) => dx::probe_pos(p, root, dir_ino, dir_blocks, dir_depth, pos, &mut NoMsg),
        _ => Err(Error::InvalidArgument),
    })
}

/// # Safety
/// Pointers valid for their stated lengths.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_descend(p: *mut vexfs_dx_path, node: *const u8, len: u32) -> i32 {
    // SAFETY: p is the caller's local path; node is the index block the walk
    // asked for (a held buffer_head of len bytes), not written meanwhile.
    let r = unsafe { (path_mut(p), bytes(node, len)) };
    code(match r {
        (Ok(p), Ok(node)) => dx::descend(p, node, &mut NoMsg),
        _ => Err(Error::InvalidArgument),
    })
}

/// # Safety
/// `p` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_next_leaf(p: *mut vexfs_dx_path, all: u32) -> i32 {
    // SAFETY: p is NULL or the caller's local path, touched by no one else.
    code(unsafe { path_mut(p) }.and_then(|p| dx::next_leaf(p, all != 0)))
}

/// # Safety
/// Pointers valid for their stated lengths.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_leaf_sort(
    p: *const vexfs_dx_path,
    leaf: *const u8,
    len: u32,
    slots: *mut vexfs_dx_slot,
    nslots: u32,
) -> i32 {
    // SAFETY: p is the caller's local path (read only); leaf a held leaf
    // buffer_head of len bytes; slots its kmalloc'ed array of nslots entries
    // (vexfs_dx_readdir): three distinct objects.
    let r = unsafe { (p.as_ref(), bytes(leaf, len), slots_mut(slots, nslots)) };
    code(match r {
        (Some(p), Ok(leaf), Ok(slots)) => dx::leaf_sort(p, leaf, slots).map(|n| n as i32),
        _ => Err(Error::InvalidArgument),
    })
}

/// # Safety
/// Pointers valid for their stated lengths.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_leaf_add(
    p: *const vexfs_dx_path,
    leaf: *mut u8,
    len: u32,
    name: *const u8,
    name_len: u32,
    ino: u32,
    file_type: u32,
) -> i32 {
    // SAFETY: p is the caller's local path (read only); leaf the held leaf
    // buffer_head, locked by the caller (lock_buffer) while it is changed;
    // name the dentry's qstr bytes, distinct from the leaf.
    let r = unsafe { (p.as_ref(), bytes_mut(leaf, len), bytes(name, name_len)) };
    index(match r {
        (Some(p), Ok(leaf), Ok(name)) => dx::leaf_add(p, leaf, name, ino, file_type),
        _ => Err(Error::InvalidArgument),
    })
}

/// # Safety
/// `p` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_split_need(p: *const vexfs_dx_path) -> i32 {
    // SAFETY: p is NULL or the caller's local path, read only here.
    index(unsafe { p.as_ref() }.ok_or(Error::InvalidArgument).and_then(dx::split_need))
}

const NFRESH: usize = VEXFS_DX_MAX_LEVELS as usize + 1;
const NFRAMES: usize = VEXFS_DX_MAX_LEVELS as usize;

/// # Safety
/// `p` and `s` valid; every block pointer in `s` that the path uses is
/// valid for VEXFS_BLOCK_SIZE bytes of writes and distinct from the others;
/// `name` valid for `name_len` bytes.
///
/// Why the blocks are distinct even on a corrupt image (kernel/dir.c,
/// vexfs_dx_add): the frames are the walk's index blocks, pairwise distinct
/// because a walk checks that each node's height is one below its parent's
/// (block 0, the root, is never a child: children are >= 1); the leaf is not
/// an index block because the kernel splits only after vexfs_dx_leaf_add
/// returned -ENOSPC, and leaf_add refuses a block with a node header; the
/// fresh blocks are new file blocks past the directory's end.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_split_add(
    p: *mut vexfs_dx_path,
    s: *mut vexfs_dx_split_ctx,
    name: *const u8,
    name_len: u32,
    ino: u32,
    file_type: u32,
) -> i32 {
    // SAFETY: p is NULL or the caller's local path; s NULL or its kzalloc'ed
    // split context; distinct objects, used by no one else during the call.
    let (p, s) = match unsafe { (path_mut(p), s.as_mut()) } {
        (Ok(p), Some(s)) => (p, s),
        _ => return Error::InvalidArgument.to_errno(),
    };
    let nframes = p.nframes as usize;
    let nfresh = s.nfresh as usize;
    if nframes > NFRAMES || nfresh > NFRESH {
        return Error::InvalidArgument.to_errno();
    }
    let bs = crate::format::BLOCK_SIZE as u32;
    // SAFETY: the first nframes frame pointers are the walk's index blocks,
    // held and locked by the caller and pairwise distinct (see above).
    let mut frames = match unsafe { block_bufs::<NFRAMES>(&s.frames, nframes) } {
        Ok(v) => v,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: the first nfresh fresh pointers are newly allocated directory
    // blocks the caller holds, distinct from each other and from the frames.
    let mut fresh = match unsafe { block_bufs::<NFRESH>(&s.fresh, nfresh) } {
        Ok(v) => v,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: leaf is the full leaf (held and locked), not a frame (see
    // above) nor a fresh block; slots is the context's kmalloc'ed array of
    // nslots entries and name the dentry's qstr bytes, both outside any block.
    let r = unsafe { (bytes_mut(s.leaf, bs), slots_mut(s.slots, s.nslots), bytes(name, name_len)) };
    let (leaf, slots, name) = match r {
        (Ok(l), Ok(sl), Ok(n)) => (l, sl, n),
        _ => return Error::InvalidArgument.to_errno(),
    };
    let mut bufs = dx::SplitBufs { frames: &mut frames, leaf, fresh: &mut fresh, fresh_first: s.fresh_first, slots };
    index(dx::split_add(p, &mut bufs, name, ino, file_type))
}

/// # Safety
/// Block pointers valid for `len` bytes of writes and distinct; `seed`
/// valid for 16 bytes; `name` for `name_len`; `slots` for `nslots`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dx_convert_add(
    block0: *mut u8,
    leaf1: *mut u8,
    leaf2: *mut u8,
    len: u32,
    dir_ino: u32,
    seed: *const u8,
    name: *const u8,
    name_len: u32,
    ino: u32,
    file_type: u32,
    slots: *mut vexfs_dx_slot,
    nslots: u32,
) -> i32 {
    // SAFETY: block0 is the directory's only block (held, locked by the
    // caller), leaf1 and leaf2 two newly allocated blocks, all distinct and
    // len bytes; seed is the caller's 16-byte local, name the dentry's qstr
    // bytes, slots its kmalloc'ed array of nslots entries (vexfs_dx_convert).
    let r = unsafe {
        (
            bytes_mut(block0, len),
            bytes_mut(leaf1, len),
            bytes_mut(leaf2, len),
            bytes(seed, 16),
            bytes(name, name_len),
            slots_mut(slots, nslots),
        )
    };
    let (Ok(b0), Ok(l1), Ok(l2), Ok(seed), Ok(name), Ok(slots)) = r else {
        return Error::InvalidArgument.to_errno();
    };
    let mut words = [0u32; 4];
    for (w, c) in words.iter_mut().zip(seed.chunks_exact(4)) {
        *w = crate::bytes::le32(c, 0).unwrap_or(0);
    }
    index(dx::convert_add(
        b0,
        l1,
        l2,
        dir_ino,
        crate::format::VEXFS_DX_HASH_SIPHASH24,
        &words,
        name,
        ino,
        file_type,
        slots,
    ))
}
