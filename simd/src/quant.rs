//! int8 scalar quantisation (SQ8) for the compressed search mode: training
//! of per-dimension `min` / `scale`, encoding of one vector into a code
//! record, per-query preparation, and the batch distance kernels (scalar
//! reference, SSE2, AVX2) that steer the graph walk. Final candidates are
//! re-ranked with the float32 kernels by the caller, so these distances only
//! need to order neighbours well, not exactly.
//!
//! Code record of a `dim`-dimensional vector ([`code_bytes`] bytes): `dim`
//! codes `c_i` (u8, `x_i ~ min_i + scale_i * c_i`), zero padding to a
//! multiple of 4, then the little-endian f32 squared norm of the
//! reconstruction (used by L2). For cosine the caller trains and encodes
//! the unit-length vectors ([`crate::normalize`]) and prepares unit queries.
//!
//! Distance: the query is folded into integer weights
//! `w_i = round(q_i * scale_i / s)` (|w_i| <= [`W_MAX`]) so that
//! `q.x ~ q.min + s * sum w_i c_i`, an integer dot product (madd on
//! 16-bit lanes); then L2 = `|q|^2 + |x|^2 - 2 q.x`, cosine = `1 - q.x`
//! clamped as for floats, dot = `-q.x`, returned as ordered keys like the
//! float kernels. No allocation, no panics: every slice access is checked.
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use crate::{key_from_f32, scalar, SimdError, CAP_AVX2_FMA, MAX_DIM, METRIC_COSINE, METRIC_DOT, METRIC_L2};

/// Largest |query weight|: 4096 dims * 255 * 2047 < 2^31, so the i32 sum
/// of `w_i * c_i` cannot overflow.
pub const W_MAX: i32 = 2047;

/// Bytes of one code record for `dim` dimensions.
pub const fn code_bytes(dim: usize) -> usize {
    dim.div_ceil(4) * 4 + 4
}

/// Trained quantiser parameters: per-dimension minimum and step, borrowed
/// from caller buffers of `dim` floats each.
#[derive(Clone, Copy, Debug)]
pub struct Quantizer<'a> {
    min: &'a [f32],
    scale: &'a [f32],
}

/// Computes `min_out[i]` and `scale_out[i] = (max_i - min_i) / 255` over the
/// rows of `data` (row-major, `dim` columns; `dim = min_out.len()`). A
/// constant dimension gets scale 0 (every code 0 reconstructs `min`).
pub fn train(data: &[f32], min_out: &mut [f32], scale_out: &mut [f32]) -> Result<(), SimdError> {
    let dim = min_out.len();
    if dim == 0 || dim > MAX_DIM || scale_out.len() != dim || data.is_empty() || !data.len().is_multiple_of(dim) {
        return Err(SimdError::BadDim);
    }
    if !crate::all_finite(data) {
        return Err(SimdError::BadDim);
    }
    // scale_out holds the running maximum until the end
    min_out.copy_from_slice(data.get(..dim).ok_or(SimdError::BadDim)?);
    scale_out.copy_from_slice(data.get(..dim).ok_or(SimdError::BadDim)?);
    for row in data.chunks_exact(dim) {
        for ((x, lo), hi) in row.iter().zip(min_out.iter_mut()).zip(scale_out.iter_mut()) {
            if *x < *lo {
                *lo = *x;
            }
            if *x > *hi {
                *hi = *x;
            }
        }
    }
    for (lo, hi) in min_out.iter().zip(scale_out.iter_mut()) {
        *hi = (*hi - *lo) / 255.0;
    }
    Ok(())
}

impl<'a> Quantizer<'a> {
    /// Parameters from [`train`] (or loaded): equal lengths, finite,
    /// non-negative scales.
    pub fn new(min: &'a [f32], scale: &'a [f32]) -> Result<Self, SimdError> {
        if min.is_empty() || min.len() > MAX_DIM || scale.len() != min.len() {
            return Err(SimdError::BadDim);
        }
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        if !crate::all_finite(min) || !crate::all_finite(scale) || scale.iter().any(|s| !(*s >= 0.0)) {
            return Err(SimdError::BadDim);
        }
        Ok(Quantizer { min, scale })
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.min.len()
    }

