//! k-nearest-neighbour classification (and regression) with Euclidean distance.
//!
//! Squared distances between a batch of queries `Q` and the training points `X` come from
//! one matrix product: `||q - x||² = ||q||² - 2 q·x + ||x||²`, with `Q Xᵀ` computed by
//! [`crate::tensor::gemm`]; queries are processed in batches that bound the memory of the
//! distance block.
//!
//! ```
//! use strata::{Tensor, Target, Dataset, baseline::{Classifier, Knn}};
//! let x = Tensor::from_vec(vec![0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0], &[4, 2]).unwrap();
//! let train = Dataset::new(x, Target::Classes { labels: vec![0, 0, 1, 1], num_classes: 2 }).unwrap();
//! let mut knn = Knn::new(1);
//! knn.fit(&train).unwrap();
//! let q = Tensor::from_vec(vec![4.0, 4.0, 0.2, 0.1], &[2, 2]).unwrap();
//! assert_eq!(knn.predict(&q).unwrap(), vec![1, 0]);
//!
//! // Regression: fitted on values, it predicts the mean of the k nearest points' values.
//! let y = Tensor::from_vec(vec![1.0, 3.0, 10.0, 20.0], &[4, 1]).unwrap();
//! let mut knn = Knn::new(2);
//! knn.fit(&Dataset::new(train.inputs.clone(), Target::Values(y)).unwrap()).unwrap();
//! assert_eq!(knn.predict_values(&q).unwrap(), vec![15.0, 2.0]);
//! ```

use super::{Classifier, as_matrix, class_labels};
use crate::data::Dataset;
use crate::tensor::gemm;
use crate::{Error, Result, Tensor};
use rayon::prelude::*;

/// Distance blocks hold at most this many f32 (64 MiB).
const BLOCK_FLOATS: usize = 16 << 20;

/// The k-NN classifier: remembers the training set; predicts the majority class of the
/// `k` nearest training points (ties go to the class of the nearer neighbours). Fitted on
/// real-valued targets ([`crate::Target::Values`], one per sample) it is the k-NN
/// regressor: [`Knn::predict_values`] is the mean of the `k` nearest points' values.
#[derive(Clone, Debug)]
pub struct Knn {
    k: usize,
    x: Vec<f32>,
    norms: Vec<f32>,
    labels: Vec<u32>,
    classes: usize,
    /// The training points' values when fitted for regression (else empty).
    values: Vec<f32>,
    dim: usize,
}

/// Squared Euclidean distances `[m, n]` between rows of `a` `[m, d]` and `b` `[n, d]`,
/// given the squared norms of `b`'s rows.
pub fn squared_distances(a: &[f32], b: &[f32], b_norms: &[f32], m: usize, n: usize, d: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; m * n];
    gemm(m, n, d, a, false, b, true, &mut out, false);
    out.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
        let qa: f32 = a[i * d..(i + 1) * d].iter().map(|v| v * v).sum();
        for (v, nb) in row.iter_mut().zip(b_norms) {
            // rounding can make a tiny distance negative
            *v = (qa - 2.0 * *v + nb).max(0.0);
        }
    });
    out
}

impl Knn {
    /// A k-NN classifier (k at least 1; checked at `fit`).
    pub fn new(k: usize) -> Knn {
        Knn { k, x: Vec::new(), norms: Vec::new(), labels: Vec::new(), classes: 0, values: Vec::new(), dim: 0 }
    }
    /// Neighbours that vote.
    pub fn k(&self) -> usize {
        self.k
    }
    /// A fitted classifier from stored training points `[N, d]` and their labels.
    pub fn from_parts(k: usize, x: &Tensor, labels: Vec<u32>, classes: usize) -> Result<Knn> {
        let mut knn = Knn::new(k);
        let data = Dataset::new(x.clone(), crate::Target::Classes { labels, num_classes: classes })?;
        knn.fit(&data)?;
        Ok(knn)
    }
    /// A fitted regressor from stored training points `[N, d]` and their values.
    pub fn from_values(k: usize, x: &Tensor, values: Vec<f32>) -> Result<Knn> {
        let mut knn = Knn::new(k);
        let n = values.len();
        let data = Dataset::new(x.clone(), crate::Target::Values(Tensor::from_vec(values, &[n, 1])?))?;
        knn.fit(&data)?;
        Ok(knn)
    }
    /// The stored training points `[N, d]`, labels and class count (for saving; no labels
    /// and 0 classes for a regressor).
    pub fn parts(&self) -> Result<(Tensor, &[u32], usize)> {
        Ok((Tensor::from_vec(self.x.clone(), &[self.points(), self.dim])?, &self.labels, self.classes))
    }
    /// The training points' values, when fitted for regression.
    pub fn values(&self) -> Option<&[f32]> {
        (!self.values.is_empty()).then_some(self.values.as_slice())
    }
    /// Number of stored training points.
    fn points(&self) -> usize {
        self.labels.len().max(self.values.len())
    }

