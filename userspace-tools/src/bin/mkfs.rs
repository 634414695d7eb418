//! mkfs.vexfs: make a VexFS on a regular file or a block device, empty or
//! populated from a directory and a vector manifest (`-d DIR --manifest M`).
//!
//! Exit status: 0 made, 1 the target or the parameters were refused or an
//! I/O error occurred (the message names the target and the cause), 2 the
//! command line did not parse.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use vexfs_core::ffi::abi::{VEXFS_HNSW_DEFAULT_EF_CONSTRUCTION, VEXFS_HNSW_DEFAULT_M};
use vexfs_tools::fsimage::mkfs::{self, MkfsOptions};
use vexfs_tools::fsimage::{manifest, populate, Fs, Image};

#[derive(Parser, Debug)]
#[command(
    name = "mkfs.vexfs",
    bin_name = "mkfs.vexfs",
    version,
    about = "Make a VexFS filesystem (files carry embedding vectors, indexed by HNSW)",
    after_help = "SIZE (only for regular files): bytes with an optional K/M/G/T suffix (powers of 1024); \
the file is created or resized to it. Without SIZE the whole file or device is used.\n\
\n\
Populating (like mke2fs -d): `-d DIR` copies the tree under DIR (directories, files, symlinks, \
hard links, FIFOs, devices; modes, owners and times) into the new filesystem; `--manifest M.jsonl` \
attaches vectors, paths relative to DIR (the format of `vexctl import --manifest` and `vexctl embed`): \
{\"path\": \"a/b.txt\", \"vector\": [...]} is a file's whole-file vector (its only line); \
{\"path\": \"a/b.txt\", \"offset\": 0, \"length\": 900, \"vector\": [...]} is a chunk (bytes \
offset..offset+length, length 0 = to the end), all chunk lines of a path forming its set in line \
order (at most 16384). For bulk loads `--vectors V.fvecs|V.npy` (float32, C order) lets a line name \
a row instead of carrying the vector: {\"path\": \"a/b.txt\", \"offset\": 0, \"length\": 900, \
\"row\": 12345}. The HNSW graph is built by \
mkfs.vexfs (the volume's M, ef_construction and metric) and loaded by the kernel at mount; with \
--no-graph the kernel builds it in the background at the first mount (exact search serves meanwhile).\n\n\
Examples:\n  mkfs.vexfs --dim 384 --metric cosine vexfs.img 1G\n  \
mkfs.vexfs --dim 384 --metric cosine -d corpus/ --manifest vectors.jsonl corpus.img 256M\n\n\
Exit status: 0 success, 1 target refused or I/O error, 2 usage error."
)]
struct Args {
    /// Vector dimension of every file's embedding (1..=4096)
    #[arg(long, default_value_t = mkfs::DEFAULT_DIM)]
    dim: u32,
    /// Distance metric: l2, cosine or dot
    #[arg(long, default_value = "l2")]
    metric: String,
    /// Number of inodes (default: one per 16 KiB)
    #[arg(short = 'N', long = "inodes", default_value_t = 0, hide_default_value = true)]
    inodes: u32,
    /// Journal size in 4 KiB blocks (default: 1/64 of the volume, 1024..=32768)
    #[arg(short = 'J', long = "journal-blocks", default_value_t = 0, hide_default_value = true)]
    journal_blocks: u32,
    /// Volume label (up to 16 bytes)
    #[arg(short = 'L', long = "label", default_value = "")]
    label: String,
    /// HNSW M: links per node above layer 0 (2..=128)
    #[arg(short = 'M', long = "hnsw-m", default_value_t = VEXFS_HNSW_DEFAULT_M)]
    hnsw_m: u32,
    /// HNSW ef_construction (1..=4096)
    #[arg(long = "ef-construction", default_value_t = VEXFS_HNSW_DEFAULT_EF_CONSTRUCTION)]
    ef_construction: u32,
    /// Populate the new filesystem from this directory's tree (as mke2fs -d)
    #[arg(short = 'd', long = "root-directory", value_name = "DIR")]
    root_directory: Option<PathBuf>,
    /// With -d: JSON lines {"path": ..., "vector": [...]}, paths relative to DIR
    #[arg(long, value_name = "M.jsonl", requires = "root_directory")]
    manifest: Option<PathBuf>,
    /// With --manifest: float32 vectors (.fvecs or .npy, C order) that manifest lines name by "row"
    #[arg(long, value_name = "V.fvecs|V.npy", requires = "manifest")]
    vectors: Option<PathBuf>,
    /// With --manifest: leave the HNSW graph to the kernel (built at the first mount)
    #[arg(long, requires = "manifest")]
    no_graph: bool,
    /// Quiet: print nothing on success
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Regular file or block device to format
    target: PathBuf,
    /// Size for a regular file, e.g. 64M (creates or resizes the file)
    size: Option<String>,
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return None,
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

fn run(a: &Args) -> Result<(), String> {
    let t = a.target.display().to_string();
    let metric = mkfs::parse_metric(&a.metric)
        .ok_or_else(|| format!("{t}: unknown metric '{}' (use l2, cosine or dot)", a.metric))?;
    let opts = MkfsOptions {
        dim: a.dim,
        metric,
        inodes: a.inodes,
        journal_blocks: a.journal_blocks,
        label: a.label.clone(),
        hnsw_m: a.hnsw_m,
        ef_construction: a.ef_construction,
        uuid: None,
        now_sec: None,
    };
    mkfs::check_options(&opts).map_err(|e| format!("{t}: {e}"))?;
    // Read and check the manifest before touching the target.
    let manifest = match &a.manifest {
        Some(m) => manifest::read_manifest(m, a.dim, a.vectors.as_deref())?,
        None => manifest::Manifest::default(),
    };
    if let Some(d) = &a.root_directory {
        if !d.is_dir() {
            return Err(format!("{}: not a directory", d.display()));
        }
    }
    if let Some(sz) = &a.size {
        let bytes = parse_size(sz).ok_or_else(|| format!("{t}: bad size '{sz}' (e.g. 65536, 64M, 2G)"))?;
        let is_blockdev = std::fs::metadata(&a.target)
            .map(|m| std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()))
            .unwrap_or(false);
        if is_blockdev {
            return Err(format!("{t}: a size is only accepted for a regular file"));
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&a.target)
            .map_err(|e| format!("{t}: cannot create: {e}"))?;
        f.set_len(bytes).map_err(|e| format!("{t}: cannot resize to {bytes} bytes: {e}"))?;
    }
    let img = Image::open(&a.target, true).map_err(|e| format!("{t}: cannot open for writing: {e}"))?;
    let s = mkfs::make(&img, &opts).map_err(|e| format!("{t}: {e}"))?;
    let populated = match &a.root_directory {
        Some(d) => {
            let mut fs = Fs::open(img).map_err(|e| format!("{t}: reopening the new filesystem: {e}"))?;
            let p = populate::populate(&mut fs, d, &manifest, !a.no_graph)
                .map_err(|e| format!("{t}: populating from {}: {e}", d.display()))?;
            Some(p)
        }
        None => None,
    };
    if !a.quiet {
        let g = &s.geom;
        println!("mkfs.vexfs: {t}: {} blocks of 4 KiB ({} MiB), {} inodes", g.blocks_count, g.blocks_count / 256, g.inodes_count);
        println!(
            "  inode table {} blocks at {}, journal {} blocks at {}, data from block {}",
            g.inode_table_blocks, g.inode_table_start, g.journal_blocks, g.journal_start, g.data_start
        );
        println!(
            "  free: {} blocks, {} inodes; vectors: dim {}, metric {}, HNSW M {}, ef_construction {}",
            g.free_blocks_hint,
            g.free_inodes_hint,
            g.vector_dim,
            mkfs::metric_name(g.vector_metric),
            g.hnsw_m,
            g.hnsw_ef_construction
        );
        println!("  UUID {}{}", mkfs::format_uuid(&s.uuid), if a.label.is_empty() { String::new() } else { format!(", label '{}'", a.label) });
        if let (Some(p), Some(d)) = (&populated, &a.root_directory) {
            println!(
                "  populated from {}: {} directories, {} files ({} bytes), {} symlinks, {} hard links, {} special files; {} vectors in {} files, HNSW graph {}",
                d.display(), p.dirs, p.files, p.bytes, p.symlinks, p.hard_links, p.specials, p.vectors, p.vector_files,
                match (p.graph_nodes, p.quantiser) {
                    (0, _) => "left to the kernel".into(),
                    (n, true) => format!("of {n} nodes with its int8 quantiser"),
                    (n, false) => format!("of {n} nodes"),
                }
            );
            println!("  now free: {} blocks, {} inodes", p.free_blocks, p.free_inodes);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkfs.vexfs: {e}");
            ExitCode::from(1)
        }
    }
}
