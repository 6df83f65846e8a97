//! Dividing data: train/validation/test by fraction (stratified by class when there are
//! classes), k-fold and stratified k-fold cross-validation. Every split is seeded.
//!
//! ```
//! use strata::{Rng, data::split::stratified_kfold};
//! let labels = [0, 0, 0, 0, 1, 1, 1, 1];
//! let folds = stratified_kfold(&labels, 4, &mut Rng::seeded(1)).unwrap();
//! // every test fold holds one sample of each class
//! for f in &folds {
//!     let ones = f.test.iter().filter(|&&i| labels[i] == 1).count();
//!     assert_eq!((f.test.len(), ones), (2, 1));
//! }
//! ```

use super::{Dataset, Target};
use crate::{Error, Result, Rng};

/// One fold of cross-validation: sample indices to train on and to test on.
#[derive(Clone, Debug, PartialEq)]
pub struct Fold {
    /// The samples of the other folds, sorted.
    pub train: Vec<usize>,
    /// The samples held out in this fold, sorted.
    pub test: Vec<usize>,
}

fn check_k(n: usize, k: usize) -> Result<()> {
    if k < 2 {
        return Err(Error::invalid("folds", format!("{k}: need at least 2")));
    }
    if k > n {
        return Err(Error::invalid("folds", format!("{k} folds but only {n} samples")));
    }
    Ok(())
}

/// Folds from a sample order: position `p` of `order` goes to test fold `p % k`.
fn deal(order: &[usize], k: usize) -> Vec<Fold> {
    (0..k)
        .map(|f| {
            let (mut test, mut train) = (Vec::new(), Vec::new());
            for (p, &i) in order.iter().enumerate() {
                if p % k == f { test.push(i) } else { train.push(i) }
            }
            test.sort_unstable();
            train.sort_unstable();
            Fold { train, test }
        })
        .collect()
}

/// The samples of each class, each class shuffled, classes one after another.
fn by_class_shuffled(labels: &[u32], rng: &mut Rng) -> Vec<usize> {
    let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        groups[l as usize].push(i);
    }
    groups.iter_mut().for_each(|g| rng.shuffle(g));
    groups.concat()
}

/// `k` folds of a shuffle of `0..n` drawn from `rng`: every sample is in exactly one test
/// fold, and test folds differ in size by at most one.
///
/// Errors: `k < 2` or `k > n`.
pub fn kfold(n: usize, k: usize, rng: &mut Rng) -> Result<Vec<Fold>> {
    check_k(n, k)?;
    Ok(deal(&rng.permutation(n), k))
}

/// `k` folds in which every class keeps its share: each test fold holds
/// `count(class) / k` samples of every class (rounded up or down), and test folds differ
/// in size by at most one. `labels[i]` is the class of sample `i`.
///
/// Errors: `k < 2` or `k > labels.len()`.
pub fn stratified_kfold(labels: &[u32], k: usize, rng: &mut Rng) -> Result<Vec<Fold>> {
    check_k(labels.len(), k)?;
    Ok(deal(&by_class_shuffled(labels, rng), k))
}