    /// Encodes `v` (`dim` floats) into one record of [`code_bytes`]`(dim)`
    /// bytes at `out`; values outside the trained range are clamped.
    pub fn encode(&self, v: &[f32], out: &mut [u8]) -> Result<(), SimdError> {
        let dim = self.dim();
        if v.len() != dim || out.len() != code_bytes(dim) {
            return Err(SimdError::BadDim);
        }
        let mut norm = 0.0f32;
        for (i, o) in out.iter_mut().enumerate() {
            *o = 0;
            if let (Some(&x), Some(&lo), Some(&s)) = (v.get(i), self.min.get(i), self.scale.get(i)) {
                let c = if s > 0.0 { round_clamp((x - lo) / s, 0, 255) } else { 0 };
                *o = c as u8;
                let r = lo + s * c as f32;
                norm += r * r;
            }
        }
        let tail = out.len() - 4;
        out.get_mut(tail..).ok_or(SimdError::BadDim)?.copy_from_slice(&norm.to_le_bytes());
        Ok(())
    }

    /// Folds a query (`dim` floats; unit length for cosine) into integer
    /// weights `w_out` (`dim` i16) and the constants the distance needs.
    pub fn prepare(&self, metric: u32, q: &[f32], w_out: &mut [i16]) -> Result<PreparedQuery, SimdError> {
        if metric > METRIC_DOT {
            return Err(SimdError::BadMetric);
        }
        let dim = self.dim();
        if q.len() != dim || w_out.len() != dim {
            return Err(SimdError::BadDim);
        }
        // Three separate functions, so that no vector register is live
        // across a call or spilled: the kernel's stack is only 8-byte aligned.
        let qnorm = scalar::dot(q, q);
        let (wmax, qmin) = weight_range(q, self.min, self.scale);
        // w / wmax is in [-1, 1] for any positive wmax, even a subnormal one
        // (where 1 / step would overflow and step itself may round to 0).
        let step = wmax / W_MAX as f32;
        fold_weights(q, self.scale, wmax, w_out);
        Ok(PreparedQuery { metric, qnorm, qmin, step })
    }
}

/// `max |q_i scale_i|` and `q . min`.
#[inline(never)]
fn weight_range(q: &[f32], min: &[f32], scale: &[f32]) -> (f32, f32) {
    let mut wmax = 0.0f32;
    let mut qmin = 0.0f32;
    for ((x, lo), s) in q.iter().zip(min).zip(scale) {
        let w = x * s;
        let a = if w < 0.0 { -w } else { w };
        if a > wmax {
            wmax = a;
        }
        qmin += x * lo;
    }
    (wmax, qmin)
}

/// `w_i = round(q_i scale_i / wmax * W_MAX)`; all 0 when wmax is 0.
#[inline(never)]
fn fold_weights(q: &[f32], scale: &[f32], wmax: f32, w_out: &mut [i16]) {
    // wmax 0 means every q_i scale_i is 0: dividing by 1 gives the same
    // zero weights as a separate branch would (one became a memset call).
    let div = if wmax > 0.0 { wmax } else { 1.0 };
    for ((x, s), w) in q.iter().zip(scale).zip(w_out.iter_mut()) {
        *w = round_clamp(x * s / div * W_MAX as f32, -W_MAX, W_MAX) as i16;
    }
}

/// Rounds to nearest and clamps to `[lo, hi]` (NaN gives `lo`).
#[allow(clippy::neg_cmp_op_on_partial_ord)]
#[inline]
fn round_clamp(x: f32, lo: i32, hi: i32) -> i32 {
    if !(x > lo as f32) {
        return lo;
    }
    if x >= hi as f32 {
        return hi;
    }
    let r = x + 0.5;
    let t = r as i32; // truncates toward zero
    if (t as f32) > r {
        t - 1
    } else {
        t
    }
}

