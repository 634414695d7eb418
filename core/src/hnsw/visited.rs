//! The visited set of one searcher: an 8-bit epoch stamp per slot, four to
//! a `u32` word of the searcher's scratch buffer. A slot is visited in the
//! current search when its stamp equals the search's epoch, so starting a
//! search costs nothing; every 255 epochs the stamps are cleared. One byte
//! per slot (hnswlib keeps two) keeps the set small enough to stay in the
//! L2 cache beside the vectors a search streams through (50 KB for 50,000
//! slots), and costs 1 MB per concurrent searcher at a million slots.
//! Owned by the `Scratch` it was carved from: no locking.

/// Epochs run from 1 to this; 0 is "never visited".
pub(crate) const EPOCH_MAX: u32 = 255;

/// `u32` words a visited set for `capacity` slots needs.
pub(crate) const fn words(capacity: u32) -> usize {
    (capacity as usize).div_ceil(4)
}

/// Stamps `slot` with `epoch` (in 1..=EPOCH_MAX); true when it was not
/// stamped with it yet. A slot beyond the set is never visited (false), so
/// a corrupt link is skipped, as a search skips any slot out of range.
#[inline(always)]
pub(crate) fn visit(words: &mut [u32], slot: u32, epoch: u32) -> bool {
    match words.get_mut((slot >> 2) as usize) {
        Some(w) => {
            let shift = (slot & 3) * 8;
            if (*w >> shift) & 0xff == epoch {
                false
            } else {
                *w = (*w & !(0xff << shift)) | (epoch << shift);
                true
            }
        }
        None => false,
    }
}

/// Clears every stamp.
pub(crate) fn clear(words: &mut [u32]) {
    for w in words.iter_mut() {
        *w = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_per_slot_and_per_epoch() {
        let mut w = [0u32; 3];
        assert_eq!(words(9), 3);
        for slot in 0..9 {
            assert!(visit(&mut w, slot, 1), "slot {slot} first visit");
            assert!(!visit(&mut w, slot, 1), "slot {slot} second visit");
        }
        // Out of range: never visited, nothing written.
        assert!(!visit(&mut w, 12, 1));
        // A new epoch sees every slot as new, and neighbours' stamps stay.
        assert!(visit(&mut w, 5, 2));
        assert!(!visit(&mut w, 4, 1));
        assert!(!visit(&mut w, 6, 1));
        assert!(visit(&mut w, 4, EPOCH_MAX));
        assert!(!visit(&mut w, 5, 2));
        clear(&mut w);
        assert!(visit(&mut w, 5, 2));
    }
}
