//! k-fold cross-validation, the WEKA way: stratified folds, preprocessing fitted on each
//! fold's training part only, a fresh model per fold, accuracy / AUC / log-loss per fold,
//! then their mean and standard deviation, and the confusion matrix summed over folds.
//! For a numeric target, [`cross_validate_regression`]: plain (unstratified) folds, the
//! target standardized on each fold's training rows, MSE / RMSE / MAE / R² per fold in the
//! target's units, then their means and standard deviations.
//!
//! The folds are independent, so they can be shared out over the ranks of a data-parallel
//! job ([`cross_validate_with`]): rank r computes folds r, r + size, ..., each as it would
//! alone, and every rank ends with every fold's figures (one gather), in fold order.
//!
//! ```
//! use strata::{Tensor, Target, Dataset, experiment::{cross_validate, Learner}};
//! // two well-separated 1-D classes
//! let x = Tensor::from_vec((0..20).map(|i| if i < 10 { i as f32 } else { 100.0 + i as f32 }).collect(), &[20, 1]).unwrap();
//! let labels = (0..20).map(|i| (i >= 10) as u32).collect();
//! let data = Dataset::new(x, Target::Classes { labels, num_classes: 2 }).unwrap();
//! let r = cross_validate(&data, 5, 1, "standard", |_, train| Learner::new("knn:1", &[1], 2, 1, &[], Some(train.len()))).unwrap();
//! assert_eq!((r.folds.len(), r.mean_accuracy), (5, 1.0));
//! assert_eq!(r.mean_auc, Some(1.0));
//! ```

use super::data::TrainingData;
use super::learner::{Learner, RunOptions};
use super::task::{regression_figures, target_values};
use crate::data::Dataset;
use crate::data::split::{kfold, labels_of, stratified_kfold};
use crate::data::tabular::Scaling;
use crate::distributed::{Communicator, Local, all_gather_bytes};
use crate::metrics::{ConfusionMatrix, RegressionReport, accuracy, log_loss, macro_auc, predicted_classes};
use crate::model::Verbosity;
use crate::{Error, Result, Rng};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Figures of one fold.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FoldResult {
    /// 1-based.
    pub fold: usize,
    /// Training rows of the fold.
    pub train_samples: usize,
    /// Test rows of the fold.
    pub test_samples: usize,
    /// Accuracy on the fold's test rows.
    pub accuracy: f64,
    /// ROC AUC (binary: of class 1; several classes: one-vs-rest macro average), when the
    /// test fold has the classes it needs.
    pub auc: Option<f64>,
    /// Mean negative log-probability of the true class on the test rows.
    pub log_loss: f64,
    /// Wall time of the fold: preprocessing, fit and test.
    pub seconds: f64,
}

/// The outcome of a cross-validation.
#[derive(Clone, Debug, Serialize)]
pub struct CvReport {
    /// The learner's name.
    pub model: String,
    /// Per-fold figures, in fold order.
    pub folds: Vec<FoldResult>,
    /// Mean accuracy over the folds.
    pub mean_accuracy: f64,
    /// Sample standard deviation over folds (n - 1 in the denominator, as WEKA reports).
    pub std_accuracy: f64,
    /// Mean AUC over the folds, when every fold has one.
    pub mean_auc: Option<f64>,
    /// Sample standard deviation of the AUC over the folds.
    pub std_auc: Option<f64>,
    /// Mean log-loss over the folds.
    pub mean_log_loss: f64,
    /// Every sample is tested once: the confusion matrix over all folds.
    pub confusion: ConfusionMatrix,
}

/// Mean and sample standard deviation.
pub(crate) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// Cross-validates over `k` folds (stratified for class targets), seeded by `seed`.
/// `scaling` ("standard", "minmax", "none") is fitted on each fold's training rows;
/// `make(fold, train)` builds a fresh learner for each fold.
pub fn cross_validate(
    data: &Dataset,
    k: usize,
    seed: u64,
    scaling: &str,
    make: impl FnMut(usize, &Dataset) -> Result<Learner>,
) -> Result<CvReport> {
    cross_validate_with(data, k, seed, scaling, &Local::new(), make)
}