/// Per-query constants from [`Quantizer::prepare`].
#[derive(Clone, Copy, Debug, Default)]
pub struct PreparedQuery {
    pub(crate) metric: u32,
    pub(crate) qnorm: f32,
    pub(crate) qmin: f32,
    pub(crate) step: f32,
}

impl PreparedQuery {
    /// Distance from the integer dot product and the record's stored norm.
    #[inline(always)]
    fn distance(&self, idot: i32, xnorm: f32) -> f32 {
        let dot = self.qmin + self.step * idot as f32;
        match self.metric {
            METRIC_L2 => self.qnorm + xnorm - 2.0 * dot,
            METRIC_COSINE => crate::cosine_of_unit(dot),
            _ => -dot,
        }
    }
}

/// `sum w_i c_i` over `n` elements, plain loop (the reference).
fn idot_scalar(w: &[i16], c: &[u8]) -> i32 {
    let mut s = 0i32;
    for (a, b) in w.iter().zip(c.iter()) {
        s += *a as i32 * *b as i32;
    }
    s
}

/// # Safety
/// `w` readable for `n` i16, `c` for `n` bytes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn idot_sse2(w: *const i16, c: *const u8, n: usize) -> i32 {
    // SAFETY: every load reads indices < n (caller contract); SSE2 is baseline.
    unsafe {
        let z = _mm_setzero_si128();
        let mut acc0 = _mm_setzero_si128();
        let mut acc1 = _mm_setzero_si128();
        let mut i = 0usize;
        while i + 16 <= n {
            let cb = _mm_loadu_si128(c.add(i) as *const __m128i);
            let c0 = _mm_unpacklo_epi8(cb, z);
            let c1 = _mm_unpackhi_epi8(cb, z);
            acc0 = _mm_add_epi32(acc0, _mm_madd_epi16(c0, _mm_loadu_si128(w.add(i) as *const __m128i)));
            acc1 = _mm_add_epi32(acc1, _mm_madd_epi16(c1, _mm_loadu_si128(w.add(i + 8) as *const __m128i)));
            i += 16;
        }
        let a = _mm_add_epi32(acc0, acc1);
        let a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0b00_00_11_10));
        let a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0b00_00_00_01));
        let mut s = _mm_cvtsi128_si32(a);
        while i < n {
            s += *w.add(i) as i32 * *c.add(i) as i32;
            i += 1;
        }
        s
    }
}

/// # Safety
/// The CPU must have AVX2; `w` readable for `n` i16, `c` for `n` bytes.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn idot_avx2(w: *const i16, c: *const u8, n: usize) -> i32 {
    // SAFETY: loads stay below index n; CPU support is the caller contract.
    unsafe {
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0usize;
        while i + 32 <= n {
            let c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(c.add(i) as *const __m128i));
            let c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(c.add(i + 16) as *const __m128i));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(c0, _mm256_loadu_si256(w.add(i) as *const __m256i)));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(c1, _mm256_loadu_si256(w.add(i + 16) as *const __m256i)));
            i += 32;
        }
        if i + 16 <= n {
            let c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(c.add(i) as *const __m128i));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(c0, _mm256_loadu_si256(w.add(i) as *const __m256i)));
            i += 16;
        }
        let a = _mm256_add_epi32(acc0, acc1);
        let a = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
        let a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0b00_00_11_10));
        let a = _mm_add_epi32(a, _mm_shuffle_epi32(a, 0b00_00_00_01));
        let mut s = _mm_cvtsi128_si32(a);
        while i < n {
            s += *w.add(i) as i32 * *c.add(i) as i32;
            i += 1;
        }
        s
    }
}

