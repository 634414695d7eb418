//! Populating a freshly made VexFS from a host directory and a vector
//! manifest (`mkfs.vexfs -d DIR --manifest M.jsonl`, like `mke2fs -d`), so a
//! large collection needs no import through a mounted filesystem.
//!
//! What is written, offline, with the same core codecs the kernel uses:
//! - every directory, regular file, symbolic link, FIFO, socket and device
//!   node under DIR (names sorted, so two runs give the same tree), with its
//!   permission bits, owner, group and times; hard links stay hard links,
//!   each with a names block listing its directories (`Fs::link`; the
//!   volume has RO_COMPAT_LINK_DIRS from mkfs); every inode's `i_parent`
//!   names the directory of its first name (search results resolve paths
//!   through it; exact for a file with one name);
//! - the vector store (format 2): every manifest file's chunk set as a
//!   contiguous run of slots (files in inode order, chunks in line order),
//!   one record per slot in the store (inode 3) encoded by
//!   `encode_chunk_record`, the slots allocated in the slot bitmap (inode
//!   5), and on each owner `HAS_VECTOR`, `i_vector_dim`, `i_chunk_first`,
//!   `i_chunk_count` (data and chunk versions 0: a fresh set is not stale);
//! - the HNSW graph (inode 4, node s = slot s, keyed by the owner's inode),
//!   built here with the core's graph code and the volume's M,
//!   ef_construction and metric, persisted as the kernel persists it and
//!   stamped with the vector generation, so the kernel loads it at the
//!   first mount instead of rebuilding (a graph build of thousands of
//!   vectors is seconds on the host, minutes under emulation); after its
//!   blocks, with at least `sq8::MIN_LIVE` (256) vectors, the int8
//!   quantiser's copy (`struct vexfs_sq8_disk`), trained as the kernel
//!   trains it and stamped with the graph's generation, so the first mount
//!   encodes its codes with it instead of reading every vector to train
//!   one (which a lazy mount, reading no vector, could not do). With
//!   `build_graph` false inode 4 stays empty and the kernel builds the graph
//!   in the background at the first mount (exact search serves meanwhile);
//! - the index summary in the superblock (live slots, files with a set, 0
//!   stale), stamped with the new vector generation (the graph's too).
//!
//! The manifest is read by `super::manifest`: JSON lines `{"path",
//! "vector"}` (a whole-file vector) or `{"path", "offset", "length",
//! "vector"}` (chunks), or with `--vectors` a `"row"` instead of "vector".
//! The store is written block by block as it is encoded; the vectors are
//! held once (the manifest's array), the graph build reads them in place.
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, IsTerminal, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::*;
use vexfs_core::ffi::abi::{VEXFS_HNSW_MIN_CAPACITY, VEXFS_HNSW_SEED};
use vexfs_core::hnsw::chunks::{chunk_record_pos, encode_chunk_record, ChunkHeader};
use vexfs_core::hnsw::{encode_block, scratch_size, DistanceProvider, Graph, HnswError, Params, Query, Scratch};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vexfs_core::format::sq8;
use vexfs_simd::{quant, Kernel};

use super::fs::Fs;
use super::manifest::Manifest;

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct PopulateSummary {
    pub dirs: u64,
    pub files: u64,
    pub symlinks: u64,
    pub specials: u64,
    pub hard_links: u64,
    pub bytes: u64,
    /// Chunks (vectors) written.
    pub vectors: u64,
    /// Files that carry a chunk set.
    pub vector_files: u64,
    /// Graph nodes written (0: the kernel builds the graph at mount).
    pub graph_nodes: u64,
    /// The int8 quantiser's copy was written after the graph (at least
    /// `sq8::MIN_LIVE` vectors and a graph).
    pub quantiser: bool,
    /// Free blocks and inodes left.
    pub free_blocks: u64,
    pub free_inodes: u64,
}

