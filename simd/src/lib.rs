//! VexFS distance kernels: a scalar reference plus SSE2 (x86_64 baseline),
//! AVX2+FMA and AVX-512F, selected by capability flags the *caller* passes
//! (the kernel's C glue checks `boot_cpu_has()` and the saved xstate, host
//! tools use `is_x86_feature_detected!`). This crate never detects CPU
//! features itself, never allocates and never panics: every slice access is
//! checked and failures are `Err` / negative errno values.
//!
//! Distances are returned to the (soft-float) core as ORDERED u32 KEYS
//! ([`key_from_f32`]): comparing keys as unsigned integers orders the
//! distances exactly as comparing the f32 values (NaN never occurs: inputs
//! are validated by the core before they are stored or searched).
//!
//! Metrics (values as in `shim/vexfs_format.h`):
//! - `METRIC_L2` (0): squared Euclidean distance, `sum (a_i - b_i)^2`;
//! - `METRIC_COSINE` (1): `1 - a.b / (|a| |b|)`; a zero vector has distance 1
//!   to everything (similarity 0);
//! - `METRIC_DOT` (2): negative inner product, `-a.b`.
//!
//! For cosine, callers that can keep unit-length copies ([`normalize`]) use
//! [`Kernel::dist_batch_strided_unit`]: one dot product per distance instead
//! of a dot product plus the stored vector's norm.
//!
//! In the kernel every function here must run between `kernel_fpu_begin()`
//! and `kernel_fpu_end()`: it uses xmm/ymm/zmm registers.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

/// Squared Euclidean distance.
pub const METRIC_L2: u32 = 0;
/// `1 - cosine similarity`.
pub const METRIC_COSINE: u32 = 1;
/// Negative inner product.
pub const METRIC_DOT: u32 = 2;

/// Capability bit: the CPU has AVX2 and FMA and the OS/kernel saves ymm state.
pub const CAP_AVX2_FMA: u32 = 1;

/// Capability bit: the CPU has AVX-512F and the OS/kernel saves zmm state.
/// Used only together with [`CAP_AVX2_FMA`] (the AVX-512 kernels also use
/// AVX2 and FMA instructions); on its own it selects nothing.
pub const CAP_AVX512: u32 = 2;

/// Largest dimension the kernels accept (as `VEXFS_MAX_VECTOR_DIM`).
pub const MAX_DIM: usize = 4096;

/// `-EINVAL`, returned by the C entry points on a bad argument.
pub const EINVAL: i32 = 22;

/// Why a kernel call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimdError {
    /// Unknown metric number.
    BadMetric,
    /// Dimension 0, above `MAX_DIM`, or a vector shorter than the query.
    BadDim,
    /// `ids` and `out_keys` differ in length.
    BadLength,
    /// An id addresses a vector outside `base`.
    BadId,
}

/// Maps an f32 to a u32 whose unsigned order is the f32 order
/// (negative values flipped entirely, non-negative values get the sign bit set).
#[inline(always)]
pub const fn key_from_f32(f: f32) -> u32 {
    let b = f.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Inverse of [`key_from_f32`].
#[inline(always)]
pub const fn f32_from_key(k: u32) -> f32 {
    let b = if k >> 31 == 1 { k & 0x7fff_ffff } else { !k };
    f32::from_bits(b)
}

/// True if every element is finite (no NaN, no +-Inf), by bit pattern.
pub fn all_finite(v: &[f32]) -> bool {
    v.iter().all(|x| (x.to_bits() >> 23) & 0xff != 0xff)
}

#[inline(always)]
fn sqrt32(x: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE is part of the x86_64 baseline; these intrinsics only
        // touch registers.
        unsafe { _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x))) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        if x <= 0.0 {
            return 0.0;
        }
        // Bit-trick initial guess, then Newton iterations.
        let mut y = f32::from_bits((x.to_bits() >> 1) + 0x1fbd_1df5);
        let mut i = 0;
        while i < 4 {
            y = 0.5 * (y + x / y);
            i += 1;
        }
        y
    }
}

/// Internal metric code of the strided loop: cosine over vectors already
/// scaled to unit length ([`Kernel::dist_batch_strided_unit`]).
const UNIT_COSINE: u32 = 0x100;

/// Cosine distance of two unit vectors from their dot product: `1 - a.b`
/// with the product clamped to [-1, 1] as in [`cosine_from_parts`].
#[allow(clippy::manual_clamp)]
#[inline(always)]
fn cosine_of_unit(dot: f32) -> f32 {
    let mut c = dot;
    if c > 1.0 {
        c = 1.0;
    } else if c < -1.0 {
        c = -1.0;
    }
    1.0 - c
}

/// Scales `v` to unit length in place, the form
/// [`Kernel::dist_batch_strided_unit`] expects; a zero vector (or one whose
/// squared norm is not a positive finite number) is set to all zeros, so its
/// cosine distance to everything stays 1. Returns false in that case.
pub fn normalize(v: &mut [f32]) -> bool {
    let n2 = scalar::dot(v, v);
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(n2 > 0.0) || !all_finite(core::slice::from_ref(&n2)) {
        for x in v.iter_mut() {
            *x = 0.0;
        }
        return false;
    }
    let inv = 1.0 / sqrt32(n2);
    for x in v.iter_mut() {
        *x *= inv;
    }
    true
}

