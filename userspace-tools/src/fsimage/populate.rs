//! Populating a freshly made VexFS from a host directory and a vector
//! manifest (`mkfs.vexfs -d DIR --manifest M.jsonl`, like `mke2fs -d`), so a
//! large collection needs no import through a mounted filesystem.
//!
//! What is written, offline, with the same core codecs the kernel uses:
//! - every directory, regular file, symbolic link, FIFO, socket and device
//!   node under DIR (names sorted, so two runs give the same tree), with its
//!   permission bits, owner, group and times; hard links stay hard links;
//!   every inode's `i_parent` names the directory that links it (search
//!   results resolve paths through it);
//! - the vector store (inode 3, `S_IFREG|0600`, one link): one record per
//!   manifest line at `record_pos(ino, dim)`, encoded by `encode_record`,
//!   and `HAS_VECTOR` + `i_vector_dim` on each owner;
//! - the HNSW graph (inode 4), built here with the core's graph code and the
//!   volume's M, ef_construction and metric, persisted as the kernel persists
//!   it and stamped with the vector generation, so the kernel loads it at the
//!   first mount instead of rebuilding (a graph build of thousands of
//!   vectors is seconds on the host, minutes under emulation). With
//!   `build_graph` false inode 4 stays empty and the kernel builds the graph
//!   in the background at the first mount (exact search serves meanwhile).
//!
//! Manifest: JSON lines `{"path": "a/b.txt", "vector": [0.1, ...]}`, the
//! format `vexctl import --manifest` and `vexctl embed` use; paths are
//! relative to DIR (a leading "./" or "/" is ignored). Blank lines and lines
//! starting with '#' are skipped.
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, BufRead, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use vexfs_core::format::defs::mode;
use vexfs_core::format::inode::InodeMem;
use vexfs_core::format::*;
use vexfs_core::ffi::abi::{VEXFS_HNSW_MIN_CAPACITY, VEXFS_HNSW_SEED};
use vexfs_core::hnsw::chunks::{chunk_record_pos, encode_chunk_record, ChunkHeader};
use vexfs_core::hnsw::{encode_block, scratch_size, DistanceProvider, Graph, HnswError, Params, Query, Scratch};
use vexfs_simd::{Kernel, CAP_AVX2_FMA};

use super::fs::Fs;

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct PopulateSummary {
    pub dirs: u64,
    pub files: u64,
    pub symlinks: u64,
    pub specials: u64,
    pub hard_links: u64,
    pub bytes: u64,
    pub vectors: u64,
    /// Graph nodes written (0: the kernel builds the graph at mount).
    pub graph_nodes: u64,
    /// Free blocks and inodes left.
    pub free_blocks: u64,
    pub free_inodes: u64,
}

/// One manifest line.
#[derive(Clone, Debug)]
pub struct ManifestEntry {
    pub line: usize,
    pub path: String,
    pub vector: Vec<f32>,
}

