//! The inode block map: 12 direct pointers, then single, double and triple
//! indirect blocks (as ext2) of 1020 little-endian block numbers each, ended
//! by a tail (`struct vexfs_ind_tail`) naming the owning inode and the level
//! and sealing the block with a CRC-32C seeded by the inode number.

use core::fmt::Write;
use core::mem::offset_of;

use super::checksum::{crc32c_skipping, crc32c_update_word_shifted, zeros_shift_table};
use super::defs::*;
use crate::bytes::{le32, put32};
use crate::error::{Error, Result};
use crate::explain;

const PER: u64 = VEXFS_ADDR_PER_BLOCK as u64;
const NDIR: u64 = VEXFS_NDIR_BLOCKS as u64;

/// The largest file block index the map can address, plus one.
pub const MAX_FILE_BLOCKS: u64 = NDIR + PER + PER * PER + PER * PER * PER;

/// The path to file block `iblock`: the slot in `i_block` followed by the
/// index inside each indirect level. Returns the number of valid entries
/// (1 to 4) in `offsets`.
pub fn path(iblock: u64, offsets: &mut [u32; 4]) -> Result<usize> {
    let mut b = iblock;
    if b < NDIR {
        offsets[0] = b as u32;
        return Ok(1);
    }
    b -= NDIR;
    if b < PER {
        *offsets = [VEXFS_IND_BLOCK, b as u32, 0, 0];
        return Ok(2);
    }
    b -= PER;
    if b < PER * PER {
        *offsets = [VEXFS_DIND_BLOCK, (b / PER) as u32, (b % PER) as u32, 0];
        return Ok(3);
    }
    b -= PER * PER;
    if b < PER * PER * PER {
        *offsets = [
            VEXFS_TIND_BLOCK,
            (b / (PER * PER)) as u32,
            ((b / PER) % PER) as u32,
            (b % PER) as u32,
        ];
        return Ok(4);
    }
    Err(Error::FileTooBig)
}

/// Byte offset of the tail and of its fields in an indirect block.
const TAIL: usize = BLOCK_SIZE - VEXFS_IND_TAIL_SIZE as usize;
const MAGIC_OFF: usize = TAIL + offset_of!(vexfs_ind_tail, it_magic);
const INO_OFF: usize = TAIL + offset_of!(vexfs_ind_tail, it_ino);
const LEVEL_OFF: usize = TAIL + offset_of!(vexfs_ind_tail, it_level);
const CSUM_OFF: usize = TAIL + offset_of!(vexfs_ind_tail, it_checksum);

/// Deepest indirect level (the triple indirect block).
pub const MAX_LEVEL: u32 = 3;

const PER_USIZE: usize = VEXFS_ADDR_PER_BLOCK as usize;

/// For entry i: the shift that carries a change of the entry through the
/// rest of the checksummed message (the entries after it, then the
/// 16-byte tail), built at compile time.
static ENTRY_SHIFT: [u32; PER_USIZE] = zeros_shift_table::<PER_USIZE>(VEXFS_IND_TAIL_SIZE as u64);

/// Byte offset of entry `idx`; None past the last entry (the tail is not an entry).
fn entry_off(idx: u32) -> Option<usize> {
    if idx >= VEXFS_ADDR_PER_BLOCK {
        return None;
    }
    Some(idx as usize * 4)
}

/// Read entry `idx` of an indirect block.
pub fn indirect_get(block: &[u8], idx: u32) -> Option<u32> {
    le32(block, entry_off(idx)?)
}

/// Write entry `idx` of an indirect block without resealing it: for tools
/// that seal once after many changes (`indirect_seal`).
pub fn indirect_set(block: &mut [u8], idx: u32, value: u32) -> Option<()> {
    put32(block, entry_off(idx)?, value)
}

/// The checksum of an indirect block of inode `ino`.
fn checksum(block: &[u8], ino: u32) -> Option<u32> {
    if block.len() != BLOCK_SIZE {
        return None;
    }
    crc32c_skipping(&ino.to_le_bytes(), block, CSUM_OFF)
}

fn check_level(level: u32) -> Result<()> {
    if level == 0 || level > MAX_LEVEL {
        return Err(Error::InvalidArgument);
    }
    Ok(())
}

