//! Pass 5c: names blocks (RO_COMPAT_LINK_DIRS) and the i_parent of every
//! inode, against the names pass 2 found (and pass 4 added in /lost+found).
//! Runs after pass 5: the number of names found is the link count pass 5
//! settled on, so a wrong i_links_count is reported once, there.
use super::*;

/// (directory, names) pairs of sorted directory numbers, one per name.
fn group(dirs: &[u32]) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = Vec::new();
    for &d in dirs {
        match v.last_mut() {
            Some((ld, c)) if *ld == d => *c += 1,
            _ => v.push((d, 1)),
        }
    }
    v
}

/// "dir 12 (2 names), dir 40 (1 name)", the first few.
fn show(pairs: &[(u32, u32)]) -> String {
    let mut s: Vec<String> = pairs
        .iter()
        .take(8)
        .map(|&(d, c)| format!("directory {d} ({c} name{})", if c == 1 { "" } else { "s" }))
        .collect();
    if pairs.len() > 8 {
        s.push(format!("... {} more", pairs.len() - 8));
    }
    if s.is_empty() {
        "nothing".into()
    } else {
        s.join(", ")
    }
}

impl<'o> Checker<'o> {
    pub(super) fn pass5c_names(&mut self) -> io::Result<()> {
        let link_dirs = self.link_dirs();
        let mut inos: Vec<u32> = self.live.iter().copied().collect();
        inos.sort_unstable();
        let mut synced = false;
        for ino in inos {
            let Some(m) = self.inode_mem(ino).copied() else { continue };
            if is_dir(&m) {
                // inode::decode refuses a names block on one.
                self.check_dir_parent(ino, &m)?;
                continue;
            }
            if !link_dirs {
                if m.names_block != 0 {
                    // Not the file's block: unclaimed, pass 6 frees it.
                    let msg = format!(
                        "inode {ino} ({}): i_names_block is {} but the volume lacks the link_dirs feature; zeroing it",
                        type_name(m.mode),
                        m.names_block
                    );
                    if self.problem(msg, true) {
                        let mut m2 = m;
                        m2.names_block = 0;
                        self.write_inode(ino, &m2)?;
                    }
                }
                continue;
            }
            let mut dirs = self.name_dirs.get(&ino).cloned().unwrap_or_default();
            dirs.sort_unstable();
            if dirs.is_empty() && ino >= VEXFS_FIRST_INO {
                continue; // no name: pass 4 reported it (-n) or freed it
            }
            let mut m2 = m;
            if dirs.len() <= 1 {
                self.check_single(ino, &mut m2, dirs.first().copied())?;
            } else {
                synced = self.check_multi(ino, &mut m2, &dirs, synced)?;
            }
            if (m2.names_block, m2.parent) != (m.names_block, m.parent) {
                self.write_inode(ino, &m2)?;
            }
        }
        Ok(())
    }

    /// A directory's i_parent is its parent (the directory holding its one
    /// name, as pass 2 found it and pass 4 settled it), on every volume:
    /// scoped searches and their permission checks walk directories'
    /// i_parent up to the root (kernel/vindex-scope.c), and rename keeps it
    /// exact. The root's is not used.
    fn check_dir_parent(&mut self, ino: u32, m: &InodeMem) -> io::Result<()> {
        if ino == VEXFS_ROOT_INO {
            return Ok(());
        }
        let Some(&want) = self.parent.get(&ino) else {
            return Ok(()); // no name: pass 4 reported it (-n) or reattached it
        };
        if m.parent != want {
            let msg = format!("directory {ino}: i_parent is {} but its parent is directory {want}; setting it", m.parent);
            if self.problem(msg, true) {
                let mut m2 = *m;
                m2.parent = want;
                self.write_inode(ino, &m2)?;
            }
        }
        Ok(())
    }

    /// One name, in `dir` (None: a hidden inode, no name at all): no names
    /// block, and i_parent is that directory.
    fn check_single(&mut self, ino: u32, m: &mut InodeMem, dir: Option<u32>) -> io::Result<()> {
        if m.names_block != 0 {
            let b = m.names_block;
            let where_ = match dir {
                Some(d) => format!("has one name, in directory {d}"),
                None => "has no name".into(),
            };
            let msg = format!("inode {ino} ({}) {where_}, but names block {b}; freeing it", type_name(m.mode));
            if self.problem(msg, true) {
                // Claimed for it in pass 3 (a block another claimant holds
                // lost its pointer there).
                bitmap::clear(&mut self.claimed, b as u64);
                self.freed_blocks.push(b);
                m.names_block = 0;
            }
        }
        if let Some(d) = dir {
            if m.parent != d {
                let msg = format!(
                    "inode {ino} ({}): i_parent is {} but its one name is in directory {d}; setting it",
                    type_name(m.mode),
                    m.parent
                );
                if self.problem(msg, true) {
                    m.parent = d;
                }
            }
        }
        Ok(())
    }

    /// Two or more names (`dirs` sorted, one element per name): a names
    /// block listing exactly their (directory, names) pairs, and i_parent
    /// one of them. Returns whether the Fs bitmaps were synced for an
    /// allocation.
    fn check_multi(&mut self, ino: u32, m: &mut InodeMem, dirs: &[u32], mut synced: bool) -> io::Result<bool> {
        let want = group(dirs);
        let n = dirs.len();
        let what = format!("inode {ino} ({}, {n} names in {} directories)", type_name(m.mode), want.len());
        if want.len() > names::NAMES_MAX {
            let msg = format!("{what}: more directories than a names block lists ({})", names::NAMES_MAX);
            self.problem(msg, false);
        } else {
            let b = m.names_block;
            let trouble = if b == 0 {
                Some("no names block".to_string())
            } else {
                let blk = self.fs.img.read_block(b as u64)?;
                let mut why = String::new();
                match names::check(&blk, ino, n as u32, self.geom.inodes_count, &mut why) {
                    Err(_) => Some(format!("names block {b} is damaged: {why}")),
                    Ok(count) => {
                        let listed: Vec<(u32, u32)> =
                            (0..count as usize).filter_map(|i| names::entry(&blk, i)).collect();
                        (listed != want).then(|| format!("names block {b} lists {}", show(&listed)))
                    }
                }
            };
            if let Some(why) = trouble {
                let msg = format!("{what}: {why}, but the directories hold {}; rebuilding it from them", show(&want));
                if self.problem(msg, true) {
                    let mut blk = vec![0u8; BLOCK_SIZE];
                    names::init(&mut blk, ino, dirs).map_err(core_io)?;
                    if m.names_block == 0 {
                        if !synced {
                            // The allocator must see the true usage first.
                            self.sync_fs_bitmaps();
                            synced = true;
                        }
                        let nb = self.fs.alloc_block()?;
                        bitmap::set(&mut self.claimed, nb as u64);
                        m.names_block = nb;
                    }
                    self.write_block(m.names_block, &blk)?;
                }
            }
        }
        if want.binary_search_by_key(&m.parent, |&(d, _)| d).is_err() {
            let msg = format!(
                "inode {ino} ({}): i_parent is {}, which holds none of its names ({}); setting it to {}",
                type_name(m.mode),
                m.parent,
                show(&want),
                dirs[0]
            );
            if self.problem(msg, true) {
                m.parent = dirs[0];
            }
        }
        Ok(synced)
    }
}