fn err(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

/// Normalise a manifest path: relative to DIR, no "." components.
fn norm_path(p: &str) -> Option<String> {
    let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if parts.is_empty() || parts.iter().any(|c| *c == "..") {
        return None;
    }
    Some(parts.join("/"))
}

/// Read a manifest; every vector must have `dim` finite components.
pub fn read_manifest(path: &Path, dim: u32) -> Result<Vec<ManifestEntry>, String> {
    let f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in io::BufReader::new(f).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| format!("{}:{n}: {e}", path.display()))?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let at = |m: String| format!("{}:{n}: {m}", path.display());
        let v: serde_json::Value = serde_json::from_str(t).map_err(|e| at(format!("not JSON: {e}")))?;
        let p = v.get("path").and_then(|p| p.as_str()).ok_or_else(|| at("no \"path\" string".into()))?;
        let np = norm_path(p).ok_or_else(|| at(format!("bad path {p:?} (must name a file under the directory)")))?;
        let arr = v.get("vector").and_then(|a| a.as_array()).ok_or_else(|| at("no \"vector\" array".into()))?;
        if arr.len() != dim as usize {
            return Err(at(format!("vector of {} components, the filesystem's dimension is {dim}", arr.len())));
        }
        let mut vec = Vec::with_capacity(arr.len());
        for x in arr {
            let f = x.as_f64().ok_or_else(|| at("vector holds a non-number".into()))? as f32;
            if !f.is_finite() {
                return Err(at("vector holds a value that is not a finite float32".into()));
            }
            vec.push(f);
        }
        out.push(ManifestEntry { line: n, path: np, vector: vec });
    }
    Ok(out)
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
/// the manifest's vectors. The volume must not be mounted.
pub fn populate(fs: &mut Fs, src: &Path, manifest: &[ManifestEntry], build_graph: bool) -> io::Result<PopulateSummary> {
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
    let mut by_ino: BTreeMap<u32, &ManifestEntry> = BTreeMap::new();
    for e in manifest {
        let ino = *files.get(&e.path).ok_or_else(|| {
            err(format!("manifest line {}: {:?} is not a regular file under {}", e.line, e.path, src.display()))
        })?;
        if let Some(prev) = by_ino.insert(ino, e) {
            return Err(err(format!(
                "manifest line {}: {:?} already has a vector (line {}, same file or a hard link to it)",
                e.line, e.path, prev.line
            )));
        }
    }
    if by_ino.is_empty() {
        fs.flush()?;
        free_counts(fs, &mut sum);
        return Ok(sum);
    }

    // The vector store, assembled block by block in memory: slot s = the
    // s-th file in inode order, a one-chunk set covering the whole file.
    let mut blocks: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut end = 0u64;
    for (slot, (&ino, e)) in by_ino.iter().enumerate() {
        let mut owner = fs.read_inode(ino)?.ok_or_else(|| err(format!("inode {ino} vanished")))?;
        let pos = chunk_record_pos(slot as u64, dim).map_err(|e| err(format!("record position: {e:?}")))?;
        let mut rec = vec![0u8; pos.len as usize];
        let bits: Vec<u32> = e.vector.iter().map(|f| f.to_bits()).collect();
        let h = ChunkHeader { ino, generation: owner.generation, chunk: 0, offset: 0, length: 0 };
        encode_chunk_record(&h, &bits, &mut rec)
            .map_err(|x| err(format!("manifest line {}: cannot encode the vector: {x:?}", e.line)))?;
        let mut done = 0usize;
        let mut b = pos.block;
        while done < rec.len() {
            let off = if done == 0 { pos.offset as usize } else { 0 };
            let n = (rec.len() - done).min(BLOCK_SIZE - off);
            let blk = blocks.entry(b).or_insert_with(|| vec![0u8; BLOCK_SIZE]);
            blk[off..off + n].copy_from_slice(&rec[done..done + n]);
            done += n;
            b += 1;
        }
        end = end.max(pos.block * BLOCK_SIZE as u64 + pos.offset as u64 + pos.len as u64);
        owner.flags |= VEXFS_INODE_FL_HAS_VECTOR;
        owner.vector_dim = dim;
        owner.chunk_first = slot as u32;
        owner.chunk_count = 1;
        fs.write_inode(ino, &owner)?;
        sum.vectors += 1;
    }
    write_slot_bitmap(fs, by_ino.len() as u64)?;
    let mut store = hidden_inode();
    for (&fb, data) in &blocks {
        let pb = fs.bmap_alloc(VEXFS_VECSTORE_INO, &mut store, fb)?;
        fs.img.write_blocks(pb as u64, data)?;
    }
    store.size = end;
    fs.write_inode(VEXFS_VECSTORE_INO, &store)?;
    // The store changed: a new vector generation. Without a graph of the
    // same generation the kernel rebuilds one at mount.
    let generation = fs.geom.vector_generation + 1;
    fs.geom.vector_generation = generation;
    if build_graph {
        sum.graph_nodes = write_graph(fs, &by_ino, generation)?;
        fs.geom.graph_generation = generation;
    }
    fs.flush()?;
    free_counts(fs, &mut sum);
    Ok(sum)
}

