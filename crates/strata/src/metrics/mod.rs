//! Evaluation metrics computed from model outputs.
//!
//! - this file: accuracy (`count_correct`, `accuracy`, `top_k_accuracy`) and `log_loss`;
//! - `confusion`: the confusion matrix and per-class precision, recall and F1;
//! - `roc`: ROC curves and the area under them (binary and one-vs-rest);
//! - `regression`: MSE, RMSE, MAE, R² ([`RegressionReport`]).

mod confusion;
mod regression;
mod roc;

pub use confusion::{ClassReport, ClassificationReport, ConfusionMatrix};
pub use regression::{RegressionReport, mae, mse, r2, rmse};
pub use roc::{RocCurve, macro_auc, one_vs_rest, roc_auc, roc_curve};

use crate::data::Target;
use crate::{Error, Result, Tensor};

/// Metrics `compile` can track during training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Fraction of samples whose predicted class is the true one.
    Accuracy,
}

/// Number of correct predictions in a batch. Several outputs: the arg-max is the predicted
/// class. One output: it predicts class 1 when above `threshold` (0.5 for probabilities,
/// 0 for logits).
pub fn count_correct(outputs: &Tensor, targets: &Target, threshold: f32) -> Result<usize> {
    let s = outputs.shape();
    if s.len() != 2 {
        return Err(Error::bad_shape("accuracy", s, "needs outputs of shape [N, classes]"));
    }
    let (n, width) = (s[0], s[1]);
    let truth: Vec<usize> = match targets {
        Target::Classes { labels, .. } => labels.iter().map(|&l| l as usize).collect(),
        Target::Values(t) if width == 1 => t.data().iter().map(|&v| (v > 0.5) as usize).collect(),
        Target::Values(t) => t.reshape(s)?.argmax_axis(1)?,
    };
    if truth.len() != n {
        return Err(Error::ShapeMismatch { op: "accuracy", left: s.to_vec(), right: vec![truth.len()] });
    }
    let predicted: Vec<usize> =
        if width == 1 { outputs.data().iter().map(|&v| (v > threshold) as usize).collect() } else { outputs.argmax_axis(1)? };
    Ok(predicted.iter().zip(&truth).filter(|(p, t)| p == t).count())
}

/// Fraction of `predicted` equal to `truth` (0 for no samples).
pub fn accuracy(predicted: &[usize], truth: &[u32]) -> f32 {
    let hits = predicted.iter().zip(truth).filter(|(p, t)| **p == **t as usize).count();
    hits as f32 / truth.len().max(1) as f32
}

/// Arg-max class of each row of `scores` `[N, classes]`.
pub fn predicted_classes(scores: &Tensor) -> Result<Vec<usize>> {
    if scores.rank() != 2 {
        return Err(Error::bad_shape("predicted_classes", scores.shape(), "needs scores of shape [N, classes]"));
    }
    scores.argmax_axis(1)
}

fn check_rows(op: &'static str, scores: &Tensor, labels: &[u32]) -> Result<usize> {
    if scores.rank() != 2 || scores.shape()[0] != labels.len() {
        return Err(Error::ShapeMismatch { op, left: scores.shape().to_vec(), right: vec![labels.len()] });
    }
    let c = scores.shape()[1];
    if let Some(bad) = labels.iter().find(|&&l| l as usize >= c) {
        return Err(Error::invalid(op, format!("label {bad} is not below the {c} score columns")));
    }
    Ok(c)
}

/// Fraction of samples whose true class is among the `k` highest scores (ties count
/// against: a class is in the top k when fewer than k classes score strictly higher).
pub fn top_k_accuracy(scores: &Tensor, labels: &[u32], k: usize) -> Result<f32> {
    let c = check_rows("top_k_accuracy", scores, labels)?;
    let hits = scores
        .data()
        .chunks_exact(c.max(1))
        .zip(labels)
        .filter(|(row, l)| row.iter().filter(|&&v| v > row[**l as usize]).count() < k)
        .count();
    Ok(hits as f32 / labels.len().max(1) as f32)
}

/// Mean negative log-likelihood of the true classes under `probs` `[N, classes]`
/// (rows of probabilities), with probabilities clipped to [1e-15, 1].
pub fn log_loss(probs: &Tensor, labels: &[u32]) -> Result<f32> {
    let c = check_rows("log_loss", probs, labels)?;
    let sum: f64 =
        probs.data().chunks_exact(c.max(1)).zip(labels).map(|(row, &l)| -(row[l as usize] as f64).clamp(1e-15, 1.0).ln()).sum();
    Ok((sum / labels.len().max(1) as f64) as f32)
}

