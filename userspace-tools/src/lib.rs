//! Shared code of the VexFS userspace tools.
pub mod fsimage;
pub mod vexctl;
#[cfg(feature = "embed")]
pub mod embed;