/// Prefetches one code record (at most 1 KiB of it).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_code(r: &[u8]) {
    let lines = if r.len() > 1024 { 16 } else { r.len().div_ceil(64) };
    let p = r.as_ptr() as *const i8;
    let mut l = 0usize;
    while l < lines {
        // SAFETY: a prefetch never faults; the address stays inside the slice.
        unsafe { _mm_prefetch(p.wrapping_add(l * 64), _MM_HINT_T0) };
        l += 1;
    }
}

/// The batch loop, instantiated per instruction set so that the dot
/// product inlines into it. `record(i)` is the i-th code record to score
/// (None: a bad id), `n` records in all.
macro_rules! quant_loop {
    ($pq:expr, $w:expr, $n:expr, $record:expr, $out:expr, $idot:expr) => {{
        let (pq, w, out): (&PreparedQuery, &[i16], &mut [u32]) = ($pq, $w, $out);
        let n: usize = $n;
        let record = $record;
        let dim = w.len();
        let rec = code_bytes(dim);
        #[cfg(target_arch = "x86_64")]
        {
            let mut p = 0usize;
            while p < crate::PREFETCH_AHEAD && p < n {
                if let Some(r) = record(p) {
                    prefetch_code(r);
                }
                p += 1;
            }
        }
        let mut i = 0usize;
        while i < n {
            #[cfg(target_arch = "x86_64")]
            if i + crate::PREFETCH_AHEAD < n {
                if let Some(r) = record(i + crate::PREFETCH_AHEAD) {
                    prefetch_code(r);
                }
            }
            let r: &[u8] = record(i).ok_or(SimdError::BadId)?;
            let nb: [u8; 4] = r.get(rec - 4..rec).and_then(|b| b.try_into().ok()).ok_or(SimdError::BadId)?;
            let xnorm = f32::from_le_bytes(nb);
            let c = r.get(..dim).ok_or(SimdError::BadId)?;
            let idot = $idot(w, c);
            *out.get_mut(i).ok_or(SimdError::BadLength)? = key_from_f32(pq.distance(idot, xnorm));
            i += 1;
        }
        Ok(())
    }};
}

/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn batch_avx2<'a, F: Fn(usize) -> Option<&'a [u8]>>(pq: &PreparedQuery, w: &[i16], n: usize, record: F, out: &mut [u32]) -> Result<(), SimdError> {
    // SAFETY (inside the closure): `w` and `c` both hold `dim` elements; AVX2
    // is the caller contract of this function.
    quant_loop!(pq, w, n, record, out, |w: &[i16], c: &[u8]| unsafe { idot_avx2(w.as_ptr(), c.as_ptr(), w.len().min(c.len())) })
}

#[cfg(target_arch = "x86_64")]
fn batch_sse2<'a, F: Fn(usize) -> Option<&'a [u8]>>(pq: &PreparedQuery, w: &[i16], n: usize, record: F, out: &mut [u32]) -> Result<(), SimdError> {
    // SAFETY (inside the closure): both slices hold at least the length passed.
    quant_loop!(pq, w, n, record, out, |w: &[i16], c: &[u8]| unsafe { idot_sse2(w.as_ptr(), c.as_ptr(), w.len().min(c.len())) })
}

fn batch_scalar<'a, F: Fn(usize) -> Option<&'a [u8]>>(pq: &PreparedQuery, w: &[i16], n: usize, record: F, out: &mut [u32]) -> Result<(), SimdError> {
    quant_loop!(pq, w, n, record, out, idot_scalar)
}

/// The batch on the best instruction set `caps` allows.
fn batch_any<'a, F: Fn(usize) -> Option<&'a [u8]>>(caps: u32, pq: &PreparedQuery, w: &[i16], n: usize, record: F, out: &mut [u32]) -> Result<(), SimdError> {
    if w.is_empty() || w.len() > MAX_DIM {
        return Err(SimdError::BadDim);
    }
    if n != out.len() {
        return Err(SimdError::BadLength);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if caps & CAP_AVX2_FMA != 0 {
            // SAFETY: the caller vouched for AVX2+FMA (CAP_AVX2_FMA).
            return unsafe { batch_avx2(pq, w, n, record, out) };
        }
        batch_sse2(pq, w, n, record, out)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = caps;
        batch_scalar(pq, w, n, record, out)
    }
}

