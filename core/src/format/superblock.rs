//! The superblock: validation of every field before anything trusts it
//! (in the manner of minix_fill_super), and encoding.
use core::fmt::Write;
use core::mem::offset_of;

use zerocopy::{FromBytes, IntoBytes};

use super::checksum::crc32c_skipping;
use super::defs::*;
use crate::error::{Error, Result};
use crate::explain;
use crate::ffi::abi::vexfs_sb_geom;

/// Validated superblock geometry, host byte order.
pub type Geom = vexfs_sb_geom;

const CHECKSUM_OFF: usize = offset_of!(vexfs_super_block, s_checksum);

/// Blocks needed for a bitmap of `bits` bits.
pub const fn bitmap_blocks(bits: u64) -> u64 {
    bits.div_ceil(BITS_PER_BLOCK)
}

/// Blocks needed for an inode table of `inodes` inodes.
pub const fn inode_table_blocks(inodes: u64) -> u64 {
    inodes.div_ceil(VEXFS_INODES_PER_BLOCK as u64)
}

/// The checksum a superblock struct should carry.
pub fn checksum(raw: &[u8]) -> Option<u32> {
    crc32c_skipping(&[], raw.get(..VEXFS_SUPER_BLOCK_SIZE as usize)?, CHECKSUM_OFF)
}

fn check_region(
    name: &str,
    start: u64,
    len: u64,
    min_start: u64,
    limit: u64,
    msg: &mut impl Write,
) -> Result<u64> {
    let end = start.checked_add(len).ok_or(Error::Corrupt)?;
    if start < min_start || end > limit {
        explain!(
            msg,
            "{name} [{start}, {end}) lies outside its allowed area [{min_start}, {limit})"
        );
        return Err(Error::Corrupt);
    }
    Ok(end)
}