fn err(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

struct Walker<'a> {
    fs: &'a mut Fs,
    /// Relative path -> inode number (regular files, for the manifest).
    files: HashMap<String, u32>,
    /// Host (dev, ino) -> VexFS inode, for hard links.
    links: HashMap<(u64, u64), u32>,
    sum: PopulateSummary,
}

fn times_from(m: &mut InodeMem, md: &fs::Metadata) {
    m.atime = md.atime();
    m.atime_nsec = md.atime_nsec() as u32;
    m.mtime = md.mtime();
    m.mtime_nsec = md.mtime_nsec() as u32;
    m.ctime = md.ctime();
    m.ctime_nsec = md.ctime_nsec() as u32;
    m.uid = md.uid();
    m.gid = md.gid();
}

impl Walker<'_> {
    fn dir(&mut self, host: &Path, rel: &str, dir_ino: u32) -> io::Result<()> {
        let mut names: Vec<(std::ffi::OsString, PathBuf)> = fs::read_dir(host)
            .map_err(|e| err(format!("{}: {e}", host.display())))?
            .map(|e| e.map(|e| (e.file_name(), e.path())))
            .collect::<io::Result<_>>()
            .map_err(|e| err(format!("{}: {e}", host.display())))?;
        names.sort();
        for (name, path) in names {
            let nb = name.as_bytes();
            if nb.len() > VEXFS_NAME_LEN as usize {
                return Err(err(format!("{}: name longer than {VEXFS_NAME_LEN} bytes", path.display())));
            }
            let child_rel = if rel.is_empty() { name.to_string_lossy().into_owned() } else { format!("{rel}/{}", name.to_string_lossy()) };
            let md = fs::symlink_metadata(&path).map_err(|e| err(format!("{}: {e}", path.display())))?;
            let ft = md.file_type();
            let ctx = |e: io::Error| err(format!("{}: {e}", path.display()));
            if ft.is_dir() {
                let ino = self.fs.mkdir(dir_ino, nb).map_err(ctx)?;
                let mut m = self.fs.read_inode(ino).map_err(ctx)?.ok_or_else(|| err("new directory vanished"))?;
                m.mode = mode::S_IFDIR | (md.mode() & 0o7777);
                m.parent = dir_ino;
                times_from(&mut m, &md);
                self.fs.write_inode(ino, &m).map_err(ctx)?;
                self.sum.dirs += 1;
                self.dir(&path, &child_rel, ino)?;
                // Restore the directory's times after filling it.
                let mut m = self.fs.read_inode(ino).map_err(ctx)?.ok_or_else(|| err("new directory vanished"))?;
                times_from(&mut m, &md);
                self.fs.write_inode(ino, &m).map_err(ctx)?;
                continue;
            }
            if md.nlink() > 1 {
                if let Some(&ino) = self.links.get(&(md.dev(), md.ino())) {
                    self.fs.link(dir_ino, nb, ino).map_err(ctx)?;
                    if ft.is_file() {
                        self.files.insert(child_rel, ino);
                    }
                    self.sum.hard_links += 1;
                    continue;
                }
            }
            let perm = md.mode() & 0o7777;
            let (ino, mut m) = if ft.is_file() {
                let (ino, mut m) = self.fs.new_inode(mode::S_IFREG | perm).map_err(ctx)?;
                let mut f = fs::File::open(&path).map_err(ctx)?;
                let mut buf = vec![0u8; 1 << 20];
                let mut off = 0u64;
                loop {
                    let n = f.read(&mut buf).map_err(ctx)?;
                    if n == 0 {
                        break;
                    }
                    self.fs.write_data(ino, &mut m, off, &buf[..n]).map_err(ctx)?;
                    off += n as u64;
                }
                self.sum.files += 1;
                self.sum.bytes += off;
                self.files.insert(child_rel.clone(), ino);
                (ino, m)
            } else if ft.is_symlink() {
                let target = fs::read_link(&path).map_err(ctx)?;
                let tb = target.as_os_str().as_bytes().to_vec();
                if tb.is_empty() || tb.len() > VEXFS_MAX_SYMLINK_LEN as usize {
                    return Err(err(format!("{}: symlink target of {} bytes", path.display(), tb.len())));
                }
                let (ino, mut m) = self.fs.new_inode(mode::S_IFLNK | 0o777).map_err(ctx)?;
                if tb.len() < VEXFS_N_BLOCKS as usize * 4 {
                    let mut raw = [0u8; VEXFS_N_BLOCKS as usize * 4];
                    raw[..tb.len()].copy_from_slice(&tb);
                    for (i, w) in raw.chunks_exact(4).enumerate() {
                        m.block[i] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                    }
                    m.flags |= VEXFS_INODE_FL_INLINE_SYMLINK;
                    m.size = tb.len() as u64;
                } else {
                    self.fs.write_data(ino, &mut m, 0, &tb).map_err(ctx)?;
                }
                self.sum.symlinks += 1;
                (ino, m)
            } else {
                let t = if ft.is_fifo() {
                    mode::S_IFIFO
                } else if ft.is_socket() {
                    mode::S_IFSOCK
                } else if ft.is_char_device() {
                    mode::S_IFCHR
                } else if ft.is_block_device() {
                    mode::S_IFBLK
                } else {
                    return Err(err(format!("{}: unsupported file type", path.display())));
                };
                let (ino, mut m) = self.fs.new_inode(t | perm).map_err(ctx)?;
                if t == mode::S_IFCHR || t == mode::S_IFBLK {
                    // Linux new_encode_dev, as the kernel stores i_rdev.
                    let rdev = md.rdev();
                    let (maj, min) = (libc::major(rdev), libc::minor(rdev));
                    m.rdev = (min & 0xff) | (maj << 8) | ((min & !0xff) << 12);
                }
                self.sum.specials += 1;
                (ino, m)
            };
            m.parent = dir_ino;
            times_from(&mut m, &md);
            if ft.is_symlink() {
                m.mode = mode::S_IFLNK | 0o777;
            }
            self.fs.write_inode(ino, &m).map_err(ctx)?;
            let ftype = mode::file_type(m.mode).unwrap_or(VEXFS_FT_REG_FILE);
            self.fs.add_entry(dir_ino, nb, ino, ftype).map_err(ctx)?;
            if md.nlink() > 1 {
                self.links.insert((md.dev(), md.ino()), ino);
            }
        }
        Ok(())
    }
}

