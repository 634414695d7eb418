//! Pass 5: link counts.
use super::*;

impl<'o> Checker<'o> {
    pub(super) fn pass5_links(&mut self) -> io::Result<()> {
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
}