/// [`cross_validate`] with the folds shared out over the ranks of `comm` (fold i on rank
/// i mod size); every rank must call it with the same arguments, and every rank returns
/// the whole report. Each fold is computed exactly as in one process, so the figures do
/// not depend on the number of ranks.
pub fn cross_validate_with(
    data: &Dataset,
    k: usize,
    seed: u64,
    scaling: &str,
    comm: &dyn Communicator,
    mut make: impl FnMut(usize, &Dataset) -> Result<Learner>,
) -> Result<CvReport> {
    let (labels, classes) = match (labels_of(data), data.num_classes()) {
        (Some(l), Some(c)) => (l, c),
        _ => return Err(Error::invalid("cross-validation", "needs a class target (cross_validate_regression for values)")),
    };
    let mut rng = Rng::seeded(seed);
    let folds = if labels.len() >= k { stratified_kfold(labels, k, &mut rng)? } else { kfold(labels.len(), k, &mut rng)? };
    let done = on_ranks(comm, folds.len(), |i| -> Result<(String, FoldResult, Vec<Vec<usize>>)> {
        let fold = &folds[i];
        let start = Instant::now();
        let mut train = data.subset(&fold.train)?;
        let mut test = data.subset(&fold.test)?;
        let scaler = Scaling::fit(scaling, &train.inputs)?;
        scaler.apply(&mut train.inputs)?;
        scaler.apply(&mut test.inputs)?;
        let mut learner = make(i, &train)?;
        let fold_data = TrainingData::from_parts(train, test);
        learner.fit(&fold_data, &RunOptions { verbosity: Verbosity::Silent, ..RunOptions::default() })?;
        let (train, test) = (&fold_data.train, &fold_data.test);
        let probs = learner.predict_proba(&test.inputs)?;
        let truth = labels_of(test).unwrap_or(&[]);
        let predicted = predicted_classes(&probs)?;
        let m = ConfusionMatrix::new(truth, &predicted, classes)?;
        let result = FoldResult {
            fold: i + 1,
            train_samples: train.len(),
            test_samples: test.len(),
            accuracy: accuracy(&predicted, truth) as f64,
            auc: macro_auc(&probs, truth).ok(),
            log_loss: log_loss(&probs, truth)? as f64,
            seconds: start.elapsed().as_secs_f64(),
        };
        Ok((learner.name(), result, m.counts))
    })?;
    let mut confusion = ConfusionMatrix::new(&[], &[], classes)?;
    let mut results = Vec::with_capacity(k);
    let mut name = String::new();
    for (learner, result, counts) in done {
        for (row, add) in confusion.counts.iter_mut().zip(&counts) {
            row.iter_mut().zip(add).for_each(|(a, b)| *a += b);
        }
        name = learner;
        results.push(result);
    }
    let (mean_accuracy, std_accuracy) = mean_std(&results.iter().map(|r| r.accuracy).collect::<Vec<_>>());
    let aucs: Vec<f64> = results.iter().filter_map(|r| r.auc).collect();
    let (mean_auc, std_auc) = if aucs.len() == results.len() {
        let (m, s) = mean_std(&aucs);
        (Some(m), Some(s))
    } else {
        (None, None)
    };
    let mean_log_loss = mean_std(&results.iter().map(|r| r.log_loss).collect::<Vec<_>>()).0;
    Ok(CvReport { model: name, folds: results, mean_accuracy, std_accuracy, mean_auc, std_auc, mean_log_loss, confusion })
}

/// Figures of one fold of a regression.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegressionFold {
    /// 1-based.
    pub fold: usize,
    /// Training rows of the fold.
    pub train_samples: usize,
    /// Test rows of the fold.
    pub test_samples: usize,
    /// MSE, RMSE, MAE and R² on the fold's test rows, in the target's units.
    #[serde(flatten)]
    pub figures: RegressionReport,
    /// Wall time of the fold: preprocessing, fit and test.
    pub seconds: f64,
}

/// The outcome of a cross-validated regression: per-fold figures, and the mean and sample
/// standard deviation (n - 1) of each over the folds.
#[derive(Clone, Debug, Serialize)]
pub struct RegressionCvReport {
    /// The learner's name.
    pub model: String,
    /// Per-fold figures, in fold order.
    pub folds: Vec<RegressionFold>,
    /// Mean of each figure over the folds.
    pub mean: RegressionReport,
    /// Sample standard deviation of each figure over the folds.
    pub std: RegressionReport,
}

/// Cross-validates a regression over `k` folds (not stratified), seeded by `seed`:
/// `scaling` of the inputs and the target's standardization are fitted on each fold's
/// training rows; `make(fold, train)` builds a fresh learner (a regressor, see
/// [`Learner::regressor`]) for each fold. Figures are in the target's units.
///
/// ```
/// use strata::{Tensor, Target, Dataset, experiment::{cross_validate_regression, Learner}};
/// // y = 3x on 20 points: 1-NN on a dense grid is close
/// let x = Tensor::from_vec((0..20).map(|i| i as f32).collect(), &[20, 1]).unwrap();
/// let y = Tensor::from_vec((0..20).map(|i| 3.0 * i as f32).collect(), &[20, 1]).unwrap();
/// let data = Dataset::new(x, Target::Values(y)).unwrap();
/// let r = cross_validate_regression(&data, 5, 1, "standard", |_, _| Learner::regressor("knn:1", &[1], 1, &[], None)).unwrap();
/// assert_eq!(r.folds.len(), 5);
/// assert!(r.mean.r2 > 0.9, "{:?}", r.mean);
/// ```
///
/// Errors: the data has classes, `k` is below 2 or above the sample count, or a fold fails.
pub fn cross_validate_regression(
    data: &Dataset,
    k: usize,
    seed: u64,
    scaling: &str,
    make: impl FnMut(usize, &Dataset) -> Result<Learner>,
) -> Result<RegressionCvReport> {
    cross_validate_regression_with(data, k, seed, scaling, &Local::new(), make)
}

