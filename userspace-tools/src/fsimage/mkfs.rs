//! Making an empty VexFS: superblock (features from `layout::plan`, names
//! blocks for hard links included), bitmaps, zeroed inode table, root
//! directory and a clean jbd2 journal. Shared by mkfs.vexfs and the tests.
use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::layout::{plan, MkfsParams};
use vexfs_core::format::*;
use vexfs_core::format::{bitmap, dir, inode, journal, superblock};
use vexfs_core::error::Error;
use vexfs_core::ffi::abi::{VEXFS_HNSW_DEFAULT_EF_CONSTRUCTION, VEXFS_HNSW_DEFAULT_M};

use super::image::Image;

/// Defaults, documented in `mkfs.vexfs --help` and docs/FORMAT.md. The HNSW
/// defaults are the shim's `VEXFS_HNSW_DEFAULT_*` (shim/vexfs_core.h), which
/// the kernel also uses.
pub const DEFAULT_DIM: u32 = 128;

/// What to make.
#[derive(Clone, Debug)]
pub struct MkfsOptions {
    pub dim: u32,
    pub metric: u32,
    /// 0: one inode per 16 KiB.
    pub inodes: u32,
    /// 0: 1/64 of the volume, 1024..=32768 blocks.
    pub journal_blocks: u32,
    pub label: String,
    pub hnsw_m: u32,
    pub ef_construction: u32,
    /// None: random.
    pub uuid: Option<[u8; 16]>,
    /// None: the current time.
    pub now_sec: Option<u64>,
}

impl Default for MkfsOptions {
    fn default() -> Self {
        MkfsOptions {
            dim: DEFAULT_DIM,
            metric: VEXFS_METRIC_L2,
            inodes: 0,
            journal_blocks: 0,
            label: String::new(),
            hnsw_m: VEXFS_HNSW_DEFAULT_M,
            ef_construction: VEXFS_HNSW_DEFAULT_EF_CONSTRUCTION,
            uuid: None,
            now_sec: None,
        }
    }
}

/// Parse a metric name.
pub fn parse_metric(s: &str) -> Option<u32> {
    match s.to_ascii_lowercase().as_str() {
        "l2" | "euclidean" => Some(VEXFS_METRIC_L2),
        "cosine" | "cos" => Some(VEXFS_METRIC_COSINE),
        "dot" | "ip" | "inner" => Some(VEXFS_METRIC_DOT),
        _ => None,
    }
}

pub fn metric_name(m: u32) -> &'static str {
    match m {
        VEXFS_METRIC_L2 => "l2",
        VEXFS_METRIC_COSINE => "cosine",
        VEXFS_METRIC_DOT => "dot",
        _ => "unknown",
    }
}

/// What was made.
#[derive(Clone, Debug)]
pub struct MkfsSummary {
    pub geom: superblock::Geom,
    pub uuid: [u8; 16],
}

/// 16 random bytes as a version-4 UUID.
pub fn random_uuid() -> [u8; 16] {
    let mut u = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut u))
        .is_ok();
    if !ok {
        // Fall back to time and pid: unique enough for a label.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        u[..16].copy_from_slice(&(t ^ ((std::process::id() as u128) << 64)).to_le_bytes());
    }
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