/// Number of samples whose true class is among the `k` highest of its outputs `[N,
/// classes]` ("top-5 accuracy" for k = 5, the ImageNet measure). A tie with the true
/// class's score counts in its favour. With `k` >= classes every sample counts.
///
/// ```
/// use strata::metrics::count_top_k;
/// use strata::Tensor;
/// let out = Tensor::from_vec(vec![0.5, 0.3, 0.2, 0.1, 0.2, 0.7], &[2, 3]).unwrap();
/// assert_eq!(count_top_k(&out, &[1, 0], 1).unwrap(), 0);
/// assert_eq!(count_top_k(&out, &[1, 0], 2).unwrap(), 1); // sample 2's class 0 ranks third
/// ```
pub fn count_top_k(outputs: &Tensor, labels: &[u32], k: usize) -> Result<usize> {
    let s = outputs.shape();
    if s.len() != 2 || s[0] != labels.len() {
        return Err(Error::ShapeMismatch { op: "top-k accuracy", left: s.to_vec(), right: vec![labels.len()] });
    }
    let width = s[1];
    let mut hits = 0;
    for (row, &l) in outputs.data().chunks_exact(width.max(1)).zip(labels) {
        let l = l as usize;
        if l >= width {
            return Err(Error::invalid("label", format!("{l} is not below the {width} outputs of the model")));
        }
        let above = row.iter().filter(|&&v| v > row[l]).count();
        hits += (above < k) as usize;
    }
    Ok(hits)
}

/// Top-1 and top-k error are `1 - accuracy`; this is the error for a count of hits.
pub fn error_rate(hits: usize, samples: usize) -> f32 {
    1.0 - hits as f32 / samples.max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_counts_ranks_and_rejects_bad_labels() {
        let out = Tensor::from_vec(vec![0.1, 0.4, 0.3, 0.2, 0.9, 0.05, 0.03, 0.02], &[2, 4]).unwrap();
        // sample 1: class 2 ranks 2nd; sample 2: class 3 ranks last
        assert_eq!(count_top_k(&out, &[2, 3], 1).unwrap(), 0);
        assert_eq!(count_top_k(&out, &[2, 3], 2).unwrap(), 1);
        assert_eq!(count_top_k(&out, &[2, 3], 4).unwrap(), 2);
        assert_eq!(count_top_k(&out, &[1, 0], 1).unwrap(), 2);
        assert!(count_top_k(&out, &[4, 0], 1).is_err());
        assert!(count_top_k(&out, &[1], 1).is_err());
        assert!((error_rate(3, 4) - 0.25).abs() < 1e-6);
    }

    #[test]
    fn accuracy_by_argmax_and_by_threshold() {
        let out = Tensor::from_vec(vec![0.1, 0.9, 0.8, 0.2, 0.3, 0.7], &[3, 2]).unwrap();
        let t = Target::Classes { labels: vec![1, 0, 0], num_classes: 2 };
        assert_eq!(count_correct(&out, &t, 0.5).unwrap(), 2);
        let single = Tensor::from_vec(vec![0.9, 0.2, 0.6], &[3, 1]).unwrap();
        let v = Target::Values(Tensor::from_vec(vec![1.0, 0.0, 0.0], &[3, 1]).unwrap());
        assert_eq!(count_correct(&single, &v, 0.5).unwrap(), 2);
        assert_eq!(count_correct(&single, &v, 0.7).unwrap(), 3);
    }

    #[test]
    fn top_k_and_log_loss_by_hand() {
        let p = Tensor::from_vec(vec![0.5, 0.3, 0.2, 0.1, 0.2, 0.7], &[2, 3]).unwrap();
        assert_eq!(top_k_accuracy(&p, &[1, 0], 1).unwrap(), 0.0);
        assert_eq!(top_k_accuracy(&p, &[1, 0], 2).unwrap(), 0.5);
        assert_eq!(top_k_accuracy(&p, &[1, 0], 3).unwrap(), 1.0);
        // -(ln 0.3 + ln 0.7) / 2
        let expected = -((0.3f64).ln() + (0.7f64).ln()) / 2.0;
        assert!((log_loss(&p, &[1, 2]).unwrap() as f64 - expected).abs() < 1e-6);
        assert!(log_loss(&p, &[1, 3]).is_err());
        assert_eq!(accuracy(&predicted_classes(&p).unwrap(), &[0, 2]), 1.0);
    }
}