/// [`cross_validate_regression`] with the folds shared out over the ranks of `comm`, as
/// [`cross_validate_with`] does.
pub fn cross_validate_regression_with(
    data: &Dataset,
    k: usize,
    seed: u64,
    scaling: &str,
    comm: &dyn Communicator,
    mut make: impl FnMut(usize, &Dataset) -> Result<Learner>,
) -> Result<RegressionCvReport> {
    target_values(data)?;
    let folds = kfold(data.len(), k, &mut Rng::seeded(seed))?;
    let done = on_ranks(comm, folds.len(), |i| -> Result<(String, RegressionFold)> {
        let fold = &folds[i];
        let start = Instant::now();
        let mut fold_data = TrainingData::from_parts(data.subset(&fold.train)?, data.subset(&fold.test)?);
        let scaler = Scaling::fit(scaling, &fold_data.train.inputs)?;
        scaler.apply(&mut fold_data.train.inputs)?;
        scaler.apply(&mut fold_data.test.inputs)?;
        fold_data.standardize_target()?;
        let mut learner = make(i, &fold_data.train)?;
        learner.fit(&fold_data, &RunOptions { verbosity: Verbosity::Silent, ..RunOptions::default() })?;
        let pred = learner.predict_values(&fold_data.test.inputs)?;
        let target_scaling = fold_data.target_scaling.as_ref().ok_or_else(|| Error::Model("no target scaling".into()))?;
        let (figures, _) = regression_figures(&pred, target_values(&fold_data.test)?, target_scaling)?;
        let result = RegressionFold {
            fold: i + 1,
            train_samples: fold_data.train.len(),
            test_samples: fold_data.test.len(),
            figures,
            seconds: start.elapsed().as_secs_f64(),
        };
        Ok((learner.name(), result))
    })?;
    let name = done.last().map(|(n, _)| n.clone()).unwrap_or_default();
    let results: Vec<RegressionFold> = done.into_iter().map(|(_, r)| r).collect();
    let stat = |f: fn(&RegressionReport) -> f64| mean_std(&results.iter().map(|r| f(&r.figures)).collect::<Vec<_>>());
    let (mse, rmse, mae, r2) = (stat(|r| r.mse), stat(|r| r.rmse), stat(|r| r.mae), stat(|r| r.r2));
    Ok(RegressionCvReport {
        model: name,
        folds: results,
        mean: RegressionReport { mse: mse.0, rmse: rmse.0, mae: mae.0, r2: r2.0 },
        std: RegressionReport { mse: mse.1, rmse: rmse.1, mae: mae.1, r2: r2.1 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[0.7]), (0.7, 0.0));
    }
}

/// Runs `one(i)` for the folds `0..k` this rank owns (i mod size == rank), then gathers
/// every rank's results so that all ranks hold all `k`, in fold order. One rank alone
/// runs every fold and gathers nothing.
fn on_ranks<R: Serialize + DeserializeOwned>(
    comm: &dyn Communicator,
    k: usize,
    mut one: impl FnMut(usize) -> Result<R>,
) -> Result<Vec<R>> {
    let (rank, size) = (comm.rank(), comm.size());
    let mine: Vec<(usize, R)> = (rank..k).step_by(size).map(|i| Ok((i, one(i)?))).collect::<Result<_>>()?;
    if size == 1 {
        return Ok(mine.into_iter().map(|(_, r)| r).collect());
    }
    let bytes = serde_json::to_vec(&mine).map_err(|e| Error::Model(format!("cannot encode fold results: {e}")))?;
    let mut all: Vec<(usize, R)> = Vec::with_capacity(k);
    for (r, part) in all_gather_bytes(comm, &bytes).iter().enumerate() {
        let folds: Vec<(usize, R)> = serde_json::from_slice(part)
            .map_err(|e| Error::Distributed(format!("rank {r} sent fold results that do not decode: {e}")))?;
        all.extend(folds);
    }
    all.sort_by_key(|(i, _)| *i);
    if all.iter().map(|(i, _)| *i).ne(0..k) {
        return Err(Error::Distributed(format!(
            "the ranks returned folds {:?}, not 0..{k}",
            all.iter().map(|(i, _)| i).collect::<Vec<_>>()
        )));
    }
    Ok(all.into_iter().map(|(_, r)| r).collect())
}
