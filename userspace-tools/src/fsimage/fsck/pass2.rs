//! Pass 2: directory blocks, entries, '.' and '..', hash indexes.
use super::*;

impl<'o> Checker<'o> {
    /// The (file block, disk block) pairs of a directory, sorted.
    pub(super) fn dir_blocks(&self, ino: u32, m: &InodeMem) -> io::Result<Vec<(u64, u32)>> {
        let mut v = Vec::new();
        self.walk(ino, m, &mut |p, ok| {
            if let (Kind::Data(i), true) = (p.kind, ok) {
                v.push((i, p.phys));
            }
        })?;
        v.sort_unstable();
        Ok(v)
    }

    pub(super) fn pass2_dirs(&mut self) -> io::Result<()> {
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
                    } else {
                        self.name_dirs.entry(t).or_default().push(d);
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
    pub(super) fn check_dx(&mut self, d: u32, m: &InodeMem, blocks: &[(u64, u32)]) -> io::Result<()> {
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
}
