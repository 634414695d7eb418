//! Errors of the core, with the seed's categories, and their errno mapping.
//!
//! Every fallible core function returns `Result<T, Error>`. At the C boundary
//! an error becomes a negative Linux errno (see `shim/vexfs_core.h`).

/// Linux errno values (identical on every architecture VexFS builds for).
pub mod errno {
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const E2BIG: i32 = 7;
    pub const ENOMEM: i32 = 12;
    pub const EFAULT: i32 = 14;
    pub const EEXIST: i32 = 17;
    pub const ENOTDIR: i32 = 20;
    pub const EINVAL: i32 = 22;
    pub const EFBIG: i32 = 27;
    pub const ENOSPC: i32 = 28;
    pub const ERANGE: i32 = 34;
    pub const ENAMETOOLONG: i32 = 36;
    pub const ENOTEMPTY: i32 = 39;
    pub const ENODATA: i32 = 61;
    pub const EOVERFLOW: i32 = 75;
    pub const EUCLEAN: i32 = 117;
    pub const EAGAIN: i32 = 11;
}

/// What went wrong, by category (the seed's storage / graph / sync / invalid
/// operation / resource exhausted), each mapped to a distinct errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// An on-disk structure failed validation (bad magic, checksum, count).
    Corrupt,
    /// The caller passed an argument outside the contract.
    InvalidArgument,
    /// No free space, inode, slot or directory room.
    NoSpace,
    /// A bounded resource (scratch memory, queue, result buffer) is full.
    ResourceExhausted,
    /// A file offset beyond what the block map can address.
    FileTooBig,
    /// A name longer than `VEXFS_NAME_LEN`.
    NameTooLong,
    /// The object asked for does not exist (free inode, absent vector).
    NotFound,
    /// The object already exists.
    Exists,
    /// The HNSW graph is damaged or inconsistent with the vector store.
    Graph,
    /// Storage and graph disagree (generation mismatch, pending queue lost).
    Sync,
    /// A value is out of the representable range (NaN, Inf or |x| >= 2^56 vector element).
    OutOfRange,
}

impl Error {
    /// The negative errno the kernel returns for this error.
    pub const fn to_errno(self) -> i32 {
        -(match self {
            Error::Corrupt => errno::EUCLEAN,
            Error::InvalidArgument => errno::EINVAL,
            Error::NoSpace => errno::ENOSPC,
            Error::ResourceExhausted => errno::E2BIG,
            Error::FileTooBig => errno::EFBIG,
            Error::NameTooLong => errno::ENAMETOOLONG,
            Error::NotFound => errno::ENOENT,
            Error::Exists => errno::EEXIST,
            Error::Graph => errno::EIO,
            Error::Sync => errno::EAGAIN,
            Error::OutOfRange => errno::ERANGE,
        })
    }
}

pub type Result<T> = core::result::Result<T, Error>;
