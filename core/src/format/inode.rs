//! On-disk inodes: location in the inode table, checksummed decode with
//! validation of every field the kernel will trust, and encode.
use core::fmt::Write;
use core::mem::offset_of;

use zerocopy::{FromBytes, IntoBytes};

use super::bmap::MAX_FILE_BLOCKS;
use super::checksum::crc32c_skipping;
use super::defs::*;
use super::superblock::Geom;
use crate::error::{Error, Result};
use crate::explain;
use crate::ffi::abi::vexfs_inode_mem;

/// A decoded inode in host byte order.
pub type InodeMem = vexfs_inode_mem;

const CHECKSUM_OFF: usize = offset_of!(vexfs_inode, i_checksum);
const ISIZE: usize = VEXFS_INODE_SIZE as usize;

/// Block number and byte offset of inode `ino`.
pub fn locate(g: &Geom, ino: u32) -> Result<(u32, u32)> {
    if ino == 0 || ino > g.inodes_count {
        return Err(Error::InvalidArgument);
    }
    let idx = (ino - 1) as u64;
    let block = g.inode_table_start as u64 + idx / VEXFS_INODES_PER_BLOCK as u64;
    let offset = (idx % VEXFS_INODES_PER_BLOCK as u64) as u32 * VEXFS_INODE_SIZE;
    Ok((block as u32, offset))
}

fn checksum(ino: u32, raw: &[u8]) -> Option<u32> {
    crc32c_skipping(&ino.to_le_bytes(), raw, CHECKSUM_OFF)
}

/// True when a block number may be referenced by a file: inside the data
/// area of the volume.
pub fn data_block_ok(g: &Geom, b: u32) -> bool {
    (b as u64) >= g.data_start as u64 && (b as u64) < g.blocks_count
}

