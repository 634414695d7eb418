//! Walks from the root to a leaf over the caller's `Path`: the kernel reads
//! the block a step asks for and passes it in, one level per call.
use core::fmt::Write;

use super::*;

// What the next `descend` does with the block it is given.
const MODE_SEARCH: u32 = 0; // binary search for p.key
const MODE_FIRST: u32 = 1; // take entry 0 (entering the next subtree)
const MODE_ADVANCE: u32 = 2; // the deepest frame re-read: move to entry at + 1
const MODE_ADVANCE_CONT: u32 = 3; // same, only when it continues p.key

pub(super) fn frame(p: &Path, i: usize) -> Result<&vexfs_dx_frame> {
    p.frames.get(i).ok_or(Error::InvalidArgument)
}

/// Follow entry `at` of the index block just decoded (already pushed as
/// frame `p.nframes - 1`).
fn follow(p: &mut Path, block: &[u8], kind: Kind, at: u32, count: u32) -> Result<i32> {
    let e = entry(block, kind, at)?;
    let next_cont = if at + 1 < count {
        let n = entry(block, kind, at + 1)?;
        (n.cont() && n.key() == p.key) as u32
    } else {
        0
    };
    let i = p.nframes.checked_sub(1).ok_or(Error::InvalidArgument)? as usize;
    let f = p.frames.get_mut(i).ok_or(Error::InvalidArgument)?;
    f.at = at;
    f.count = count;
    f.next_cont = next_cont;
    p.child_key = e.stored;
    p.next_block = e.block;
    if p.nframes == p.levels {
        Ok(LEAF)
    } else {
        Ok(READ)
    }
}

fn probe_root(p: &mut Path, root: &[u8], dir_ino: u32, dir_blocks: u32, dir_depth: u32, msg: &mut impl Write) -> Result<RootInfo> {
    let ri = root_info(root, msg)?;
    if ri.levels != dir_depth {
        explain!(msg, "index root: {} levels but the inode says depth {dir_depth}", ri.levels);
        return Err(Error::Corrupt);
    }
    check_entries(root, Kind::Root, ri.count, 0, dir_blocks, msg)?;
    *p = Path::default();
    p.seed = ri.seed;
    p.hash_version = ri.hash_version;
    p.dir_ino = dir_ino;
    p.dir_blocks = dir_blocks;
    p.levels = ri.levels;
    Ok(ri)
}

fn start(p: &mut Path, root: &[u8], count: u32) -> Result<i32> {
    let at = search(root, Kind::Root, count, p.key << 1)?;
    p.nframes = 1;
    p.frames[0] = vexfs_dx_frame { block: 0, ..Default::default() };
    p.mode = MODE_SEARCH;
    follow(p, root, Kind::Root, at, count)
}

/// Start a walk for `name`: `LEAF` or `READ` (see the C header).
pub fn probe_name(
    p: &mut Path,
    root: &[u8],
    dir_ino: u32,
    dir_blocks: u32,
    dir_depth: u32,
    name: &[u8],
    msg: &mut impl Write,
) -> Result<i32> {
    dir::valid_name(name)?;
    let ri = probe_root(p, root, dir_ino, dir_blocks, dir_depth, msg)?;
    p.key = name_key(ri.hash_version, &ri.seed, name);
    start(p, root, ri.count)
}

/// Start a walk at readdir position `pos`: `LEAF`, `READ` or `END`.
pub fn probe_pos(
    p: &mut Path,
    root: &[u8],
    dir_ino: u32,
    dir_blocks: u32,
    dir_depth: u32,
    pos: u64,
    msg: &mut impl Write,
) -> Result<i32> {
    let ri = probe_root(p, root, dir_ino, dir_blocks, dir_depth, msg)?;
    p.key = if pos < BLOCK_SIZE as u64 {
        0
    } else if !(VEXFS_DX_POS_BASE..VEXFS_DX_POS_EOF).contains(&pos) {
        return Ok(END);
    } else {
        (pos - VEXFS_DX_POS_BASE).min(MAX_KEY)
    };
    start(p, root, ri.count)
}

/// Consume the index block `p.next_block`.
pub fn descend(p: &mut Path, node: &[u8], msg: &mut impl Write) -> Result<i32> {
    block_ok(node)?;
    match p.mode {
        MODE_SEARCH | MODE_FIRST => {
            let depth = p.nframes as usize;
            if depth == 0 || depth >= p.levels as usize || depth >= MAX_LEVELS {
                return Err(Error::InvalidArgument);
            }
            let (height, count) = node_info(node, msg)?;
            if height != p.levels - p.nframes {
                explain!(msg, "index node {}: height {height}, expected {}", p.next_block, p.levels - p.nframes);
                return Err(Error::Corrupt);
            }
            check_entries(node, Kind::Node, count, p.child_key, p.dir_blocks, msg).inspect_err(|_| {
                explain!(msg, " (index node {})", p.next_block);
            })?;
            let at = if p.mode == MODE_SEARCH { search(node, Kind::Node, count, p.key << 1)? } else { 0 };
            let f = p.frames.get_mut(depth).ok_or(Error::InvalidArgument)?;
            *f = vexfs_dx_frame { block: p.next_block, ..Default::default() };
            p.nframes += 1;
            follow(p, node, Kind::Node, at, count)
        }
        MODE_ADVANCE | MODE_ADVANCE_CONT => {
            let i = p.nframes.checked_sub(1).ok_or(Error::InvalidArgument)? as usize;
            let f = *frame(p, i)?;
            if f.block != p.next_block {
                return Err(Error::InvalidArgument);
            }
            let (kind, count) = if i == 0 {
                let ri = root_info(node, msg)?;
                check_entries(node, Kind::Root, ri.count, 0, p.dir_blocks, msg)?;
                (Kind::Root, ri.count)
            } else {
                let (height, count) = node_info(node, msg)?;
                if height != p.levels - i as u32 {
                    explain!(msg, "index node {}: height {height}, expected {}", f.block, p.levels - i as u32);
                    return Err(Error::Corrupt);
                }
                let first = entry(node, Kind::Node, 0)?.stored;
                check_entries(node, Kind::Node, count, first, p.dir_blocks, msg)?;
                (Kind::Node, count)
            };
            let at = f.at + 1;
            if at >= count {
                return Ok(END);
            }
            if p.mode == MODE_ADVANCE_CONT {
                let e = entry(node, kind, at)?;
                if !(e.cont() && e.key() == p.key) {
                    return Ok(END);
                }
            }
            p.mode = MODE_FIRST;
            follow(p, node, kind, at, count)
        }
        _ => Err(Error::InvalidArgument),
    }
}

/// Move to the leaf after the current one (see the C header).
pub fn next_leaf(p: &mut Path, all: bool) -> Result<i32> {
    if p.nframes == 0 || p.nframes > p.levels || p.levels as usize > MAX_LEVELS {
        return Err(Error::InvalidArgument);
    }
    loop {
        let i = (p.nframes - 1) as usize;
        let f = *frame(p, i)?;
        if f.at + 1 < f.count {
            if !all && f.next_cont == 0 {
                return Ok(END);
            }
            p.mode = if all { MODE_ADVANCE } else { MODE_ADVANCE_CONT };
            p.next_block = f.block;
            return Ok(READ);
        }
        if i == 0 {
            return Ok(END);
        }
        p.nframes -= 1;
    }
}