/// Splits `0..n` (or, with `labels`, each class separately) into `(train, test)` with
/// `round(fraction * count)` samples in `test`. Indices are returned sorted.
fn train_test_indices(n: usize, labels: Option<&[u32]>, fraction: f32, rng: &mut Rng) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::invalid("split fraction", format!("{fraction} is not in [0, 1)")));
    }
    let groups: Vec<Vec<usize>> = match labels {
        Some(l) => {
            let classes = l.iter().copied().max().map_or(0, |m| m as usize + 1);
            let mut g = vec![Vec::new(); classes];
            for (i, &c) in l.iter().enumerate() {
                g[c as usize].push(i);
            }
            g
        }
        None => vec![(0..n).collect()],
    };
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut g in groups {
        rng.shuffle(&mut g);
        let n_test = (g.len() as f32 * fraction).round() as usize;
        test.extend_from_slice(&g[..n_test]);
        train.extend_from_slice(&g[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok((train, test))
}

/// The class labels of a dataset; `None` for [`Target::Values`].
pub fn labels_of(data: &Dataset) -> Option<&[u32]> {
    match &data.targets {
        Target::Classes { labels, .. } => Some(labels),
        Target::Values(_) => None,
    }
}

/// Splits a dataset into `(train, test)` with `round(test_fraction * count)` samples of
/// every class in `test` (of all samples, for [`Target::Values`]), drawn from `rng`.
/// Both keep the samples' original order.
///
/// Errors: `test_fraction` outside `[0, 1)`.
pub fn train_test_split(data: &Dataset, test_fraction: f32, rng: &mut Rng) -> Result<(Dataset, Dataset)> {
    let (train, test) = train_test_indices(data.len(), labels_of(data), test_fraction, rng)?;
    Ok((data.subset(&train)?, data.subset(&test)?))
}

/// Splits a dataset into `(train, validation, test)`, `val` and `test` being fractions of
/// the whole; stratified like [`train_test_split`].
///
/// Errors: a negative fraction, or `val + test >= 1`.
pub fn train_val_test_split(data: &Dataset, val: f32, test: f32, rng: &mut Rng) -> Result<(Dataset, Dataset, Dataset)> {
    if val < 0.0 || test < 0.0 || val + test >= 1.0 {
        return Err(Error::invalid("split fractions", format!("validation {val} + test {test} must be below 1")));
    }
    let (rest, test_set) = train_test_split(data, test, rng)?;
    let (train, validation) = train_test_split(&rest, val / (1.0 - test), rng)?;
    Ok((train, validation, test_set))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kfold_partitions_every_sample_once() {
        let folds = kfold(10, 3, &mut Rng::seeded(5)).unwrap();
        assert_eq!(folds.iter().map(|f| f.test.len()).collect::<Vec<_>>(), vec![4, 3, 3]);
        let mut all: Vec<usize> = folds.iter().flat_map(|f| f.test.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        for f in &folds {
            assert_eq!(f.train.len() + f.test.len(), 10);
            assert!(f.train.iter().all(|i| !f.test.contains(i)));
        }
        assert_eq!(folds, kfold(10, 3, &mut Rng::seeded(5)).unwrap());
        assert_ne!(folds, kfold(10, 3, &mut Rng::seeded(6)).unwrap());
        assert!(kfold(3, 4, &mut Rng::seeded(1)).is_err());
        assert!(kfold(3, 1, &mut Rng::seeded(1)).is_err());
    }

    #[test]
    fn stratified_folds_keep_class_ratios() {
        // 100 of class 0, 50 of class 1, 10 of class 2, in a scrambled order
        let mut labels: Vec<u32> = [vec![0; 100], vec![1; 50], vec![2; 10]].concat();
        Rng::seeded(9).shuffle(&mut labels);
        let folds = stratified_kfold(&labels, 10, &mut Rng::seeded(2)).unwrap();
        for f in &folds {
            let count = |c| f.test.iter().filter(|&&i| labels[i] == c).count();
            assert_eq!((count(0), count(1), count(2)), (10, 5, 1));
        }
        // 7 folds do not divide the classes: counts differ by at most one
        for f in stratified_kfold(&labels, 7, &mut Rng::seeded(2)).unwrap() {
            let count = |c| f.test.iter().filter(|&&i| labels[i] == c).count();
            assert!((14..=15).contains(&count(0)) && (7..=8).contains(&count(1)) && (1..=2).contains(&count(2)));
            assert!((22..=23).contains(&f.test.len()));
        }
    }

    #[test]
    fn stratified_split_fractions() {
        let labels: Vec<u32> = [vec![0; 50], vec![1; 30], vec![2; 20]].concat();
        let (train, test) = train_test_indices(100, Some(&labels), 0.2, &mut Rng::seeded(1)).unwrap();
        assert_eq!((train.len(), test.len()), (80, 20));
        let count = |c| test.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!((count(0), count(1), count(2)), (10, 6, 4));
        assert!(train_test_indices(10, None, 1.0, &mut Rng::seeded(1)).is_err());
    }
}
