//! fsck.vexfs: check a VexFS volume and repair what is safe, with
//! e2fsprogs conventions and fsck(8) exit codes (0 clean, 1 corrected,
//! 4 left uncorrected, 8 operational error, 16 usage).
//!
//! Passes, each problem reported with the object it concerns:
//! 0. superblock (`superblock::validate`; damaged: exit 4, not VexFS: 8,
//!    no repair) and jbd2 journal superblock (damaged: -y zeroes the
//!    journal and writes a clean one; aborted (s_errno): -y clears it; log
//!    not empty: reported, exit 4 - the kernel replays it at mount).
//! 1. every non-zero inode decodes (checksum, mode, sizes, pointers):
//!    checksum-only damage is resealed; other damage clears the inode;
//!    reserved inodes 1, 5..10 must be zero; a free inode must be zero.
//! 2. every directory block (tail, checksum, records; damaged: emptied),
//!    '.' and '..' present, entries to free/damaged/reserved inodes
//!    (removed), file type vs mode (fixed), a second name for a directory
//!    (removed), directory size vs mapped blocks (reported); hash-indexed
//!    directories: the index (root, nodes, key order, every block
//!    referenced once, every name in its leaf's key range; damaged: the
//!    directory is converted back to linear) and the dir_index feature bit
//!    (set).
//! 1b. indirect blocks of the right owner and level with a bad checksum:
//!    each entry is kept if it points at an in-use block nothing else
//!    claims, else cleared; the block is resealed.
//! 3. reserved inode fields i_xattr_block, i_orphan_next (zeroed); blocks
//!    mapped past EOF in every file but directories (legitimate with
//!    EOFBLOCKS; with TRUNCATING -y finishes the interrupted truncate and
//!    clears the flag; without either: reported, not repaired); block
//!    pointers in the data area (bad ones zeroed), indirect blocks
//!    (magic, owner, level, checksum; one that is not the file's is dropped
//!    with its subtree), blocks claimed twice (reported with their owners;
//!    not repaired), i_blocks (fixed).
//! 4. connectivity: inodes with no name (empty files cleared, others moved
//!    to /lost+found, created when missing), unreachable directories (to
//!    /lost+found), orphans (links 0, no name: freed), '..' (fixed).
//! 5. link counts (names incl. '.' and '..'; fixed).
//! 6. bitmaps against actual usage (rewritten), superblock free counts
//!    (hints: noted with -v, rewritten by -y), the ERROR state (cleared).
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::Path;

use vexfs_core::error::Error as CoreError;
use vexfs_core::format::checksum::crc32c_skipping;
use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::{data_block_ok, InodeMem};
use vexfs_core::format::superblock::{self, Geom};
use vexfs_core::format::*;
use vexfs_core::format::{bitmap, bmap, dir, dx, inode, journal};

use super::fs::Fs;
use super::image::Image;

/// fsck(8) exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_CORRECTED: i32 = 1;
pub const EXIT_UNCORRECTED: i32 = 4;
pub const EXIT_OPERATIONAL: i32 = 8;
pub const EXIT_USAGE: i32 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repair {
    /// -n (and the default): open read-only, report only.
    No,
    /// -y / -p: repair what is safe.
    Yes,
}

#[derive(Clone, Copy, Debug)]
pub struct FsckOptions {
    pub repair: Repair,
    /// -v: print notes as well as problems.
    pub verbose: bool,
}

/// The outcome of a run.
#[derive(Clone, Debug, Default)]
pub struct FsckReport {
    pub exit_code: i32,
    pub problems: Vec<String>,
    pub fixed: usize,
    pub left: usize,
}

const ISIZE: usize = VEXFS_INODE_SIZE as usize;
const SECTORS_PER_BLOCK: u64 = (BLOCK_SIZE / 512) as u64;
const LOST_FOUND: &[u8] = b"lost+found";

fn type_name(m: u32) -> &'static str {
    match m & mode::S_IFMT {
        mode::S_IFREG => "regular file",
        mode::S_IFDIR => "directory",
        mode::S_IFLNK => "symlink",
        mode::S_IFCHR => "character device",
        mode::S_IFBLK => "block device",
        mode::S_IFIFO => "fifo",
        mode::S_IFSOCK => "socket",
        _ => "unknown",
    }
}

fn is_dir(m: &InodeMem) -> bool {
    m.mode & mode::S_IFMT == mode::S_IFDIR
}

fn has_block_map(m: &InodeMem) -> bool {
    m.flags & VEXFS_INODE_FL_INLINE_SYMLINK == 0
}

/// Where a block pointer lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Inode(usize),
    Indirect { block: u32, idx: u32 },
}

/// What a pointer points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Data(u64),
    Indirect(u32),
}

#[derive(Clone, Copy)]
struct Ptr {
    phys: u32,
    kind: Kind,
    loc: Loc,
    /// The first file block under it.
    base: u64,
}

/// An indirect block that failed its check, and why.
struct BadIndirect {
    phys: u32,
    level: u32,
    why: String,
    /// Its tail names the right inode and level: this file's block, damaged
    /// (pass 1b judges its entries), not another's.
    tail_ok: bool,
}

/// One inode's state from pass 1.
enum Slot {
    Valid(Box<InodeMem>),
    Corrupt(String),
}

struct Checker<'o> {
    fs: Fs,
    opts: FsckOptions,
    out: &'o mut dyn Write,
    report: FsckReport,
    geom: Geom,
    /// Non-zero inodes from pass 1 (zero inodes are free).
    slots: HashMap<u32, Slot>,
    /// Inodes that are live (in use) after pass 2.
    live: HashSet<u32>,
    /// Inodes to zero in pass 6.
    clear: HashSet<u32>,
    /// References to each inode from directory entries, incl. '.' and '..'.
    refs: HashMap<u32, u32>,
    /// For each directory, the directory holding its (first) name.
    parent: HashMap<u32, u32>,
    /// For each directory, what its '..' says (and where).
    dotdot: HashMap<u32, (u32, u32, u32)>, // (target, block, rec_offset)
    /// Blocks claimed by live inodes (a bitmap over the volume).
    claimed: Vec<u8>,
    dups: HashSet<u32>,
    /// Orphans and no-name inodes are only known after pass 2.
    lost_found: Option<u32>,
    on_disk_imap: Vec<u8>,
    on_disk_bmap: Vec<u8>,
    /// Blocks of inodes this run freed.
    freed_blocks: Vec<u32>,
    /// Indirect blocks pass 1b reported (and, with -y, resealed).
    ind_judged: HashSet<u32>,
    wrote: bool,
}

macro_rules! say {
    ($self:expr, $($arg:tt)*) => {{
        let _ = writeln!($self.out, $($arg)*);
    }};
}

impl<'o> Checker<'o> {
    fn repairing(&self) -> bool {
        self.opts.repair == Repair::Yes
    }

    /// Report a problem; true when the caller should repair it now.
    fn problem(&mut self, msg: String, fixable: bool) -> bool {
        let fix = fixable && self.repairing();
        let line = if fix {
            self.report.fixed += 1;
            format!("{msg}: fixed")
        } else {
            self.report.left += 1;
            if fixable {
                format!("{msg} (not fixed: read-only check)")
            } else {
                format!("{msg} (cannot be fixed by fsck.vexfs)")
            }
        };
        say!(self, "{line}");
        self.report.problems.push(msg);
        fix
    }

    fn note(&mut self, msg: String) {
        if self.opts.verbose {
            say!(self, "note: {msg}");
        }
    }

    fn path_of(&self, dir_ino: u32) -> String {
        let mut parts = Vec::new();
        let mut d = dir_ino;
        let mut guard = 0;
        while d != VEXFS_ROOT_INO && guard < 64 {
            match self.parent.get(&d) {
                Some(&p) => {
                    parts.push(format!("<{d}>"));
                    d = p;
                }
                None => return format!("<dir {dir_ino}>"),
            }
            guard += 1;
        }
        if parts.is_empty() {
            "/".into()
        } else {
            parts.reverse();
            format!("/{}", parts.join("/"))
        }
    }

