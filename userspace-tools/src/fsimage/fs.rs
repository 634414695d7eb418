//! A small host-side VexFS writer over an image: allocate inodes and
//! blocks from in-memory bitmaps, map and grow files, add directory
//! entries. fsck uses it for lost+found; tests use it to build trees (and
//! then damage them on purpose). It is not crash-safe and not concurrent:
//! the volume must not be mounted.
use std::io;

use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::superblock::{self, Geom, SbUpdate};
use vexfs_core::format::*;
use vexfs_core::format::{bitmap, bmap, dir, inode};

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
        Ok(Fs { img, geom, sb_block, imap, bmap, new_inodes: Vec::new(), new_blocks: Vec::new() })
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

    /// The block backing file block `iblock`, 0 for a hole.
    pub fn bmap(&self, m: &InodeMem, iblock: u64) -> io::Result<u32> {
        let mut path = [0u32; 4];
        let depth = bmap::path(iblock, &mut path).map_err(|e| core_err("bmap", e))?;
        let mut b = m.block[path[0] as usize];
        for &idx in &path[1..depth] {
            if b == 0 {
                return Ok(0);
            }
            let blk = self.img.read_block(b as u64)?;
            b = bmap::indirect_get(&blk, idx).unwrap_or(0);
        }
        Ok(b)
    }

    /// The block backing file block `iblock`, allocating it (and any
    /// indirect blocks, zeroed) when absent. Updates `m.blocks`.
    pub fn bmap_alloc(&mut self, m: &mut InodeMem, iblock: u64) -> io::Result<u32> {
        let mut path = [0u32; 4];
        let depth = bmap::path(iblock, &mut path).map_err(|e| core_err("bmap", e))?;
        let slot = path[0] as usize;
        if m.block[slot] == 0 {
            let nb = self.alloc_block()?;
            self.img.write_blocks(nb as u64, &[0u8; BLOCK_SIZE])?;
            m.block[slot] = nb;
            m.blocks += (BLOCK_SIZE / 512) as u64;
        }
        let mut b = m.block[slot];
        for &idx in &path[1..depth] {
            let mut blk = self.img.read_block(b as u64)?;
            let mut next = bmap::indirect_get(&blk, idx).unwrap_or(0);
            if next == 0 {
                next = self.alloc_block()?;
                self.img.write_blocks(next as u64, &[0u8; BLOCK_SIZE])?;
                bmap::indirect_set(&mut blk, idx, next);
                self.img.write_blocks(b as u64, &blk)?;
                m.blocks += (BLOCK_SIZE / 512) as u64;
            }
            b = next;
        }
        Ok(b)
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
    pub fn write_data(&mut self, m: &mut InodeMem, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut pos = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let iblock = pos / BLOCK_SIZE as u64;
            let within = (pos % BLOCK_SIZE as u64) as usize;
            let n = rest.len().min(BLOCK_SIZE - within);
            let b = self.bmap_alloc(m, iblock)?;
            let mut blk = self.img.read_block(b as u64)?;
            blk[within..within + n].copy_from_slice(&rest[..n]);
            self.img.write_blocks(b as u64, &blk)?;
            pos += n as u64;
            rest = &rest[n..];
        }
        m.size = m.size.max(offset + data.len() as u64);
        Ok(())
    }

    /// Find `name` in directory `dir_ino`: (block number, entry).
    pub fn lookup(&self, dir_ino: u32, name: &[u8]) -> io::Result<Option<(u32, dir::DirentView)>> {
        let d = self.read_inode(dir_ino)?.ok_or_else(|| err(format!("directory {dir_ino} is free")))?;
        for i in 0..d.size / BLOCK_SIZE as u64 {
            let b = self.bmap(&d, i)?;
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

    /// Add an entry to directory `dir_ino`, growing it by a block when no
    /// block has room. Does not touch the target's link count.
    pub fn add_entry(&mut self, dir_ino: u32, name: &[u8], ino: u32, file_type: u32) -> io::Result<()> {
        let mut d = self.read_inode(dir_ino)?.ok_or_else(|| err(format!("directory {dir_ino} is free")))?;
        let nblocks = d.size / BLOCK_SIZE as u64;
        for i in 0..nblocks {
            let b = self.bmap(&d, i)?;
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
        let b = self.bmap_alloc(&mut d, nblocks)?;
        let mut blk = vec![0u8; BLOCK_SIZE];
        dir::init(&mut blk, dir_ino).map_err(|e| core_err("dir init", e))?;
        dir::add(&mut blk, dir_ino, name, ino, file_type).map_err(|e| core_err("dir add", e))?;
        self.img.write_blocks(b as u64, &blk)?;
        d.size += BLOCK_SIZE as u64;
        self.write_inode(dir_ino, &d)
    }

    /// mkdir `name` in `parent`: returns the new directory's inode number.
    pub fn mkdir(&mut self, parent: u32, name: &[u8]) -> io::Result<u32> {
        let (ino, mut m) = self.new_inode(mode::S_IFDIR | 0o755)?;
        m.links_count = 2;
        let b = self.bmap_alloc(&mut m, 0)?;
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
        if !data.is_empty() {
            self.write_data(&mut m, 0, data)?;
        }
        self.write_inode(ino, &m)?;
        self.add_entry(parent, name, ino, VEXFS_FT_REG_FILE)?;
        Ok(ino)
    }

    /// A hard link: another name for `ino` in `parent`.
    pub fn link(&mut self, parent: u32, name: &[u8], ino: u32) -> io::Result<()> {
        let mut m = self.read_inode(ino)?.ok_or_else(|| err("link target is free"))?;
        let ft = mode::file_type(m.mode).unwrap_or(VEXFS_FT_REG_FILE);
        self.add_entry(parent, name, ino, ft)?;
        m.links_count += 1;
        self.write_inode(ino, &m)
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
