//! Shared code of the VexFS userspace tools.
pub mod fsimage;
pub mod vexctl;
#[cfg(feature = "embed")]
pub mod embed;

/// The `vexfs_simd` capability bits this CPU supports (the host tools'
/// counterpart of the kernel's `boot_cpu_has()` checks in `kernel/vector.c`):
/// AVX2+FMA, and AVX-512F on top of them.
pub fn host_simd_caps() -> u32 {
    use vexfs_simd::{CAP_AVX2_FMA, CAP_AVX512};
    if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
        return 0;
    }
    if std::is_x86_feature_detected!("avx512f") {
        CAP_AVX2_FMA | CAP_AVX512
    } else {
        CAP_AVX2_FMA
    }
}
