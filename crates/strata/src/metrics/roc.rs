//! ROC curves (true-positive rate against false-positive rate as the decision threshold
//! falls) and the area under them, for a binary target and one-vs-rest for several classes.
//!
//! ```
//! use strata::metrics::roc_auc;
//! // scikit-learn's example: one of the four positive/negative pairs is ranked wrongly
//! let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
//! assert_eq!(auc, 0.75);
//! ```

use crate::{Error, Result, Tensor};
use serde::Serialize;

/// Points of a ROC curve, from (0, 0) to (1, 1); `thresholds[i]` is the score at and above
/// which samples are called positive to reach point `i` (infinity for the first point).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RocCurve {
    /// False-positive rate of each point.
    pub fpr: Vec<f64>,
    /// True-positive rate of each point.
    pub tpr: Vec<f64>,
    /// The score threshold of each point.
    pub thresholds: Vec<f32>,
}

impl RocCurve {
    /// Area under the curve by the trapezoid rule (tied scores give a diagonal segment,
    /// counting half, as the Mann–Whitney statistic does).
    pub fn auc(&self) -> f64 {
        self.fpr.windows(2).zip(self.tpr.windows(2)).map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0).sum()
    }
}

/// The ROC curve of `scores` (higher means more likely positive) against `positive`.
/// Needs at least one positive and one negative sample.
pub fn roc_curve(scores: &[f32], positive: &[bool]) -> Result<RocCurve> {
    if scores.len() != positive.len() {
        return Err(Error::ShapeMismatch { op: "roc_curve", left: vec![scores.len()], right: vec![positive.len()] });
    }
    let p = positive.iter().filter(|&&b| b).count();
    let n = positive.len() - p;
    if p == 0 || n == 0 {
        return Err(Error::invalid("roc_curve", format!("needs both classes ({p} positive, {n} negative samples)")));
    }
    if scores.iter().any(|s| s.is_nan()) {
        return Err(Error::invalid("roc_curve", "a score is NaN"));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut curve = RocCurve { fpr: vec![0.0], tpr: vec![0.0], thresholds: vec![f32::INFINITY] };
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        let s = scores[order[i]];
        // every sample with this score crosses the threshold together
        while i < order.len() && scores[order[i]] == s {
            if positive[order[i]] {
                tp += 1
            } else {
                fp += 1
            }
            i += 1;
        }
        curve.fpr.push(fp as f64 / n as f64);
        curve.tpr.push(tp as f64 / p as f64);
        curve.thresholds.push(s);
    }
    Ok(curve)
}

/// Area under the ROC curve of `scores` against `positive`.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Result<f64> {
    Ok(roc_curve(scores, positive)?.auc())
}

/// One ROC curve per class: the class's score column against "is this class".
/// Classes without positive or without negative samples get `None`.
pub fn one_vs_rest(scores: &Tensor, labels: &[u32]) -> Result<Vec<Option<RocCurve>>> {
    if scores.rank() != 2 || scores.shape()[0] != labels.len() {
        return Err(Error::ShapeMismatch { op: "one_vs_rest", left: scores.shape().to_vec(), right: vec![labels.len()] });
    }
    let c = scores.shape()[1];
    let data = scores.data();
    Ok((0..c)
        .map(|k| {
            let col: Vec<f32> = (0..labels.len()).map(|i| data[i * c + k]).collect();
            let pos: Vec<bool> = labels.iter().map(|&l| l as usize == k).collect();
            roc_curve(&col, &pos).ok()
        })
        .collect())
}

/// The AUC of a classifier's `scores` `[N, classes]`: for two classes, the AUC of the
/// second class's score (class 1 is "positive"); for more, the mean of the one-vs-rest
/// AUCs of the classes that occur (macro average).
pub fn macro_auc(scores: &Tensor, labels: &[u32]) -> Result<f64> {
    let curves = one_vs_rest(scores, labels)?;
    if curves.len() == 2 {
        return curves[1].as_ref().map(|c| c.auc()).ok_or_else(|| Error::invalid("auc", "needs samples of both classes"));
    }
    let aucs: Vec<f64> = curves.iter().flatten().map(|c| c.auc()).collect();
    if aucs.is_empty() {
        return Err(Error::invalid("auc", "no class has both positive and negative samples"));
    }
    Ok(aucs.iter().sum::<f64>() / aucs.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_rankings() {
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.3, 0.4], &y).unwrap(), 1.0);
        assert_eq!(roc_auc(&[0.4, 0.3, 0.2, 0.1], &y).unwrap(), 0.0);
        // a tie between a positive and a negative counts half: pairs (n,p) ordered
        // correctly: (0.1,0.5), (0.1,0.9), (0.5,0.9), tie (0.5,0.5) -> 3.5 / 4
        assert_eq!(roc_auc(&[0.1, 0.5, 0.5, 0.9], &y).unwrap(), 0.875);
        let c = roc_curve(&[0.1, 0.4, 0.35, 0.8], &y).unwrap();
        assert_eq!(c.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(c.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(c.thresholds[1..], [0.8, 0.4, 0.35, 0.1]);
        assert!(roc_auc(&[0.1, 0.2], &[true, true]).is_err());
    }

    #[test]
    fn one_vs_rest_and_macro_average() {
        // 3 classes, scores perfect for class 0, reversed for class 2
        let s = Tensor::from_vec(vec![0.9, 0.05, 0.05, 0.1, 0.6, 0.3, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8], &[4, 3]).unwrap();
        let labels = [0, 1, 2, 1];
        let curves = one_vs_rest(&s, &labels).unwrap();
        assert_eq!(curves[0].as_ref().unwrap().auc(), 1.0);
        // class 1 (rows 1,3) scores 0.6, 0.1 vs negatives 0.05, 0.3: pairs won 3 of 4
        assert_eq!(curves[1].as_ref().unwrap().auc(), 0.75);
        // class 2 (row 2) scores 0.5 vs 0.05, 0.3, 0.8: 2 of 3
        assert!((curves[2].as_ref().unwrap().auc() - 2.0 / 3.0).abs() < 1e-12);
        let m = macro_auc(&s, &labels).unwrap();
        assert!((m - (1.0 + 0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        // binary: the score of class 1; positives 0.7 and 0.3 against the negative 0.5
        let b = Tensor::from_vec(vec![0.5, 0.5, 0.3, 0.7, 0.7, 0.3], &[3, 2]).unwrap();
        assert_eq!(macro_auc(&b, &[0, 1, 1]).unwrap(), 0.5);
    }
}
