//! Host access to VexFS images: block I/O, mkfs, fsck, and a small
//! writer that builds trees (lost+found, tests, populating an image).
pub mod fs;
pub mod fsck;
pub mod image;
pub mod manifest;
pub mod mkfs;
pub mod populate;

pub use fs::Fs;
pub use image::Image;
