//! The functions the core exports to the kernel module, as declared in
//! `shim/vexfs_core.h`. Each one turns raw pointers into bounded slices
//! (rejecting NULL), calls the safe core function and maps errors to
//! negative errno values. Nothing here allocates, sleeps or panics.
pub mod abi;
pub mod dx;
pub mod hnsw;
pub mod vector;

use core::ffi::c_char;

use crate::error::{Error, Result};
use crate::format::{bitmap, bmap, dir, inode, superblock};
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
    // SAFETY: the caller guarantees ptr is valid for len bytes.
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
    // SAFETY: the caller guarantees ptr is valid and unaliased for len bytes.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len as usize) })
}

/// A message buffer over caller memory; an empty one when NULL.
///
/// # Safety
/// A non-NULL `msg` must be valid for writes of `msg_len` bytes.
unsafe fn msg_buf<'a>(msg: *mut c_char, msg_len: u32) -> MsgBuf<'a> {
    // SAFETY: as for bytes_mut; NULL gives an empty buffer.
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
    // SAFETY: the caller passes buffers valid for the given lengths.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: as above.
    let r = unsafe { bytes(block, len) }.and_then(|b| superblock::validate(b, dev_blocks, &mut m));
    match r {
        Ok(g) => {
            // SAFETY: geom is either NULL or a valid, writable struct.
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
) -> i32 {
    let u = superblock::SbUpdate {
        state,
        free_blocks,
        free_inodes,
        now_sec,
        mount_delta,
        vector_generation,
        graph_generation,
    };
    // SAFETY: the caller passes a writable buffer of len bytes.
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
    // SAFETY: pointers are NULL or valid per the header contract.
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
    // SAFETY: the caller passes buffers valid for the given lengths.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: pointers are NULL or valid per the header contract.
    let (g, o) = unsafe { (geom.as_ref(), out.as_mut()) };
    let (Some(g), Some(o)) = (g, o) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: raw is valid for len bytes.
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
    // SAFETY: NULL or a valid struct.
    let Some(i) = (unsafe { inm.as_ref() }) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: raw is writable for len bytes.
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
    // SAFETY: the caller passes buffers valid for the given lengths.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: as above.
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
    // SAFETY: NULL or a valid struct.
    let Some(o) = (unsafe { out.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: block is valid for len bytes.
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
    // SAFETY: block is writable for len bytes.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| dir::init(b, dir_ino)))
}

/// # Safety
/// `block` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_bitmap_count(block: *const u8, len: u32, nbits: u32) -> i64 {
    if nbits as u64 > len as u64 * 8 {
        return Error::InvalidArgument.to_errno() as i64;
    }
    // SAFETY: block is valid for len bytes.
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
    // SAFETY: the caller passes room for 4 u32 values (see vexfs_core.h);
    // u32 has no alignment beyond what the C caller's array provides.
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
    // SAFETY: block is writable for len bytes.
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
    // SAFETY: the caller passes buffers valid for the given lengths.
    let mut m = unsafe { msg_buf(msg, msg_len) };
    // SAFETY: as above.
    rc(unsafe { bytes(block, len) }.and_then(|b| bmap::indirect_check(b, ino, level, &mut m)))
}

/// # Safety
/// `block` valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_ind_set(block: *mut u8, len: u32, idx: u32, value: u32) -> i32 {
    // SAFETY: block is writable for len bytes.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| bmap::indirect_set_sealed(b, idx, value)))
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
    // SAFETY: NULL or a valid struct.
    let Some(o) = (unsafe { out.as_mut() }) else {
        return Error::InvalidArgument.to_errno();
    };
    // SAFETY: block and name are valid for their lengths.
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
    // SAFETY: name is valid for name_len bytes and does not alias block.
    let n = match unsafe { bytes(name, name_len) } {
        Ok(n) => n,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: block is writable for len bytes.
    match unsafe { bytes_mut(block, len) }.and_then(|b| dir::add(b, dir_ino, n, ino, file_type)) {
        Ok(off) => off as i32,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
/// `block` writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_remove(block: *mut u8, len: u32, dir_ino: u32, rec_offset: u32) -> i32 {
    // SAFETY: block is writable for len bytes.
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
    // SAFETY: block is writable for len bytes.
    rc(unsafe { bytes_mut(block, len) }.and_then(|b| dir::retarget(b, dir_ino, rec_offset, ino, file_type)))
}

/// # Safety
/// `block` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_dir_block_is_empty(block: *const u8, len: u32) -> i32 {
    // SAFETY: block is valid for len bytes.
    match unsafe { bytes(block, len) }.and_then(dir::is_empty) {
        Ok(true) => 1,
        Ok(false) => 0,
        Err(e) => e.to_errno(),
    }
}
