//! Safe wrappers of the VexFS ioctls (`shim/uapi/vexfs_ioctl.h`, Rust view
//! `vexfs_core::uapi`). Every call returns the raw errno on failure; the
//! caller turns it into a message naming the file ([`super::errors`]).
use std::fs::File;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use vexfs_core::uapi::*;

/// A raw errno value.
pub type Errno = i32;

fn last_errno() -> Errno {
    io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

/// Issues one ioctl with a pointer argument, retrying on EINTR.
///
/// # Safety
/// `arg` must be the struct the request number encodes, and every user
/// pointer inside it must be valid for the sizes it states.
unsafe fn ioctl_ptr<T>(fd: RawFd, req: u32, arg: *mut T) -> Result<(), Errno> {
    loop {
        // SAFETY: forwarded to the caller's contract.
        let r = unsafe { libc::ioctl(fd, req as _, arg) };
        if r >= 0 {
            return Ok(());
        }
        let e = last_errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

fn ioctl_none(fd: RawFd, req: u32) -> Result<(), Errno> {
    loop {
        // SAFETY: an _IO request without an argument.
        let r = unsafe { libc::ioctl(fd, req as _, 0usize) };
        if r >= 0 {
            return Ok(());
        }
        let e = last_errno();
        if e != libc::EINTR {
            return Err(e);
        }
    }
}

fn sz<T>() -> u32 {
    size_of::<T>() as u32
}

/// One search result (a chunk) as the kernel returns it, with decoded
/// floats. From a kernel that knows only the first result version the chunk
/// fields read as chunk 0 covering the whole file, not stale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub ino: u64,
    pub distance: f32,
    pub generation: u32,
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
    pub dim: u32,
    /// Index of the chunk in the file's set.
    pub chunk: u32,
    /// The chunk's byte range; length 0 = the whole file.
    pub offset: u64,
    pub length: u64,
    /// The file's data changed after its chunk set was written.
    pub stale: bool,
}

impl From<&vexfs_ioc_result> for Hit {
    fn from(r: &vexfs_ioc_result) -> Hit {
        Hit {
            ino: r.ino,
            distance: f32::from_bits(r.distance),
            generation: r.generation,
            size: r.file_size,
            mtime_sec: r.mtime_sec,
            mtime_nsec: r.mtime_nsec,
            dim: r.dim,
            chunk: r.chunk,
            offset: r.offset,
            length: r.length,
            stale: r.flags & VEXFS_RESULT_F_STALE != 0,
        }
    }
}

/// A file's chunk set as `VEXFS_IOC_GET_CHUNKS` returns it: `chunks[i]` is
/// chunk i's (offset, length), its vector is `vectors[i*dim..(i+1)*dim]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkSet {
    pub dim: u32,
    pub stale: bool,
    pub data_version: u64,
    pub chunks: Vec<(u64, u64)>,
    pub vectors: Vec<f32>,
}

impl ChunkSet {
    /// Chunk i's vector.
    pub fn vector(&self, i: usize) -> &[f32] {
        let d = self.dim as usize;
        &self.vectors[i * d..(i + 1) * d]
    }
}

/// Chunks asked for per GET_CHUNKS call (the kernel copies a page at a
/// time anyway; this bounds our buffer, not the set).
const GET_CHUNKS_PAGE: u32 = 1024;

/// Set once a kernel refused the grown search/status structs with EINVAL
/// and accepted the first versions: later calls go straight to VER0.
static OLD_ABI: AtomicBool = AtomicBool::new(false);

/// The search kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Knn,
    Range,
    Similar,
}

impl Kind {
    pub fn raw(self) -> u32 {
        match self {
            Kind::Knn => VEXFS_SEARCH_KNN,
            Kind::Range => VEXFS_SEARCH_RANGE,
            Kind::Similar => VEXFS_SEARCH_SIMILAR,
        }
    }
}

/// A search request.
#[derive(Debug, Clone, Copy)]
pub struct SearchReq<'a> {
    pub kind: Kind,
    pub query: &'a [f32],
    /// kNN: results wanted; range/similar: capacity.
    pub k: u32,
    pub ef: u32,
    pub exact: bool,
    /// Only files under the directory this file is (VEXFS_SEARCH_F_SUBTREE).
    pub subtree: bool,
    /// Range: max distance; similar: min similarity; kNN: ignored.
    pub threshold: f32,
    /// Leave stale chunk sets out (VEXFS_SEARCH_F_FRESH).
    pub fresh: bool,
    /// The k nearest files, each with its nearest chunk
    /// (VEXFS_SEARCH_F_PER_FILE).
    pub per_file: bool,
}

