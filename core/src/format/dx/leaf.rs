//! Leaf blocks of an indexed directory: hashing their records into slots
//! (readdir order) and adding a name to the leaf a walk arrived at.
use super::*;
use crate::sort::sort_by_key;

/// The used records of `leaf`, hashed: fills `slots` (pos = readdir
/// position) and sorts them. Returns how many.
pub fn leaf_sort(p: &Path, leaf: &[u8], slots: &mut [Slot]) -> Result<usize> {
    let n = collect(p.hash_version, &p.seed, leaf, slots, false)?;
    let used = slots.get_mut(..n).ok_or(Error::InvalidArgument)?;
    for s in used.iter_mut() {
        s.pos = key_pos(s.pos);
    }
    sort_by_key(used, |s| (s.pos, s.rec_offset));
    Ok(n)
}

/// Hash every used record of `block` into `slots` (pos = key), skipping
/// "." and ".." when `skip_dots`. Unsorted.
pub(super) fn collect(hash_version: u32, seed: &[u32; 4], block: &[u8], slots: &mut [Slot], skip_dots: bool) -> Result<usize> {
    block_ok(block)?;
    let mut n = 0usize;
    let mut pos = 0usize;
    while let Some(e) = dir::next(block, pos)? {
        pos = e.next_offset as usize;
        let name = block
            .get(e.name_offset as usize..(e.name_offset + e.name_len) as usize)
            .ok_or(Error::Corrupt)?;
        if skip_dots && (name == b"." || name == b"..") {
            continue;
        }
        let s = slots.get_mut(n).ok_or(Error::ResourceExhausted)?;
        *s = Slot { pos: name_key(hash_version, seed, name), rec_offset: e.rec_offset, flags: 0 };
        n += 1;
    }
    Ok(n)
}

/// Add `name` to the leaf a walk for it arrived at.
pub fn leaf_add(p: &Path, leaf: &mut [u8], name: &[u8], ino: u32, file_type: u32) -> Result<u32> {
    block_ok(leaf)?;
    if p.nframes != p.levels || p.nframes == 0 || p.next_block == 0 {
        return Err(Error::InvalidArgument);
    }
    if is_node(leaf) {
        return Err(Error::Corrupt);
    }
    if name_key(p.hash_version, &p.seed, name) != p.key {
        return Err(Error::InvalidArgument);
    }
    dir::add(leaf, p.dir_ino, name, ino, file_type)
}
