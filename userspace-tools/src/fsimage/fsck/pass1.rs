//! Pass 1: every non-zero inode decodes (checksum-only damage resealed,
//! other damage cleared), reserved and free inodes are zero; pass 1b: this
//! file's indirect blocks with a bad checksum, judged entry by entry.
use super::*;

impl<'o> Checker<'o> {
    pub(super) fn pass1_inodes(&mut self) -> io::Result<()> {
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
                            _ => match chunk_fields_only(&g, raw, ino) {
                                // The chunk-set fields alone are out of range
                                // (the core refuses them): keep the file,
                                // pass 5b drops its set.
                                Some(m) => {
                                    self.slots.insert(ino, Slot::Valid(Box::new(m)));
                                }
                                None => {
                                    self.slots.insert(ino, Slot::Corrupt(why));
                                }
                            },
                        }
                    }
                }
            }
            tb += n;
        }
        Ok(())
    }

    pub(super) fn bit(&self, ino: u32) -> bool {
        bitmap::test(&self.on_disk_imap, (ino - 1) as u64) == Some(true)
    }

    /// Decide reserved inodes and damaged ones; live = valid and marked.
    pub(super) fn pass1_classify(&mut self) -> io::Result<bool> {
        let mut inos: Vec<u32> = self.slots.keys().copied().collect();
        inos.sort_unstable();
        for ino in inos {
            let bit = self.bit(ino);
            let (corrupt_why, valid_dir) = match self.slots.get(&ino) {
                Some(Slot::Corrupt(w)) => (Some(w.clone()), false),
                Some(Slot::Valid(m)) => (None, is_dir(m)),
                None => continue,
            };
            if ino < VEXFS_FIRST_INO
                && ![VEXFS_ROOT_INO, VEXFS_VECSTORE_INO, VEXFS_GRAPH_INO, VEXFS_SLOTMAP_INO].contains(&ino)
            {
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
    pub(super) fn pass1_indirect(&mut self) -> io::Result<()> {
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
            // A names block that checks is a verified structure too: an
            // entry pointing at it is another file's block.
            if self.link_dirs() && m.names_block != 0 && !is_dir(&m) {
                let blk = self.fs.img.read_block(m.names_block as u64)?;
                if names::check(&blk, ino, 0, g.inodes_count, &mut String::new()).is_ok() {
                    bitmap::set(&mut claimed, m.names_block as u64);
                }
            }
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
}

/// An inode whose checksum is right and whose fields are all valid but for
/// i_chunk_first/i_chunk_count (a count above VEXFS_MAX_CHUNKS, a run that
/// overflows): decoded with the raw chunk fields, so that the file is kept
/// and only its set is dropped (pass 5b). None for any other damage.
fn chunk_fields_only(g: &Geom, raw: &[u8], ino: u32) -> Option<InodeMem> {
    let csum_off = core::mem::offset_of!(vexfs_inode, i_checksum);
    let first_off = core::mem::offset_of!(vexfs_inode, i_chunk_first);
    let count_off = core::mem::offset_of!(vexfs_inode, i_chunk_count);
    let stored = u32::from_le_bytes(raw.get(csum_off..csum_off + 4)?.try_into().ok()?);
    if crc32c_skipping(&ino.to_le_bytes(), raw, csum_off)? != stored {
        return None;
    }
    let le32 = |o: usize| raw.get(o..o + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
    let (first, count) = (le32(first_off)?, le32(count_off)?);
    let mut copy = raw.to_vec();
    copy[first_off..first_off + 4].fill(0);
    copy[count_off..count_off + 4].fill(0);
    let sum = crc32c_skipping(&ino.to_le_bytes(), &copy, csum_off)?;
    copy[csum_off..csum_off + 4].copy_from_slice(&sum.to_le_bytes());
    let mut m = inode::decode(g, &copy, ino, &mut String::new()).ok()?;
    m.chunk_first = first;
    m.chunk_count = count;
    Some(m)
}