    /// Indices and squared distances of the `k` nearest training points of each query,
    /// nearest first (equal distances: lower index first).
    pub fn neighbours(&self, q: &Tensor) -> Result<Vec<Vec<(usize, f32)>>> {
        let (m, d) = as_matrix(q)?;
        let n = self.points();
        if n == 0 {
            return Err(Error::Model("k-NN used before fit".into()));
        }
        if d != self.dim {
            return Err(Error::ShapeMismatch { op: "knn query", left: vec![m, d], right: vec![n, self.dim] });
        }
        let k = self.k.min(n);
        let rows = (BLOCK_FLOATS / n.max(1)).clamp(1, 4096);
        let mut out = Vec::with_capacity(m);
        for start in (0..m).step_by(rows) {
            let end = (start + rows).min(m);
            let dist = squared_distances(&q.data()[start * d..end * d], &self.x, &self.norms, end - start, n, d);
            let block: Vec<Vec<(usize, f32)>> = dist
                .par_chunks(n)
                .map(|row| {
                    let mut idx: Vec<usize> = (0..n).collect();
                    let cmp = |a: &usize, b: &usize| row[*a].total_cmp(&row[*b]).then(a.cmp(b));
                    if k < n {
                        idx.select_nth_unstable_by(k - 1, cmp);
                        idx.truncate(k);
                    }
                    idx.sort_by(cmp);
                    idx.into_iter().map(|i| (i, row[i])).collect()
                })
                .collect();
            out.extend(block);
        }
        Ok(out)
    }

    /// Predicted classes.
    pub fn predict(&self, q: &Tensor) -> Result<Vec<usize>> {
        crate::metrics::predicted_classes(&self.predict_proba(q)?)
    }

    /// Predicted values of a regressor: the mean of the `k` nearest training points' values.
    ///
    /// Errors: fitted on classes (or not fitted), or queries of another width.
    pub fn predict_values(&self, q: &Tensor) -> Result<Vec<f32>> {
        if self.values.is_empty() && !self.labels.is_empty() {
            return Err(Error::Model("this k-NN was fitted on classes; it predicts classes, not values".into()));
        }
        let nbrs = self.neighbours(q)?;
        Ok(nbrs.iter().map(|nb| nb.iter().map(|&(i, _)| self.values[i]).sum::<f32>() / nb.len().max(1) as f32).collect())
    }
}

