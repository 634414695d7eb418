//! Directory blocks: variable-length records tiling the block up to a
//! checksummed tail (see `struct vexfs_dirent` in the format header).
//! Every walk is bounded by the block and advances by at least one header,
//! so a corrupt block ends in `Corrupt`, never in an endless loop.
use core::fmt::Write;

use super::checksum::Crc32c;
use super::defs::*;
use crate::bytes::{le16, le32, put16, put32};
use crate::error::{Error, Result};
use crate::explain;
use crate::ffi::abi::vexfs_dirent_view;

/// One record as found in a block.
pub type DirentView = vexfs_dirent_view;

const HDR: usize = VEXFS_DIRENT_HEADER_SIZE as usize;
const USABLE: usize = VEXFS_DIR_USABLE as usize;

/// Bytes a record with a name of `name_len` bytes needs (4-byte aligned).
pub const fn rec_len_for(name_len: usize) -> usize {
    (HDR + name_len + 3) & !3
}

/// A record header at `off`.
#[derive(Clone, Copy, Debug)]
struct Rec {
    ino: u32,
    rec_len: usize,
    name_len: usize,
    file_type: u32,
}

fn read_rec(b: &[u8], off: usize) -> Option<Rec> {
    Some(Rec {
        ino: le32(b, off)?,
        rec_len: le16(b, off + 4)? as usize,
        name_len: *b.get(off + 6)? as usize,
        file_type: *b.get(off + 7)? as u32,
    })
}

fn write_rec(b: &mut [u8], off: usize, r: &Rec) -> Option<()> {
    put32(b, off, r.ino)?;
    put16(b, off + 4, u16::try_from(r.rec_len).ok()?)?;
    *b.get_mut(off + 6)? = u8::try_from(r.name_len).ok()?;
    *b.get_mut(off + 7)? = u8::try_from(r.file_type).ok()?;
    Some(())
}

fn tail_checksum(block: &[u8], dir_ino: u32) -> Option<u32> {
    let mut c = Crc32c::new();
    c.update(&dir_ino.to_le_bytes());
    c.update(block.get(..USABLE)?);
    Some(c.finish())
}

/// Recompute the tail (magic and checksum) after changing a block.
pub fn seal(block: &mut [u8], dir_ino: u32) -> Result<()> {
    if block.len() != BLOCK_SIZE {
        return Err(Error::InvalidArgument);
    }
    let sum = tail_checksum(block, dir_ino).ok_or(Error::InvalidArgument)?;
    put32(block, USABLE, VEXFS_DIR_TAIL_MAGIC).ok_or(Error::InvalidArgument)?;
    put32(block, USABLE + 4, sum).ok_or(Error::InvalidArgument)?;
    Ok(())
}

/// Format an empty directory block: one unused record spanning it.
pub fn init(block: &mut [u8], dir_ino: u32) -> Result<()> {
    if block.len() != BLOCK_SIZE {
        return Err(Error::InvalidArgument);
    }
    block.fill(0);
    write_rec(block, 0, &Rec { ino: 0, rec_len: USABLE, name_len: 0, file_type: 0 })
        .ok_or(Error::InvalidArgument)?;
    seal(block, dir_ino)
}

/// Check a whole block of directory `dir_ino`: tail, checksum, tiling,
/// names, types and inode numbers.
pub fn check_block(block: &[u8], dir_ino: u32, inodes_count: u32, msg: &mut impl Write) -> Result<()> {
    if block.len() != BLOCK_SIZE {
        explain!(msg, "directory {dir_ino}: block buffer of {} bytes", block.len());
        return Err(Error::InvalidArgument);
    }
    let magic = le32(block, USABLE).ok_or(Error::InvalidArgument)?;
    if magic != VEXFS_DIR_TAIL_MAGIC {
        explain!(msg, "directory {dir_ino}: bad block tail magic 0x{magic:08x}");
        return Err(Error::Corrupt);
    }
    let stored = le32(block, USABLE + 4).ok_or(Error::InvalidArgument)?;
    let computed = tail_checksum(block, dir_ino).ok_or(Error::InvalidArgument)?;
    if stored != computed {
        explain!(msg, "directory {dir_ino}: block checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})");
        return Err(Error::Corrupt);
    }
    let mut off = 0usize;
    while off < USABLE {
        let r = read_rec(block, off).ok_or(Error::Corrupt)?;
        if r.rec_len < HDR || r.rec_len % 4 != 0 || off + r.rec_len > USABLE {
            explain!(msg, "directory {dir_ino}: record at {off} has bad length {}", r.rec_len);
            return Err(Error::Corrupt);
        }
        if r.ino != 0 {
            if r.name_len == 0 || rec_len_for(r.name_len) > r.rec_len {
                explain!(msg, "directory {dir_ino}: record at {off} has name length {} in {} bytes", r.name_len, r.rec_len);
                return Err(Error::Corrupt);
            }
            if r.ino > inodes_count {
                explain!(msg, "directory {dir_ino}: entry at {off} points at inode {} beyond {inodes_count}", r.ino);
                return Err(Error::Corrupt);
            }
            if r.file_type == VEXFS_FT_UNKNOWN || r.file_type > VEXFS_FT_MAX {
                explain!(msg, "directory {dir_ino}: entry at {off} has file type {}", r.file_type);
                return Err(Error::Corrupt);
            }
            let name = block.get(off + HDR..off + HDR + r.name_len).ok_or(Error::Corrupt)?;
            if name.iter().any(|&c| c == 0 || c == b'/') {
                explain!(msg, "directory {dir_ino}: entry at {off} has a name containing NUL or '/'");
                return Err(Error::Corrupt);
            }
        }
        off += r.rec_len;
    }
    Ok(())
}

