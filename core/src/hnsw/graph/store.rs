//! Where the graph's words live. The graph reads and writes its words only
//! through a [`GraphStore`], so they can be one slice in memory
//! ([`MemStore`]: tools, tests, benchmarks, a graph being built) or the
//! blocks of a file read through a page cache (the kernel's store, reached
//! through the C callbacks of `ffi/hnsw.rs`), where nothing but the blocks a
//! change touched needs to stay in memory.
//!
//! A store is used like the slice it replaces: `&self` methods only read
//! (concurrent searches share a store), `&mut self` methods are the one
//! writer's. Every access is bounds-checked by the store and fails with
//! `Corrupt` rather than panicking.

use core::sync::atomic::AtomicU8;

use super::super::layout::BLOCK_WORDS;
use super::HnswError;

type Result<T> = core::result::Result<T, HnswError>;

/// Word access to a graph's layout (docs/HNSW.md).
pub trait GraphStore {
    /// Words the store holds (at least the layout's total for a usable graph).
    fn len(&self) -> usize;

    /// True when the store holds no words.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Word `i`.
    fn rd(&self, i: usize) -> Result<u32>;

    /// Copies words `[i, i + out.len())` into `out`; the range lies inside
    /// one block (a node record or a chunk never straddles one).
    fn read(&self, i: usize, out: &mut [u32]) -> Result<()>;

    /// Sets word `i`.
    fn wr(&mut self, i: usize, v: u32) -> Result<()>;

    /// Hint: words `[i, i + n)` are read soon (no effect on results).
    #[inline(always)]
    fn prefetch(&self, i: usize, n: usize) {
        let _ = (i, n);
    }

    /// Words `[i, i + n)` in place, when the store holds them as a slice
    /// (None: copy them with [`GraphStore::read`]).
    #[inline(always)]
    fn words_at(&self, i: usize, n: usize) -> Option<&[u32]> {
        let _ = (i, n);
        None
    }

    /// True when each read costs a lookup (a block store): the graph then
    /// reads a node's whole record at once rather than its meta word first.
    #[inline(always)]
    fn reads_cost(&self) -> bool {
        false
    }

    /// One byte per slot (all zero when the store is made) where the graph
    /// caches what its walks ask of each node's meta word (live, being
    /// removed, level), for stores whose reads cost a lookup; None: the
    /// graph reads the meta word each time. The graph fills entries from
    /// `&self` (relaxed stores of a value the graph's state determines:
    /// concurrent readers store the same one) and clears an entry whenever
    /// it writes that meta word.
    #[inline(always)]
    fn node_cache(&self) -> Option<&[AtomicU8]> {
        None
    }
}

/// A store borrowed for the life of one graph (a test reopening its store).
impl<T: GraphStore + ?Sized> GraphStore for &mut T {
    fn len(&self) -> usize {
        (**self).len()
    }

    fn rd(&self, i: usize) -> Result<u32> {
        (**self).rd(i)
    }

    fn read(&self, i: usize, out: &mut [u32]) -> Result<()> {
        (**self).read(i, out)
    }

    fn wr(&mut self, i: usize, v: u32) -> Result<()> {
        (**self).wr(i, v)
    }

    fn prefetch(&self, i: usize, n: usize) {
        (**self).prefetch(i, n)
    }

    fn node_cache(&self) -> Option<&[AtomicU8]> {
        (**self).node_cache()
    }

    fn reads_cost(&self) -> bool {
        (**self).reads_cost()
    }
}

/// The graph's words in one caller-owned slice, with an optional map of the
/// blocks written (bit b of word b / 64 for block b), which the owner
/// writes back and clears.
pub struct MemStore<'a> {
    w: &'a mut [u32],
    dirty: Option<&'a mut [u64]>,
}

impl<'a> MemStore<'a> {
    /// The words of `w`, no dirty map.
    pub fn new(w: &'a mut [u32]) -> Self {
        MemStore { w, dirty: None }
    }

    /// The words.
    pub fn words(&self) -> &[u32] {
        self.w
    }

    /// Records every block written into `map` from now on.
    pub fn set_dirty_map(&mut self, map: &'a mut [u64]) {
        self.dirty = Some(map);
    }

    /// Takes the dirty map back.
    pub fn take_dirty_map(&mut self) -> Option<&'a mut [u64]> {
        self.dirty.take()
    }
}

impl GraphStore for MemStore<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.w.len()
    }

    #[inline(always)]
    fn rd(&self, i: usize) -> Result<u32> {
        self.w.get(i).copied().ok_or(HnswError::Corrupt("graph word index out of range"))
    }

    #[inline(always)]
    fn read(&self, i: usize, out: &mut [u32]) -> Result<()> {
        let src = self.w.get(i..i + out.len()).ok_or(HnswError::Corrupt("graph words out of range"))?;
        out.copy_from_slice(src);
        Ok(())
    }

    #[inline(always)]
    fn wr(&mut self, i: usize, v: u32) -> Result<()> {
        match self.w.get_mut(i) {
            Some(x) => *x = v,
            None => return Err(HnswError::Corrupt("graph word index out of range")),
        }
        if let Some(d) = self.dirty.as_deref_mut() {
            let b = i / BLOCK_WORDS;
            if let Some(x) = d.get_mut(b / 64) {
                *x |= 1u64 << (b % 64);
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn words_at(&self, i: usize, n: usize) -> Option<&[u32]> {
        self.w.get(i..i + n)
    }

    #[inline(always)]
    fn prefetch(&self, i: usize, n: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            let mut off = 0usize;
            while off < n {
                if let Some(w) = self.w.get(i + off) {
                    // SAFETY: prefetcht0 is a hint: it never faults and has no
                    // architectural effect; the address is inside self.w. No
                    // SSE/FPU state is touched (valid in the soft-float kernel build).
                    unsafe {
                        core::arch::asm!("prefetcht0 [{0}]", in(reg) w as *const u32, options(nostack, preserves_flags, readonly));
                    }
                }
                off += 16;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (i, n);
    }
}
