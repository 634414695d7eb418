//! Names blocks (`struct vexfs_names_block`, RO_COMPAT_LINK_DIRS): the
//! directories that hold the names of one hard-linked inode, as
//! (directory, count) entries in ascending directory order, sealed with a
//! CRC-32C seeded by the owner's inode number. The rules are in
//! `shim/vexfs_format.h`; `check` enforces those a block can show on its own
//! (fsck also compares the entries with the directories).

use core::fmt::Write;
use core::mem::offset_of;

use super::checksum::crc32c_skipping;
use super::defs::*;
use crate::bytes::{le32, put32};
use crate::error::{Error, Result};
use crate::explain;

const _: () = assert!(core::mem::size_of::<vexfs_names_block>() == VEXFS_BLOCK_SIZE as usize);
const _: () = assert!(core::mem::size_of::<vexfs_names_entry>() == 8);

/// Most directories one names block lists.
pub const NAMES_MAX: usize = VEXFS_NAMES_MAX as usize;

const MAGIC_OFF: usize = offset_of!(vexfs_names_block, n_magic);
const INO_OFF: usize = offset_of!(vexfs_names_block, n_ino);
const COUNT_OFF: usize = offset_of!(vexfs_names_block, n_count);
const CSUM_OFF: usize = offset_of!(vexfs_names_block, n_checksum);
const ENTRIES_OFF: usize = offset_of!(vexfs_names_block, n_entries);

fn entry_off(i: usize) -> usize {
    ENTRIES_OFF + 8 * i
}

/// Entry `i` as (directory, names), read without checks (None past the block).
pub fn entry(block: &[u8], i: usize) -> Option<(u32, u32)> {
    if i >= NAMES_MAX {
        return None;
    }
    Some((le32(block, entry_off(i))?, le32(block, entry_off(i) + 4)?))
}

/// Entries in use (n_count), read without checks.
pub fn count(block: &[u8]) -> u32 {
    le32(block, COUNT_OFF).unwrap_or(0)
}

fn set_entry(block: &mut [u8], i: usize, dir: u32, names: u32) -> Result<()> {
    put32(block, entry_off(i), dir).ok_or(Error::InvalidArgument)?;
    put32(block, entry_off(i) + 4, names).ok_or(Error::InvalidArgument)
}

/// Write magic, owner and checksum over the block as it is.
pub fn seal(block: &mut [u8], ino: u32) -> Result<()> {
    if block.len() != BLOCK_SIZE || ino == 0 {
        return Err(Error::InvalidArgument);
    }
    put32(block, MAGIC_OFF, VEXFS_NAMES_MAGIC).ok_or(Error::InvalidArgument)?;
    put32(block, INO_OFF, ino).ok_or(Error::InvalidArgument)?;
    let sum = crc32c_skipping(&ino.to_le_bytes(), block, CSUM_OFF).ok_or(Error::InvalidArgument)?;
    put32(block, CSUM_OFF, sum).ok_or(Error::InvalidArgument)
}

/// Format a names block of `ino` listing `dirs` (each entry one name; the
/// same directory may appear more than once), sealed.
pub fn init(block: &mut [u8], ino: u32, dirs: &[u32]) -> Result<()> {
    if block.len() != BLOCK_SIZE {
        return Err(Error::InvalidArgument);
    }
    block.fill(0);
    for &d in dirs {
        add_entry(block, d)?;
    }
    seal(block, ino)
}

/// One more name of the owner in `dir` (no seal).
fn add_entry(block: &mut [u8], dir: u32) -> Result<()> {
    if dir == 0 {
        return Err(Error::InvalidArgument);
    }
    let n = (count(block) as usize).min(NAMES_MAX);
    let mut i = 0;
    while i < n {
        let (d, c) = entry(block, i).ok_or(Error::Corrupt)?;
        if d == dir {
            let c = c.checked_add(1).ok_or(Error::NoSpace)?;
            return set_entry(block, i, d, c);
        }
        if d > dir {
            break;
        }
        i += 1;
    }
    if n == NAMES_MAX {
        return Err(Error::NoSpace);
    }
    let mut j = n;
    while j > i {
        let (d, c) = entry(block, j - 1).ok_or(Error::Corrupt)?;
        set_entry(block, j, d, c)?;
        j -= 1;
    }
    set_entry(block, i, dir, 1)?;
    put32(block, COUNT_OFF, n as u32 + 1).ok_or(Error::InvalidArgument)
}

/// One name of the owner was added in `dir`: count it and reseal.
/// `NoSpace` when `dir` would be directory number `NAMES_MAX + 1`.
pub fn add(block: &mut [u8], ino: u32, dir: u32) -> Result<()> {
    add_entry(block, dir)?;
    seal(block, ino)
}

/// One name of the owner in `dir` is gone: uncount it and reseal.
/// `NotFound` when the block lists no name in `dir`.
pub fn remove(block: &mut [u8], ino: u32, dir: u32) -> Result<()> {
    let n = (count(block) as usize).min(NAMES_MAX);
    let i = (0..n).find(|&i| entry(block, i).is_some_and(|(d, _)| d == dir)).ok_or(Error::NotFound)?;
    let (_, c) = entry(block, i).ok_or(Error::Corrupt)?;
    if c > 1 {
        set_entry(block, i, dir, c - 1)?;
    } else {
        for j in i..n - 1 {
            let (d, c) = entry(block, j + 1).ok_or(Error::Corrupt)?;
            set_entry(block, j, d, c)?;
        }
        set_entry(block, n - 1, 0, 0)?;
        put32(block, COUNT_OFF, n as u32 - 1).ok_or(Error::InvalidArgument)?;
    }
    seal(block, ino)
}

