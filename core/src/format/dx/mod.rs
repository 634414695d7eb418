//! Hash-indexed directories: the index blocks (`vexfs_dx_*` in the format
//! header), the seeded name hash, and the walk / split / convert logic over
//! caller-provided block buffers. No I/O and no allocation: the kernel reads
//! the blocks a walk asks for and hands them in (see `shim/vexfs_core.h`).
//!
//! Invariants of a valid index (checked as blocks are passed in, and in full
//! by fsck):
//! - every index block holds 1..=limit entries sorted by stored key
//!   (`key << 1 | continuation`); equal stored keys only with the
//!   continuation bit set;
//! - entry 0 of the root has stored key 0; entry 0 of an interior node has
//!   the stored key of the parent entry pointing at it;
//! - a leaf under entry i holds names with `stored(i) >> 1 <= key` and
//!   `key <= stored(i + 1) >> 1`, the latter equal only when entry i + 1
//!   has the continuation bit (names with one key spilling into the next
//!   leaf).
//!
//! By operation: `hash` (the name key), `index` (index blocks), `walk`
//! (root-to-leaf walks), `leaf` (leaf records), `split` (growing the index).
//! This module holds the layout constants and the field accessors they share.
use super::defs::*;
use super::dir;
use crate::bytes;
use crate::error::{Error, Result};
use crate::explain;
use crate::ffi::abi::{vexfs_dx_frame, vexfs_dx_path, vexfs_dx_slot, VEXFS_DX_END, VEXFS_DX_LEAF, VEXFS_DX_READ};

/// A walk from the root to a leaf (caller-owned, see the C header).
pub type Path = vexfs_dx_path;
/// One leaf record in hash order.
pub type Slot = vexfs_dx_slot;

const USABLE: usize = VEXFS_DIR_USABLE as usize;
const HDR: usize = VEXFS_DIRENT_HEADER_SIZE as usize;
const ROOT_INFO: usize = VEXFS_DX_ROOT_INFO_OFFSET as usize;
const ROOT_ENTRIES: usize = VEXFS_DX_ROOT_ENTRIES as usize;
const NODE_INFO: usize = VEXFS_DX_NODE_INFO_OFFSET as usize;
const NODE_ENTRIES: usize = VEXFS_DX_NODE_ENTRIES as usize;
const ENTRY: usize = VEXFS_DX_ENTRY_SIZE as usize;
// Field offsets inside the root info and node info.
const RI_HASH: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_hash_version);
const RI_INFO_LEN: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_info_length);
const RI_LEVELS: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_levels);
const RI_FLAGS: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_flags);
const RI_SEED: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_seed);
const RI_LIMIT: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_limit);
const RI_COUNT: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_count);
const RI_RESERVED: usize = core::mem::offset_of!(vexfs_dx_root_info, ri_reserved);
const NI_HEIGHT: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_height);
const NI_PAD: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_pad);
const NI_LIMIT: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_limit);
const NI_COUNT: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_count);
const NI_RESERVED: usize = core::mem::offset_of!(vexfs_dx_node_info, ni_reserved);
const _: () = assert!(core::mem::size_of::<vexfs_dx_root_info>() == VEXFS_DX_ROOT_INFO_SIZE as usize);
const _: () = assert!(core::mem::size_of::<vexfs_dx_node_info>() == VEXFS_DX_NODE_INFO_SIZE as usize);
const _: () = assert!(core::mem::size_of::<vexfs_dx_entry>() == VEXFS_DX_ENTRY_SIZE as usize);
const MAX_LEVELS: usize = VEXFS_DX_MAX_LEVELS as usize;
/// Entries in the root / in an interior node.
pub const ROOT_LIMIT: u32 = VEXFS_DX_ROOT_LIMIT;
pub const NODE_LIMIT: u32 = VEXFS_DX_NODE_LIMIT;
/// Most records a leaf can hold.
pub const LEAF_MAX: usize = VEXFS_DX_LEAF_MAX_ENTRIES as usize;
/// Largest hash key: keeps every readdir position below `VEXFS_DX_POS_EOF`.
pub const MAX_KEY: u64 = (1u64 << 62) - 2;
/// The continuation bit of a stored key.
pub const CONT: u64 = 1;

/// Return codes of the walk functions.
pub const LEAF: i32 = VEXFS_DX_LEAF as i32;
pub const READ: i32 = VEXFS_DX_READ as i32;
pub const END: i32 = VEXFS_DX_END as i32;

/// A hash version only unit tests use: SipHash keys truncated to 4 bits, so
/// that every name collides with many others.
#[cfg(test)]
pub const HASH_TEST_WEAK: u32 = 0xfe;

// ------------------------------------------------------------ bytes

// Index blocks are whole blocks (`block_ok`), so a field that does not fit
// is a corrupt block when read and a caller error when written: these map
// the shared accessors' `None` to that.

fn le16(b: &[u8], off: usize) -> Result<u16> {
    bytes::le16(b, off).ok_or(Error::Corrupt)
}

fn le32(b: &[u8], off: usize) -> Result<u32> {
    bytes::le32(b, off).ok_or(Error::Corrupt)
}

fn byte(b: &[u8], off: usize) -> Result<u8> {
    bytes::u8_at(b, off).ok_or(Error::Corrupt)
}

fn put8(b: &mut [u8], off: usize, v: u8) -> Result<()> {
    bytes::put8(b, off, v).ok_or(Error::InvalidArgument)
}

fn put16(b: &mut [u8], off: usize, v: u16) -> Result<()> {
    bytes::put16(b, off, v).ok_or(Error::InvalidArgument)
}

fn put32(b: &mut [u8], off: usize, v: u32) -> Result<()> {
    bytes::put32(b, off, v).ok_or(Error::InvalidArgument)
}

fn block_ok(b: &[u8]) -> Result<()> {
    if b.len() != BLOCK_SIZE {
        return Err(Error::InvalidArgument);
    }
    Ok(())
}

mod hash;
mod index;
mod leaf;
mod split;
mod walk;

pub use hash::*;
pub use index::*;
pub use leaf::*;
pub use split::*;
pub use walk::*;

#[cfg(test)]
mod tests;