/// Record `id` of flat `codes` (records of `rec` bytes).
fn flat_record(codes: &[u8], rec: usize, id: u32) -> Option<&[u8]> {
    let start = (id as usize).checked_mul(rec)?;
    codes.get(start..start.checked_add(rec)?)
}

/// Approximate distances (ordered keys) from a prepared query (`pq`, `w`)
/// to the code records of `ids` in `codes` (records of [`code_bytes`]`(dim)`
/// bytes, record `id` at `id * code_bytes(dim)`). `caps` as for
/// [`crate::Kernel::new`]; `caps = 0` on a non-x86 target runs the scalar loop.
pub fn dist_batch(caps: u32, pq: &PreparedQuery, w: &[i16], codes: &[u8], ids: &[u32], out_keys: &mut [u32]) -> Result<(), SimdError> {
    let rec = code_bytes(w.len());
    batch_any(caps, pq, w, ids.len(), |i: usize| flat_record(codes, rec, *ids.get(i)?), out_keys)
}

/// [`dist_batch`] over records wherever they are: `recs[i]` is the i-th
/// record ([`code_bytes`]`(dim)` bytes).
pub fn dist_records(caps: u32, pq: &PreparedQuery, w: &[i16], recs: &[&[u8]], out_keys: &mut [u32]) -> Result<(), SimdError> {
    batch_any(caps, pq, w, recs.len(), |i: usize| recs.get(i).copied(), out_keys)
}

/// [`dist_batch`] with the plain scalar loop (the reference the SIMD loops
/// are tested against).
pub fn dist_batch_scalar(pq: &PreparedQuery, w: &[i16], codes: &[u8], ids: &[u32], out_keys: &mut [u32]) -> Result<(), SimdError> {
    if w.is_empty() || w.len() > MAX_DIM {
        return Err(SimdError::BadDim);
    }
    if ids.len() != out_keys.len() {
        return Err(SimdError::BadLength);
    }
    let rec = code_bytes(w.len());
    batch_scalar(pq, w, ids.len(), |i: usize| flat_record(codes, rec, *ids.get(i)?), out_keys)
}

// ---------------------------------------------------------------------------
// C ABI for the kernel (declared in shim/vexfs_simd.h): the index keeps one
// code record per slot in memory to steer its graph walk. Floats cross as
// raw bits (`*const c_void`, 4-byte aligned); call inside
// kernel_fpu_begin/end. For cosine, vectors and queries are normalised into
// the caller's `tmp` (dim floats) first, as the module doc says.

/// Per-query constants as C holds them (`struct vexfs_sq8_query`): the
/// metric and the f32 bit patterns of the prepared query's constants.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Sq8QueryC {
    /// METRIC_*
    pub metric: u32,
    /// squared norm of the query (bits)
    pub qnorm: u32,
    /// `q . min` (bits)
    pub qmin: u32,
    /// weight step (bits)
    pub step: u32,
}

const EINVAL_NEG: i32 = -crate::EINVAL;

/// `dim` floats at `p`, or None for a null pointer or a bad dim.
///
/// # Safety
/// A non-null `p` must be readable for `dim` f32 values, 4-byte aligned.
unsafe fn floats<'a>(p: *const core::ffi::c_void, dim: u32) -> Option<&'a [f32]> {
    if p.is_null() || dim == 0 || dim as usize > MAX_DIM {
        return None;
    }
    // SAFETY: caller contract.
    Some(unsafe { core::slice::from_raw_parts(p as *const f32, dim as usize) })
}

/// # Safety
/// As [`floats`], writable.
unsafe fn floats_mut<'a>(p: *mut core::ffi::c_void, dim: u32) -> Option<&'a mut [f32]> {
    if p.is_null() || dim == 0 || dim as usize > MAX_DIM {
        return None;
    }
    // SAFETY: caller contract.
    Some(unsafe { core::slice::from_raw_parts_mut(p as *mut f32, dim as usize) })
}