/// Cosine distance from a dot product and the two squared norms.
/// (Negated comparisons on purpose: NaN norms give distance 1.)
#[allow(clippy::neg_cmp_op_on_partial_ord, clippy::manual_clamp)]
#[inline(always)]
fn cosine_from_parts(dot: f32, na: f32, nb: f32) -> f32 {
    if !(na > 0.0) || !(nb > 0.0) {
        return 1.0;
    }
    let denom = sqrt32(na) * sqrt32(nb);
    if !(denom > 0.0) {
        return 1.0;
    }
    let mut c = dot / denom;
    if c > 1.0 {
        c = 1.0;
    } else if c < -1.0 {
        c = -1.0;
    }
    1.0 - c
}

/// Scalar reference kernels (plain f32 loops, sequential summation).
pub mod scalar {
    /// `sum (a_i - b_i)^2` over the common length.
    pub fn l2(a: &[f32], b: &[f32]) -> f32 {
        let mut s = 0.0f32;
        for (x, y) in a.iter().zip(b.iter()) {
            let d = x - y;
            s += d * d;
        }
        s
    }
    /// `sum a_i b_i` over the common length.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut s = 0.0f32;
        for (x, y) in a.iter().zip(b.iter()) {
            s += x * y;
        }
        s
    }
    /// `1 - a.b / (|a||b|)`, 1 if either vector is zero.
    pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
        super::cosine_from_parts(dot(a, b), dot(a, a), dot(b, b))
    }
    /// The distance for `metric` (L2 for an unknown metric number).
    pub fn distance(metric: u32, a: &[f32], b: &[f32]) -> f32 {
        match metric {
            super::METRIC_COSINE => cosine(a, b),
            super::METRIC_DOT => -dot(a, b),
            _ => l2(a, b),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use core::arch::x86_64::*;

    #[inline(always)]
    unsafe fn hsum(v: __m128) -> f32 {
        // SAFETY: register-only SSE operations (baseline on x86_64).
        unsafe {
            let hi = _mm_movehl_ps(v, v);
            let s = _mm_add_ps(v, hi);
            let s2 = _mm_shuffle_ps(s, s, 0b01);
            _mm_cvtss_f32(_mm_add_ss(s, s2))
        }
    }

    /// # Safety
    /// `a` and `b` must be valid for reading `n` f32 each.
    #[inline(always)]
    pub unsafe fn l2(a: *const f32, b: *const f32, n: usize) -> f32 {
        // SAFETY: every load reads indices < n, which the caller guarantees
        // are readable; unaligned loads are used throughout.
        unsafe {
            let mut acc0 = _mm_setzero_ps();
            let mut acc1 = _mm_setzero_ps();
            let mut i = 0usize;
            while i + 8 <= n {
                let d0 = _mm_sub_ps(_mm_loadu_ps(a.add(i)), _mm_loadu_ps(b.add(i)));
                let d1 = _mm_sub_ps(_mm_loadu_ps(a.add(i + 4)), _mm_loadu_ps(b.add(i + 4)));
                acc0 = _mm_add_ps(acc0, _mm_mul_ps(d0, d0));
                acc1 = _mm_add_ps(acc1, _mm_mul_ps(d1, d1));
                i += 8;
            }
            if i + 4 <= n {
                let d0 = _mm_sub_ps(_mm_loadu_ps(a.add(i)), _mm_loadu_ps(b.add(i)));
                acc0 = _mm_add_ps(acc0, _mm_mul_ps(d0, d0));
                i += 4;
            }
            let mut s = hsum(_mm_add_ps(acc0, acc1));
            while i < n {
                let d = *a.add(i) - *b.add(i);
                s += d * d;
                i += 1;
            }
            s
        }
    }

    /// Returns `(a.b, b.b)`.
    /// # Safety
    /// `a` and `b` must be valid for reading `n` f32 each.
    #[inline(always)]
    pub unsafe fn dot_norm(a: *const f32, b: *const f32, n: usize, want_norm: bool) -> (f32, f32) {
        // SAFETY: loads stay below index n (caller guarantees readability).
        unsafe {
            let mut d0 = _mm_setzero_ps();
            let mut d1 = _mm_setzero_ps();
            let mut n0 = _mm_setzero_ps();
            let mut n1 = _mm_setzero_ps();
            let mut i = 0usize;
            while i + 8 <= n {
                let a0 = _mm_loadu_ps(a.add(i));
                let a1 = _mm_loadu_ps(a.add(i + 4));
                let b0 = _mm_loadu_ps(b.add(i));
                let b1 = _mm_loadu_ps(b.add(i + 4));
                d0 = _mm_add_ps(d0, _mm_mul_ps(a0, b0));
                d1 = _mm_add_ps(d1, _mm_mul_ps(a1, b1));
                if want_norm {
                    n0 = _mm_add_ps(n0, _mm_mul_ps(b0, b0));
                    n1 = _mm_add_ps(n1, _mm_mul_ps(b1, b1));
                }
                i += 8;
            }
            if i + 4 <= n {
                let a0 = _mm_loadu_ps(a.add(i));
                let b0 = _mm_loadu_ps(b.add(i));
                d0 = _mm_add_ps(d0, _mm_mul_ps(a0, b0));
                if want_norm {
                    n0 = _mm_add_ps(n0, _mm_mul_ps(b0, b0));
                }
                i += 4;
            }
            let mut sd = hsum(_mm_add_ps(d0, d1));
            let mut sn = hsum(_mm_add_ps(n0, n1));
            while i < n {
                let x = *a.add(i);
                let y = *b.add(i);
                sd += x * y;
                sn += y * y;
                i += 1;
            }
            (sd, sn)
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;

    #[inline]
    #[allow(unused_unsafe)]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum256(v: __m256) -> f32 {
        // SAFETY: register-only AVX operations; the caller runs this only on
        // a CPU with AVX2 (guaranteed by the target_feature contract).
        unsafe {
            let lo = _mm256_castps256_ps128(v);
            let hi = _mm256_extractf128_ps(v, 1);
            let s = _mm_add_ps(lo, hi);
            let h = _mm_movehl_ps(s, s);
            let s = _mm_add_ps(s, h);
            let s2 = _mm_shuffle_ps(s, s, 0b01);
            _mm_cvtss_f32(_mm_add_ss(s, s2))
        }
    }

    /// # Safety
    /// The CPU must have AVX2 and FMA; `a`, `b` valid for `n` f32 reads.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn l2(a: *const f32, b: *const f32, n: usize) -> f32 {
        // SAFETY: loads stay below index n; the CPU supports the instructions
        // (caller contract).
        unsafe {
            let mut acc0 = _mm256_setzero_ps();
            let mut acc1 = _mm256_setzero_ps();
            let mut i = 0usize;
            while i + 16 <= n {
                let d0 = _mm256_sub_ps(_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i)));
                let d1 = _mm256_sub_ps(_mm256_loadu_ps(a.add(i + 8)), _mm256_loadu_ps(b.add(i + 8)));
                acc0 = _mm256_fmadd_ps(d0, d0, acc0);
                acc1 = _mm256_fmadd_ps(d1, d1, acc1);
                i += 16;
            }
            if i + 8 <= n {
                let d0 = _mm256_sub_ps(_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i)));
                acc0 = _mm256_fmadd_ps(d0, d0, acc0);
                i += 8;
            }
            let mut s = hsum256(_mm256_add_ps(acc0, acc1));
            while i < n {
                let d = *a.add(i) - *b.add(i);
                s += d * d;
                i += 1;
            }
            s
        }
    }

    /// Returns `(a.b, b.b)`.
    /// # Safety
    /// The CPU must have AVX2 and FMA; `a`, `b` valid for `n` f32 reads.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_norm(a: *const f32, b: *const f32, n: usize, want_norm: bool) -> (f32, f32) {
        // SAFETY: loads stay below index n; CPU support is the caller contract.
        unsafe {
            let mut d0 = _mm256_setzero_ps();
            let mut d1 = _mm256_setzero_ps();
            let mut n0 = _mm256_setzero_ps();
            let mut n1 = _mm256_setzero_ps();
            let mut i = 0usize;
            while i + 16 <= n {
                let a0 = _mm256_loadu_ps(a.add(i));
                let a1 = _mm256_loadu_ps(a.add(i + 8));
                let b0 = _mm256_loadu_ps(b.add(i));
                let b1 = _mm256_loadu_ps(b.add(i + 8));
                d0 = _mm256_fmadd_ps(a0, b0, d0);
                d1 = _mm256_fmadd_ps(a1, b1, d1);
                if want_norm {
                    n0 = _mm256_fmadd_ps(b0, b0, n0);
                    n1 = _mm256_fmadd_ps(b1, b1, n1);
                }
                i += 16;
            }
            if i + 8 <= n {
                let a0 = _mm256_loadu_ps(a.add(i));
                let b0 = _mm256_loadu_ps(b.add(i));
                d0 = _mm256_fmadd_ps(a0, b0, d0);
                if want_norm {
                    n0 = _mm256_fmadd_ps(b0, b0, n0);
                }
                i += 8;
            }
            let mut sd = hsum256(_mm256_add_ps(d0, d1));
            let mut sn = hsum256(_mm256_add_ps(n0, n1));
            while i < n {
                let x = *a.add(i);
                let y = *b.add(i);
                sd += x * y;
                sn += y * y;
                i += 1;
            }
            (sd, sn)
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use core::arch::x86_64::*;

    /// Lanes `0..r` set (`r < 16`): the tail of a vector whose length is not
    /// a multiple of 16. Masked-off lanes are neither loaded nor faulted on.
    #[inline(always)]
    fn tail_mask(r: usize) -> __mmask16 {
        ((1u32 << r) - 1) as __mmask16
    }

    /// # Safety
    /// The CPU must have AVX-512F; `a`, `b` valid for `n` f32 reads.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn l2(a: *const f32, b: *const f32, n: usize) -> f32 {
        // SAFETY: full loads stay below index n, the tail load is masked to
        // the lanes below n; CPU support is the caller contract.
        unsafe {
            // Four independent accumulators: one FMA chain would wait on
            // its own latency at every step.
            let mut acc0 = _mm512_setzero_ps();
            let mut acc1 = _mm512_setzero_ps();
            let mut acc2 = _mm512_setzero_ps();
            let mut acc3 = _mm512_setzero_ps();
            let mut i = 0usize;
            while i + 64 <= n {
                let d0 = _mm512_sub_ps(_mm512_loadu_ps(a.add(i)), _mm512_loadu_ps(b.add(i)));
                let d1 = _mm512_sub_ps(_mm512_loadu_ps(a.add(i + 16)), _mm512_loadu_ps(b.add(i + 16)));
                let d2 = _mm512_sub_ps(_mm512_loadu_ps(a.add(i + 32)), _mm512_loadu_ps(b.add(i + 32)));
                let d3 = _mm512_sub_ps(_mm512_loadu_ps(a.add(i + 48)), _mm512_loadu_ps(b.add(i + 48)));
                acc0 = _mm512_fmadd_ps(d0, d0, acc0);
                acc1 = _mm512_fmadd_ps(d1, d1, acc1);
                acc2 = _mm512_fmadd_ps(d2, d2, acc2);
                acc3 = _mm512_fmadd_ps(d3, d3, acc3);
                i += 64;
            }
            while i + 16 <= n {
                let d = _mm512_sub_ps(_mm512_loadu_ps(a.add(i)), _mm512_loadu_ps(b.add(i)));
                acc0 = _mm512_fmadd_ps(d, d, acc0);
                i += 16;
            }
            if i < n {
                let m = tail_mask(n - i);
                let d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a.add(i)), _mm512_maskz_loadu_ps(m, b.add(i)));
                acc1 = _mm512_fmadd_ps(d, d, acc1);
            }
            _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)))
        }
    }

    /// Returns `(a.b, b.b)` (`b.b` only with `want_norm`, else 0).
    /// # Safety
    /// The CPU must have AVX-512F; `a`, `b` valid for `n` f32 reads.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn dot_norm(a: *const f32, b: *const f32, n: usize, want_norm: bool) -> (f32, f32) {
        // SAFETY: as in `l2`.
        unsafe {
            let mut d0 = _mm512_setzero_ps();
            let mut d1 = _mm512_setzero_ps();
            let mut d2 = _mm512_setzero_ps();
            let mut d3 = _mm512_setzero_ps();
            let mut n0 = _mm512_setzero_ps();
            let mut n1 = _mm512_setzero_ps();
            let mut i = 0usize;
            while i + 64 <= n {
                let b0 = _mm512_loadu_ps(b.add(i));
                let b1 = _mm512_loadu_ps(b.add(i + 16));
                let b2 = _mm512_loadu_ps(b.add(i + 32));
                let b3 = _mm512_loadu_ps(b.add(i + 48));
                d0 = _mm512_fmadd_ps(_mm512_loadu_ps(a.add(i)), b0, d0);
                d1 = _mm512_fmadd_ps(_mm512_loadu_ps(a.add(i + 16)), b1, d1);
                d2 = _mm512_fmadd_ps(_mm512_loadu_ps(a.add(i + 32)), b2, d2);
                d3 = _mm512_fmadd_ps(_mm512_loadu_ps(a.add(i + 48)), b3, d3);
                if want_norm {
                    n0 = _mm512_fmadd_ps(b0, b0, n0);
                    n1 = _mm512_fmadd_ps(b1, b1, n1);
                    n0 = _mm512_fmadd_ps(b2, b2, n0);
                    n1 = _mm512_fmadd_ps(b3, b3, n1);
                }
                i += 64;
            }
            while i + 16 <= n {
                let b0 = _mm512_loadu_ps(b.add(i));
                d0 = _mm512_fmadd_ps(_mm512_loadu_ps(a.add(i)), b0, d0);
                if want_norm {
                    n0 = _mm512_fmadd_ps(b0, b0, n0);
                }
                i += 16;
            }
            if i < n {
                let m = tail_mask(n - i);
                let b0 = _mm512_maskz_loadu_ps(m, b.add(i));
                d1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a.add(i)), b0, d1);
                if want_norm {
                    n1 = _mm512_fmadd_ps(b0, b0, n1);
                }
            }
            let sd = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(d0, d1), _mm512_add_ps(d2, d3)));
            let sn = if want_norm { _mm512_reduce_add_ps(_mm512_add_ps(n0, n1)) } else { 0.0 };
            (sd, sn)
        }
    }
}

