//! Per-feature scaling of table columns ([`Scaling`], re-exported by `tabular`), fitted on
//! training rows only: standardization or min-max, ignoring missing values (NaN) in the fit
//! and imputing them when applied.

use super::normalize::{MinMaxScaler, Standardizer};
use crate::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

/// Per-feature scaling of table columns, fitted on training rows (missing values ignored
/// by the fit, and replaced by the training mean/minimum when applied). Saved with a model
/// in [`TabularMeta`](super::tabular::TabularMeta).
///
/// ```
/// use strata::{Tensor, data::tabular::Scaling};
/// let train = Tensor::from_vec(vec![1.0, f32::NAN, 3.0], &[3, 1]).unwrap();
/// let s = Scaling::fit("standard", &train).unwrap();
/// let mut x = train.clone();
/// s.apply(&mut x).unwrap();
/// assert_eq!(x.data(), &[-1.0, 0.0, 1.0]); // the missing value becomes the training mean
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Zero mean, unit variance per feature (fitted with kind `"standard"`).
    Standard(Standardizer),
    /// Each feature's training range onto `[0, 1]` (kind `"minmax"`).
    MinMax(MinMaxScaler),
    /// Values unchanged (kind `"none"`); missing ones still become 0.
    None,
}

impl Scaling {
    /// Fits per-feature scaling on `x` (training rows `[N, ...]`), ignoring NaN (missing)
    /// values. `kind`: `"standard"`, `"minmax"` or `"none"`. A feature with no value in
    /// `x` comes out as all 0s.
    ///
    /// Errors: an unknown `kind`.
    pub fn fit(kind: &str, x: &Tensor) -> Result<Scaling> {
        let f = x.shape().get(1..).map(|s| s.iter().product()).unwrap_or(1).max(1);
        let rows = x.data().chunks_exact(f);
        let mut stats = vec![(0.0f64, 0.0f64, 0usize, f64::INFINITY, f64::NEG_INFINITY); f];
        for row in rows {
            for (s, &v) in stats.iter_mut().zip(row) {
                if v.is_nan() {
                    continue;
                }
                let v = v as f64;
                s.0 += v;
                s.1 += v * v;
                s.2 += 1;
                s.3 = s.3.min(v);
                s.4 = s.4.max(v);
            }
        }
        Ok(match kind {
            "standard" => {
                let (mean, std) = stats
                    .iter()
                    .map(|&(sum, sq, n, _, _)| {
                        let n = n.max(1) as f64;
                        let m = sum / n;
                        (m as f32, ((sq / n - m * m).max(0.0)).sqrt() as f32)
                    })
                    .unzip();
                Scaling::Standard(Standardizer { mean, std, per_channel: false })
            }
            "minmax" => {
                let (min, max) =
                    stats.iter().map(|&(_, _, n, lo, hi)| if n == 0 { (0.0, 1.0) } else { (lo as f32, hi as f32) }).unzip();
                Scaling::MinMax(MinMaxScaler { min, max })
            }
            "none" => Scaling::None,
            other => {
                return Err(Error::invalid("scaling", format!("unknown '{other}' (expected standard, minmax or none)")));
            }
        })
    }

    /// Scales `x` in place, then replaces missing values by what the training mean
    /// (standard) or minimum (min-max) became: 0. With `None`, missing values become 0.
    ///
    /// Errors: `x` has a different number of features than the rows fitted on (when
    /// those had more than one).
    pub fn apply(&self, x: &mut Tensor) -> Result<()> {
        match self {
            Scaling::Standard(s) => s.apply(x)?,
            Scaling::MinMax(s) => s.apply(x)?,
            Scaling::None => {}
        }
        x.data_mut().iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = 0.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_ignores_and_imputes_missing_values() {
        let x = Tensor::from_vec(vec![1.0, f32::NAN, 3.0], &[3, 1]).unwrap();
        let s = Scaling::fit("standard", &x).unwrap();
        let mut y = x.clone();
        s.apply(&mut y).unwrap();
        assert_eq!(y.data(), &[-1.0, 0.0, 1.0]);
        let m = Scaling::fit("minmax", &x).unwrap();
        let mut z = x.clone();
        m.apply(&mut z).unwrap();
        assert_eq!(z.data(), &[0.0, 0.0, 1.0]);
        assert!(Scaling::fit("zscore", &x).is_err());
    }
}