    fn inode_mem(&self, ino: u32) -> Option<&InodeMem> {
        match self.slots.get(&ino) {
            Some(Slot::Valid(m)) => Some(m),
            _ => None,
        }
    }

    fn write_inode(&mut self, ino: u32, m: &InodeMem) -> io::Result<()> {
        self.wrote = true;
        self.fs.write_inode(ino, m)?;
        self.slots.insert(ino, Slot::Valid(Box::new(*m)));
        Ok(())
    }

    fn write_block(&mut self, b: u32, data: &[u8]) -> io::Result<()> {
        self.wrote = true;
        self.fs.img.write_blocks(b as u64, data)
    }

    // ---------------------------------------------------------- walking

    /// Every block pointer of inode `ino` (non-zero ones), depth first. Bad
    /// pointers are visited with `ok` false and not followed: those outside
    /// the data area, and those to an indirect block that fails its check
    /// (magic, owner, level, checksum), which are also returned with the
    /// reason: no block number in such a block is trusted.
    fn walk(&self, ino: u32, m: &InodeMem, visit: &mut dyn FnMut(Ptr, bool)) -> io::Result<Vec<BadIndirect>> {
        let mut failed = Vec::new();
        if !has_block_map(m) {
            return Ok(failed);
        }
        const PER: u64 = VEXFS_ADDR_PER_BLOCK as u64;
        for slot in 0..VEXFS_N_BLOCKS as usize {
            let b = m.block[slot];
            if b == 0 {
                continue;
            }
            let (level, base) = match slot as u32 {
                s if s < VEXFS_NDIR_BLOCKS => (0u32, s as u64),
                VEXFS_IND_BLOCK => (1, 12),
                VEXFS_DIND_BLOCK => (2, 12 + PER),
                _ => (3, 12 + PER + PER * PER),
            };
            let kind = if level == 0 { Kind::Data(base) } else { Kind::Indirect(level) };
            self.visit_ptr(ino, Ptr { phys: b, kind, loc: Loc::Inode(slot), base }, visit, &mut failed)?;
        }
        Ok(failed)
    }

    /// Visit one pointer; for an indirect block, check it and walk its entries.
    fn visit_ptr(
        &self,
        ino: u32,
        p: Ptr,
        visit: &mut dyn FnMut(Ptr, bool),
        failed: &mut Vec<BadIndirect>,
    ) -> io::Result<()> {
        if !data_block_ok(&self.geom, p.phys) {
            visit(p, false);
            return Ok(());
        }
        let Kind::Indirect(level) = p.kind else {
            visit(p, true);
            return Ok(());
        };
        let blk = self.fs.img.read_block(p.phys as u64)?;
        let mut why = String::new();
        if bmap::indirect_check(&blk, ino, level, &mut why).is_err() {
            visit(p, false);
            let tail_ok = bmap::indirect_tail_ok(&blk, ino, level);
            failed.push(BadIndirect { phys: p.phys, level, why, tail_ok });
            return Ok(());
        }
        visit(p, true);
        const PER: u64 = VEXFS_ADDR_PER_BLOCK as u64;
        let span = PER.pow(level - 1);
        for idx in 0..VEXFS_ADDR_PER_BLOCK {
            let child = bmap::indirect_get(&blk, idx).unwrap_or(0);
            if child == 0 {
                continue;
            }
            let cbase = p.base + idx as u64 * span;
            let kind = if level == 1 { Kind::Data(cbase) } else { Kind::Indirect(level - 1) };
            let loc = Loc::Indirect { block: p.phys, idx };
            self.visit_ptr(ino, Ptr { phys: child, kind, loc, base: cbase }, visit, failed)?;
        }
        Ok(())
    }

    // ---------------------------------------------------------- pass 0

    fn pass0_journal(&mut self) -> io::Result<bool> {
        let g = self.geom;
        if g.feature_incompat & VEXFS_FEATURE_INCOMPAT_JOURNAL == 0 {
            return Ok(true);
        }
        let blk = self.fs.img.read_block(g.journal_start as u64)?;
        let uuid = superblock_uuid(&self.fs.sb_block).unwrap_or([0; 16]);
        let mut why = String::new();
        match journal::validate(&blk, g.journal_start, g.journal_blocks, &uuid, &mut why) {
            Ok(info) => {
                if info.needs_recovery() {
                    say!(
                        self,
                        "{}: the journal holds transactions to replay (log start {}, sequence {}): \
                         mount the filesystem to let the kernel replay it, unmount, then run fsck.vexfs again",
                        self.fs.img.path().display(),
                        info.start,
                        info.sequence
                    );
                    self.report.left += 1;
                    self.report.problems.push("journal needs recovery".into());
                    return Ok(false);
                }
                if info.errno != 0 {
                    let msg = format!("journal superblock records an aborted journal (errno {})", info.errno);
                    if self.problem(msg, true) {
                        let mut b = blk.clone();
                        b[0x20..0x24].fill(0);
                        // Checksummed journal superblocks are simply rewritten clean.
                        if info.feature_incompat
                            & (journal::JBD2_FEATURE_INCOMPAT_CSUM_V2 | journal::JBD2_FEATURE_INCOMPAT_CSUM_V3)
                            != 0
                        {
                            self.recreate_journal(&uuid)?;
                        } else {
                            self.write_block(g.journal_start, &b)?;
                        }
                    }
                }
                if !info.uuid_matches {
                    self.note("the journal UUID differs from the volume UUID".into());
                }
            }
            Err(_) => {
                let msg = format!("journal superblock at block {} is damaged: {why}", g.journal_start);
                if self.problem(msg, true) {
                    self.recreate_journal(&uuid)?;
                }
            }
        }
        Ok(true)
    }

    /// A damaged journal cannot be replayed: zero it and write a clean
    /// superblock, so no stale block is ever taken for a log record.
    fn recreate_journal(&mut self, uuid: &[u8; 16]) -> io::Result<()> {
        let g = self.geom;
        self.fs.img.zero_blocks(g.journal_start as u64, g.journal_blocks as u64)?;
        let mut jb = vec![0u8; BLOCK_SIZE];
        // The whole log is zeroed above: no stale record can follow it.
        journal::encode(&mut jb, g.journal_start, g.journal_blocks, uuid, 1).map_err(|e| io::Error::other(format!("{e:?}")))?;
        self.write_block(g.journal_start, &jb)
    }

    // ---------------------------------------------------------- pass 1

    fn pass1_inodes(&mut self) -> io::Result<()> {
        let g = self.geom;
        let chunk_blocks: u32 = 256;
        let mut buf = vec![0u8; chunk_blocks as usize * BLOCK_SIZE];
        let mut tb = 0u32;
        let csum_off = core::mem::offset_of!(vexfs_inode, i_checksum);
        while tb < g.inode_table_blocks {
            let n = (g.inode_table_blocks - tb).min(chunk_blocks);
            let bytes = n as usize * BLOCK_SIZE;
            self.fs.img.read_blocks((g.inode_table_start + tb) as u64, &mut buf[..bytes])?;
            for i in 0..(bytes / ISIZE) {
                let ino = (tb as u64 * VEXFS_INODES_PER_BLOCK as u64 + i as u64 + 1) as u32;
                if ino > g.inodes_count {
                    break;
                }
                let raw = &buf[i * ISIZE..(i + 1) * ISIZE];
                if raw.iter().all(|&b| b == 0) {
                    continue;
                }
                let mut why = String::new();
                match inode::decode(&g, raw, ino, &mut why) {
                    Ok(m) => {
                        self.slots.insert(ino, Slot::Valid(Box::new(m)));
                    }
                    Err(_) => {
                        // A wrong checksum over otherwise valid fields: reseal.
                        let mut copy = raw.to_vec();
                        let sum = crc32c_skipping(&ino.to_le_bytes(), &copy, csum_off).unwrap_or(0);
                        copy[csum_off..csum_off + 4].copy_from_slice(&sum.to_le_bytes());
                        let mut why2 = String::new();
                        match inode::decode(&g, &copy, ino, &mut why2) {
                            Ok(m) if bitmap::test(&self.fs.imap, (ino - 1) as u64) == Some(true) => {
                                let msg = format!("inode {ino}: checksum is wrong but the fields are valid");
                                if self.problem(msg, true) {
                                    self.write_inode(ino, &m)?;
                                }
                                self.slots.insert(ino, Slot::Valid(Box::new(m)));
                            }
                            _ => {
                                self.slots.insert(ino, Slot::Corrupt(why));
                            }
                        }
                    }
                }
            }
            tb += n;
        }
        Ok(())
    }