/// The instruction set `caps` allows: AVX-512 needs both bits.
fn isa_for(caps: u32) -> Isa {
    if !cfg!(target_arch = "x86_64") || caps & CAP_AVX2_FMA == 0 {
        Isa::Sse2
    } else if caps & CAP_AVX512 != 0 {
        Isa::Avx512
    } else {
        Isa::Avx2
    }
}

/// The instruction set a [`Kernel`] runs its distances with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Sse2,
    Avx2,
    Avx512,
}

/// A metric plus the kernel family to use, with per-query precomputation.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    metric: u32,
    isa: Isa,
}

impl Kernel {
    /// `caps` is a set of `CAP_*` bits the caller has verified on this CPU.
    pub fn new(metric: u32, caps: u32) -> Result<Self, SimdError> {
        if metric > METRIC_DOT {
            return Err(SimdError::BadMetric);
        }
        Ok(Kernel { metric, isa: isa_for(caps) })
    }

    /// The instruction set chosen, for reports: "avx512", "avx2+fma" or "sse2".
    pub fn isa_name(&self) -> &'static str {
        match self.isa {
            Isa::Sse2 => "sse2",
            Isa::Avx2 => "avx2+fma",
            Isa::Avx512 => "avx512",
        }
    }

    /// The metric number.
    pub fn metric(&self) -> u32 {
        self.metric
    }

    /// `(a.b, b.b)` with the selected kernel over the common length.
    #[inline(always)]
    fn dot_norm(&self, a: &[f32], b: &[f32], want_norm: bool) -> (f32, f32) {
        let n = if a.len() < b.len() { a.len() } else { b.len() };
        #[cfg(target_arch = "x86_64")]
        {
            match self.isa {
                // SAFETY: both slices hold at least n elements; the ISA is
                // only chosen when the caller vouched for it (`isa_for`).
                Isa::Avx512 => return unsafe { avx512::dot_norm(a.as_ptr(), b.as_ptr(), n, want_norm) },
                // SAFETY: as above.
                Isa::Avx2 => return unsafe { avx2::dot_norm(a.as_ptr(), b.as_ptr(), n, want_norm) },
                Isa::Sse2 => {}
            }
            // SAFETY: both slices hold at least n elements; SSE2 is baseline.
            unsafe { sse2::dot_norm(a.as_ptr(), b.as_ptr(), n, want_norm) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let (a, b) = (&a[..n.min(a.len())], &b[..n.min(b.len())]);
            (scalar::dot(a, b), if want_norm { scalar::dot(b, b) } else { 0.0 })
        }
    }

    #[inline(always)]
    fn l2(&self, a: &[f32], b: &[f32]) -> f32 {
        let n = if a.len() < b.len() { a.len() } else { b.len() };
        #[cfg(target_arch = "x86_64")]
        {
            match self.isa {
                // SAFETY: both slices hold at least n elements; the ISA is
                // only chosen when the caller vouched for it (`isa_for`).
                Isa::Avx512 => return unsafe { avx512::l2(a.as_ptr(), b.as_ptr(), n) },
                // SAFETY: as above.
                Isa::Avx2 => return unsafe { avx2::l2(a.as_ptr(), b.as_ptr(), n) },
                Isa::Sse2 => {}
            }
            // SAFETY: both slices hold at least n elements; SSE2 is baseline.
            unsafe { sse2::l2(a.as_ptr(), b.as_ptr(), n) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            scalar::l2(a, b)
        }
    }

    /// Squared norm of the query, needed once per batch for cosine.
    #[inline]
    pub fn query_norm(&self, q: &[f32]) -> f32 {
        if self.metric == METRIC_COSINE {
            self.dot_norm(q, q, false).0
        } else {
            0.0
        }
    }

    /// Distance between `q` (with squared norm `qn` from [`Kernel::query_norm`]) and `v`.
    #[inline(always)]
    pub fn distance_with_norm(&self, q: &[f32], qn: f32, v: &[f32]) -> f32 {
        match self.metric {
            METRIC_L2 => self.l2(q, v),
            METRIC_DOT => -self.dot_norm(q, v, false).0,
            _ => {
                let (d, vn) = self.dot_norm(q, v, true);
                cosine_from_parts(d, qn, vn)
            }
        }
    }

    /// Distance between two vectors (over the common length).
    #[inline]
    pub fn distance(&self, a: &[f32], b: &[f32]) -> f32 {
        let qn = self.query_norm(a);
        self.distance_with_norm(a, qn, b)
    }

    /// Ordered key of the distance between two vectors.
    #[inline]
    pub fn key(&self, a: &[f32], b: &[f32]) -> u32 {
        key_from_f32(self.distance(a, b))
    }

    /// Distances from `query` to the vectors `base[id*stride .. id*stride+dim]`
    /// for each id, written as ordered keys. `dim = query.len()`.
    pub fn dist_batch_strided(
        &self,
        query: &[f32],
        base: &[f32],
        stride: usize,
        ids: &[u32],
        out_keys: &mut [u32],
    ) -> Result<(), SimdError> {
        let dim = query.len();
        if dim == 0 || dim > MAX_DIM || stride < dim {
            return Err(SimdError::BadDim);
        }
        if ids.len() != out_keys.len() {
            return Err(SimdError::BadLength);
        }
        let qn = self.query_norm(query);
        #[cfg(target_arch = "x86_64")]
        {
            match self.isa {
                // SAFETY: the ISA is only chosen when the caller vouched for
                // it (`isa_for`); the loop checks every slice.
                Isa::Avx512 => return unsafe { strided_avx512(self.metric, qn, query, base, stride, ids, out_keys) },
                // SAFETY: as above.
                Isa::Avx2 => return unsafe { strided_avx2(self.metric, qn, query, base, stride, ids, out_keys) },
                Isa::Sse2 => {}
            }
            strided_sse2(self.metric, qn, query, base, stride, ids, out_keys)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let mut i = 0usize;
            while i < ids.len() {
                let id = *ids.get(i).ok_or(SimdError::BadLength)? as usize;
                let start = id.checked_mul(stride).ok_or(SimdError::BadId)?;
                let end = start.checked_add(dim).ok_or(SimdError::BadId)?;
                let v = base.get(start..end).ok_or(SimdError::BadId)?;
                *out_keys.get_mut(i).ok_or(SimdError::BadLength)? = key_from_f32(self.distance_with_norm(query, qn, v));
                i += 1;
            }
            Ok(())
        }
    }

    /// Cosine distances (`1 - q.v`, as ordered keys) from a unit-length
    /// `query` to unit-length vectors `base[id*stride .. id*stride+dim]`, both
    /// prepared with [`normalize`]: the same distance as
    /// [`Kernel::dist_batch_strided`] with `METRIC_COSINE` on the original
    /// vectors up to float rounding, without recomputing the stored vector's
    /// norm at every distance. Refused (`BadMetric`) unless this kernel is
    /// `METRIC_COSINE`.
    pub fn dist_batch_strided_unit(
        &self,
        query: &[f32],
        base: &[f32],
        stride: usize,
        ids: &[u32],
        out_keys: &mut [u32],
    ) -> Result<(), SimdError> {
        if self.metric != METRIC_COSINE {
            return Err(SimdError::BadMetric);
        }
        let dim = query.len();
        if dim == 0 || dim > MAX_DIM || stride < dim {
            return Err(SimdError::BadDim);
        }
        if ids.len() != out_keys.len() {
            return Err(SimdError::BadLength);
        }
        #[cfg(target_arch = "x86_64")]
        {
            match self.isa {
                // SAFETY: the ISA is only chosen when the caller vouched for
                // it (`isa_for`); the loop checks every slice.
                Isa::Avx512 => return unsafe { strided_avx512(UNIT_COSINE, 0.0, query, base, stride, ids, out_keys) },
                // SAFETY: as above.
                Isa::Avx2 => return unsafe { strided_avx2(UNIT_COSINE, 0.0, query, base, stride, ids, out_keys) },
                Isa::Sse2 => {}
            }
            strided_sse2(UNIT_COSINE, 0.0, query, base, stride, ids, out_keys)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let mut i = 0usize;
            while i < ids.len() {
                let id = *ids.get(i).ok_or(SimdError::BadLength)? as usize;
                let start = id.checked_mul(stride).ok_or(SimdError::BadId)?;
                let end = start.checked_add(dim).ok_or(SimdError::BadId)?;
                let v = base.get(start..end).ok_or(SimdError::BadId)?;
                *out_keys.get_mut(i).ok_or(SimdError::BadLength)? = key_from_f32(cosine_of_unit(scalar::dot(query, v)));
                i += 1;
            }
            Ok(())
        }
    }

    /// Distances from `query` to each vector in `vecs` (each at least
    /// `query.len()` long), as ordered keys.
    pub fn dist_batch_slices(
        &self,
        query: &[f32],
        vecs: &[&[f32]],
        out_keys: &mut [u32],
    ) -> Result<(), SimdError> {
        let dim = query.len();
        if dim == 0 || dim > MAX_DIM {
            return Err(SimdError::BadDim);
        }
        if vecs.len() != out_keys.len() {
            return Err(SimdError::BadLength);
        }
        let qn = self.query_norm(query);
        for (i, (v, o)) in vecs.iter().zip(out_keys.iter_mut()).enumerate() {
            #[cfg(target_arch = "x86_64")]
            if let Some(nv) = vecs.get(i + 1) {
                prefetch(nv);
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = i;
            if v.len() < dim {
                return Err(SimdError::BadDim);
            }
            *o = key_from_f32(self.distance_with_norm(query, qn, v));
        }
        Ok(())
    }
}

/// How many vectors ahead the batch loops prefetch.
pub(crate) const PREFETCH_AHEAD: usize = 3;

/// One distance by metric from raw pointers to `dim` floats (query, vector):
/// the body the batch loops below share. Unsafe to expand: both pointers
/// must be readable for `dim` floats and the kernels' instruction set present.
#[cfg(target_arch = "x86_64")]
macro_rules! one_distance {
    ($metric:expr, $qn:expr, $q:expr, $v:expr, $dim:expr, $l2:path, $dn:path) => {
        match $metric {
            METRIC_L2 => $l2($q, $v, $dim),
            METRIC_DOT => -$dn($q, $v, $dim, false).0,
            UNIT_COSINE => cosine_of_unit($dn($q, $v, $dim, false).0),
            _ => {
                let (d, vn) = $dn($q, $v, $dim, true);
                cosine_from_parts(d, $qn, vn)
            }
        }
    };
}

/// The strided batch loop, instantiated per instruction set so that the
/// kernels inline into it (one call per batch, not per vector).
#[cfg(target_arch = "x86_64")]
macro_rules! strided_loop {
    ($metric:expr, $qn:expr, $query:expr, $base:expr, $stride:expr, $ids:expr, $out:expr, $l2:path, $dn:path) => {{
        let (query, base, stride, ids, out): (&[f32], &[f32], usize, &[u32], &mut [u32]) = ($query, $base, $stride, $ids, $out);
        let dim = query.len();
        // Prefetch PREFETCH_AHEAD vectors ahead: one vector's distance is
        // shorter than a memory access, so the next one alone is too late.
        let mut p = 0usize;
        while p < PREFETCH_AHEAD {
            if let Some(&next) = ids.get(p) {
                if let Some(start) = (next as usize).checked_mul(stride) {
                    if let Some(nv) = base.get(start..start.saturating_add(dim)) {
                        prefetch(nv);
                    }
                }
            }
            p += 1;
        }
        let mut i = 0usize;
        while i < ids.len() {
            let id = match ids.get(i) {
                Some(&id) => id as usize,
                None => return Err(SimdError::BadLength),
            };
            if let Some(&next) = ids.get(i + PREFETCH_AHEAD) {
                if let Some(start) = (next as usize).checked_mul(stride) {
                    if let Some(nv) = base.get(start..start.saturating_add(dim)) {
                        prefetch(nv);
                    }
                }
            }
            let start = id.checked_mul(stride).ok_or(SimdError::BadId)?;
            let end = start.checked_add(dim).ok_or(SimdError::BadId)?;
            let v = base.get(start..end).ok_or(SimdError::BadId)?;
            // SAFETY: `query` and `v` both hold exactly `dim` floats; the
            // instruction set is available (caller contract of the enclosing fn).
            let d = unsafe { one_distance!($metric, $qn, query.as_ptr(), v.as_ptr(), dim, $l2, $dn) };
            match out.get_mut(i) {
                Some(o) => *o = key_from_f32(d),
                None => return Err(SimdError::BadLength),
            }
            i += 1;
        }
        Ok(())
    }};
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)]
#[target_feature(enable = "avx2,fma")]
unsafe fn strided_avx2(metric: u32, qn: f32, query: &[f32], base: &[f32], stride: usize, ids: &[u32], out: &mut [u32]) -> Result<(), SimdError> {
    strided_loop!(metric, qn, query, base, stride, ids, out, avx2::l2, avx2::dot_norm)
}

/// # Safety
/// The CPU must have AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn strided_avx512(metric: u32, qn: f32, query: &[f32], base: &[f32], stride: usize, ids: &[u32], out: &mut [u32]) -> Result<(), SimdError> {
    strided_loop!(metric, qn, query, base, stride, ids, out, avx512::l2, avx512::dot_norm)
}

