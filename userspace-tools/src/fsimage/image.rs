//! Block access to a VexFS image: a regular file or a block device, read
//! and written in 4 KiB blocks with pread/pwrite.
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use vexfs_core::format::BLOCK_SIZE;

/// `BLKGETSIZE64` = _IOR(0x12, 114, size_t).
const BLKGETSIZE64: u32 = 0x8008_1272;

/// An open image.
pub struct Image {
    file: File,
    path: PathBuf,
    bytes: u64,
    writable: bool,
    is_blockdev: bool,
}

fn block_device_size(file: &File) -> io::Result<u64> {
    use std::os::unix::io::AsRawFd;
    let mut size: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer, which points
    // at a live local of that type; the descriptor is open for the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), BLKGETSIZE64 as _, &mut size as *mut u64) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(size)
}

impl Image {
    /// Open `path` read-only, or read-write. A block device opened for
    /// writing is opened O_EXCL, so a mounted device is refused (EBUSY).
    pub fn open(path: &Path, writable: bool) -> io::Result<Image> {
        let meta = std::fs::metadata(path)?;
        let is_blockdev = meta.file_type().is_block_device();
        if !is_blockdev && !meta.is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file or block device"));
        }
        let mut opts = OpenOptions::new();
        opts.read(true).write(writable);
        if writable && is_blockdev {
            opts.custom_flags(libc::O_EXCL);
        }
        let file = opts.open(path)?;
        let bytes = if is_blockdev { block_device_size(&file)? } else { file.metadata()?.len() };
        Ok(Image { file, path: path.to_path_buf(), bytes, writable, is_blockdev })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_blockdev(&self) -> bool {
        self.is_blockdev
    }

    pub fn writable(&self) -> bool {
        self.writable
    }

    /// Size in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Whole 4 KiB blocks on the device.
    pub fn blocks(&self) -> u64 {
        self.bytes / BLOCK_SIZE as u64
    }

    fn check_range(&self, block_nr: u64, len: usize) -> io::Result<u64> {
        let off = block_nr
            .checked_mul(BLOCK_SIZE as u64)
            .filter(|o| o.saturating_add(len as u64) <= self.bytes)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("block {block_nr} (+{len} bytes) is beyond the end of the device"),
                )
            })?;
        Ok(off)
    }

    /// Read whole blocks starting at `block_nr` into `buf` (a multiple of
    /// the block size).
    pub fn read_blocks(&self, block_nr: u64, buf: &mut [u8]) -> io::Result<()> {
        let off = self.check_range(block_nr, buf.len())?;
        self.file.read_exact_at(buf, off)
    }

    /// Read one block into a new buffer.
    pub fn read_block(&self, block_nr: u64) -> io::Result<Vec<u8>> {
        let mut b = vec![0u8; BLOCK_SIZE];
        self.read_blocks(block_nr, &mut b)?;
        Ok(b)
    }

    /// Write whole blocks starting at `block_nr`.
    pub fn write_blocks(&self, block_nr: u64, buf: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "image opened read-only"));
        }
        let off = self.check_range(block_nr, buf.len())?;
        self.file.write_all_at(buf, off)
    }

    /// Write zeros over `count` blocks from `block_nr`, in large chunks.
    pub fn zero_blocks(&self, block_nr: u64, count: u64) -> io::Result<()> {
        const CHUNK_BLOCKS: u64 = 256; // 1 MiB
        let zeros = vec![0u8; (CHUNK_BLOCKS as usize) * BLOCK_SIZE];
        let mut b = block_nr;
        let end = block_nr + count;
        while b < end {
            let n = (end - b).min(CHUNK_BLOCKS);
            self.write_blocks(b, &zeros[..n as usize * BLOCK_SIZE])?;
            b += n;
        }
        Ok(())
    }

    /// Flush everything written to stable storage.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}