    fn bit(&self, ino: u32) -> bool {
        bitmap::test(&self.on_disk_imap, (ino - 1) as u64) == Some(true)
    }

    /// Decide reserved inodes and damaged ones; live = valid and marked.
    fn pass1_classify(&mut self) -> io::Result<bool> {
        let mut inos: Vec<u32> = self.slots.keys().copied().collect();
        inos.sort_unstable();
        for ino in inos {
            let bit = self.bit(ino);
            let (corrupt_why, valid_dir) = match self.slots.get(&ino) {
                Some(Slot::Corrupt(w)) => (Some(w.clone()), false),
                Some(Slot::Valid(m)) => (None, is_dir(m)),
                None => continue,
            };
            if ino < VEXFS_FIRST_INO && ino != VEXFS_ROOT_INO && ino != VEXFS_VECSTORE_INO && ino != VEXFS_GRAPH_INO {
                if self.problem(format!("reserved inode {ino} is not zero"), true) {
                    self.clear.insert(ino);
                }
                continue;
            }
            if ino == VEXFS_ROOT_INO && (corrupt_why.is_some() || !valid_dir) {
                let why = corrupt_why.unwrap_or_else(|| "not a directory".into());
                self.problem(format!("root inode {ino} is damaged: {why}"), false);
                return Ok(false);
            }
            match corrupt_why {
                Some(why) if bit => {
                    if self.problem(format!("inode {ino} is damaged: {why}; clearing it"), true) {
                        self.clear.insert(ino);
                    }
                }
                Some(why) => {
                    if self.problem(format!("free inode {ino} is not zero (and does not decode: {why})"), true) {
                        self.clear.insert(ino);
                    }
                }
                None if bit || ino < VEXFS_FIRST_INO => {
                    self.live.insert(ino);
                }
                None => {
                    // Valid but unmarked: live if a directory names it
                    // (decided in pass 2), else a stale free inode.
                }
            }
        }
        if !self.slots.contains_key(&VEXFS_ROOT_INO) {
            self.problem(format!("root inode {VEXFS_ROOT_INO} is free"), false);
            return Ok(false);
        }
        Ok(true)
    }

    // ---------------------------------------------------------- pass 1b