#[cfg(target_arch = "x86_64")]
fn strided_sse2(metric: u32, qn: f32, query: &[f32], base: &[f32], stride: usize, ids: &[u32], out: &mut [u32]) -> Result<(), SimdError> {
    strided_loop!(metric, qn, query, base, stride, ids, out, sse2::l2, sse2::dot_norm)
}

/// The pointer batch loop of [`vexfs_simd_dist_ptrs`], instantiated per
/// instruction set like `strided_loop` (the kernels inline into it).
#[cfg(target_arch = "x86_64")]
macro_rules! ptrs_loop {
    ($metric:expr, $qn:expr, $query:expr, $ptrs:expr, $out:expr, $l2:path, $dn:path) => {{
        let (query, ptrs, out): (&[f32], &[*const core::ffi::c_void], &mut [u32]) = ($query, $ptrs, $out);
        let dim = query.len();
        let mut i = 0usize;
        while i < ptrs.len() {
            let p = match ptrs.get(i) {
                Some(&p) if !p.is_null() => p as *const f32,
                _ => return Err(SimdError::BadId),
            };
            if let Some(&next) = ptrs.get(i + 1) {
                if !next.is_null() {
                    // SAFETY: a prefetch never faults.
                    unsafe { _mm_prefetch(next as *const i8, _MM_HINT_T0) };
                }
            }
            // SAFETY: `query` holds `dim` floats and `p` points to `dim`
            // readable floats (caller contract of the enclosing fn); the
            // instruction set is available.
            let d = unsafe { one_distance!($metric, $qn, query.as_ptr(), p, dim, $l2, $dn) };
            match out.get_mut(i) {
                Some(o) => *o = key_from_f32(d),
                None => return Err(SimdError::BadLength),
            }
            i += 1;
        }
        Ok(())
    }};
}

