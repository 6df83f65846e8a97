//! Models: `Sequential` (a stack of layers) and what surrounds training it —
//! `compile`, `fit` with its `History`, `evaluate`, `predict`, `summary`; early stopping
//! and per-epoch checkpoints with exact resume.

mod callbacks;
mod checkpoint;
mod data_parallel;
mod ensemble;
mod fit;
mod history;
mod progress;
mod replicas;
mod sequential;
mod summary;

pub use callbacks::{EarlyStopping, EarlyStoppingState, EarlyStoppingStep, Monitor};
pub use checkpoint::{Checkpoint, checkpoint_path};
pub use ensemble::{ClassEvaluation, Ensemble, Member, class_probabilities};
pub use fit::{Evaluation, FitOptions, StepOutcome};
pub use history::{EpochRecord, History};
pub use progress::Verbosity;
pub use replicas::fit_replicated;
pub use sequential::Sequential;
pub use summary::{Summary, SummaryRow};
