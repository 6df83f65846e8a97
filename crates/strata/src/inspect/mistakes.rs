//! The test samples a classifier gets wrong with the most confidence: where it has learned
//! something misleading (or where the label is).

use crate::{Error, Result, Tensor};

/// One misclassified sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mistake {
    /// Its position in the data.
    pub index: usize,
    /// Its true class.
    pub truth: usize,
    /// The class predicted.
    pub predicted: usize,
    /// The probability given to the predicted class.
    pub confidence: f32,
}

/// The `k` misclassified samples whose predicted class has the highest probability, most
/// confident first (ties: the earlier sample first), from class probabilities `[N, classes]`.
pub fn confident_mistakes(probs: &Tensor, labels: &[u32], k: usize) -> Result<Vec<Mistake>> {
    let (n, width) = match *probs.shape() {
        [n, w] if n == labels.len() => (n, w),
        ref s => return Err(Error::bad_shape("misclassified samples", s, "needs [N, classes] probabilities, one row per label")),
    };
    let mut found: Vec<Mistake> = (0..n)
        .filter_map(|i| {
            let row = &probs.data()[i * width..(i + 1) * width];
            let (predicted, &confidence) =
                row.iter().enumerate().fold((0, &f32::NEG_INFINITY), |b, (c, p)| if *p > *b.1 { (c, p) } else { b });
            (predicted != labels[i] as usize).then_some(Mistake { index: i, truth: labels[i] as usize, predicted, confidence })
        })
        .collect();
    found.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.index.cmp(&b.index)));
    found.truncate(k);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_confident_wrong_first() {
        // rows: right 0.9, wrong 0.6 (said 1), wrong 0.8 (said 2), right 0.5
        let p = Tensor::from_vec(vec![0.9, 0.05, 0.05, 0.3, 0.6, 0.1, 0.1, 0.1, 0.8, 0.2, 0.3, 0.5], &[4, 3]).unwrap();
        let m = confident_mistakes(&p, &[0, 0, 1, 2], 5).unwrap();
        assert_eq!(m.iter().map(|m| (m.index, m.truth, m.predicted)).collect::<Vec<_>>(), vec![(2, 1, 2), (1, 0, 1)]);
        assert!((m[0].confidence - 0.8).abs() < 1e-6);
        assert_eq!(confident_mistakes(&p, &[0, 0, 1, 2], 1).unwrap().len(), 1);
        assert!(confident_mistakes(&p, &[0, 0], 1).is_err());
    }
}
