//! Scaling inputs: standardization (zero mean, unit variance) and min-max scaling.
//!
//! Fit on the training set only, then apply the same scaler to validation and test data,
//! so no statistic leaks from held-out samples. Both scalers serialize (serde) so they can
//! be saved next to a model.
//!
//! A scaler is either *global* (one value for every input, as for images) or *per-feature*
//! (one value per position of a sample, fitted over axis 0).
//!
//! ```
//! use strata::{Tensor, data::normalize::Standardizer};
//! let train = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2]).unwrap();
//! let s = Standardizer::fit_per_feature(&train).unwrap();
//! assert_eq!(s.transform(&train).unwrap().data(), &[-1.0, -1.0, 1.0, 1.0]);
//! ```

use crate::tensor::parallel::ELEMENTWISE_PARALLEL_MIN;
use crate::{Error, Result, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Mean of every pixel of Fashion-MNIST's 60,000 training images, scaled to `[0, 1]`.
/// Use it to standardize without a pass over the data; `mnist`'s tests recompute it
/// from the installed files (0.2860 to four places).
pub const FASHION_MNIST_MEAN: f32 = 0.2860;
/// Standard deviation of the same pixels (population, not per image).
pub const FASHION_MNIST_STD: f32 = 0.3530;

/// `x -> (x - mean) / std`, with one (global) or per-feature `mean` and `std`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// One mean (global), or one per feature (the values of a sample, in row-major order).
    pub mean: Vec<f32>,
    /// Population standard deviations, as many as `mean`; a zero or non-finite one divides
    /// by 1 instead.
    pub std: Vec<f32>,
    /// One mean and std per channel (axis 1) of `[N, C, ...]` inputs instead of per
    /// feature (absent in models saved before it existed: `false`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_channel: bool,
}