impl<'a> SearchReq<'a> {
    /// A kNN request for `k` results with default options.
    pub fn knn(query: &'a [f32], k: u32) -> SearchReq<'a> {
        SearchReq {
            kind: Kind::Knn,
            query,
            k,
            ef: 0,
            exact: false,
            subtree: false,
            threshold: 0.0,
            fresh: false,
            per_file: false,
        }
    }

    fn flags(&self) -> u32 {
        (if self.exact { VEXFS_SEARCH_F_EXACT } else { 0 })
            | (if self.subtree { VEXFS_SEARCH_F_SUBTREE } else { 0 })
            | (if self.fresh { VEXFS_SEARCH_F_FRESH } else { 0 })
            | (if self.per_file { VEXFS_SEARCH_F_PER_FILE } else { 0 })
    }
}

/// The answer of one search call.
#[derive(Debug, Clone, Default)]
pub struct SearchOut {
    pub hits: Vec<Hit>,
    pub truncated: bool,
}

/// A file or directory of a VexFS mount opened for ioctls.
pub struct VexFile {
    file: File,
}

impl VexFile {
    /// Opens read-only (files and directories): searches, GET, status...
    pub fn open_read(path: &Path) -> io::Result<VexFile> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)?;
        Ok(VexFile { file })
    }

    /// Opens for writing (regular files only): SET and DEL need write
    /// permission on the file. A directory gives EISDIR.
    pub fn open_write(path: &Path) -> io::Result<VexFile> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)?;
        Ok(VexFile { file })
    }

    /// Creates (or opens) a regular file for writing, for import.
    pub fn create(path: &Path) -> io::Result<VexFile> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)?;
        Ok(VexFile { file })
    }

    pub fn from_file(file: File) -> VexFile {
        VexFile { file }
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    pub fn set_vector(&self, v: &[f32]) -> Result<(), Errno> {
        let mut a = vexfs_ioc_vector {
            size: sz::<vexfs_ioc_vector>(),
            dim: v.len() as u32,
            data: v.as_ptr() as u64,
            flags: 0,
            reserved: 0,
        };
        // SAFETY: data points at v.len() floats, read by the kernel only.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_SET_VECTOR, &mut a) }
    }

    /// Reads the vector into a buffer of `capacity` floats; returns it cut
    /// to the dimension the kernel reports.
    pub fn get_vector(&self, capacity: u32) -> Result<Vec<f32>, Errno> {
        let mut buf = vec![0f32; capacity as usize];
        let mut a = vexfs_ioc_vector {
            size: sz::<vexfs_ioc_vector>(),
            dim: capacity,
            data: buf.as_mut_ptr() as u64,
            flags: 0,
            reserved: 0,
        };
        // SAFETY: data points at `capacity` writable floats.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_GET_VECTOR, &mut a)? };
        if a.dim > capacity {
            return Err(libc::ERANGE);
        }
        buf.truncate(a.dim as usize);
        Ok(buf)
    }

    pub fn del_vector(&self) -> Result<(), Errno> {
        let mut a = vexfs_ioc_vector { size: sz::<vexfs_ioc_vector>(), ..Default::default() };
        // SAFETY: no user pointer is passed.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_DEL_VECTOR, &mut a) }
    }

    /// Sets `fds.len()` vectors of `dim` floats each (`vectors` holds them
    /// back to back). On failure returns the errno and the number of entries
    /// applied before it.
    pub fn batch_set(&self, fds: &[RawFd], vectors: &[f32], dim: u32) -> Result<u32, (Errno, u32)> {
        if fds.is_empty() || vectors.len() != fds.len() * dim as usize {
            return Err((libc::EINVAL, 0));
        }
        let fds32: Vec<i32> = fds.to_vec();
        let mut a = vexfs_ioc_batch_set {
            size: sz::<vexfs_ioc_batch_set>(),
            count: fds.len() as u32,
            dim,
            flags: 0,
            fds: fds32.as_ptr() as u64,
            vectors: vectors.as_ptr() as u64,
            done: 0,
            reserved: 0,
        };
        // SAFETY: fds and vectors hold count and count*dim elements.
        match unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_BATCH_SET, &mut a) } {
            Ok(()) => Ok(a.done),
            Err(e) => Err((e, a.done.min(fds.len() as u32))),
        }
    }

    /// Searches with the current search and result structs; a kernel that
    /// answers EINVAL to their size (a module older than chunk sets) is
    /// asked again with the first versions, whose results carry no chunk
    /// fields (see [`Hit`]).
    pub fn search(&self, req: &SearchReq<'_>) -> Result<SearchOut, Errno> {
        if !OLD_ABI.load(Ordering::Relaxed) {
            match self.search_sized(req, sz::<vexfs_ioc_search>(), sz::<vexfs_ioc_result>()) {
                Err(libc::EINVAL) => {}
                r => return r,
            }
            let r = self.search_sized(req, VEXFS_SEARCH_SIZE_VER0, VEXFS_RESULT_SIZE_VER0)?;
            OLD_ABI.store(true, Ordering::Relaxed);
            return Ok(r);
        }
        self.search_sized(req, VEXFS_SEARCH_SIZE_VER0, VEXFS_RESULT_SIZE_VER0)
    }

    /// One SEARCH call with the given struct sizes. The results buffer is
    /// bytes, `result_size` apart, decoded into full structs (the bytes a
    /// shorter version lacks stay zero).
    fn search_sized(&self, req: &SearchReq<'_>, size: u32, result_size: u32) -> Result<SearchOut, Errno> {
        let cap = req.k as usize;
        let stride = result_size as usize;
        let mut buf = vec![0u8; cap * stride];
        let mut a = vexfs_ioc_search {
            size,
            kind: req.kind.raw(),
            dim: req.query.len() as u32,
            k: req.k,
            ef: req.ef,
            flags: req.flags(),
            threshold: if req.kind == Kind::Knn { 0 } else { req.threshold.to_bits() },
            count: 0,
            query: req.query.as_ptr() as u64,
            results: buf.as_mut_ptr() as u64,
            truncated: 0,
            reserved: 0,
            result_size: if size > VEXFS_SEARCH_SIZE_VER0 { result_size } else { 0 },
            reserved2: 0,
        };
        // SAFETY: query holds dim floats, results has room for k entries of
        // result_size bytes; a VER0 size makes the kernel read only the
        // struct's first VER0 bytes.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_SEARCH, &mut a)? };
        let n = (a.count as usize).min(cap);
        let mut hits = Vec::with_capacity(n);
        for i in 0..n {
            let mut r = vexfs_ioc_result::default();
            let take = stride.min(size_of::<vexfs_ioc_result>());
            // SAFETY: r is a plain-old-data struct of at least `take` bytes
            // and buf holds `take` bytes at i*stride.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    buf.as_ptr().add(i * stride),
                    &mut r as *mut vexfs_ioc_result as *mut u8,
                    take,
                );
            }
            hits.push(Hit::from(&r));
        }
        Ok(SearchOut { hits, truncated: a.truncated != 0 })
    }

    /// Replaces the file's chunk set: `chunks[i]` = (offset, length) of
    /// chunk i, its vector `vectors[i*dim..(i+1)*dim]`. An empty set drops
    /// the file's vectors.
    pub fn set_chunks(&self, chunks: &[(u64, u64)], vectors: &[f32], dim: u32) -> Result<(), Errno> {
        if vectors.len() != chunks.len() * dim as usize || chunks.len() > u32::MAX as usize {
            return Err(libc::EINVAL);
        }
        let recs: Vec<vexfs_ioc_chunk> =
            chunks.iter().map(|&(offset, length)| vexfs_ioc_chunk { offset, length }).collect();
        let mut a = vexfs_ioc_chunks {
            size: sz::<vexfs_ioc_chunks>(),
            dim,
            count: chunks.len() as u32,
            flags: 0,
            chunks: recs.as_ptr() as u64,
            vectors: vectors.as_ptr() as u64,
            first: 0,
            total: 0,
            data_version: 0,
        };
        // SAFETY: chunks and vectors hold count and count*dim elements,
        // read by the kernel only.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_SET_CHUNKS, &mut a) }
    }

    /// Reads the whole chunk set, a page of chunks per call. The buffer
    /// for vectors is sized by the filesystem's dimension (GET_STATUS);
    /// ENODATA when the file has no set. A set replaced between two pages
    /// (data_version or total changes) is read again from the start.
    pub fn get_chunks(&self) -> Result<ChunkSet, Errno> {
        let fs_dim = self.status()?.dim;
        if fs_dim == 0 || fs_dim > VEXFS_IOC_MAX_DIM {
            return Err(libc::EIO);
        }
        'again: for _ in 0..8 {
            let mut set = ChunkSet::default();
            let mut first: u32 = 0;
            let mut total: u32 = 0;
            loop {
                let page = GET_CHUNKS_PAGE;
                let mut recs = vec![vexfs_ioc_chunk::default(); page as usize];
                let mut vecs = vec![0f32; page as usize * fs_dim as usize];
                let mut a = vexfs_ioc_chunks {
                    size: sz::<vexfs_ioc_chunks>(),
                    dim: fs_dim,
                    count: page,
                    flags: 0,
                    chunks: recs.as_mut_ptr() as u64,
                    vectors: vecs.as_mut_ptr() as u64,
                    first,
                    total: 0,
                    data_version: 0,
                };
                // SAFETY: chunks and vectors have room for `page` chunks of
                // fs_dim floats.
                unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_GET_CHUNKS, &mut a)? };
                if a.dim != fs_dim || a.count > page || a.total > VEXFS_IOC_MAX_CHUNKS {
                    return Err(libc::EIO);
                }
                if first == 0 {
                    set.dim = a.dim;
                    set.data_version = a.data_version;
                    set.stale = a.flags & VEXFS_CHUNKS_F_STALE != 0;
                    total = a.total;
                    set.chunks.reserve(total as usize);
                } else if a.data_version != set.data_version || a.total != total {
                    continue 'again;
                }
                let n = a.count as usize;
                set.chunks.extend(recs[..n].iter().map(|c| (c.offset, c.length)));
                set.vectors.extend_from_slice(&vecs[..n * fs_dim as usize]);
                first += a.count;
                if first >= total || a.count == 0 {
                    if set.chunks.len() != total as usize {
                        continue 'again;
                    }
                    return Ok(set);
                }
            }
        }
        Err(libc::EAGAIN)
    }

    /// The path of inode `ino` relative to the mount root (no leading '/').
    /// `generation` (from the search result; 0 = any) makes the kernel
    /// answer ESTALE when the inode number was reused since the search.
    pub fn ino_path(&self, ino: u64, generation: u32) -> Result<String, Errno> {
        let mut cap: usize = 4096;
        loop {
            let mut buf = vec![0u8; cap];
            let mut a = vexfs_ioc_ino_path {
                size: sz::<vexfs_ioc_ino_path>(),
                path_len: cap as u32,
                ino,
                path: buf.as_mut_ptr() as u64,
                generation,
                reserved: 0,
            };
            // SAFETY: path points at cap writable bytes.
            match unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_INO_PATH, &mut a) } {
                Ok(()) => {
                    let n = (a.path_len as usize).min(cap);
                    buf.truncate(n);
                    while buf.last() == Some(&0) {
                        buf.pop();
                    }
                    let s = String::from_utf8_lossy(&buf);
                    return Ok(s.trim_start_matches('/').to_string());
                }
                Err(libc::ERANGE) | Err(libc::ENAMETOOLONG) if cap < 1 << 20 => cap *= 16,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn sync(&self) -> Result<(), Errno> {
        ioctl_none(self.fd(), VEXFS_IOC_SYNC)
    }

    pub fn rebuild(&self) -> Result<(), Errno> {
        ioctl_none(self.fd(), VEXFS_IOC_REBUILD)
    }

    /// The mount's status with the current struct; an older module that
    /// answers EINVAL is asked for the first version (files, stale_files
    /// and index_memory_bytes then read 0).
    pub fn status(&self) -> Result<vexfs_ioc_status, Errno> {
        if !OLD_ABI.load(Ordering::Relaxed) {
            let mut a = vexfs_ioc_status { size: sz::<vexfs_ioc_status>(), ..Default::default() };
            // SAFETY: a plain out struct of `size` bytes.
            match unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_GET_STATUS, &mut a) } {
                Err(libc::EINVAL) => {}
                r => return r.map(|()| a),
            }
        }
        let mut a = vexfs_ioc_status { size: VEXFS_STATUS_SIZE_VER0, ..Default::default() };
        // SAFETY: the kernel writes only the first VER0 bytes.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_GET_STATUS, &mut a)? };
        OLD_ABI.store(true, Ordering::Relaxed);
        Ok(a)
    }

    pub fn stats(&self) -> Result<vexfs_ioc_stats, Errno> {
        let mut a = vexfs_ioc_stats { size: sz::<vexfs_ioc_stats>(), ..Default::default() };
        // SAFETY: a plain out struct.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_GET_STATS, &mut a)? };
        Ok(a)
    }

    pub fn get_config(&self) -> Result<vexfs_ioc_config, Errno> {
        let mut a = vexfs_ioc_config { size: sz::<vexfs_ioc_config>(), ..Default::default() };
        // SAFETY: a plain out struct.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_GET_CONFIG, &mut a)? };
        Ok(a)
    }

    pub fn set_config(&self, cfg: &vexfs_ioc_config) -> Result<(), Errno> {
        let mut a = *cfg;
        a.size = sz::<vexfs_ioc_config>();
        a.reserved = 0;
        // SAFETY: a plain in struct.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_SET_CONFIG, &mut a) }
    }
}

/// Raises the soft open-file limit to the hard limit (import keeps a whole
/// batch of files open); returns the resulting soft limit.
pub fn raise_nofile_limit() -> u64 {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: rl is a valid out pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return 1024;
    }
    if rl.rlim_cur < rl.rlim_max {
        let want = libc::rlimit { rlim_cur: rl.rlim_max, rlim_max: rl.rlim_max };
        // SAFETY: want is a valid in pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } == 0 {
            return want.rlim_cur;
        }
    }
    rl.rlim_cur
}

/// Whether a path names a directory (following symlinks).
pub fn is_dir(path: &Path) -> bool {
    std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false)
}
