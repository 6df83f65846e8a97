//! Simple baselines to compare deep models against: k-nearest neighbours, the perceptron,
//! and logistic regression.
//!
//! k-NN and the perceptron are not trained by gradient descent, so they implement
//! [`Classifier`] instead of being layers of a `Sequential`; logistic regression *is* a
//! `Sequential` (one Dense layer under softmax cross-entropy, trained with SGD), see
//! [`logistic`]. `experiment::Learner` puts all of them behind one model name.

pub mod knn;
pub mod logistic;
pub mod perceptron;

pub use knn::Knn;
pub use logistic::logistic_regression;
pub use perceptron::Perceptron;

use crate::data::Dataset;
use crate::{Error, Result, Tensor};

/// A classifier fitted in one call (no epochs of gradient descent).
pub trait Classifier: Send {
    /// Short name, e.g. "knn:5".
    fn name(&self) -> String;
    /// Learns from `train` (which must have class labels).
    fn fit(&mut self, train: &Dataset) -> Result<()>;
    /// Class scores `[N, classes]`: non-negative, summing to 1 per row; the arg-max is the
    /// predicted class and higher means more likely (for ROC curves).
    fn predict_proba(&self, x: &Tensor) -> Result<Tensor>;
}

/// `x` as a matrix `[N, features]`.
pub(crate) fn as_matrix(x: &Tensor) -> Result<(usize, usize)> {
    let n = *x.shape().first().ok_or_else(|| Error::bad_shape("baseline", x.shape(), "needs a batch axis"))?;
    Ok((n, x.shape()[1..].iter().product()))
}

/// The labels and class count of a classification dataset.
pub(crate) fn class_labels(data: &Dataset) -> Result<(&[u32], usize)> {
    match &data.targets {
        crate::Target::Classes { labels, num_classes } => Ok((labels, *num_classes)),
        crate::Target::Values(_) => Err(Error::invalid("targets", "this baseline needs class labels")),
    }
}