/// The next used record at or after `pos` in a checked block: `Ok(Some)`,
/// `Ok(None)` at the end, `Err(Corrupt)` on a record that does not parse.
pub fn next(block: &[u8], pos: usize) -> Result<Option<DirentView>> {
    let mut off = pos;
    while off < USABLE {
        let r = read_rec(block, off).ok_or(Error::Corrupt)?;
        if r.rec_len < HDR || r.rec_len % 4 != 0 || off + r.rec_len > USABLE {
            return Err(Error::Corrupt);
        }
        if r.ino != 0 {
            if r.name_len == 0 || rec_len_for(r.name_len) > r.rec_len {
                return Err(Error::Corrupt);
            }
            return Ok(Some(DirentView {
                ino: r.ino,
                rec_offset: off as u32,
                name_offset: (off + HDR) as u32,
                name_len: r.name_len as u32,
                file_type: r.file_type,
                next_offset: (off + r.rec_len) as u32,
            }));
        }
        off += r.rec_len;
    }
    Ok(None)
}

/// Find `name` in a checked block.
pub fn find(block: &[u8], name: &[u8]) -> Result<Option<DirentView>> {
    let mut pos = 0usize;
    while let Some(e) = next(block, pos)? {
        let n = block
            .get(e.name_offset as usize..(e.name_offset + e.name_len) as usize)
            .ok_or(Error::Corrupt)?;
        if n == name {
            return Ok(Some(e));
        }
        pos = e.next_offset as usize;
    }
    Ok(None)
}

/// Check a name for use in a directory entry.
pub fn valid_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name.iter().any(|&c| c == 0 || c == b'/') {
        return Err(Error::InvalidArgument);
    }
    if name.len() > VEXFS_NAME_LEN as usize {
        return Err(Error::NameTooLong);
    }
    Ok(())
}

/// Add an entry to a checked block if it has room: reuse an unused record
/// or split the slack off a used one. `Err(NoSpace)` when it does not fit.
/// Returns the record's offset.
pub fn add(block: &mut [u8], dir_ino: u32, name: &[u8], ino: u32, file_type: u32) -> Result<u32> {
    valid_name(name)?;
    if ino == 0 || file_type == VEXFS_FT_UNKNOWN || file_type > VEXFS_FT_MAX {
        return Err(Error::InvalidArgument);
    }
    let need = rec_len_for(name.len());
    let mut off = 0usize;
    while off < USABLE {
        let r = read_rec(block, off).ok_or(Error::Corrupt)?;
        if r.rec_len < HDR || r.rec_len % 4 != 0 || off + r.rec_len > USABLE {
            return Err(Error::Corrupt);
        }
        let used = if r.ino == 0 { 0 } else { rec_len_for(r.name_len) };
        if r.rec_len >= used + need {
            let (at, len) = if r.ino == 0 {
                (off, r.rec_len)
            } else {
                // Shrink the live record to its size; the new one takes the slack.
                let shrunk = Rec { rec_len: used, ..r };
                write_rec(block, off, &shrunk).ok_or(Error::Corrupt)?;
                (off + used, r.rec_len - used)
            };
            let rec = Rec { ino, rec_len: len, name_len: name.len(), file_type };
            write_rec(block, at, &rec).ok_or(Error::Corrupt)?;
            let dst = block.get_mut(at + HDR..at + HDR + name.len()).ok_or(Error::Corrupt)?;
            dst.copy_from_slice(name);
            seal(block, dir_ino)?;
            return Ok(at as u32);
        }
        off += r.rec_len;
    }
    Err(Error::NoSpace)
}

