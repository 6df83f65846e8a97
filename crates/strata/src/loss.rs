//! Loss functions, and how each pairs with a model's output squashing.
//!
//! Softmax + cross-entropy and sigmoid + binary cross-entropy are computed fused on the
//! logits (the model's final softmax/sigmoid is left out for training), which is both
//! cheaper and numerically stable.

use crate::autograd::Var;
use crate::data::Target;
use crate::nn::Activation;
use crate::{Error, Result, Tensor};
use std::str::FromStr;

/// A training objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean squared error (regression; the lectures' XOR experiment).
    Mse,
    /// Binary cross-entropy (targets in [0, 1]).
    BinaryCrossEntropy,
    /// Softmax cross-entropy over classes ("categorical cross-entropy").
    SoftmaxCrossEntropy,
}

impl Loss {
    /// The output squashing this loss absorbs when it follows it directly.
    pub fn fuses(self, act: Option<Activation>) -> bool {
        matches!(
            (self, act),
            (Loss::SoftmaxCrossEntropy, Some(Activation::Softmax)) | (Loss::BinaryCrossEntropy, Some(Activation::Sigmoid))
        )
    }

    /// The loss of `out` against `targets`. `logits` says that the model's final squashing
    /// (per [`Loss::fuses`]) was left out of `out`.
    pub fn compute(self, out: &Var, targets: &Target, logits: bool) -> Result<Var> {
        match self {
            Loss::SoftmaxCrossEntropy => match targets {
                Target::Classes { labels, .. } => out.softmax_cross_entropy(labels),
                Target::Values(_) => Err(Error::invalid("loss", "softmax_cross_entropy needs class labels")),
            },
            Loss::BinaryCrossEntropy => {
                let t = dense_targets(out.shape(), targets)?;
                if logits { out.binary_cross_entropy_with_logits(&t) } else { out.binary_cross_entropy(&t) }
            }
            Loss::Mse => out.mse(&dense_targets(out.shape(), targets)?),
        }
    }
}

/// Targets as a tensor shaped like the output: values as they are, class labels one-hot
/// (or as 0/1 values for a single output unit).
pub fn dense_targets(out_shape: &[usize], targets: &Target) -> Result<Tensor> {
    match targets {
        Target::Values(t) => {
            if t.numel() != out_shape.iter().product::<usize>() {
                return Err(Error::ShapeMismatch { op: "loss targets", left: out_shape.to_vec(), right: t.shape().to_vec() });
            }
            t.reshape(out_shape)
        }
        Target::Classes { labels, .. } => {
            let width = out_shape.last().copied().unwrap_or(1);
            if out_shape.len() != 2 || out_shape[0] != labels.len() {
                return Err(Error::ShapeMismatch { op: "loss targets", left: out_shape.to_vec(), right: vec![labels.len()] });
            }
            let mut t = vec![0.0; labels.len() * width];
            for (i, &l) in labels.iter().enumerate() {
                if width == 1 {
                    t[i] = l as f32;
                } else if (l as usize) < width {
                    t[i * width + l as usize] = 1.0;
                } else {
                    return Err(Error::invalid("label", format!("{l} is not below the {width} outputs of the model")));
                }
            }
            Tensor::from_vec(t, out_shape)
        }
    }
}

impl FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "mse" | "mean_squared_error" => Loss::Mse,
            "bce" | "binary_cross_entropy" | "binary_crossentropy" => Loss::BinaryCrossEntropy,
            "ce" | "cross_entropy" | "softmax_cross_entropy" | "categorical_crossentropy" => Loss::SoftmaxCrossEntropy,
            other => {
                return Err(Error::invalid(
                    "loss",
                    format!("unknown '{other}' (expected mse, binary_cross_entropy, softmax_cross_entropy)"),
                ));
            }
        })
    }
}