impl Standardizer {
    /// A global standardizer with known statistics (a zero `std` is treated as 1).
    pub fn new(mean: f32, std: f32) -> Standardizer {
        Standardizer { mean: vec![mean], std: vec![safe_scale(std as f64)], per_channel: false }
    }
    /// The published Fashion-MNIST statistics.
    pub fn fashion_mnist() -> Standardizer {
        Standardizer::new(FASHION_MNIST_MEAN, FASHION_MNIST_STD)
    }
    /// One mean and std over every value of `x`.
    ///
    /// Errors: `x` is empty.
    pub fn fit_global(x: &Tensor) -> Result<Standardizer> {
        let flat = nonempty(x, "Standardizer::fit_global")?;
        let (mean, std) = moments(flat, 1);
        Ok(Standardizer { mean, std, per_channel: false })
    }
    /// A mean and std per feature (per position of a sample), over the samples of axis 0.
    ///
    /// Errors: `x` has rank below 2 or is empty.
    pub fn fit_per_feature(x: &Tensor) -> Result<Standardizer> {
        let f = features(x, "Standardizer::fit_per_feature")?;
        let (mean, std) = moments(nonempty(x, "Standardizer::fit_per_feature")?, f);
        Ok(Standardizer { mean, std, per_channel: false })
    }
    /// A mean and std per channel (axis 1) of `[N, C, ...]` inputs, over the samples and
    /// every position of the channel (colour images: one per R, G, B).
    ///
    /// Errors: `x` has rank below 2 or is empty.
    pub fn fit_per_channel(x: &Tensor) -> Result<Standardizer> {
        let data = nonempty(x, "Standardizer::fit_per_channel")?;
        if x.rank() < 2 {
            return Err(Error::bad_shape("Standardizer::fit_per_channel", x.shape(), "needs [samples, channels, ...]"));
        }
        let c = x.shape()[1];
        let plane: usize = x.shape()[2..].iter().product();
        // Per sample and channel: mean and sum of squared deviations from the plane's own
        // mean (combined exactly below), in parallel over samples.
        let per_sample: Vec<Vec<(f64, f64)>> = data.par_chunks(c * plane.max(1)).map(|s| plane_moments(s, c)).collect();
        Ok(Standardizer::from_plane_moments(per_sample.iter().map(Vec::as_slice), c, plane, true))
    }
    /// The standardizer made of per-sample statistics ([`plane_moments`] of each sample of
    /// `c` planes of `plane` values), combined exactly: per channel when `per_channel`, else
    /// one value for a single channel (the same figures as [`Standardizer::fit_global`] of
    /// one-channel images, up to rounding). Lets a dataset streamed from disk be fitted
    /// from statistics gathered while it was read, without holding its pixels.
    pub fn from_plane_moments<'a>(
        per_sample: impl Iterator<Item = &'a [(f64, f64)]> + Clone,
        c: usize,
        plane: usize,
        per_channel: bool,
    ) -> Standardizer {
        let n = per_sample.clone().count().max(1) as f64;
        let (mut mean, mut std) = (Vec::with_capacity(c), Vec::with_capacity(c));
        for ch in 0..c {
            let m = per_sample.clone().map(|s| s[ch].0).sum::<f64>() / n;
            // Total variance = mean within-plane variance + variance of the plane means.
            let within = per_sample.clone().map(|s| s[ch].1).sum::<f64>() / (n * plane.max(1) as f64);
            let between = per_sample.clone().map(|s| (s[ch].0 - m).powi(2)).sum::<f64>() / n;
            mean.push(m as f32);
            std.push(safe_scale((within + between).sqrt()));
        }
        Standardizer { mean, std, per_channel }
    }
    /// True for one value shared by every input.
    pub fn is_global(&self) -> bool {
        self.mean.len() == 1
    }
    /// Standardizes `x` in place.
    ///
    /// Errors: a per-feature standardizer whose feature count differs from `x`'s values per
    /// sample, or `mean` and `std` of different lengths.
    pub fn apply(&self, x: &mut Tensor) -> Result<()> {
        let inv: Vec<f32> = self.std.iter().map(|&s| 1.0 / safe_scale(s as f64)).collect();
        if self.per_channel {
            return per_channel_affine(x, &self.mean, &inv);
        }
        affine(x, &self.mean, &inv, "Standardizer::apply")
    }
    /// A standardized copy of `x`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let mut out = x.clone();
        self.apply(&mut out)?;
        Ok(out)
    }
}

/// `x -> (x - min) / (max - min)`, mapping the fitted range onto `[0, 1]`; a constant
/// feature (max == min) maps to 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScaler {
    /// One minimum (global), or one per feature.
    pub min: Vec<f32>,
    /// The maxima, as many as `min`.
    pub max: Vec<f32>,
}

impl MinMaxScaler {
    /// One range over every value of `x`.
    ///
    /// Errors: `x` is empty.
    pub fn fit_global(x: &Tensor) -> Result<MinMaxScaler> {
        Ok(extrema(nonempty(x, "MinMaxScaler::fit_global")?, 1))
    }
    /// A range per feature, over the samples of axis 0.
    ///
    /// Errors: `x` has rank below 2 or is empty.
    pub fn fit_per_feature(x: &Tensor) -> Result<MinMaxScaler> {
        let f = features(x, "MinMaxScaler::fit_per_feature")?;
        Ok(extrema(nonempty(x, "MinMaxScaler::fit_per_feature")?, f))
    }
    /// True for one range shared by every input.
    pub fn is_global(&self) -> bool {
        self.min.len() == 1
    }
    /// Scales `x` in place.
    ///
    /// Errors: as for [`Standardizer::apply`].
    pub fn apply(&self, x: &mut Tensor) -> Result<()> {
        let inv: Vec<f32> = (self.min.iter().zip(&self.max)).map(|(&lo, &hi)| 1.0 / safe_scale(hi as f64 - lo as f64)).collect();
        affine(x, &self.min, &inv, "MinMaxScaler::apply")
    }
    /// A scaled copy of `x`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let mut out = x.clone();
        self.apply(&mut out)?;
        Ok(out)
    }
}

