//! Evaluation metrics computed from model outputs.

use crate::data::Target;
use crate::{Error, Result, Tensor};

/// Metrics `compile` can track during training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
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
    let predicted: Vec<usize> = if width == 1 {
        outputs.data().iter().map(|&v| (v > threshold) as usize).collect()
    } else {
        outputs.argmax_axis(1)?
    };
    Ok(predicted.iter().zip(&truth).filter(|(p, t)| p == t).count())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
