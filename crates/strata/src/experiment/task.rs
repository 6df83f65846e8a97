//! Classification or regression: what a table's target asks for, and how a regression
//! target is prepared and its predictions read. A regression target is standardized with
//! the mean and standard deviation of the training rows (saved with the model as
//! `ModelMeta::target_scaling`); networks train on the standardized values with MSE, and
//! predictions are mapped back to the target's units before any figure is computed.
//!
//! ```
//! use strata::experiment::{Task, to_target_units};
//! use strata::data::normalize::Standardizer;
//! assert_eq!("regression".parse::<Task>().unwrap(), Task::Regression);
//! assert!("clustering".parse::<Task>().is_err());
//! // standardized predictions back in the target's units: v * std + mean
//! assert_eq!(to_target_units(&[-1.0, 0.5], &Standardizer::new(10.0, 4.0)), vec![6.0, 12.0]);
//! ```

use crate::data::normalize::Standardizer;
use crate::data::{Dataset, Target};
use crate::metrics::RegressionReport;
use crate::{Error, Result};
use std::str::FromStr;

/// What a model learns to predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// One of a set of classes (softmax cross-entropy; accuracy, AUC, log-loss).
    Classification,
    /// A real number (MSE on the standardized target; MSE, RMSE, MAE, R²).
    Regression,
}

impl Task {
    /// The task's name as the `--task` flag spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
    /// `Some(true)` for regression, `Some(false)` for classification, `None` when not chosen
    /// (the form [`crate::data::tabular::Table::schema_for`] takes).
    pub fn regression_flag(task: Option<Task>) -> Option<bool> {
        task.map(|t| t == Task::Regression)
    }
}

impl FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Task> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classification" | "classify" => Ok(Task::Classification),
            "regression" | "regress" => Ok(Task::Regression),
            other => Err(Error::invalid("task", format!("unknown '{other}' (expected classification or regression)"))),
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Standardized values (as a regression model predicts them) in the target's units:
/// `v * std + mean` with the scaling's (global) mean and standard deviation.
pub fn to_target_units(values: &[f32], scaling: &Standardizer) -> Vec<f32> {
    let (mean, std) = (scaling.mean.first().copied().unwrap_or(0.0), scaling.std.first().copied().unwrap_or(1.0));
    values.iter().map(|&v| v * std + mean).collect()
}

/// The values of a regression dataset's target, one per sample.
///
/// Errors: the dataset has classes, or more than one value per sample.
pub fn target_values(data: &Dataset) -> Result<&[f32]> {
    match &data.targets {
        Target::Values(t) if t.numel() == data.len() => Ok(t.data()),
        Target::Values(t) => Err(Error::invalid("regression target", format!("needs one value per sample, not {:?}", t.shape()))),
        Target::Classes { .. } => Err(Error::invalid("regression target", "the data has classes, not values")),
    }
}

/// Fits the target standardization on `train`'s values and applies it to `train` and to
/// each of `others` (in place).
///
/// Errors: a dataset without one value per sample.
pub fn standardize_target(train: &mut Dataset, others: &mut [&mut Dataset]) -> Result<Standardizer> {
    target_values(train)?;
    let Target::Values(t) = &mut train.targets else { unreachable!("checked by target_values") };
    let s = Standardizer::fit_global(t)?;
    s.apply(t)?;
    for d in others.iter_mut() {
        target_values(d)?;
        if let Target::Values(t) = &mut d.targets {
            s.apply(t)?;
        }
    }
    Ok(s)
}

/// The regression figures of standardized predictions `pred` against standardized truth
/// `truth` (both as the model sees them), in the target's units; with the mean squared
/// error in standardized units (the training loss) beside them.
///
/// Errors: lengths differ, or no samples.
pub fn regression_figures(pred: &[f32], truth: &[f32], scaling: &Standardizer) -> Result<(RegressionReport, f64)> {
    let report = RegressionReport::new(&to_target_units(pred, scaling), &to_target_units(truth, scaling))?;
    Ok((report, crate::metrics::mse(pred, truth)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    fn values(v: Vec<f32>) -> Dataset {
        let n = v.len();
        Dataset::new(Tensor::zeros(&[n, 1]), Target::Values(Tensor::from_vec(v, &[n, 1]).unwrap())).unwrap()
    }

    #[test]
    fn target_scaling_is_fitted_on_training_rows_and_inverts() {
        // training values 2, 4, 6, 8: mean 5, population std sqrt(5)
        let mut train = values(vec![2.0, 4.0, 6.0, 8.0]);
        let mut test = values(vec![5.0, 10.0]);
        let s = standardize_target(&mut train, &mut [&mut test]).unwrap();
        assert_eq!(s.mean, vec![5.0]);
        assert!((s.std[0] - 5.0f32.sqrt()).abs() < 1e-6);
        let t = target_values(&train).unwrap();
        assert!((t.iter().sum::<f32>()).abs() < 1e-6 && (t[3] - 3.0 / 5.0f32.sqrt()).abs() < 1e-6);
        let u = target_values(&test).unwrap();
        assert_eq!(u[0], 0.0);
        assert!((u[1] - 5.0 / 5.0f32.sqrt()).abs() < 1e-6);
        // back in the target's units
        let back = to_target_units(target_values(&test).unwrap(), &s);
        assert!((back[0] - 5.0).abs() < 1e-5 && (back[1] - 10.0).abs() < 1e-5);
        // figures are in the target's units; the loss in standardized ones
        let (r, loss) = regression_figures(&[0.0, 0.0], target_values(&test).unwrap(), &s).unwrap();
        assert!((r.mse - 12.5).abs() < 1e-4 && (r.mae - 2.5).abs() < 1e-5, "{r:?}");
        assert!((loss - 12.5 / 5.0).abs() < 1e-5);
        // a constant target divides by 1
        let mut flat = values(vec![3.0, 3.0]);
        let s = standardize_target(&mut flat, &mut []).unwrap();
        assert_eq!((s.mean[0], s.std[0]), (3.0, 1.0));
        // classes are no regression target
        let mut classes = Dataset::new(Tensor::zeros(&[2, 1]), Target::Classes { labels: vec![0, 1], num_classes: 2 }).unwrap();
        assert!(standardize_target(&mut classes, &mut []).is_err());
    }

    #[test]
    fn model_descriptions_without_a_target_scaling_still_load() {
        use crate::model::ModelMeta;
        // a description written before regression existed: a classifier
        let old = serde_json::json!({
            "format": "strata-model", "version": 1, "name": "mlp", "input_shape": [4], "layers": [],
            "loss": "softmax_cross_entropy", "num_classes": 3
        });
        let meta: ModelMeta = serde_json::from_value(old).unwrap();
        assert_eq!(meta.target_scaling, None);
        // and a classifier's description still has no such field
        assert!(serde_json::to_value(&meta).unwrap().get("target_scaling").is_none());
        // a regression model's scaling travels with it
        let mut reg = meta.clone();
        reg.target_scaling = Some(Standardizer::new(152.1, 77.0));
        let back: ModelMeta = serde_json::from_value(serde_json::to_value(&reg).unwrap()).unwrap();
        assert_eq!(back.target_scaling, reg.target_scaling);
    }
}