/// Decode and validate inode `ino` from its `VEXFS_INODE_SIZE` bytes.
/// An all-zero inode is free: `Err(NotFound)`.
pub fn decode(g: &Geom, raw: &[u8], ino: u32, msg: &mut impl Write) -> Result<InodeMem> {
    let raw = raw.get(..ISIZE).ok_or(Error::InvalidArgument)?;
    if ino == 0 || ino > g.inodes_count {
        explain!(msg, "inode number {ino} outside 1..={}", g.inodes_count);
        return Err(Error::InvalidArgument);
    }
    if raw.iter().all(|&b| b == 0) {
        return Err(Error::NotFound);
    }
    let d = vexfs_inode::read_from_bytes(raw).map_err(|_| Error::InvalidArgument)?;
    let stored = u32::from_le(d.i_checksum);
    let computed = checksum(ino, raw).ok_or(Error::InvalidArgument)?;
    if stored != computed {
        explain!(msg, "inode {ino}: checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})");
        return Err(Error::Corrupt);
    }
    let imode = u16::from_le(d.i_mode) as u32;
    if mode::file_type(imode).is_none() {
        explain!(msg, "inode {ino}: invalid file type in mode 0o{imode:o}");
        return Err(Error::Corrupt);
    }
    let size = u64::from_le(d.i_size);
    let flags = u32::from_le(d.i_flags);
    let ftype = imode & mode::S_IFMT;
    if size > MAX_FILE_BLOCKS * BLOCK_SIZE as u64 || size > i64::MAX as u64 {
        explain!(msg, "inode {ino}: size {size} beyond the block map");
        return Err(Error::Corrupt);
    }
    if ftype == mode::S_IFDIR && size % BLOCK_SIZE as u64 != 0 {
        explain!(msg, "inode {ino}: directory size {size} is not a whole number of blocks");
        return Err(Error::Corrupt);
    }
    if flags & !VEXFS_INODE_FL_KNOWN != 0 {
        explain!(msg, "inode {ino}: unknown flags 0x{:x}", flags & !VEXFS_INODE_FL_KNOWN);
        return Err(Error::Corrupt);
    }
    let inline_symlink = flags & VEXFS_INODE_FL_INLINE_SYMLINK != 0;
    if inline_symlink && (ftype != mode::S_IFLNK || size as usize >= VEXFS_N_BLOCKS as usize * 4) {
        explain!(msg, "inode {ino}: inline symlink flag on a non-symlink or a {size}-byte target");
        return Err(Error::Corrupt);
    }
    if ftype == mode::S_IFLNK && (size == 0 || size > VEXFS_MAX_SYMLINK_LEN as u64) {
        explain!(msg, "inode {ino}: symlink target length {size} out of range");
        return Err(Error::Corrupt);
    }
    let mut block = [0u32; VEXFS_N_BLOCKS as usize];
    for (dst, src) in block.iter_mut().zip(d.i_block.iter()) {
        *dst = u32::from_le(*src);
    }
    if !inline_symlink {
        for (slot, &b) in block.iter().enumerate() {
            if b != 0 && !data_block_ok(g, b) {
                explain!(msg, "inode {ino}: block pointer {slot} = {b} outside the data area");
                return Err(Error::Corrupt);
            }
        }
    }
    let xattr_block = u32::from_le(d.i_xattr_block);
    if xattr_block != 0 && !data_block_ok(g, xattr_block) {
        explain!(msg, "inode {ino}: xattr block {xattr_block} outside the data area");
        return Err(Error::Corrupt);
    }
    let names_block = u32::from_le(d.i_names_block);
    if names_block != 0 && (!data_block_ok(g, names_block) || ftype == mode::S_IFDIR) {
        explain!(msg, "inode {ino}: names block {names_block} outside the data area or on a directory");
        return Err(Error::Corrupt);
    }
    let vector_dim = u32::from_le(d.i_vector_dim);
    if vector_dim > VEXFS_MAX_VECTOR_DIM {
        explain!(msg, "inode {ino}: vector dimension {vector_dim} out of range");
        return Err(Error::Corrupt);
    }
    let parent = u32::from_le(d.i_parent);
    if parent > g.inodes_count {
        explain!(msg, "inode {ino}: parent {parent} beyond the inode table");
        return Err(Error::Corrupt);
    }
    let orphan_next = u32::from_le(d.i_orphan_next);
    if orphan_next > g.inodes_count {
        explain!(msg, "inode {ino}: orphan link {orphan_next} beyond the inode table");
        return Err(Error::Corrupt);
    }
    let chunk_first = u32::from_le(d.i_chunk_first);
    let chunk_count = u32::from_le(d.i_chunk_count);
    if chunk_count > VEXFS_MAX_CHUNKS || chunk_first.checked_add(chunk_count).is_none() {
        explain!(msg, "inode {ino}: chunk set of {chunk_count} slots from slot {chunk_first} out of range");
        return Err(Error::Corrupt);
    }
    let nsec_ok = |n: u32| n < 1_000_000_000;
    let (an, mn, cn, crn) = (
        u32::from_le(d.i_atime_nsec),
        u32::from_le(d.i_mtime_nsec),
        u32::from_le(d.i_ctime_nsec),
        u32::from_le(d.i_crtime_nsec),
    );
    if !(nsec_ok(an) && nsec_ok(mn) && nsec_ok(cn) && nsec_ok(crn)) {
        explain!(msg, "inode {ino}: nanosecond field out of range");
        return Err(Error::Corrupt);
    }
    Ok(InodeMem {
        mode: imode,
        links_count: u16::from_le(d.i_links_count) as u32,
        uid: u32::from_le(d.i_uid),
        gid: u32::from_le(d.i_gid),
        flags,
        generation: u32::from_le(d.i_generation),
        size,
        blocks: u64::from_le(d.i_blocks),
        atime: u64::from_le(d.i_atime) as i64,
        mtime: u64::from_le(d.i_mtime) as i64,
        ctime: u64::from_le(d.i_ctime) as i64,
        crtime: u64::from_le(d.i_crtime) as i64,
        atime_nsec: an,
        mtime_nsec: mn,
        ctime_nsec: cn,
        crtime_nsec: crn,
        rdev: u32::from_le(d.i_rdev),
        xattr_block,
        dir_depth: u32::from_le(d.i_dir_depth),
        orphan_next,
        vector_dim,
        parent,
        names_block,
        block,
        chunk_first,
        chunk_count,
        data_version: u64::from_le(d.i_data_version),
        chunk_version: u64::from_le(d.i_chunk_version),
    })
}

