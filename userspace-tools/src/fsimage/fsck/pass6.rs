//! Pass 6: bitmaps against actual usage, superblock free counts, the
//! ERROR state; the final flush (with the index summary, summary.rs).
use super::*;

impl<'o> Checker<'o> {
    pub(super) fn pass6_bitmaps(&mut self) -> io::Result<()> {
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
            self.record_index_summary();
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
}