/// Check `block` as the names block of `ino`: magic, owner, checksum, count,
/// entries ascending with non-zero directory (at most `max_dir`) and count,
/// unused entries zero; when `links` is non-zero, counts summing to it.
/// Returns the number of entries.
pub fn check(block: &[u8], ino: u32, links: u32, max_dir: u32, msg: &mut impl Write) -> Result<u32> {
    if block.len() != BLOCK_SIZE {
        explain!(msg, "names block buffer of {} bytes", block.len());
        return Err(Error::InvalidArgument);
    }
    let magic = le32(block, MAGIC_OFF).ok_or(Error::InvalidArgument)?;
    if magic != VEXFS_NAMES_MAGIC {
        explain!(msg, "inode {ino}: names block magic 0x{magic:08x}");
        return Err(Error::Corrupt);
    }
    let owner = le32(block, INO_OFF).ok_or(Error::InvalidArgument)?;
    if owner != ino {
        explain!(msg, "inode {ino}: names block belongs to inode {owner}");
        return Err(Error::Corrupt);
    }
    let stored = le32(block, CSUM_OFF).ok_or(Error::InvalidArgument)?;
    let computed = crc32c_skipping(&ino.to_le_bytes(), block, CSUM_OFF).ok_or(Error::InvalidArgument)?;
    if stored != computed {
        explain!(msg, "inode {ino}: names block checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})");
        return Err(Error::Corrupt);
    }
    let n = count(block);
    if n == 0 || n as usize > NAMES_MAX {
        explain!(msg, "inode {ino}: names block lists {n} directories (1..={NAMES_MAX})");
        return Err(Error::Corrupt);
    }
    let mut prev = 0u32;
    let mut sum = 0u64;
    for i in 0..NAMES_MAX {
        let (d, c) = entry(block, i).ok_or(Error::InvalidArgument)?;
        if i >= n as usize {
            if d != 0 || c != 0 {
                explain!(msg, "inode {ino}: names block entry {i} past the count is not zero");
                return Err(Error::Corrupt);
            }
            continue;
        }
        if d <= prev || d > max_dir || c == 0 {
            explain!(msg, "inode {ino}: names block entry {i} (directory {d}, {c} names) out of order or range");
            return Err(Error::Corrupt);
        }
        prev = d;
        sum += c as u64;
    }
    if links != 0 && sum != links as u64 {
        explain!(msg, "inode {ino}: names block counts {sum} names, the inode {links} links");
        return Err(Error::Corrupt);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::MsgBuf;

    fn blk() -> std::vec::Vec<u8> {
        std::vec![0u8; BLOCK_SIZE]
    }

    #[test]
    fn add_remove_keep_order_and_seal() {
        let mut b = blk();
        init(&mut b, 42, &[30, 10]).unwrap();
        let mut m = [0u8; 200];
        assert_eq!(check(&b, 42, 2, 100, &mut MsgBuf::new(&mut m)).unwrap(), 2);
        assert_eq!(entry(&b, 0), Some((10, 1)));
        assert_eq!(entry(&b, 1), Some((30, 1)));
        add(&mut b, 42, 20).unwrap();
        add(&mut b, 42, 20).unwrap();
        assert_eq!(entry(&b, 1), Some((20, 2)));
        assert_eq!(check(&b, 42, 4, 100, &mut MsgBuf::new(&mut m)).unwrap(), 3);
        remove(&mut b, 42, 10).unwrap();
        assert_eq!(entry(&b, 0), Some((20, 2)));
        assert_eq!(entry(&b, 2), Some((0, 0)));
        assert_eq!(remove(&mut b, 42, 10), Err(Error::NotFound));
        assert_eq!(check(&b, 42, 3, 100, &mut MsgBuf::new(&mut m)).unwrap(), 2);
        // Wrong owner, wrong sum, damaged byte.
        assert!(check(&b, 43, 0, 100, &mut MsgBuf::new(&mut m)).is_err());
        assert!(check(&b, 42, 4, 100, &mut MsgBuf::new(&mut m)).is_err());
        b[entry_off(0)] ^= 1;
        assert!(check(&b, 42, 0, 100, &mut MsgBuf::new(&mut m)).is_err());
    }

    #[test]
    fn full_block_refuses_one_more_directory() {
        let mut b = blk();
        let dirs: std::vec::Vec<u32> = (1..=NAMES_MAX as u32).collect();
        init(&mut b, 7, &dirs).unwrap();
        assert_eq!(add(&mut b, 7, NAMES_MAX as u32 + 1), Err(Error::NoSpace));
        add(&mut b, 7, 5).unwrap(); // another name in a listed directory fits
        let mut m = [0u8; 200];
        assert_eq!(check(&b, 7, NAMES_MAX as u32 + 1, 1000, &mut MsgBuf::new(&mut m)).unwrap(), NAMES_MAX as u32);
    }
}