/// # Safety
/// The CPU must have AVX2 and FMA; every pointer in `ptrs` must be readable
/// for `query.len()` floats.
#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)]
#[target_feature(enable = "avx2,fma")]
unsafe fn ptrs_avx2(metric: u32, qn: f32, query: &[f32], ptrs: &[*const core::ffi::c_void], out: &mut [u32]) -> Result<(), SimdError> {
    ptrs_loop!(metric, qn, query, ptrs, out, avx2::l2, avx2::dot_norm)
}

/// # Safety
/// The CPU must have AVX-512F, AVX2 and FMA; every pointer in `ptrs` must be
/// readable for `query.len()` floats.
#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn ptrs_avx512(metric: u32, qn: f32, query: &[f32], ptrs: &[*const core::ffi::c_void], out: &mut [u32]) -> Result<(), SimdError> {
    ptrs_loop!(metric, qn, query, ptrs, out, avx512::l2, avx512::dot_norm)
}

/// # Safety
/// Every pointer in `ptrs` must be readable for `query.len()` floats.
#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)]
unsafe fn ptrs_sse2(metric: u32, qn: f32, query: &[f32], ptrs: &[*const core::ffi::c_void], out: &mut [u32]) -> Result<(), SimdError> {
    ptrs_loop!(metric, qn, query, ptrs, out, sse2::l2, sse2::dot_norm)
}