/// Validate block 0 of a device holding `dev_blocks` 4 KiB blocks. On
/// failure `msg` says which field is wrong and what it holds.
pub fn validate(block: &[u8], dev_blocks: u64, msg: &mut impl Write) -> Result<Geom> {
    let raw = match block.get(..VEXFS_SUPER_BLOCK_SIZE as usize) {
        Some(r) => r,
        None => {
            explain!(msg, "superblock buffer too short ({} bytes)", block.len());
            return Err(Error::InvalidArgument);
        }
    };
    let sb = vexfs_super_block::read_from_bytes(raw).map_err(|_| Error::InvalidArgument)?;

    let magic = u32::from_le(sb.s_magic);
    if magic != VEXFS_MAGIC {
        explain!(msg, "bad magic 0x{magic:08x} (expected 0x{VEXFS_MAGIC:08x}): not a VexFS volume");
        return Err(Error::Corrupt);
    }
    let version = u32::from_le(sb.s_version);
    if version != VEXFS_FORMAT_VERSION {
        explain!(msg, "unsupported format version {version} (this build reads {VEXFS_FORMAT_VERSION})");
        return Err(Error::Corrupt);
    }
    let stored = u32::from_le(sb.s_checksum);
    let computed = checksum(raw).ok_or(Error::InvalidArgument)?;
    if stored != computed {
        explain!(msg, "superblock checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})");
        return Err(Error::Corrupt);
    }
    let block_size = u32::from_le(sb.s_block_size);
    if block_size != VEXFS_BLOCK_SIZE {
        explain!(msg, "unsupported block size {block_size} (only {VEXFS_BLOCK_SIZE})");
        return Err(Error::Corrupt);
    }
    let inode_size = u32::from_le(sb.s_inode_size);
    if inode_size != VEXFS_INODE_SIZE {
        explain!(msg, "unsupported inode size {inode_size} (only {VEXFS_INODE_SIZE})");
        return Err(Error::Corrupt);
    }

    let blocks = u64::from_le(sb.s_blocks_count);
    if blocks < VEXFS_MIN_BLOCKS as u64 || blocks > VEXFS_MAX_BLOCKS as u64 {
        explain!(msg, "absurd block count {blocks} (must be {VEXFS_MIN_BLOCKS}..={VEXFS_MAX_BLOCKS})");
        return Err(Error::Corrupt);
    }
    if blocks > dev_blocks {
        explain!(msg, "block count {blocks} exceeds the device's {dev_blocks} blocks");
        return Err(Error::Corrupt);
    }
    let inodes = u32::from_le(sb.s_inodes_count) as u64;
    if inodes < VEXFS_FIRST_INO as u64 || inodes > blocks.saturating_mul(VEXFS_INODES_PER_BLOCK as u64) {
        explain!(msg, "absurd inode count {inodes} for {blocks} blocks");
        return Err(Error::Corrupt);
    }
    let free_blocks = u64::from_le(sb.s_free_blocks_count);
    if free_blocks > blocks {
        explain!(msg, "free block count {free_blocks} exceeds block count {blocks}");
        return Err(Error::Corrupt);
    }
    let free_inodes = u32::from_le(sb.s_free_inodes_count) as u64;
    if free_inodes > inodes {
        explain!(msg, "free inode count {free_inodes} exceeds inode count {inodes}");
        return Err(Error::Corrupt);
    }

    // Region sizes must follow from the counts, and regions must lie in
    // order after block 0, inside the volume, without overlapping.
    let ib_start = u32::from_le(sb.s_inode_bitmap_start) as u64;
    let ib_len = u32::from_le(sb.s_inode_bitmap_blocks) as u64;
    let bb_start = u32::from_le(sb.s_block_bitmap_start) as u64;
    let bb_len = u32::from_le(sb.s_block_bitmap_blocks) as u64;
    let it_start = u32::from_le(sb.s_inode_table_start) as u64;
    let it_len = u32::from_le(sb.s_inode_table_blocks) as u64;
    let j_start = u32::from_le(sb.s_journal_start) as u64;
    let j_len = u32::from_le(sb.s_journal_blocks) as u64;
    let data_start = u32::from_le(sb.s_data_start) as u64;

    for (name, have, want) in [
        ("inode bitmap length", ib_len, bitmap_blocks(inodes)),
        ("block bitmap length", bb_len, bitmap_blocks(blocks)),
        ("inode table length", it_len, inode_table_blocks(inodes)),
    ] {
        if have != want {
            explain!(msg, "{name} is {have} blocks, the counts need {want}");
            return Err(Error::Corrupt);
        }
    }
    // Order: superblock, journal (at block 1 when there is one), inode
    // bitmap, block bitmap, inode table, data.
    if j_len != 0 && j_start != 1 {
        explain!(msg, "journal starts at block {j_start}; it must follow the superblock (block 1)");
        return Err(Error::Corrupt);
    }
    let end = check_region("journal", j_start.max(1), j_len, 1, blocks, msg)?;
    let end = check_region("inode bitmap", ib_start, ib_len, end, blocks, msg)?;
    let end = check_region("block bitmap", bb_start, bb_len, end, blocks, msg)?;
    let end = check_region("inode table", it_start, it_len, end, blocks, msg)?;
    if data_start < end || data_start >= blocks {
        explain!(msg, "data area start {data_start} overlaps metadata (ends at {end}) or the volume end {blocks}");
        return Err(Error::Corrupt);
    }

    let incompat = u32::from_le(sb.s_feature_incompat);
    let unknown = incompat & !VEXFS_FEATURE_INCOMPAT_SUPP;
    if unknown != 0 {
        explain!(msg, "unsupported incompatible features 0x{unknown:x}");
        return Err(Error::Corrupt);
    }
    let missing = VEXFS_FEATURE_INCOMPAT_REQUIRED & !incompat;
    if missing & VEXFS_FEATURE_INCOMPAT_IND_CSUM != 0 {
        explain!(
            msg,
            "required incompatible features 0x{missing:x} missing (checksummed indirect blocks): \
             the image predates this format, reformat it"
        );
        return Err(Error::Corrupt);
    }
    if missing != 0 {
        explain!(
            msg,
            "vector store format 1 (required incompatible feature 0x{missing:x}, chunked vector store, \
             missing): made by an older mkfs.vexfs; nothing converts it, reformat with this mkfs.vexfs"
        );
        return Err(Error::Corrupt);
    }
    let journaled = incompat & VEXFS_FEATURE_INCOMPAT_JOURNAL != 0;
    if journaled && j_len < VEXFS_MIN_JOURNAL_BLOCKS as u64 {
        explain!(msg, "journal of {j_len} blocks is below the minimum {VEXFS_MIN_JOURNAL_BLOCKS}");
        return Err(Error::Corrupt);
    }
    if !journaled && j_len != 0 {
        explain!(msg, "journal region of {j_len} blocks without the journal feature");
        return Err(Error::Corrupt);
    }
    let ro_compat = u32::from_le(sb.s_feature_ro_compat);
    let compat = u32::from_le(sb.s_feature_compat);
    // Without the bit these words are reserved: whatever they hold is not
    // a summary, so the kernel is handed none.
    let summary = compat & VEXFS_FEATURE_COMPAT_INDEX_SUMMARY != 0;
    let summary_word = |v: u64| if summary { u64::from_le(v) } else { 0 };

    let root = u32::from_le(sb.s_root_ino);
    let first = u32::from_le(sb.s_first_ino);
    if root != VEXFS_ROOT_INO || first != VEXFS_FIRST_INO {
        explain!(msg, "bad reserved inode numbers (root {root}, first {first})");
        return Err(Error::Corrupt);
    }
    let dim = u32::from_le(sb.s_vector_dim);
    if dim == 0 || dim > VEXFS_MAX_VECTOR_DIM {
        explain!(msg, "vector dimension {dim} out of range 1..={VEXFS_MAX_VECTOR_DIM}");
        return Err(Error::Corrupt);
    }
    let metric = u32::from_le(sb.s_vector_metric);
    if metric > VEXFS_METRIC_MAX {
        explain!(msg, "unknown vector metric {metric}");
        return Err(Error::Corrupt);
    }
    let m = u32::from_le(sb.s_hnsw_m);
    let efc = u32::from_le(sb.s_hnsw_ef_construction);
    if !(2..=128).contains(&m) || efc == 0 || efc > 4096 {
        explain!(msg, "HNSW parameters out of range (M {m}, ef_construction {efc})");
        return Err(Error::Corrupt);
    }
    let state = u32::from_le(sb.s_state);
    if state & !(VEXFS_STATE_CLEAN | VEXFS_STATE_ERROR) != 0 {
        explain!(msg, "unknown state bits 0x{state:x}");
        return Err(Error::Corrupt);
    }

    Ok(Geom {
        blocks_count: blocks,
        free_blocks_hint: free_blocks,
        inodes_count: inodes as u32,
        free_inodes_hint: free_inodes as u32,
        inode_bitmap_start: ib_start as u32,
        inode_bitmap_blocks: ib_len as u32,
        block_bitmap_start: bb_start as u32,
        block_bitmap_blocks: bb_len as u32,
        inode_table_start: it_start as u32,
        inode_table_blocks: it_len as u32,
        journal_start: j_start as u32,
        journal_blocks: j_len as u32,
        data_start: data_start as u32,
        state,
        feature_compat: compat,
        feature_incompat: incompat,
        feature_ro_compat: ro_compat,
        vector_dim: dim,
        vector_metric: metric,
        hnsw_m: m,
        hnsw_ef_construction: efc,
        mount_count: u32::from_le(sb.s_mount_count),
        read_only_only: (ro_compat & !VEXFS_FEATURE_RO_COMPAT_SUPP != 0) as u32,
        pad: 0,
        graph_generation: u64::from_le(sb.s_graph_generation),
        vector_generation: u64::from_le(sb.s_vector_generation),
        index_generation: summary_word(sb.s_index_generation),
        index_live: summary_word(sb.s_index_live),
        index_files: summary_word(sb.s_index_files),
        index_stale: summary_word(sb.s_index_stale),
    })
}

