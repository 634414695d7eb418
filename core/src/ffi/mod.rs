//! The functions the core exports to the kernel module, as declared in
//! `shim/vexfs_core.h`. Each one turns raw pointers into bounded slices
//! (rejecting NULL), calls the safe core function and maps errors to
//! negative errno values. Nothing here allocates, sleeps or panics.
//!
//! Who keeps the pointer contracts. The C caller is the kernel module
//! (`kernel/*.c`; the fuzz targets call a few entry points from Rust with
//! `Vec` memory under the same rules):
//! - block buffers are a buffer_head's `b_data` (or the inode's 256 bytes
//!   inside one) with the length the header states, and the caller holds
//!   the buffer_head (no `brelse`) until the call returns;
//! - a buffer the call writes is changed by no one else meanwhile: the
//!   caller holds the buffer lock (`lock_buffer`: inode table and indirect
//!   blocks) or the owning directory's `i_rwsem` exclusively (directory
//!   blocks), and a buffer only read is not written meanwhile for the same
//!   reasons (lookups and readdir hold the directory's `i_rwsem` shared);
//! - out-parameters are the caller's locals or fields of its own structs,
//!   never overlapping an input; names are the dentry's `qstr` bytes.
//!
//! The core keeps no pointer after returning, so every borrow made here
//! ends with the call. NULL is rejected (or, for message buffers, means
//! "no message") before any pointer is used.
pub mod abi;
pub mod dx;
pub mod hnsw;
pub mod vector;

use core::ffi::c_char;

use crate::error::{Error, Result};
use crate::format::{bitmap, bmap, dir, inode, names, superblock};
use crate::msg::MsgBuf;
use abi::{vexfs_dirent_view, vexfs_inode_mem, vexfs_sb_geom};

/// Borrow `len` bytes at `ptr` (NULL -> `InvalidArgument`).
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `len` bytes for `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: u32) -> Result<&'a [u8]> {
    if ptr.is_null() {
        return Err(Error::InvalidArgument);
    }
    // SAFETY: ptr is non-NULL (checked) and readable for len bytes during
    // 'a, which this function's callers establish from the contracts above
    // (a held buffer_head's data of the stated length, not written meanwhile).
    Ok(unsafe { core::slice::from_raw_parts(ptr, len as usize) })
}

/// Mutably borrow `len` bytes at `ptr` (NULL -> `InvalidArgument`).
///
/// # Safety
/// A non-NULL `ptr` must be valid for writes of `len` bytes for `'a`, and
/// not aliased.
unsafe fn bytes_mut<'a>(ptr: *mut u8, len: u32) -> Result<&'a mut [u8]> {
    if ptr.is_null() {
        return Err(Error::InvalidArgument);
    }
    // SAFETY: ptr is non-NULL (checked) and writable for len bytes during
    // 'a with no other user (the caller holds the buffer's lock; module doc).
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len as usize) })
}

/// A message buffer over caller memory; an empty one when NULL.
///
/// # Safety
/// A non-NULL `msg` must be valid for writes of `msg_len` bytes.
unsafe fn msg_buf<'a>(msg: *mut c_char, msg_len: u32) -> MsgBuf<'a> {
    // SAFETY: msg is NULL (an empty buffer) or the caller's private message
    // array of msg_len bytes (a local in kernel/*.c), so bytes_mut's
    // requirement holds.
    let buf = unsafe { bytes_mut(msg as *mut u8, msg_len) }.unwrap_or(&mut []);
    MsgBuf::new(buf)
}