use std::os::unix::ffi::OsStrExt;

/// Copy the tree under `src` into the (empty, just made) volume and store
/// the manifest's chunk sets. The volume must not be mounted.
pub fn populate(fs: &mut Fs, src: &Path, manifest: &Manifest, build_graph: bool) -> io::Result<PopulateSummary> {
    let md = fs::metadata(src).map_err(|e| err(format!("{}: {e}", src.display())))?;
    if !md.is_dir() {
        return Err(err(format!("{}: not a directory", src.display())));
    }
    // The root takes the source directory's permissions, owner and times.
    let mut w = Walker { fs, files: HashMap::new(), links: HashMap::new(), sum: PopulateSummary::default() };
    w.dir(src, "", VEXFS_ROOT_INO)?;
    let mut root = w.fs.read_inode(VEXFS_ROOT_INO)?.ok_or_else(|| err("root inode is free"))?;
    root.mode = mode::S_IFDIR | (md.mode() & 0o7777);
    times_from(&mut root, &md);
    w.fs.write_inode(VEXFS_ROOT_INO, &root)?;

    let Walker { fs, files, mut sum, .. } = w;
    let dim = fs.geom.vector_dim;
    if manifest.dim != dim && !manifest.chunks.is_empty() {
        return Err(err(format!("manifest read for dimension {} but the filesystem's is {dim}", manifest.dim)));
    }
    // Manifest files by inode (the sets' order on disk); the first line
    // of each names it in messages.
    let mut first_line = vec![0u32; manifest.paths.len()];
    for c in manifest.chunks.iter().rev() {
        first_line[c.file as usize] = c.line;
    }
    let mut by_ino: BTreeMap<u32, u32> = BTreeMap::new();
    for (i, p) in manifest.paths.iter().enumerate() {
        let line = first_line[i];
        let ino = *files.get(p).ok_or_else(|| {
            err(format!("manifest line {line}: {p:?} is not a regular file under {}", src.display()))
        })?;
        if let Some(prev) = by_ino.insert(ino, i as u32) {
            let (pp, pl) = (&manifest.paths[prev as usize], first_line[prev as usize]);
            return Err(err(format!(
                "manifest line {line}: {p:?} already has a vector (line {pl}, {pp:?}: the same file through a hard link)"
            )));
        }
    }
    if by_ino.is_empty() {
        record_summary(fs, 0, 0);
        fs.flush()?;
        free_counts(fs, &mut sum);
        return Ok(sum);
    }
    // Each file's chunks in line order.
    let mut per_file: Vec<Vec<u32>> = vec![Vec::new(); manifest.paths.len()];
    for (i, c) in manifest.chunks.iter().enumerate() {
        per_file[c.file as usize].push(i as u32);
    }
    let n = manifest.chunks.len();
    if n as u64 > u32::MAX as u64 / 2 {
        return Err(err(format!("{n} chunks: more than the slot numbers can address")));
    }

    // Slots in order: each file's run, then its chunks' records, written
    // to the store as each block fills.
    let mut slot_src: Vec<u32> = Vec::with_capacity(n);
    let mut slot_ino: Vec<u32> = Vec::with_capacity(n);
    let mut store = StoreWriter::new(hidden_inode());
    let mut rec = vec![0u8; vexfs_core::hnsw::chunks::chunk_record_size(dim).map_err(|e| err(format!("{e:?}")))? as usize];
    let mut bits = vec![0u32; dim as usize];
    for (&ino, &file) in &by_ino {
        let mut owner = fs.read_inode(ino)?.ok_or_else(|| err(format!("inode {ino} vanished")))?;
        let first = slot_src.len() as u32;
        for (c, &ci) in per_file[file as usize].iter().enumerate() {
            let ch = &manifest.chunks[ci as usize];
            let slot = slot_src.len() as u64;
            for (b, f) in bits.iter_mut().zip(manifest.vector(ch.src)) {
                *b = f.to_bits();
            }
            let h = ChunkHeader { ino, generation: owner.generation, chunk: c as u32, offset: ch.offset, length: ch.length };
            encode_chunk_record(&h, &bits, &mut rec)
                .map_err(|x| err(format!("manifest line {}: cannot encode the chunk: {x:?}", ch.line)))?;
            let pos = chunk_record_pos(slot, dim).map_err(|e| err(format!("record position: {e:?}")))?;
            store.put(fs, pos.block * BLOCK_SIZE as u64 + pos.offset as u64, &rec)?;
            slot_src.push(ch.src);
            slot_ino.push(ino);
        }
        owner.flags |= VEXFS_INODE_FL_HAS_VECTOR;
        owner.vector_dim = dim;
        owner.chunk_first = first;
        owner.chunk_count = slot_src.len() as u32 - first;
        owner.data_version = 0;
        owner.chunk_version = 0;
        fs.write_inode(ino, &owner)?;
        sum.vector_files += 1;
    }
    sum.vectors = n as u64;
    store.finish(fs)?;
    write_slot_bitmap(fs, n as u64)?;
    // The store changed: a new vector generation. Without a graph of the
    // same generation the kernel rebuilds one at mount.
    let generation = fs.geom.vector_generation + 1;
    fs.geom.vector_generation = generation;
    if build_graph {
        (sum.graph_nodes, sum.quantiser) = write_graph(fs, &manifest.vectors, &slot_src, &slot_ino, generation)?;
        fs.geom.graph_generation = generation;
    }
    record_summary(fs, sum.vectors, sum.vector_files);
    fs.flush()?;
    free_counts(fs, &mut sum);
    Ok(sum)
}