/// The vector store's counts as the kernel's mount scan finds them
/// (`s_index_*`, COMPAT_INDEX_SUMMARY), stamped with the vector generation
/// they describe (0: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexSummary {
    pub generation: u64,
    /// Live slots: allocated, record valid and owned by its file's set.
    pub live: u64,
    /// Files with at least one live slot.
    pub files: u64,
    /// Of those, files whose set is stale (i_data_version != i_chunk_version).
    pub stale: u64,
}

impl IndexSummary {
    /// The summary a validated superblock carries (all zero without the bit).
    pub fn of(g: &Geom) -> IndexSummary {
        IndexSummary { generation: g.index_generation, live: g.index_live, files: g.index_files, stale: g.index_stale }
    }

    /// Whether a reader may take the counts instead of scanning the store:
    /// the volume has the bit, was cleanly unmounted with no errors
    /// recorded (ERROR asks for fsck, which recounts), and the stamp is the
    /// current vector generation (not 0, which means none).
    pub fn trusted(g: &Geom) -> bool {
        g.feature_compat & VEXFS_FEATURE_COMPAT_INDEX_SUMMARY != 0
            && g.state & (VEXFS_STATE_CLEAN | VEXFS_STATE_ERROR) == VEXFS_STATE_CLEAN
            && g.index_generation != 0
            && g.index_generation == g.vector_generation
    }
}