/// Per channel of one sample (`c` planes, in order): the plane's mean and the sum of
/// squared deviations from it, in f64 (see [`Standardizer::from_plane_moments`]).
pub fn plane_moments(sample: &[f32], c: usize) -> Vec<(f64, f64)> {
    let plane = (sample.len() / c.max(1)).max(1);
    sample
        .chunks(plane)
        .map(|p| {
            let m = p.iter().map(|&v| v as f64).sum::<f64>() / p.len().max(1) as f64;
            (m, p.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>())
        })
        .collect()
}

/// A divisor that is safe to use: zero (constant data) or non-finite becomes 1.
fn safe_scale(s: f64) -> f32 {
    if s > 0.0 && s.is_finite() { s as f32 } else { 1.0 }
}

fn nonempty<'a>(x: &'a Tensor, op: &'static str) -> Result<&'a [f32]> {
    if x.numel() == 0 {
        return Err(Error::bad_shape(op, x.shape(), "cannot fit on an empty tensor"));
    }
    Ok(x.data())
}

/// Features per sample: the product of every axis after the first.
fn features(x: &Tensor, op: &'static str) -> Result<usize> {
    if x.rank() < 2 {
        return Err(Error::bad_shape(op, x.shape(), "needs [samples, features...]"));
    }
    Ok(x.shape()[1..].iter().product())
}

/// Per-feature mean and population std of rows of width `f`, accumulated in f64.
fn moments(data: &[f32], f: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = (data.len() / f) as f64;
    let add = |a: f64, b: f64| a + b;
    let sum = column_fold(data, f, 0.0, |acc, v, _| *acc += v as f64, add);
    let mean: Vec<f64> = sum.iter().map(|s| s / rows).collect();
    let sq = column_fold(data, f, 0.0, |acc, v, j| *acc += (v as f64 - mean[j]).powi(2), add);
    let std = sq.iter().map(|s| safe_scale((s / rows).sqrt())).collect();
    (mean.iter().map(|&m| m as f32).collect(), std)
}

fn extrema(data: &[f32], f: usize) -> MinMaxScaler {
    let min = column_fold(data, f, f64::INFINITY, |a, v, _| *a = a.min(v as f64), f64::min);
    let max = column_fold(data, f, f64::NEG_INFINITY, |a, v, _| *a = a.max(v as f64), f64::max);
    let cast = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    MinMaxScaler { min: cast(min), max: cast(max) }
}

/// Folds each column `j` of rows of width `f` with `step(acc, value, j)`. Large inputs are
/// split into row blocks folded in parallel, whose results `merge` combines (blockwise
/// sums are also more accurate than one long running sum).
fn column_fold<S, M>(data: &[f32], f: usize, init: f64, step: S, merge: M) -> Vec<f64>
where
    S: Fn(&mut f64, f32, usize) + Sync,
    M: Fn(f64, f64) -> f64,
{
    let fold_block = |block: &[f32]| {
        let mut acc = vec![init; f];
        for row in block.chunks_exact(f) {
            for (j, (a, &v)) in acc.iter_mut().zip(row).enumerate() {
                step(a, v, j);
            }
        }
        acc
    };
    if data.len() < ELEMENTWISE_PARALLEL_MIN {
        return fold_block(data);
    }
    let rows_per_block = (ELEMENTWISE_PARALLEL_MIN / f).max(1);
    let partials: Vec<Vec<f64>> = data.par_chunks(rows_per_block * f).map(fold_block).collect();
    partials.into_iter().fold(vec![init; f], |total, part| total.into_iter().zip(part).map(|(t, p)| merge(t, p)).collect())
}

