//! The experiment scheme around every model: divide the data, preprocess with statistics of
//! the training part only, choose a model (network or baseline) by name, train, measure,
//! repeat over folds.
//!
//! - `learner`: [`Learner`], one interface for networks, logistic regression, k-NN and the
//!   perceptron;
//! - `cv`: k-fold cross-validation with per-fold and mean ± std figures;
//! - `saved`: saving and loading any learner with its preprocessing.

mod cv;
mod learner;
mod saved;

pub use cv::{CvReport, FoldResult, cross_validate, mean_std};
pub use learner::{
    BASELINE_NAMES, Learner, Network, SMALL_DATA, SMALL_DATA_STEPS, TrainSettings, epochs_and_batch, network_proba,
    stretch_schedule,
};
pub use saved::{LoadedModel, SaveExtras, load_learner, save_learner};