/// Mutable superblock fields, written at mount, sync and unmount.
#[derive(Clone, Copy, Debug, Default)]
pub struct SbUpdate {
    pub state: u32,
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub now_sec: u64,
    pub mount_delta: u32,
    pub vector_generation: u64,
    pub graph_generation: u64,
    /// Written only when the superblock has COMPAT_INDEX_SUMMARY.
    pub index: IndexSummary,
}

/// Rewrite the mutable fields of an already validated superblock in place
/// and recompute its checksum.
pub fn update(block: &mut [u8], u: &SbUpdate) -> Result<()> {
    let raw = block
        .get_mut(..VEXFS_SUPER_BLOCK_SIZE as usize)
        .ok_or(Error::InvalidArgument)?;
    let sb = vexfs_super_block::mut_from_bytes(raw).map_err(|_| Error::InvalidArgument)?;
    if u32::from_le(sb.s_magic) != VEXFS_MAGIC {
        return Err(Error::Corrupt);
    }
    if u.free_blocks > u64::from_le(sb.s_blocks_count) || u.free_inodes > u32::from_le(sb.s_inodes_count) {
        return Err(Error::InvalidArgument);
    }
    sb.s_state = u.state.to_le();
    sb.s_free_blocks_count = u.free_blocks.to_le();
    sb.s_free_inodes_count = u.free_inodes.to_le();
    sb.s_write_time = u.now_sec.to_le();
    if u.mount_delta != 0 {
        sb.s_mount_time = u.now_sec.to_le();
        sb.s_mount_count = u32::from_le(sb.s_mount_count).wrapping_add(u.mount_delta).to_le();
    }
    sb.s_vector_generation = u.vector_generation.to_le();
    sb.s_graph_generation = u.graph_generation.to_le();
    // Without the bit the words are reserved (zero) and stay as they are:
    // a summary there would mean nothing to a reader that checks the bit.
    if u32::from_le(sb.s_feature_compat) & VEXFS_FEATURE_COMPAT_INDEX_SUMMARY != 0 {
        sb.s_index_generation = u.index.generation.to_le();
        sb.s_index_live = u.index.live.to_le();
        sb.s_index_files = u.index.files.to_le();
        sb.s_index_stale = u.index.stale.to_le();
    }
    seal(raw)
}