/// Training as the kernel does it, one vector at a time (the kernel's
/// `vexfs_simd_sq8_observe` and mkfs.vexfs both call this, so a quantiser
/// written by mkfs is the one the kernel would train on the same sample):
/// widen the running per-dimension `min`/`max` with `v` (`first`: start
/// them), for cosine with its unit-length copy made in `tmp`. `BadDim` on
/// a non-finite element or mismatched lengths.
pub fn observe(metric: u32, v: &[f32], tmp: &mut [f32], min: &mut [f32], max: &mut [f32], first: bool) -> Result<(), SimdError> {
    let dim = v.len();
    if dim == 0 || dim > MAX_DIM || tmp.len() != dim || min.len() != dim || max.len() != dim || !crate::all_finite(v) {
        return Err(SimdError::BadDim);
    }
    let Some(x) = seen(metric, v, tmp) else { return Err(SimdError::BadDim) };
    if first {
        min.copy_from_slice(x);
        max.copy_from_slice(x);
        return Ok(());
    }
    for ((a, l), h) in x.iter().zip(min.iter_mut()).zip(max.iter_mut()) {
        if *a < *l {
            *l = *a;
        }
        if *a > *h {
            *h = *a;
        }
    }
    Ok(())
}

/// The end of training after [`observe`]: `max` becomes the step
/// `(max - min) / 255` in place, what [`Quantizer::new`] takes. `BadDim`
/// when a step is negative or not finite, or on mismatched lengths.
pub fn finish(min: &[f32], max: &mut [f32]) -> Result<(), SimdError> {
    if min.is_empty() || min.len() > MAX_DIM || max.len() != min.len() {
        return Err(SimdError::BadDim);
    }
    for (l, h) in min.iter().zip(max.iter_mut()) {
        let s = (*h - *l) / 255.0;
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        if !(s >= 0.0) || !crate::all_finite(core::slice::from_ref(&s)) {
            return Err(SimdError::BadDim);
        }
        *h = s;
    }
    Ok(())
}

/// The vector the quantiser sees: `v` itself, or its unit-length copy in
/// `tmp` for cosine.
fn seen<'a>(metric: u32, v: &'a [f32], tmp: &'a mut [f32]) -> Option<&'a [f32]> {
    if metric != METRIC_COSINE {
        return Some(v);
    }
    tmp.copy_from_slice(v);
    crate::normalize(tmp);
    Some(tmp)
}

/// `vexfs_simd_sq8_observe`: widen the running per-dimension `min`/`max`
/// (`first` != 0: start them) with one vector. -EINVAL on a non-finite
/// element or a bad argument.
///
/// # Safety
/// `vec`, `tmp`, `min`, `max`: `dim` floats each (tmp, min, max writable).
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_sq8_observe(
    metric: u32,
    dim: u32,
    vec: *const core::ffi::c_void,
    tmp: *mut core::ffi::c_void,
    min: *mut core::ffi::c_void,
    max: *mut core::ffi::c_void,
    first: u32,
) -> i32 {
    // SAFETY: caller contract for each pointer.
    let (Some(v), Some(t), Some(lo), Some(hi)) =
        (unsafe { floats(vec, dim) }, unsafe { floats_mut(tmp, dim) }, unsafe { floats_mut(min, dim) }, unsafe { floats_mut(max, dim) })
    else {
        return EINVAL_NEG;
    };
    match observe(metric, v, t, lo, hi, first != 0) {
        Ok(()) => 0,
        Err(_) => EINVAL_NEG,
    }
}