/// Encode `m` as inode `ino` into `raw` (`VEXFS_INODE_SIZE` bytes), sealed
/// with its checksum.
pub fn encode(m: &InodeMem, ino: u32, raw: &mut [u8]) -> Result<()> {
    let raw = raw.get_mut(..ISIZE).ok_or(Error::InvalidArgument)?;
    if ino == 0 || m.links_count > u16::MAX as u32 || m.mode > u16::MAX as u32 {
        return Err(Error::InvalidArgument);
    }
    let mut d = vexfs_inode::default();
    d.i_mode = (m.mode as u16).to_le();
    d.i_links_count = (m.links_count as u16).to_le();
    d.i_uid = m.uid.to_le();
    d.i_gid = m.gid.to_le();
    d.i_flags = m.flags.to_le();
    d.i_size = m.size.to_le();
    d.i_blocks = m.blocks.to_le();
    d.i_atime = (m.atime as u64).to_le();
    d.i_mtime = (m.mtime as u64).to_le();
    d.i_ctime = (m.ctime as u64).to_le();
    d.i_crtime = (m.crtime as u64).to_le();
    d.i_atime_nsec = m.atime_nsec.to_le();
    d.i_mtime_nsec = m.mtime_nsec.to_le();
    d.i_ctime_nsec = m.ctime_nsec.to_le();
    d.i_crtime_nsec = m.crtime_nsec.to_le();
    d.i_generation = m.generation.to_le();
    d.i_rdev = m.rdev.to_le();
    for (dst, src) in d.i_block.iter_mut().zip(m.block.iter()) {
        *dst = src.to_le();
    }
    d.i_xattr_block = m.xattr_block.to_le();
    d.i_dir_depth = m.dir_depth.to_le();
    d.i_orphan_next = m.orphan_next.to_le();
    d.i_vector_dim = m.vector_dim.to_le();
    d.i_parent = m.parent.to_le();
    d.i_names_block = m.names_block.to_le();
    d.i_chunk_first = m.chunk_first.to_le();
    d.i_chunk_count = m.chunk_count.to_le();
    d.i_data_version = m.data_version.to_le();
    d.i_chunk_version = m.chunk_version.to_le();
    raw.copy_from_slice(d.as_bytes());
    let sum = checksum(ino, raw).ok_or(Error::InvalidArgument)?;
    raw.get_mut(CHECKSUM_OFF..CHECKSUM_OFF + 4)
        .ok_or(Error::InvalidArgument)?
        .copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom() -> Geom {
        Geom { blocks_count: 1024, inodes_count: 64, inode_table_start: 10, inode_table_blocks: 4, data_start: 20, ..Default::default() }
    }

    fn regular_file() -> InodeMem {
        InodeMem { mode: mode::S_IFREG | 0o644, links_count: 1, flags: VEXFS_INODE_FL_HAS_VECTOR, ..Default::default() }
    }

    #[test]
    fn round_trip_and_unknown_flags_refused() {
        let g = geom();
        let mut raw = [0u8; ISIZE];
        encode(&regular_file(), 12, &mut raw).unwrap();
        let mut msg = heapless::String::<128>::new();
        assert_eq!(decode(&g, &raw, 12, &mut msg).unwrap().flags, VEXFS_INODE_FL_HAS_VECTOR);
        let chunked = InodeMem { chunk_first: 70_000, chunk_count: 16384, data_version: 9, chunk_version: u64::MAX, ..regular_file() };
        encode(&chunked, 12, &mut raw).unwrap();
        let back = decode(&g, &raw, 12, &mut msg).unwrap();
        assert_eq!((back.chunk_first, back.chunk_count, back.data_version, back.chunk_version), (70_000, 16384, 9, u64::MAX));
        // A flag bit no version defines, even correctly checksummed, is corruption.
        let mut bad = regular_file();
        bad.flags |= 0x100;
        encode(&bad, 12, &mut raw).unwrap();
        assert_eq!(decode(&g, &raw, 12, &mut msg).err(), Some(Error::Corrupt));
        assert!(msg.contains("unknown flags 0x100"), "{msg}");
    }
}
