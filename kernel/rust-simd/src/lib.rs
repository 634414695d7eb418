//! The SIMD distance kernels packaged for the kernel: re-exports the C entry
//! points of `vexfs_simd` and supplies the panic handler (see kernel/rust).
#![no_std]

pub use vexfs_simd::*;

extern "C" {
    fn vexfs_rust_panic() -> !;
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: vexfs_rust_panic takes no arguments and never returns.
    unsafe { vexfs_rust_panic() }
}
