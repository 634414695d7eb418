//! Pass 3: block pointers, reserved inode fields, blocks mapped past EOF
//! (interrupted truncates finished), indirect blocks, blocks claimed twice,
//! i_blocks; names blocks claimed for their owners.
use super::*;

impl<'o> Checker<'o> {
    pub(super) fn pass3_blocks(&mut self) -> io::Result<()> {
        let g = self.geom;
        self.claimed = vec![0u8; self.on_disk_bmap.len()];
        for b in 0..g.data_start as u64 {
            bitmap::set(&mut self.claimed, b);
        }
        let mut inos: Vec<u32> = self.live.iter().copied().collect();
        inos.sort_unstable();
        let mut names_blocks: Vec<(u32, u32)> = Vec::new(); // (owner, block)
        for ino in inos {
            let Some(mut m) = self.inode_mem(ino).copied() else { continue };
            // Without the feature a names block is not the file's (pass 5c
            // zeroes the pointer; unclaimed, pass 6 frees the block).
            if self.link_dirs() && m.names_block != 0 && !is_dir(&m) {
                names_blocks.push((ino, m.names_block));
            }
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
        self.pass3_names_blocks(&names_blocks)
    }

    /// Claim each names block for its owner, after every block map: a
    /// block a map (or an earlier names block) already holds is not
    /// trusted as this file's list, whatever it holds. Its pointer is
    /// dropped and pass 5c builds a new block from the directories; the
    /// block stays the other claimant's. Unlike a block two maps share,
    /// this costs nothing that cannot be rebuilt, so it is repaired.
    pub(super) fn pass3_names_blocks(&mut self, list: &[(u32, u32)]) -> io::Result<()> {
        let mut names_owner: HashMap<u32, u32> = HashMap::new();
        for &(ino, b) in list {
            if bitmap::set(&mut self.claimed, b as u64) == Some(false) {
                names_owner.insert(b, ino);
                continue;
            }
            let other = match names_owner.get(&b) {
                Some(&o) => format!("the names block of inode {o}"),
                None => self.map_claimants(b)?,
            };
            let msg = format!("inode {ino}: names block {b} is also {other}; dropping the pointer (rebuilt from the directories)");
            if self.problem(msg, true) {
                if let Some(mut m) = self.inode_mem(ino).copied() {
                    m.names_block = 0;
                    self.write_inode(ino, &m)?;
                }
            }
        }
        Ok(())
    }

    /// "in the block map of inode X[, inode Y]": the live inodes whose
    /// block map holds block `b` (only asked when a names block collides).
    fn map_claimants(&self, b: u32) -> io::Result<String> {
        let mut inos: Vec<u32> = self.live.iter().copied().collect();
        inos.sort_unstable();
        let mut found = Vec::new();
        for ino in inos {
            let Some(m) = self.inode_mem(ino).copied() else { continue };
            let mut hit = false;
            self.walk(ino, &m, &mut |p, ok| hit |= ok && p.phys == b)?;
            if hit {
                found.push(format!("inode {ino}"));
            }
        }
        Ok(if found.is_empty() {
            "claimed by another structure".to_string()
        } else {
            format!("in the block map of {}", found.join(", "))
        })
    }

    /// i_xattr_block and i_orphan_next are reserved (zero): no feature uses
    /// them, and the kernel refuses an inode where they are not. The block an
    /// xattr pointer names is not this file's (nothing reads it): unclaimed,
    /// pass 6 frees it. Returns the repaired inode.
    pub(super) fn pass3_reserved(&mut self, ino: u32, m: &InodeMem) -> io::Result<Option<InodeMem>> {
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
    pub(super) fn pass3_past_eof(&mut self, ino: u32, m: &InodeMem) -> io::Result<Option<InodeMem>> {
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
    pub(super) fn pass3_dups(&mut self) -> io::Result<()> {
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
}
