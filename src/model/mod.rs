//! Models: `Sequential` (a stack of layers) and what surrounds training it —
//! `compile`, `fit` with its `History`, `evaluate`, `predict`, `summary`.

mod ensemble;
mod fit;
mod history;
mod progress;
mod sequential;
mod summary;

pub use ensemble::{class_probabilities, ClassEvaluation, Ensemble, Member};
pub use fit::{Evaluation, FitOptions, StepOutcome};
pub use history::{EpochRecord, History};
pub use progress::Verbosity;
pub use sequential::Sequential;
pub use summary::{Summary, SummaryRow};