/// Prefetches the cache lines of `v` (at most 16 lines, i.e. 1 KiB).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn prefetch(v: &[f32]) {
    prefetch_head(v, 16);
}

/// Prefetches the first `lines` cache lines of `v` (fewer if `v` is
/// shorter): a hint for data a loop will read soon. No-op off x86-64.
#[inline(always)]
pub fn prefetch_head<T>(v: &[T], lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = core::mem::size_of_val(v);
        let n = bytes.div_ceil(64).min(lines);
        let p = v.as_ptr() as *const i8;
        let mut l = 0usize;
        while l < n {
            // SAFETY: a prefetch never faults, and the address stays inside
            // the slice (l * 64 < bytes).
            unsafe { _mm_prefetch(p.wrapping_add(l * 64), _MM_HINT_T0) };
            l += 1;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, lines);
}

/// Convenience wrapper: [`Kernel::dist_batch_strided`].
pub fn dist_batch(
    metric: u32,
    caps: u32,
    query: &[f32],
    base: &[f32],
    stride: usize,
    ids: &[u32],
    out_keys: &mut [u32],
) -> Result<(), SimdError> {
    Kernel::new(metric, caps)?.dist_batch_strided(query, base, stride, ids, out_keys)
}

/// The largest distance key that still satisfies "similarity >= t":
/// cosine: distance `1 - t`; dot: distance `-t`. For L2 there is no
/// similarity; `t` is taken as a maximum squared distance.
pub fn similarity_threshold_key(metric: u32, t: f32) -> Result<u32, SimdError> {
    if !all_finite(core::slice::from_ref(&t)) {
        return Err(SimdError::BadDim);
    }
    match metric {
        METRIC_COSINE => Ok(key_from_f32(1.0 - t)),
        METRIC_DOT => Ok(key_from_f32(-t)),
        METRIC_L2 => Ok(key_from_f32(t)),
        _ => Err(SimdError::BadMetric),
    }
}

