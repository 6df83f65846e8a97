//! `--task classification|regression` (train and cv) and what regression prints: the
//! notes on the automatic choice, the human line and the JSON fields of the figures.

use strata::experiment::Task;
use strata::metrics::RegressionReport;

/// Parses `--task`.
pub fn parse(s: &str) -> Result<Task, String> {
    s.parse::<Task>().map_err(|e| match e {
        strata::Error::Invalid { reason, .. } => reason,
        other => other.to_string(),
    })
}

/// The note on a table's target when `--task` was not given: the automatic choice of
/// regression, or a hint when whole numbers with very many distinct values (a quantity,
/// probably) were taken as classes.
pub fn auto_note(task: Option<Task>, target: &str, classes: Option<usize>, rows: usize) -> Option<String> {
    if task.is_some() {
        return None;
    }
    match classes {
        None => Some(format!(
            "target '{target}' is numeric but not class labels (whole numbers below 10^6): regression \
             (--task classification to refuse)"
        )),
        Some(c) if c > 20 && 4 * c > rows => Some(format!(
            "target '{target}' has {c} classes in {rows} rows; if it is a quantity, predict it with --task regression"
        )),
        Some(_) => None,
    }
}

/// The figures of a regression in one line: `R² 0.4512, RMSE 53.20, MAE 42.81, MSE 2830.4`.
pub fn figures_line(r: &RegressionReport) -> String {
    format!("R² {:.4}, RMSE {:.4}, MAE {:.4}, MSE {:.4}", r.r2, r.rmse, r.mae, r.mse)
}

/// Adds `test_mse`, `test_rmse`, `test_mae`, `test_r2` to a JSON summary.
pub fn add_test_figures(v: &mut serde_json::Value, r: &RegressionReport) {
    v["test_mse"] = r.mse.into();
    v["test_rmse"] = r.rmse.into();
    v["test_mae"] = r.mae.into();
    v["test_r2"] = r.r2.into();
}