/// The index summary (`s_index_*`, written by `flush` on a volume with
/// COMPAT_INDEX_SUMMARY): every slot written is live, every set fresh
/// (data and chunk versions both 0), stamped with the generation the store
/// now has, so the kernel may take the counts at the first mount. With no
/// chunk set the generation is still 0 and so is the stamp (none): the
/// kernel's scan of an empty store costs nothing.
fn record_summary(fs: &mut Fs, live: u64, files: u64) {
    fs.geom.index_generation = fs.geom.vector_generation;
    fs.geom.index_live = live;
    fs.geom.index_files = files;
    fs.geom.index_stale = 0;
}

/// Writes the store file (inode 3) front to back: bytes go into the
/// current block, which is written when a later block is reached.
struct StoreWriter {
    inode: InodeMem,
    block: u64,
    buf: Vec<u8>,
    dirty: bool,
    end: u64,
}

impl StoreWriter {
    fn new(inode: InodeMem) -> Self {
        StoreWriter { inode, block: 0, buf: vec![0u8; BLOCK_SIZE], dirty: false, end: 0 }
    }

    fn flush_block(&mut self, fs: &mut Fs) -> io::Result<()> {
        if self.dirty {
            let pb = fs.bmap_alloc(VEXFS_VECSTORE_INO, &mut self.inode, self.block)?;
            fs.img.write_blocks(pb as u64, &self.buf)?;
            self.buf.fill(0);
            self.dirty = false;
        }
        Ok(())
    }