// ---------------------------------------------------------------------------
// C ABI (declared in shim/vexfs_simd.h). Vectors are passed as raw bytes
// (`const void *`): the kernel C side never touches floats.

fn errno(_e: SimdError) -> i32 {
    -EINVAL
}

/// See `vexfs_simd_dist_batch` in shim/vexfs_simd.h.
///
/// # Safety
/// `query` must be readable for `dim` f32 values, `base` for
/// `base_count * stride` f32 values, `ids` for `n` u32 and `out_keys`
/// writable for `n` u32; all 4-byte aligned. Null pointers are rejected.
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_dist_batch(
    metric: u32,
    caps: u32,
    query: *const core::ffi::c_void,
    dim: u32,
    base: *const core::ffi::c_void,
    stride: u32,
    base_count: u32,
    ids: *const u32,
    n: u32,
    out_keys: *mut u32,
) -> i32 {
    if query.is_null() || base.is_null() || (n > 0 && (ids.is_null() || out_keys.is_null())) {
        return -EINVAL;
    }
    if dim == 0 || dim as usize > MAX_DIM || stride < dim {
        return -EINVAL;
    }
    let total = match (base_count as usize).checked_mul(stride as usize) {
        Some(t) => t,
        None => return -EINVAL,
    };
    if n == 0 {
        return 0;
    }
    // SAFETY: the caller guarantees these regions are valid, aligned and
    // (for out_keys) not aliased with the inputs, for the given lengths.
    let (q, b, idv, out) = unsafe {
        (
            core::slice::from_raw_parts(query as *const f32, dim as usize),
            core::slice::from_raw_parts(base as *const f32, total),
            core::slice::from_raw_parts(ids, n as usize),
            core::slice::from_raw_parts_mut(out_keys, n as usize),
        )
    };
    match dist_batch(metric, caps, q, b, stride as usize, idv, out) {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// See `vexfs_simd_dist_ptrs` in shim/vexfs_simd.h.
///
/// # Safety
/// `query` must be readable for `dim` f32 values, `vecs` for `n` pointers
/// each readable for `dim` f32 values, `out_keys` writable for `n` u32; all
/// 4-byte aligned. Null pointers are rejected.
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_dist_ptrs(
    metric: u32,
    caps: u32,
    query: *const core::ffi::c_void,
    dim: u32,
    vecs: *const *const core::ffi::c_void,
    n: u32,
    out_keys: *mut u32,
) -> i32 {
    if query.is_null() || (n > 0 && (vecs.is_null() || out_keys.is_null())) {
        return -EINVAL;
    }
    if dim == 0 || dim as usize > MAX_DIM {
        return -EINVAL;
    }
    if n == 0 {
        return 0;
    }
    let kernel = match Kernel::new(metric, caps) {
        Ok(k) => k,
        Err(e) => return errno(e),
    };
    let dim = dim as usize;
    // SAFETY: the caller guarantees these regions are valid, aligned and
    // (for out_keys) not aliased with the inputs, for the given lengths.
    let (q, ptrs, out) = unsafe {
        (
            core::slice::from_raw_parts(query as *const f32, dim),
            core::slice::from_raw_parts(vecs, n as usize),
            core::slice::from_raw_parts_mut(out_keys, n as usize),
        )
    };
    if ptrs.iter().any(|p| p.is_null()) {
        return -EINVAL;
    }
    let qn = kernel.query_norm(q);
    #[cfg(target_arch = "x86_64")]
    let r = match kernel.isa {
        // SAFETY: the ISA is only chosen when the caller vouched for it
        // (`isa_for`); every pointer is non-null and readable for dim floats
        // (above).
        Isa::Avx512 => unsafe { ptrs_avx512(kernel.metric, qn, q, ptrs, out) },
        // SAFETY: as above.
        Isa::Avx2 => unsafe { ptrs_avx2(kernel.metric, qn, q, ptrs, out) },
        // SAFETY: as above (SSE2 is baseline on x86_64).
        Isa::Sse2 => unsafe { ptrs_sse2(kernel.metric, qn, q, ptrs, out) },
    };
    #[cfg(not(target_arch = "x86_64"))]
    let r: Result<(), SimdError> = {
        for (&p, o) in ptrs.iter().zip(out.iter_mut()) {
            // SAFETY: non-null (checked above), readable for dim floats (caller contract).
            let v = unsafe { core::slice::from_raw_parts(p as *const f32, dim) };
            *o = key_from_f32(kernel.distance_with_norm(q, qn, v));
        }
        Ok(())
    };
    match r {
        Ok(()) => 0,
        Err(e) => errno(e),
    }
}

/// See `vexfs_simd_threshold_key` in shim/vexfs_simd.h.
///
/// # Safety
/// `out_key` must be writable for one u32.
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_threshold_key(metric: u32, t_bits: u32, out_key: *mut u32) -> i32 {
    if out_key.is_null() {
        return -EINVAL;
    }
    match similarity_threshold_key(metric, f32::from_bits(t_bits)) {
        Ok(k) => {
            // SAFETY: non-null and writable (caller contract).
            unsafe { *out_key = k };
            0
        }
        Err(e) => errno(e),
    }
}

pub mod quant;

#[cfg(test)]
mod tests;
