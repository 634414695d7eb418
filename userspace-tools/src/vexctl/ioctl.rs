//! Safe wrappers of the VexFS ioctls (`shim/uapi/vexfs_ioctl.h`, Rust view
//! `vexfs_core::uapi`). Every call returns the raw errno on failure; the
//! caller turns it into a message naming the file ([`super::errors`]).
use std::fs::File;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

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

/// One search result as the kernel returns it, with decoded floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub ino: u64,
    pub distance: f32,
    pub generation: u32,
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
    pub dim: u32,
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
        }
    }
}

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

    pub fn search(&self, req: &SearchReq<'_>) -> Result<SearchOut, Errno> {
        let cap = req.k as usize;
        let mut results = vec![vexfs_ioc_result::default(); cap];
        let mut a = vexfs_ioc_search {
            // The first version until the kernel's chunk results are used here.
            size: VEXFS_SEARCH_SIZE_VER0,
            kind: req.kind.raw(),
            dim: req.query.len() as u32,
            k: req.k,
            ef: req.ef,
            flags: if req.exact { VEXFS_SEARCH_F_EXACT } else { 0 }
                | if req.subtree { VEXFS_SEARCH_F_SUBTREE } else { 0 },
            threshold: if req.kind == Kind::Knn { 0 } else { req.threshold.to_bits() },
            count: 0,
            query: req.query.as_ptr() as u64,
            results: results.as_mut_ptr() as u64,
            truncated: 0,
            reserved: 0,
            result_size: 0,
            reserved2: 0,
        };
        // SAFETY: query holds dim floats, results has room for k entries.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_SEARCH, &mut a)? };
        let n = (a.count as usize).min(cap);
        Ok(SearchOut {
            hits: results[..n].iter().map(Hit::from).collect(),
            truncated: a.truncated != 0,
        })
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

    pub fn status(&self) -> Result<vexfs_ioc_status, Errno> {
        // The first version until the chunk counters are reported here.
        let mut a = vexfs_ioc_status { size: VEXFS_STATUS_SIZE_VER0, ..Default::default() };
        // SAFETY: a plain out struct.
        unsafe { ioctl_ptr(self.fd(), VEXFS_IOC_GET_STATUS, &mut a)? };
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