/// Distances for the graph build: the same SIMD kernels as the module.
struct Provider<'a> {
    kernel: Kernel,
    base: &'a [f32],
    dim: usize,
}

impl DistanceProvider for Provider<'_> {
    fn dist_batch(&mut self, q: Query, ids: &[u32], out: &mut [u32]) -> Result<(), HnswError> {
        let Query::Node(n) = q else { return Err(HnswError::InvalidParam("no input query in a build")) };
        let s = (n as usize).checked_mul(self.dim).ok_or(HnswError::Provider(-22))?;
        let qv = self.base.get(s..s + self.dim).ok_or(HnswError::Provider(-22))?;
        self.kernel.dist_batch_strided(qv, self.base, self.dim, ids, out).map_err(|_| HnswError::Provider(-22))
    }
}

/// Build the HNSW graph over the vectors (slot i = i-th inode in order) and
/// write it as inode 4. Returns the node count.
fn write_graph(fs: &mut Fs, by_ino: &BTreeMap<u32, &ManifestEntry>, generation: u64) -> io::Result<u64> {
    let g = fs.geom;
    let n = by_ino.len();
    let ge = |e: HnswError| err(format!("building the HNSW graph: {e:?}"));
    // Never below the kernel's minimum capacity (shim/vexfs_core.h).
    let cap = u32::try_from(n.next_power_of_two()).map_err(|_| err("too many vectors"))?.max(VEXFS_HNSW_MIN_CAPACITY);
    let dim = g.vector_dim as usize;
    let mut base = vec![0f32; cap as usize * dim];
    for (slot, e) in by_ino.values().enumerate() {
        base[slot * dim..(slot + 1) * dim].copy_from_slice(&e.vector);
    }
    let mut prm = Params::new(cap, g.hnsw_m, g.hnsw_ef_construction, g.vector_metric, g.vector_dim);
    // The kernel's seed (shim/vexfs_core.h): a graph it rebuilds picks the same levels.
    prm.seed = VEXFS_HNSW_SEED;
    let mut words = vec![0u32; Graph::words_needed(&prm).map_err(ge)?];
    let caps = if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") { CAP_AVX2_FMA } else { 0 };
    let kernel = Kernel::new(g.vector_metric, caps).map_err(|e| err(format!("distance kernel: {e:?}")))?;
    let sz = scratch_size(cap, g.hnsw_m, g.hnsw_ef_construction);
    let (mut s32, mut s64) = (vec![0u32; sz.u32_words], vec![0u64; sz.u64_words]);
    let mut graph = Graph::create(&mut words, &prm).map_err(ge)?;
    {
        let mut s = Scratch::new(&mut s32, &mut s64, cap, g.hnsw_m, g.hnsw_ef_construction).map_err(ge)?;
        let mut p = Provider { kernel, base: &base, dim };
        for (slot, &ino) in by_ino.keys().enumerate() {
            graph.insert(&mut p, &mut s, slot as u32, ino as u64).map_err(ge)?;
        }
    }
    graph.set_generation(generation).map_err(ge)?;
    let words = graph.words();
    let nblocks = words.len().div_ceil(1024);
    let mut gi = InodeMem::default();
    gi.mode = mode::S_IFREG | 0o600;
    gi.links_count = 1;
    let now = super::mkfs::now_sec() as i64;
    (gi.atime, gi.mtime, gi.ctime, gi.crtime) = (now, now, now, now);
    let mut buf = vec![0u8; BLOCK_SIZE];
    for b in 0..nblocks {
        encode_block(words, b, &mut buf).map_err(ge)?;
        let pb = fs.bmap_alloc(VEXFS_GRAPH_INO, &mut gi, b as u64)?;
        fs.img.write_blocks(pb as u64, &buf)?;
    }
    gi.size = (nblocks * BLOCK_SIZE) as u64;
    fs.write_inode(VEXFS_GRAPH_INO, &gi)?;
    Ok(n as u64)
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