    /// Put `data` at byte `at` (never before an earlier put's end).
    fn put(&mut self, fs: &mut Fs, at: u64, data: &[u8]) -> io::Result<()> {
        let mut done = 0usize;
        while done < data.len() {
            let pos = at + done as u64;
            let b = pos / BLOCK_SIZE as u64;
            if b != self.block {
                self.flush_block(fs)?;
                self.block = b;
            }
            let off = (pos % BLOCK_SIZE as u64) as usize;
            let k = (data.len() - done).min(BLOCK_SIZE - off);
            self.buf[off..off + k].copy_from_slice(&data[done..done + k]);
            self.dirty = true;
            done += k;
        }
        self.end = self.end.max(at + data.len() as u64);
        Ok(())
    }

    fn finish(mut self, fs: &mut Fs) -> io::Result<()> {
        self.flush_block(fs)?;
        self.inode.size = self.end;
        fs.write_inode(VEXFS_VECSTORE_INO, &self.inode)
    }
}

/// Distances for the graph build: the same SIMD kernels as the module,
/// over the manifest's vectors through the slot -> row map.
struct Provider<'a> {
    kernel: Kernel,
    base: &'a [f32],
    dim: usize,
    slot_src: &'a [u32],
    rows: Vec<u32>,
}

impl DistanceProvider for Provider<'_> {
    fn dist_batch(&mut self, q: Query, ids: &[u32], out: &mut [u32]) -> Result<(), HnswError> {
        let Query::Node(n) = q else { return Err(HnswError::InvalidParam("no input query in a build")) };
        let bad = HnswError::Provider(-22);
        let r = *self.slot_src.get(n as usize).ok_or(bad)? as usize;
        let s = r.checked_mul(self.dim).ok_or(bad)?;
        let qv = self.base.get(s..s + self.dim).ok_or(bad)?;
        self.rows.clear();
        for &id in ids {
            self.rows.push(*self.slot_src.get(id as usize).ok_or(bad)?);
        }
        self.kernel.dist_batch_strided(qv, self.base, self.dim, &self.rows, out).map_err(|_| bad)
    }
}