/// `vexfs_simd_sq8_finish`: turn the observed `max` into the step
/// `(max - min) / 255` in place (what [`Quantizer::new`] takes).
///
/// # Safety
/// `min`, `max`: `dim` floats each (max writable).
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_sq8_finish(dim: u32, min: *const core::ffi::c_void, max: *mut core::ffi::c_void) -> i32 {
    // SAFETY: caller contract.
    let (Some(lo), Some(hi)) = (unsafe { floats(min, dim) }, unsafe { floats_mut(max, dim) }) else {
        return EINVAL_NEG;
    };
    match finish(lo, hi) {
        Ok(()) => 0,
        Err(_) => EINVAL_NEG,
    }
}

/// `vexfs_simd_sq8_encode`: one vector into its code record (`code_len`
/// = [`code_bytes`]`(dim)` bytes at `code`).
///
/// # Safety
/// `min`, `scale`, `vec`, `tmp`: `dim` floats (tmp writable); `code`
/// writable for `code_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_sq8_encode(
    metric: u32,
    dim: u32,
    min: *const core::ffi::c_void,
    scale: *const core::ffi::c_void,
    vec: *const core::ffi::c_void,
    tmp: *mut core::ffi::c_void,
    code: *mut u8,
    code_len: u32,
) -> i32 {
    // SAFETY: caller contract for each pointer.
    let (Some(lo), Some(sc), Some(v), Some(t)) =
        (unsafe { floats(min, dim) }, unsafe { floats(scale, dim) }, unsafe { floats(vec, dim) }, unsafe { floats_mut(tmp, dim) })
    else {
        return EINVAL_NEG;
    };
    if code.is_null() || code_len as usize != code_bytes(dim as usize) {
        return EINVAL_NEG;
    }
    // SAFETY: code is non-null and writable for code_len bytes (caller contract).
    let out = unsafe { core::slice::from_raw_parts_mut(code, code_len as usize) };
    let Ok(q) = Quantizer::new(lo, sc) else { return EINVAL_NEG };
    let Some(x) = seen(metric, v, t) else { return EINVAL_NEG };
    match q.encode(x, out) {
        Ok(()) => 0,
        Err(_) => EINVAL_NEG,
    }
}

/// `vexfs_simd_sq8_prepare`: fold a query into weights `w` (`dim` i16)
/// and constants `pq` for [`vexfs_simd_sq8_dist`].
///
/// # Safety
/// `min`, `scale`, `query`, `tmp`: `dim` floats (tmp writable); `w`
/// writable for `dim` i16; `pq` writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_sq8_prepare(
    metric: u32,
    dim: u32,
    min: *const core::ffi::c_void,
    scale: *const core::ffi::c_void,
    query: *const core::ffi::c_void,
    tmp: *mut core::ffi::c_void,
    w: *mut i16,
    pq: *mut Sq8QueryC,
) -> i32 {
    // SAFETY: caller contract for each pointer.
    let (Some(lo), Some(sc), Some(v), Some(t)) =
        (unsafe { floats(min, dim) }, unsafe { floats(scale, dim) }, unsafe { floats(query, dim) }, unsafe { floats_mut(tmp, dim) })
    else {
        return EINVAL_NEG;
    };
    if w.is_null() || pq.is_null() || !crate::all_finite(v) {
        return EINVAL_NEG;
    }
    // SAFETY: w is non-null and writable for dim i16 (caller contract).
    let wv = unsafe { core::slice::from_raw_parts_mut(w, dim as usize) };
    let Ok(q) = Quantizer::new(lo, sc) else { return EINVAL_NEG };
    let Some(x) = seen(metric, v, t) else { return EINVAL_NEG };
    match q.prepare(metric, x, wv) {
        Ok(p) => {
            // SAFETY: pq is non-null and writable (caller contract).
            unsafe {
                *pq = Sq8QueryC { metric: p.metric, qnorm: p.qnorm.to_bits(), qmin: p.qmin.to_bits(), step: p.step.to_bits() };
            }
            0
        }
        Err(_) => EINVAL_NEG,
    }
}

