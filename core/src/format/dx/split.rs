//! Growing an index: splitting a full leaf (and the index blocks above it)
//! and converting a full linear directory block to an indexed directory.
use super::*;
use crate::sort::sort_by_key;

/// New blocks a split of the leaf `p.next_block` needs.
pub fn split_need(p: &Path) -> Result<u32> {
    if p.nframes == 0 || p.nframes != p.levels || p.levels as usize > MAX_LEVELS {
        return Err(Error::InvalidArgument);
    }
    let mut need = 1u32;
    for i in (0..p.nframes as usize).rev() {
        let f = frame(p, i)?;
        let limit = if i == 0 { ROOT_LIMIT } else { NODE_LIMIT };
        if f.count < limit {
            break;
        }
        if i == 0 && p.levels >= VEXFS_DX_MAX_LEVELS {
            return Err(Error::NoSpace);
        }
        need += 1;
    }
    Ok(need)
}


/// A record being moved: header fields and name location in its block.
fn rec_at(block: &[u8], off: usize) -> Result<(u32, usize, usize, u8)> {
    // (ino, rec_len, name_len, file_type)
    Ok((le32(block, off)?, le16(block, off + 4)? as usize, byte(block, off + 6)? as usize, byte(block, off + 7)?))
}

/// Append-only writer of a fresh record block.
struct Packer {
    at: usize,
    last: Option<usize>,
}

impl Packer {
    fn new(block: &mut [u8]) -> Result<Packer> {
        block_ok(block)?;
        block.fill(0);
        Ok(Packer { at: 0, last: None })
    }

    fn push(&mut self, block: &mut [u8], ino: u32, file_type: u8, name: &[u8]) -> Result<()> {
        let need = dir::rec_len_for(name.len());
        if self.at + need > USABLE {
            return Err(Error::NoSpace);
        }
        put32(block, self.at, ino)?;
        put16(block, self.at + 4, need as u16)?;
        *block.get_mut(self.at + 6).ok_or(Error::InvalidArgument)? = name.len() as u8;
        *block.get_mut(self.at + 7).ok_or(Error::InvalidArgument)? = file_type;
        block.get_mut(self.at + HDR..self.at + HDR + name.len()).ok_or(Error::InvalidArgument)?.copy_from_slice(name);
        self.last = Some(self.at);
        self.at += need;
        Ok(())
    }

    /// Stretch the last record to the tail (or write one unused record).
    fn finish(self, block: &mut [u8], dir_ino: u32) -> Result<()> {
        match self.last {
            Some(l) => put16(block, l + 4, (USABLE - l) as u16)?,
            None => put16(block, 4, USABLE as u16)?,
        }
        dir::seal(block, dir_ino)
    }
}

/// Copy the record at `off` of `src` to the packer.
fn move_rec(src: &[u8], off: usize, pk: &mut Packer, dst: &mut [u8]) -> Result<()> {
    let (ino, _, name_len, ft) = rec_at(src, off)?;
    let name = src.get(off + HDR..off + HDR + name_len).ok_or(Error::Corrupt)?;
    pk.push(dst, ino, ft, name)
}

/// Compact `block` in place keeping the records whose slot (sorted by
/// rec_offset) has flags == 0.
fn compact(block: &mut [u8], dir_ino: u32, by_off: &[Slot]) -> Result<()> {
    let mut dst = 0usize;
    let mut last: Option<usize> = None;
    for s in by_off {
        if s.flags != 0 {
            continue;
        }
        let off = s.rec_offset as usize;
        let (_, _, name_len, _) = rec_at(block, off)?;
        let need = dir::rec_len_for(name_len);
        if off < dst || off + HDR + name_len > USABLE {
            return Err(Error::Corrupt);
        }
        // Moving down (dst <= off), front to back: later records are not
        // overwritten. Byte by byte with checked access (no panic path).
        for i in 0..HDR + name_len {
            let b = byte(block, off + i)?;
            put8(block, dst + i, b)?;
        }
        put16(block, dst + 4, need as u16)?;
        if let Some(tail) = block.get_mut(dst + HDR + name_len..dst + need) {
            tail.fill(0);
        }
        last = Some(dst);
        dst += need;
    }
    if let Some(z) = block.get_mut(dst..USABLE) {
        z.fill(0);
    }
    match last {
        Some(l) => put16(block, l + 4, (USABLE - l) as u16)?,
        None => {
            put32(block, 0, 0)?;
            put16(block, 4, USABLE as u16)?;
        }
    }
    dir::seal(block, dir_ino)
}