/// Build the HNSW graph over the slots (node s = slot s, vector row
/// `slot_src[s]`, key `slot_ino[s]`) and write it as inode 4, followed by
/// the quantiser's copy when there are enough vectors. Returns the node
/// count and whether the copy was written.
fn write_graph(fs: &mut Fs, base: &[f32], slot_src: &[u32], slot_ino: &[u32], generation: u64) -> io::Result<(u64, bool)> {
    let g = fs.geom;
    let n = slot_src.len();
    let ge = |e: HnswError| err(format!("building the HNSW graph: {e:?}"));
    // Never below the kernel's minimum capacity (shim/vexfs_core.h).
    let cap = u32::try_from(n.next_power_of_two()).map_err(|_| err("too many vectors"))?.max(VEXFS_HNSW_MIN_CAPACITY);
    let dim = g.vector_dim as usize;
    let mut prm = Params::new(cap, g.hnsw_m, g.hnsw_ef_construction, g.vector_metric, g.vector_dim);
    // The kernel's seed (shim/vexfs_core.h): a graph it rebuilds picks the same levels.
    prm.seed = VEXFS_HNSW_SEED;
    let mut words = vec![0u32; Graph::words_needed(&prm).map_err(ge)?];
    let caps = crate::host_simd_caps();
    let kernel = Kernel::new(g.vector_metric, caps).map_err(|e| err(format!("distance kernel: {e:?}")))?;
    let sz = scratch_size(cap, g.hnsw_m, g.hnsw_ef_construction);
    let (mut s32, mut s64) = (vec![0u32; sz.u32_words], vec![0u64; sz.u64_words]);
    let mut graph = Graph::create(&mut words, &prm).map_err(ge)?;
    {
        let mut s = Scratch::new(&mut s32, &mut s64, cap, g.hnsw_m, g.hnsw_ef_construction).map_err(ge)?;
        let mut p = Provider { kernel, base, dim, slot_src, rows: Vec::new() };
        // A bulk build takes minutes: show progress on a terminal.
        let target = if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let pb = ProgressBar::with_draw_target(Some(n as u64), target);
        if let Ok(st) = ProgressStyle::with_template("HNSW graph [{elapsed_precise}] [{wide_bar}] {pos}/{len} ({per_sec}, eta {eta})") {
            pb.set_style(st.progress_chars("=> "));
        }
        for (slot, &ino) in slot_ino.iter().enumerate() {
            graph.insert(&mut p, &mut s, slot as u32, ino as u64).map_err(ge)?;
            if slot % 1024 == 0 {
                pb.set_position(slot as u64);
            }
        }
        pb.finish_and_clear();
    }
    graph.set_generation(generation).map_err(ge)?;
    let words = graph.words();
    let nblocks = words.len().div_ceil(1024);
    let mut gi = hidden_inode();
    let mut buf = vec![0u8; BLOCK_SIZE];
    for b in 0..nblocks {
        encode_block(words, b, &mut buf).map_err(ge)?;
        let pb = fs.bmap_alloc(VEXFS_GRAPH_INO, &mut gi, b as u64)?;
        fs.img.write_blocks(pb as u64, &buf)?;
    }
    let mut size = nblocks * BLOCK_SIZE;
    // The quantiser's copy follows the graph's blocks (the kernel's
    // vexfs_graph_persist writes it there; its graph load reads it only
    // when the file covers all of it). Below the kernel's threshold it has
    // no quantiser either, and writes none.
    let quantiser = n as u64 >= sq8::MIN_LIVE;
    if quantiser {
        let (min, scale) = train_quantiser(g.vector_metric, dim, base, slot_src)?;
        let mut copy = vec![0u8; sq8::blocks(g.vector_dim) * BLOCK_SIZE];
        sq8::encode(g.vector_dim, g.vector_metric, generation, &min, &scale, &mut copy)
            .map_err(|e| err(format!("encoding the int8 quantiser's copy: {e:?}")))?;
        for (i, blk) in copy.chunks(BLOCK_SIZE).enumerate() {
            let pb = fs.bmap_alloc(VEXFS_GRAPH_INO, &mut gi, (nblocks + i) as u64)?;
            fs.img.write_blocks(pb as u64, blk)?;
        }
        size += copy.len();
    }
    gi.size = size as u64;
    fs.write_inode(VEXFS_GRAPH_INO, &gi)?;
    Ok((n as u64, quantiser))
}

