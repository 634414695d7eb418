//! VexFS core: every piece of VexFS logic that can be pure.
//!
//! `no_std` and without `alloc`: bounded collections and caller-provided
//! scratch memory only. Built twice: as a static object linked into
//! `vexfs.ko` (see `kernel/rust/`) and for the host (tests, mkfs, fsck,
//! benchmarks). Nothing here panics on any input: every slice access is
//! checked and every failure is a `Result`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod bytes;
pub mod error;
pub mod ffi;
pub mod format;
pub mod hnsw;
pub mod msg;
pub mod sort;
pub mod uapi;