    /// Indirect blocks whose tail names the right inode and level but whose
    /// checksum fails: this file's blocks, damaged. Dropping one would lose
    /// every file block under it for what may be a single bad word, so its
    /// entries are judged one by one against the rest of the volume: an
    /// entry is kept when it points into the data area, at a block the
    /// on-disk bitmap marks in use and no verified structure claims (above
    /// level 1: a block whose tail is right for its place); the others are
    /// cleared and the block resealed. An entry redirected to another file's
    /// block goes, the rest of the file stays. Runs before pass 2, which
    /// reads directories through these blocks. Blocks whose tail is wrong
    /// are not this file's: pass 3 drops the pointer to them.
    fn pass1_indirect(&mut self) -> io::Result<()> {
        let g = self.geom;
        let mut claimed = vec![0u8; self.on_disk_bmap.len()];
        for b in 0..g.data_start as u64 {
            bitmap::set(&mut claimed, b);
        }
        let mut inos: Vec<u32> = self.live.iter().copied().collect();
        inos.sort_unstable();
        let mut work: Vec<(u32, u32, u32)> = Vec::new(); // (ino, block, level)
        for ino in inos {
            let Some(m) = self.inode_mem(ino).copied() else { continue };
            let failed = self.walk(ino, &m, &mut |p, ok| {
                if ok {
                    bitmap::set(&mut claimed, p.phys as u64);
                }
            })?;
            work.extend(failed.into_iter().filter(|f| f.tail_ok).map(|f| (ino, f.phys, f.level)));
        }
        let mut next = 0;
        while next < work.len() {
            let (ino, b, level) = work[next];
            next += 1;
            if bitmap::set(&mut claimed, b as u64) != Some(false) {
                continue; // claimed twice: pass 3 reports it
            }
            let mut blk = self.fs.img.read_block(b as u64)?;
            let mut why = String::new();
            if bmap::indirect_check(&blk, ino, level, &mut why).is_ok() {
                continue; // already resealed through another path
            }
            let (mut kept, mut cleared) = (0u32, Vec::new());
            for idx in 0..VEXFS_ADDR_PER_BLOCK {
                let e = bmap::indirect_get(&blk, idx).unwrap_or(0);
                if e == 0 {
                    continue;
                }
                let mut good = data_block_ok(&g, e)
                    && bitmap::test(&claimed, e as u64) == Some(false)
                    && bitmap::test(&self.on_disk_bmap, e as u64) == Some(true);
                let mut child = None;
                if good && level > 1 {
                    let c = self.fs.img.read_block(e as u64)?;
                    good = bmap::indirect_tail_ok(&c, ino, level - 1);
                    child = Some(c);
                }
                if !good {
                    cleared.push(idx);
                    continue;
                }
                kept += 1;
                bitmap::set(&mut claimed, e as u64);
                if let Some(c) = child {
                    if bmap::indirect_check(&c, ino, level - 1, &mut String::new()).is_ok() {
                        // A sound subtree: claim it before judging more entries.
                        // Only claimed here: the file blocks it covers do not matter.
                        let ptr = Ptr { phys: e, kind: Kind::Indirect(level - 1), loc: Loc::Indirect { block: b, idx }, base: 0 };
                        self.visit_ptr(ino, ptr, &mut |p, ok| {
                            if ok {
                                bitmap::set(&mut claimed, p.phys as u64);
                            }
                        }, &mut Vec::new())?;
                    } else {
                        bitmap::clear(&mut claimed, e as u64); // judged in its own turn
                        work.push((ino, e, level - 1));
                    }
                }
            }
            let what = if cleared.is_empty() {
                format!("its {kept} entries look right, resealing it")
            } else {
                format!(
                    "clearing {} of its {} entries (outside the data area, free in the bitmap or another block's), resealing it",
                    cleared.len(),
                    kept as usize + cleared.len()
                )
            };
            self.ind_judged.insert(b);
            let msg = format!("inode {ino}: block {b}, its level {level} indirect block: {why}; {what}");
            if self.problem(msg, true) {
                for idx in cleared {
                    bmap::indirect_set(&mut blk, idx, 0);
                }
                bmap::indirect_seal(&mut blk, ino, level).map_err(core_io)?;
                self.write_block(b, &blk)?;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------- pass 2

    /// The (file block, disk block) pairs of a directory, sorted.
    fn dir_blocks(&self, ino: u32, m: &InodeMem) -> io::Result<Vec<(u64, u32)>> {
        let mut v = Vec::new();
        self.walk(ino, m, &mut |p, ok| {
            if let (Kind::Data(i), true) = (p.kind, ok) {
                v.push((i, p.phys));
            }
        })?;
        v.sort_unstable();
        Ok(v)
    }

    fn pass2_dirs(&mut self) -> io::Result<()> {
        let g = self.geom;
        let mut dirs: Vec<u32> = self
            .live
            .iter()
            .copied()
            .filter(|i| self.inode_mem(*i).map(is_dir).unwrap_or(false))
            .collect();
        dirs.sort_unstable();
        // Entries pointing at valid but unmarked inodes make them live;
        // those may be directories to scan too.
        let mut idx = 0;
        while idx < dirs.len() {
            let d = dirs[idx];
            idx += 1;
            let m = match self.inode_mem(d) {
                Some(m) => *m,
                None => continue,
            };
            let blocks = self.dir_blocks(d, &m)?;
            let nblocks = m.size / BLOCK_SIZE as u64;
            if m.dir_depth == 0 {
                let mapped: HashSet<u64> = blocks.iter().map(|&(i, _)| i).collect();
                if let Some(hole) = (0..nblocks).find(|i| !mapped.contains(i)) {
                    self.problem(format!("directory {d}: size {} but block {hole} is not mapped", m.size), false);
                }
                if let Some(&(beyond, _)) = blocks.iter().find(|&&(i, _)| i >= nblocks) {
                    self.problem(format!("directory {d}: block {beyond} is mapped beyond its size {}", m.size), false);
                }
            }
            let mut seen_dot = false;
            let mut seen_dotdot = false;
            for &(iblock, b) in &blocks {
                let mut blk = self.fs.img.read_block(b as u64)?;
                let mut why = String::new();
                if dir::check_block(&blk, d, g.inodes_count, &mut why).is_err() {
                    let msg = format!("directory {d} block {iblock} (disk block {b}) is damaged: {why}; emptying it");
                    if self.problem(msg, true) {
                        dir::init(&mut blk, d).map_err(core_io)?;
                        self.write_block(b, &blk)?;
                    } else {
                        continue;
                    }
                }
                let mut removals: Vec<u32> = Vec::new();
                let mut retargets: Vec<(u32, u32, u32)> = Vec::new();
                let mut pos = 0usize;
                let mut first = true;
                while let Some(e) = dir::next(&blk, pos).map_err(core_io)? {
                    pos = e.next_offset as usize;
                    let name = blk[e.name_offset as usize..(e.name_offset + e.name_len) as usize].to_vec();
                    let shown = String::from_utf8_lossy(&name).into_owned();
                    let t = e.ino;
                    let at_start = iblock == 0 && first;
                    first = false;
                    if name == b"." {
                        seen_dot = true;
                        if t != d || !at_start {
                            if self.problem(format!("directory {d}: '.' points at inode {t}, not itself"), true) {
                                retargets.push((e.rec_offset, d, VEXFS_FT_DIR));
                            }
                        }
                        *self.refs.entry(d).or_default() += 1;
                        continue;
                    }
                    if name == b".." {
                        seen_dotdot = true;
                        self.dotdot.insert(d, (t, b, e.rec_offset));
                        // Counted in pass 4, once the true parent is known.
                        continue;
                    }
                    let where_ = format!("entry '{shown}' in directory {d}");
                    if t < VEXFS_FIRST_INO {
                        if self.problem(format!("{where_} points at reserved inode {t}"), true) {
                            removals.push(e.rec_offset);
                        }
                        continue;
                    }
                    let target = match self.slots.get(&t) {
                        Some(Slot::Valid(tm)) if !self.clear.contains(&t) => Some(**tm),
                        _ => None,
                    };
                    let tm = match target {
                        Some(tm) => tm,
                        None => {
                            let state = match self.slots.get(&t) {
                                Some(Slot::Corrupt(_)) => "damaged",
                                _ => "free",
                            };
                            if self.problem(format!("{where_} points at {state} inode {t}"), true) {
                                removals.push(e.rec_offset);
                            }
                            continue;
                        }
                    };
                    if !self.live.contains(&t) {
                        // Named but unmarked: in use (pass 6 fixes the bitmap).
                        self.live.insert(t);
                        if is_dir(&tm) {
                            dirs.push(t);
                        }
                    }
                    let want_ft = mode::file_type(tm.mode).unwrap_or(VEXFS_FT_UNKNOWN);
                    if e.file_type != want_ft {
                        let msg = format!(
                            "{where_}: file type {} but inode {t} is a {}",
                            e.file_type,
                            type_name(tm.mode)
                        );
                        if self.problem(msg, true) {
                            retargets.push((e.rec_offset, t, want_ft));
                        }
                    }
                    if is_dir(&tm) {
                        if let Some(&other) = self.parent.get(&t) {
                            let msg = format!("{where_}: directory {t} already has a name in directory {other}");
                            if self.problem(msg, true) {
                                removals.push(e.rec_offset);
                            }
                            continue;
                        }
                        if t == d {
                            if self.problem(format!("{where_}: directory {d} contains itself"), true) {
                                removals.push(e.rec_offset);
                            }
                            continue;
                        }
                        self.parent.insert(t, d);
                    }
                    *self.refs.entry(t).or_default() += 1;
                }
                if (!retargets.is_empty() || !removals.is_empty()) && self.repairing() {
                    for (off, t, ft) in retargets {
                        dir::retarget(&mut blk, d, off, t, ft).map_err(core_io)?;
                    }
                    for off in removals {
                        dir::remove(&mut blk, d, off).map_err(core_io)?;
                    }
                    self.write_block(b, &blk)?;
                }
            }
            if m.dir_depth != 0 {
                self.check_dx(d, &m, &blocks)?;
            }
            if !seen_dot || !seen_dotdot {
                let which = match (seen_dot, seen_dotdot) {
                    (false, false) => "'.' and '..'",
                    (false, true) => "'.'",
                    _ => "'..'",
                };
                if self.problem(format!("directory {d} has no {which}"), true) {
                    if !seen_dot {
                        self.fs.add_entry(d, b".", d, VEXFS_FT_DIR)?;
                        self.wrote = true;
                        *self.refs.entry(d).or_default() += 1;
                    }
                    if !seen_dotdot {
                        // Target fixed in pass 4; point at root for now.
                        self.fs.add_entry(d, b"..", VEXFS_ROOT_INO, VEXFS_FT_DIR)?;
                        self.wrote = true;
                        if let Some((_, e)) = self.fs.lookup(d, b"..")? {
                            let (b, _) = self.fs.lookup(d, b"..")?.unwrap_or((0, e));
                            self.dotdot.insert(d, (VEXFS_ROOT_INO, b, e.rec_offset));
                        }
                    }
                    if let Some(m) = self.fs.read_inode(d)? {
                        self.slots.insert(d, Slot::Valid(Box::new(m)));
                    }
                }
            }
        }
        Ok(())
    }

    /// Verify the hash index of directory `d` (i_dir_depth > 0): the root
    /// and every index node decode, keys are sorted and chained (entry 0
    /// equals its parent's key), heights match, every block other than the
    /// root is referenced exactly once, and every name lies in its leaf's
    /// key range. Any problem: -y converts the directory back to linear
    /// (i_dir_depth 0, index nodes emptied), which loses no name since every
    /// leaf is an ordinary record block.
    fn check_dx(&mut self, d: u32, m: &InodeMem, blocks: &[(u64, u32)]) -> io::Result<()> {
        let nblocks = (m.size / BLOCK_SIZE as u64) as u32;
        let map: HashMap<u64, u32> = blocks.iter().copied().collect();
        let mut trouble: Option<String> = None;
        let mut nodes: Vec<u32> = Vec::new();
        let mut names = 0u64;
        'walk: {
            if m.dir_depth > VEXFS_DX_MAX_LEVELS {
                trouble = Some(format!("depth {} beyond {}", m.dir_depth, VEXFS_DX_MAX_LEVELS));
                break 'walk;
            }
            let Some(&root_nr) = map.get(&0) else {
                trouble = Some("block 0 is not mapped".into());
                break 'walk;
            };
            let root = self.fs.img.read_block(root_nr as u64)?;
            let mut why = String::new();
            let ri = match dx::root_info(&root, &mut why) {
                Ok(ri) => ri,
                Err(_) => {
                    trouble = Some(why);
                    break 'walk;
                }
            };
            if ri.levels != m.dir_depth {
                trouble = Some(format!("root says {} levels, inode depth {}", ri.levels, m.dir_depth));
                break 'walk;
            }
            let mut seen = vec![false; nblocks as usize];
            seen[0] = true;
            // (file block, kind, height, first stored key, next stored key)
            let mut stack = vec![(0u32, dx::Kind::Root, ri.levels, 0u64, None::<u64>)];
            while let Some((fb, kind, height, lo, hi)) = stack.pop() {
                let blk = if fb == 0 {
                    root.clone()
                } else {
                    match map.get(&(fb as u64)) {
                        Some(&b) => self.fs.img.read_block(b as u64)?,
                        None => {
                            trouble = Some(format!("index block {fb} is not mapped"));
                            break 'walk;
                        }
                    }
                };
                let mut why = String::new();
                let count = match kind {
                    dx::Kind::Root => ri.count,
                    dx::Kind::Node => match dx::node_info(&blk, &mut why) {
                        Ok((h, c)) if h == height => c,
                        Ok((h, _)) => {
                            trouble = Some(format!("index node {fb}: height {h}, expected {height}"));
                            break 'walk;
                        }
                        Err(_) => {
                            trouble = Some(format!("block {fb}: {why}"));
                            break 'walk;
                        }
                    },
                };
                if kind == dx::Kind::Node {
                    nodes.push(fb);
                }
                if dx::check_entries(&blk, kind, count, lo, nblocks, &mut why).is_err() {
                    trouble = Some(format!("index block {fb}: {why}"));
                    break 'walk;
                }
                for i in 0..count {
                    let e = dx::entry(&blk, kind, i).map_err(core_io)?;
                    let next = if i + 1 < count { Some(dx::entry(&blk, kind, i + 1).map_err(core_io)?.stored) } else { hi };
                    if std::mem::replace(&mut seen[e.block as usize], true) {
                        trouble = Some(format!("block {} is referenced twice by the index", e.block));
                        break 'walk;
                    }
                    if height > 1 {
                        stack.push((e.block, dx::Kind::Node, height - 1, e.stored, next));
                        continue;
                    }
                    let Some(&lb) = map.get(&(e.block as u64)) else {
                        trouble = Some(format!("leaf {} is not mapped", e.block));
                        break 'walk;
                    };
                    let leaf = self.fs.img.read_block(lb as u64)?;
                    if dx::is_node(&leaf) {
                        trouble = Some(format!("leaf {} is an index node", e.block));
                        break 'walk;
                    }
                    let mut pos = 0usize;
                    while let Some(de) = dir::next(&leaf, pos).map_err(core_io)? {
                        pos = de.next_offset as usize;
                        let name = &leaf[de.name_offset as usize..(de.name_offset + de.name_len) as usize];
                        let k = dx::name_key(ri.hash_version, &ri.seed, name);
                        let above = match next {
                            Some(h) => k > h >> 1 || (k == h >> 1 && h & dx::CONT == 0),
                            None => false,
                        };
                        if k < e.key() || above {
                            trouble = Some(format!(
                                "entry '{}' lies in leaf {} outside its key range",
                                String::from_utf8_lossy(name),
                                e.block
                            ));
                            break 'walk;
                        }
                        names += 1;
                    }
                }
            }
            if let Some(lost) = seen.iter().position(|&s| !s) {
                trouble = Some(format!("block {lost} is not referenced by the index"));
            }
        }
        if self.geom.feature_ro_compat & VEXFS_FEATURE_RO_COMPAT_DIR_INDEX == 0 {
            let msg = format!("directory {d} is hash-indexed but the superblock lacks the dir_index feature");
            if self.problem(msg, true) {
                self.fs.set_ro_compat(VEXFS_FEATURE_RO_COMPAT_DIR_INDEX);
                self.geom.feature_ro_compat |= VEXFS_FEATURE_RO_COMPAT_DIR_INDEX;
                self.wrote = true;
            }
        }
        let Some(why) = trouble else {
            self.note(format!("directory {d}: hash index of {} levels over {nblocks} blocks, {names} names, checked", m.dir_depth));
            return Ok(());
        };
        let msg = format!("directory {d} ({}): damaged hash index: {why}; converting it to a linear directory", self.path_of(d));
        if !self.problem(msg, true) {
            return Ok(());
        }
        // Index nodes become empty record blocks; names stay where they are.
        for fb in nodes {
            if let Some(&b) = map.get(&(fb as u64)) {
                let mut blk = vec![0u8; BLOCK_SIZE];
                dir::init(&mut blk, d).map_err(core_io)?;
                self.write_block(b, &blk)?;
            }
        }
        let mut m2 = self.inode_mem(d).copied().unwrap_or(*m);
        m2.dir_depth = 0;
        self.write_inode(d, &m2)
    }

    // ---------------------------------------------------------- pass 3

    fn pass3_blocks(&mut self) -> io::Result<()> {
        let g = self.geom;
        self.claimed = vec![0u8; self.on_disk_bmap.len()];
        for b in 0..g.data_start as u64 {
            bitmap::set(&mut self.claimed, b);
        }
        let mut inos: Vec<u32> = self.live.iter().copied().collect();
        inos.sort_unstable();
        for ino in inos {
            let Some(mut m) = self.inode_mem(ino).copied() else { continue };
            if let Some(m2) = self.pass3_reserved(ino, &m)? {
                m = m2;
            }
            if let Some(m2) = self.pass3_past_eof(ino, &m)? {
                m = m2;
            }
            let mut count = 0u64;
            let mut bad: Vec<(Loc, u32)> = Vec::new();
            let mut claimed = std::mem::take(&mut self.claimed);
            let mut dups = std::mem::take(&mut self.dups);
            let failed = self.walk(ino, &m, &mut |p, ok| {
                if !ok {
                    bad.push((p.loc, p.phys));
                    return;
                }
                count += 1;
                if bitmap::set(&mut claimed, p.phys as u64) == Some(true) {
                    dups.insert(p.phys);
                }
            })?;
            self.claimed = claimed;
            self.dups = dups;
            let mut m2 = m;
            let mut inode_dirty = false;
            for (loc, phys) in bad {
                if self.ind_judged.contains(&phys) {
                    continue; // reported by pass 1b (-n: not resealed)
                }
                let msg = match failed.iter().find(|f| f.phys == phys) {
                    // Dropping the pointer leaves holes where its subtree
                    // was; the blocks under it are unclaimed and pass 5
                    // frees them. No entry of a failed block is trusted:
                    // one of them may name another file's block.
                    Some(f) => format!(
                        "inode {ino}: block {phys}, its level {} indirect block: {}; dropping it and the file blocks under it",
                        f.level, f.why
                    ),
                    None => format!("inode {ino}: block pointer {phys} outside the data area {}..{}", g.data_start, g.blocks_count),
                };
                if self.problem(msg, true) {
                    match loc {
                        Loc::Inode(slot) => {
                            m2.block[slot] = 0;
                            inode_dirty = true;
                        }
                        Loc::Indirect { block, idx } => {
                            // The parent passed its check: keep it sealed.
                            let mut blk = self.fs.img.read_block(block as u64)?;
                            bmap::indirect_set_sealed(&mut blk, idx, 0)
                                .map_err(|e| io::Error::other(format!("indirect block {block}: {e:?}")))?;
                            self.write_block(block, &blk)?;
                        }
                    }
                }
            }
            let want = count * SECTORS_PER_BLOCK;
            if m.blocks != want {
                let msg = format!("inode {ino}: i_blocks is {} but it holds {count} blocks ({want} sectors)", m.blocks);
                if self.problem(msg, true) {
                    m2.blocks = want;
                    inode_dirty = true;
                }
            }
            if inode_dirty {
                self.write_inode(ino, &m2)?;
            }
        }
        if !self.dups.is_empty() {
            self.pass3_dups()?;
        }
        Ok(())
    }

    /// i_xattr_block and i_orphan_next are reserved (zero): no feature uses
    /// them, and the kernel refuses an inode where they are not. The block an
    /// xattr pointer names is not this file's (nothing reads it): unclaimed,
    /// pass 6 frees it. Returns the repaired inode.
    fn pass3_reserved(&mut self, ino: u32, m: &InodeMem) -> io::Result<Option<InodeMem>> {
        if m.xattr_block == 0 && m.orphan_next == 0 {
            return Ok(None);
        }
        let msg = format!(
            "inode {ino}: reserved fields are not zero (i_xattr_block {}, i_orphan_next {}); zeroing them",
            m.xattr_block, m.orphan_next
        );
        if !self.problem(msg, true) {
            return Ok(None);
        }
        let mut m2 = *m;
        m2.xattr_block = 0;
        m2.orphan_next = 0;
        self.write_inode(ino, &m2)?;
        Ok(Some(m2))
    }

    /// Blocks mapped at or past EOF (file block ceil(size / 4096) on), in
    /// every file but directories (pass 2 checks their size). They are
    /// legitimate with EOFBLOCKS (zeroed preallocation). With TRUNCATING, a
    /// truncate was cut short by a crash: finishing it (dropping the topmost
    /// pointers wholly past EOF; the blocks under them are unclaimed and
    /// pass 6 frees them) is what the kernel does at mount. Without either
    /// flag they are an error fsck cannot settle: the size or the map may be
    /// the wrong one. Returns the repaired inode.
    fn pass3_past_eof(&mut self, ino: u32, m: &InodeMem) -> io::Result<Option<InodeMem>> {
        if is_dir(m) || !has_block_map(m) {
            return Ok(None);
        }
        let eof = m.size.div_ceil(BLOCK_SIZE as u64);
        let truncating = m.flags & VEXFS_INODE_FL_TRUNCATING != 0;
        let mut under_past: HashSet<u32> = HashSet::new(); // indirect blocks wholly past EOF
        let mut top: Vec<Ptr> = Vec::new();
        let mut blocks = 0u64;
        self.walk(ino, m, &mut |p, ok| {
            // Bad pointers are pass 3's (dropped there), not followed here.
            if !ok || p.base < eof {
                return;
            }
            let parent_past = matches!(p.loc, Loc::Indirect { block, .. } if under_past.contains(&block));
            if let Kind::Indirect(_) = p.kind {
                under_past.insert(p.phys);
            }
            blocks += 1;
            if !parent_past {
                top.push(p);
            }
        })?;
        if top.is_empty() {
            if !truncating {
                return Ok(None);
            }
            let msg = format!("inode {ino}: flagged as being truncated, but nothing is mapped past EOF; clearing the flag");
            if !self.problem(msg, true) {
                return Ok(None);
            }
            let mut m2 = *m;
            m2.flags &= !VEXFS_INODE_FL_TRUNCATING;
            self.write_inode(ino, &m2)?;
            return Ok(Some(m2));
        }
        if m.flags & VEXFS_INODE_FL_EOFBLOCKS != 0 && !truncating {
            return Ok(None);
        }
        let first = top.iter().map(|p| p.base).min().unwrap_or(eof);
        let what = format!(
            "inode {ino} ({}, {} bytes): {blocks} blocks mapped past EOF (file block {first} on)",
            type_name(m.mode),
            m.size
        );
        if !truncating {
            self.problem(format!("{what}, without EOFBLOCKS: their old contents would show if the file grew"), false);
            return Ok(None);
        }
        if !self.problem(format!("{what}: a truncate was in progress (TRUNCATING); finishing it"), true) {
            return Ok(None);
        }
        let mut m2 = *m;
        let mut per_block: HashMap<u32, Vec<u32>> = HashMap::new();
        for p in &top {
            match p.loc {
                Loc::Inode(slot) => m2.block[slot] = 0,
                Loc::Indirect { block, idx } => per_block.entry(block).or_default().push(idx),
            }
        }
        let mut parents: Vec<u32> = per_block.keys().copied().collect();
        parents.sort_unstable();
        for b in parents {
            // The parent passed its check (it was followed): keep it sealed.
            let mut blk = self.fs.img.read_block(b as u64)?;
            for &idx in &per_block[&b] {
                bmap::indirect_set_sealed(&mut blk, idx, 0)
                    .map_err(|e| io::Error::other(format!("indirect block {b}: {e:?}")))?;
            }
            self.write_block(b, &blk)?;
        }
        // The blocks under the dropped pointers are this run's to free.
        let mut freed = Vec::new();
        for p in &top {
            if let Kind::Indirect(_) = p.kind {
                self.visit_ptr(ino, *p, &mut |q, ok| {
                    if ok {
                        freed.push(q.phys);
                    }
                }, &mut Vec::new())?;
            } else {
                freed.push(p.phys);
            }
        }
        self.freed_blocks.extend(freed);
        m2.blocks = m2.blocks.saturating_sub(blocks * SECTORS_PER_BLOCK);
        m2.flags &= !(VEXFS_INODE_FL_TRUNCATING | VEXFS_INODE_FL_EOFBLOCKS);
        self.write_inode(ino, &m2)?;
        Ok(Some(m2))
    }

    /// Name the claimants of every block claimed twice (e2fsck pass 1B).
    fn pass3_dups(&mut self) -> io::Result<()> {
        let mut owners: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut inos: Vec<u32> = self.live.iter().copied().collect();
        inos.sort_unstable();
        for ino in inos {
            let m = match self.inode_mem(ino) {
                Some(m) => *m,
                None => continue,
            };
            let dups = &self.dups;
            let mut mine = Vec::new();
            self.walk(ino, &m, &mut |p, ok| {
                if ok && dups.contains(&p.phys) {
                    mine.push(p.phys);
                }
            })?;
            for b in mine {
                owners.entry(b).or_default().push(ino);
            }
        }
        let mut blocks: Vec<u32> = owners.keys().copied().collect();
        blocks.sort_unstable();
        let shown = blocks.len().min(20);
        for b in &blocks[..shown] {
            let list: Vec<String> = owners[b].iter().map(|i| format!("inode {i}")).collect();
            self.problem(format!("block {b} is claimed more than once (by {})", list.join(", ")), false);
        }
        if blocks.len() > shown {
            self.problem(format!("... and {} more blocks claimed more than once", blocks.len() - shown), false);
        }
        Ok(())
    }

    // ---------------------------------------------------------- pass 4

    fn ensure_lost_found(&mut self) -> io::Result<u32> {
        if let Some(lf) = self.lost_found {
            return Ok(lf);
        }
        self.sync_fs_bitmaps();
        if let Some((_, e)) = self.fs.lookup(VEXFS_ROOT_INO, LOST_FOUND)? {
            if self.inode_mem(e.ino).map(is_dir).unwrap_or(false) && self.live.contains(&e.ino) {
                self.lost_found = Some(e.ino);
                return Ok(e.ino);
            }
        }
        let lf = self.fs.mkdir(VEXFS_ROOT_INO, LOST_FOUND)?;
        self.wrote = true;
        say!(self, "created /lost+found (inode {lf})");
        for ino in [lf, VEXFS_ROOT_INO] {
            if let Some(m) = self.fs.read_inode(ino)? {
                self.slots.insert(ino, Slot::Valid(Box::new(m)));
            }
        }
        self.live.insert(lf);
        self.parent.insert(lf, VEXFS_ROOT_INO);
        *self.refs.entry(lf).or_default() += 2; // name in root + '.'; its '..' counts in pass 4
        let (b, e) = self.fs.lookup(lf, b"..")?.ok_or_else(|| io::Error::other("new lost+found has no '..'"))?;
        self.dotdot.insert(lf, (VEXFS_ROOT_INO, b, e.rec_offset));
        self.lost_found = Some(lf);
        Ok(lf)
    }

    /// Make the Fs allocator see the true usage before its first
    /// allocation (the on-disk bitmaps may be wrong).
    fn sync_fs_bitmaps(&mut self) {
        let mut imap = vec![0u8; self.fs.imap.len()];
        for ino in 1..VEXFS_FIRST_INO {
            bitmap::set(&mut imap, (ino - 1) as u64);
        }
        for &ino in self.live.iter().chain(self.clear.iter()) {
            bitmap::set(&mut imap, (ino - 1) as u64);
        }
        self.fs.imap = imap;
        // Blocks of inodes freed in this run stay taken until it ends.
        let mut bmap = self.claimed.clone();
        for (a, b) in bmap.iter_mut().zip(self.on_disk_bmap.iter()) {
            *a |= *b;
        }
        self.fs.bmap = bmap;
    }

    fn relink(&mut self, ino: u32, m: &InodeMem) -> io::Result<()> {
        let lf = self.ensure_lost_found()?;
        let name = format!("#{ino}");
        let ft = mode::file_type(m.mode).unwrap_or(VEXFS_FT_REG_FILE);
        self.fs.add_entry(lf, name.as_bytes(), ino, ft)?;
        self.wrote = true;
        *self.refs.entry(ino).or_default() += 1;
        if is_dir(m) {
            self.parent.insert(ino, lf);
        }
        if let Some(lm) = self.fs.read_inode(lf)? {
            self.slots.insert(lf, Slot::Valid(Box::new(lm)));
        }
        // New blocks of lost+found are claimed.
        for &b in &self.fs.new_blocks {
            bitmap::set(&mut self.claimed, b as u64);
        }
        Ok(())
    }

    /// Connectivity: every live inode has a name reachable from the root;
    /// every directory's '..' names its parent. Orphans are freed.
    fn pass4_connect(&mut self) -> io::Result<()> {
        let mut inos: Vec<u32> = self.live.iter().copied().filter(|&i| i >= VEXFS_FIRST_INO).collect();
        inos.sort_unstable();
        // Directories unreachable from the root (no parent chain to it).
        let reaches_root = |parent: &HashMap<u32, u32>, d: u32| -> bool {
            let mut cur = d;
            for _ in 0..100_000 {
                if cur == VEXFS_ROOT_INO {
                    return true;
                }
                match parent.get(&cur) {
                    Some(&p) => cur = p,
                    None => return false,
                }
            }
            false
        };
        for ino in inos {
            let m = match self.inode_mem(ino) {
                Some(m) => *m,
                None => continue,
            };
            let named = if is_dir(&m) {
                reaches_root(&self.parent, ino)
            } else {
                self.refs.get(&ino).copied().unwrap_or(0) > 0
            };
            if named {
                continue;
            }
            if is_dir(&m) && self.parent.contains_key(&ino) {
                // Part of a cycle of directories: break it at this one.
                self.parent.remove(&ino);
            }
            let what = format!("inode {ino} ({}, {} bytes)", type_name(m.mode), m.size);
            if m.links_count == 0 {
                if self.problem(format!("{what} is an orphan (unlinked while open at a crash); freeing it"), true) {
                    self.free_inode(ino)?;
                }
            } else if !self.bit(ino) {
                if self.problem(format!("free inode {ino} is not zero (a stale {}); zeroing it", type_name(m.mode)), true) {
                    self.free_inode(ino)?;
                } else {
                    self.live.remove(&ino);
                }
            } else if m.size == 0 && !is_dir(&m) {
                if self.problem(format!("{what} has no name; it is empty, clearing it"), true) {
                    self.free_inode(ino)?;
                }
            } else if self.problem(format!("{what} has no name; moving it to /lost+found"), true) {
                self.relink(ino, &m)?;
            }
        }
        // '..' of every directory names its parent.
        let mut dirs: Vec<u32> = self.dotdot.keys().copied().collect();
        dirs.sort_unstable();
        for d in dirs {
            if !self.live.contains(&d) {
                continue;
            }
            let (t, b, off) = self.dotdot[&d];
            let want = if d == VEXFS_ROOT_INO { VEXFS_ROOT_INO } else { self.parent.get(&d).copied().unwrap_or(t) };
            if t != want {
                let msg = format!("directory {d} ({}): '..' is inode {t}, should be {want}", self.path_of(d));
                if self.problem(msg, true) {
                    let mut blk = self.fs.img.read_block(b as u64)?;
                    dir::retarget(&mut blk, d, off, want, VEXFS_FT_DIR).map_err(core_io)?;
                    self.write_block(b, &blk)?;
                    *self.refs.entry(want).or_default() += 1;
                } else {
                    *self.refs.entry(t).or_default() += 1;
                }
            } else {
                *self.refs.entry(t).or_default() += 1;
            }
        }
        Ok(())
    }

    fn free_inode(&mut self, ino: u32) -> io::Result<()> {
        if let Some(m) = self.inode_mem(ino).copied() {
            let dups = &self.dups;
            let mut mine = Vec::new();
            self.walk(ino, &m, &mut |p, ok| {
                if ok && !dups.contains(&p.phys) {
                    mine.push(p.phys);
                }
            })?;
            for b in mine {
                bitmap::clear(&mut self.claimed, b as u64);
                self.freed_blocks.push(b);
            }
        }
        self.live.remove(&ino);
        self.clear.insert(ino);
        Ok(())
    }

    // ---------------------------------------------------------- pass 5

    fn pass5_links(&mut self) -> io::Result<()> {
        let mut inos: Vec<u32> = self.live.iter().copied().filter(|&i| i == VEXFS_ROOT_INO || i >= VEXFS_FIRST_INO).collect();
        inos.sort_unstable();
        for ino in inos {
            let m = match self.inode_mem(ino) {
                Some(m) => *m,
                None => continue,
            };
            let want = self.refs.get(&ino).copied().unwrap_or(0);
            if want != m.links_count && want > 0 {
                let msg = format!("inode {ino} ({}): link count {} but {want} names found", type_name(m.mode), m.links_count);
                if self.problem(msg, true) {
                    let mut m2 = m;
                    m2.links_count = want.min(u16::MAX as u32);
                    self.write_inode(ino, &m2)?;
                }
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------- pass 6

    fn pass6_bitmaps(&mut self) -> io::Result<()> {
        let g = self.geom;
        // Zero cleared inodes.
        let mut clear: Vec<u32> = self.clear.iter().copied().collect();
        clear.sort_unstable();
        if self.repairing() {
            for ino in &clear {
                self.fs.write_inode_raw(*ino, &[0u8; ISIZE])?;
                self.wrote = true;
            }
        }
        let mut imap = vec![0u8; self.on_disk_imap.len()];
        for ino in 1..VEXFS_FIRST_INO {
            bitmap::set(&mut imap, (ino - 1) as u64);
        }
        for &ino in &self.live {
            bitmap::set(&mut imap, (ino - 1) as u64);
        }
        // lost+found was allocated through Fs.
        for &ino in &self.fs.new_inodes {
            bitmap::set(&mut imap, (ino - 1) as u64);
        }
        let bmap = self.claimed.clone();
        let diff = |name: &str, disk: &[u8], want: &[u8], nbits: u64, base: u64| -> Option<String> {
            let mut unmarked = Vec::new();
            let mut unused = Vec::new();
            for (i, (a, b)) in disk.iter().zip(want.iter()).enumerate() {
                if a == b {
                    continue;
                }
                for bit in 0..8u64 {
                    let n = i as u64 * 8 + bit;
                    if n >= nbits {
                        break;
                    }
                    let (da, wb) = (a >> bit & 1, b >> bit & 1);
                    if da == 0 && wb == 1 {
                        unmarked.push(n + base);
                    } else if da == 1 && wb == 0 {
                        unused.push(n + base);
                    }
                }
            }
            if unmarked.is_empty() && unused.is_empty() {
                return None;
            }
            let show = |v: &[u64]| {
                let s: Vec<String> = v.iter().take(8).map(|x| x.to_string()).collect();
                format!("{}{}", s.join(" "), if v.len() > 8 { " ..." } else { "" })
            };
            let mut parts = Vec::new();
            if !unmarked.is_empty() {
                parts.push(format!("{} in use but marked free ({})", unmarked.len(), show(&unmarked)));
            }
            if !unused.is_empty() {
                parts.push(format!("{} marked in use but free ({})", unused.len(), show(&unused)));
            }
            Some(format!("{name} bitmap differs from actual usage: {}", parts.join("; ")))
        };
        // What fsck itself allocated (lost+found) is not a bitmap error.
        let mut imap_cmp = imap.clone();
        for &ino in &self.fs.new_inodes {
            if bitmap::test(&self.on_disk_imap, (ino - 1) as u64) == Some(false) {
                bitmap::clear(&mut imap_cmp, (ino - 1) as u64);
            }
        }
        let mut bmap_cmp = bmap.clone();
        for &b in &self.fs.new_blocks {
            if bitmap::test(&self.on_disk_bmap, b as u64) == Some(false) {
                bitmap::clear(&mut bmap_cmp, b as u64);
            }
        }
        // Nor is what it freed (orphans, cleared inodes): reported already.
        for &ino in &self.clear {
            if bitmap::test(&self.on_disk_imap, (ino - 1) as u64) == Some(true) {
                bitmap::set(&mut imap_cmp, (ino - 1) as u64);
            }
        }
        for &b in &self.freed_blocks {
            if bitmap::test(&self.on_disk_bmap, b as u64) == Some(true) {
                bitmap::set(&mut bmap_cmp, b as u64);
            }
        }
        if let Some(msg) = diff("inode", &self.on_disk_imap, &imap_cmp, g.inodes_count as u64, 1) {
            self.problem(msg, true);
        }
        if let Some(msg) = diff("block", &self.on_disk_bmap, &bmap_cmp, g.blocks_count, 0) {
            self.problem(msg, true);
        }
        let used_inodes = bitmap::count_set(&imap, g.inodes_count as u64);
        let used_blocks = bitmap::count_set(&bmap, g.blocks_count);
        let free_inodes = g.inodes_count as u64 - used_inodes;
        let free_blocks = g.blocks_count - used_blocks;
        let hints_wrong = free_inodes != g.free_inodes_hint as u64 || free_blocks != g.free_blocks_hint;
        if hints_wrong {
            self.note(format!(
                "superblock free counts (blocks {}, inodes {}) differ from the bitmaps (blocks {free_blocks}, inodes {free_inodes}); \
                 they are hints the kernel recounts at mount",
                g.free_blocks_hint, g.free_inodes_hint
            ));
        }
        let mut state = g.state;
        if state & VEXFS_STATE_ERROR != 0 && self.problem("the filesystem is marked as having errors".into(), true) {
            state &= !VEXFS_STATE_ERROR;
        }
        if state & VEXFS_STATE_CLEAN == 0 {
            self.note("the filesystem was not cleanly unmounted".into());
        }
        if self.repairing() && (self.wrote || hints_wrong || self.report.fixed > 0 || state != g.state) {
            if self.report.left == 0 {
                state |= VEXFS_STATE_CLEAN;
            } else {
                state |= VEXFS_STATE_ERROR;
            }
            self.fs.imap = imap;
            self.fs.bmap = bmap;
            self.fs.geom.state = state;
            self.fs.flush()?;
        }
        say!(
            self,
            "{}: {}/{} inodes, {}/{} blocks",
            self.fs.img.path().display(),
            used_inodes,
            g.inodes_count,
            used_blocks,
            g.blocks_count
        );
        Ok(())
    }

    fn run(&mut self) -> io::Result<()> {
        if !self.pass0_journal()? {
            return Ok(());
        }
        self.pass1_inodes()?;
        if !self.pass1_classify()? {
            return Ok(());
        }
        self.pass1_indirect()?;
        self.pass2_dirs()?;
        self.pass3_blocks()?;
        self.pass4_connect()?;
        self.pass5_links()?;
        self.pass6_bitmaps()?;
        Ok(())
    }
}

fn core_io(e: CoreError) -> io::Error {
    io::Error::other(format!("{e:?}"))
}

fn superblock_uuid(block: &[u8]) -> Option<[u8; 16]> {
    let off = core::mem::offset_of!(vexfs_super_block, s_uuid);
    block.get(off..off + 16)?.try_into().ok()
}

/// Check the volume at `path`; messages go to `out`.
pub fn check(path: &Path, opts: FsckOptions, out: &mut dyn Write) -> FsckReport {
    let shown = path.display().to_string();
    let writable = opts.repair == Repair::Yes;
    let mut report = FsckReport::default();
    let img = match Image::open(path, writable) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(out, "fsck.vexfs: {shown}: cannot open{}: {e}", if writable { " for writing" } else { "" });
            report.exit_code = EXIT_OPERATIONAL;
            return report;
        }
    };
    let block0 = match img.read_block(0) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(out, "fsck.vexfs: {shown}: cannot read the superblock: {e}");
            report.exit_code = EXIT_OPERATIONAL;
            return report;
        }
    };
    let mut why = String::new();
    if superblock::validate(&block0, img.blocks(), &mut why).is_err() {
        let magic = u32::from_le_bytes([block0[0], block0[1], block0[2], block0[3]]);
        report.problems.push(format!("superblock: {why}"));
        if magic != VEXFS_MAGIC {
            let _ = writeln!(out, "fsck.vexfs: {shown}: not a VexFS filesystem: {why}");
            report.exit_code = EXIT_OPERATIONAL;
        } else {
            let _ = writeln!(out, "fsck.vexfs: {shown}: the superblock is damaged: {why}; cannot check further");
            report.left = 1;
            report.exit_code = EXIT_UNCORRECTED;
        }
        return report;
    }
    let fs = match Fs::open(img) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(out, "fsck.vexfs: {shown}: {e}");
            report.exit_code = EXIT_OPERATIONAL;
            return report;
        }
    };
    let geom = fs.geom;
    let on_disk_imap = fs.imap.clone();
    let on_disk_bmap = fs.bmap.clone();
    let mut c = Checker {
        fs,
        opts,
        out,
        report,
        geom,
        slots: HashMap::new(),
        live: HashSet::new(),
        clear: HashSet::new(),
        refs: HashMap::new(),
        parent: HashMap::new(),
        dotdot: HashMap::new(),
        claimed: Vec::new(),
        dups: HashSet::new(),
        lost_found: None,
        on_disk_imap,
        on_disk_bmap,
        freed_blocks: Vec::new(),
        ind_judged: HashSet::new(),
        wrote: false,
    };
    let res = c.run();
    let mut report = std::mem::take(&mut c.report);
    if let Err(e) = res {
        let _ = writeln!(c.out, "fsck.vexfs: {shown}: I/O error: {e}");
        report.exit_code = EXIT_OPERATIONAL;
        return report;
    }
    if c.wrote {
        let _ = c.fs.img.sync();
    }
    report.exit_code = if report.left > 0 {
        EXIT_UNCORRECTED
    } else if report.fixed > 0 {
        EXIT_CORRECTED
    } else {
        EXIT_OK
    };
    report
}
