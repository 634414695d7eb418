//! Binary heaps over caller-provided `u64` slices.
//!
//! An entry packs `(distance key << 32) | slot`, so comparing entries as
//! integers orders them by distance, ties broken by slot id. No allocation,
//! no panics: every access is checked and a full heap refuses a push.

/// Packs a distance key and a slot id.
#[inline(always)]
pub const fn pack(key: u32, id: u32) -> u64 {
    ((key as u64) << 32) | id as u64
}

/// The distance key of a packed entry.
#[inline(always)]
pub const fn key_of(e: u64) -> u32 {
    (e >> 32) as u32
}

/// The slot id of a packed entry.
#[inline(always)]
pub const fn id_of(e: u64) -> u32 {
    e as u32
}

/// A binary heap in a borrowed slice. `MAX = true`: largest on top.
pub struct Heap<'b, const MAX: bool> {
    buf: &'b mut [u64],
    len: usize,
}

/// Smallest entry on top (candidate queue).
pub type MinHeap<'b> = Heap<'b, false>;
/// Largest entry on top (result set).
pub type MaxHeap<'b> = Heap<'b, true>;

impl<'b, const MAX: bool> Heap<'b, MAX> {
    /// An empty heap using all of `buf`.
    pub fn new(buf: &'b mut [u64]) -> Self {
        Heap { buf, len: 0 }
    }

    /// Entries held.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room for this many entries.
    #[inline(always)]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// True when full.
    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.len >= self.buf.len()
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    #[inline(always)]
    fn above(a: u64, b: u64) -> bool {
        if MAX {
            a > b
        } else {
            a < b
        }
    }

    /// The top entry.
    #[inline(always)]
    pub fn peek(&self) -> Option<u64> {
        if self.len == 0 {
            None
        } else {
            self.buf.first().copied()
        }
    }

    /// The held entries, in heap order.
    pub fn as_slice(&self) -> &[u64] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    fn sift_up(&mut self, mut i: usize) {
        let item = match self.buf.get(i) {
            Some(&x) => x,
            None => return,
        };
        while i > 0 {
            let p = (i - 1) / 2;
            let pv = match self.buf.get(p) {
                Some(&x) => x,
                None => return,
            };
            if !Self::above(item, pv) {
                break;
            }
            if let Some(slot) = self.buf.get_mut(i) {
                *slot = pv;
            }
            i = p;
        }
        if let Some(slot) = self.buf.get_mut(i) {
            *slot = item;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let len = self.len;
        let item = match self.buf.get(i) {
            Some(&x) => x,
            None => return,
        };
        loop {
            let l = 2 * i + 1;
            if l >= len {
                break;
            }
            let mut c = l;
            let mut cv = match self.buf.get(l) {
                Some(&x) => x,
                None => break,
            };
            if let Some(&rv) = self.buf.get(l + 1) {
                if l + 1 < len && Self::above(rv, cv) {
                    c = l + 1;
                    cv = rv;
                }
            }
            if !Self::above(cv, item) {
                break;
            }
            if let Some(slot) = self.buf.get_mut(i) {
                *slot = cv;
            }
            i = c;
        }
        if let Some(slot) = self.buf.get_mut(i) {
            *slot = item;
        }
    }

    /// Adds an entry; `false` (and nothing changes) when full.
    #[inline]
    pub fn push(&mut self, e: u64) -> bool {
        match self.buf.get_mut(self.len) {
            Some(slot) => *slot = e,
            None => return false,
        }
        self.len += 1;
        self.sift_up(self.len - 1);
        true
    }

    /// Removes and returns the top entry.
    #[inline]
    pub fn pop(&mut self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let top = self.buf.first().copied()?;
        self.len -= 1;
        let last = self.buf.get(self.len).copied()?;
        if self.len > 0 {
            if let Some(slot) = self.buf.first_mut() {
                *slot = last;
            }
            self.sift_down(0);
        }
        Some(top)
    }

    /// Replaces the top entry with `e` (one sift instead of pop + push).
    #[inline]
    pub fn replace_top(&mut self, e: u64) {
        if self.len == 0 {
            self.push(e);
            return;
        }
        if let Some(slot) = self.buf.first_mut() {
            *slot = e;
        }
        self.sift_down(0);
    }

    /// Keeps only the entries for which `keep` holds, then restores the heap.
    pub fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) {
        let mut w = 0usize;
        let mut r = 0usize;
        while r < self.len {
            if let Some(&e) = self.buf.get(r) {
                if keep(e) {
                    if let Some(slot) = self.buf.get_mut(w) {
                        *slot = e;
                    }
                    w += 1;
                }
            }
            r += 1;
        }
        self.len = w;
        let mut i = self.len / 2;
        while i > 0 {
            i -= 1;
            self.sift_down(i);
        }
    }

    /// For a min-heap: removes the largest entry (a leaf) if `e` is
    /// smaller, then inserts `e`. Used when the candidate queue is full.
    pub fn push_evicting_worst(&mut self, e: u64) -> bool {
        if !self.is_full() {
            return self.push(e);
        }
        let start = self.len / 2;
        let mut worst_i = usize::MAX;
        let mut worst = 0u64;
        let mut i = start;
        while i < self.len {
            if let Some(&v) = self.buf.get(i) {
                let worse = if MAX { v < worst || worst_i == usize::MAX } else { v > worst || worst_i == usize::MAX };
                if worse {
                    worst = v;
                    worst_i = i;
                }
            }
            i += 1;
        }
        if worst_i == usize::MAX || !Self::above(e, worst) {
            return false;
        }
        if let Some(slot) = self.buf.get_mut(worst_i) {
            *slot = e;
        }
        self.sift_up(worst_i);
        true
    }

    /// Heap-sorts the entries in place and returns them: ascending for a
    /// max-heap, descending for a min-heap. The heap is empty afterwards
    /// (the sorted entries stay in the buffer).
    pub fn into_sorted(mut self) -> &'b mut [u64] {
        let n = self.len;
        while self.len > 1 {
            let top = match self.buf.first().copied() {
                Some(t) => t,
                None => break,
            };
            self.len -= 1;
            let last = self.buf.get(self.len).copied().unwrap_or(top);
            if let Some(slot) = self.buf.first_mut() {
                *slot = last;
            }
            self.sift_down(0);
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = top;
            }
        }
        let buf = self.buf;
        match buf.get_mut(..n) {
            Some(s) => s,
            None => &mut [],
        }
    }
}
