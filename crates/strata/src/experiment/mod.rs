//! The experiment scheme around every model: load and divide the data, preprocess with
//! statistics of the training part only, choose a model (network or baseline) by name,
//! train, measure, repeat over folds.
//!
//! - `data`: [`TrainingData`], image datasets and tables with their preprocessing;
//! - `learner`: [`Learner`], one interface for networks, logistic regression, k-NN and the
//!   perceptron, and the one path from a model name to `fit`;
//! - `cv`: k-fold cross-validation with per-fold and mean ± std figures;
//! - `saved`: saving and loading any learner with its preprocessing.

mod cv;
mod data;
mod learner;
mod saved;

pub use cv::{CvReport, FoldResult, cross_validate};
pub use data::{TableOptions, TrainingData, load_for_eval, table_inputs};
pub use learner::{BASELINE_NAMES, FitReport, Learner, Network, RunOptions};
pub use saved::{LoadedModel, load_learner, save_learner};
