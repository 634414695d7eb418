//! The k best hits of an exact scan (`--exact`, queued changes, a small
//! scope): a bounded max-heap over the caller's hit array, ordered by
//! (distance key, slot) with the worst hit on top, so offering a hit costs
//! O(log k) instead of a pass over the k kept (O(N log k) per scan).
//! No allocation, no panics: every index is checked.
use super::Hit;

#[inline(always)]
fn worse(a: &Hit, b: &Hit) -> bool {
    (a.dist, a.slot) > (b.dist, b.slot)
}

/// Swaps two entries (bounds checked, so no panic path).
#[inline(always)]
fn swap(h: &mut [Hit], a: usize, b: usize) {
    if a < h.len() && b < h.len() {
        h.swap(a, b);
    }
}

fn sift_down(h: &mut [Hit], mut i: usize) {
    let n = h.len();
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut top = i;
        if let (Some(a), Some(b)) = (h.get(l), h.get(top)) {
            if worse(a, b) {
                top = l;
            }
        }
        if let (Some(a), Some(b)) = (h.get(r), h.get(top)) {
            if worse(a, b) {
                top = r;
            }
        }
        if top == i || l >= n {
            return;
        }
        swap(h, i, top);
        i = top;
    }
}

fn sift_up(h: &mut [Hit], mut i: usize) {
    while i > 0 {
        let p = (i - 1) / 2;
        match (h.get(i), h.get(p)) {
            (Some(a), Some(b)) if worse(a, b) => swap(h, i, p),
            _ => return,
        }
        i = p;
    }
}

/// Makes `hits` a heap with the worst hit on top (e.g. the sorted results
/// of a graph search, before a scan of the queued changes adds to them).
pub fn heapify(hits: &mut [Hit]) {
    let mut i = hits.len() / 2;
    while i > 0 {
        i -= 1;
        sift_down(hits, i);
    }
}

/// Offers `h` to the heap `hits[..*n]`, which keeps at most `hits.len()`
/// hits: added while there is room, else it replaces the worst hit if it is
/// better. Returns true if kept. `*n` above `hits.len()` is treated as full.
pub fn offer(hits: &mut [Hit], n: &mut usize, h: Hit) -> bool {
    let cap = hits.len();
    if *n < cap {
        if let Some(x) = hits.get_mut(*n) {
            *x = h;
        }
        *n += 1;
        if let Some(heap) = hits.get_mut(..*n) {
            sift_up(heap, *n - 1);
        }
        return true;
    }
    *n = cap;
    match hits.first_mut() {
        Some(top) if worse(top, &h) => {
            *top = h;
            sift_down(hits, 0);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_best_of_a_stream() {
        let mut r = 12345u64;
        for cap in [0usize, 1, 2, 7, 10, 64] {
            let mut hits = vec![Hit::default(); cap];
            let mut n = 0usize;
            let mut all = Vec::new();
            for i in 0..1000u32 {
                r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let h = Hit { key: i as u64 + 7, slot: i, dist: (r >> 40) as u32 % 300 };
                all.push(h);
                offer(&mut hits, &mut n, h);
                if i == 500 {
                    // Re-heapify a sorted prefix (as after a graph search).
                    hits[..n].sort_by_key(|h| (h.dist, h.slot));
                    heapify(&mut hits[..n]);
                }
            }
            all.sort_by_key(|h| (h.dist, h.slot));
            let mut got = hits[..n].to_vec();
            got.sort_by_key(|h| (h.dist, h.slot));
            assert_eq!(got, all[..cap.min(all.len())].to_vec(), "cap {cap}");
        }
    }

    #[test]
    fn overfull_count_is_clamped() {
        let mut hits = [Hit { key: 1, slot: 1, dist: 10 }; 2];
        let mut n = 5usize;
        assert!(offer(&mut hits, &mut n, Hit { key: 2, slot: 2, dist: 1 }));
        assert_eq!(n, 2);
        assert!(!offer(&mut hits, &mut n, Hit { key: 3, slot: 3, dist: 99 }));
    }
}