/// Remove the record at `rec_offset` (as returned by `find`/`next`): merge
/// it into the previous record, or mark it unused when it is the first.
pub fn remove(block: &mut [u8], dir_ino: u32, rec_offset: u32) -> Result<()> {
    let target = rec_offset as usize;
    let mut prev: Option<usize> = None;
    let mut off = 0usize;
    while off < USABLE {
        let r = read_rec(block, off).ok_or(Error::Corrupt)?;
        if r.rec_len < HDR || r.rec_len % 4 != 0 || off + r.rec_len > USABLE {
            return Err(Error::Corrupt);
        }
        if off == target {
            if r.ino == 0 {
                return Err(Error::NotFound);
            }
            match prev {
                Some(p) => {
                    let pr = read_rec(block, p).ok_or(Error::Corrupt)?;
                    let merged = Rec { rec_len: pr.rec_len + r.rec_len, ..pr };
                    write_rec(block, p, &merged).ok_or(Error::Corrupt)?;
                }
                None => {
                    let cleared = Rec { ino: 0, name_len: 0, file_type: 0, ..r };
                    write_rec(block, off, &cleared).ok_or(Error::Corrupt)?;
                }
            }
            return seal(block, dir_ino);
        }
        prev = Some(off);
        off += r.rec_len;
    }
    Err(Error::NotFound)
}

/// Update the inode number and type of the record at `rec_offset` (rename
/// onto an existing name, or `..` moving to a new parent).
pub fn retarget(block: &mut [u8], dir_ino: u32, rec_offset: u32, ino: u32, file_type: u32) -> Result<()> {
    let off = rec_offset as usize;
    let r = read_rec(block, off).ok_or(Error::InvalidArgument)?;
    if r.ino == 0 || ino == 0 || file_type == VEXFS_FT_UNKNOWN || file_type > VEXFS_FT_MAX {
        return Err(Error::InvalidArgument);
    }
    write_rec(block, off, &Rec { ino, file_type, ..r }).ok_or(Error::Corrupt)?;
    seal(block, dir_ino)
}

/// True when the block holds no entries other than `.` and `..`.
pub fn is_empty(block: &[u8]) -> Result<bool> {
    let mut pos = 0usize;
    while let Some(e) = next(block, pos)? {
        let n = block
            .get(e.name_offset as usize..(e.name_offset + e.name_len) as usize)
            .ok_or(Error::Corrupt)?;
        if n != b"." && n != b".." {
            return Ok(false);
        }
        pos = e.next_offset as usize;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::NoMsg;

    #[test]
    fn add_find_remove_roundtrip() {
        let mut b = vec![0u8; BLOCK_SIZE];
        init(&mut b, 2).unwrap();
        check_block(&b, 2, 100, &mut NoMsg).unwrap();
        add(&mut b, 2, b".", 2, VEXFS_FT_DIR).unwrap();
        add(&mut b, 2, b"..", 2, VEXFS_FT_DIR).unwrap();
        let mut n = 0;
        for i in 0..1000u32 {
            let name = format!("file-{i:04}");
            match add(&mut b, 2, name.as_bytes(), 11 + (i % 80), VEXFS_FT_REG_FILE) {
                Ok(_) => n += 1,
                Err(Error::NoSpace) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(n > 200, "only {n} entries fit");
        check_block(&b, 2, 100, &mut NoMsg).unwrap();
        let e = find(&b, b"file-0007").unwrap().unwrap();
        assert_eq!(e.ino, 18);
        remove(&mut b, 2, e.rec_offset).unwrap();
        assert!(find(&b, b"file-0007").unwrap().is_none());
        check_block(&b, 2, 100, &mut NoMsg).unwrap();
        // The freed room is reused.
        add(&mut b, 2, b"again", 50, VEXFS_FT_REG_FILE).unwrap();
        assert!(!is_empty(&b).unwrap());
        // A checksum from another directory does not verify.
        assert_eq!(check_block(&b, 3, 100, &mut NoMsg), Err(Error::Corrupt));
    }

    #[test]
    fn rejects_garbage_without_looping() {
        let mut b = vec![0u8; BLOCK_SIZE];
        init(&mut b, 2).unwrap();
        b[4] = 0; // rec_len 0 would loop forever if trusted
        b[5] = 0;
        seal(&mut b, 2).unwrap();
        assert_eq!(check_block(&b, 2, 100, &mut NoMsg), Err(Error::Corrupt));
        assert!(matches!(next(&b, 0), Err(Error::Corrupt)));
    }
}
