//! Pass 4: connectivity: inodes with no name, unreachable directories,
//! orphans, '..'; /lost+found.
use super::*;

impl<'o> Checker<'o> {
    pub(super) fn ensure_lost_found(&mut self) -> io::Result<u32> {
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
    pub(super) fn sync_fs_bitmaps(&mut self) {
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

    pub(super) fn relink(&mut self, ino: u32, m: &InodeMem) -> io::Result<()> {
        let lf = self.ensure_lost_found()?;
        let name = format!("#{ino}");
        let ft = mode::file_type(m.mode).unwrap_or(VEXFS_FT_REG_FILE);
        self.fs.add_entry(lf, name.as_bytes(), ino, ft)?;
        self.wrote = true;
        *self.refs.entry(ino).or_default() += 1;
        if is_dir(m) {
            self.parent.insert(ino, lf);
        } else {
            self.name_dirs.entry(ino).or_default().push(lf);
        }
        // Its one name is now in lost+found: i_parent follows (pass 5c
        // settles a names block left from earlier names).
        if let Some(mut m2) = self.inode_mem(ino).copied() {
            m2.parent = lf;
            self.write_inode(ino, &m2)?;
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
    pub(super) fn pass4_connect(&mut self) -> io::Result<()> {
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

    pub(super) fn free_inode(&mut self, ino: u32) -> io::Result<()> {
        if let Some(m) = self.inode_mem(ino).copied() {
            let dups = &self.dups;
            let mut mine = Vec::new();
            self.walk(ino, &m, &mut |p, ok| {
                if ok && !dups.contains(&p.phys) {
                    mine.push(p.phys);
                }
            })?;
            // Its names block, claimed in pass 3 (one a map also claimed
            // lost its pointer there).
            if self.link_dirs() && m.names_block != 0 && !is_dir(&m) {
                mine.push(m.names_block);
            }
            for b in mine {
                bitmap::clear(&mut self.claimed, b as u64);
                self.freed_blocks.push(b);
            }
        }
        self.live.remove(&ino);
        self.clear.insert(ino);
        Ok(())
    }
}
