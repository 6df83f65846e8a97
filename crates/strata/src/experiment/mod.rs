//! The experiment scheme around every model: load and divide the data, preprocess with
//! statistics of the training part only, choose a model (network or baseline) by name,
//! train, measure, repeat over folds.
//!
//! - `data`: [`TrainingData`], image datasets and tables with their preprocessing;
//! - `learner`: [`Learner`], one interface for networks, logistic regression, k-NN and the
//!   perceptron, and the one path from a model name to `fit`;
//! - `cv`: k-fold cross-validation with per-fold and mean ± std figures (classes or values);
//! - `saved`: saving and loading any learner with its preprocessing;
//! - `task`: [`Task`] (classification or regression) and a regression target's scaling;
//! - `tensorboard`: [`TensorBoardLog`], a run's TensorBoard event file.
//! - `ten_crop`: the 10-patch test (four corners, centre and their mirrors, averaged).

mod cv;
mod data;
mod learner;
mod saved;
mod task;
mod ten_crop;
mod tensorboard;
mod text_data;

pub use cv::{
    CvReport, FoldResult, RegressionCvReport, RegressionFold, cross_validate, cross_validate_regression,
    cross_validate_regression_with, cross_validate_with,
};
pub use data::{TableOptions, TrainingData, load_for_eval, load_for_eval_with, table_inputs};
pub use learner::{BASELINE_NAMES, FitReport, Learner, Network, RunOptions};
pub use saved::{LoadedModel, load_learner, save_learner};
pub use task::{Task, regression_figures, standardize_target, target_values, to_target_units};
pub use ten_crop::{black_after, pad_images, ten_crop_proba, ten_crops};
pub use tensorboard::TensorBoardLog;
pub use text_data::{TextOptions, load_text, text_encoding};
