//! The index summary (`s_index_*`, COMPAT_INDEX_SUMMARY): the counts of the
//! vector store the superblock records for the kernel to take at mount
//! instead of reading every chunk record, checked against what pass 5b
//! counted, and what -y records when it writes the superblock.
//!
//! The counts are the kernel's mount scan's (kernel/vindex-store.c): live
//! slots are allocated slots whose record decodes and whose owner (a linked
//! regular file of the record's generation with a chunk set) covers the
//! slot at the record's chunk index; files are the owners with at least one
//! live slot; stale files are those of them with i_data_version !=
//! i_chunk_version. They are checked only when a reader would trust them
//! (`IndexSummary::trusted`: the bit, a clean unmount without errors, the
//! stamp equal to s_vector_generation and not 0); otherwise they mean
//! nothing and are not judged.
//!
//! Repair: whenever -y writes the superblock on a volume with the bit, it
//! records the counts of the volume as it leaves it (after its own repairs,
//! which may bump the vector generation) stamped with the final vector
//! generation, or, when errors are left, no summary (stamp 0). Writing the
//! superblock marks the volume clean, which would make a summary the kernel
//! wrote before a crash trusted without anyone having checked it.
use vexfs_core::format::superblock::IndexSummary;

use super::*;

/// Live slots, files with a chunk set, and how many of them are stale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct StoreCounts {
    pub live: u64,
    pub files: u64,
    pub stale: u64,
}

impl StoreCounts {
    /// Count file `m` with `live` live slots (a file with none is not counted).
    pub fn add(&mut self, live: u64, m: &InodeMem) {
        if live == 0 {
            return;
        }
        self.live += live;
        self.files += 1;
        if m.data_version != m.chunk_version {
            self.stale += 1;
        }
    }
}

impl<'o> Checker<'o> {
    fn index_summary_enabled(&self) -> bool {
        self.geom.feature_compat & VEXFS_FEATURE_COMPAT_INDEX_SUMMARY != 0
    }

    /// Pass 5b's end: compare a trusted summary with `seen` (the volume as
    /// the kernel would count it now), and keep `after` (the volume as this
    /// run leaves it) for pass 6 to record.
    pub(super) fn check_index_summary(&mut self, seen: StoreCounts, after: StoreCounts) {
        self.index_after = Some(after);
        if !self.index_summary_enabled() {
            return;
        }
        let g = self.geom;
        if !IndexSummary::trusted(&g) {
            self.note(format!(
                "index summary not checked: {} (stamp {}, vector generation {})",
                if g.index_generation == 0 {
                    "none recorded"
                } else if g.index_generation != g.vector_generation {
                    "it describes another vector generation"
                } else {
                    "the volume was not cleanly unmounted or has errors recorded"
                },
                g.index_generation,
                g.vector_generation
            ));
            return;
        }
        let rec = IndexSummary::of(&g);
        for (field, recorded, counted, what) in [
            ("s_index_live", rec.live, seen.live, "live slots"),
            ("s_index_files", rec.files, seen.files, "files with a chunk set"),
            ("s_index_stale", rec.stale, seen.stale, "files with a stale chunk set"),
        ] {
            if recorded != counted {
                let msg = format!(
                    "superblock index summary (vector generation {}): {field} is {recorded} but the vector store holds \
                     {counted} {what}; rewriting it",
                    g.index_generation
                );
                self.problem(msg, true);
            }
        }
    }

    /// Pass 6, before the superblock is written by -y: the summary to record.
    pub(super) fn record_index_summary(&mut self) {
        if !self.index_summary_enabled() {
            return;
        }
        let fsg = &mut self.fs.geom;
        match self.index_after {
            Some(c) if self.report.left == 0 => {
                fsg.index_generation = fsg.vector_generation;
                fsg.index_live = c.live;
                fsg.index_files = c.files;
                fsg.index_stale = c.stale;
            }
            // Errors left (or pass 5b did not run): nothing to vouch for.
            _ => {
                fsg.index_generation = 0;
                fsg.index_live = 0;
                fsg.index_files = 0;
                fsg.index_stale = 0;
            }
        }
    }
}