/// Where to split `slots` (sorted by key, the new name included as a slot
/// with flags = NEW): `(m, key, cont)`; slots[..m] stay, slots[m..] move.
/// Splits at half the bytes; `cont` when the key at the cut continues.
fn choose_split(slots: &[Slot], lens: impl Fn(&Slot) -> usize) -> Result<(usize, u64, bool)> {
    let n = slots.len();
    if n < 2 {
        return Err(Error::Corrupt);
    }
    let total: usize = slots.iter().map(&lens).sum();
    let mut acc = 0usize;
    let mut m = n - 1;
    for (i, s) in slots.iter().enumerate() {
        if acc * 2 >= total && i > 0 {
            m = i;
            break;
        }
        acc += lens(s);
    }
    let m = m.max(1).min(n - 1);
    let s = slots.get(m).ok_or(Error::Corrupt)?.pos;
    let below = slots.get(m - 1).ok_or(Error::Corrupt)?.pos;
    Ok((m, s, below == s))
}

const NEW: u32 = 2;
const MOVES: u32 = 1;

/// Buffers for `split_add` (see `struct vexfs_dx_split_ctx`).
pub struct SplitBufs<'a, 'b> {
    /// The walk's index blocks, root first (`p.nframes` of them).
    pub frames: &'a mut [&'b mut [u8]],
    /// The full leaf `p.next_block`.
    pub leaf: &'a mut [u8],
    /// `split_need` new blocks; `fresh[i]` becomes file block `fresh_first + i`.
    pub fresh: &'a mut [&'b mut [u8]],
    pub fresh_first: u32,
    /// Scratch, at least `LEAF_MAX + 1` slots.
    pub slots: &'a mut [Slot],
}

fn rec_need(block: &[u8], s: &Slot, new_len: usize) -> usize {
    if s.flags & NEW != 0 {
        return dir::rec_len_for(new_len);
    }
    let name_len = byte(block, s.rec_offset as usize + 6).unwrap_or(0) as usize;
    dir::rec_len_for(name_len)
}

