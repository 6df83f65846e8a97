//! Regression metrics: mean squared error, its root, and mean absolute error.
//!
//! ```
//! use strata::metrics::{mae, mse, rmse};
//! let (pred, truth) = ([1.0, 2.0, 4.0], [1.0, 3.0, 2.0]);
//! assert_eq!(mse(&pred, &truth).unwrap(), 5.0 / 3.0);
//! assert_eq!(mae(&pred, &truth).unwrap(), 1.0);
//! assert_eq!(rmse(&pred, &truth).unwrap(), (5.0f64 / 3.0).sqrt());
//! ```

use crate::{Error, Result};

fn mean_of(pred: &[f32], truth: &[f32], op: &'static str, f: impl Fn(f64) -> f64) -> Result<f64> {
    if pred.len() != truth.len() || pred.is_empty() {
        return Err(Error::ShapeMismatch { op, left: vec![pred.len()], right: vec![truth.len()] });
    }
    Ok(pred.iter().zip(truth).map(|(&p, &t)| f(p as f64 - t as f64)).sum::<f64>() / pred.len() as f64)
}

/// Mean squared error.
pub fn mse(pred: &[f32], truth: &[f32]) -> Result<f64> {
    mean_of(pred, truth, "mse", |d| d * d)
}

/// Root mean squared error (in the target's units).
pub fn rmse(pred: &[f32], truth: &[f32]) -> Result<f64> {
    Ok(mse(pred, truth)?.sqrt())
}

/// Mean absolute error.
pub fn mae(pred: &[f32], truth: &[f32]) -> Result<f64> {
    mean_of(pred, truth, "mae", f64::abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand_and_mismatched_lengths() {
        assert_eq!(mse(&[0.0, 0.0], &[3.0, 4.0]).unwrap(), 12.5);
        assert_eq!(rmse(&[0.0], &[-2.0]).unwrap(), 2.0);
        assert_eq!(mae(&[1.0, -1.0], &[0.0, 0.0]).unwrap(), 1.0);
        assert!(mse(&[1.0], &[1.0, 2.0]).is_err());
        assert!(mae(&[], &[]).is_err());
    }
}
