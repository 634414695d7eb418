//! A small host-side VexFS writer over an image: allocate inodes and
//! blocks from in-memory bitmaps, map and grow files, add directory
//! entries, keep hard-linked files' names blocks (RO_COMPAT_LINK_DIRS) and
//! i_parent as the format requires. fsck uses it for lost+found; tests use
//! it to build trees (and then damage them on purpose). It is not
//! crash-safe and not concurrent: the volume must not be mounted.
use std::io;

use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::superblock::{self, Geom, IndexSummary, SbUpdate};
use vexfs_core::format::*;
use vexfs_core::format::{bitmap, bmap, dir, dx, inode, names};

use super::image::Image;
use super::mkfs::now_sec;

fn err(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

fn core_err(what: &str, e: vexfs_core::error::Error) -> io::Error {
    err(format!("{what}: {e:?}"))
}

/// An open volume with its bitmaps in memory.
pub struct Fs {
    pub img: Image,
    pub geom: Geom,
    pub sb_block: Vec<u8>,
    pub imap: Vec<u8>,
    pub bmap: Vec<u8>,
    /// Inodes allocated through this Fs since it was opened.
    pub new_inodes: Vec<u32>,
    /// Blocks allocated through this Fs since it was opened.
    pub new_blocks: Vec<u32>,
    /// Convert one-block directories that fill up to hash-indexed ones (on
    /// by default; tests turn it off to build large linear directories).
    pub dir_index: bool,
}

impl Fs {
    /// Open and validate; loads both bitmaps.
    pub fn open(img: Image) -> io::Result<Fs> {
        let sb_block = img.read_block(0)?;
        let mut why = String::new();
        let geom = superblock::validate(&sb_block, img.blocks(), &mut why)
            .map_err(|_| err(format!("bad superblock: {why}")))?;
        let mut imap = vec![0u8; geom.inode_bitmap_blocks as usize * BLOCK_SIZE];
        img.read_blocks(geom.inode_bitmap_start as u64, &mut imap)?;
        let mut bmap = vec![0u8; geom.block_bitmap_blocks as usize * BLOCK_SIZE];
        img.read_blocks(geom.block_bitmap_start as u64, &mut bmap)?;
        Ok(Fs { img, geom, sb_block, imap, bmap, new_inodes: Vec::new(), new_blocks: Vec::new(), dir_index: true })
    }

    /// Write the bitmaps and the superblock (free counts from the bitmaps).
    pub fn flush(&mut self) -> io::Result<()> {
        let g = &self.geom;
        self.img.write_blocks(g.inode_bitmap_start as u64, &self.imap)?;
        self.img.write_blocks(g.block_bitmap_start as u64, &self.bmap)?;
        let free_blocks = g.blocks_count - bitmap::count_set(&self.bmap, g.blocks_count);
        let free_inodes = g.inodes_count as u64 - bitmap::count_set(&self.imap, g.inodes_count as u64);
        let u = SbUpdate {
            state: g.state,
            free_blocks,
            free_inodes: free_inodes as u32,
            now_sec: now_sec(),
            mount_delta: 0,
            vector_generation: g.vector_generation,
            graph_generation: g.graph_generation,
            // Written only on a volume with COMPAT_INDEX_SUMMARY; callers
            // that change the vector store set geom.index_* (mkfs -d, fsck).
            index: IndexSummary::of(g),
        };
        superblock::update(&mut self.sb_block, &u).map_err(|e| core_err("superblock update", e))?;
        self.img.write_blocks(0, &self.sb_block)?;
        self.img.sync()
    }

    /// The raw 256 bytes of inode `ino`.
    pub fn read_inode_raw(&self, ino: u32) -> io::Result<Vec<u8>> {
        let (b, off) = inode::locate(&self.geom, ino).map_err(|e| core_err("inode number", e))?;
        let blk = self.img.read_block(b as u64)?;
        Ok(blk[off as usize..off as usize + VEXFS_INODE_SIZE as usize].to_vec())
    }

    /// Overwrite the raw bytes of inode `ino` (tests damage inodes this way).
    pub fn write_inode_raw(&self, ino: u32, raw: &[u8]) -> io::Result<()> {
        let (b, off) = inode::locate(&self.geom, ino).map_err(|e| core_err("inode number", e))?;
        let mut blk = self.img.read_block(b as u64)?;
        blk[off as usize..off as usize + VEXFS_INODE_SIZE as usize].copy_from_slice(raw);
        self.img.write_blocks(b as u64, &blk)
    }

    /// Decode inode `ino`; None when it is free (all zero).
    pub fn read_inode(&self, ino: u32) -> io::Result<Option<InodeMem>> {
        let raw = self.read_inode_raw(ino)?;
        let mut why = String::new();
        match inode::decode(&self.geom, &raw, ino, &mut why) {
            Ok(m) => Ok(Some(m)),
            Err(vexfs_core::error::Error::NotFound) => Ok(None),
            Err(e) => Err(err(format!("inode {ino}: {e:?}: {why}"))),
        }
    }

    pub fn write_inode(&self, ino: u32, m: &InodeMem) -> io::Result<()> {
        let mut raw = vec![0u8; VEXFS_INODE_SIZE as usize];
        inode::encode(m, ino, &mut raw).map_err(|e| core_err("inode encode", e))?;
        self.write_inode_raw(ino, &raw)
    }

    /// Allocate an inode number (bitmap only).
    pub fn alloc_inode(&mut self) -> io::Result<u32> {
        let n = bitmap::find_zero(&self.imap, (VEXFS_FIRST_INO - 1) as u64, self.geom.inodes_count as u64)
            .ok_or_else(|| err("no free inode"))?;
        bitmap::set(&mut self.imap, n);
        self.new_inodes.push(n as u32 + 1);
        Ok(n as u32 + 1)
    }

    /// Allocate a data block (bitmap only; the caller writes it).
    pub fn alloc_block(&mut self) -> io::Result<u32> {
        let n = bitmap::find_zero(&self.bmap, self.geom.data_start as u64, self.geom.blocks_count)
            .ok_or_else(|| err("no free block"))?;
        bitmap::set(&mut self.bmap, n);
        self.new_blocks.push(n as u32);
        Ok(n as u32)
    }

    /// Return data block `b` to the free pool (bitmap only).
    pub fn free_block(&mut self, b: u32) {
        bitmap::clear(&mut self.bmap, b as u64);
    }

    /// The volume keeps names blocks (RO_COMPAT_LINK_DIRS): hard-linked
    /// non-directories list their directories, i_parent is exact.
    pub fn link_dirs(&self) -> bool {
        self.geom.feature_ro_compat & VEXFS_FEATURE_RO_COMPAT_LINK_DIRS != 0
    }

    /// The names block of inode `ino`, checked against its link count
    /// before anything is counted into it.
    pub fn read_names(&self, ino: u32, m: &InodeMem) -> io::Result<Vec<u8>> {
        if m.names_block == 0 {
            return Err(err(format!("inode {ino}: {} links but no names block", m.links_count)));
        }
        let blk = self.img.read_block(m.names_block as u64)?;
        let mut why = String::new();
        names::check(&blk, ino, m.links_count, self.geom.inodes_count, &mut why)
            .map_err(|e| core_err(&format!("inode {ino}: names block {}: {why}", m.names_block), e))?;
        Ok(blk)
    }

    /// Indirect block `b` of inode `ino` at `level`, checked (owner, level,
    /// checksum) before any block number in it is followed.
    fn read_indirect(&self, ino: u32, b: u32, level: u32) -> io::Result<Vec<u8>> {
        let blk = self.img.read_block(b as u64)?;
        let mut why = String::new();
        bmap::indirect_check(&blk, ino, level, &mut why)
            .map_err(|e| core_err(&format!("inode {ino}: block {b}: {why}"), e))?;
        Ok(blk)
    }

    /// The block backing file block `iblock` of inode `ino`, 0 for a hole.
    pub fn bmap(&self, ino: u32, m: &InodeMem, iblock: u64) -> io::Result<u32> {
        let mut path = [0u32; 4];
        let depth = bmap::path(iblock, &mut path).map_err(|e| core_err("bmap", e))?;
        let mut b = m.block[path[0] as usize];
        for (i, &idx) in path[1..depth].iter().enumerate() {
            if b == 0 {
                return Ok(0);
            }
            let blk = self.read_indirect(ino, b, (depth - 1 - i) as u32)?;
            b = bmap::indirect_get(&blk, idx).unwrap_or(0);
        }
        Ok(b)
    }

    /// The block backing file block `iblock` of inode `ino`, allocating it
    /// (and any indirect blocks, formatted empty) when absent. Updates
    /// `m.blocks`.
    pub fn bmap_alloc(&mut self, ino: u32, m: &mut InodeMem, iblock: u64) -> io::Result<u32> {
        let mut path = [0u32; 4];
        let depth = bmap::path(iblock, &mut path).map_err(|e| core_err("bmap", e))?;
        let slot = path[0] as usize;
        if m.block[slot] == 0 {
            let nb = self.alloc_block()?;
            self.write_new_block(ino, nb, depth as u32 - 1)?;
            m.block[slot] = nb;
            m.blocks += (BLOCK_SIZE / 512) as u64;
        }
        let mut b = m.block[slot];
        for (i, &idx) in path[1..depth].iter().enumerate() {
            // b is an indirect block of this level; its children one below.
            let level = (depth - 1 - i) as u32;
            let mut blk = self.read_indirect(ino, b, level)?;
            let mut next = bmap::indirect_get(&blk, idx).unwrap_or(0);
            if next == 0 {
                next = self.alloc_block()?;
                self.write_new_block(ino, next, level - 1)?;
                bmap::indirect_set_sealed(&mut blk, idx, next).map_err(|e| core_err("indirect block", e))?;
                self.img.write_blocks(b as u64, &blk)?;
                m.blocks += (BLOCK_SIZE / 512) as u64;
            }
            b = next;
        }
        Ok(b)
    }

    /// Write a newly allocated block of inode `ino`: zeros for a data block
    /// (level 0), an empty sealed indirect block of `level` otherwise.
    fn write_new_block(&mut self, ino: u32, b: u32, level: u32) -> io::Result<()> {
        let mut blk = vec![0u8; BLOCK_SIZE];
        if level > 0 {
            bmap::indirect_init(&mut blk, ino, level).map_err(|e| core_err("indirect block", e))?;
        }
        self.img.write_blocks(b as u64, &blk)
    }

    /// A new inode of `mode` with one link and times now (not yet named).
    pub fn new_inode(&mut self, imode: u32) -> io::Result<(u32, InodeMem)> {
        let ino = self.alloc_inode()?;
        let now = now_sec() as i64;
        let mut m = InodeMem::default();
        m.mode = imode;
        m.links_count = 1;
        m.atime = now;
        m.mtime = now;
        m.ctime = now;
        m.crtime = now;
        m.generation = 1;
        Ok((ino, m))
    }

    /// Write `data` at byte `offset` of a regular file, growing it.
    pub fn write_data(&mut self, ino: u32, m: &mut InodeMem, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut pos = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let iblock = pos / BLOCK_SIZE as u64;
            let within = (pos % BLOCK_SIZE as u64) as usize;
            let n = rest.len().min(BLOCK_SIZE - within);
            let b = self.bmap_alloc(ino, m, iblock)?;
            let mut blk = self.img.read_block(b as u64)?;
            blk[within..within + n].copy_from_slice(&rest[..n]);
            self.img.write_blocks(b as u64, &blk)?;
            pos += n as u64;
            rest = &rest[n..];
        }
        m.size = m.size.max(offset + data.len() as u64);
        Ok(())
    }

    /// The disk block of file block `i` of directory `d` (a hole is damage).
    fn dir_block_nr(&self, d: &InodeMem, dir_ino: u32, i: u32) -> io::Result<u32> {
        match self.bmap(dir_ino, d, i as u64)? {
            0 => Err(err(format!("directory {dir_ino}: block {i} is a hole"))),
            b => Ok(b),
        }
    }

    /// Drive a hash-index walk until it names a leaf (Some) or ends (None).
    fn dx_walk(&self, d: &InodeMem, dir_ino: u32, p: &mut dx::Path, mut rc: i32) -> io::Result<Option<u32>> {
        while rc == dx::READ {
            let blk = self.img.read_block(self.dir_block_nr(d, dir_ino, p.next_block)? as u64)?;
            let mut why = String::new();
            rc = dx::descend(p, &blk, &mut why).map_err(|e| core_err(&format!("directory {dir_ino} index: {why}"), e))?;
        }
        Ok(if rc == dx::LEAF { Some(p.next_block) } else { None })
    }

    /// Start a walk for `name` in indexed directory `d`.
    fn dx_probe(&self, d: &InodeMem, dir_ino: u32, p: &mut dx::Path, name: &[u8]) -> io::Result<Option<u32>> {
        let root = self.img.read_block(self.dir_block_nr(d, dir_ino, 0)? as u64)?;
        let nblocks = (d.size / BLOCK_SIZE as u64) as u32;
        let mut why = String::new();
        let rc = dx::probe_name(p, &root, dir_ino, nblocks, d.dir_depth, name, &mut why)
            .map_err(|e| core_err(&format!("directory {dir_ino} index root: {why}"), e))?;
        self.dx_walk(d, dir_ino, p, rc)
    }

    /// Find `name` in directory `dir_ino`: (block number, entry).
    pub fn lookup(&self, dir_ino: u32, name: &[u8]) -> io::Result<Option<(u32, dir::DirentView)>> {
        let d = self.read_inode(dir_ino)?.ok_or_else(|| err(format!("directory {dir_ino} is free")))?;
        if d.dir_depth != 0 && name != b"." && name != b".." {
            let mut p = dx::Path::default();
            let mut leaf = self.dx_probe(&d, dir_ino, &mut p, name)?;
            while let Some(l) = leaf {
                let b = self.dir_block_nr(&d, dir_ino, l)?;
                let blk = self.img.read_block(b as u64)?;
                if let Some(e) = dir::find(&blk, name).map_err(|e| core_err("directory block", e))? {
                    return Ok(Some((b, e)));
                }
                let rc = dx::next_leaf(&mut p, false).map_err(|e| core_err("directory index", e))?;
                leaf = self.dx_walk(&d, dir_ino, &mut p, rc)?;
            }
            return Ok(None);
        }
        // Linear, or "." and ".." (always in block 0).
        let nblocks = if d.dir_depth != 0 { 1 } else { d.size / BLOCK_SIZE as u64 };
        for i in 0..nblocks {
            let b = self.bmap(dir_ino, &d, i)?;
            if b == 0 {
                continue;
            }
            let blk = self.img.read_block(b as u64)?;
            if let Some(e) = dir::find(&blk, name).map_err(|e| core_err("directory block", e))? {
                return Ok(Some((b, e)));
            }
        }
        Ok(None)
    }

    /// Set a ro_compat feature bit in the superblock (written by `flush`).
    pub fn set_ro_compat(&mut self, bit: u32) {
        if self.geom.feature_ro_compat & bit != 0 {
            return;
        }
        self.geom.feature_ro_compat |= bit;
        let off = core::mem::offset_of!(vexfs_super_block, s_feature_ro_compat);
        let v = u32::from_le_bytes(self.sb_block[off..off + 4].try_into().unwrap_or([0; 4])) | bit;
        self.sb_block[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Add an entry to directory `dir_ino`. A linear directory grows by a
    /// block when no block has room, except a one-block directory, which
    /// is converted to a hash-indexed one (as the kernel does); an indexed
    /// one splits the leaf the name hashes to. Does not touch the target's
    /// link count.
    pub fn add_entry(&mut self, dir_ino: u32, name: &[u8], ino: u32, file_type: u32) -> io::Result<()> {
        let mut d = self.read_inode(dir_ino)?.ok_or_else(|| err(format!("directory {dir_ino} is free")))?;
        if d.dir_depth != 0 {
            return self.dx_add(&mut d, dir_ino, name, ino, file_type);
        }
        let nblocks = d.size / BLOCK_SIZE as u64;
        for i in 0..nblocks {
            let b = self.bmap(dir_ino, &d, i)?;
            if b == 0 {
                continue;
            }
            let mut blk = self.img.read_block(b as u64)?;
            match dir::add(&mut blk, dir_ino, name, ino, file_type) {
                Ok(_) => return self.img.write_blocks(b as u64, &blk),
                Err(vexfs_core::error::Error::NoSpace) => continue,
                Err(e) => return Err(core_err("directory add", e)),
            }
        }
        if nblocks == 1 && self.dir_index {
            return self.dx_convert(&mut d, dir_ino, name, ino, file_type);
        }
        let b = self.bmap_alloc(dir_ino, &mut d, nblocks)?;
        let mut blk = vec![0u8; BLOCK_SIZE];
        dir::init(&mut blk, dir_ino).map_err(|e| core_err("dir init", e))?;
        dir::add(&mut blk, dir_ino, name, ino, file_type).map_err(|e| core_err("dir add", e))?;
        self.img.write_blocks(b as u64, &blk)?;
        d.size += BLOCK_SIZE as u64;
        self.write_inode(dir_ino, &d)
    }

    /// Convert a full one-block directory to an indexed one, adding `name`.
    fn dx_convert(&mut self, d: &mut InodeMem, dir_ino: u32, name: &[u8], ino: u32, file_type: u32) -> io::Result<()> {
        let b0 = self.dir_block_nr(d, dir_ino, 0)?;
        let mut block0 = self.img.read_block(b0 as u64)?;
        let mut l1 = vec![0u8; BLOCK_SIZE];
        let mut l2 = vec![0u8; BLOCK_SIZE];
        let seed_bytes = super::mkfs::random_uuid();
        let mut seed = [0u32; 4];
        for (w, c) in seed.iter_mut().zip(seed_bytes.chunks_exact(4)) {
            *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        let mut slots = vec![dx::Slot::default(); dx::LEAF_MAX + 1];
        dx::convert_add(&mut block0, &mut l1, &mut l2, dir_ino, VEXFS_DX_HASH_SIPHASH24, &seed, name, ino, file_type, &mut slots)
            .map_err(|e| core_err("directory index conversion", e))?;
        let n1 = self.bmap_alloc(dir_ino, d, 1)?;
        let n2 = self.bmap_alloc(dir_ino, d, 2)?;
        self.img.write_blocks(n1 as u64, &l1)?;
        self.img.write_blocks(n2 as u64, &l2)?;
        self.img.write_blocks(b0 as u64, &block0)?;
        d.size = 3 * BLOCK_SIZE as u64;
        d.dir_depth = 1;
        self.set_ro_compat(VEXFS_FEATURE_RO_COMPAT_DIR_INDEX);
        self.write_inode(dir_ino, d)
    }

    /// Add `name` to an indexed directory, splitting its leaf when full.
    fn dx_add(&mut self, d: &mut InodeMem, dir_ino: u32, name: &[u8], ino: u32, file_type: u32) -> io::Result<()> {
        let mut p = dx::Path::default();
        let leaf = self.dx_probe(d, dir_ino, &mut p, name)?.ok_or_else(|| err("directory index walk ended"))?;
        let leaf_nr = self.dir_block_nr(d, dir_ino, leaf)?;
        let mut leaf_blk = self.img.read_block(leaf_nr as u64)?;
        match dx::leaf_add(&p, &mut leaf_blk, name, ino, file_type) {
            Ok(_) => return self.img.write_blocks(leaf_nr as u64, &leaf_blk),
            Err(vexfs_core::error::Error::NoSpace) => {}
            Err(e) => return Err(core_err("directory add", e)),
        }
        let need = dx::split_need(&p).map_err(|e| core_err("directory index full", e))? as usize;
        let first = (d.size / BLOCK_SIZE as u64) as u32;
        let mut frame_nrs = Vec::new();
        let mut frames_v = Vec::new();
        for f in &p.frames[..p.nframes as usize] {
            let nr = self.dir_block_nr(d, dir_ino, f.block)?;
            frame_nrs.push(nr);
            frames_v.push(self.img.read_block(nr as u64)?);
        }
        let mut fresh_v = vec![vec![0u8; BLOCK_SIZE]; need];
        let mut slots = vec![dx::Slot::default(); dx::LEAF_MAX + 1];
        {
            let mut frames: Vec<&mut [u8]> = frames_v.iter_mut().map(|v| v.as_mut_slice()).collect();
            let mut fresh: Vec<&mut [u8]> = fresh_v.iter_mut().map(|v| v.as_mut_slice()).collect();
            let mut bufs = dx::SplitBufs {
                frames: &mut frames,
                leaf: &mut leaf_blk,
                fresh: &mut fresh,
                fresh_first: first,
                slots: &mut slots,
            };
            dx::split_add(&mut p, &mut bufs, name, ino, file_type).map_err(|e| core_err("directory split", e))?;
        }
        for (i, blk) in fresh_v.iter().enumerate() {
            let nr = self.bmap_alloc(dir_ino, d, first as u64 + i as u64)?;
            self.img.write_blocks(nr as u64, blk)?;
        }
        for (nr, blk) in frame_nrs.iter().zip(frames_v.iter()) {
            self.img.write_blocks(*nr as u64, blk)?;
        }
        self.img.write_blocks(leaf_nr as u64, &leaf_blk)?;
        d.size += (need * BLOCK_SIZE) as u64;
        d.dir_depth = p.levels;
        self.write_inode(dir_ino, d)
    }

    /// mkdir `name` in `parent`: returns the new directory's inode number.
    pub fn mkdir(&mut self, parent: u32, name: &[u8]) -> io::Result<u32> {
        let (ino, mut m) = self.new_inode(mode::S_IFDIR | 0o755)?;
        m.links_count = 2;
        m.parent = parent;
        let b = self.bmap_alloc(ino, &mut m, 0)?;
        let mut blk = vec![0u8; BLOCK_SIZE];
        dir::init(&mut blk, ino)
            .and_then(|_| dir::add(&mut blk, ino, b".", ino, VEXFS_FT_DIR))
            .and_then(|_| dir::add(&mut blk, ino, b"..", parent, VEXFS_FT_DIR))
            .map_err(|e| core_err("mkdir", e))?;
        self.img.write_blocks(b as u64, &blk)?;
        m.size = BLOCK_SIZE as u64;
        self.write_inode(ino, &m)?;
        self.add_entry(parent, name, ino, VEXFS_FT_DIR)?;
        let mut p = self.read_inode(parent)?.ok_or_else(|| err("parent is free"))?;
        p.links_count += 1;
        self.write_inode(parent, &p)?;
        Ok(ino)
    }

    /// Create a regular file `name` in `parent` holding `data`.
    pub fn create_file(&mut self, parent: u32, name: &[u8], data: &[u8]) -> io::Result<u32> {
        let (ino, mut m) = self.new_inode(mode::S_IFREG | 0o644)?;
        // Its one name is in `parent`: i_parent is exact.
        m.parent = parent;
        if !data.is_empty() {
            self.write_data(ino, &mut m, 0, data)?;
        }
        self.write_inode(ino, &m)?;
        self.add_entry(parent, name, ino, VEXFS_FT_REG_FILE)?;
        Ok(ino)
    }

    /// A hard link: another name for `ino` in `parent`. On a volume with
    /// link_dirs a non-directory's second name brings a names block
    /// listing i_parent (the directory of the first) and `parent`; later
    /// names are counted into it. The block is prepared before the entry is
    /// added, so a refused link (EMLINK) leaves the volume as it was.
    pub fn link(&mut self, parent: u32, name: &[u8], ino: u32) -> io::Result<()> {
        let mut m = self.read_inode(ino)?.ok_or_else(|| err(format!("link target inode {ino} is free")))?;
        let ft = mode::file_type(m.mode).unwrap_or(VEXFS_FT_REG_FILE);
        if m.links_count >= u16::MAX as u32 {
            return Err(err(format!("inode {ino}: {} links already (EMLINK)", m.links_count)));
        }
        let mut names_blk = None;
        if self.link_dirs() && ft != VEXFS_FT_DIR {
            match m.links_count {
                // Named again after losing every name: this is its only one.
                0 => m.parent = parent,
                1 => {
                    if m.names_block != 0 {
                        return Err(err(format!("inode {ino}: one link but names block {}", m.names_block)));
                    }
                    if m.parent == 0 {
                        return Err(err(format!(
                            "inode {ino}: one link but i_parent is 0: the directory of its first name is unknown"
                        )));
                    }
                    let mut blk = vec![0u8; BLOCK_SIZE];
                    names::init(&mut blk, ino, &[m.parent, parent]).map_err(|e| core_err("names block", e))?;
                    names_blk = Some(blk);
                }
                _ => {
                    let mut blk = self.read_names(ino, &m)?;
                    names::add(&mut blk, ino, parent).map_err(|e| match e {
                        vexfs_core::error::Error::NoSpace => err(format!(
                            "inode {ino}: names in {} directories already; cannot link it into directory {parent} (EMLINK)",
                            names::NAMES_MAX
                        )),
                        e => core_err(&format!("inode {ino}: names block"), e),
                    })?;
                    names_blk = Some(blk);
                }
            }
        }
        self.add_entry(parent, name, ino, ft)?;
        if let Some(blk) = names_blk {
            if m.names_block == 0 {
                m.names_block = self.alloc_block()?;
            }
            self.img.write_blocks(m.names_block as u64, &blk)?;
        }
        m.links_count += 1;
        self.write_inode(ino, &m)
    }

    /// Remove the name `name` in `dir_ino` of a non-directory that keeps at
    /// least one other name: the link count drops and, on a volume with
    /// link_dirs, the names block follows; when one name is left the block
    /// is freed and i_parent names that name's directory (it also moves
    /// when `dir_ino` held its last name listed in i_parent). Freeing a file
    /// with its last name is not this writer's job; `remove_entry` leaves
    /// such damage for fsck tests on purpose. Returns the inode number.
    pub fn unlink(&mut self, dir_ino: u32, name: &[u8]) -> io::Result<u32> {
        let (_, e) = self.lookup(dir_ino, name)?.ok_or_else(|| {
            err(format!("directory {dir_ino}: no entry '{}'", String::from_utf8_lossy(name)))
        })?;
        let ino = e.ino;
        let mut m = self.read_inode(ino)?.ok_or_else(|| err(format!("inode {ino} is free")))?;
        if mode::file_type(m.mode) == Some(VEXFS_FT_DIR) || m.links_count < 2 {
            return Err(err(format!(
                "inode {ino} ({} links): only a non-directory that keeps another name can be unlinked here",
                m.links_count
            )));
        }
        let mut names_blk = None;
        if self.link_dirs() {
            let mut blk = self.read_names(ino, &m)?;
            names::remove(&mut blk, ino, dir_ino)
                .map_err(|e| core_err(&format!("inode {ino}: names block lists no name in directory {dir_ino}"), e))?;
            names_blk = Some(blk);
        }
        self.remove_entry(dir_ino, name)?;
        m.links_count -= 1;
        if let Some(blk) = names_blk {
            let listed = |d: u32| (0..names::count(&blk) as usize).any(|i| names::entry(&blk, i).is_some_and(|(x, _)| x == d));
            if m.links_count == 1 {
                m.parent = names::entry(&blk, 0).map(|(d, _)| d).unwrap_or(0);
                self.free_block(m.names_block);
                m.names_block = 0;
            } else {
                if !listed(m.parent) {
                    m.parent = names::entry(&blk, 0).map(|(d, _)| d).unwrap_or(0);
                }
                self.img.write_blocks(m.names_block as u64, &blk)?;
            }
        }
        self.write_inode(ino, &m)?;
        Ok(ino)
    }

    /// Remove the entry `name` from `dir_ino` (the target inode is untouched).
    pub fn remove_entry(&mut self, dir_ino: u32, name: &[u8]) -> io::Result<u32> {
        let (b, e) = self.lookup(dir_ino, name)?.ok_or_else(|| err("no such entry"))?;
        let mut blk = self.img.read_block(b as u64)?;
        dir::remove(&mut blk, dir_ino, e.rec_offset).map_err(|e| core_err("dir remove", e))?;
        self.img.write_blocks(b as u64, &blk)?;
        Ok(e.ino)
    }
}
