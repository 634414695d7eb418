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
//!    reserved inodes 1, 6..10 must be zero; a free inode must be zero.
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
//!    not repaired), i_blocks (fixed); names blocks (link_dirs) claimed
//!    as their owners' blocks after every block map: one a map or another
//!    names block also claims loses its pointer (rebuilt in pass 5c).
//! 4. connectivity: inodes with no name (empty files cleared, others moved
//!    to /lost+found, created when missing), unreachable directories (to
//!    /lost+found), orphans (links 0, no name: freed), '..' (fixed).
//! 5. link counts (names incl. '.' and '..'; fixed).
//! 5b. the vector store (format 2): every file's chunk-set fields (only
//!    regular files with HAS_VECTOR have them; count 1..=16384, the fs
//!    dimension), every slot of a set allocated in the slot bitmap (inode
//!    5) with a record (inode 3) that decodes and names the file, its
//!    generation and the chunk index; a damaged set is dropped whole,
//!    allocated slots no set covers are freed; the persisted graph
//!    (inode 4), when current, has live nodes only at slots owned by their
//!    key, and the int8 quantiser's copy after it is none or whole and of
//!    its generation (damaged: zeroed; the kernel trains a new one). Any
//!    other repair bumps the vector generation: the kernel rebuilds the
//!    graph at the next mount. Then the index summary (COMPAT_INDEX_SUMMARY,
//!    summary.rs), when a reader would trust it: its live-slot, file and
//!    stale-file counts against the ones counted here (wrong: rewritten).
//! 5c. names blocks (RO_COMPAT_LINK_DIRS): every non-directory with two or
//!    more names has one that checks (owner, checksum, order) and lists
//!    exactly the (directory, names) pairs pass 2 found (missing, damaged
//!    or wrong: rebuilt from them, a block allocated when missing), and its
//!    i_parent is one of those directories (else set to the lowest); one
//!    with a single name has none (freed) and its i_parent is that name's
//!    directory (set). Without the feature any i_names_block is zeroed.
//!    Every directory's i_parent is its parent (set), with or without it.
//! 6. bitmaps against actual usage (rewritten), superblock free counts
//!    (hints: noted with -v, rewritten by -y), the ERROR state (cleared);
//!    a superblock -y writes carries the index summary of the volume as
//!    it leaves it, stamped with the final vector generation (none when
//!    errors are left).
//!
//! Each pass is its own file (pass0.rs .. pass6.rs, 1b in pass1.rs), as in
//! e2fsck; this one holds the checker's state, reporting, the block-map walk
//! every pass uses, the order of the passes and `check`.
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::Path;

use vexfs_core::error::Error as CoreError;
use vexfs_core::format::checksum::crc32c_skipping;
use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::{data_block_ok, InodeMem};
use vexfs_core::format::superblock::{self, Geom};
use vexfs_core::format::*;
use vexfs_core::format::{bitmap, bmap, dir, dx, inode, journal, names};

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
    /// For each non-directory, the directory of each of its names (one
    /// element per entry, in scan order): what pass 5c holds names blocks
    /// and i_parent against.
    name_dirs: HashMap<u32, Vec<u32>>,
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
    /// The vector store's counts as this run leaves the volume (pass 5b),
    /// for the index summary pass 6 records.
    index_after: Option<summary::StoreCounts>,
    wrote: bool,
}

macro_rules! say {
    ($self:expr, $($arg:tt)*) => {{
        let _ = writeln!($self.out, $($arg)*);
    }};
}

mod pass0;
mod pass1;
mod pass2;
mod pass3;
mod pass4;
mod pass5;
mod pass5b;
mod pass5c;
mod pass6;
mod summary;

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

    /// The volume keeps names blocks (RO_COMPAT_LINK_DIRS).
    fn link_dirs(&self) -> bool {
        self.geom.feature_ro_compat & VEXFS_FEATURE_RO_COMPAT_LINK_DIRS != 0
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
        self.pass5b_vectors()?;
        self.pass5c_names()?;
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
        let off = core::mem::offset_of!(vexfs_super_block, s_feature_incompat);
        let incompat = u32::from_le_bytes([block0[off], block0[off + 1], block0[off + 2], block0[off + 3]]);
        if magic != VEXFS_MAGIC {
            let _ = writeln!(out, "fsck.vexfs: {shown}: not a VexFS filesystem: {why}");
            report.exit_code = EXIT_OPERATIONAL;
        } else if incompat & VEXFS_FEATURE_INCOMPAT_VINDEX2 == 0 && why.contains("vector store format 1") {
            // Not damage: a format this fsck does not check (the core's
            // message says to reformat).
            let _ = writeln!(out, "fsck.vexfs: {shown}: {why}");
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
        name_dirs: HashMap::new(),
        dotdot: HashMap::new(),
        claimed: Vec::new(),
        dups: HashSet::new(),
        lost_found: None,
        on_disk_imap,
        on_disk_bmap,
        freed_blocks: Vec::new(),
        ind_judged: HashSet::new(),
        index_after: None,
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
