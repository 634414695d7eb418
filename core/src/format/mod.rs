//! The on-disk format: encode, decode and validate every structure defined
//! in `shim/vexfs_format.h`, plus the pure layout and allocation decisions.
pub mod bitmap;
pub mod bmap;
pub mod checksum;
pub mod defs;
pub mod dir;
pub mod dx;
pub mod inode;
pub mod journal;
pub mod layout;
pub mod names;
pub mod sq8;
pub mod superblock;

pub use defs::*;