/// Write the tail of an indirect block of inode `ino` at `level` (1-3) and
/// its checksum over the entries as they are.
pub fn indirect_seal(block: &mut [u8], ino: u32, level: u32) -> Result<()> {
    check_level(level)?;
    if block.len() != BLOCK_SIZE {
        return Err(Error::InvalidArgument);
    }
    put32(block, MAGIC_OFF, VEXFS_IND_MAGIC).ok_or(Error::InvalidArgument)?;
    put32(block, INO_OFF, ino).ok_or(Error::InvalidArgument)?;
    put32(block, LEVEL_OFF, level).ok_or(Error::InvalidArgument)?;
    let sum = checksum(block, ino).ok_or(Error::InvalidArgument)?;
    put32(block, CSUM_OFF, sum).ok_or(Error::InvalidArgument)
}

/// Format a new, empty indirect block of inode `ino` at `level`.
pub fn indirect_init(block: &mut [u8], ino: u32, level: u32) -> Result<()> {
    block.fill(0);
    indirect_seal(block, ino, level)
}

/// Set entry `idx` of a sealed indirect block and update its checksum for
/// the one changed entry (no pass over the block). The block must have
/// passed `indirect_check` or been sealed: a wrong checksum stays wrong.
pub fn indirect_set_sealed(block: &mut [u8], idx: u32, value: u32) -> Result<()> {
    if block.len() != BLOCK_SIZE {
        return Err(Error::InvalidArgument);
    }
    let off = entry_off(idx).ok_or(Error::InvalidArgument)?;
    let old = le32(block, off).ok_or(Error::InvalidArgument)?;
    let sum = le32(block, CSUM_OFF).ok_or(Error::InvalidArgument)?;
    let shift = *ENTRY_SHIFT.get(idx as usize).ok_or(Error::InvalidArgument)?;
    let sum = crc32c_update_word_shifted(sum, shift, old.to_le_bytes(), value.to_le_bytes());
    put32(block, off, value).ok_or(Error::InvalidArgument)?;
    put32(block, CSUM_OFF, sum).ok_or(Error::InvalidArgument)
}

/// Does the tail name inode `ino` and `level` (magic, owner, level; the
/// checksum not considered)? fsck tells a damaged block of this file from a
/// block that is not this file's at all.
pub fn indirect_tail_ok(block: &[u8], ino: u32, level: u32) -> bool {
    block.len() == BLOCK_SIZE
        && le32(block, MAGIC_OFF) == Some(VEXFS_IND_MAGIC)
        && le32(block, INO_OFF) == Some(ino)
        && le32(block, LEVEL_OFF) == Some(level)
}