/// Split the full leaf of a walk for `name`, grow the index above it as
/// needed, and add `name`. Returns the leaf's file block index.
pub fn split_add(p: &mut Path, b: &mut SplitBufs<'_, '_>, name: &[u8], ino: u32, file_type: u32) -> Result<u32> {
    dir::valid_name(name)?;
    if ino == 0 || file_type == VEXFS_FT_UNKNOWN || file_type > VEXFS_FT_MAX {
        return Err(Error::InvalidArgument);
    }
    let need = split_need(p)?;
    let nframes = p.nframes as usize;
    if b.fresh.len() != need as usize || b.frames.len() != nframes || b.fresh_first != p.dir_blocks {
        return Err(Error::InvalidArgument);
    }
    block_ok(b.leaf)?;
    for f in b.fresh.iter() {
        block_ok(f)?;
    }
    let key = name_key(p.hash_version, &p.seed, name);
    if key != p.key {
        return Err(Error::InvalidArgument);
    }
    // The frame blocks must still be what the walk saw.
    let mut no_msg = crate::msg::NoMsg;
    for i in 0..nframes {
        let f = *frame(p, i)?;
        let blk = b.frames.get(i).ok_or(Error::InvalidArgument)?;
        block_ok(blk)?;
        let (kind, count) = if i == 0 {
            (Kind::Root, root_info(blk, &mut no_msg)?.count)
        } else {
            (Kind::Node, node_info(blk, &mut no_msg)?.1)
        };
        let child = if i + 1 < nframes { frame(p, i + 1)?.block } else { p.next_block };
        if count != f.count || f.at >= count || entry(blk, kind, f.at)?.block != child {
            return Err(Error::InvalidArgument);
        }
    }
    if is_node(b.leaf) {
        return Err(Error::Corrupt);
    }
    let new_block_nr = b.fresh_first;
    let leaf_nr = p.next_block;

    // 1. Split the leaf by key (the new name counted as a slot).
    let n = collect(p.hash_version, &p.seed, b.leaf, b.slots, false)?;
    let slot = b.slots.get_mut(n).ok_or(Error::ResourceExhausted)?;
    *slot = Slot { pos: key, rec_offset: u32::MAX, flags: NEW };
    let all = b.slots.get_mut(..n + 1).ok_or(Error::ResourceExhausted)?;
    sort_by_key(all, |s| (s.pos, s.rec_offset));
    let leaf_ro: &[u8] = b.leaf;
    let (m, split_key, cont) = choose_split(all, |s| rec_need(leaf_ro, s, name.len()))?;
    let (lower, upper) = all.split_at_mut_checked(m).ok_or(Error::InvalidArgument)?;
    let new_in_upper = upper.iter().any(|s| s.flags & NEW != 0);
    {
        let fresh_leaf = b.fresh.get_mut(0).ok_or(Error::InvalidArgument)?;
        let mut pk = Packer::new(fresh_leaf)?;
        for s in upper.iter_mut() {
            if s.flags & NEW != 0 {
                pk.push(fresh_leaf, ino, file_type as u8, name)?;
            } else {
                move_rec(b.leaf, s.rec_offset as usize, &mut pk, fresh_leaf)?;
            }
            s.flags |= MOVES;
        }
        pk.finish(fresh_leaf, p.dir_ino)?;
    }
    let _ = lower;
    // Index changes next (they cannot fail on a validated path), then the
    // old leaf is compacted, so an error above leaves the leaf untouched.
    let mut pending = Entry { stored: split_key << 1 | cont as u64, block: new_block_nr };
    let mut fresh_i = 1usize;
    let mut level = nframes;
    let mut done = false;
    while level > 0 && !done {
        level -= 1;
        let f = *frame(p, level)?;
        let kind = if level == 0 { Kind::Root } else { Kind::Node };
        let blk: &mut [u8] = b.frames.get_mut(level).ok_or(Error::InvalidArgument)?;
        if f.count < kind.limit() {
            insert_entry(blk, kind, f.count, f.at + 1, pending)?;
            done = true;
        } else if level > 0 {
            // Split the node: upper half to a fresh node.
            let nr = b.fresh_first + fresh_i as u32;
            let fresh_blk: &mut [u8] = b.fresh.get_mut(fresh_i).ok_or(Error::InvalidArgument)?;
            fresh_i += 1;
            let height = p.levels - level as u32;
            pending = split_node(blk, fresh_blk, height, f.count, f.at + 1, pending, nr)?;
        } else {
            // Root full: its entries move to a fresh node one level down.
            let nr = b.fresh_first + fresh_i as u32;
            let fresh_blk: &mut [u8] = b.fresh.get_mut(fresh_i).ok_or(Error::InvalidArgument)?;
            fresh_i += 1;
            init_node(fresh_blk, p.levels)?;
            for j in 0..f.count {
                push_entry(fresh_blk, Kind::Node, entry(blk, Kind::Root, j)?)?;
            }
            insert_entry(fresh_blk, Kind::Node, f.count, f.at + 1, pending)?;
            set_entry(blk, Kind::Root, 0, Entry { stored: 0, block: nr })?;
            set_count(blk, Kind::Root, 1)?;
            p.levels += 1;
            set_root_levels(blk, p.levels)?;
            done = true;
        }
    }
    if !done || fresh_i != need as usize {
        return Err(Error::InvalidArgument);
    }
    // 2. Compact the old leaf to the lower half, add the name there if it
    // belongs there.
    let all = b.slots.get_mut(..n + 1).ok_or(Error::InvalidArgument)?;
    sort_by_key(all, |s| s.rec_offset);
    let old = all.get(..n).ok_or(Error::InvalidArgument)?; // the NEW slot sorts last (u32::MAX)
    compact(b.leaf, p.dir_ino, old)?;
    let target = if new_in_upper {
        new_block_nr
    } else {
        dir::add(b.leaf, p.dir_ino, name, ino, file_type)?;
        leaf_nr
    };
    for f in b.frames.iter_mut() {
        dir::seal(f, p.dir_ino)?;
    }
    for f in b.fresh.iter_mut().skip(1) {
        dir::seal(f, p.dir_ino)?;
    }
    p.dir_blocks += need;
    p.nframes = 0; // the walk is stale
    Ok(target)
}