pub fn format_uuid(u: &[u8; 16]) -> String {
    let h: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

pub fn now_sec() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Smallest device mkfs accepts, in blocks (layout::plan decides; this is
/// only for messages).
pub const MIN_DEVICE_BLOCKS: u64 = (VEXFS_MIN_BLOCKS + VEXFS_MIN_JOURNAL_BLOCKS) as u64;

/// Check the options alone (no device): the cause as text.
pub fn check_options(o: &MkfsOptions) -> Result<(), String> {
    if o.dim == 0 || o.dim > VEXFS_MAX_VECTOR_DIM {
        return Err(format!("vector dimension {} out of range 1..={VEXFS_MAX_VECTOR_DIM}", o.dim));
    }
    if o.metric > VEXFS_METRIC_MAX {
        return Err(format!("unknown metric {}", o.metric));
    }
    if !(2..=128).contains(&o.hnsw_m) {
        return Err(format!("HNSW M {} out of range 2..=128", o.hnsw_m));
    }
    if o.ef_construction == 0 || o.ef_construction > 4096 {
        return Err(format!("ef_construction {} out of range 1..=4096", o.ef_construction));
    }
    if o.label.len() > 16 {
        return Err(format!("label '{}' longer than 16 bytes", o.label));
    }
    if o.journal_blocks != 0 && o.journal_blocks < VEXFS_MIN_JOURNAL_BLOCKS {
        return Err(format!(
            "journal of {} blocks is below the jbd2 minimum of {VEXFS_MIN_JOURNAL_BLOCKS}",
            o.journal_blocks
        ));
    }
    if o.inodes != 0 && o.inodes < VEXFS_FIRST_INO + 1 {
        return Err(format!("{} inodes is too few (at least {})", o.inodes, VEXFS_FIRST_INO + 1));
    }
    Ok(())
}

/// The root directory inode as mkfs writes it.
pub fn root_inode(block_nr: u32, now: u64) -> InodeMem {
    let mut m = InodeMem::default();
    m.mode = mode::S_IFDIR | 0o755;
    m.links_count = 2;
    m.size = BLOCK_SIZE as u64;
    m.blocks = (BLOCK_SIZE / 512) as u64;
    m.atime = now as i64;
    m.mtime = now as i64;
    m.ctime = now as i64;
    m.crtime = now as i64;
    m.block[0] = block_nr;
    m
}

/// Make an empty VexFS on `img` (opened writable). Errors are text naming
/// the cause; the caller prefixes the target.
pub fn make(img: &Image, o: &MkfsOptions) -> Result<MkfsSummary, String> {
    check_options(o)?;
    let dev_blocks = img.blocks();
    let uuid = o.uuid.unwrap_or_else(random_uuid);
    let now = o.now_sec.unwrap_or_else(now_sec);
    let mut label = [0u8; 16];
    label[..o.label.len()].copy_from_slice(o.label.as_bytes());
    let p = MkfsParams {
        dev_blocks,
        inodes: o.inodes,
        journal_blocks: o.journal_blocks,
        vector_dim: o.dim,
        vector_metric: o.metric,
        hnsw_m: o.hnsw_m,
        hnsw_ef_construction: o.ef_construction,
        now_sec: now,
        uuid,
        label,
    };
    let sb = plan(&p).map_err(|e| match e {
        Error::NoSpace => format!(
            "device too small: {} bytes ({dev_blocks} blocks of 4 KiB) cannot hold the metadata, \
             the journal and 32 data blocks (the smallest VexFS with a minimal journal and few inodes \
             needs about {MIN_DEVICE_BLOCKS} blocks, {} KiB)",
            img.bytes(),
            MIN_DEVICE_BLOCKS * 4,
        ),
        e => format!("invalid parameters ({e:?})"),
    })?;
    let mut block0 = vec![0u8; BLOCK_SIZE];
    superblock::encode(&sb, &mut block0).map_err(|e| format!("cannot encode the superblock: {e:?}"))?;
    let mut why = String::new();
    let g = superblock::validate(&block0, dev_blocks, &mut why)
        .map_err(|_| format!("internal error: the planned superblock does not validate: {why}"))?;
    let io = |what: &str, e: std::io::Error| format!("writing the {what}: {e}");

    // Block 0 goes first, so an interrupted mkfs leaves no valid volume;
    // metadata regions are zeroed next: a free inode is all zero, and a
    // stale journal block must never look like a log record.
    let zero_journal = g.journal_blocks.min(16) as u64;
    img.zero_blocks(0, 1).map_err(|e| io("superblock", e))?;
    img.zero_blocks(g.journal_start as u64, zero_journal).map_err(|e| io("journal", e))?;
    img.zero_blocks(g.inode_bitmap_start as u64, (g.data_start - g.inode_bitmap_start) as u64)
        .map_err(|e| io("metadata regions", e))?;

    // Inode bitmap: reserved inodes 1..FIRST_INO are in use (the vector
    // store and graph inodes stay zero until the kernel creates them).
    let mut imap = vec![0u8; g.inode_bitmap_blocks as usize * BLOCK_SIZE];
    for ino in 1..VEXFS_FIRST_INO {
        bitmap::set(&mut imap, (ino - 1) as u64);
    }
    img.write_blocks(g.inode_bitmap_start as u64, &imap).map_err(|e| io("inode bitmap", e))?;

    // Block bitmap: every metadata block and the root directory block.
    let root_block = g.data_start;
    let mut bmap = vec![0u8; g.block_bitmap_blocks as usize * BLOCK_SIZE];
    for b in 0..=root_block as u64 {
        bitmap::set(&mut bmap, b);
    }
    img.write_blocks(g.block_bitmap_start as u64, &bmap).map_err(|e| io("block bitmap", e))?;

    // Root inode.
    let root = root_inode(root_block, now);
    let (iblk, ioff) = inode::locate(&g, VEXFS_ROOT_INO).map_err(|e| format!("locating the root inode: {e:?}"))?;
    let mut itb = img.read_block(iblk as u64).map_err(|e| io("inode table", e))?;
    inode::encode(&root, VEXFS_ROOT_INO, &mut itb[ioff as usize..ioff as usize + VEXFS_INODE_SIZE as usize])
        .map_err(|e| format!("encoding the root inode: {e:?}"))?;
    img.write_blocks(iblk as u64, &itb).map_err(|e| io("root inode", e))?;

    // Root directory block: "." and "..", both the root.
    let mut db = vec![0u8; BLOCK_SIZE];
    let r = VEXFS_ROOT_INO;
    dir::init(&mut db, r)
        .and_then(|_| dir::add(&mut db, r, b".", r, VEXFS_FT_DIR))
        .and_then(|_| dir::add(&mut db, r, b"..", r, VEXFS_FT_DIR))
        .map_err(|e| format!("building the root directory: {e:?}"))?;
    img.write_blocks(root_block as u64, &db).map_err(|e| io("root directory", e))?;

    // Clean jbd2 journal superblock.
    if g.journal_blocks != 0 {
        let mut jb = vec![0u8; BLOCK_SIZE];
        // A random first transaction ID: stale log blocks of an earlier
        // filesystem on this device must never look like the next record.
        let r = random_uuid();
        let first_sequence = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
        journal::encode(&mut jb, g.journal_start, g.journal_blocks, &uuid, first_sequence)
            .map_err(|e| format!("encoding the journal superblock: {e:?}"))?;
        img.write_blocks(g.journal_start as u64, &jb).map_err(|e| io("journal superblock", e))?;
    }

    // The superblock last.
    img.write_blocks(0, &block0).map_err(|e| io("superblock", e))?;
    img.sync().map_err(|e| format!("flushing: {e}"))?;
    Ok(MkfsSummary { geom: g, uuid })
}