/// Recompute and store the checksum of a superblock struct.
pub fn seal(raw: &mut [u8]) -> Result<()> {
    let sum = checksum(raw).ok_or(Error::InvalidArgument)?;
    let field = raw
        .get_mut(CHECKSUM_OFF..CHECKSUM_OFF + 4)
        .ok_or(Error::InvalidArgument)?;
    field.copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

/// Encode a superblock struct into the start of `block` and seal it.
pub fn encode(sb: &vexfs_super_block, block: &mut [u8]) -> Result<()> {
    let raw = block
        .get_mut(..VEXFS_SUPER_BLOCK_SIZE as usize)
        .ok_or(Error::InvalidArgument)?;
    raw.copy_from_slice(sb.as_bytes());
    seal(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::layout::{plan, MkfsParams};

    const DEV_BLOCKS: u64 = 16384;

    /// Block 0 of a planned volume with feature_compat `compat`.
    fn block0(compat: u32) -> std::vec::Vec<u8> {
        let p = MkfsParams {
            dev_blocks: DEV_BLOCKS,
            inodes: 0,
            journal_blocks: 0,
            vector_dim: 8,
            vector_metric: VEXFS_METRIC_L2,
            hnsw_m: 16,
            hnsw_ef_construction: 200,
            now_sec: 1_700_000_000,
            uuid: [7; 16],
            label: [0; 16],
        };
        let mut sb = plan(&p).unwrap();
        sb.s_feature_compat = compat.to_le();
        let mut b = std::vec![0u8; BLOCK_SIZE];
        encode(&sb, &mut b).unwrap();
        b
    }

    fn geom(b: &[u8]) -> Geom {
        let mut msg = heapless::String::<160>::new();
        validate(b, DEV_BLOCKS, &mut msg).unwrap_or_else(|_| panic!("{msg}"))
    }

    fn upd(index: IndexSummary) -> SbUpdate {
        SbUpdate { state: VEXFS_STATE_CLEAN, free_blocks: 100, free_inodes: 10, now_sec: 1, vector_generation: 9, graph_generation: 9, index, ..Default::default() }
    }

    const SUMMARY: IndexSummary = IndexSummary { generation: 9, live: 1 << 40, files: 123_456, stale: 17 };

    #[test]
    fn the_reserved_words_keep_their_place() {
        // Carved from the front of s_reserved: the struct and the checksum
        // do not move, and the words left over are the rest of the 128 bytes.
        assert_eq!(offset_of!(vexfs_super_block, s_index_generation), 192);
        assert_eq!(offset_of!(vexfs_super_block, s_index_stale), 216);
        assert_eq!(offset_of!(vexfs_super_block, s_reserved), 224);
        assert_eq!(CHECKSUM_OFF, 320);
        assert_eq!(core::mem::size_of::<vexfs_super_block>(), 328);
    }

    #[test]
    fn summary_round_trips_with_the_bit() {
        let mut b = block0(VEXFS_FEATURE_COMPAT_VECTORS | VEXFS_FEATURE_COMPAT_INDEX_SUMMARY);
        assert_eq!(IndexSummary::of(&geom(&b)), IndexSummary::default());
        update(&mut b, &upd(SUMMARY)).unwrap();
        let g = geom(&b);
        assert_eq!(IndexSummary::of(&g), SUMMARY);
        assert!(IndexSummary::trusted(&g));
        // The words past the summary stay zero.
        let sb = vexfs_super_block::read_from_bytes(&b[..VEXFS_SUPER_BLOCK_SIZE as usize]).unwrap();
        assert!(sb.s_reserved.iter().all(|&w| w == 0));
        // A later update with another summary replaces it whole.
        let none = IndexSummary { generation: 0, ..SUMMARY };
        update(&mut b, &upd(none)).unwrap();
        let g = geom(&b);
        assert_eq!(IndexSummary::of(&g), none);
        assert!(!IndexSummary::trusted(&g), "stamp 0 means none");
    }

    #[test]
    fn trust_needs_clean_state_and_the_current_generation() {
        let mut b = block0(VEXFS_FEATURE_COMPAT_VECTORS | VEXFS_FEATURE_COMPAT_INDEX_SUMMARY);
        update(&mut b, &SbUpdate { vector_generation: 10, ..upd(SUMMARY) }).unwrap();
        assert!(!IndexSummary::trusted(&geom(&b)), "stamp 9 describes generation 9, not 10");
        update(&mut b, &SbUpdate { state: 0, ..upd(SUMMARY) }).unwrap();
        assert!(!IndexSummary::trusted(&geom(&b)), "not cleanly unmounted");
        update(&mut b, &SbUpdate { state: VEXFS_STATE_CLEAN | VEXFS_STATE_ERROR, ..upd(SUMMARY) }).unwrap();
        assert!(!IndexSummary::trusted(&geom(&b)), "errors recorded");
        update(&mut b, &upd(SUMMARY)).unwrap();
        assert!(IndexSummary::trusted(&geom(&b)));
    }

    #[test]
    fn without_the_bit_the_reserved_words_stay_zero() {
        let mut b = block0(VEXFS_FEATURE_COMPAT_VECTORS);
        update(&mut b, &upd(SUMMARY)).unwrap();
        let raw = &b[..VEXFS_SUPER_BLOCK_SIZE as usize];
        assert!(raw[192..320].iter().all(|&x| x == 0), "update wrote into the reserved words");
        let g = geom(&b);
        assert_eq!(IndexSummary::of(&g), IndexSummary::default());
        assert!(!IndexSummary::trusted(&g));
        // Whatever a volume without the bit holds there is not handed on.
        let off = offset_of!(vexfs_super_block, s_index_live);
        b[off] = 5;
        seal(&mut b[..VEXFS_SUPER_BLOCK_SIZE as usize]).unwrap();
        assert_eq!(geom(&b).index_live, 0);
    }
}