/// Insert `e` at position `at` of an index block holding `count` entries
/// (room checked by the caller).
fn insert_entry(blk: &mut [u8], kind: Kind, count: u32, at: u32, e: Entry) -> Result<()> {
    if count >= kind.limit() || at > count {
        return Err(Error::InvalidArgument);
    }
    let mut j = count;
    while j > at {
        let moved = entry(blk, kind, j - 1)?;
        set_entry(blk, kind, j, moved)?;
        j -= 1;
    }
    set_entry(blk, kind, at, e)?;
    set_count(blk, kind, count + 1)
}

/// Split a full node (`count` entries) while inserting `e` at `at`: the
/// upper half goes to `fresh` (file block `fresh_nr`). Returns the entry
/// for the parent.
fn split_node(blk: &mut [u8], fresh: &mut [u8], height: u32, count: u32, at: u32, e: Entry, fresh_nr: u32) -> Result<Entry> {
    let total = count + 1;
    let keep = total / 2;
    // Virtual entry j of the combined sequence.
    let virt = |blk: &[u8], j: u32| -> Result<Entry> {
        if j < at {
            entry(blk, Kind::Node, j)
        } else if j == at {
            Ok(e)
        } else {
            entry(blk, Kind::Node, j - 1)
        }
    };
    init_node(fresh, height)?;
    for j in keep..total {
        push_entry(fresh, Kind::Node, virt(blk, j)?)?;
    }
    if at < keep {
        // Shift entries at..keep-1 up by one, then place e.
        let mut j = keep - 1;
        while j > at {
            let moved = entry(blk, Kind::Node, j - 1)?;
            set_entry(blk, Kind::Node, j, moved)?;
            j -= 1;
        }
        set_entry(blk, Kind::Node, at, e)?;
    }
    set_count(blk, Kind::Node, keep)?;
    Ok(Entry { stored: entry(fresh, Kind::Node, 0)?.stored, block: fresh_nr })
}

/// Convert a full one-block linear directory to an indexed one and add
/// `name` (see the C header). Returns 1 or 2, the leaf holding `name`.
#[allow(clippy::too_many_arguments)]
pub fn convert_add(
    block0: &mut [u8],
    leaf1: &mut [u8],
    leaf2: &mut [u8],
    dir_ino: u32,
    hash_version: u32,
    seed: &[u32; 4],
    name: &[u8],
    ino: u32,
    file_type: u32,
    slots: &mut [Slot],
) -> Result<u32> {
    dir::valid_name(name)?;
    block_ok(block0)?;
    if ino == 0 || file_type == VEXFS_FT_UNKNOWN || file_type > VEXFS_FT_MAX || !hash_version_ok(hash_version) {
        return Err(Error::InvalidArgument);
    }
    if dir::find(block0, name)?.is_some() {
        return Err(Error::Exists);
    }
    let dot = dir::find(block0, b".")?.ok_or(Error::Corrupt)?;
    let dotdot = dir::find(block0, b"..")?.ok_or(Error::Corrupt)?;
    let key = name_key(hash_version, seed, name);
    let n = collect(hash_version, seed, block0, slots, true)?;
    let slot = slots.get_mut(n).ok_or(Error::ResourceExhausted)?;
    *slot = Slot { pos: key, rec_offset: u32::MAX, flags: NEW };
    let all = slots.get_mut(..n + 1).ok_or(Error::ResourceExhausted)?;
    sort_by_key(all, |s| (s.pos, s.rec_offset));
    let b0: &[u8] = block0;
    let (m, split_key, cont) = choose_split(all, |s| rec_need(b0, s, name.len()))?;
    let mut target = 0u32;
    for (half, leaf) in [(0usize, &mut *leaf1), (1, &mut *leaf2)] {
        let part = if half == 0 { all.get(..m) } else { all.get(m..) }.ok_or(Error::InvalidArgument)?;
        let mut pk = Packer::new(leaf)?;
        for s in part {
            if s.flags & NEW != 0 {
                pk.push(leaf, ino, file_type as u8, name)?;
                target = half as u32 + 1;
            } else {
                move_rec(block0, s.rec_offset as usize, &mut pk, leaf)?;
            }
        }
        pk.finish(leaf, dir_ino)?;
    }
    init_root(block0, dot.ino, dotdot.ino, hash_version, seed, 1)?;
    push_entry(block0, Kind::Root, Entry { stored: 0, block: 1 })?;
    push_entry(block0, Kind::Root, Entry { stored: split_key << 1 | cont as u64, block: 2 })?;
    dir::seal(block0, dir_ino)?;
    Ok(target)
}
