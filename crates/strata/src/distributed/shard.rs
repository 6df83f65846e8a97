//! Which part of a global batch each rank trains on.

use std::ops::Range;

/// The contiguous slice of a global batch of `len` samples that `rank` of `size` takes:
/// the first `len % size` ranks take one sample more than the others, so slices differ by
/// at most one and together cover the batch exactly once. A rank's slice is empty when the
/// batch has fewer samples than there are ranks.
///
/// ```
/// use strata::distributed::shard_range;
/// assert_eq!(shard_range(10, 0, 3), 0..4);
/// assert_eq!(shard_range(10, 1, 3), 4..7);
/// assert_eq!(shard_range(10, 2, 3), 7..10);
/// assert_eq!(shard_range(1, 1, 2), 1..1);
/// ```
pub fn shard_range(len: usize, rank: usize, size: usize) -> Range<usize> {
    let size = size.max(1);
    let (base, extra) = (len / size, len % size);
    let start = rank * base + rank.min(extra);
    let end = start + base + usize::from(rank < extra);
    start.min(len)..end.min(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn slices_cover_the_batch_once(len in 0usize..300, size in 1usize..17) {
            let mut next = 0;
            let mut lens = Vec::new();
            for rank in 0..size {
                let r = shard_range(len, rank, size);
                prop_assert_eq!(r.start, next, "slices must be contiguous and in rank order");
                next = r.end;
                lens.push(r.len());
            }
            prop_assert_eq!(next, len);
            let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
            prop_assert!(hi - lo <= 1, "unbalanced: {:?}", lens);
        }
    }

    #[test]
    fn one_rank_takes_everything() {
        assert_eq!(shard_range(7, 0, 1), 0..7);
    }

    #[test]
    fn more_ranks_than_samples_leaves_empty_slices() {
        let lens: Vec<usize> = (0..4).map(|r| shard_range(2, r, 4).len()).collect();
        assert_eq!(lens, vec![1, 1, 0, 0]);
    }
}
