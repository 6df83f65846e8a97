//! Regression metrics: mean squared error, its root, mean absolute error, the coefficient
//! of determination R², and [`RegressionReport`] holding all four.
//!
//! ```
//! use strata::metrics::{mae, mse, r2, rmse};
//! let (pred, truth) = ([1.0, 2.0, 4.0], [1.0, 3.0, 2.0]);
//! assert_eq!(mse(&pred, &truth).unwrap(), 5.0 / 3.0);
//! assert_eq!(mae(&pred, &truth).unwrap(), 1.0);
//! assert_eq!(rmse(&pred, &truth).unwrap(), (5.0f64 / 3.0).sqrt());
//! // the truth's mean is 2: SS_tot = 1 + 1 + 0 = 2, SS_res = 0 + 1 + 4 = 5
//! assert_eq!(r2(&pred, &truth).unwrap(), 1.0 - 5.0 / 2.0);
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

fn check(pred: &[f32], truth: &[f32], op: &'static str) -> Result<()> {
    if pred.len() != truth.len() || pred.is_empty() {
        return Err(Error::ShapeMismatch { op, left: vec![pred.len()], right: vec![truth.len()] });
    }
    Ok(())
}

fn mean_of(pred: &[f32], truth: &[f32], op: &'static str, f: impl Fn(f64) -> f64) -> Result<f64> {
    check(pred, truth, op)?;
    Ok(pred.iter().zip(truth).map(|(&p, &t)| f(p as f64 - t as f64)).sum::<f64>() / pred.len() as f64)
}

/// Mean squared error.
///
/// Errors: lengths differ, or no samples.
pub fn mse(pred: &[f32], truth: &[f32]) -> Result<f64> {
    mean_of(pred, truth, "mse", |d| d * d)
}

/// Root mean squared error (in the target's units).
///
/// Errors: lengths differ, or no samples.
pub fn rmse(pred: &[f32], truth: &[f32]) -> Result<f64> {
    Ok(mse(pred, truth)?.sqrt())
}

/// Mean absolute error.
///
/// Errors: lengths differ, or no samples.
pub fn mae(pred: &[f32], truth: &[f32]) -> Result<f64> {
    mean_of(pred, truth, "mae", f64::abs)
}

/// The coefficient of determination, `1 - SS_res / SS_tot`: 1 for perfect predictions, 0
/// for predicting the truth's mean, negative for worse. When the truth is constant
/// (`SS_tot = 0`) it is 1 for perfect predictions and 0 otherwise (as scikit-learn's
/// `r2_score`).
///
/// Errors: lengths differ, or no samples.
pub fn r2(pred: &[f32], truth: &[f32]) -> Result<f64> {
    check(pred, truth, "r2")?;
    let mean = truth.iter().map(|&t| t as f64).sum::<f64>() / truth.len() as f64;
    let ss_tot: f64 = truth.iter().map(|&t| (t as f64 - mean).powi(2)).sum();
    let ss_res: f64 = pred.iter().zip(truth).map(|(&p, &t)| (p as f64 - t as f64).powi(2)).sum();
    Ok(if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        0.0
    })
}

/// The four regression figures of one set of predictions, in the target's units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionReport {
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination (see [`r2`]).
    pub r2: f64,
}

impl RegressionReport {
    /// The figures of `pred` against `truth`.
    ///
    /// Errors: lengths differ, or no samples.
    pub fn new(pred: &[f32], truth: &[f32]) -> Result<RegressionReport> {
        let mse = mse(pred, truth)?;
        Ok(RegressionReport { mse, rmse: mse.sqrt(), mae: mae(pred, truth)?, r2: r2(pred, truth)? })
    }
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
        assert!(r2(&[1.0], &[1.0, 2.0]).is_err());
        assert!(r2(&[], &[]).is_err());
    }

    #[test]
    fn r2_by_hand() {
        // truth 1, 2, 3, 4 (mean 2.5, SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5);
        // pred 1.5, 2, 2.5, 5: SS_res = 0.25 + 0 + 0.25 + 1 = 1.5 -> R² = 1 - 1.5/5 = 0.7
        let (truth, pred) = ([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 5.0]);
        assert!((r2(&pred, &truth).unwrap() - 0.7).abs() < 1e-12);
        assert_eq!(r2(&truth, &truth).unwrap(), 1.0);
        // predicting the mean scores 0; worse than the mean is negative
        assert_eq!(r2(&[2.5; 4], &truth).unwrap(), 0.0);
        assert!((r2(&[4.0, 3.0, 2.0, 1.0], &truth).unwrap() - (1.0 - 20.0 / 5.0)).abs() < 1e-12);
        // constant truth: 1 when exact, else 0 (scikit-learn's convention)
        assert_eq!(r2(&[3.0, 3.0], &[3.0, 3.0]).unwrap(), 1.0);
        assert_eq!(r2(&[3.0, 4.0], &[3.0, 3.0]).unwrap(), 0.0);
    }

    #[test]
    fn report_holds_the_four_figures() {
        let r = RegressionReport::new(&[1.5, 2.0, 2.5, 5.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        // errors 0.5, 0, -0.5, 1: MSE 1.5/4, MAE 2/4
        assert!((r.mse - 0.375).abs() < 1e-12);
        assert!((r.rmse - 0.375f64.sqrt()).abs() < 1e-12);
        assert!((r.mae - 0.5).abs() < 1e-12);
        assert!((r.r2 - 0.7).abs() < 1e-12);
    }
}
