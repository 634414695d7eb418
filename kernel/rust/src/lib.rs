//! The Rust core packaged for the kernel: re-exports the core's C entry
//! points (`vexfs_core::ffi`) and supplies the panic handler.
//!
//! The core is written never to panic; the build reports how many call
//! sites to the handler survive optimisation. Should one run anyway, it ends
//! in the C hook `vexfs_rust_panic()` (kernel/rust_glue.c), which BUG()s with
//! a clear message: a bug in VexFS, never a silent corruption.
#![no_std]

pub use vexfs_core::ffi::*;

extern "C" {
    fn vexfs_rust_panic() -> !;
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: vexfs_rust_panic takes no arguments and never returns.
    unsafe { vexfs_rust_panic() }
}
