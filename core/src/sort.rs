//! The core's one sort: an in-place heapsort with every access checked.
//! `core`'s slice sorts keep a panic path (on an inconsistent order), which
//! the kernel object must not contain, and quicksort recurses; this is
//! iterative with a constant stack. Unstable: callers that need a
//! deterministic order sort by a key unique per element.

/// Sorts `v` ascending.
pub fn sort<T: Copy + Ord>(v: &mut [T]) {
    sort_by_key(v, |x| *x);
}

/// Sorts `v` ascending by `key`.
pub fn sort_by_key<T: Copy, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    let n = v.len();
    let mut start = n / 2;
    while start > 0 {
        start -= 1;
        sift_down(v, start, n, &key);
    }
    let mut end = n;
    while end > 1 {
        end -= 1;
        swap(v, 0, end);
        sift_down(v, 0, end, &key);
    }
}

/// Swaps two elements if both indices are in range.
#[inline]
pub fn swap<T: Copy>(v: &mut [T], a: usize, b: usize) {
    if let (Some(&x), Some(&y)) = (v.get(a), v.get(b)) {
        if let Some(p) = v.get_mut(a) {
            *p = y;
        }
        if let Some(p) = v.get_mut(b) {
            *p = x;
        }
    }
}

/// Restores the max-heap order of `v[..len]` below `root`.
fn sift_down<T: Copy, K: Ord>(v: &mut [T], mut root: usize, len: usize, key: &impl Fn(&T) -> K) {
    loop {
        let left = 2 * root + 1;
        if left >= len {
            return;
        }
        let k = |i: usize| v.get(i).map(key);
        let mut child = left;
        if left + 1 < len && k(left + 1) > k(left) {
            child = left + 1;
        }
        if k(child) <= k(root) {
            return;
        }
        swap(v, root, child);
        root = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_like_std(mut v in proptest::collection::vec(any::<u16>(), 0..200)) {
            let mut want = v.clone();
            want.sort_unstable();
            sort(&mut v);
            prop_assert_eq!(v, want);
        }

        #[test]
        fn sorts_by_key(mut v in proptest::collection::vec((any::<u8>(), any::<u32>()), 0..200)) {
            let mut want = v.clone();
            want.sort_unstable_by_key(|&(a, b)| (b, a));
            sort_by_key(&mut v, |&(a, b)| (b, a));
            prop_assert_eq!(v, want);
        }
    }
}
