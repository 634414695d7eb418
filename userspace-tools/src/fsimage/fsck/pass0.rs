//! Pass 0: the superblock was validated by `check`; here the jbd2 journal
//! superblock (damaged: recreated; aborted: cleared; log not empty: reported).
use super::*;

impl<'o> Checker<'o> {
    pub(super) fn pass0_journal(&mut self) -> io::Result<bool> {
        let g = self.geom;
        if g.feature_incompat & VEXFS_FEATURE_INCOMPAT_JOURNAL == 0 {
            return Ok(true);
        }
        let blk = self.fs.img.read_block(g.journal_start as u64)?;
        let uuid = superblock_uuid(&self.fs.sb_block).unwrap_or([0; 16]);
        let mut why = String::new();
        match journal::validate(&blk, g.journal_start, g.journal_blocks, &uuid, &mut why) {
            Ok(info) => {
                if info.needs_recovery() {
                    say!(
                        self,
                        "{}: the journal holds transactions to replay (log start {}, sequence {}): \
                         mount the filesystem to let the kernel replay it, unmount, then run fsck.vexfs again",
                        self.fs.img.path().display(),
                        info.start,
                        info.sequence
                    );
                    self.report.left += 1;
                    self.report.problems.push("journal needs recovery".into());
                    return Ok(false);
                }
                if info.errno != 0 {
                    let msg = format!("journal superblock records an aborted journal (errno {})", info.errno);
                    if self.problem(msg, true) {
                        let mut b = blk.clone();
                        b[0x20..0x24].fill(0);
                        // Checksummed journal superblocks are simply rewritten clean.
                        if info.feature_incompat
                            & (journal::JBD2_FEATURE_INCOMPAT_CSUM_V2 | journal::JBD2_FEATURE_INCOMPAT_CSUM_V3)
                            != 0
                        {
                            self.recreate_journal(&uuid)?;
                        } else {
                            self.write_block(g.journal_start, &b)?;
                        }
                    }
                }
                if !info.uuid_matches {
                    self.note("the journal UUID differs from the volume UUID".into());
                }
            }
            Err(_) => {
                let msg = format!("journal superblock at block {} is damaged: {why}", g.journal_start);
                if self.problem(msg, true) {
                    self.recreate_journal(&uuid)?;
                }
            }
        }
        Ok(true)
    }

    /// A damaged journal cannot be replayed: zero it and write a clean
    /// superblock, so no stale block is ever taken for a log record.
    pub(super) fn recreate_journal(&mut self, uuid: &[u8; 16]) -> io::Result<()> {
        let g = self.geom;
        self.fs.img.zero_blocks(g.journal_start as u64, g.journal_blocks as u64)?;
        let mut jb = vec![0u8; BLOCK_SIZE];
        // The whole log is zeroed above: no stale record can follow it.
        journal::encode(&mut jb, g.journal_start, g.journal_blocks, uuid, 1).map_err(|e| io::Error::other(format!("{e:?}")))?;
        self.write_block(g.journal_start, &jb)
    }
}
