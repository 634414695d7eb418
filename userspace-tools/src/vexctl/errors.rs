//! vexctl's error values and messages: every message names the file (or
//! argument) and the cause, `vexctl: SUBJECT: CAUSE`.
use std::fmt;
use std::io;

/// The ioctl operation that failed, for errno-specific hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Open,
    SetVector,
    GetVector,
    DelVector,
    BatchSet,
    Search,
    InoPath,
    Sync,
    Status,
    Stats,
    GetConfig,
    SetConfig,
    Rebuild,
    SetChunks,
    GetChunks,
}

/// An operational error: exit status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub subject: Option<String>,
    pub msg: String,
}

impl Error {
    pub fn new(subject: impl fmt::Display, msg: impl Into<String>) -> Error {
        Error { subject: Some(subject.to_string()), msg: msg.into() }
    }

    pub fn bare(msg: impl Into<String>) -> Error {
        Error { subject: None, msg: msg.into() }
    }

    /// An errno from an ioctl (or open) on `subject`.
    pub fn errno(subject: impl fmt::Display, errno: i32, op: Op) -> Error {
        Error::new(subject, errno_text(errno, op))
    }

    pub fn io(subject: impl fmt::Display, e: &io::Error) -> Error {
        Error::new(subject, io_text(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subject {
            Some(s) => write!(f, "vexctl: {s}: {}", self.msg),
            None => write!(f, "vexctl: {}", self.msg),
        }
    }
}

/// The symbolic name of an errno value.
pub fn errno_name(e: i32) -> Option<&'static str> {
    Some(match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::ENFILE => "ENFILE",
        libc::ENOTTY => "ENOTTY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENODATA => "ENODATA",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ESTALE => "ESTALE",
        libc::EUCLEAN => "EUCLEAN",
        libc::EDQUOT => "EDQUOT",
        libc::ELOOP => "ELOOP",
        libc::EINTR => "EINTR",
        libc::ETXTBSY => "ETXTBSY",
        libc::ENXIO => "ENXIO",
        libc::ENODEV => "ENODEV",
        _ => return None,
    })
}

/// The C library's description of an errno value.
pub fn strerror(e: i32) -> String {
    // io::Error's Display is "DESCRIPTION (os error N)"; keep the description.
    let s = io::Error::from_raw_os_error(e).to_string();
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// "Description (ENAME)" for an errno value.
pub fn errno_plain(e: i32) -> String {
    // musl (the static build) has no text for EUCLEAN: "No error information".
    let text = match e {
        libc::EUCLEAN => "Structure needs cleaning".to_string(),
        _ => strerror(e),
    };
    match errno_name(e) {
        Some(n) => format!("{text} ({n})"),
        None => format!("{text} (errno {e})"),
    }
}

/// The message for an errno returned by a VexFS ioctl: the description, the
/// symbolic name and what it means for VexFS.
pub fn errno_text(e: i32, op: Op) -> String {
    let base = errno_plain(e);
    let hint: Option<&str> = match e {
        libc::ENOTTY => {
            return "VexFS ioctl not supported (ENOTTY): not a file on a VexFS mount, or the vexfs module is too old".into()
        }
        libc::ENODATA => return "no vector attached to this file (ENODATA)".into(),
        libc::E2BIG if op == Op::SetChunks => {
            return format!("{base}: too many chunks (at most {} per file)", vexfs_core::uapi::VEXFS_IOC_MAX_CHUNKS)
        }
        libc::E2BIG if op == Op::GetVector => {
            return format!("{base}: the file has several chunks; read them with `vexctl get --json`")
        }
        libc::EINVAL => Some(match op {
            Op::SetVector | Op::BatchSet => "the kernel refused the vector (wrong dimension, NaN/Inf or |x| >= 2^56, or bad flags)",
            Op::SetChunks => "the kernel refused the chunks (wrong dimension, NaN/Inf or |x| >= 2^56, offset + length overflows, or bad flags)",
            Op::Search => "the kernel refused the query (wrong dimension, NaN/Inf or |x| >= 2^56, k or ef out of range)",
            Op::SetConfig => "a configuration value is out of range",
            Op::InoPath => "the inode is not in use",
            _ => "the kernel refused the request (unknown struct size or flags?)",
        }),
        libc::EFAULT => Some("the kernel could not access a buffer"),
        libc::E2BIG => Some("a per-call limit (k, ef, batch size, results or dimension) was exceeded"),
        libc::EPERM => Some(match op {
            Op::SetConfig | Op::Rebuild => "needs CAP_SYS_ADMIN",
            _ => "operation not permitted",
        }),
        libc::EACCES => Some(match op {
            Op::SetVector | Op::DelVector | Op::BatchSet | Op::SetChunks => "needs write permission on the file",
            Op::SetConfig | Op::Rebuild => "needs CAP_SYS_ADMIN",
            _ => "",
        }),
        libc::ENOSPC => Some("the filesystem or the vector index is full"),
        libc::EUCLEAN => Some("the filesystem or its index is damaged; run fsck.vexfs"),
        libc::EIO => Some("an I/O error on the device"),
        libc::ERANGE => Some("the result buffer was too small"),
        libc::EROFS => Some("the filesystem is mounted read-only"),
        libc::EXDEV => Some("the file is not on the same VexFS filesystem"),
        libc::EBADF => Some(match op {
            Op::BatchSet => "a file descriptor of the batch is not open",
            _ => "",
        }),
        libc::EISDIR => Some(match op {
            Op::SetVector | Op::DelVector | Op::BatchSet | Op::SetChunks => "directories carry no vector: setting a vector on a directory is not supported",
            _ => "",
        }),
        _ => None,
    };
    match hint {
        Some(h) if !h.is_empty() => format!("{base}: {h}"),
        _ => base,
    }
}

/// "Description (ENAME)" for an io::Error.
pub fn io_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_plain(n),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let e = Error::errno("/mnt/a.txt", libc::EACCES, Op::Open);
        assert_eq!(e.to_string(), "vexctl: /mnt/a.txt: Permission denied (EACCES)");
        let e = Error::errno("/tmp/x", libc::ENOTTY, Op::SetVector);
        assert!(e.to_string().starts_with("vexctl: /tmp/x: VexFS ioctl not supported (ENOTTY)"));
        assert!(errno_text(libc::ENODATA, Op::GetVector).contains("no vector"));
        assert!(errno_text(libc::EUCLEAN, Op::Search).contains("fsck.vexfs"));
        assert!(errno_text(libc::EUCLEAN, Op::Search).starts_with("Structure needs cleaning (EUCLEAN)"));
        assert!(errno_text(libc::EPERM, Op::SetConfig).contains("CAP_SYS_ADMIN"));
        assert!(errno_text(libc::E2BIG, Op::Search).contains("E2BIG"));
        assert!(errno_text(libc::ENOSPC, Op::BatchSet).contains("ENOSPC"));
        assert!(errno_text(libc::ERANGE, Op::GetVector).contains("ERANGE"));
        assert!(errno_text(libc::EFAULT, Op::Search).contains("EFAULT"));
        assert!(errno_text(libc::EIO, Op::Search).contains("EIO"));
        assert!(errno_text(libc::EINVAL, Op::SetVector).contains("EINVAL"));
        assert!(errno_text(9999, Op::Search).contains("errno 9999"));
        assert!(errno_text(libc::E2BIG, Op::SetChunks).contains("at most 16384 per file"));
        assert!(errno_text(libc::EINVAL, Op::SetChunks).contains("offset + length"));
        assert_eq!(Error::bare("x").to_string(), "vexctl: x");
    }
}