/// `x -> (x - offset[c]) * scale[c]` for every value of channel `c` of `[N, C, ...]` inputs.
fn per_channel_affine(x: &mut Tensor, offset: &[f32], scale: &[f32]) -> Result<()> {
    let op = "Standardizer::apply";
    let c = offset.len();
    if c == 0 || scale.len() != c {
        return Err(Error::invalid(op, format!("{c} offsets but {} scales", scale.len())));
    }
    if x.rank() < 2 || x.shape()[1] != c {
        return Err(Error::bad_shape(op, x.shape(), format!("fitted on {c} channels")));
    }
    let plane: usize = x.shape()[2..].iter().product::<usize>().max(1);
    x.data_mut().par_chunks_mut(c * plane).for_each(|sample| {
        for (p, (&o, &s)) in sample.chunks_mut(plane).zip(offset.iter().zip(scale)) {
            p.iter_mut().for_each(|v| *v = (*v - o) * s);
        }
    });
    Ok(())
}

/// `x -> (x - offset) * scale`, per feature when `offset` has more than one value.
fn affine(x: &mut Tensor, offset: &[f32], scale: &[f32], op: &'static str) -> Result<()> {
    let f = offset.len();
    if f == 0 || scale.len() != f {
        return Err(Error::invalid(op, format!("{f} offsets but {} scales", scale.len())));
    }
    if f > 1 && (x.rank() < 2 || x.shape()[1..].iter().product::<usize>() != f) {
        return Err(Error::bad_shape(op, x.shape(), format!("fitted on {f} features per sample")));
    }
    let kernel = |block: &mut [f32]| {
        if f == 1 {
            // Global: one flat loop the compiler vectorizes.
            block.iter_mut().for_each(|v| *v = (*v - offset[0]) * scale[0]);
            return;
        }
        for row in block.chunks_exact_mut(f) {
            for ((v, &o), &s) in row.iter_mut().zip(offset).zip(scale) {
                *v = (*v - o) * s;
            }
        }
    };
    let data = x.data_mut();
    if data.len() < ELEMENTWISE_PARALLEL_MIN {
        kernel(data);
    } else {
        let rows_per_block = (ELEMENTWISE_PARALLEL_MIN / f).max(1);
        data.par_chunks_mut(rows_per_block * f).for_each(kernel);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rng;

    fn mean_std(v: &[f32]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n;
        (m, var.sqrt())
    }

    #[test]
    fn global_standardizer_gives_zero_mean_unit_std() {
        // Large enough to take the parallel path.
        let x = Tensor::rand_normal(&[300, 1, 16, 16], 3.0, 2.0, &mut Rng::seeded(7));
        let s = Standardizer::fit_global(&x).unwrap();
        assert!(s.is_global());
        assert!((s.mean[0] - 3.0).abs() < 0.02 && (s.std[0] - 2.0).abs() < 0.02, "{s:?}");
        let y = s.transform(&x).unwrap();
        let (m, sd) = mean_std(y.data());
        assert!(m.abs() < 1e-5 && (sd - 1.0).abs() < 1e-5, "{m} {sd}");
        assert_eq!(y.shape(), x.shape());
    }

    #[test]
    fn per_feature_standardizer_and_constant_features() {
        // Feature 0 varies, feature 1 is constant (std 0 -> divisor 1).
        let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 6.0, 5.0], &[4, 2]).unwrap();
        let s = Standardizer::fit_per_feature(&x).unwrap();
        assert_eq!(s.mean, vec![3.0, 5.0]);
        assert_eq!(s.std[1], 1.0);
        let y = s.transform(&x).unwrap();
        let col = |j: usize| y.data().iter().skip(j).step_by(2).copied().collect::<Vec<_>>();
        let (m, sd) = mean_std(&col(0));
        assert!(m.abs() < 1e-6 && (sd - 1.0).abs() < 1e-6);
        assert_eq!(col(1), vec![0.0; 4]);
        // Wrong feature count is an error, not a panic.
        assert!(s.transform(&Tensor::zeros(&[4, 3])).is_err());
        assert!(Standardizer::fit_per_feature(&Tensor::zeros(&[4])).is_err());
        assert!(Standardizer::fit_global(&Tensor::zeros(&[0, 3])).is_err());
    }

    #[test]
    fn statistics_come_from_the_fitted_data_only() {
        let train = Tensor::from_vec(vec![0.0, 2.0, 4.0, 6.0], &[4, 1]).unwrap();
        let test = Tensor::from_vec(vec![100.0, 200.0], &[2, 1]).unwrap();
        let s = Standardizer::fit_global(&train).unwrap();
        let before = s.clone();
        let t = s.transform(&test).unwrap();
        assert_eq!(s, before);
        let sd = 5f32.sqrt();
        assert_eq!((s.mean[0], s.std[0]), (3.0, sd));
        assert!((t.data()[0] - 97.0 / sd).abs() < 1e-4 && (t.data()[1] - 197.0 / sd).abs() < 1e-4);
        // In place equals the copy.
        let mut u = test.clone();
        s.apply(&mut u).unwrap();
        assert_eq!(u, t);
    }

    #[test]
    fn min_max_scaler_maps_onto_unit_range() {
        let x = Tensor::from_vec(vec![-2.0, 7.0, 0.0, 7.0, 2.0, 7.0], &[3, 2]).unwrap();
        let g = MinMaxScaler::fit_global(&x).unwrap();
        assert_eq!((g.min[0], g.max[0]), (-2.0, 7.0));
        let y = g.transform(&x).unwrap();
        assert_eq!((y.data()[0], y.data()[1]), (0.0, 1.0));
        let p = MinMaxScaler::fit_per_feature(&x).unwrap();
        assert_eq!(p.transform(&x).unwrap().data(), &[0.0, 0.0, 0.5, 0.0, 1.0, 0.0]);
        // Parallel path agrees with the serial one.
        let big = Tensor::rand_uniform(&[1000, 100], -3.0, 5.0, &mut Rng::seeded(1));
        let s = MinMaxScaler::fit_per_feature(&big).unwrap();
        let y = s.transform(&big).unwrap();
        assert!(y.data().iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(s.min[3], (0..1000).map(|i| big.data()[i * 100 + 3]).fold(f32::INFINITY, f32::min));
    }

    #[test]
    fn per_channel_standardizer_and_old_saved_form() {
        // Channel 0 is 0..8, channel 1 constant 5, over 2 samples of 2x2.
        let data: Vec<f32> = vec![0.0, 1.0, 2.0, 3.0, 5.0, 5.0, 5.0, 5.0, 4.0, 5.0, 6.0, 7.0, 5.0, 5.0, 5.0, 5.0];
        let x = Tensor::from_vec(data, &[2, 2, 2, 2]).unwrap();
        let s = Standardizer::fit_per_channel(&x).unwrap();
        assert!(s.per_channel);
        assert_eq!(s.mean, vec![3.5, 5.0]);
        let ch0: Vec<f32> = (0..8).map(|v| v as f32).collect();
        assert!((s.std[0] as f64 - mean_std(&ch0).1).abs() < 1e-6, "{s:?}");
        assert_eq!(s.std[1], 1.0);
        let y = s.transform(&x).unwrap();
        assert_eq!(&y.data()[4..8], &[0.0; 4]);
        let (m, sd) = mean_std(&[&y.data()[0..4], &y.data()[8..12]].concat());
        assert!(m.abs() < 1e-6 && (sd - 1.0).abs() < 1e-5, "{m} {sd}");
        assert!(s.transform(&Tensor::zeros(&[1, 3, 2, 2])).is_err());
        // Saved with the flag; a model saved before it loads as it was (not per channel).
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("per_channel"));
        assert_eq!(serde_json::from_str::<Standardizer>(&json).unwrap(), s);
        let old: Standardizer = serde_json::from_str(r#"{"mean":[0.5],"std":[0.25]}"#).unwrap();
        assert!(!old.per_channel && old.is_global());
        assert!(!serde_json::to_string(&old).unwrap().contains("per_channel"));
    }

    #[test]
    fn scalers_round_trip_through_serde() {
        let s = Standardizer::fashion_mnist();
        let back: Standardizer = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let m = MinMaxScaler { min: vec![0.0, 1.0], max: vec![2.0, 3.0] };
        let back: MinMaxScaler = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