/// Train the int8 quantiser as the kernel does at mount
/// (kernel/vindex-codes.c vexfs_codes_train): every `sq8::sample_step(n)`-th
/// live slot in slot order (here every slot is live), observed with the
/// same simd code the kernel calls (`vexfs_simd_sq8_observe` / `_finish`
/// wrap `quant::observe` / `quant::finish`; for cosine over the
/// unit-length vectors), so the copy is the one the kernel would have
/// trained on this store. Returns min and scale as float32 bit patterns.
pub fn train_quantiser(metric: u32, dim: usize, base: &[f32], slot_src: &[u32]) -> io::Result<(Vec<u32>, Vec<u32>)> {
    let step = sq8::sample_step(slot_src.len() as u64) as usize;
    let (mut min, mut max, mut tmp) = (vec![0f32; dim], vec![0f32; dim], vec![0f32; dim]);
    for (i, &row) in slot_src.iter().step_by(step).enumerate() {
        let at = row as usize * dim;
        let v = base
            .get(at..at + dim)
            .ok_or_else(|| err(format!("training the int8 quantiser: vector row {row} is past the vectors read")))?;
        quant::observe(metric, v, &mut tmp, &mut min, &mut max, i == 0)
            .map_err(|e| err(format!("training the int8 quantiser: vector row {row}: {e:?}")))?;
    }
    quant::finish(&min, &mut max).map_err(|e| err(format!("training the int8 quantiser: {e:?}")))?;
    Ok((min.iter().map(|x| x.to_bits()).collect(), max.iter().map(|x| x.to_bits()).collect()))
}

/// A hidden file's inode as the kernel brings it to life (inode.c: mode
/// S_IFREG|0600, one link, generation 0).
fn hidden_inode() -> InodeMem {
    let mut m = InodeMem::default();
    m.mode = mode::S_IFREG | 0o600;
    m.links_count = 1;
    let now = super::mkfs::now_sec() as i64;
    (m.atime, m.mtime, m.ctime, m.crtime) = (now, now, now, now);
    m
}

/// The slot bitmap (inode 5) with slots `0..n` allocated.
fn write_slot_bitmap(fs: &mut Fs, n: u64) -> io::Result<()> {
    let bytes = n.div_ceil(8) as usize;
    let mut map = vec![0u8; bytes.div_ceil(BLOCK_SIZE) * BLOCK_SIZE];
    for s in 0..n {
        map[(s / 8) as usize] |= 1 << (s % 8);
    }
    let mut bi = hidden_inode();
    for (fb, data) in map.chunks(BLOCK_SIZE).enumerate() {
        let pb = fs.bmap_alloc(VEXFS_SLOTMAP_INO, &mut bi, fb as u64)?;
        fs.img.write_blocks(pb as u64, data)?;
    }
    bi.size = bytes as u64;
    fs.write_inode(VEXFS_SLOTMAP_INO, &bi)
}

fn free_counts(fs: &Fs, sum: &mut PopulateSummary) {
    use vexfs_core::format::bitmap::count_set;
    let g = &fs.geom;
    sum.free_blocks = g.blocks_count - count_set(&fs.bmap, g.blocks_count);
    sum.free_inodes = g.inodes_count as u64 - count_set(&fs.imap, g.inodes_count as u64);
}