fn rc(r: Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// Pointers valid for their stated lengths, as in `shim/vexfs_core.h`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_sb_validate(
    block: *const u8,
    len: u32,
    dev_blocks: u64,
    geom: *mut vexfs_sb_geom,
    msg: *mut c_char,
    msg_len: u32,
) -> i32 {
    // SAFETY: msg is NULL or the caller's local message array of msg_len bytes.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: block is the superblock buffer_head's data (sbi->sbh, len =
    // VEXFS_BLOCK_SIZE), held by the mount and not written during validation.
    let r = unsafe { bytes(block, len) }.and_then(|b| superblock::validate(b, dev_blocks, &mut m));
    match r {
        Ok(g) => {
            // SAFETY: geom is NULL (-> EINVAL) or &sbi->geom, the mount's
            // own struct, not yet shared with anyone during fill_super.
            match unsafe { geom.as_mut() } {
                Some(out) => {
                    *out = g;
                    0
                }
                None => Error::InvalidArgument.to_errno(),
            }
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `block` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_sb_update(
    block: *mut u8,
    len: u32,
    state: u32,
    free_blocks: u64,
    free_inodes: u32,
    now_sec: u64,
    mount_delta: u32,
    vector_generation: u64,
    graph_generation: u64,
    index_generation: u64,
    index_live: u64,
    index_files: u64,
    index_stale: u64,
) -> i32 {
    let u = superblock::SbUpdate {
        state,
        free_blocks,
        free_inodes,
        now_sec,
        mount_delta,
        vector_generation,
        graph_generation,
        index: superblock::IndexSummary {
            generation: index_generation,
            live: index_live,
            files: index_files,
            stale: index_stale,
        },
    };
    // SAFETY: block is sbi->sbh's data (len = VEXFS_BLOCK_SIZE); the caller
    // (vexfs_commit_super) holds the superblock buffer's lock (lock_buffer)
    // around the call, so this is the buffer's only writer.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| superblock::update(b, &u)))
}

/// # Safety
/// `geom`, `block_nr`, `offset` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_inode_locate(
    geom: *const vexfs_sb_geom,
    ino: u32,
    block_nr: *mut u32,
    offset: *mut u32,
) -> i32 {
    // SAFETY: each is NULL (-> EINVAL) or the caller's: geom is &sbi->geom
    // (read only), block_nr and offset are distinct locals.
    let (g, b, o) = unsafe { (geom.as_ref(), block_nr.as_mut(), offset.as_mut()) };
    let (Some(g), Some(b), Some(o)) = (g, b, o) else {
        return Error::InvalidArgument.to_errno();
    };
    match inode::locate(g, ino) {
        Ok((blk, off)) => {
            *b = blk;
            *o = off;
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// Pointers valid for their stated lengths or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_inode_decode(
    geom: *const vexfs_sb_geom,
    raw: *const u8,
    len: u32,
    ino: u32,
    out: *mut vexfs_inode_mem,
    msg: *mut c_char,
    msg_len: u32,
) -> i32 {
    // SAFETY: msg is NULL or the caller's local message array of msg_len bytes.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: each is NULL (-> EINVAL) or the caller's: geom is &sbi->geom
    // (read only), out a struct of the caller's, distinct from the raw bytes.
    let (g, o) = unsafe { (geom.as_ref(), out.as_mut()) };
    let (Some(g), Some(o)) = (g, o) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: raw is this inode's VEXFS_INODE_SIZE bytes inside an inode
    // table buffer_head the caller holds; no one writes this inode's bytes
    // meanwhile (iget of an inode not yet in the cache, or the vector-store
    // check at mount, before the volume has users).
    match unsafe { bytes(raw, len) }.and_then(|r| inode::decode(g, r, ino, &mut m)) {
        Ok(i) => {
            *o = i;
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `inm` valid or NULL; `raw` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_inode_encode(
    inm: *const vexfs_inode_mem,
    ino: u32,
    raw: *mut u8,
    len: u32,
) -> i32 {
    // SAFETY: inm is NULL (-> EINVAL) or the caller's local inode image.
    let Some(i) = (unsafe { inm.as_ref() }) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: raw is the inode's bytes in the inode table buffer_head, which
    // the caller (vexfs_write_inode) holds locked (lock_buffer) around the call.
    rc(unsafe { bytes_mut(raw, len) }.and_then(|r| inode::encode(i, ino, r)))
}

/// # Safety
/// Pointers valid for their stated lengths or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_block_check(
    block: *const u8,
    len: u32,
    dir_ino: u32,
    inodes_count: u32,
    msg: *mut c_char,
    msg_len: u32,
) -> i32 {
    // SAFETY: msg is NULL or the caller's local message array of msg_len bytes.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: block is a directory block's buffer_head data, held and locked
    // (lock_buffer) by the caller, which also holds the directory's i_rwsem.
    rc(unsafe { bytes(block, len) }.and_then(|b| dir::check_block(b, dir_ino, inodes_count, &mut m)))
}

/// # Safety
/// `block` valid for `len` bytes; `out` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_next(
    block: *const u8,
    len: u32,
    pos: u32,
    out: *mut vexfs_dirent_view,
) -> i32 {
    // SAFETY: out is NULL (-> EINVAL) or the caller's local view struct.
    let Some(o) = (unsafe { out.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: block is a directory block's buffer_head data, held by the
    // caller under the directory's i_rwsem (readdir, ioctl path walk).
    match unsafe { bytes(block, len) }.and_then(|b| dir::next(b, pos as usize)) {
        Ok(Some(e)) => {
            *o = e;
            1
        }
        Ok(None) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `block` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_block_init(block: *mut u8, len: u32, dir_ino: u32) -> i32 {
    // SAFETY: block is a new directory block's buffer_head data; the caller
    // holds the directory's i_rwsem exclusively, so it is the only writer.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| dir::init(b, dir_ino)))
}

/// # Safety
/// `block` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_bitmap_count(block: *const u8, len: u32, nbits: u32) -> i64 {
    if nbits as u64 > len as u64 * 8 {
        return Error::InvalidArgument.to_errno() as i64;
    }
    // SAFETY: block is a bitmap block's buffer_head data held by the caller
    // (vexfs_bitmap_used, for vexfs_count_free).
    match unsafe { bytes(block, len) } {
        Ok(b) => bitmap::count_set(b, nbits as u64) as i64,
        Err(e) => e.to_errno() as i64,
    }
}

/// # Safety
/// `offsets` valid for 4 u32 writes or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_bmap_path(iblock: u64, offsets: *mut u32) -> i32 {
    if offsets.is_null() {
        return Error::InvalidArgument.to_errno();
    }
    // SAFETY: offsets is non-NULL (checked) and, per vexfs_core.h, the
    // caller's local `u32 offsets[4]` (vexfs_get_block), so it is
    // aligned for u32 and writable for four of them for this call.
    let out = unsafe { &mut *(offsets as *mut [u32; 4]) };
    match bmap::path(iblock, out) {
        Ok(depth) => depth as i32,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `block` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_ind_init(block: *mut u8, len: u32, ino: u32, level: u32) -> i32 {
    // SAFETY: block is a freshly allocated indirect block's buffer_head data,
    // which the caller (vexfs_alloc_mapped) holds locked (lock_buffer) and
    // has not linked into the map yet, so it is the only user.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| bmap::indirect_init(b, ino, level)))
}

/// # Safety
/// `block` valid for `len` bytes; `msg` valid for `msg_len` bytes or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_ind_check(
    block: *const u8,
    len: u32,
    ino: u32,
    level: u32,
    msg: *mut c_char,
    msg_len: u32,
) -> i32 {
    // SAFETY: msg is NULL or the caller's local message array of msg_len bytes.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: block is an indirect block's buffer_head data held by the
    // caller (vexfs_bread_indirect); writers change it only under its
    // buffer lock, which vexfs_ind_set's caller holds.
    rc(unsafe { bytes(block, len) }.and_then(|b| bmap::indirect_check(b, ino, level, &mut m)))
}

/// # Safety
/// `block` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_ind_set(block: *mut u8, len: u32, idx: u32, value: u32) -> i32 {
    // SAFETY: block is an indirect block's buffer_head data that the caller
    // (vexfs_set_indirect) holds locked (lock_buffer) around the call.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| bmap::indirect_set_sealed(b, idx, value)))
}

/// # Safety
/// `block` valid for `len` bytes; `msg` valid for `msg_len` bytes or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_names_check(
    block: *const u8,
    len: u32,
    ino: u32,
    links: u32,
    max_dir: u32,
    msg: *mut c_char,
    msg_len: u32,
) -> i32 {
    // SAFETY: msg is NULL or the caller's local message array of msg_len bytes.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: block is a names block's buffer_head data that the caller
    // (kernel/links.c) holds locked (lock_buffer), as every writer does.
    match unsafe { bytes(block, len) }.and_then(|b| names::check(b, ino, links, max_dir, &mut m)) {
        Ok(n) => n as i32,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `block` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_names_init(block: *mut u8, len: u32, ino: u32, dir_a: u32, dir_b: u32) -> i32 {
    // SAFETY: block is a freshly allocated names block's buffer_head data,
    // locked by the caller (kernel/links.c) and not yet named by the inode.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| names::init(b, ino, &[dir_a, dir_b])))
}

/// # Safety
/// `block` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_names_add(block: *mut u8, len: u32, ino: u32, dir: u32) -> i32 {
    // SAFETY: block is the inode's names block's buffer_head data, locked by
    // the caller (kernel/links.c) around the call.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| names::add(b, ino, dir)))
}

/// # Safety
/// `block` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_names_remove(block: *mut u8, len: u32, ino: u32, dir: u32) -> i32 {
    // SAFETY: as vexfs_names_add.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| names::remove(b, ino, dir)))
}

/// # Safety
/// Buffers valid for their stated lengths; `out` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_find(
    block: *const u8,
    len: u32,
    name: *const u8,
    name_len: u32,
    out: *mut vexfs_dirent_view,
) -> i32 {
    // SAFETY: out is NULL (-> EINVAL) or the caller's local view struct.
    let Some(o) = (unsafe { out.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: block is a directory block's buffer_head data held by the
    // caller under the directory's i_rwsem; name is the dentry's qstr bytes.
    let r = unsafe { bytes(block, len) }
        .and_then(|b| unsafe { bytes(name, name_len) }.and_then(|n| dir::find(b, n)));
    match r {
        Ok(Some(e)) => {
            *o = e;
            1
        }
        Ok(None) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// Buffers valid for their stated lengths.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_add(
    block: *mut u8,
    len: u32,
    dir_ino: u32,
    name: *const u8,
    name_len: u32,
    ino: u32,
    file_type: u32,
) -> i32 {
    // SAFETY: name is the dentry's qstr bytes (name_len of them), memory
    // distinct from any directory block.
    let n = match unsafe { bytes(name, name_len) } {
        Ok(n) => n,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: block is a directory block's buffer_head data; the caller holds
    // the directory's i_rwsem exclusively, so it is the only writer.
    match unsafe { bytes_mut(block, len) }.and_then(|b| dir::add(b, dir_ino, n, ino, file_type)) {
        Ok(off) => off as i32,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `block` writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_remove(block: *mut u8, len: u32, dir_ino: u32, rec_offset: u32) -> i32 {
    // SAFETY: as in vexfs_dir_add: a directory block the caller changes
    // holding the directory's i_rwsem exclusively.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| dir::remove(b, dir_ino, rec_offset)))
}

/// # Safety
/// `block` writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_retarget(
    block: *mut u8,
    len: u32,
    dir_ino: u32,
    rec_offset: u32,
    ino: u32,
    file_type: u32,
) -> i32 {
    // SAFETY: as in vexfs_dir_add: a directory block the caller changes
    // holding the directory's i_rwsem exclusively (rename).
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| dir::retarget(b, dir_ino, rec_offset, ino, file_type)))
}

/// # Safety
/// `block` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_block_is_empty(block: *const u8, len: u32) -> i32 {
    // SAFETY: block is a directory block's buffer_head data held by the
    // caller (vexfs_empty_dir for rmdir/rename: the VFS holds the victim
    // directory's i_rwsem).
    match unsafe { bytes(block, len) }.and_then(dir::is_empty) {
        Ok(true) => 1,
        Ok(false) => 0,
        Err(e) => e.to_errno(),
    }
}