/// Check that `block` is an indirect block of inode `ino` at `level`, whole
/// (magic, owner, level, checksum). Its entries are not range-checked here:
/// each user checks the one it follows against the data area.
pub fn indirect_check(block: &[u8], ino: u32, level: u32, msg: &mut impl Write) -> Result<()> {
    check_level(level)?;
    if block.len() != BLOCK_SIZE {
        explain!(msg, "indirect block buffer of {} bytes", block.len());
        return Err(Error::InvalidArgument);
    }
    let magic = le32(block, MAGIC_OFF).ok_or(Error::InvalidArgument)?;
    if magic != VEXFS_IND_MAGIC {
        explain!(msg, "not an indirect block (tail magic 0x{magic:08x})");
        return Err(Error::Corrupt);
    }
    let owner = le32(block, INO_OFF).ok_or(Error::InvalidArgument)?;
    if owner != ino {
        explain!(msg, "indirect block of inode {owner}, not of inode {ino}");
        return Err(Error::Corrupt);
    }
    let found = le32(block, LEVEL_OFF).ok_or(Error::InvalidArgument)?;
    if found != level {
        explain!(msg, "indirect block of level {found} where level {level} belongs");
        return Err(Error::Corrupt);
    }
    let stored = le32(block, CSUM_OFF).ok_or(Error::InvalidArgument)?;
    let computed = checksum(block, ino).ok_or(Error::InvalidArgument)?;
    if stored != computed {
        explain!(msg, "indirect block checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})");
        return Err(Error::Corrupt);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let mut o = [0; 4];
        assert_eq!(path(0, &mut o).unwrap(), 1);
        assert_eq!(path(11, &mut o).unwrap(), 1);
        assert_eq!((path(12, &mut o).unwrap(), o), (2, [12, 0, 0, 0]));
        assert_eq!((path(12 + 1020, &mut o).unwrap(), o), (3, [13, 0, 0, 0]));
        assert_eq!((path(12 + 1020 + 1021, &mut o).unwrap(), o), (3, [13, 1, 1, 0]));
        let t = 12 + 1020 + 1020 * 1020;
        assert_eq!((path(t, &mut o).unwrap(), o), (4, [14, 0, 0, 0]));
        assert_eq!(path(MAX_FILE_BLOCKS, &mut o), Err(Error::FileTooBig));
        // 4 GiB files need the double indirect level: 1 Mi blocks fit.
        assert!(path((4u64 << 30) / 4096, &mut o).is_ok());
        assert_eq!((path(12 + 1019, &mut o).unwrap(), o), (2, [12, 1019, 0, 0]));
    }

    fn no_msg() -> crate::msg::MsgBuf<'static> {
        crate::msg::MsgBuf::new(&mut [])
    }

    #[test]
    fn sealed_block_checks_and_tracks_updates() {
        let mut b = vec![0xa5u8; BLOCK_SIZE];
        indirect_init(&mut b, 42, 2).unwrap();
        indirect_check(&b, 42, 2, &mut no_msg()).unwrap();
        for (i, idx) in [0u32, 1, 511, 1019].into_iter().enumerate() {
            indirect_set_sealed(&mut b, idx, 1000 + i as u32).unwrap();
            indirect_check(&b, 42, 2, &mut no_msg()).unwrap();
            assert_eq!(indirect_get(&b, idx), Some(1000 + i as u32));
        }
        indirect_set_sealed(&mut b, 511, 0).unwrap();
        indirect_check(&b, 42, 2, &mut no_msg()).unwrap();
        // The tail is not an entry.
        assert_eq!(indirect_get(&b, VEXFS_ADDR_PER_BLOCK), None);
        assert_eq!(indirect_set(&mut b, VEXFS_ADDR_PER_BLOCK, 1), None);
        assert_eq!(indirect_set_sealed(&mut b, VEXFS_ADDR_PER_BLOCK, 1), Err(Error::InvalidArgument));
    }

    #[test]
    fn damage_owner_and_level_are_refused() {
        let mut b = vec![0u8; BLOCK_SIZE];
        indirect_init(&mut b, 42, 1).unwrap();
        indirect_set_sealed(&mut b, 7, 5000).unwrap();
        // A pointer redirected without resealing (the damage fsck used to be
        // the only one to find: another file's block read as this file's).
        let mut r = b.clone();
        indirect_set(&mut r, 7, 6000).unwrap();
        let mut buf = [0u8; 128];
        let mut m = crate::msg::MsgBuf::new(&mut buf);
        assert_eq!(indirect_check(&r, 42, 1, &mut m), Err(Error::Corrupt));
        assert!(m.as_str().contains("checksum mismatch"), "{}", m.as_str());
        assert!(indirect_tail_ok(&r, 42, 1) && !indirect_tail_ok(&r, 42, 2) && !indirect_tail_ok(&r, 43, 1));
        // Another inode's block, a block of the wrong level, a data block.
        assert_eq!(indirect_check(&b, 43, 1, &mut no_msg()), Err(Error::Corrupt));
        assert_eq!(indirect_check(&b, 42, 2, &mut no_msg()), Err(Error::Corrupt));
        assert_eq!(indirect_check(&vec![0u8; BLOCK_SIZE], 42, 1, &mut no_msg()), Err(Error::Corrupt));
        assert_eq!(indirect_check(&b, 42, 4, &mut no_msg()), Err(Error::InvalidArgument));
        assert_eq!(indirect_check(&b[..100], 42, 1, &mut no_msg()), Err(Error::InvalidArgument));
        // Every single-bit flip anywhere in the block is caught.
        for bit in (0..BLOCK_SIZE * 8).step_by(97) {
            let mut f = b.clone();
            f[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(indirect_check(&f, 42, 1, &mut no_msg()), Err(Error::Corrupt), "bit {bit}");
        }
    }
}
