//! Shared code of the VexFS userspace tools.
pub mod fsimage;
pub mod vexctl;