/// `vexfs_simd_sq8_dist`: approximate distance keys from a prepared query
/// to the code records of `ids` (record `id` at `id * code_bytes(dim)` in
/// `codes`, `ncodes` records).
///
/// # Safety
/// `pq` readable; `w` readable for `dim` i16; `codes` for `ncodes *
/// code_bytes(dim)` bytes; `ids` for `n` u32; `out` writable for `n` u32.
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_sq8_dist(
    caps: u32,
    pq: *const Sq8QueryC,
    w: *const i16,
    dim: u32,
    codes: *const u8,
    ncodes: u32,
    ids: *const u32,
    n: u32,
    out: *mut u32,
) -> i32 {
    if pq.is_null() || w.is_null() || codes.is_null() || dim == 0 || dim as usize > MAX_DIM {
        return EINVAL_NEG;
    }
    if n == 0 {
        return 0;
    }
    if ids.is_null() || out.is_null() {
        return EINVAL_NEG;
    }
    let Some(total) = (ncodes as usize).checked_mul(code_bytes(dim as usize)) else { return EINVAL_NEG };
    // SAFETY: all non-null (checked) and sized per the caller contract.
    let (p, wv, cv, iv, ov) = unsafe {
        (
            *pq,
            core::slice::from_raw_parts(w, dim as usize),
            core::slice::from_raw_parts(codes, total),
            core::slice::from_raw_parts(ids, n as usize),
            core::slice::from_raw_parts_mut(out, n as usize),
        )
    };
    let Some(prepared) = prepared_from_c(&p) else { return EINVAL_NEG };
    match dist_batch(caps, &prepared, wv, cv, iv, ov) {
        Ok(()) => 0,
        Err(_) => EINVAL_NEG,
    }
}

/// The prepared query C hands over (`struct vexfs_sq8_query`), or None for
/// an unknown metric.
fn prepared_from_c(p: &Sq8QueryC) -> Option<PreparedQuery> {
    if p.metric > METRIC_DOT {
        return None;
    }
    Some(PreparedQuery {
        metric: p.metric,
        qnorm: f32::from_bits(p.qnorm),
        qmin: f32::from_bits(p.qmin),
        step: f32::from_bits(p.step),
    })
}

/// See `vexfs_simd_sq8_dist_recs` in shim/vexfs_simd.h: as
/// [`vexfs_simd_sq8_dist`], the i-th record at `recs[i]` (the kernel keeps
/// codes in slot groups, not one array).
///
/// # Safety
/// `pq` and `w` (dim elements) readable; `recs` readable for `n` pointers,
/// each null (an error) or readable for `code_bytes(dim)` bytes; `out`
/// writable for `n` keys.
#[no_mangle]
pub unsafe extern "C" fn vexfs_simd_sq8_dist_recs(
    caps: u32,
    pq: *const Sq8QueryC,
    w: *const i16,
    dim: u32,
    recs: *const *const u8,
    n: u32,
    out: *mut u32,
) -> i32 {
    if pq.is_null() || w.is_null() || dim == 0 || dim as usize > MAX_DIM {
        return EINVAL_NEG;
    }
    if n == 0 {
        return 0;
    }
    if recs.is_null() || out.is_null() {
        return EINVAL_NEG;
    }
    let rec = code_bytes(dim as usize);
    // SAFETY: all non-null (checked) and sized per the caller contract.
    let (p, wv, rv, ov) = unsafe {
        (
            *pq,
            core::slice::from_raw_parts(w, dim as usize),
            core::slice::from_raw_parts(recs, n as usize),
            core::slice::from_raw_parts_mut(out, n as usize),
        )
    };
    let Some(prepared) = prepared_from_c(&p) else { return EINVAL_NEG };
    let record = |i: usize| -> Option<&[u8]> {
        let r = *rv.get(i)?;
        if r.is_null() {
            return None;
        }
        // SAFETY: a non-null record pointer is readable for `rec` bytes (caller contract).
        Some(unsafe { core::slice::from_raw_parts(r, rec) })
    };
    match batch_any(caps, &prepared, wv, n as usize, record, ov) {
        Ok(()) => 0,
        Err(_) => EINVAL_NEG,
    }
}