impl Classifier for Knn {
    fn name(&self) -> String {
        format!("knn:{}", self.k)
    }
    fn fit(&mut self, train: &Dataset) -> Result<()> {
        if self.k == 0 {
            return Err(Error::invalid("k", "k-NN needs k >= 1"));
        }
        let (n, d) = as_matrix(&train.inputs)?;
        let (labels, classes, values) = match &train.targets {
            crate::Target::Values(t) if t.numel() == n => (&[][..], 0, t.data().to_vec()),
            crate::Target::Values(t) => {
                let reason = format!("k-NN regression needs one value per sample, not {:?} for {n} samples", t.shape());
                return Err(Error::invalid("targets", reason));
            }
            _ => {
                let (labels, classes) = class_labels(train)?;
                (labels, classes, Vec::new())
            }
        };
        if n == 0 {
            return Err(Error::invalid("training data", "is empty"));
        }
        if self.k > n {
            return Err(Error::invalid(
                "k",
                format!("k-NN with k = {} needs at least {} training samples, not {n}", self.k, self.k),
            ));
        }
        self.x = train.inputs.data().to_vec();
        self.norms = self.x.chunks_exact(d.max(1)).map(|r| r.iter().map(|v| v * v).sum()).collect();
        self.labels = labels.to_vec();
        self.classes = classes;
        self.values = values;
        self.dim = d;
        Ok(())
    }
    /// The share of the k neighbours in each class; a tiny extra weight for nearer
    /// neighbours breaks ties in their favour.
    fn predict_proba(&self, q: &Tensor) -> Result<Tensor> {
        if !self.values.is_empty() {
            return Err(Error::Model("this k-NN was fitted on values; it predicts values, not classes".into()));
        }
        let nbrs = self.neighbours(q)?;
        let c = self.classes;
        let mut out = vec![0.0f32; nbrs.len() * c];
        for (row, nb) in out.chunks_exact_mut(c).zip(&nbrs) {
            let k = nb.len() as f32;
            for (rank, &(i, _)) in nb.iter().enumerate() {
                row[self.labels[i] as usize] += 1.0 + 1e-3 * (k - rank as f32) / k;
            }
            let sum: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        Tensor::from_vec(out, &[nbrs.len(), c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    #[test]
    fn gemm_distances_match_the_direct_formula() {
        let mut rng = Rng::seeded(3);
        let (m, n, d) = (7, 11, 5);
        let a: Vec<f32> = (0..m * d).map(|_| rng.normal(0.0, 1.0)).collect();
        let b: Vec<f32> = (0..n * d).map(|_| rng.normal(0.0, 1.0)).collect();
        let norms: Vec<f32> = b.chunks(d).map(|r| r.iter().map(|v| v * v).sum()).collect();
        let fast = squared_distances(&a, &b, &norms, m, n, d);
        for i in 0..m {
            for j in 0..n {
                let direct: f32 = (0..d).map(|t| (a[i * d + t] - b[j * d + t]).powi(2)).sum();
                assert!((fast[i * n + j] - direct).abs() < 1e-4, "{i},{j}");
            }
        }
    }

    #[test]
    fn majority_vote_with_nearest_tie_break() {
        // 1-D points: class 0 at 0, 1, 2; class 1 at 10, 11
        let x = Tensor::from_vec(vec![0.0, 1.0, 2.0, 10.0, 11.0], &[5, 1]).unwrap();
        let train = Dataset::new(x, crate::Target::Classes { labels: vec![0, 0, 0, 1, 1], num_classes: 2 }).unwrap();
        let mut knn = Knn::new(3);
        knn.fit(&train).unwrap();
        let q = Tensor::from_vec(vec![9.0, 1.2], &[2, 1]).unwrap();
        let nb = knn.neighbours(&q).unwrap();
        assert_eq!(nb[0].iter().map(|p| p.0).collect::<Vec<_>>(), vec![3, 4, 2]);
        assert_eq!(knn.predict(&q).unwrap(), vec![1, 0]);
        let p = knn.predict_proba(&q).unwrap();
        assert!((p.data()[1] - 2.0 / 3.0).abs() < 1e-2);
        // k = 2 at 6.0: one neighbour of each class at distance 4 -> the lower index (2) is
        // nearer in order and wins the tie
        let mut knn2 = Knn::new(2);
        knn2.fit(&train).unwrap();
        assert_eq!(knn2.predict(&Tensor::from_vec(vec![6.0], &[1, 1]).unwrap()).unwrap(), vec![0]);
        assert!(Knn::new(0).fit(&train).is_err());
    }

    #[test]
    fn regression_is_the_mean_of_the_neighbours_values() {
        let x = Tensor::from_vec(vec![0.0, 1.0, 2.0, 10.0, 11.0], &[5, 1]).unwrap();
        let y = Tensor::from_vec(vec![1.0, 2.0, 6.0, 100.0, 200.0], &[5, 1]).unwrap();
        let train = Dataset::new(x.clone(), crate::Target::Values(y)).unwrap();
        let mut knn = Knn::new(3);
        knn.fit(&train).unwrap();
        let q = Tensor::from_vec(vec![0.4, 10.4], &[2, 1]).unwrap();
        // 0.4: neighbours 0, 1, 2 -> (1 + 2 + 6) / 3; 10.4: neighbours 3, 4, 2 -> (100 + 200 + 6) / 3
        assert_eq!(knn.predict_values(&q).unwrap(), vec![3.0, 102.0]);
        assert!(knn.predict_proba(&q).is_err());
        let again = Knn::from_values(3, &x, knn.values().unwrap().to_vec()).unwrap();
        assert_eq!(again.predict_values(&q).unwrap(), vec![3.0, 102.0]);
        // a classifier predicts no values
        let classes = Dataset::new(x, crate::Target::Classes { labels: vec![0, 0, 0, 1, 1], num_classes: 2 }).unwrap();
        let mut c = Knn::new(1);
        c.fit(&classes).unwrap();
        assert!(c.predict_values(&q).is_err() && c.values().is_none());
    }
}
