//! Volume layout decisions made by mkfs: how many inodes, where each
//! metadata region goes, how big the journal is.
use super::defs::*;
use super::superblock::{bitmap_blocks, inode_table_blocks};
use crate::error::{Error, Result};

/// What the user asks mkfs for.
#[derive(Clone, Copy, Debug)]
pub struct MkfsParams {
    /// Blocks available on the device (its size / 4096).
    pub dev_blocks: u64,
    /// Inodes wanted; 0 picks one inode per 16 KiB of volume (like mke2fs).
    pub inodes: u32,
    /// Journal blocks wanted; 0 picks a size from the volume size.
    pub journal_blocks: u32,
    pub vector_dim: u32,
    pub vector_metric: u32,
    pub hnsw_m: u32,
    pub hnsw_ef_construction: u32,
    pub now_sec: u64,
    pub uuid: [u8; 16],
    pub label: [u8; 16],
}

/// The default journal size: 1/64 of the volume, between 1024 and 32768
/// blocks (4 to 128 MiB), as mke2fs scales its journal.
pub fn default_journal_blocks(blocks: u64) -> u64 {
    (blocks / 64).clamp(VEXFS_MIN_JOURNAL_BLOCKS as u64, 32768)
}

/// Decide the layout and build the superblock (checksum not yet set; use
/// `superblock::encode`). Free counts account for the metadata regions and
/// the root directory (one inode, one data block) that mkfs creates.
pub fn plan(p: &MkfsParams) -> Result<vexfs_super_block> {
    let blocks = p.dev_blocks.min(VEXFS_MAX_BLOCKS as u64);
    if blocks < VEXFS_MIN_BLOCKS as u64 + VEXFS_MIN_JOURNAL_BLOCKS as u64 {
        return Err(Error::NoSpace);
    }
    if p.vector_dim == 0 || p.vector_dim > VEXFS_MAX_VECTOR_DIM || p.vector_metric > VEXFS_METRIC_MAX {
        return Err(Error::InvalidArgument);
    }
    if !(2..=128).contains(&p.hnsw_m) || p.hnsw_ef_construction == 0 || p.hnsw_ef_construction > 4096 {
        return Err(Error::InvalidArgument);
    }
    let inodes: u64 = if p.inodes == 0 {
        (blocks / 4).clamp(VEXFS_FIRST_INO as u64 + 64, u32::MAX as u64)
    } else {
        p.inodes as u64
    };
    if inodes < VEXFS_FIRST_INO as u64 + 1 {
        return Err(Error::InvalidArgument);
    }
    let journal = if p.journal_blocks == 0 {
        default_journal_blocks(blocks)
    } else {
        p.journal_blocks as u64
    };
    if journal < VEXFS_MIN_JOURNAL_BLOCKS as u64 {
        return Err(Error::InvalidArgument);
    }
    // The journal comes first, right after the superblock: jbd2 addresses a
    // device journal by absolute block number and sizes its transactions
    // from the log's end block (a quarter of it), so the log must start
    // near block 0 (see core/src/format/journal.rs).
    let j_start = 1u64;
    let ib_start = j_start + journal;
    let ib_len = bitmap_blocks(inodes);
    let bb_start = ib_start + ib_len;
    let bb_len = bitmap_blocks(blocks);
    let it_start = bb_start + bb_len;
    let it_len = inode_table_blocks(inodes);
    let data_start = it_start + it_len;
    // Leave at least 32 data blocks, or the volume is useless.
    if data_start + 32 > blocks {
        return Err(Error::NoSpace);
    }
    let free_blocks = blocks - data_start - 1; // root directory block
    let free_inodes = inodes - (VEXFS_FIRST_INO as u64 - 1);

    let mut sb = vexfs_super_block::default();
    sb.s_magic = VEXFS_MAGIC.to_le();
    sb.s_version = VEXFS_FORMAT_VERSION.to_le();
    sb.s_block_size = VEXFS_BLOCK_SIZE.to_le();
    sb.s_inode_size = VEXFS_INODE_SIZE.to_le();
    sb.s_blocks_count = blocks.to_le();
    sb.s_free_blocks_count = free_blocks.to_le();
    sb.s_inodes_count = (inodes as u32).to_le();
    sb.s_free_inodes_count = (free_inodes as u32).to_le();
    sb.s_inode_bitmap_start = (ib_start as u32).to_le();
    sb.s_inode_bitmap_blocks = (ib_len as u32).to_le();
    sb.s_block_bitmap_start = (bb_start as u32).to_le();
    sb.s_block_bitmap_blocks = (bb_len as u32).to_le();
    sb.s_inode_table_start = (it_start as u32).to_le();
    sb.s_inode_table_blocks = (it_len as u32).to_le();
    sb.s_journal_start = (j_start as u32).to_le();
    sb.s_journal_blocks = (journal as u32).to_le();
    sb.s_data_start = (data_start as u32).to_le();
    sb.s_root_ino = VEXFS_ROOT_INO.to_le();
    sb.s_first_ino = VEXFS_FIRST_INO.to_le();
    sb.s_state = VEXFS_STATE_CLEAN.to_le();
    // The index summary from the start: its stamp (s_index_generation 0
    // here, none) tells readers whether the counts describe the store.
    sb.s_feature_compat = (VEXFS_FEATURE_COMPAT_VECTORS | VEXFS_FEATURE_COMPAT_INDEX_SUMMARY).to_le();
    sb.s_feature_incompat =
        (VEXFS_FEATURE_INCOMPAT_JOURNAL | VEXFS_FEATURE_INCOMPAT_IND_CSUM | VEXFS_FEATURE_INCOMPAT_VINDEX2).to_le();
    // Names blocks from the start: a volume made without them would need
    // every hard link listed before the bit could be set.
    sb.s_feature_ro_compat = (VEXFS_FEATURE_RO_COMPAT_DIR_INDEX | VEXFS_FEATURE_RO_COMPAT_LINK_DIRS).to_le();
    sb.s_vector_dim = p.vector_dim.to_le();
    sb.s_vector_metric = p.vector_metric.to_le();
    sb.s_hnsw_m = p.hnsw_m.to_le();
    sb.s_hnsw_ef_construction = p.hnsw_ef_construction.to_le();
    sb.s_mkfs_time = p.now_sec.to_le();
    sb.s_write_time = p.now_sec.to_le();
    sb.s_uuid = p.uuid;
    sb.s_volume_name = p.label.map(|b| b as core::ffi::c_char);
    Ok(sb)
}
